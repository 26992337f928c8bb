//! The committer's plain batch runs prepared statements on their generic plans (issue 14, CPU
//! per message): what they read is still read afresh by every batch. A setting changed or a
//! flow published after a session's plain messages applies to its next message, a resend is
//! still answered with its original once those statements are prepared, and a column added
//! by a migration does not break them.

use crate::common::flows::{bot_texts, exec, hello, publish, timers_of};
use crate::common::{visitor_says, TestApp};
use reqwest::Method;
use serde_json::json;
use switchboard::db::messages::{self, Key, Within};
use switchboard::db::sessions;
use switchboard::domain::conversation::TIMER_AUTO_END;

/// More plain messages than PostgreSQL's five custom plans before it keeps a generic one, on
/// every connection of the test server's pool (6).
const PLAIN: usize = 40;

async fn plain_messages(v: &mut crate::common::WsClient, n: usize) {
    for i in 0..n {
        visitor_says(v, &format!("plain-{i}"), "just chatting").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_published_after_plain_messages_answers_the_next_message() {
    let app = TestApp::start().await;
    let (mut v, sid) = app.open_session("hi").await;
    plain_messages(&mut v, PLAIN).await;
    assert!(bot_texts(&app, sid).await.is_empty());
    let kw = json!({"kind": "keyword", "keywords": ["help"]});
    publish(&app, "Help", hello(kw, "Helping")).await;
    visitor_says(&mut v, "after", "help").await;
    assert_eq!(bot_texts(&app, sid).await, ["Helping"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_end_set_after_plain_messages_is_scheduled_by_the_next_message() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (mut v, sid) = app.open_session("hi").await;
    plain_messages(&mut v, PLAIN).await;
    assert!(timers_of(&app, sid, TIMER_AUTO_END).await.is_empty());
    let path = format!("/api/projects/{}/settings", app.project_id);
    let body = json!({"auto_end_after_secs": 3600});
    let (status, _) = app.call(&owner, Method::PATCH, &path, Some(body)).await;
    assert_eq!(status, 200);
    visitor_says(&mut v, "after", "still here").await;
    let timers = timers_of(&app, sid, TIMER_AUTO_END).await;
    assert_eq!(timers.len(), 1, "{timers:?}");
    assert!(!timers[0].2, "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_after_many_plain_messages_is_answered_with_its_original() {
    let app = TestApp::start().await;
    let (mut v, _sid) = app.open_session("hi").await;
    plain_messages(&mut v, PLAIN).await;
    let first = visitor_says(&mut v, "plain-3", "just chatting").await;
    let again = visitor_says(&mut v, "plain-3", "just chatting").await;
    assert_eq!(first["seq"], again["seq"]);
    assert_eq!(
        first["seq"], 5,
        "the original's seq: 'hi' is 1, plain-0 is 2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batch_statements_still_run_on_their_connection_after_a_column_is_added() {
    // Another server's migration adds a column: a prepared `SELECT *` or `RETURNING *` fails
    // on every later run on its connection ("cached plan must not change result type"), which
    // would fail every batch there (each post then stored alone, by the fallback).
    let app = TestApp::start().await;
    let (_v, sid) = app.open_session("hi").await;
    let conn = app.db().await;
    let first = Key::ClientId("first");
    sessions::lock_many(&conn, &[sid]).await.unwrap();
    messages::by_key(&conn, Within::Session(sid), first)
        .await
        .unwrap();
    exec(&app, "ALTER TABLE sessions ADD COLUMN later_one INT").await;
    exec(&app, "ALTER TABLE messages ADD COLUMN later_two INT").await;
    let rows = sessions::lock_many(&conn, &[sid]).await.expect("the lock");
    assert_eq!(rows.len(), 1);
    let original = messages::by_key(&conn, Within::Session(sid), first).await;
    assert_eq!(original.expect("the original").map(|m| m.seq), Some(1));
}
