//! `loadtest webhook-burst`: how fast the Messenger webhook answers Meta, at a steady rate and
//! under a burst of ten times that rate, and how long processing takes to catch up.
//!
//! It logs in, connects a Messenger Page through the API (the server checks the token with the
//! Graph API it is configured with — point it at `tests/fake_graph.py`), then POSTs signed
//! webhooks, each with one message from a new person (a new contact and session each: the
//! expensive case). Latency is the time to the HTTP answer, which the server gives after storing
//! the raw event and before processing it. Processing lag is read through the API: the time
//! until the session-management summary counts one session per posted message.

use anyhow::{bail, Context, Result};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use url::Url;

use crate::setup;
use crate::stats::{self, LatencySummary};

pub struct WebhookConfig {
    pub base: Url,
    pub email: String,
    pub password: String,
    pub base_rate: f64,
    pub burst_factor: f64,
    pub phase: Duration,
    pub concurrency: usize,
    /// The fake Graph API's root (`http://127.0.0.1:PORT`): the Page is registered there first.
    pub fake_graph: Option<Url>,
}

#[derive(Serialize)]
pub struct PhaseResult {
    pub name: String,
    pub target_rate: f64,
    pub posted: u64,
    pub non_200: u64,
    pub latency: LatencySummary,
}

#[derive(Serialize)]
pub struct WebhookReport {
    pub phases: Vec<PhaseResult>,
    /// From the first POST to the moment every posted message was stored.
    pub processed_all_after_secs: Option<f64>,
    pub messages_posted: u64,
    pub messages_stored: i64,
}

const PAGE_ID: &str = "424242";
const PAGE_TOKEN: &str = "loadtest-page-token";
const APP_SECRET: &str = "loadtest-app-secret";

fn sign(body: &[u8]) -> Result<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes())?;
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// The project and channel the run uses (a new project each run).
async fn prepare(http: &reqwest::Client, base: &Url, cfg: &WebhookConfig) -> Result<(i64, i64)> {
    let (_, pid) =
        setup::login_into_new_project(http, base, &cfg.email, &cfg.password, "webhook burst")
            .await?;
    let page_id = format!("{PAGE_ID}{pid}");
    if let Some(fake) = &cfg.fake_graph {
        http.post(fake.join("/_control/pages")?)
            .json(&json!({"page_id": page_id, "token": PAGE_TOKEN, "name": "Loadtest Page"}))
            .send()
            .await?
            .error_for_status()
            .context("registering the Page with the fake Graph API")?;
    }
    let resp = http
        .post(base.join(&format!("/api/projects/{pid}/channels/messenger"))?)
        .json(&json!({"page_id": page_id, "page_name": "Loadtest Page",
            "page_access_token": PAGE_TOKEN, "app_id": "777", "app_secret": APP_SECRET,
            "verify_token": "loadtest-verify", "human_agent": false, "allowed_tags": []}))
        .send()
        .await
        .context("POST /channels/messenger")?;
    if !resp.status().is_success() {
        let status = resp.status();
        bail!(
            "connecting the Page failed: HTTP {status}: {}",
            resp.text().await.unwrap_or_default()
        );
    }
    let channel: Value = resp.json().await?;
    Ok((pid, channel["id"].as_i64().context("channel id")?))
}

