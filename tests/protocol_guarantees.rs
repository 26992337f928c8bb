//! What docs/protocol.md promises an integrator, checked from outside: a connection's messages
//! are stored in the order sent whatever the session's state, a refused frame applies nothing,
//! resuming after the contiguous point loses nothing, and oversized frames close with 1009.

use crate::common::{visitor_says, TestApp, WsClient, WAIT};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use serde_json::{json, Value};
use switchboard::db::schema::messages;

/// Sends `n` messages back to back without waiting; returns the acks by client id order.
async fn burst(v: &mut WsClient, tag: &str, n: usize) -> Vec<Value> {
    for i in 0..n {
        v.send(json!({"v": 1, "type": "send", "client_id": format!("{tag}{i}"), "text": format!("{tag} {i}")}))
            .await;
    }
    let mut acks = v.recv_n("ack", n).await;
    acks.sort_by_key(|a| {
        a["client_id"].as_str().unwrap()[tag.len()..]
            .parse::<usize>()
            .unwrap()
    });
    acks
}

/// The texts of a session's messages in `seq` order.
async fn stored_texts(app: &TestApp, sid: i64) -> Vec<String> {
    let mut conn = app.db().await;
    messages::table
        .filter(messages::session_id.eq(sid))
        .order(messages::seq.asc())
        .select(messages::body)
        .load(&mut conn)
        .await
        .unwrap()
}

