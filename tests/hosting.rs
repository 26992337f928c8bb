//! Robot hosting: switching one session, a selection and every assigned one, live in every
//! console that sees them, recorded with who did it; the project's settings for new sessions
//! and for an agent's reply.

use crate::common::steps::visitor_says;
use crate::common::ws::{message_in, WsClient};
use crate::common::{assert_error, Agent, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use switchboard::db::enums::HostingReason;
use switchboard::db::hosting_changes::{self, HostingChange};

async fn audit(app: &TestApp, sid: i64) -> Vec<HostingChange> {
    hosting_changes::of_session(&mut app.db().await, sid)
        .await
        .unwrap()
}

async fn display_name(app: &TestApp, user_id: i64) -> String {
    switchboard::db::users::find(&mut app.db().await, user_id)
        .await
        .unwrap()
        .display_name
}

async fn switch(app: &TestApp, by: &Agent, sid: i64, hosted: bool) -> (u16, Value) {
    let path = format!("/api/projects/{}/sessions/{sid}/hosting", app.project_id);
    app.call(by, Method::PUT, &path, Some(json!({ "hosted": hosted })))
        .await
}

async fn bulk(app: &TestApp, by: &Agent, ids: &[i64], hosted: bool) -> (u16, Value) {
    let path = format!("/api/projects/{}/sessions/hosting", app.project_id);
    let body = json!({"session_ids": ids, "hosted": hosted});
    app.call(by, Method::POST, &path, Some(body)).await
}

async fn session(app: &TestApp, by: &Agent, sid: i64) -> Value {
    app.get_json(
        by,
        &format!("/api/projects/{}/sessions/{sid}", app.project_id),
    )
    .await
}

async fn messages(app: &TestApp, by: &Agent, sid: i64) -> Vec<Value> {
    let path = format!("/api/projects/{}/sessions/{sid}/messages", app.project_id);
    app.get_json(by, &path).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn patch_settings(app: &TestApp, owner: &Agent, body: Value) -> Value {
    let path = format!("/api/projects/{}/settings/hosting", app.project_id);
    let (status, s) = app.call(owner, Method::PATCH, &path, Some(body)).await;
    assert_eq!(status, 200, "{s}");
    s
}

/// The system line and then the session frame of a switch, on one console.
async fn sees_switch(ws: &mut WsClient, sid: i64, hosted: bool, text: &str) {
    let (before, frame) = ws
        .recv_until_barrier(|f| {
            f["type"] == "session"
                && f["session"]["id"] == sid
                && f["session"]["bot_hosted"] == hosted
        })
        .await;
    let line = before
        .iter()
        .find(|f| message_in(sid)(f) && f["sender"] == "system")
        .unwrap_or_else(|| panic!("no system line before {frame}: {before:?}"));
    assert_eq!(line["text"], text);
}

#[tokio::test]
async fn a_switch_shows_live_in_two_consoles_as_a_system_line_and_is_recorded_with_who() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let agent = app.member(app.project_id, "agent", "Ann").await;
    let (_v, sid) = app.open_session("hello").await;
    let mut ws_owner = app.agent_ws(&owner, app.project_id).await;
    let mut ws_agent = app.agent_ws(&agent, app.project_id).await;

    let (status, view) = switch(&app, &agent, sid, true).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["bot_hosted"], true);
    for ws in [&mut ws_owner, &mut ws_agent] {
        sees_switch(ws, sid, true, "Ann switched robot hosting on").await;
    }

    let (status, view) = switch(&app, &owner, sid, false).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["bot_hosted"], false);
    let off = format!(
        "{} switched robot hosting off",
        display_name(&app, owner.user_id).await
    );
    for ws in [&mut ws_owner, &mut ws_agent] {
        sees_switch(ws, sid, false, &off).await;
    }

    let rows = audit(&app, sid).await;
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.user_id, r.hosted, r.reason))
        .collect();
    assert_eq!(
        got,
        [
            (Some(agent.user_id), true, HostingReason::Switch),
            (Some(owner.user_id), false, HostingReason::Switch),
        ]
    );
    // System lines are not counted as messages.
    assert_eq!(session(&app, &owner, sid).await["message_count"], 1);
}

