//! `GET /metrics`: the Prometheus scrape parses with a text-format parser, its families exist,
//! the message path and the websocket connections move them, and the token rule holds.

use crate::common::steps::visitor_says;
use crate::common::{eventually, TestApp};
use prometheus_parse::{Scrape, Value};
use switchboard::config::MetricsAccess;

/// Every family docs/metrics.md lists, as sample names in text format 0.0.4.
const FAMILIES: &[&str] = &[
    "switchboard_connections",
    "switchboard_connections_lagging_total",
    "switchboard_messages_accepted_total",
    "switchboard_messages_refused_total",
    "switchboard_commit_batches_total",
    "switchboard_commit_largest_batch",
    "switchboard_commit_batch_size",
    "switchboard_commit_duration_seconds",
    "switchboard_commit_queue_depth",
    "switchboard_db_pool_connections",
    "switchboard_session_actors",
    "switchboard_timers_due_total",
    "switchboard_timers_fired_total",
    "switchboard_timers_in_flight",
    "switchboard_timers_overdue",
    "switchboard_outbox_pending",
    "switchboard_bus_events_published_total",
    "switchboard_bus_events_dropped_total",
    "switchboard_bus_events_received_total",
    "switchboard_bus_resyncs_total",
    "switchboard_bus_subscribed",
];

async fn get(app: &TestApp, bearer: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(format!("{}/metrics", app.url()));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    tokio::time::timeout(crate::common::WAIT, req.send())
        .await
        .expect("scrape timed out")
        .unwrap()
}

async fn scrape(app: &TestApp) -> Scrape {
    let res = get(app, None).await;
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let body = res.text().await.unwrap();
    Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// The value of a counter or gauge sample with these labels.
fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let sample = s
        .samples
        .iter()
        .find(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(v)))
        .unwrap_or_else(|| panic!("no sample {metric} {labels:?}"));
    match sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
        ref other => panic!("{metric} is {other:?}"),
    }
}

/// Observations in a histogram (its `+Inf` bucket).
fn observations(s: &Scrape, metric: &str) -> f64 {
    let sample = s
        .samples
        .iter()
        .find(|x| x.metric == metric)
        .unwrap_or_else(|| panic!("no histogram {metric}"));
    let Value::Histogram(ref buckets) = sample.value else {
        panic!("{metric} is not a histogram: {:?}", sample.value);
    };
    buckets
        .iter()
        .find(|b| b.less_than.is_infinite())
        .expect("a +Inf bucket")
        .count
}

fn connections(s: &Scrape, kind: &str) -> f64 {
    value(s, "switchboard_connections", &[("kind", kind)])
}

#[tokio::test]
async fn the_scrape_parses_as_prometheus_text_and_has_every_family() {
    let app = TestApp::start().await;
    let s = scrape(&app).await;
    for family in FAMILIES {
        assert!(
            s.samples
                .iter()
                .any(|x| x.metric == *family || x.metric.starts_with(&format!("{family}_"))),
            "{family} missing"
        );
    }
    assert_eq!(connections(&s, "visitor"), 0.0);
    assert_eq!(connections(&s, "agent"), 0.0);
    let open = value(&s, "switchboard_db_pool_connections", &[("state", "max")]);
    assert_eq!(open, 6.0, "the test servers' pool size");
    assert_eq!(
        value(&s, "switchboard_outbox_pending", &[("queue", "email")]),
        0.0
    );
}

#[tokio::test]
async fn openmetrics_is_served_to_a_scraper_that_asks_for_it() {
    let app = TestApp::start().await;
    let res = reqwest::Client::new()
        .get(format!("{}/metrics", app.url()))
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let body = res.text().await.unwrap();
    assert!(body.ends_with("# EOF\n"), "{body}");
}

#[tokio::test]
async fn a_stored_message_moves_the_accepted_counter_and_the_batch_histogram() {
    let app = TestApp::start().await;
    let before = scrape(&app).await;
    assert_eq!(
        value(&before, "switchboard_messages_accepted_total", &[]),
        0.0
    );
    assert_eq!(observations(&before, "switchboard_commit_batch_size"), 0.0);

    let mut v = app.visitor().await;
    visitor_says(&mut v, "m-1", "hello").await;
    // The writer records its batch just after answering it.
    eventually("the batch is recorded", || async {
        let s = scrape(&app).await;
        value(&s, "switchboard_messages_accepted_total", &[]) == 1.0
            && observations(&s, "switchboard_commit_batch_size") == 1.0
            && observations(&s, "switchboard_commit_duration_seconds") == 1.0
    })
    .await;
    let s = scrape(&app).await;
    assert_eq!(value(&s, "switchboard_messages_refused_total", &[]), 0.0);
    assert_eq!(value(&s, "switchboard_commit_queue_depth", &[]), 0.0);
}

