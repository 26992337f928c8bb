//! Two servers on one database and no Redis: a message committed on the other server never
//! reaches this one's connections live, so the next message they get is past a hole. The
//! connection fills it from Postgres and still sends 1..N in order, each once.

use crate::common::*;
use serde_json::{json, Value};

/// An agent's reply, once committed (its ack); returns its seq.
async fn agent_says(a: &mut WsClient, sid: i64, client_id: &str, text: &str) -> i64 {
    a.send(
        json!({"v": 1, "type": "send", "session_id": sid, "client_id": client_id, "text": text}),
    )
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
async fn an_agent_gets_another_servers_reply_in_order_once_a_later_message_shows_the_gap() {
    let app = TestApp::start().await;
    let other = app.another_server().await;
    let owner = app.owner().await;
    let mut agent_a = app.agent_ws(&owner, app.project_id).await;
    let (mut visitor, sid) = app.open_session("hello").await;
    assert_eq!(seqs_until(&mut agent_a, sid, 0, 1).await, [1]);

    // Committed on B: A's connections never hear of it live.
    let mut agent_b = other.agent_ws(&owner, app.project_id).await;
    assert_eq!(agent_says(&mut agent_b, sid, "b1", "from B").await, 2);

    assert_eq!(visitor_says(&mut visitor, "v2", "again").await["seq"], 3);
    assert_eq!(
        visitor_says(&mut visitor, "v3", "and again").await["seq"],
        4
    );
    assert_eq!(seqs_until(&mut agent_a, sid, 1, 4).await, [2, 3, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_gets_another_servers_reply_in_order_once_its_next_message_shows_the_gap() {
    let app = TestApp::start().await;
    let other = app.another_server().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_whose_scope_a_session_leaves_during_its_fill_gets_what_was_held_and_stays() {
    let app = TestApp::start().await;
    let other = app.another_server().await;
    let pid = app.project_id;
    let ann = app.member(pid, "agent", "ann").await;
    app.set_role_scope(pid, "agent", "own").await;
    let bob = app.member(pid, "admin", "bob").await;
    let mut ann_a = app.agent_ws(&ann, pid).await;
    let (visitor, sid) = app.open_session("hello").await;
    assert_eq!(seqs_until(&mut ann_a, sid, 0, 1).await, [1]);

    // The visitor writes again through B: Ann, on A, does not hear of seq 2.
    let token = visitor.hello.as_ref().unwrap()["visitor_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut visitor_b = other.visitor_with(Some(&token)).await;
    assert_eq!(
        visitor_says(&mut visitor_b, "v2", "still there?").await["seq"],
        2
    );

    // Bob's reply on A takes the session out of Ann's scope: she gets it (she saw the session
    // before it), past the hole, and the fill finds the session no longer hers.
    let mut bob_a = app.agent_ws(&bob, pid).await;
    assert_eq!(agent_says(&mut bob_a, sid, "b1", "mine now").await, 3);
    assert_eq!(seqs_until(&mut ann_a, sid, 1, 3).await, [3]);
    let (_, session) = ann_a
        .recv_until_barrier(|f: &Value| f["type"] == "session" && f["session"]["id"] == sid)
        .await;
    assert_eq!(session["session"]["assignee_id"], bob.user_id);
    // Still open: a ping is answered.
    ann_a
        .send(json!({"v": 1, "type": "ping", "ref": "still-open"}))
        .await;
    let pong = ann_a.recv_type("pong").await;
    assert_eq!(pong["ref"], "still-open");
}
