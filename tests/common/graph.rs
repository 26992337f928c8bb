//! The fake Graph API for the tests: a real HTTP server process (`tests/fake_graph.py`) that
//! speaks the wire format of the calls the Messenger channel makes, records every call, answers
//! scripted errors or slow answers on request and, like Meta, can POST signed echo webhooks.
//! Our code under test is the real Graph client. Every wait is bounded; the process is killed
//! when the handle is dropped. Also: signing webhooks and building their events.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::process::Stdio;
use switchboard::config::Config;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

pub const VERSION: &str = "v25.0";

pub struct FakeGraph {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    pub port: u16,
    /// What `--graph-base-url` is set to: `http://127.0.0.1:PORT/v25.0`.
    pub base_url: String,
    http: reqwest::Client,
}

impl FakeGraph {
    pub async fn start() -> FakeGraph {
        FakeGraph::start_on(0).await
    }

    /// On a given port (0: any), e.g. to bring it back where a server expects it.
    pub async fn start_on(port: u16) -> FakeGraph {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake_graph.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 tests/fake_graph.py starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        tokio::time::timeout(super::WAIT, stdout.read_line(&mut line))
            .await
            .expect("the fake Graph API did not start in time")
            .unwrap();
        let port: u16 = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the fake Graph API: {line:?}"));
        FakeGraph {
            child,
            _stdout: stdout,
            port,
            base_url: format!("http://127.0.0.1:{port}/{VERSION}"),
            http: reqwest::Client::new(),
        }
    }

    /// A test-server configuration pointing the Graph client here.
    pub fn configure(&self) -> impl Fn(&mut Config) + Send + Sync + 'static {
        let base = self.base_url.clone();
        move |c: &mut Config| c.graph_base_url = base.clone()
    }

    fn control_url(&self, what: &str) -> String {
        format!("http://127.0.0.1:{}/_control/{what}", self.port)
    }

    async fn control(&self, what: &str, body: Value) {
        let r = self
            .http
            .post(self.control_url(what))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("fake Graph control {what}: {e}"));
        assert!(
            r.status().is_success(),
            "fake Graph control {what}: {}",
            r.status()
        );
    }

    /// A Page the fake knows, with the token it accepts (others get error 190).
    pub async fn add_page(&self, page_id: &str, token: &str, name: &str) {
        self.control(
            "pages",
            json!({"page_id": page_id, "token": token, "name": name}),
        )
        .await;
    }

    /// Queues answers for the next calls of `endpoint` (`send`, `conversations`, `profile`,
    /// `page`), each `{"status", "body", "headers", "delay_ms"}`; an entry without `status`
    /// only delays the call, which is then answered as usual.
    pub async fn script(&self, endpoint: &str, responses: Vec<Value>) {
        self.control(
            "script",
            json!({"endpoint": endpoint, "responses": responses}),
        )
        .await;
    }

    /// The calls received for `endpoint`, oldest first: `{method, path, query, headers, body, t}`.
    pub async fn requests(&self, endpoint: &str) -> Vec<Value> {
        self.http
            .get(self.control_url("requests"))
            .query(&[("endpoint", endpoint)])
            .send()
            .await
            .expect("fake Graph requests")
            .json()
            .await
            .expect("fake Graph requests JSON")
    }

    /// Waits until at least `n` calls of `endpoint` arrived, and returns them all.
    pub async fn wait_for_requests(&self, endpoint: &str, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + super::WAIT;
        loop {
            let got = self.requests(endpoint).await;
            if got.len() >= n {
                return got;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "timed out waiting for {n} {endpoint} call(s) to the fake Graph API; got {}: {got:?}",
                    got.len()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// `n` conversations, newest first: person `psid-<i>` ("Person <i>") with `messages_per`
    /// messages (mids `m-<i>-<k>`, k = 0 the oldest), of which the API returns the 20 latest.
    pub async fn seed_conversations_with(&self, page_id: &str, n: usize, messages_per: usize) {
        self.control(
            "conversations",
            json!({"page_id": page_id, "count": n, "messages_per": messages_per}),
        )
        .await;
    }

    pub async fn seed_conversations(&self, page_id: &str, n: usize) {
        self.seed_conversations_with(page_id, n, 25).await;
    }

    pub async fn set_profile(&self, psid: &str, first: &str, last: &str) {
        self.control(
            "profiles",
            json!({"psid": psid, "first_name": first, "last_name": last}),
        )
        .await;
    }

    /// For every message the Send API accepts for `page_id`, POST a signed echo webhook to
    /// `webhook_url`: `after_response` (as Meta usually does), `before_response` (the race
    /// Chatwoot hit), or `off`.
    pub async fn echo_to(
        &self,
        page_id: &str,
        webhook_url: &str,
        app_secret: &str,
        app_id: i64,
        mode: &str,
    ) {
        self.control(
            "echo",
            json!({"page_id": page_id, "webhook_url": webhook_url, "app_secret": app_secret,
                   "app_id": app_id, "mode": mode}),
        )
        .await;
    }

    pub async fn reset(&self) {
        self.control("reset", json!({})).await;
    }

    /// Kills the process (its port is free again for `start_on`).
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(super::WAIT, self.child.wait()).await;
    }
}

/// `X-Hub-Signature-256` for `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A webhook POST body: one entry for the Page with these `messaging` events.
pub fn envelope(page_id: &str, events: Vec<Value>) -> Value {
    json!({"object": "page", "entry": [{"id": page_id, "time": now_ms(), "messaging": events}]})
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn message_event(page_id: &str, psid: &str, mid: &str, text: &str, ts_ms: i64) -> Value {
    json!({"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": ts_ms,
           "message": {"mid": mid, "text": text}})
}

pub fn echo_event(
    page_id: &str,
    psid: &str,
    mid: &str,
    text: &str,
    app_id: Option<i64>,
    metadata: Option<&str>,
    ts_ms: i64,
) -> Value {
    let mut message = json!({"is_echo": true, "mid": mid, "text": text});
    if let Some(a) = app_id {
        message["app_id"] = json!(a);
    }
    if let Some(m) = metadata {
        message["metadata"] = json!(m);
    }
    json!({"sender": {"id": page_id}, "recipient": {"id": psid}, "timestamp": ts_ms,
           "message": message})
}

pub fn postback_event(
    page_id: &str,
    psid: &str,
    mid: &str,
    title: &str,
    payload: &str,
    ts_ms: i64,
) -> Value {
    json!({"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": ts_ms,
           "postback": {"mid": mid, "title": title, "payload": payload}})
}

pub fn delivery_event(page_id: &str, psid: &str, watermark_ms: i64) -> Value {
    json!({"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": watermark_ms,
           "delivery": {"watermark": watermark_ms}})
}

pub fn read_event(page_id: &str, psid: &str, watermark_ms: i64) -> Value {
    json!({"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": watermark_ms,
           "read": {"watermark": watermark_ms}})
}

/// POSTs a signed webhook body to the server; returns the status.
pub async fn post_webhook(server_url: &str, secret: &str, body: &Value) -> u16 {
    let raw = serde_json::to_vec(body).unwrap();
    reqwest::Client::new()
        .post(format!("{server_url}/webhooks/messenger"))
        .header("Content-Type", "application/json")
        .header("X-Hub-Signature-256", sign(secret, &raw))
        .body(raw)
        .send()
        .await
        .expect("webhook POST")
        .status()
        .as_u16()
}
