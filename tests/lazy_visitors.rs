//! A visitor costs nothing until they write (issue 14, item 3): connecting makes no contact;
//! the first message makes it, once, under the token the visitor already holds.

use crate::common::*;
use serde_json::{json, Value};

fn token_of(v: &WsClient) -> String {
    v.hello.as_ref().unwrap()["visitor_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Contact ids in the owner's Contacts list.
async fn contacts_listed(app: &TestApp, owner: &Agent) -> Vec<i64> {
    let path = format!("/api/projects/{}/contacts?limit=200", app.project_id);
    app.get_json(owner, &path).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

/// How many contacts hold this token's hash (the unique index allows one; this proves it).
async fn contacts_with_token(app: &TestApp, token: &str) -> i64 {
    use diesel::{ExpressionMethods, QueryDsl};
    use diesel_async::RunQueryDsl;
    use switchboard::db::schema::contacts;
    let mut conn = app.db().await;
    contacts::table
        .filter(contacts::visitor_token_hash.eq(switchboard::domain::auth::hash_token(token)))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_without_writing_makes_no_contact() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let before = contacts_listed(&app, &owner).await;
    let v = app.visitor().await;
    let hello = v.hello.clone().unwrap();
    assert_eq!(hello["contact_id"], Value::Null, "{hello}");
    assert_eq!(hello["session_id"], Value::Null);
    assert_eq!(hello["last_seq"], 0);
    assert_eq!(token_of(&v).len(), 64);
    assert_eq!(app.contact_of_token(&token_of(&v)).await, None);
    assert_eq!(contacts_listed(&app, &owner).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_before_writing_is_the_same_pending_visitor() {
    let app = TestApp::start().await;
    let first = app.visitor().await;
    let token = token_of(&first);
    first.close().await;
    let again = app.visitor_with(Some(&token)).await;
    assert_eq!(token_of(&again), token);
    assert_eq!(again.hello.as_ref().unwrap()["contact_id"], Value::Null);
    assert_eq!(app.contact_of_token(&token).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_message_makes_one_contact_shown_in_contacts() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut v = app.visitor().await;
    let token = token_of(&v);
    let ack = visitor_says(&mut v, "c1", "hello").await;
    assert_eq!(ack["seq"], 1);
    let contact_id = app.contact_of_token(&token).await.expect("a contact now");
    assert_eq!(contacts_with_token(&app, &token).await, 1);
    assert!(contacts_listed(&app, &owner).await.contains(&contact_id));
    let sid = ack["session_id"].as_i64().unwrap();
    let path = format!("/api/projects/{}/sessions/{sid}", app.project_id);
    let session = app.get_json(&owner, &path).await;
    assert_eq!(session["contact_id"], contact_id, "{session}");
    // The next message goes to the same contact and session.
    let ack = visitor_says(&mut v, "c2", "anyone?").await;
    assert_eq!(ack["session_id"], sid);
    assert_eq!(contacts_with_token(&app, &token).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_after_writing_finds_the_same_contact_and_history() {
    let app = TestApp::start().await;
    let mut v = app.visitor().await;
    let token = token_of(&v);
    let sid = visitor_says(&mut v, "c1", "hello").await["session_id"]
        .as_i64()
        .unwrap();
    let contact_id = app.contact_of(&v).await;
    v.close().await;
    let mut again = app.visitor_with(Some(&token)).await;
    let hello = again.hello.clone().unwrap();
    assert_eq!(hello["visitor_token"], token.as_str());
    assert_eq!(hello["contact_id"], contact_id);
    assert_eq!(hello["session_id"], sid);
    assert_eq!(hello["last_seq"], 1);
    again
        .send(json!({"v": 1, "type": "resume", "after_seq": 0, "ref": "r"}))
        .await;
    let m = again.recv_type("message").await;
    assert_eq!(m["text"], "hello", "{m}");
    assert_eq!(again.recv_type("ok").await["ref"], "r");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_writing_their_first_messages_at_once_make_one_contact_and_one_session() {
    let app = TestApp::start().await;
    // A few rounds, so that the two first messages do meet in the insert at least once.
    for round in 0..5 {
        let first = app.visitor().await;
        let token = token_of(&first);
        let mut a = app.visitor_with(Some(&token)).await;
        let mut b = app.visitor_with(Some(&token)).await;
        first.close().await;
        a.send(json!({"v": 1, "type": "send", "client_id": "a1", "text": "from a"}))
            .await;
        b.send(json!({"v": 1, "type": "send", "client_id": "b1", "text": "from b"}))
            .await;
        let (ack_a, ack_b) = (a.recv_type("ack").await, b.recv_type("ack").await);
        assert_eq!(ack_a["session_id"], ack_b["session_id"], "round {round}");
        assert_eq!(contacts_with_token(&app, &token).await, 1, "round {round}");
        let sid = ack_a["session_id"].as_i64().unwrap();
        assert_eq!(app.message_count(sid).await, 2, "round {round}");
        let contact_id = app.contact_of_token(&token).await.unwrap();
        assert_eq!(app.session_count_of_contact(contact_id).await, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tab_of_a_pending_visitor_follows_the_conversation_its_first_message_starts() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut writer = app.visitor().await;
    let mut reader = app.visitor_with(Some(&token_of(&writer))).await;
    let sid = visitor_says(&mut writer, "c1", "hello").await["session_id"]
        .as_i64()
        .unwrap();
    let own = reader.recv_type("message").await;
    assert_eq!(own["text"], "hello", "{own}");
    app.reply(&owner, sid, "r1").await;
    let reply = reader.recv_type("message").await;
    assert_eq!(reply["text"], "How can I help?", "{reply}");
    // Its typing now reaches the session, so it is the contact's connection.
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    reader
        .send(json!({"v": 1, "type": "typing", "on": true}))
        .await;
    assert_eq!(agent.recv_type("typing").await["session_id"], sid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_made_up_or_altered_token_gets_a_fresh_one() {
    let app = TestApp::start().await;
    let real = token_of(&app.visitor().await);
    let mut altered = real.clone().into_bytes();
    altered[40] = if altered[40] == b'0' { b'1' } else { b'0' };
    let altered = String::from_utf8(altered).unwrap();
    for made_up in ["0".repeat(64), altered, "not-a-token".to_owned()] {
        let v = app.visitor_with(Some(&made_up)).await;
        let given = token_of(&v);
        assert_ne!(given, made_up);
        assert_ne!(given, real);
        assert_eq!(v.hello.as_ref().unwrap()["contact_id"], Value::Null);
    }
    assert_eq!(app.contact_of_token(&real).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_token_of_another_channel_gets_a_fresh_one() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (s, channel) = app
        .call(
            &owner,
            reqwest::Method::POST,
            &format!("/api/projects/{}/channels", app.project_id),
            Some(json!({"kind": "web", "name": "Second site"})),
        )
        .await;
    assert_eq!(s, 201, "{channel}");
    let elsewhere = token_of(
        &app.visitor_on(channel["widget_key"].as_str().unwrap(), None)
            .await,
    );
    let mut here = app.visitor_with(Some(&elsewhere)).await;
    let token = token_of(&here);
    assert_ne!(token, elsewhere);
    // Writing here makes this channel's contact, and the other token still has none.
    visitor_says(&mut here, "c1", "hello").await;
    assert!(app.contact_of_token(&token).await.is_some());
    assert_eq!(app.contact_of_token(&elsewhere).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_message_whose_session_cannot_open_makes_no_contact() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::start().await;
    let mut v = app.visitor().await;
    let token = token_of(&v);
    // Every new session is refused: the first message fails after its contact's insert.
    let mut db = app.db().await;
    diesel::sql_query("ALTER TABLE sessions ADD CONSTRAINT refuse_new CHECK (false) NOT VALID")
        .execute(&mut db)
        .await
        .unwrap();
    v.send(json!({"v": 1, "type": "send", "client_id": "c1", "text": "hello"}))
        .await;
    let refused = v.recv_type("error").await;
    assert_eq!(refused["ref"], "c1", "{refused}");
    assert_eq!(app.contact_of_token(&token).await, None);
    // Sent again once sessions open, it makes the contact and its session once.
    diesel::sql_query("ALTER TABLE sessions DROP CONSTRAINT refuse_new")
        .execute(&mut db)
        .await
        .unwrap();
    let ack = visitor_says(&mut v, "c1", "hello").await;
    assert_eq!(ack["seq"], 1);
    assert_eq!(contacts_with_token(&app, &token).await, 1);
    let contact_id = app.contact_of_token(&token).await.unwrap();
    assert_eq!(app.session_count_of_contact(contact_id).await, 1);
}
