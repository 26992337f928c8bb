//! `loadtest bench-queries`: latency of the read endpoints that a large project stresses,
//! through the real HTTP API (login, JSON, access check, query, serialisation), one request
//! at a time so each figure is one request's latency, not a queueing effect.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Instant;
use url::Url;

use crate::stats::{self, LatencySummary};

pub struct BenchConfig {
    pub base: Url,
    pub email: String,
    pub password: String,
    pub project: i64,
    pub requests: usize,
    /// Query parameter of the contacts filter (`q`, or `note_name` where the server has it).
    pub contacts_param: String,
}

#[derive(Serialize)]
pub struct BenchRow {
    pub name: String,
    pub example: String,
    pub latency: LatencySummary,
}

/// The requests of one endpoint: request `i` gets the path `paths(i)`.
struct Case {
    name: &'static str,
    path: Box<dyn Fn(usize) -> String>,
}

pub async fn run(cfg: BenchConfig) -> Result<Vec<BenchRow>> {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let resp = http
        .post(cfg.base.join("/api/auth/login")?)
        .json(&json!({"email": cfg.email, "password": cfg.password}))
        .send()
        .await
        .context("POST /api/auth/login")?;
    if !resp.status().is_success() {
        bail!("login failed: HTTP {}", resp.status());
    }
    let p = cfg.project;
    let param = cfg.contacts_param.clone();
    let day = chrono::Duration::days(1);
    let now = chrono::Utc::now();
    // Reception windows of 1 to 30 days ending at different points of the last 90 days.
    let window = move |i: usize| {
        let to = now - day * ((i % 60) as i32);
        let from = to - day * (1 + (i % 30) as i32);
        format!(
            "received_from={}&received_to={}",
            from.format("%Y-%m-%dT%H:%M:%SZ"),
            to.format("%Y-%m-%dT%H:%M:%SZ")
        )
    };
    // A receptionist who exists: the assignee of the newest assigned session.
    let first: Value = get(
        &http,
        &cfg.base,
        &format!("/api/projects/{p}/sessions?status=assigned&limit=1"),
    )
    .await?;
    let receptionist = first["items"][0]["assignee_id"].as_i64().unwrap_or(0);
    // The seeded automation flows, if any (`seed --flows`): the analytics cases cycle over them.
    let listed: Value = get(
        &http,
        &cfg.base,
        &format!("/api/projects/{p}/automation/stats"),
    )
    .await?;
    let flow_ids: Vec<i64> = listed["flows"]
        .as_array()
        .map(|fs| fs.iter().filter_map(|f| f["flow_id"].as_i64()).collect())
        .unwrap_or_default();
    let mut cases = vec![
        Case {
            name: "chat list: GET /sessions?status=open",
            path: Box::new(move |_| format!("/api/projects/{p}/sessions?status=open&limit=50")),
        },
        Case {
            // One contact has each note name `VIP <10 n>`: a needle, not a prefix of many.
            name: "contacts: filter by a note name (one match)",
            path: Box::new(move |i| {
                format!(
                    "/api/projects/{p}/contacts?{param}=VIP%20{}&limit=50",
                    10 * (10_000 + (i * 7919) % 90_000)
                )
            }),
        },
        Case {
            name: "records: reception window 1-30 days",
            path: Box::new(move |i| {
                format!("/api/projects/{p}/reports/sessions?{}&limit=50", window(i))
            }),
        },
        Case {
            name: "records: window + receptionist + status=ended",
            path: Box::new(move |i| {
                format!(
                    "/api/projects/{p}/reports/sessions?{}&status=ended&receptionist={receptionist}&limit=50",
                    window(i)
                )
            }),
        },
        Case {
            name: "records: window + status=ongoing",
            path: Box::new(move |i| {
                format!(
                    "/api/projects/{p}/reports/sessions?{}&status=ongoing&limit=50",
                    window(i)
                )
            }),
        },
        Case {
            name: "records: no filter (first page)",
            path: Box::new(move |_| format!("/api/projects/{p}/reports/sessions?limit=50")),
        },
        Case {
            name: "summary: reception window 1-30 days",
            path: Box::new(move |i| {
                format!("/api/projects/{p}/reports/sessions/summary?{}", window(i))
            }),
        },
        Case {
            name: "summary: window + receptionist",
            path: Box::new(move |i| {
                format!(
                    "/api/projects/{p}/reports/sessions/summary?{}&receptionist={receptionist}",
                    window(i)
                )
            }),
        },
        Case {
            name: "summary: whole project, no filter",
            path: Box::new(move |_| format!("/api/projects/{p}/reports/sessions/summary")),
        },
    ];
    if !flow_ids.is_empty() {
        let (a, b) = (flow_ids.clone(), flow_ids.clone());
        cases.extend([
            Case {
                name: "automation: flow list with figures, 30 days",
                path: Box::new(move |_| format!("/api/projects/{p}/automation/stats")),
            },
            Case {
                name: "automation: drill-down first page, status=completed",
                path: Box::new(move |i| {
                    format!(
                        "/api/projects/{p}/flows/{}/visitors?status=completed&limit=50",
                        a[i % a.len()]
                    )
                }),
            },
            Case {
                name: "automation: funnel of one version",
                path: Box::new(move |i| {
                    format!(
                        "/api/projects/{p}/flows/{}/versions/1/funnel",
                        b[i % b.len()]
                    )
                }),
            },
        ]);
    }

    let mut rows = Vec::new();
    for case in &cases {
        // Warm-up: connection, caches.
        for i in 0..5 {
            get(&http, &cfg.base, &(case.path)(i)).await?;
        }
        let mut h = stats::new_histogram();
        for i in 0..cfg.requests {
            let path = (case.path)(i);
            let t = Instant::now();
            get(&http, &cfg.base, &path).await?;
            stats::record(&mut h, t.elapsed());
        }
        rows.push(BenchRow {
            name: case.name.to_owned(),
            example: (case.path)(1),
            latency: LatencySummary::from_histogram(&h),
        });
    }
    Ok(rows)
}

async fn get(http: &reqwest::Client, base: &Url, path: &str) -> Result<Value> {
    let resp = http
        .get(base.join(path)?)
        .send()
        .await
        .with_context(|| format!("GET {path}"))?;
    let status = resp.status();
    let body = resp.text().await?;
    if !status.is_success() {
        bail!(
            "GET {path}: HTTP {status}: {}",
            body.chars().take(300).collect::<String>()
        );
    }
    Ok(serde_json::from_str(&body).unwrap_or(Value::Null))
}

pub fn render(rows: &[BenchRow], requests: usize) -> String {
    let mut out = format!(
        "{:<58} {:>9} {:>9} {:>9}   ({requests} sequential requests each)\n",
        "endpoint", "p50 ms", "p95 ms", "max ms"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<58} {:>9.2} {:>9.2} {:>9.2}\n",
            r.name, r.latency.p50_ms, r.latency.p95_ms, r.latency.max_ms
        ));
    }
    out
}
