//! Group commit through a PostgreSQL restart (issue 14): several sessions writing at a steady
//! rate keep per-session order, gapless `seq` and idempotent client ids while the database is
//! stopped (fast or immediate) and started again, and a commit whose answer is lost is neither
//! stored twice nor hidden from the agents.
//!
//! The clients behave as the widget does: one message in flight per visitor, and whatever was
//! not acknowledged (`db_unavailable`, `busy`) is sent again with the same client id.

use crate::common::pg_proxy::PgProxy;
use crate::common::ws::Next;
use crate::common::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard::config::Config;
use switchboard::db::embedded::{EmbeddedPostgres, Shutdown};

const VISITORS: usize = 4;
const EACH: usize = 50;
/// The restart begins once this many messages (of all visitors) are acknowledged.
const RESTART_AFTER_ACKS: usize = 40;
/// An answer slower than this is a hang: the server retries for 12 s before `db_unavailable`.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

#[derive(QueryableByName, Debug)]
struct Stored {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Nullable<Text>)]
    client_id: Option<String>,
}

/// A session's messages in seq order.
async fn stored(app: &TestApp, session_id: i64) -> Vec<Stored> {
    let mut db = app.db().await;
    diesel::sql_query("SELECT seq, client_id FROM messages WHERE session_id = $1 ORDER BY seq")
        .bind::<BigInt, _>(session_id)
        .load(&mut db)
        .await
        .unwrap()
}

/// One send attempt: when it went out and when its answer came.
#[derive(Clone, Copy)]
struct Attempt {
    sent: Instant,
    answered: Instant,
}

/// What one visitor got acknowledged.
struct Sent {
    session_id: i64,
    /// Client id → acknowledged seq, in the order the messages were written.
    acked: Vec<(String, i64)>,
    resends: usize,
}

fn send(client_id: &str, text: &str) -> Value {
    json!({"v": 1, "type": "send", "client_id": client_id, "text": text})
}

/// The `ack` or `error` answering the send with `client_id` (other frames are skipped).
async fn answer(v: &mut WsClient, client_id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + ANSWER_WITHIN;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let f = v
            .recv_within(left)
            .await
            .unwrap_or_else(|| panic!("no answer to {client_id} within {ANSWER_WITHIN:?}"));
        let answers = (f["type"] == "ack" && f["client_id"] == client_id)
            || (f["type"] == "error" && f["ref"] == client_id);
        if answers {
            return f;
        }
    }
}

