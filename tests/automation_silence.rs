//! The trigger "visitor timed out and did not reply": after our last message the visitor stays
//! silent for the flow's minutes. Its options (new / returning visitors × hosted / unassigned /
//! assigned × off-platform) table-driven over one helper; a Messenger native echo starts the
//! silence only with off-platform on; a reply first skips it; a flow never re-triggers itself.
//! The minutes are made to pass by moving the timer's `due_at` to now; the scheduler then fires
//! it as it would at its time.

use crate::common::flows::{self, bot_texts, exec, hello, make_due, publish, runs_in, timers_of};
use crate::common::graph::{self, FakeGraph};
use crate::common::{eventually, visitor_says, Agent, TestApp, WsClient};
use reqwest::Method;
use serde_json::{json, Value};
use switchboard::db::enums::TriggerKind;

fn silent(visitors: &str, states: &[&str], off_platform: bool) -> Value {
    json!({"kind": "visitor_silent", "minutes": 5, "visitors": visitors,
           "session_states": states, "off_platform": off_platform})
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Hosted,
    Unassigned,
    Assigned,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Hosted => "hosted",
            State::Unassigned => "unassigned",
            State::Assigned => "assigned",
        }
    }
}

/// A visitor's session, new or returning.
struct Case {
    returning: bool,
    state: State,
    sid: i64,
    _v: WsClient,
}

async fn visitor_session(
    app: &TestApp,
    owner: &Agent,
    returning: bool,
    tag: &str,
) -> (WsClient, i64) {
    let (mut v, sid) = app.open_session("hi").await;
    if !returning {
        return (v, sid);
    }
    app.end(owner, sid).await;
    let again = visitor_says(&mut v, &format!("again-{tag}"), "me again").await;
    let sid2 = again["session_id"].as_i64().unwrap();
    assert_ne!(sid, sid2);
    (v, sid2)
}

