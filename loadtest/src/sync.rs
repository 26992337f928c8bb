//! `loadtest sync-bench`: contact sync throughput. It connects a Messenger Page whose Graph API
//! is `tests/fake_graph.py`, seeds the fake with N conversations (25 messages each, the API
//! returns the 20 latest), runs "Sync all" and reads the job's progress until it is done. The
//! Conversations API is limited to 2 calls per second per Page, so the ceiling is 2 × the page
//! size conversations per second; the figure says how close the import gets to it.

use crate::setup;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use url::Url;

pub struct SyncConfig {
    pub base: Url,
    pub email: String,
    pub password: String,
    pub fake_graph: Url,
    pub conversations: usize,
}

#[derive(Serialize)]
pub struct SyncReport {
    pub conversations: usize,
    pub secs: f64,
    pub contacts_imported: i64,
    pub messages_imported: i64,
    pub conversations_per_sec: f64,
    pub messages_per_sec: f64,
    pub conversations_calls: usize,
    /// The second run over the same Page: what it imported (0 when idempotent) and how long.
    pub rerun_messages_imported: i64,
    pub rerun_secs: f64,
}

const TOKEN: &str = "loadtest-sync-token";

pub async fn run(cfg: SyncConfig) -> Result<SyncReport> {
    let http = setup::cookie_client(Duration::from_secs(30))?;
    let (_, pid) =
        setup::login_into_new_project(&http, &cfg.base, &cfg.email, &cfg.password, "sync bench")
            .await?;
    let page_id = format!("5151{pid}");
    let control = |what: &str| cfg.fake_graph.join(&format!("/_control/{what}"));
    http.post(control("pages")?)
        .json(&json!({"page_id": page_id, "token": TOKEN, "name": "Sync Page"}))
        .send()
        .await?
        .error_for_status()?;
    http.post(control("conversations")?)
        .json(&json!({"page_id": page_id, "count": cfg.conversations, "messages_per": 25}))
        .send()
        .await?
        .error_for_status()?;
    let channel: Value = http
        .post(
            cfg.base
                .join(&format!("/api/projects/{pid}/channels/messenger"))?,
        )
        .json(
            &json!({"page_id": page_id, "page_name": "Sync Page", "page_access_token": TOKEN,
            "app_id": "778", "app_secret": "sync-secret", "verify_token": "sync-verify",
            "human_agent": false, "allowed_tags": []}),
        )
        .send()
        .await?
        .error_for_status()
        .context("connecting the Page")?
        .json()
        .await?;
    let cid = channel["id"].as_i64().context("channel id")?;
    let (first, secs) = sync_once(&http, &cfg.base, pid, cid).await?;
    let calls: Vec<Value> = http
        .get(
            cfg.fake_graph
                .join("/_control/requests?endpoint=conversations")?,
        )
        .send()
        .await?
        .json()
        .await?;
    let (second, rerun_secs) = sync_once(&http, &cfg.base, pid, cid).await?;
    let n = |v: &Value, k: &str| v["job"][k].as_i64().or(v[k].as_i64()).unwrap_or(0);
    let contacts = n(&first, "contacts_imported");
    let messages = n(&first, "messages_imported");
    Ok(SyncReport {
        conversations: cfg.conversations,
        secs,
        contacts_imported: contacts,
        messages_imported: messages,
        conversations_per_sec: n(&first, "conversations_done") as f64 / secs,
        messages_per_sec: messages as f64 / secs,
        conversations_calls: calls.len(),
        rerun_messages_imported: n(&second, "messages_imported"),
        rerun_secs,
    })
}

/// Starts "Sync all" and waits until the job is done; returns its last view and the time.
async fn sync_once(http: &reqwest::Client, base: &Url, pid: i64, cid: i64) -> Result<(Value, f64)> {
    let t0 = Instant::now();
    http.post(base.join(&format!("/api/projects/{pid}/channels/{cid}/sync"))?)
        .json(&json!({"scope": "all", "confirm": true}))
        .send()
        .await?
        .error_for_status()
        .context("starting the sync")?;
    let deadline = t0 + Duration::from_secs(1800);
    loop {
        let job: Value = http
            .get(base.join(&format!("/api/projects/{pid}/channels/{cid}/sync"))?)
            .send()
            .await?
            .json()
            .await?;
        match job["state"].as_str() {
            Some("done") => return Ok((job, t0.elapsed().as_secs_f64())),
            Some("failed") | Some("cancelled") => bail!("the sync ended {job}"),
            _ => {}
        }
        if Instant::now() > deadline {
            bail!("the sync did not finish within 30 minutes: {job}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn render(r: &SyncReport) -> String {
    format!(
        "conversations {} in {:.1} s: {:.1} conversations/s, {:.0} messages/s \
         ({} contacts, {} messages, {} Conversations API calls)\n\
         second run: {} messages imported in {:.1} s\n",
        r.conversations,
        r.secs,
        r.conversations_per_sec,
        r.messages_per_sec,
        r.contacts_imported,
        r.messages_imported,
        r.conversations_calls,
        r.rerun_messages_imported,
        r.rerun_secs
    )
}