/// Sends `EACH` numbered messages, one every 20 ms, each after the previous one's ack; a
/// refused one is sent again with the same client id, as the widget does.
async fn write_steadily(
    mut v: WsClient,
    tag: String,
    acks: Arc<AtomicUsize>,
    attempts: Arc<Mutex<Vec<Attempt>>>,
) -> Sent {
    let mut acked = Vec::new();
    let mut session_id = None;
    let mut resends = 0;
    for i in 0..EACH {
        let cid = format!("{tag}-{i}");
        loop {
            let sent = Instant::now();
            v.send(send(&cid, &format!("{tag} says {i}"))).await;
            let f = answer(&mut v, &cid).await;
            attempts.lock().unwrap().push(Attempt {
                sent,
                answered: Instant::now(),
            });
            if f["type"] == "ack" {
                session_id = f["session_id"].as_i64();
                acked.push((cid.clone(), f["seq"].as_i64().unwrap()));
                acks.fetch_add(1, Ordering::SeqCst);
                break;
            }
            let pause = match f["code"].as_str() {
                Some("db_unavailable") => 200,
                Some("busy") => f["details"]["retry_after_ms"].as_u64().unwrap(),
                _ => panic!("a refusal a client cannot resend: {f}"),
            };
            resends += 1;
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Sent {
        session_id: session_id.unwrap(),
        acked,
        resends,
    }
}

/// What a watching agent received of each session, as the console keeps it: the frames'
/// seqs (its resume point is the run from 1 without a gap), the live frames that skipped
/// ahead of it, and reconnects.
#[derive(Default)]
struct AgentView {
    seen: BTreeMap<i64, BTreeSet<i64>>,
    /// (session, resume point, seq that arrived): a `message` that was not the next one.
    gaps: Vec<(i64, i64, i64)>,
    reconnects: usize,
}

impl AgentView {
    fn point(&self, session_id: i64) -> i64 {
        let mut point = 0;
        for &seq in self.seen.get(&session_id).into_iter().flatten() {
            if seq != point + 1 {
                break;
            }
            point = seq;
        }
        point
    }
}

fn resume(session_id: i64, after_seq: i64) -> Value {
    json!({"v": 1, "type": "resume", "session_id": session_id, "after_seq": after_seq})
}

/// Watches the project on `ws` (already connected) until aborted; after a dropped socket it
/// reconnects and resumes each session from its resume point, and it closes a gap with
/// `resume` as the console does (the gap is recorded all the same).
fn watch(
    app: &TestApp,
    mut ws: WsClient,
    agent: Agent,
    view: Arc<Mutex<AgentView>>,
) -> tokio::task::JoinHandle<()> {
    let url = format!("{}/ws/agent?project={}", app.ws_url(), app.project_id);
    tokio::spawn(async move {
        loop {
            match ws.next_within(Duration::from_millis(500)).await {
                Next::Nothing => {}
                Next::Closed => {
                    ws = WsClient::connect(&url, Some(&agent.token)).await;
                    let points: Vec<(i64, i64)> = {
                        let mut view = view.lock().unwrap();
                        view.reconnects += 1;
                        view.seen.keys().map(|&s| (s, view.point(s))).collect()
                    };
                    for (sid, after) in points {
                        ws.send(resume(sid, after)).await;
                    }
                }
                Next::Frame(f) if f["type"] == "message" => {
                    let sid = f["session_id"].as_i64().unwrap();
                    let seq = f["seq"].as_i64().unwrap();
                    let resume_after = {
                        let mut view = view.lock().unwrap();
                        let point = view.point(sid);
                        view.seen.entry(sid).or_default().insert(seq);
                        (seq > point + 1).then(|| {
                            view.gaps.push((sid, point, seq));
                            point
                        })
                    };
                    if let Some(after) = resume_after {
                        ws.send(resume(sid, after)).await;
                    }
                }
                Next::Frame(_) => {}
            }
        }
    })
}

/// A private cluster (the shared one must never restart under other tests), migrated.
async fn private_cluster(tag: &str) -> (Arc<Mutex<EmbeddedPostgres>>, String) {
    let dir = temp_dir(tag);
    let pg = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, "sb").unwrap())
        .await
        .unwrap();
    let url = pg.url();
    switchboard::db::run_migrations(&url).await.unwrap();
    (Arc::new(Mutex::new(pg)), url)
}