/// Our reply (an agent's), then the session put in `state` as the silence ends, then the
/// minutes pass; whether the flow ran for it, or why its timer was skipped.
async fn silence_ends(app: &TestApp, owner: &Agent, c: &Case, round: usize) {
    app.reply(owner, c.sid, &format!("reply-{round}")).await;
    let sql = match c.state {
        State::Hosted => format!("UPDATE sessions SET bot_hosted = true WHERE id = {}", c.sid),
        State::Unassigned => format!(
            "UPDATE sessions SET bot_hosted = false, status = 'unassigned', assignee_id = NULL WHERE id = {}",
            c.sid
        ),
        State::Assigned => format!("UPDATE sessions SET bot_hosted = false WHERE id = {}", c.sid),
    };
    exec(app, &sql).await;
    make_due(app, c.sid, "flow_silence").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_silence_trigger_honours_new_or_returning_visitors_session_states_and_off_platform() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut cases = Vec::new();
    for returning in [false, true] {
        for state in [State::Hosted, State::Unassigned, State::Assigned] {
            let tag = format!("{returning}-{}", state.name());
            let (v, sid) = visitor_session(&app, &owner, returning, &tag).await;
            cases.push(Case {
                returning,
                state,
                sid,
                _v: v,
            });
        }
    }
    let mut flow = None;
    let mut round = 0;
    for visitors in ["new", "returning"] {
        for state in [State::Hosted, State::Unassigned, State::Assigned] {
            for off_platform in [false, true] {
                round += 1;
                let d = hello(
                    silent(visitors, &[state.name()], off_platform),
                    "Still there?",
                );
                match flow {
                    None => flow = Some(publish(&app, "Silence", d).await),
                    Some(id) => {
                        flows::publish_version(&mut app.db().await, id, d).await;
                    }
                }
                let runs_before: Vec<usize> = {
                    let mut n = Vec::new();
                    for c in &cases {
                        n.push(runs_in(&app, c.sid).await.len());
                    }
                    n
                };
                for c in &cases {
                    silence_ends(&app, &owner, c, round).await;
                }
                for (c, before) in cases.iter().zip(runs_before) {
                    eventually("the silence timer fires", || async {
                        timers_of(&app, c.sid, "flow_silence")
                            .await
                            .iter()
                            .all(|t| t.2)
                    })
                    .await;
                    let should = (visitors == "returning") == c.returning && state == c.state;
                    let ran = runs_in(&app, c.sid).await.len() > before;
                    let why = timers_of(&app, c.sid, "flow_silence")
                        .await
                        .last()
                        .unwrap()
                        .3
                        .clone();
                    assert_eq!(
                        ran, should,
                        "flow {visitors}/{}/off_platform {off_platform} on a {} {} visitor: skipped {why:?}",
                        state.name(),
                        if c.returning { "returning" } else { "new" },
                        c.state.name()
                    );
                    if ran {
                        let run = runs_in(&app, c.sid).await.pop().unwrap();
                        assert_eq!(run.trigger_kind, TriggerKind::VisitorSilent);
                        assert!(run.completed_at.is_some());
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn a_visitor_reply_before_the_timeout_skips_it_with_a_reason() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    publish(
        &app,
        "Silence",
        hello(silent("both", &[], false), "Still there?"),
    )
    .await;
    let (mut v, sid) = app.open_session("hi").await;
    app.reply(&owner, sid, "r").await;
    let timers = timers_of(&app, sid, "flow_silence").await;
    assert_eq!(timers.len(), 1);
    assert!(timers[0].0.starts_with("flow:"));
    visitor_says(&mut v, "back", "thanks, reading").await;
    make_due(&app, sid, "flow_silence").await;
    eventually("the timer is skipped", || async {
        timers_of(&app, sid, "flow_silence").await[0].2
    })
    .await;
    assert_eq!(
        timers_of(&app, sid, "flow_silence").await[0].3.as_deref(),
        Some("visitor_replied")
    );
    assert!(runs_in(&app, sid).await.is_empty());
}

#[tokio::test]
async fn a_silence_flow_never_triggers_itself_and_fires_once_per_silence() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let id = publish(
        &app,
        "Silence",
        hello(silent("both", &[], false), "Still there?"),
    )
    .await;
    let (_v, sid) = app.open_session("hi").await;
    app.reply(&owner, sid, "r").await;
    make_due(&app, sid, "flow_silence").await;
    eventually("the flow runs", || async {
        bot_texts(&app, sid).await == ["Still there?"]
    })
    .await;
    // Its own message set no new silence for it.
    let timers = timers_of(&app, sid, "flow_silence").await;
    assert_eq!(timers.len(), 1, "{timers:?}");
    assert!(timers[0].2);
    assert_eq!(flows::runs_of(&app, id).await.len(), 1);
}

// --- Messenger: a native reply (an echo from another app) --------------------------------

const PAGE: &str = "100200300";
const TOKEN: &str = "EAAB-page-token-secret";
const APP_ID: i64 = 1517776481860111;
const SECRET: &str = "app-secret-value";
const VERIFY: &str = "verify-token-value";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_echo_starts_the_silence_only_for_flows_with_off_platform_on() {
    let graph_api = FakeGraph::start().await;
    graph_api.add_page(PAGE, TOKEN, "Acme on Facebook").await;
    let app = TestApp::start_with(graph_api.configure()).await;
    let owner = app.owner().await;
    let path = format!("/api/projects/{}/channels/messenger", app.project_id);
    let body = json!({"page_id": PAGE, "page_name": "Acme Shop", "page_access_token": TOKEN,
           "app_id": APP_ID.to_string(), "app_secret": SECRET, "verify_token": VERIFY,
           "human_agent": true, "allowed_tags": []});
    let (s, ch) = app.call(&owner, Method::POST, &path, Some(body)).await;
    assert_eq!(s, 201, "{ch}");
    let channel_id = ch["id"].as_i64().unwrap();
    let on = publish(
        &app,
        "Off-platform on",
        hello(silent("both", &[], true), "On: still there?"),
    )
    .await;
    let off = publish(
        &app,
        "Off-platform off",
        hello(silent("both", &[], false), "Off: still there?"),
    )
    .await;

    let hello_msg = graph::message_event(PAGE, "psid-1", "m-1", "hello", graph::now_ms() - 2000);
    assert_eq!(
        graph::post_webhook(&app.url(), SECRET, &graph::envelope(PAGE, vec![hello_msg])).await,
        200
    );
    eventually("the person's session", || async {
        session_on(&app, channel_id).await.is_some()
    })
    .await;
    let sid = session_on(&app, channel_id).await.unwrap();
    assert!(timers_of(&app, sid, "flow_silence").await.is_empty());
    // Answered from the Page inbox: another app's echo.
    let echo = graph::echo_event(
        PAGE,
        "psid-1",
        "m-2",
        "Hi from the inbox",
        Some(263902037430900),
        None,
        graph::now_ms(),
    );
    assert_eq!(
        graph::post_webhook(&app.url(), SECRET, &graph::envelope(PAGE, vec![echo])).await,
        200
    );
    eventually("the native reply starts a silence", || async {
        !timers_of(&app, sid, "flow_silence").await.is_empty()
    })
    .await;
    let keys: Vec<String> = timers_of(&app, sid, "flow_silence")
        .await
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(keys, [format!("flow:{on}")], "not flow {off}");
    make_due(&app, sid, "flow_silence").await;
    eventually("the off-platform flow runs", || async {
        bot_texts(&app, sid).await == ["On: still there?"]
    })
    .await;
    assert!(flows::runs_of(&app, off).await.is_empty());
    graph_api.stop().await;
}

async fn session_on(app: &TestApp, channel_id: i64) -> Option<i64> {
    use diesel::{ExpressionMethods, QueryDsl};
    use diesel_async::RunQueryDsl;
    use switchboard::db::schema::sessions;
    let ids: Vec<i64> = sessions::table
        .filter(sessions::channel_id.eq(channel_id))
        .select(sessions::id)
        .load(&mut app.db().await)
        .await
        .unwrap();
    <[i64]>::first(&ids).copied()
}