fn expected(tag: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{tag} {i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_into_a_new_session_is_stored_in_the_order_sent() {
    let app = TestApp::start().await;
    // Several new visitors: an order that holds by luck once rarely holds five times.
    for round in 0..5 {
        let mut v = app.visitor().await;
        let acks = burst(&mut v, "b", 8).await;
        let sid = acks[0]["session_id"].as_i64().unwrap();
        assert!(acks.iter().all(|a| a["session_id"] == sid), "one session");
        let seqs: Vec<i64> = acks.iter().map(|a| a["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=8).collect::<Vec<_>>(), "round {round}: acks");
        assert_eq!(
            stored_texts(&app, sid).await,
            expected("b", 8),
            "round {round}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_after_the_session_ended_is_stored_in_order_in_the_next_session() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (mut v, first) = app.open_session("hello").await;
    app.end(&owner, first).await;
    v.recv_type("session").await; // the visitor learns that it ended
    let acks = burst(&mut v, "n", 8).await;
    let next = acks[0]["session_id"].as_i64().unwrap();
    assert_ne!(next, first);
    assert_eq!(stored_texts(&app, next).await, expected("n", 8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_holds_at_most_256_unstored_sends_and_refuses_the_rest_unstored() {
    let app = TestApp::start().await;
    let (mut v, sid) = app.open_session("hello").await;
    // The session row held by another transaction: the next send stays in flight, the ones
    // after it wait in the connection's queue.
    let mut locker = app.db().await;
    locker
        .batch_execute(&format!(
            "BEGIN; SELECT id FROM sessions WHERE id = {sid} FOR UPDATE"
        ))
        .await
        .unwrap();
    let total = 1 + 256 + 3;
    for i in 0..total {
        v.send(
            json!({"v": 1, "type": "send", "client_id": format!("q{i}"), "text": format!("q {i}")}),
        )
        .await;
    }
    // One in flight and 256 queued: the last three are refused, and said so at once (their
    // errors are also the proof that every frame was read before the lock goes).
    let mut refused = Vec::new();
    for _ in 0..3 {
        let e = v.recv_type("error").await;
        assert_eq!(e["code"], "rate_limited", "{e}");
        refused.push(e["ref"].as_str().unwrap().to_owned());
    }
    assert_eq!(refused, ["q257", "q258", "q259"]);
    locker.batch_execute("COMMIT").await.unwrap();
    let acks = v.recv_n("ack", 257).await;
    assert!(acks.iter().all(|a| a["session_id"] == sid));
    let mut stored = stored_texts(&app, sid).await;
    assert_eq!(stored.remove(0), "hello");
    assert_eq!(
        stored,
        expected("q", 257),
        "the accepted ones, in the order sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_first_send_opens_no_session() {
    let app = TestApp::start().await;
    let mut v = app.visitor().await;
    let token = v.hello.as_ref().unwrap()["visitor_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = [
        (json!("c1"), json!("x".repeat(8001)), "text_too_long"),
        (json!("c2"), json!("   "), "validation"),
        (json!(""), json!("hi"), "validation"),
        (json!("c".repeat(65)), json!("hi"), "validation"),
    ];
    for (client_id, text, code) in refused {
        v.send(json!({"v": 1, "type": "send", "client_id": client_id, "text": text}))
            .await;
        let e = v.recv_type("error").await;
        assert_eq!(e["code"], code, "{e}");
        assert_eq!(e["ref"], client_id);
    }
    // Each error frame is sent after whatever the send did, so this is final here: no session,
    // not even the contact (made with the first stored message).
    assert_eq!(app.contact_of_token(&token).await, None);
    // The connection is kept and the next good message opens the one session.
    let ack = visitor_says(&mut v, "ok", "now a real question").await;
    assert_eq!(ack["seq"], 1);
    let contact_id = app.contact_of(&v).await;
    assert_eq!(app.session_count_of_contact(contact_id).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_after_the_contiguous_point_fills_a_gap_left_by_a_live_message() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (mut visitor, sid) = app.open_session("message 1").await;
    // The agent has message 1 on screen; its socket drops; the visitor writes 2..21.
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    agent
        .send(json!({"v": 1, "type": "resume", "session_id": sid, "after_seq": 0, "ref": "r0"}))
        .await;
    assert_eq!(agent.recv_type("message").await["seq"], 1);
    agent.recv_type("ok").await;
    agent.close().await;
    for i in 2..=21 {
        visitor_says(&mut visitor, &format!("m{i}"), &format!("message {i}")).await;
    }
    // A fresh socket gets message 22 live before the client has resumed the session; the
    // socket is cut right after it.
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    visitor_says(&mut visitor, "m22", "message 22").await;
    assert_eq!(agent.recv_type("message").await["seq"], 22);
    agent.close().await;

    // The highest seq shown (22) is not a safe resume point: nothing between 1 and 22 follows.
    let mut naive = app.agent_ws(&owner, app.project_id).await;
    naive
        .send(json!({"v": 1, "type": "resume", "session_id": sid, "after_seq": 22, "ref": "hi"}))
        .await;
    let f = naive.recv().await;
    assert_eq!((f["type"].as_str(), &f["ref"]), (Some("ok"), &json!("hi")));
    naive.close().await;

    // The documented rule: resume after the highest seq up to which every message is held (1).
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    agent
        .send(json!({"v": 1, "type": "resume", "session_id": sid, "after_seq": 1, "ref": "r1"}))
        .await;
    let mut seqs = Vec::new();
    loop {
        let f = agent.recv().await;
        match f["type"].as_str() {
            Some("message") => seqs.push(f["seq"].as_i64().unwrap()),
            Some("ok") => break,
            _ => {}
        }
    }
    assert_eq!(
        seqs,
        (2..=22).collect::<Vec<_>>(),
        "every missing message, in order, once"
    );
}

/// A masked text-frame header declaring `len` payload bytes (64-bit length form).
fn header_declaring(len: u64) -> Vec<u8> {
    let mut h = vec![0x81, 0x80 | 127];
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[7, 7, 7, 7]);
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_declared_over_1_mib_is_closed_with_1009_before_its_payload_arrives() {
    let app = TestApp::start().await;
    let mut v = app.visitor().await;
    let mut bytes = header_declaring(2 * 1024 * 1024);
    bytes.extend_from_slice(b"only the start of the payload");
    v.write_raw_bytes(&bytes).await;
    let code = tokio::time::timeout(WAIT, v.closed_code())
        .await
        .expect("the server must not wait for the rest of the frame");
    assert_eq!(code, Some(1009));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_frame_over_1_mib_is_closed_with_1009() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    let big = format!(r#"{{"type":"ping","ref":"{}"}}"#, "x".repeat(1536 * 1024));
    agent.send_text(big).await;
    assert_eq!(agent.closed_code().await, Some(1009));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_sent_before_an_oversized_one_are_still_answered() {
    let app = TestApp::start().await;
    let mut v = app.visitor().await;
    // One write: a complete ping frame, then the header of an oversized frame.
    let ping = br#"{"type":"ping","ref":"before"}"#;
    let mut bytes = vec![0x81, 0x80 | ping.len() as u8, 0, 0, 0, 0];
    bytes.extend_from_slice(ping); // a zero mask key leaves the payload as it is
    bytes.extend(header_declaring(5 * 1024 * 1024));
    v.write_raw_bytes(&bytes).await;
    let pong = v.recv_type("pong").await;
    assert_eq!(pong["ref"], "before");
    assert_eq!(v.closed_code().await, Some(1009));
}