/// `VISITORS` visitors write steadily, each in a session of its own, while an agent watches;
/// PostgreSQL is stopped in `mode` and started again once traffic flows. Then, from the
/// database and from the agent's frames: each session's seq is 1..N without gaps in the order
/// its messages were written, every client id is stored exactly once with the seq it was
/// acknowledged with, and the agent received every message in order; the server answers again
/// without a restart of its own.
async fn sessions_write_through_a_postgres_restart(mode: Shutdown) {
    let (pg, url) = private_cluster("commit-restart").await;
    let app = TestApp::start_on(url).await;
    let owner = app.owner().await;
    let view = Arc::new(Mutex::new(AgentView::default()));
    let ws = app.agent_ws(&owner, app.project_id).await;
    let watcher = watch(&app, ws, owner, Arc::clone(&view));

    let acks = Arc::new(AtomicUsize::new(0));
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for i in 0..VISITORS {
        let v = app.visitor().await;
        writers.push(tokio::spawn(write_steadily(
            v,
            format!("v{i}"),
            Arc::clone(&acks),
            Arc::clone(&attempts),
        )));
    }

    let deadline = Instant::now() + Duration::from_secs(30);
    while AtomicUsize::load(&acks, Ordering::SeqCst) < RESTART_AFTER_ACKS {
        assert!(Instant::now() < deadline, "traffic did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (began, back) = {
        let pg = Arc::clone(&pg);
        tokio::task::spawn_blocking(move || {
            let began = Instant::now();
            pg.lock().unwrap().restart_with(mode).unwrap();
            (began, Instant::now())
        })
        .await
        .unwrap()
    };
    let mut sent = Vec::new();
    for w in writers {
        sent.push(
            tokio::time::timeout(Duration::from_secs(120), w)
                .await
                .unwrap()
                .unwrap(),
        );
    }

    // The restart happened mid-traffic: answered sends before it, a send waiting across it,
    // sends after it.
    let attempts = attempts.lock().unwrap().clone();
    assert!(
        attempts.iter().any(|a| a.answered < began),
        "nothing answered before the restart"
    );
    assert!(
        attempts.iter().any(|a| a.sent < back && a.answered > began),
        "no send was waiting while PostgreSQL restarted"
    );
    assert!(
        attempts.iter().any(|a| a.sent > back),
        "no send after the restart"
    );

    for s in &sent {
        let rows = stored(&app, s.session_id).await;
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=EACH as i64).collect::<Vec<_>>(), "gapless seq");
        let in_seq_order: Vec<(String, i64)> = rows
            .iter()
            .map(|r| (r.client_id.clone().expect("a client id"), r.seq))
            .collect();
        assert_eq!(
            in_seq_order, s.acked,
            "each client id stored once, in the order written, with the acknowledged seq"
        );
    }
    let sessions: BTreeSet<i64> = sent.iter().map(|s| s.session_id).collect();
    assert_eq!(sessions.len(), VISITORS, "a session each");

    let deadline = Instant::now() + WAIT;
    loop {
        let complete = {
            let view = view.lock().unwrap();
            sessions.iter().all(|&s| view.point(s) == EACH as i64)
        };
        if complete {
            break;
        }
        if Instant::now() > deadline {
            let view = view.lock().unwrap();
            panic!(
                "the agent does not hold every message: resume points {:?} (of {EACH}), \
                 gaps (session, point, seq) {:?}, reconnects {}",
                sessions
                    .iter()
                    .map(|&s| (s, view.point(s)))
                    .collect::<Vec<_>>(),
                view.gaps,
                view.reconnects
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    watcher.abort();
    let (gaps, reconnects) = {
        let view = view.lock().unwrap();
        (view.gaps.clone(), view.reconnects)
    };
    // Live frames skip ahead only when the socket dropped (and `resume` fills that in).
    if reconnects == 0 {
        assert!(gaps.is_empty(), "live messages skipped ahead: {gaps:?}");
    }

    let h = reqwest::get(format!("{}/healthz", app.url()))
        .await
        .unwrap();
    assert_eq!(h.status(), 200, "the server answers again");
    let resends: usize = sent.iter().map(|s| s.resends).sum();
    eprintln!(
        "{mode:?} restart took {:?}; {resends} sends refused and sent again; agent reconnects {}",
        back - began,
        reconnects
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_keep_order_gapless_seq_and_one_row_per_client_id_through_a_fast_postgres_restart(
) {
    sessions_write_through_a_postgres_restart(Shutdown::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_keep_order_gapless_seq_and_one_row_per_client_id_through_a_postgres_crash(
) {
    sessions_write_through_a_postgres_restart(Shutdown::Immediate).await;
}

/// A visitor with one acknowledged message, an agent who received it, and a proxy that loses
/// the answer to the COMMIT of the visitor's second message (`lost`, sent already).
struct LostAnswer {
    proxy: PgProxy,
    app: TestApp,
    visitor: WsClient,
    agent: WsClient,
    session_id: i64,
}

async fn a_commit_answer_lost() -> LostAnswer {
    a_commit_answer_lost_with(
        Arc::new(|_: &mut Config| {}),
        PgProxy::lose_next_message_commit_answer,
    )
    .await
}

async fn a_commit_answer_lost_with(configure: Configure, lose: fn(&PgProxy)) -> LostAnswer {
    let proxy = PgProxy::for_fresh_database().await;
    let app = TestApp::start_on_with(proxy.url.clone(), configure).await;
    let owner = app.owner().await;
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    let mut visitor = app.visitor().await;
    visitor.send(send("first", "hello")).await;
    let ack = answer(&mut visitor, "first").await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let session_id = ack["session_id"].as_i64().unwrap();
    let f = agent.recv_type("message").await;
    assert_eq!(f["seq"], 1);

    lose(&proxy);
    visitor.send(send("lost", "is anyone there?")).await;
    LostAnswer {
        proxy,
        app,
        visitor,
        agent,
        session_id,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_commit_answer_was_lost_is_stored_once_and_acknowledged_with_its_seq() {
    let mut t = a_commit_answer_lost().await;
    let f = answer(&mut t.visitor, "lost").await;
    assert_eq!(t.proxy.answers_lost(), 1, "the commit's answer was lost");
    // The server retried (or the client resent) and found the committed original.
    let ack = match f["type"].as_str() {
        Some("ack") => f,
        _ => {
            assert_eq!(f["code"], "db_unavailable", "{f}");
            t.visitor.send(send("lost", "is anyone there?")).await;
            answer(&mut t.visitor, "lost").await
        }
    };
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["seq"], 2);
    let rows = stored(&t.app, t.session_id).await;
    let ids: Vec<Option<&str>> = rows.iter().map(|r| r.client_id.as_deref()).collect();
    assert_eq!(ids, [Some("first"), Some("lost")], "stored once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_commit_answer_was_lost_still_reaches_the_watching_agent_in_order() {
    let mut t = a_commit_answer_lost().await;
    let ack = answer(&mut t.visitor, "lost").await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(t.proxy.answers_lost(), 1, "the commit's answer was lost");
    let seqs = seqs_live_before_the_next_message(&mut t).await;
    assert_eq!(seqs, [json!(2)], "the agent got seq 2 live, before seq 3");
}

/// The seqs of the message frames the agent got before that of the visitor's next message
/// (seq 3), which is the barrier: the lost one's frame must come before it.
async fn seqs_live_before_the_next_message(t: &mut LostAnswer) -> Vec<Value> {
    t.visitor.send(send("after", "hello?")).await;
    assert_eq!(answer(&mut t.visitor, "after").await["seq"], 3);
    let (before, _) = t
        .agent
        .recv_until_barrier(|f| f["type"] == "message" && f["seq"] == 3)
        .await;
    before
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["seq"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_commit_answer_resent_after_its_session_went_idle_still_reaches_the_agent() {
    const IDLE: Duration = Duration::from_millis(300);
    let mut t = a_commit_answer_lost_with(
        Arc::new(|c: &mut Config| c.session_idle = IDLE),
        PgProxy::lose_next_message_commit_answer_and_stay_down,
    )
    .await;
    // Every retry fails while the database looks down: the visitor hears `db_unavailable`.
    let refused = answer(&mut t.visitor, "lost").await;
    assert_eq!(refused["code"], "db_unavailable", "{refused}");
    t.proxy.come_back();
    // Idle for many times the passivation period: an actor that forgot its unsettled post
    // would take the resend for a duplicate and announce nothing.
    tokio::time::sleep(IDLE * 5).await;
    t.visitor.send(send("lost", "is anyone there?")).await;
    let ack = answer(&mut t.visitor, "lost").await;
    assert_eq!(
        (&ack["type"], &ack["seq"]),
        (&json!("ack"), &json!(2)),
        "{ack}"
    );
    let seqs = seqs_live_before_the_next_message(&mut t).await;
    assert_eq!(seqs, [json!(2)], "the agent got seq 2 live, before seq 3");
}