pub async fn run(cfg: WebhookConfig) -> Result<WebhookReport> {
    let http = setup::cookie_client(Duration::from_secs(30))?;
    let (pid, _channel) = prepare(&http, &cfg.base, &cfg).await?;
    let page_id = format!("{PAGE_ID}{pid}");
    let hook = cfg.base.join("/webhooks/messenger")?;
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let mut phases = Vec::new();
    for (name, rate) in [
        ("steady", cfg.base_rate),
        ("burst", cfg.base_rate * cfg.burst_factor),
        ("steady after", cfg.base_rate),
    ] {
        phases.push(
            phase(
                &http,
                &hook,
                &page_id,
                name,
                rate,
                &cfg,
                Arc::clone(&counter),
            )
            .await?,
        );
    }
    let posted = counter.load(std::sync::atomic::Ordering::Relaxed);
    // Processing catches up after the answers: count the stored messages of the project.
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut stored = 0;
    let mut processed_after = None;
    while Instant::now() < deadline {
        let summary: Value = http
            .get(
                cfg.base
                    .join(&format!("/api/projects/{pid}/reports/sessions/summary"))?,
            )
            .send()
            .await?
            .json()
            .await
            .unwrap_or(Value::Null);
        stored = summary["total"].as_i64().unwrap_or(0);
        if stored as u64 >= posted {
            processed_after = Some(started.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(WebhookReport {
        phases,
        processed_all_after_secs: processed_after,
        messages_posted: posted,
        messages_stored: stored,
    })
}

async fn phase(
    http: &reqwest::Client,
    hook: &Url,
    page_id: &str,
    name: &str,
    rate: f64,
    cfg: &WebhookConfig,
    counter: Arc<std::sync::atomic::AtomicU64>,
) -> Result<PhaseResult> {
    let hist = Arc::new(Mutex::new(stats::new_histogram()));
    let non_200 = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let limit = Arc::new(tokio::sync::Semaphore::new(cfg.concurrency));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let n = (rate * cfg.phase.as_secs_f64()).round() as u64;
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(n as usize);
    for i in 0..n {
        tokio::time::sleep_until(start + interval.mul_f64(i as f64)).await;
        let k = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let now_ms = chrono::Utc::now().timestamp_millis();
        let body = serde_json::to_vec(&json!({"object": "page", "entry": [{"id": page_id,
            "time": now_ms, "messaging": [{"sender": {"id": format!("lt-{k}")},
            "recipient": {"id": page_id}, "timestamp": now_ms,
            "message": {"mid": format!("m_lt_{k}"), "text": format!("loadtest {k}")}}]}]}))?;
        let signature = sign(&body)?;
        let (http, hook, hist, non_200) = (
            http.clone(),
            hook.clone(),
            Arc::clone(&hist),
            Arc::clone(&non_200),
        );
        let permit = Arc::clone(&limit).acquire_owned().await?;
        tasks.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let res = http
                .post(hook)
                .header("Content-Type", "application/json")
                .header("X-Hub-Signature-256", signature)
                .body(body)
                .send()
                .await;
            let took = t0.elapsed();
            drop(permit);
            match res {
                Ok(r) if r.status().as_u16() == 200 => stats::record(&mut *hist.lock().await, took),
                _ => {
                    non_200.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let latency = LatencySummary::from_histogram(&*hist.lock().await);
    Ok(PhaseResult {
        name: name.to_owned(),
        target_rate: rate,
        posted: n,
        non_200: non_200.load(std::sync::atomic::Ordering::Relaxed),
        latency,
    })
}

pub fn render(r: &WebhookReport) -> String {
    let mut out = String::from(
        "phase          rate/s  posted  non-200   p50 ms   p95 ms   p99 ms   max ms\n",
    );
    for p in &r.phases {
        let l = &p.latency;
        out.push_str(&format!(
            "{:<14} {:>6.0} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8}\n",
            p.name,
            p.target_rate,
            p.posted,
            p.non_200,
            ms(l.count, l.p50_ms),
            ms(l.count, l.p95_ms),
            ms(l.count, l.p99_ms),
            ms(l.count, l.max_ms),
        ));
    }
    out.push_str(&format!(
        "messages posted {} stored {}; all processed {}\n",
        r.messages_posted,
        r.messages_stored,
        match r.processed_all_after_secs {
            Some(s) => format!("{s:.1} s after the first POST"),
            None => "NOT within 300 s".into(),
        }
    ));
    out
}

fn ms(count: u64, v: f64) -> String {
    if count == 0 {
        return "-".into();
    }
    format!("{v:.2}")
}
