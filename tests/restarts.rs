//! Durability across failures: a PostgreSQL restart mid-traffic, and a durable timer that is
//! due while the server is down.

use crate::common::*;
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use switchboard::db::embedded::EmbeddedPostgres;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_mid_traffic_loses_no_acknowledged_message() {
    init_tracing();
    // Its own cluster: the shared one must not restart under the other tests.
    let dir = temp_dir("restart");
    let pg = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, "sb").unwrap())
        .await
        .unwrap();
    let url = pg.url();
    switchboard::db::run_migrations(&url).await.unwrap();
    let app = TestApp::start_on(url).await;
    let mut visitor = app.visitor().await;

    // The restart begins once traffic flows (after the 10th acknowledgement) and reports when
    // it began and when the database was back, so the test can check that it overlapped it.
    let pg = std::sync::Arc::new(std::sync::Mutex::new(pg));
    let (start_restart, restart_now) = tokio::sync::oneshot::channel::<()>();
    let restarter = {
        let pg = pg.clone();
        tokio::spawn(async move {
            restart_now.await.unwrap();
            tokio::task::spawn_blocking(move || {
                let began = Instant::now();
                pg.lock().unwrap().restart().unwrap();
                (began, Instant::now())
            })
            .await
            .unwrap()
        })
    };
    let mut start_restart = Some(start_restart);

    // Send 60 messages, one every 20 ms; an unacknowledged one is sent again with the same
    // client id, as a client would. Each attempt's (sent, answered) times are kept.
    let mut acked: BTreeMap<String, i64> = BTreeMap::new();
    let mut attempts: Vec<(Instant, Instant)> = Vec::new();
    let mut refused = 0;
    let mut session_id = None;
    for i in 0..60 {
        let cid = format!("m{i}");
        loop {
            let sent = Instant::now();
            visitor
                .send(
                    json!({"v": 1, "type": "send", "client_id": cid, "text": format!("text {i}")}),
                )
                .await;
            let f = loop {
                let f = visitor
                    .recv_within(Duration::from_secs(20))
                    .await
                    .expect("an answer");
                if f["type"] == "ack" || f["type"] == "error" {
                    break f;
                }
            };
            attempts.push((sent, Instant::now()));
            if f["type"] == "ack" {
                session_id = f["session_id"].as_i64();
                acked.insert(cid.clone(), f["seq"].as_i64().unwrap());
                break;
            }
            assert_eq!(f["code"], "db_unavailable", "{f}");
            refused += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if acked.len() == 10 {
            start_restart.take().unwrap().send(()).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (began, back) = restarter.await.unwrap();

    // The restart happened mid-traffic: sends were answered before it began, one was waiting
    // for its answer while PostgreSQL restarted, and sends went on after it was back.
    assert!(
        attempts.iter().any(|&(_, answered)| answered < began),
        "no send was answered before the restart began"
    );
    assert!(
        attempts
            .iter()
            .any(|&(sent, answered)| sent < back && answered > began),
        "no send was waiting during the restart"
    );
    assert!(
        attempts.iter().any(|&(sent, _)| sent > back),
        "no send after the database was back"
    );

    let mut db = app.db().await;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        client_id: String,
        #[diesel(sql_type = diesel::sql_types::Int8)]
        seq: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT client_id, seq FROM messages WHERE session_id = {} ORDER BY seq",
        session_id.unwrap()
    ))
    .load(&mut db)
    .await
    .unwrap();
    let stored: BTreeMap<String, i64> = rows.iter().map(|r| (r.client_id.clone(), r.seq)).collect();
    assert_eq!(rows.len(), 60, "one row per client id");
    assert_eq!(
        stored, acked,
        "every acknowledged message stored with its acknowledged seq"
    );
    let seqs: BTreeSet<i64> = rows.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=60).collect(), "no gaps");
    let longest = attempts.iter().map(|&(s, a)| a - s).max().unwrap();
    eprintln!(
        "postgres restart took {:?}: {refused} sends refused with db_unavailable and retried; \
         longest wait for an answer {longest:?}",
        back - began
    );
    // The server is healthy again.
    let h = reqwest::get(format!("{}/healthz", app.url()))
        .await
        .unwrap();
    assert_eq!(h.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_due_while_the_server_is_down_fires_once_after_restart() {
    let mut app = TestApp::start().await;
    let owner = app.owner().await;
    let pid = app.project_id;
    let r = owner
        .http
        .patch(format!("{}/api/projects/{pid}/settings", app.url()))
        .json(&json!({"auto_end_after_secs": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut visitor = app.visitor().await;
    visitor
        .send(json!({"v": 1, "type": "send", "client_id": "q", "text": "anyone?"}))
        .await;
    let sid = visitor.recv_type("ack").await["session_id"]
        .as_i64()
        .unwrap();

    // Down before the timer is due, back after it.
    app.stop_server().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    app.start_server_again().await;

    let owner = app.owner().await;
    let url = format!("{}/api/projects/{pid}/sessions/{sid}", app.url());
    eventually("the session is ended by its timer", || async {
        let s: Value = owner
            .http
            .get(&url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        s["status"] == "ended"
    })
    .await;
    // Exactly one system note, one fired timer; restarting again changes nothing.
    app.restart_server().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut db = app.db().await;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::Int8)]
        n: i64,
    }
    let systems: N = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM messages WHERE session_id = {sid} AND sender_kind = 'system'"
    ))
    .get_result(&mut db)
    .await
    .unwrap();
    assert_eq!(systems.n, 1);
    let fired: N = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM timers WHERE session_id = {sid} AND fired_at IS NOT NULL"
    ))
    .get_result(&mut db)
    .await
    .unwrap();
    let pending: N = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM timers WHERE session_id = {sid} AND fired_at IS NULL"
    ))
    .get_result(&mut db)
    .await
    .unwrap();
    assert_eq!((fired.n, pending.n), (1, 0));
}