#[tokio::test]
async fn a_busy_refusal_moves_the_refused_counter_and_not_the_accepted_one() {
    use diesel::sql_types::BigInt;
    use diesel_async::RunQueryDsl;
    // One writer, a queue of one post, no admission wait (as in tests/overload.rs).
    let app = TestApp::start_with(|c| {
        c.commit.writers = 1;
        c.commit.queue = 1;
        c.commit.max_batch = 1;
        c.commit.admit_wait = std::time::Duration::ZERO;
    })
    .await;
    let mut sessions = Vec::new();
    for tag in ["a", "b", "c"] {
        let mut v = app.visitor().await;
        let ack = visitor_says(&mut v, &format!("{tag}-1"), "hello").await;
        sessions.push((v, ack["session_id"].as_i64().unwrap()));
    }
    eventually("the three first messages are recorded", || async {
        value(
            &scrape(&app).await,
            "switchboard_messages_accepted_total",
            &[],
        ) == 3.0
    })
    .await;
    // Our row lock on a's session holds the writer; b's post fills the queue; c's is refused.
    let mut lock = app.db().await;
    diesel::sql_query("BEGIN").execute(&mut lock).await.unwrap();
    diesel::sql_query("SELECT id FROM sessions WHERE id = $1 FOR UPDATE")
        .bind::<BigInt, _>(sessions[0].1)
        .execute(&mut lock)
        .await
        .unwrap();
    let send =
        |cid: &str| serde_json::json!({"v": 1, "type": "send", "client_id": cid, "text": "x"});
    sessions[0].0.send(send("a-2")).await;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    eventually("the writer waits for the session's row lock", || async {
        let rows: Vec<N> = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .load(&mut app.db().await)
        .await
        .unwrap();
        rows[0].n > 0
    })
    .await;
    sessions[1].0.send(send("b-2")).await;
    eventually("b's post waits in the queue", || async {
        value(&scrape(&app).await, "switchboard_commit_queue_depth", &[]) == 1.0
    })
    .await;
    sessions[2].0.send(send("c-2")).await;
    assert_eq!(sessions[2].0.recv_type("error").await["code"], "busy");
    let s = scrape(&app).await;
    assert_eq!(value(&s, "switchboard_messages_refused_total", &[]), 1.0);
    assert_eq!(value(&s, "switchboard_messages_accepted_total", &[]), 3.0);
    diesel::sql_query("COMMIT")
        .execute(&mut lock)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_visitor_socket_shows_in_the_connection_gauge_and_leaves_it_when_closed() {
    let app = TestApp::start().await;
    let v = app.visitor().await;
    // The hello is sent from the connection's `started`, after it is counted.
    assert_eq!(connections(&scrape(&app).await, "visitor"), 1.0);
    v.close().await;
    eventually("the closed socket leaves the gauge", || async {
        connections(&scrape(&app).await, "visitor") == 0.0
    })
    .await;
}

#[tokio::test]
async fn an_agent_socket_shows_in_the_connection_gauge_by_its_kind() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let a = app.agent_ws(&owner, app.project_id).await;
    let s = scrape(&app).await;
    assert_eq!(connections(&s, "agent"), 1.0);
    assert_eq!(connections(&s, "visitor"), 0.0);
    a.close().await;
    eventually("the closed socket leaves the gauge", || async {
        connections(&scrape(&app).await, "agent") == 0.0
    })
    .await;
}

#[tokio::test]
async fn with_a_token_set_a_scrape_without_it_is_401_and_with_it_200() {
    let app =
        TestApp::start_with(|c| c.metrics = MetricsAccess::Token("scrape-s3cret".into())).await;
    let res = get(&app, None).await;
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    assert_eq!(get(&app, Some("wrong")).await.status(), 401);
    let res = get(&app, Some("scrape-s3cret")).await;
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("switchboard_messages_accepted_total"));
}

#[tokio::test]
async fn a_public_bind_without_a_token_serves_no_metrics() {
    // What `--bind 0.0.0.0:…` without `--metrics-token` resolves to (unit-tested in config).
    let app = TestApp::start_with(|c| {
        c.bind = "0.0.0.0:0".parse().unwrap();
        c.metrics = MetricsAccess::resolve(switchboard::config::MetricsMode::Auto, None, c.bind);
    })
    .await;
    let res = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{}/metrics",
            app.server.as_ref().unwrap().addr.port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
