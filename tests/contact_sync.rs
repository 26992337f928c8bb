//! Contact sync of a Messenger Page against the fake Graph API process: paging with cursors at
//! most 2 calls a second, exact and idempotent imports, live progress for channel managers,
//! resuming after a crash, "recent 100", cancelling, and an invalid token.

use crate::common::graph::FakeGraph;
use crate::common::steps::visitor_says;
use crate::common::ws::of_type;
use crate::common::{assert_error, Agent, TestApp, WAIT};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use switchboard::config::Config;
use switchboard::db::schema::{channels, contacts, jobs, messages, sessions};

const PAGE: &str = "2002";
const TOKEN: &str = "page-token-sync";

struct Sync {
    app: TestApp,
    fake: FakeGraph,
    owner: Agent,
    channel_id: i64,
}

/// A server talking to a fake Graph API that knows the Page and `conversations` of its
/// conversations, and a Messenger channel for the Page (inserted directly, its token sealed
/// with the test servers' key).
async fn setup(conversations: usize) -> Sync {
    let fake = FakeGraph::start().await;
    fake.add_page(PAGE, TOKEN, "Acme").await;
    fake.seed_conversations(PAGE, conversations).await;
    let app = TestApp::start_with(fake.configure()).await;
    let channel_id = messenger_channel(&app, TOKEN).await;
    let owner = app.owner().await;
    Sync {
        app,
        fake,
        owner,
        channel_id,
    }
}

async fn messenger_channel(app: &TestApp, token: &str) -> i64 {
    let sealed = Config::for_database(String::new())
        .secrets
        .seal("page_token", token);
    let config = json!({"page_name": "Acme", "app_id": "555", "human_agent": false,
                        "allowed_tags": [], "page_token": sealed});
    let mut conn = app.db().await;
    diesel::insert_into(channels::table)
        .values((
            channels::project_id.eq(app.project_id),
            channels::kind.eq("messenger"),
            channels::name.eq("Acme"),
            channels::config.eq(config),
            channels::external_id.eq(PAGE),
        ))
        .returning(channels::id)
        .get_result(&mut conn)
        .await
        .unwrap()
}

impl Sync {
    fn sync_path(&self) -> String {
        format!(
            "/api/projects/{}/channels/{}/sync",
            self.app.project_id, self.channel_id
        )
    }

    async fn start(&self, scope: &str) -> Value {
        let body = json!({"scope": scope, "confirm": true});
        let (status, job) = self
            .app
            .call(&self.owner, Method::POST, &self.sync_path(), Some(body))
            .await;
        assert_eq!(status, 202, "{job}");
        job
    }

    async fn latest(&self) -> Value {
        self.app.get_json(&self.owner, &self.sync_path()).await
    }

