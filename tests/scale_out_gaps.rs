//! Two servers on one database and no Redis: a message committed on the other server never
//! reaches this one's connections live, so the next message they get is past a hole. The
//! connection fills it from Postgres and still sends 1..N in order, each once.

use crate::common::*;
use serde_json::{json, Value};
use switchboard::app::RunningServer;

/// A second server on the app's database, stopped when dropped (so its pool's connections
/// close even when the test fails).
struct Other(Option<RunningServer>);

impl Other {
    async fn start(app: &TestApp) -> Other {
        Other(Some(start_server(&app.db_url).await))
    }

    fn ws_url(&self) -> String {
        let s = self.0.as_ref().expect("server running");
        s.url().replacen("http://", "ws://", 1)
    }

    async fn agent_ws(&self, agent: &Agent, project_id: i64) -> WsClient {
        let url = format!("{}/ws/agent?project={project_id}", self.ws_url());
        let mut c = WsClient::connect(&url, Some(&agent.token)).await;
        c.hello = Some(c.recv_type("hello").await);
        c
    }
}

impl Drop for Other {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            let stopping = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(s.stop(false));
                }
            });
            let _ = stopping.join();
        }
    }
}

/// An agent's reply, once committed (its ack); returns its seq.
async fn agent_says(a: &mut WsClient, sid: i64, client_id: &str, text: &str) -> i64 {
    a.send(json!({"v": 1, "type": "send", "session_id": sid, "client_id": client_id, "text": text}))
        .await;
    loop {
        let f = a.recv().await;
        match f["type"].as_str() {
            Some("ack") if f["client_id"] == client_id => return f["seq"].as_i64().unwrap(),
            Some("error") => panic!("error frame {f}"),
            _ => {}
        }
    }
}

/// The seqs of the `message` frames of `sid` above `above` that arrive until seq `until` does
/// (the barrier: nothing of the session can follow out of place once it is here).
async fn seqs_until(c: &mut WsClient, sid: i64, above: i64, until: i64) -> Vec<i64> {
    let (before, last) = c
        .recv_until_barrier(|f: &Value| message_in(sid)(f) && f["seq"] == until)
        .await;
    before
        .iter()
        .chain([&last])
        .filter(|f| message_in(sid)(f))
        .filter_map(|f| f["seq"].as_i64())
        .filter(|seq| *seq > above)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_gets_a_reply_made_on_another_server_in_order_when_the_next_message_shows_the_gap(
) {
    let app = TestApp::start().await;
    let other = Other::start(&app).await;
    let owner = app.owner().await;
    let mut agent_a = app.agent_ws(&owner, app.project_id).await;
    let (mut visitor, sid) = app.open_session("hello").await;
    assert_eq!(seqs_until(&mut agent_a, sid, 0, 1).await, [1]);

    // Committed on B: A's connections never hear of it live.
    let mut agent_b = other.agent_ws(&owner, app.project_id).await;
    assert_eq!(agent_says(&mut agent_b, sid, "b1", "from B").await, 2);

    assert_eq!(visitor_says(&mut visitor, "v2", "again").await["seq"], 3);
    assert_eq!(visitor_says(&mut visitor, "v3", "and again").await["seq"], 4);
    assert_eq!(seqs_until(&mut agent_a, sid, 1, 4).await, [2, 3, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_gets_a_reply_made_on_another_server_in_order_when_its_next_message_shows_the_gap(
) {
    let app = TestApp::start().await;
    let other = Other::start(&app).await;
    let owner = app.owner().await;
    let (mut visitor, sid) = app.open_session("hello").await;

    let mut agent_b = other.agent_ws(&owner, app.project_id).await;
    assert_eq!(agent_says(&mut agent_b, sid, "b1", "from B").await, 2);

    // The visitor writes again on A; the barrier is a reply from an agent on A after it.
    let mut agent_a = app.agent_ws(&owner, app.project_id).await;
    visitor
        .send(json!({"v": 1, "type": "send", "client_id": "v2", "text": "anyone?"}))
        .await;
    seqs_until(&mut agent_a, sid, 0, 3).await;
    assert_eq!(agent_says(&mut agent_a, sid, "a1", "from A").await, 4);
    assert_eq!(seqs_until(&mut visitor, sid, 1, 4).await, [2, 3, 4]);
}