#[tokio::test]
async fn switching_to_the_state_a_session_has_records_and_announces_nothing() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (mut v, sid) = app.open_session("hello").await;
    let mut ws = app.agent_ws(&owner, app.project_id).await;

    let (status, view) = switch(&app, &owner, sid, false).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["bot_hosted"], false);
    // The barrier: the visitor's next message reaches the console after anything the switch
    // would have announced.
    visitor_says(&mut v, "second", "still there?").await;
    ws.assert_none_before_barrier(
        |f| f["sender"] == "system" || f["type"] == "session",
        |f| message_in(sid)(f) && f["text"] == "still there?",
    )
    .await;
    assert!(audit(&app, sid).await.is_empty());
}

#[tokio::test]
async fn an_ended_session_cannot_be_switched() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (_v, sid) = app.open_session("hello").await;
    app.end(&owner, sid).await;
    assert_error(switch(&app, &owner, sid, true).await, 409, "session_ended");
    assert!(audit(&app, sid).await.is_empty());
}

#[tokio::test]
async fn a_batch_switches_every_session_given_once() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut ids = Vec::new();
    let mut visitors = Vec::new();
    for _ in 0..3 {
        let (v, sid) = app.open_session("hello").await;
        visitors.push(v);
        ids.push(sid);
    }
    let with_repeat = [ids.clone(), vec![ids[0]]].concat();
    let (status, out) = bulk(&app, &owner, &with_repeat, true).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out, json!({"changed": 3, "unchanged": 0, "ended": 0}));
    for &sid in &ids {
        assert_eq!(session(&app, &owner, sid).await["bot_hosted"], true);
        let rows = audit(&app, sid).await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].reason, HostingReason::Bulk);
    }
    app.end(&owner, ids[2]).await;
    let (_, out) = bulk(&app, &owner, &ids, true).await;
    assert_eq!(out, json!({"changed": 0, "unchanged": 2, "ended": 1}));
}

#[tokio::test]
async fn a_batch_with_a_session_outside_the_callers_scope_switches_none() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    app.set_role_scope(app.project_id, "agent", "own").await;
    let agent = app.member(app.project_id, "agent", "Ann").await;
    let (_v1, mine) = app.open_session("one").await;
    let (_v2, theirs) = app.open_session("two").await;
    app.assign(&owner, mine, Some(agent.user_id)).await;
    app.assign(&owner, theirs, Some(owner.user_id)).await;

    let body = assert_error(
        bulk(&app, &agent, &[mine, theirs], true).await,
        404,
        "not_found",
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&theirs.to_string()),
        "{body}"
    );
    assert_error(
        bulk(&app, &agent, &[mine, 99_999_999], true).await,
        404,
        "not_found",
    );
    assert_eq!(session(&app, &owner, mine).await["bot_hosted"], false);
    assert!(audit(&app, mine).await.is_empty());
}

#[tokio::test]
async fn switching_all_assigned_as_an_own_scope_agent_switches_only_its_own() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    app.set_role_scope(app.project_id, "agent", "own").await;
    let agent = app.member(app.project_id, "agent", "Ann").await;
    let mut visitors = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..4 {
        let (v, sid) = app.open_session("hello").await;
        visitors.push(v);
        ids.push(sid);
    }
    app.assign(&owner, ids[0], Some(agent.user_id)).await;
    app.assign(&owner, ids[1], Some(agent.user_id)).await;
    app.assign(&owner, ids[2], Some(owner.user_id)).await;
    // ids[3] stays in the queue: the agent sees it, but it is not assigned.

    let path = format!("/api/projects/{}/sessions/hosting/assigned", app.project_id);
    let (status, out) = app
        .call(&agent, Method::POST, &path, Some(json!({"hosted": true})))
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out, json!({"changed": 2, "unchanged": 0, "ended": 0}));
    let hosted: Vec<bool> = {
        let mut v = Vec::new();
        for &sid in &ids {
            v.push(session(&app, &owner, sid).await["bot_hosted"] == true);
        }
        v
    };
    assert_eq!(hosted, [true, true, false, false]);
    assert_eq!(
        audit(&app, ids[0]).await[0].reason,
        HostingReason::AllAssigned
    );

    // The owner (scope all) switches every assigned one.
    let (_, out) = app
        .call(&owner, Method::POST, &path, Some(json!({"hosted": true})))
        .await;
    assert_eq!(out, json!({"changed": 1, "unchanged": 2, "ended": 0}));
}

