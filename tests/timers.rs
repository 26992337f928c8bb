//! Durable timers as rows: one pending timer per (session, kind, key), so a kind may keep
//! several per session, told apart by key.

use crate::common::TestApp;
use diesel_async::RunQueryDsl;

async fn insert_pending(
    app: &TestApp,
    sid: i64,
    key: &str,
) -> Result<usize, diesel::result::Error> {
    let mut conn = app.db().await;
    diesel::sql_query(format!(
        "INSERT INTO timers (project_id, session_id, kind, key, due_at)
         VALUES ({}, {sid}, 'test_kind', '{key}', now() + interval '1 hour')",
        app.project_id
    ))
    .execute(&mut conn)
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_keeps_one_pending_timer_per_kind_and_key() {
    let app = TestApp::start().await;
    let (_v, sid) = app.open_session("hello").await;
    insert_pending(&app, sid, "run-1").await.unwrap();
    insert_pending(&app, sid, "run-2")
        .await
        .expect("another key of the same kind");
    let again = insert_pending(&app, sid, "run-1").await;
    assert!(again.is_err(), "the same key twice is one timer");
}