    /// Polls the latest job until `done` accepts it (bounded by `within`).
    async fn wait_for(&self, what: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let job = self.latest().await;
            if done(&job) {
                return job;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {job}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn finished(&self) -> Value {
        // 250 conversations are 10 calls 500 ms apart, plus the imports.
        self.wait_for("the sync to end", Duration::from_secs(30), |j| {
            !matches!(j["state"].as_str(), Some("queued" | "running"))
        })
        .await
    }

    async fn count_contacts(&self) -> i64 {
        let mut conn = self.app.db().await;
        contacts::table
            .filter(contacts::channel_id.eq(self.channel_id))
            .count()
            .get_result(&mut conn)
            .await
            .unwrap()
    }

    async fn count_messages(&self) -> i64 {
        let mut conn = self.app.db().await;
        messages::table
            .filter(messages::channel_id.eq(self.channel_id))
            .count()
            .get_result(&mut conn)
            .await
            .unwrap()
    }
}

fn counts(job: &Value) -> (&str, i64, i64, i64, i64) {
    (
        job["state"].as_str().unwrap(),
        job["conversations_done"].as_i64().unwrap(),
        job["contacts_imported"].as_i64().unwrap(),
        job["messages_imported"].as_i64().unwrap(),
        job["errors"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn sync_all_imports_every_conversation_with_its_20_latest_messages_paging_by_cursor() {
    let s = setup(250).await;
    let started = s.start("all").await;
    assert_eq!(started["state"], "queued");
    assert_eq!(started["scope"], "all");
    let job = s.finished().await;
    assert_eq!(counts(&job), ("done", 250, 250, 5000, 0), "{job}");
    assert_eq!(job["total_so_far"], 250);
    assert_eq!(
        (s.count_contacts().await, s.count_messages().await),
        (250, 5000)
    );

    // 25 a call: the first without a cursor, each next one with the previous page's.
    let calls = s.fake.requests("conversations").await;
    assert_eq!(calls.len(), 10, "{calls:?}");
    assert!(calls[0]["query"].get("after").is_none());
    for c in &calls[1..] {
        assert!(c["query"]["after"].is_string(), "{c}");
        assert_eq!(c["query"]["limit"], "25");
    }
    // At most 2 calls a second per Page (the fake's log times, in seconds).
    let times: Vec<f64> = calls.iter().map(|c| c["t"].as_f64().unwrap()).collect();
    for w in times.windows(2) {
        assert!(
            w[1] - w[0] >= 0.45,
            "calls {:.3}s apart: {times:?}",
            w[1] - w[0]
        );
    }

    // One person: a contact named from the API, one ended history session holding the 20
    // latest messages in the order written, the Page's side as off-platform agent messages.
    let mut conn = s.app.db().await;
    let (contact_id, name, last_inbound): (i64, String, Option<chrono::DateTime<chrono::Utc>>) =
        contacts::table
            .filter(contacts::channel_id.eq(s.channel_id))
            .filter(contacts::external_id.eq("psid-7"))
            .select((contacts::id, contacts::name, contacts::last_inbound_at))
            .first(&mut conn)
            .await
            .unwrap();
    assert_eq!(name, "Person 7");
    let sess: Vec<(i64, String, i64, i32)> = sessions::table
        .filter(sessions::contact_id.eq(contact_id))
        .select((
            sessions::id,
            sessions::status,
            sessions::last_seq,
            sessions::message_count,
        ))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(sess.len(), 1);
    assert_eq!(
        (sess[0].1.as_str(), sess[0].2, sess[0].3),
        ("ended", 20, 20)
    );
    type Row = (
        i64,
        Option<String>,
        String,
        bool,
        chrono::DateTime<chrono::Utc>,
    );
    let rows: Vec<Row> = messages::table
        .filter(messages::session_id.eq(sess[0].0))
        .order(messages::seq.asc())
        .select((
            messages::seq,
            messages::external_id,
            messages::sender_kind,
            messages::off_platform,
            messages::created_at,
        ))
        .load(&mut conn)
        .await
        .unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    // The fake keeps 25 messages per person and the API gives the 20 latest: m-7-5 … m-7-24.
    let mids: Vec<String> = rows.iter().map(|r| r.1.clone().unwrap()).collect();
    let expected: Vec<String> = (5..25).map(|k| format!("m-7-{k}")).collect();
    assert_eq!(mids, expected);
    assert!(rows.windows(2).all(|w| w[0].4 < w[1].4), "oldest first");
    for r in &rows {
        assert_eq!(
            r.3,
            r.2 == "agent",
            "the Page's messages are off-platform: {r:?}"
        );
    }
    let newest_inbound = rows.iter().filter(|r| r.2 == "visitor").map(|r| r.4).max();
    assert_eq!(last_inbound, newest_inbound);

    // History opens no work: nothing to send, no timers, no open session.
    let open: i64 = sessions::table
        .filter(sessions::channel_id.eq(s.channel_id))
        .filter(sessions::status.ne("ended"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(open, 0);
    let outbound: i64 = diesel::sql_query("SELECT count(*) AS n FROM channel_outbound")
        .get_result::<N>(&mut conn)
        .await
        .unwrap()
        .n;
    let timers: i64 = diesel::sql_query("SELECT count(*) AS n FROM timers")
        .get_result::<N>(&mut conn)
        .await
        .unwrap()
        .n;
    assert_eq!((outbound, timers), (0, 0));
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::Int8)]
    n: i64,
}

#[tokio::test]
async fn progress_frames_reach_the_agents_who_manage_channels_and_no_one_else() {
    let s = setup(60).await;
    let agent = s.app.member(s.app.project_id, "agent", "plain-agent").await;
    let mut manager_ws = s.app.agent_ws(&s.owner, s.app.project_id).await;
    let mut agent_ws = s.app.agent_ws(&agent, s.app.project_id).await;
    let job = s.start("all").await;

    // queued, then running, then one frame per page (25, 50, 60), the last one done.
    let mut seen = Vec::new();
    loop {
        let f = manager_ws.recv_type("job").await;
        assert_eq!(f["job"]["id"], job["id"]);
        let state = f["job"]["state"].as_str().unwrap().to_owned();
        seen.push((
            state.clone(),
            f["job"]["conversations_done"].as_i64().unwrap(),
        ));
        if state == "done" {
            break;
        }
    }
    assert!(seen.contains(&("running".into(), 25)), "{seen:?}");
    assert!(seen.contains(&("running".into(), 50)), "{seen:?}");
    assert_eq!(seen.last(), Some(&("done".to_owned(), 60)));
    let counted: Vec<i64> = seen.iter().map(|x| x.1).collect();
    assert!(counted.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");

    // A visitor's new session reaches both after the sync's frames: the plain agent got none.
    let mut visitor = s.app.visitor().await;
    visitor_says(&mut visitor, "c1", "hello").await;
    agent_ws
        .assert_none_before_barrier(of_type("job"), of_type("session"))
        .await;
}

#[tokio::test]
async fn an_interrupted_sync_resumes_from_its_saved_cursor_with_exact_counts() {
    let mut s = setup(250).await;
    s.start("all").await;
    let partial = s
        .wait_for("a page done", WAIT, |j| {
            j["conversations_done"].as_i64().unwrap() >= 25
        })
        .await;
    assert!(partial["cursor_saved"].as_bool().unwrap(), "{partial}");
    s.app.stop_server().await;

    let mut conn = s.app.db().await;
    let (state, progress): (String, Value) = jobs::table
        .select((jobs::state, jobs::progress))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(state, "running", "the crash left the job claimed");
    let saved_done = progress["conversations_done"].as_i64().unwrap();
    assert!(saved_done < 250, "{progress}");
    assert!(progress["cursor"].is_string());
    // The dead server's 60 s lease lapses (moved forward here rather than waited for).
    diesel::update(jobs::table)
        .set(jobs::claimed_until.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    let calls_before = s.fake.requests("conversations").await.len();

    s.app.start_server_again().await;
    let job = s.finished().await;
    assert_eq!(counts(&job), ("done", 250, 250, 5000, 0), "{job}");
    assert_eq!(
        (s.count_contacts().await, s.count_messages().await),
        (250, 5000)
    );
    // It went on from the saved cursor: not from the first page.
    let calls = s.fake.requests("conversations").await;
    let resumed = &calls[calls_before];
    assert!(resumed["query"]["after"].is_string(), "{resumed}");
    assert_eq!(
        calls.len() - calls_before,
        10 - (saved_done / 25) as usize,
        "the pages after the saved cursor, once each"
    );
}

#[tokio::test]
async fn a_second_sync_imports_nothing_new_and_changes_no_counts() {
    let s = setup(60).await;
    s.start("all").await;
    assert_eq!(counts(&s.finished().await), ("done", 60, 60, 1200, 0));
    let mut conn = s.app.db().await;
    let session_state = || {
        sessions::table
            .filter(sessions::channel_id.eq(s.channel_id))
            .order(sessions::id.asc())
            .select((sessions::id, sessions::last_seq, sessions::message_count))
    };
    let before: Vec<(i64, i64, i32)> = session_state().load(&mut conn).await.unwrap();

    // The dashboard counts the history sessions (no event announced them).
    let stats = s
        .app
        .get_json(
            &s.owner,
            &format!("/api/projects/{}/stats", s.app.project_id),
        )
        .await;
    assert_eq!(
        (stats["ended"].as_i64(), stats["ongoing"].as_i64()),
        (Some(60), Some(0))
    );

    let second = s.start("all").await;
    let job = s.finished().await;
    assert_eq!(job["id"], second["id"]);
    assert_eq!(counts(&job), ("done", 60, 0, 0, 0), "{job}");
    assert_eq!(
        (s.count_contacts().await, s.count_messages().await),
        (60, 1200)
    );
    let after: Vec<(i64, i64, i32)> = session_state().load(&mut conn).await.unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn sync_recent_imports_exactly_the_100_newest_conversations() {
    let s = setup(250).await;
    s.start("recent").await;
    let job = s.finished().await;
    assert_eq!(counts(&job), ("done", 100, 100, 2000, 0), "{job}");
    assert_eq!(s.count_contacts().await, 100);
    assert_eq!(s.fake.requests("conversations").await.len(), 4);
    let mut conn = s.app.db().await;
    let newest: i64 = contacts::table
        .filter(contacts::channel_id.eq(s.channel_id))
        .filter(contacts::external_id.eq_any(["psid-0", "psid-99"]))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(newest, 2, "the newest 100 are psid-0 … psid-99");
}

#[tokio::test]
async fn a_cancelled_sync_stops_before_its_next_page_and_keeps_what_it_imported() {
    let s = setup(250).await;
    let job = s.start("all").await;
    s.wait_for("a page done", WAIT, |j| {
        j["conversations_done"].as_i64().unwrap() >= 25
    })
    .await;
    let path = format!(
        "/api/projects/{}/jobs/{}/cancel",
        s.app.project_id, job["id"]
    );
    let (status, asked) = s.app.call(&s.owner, Method::POST, &path, None).await;
    assert_eq!(status, 200, "{asked}");
    assert_eq!(asked["cancel_requested"], true);
    let ended = s.finished().await;
    let (state, done, contacts, ..) = counts(&ended);
    assert_eq!(state, "cancelled", "{ended}");
    assert!(done < 250, "{ended}");
    assert_eq!(s.count_contacts().await, contacts);
    assert_eq!(s.count_messages().await, contacts * 20);
}

#[tokio::test]
async fn an_invalid_page_token_fails_the_sync_with_the_reason() {
    let s = setup(50).await;
    let err = json!({"status": 400, "body": {"error": {"message": "Error validating access token",
        "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "x"}}});
    s.fake.script("conversations", vec![err]).await;
    s.start("all").await;
    let job = s.finished().await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(
        job["last_error"],
        "the Page token is invalid (190): reconnect the Page"
    );
    assert_eq!(s.count_contacts().await, 0);
}

#[tokio::test]
async fn a_sync_refused_with_190_marks_the_channel_needs_reconnect() {
    let s = setup(50).await;
    let err = json!({"status": 400, "body": {"error": {"message": "Error validating access token",
        "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "x"}}});
    s.fake.script("conversations", vec![err]).await;
    s.start("all").await;
    s.finished().await;
    let mut conn = s.app.db().await;
    let health: String = switchboard::db::schema::channels::table
        .find(s.channel_id)
        .select(switchboard::db::schema::channels::health)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(health, "needs_reconnect");
}

#[tokio::test]
async fn rate_limited_calls_are_retried_on_the_same_page() {
    let s = setup(50).await;
    let limited = json!({"status": 400, "body": {"error": {"message": "limit", "type": "OAuthException",
        "code": 613, "fbtrace_id": "x"}}});
    let temporary = json!({"status": 500, "body": {"error": {"message": "temporary", "type": "OAuthException",
        "code": 2, "fbtrace_id": "x"}}});
    s.fake
        .script("conversations", vec![limited, temporary])
        .await;
    s.start("all").await;
    let job = s.finished().await;
    assert_eq!(counts(&job), ("done", 50, 50, 1000, 0), "{job}");
    let calls = s.fake.requests("conversations").await;
    // Two refusals of the first page, then the two pages.
    assert_eq!(calls.len(), 4);
    assert!(calls[..3].iter().all(|c| c["query"].get("after").is_none()));
}

#[tokio::test]
async fn sync_all_needs_confirmation_and_a_running_sync_is_returned_not_doubled() {
    let s = setup(250).await;
    let path = s.sync_path();
    let refused = assert_error(
        s.app
            .call(&s.owner, Method::POST, &path, Some(json!({"scope": "all"})))
            .await,
        400,
        "validation",
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("can take long"),
        "{refused}"
    );
    let first = s.start("all").await;
    let (status, again) = s
        .app
        .call(
            &s.owner,
            Method::POST,
            &path,
            Some(json!({"scope": "recent"})),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], first["id"]);

    let agent = s.app.member(s.app.project_id, "agent", "no-channels").await;
    let body = Some(json!({"scope": "recent"}));
    assert_error(
        s.app.call(&agent, Method::POST, &path, body).await,
        403,
        "forbidden",
    );
    assert_error(
        s.app.call(&agent, Method::GET, &path, None).await,
        403,
        "forbidden",
    );
}

#[tokio::test]
async fn a_known_persons_names_are_kept_and_an_empty_or_placeholder_name_is_filled_in() {
    let s = setup(30).await;
    let mut conn = s.app.db().await;
    let placeholder = switchboard::domain::messenger::inbound::fallback_name("psid-3");
    for (psid, name, note) in [
        ("psid-1", "Ada L.", Some("VIP Ada")),
        ("psid-2", "", None),
        ("psid-3", placeholder.as_str(), None),
    ] {
        diesel::insert_into(contacts::table)
            .values((
                contacts::project_id.eq(s.app.project_id),
                contacts::channel_id.eq(s.channel_id),
                contacts::external_id.eq(psid),
                contacts::name.eq(name),
                contacts::note_name.eq(note),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    s.start("all").await;
    let job = s.finished().await;
    assert_eq!(counts(&job), ("done", 30, 27, 600, 0), "{job}");
    let names: Vec<(String, String, Option<String>)> = contacts::table
        .filter(contacts::external_id.eq_any(["psid-1", "psid-2", "psid-3"]))
        .order(contacts::external_id.asc())
        .select((contacts::external_id, contacts::name, contacts::note_name))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        names,
        [
            ("psid-1".into(), "Ada L.".into(), Some("VIP Ada".into())),
            ("psid-2".into(), "Person 2".into(), None),
            ("psid-3".into(), "Person 3".into(), None)
        ]
    );
}

#[tokio::test]
async fn history_joins_a_contacts_open_session_after_its_messages_without_changing_its_state() {
    let s = setup(10).await;
    let mut conn = s.app.db().await;
    let contact_id: i64 = diesel::insert_into(contacts::table)
        .values((
            contacts::project_id.eq(s.app.project_id),
            contacts::channel_id.eq(s.channel_id),
            contacts::external_id.eq("psid-3"),
            contacts::name.eq("Person 3"),
        ))
        .returning(contacts::id)
        .get_result(&mut conn)
        .await
        .unwrap();
    // An open session with two newer messages (written after the history the API gives).
    let now = chrono::Utc::now();
    let session_id: i64 = diesel::insert_into(sessions::table)
        .values((
            sessions::project_id.eq(s.app.project_id),
            sessions::channel_id.eq(s.channel_id),
            sessions::contact_id.eq(contact_id),
            sessions::last_seq.eq(2_i64),
            sessions::message_count.eq(2),
            sessions::visitor_message_count.eq(2),
            sessions::last_message_at.eq(now),
        ))
        .returning(sessions::id)
        .get_result(&mut conn)
        .await
        .unwrap();
    for seq in 1..=2_i64 {
        diesel::insert_into(messages::table)
            .values((
                messages::session_id.eq(session_id),
                messages::seq.eq(seq),
                messages::sender_kind.eq("visitor"),
                messages::body.eq(format!("live {seq}")),
                messages::external_id.eq(format!("live-{seq}")),
                messages::channel_id.eq(s.channel_id),
                messages::created_at.eq(now),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
    }

    s.start("all").await;
    assert_eq!(counts(&s.finished().await), ("done", 10, 9, 200, 0));
    let rows: Vec<(i64, Option<String>)> = messages::table
        .filter(messages::session_id.eq(session_id))
        .order(messages::seq.asc())
        .select((messages::seq, messages::external_id))
        .load(&mut conn)
        .await
        .unwrap();
    // Older than the live messages, the imported ones still take the next seqs (3…22): a
    // client's resume point never has a gap, and created_at keeps the platform's time.
    assert_eq!(rows.len(), 22);
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        (1..=22).collect::<Vec<_>>()
    );
    assert_eq!(rows[2].1.as_deref(), Some("m-3-5"));
    let (status, last_seq, count, last_at): (String, i64, i32, chrono::DateTime<chrono::Utc>) =
        sessions::table
            .find(session_id)
            .select((
                sessions::status,
                sessions::last_seq,
                sessions::message_count,
                sessions::last_message_at,
            ))
            .first(&mut conn)
            .await
            .unwrap();
    assert_eq!((status.as_str(), last_seq, count), ("unassigned", 22, 22));
    assert!(
        (last_at - now).num_milliseconds().abs() < 1,
        "older history does not move it"
    );
    let sessions_of_contact: i64 = sessions::table
        .filter(sessions::contact_id.eq(contact_id))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(sessions_of_contact, 1);
}

#[tokio::test]
async fn a_conversation_that_cannot_be_imported_is_counted_as_an_error_and_the_sync_goes_on() {
    let s = setup(0).await;
    let person = |psid: &str| json!({"id": psid, "name": format!("Name of {psid}")});
    let page = json!({"id": PAGE, "name": "Acme"});
    let msg = |mid: &str, at: &str, from: &Value| json!({"id": mid, "created_time": at, "from": from, "message": format!("text {mid}")});
    let body = json!({"data": [
        {"id": "t_good", "participants": {"data": [person("p-good"), page]},
         "messages": {"data": [msg("g-2", "2026-11-20T10:01:00+0000", &page),
                               msg("g-1", "2026-11-20T10:00:00+0000", &person("p-good"))]}},
        {"id": "t_nobody", "participants": {"data": [page]},
         "messages": {"data": [msg("n-1", "2026-11-20T10:00:00+0000", &page)]}},
        {"id": "t_bad_time", "participants": {"data": [person("p-bad"), page]},
         "messages": {"data": [msg("b-1", "last tuesday", &person("p-bad"))]}},
    ]});
    s.fake
        .script("conversations", vec![json!({"status": 200, "body": body})])
        .await;
    s.start("all").await;
    let job = s.finished().await;
    assert_eq!(counts(&job), ("done", 1, 1, 2, 2), "{job}");
    // The refused conversations left nothing behind, not even their person.
    assert_eq!((s.count_contacts().await, s.count_messages().await), (1, 2));
}

#[tokio::test]
async fn a_runner_whose_lease_lapsed_writes_nothing_and_an_unheld_job_cancels_at_once() {
    use diesel_async::AsyncConnection;
    use switchboard::db::enums::{JobKind, JobState};
    use switchboard::db::jobs as q;
    // A bare database: no server runs, so no runner claims anything but this test.
    let db_url = crate::common::fresh_database().await;
    let mut conn = diesel_async::AsyncPgConnection::establish(&db_url)
        .await
        .unwrap();
    let owner = switchboard::domain::bootstrap::ensure_first_owner(&mut conn)
        .await
        .unwrap()
        .unwrap();
    let project_id = owner.channel.project_id;
    let channel_id = owner.channel.id;
    let params = json!({"scope": "all"});
    let (job, created) = q::insert_or_active(
        &mut conn,
        project_id,
        channel_id,
        JobKind::ContactSync,
        &params,
    )
    .await
    .unwrap();
    assert!(created);
    let (same, created) = q::insert_or_active(
        &mut conn,
        project_id,
        channel_id,
        JobKind::ContactSync,
        &params,
    )
    .await
    .unwrap();
    assert_eq!((same.id, created), (job.id, false));

    let first = q::claim_due(&mut conn, 60.0).await.unwrap().unwrap();
    assert_eq!((first.state, first.attempts), (JobState::Running, 1));
    assert!(
        q::claim_due(&mut conn, 60.0).await.unwrap().is_none(),
        "held"
    );
    // Its holder dies; the lease lapses and another runner claims it.
    diesel::update(jobs::table.find(job.id))
        .set(jobs::claimed_until.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    let second = q::claim_due(&mut conn, 60.0).await.unwrap().unwrap();
    assert_eq!(second.attempts, 2);
    let stale = json!({"conversations_done": 999});
    assert!(q::save_progress(&mut conn, job.id, 1, &stale, 60.0)
        .await
        .unwrap()
        .is_none());
    assert!(
        q::finish(&mut conn, job.id, 1, JobState::Done, &stale, None)
            .await
            .unwrap()
            .is_none()
    );
    let fresh = json!({"conversations_done": 25});
    let saved = q::save_progress(&mut conn, job.id, 2, &fresh, 60.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.progress, fresh);

    // Held: the cancel is a request the holder reads before its next page.
    let asked = q::request_cancel(&mut conn, project_id, job.id)
        .await
        .unwrap();
    assert_eq!(
        (asked.state, asked.cancel_requested),
        (JobState::Running, true)
    );
    // Not held (queued): cancelled at once, and a new sync may start.
    let other = json!({"scope": "recent"});
    let ended = q::finish(&mut conn, job.id, 2, JobState::Cancelled, &fresh, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.state, JobState::Cancelled);
    let (queued, _) = q::insert_or_active(
        &mut conn,
        project_id,
        channel_id,
        JobKind::ContactSync,
        &other,
    )
    .await
    .unwrap();
    let cancelled = q::request_cancel(&mut conn, project_id, queued.id)
        .await
        .unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(q::claim_due(&mut conn, 60.0).await.unwrap().is_none());
}
