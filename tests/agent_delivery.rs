//! Delivery to an agent that falls behind: the server closes its socket (4008) instead of
//! queuing for it, and the agent's resume gives it every message it missed, once, in order.

use crate::common::steps::visitor_says;
use crate::common::ws::WsClient;
use crate::common::TestApp;
use serde_json::json;
use std::collections::BTreeSet;

/// Each message is about 8 KB: the server marks a client that has not echoed 4 MiB as lagging,
/// and the socket buffers between the two take several MiB more.
const BIG: usize = 7900;
const MAX_MESSAGES: usize = 1500;

/// What an agent saw of a session until the server closed its socket.
struct FellBehind {
    session_id: i64,
    /// Messages the visitor had stored (the session's last seq).
    stored: i64,
    /// The seqs of the session's `message` frames that reached the agent before the close.
    live: Vec<i64>,
    close_code: Option<u16>,
}

/// An agent reads the session's first message, then stops reading while the visitor writes
/// about 12 MiB; then it reads what the server had written to it, up to the close, and the
/// visitor writes three more.
async fn fall_behind(app: &TestApp, agent: &mut WsClient) -> FellBehind {
    let mut visitor = app.visitor().await;
    let first = visitor_says(&mut visitor, "first", "hello").await;
    let session_id = first["session_id"].as_i64().unwrap();
    let mut live = Vec::new();
    while live.is_empty() {
        let f = agent.recv().await;
        if f["type"] == "message" && f["session_id"] == session_id {
            live.push(f["seq"].as_i64().unwrap());
        }
    }
    let big = "z".repeat(BIG);
    let mut stored = first["seq"].as_i64().unwrap();
    for i in 0..MAX_MESSAGES {
        stored = visitor_says(&mut visitor, &format!("big{i}"), &big).await["seq"]
            .as_i64()
            .unwrap();
    }
    let (frames, close_code) = agent.frames_until_close().await;
    live.extend(
        frames
            .iter()
            .filter(|f| f["type"] == "message" && f["session_id"] == session_id)
            .map(|f| f["seq"].as_i64().unwrap()),
    );
    // What the server had written reached the agent before the close; these come after it.
    for i in 0..3 {
        stored = visitor_says(&mut visitor, &format!("after{i}"), "while you were away").await
            ["seq"]
            .as_i64()
            .unwrap();
    }
    FellBehind {
        session_id,
        stored,
        live,
        close_code,
    }
}

/// The highest seq up to which `seqs` holds every message from 1 (0 when it lacks 1).
fn resume_point(seqs: &[i64]) -> i64 {
    let held: BTreeSet<i64> = seqs.iter().copied().collect();
    let mut point = 0;
    while held.contains(&(point + 1)) {
        point += 1;
    }
    point
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_falls_behind_is_closed_4008_and_its_resume_gives_every_message_once_in_order(
) {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    let behind = fall_behind(&app, &mut agent).await;
    assert_eq!(behind.close_code, Some(4008));
    assert!(
        (behind.live.len() as i64) < behind.stored,
        "the agent was closed before it had everything"
    );
    let sid = behind.session_id;
    let point = resume_point(&behind.live);

    let mut again = app.agent_ws(&owner, app.project_id).await;
    again
        .send(json!({"v": 1, "type": "resume", "session_id": sid, "after_seq": point, "ref": "r"}))
        .await;
    let (before_ok, _ok) = again
        .recv_until_barrier(|f| f["type"] == "ok" && f["ref"] == "r")
        .await;
    let resumed: Vec<i64> = before_ok
        .iter()
        .filter(|f| f["type"] == "message" && f["session_id"] == sid)
        .map(|f| f["seq"].as_i64().unwrap())
        .collect();
    let expected: Vec<i64> = (point + 1..=behind.stored).collect();
    assert_eq!(
        resumed, expected,
        "the resume gives what follows the point, in order, once"
    );
    // With what it held, the agent has every message once.
    let mut all: Vec<i64> = behind
        .live
        .iter()
        .copied()
        .filter(|s| *s <= point)
        .collect();
    all.extend(resumed);
    assert_eq!(all, (1..=behind.stored).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_close_is_counted_in_metrics_by_kind_and_cause() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    let behind = fall_behind(&app, &mut agent).await;
    assert_eq!(behind.close_code, Some(4008));
    let body = reqwest::get(format!("{}/metrics", app.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let count = |kind: &str, cause: &str| {
        scrape
            .samples
            .iter()
            .find(|s| {
                s.metric == "switchboard_connections_lagging_total"
                    && s.labels.get("kind") == Some(kind)
                    && s.labels.get("cause") == Some(cause)
            })
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                ref other => panic!("{other:?}"),
            })
            .unwrap_or_else(|| panic!("no lagging sample for {kind} {cause}"))
    };
    // It never read, so it never echoed a ping: the unread bytes closed it.
    assert_eq!(count("agent", "unread_bytes"), 1.0);
    assert_eq!(count("agent", "mailbox"), 0.0);
    assert_eq!(count("visitor", "unread_bytes"), 0.0);
}
