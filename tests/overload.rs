//! Overload is refused, not queued: past the committer's bounded queue a send gets `busy` with
//! a retry hint, nothing is stored, and the resend with the same client id is stored once.
//!
//! The server runs with one writer and a queue of one post: a row lock the test holds on one
//! session keeps the writer waiting, the queue takes one more post, and the next is refused —
//! no timing involved.

use crate::common::steps::visitor_says;
use crate::common::ws::WsClient;
use crate::common::{eventually, TestApp};
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{json, Value};
use std::time::Duration;

async fn tiny_committer() -> TestApp {
    TestApp::start_with(|c| {
        c.commit.writers = 1;
        c.commit.queue = 1;
        c.commit.max_batch = 1;
        c.commit.admit_wait = Duration::ZERO;
    })
    .await
}

/// Holds the row lock of session `sid` in an open transaction of its own connection.
pub(crate) async fn lock_session(app: &TestApp, sid: i64) -> AsyncPgConnection {
    let mut conn = app.db().await;
    diesel::sql_query("BEGIN").execute(&mut conn).await.unwrap();
    diesel::sql_query("SELECT id FROM sessions WHERE id = $1 FOR UPDATE")
        .bind::<BigInt, _>(sid)
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

/// Waits until a backend waits for a row lock: the committer's writer is stuck behind ours.
pub(crate) async fn writer_waits_for_the_lock(app: &TestApp) {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    eventually("the writer waits for the session's row lock", || async {
        let mut conn = app.db().await;
        {
            let rows: Vec<N> = diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .load(&mut conn)
            .await
            .unwrap();
            rows[0].n > 0
        }
    })
    .await;
}

async fn rows_with_client_id(app: &TestApp, sid: i64, client_id: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.db().await;
    let rows: Vec<N> = diesel::sql_query(
        "SELECT count(*) AS n FROM messages WHERE session_id = $1 AND client_id = $2",
    )
    .bind::<BigInt, _>(sid)
    .bind::<Text, _>(client_id)
    .load(&mut conn)
    .await
    .unwrap();
    rows[0].n
}

fn send(client_id: &str, text: &str) -> Value {
    json!({"v": 1, "type": "send", "client_id": client_id, "text": text})
}

/// A visitor with an open session (its first message acked).
async fn visitor_in_session(app: &TestApp, tag: &str) -> (WsClient, i64) {
    let mut v = app.visitor().await;
    let ack = visitor_says(&mut v, &format!("{tag}-first"), "hello").await;
    (v, ack["session_id"].as_i64().unwrap())
}

#[tokio::test]
async fn a_send_past_the_full_queue_is_refused_busy_stores_nothing_and_its_resend_is_stored_once() {
    let app = tiny_committer().await;
    let (mut a, sid_a) = visitor_in_session(&app, "a").await;
    let (mut b, sid_b) = visitor_in_session(&app, "b").await;
    let (mut c, sid_c) = visitor_in_session(&app, "c").await;
    let lock = lock_session(&app, sid_a).await;
    a.send(send("a-2", "stuck behind the lock")).await;
    writer_waits_for_the_lock(&app).await;

    // The queue has room for one of these two; the other is refused at once.
    b.send(send("b-2", "queued or refused")).await;
    c.send(send("c-2", "queued or refused")).await;
    let (refused, sid, cid) = tokio::select! {
        f = b.recv_type("error") => (f, sid_b, "b-2"),
        f = c.recv_type("error") => (f, sid_c, "c-2"),
    };
    assert_eq!(refused["code"], "busy", "{refused}");
    assert_eq!(refused["ref"], cid);
    let hint = refused["details"]["retry_after_ms"].as_u64().unwrap();
    assert!((1..=5000).contains(&hint), "{refused}");
    assert_eq!(
        rows_with_client_id(&app, sid, cid).await,
        0,
        "a refused send stores nothing"
    );

    // The lock goes: the stuck and the queued send commit; the refused one is sent again.
    diesel::sql_query("COMMIT")
        .execute(&mut { lock })
        .await
        .unwrap();
    assert_eq!(a.recv_type("ack").await["client_id"], "a-2");
    let (queued, other) = if cid == "b-2" {
        (&mut c, &mut b)
    } else {
        (&mut b, &mut c)
    };
    assert_eq!(
        queued.recv_type("ack").await["client_id"].as_str(),
        Some(if cid == "b-2" { "c-2" } else { "b-2" })
    );
    // The client honours the hint before sending again.
    tokio::time::sleep(Duration::from_millis(hint)).await;
    let first = visitor_says(other, cid, "queued or refused").await;
    assert_eq!(first["seq"], 2);
    let again = visitor_says(other, cid, "queued or refused").await;
    assert_eq!(
        again["message_id"], first["message_id"],
        "a repeat is the original"
    );
    assert_eq!(
        rows_with_client_id(&app, sid, cid).await,
        1,
        "stored exactly once"
    );
}

#[tokio::test]
async fn a_rest_reply_past_the_full_queue_is_503_busy_with_retry_after() {
    let app = tiny_committer().await;
    let owner = app.owner().await;
    let (mut a, sid_a) = visitor_in_session(&app, "a").await;
    let (_b, sid_b) = visitor_in_session(&app, "b").await;
    let (_c, sid_c) = visitor_in_session(&app, "c").await;
    let lock = lock_session(&app, sid_a).await;
    a.send(send("a-2", "stuck behind the lock")).await;
    writer_waits_for_the_lock(&app).await;

    let reply = |sid: i64| {
        let (http, token) = (owner.http.clone(), owner.token.clone());
        let url = format!(
            "{}/api/projects/{}/sessions/{sid}/messages",
            app.url(),
            app.project_id
        );
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&json!({"client_id": format!("r-{sid}"), "text": "on my way"}))
                .send()
                .await
                .unwrap()
        })
    };
    let (mut rb, mut rc) = (reply(sid_b), reply(sid_c));
    // One is queued (no answer while the lock is held), the other refused at once.
    let (refused, queued) = tokio::time::timeout(crate::common::WAIT, async {
        tokio::select! {
            r = &mut rb => (r.unwrap(), rc),
            r = &mut rc => (r.unwrap(), rb),
        }
    })
    .await
    .expect("one reply is refused at once");
    assert_eq!(refused.status(), 503);
    let retry_after: u64 = refused.headers()["Retry-After"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "busy");
    assert!(body["error"]["details"]["retry_after_ms"].as_u64().unwrap() > 0);

    diesel::sql_query("COMMIT")
        .execute(&mut { lock })
        .await
        .unwrap();
    let queued = tokio::time::timeout(crate::common::WAIT, queued)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(queued.status(), 201);
}