#[tokio::test]
async fn the_settings_default_to_no_hosting_and_a_hand_off_on_reply() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let path = format!("/api/projects/{}/settings/hosting", app.project_id);
    let s = app.get_json(&owner, &path).await;
    assert_eq!(
        s,
        json!({"new_sessions_hosted": false, "agent_reply_hands_off": true})
    );
    let s = patch_settings(&app, &owner, json!({"new_sessions_hosted": true})).await;
    assert_eq!(
        s,
        json!({"new_sessions_hosted": true, "agent_reply_hands_off": true})
    );
    let (status, _) = app
        .call(&owner, Method::PATCH, &path, Some(json!({"colour": 1})))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn new_sessions_start_hosted_with_no_human_wait_when_the_project_says_so() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    patch_settings(&app, &owner, json!({"new_sessions_hosted": true})).await;
    let (_v, sid) = app.open_session("anyone there?").await;

    let s = session(&app, &owner, sid).await;
    assert_eq!(s["bot_hosted"], true);
    assert_eq!(s["awaiting_since"], Value::Null);
    let rows = audit(&app, sid).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].user_id, rows[0].hosted, rows[0].reason),
        (None, true, HostingReason::NewSession)
    );
    // No system line: only the visitor's message.
    let texts: Vec<_> = messages(&app, &owner, sid)
        .await
        .iter()
        .map(|m| m["sender"].clone())
        .collect();
    assert_eq!(texts, [json!("visitor")]);
}

#[tokio::test]
async fn an_agents_reply_in_a_hosted_session_hands_it_off() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let agent = app.member(app.project_id, "agent", "Ann").await;
    let (_v, sid) = app.open_session("hello").await;
    switch(&app, &owner, sid, true).await;
    let mut ws = app.agent_ws(&owner, app.project_id).await;

    app.reply(&agent, sid, "r1").await;
    let (before, _) = ws
        .recv_until_barrier(|f| {
            f["type"] == "session"
                && f["session"]["id"] == sid
                && f["session"]["bot_hosted"] == false
        })
        .await;
    let lines: Vec<_> = before.iter().filter(|f| message_in(sid)(f)).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["sender"], "agent");
    assert_eq!(lines[1]["text"], "Robot hosting switched off: Ann replied");
    assert_eq!(
        lines[1]["seq"].as_i64(),
        lines[0]["seq"].as_i64().map(|s| s + 1)
    );

    let s = session(&app, &owner, sid).await;
    assert_eq!(s["bot_hosted"], false);
    assert_eq!(s["last_seq"], lines[1]["seq"]);
    let last = audit(&app, sid).await.pop().unwrap();
    assert_eq!(
        (last.user_id, last.hosted, last.reason),
        (Some(agent.user_id), false, HostingReason::ReplyHandoff)
    );
}

#[tokio::test]
async fn with_the_hand_off_off_an_agents_reply_leaves_hosting_on() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    patch_settings(&app, &owner, json!({"agent_reply_hands_off": false})).await;
    let (_v, sid) = app.open_session("hello").await;
    switch(&app, &owner, sid, true).await;

    app.reply(&owner, sid, "r1").await;
    assert_eq!(session(&app, &owner, sid).await["bot_hosted"], true);
    assert_eq!(audit(&app, sid).await.len(), 1);
    let senders: Vec<_> = messages(&app, &owner, sid)
        .await
        .iter()
        .map(|m| m["sender"].clone())
        .collect();
    assert_eq!(senders, [json!("visitor"), json!("system"), json!("agent")]);
}
