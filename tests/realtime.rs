//! Websocket behaviour: delivery both ways, acknowledgement after commit, resume, idempotency,
//! bad frames, data scope.

use crate::common::*;
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};
use switchboard::db::schema::messages;
use tokio_tungstenite::tungstenite::Message;

async fn reply(a: &mut WsClient, sid: i64, cid: &str, text: &str) -> Value {
    a.send(json!({"v": 1, "type": "send", "session_id": sid, "client_id": cid, "text": text}))
        .await;
    loop {
        let f = a.recv().await;
        match f["type"].as_str() {
            Some("ack") if f["client_id"] == cid => return f,
            Some("error") => panic!("error frame {f}"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_and_agent_talk_live() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    let mut visitor = app.visitor().await;
    assert!(
        visitor.hello.as_ref().unwrap()["visitor_token"]
            .as_str()
            .unwrap()
            .len()
            > 20
    );

    let ack = visitor_says(&mut visitor, "v1", "hello, anyone?").await;
    let sid = ack["session_id"].as_i64().unwrap();
    assert_eq!(ack["seq"], 1);

    // The agent learns of the new session, then gets the message.
    let session = agent.recv_type("session").await;
    assert_eq!(session["session"]["id"], sid);
    assert_eq!(session["session"]["status"], "unassigned");
    let m = agent.recv_type("message").await;
    assert_eq!(
        (
            m["session_id"].as_i64(),
            m["seq"].as_i64(),
            m["text"].as_str()
        ),
        (Some(sid), Some(1), Some("hello, anyone?"))
    );
    assert_eq!(m["sender"], "visitor");

    // Visitor typing reaches the agent; the agent's reply reaches the visitor.
    visitor
        .send(json!({"v": 1, "type": "typing", "on": true}))
        .await;
    let t = agent.recv_type("typing").await;
    assert_eq!(
        (t["from"].as_str(), t["on"].as_bool()),
        (Some("visitor"), Some(true))
    );

    let ack = reply(&mut agent, sid, "a1", "Hi! How can I help?").await;
    assert_eq!(ack["seq"], 2);
    let m = visitor.recv_type("message").await;
    assert_eq!(
        (m["seq"].as_i64(), m["sender"].as_str(), m["text"].as_str()),
        (Some(2), Some("agent"), Some("Hi! How can I help?"))
    );

    // Replying took the session: reception time and first response time are set.
    let s: Value = owner
        .http
        .get(format!(
            "{}/api/projects/{}/sessions/{sid}",
            app.url(),
            app.project_id
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["status"], "assigned");
    assert_eq!(s["assignee_id"], owner.user_id);
    assert!(s["received_at"].is_string());
    assert!(s["first_response_secs"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        (
            s["message_count"].as_i64(),
            s["visitor_message_count"].as_i64(),
            s["agent_message_count"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_means_the_message_is_committed() {
    let app = TestApp::start().await;
    let mut visitor = app.visitor().await;
    let mut db = app.db().await;
    for i in 0..20 {
        let cid = format!("c{i}");
        let ack = visitor_says(&mut visitor, &cid, &format!("message {i}")).await;
        // Read from a separate connection right after the ack: the row must be visible.
        let stored: Vec<(i64, String)> = messages::table
            .filter(messages::client_id.eq(&cid))
            .select((messages::seq, messages::body))
            .load(&mut db)
            .await
            .unwrap();
        assert_eq!(
            stored,
            vec![(ack["seq"].as_i64().unwrap(), format!("message {i}"))]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_reconnects_and_resumes_without_loss_or_duplicate() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut visitor = app.visitor().await;
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    let sid = visitor_says(&mut visitor, "m1", "one").await["session_id"]
        .as_i64()
        .unwrap();
    visitor_says(&mut visitor, "m2", "two").await;
    let seen: Vec<i64> = agent
        .recv_n("message", 2)
        .await
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seen, vec![1, 2]);

    // The agent's socket drops; the visitor keeps writing.
    agent.close().await;
    for i in 3..=6 {
        visitor_says(&mut visitor, &format!("m{i}"), &format!("msg {i}")).await;
    }
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    // A message that arrives live right after reconnecting, before the resume.
    visitor_says(&mut visitor, "m7", "msg 7").await;
    agent
        .send(json!({"v": 1, "type": "resume", "session_id": sid, "after_seq": 2, "ref": "r1"}))
        .await;
    visitor_says(&mut visitor, "m8", "msg 8").await;

    let mut got = Vec::new();
    let mut ok = false;
    while !(ok && got.len() >= 6) {
        let f = agent.recv().await;
        match f["type"].as_str() {
            Some("message") => got.push(f["seq"].as_i64().unwrap()),
            Some("ok") => {
                assert_eq!(f["ref"], "r1");
                ok = true;
            }
            _ => {}
        }
    }
    got.sort_unstable();
    assert_eq!(got, vec![3, 4, 5, 6, 7, 8], "every missing message once");
    // And none again later. The barrier: message 9, written after 8 was acknowledged. The
    // session actor hands its messages to the socket in seq order, before acknowledging them,
    // and the resume's history goes out before its `ok`; so a late copy of 3..=8 would come
    // before 9.
    visitor_says(&mut visitor, "m9", "msg 9").await;
    let nine = agent
        .assert_none_before_barrier(of_type("message"), |f| {
            f["type"] == "message" && f["seq"] == 9
        })
        .await;
    assert_eq!(nine["session_id"], sid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_comes_back_with_its_token_and_resumes_in_order() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut visitor = app.visitor().await;
    let token = visitor.hello.as_ref().unwrap()["visitor_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let sid = visitor_says(&mut visitor, "v1", "first").await["session_id"]
        .as_i64()
        .unwrap();
    visitor.close().await;
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    for i in 1..=3 {
        reply(&mut agent, sid, &format!("a{i}"), &format!("answer {i}")).await;
    }
    let mut visitor = app.visitor_with(Some(&token)).await;
    let hello = visitor.hello.clone().unwrap();
    assert_eq!(hello["session_id"], sid);
    assert_eq!(hello["last_seq"], 4);
    visitor
        .send(json!({"v": 1, "type": "resume", "after_seq": 1}))
        .await;
    let seqs: Vec<i64> = visitor
        .recv_n("message", 3)
        .await
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![2, 3, 4]);
    visitor.recv_type("ok").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_client_id_gets_the_same_ack_and_stores_one_row() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut visitor = app.visitor().await;
    let first = visitor_says(&mut visitor, "same", "hello").await;
    let again = visitor_says(&mut visitor, "same", "hello").await;
    assert_eq!(
        (first["seq"].clone(), first["message_id"].clone()),
        (again["seq"].clone(), again["message_id"].clone())
    );
    let sid = first["session_id"].as_i64().unwrap();
    assert_eq!(app.message_count(sid).await, 1);

    // Over REST, the same rule: 201 then 200 with the original.
    let url = format!(
        "{}/api/projects/{}/sessions/{sid}/messages",
        app.url(),
        app.project_id
    );
    let body = json!({"client_id": "rest-1", "text": "from REST"});
    let r1 = owner.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r1.status(), 201);
    let r1: Value = r1.json().await.unwrap();
    let r2 = owner.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r2.status(), 200);
    let r2: Value = r2.json().await.unwrap();
    assert_eq!(r1["message"]["message_id"], r2["message"]["message_id"]);
    assert_eq!(r2["duplicate"], true);
    assert_eq!(app.message_count(sid).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_an_error_and_keep_the_connection() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    let mut visitor = app.visitor().await;

    let cases: Vec<(String, &str)> = vec![
        ("{not json".into(), "invalid_json"),
        (r#"{"v":1,"type":"teleport"}"#.into(), "unknown_type"),
        (
            r#"{"v":1,"type":"send","client_id":"x"}"#.into(),
            "invalid_frame",
        ),
        (r#"{"v":9,"type":"ping"}"#.into(), "invalid_frame"),
        (
            format!(
                r#"{{"v":1,"type":"ping","ref":"{}"}}"#,
                "x".repeat(70 * 1024)
            ),
            "frame_too_large",
        ),
        (
            format!(
                r#"{{"v":1,"type":"send","client_id":"long","text":"{}"}}"#,
                "y".repeat(8001)
            ),
            "text_too_long",
        ),
    ];
    for (frame, code) in &cases {
        visitor.send_text(frame.clone()).await;
        let e = visitor.recv_type("error").await;
        assert_eq!(
            e["code"],
            *code,
            "visitor frame {}",
            &frame[..frame.len().min(60)]
        );
    }
    visitor.send_raw(Message::Binary(vec![1, 2, 3])).await;
    assert_eq!(
        visitor.recv_type("error").await["code"],
        "unsupported_frame"
    );
    // An agent command is unknown on the visitor socket.
    visitor
        .send(json!({"v": 1, "type": "end", "session_id": 1}))
        .await;
    assert_eq!(visitor.recv_type("error").await["code"], "unknown_type");

    for (frame, code) in &cases[..4] {
        agent.send_text(frame.clone()).await;
        assert_eq!(agent.recv_type("error").await["code"], *code);
    }
    // Sending to a session that does not exist: not_found with the client id as ref.
    agent
        .send(
            json!({"v": 1, "type": "send", "session_id": 999_999, "client_id": "zz", "text": "hi"}),
        )
        .await;
    let e = agent.recv_type("error").await;
    assert_eq!(
        (e["code"].as_str(), e["ref"].as_str()),
        (Some("not_found"), Some("zz"))
    );

    // Both connections still work and nothing was stored by the refusals.
    visitor
        .send(json!({"v": 1, "type": "ping", "ref": 7}))
        .await;
    assert_eq!(visitor.recv_type("pong").await["ref"], 7);
    let ack = visitor_says(&mut visitor, "fine", "still here").await;
    assert_eq!(ack["seq"], 1);
    assert_eq!(agent.recv_type("message").await["text"], "still here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_data_scope_sees_only_own_sessions_and_the_queue() {
    let app = TestApp::start().await;
    let pid = app.project_id;
    let owner = app.owner().await;
    app.set_role_scope(pid, "agent", "own").await;
    let amy = app.member(pid, "agent", "amy").await;
    let bob = app.member(pid, "agent", "bob").await;
    let mut amy_ws = app.agent_ws(&amy, pid).await;
    assert_eq!(amy_ws.hello.as_ref().unwrap()["data_scope"], "own");

    // Two visitors; the owner gives one session to Bob, the other to Amy.
    let mut v1 = app.visitor().await;
    let mut v2 = app.visitor().await;
    let s1 = visitor_says(&mut v1, "a", "for bob").await["session_id"]
        .as_i64()
        .unwrap();
    let s2 = visitor_says(&mut v2, "b", "for amy").await["session_id"]
        .as_i64()
        .unwrap();
    let assign = |sid: i64, uid: i64| {
        owner
            .http
            .post(format!(
                "{}/api/projects/{pid}/sessions/{sid}/assign",
                app.url()
            ))
            .json(&json!({"user_id": uid}))
            .send()
    };
    assert_eq!(assign(s1, bob.user_id).await.unwrap().status(), 200);
    assert_eq!(assign(s2, amy.user_id).await.unwrap().status(), 200);
    // Drain what Amy saw while both were in the queue, up to her own assignment.
    loop {
        let f = amy_ws.recv_type("session").await;
        if f["session"]["id"] == s2 && f["session"]["assignee_id"] == amy.user_id {
            break;
        }
    }
    visitor_says(&mut v1, "a2", "secret for bob").await;
    visitor_says(&mut v2, "b2", "hello amy").await;
    // "hello amy" is the barrier: it was written after Bob's secret was acknowledged, and a
    // session actor hands a message to the sockets before acknowledging it, so the secret
    // would have reached Amy's socket first.
    let m = amy_ws
        .assert_none_before_barrier(of_type("message"), message_in(s2))
        .await;
    assert_eq!(
        (m["session_id"].as_i64(), m["text"].as_str()),
        (Some(s2), Some("hello amy"))
    );

    // REST agrees: the list has only Amy's session, Bob's is 404 for her.
    let list: Value = amy
        .http
        .get(format!("{}/api/projects/{pid}/sessions", app.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![s2]);
    let r = amy
        .http
        .get(format!(
            "{}/api/projects/{pid}/sessions/{s1}/messages",
            app.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = amy
        .http
        .post(format!(
            "{}/api/projects/{pid}/sessions/{s1}/messages",
            app.url()
        ))
        .json(&json!({"client_id": "x", "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // And over the socket, sending into Bob's session is refused.
    amy_ws
        .send(
            json!({"v": 1, "type": "send", "session_id": s1, "client_id": "sneaky", "text": "hi"}),
        )
        .await;
    assert_eq!(amy_ws.recv_type("error").await["code"], "not_found");
    assert_eq!(app.message_count(s1).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_not_buffered() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    // This agent connects and then never reads (so it never answers pings either).
    let mut idle = app.agent_ws(&owner, app.project_id).await;
    let mut visitor = app.visitor().await;
    let big = "z".repeat(7900);
    let mut sent = 0usize;
    // ~4 MiB past what the client acknowledged marks it lagging; socket buffers absorb some.
    for i in 0..1500 {
        visitor_says(&mut visitor, &format!("big{i}"), &big).await;
        sent += big.len();
        if sent > 12 * 1024 * 1024 {
            break;
        }
    }
    assert_eq!(idle.closed_code().await, Some(4008));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_after_the_session_ended_is_acknowledged_not_stored_again() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut visitor = app.visitor().await;
    let token = visitor.hello.as_ref().unwrap()["visitor_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = visitor_says(&mut visitor, "lost-ack", "did this arrive?").await;
    let sid = first["session_id"].as_i64().unwrap();
    visitor.close().await;
    let r = owner
        .http
        .post(format!(
            "{}/api/projects/{}/sessions/{sid}/end",
            app.url(),
            app.project_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The visitor never saw the ack and sends the same message again after reconnecting.
    let mut visitor = app.visitor_with(Some(&token)).await;
    assert_eq!(visitor.hello.as_ref().unwrap()["session_id"], Value::Null);
    let again = visitor_says(&mut visitor, "lost-ack", "did this arrive?").await;
    assert_eq!(
        (again["session_id"].clone(), again["message_id"].clone()),
        (first["session_id"].clone(), first["message_id"].clone())
    );
    // No second row and no new (empty) session.
    let list: Value = owner
        .http
        .get(format!(
            "{}/api/projects/{}/sessions",
            app.url(),
            app.project_id
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.message_count(sid).await, 1);
    // A new message does open the next session.
    let next = visitor_says(&mut visitor, "fresh", "one more thing").await;
    assert_ne!(next["session_id"], first["session_id"]);
}
