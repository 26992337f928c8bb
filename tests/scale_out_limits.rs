//! Several servers on one database and one Redis: per-address rate limits are counted in
//! Redis, so a client gets no more by spreading over servers; with Redis down each server
//! limits on its own. And a durable timer, claimed by either server's scheduler, takes effect
//! once.

use crate::common::redis::RedisServer;
use crate::common::{eventually, start_server_with, Configure, TestApp};
use serde_json::{json, Value};
use std::time::Duration;
use switchboard::app::RunningServer;
use switchboard::config::Config;
use switchboard::http::rate_limit::{take_shared, Taken, BUCKET_SCRIPT};

/// Two servers (A is the `TestApp`'s) on one database and one Redis.
async fn two_servers(redis: &RedisServer, configure: fn(&mut Config)) -> (TestApp, RunningServer) {
    let url = redis.url();
    let configure: Configure = std::sync::Arc::new(move |c: &mut Config| {
        c.redis_url = Some(url.clone());
        configure(c);
    });
    let db_url = crate::common::fresh_database().await;
    let a = TestApp::start_on_with(db_url, configure.clone()).await;
    let b = start_server_with(&a.db_url, &configure).await;
    (a, b)
}

/// A login's HTTP status on the server at `base`.
async fn login_status(app: &TestApp, base: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": app.owner_email, "password": app.owner_password}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A counter's value in a server's `/metrics`.
async fn counter(base: &str, name: &str) -> f64 {
    crate::common::scraped(base, name)
        .await
        .unwrap_or_else(|| panic!("no {name} in {base}/metrics"))
}

#[tokio::test]
async fn the_shared_bucket_allows_a_burst_then_refills_at_its_rate() {
    let redis = RedisServer::start().await;
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let script = redis::Script::new(BUCKET_SCRIPT);
    let t0: u64 = 1_000_000;
    let mut take = async |key: &str, at: u64| {
        take_shared(&mut conn, &script, key, 6, Some(at))
            .await
            .unwrap()
    };
    for _ in 0..6 {
        assert_eq!(take("k", t0).await, Taken::Yes);
    }
    // Empty: one token every 10 s (6 a minute).
    assert_eq!(
        take("k", t0).await,
        Taken::No {
            wait: Duration::from_secs(10)
        }
    );
    // Another key has its own bucket.
    assert_eq!(take("other", t0).await, Taken::Yes);
    assert_eq!(
        take("k", t0 + 9_000).await,
        Taken::No {
            wait: Duration::from_secs(1)
        }
    );
    assert_eq!(take("k", t0 + 11_000).await, Taken::Yes);
    assert!(matches!(take("k", t0 + 12_000).await, Taken::No { .. }));
    // A minute of rest fills it again, and no more than full: six, not seven.
    let later = t0 + 600_000;
    for _ in 0..6 {
        assert_eq!(take("k", later).await, Taken::Yes);
    }
    assert!(matches!(take("k", later).await, Taken::No { .. }));
}

#[tokio::test]
async fn the_shared_bucket_expires_once_it_would_be_full_again() {
    let redis = RedisServer::start().await;
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let script = redis::Script::new(BUCKET_SCRIPT);
    // 60 a minute, one taken: full again after 1 s, kept a second longer.
    take_shared(&mut conn, &script, "k", 60, Some(5_000))
        .await
        .unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg("k")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1_900..=2_000).contains(&ttl), "PTTL {ttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_counted_across_servers() {
    let redis = RedisServer::start().await;
    let (a, b) = two_servers(&redis, |c| c.logins_per_minute = 3).await;
    let (a_url, b_url) = (a.url(), b.url());
    for base in [&a_url, &b_url, &a_url] {
        assert_eq!(login_status(&a, base).await.0, 200, "login on {base}");
    }
    // The fourth is refused on either server.
    for base in [&b_url, &a_url] {
        crate::common::assert_error(login_status(&a, base).await, 429, "rate_limited");
    }
    assert_eq!(
        counter(&a_url, "switchboard_rate_limit_local_total").await,
        0.0
    );
    b.stop(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_each_server_limits_its_own_clients() {
    let mut redis = RedisServer::start().await;
    let (a, b) = two_servers(&redis, |c| c.logins_per_minute = 2).await;
    let (a_url, b_url) = (a.url(), b.url());
    // Counted in Redis while it is up: one on each server.
    assert_eq!(login_status(&a, &a_url).await.0, 200);
    assert_eq!(login_status(&a, &b_url).await.0, 200);
    redis.stop().await;
    // Each server's own bucket: two more on each, then refused — neither everyone let in nor
    // everyone refused.
    for base in [&a_url, &b_url] {
        for _ in 0..2 {
            assert_eq!(login_status(&a, base).await.0, 200, "login on {base}");
        }
        crate::common::assert_error(login_status(&a, base).await, 429, "rate_limited");
        assert_eq!(
            counter(base, "switchboard_rate_limit_local_total").await,
            3.0
        );
    }
    b.stop(false).await;
}

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::Int8)]
    n: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_timer_fires_once_with_two_schedulers_running() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let redis = RedisServer::start().await;
    let (a, b) = two_servers(&redis, |_| {}).await;
    let owner = a.owner().await;
    let pid = a.project_id;
    let r = owner
        .http
        .patch(format!("{}/api/projects/{pid}/settings", a.url()))
        .json(&json!({"auto_end_after_secs": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Sessions opened on both servers; each gets an auto-end timer due a second later, which
    // both schedulers see due at once.
    let ws = [a.ws_url(), b.url().replacen("http://", "ws://", 1)];
    let mut sessions = Vec::new();
    for i in 0..12 {
        let url = format!("{}/ws/visitor?key={}", ws[i % 2], a.widget_key);
        let mut v = crate::common::ws::WsClient::connect(&url, None).await;
        v.recv_type("hello").await;
        v.send(json!({"v": 1, "type": "send", "client_id": "q", "text": "anyone?"}))
            .await;
        sessions.push(v.recv_type("ack").await["session_id"].as_i64().unwrap());
    }
    let list = sessions
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let db_url = a.db_url.clone();
    eventually("every session is ended by its timer", || {
        let (db_url, list) = (db_url.clone(), list.clone());
        async move {
            let mut db = AsyncPgConnection::establish(&db_url).await.unwrap();
            let ended: N = diesel::sql_query(format!(
                "SELECT count(*) AS n FROM sessions WHERE id IN ({list}) AND status = 'ended'"
            ))
            .get_result::<N>(&mut db)
            .await
            .unwrap();
            ended.n == 12
        }
    })
    .await;
    let mut db = a.db().await;
    let count = async |db: &mut AsyncPgConnection, sql: String| {
        diesel::sql_query(sql).get_result::<N>(db).await.unwrap().n
    };
    // One end each: one system line per session, one fired timer.
    assert_eq!(
        count(
            &mut db,
            format!(
                "SELECT count(*) AS n FROM messages
                 WHERE session_id IN ({list}) AND sender_kind = 'system'"
            )
        )
        .await,
        12
    );
    assert_eq!(
        count(
            &mut db,
            format!(
                "SELECT count(*) AS n FROM timers
                 WHERE session_id IN ({list}) AND kind = 'auto_end' AND fired_at IS NOT NULL"
            )
        )
        .await,
        12
    );
    // And each claimed by one scheduler only (SKIP LOCKED): the two servers' claims add up
    // to one per timer.
    let claimed = counter(&a.url(), "switchboard_timers_due_total").await
        + counter(&b.url(), "switchboard_timers_due_total").await;
    assert_eq!(claimed, 12.0);
    b.stop(false).await;
}
