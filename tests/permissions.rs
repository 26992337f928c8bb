//! The permission matrix: every REST endpoint and the agent websocket upgrade × every kind of
//! caller, as one table of (method, path template, body, expected status per caller), plus the
//! own-data-scope checks on another agent's session.
//!
//! Placeholders: `{pid}` the project; `{sid}`/`{cid}` an unassigned session (in everyone's
//! scope) and its contact; `{lone_cid}` a contact without sessions; `{tid}` a tag; `{uniq}` a
//! fresh unique string; `{agent_role}` the builtin agent role; `{web_ch}` the web channel.
//! `{fid}` a published automation flow. `{new_sid}`, `{new_tag}`, `{new_member}`, `{new_role}`,
//! `{new_flow}` are made afresh (by the owner) for every request, so that destructive calls do
//! not change what the next caller sees.

use crate::common::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Columns of the table, in order.
const CALLERS: [&str; 7] = [
    "owner",
    "admin",
    "agent (scope all)",
    "agent (scope own)",
    "custom: session_tags.manage + automation.view",
    "member of another project",
    "anonymous",
];

struct Row {
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    expect: [u16; 7],
}

const fn row(
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    expect: [u16; 7],
) -> Row {
    Row {
        method,
        path,
        body,
        expect,
    }
}

// Shorthands for common columns: members of the project (5), then outsider and anonymous.
const READ: [u16; 7] = [200, 200, 200, 200, 200, 404, 401];
const OWNER_ONLY_200: [u16; 7] = [200, 403, 403, 403, 403, 404, 401];
const TEAM_201: [u16; 7] = [201, 201, 403, 403, 403, 404, 401];
const TEAM_204: [u16; 7] = [204, 204, 403, 403, 403, 404, 401];
const TEAM_200: [u16; 7] = [200, 200, 403, 403, 403, 404, 401];
const TAGS_201: [u16; 7] = [201, 201, 403, 403, 201, 404, 401];
const TAGS_200: [u16; 7] = [200, 200, 403, 403, 200, 404, 401];
const TAGS_204: [u16; 7] = [204, 204, 403, 403, 204, 404, 401];
// automation.manage: owner and admin.
const AUTO_200: [u16; 7] = [200, 200, 403, 403, 403, 404, 401];
const AUTO_201: [u16; 7] = [201, 201, 403, 403, 403, 404, 401];
const AUTO_204: [u16; 7] = [204, 204, 403, 403, 403, 404, 401];
// automation.view (the custom role), or automation.manage (owner, admin).
const VIEW_200: [u16; 7] = [200, 200, 403, 403, 200, 404, 401];

#[rustfmt::skip]
const TABLE: &[Row] = &[
    row("GET",    "/healthz", None, [200; 7]),
    row("GET",    "/api/openapi.json", None, [200; 7]),
    row("POST",   "/api/auth/login", Some(r#"{"email":"nobody@example.com","password":"wrong-password"}"#), [401; 7]),
    row("GET",    "/api/me", None, [200, 200, 200, 200, 200, 200, 401]),
    row("POST",   "/api/auth/tokens", Some(r#"{"name":"t"}"#), [201, 201, 201, 201, 201, 201, 401]),
    row("POST",   "/api/projects", Some(r#"{"name":"P {uniq}"}"#), [201, 201, 201, 201, 201, 201, 401]),
    row("GET",    "/api/projects/{pid}", None, READ),
    row("PATCH",  "/api/projects/{pid}/settings", Some(r#"{"auto_end_after_secs":0}"#), OWNER_ONLY_200),
    row("GET",    "/api/projects/{pid}/stats", None, READ),
    row("GET",    "/api/projects/{pid}/channels", None, READ),
    row("POST",   "/api/projects/{pid}/channels", Some(r#"{"kind":"web","name":"w {uniq}"}"#), TEAM_201),
    row("GET",    "/api/projects/{pid}/roles", None, READ),
    row("POST",   "/api/projects/{pid}/roles", Some(r#"{"name":"r {uniq}","permissions":["contacts.manage"],"data_scope":"own"}"#), TEAM_201),
    row("PATCH",  "/api/projects/{pid}/roles/{new_role}", Some(r#"{"data_scope":"all"}"#), TEAM_200),
    row("DELETE", "/api/projects/{pid}/roles/{new_role}", None, TEAM_204),
    row("GET",    "/api/projects/{pid}/members", None, READ),
    row("POST",   "/api/projects/{pid}/members", Some(r#"{"email":"m{uniq}@example.com","display_name":"m","password":"password123","role":"agent"}"#), TEAM_201),
    row("PATCH",  "/api/projects/{pid}/members/{new_member}", Some(r#"{"role_id":{agent_role}}"#), TEAM_204),
    row("DELETE", "/api/projects/{pid}/members/{new_member}", None, TEAM_204),
    row("GET",    "/api/projects/{pid}/me/preferences", None, READ),
    row("PATCH",  "/api/projects/{pid}/me/preferences", Some(r#"{"note_name_first":true}"#), READ),
    row("GET",    "/api/projects/{pid}/settings/notifications", None, READ),
    row("PATCH",  "/api/projects/{pid}/settings/notifications", Some(r#"{"email_enabled":false}"#), OWNER_ONLY_200),
    // The owner passes the permission check and meets the missing SMTP configuration.
    row("POST",   "/api/projects/{pid}/email/test", Some(r#"{}"#), [409, 403, 403, 403, 403, 404, 401]),
    row("GET",    "/api/projects/{pid}/email/outbox", None, OWNER_ONLY_200),
    row("GET",    "/api/projects/{pid}/email/outbox/999999", None, [404, 403, 403, 403, 403, 404, 401]),
    row("GET",    "/api/projects/{pid}/sessions", None, READ),
    row("GET",    "/api/projects/{pid}/sessions/{sid}", None, READ),
    row("GET",    "/api/projects/{pid}/sessions/{sid}/messages", None, READ),
    row("POST",   "/api/projects/{pid}/sessions/{new_sid}/messages", Some(r#"{"client_id":"c{uniq}","text":"hi"}"#), [201, 201, 201, 201, 201, 404, 401]),
    row("POST",   "/api/projects/{pid}/sessions/{new_sid}/take", None, READ),
    row("POST",   "/api/projects/{pid}/sessions/{new_sid}/assign", Some(r#"{"user_id":null}"#), READ),
    row("POST",   "/api/projects/{pid}/sessions/{new_sid}/end", None, READ),
    row("PUT",    "/api/projects/{pid}/sessions/{sid}/tags", Some(r#"{"tag_ids":[{tid}]}"#), READ),
    // Robot hosting: the session is not hosted, so switching it off changes nothing.
    row("PUT",    "/api/projects/{pid}/sessions/{sid}/hosting", Some(r#"{"hosted":false}"#), READ),
    row("POST",   "/api/projects/{pid}/sessions/hosting", Some(r#"{"session_ids":[{sid}],"hosted":false}"#), READ),
    row("POST",   "/api/projects/{pid}/sessions/hosting/assigned", Some(r#"{"hosted":false}"#), READ),
    row("GET",    "/api/projects/{pid}/settings/hosting", None, READ),
    row("PATCH",  "/api/projects/{pid}/settings/hosting", Some(r#"{"agent_reply_hands_off":true}"#), OWNER_ONLY_200),
    row("GET",    "/api/projects/{pid}/sessions/{sid}/tags", None, READ),
    row("GET",    "/api/projects/{pid}/reports/sessions", None, READ),
    row("GET",    "/api/projects/{pid}/reports/sessions/summary", None, READ),
    row("GET",    "/api/projects/{pid}/reports/sessions.csv", None, READ),
    row("GET",    "/api/projects/{pid}/contacts", None, READ),
    row("GET",    "/api/projects/{pid}/contacts?note_name=x", None, READ),
    row("GET",    "/api/projects/{pid}/contacts/{cid}", None, READ),
    row("PATCH",  "/api/projects/{pid}/contacts/{cid}", Some(r#"{"labels":["l{uniq}"]}"#), READ),
    // Without a session only contacts.manage helps; an own-scope agent does not see the contact.
    row("PATCH",  "/api/projects/{pid}/contacts/{lone_cid}", Some(r#"{"note_name":"n{uniq}"}"#), [200, 200, 403, 404, 403, 404, 401]),
    row("GET",    "/api/projects/{pid}/contacts/{cid}/changes", None, READ),
    row("GET",    "/api/projects/{pid}/sessions/{sid}/reply-window", None, READ),
    // The message does not exist: past the access checks, every member meets a 404.
    row("POST",   "/api/projects/{pid}/sessions/{sid}/messages/999999/retry", None, [404, 404, 404, 404, 404, 404, 401]),
    // Past the permission check a bad Page id is refused before any Graph API call.
    row("POST",   "/api/projects/{pid}/channels/messenger", Some(r#"{"page_id":"not digits","page_name":"p","page_access_token":"t","app_id":"1","app_secret":"s","verify_token":"v","human_agent":false,"allowed_tags":[]}"#), [400, 400, 403, 403, 403, 404, 401]),
    // `{web_ch}` is the project's web channel: managers learn it is not a Messenger channel.
    row("PATCH",  "/api/projects/{pid}/channels/{web_ch}/messenger", Some(r#"{"human_agent":true}"#), [400, 400, 403, 403, 403, 404, 401]),
    row("POST",   "/api/projects/{pid}/channels/{web_ch}/sync", Some(r#"{"scope":"recent"}"#), [400, 400, 403, 403, 403, 404, 401]),
    row("GET",    "/api/projects/{pid}/channels/{web_ch}/sync", None, [400, 400, 403, 403, 403, 404, 401]),
    row("POST",   "/api/projects/{pid}/jobs/999999/cancel", None, [404, 404, 403, 403, 403, 404, 401]),
    // Meta's webhook takes no login: only a verify token or a signature opens it.
    row("GET",    "/webhooks/messenger", None, [403; 7]),
    row("POST",   "/webhooks/messenger", Some(r#"{"object":"page","entry":[]}"#), [401; 7]),
    row("GET",    "/api/projects/{pid}/session-tags", None, READ),
    row("POST",   "/api/projects/{pid}/session-tags", Some(r#"{"name":"t{uniq}"}"#), TAGS_201),
    row("PATCH",  "/api/projects/{pid}/session-tags/{new_tag}", Some(r##"{"color":"#123456"}"##), TAGS_200),
    row("DELETE", "/api/projects/{pid}/session-tags/{new_tag}", None, TAGS_204),
    row("GET",    "/api/projects/{pid}/flows", None, AUTO_200),
    row("POST",   "/api/projects/{pid}/flows", Some(r#"{"name":"f{uniq}"}"#), AUTO_201),
    row("GET",    "/api/projects/{pid}/flows/{fid}", None, AUTO_200),
    row("PUT",    "/api/projects/{pid}/flows/{fid}", Some(r#"{"name":"f{uniq}"}"#), AUTO_200),
    row("POST",   "/api/projects/{pid}/flows/{fid}/publish", None, AUTO_200),
    row("PATCH",  "/api/projects/{pid}/flows/{fid}", Some(r#"{"enabled":true}"#), AUTO_200),
    row("GET",    "/api/projects/{pid}/flows/{fid}/versions/1", None, VIEW_200),
    row("POST",   "/api/projects/{pid}/flows/{fid}/preview", None, AUTO_201),
    row("GET",    "/api/projects/{pid}/flows/{fid}/runs", None, AUTO_200),
    row("DELETE", "/api/projects/{pid}/flows/{new_flow}", None, AUTO_204),
    row("GET",    "/api/projects/{pid}/automation/stats", None, VIEW_200),
    row("GET",    "/api/projects/{pid}/automation/stats?from=2026-11-01&to=2026-12-01", None, VIEW_200),
    row("GET",    "/api/projects/{pid}/flows/{fid}/visitors?status=completed", None, VIEW_200),
    row("GET",    "/api/projects/{pid}/flows/{fid}/visitors.csv", None, VIEW_200),
    row("GET",    "/api/projects/{pid}/flows/{fid}/versions/1/funnel", None, VIEW_200),
    // Past the permission check, a flow of no project is a 404.
    row("GET",    "/api/projects/{pid}/flows/999999/visitors", None, [404, 404, 403, 403, 404, 404, 401]),
    // The run does not exist: past the permission check, a 404.
    row("GET",    "/api/projects/{pid}/runs/999999/steps", None, [404, 404, 403, 403, 403, 404, 401]),
    // The websocket upgrade (101 = accepted).
    row("WS",     "/ws/agent?project={pid}", None, [101, 101, 101, 101, 101, 404, 401]),
    // Last: it ends the caller's token.
    row("POST",   "/api/auth/logout", None, [204, 204, 204, 204, 204, 204, 401]),
];

/// An own-scope agent and a session assigned to another agent (`{sid}`/`{cid}` here).
#[rustfmt::skip]
const OWN_SCOPE: &[(&str, &str, Option<&str>, u16)] = &[
    ("GET",   "/api/projects/{pid}/sessions/{sid}", None, 404),
    ("GET",   "/api/projects/{pid}/sessions/{sid}/messages", None, 404),
    ("POST",  "/api/projects/{pid}/sessions/{sid}/messages", Some(r#"{"client_id":"c{uniq}","text":"hi"}"#), 404),
    ("POST",  "/api/projects/{pid}/sessions/{sid}/take", None, 404),
    ("POST",  "/api/projects/{pid}/sessions/{sid}/assign", Some(r#"{"user_id":null}"#), 404),
    ("POST",  "/api/projects/{pid}/sessions/{sid}/end", None, 404),
    ("PUT",   "/api/projects/{pid}/sessions/{sid}/tags", Some(r#"{"tag_ids":[]}"#), 404),
    ("GET",   "/api/projects/{pid}/sessions/{sid}/tags", None, 404),
    ("PUT",   "/api/projects/{pid}/sessions/{sid}/hosting", Some(r#"{"hosted":true}"#), 404),
    ("POST",  "/api/projects/{pid}/sessions/hosting", Some(r#"{"session_ids":[{sid}],"hosted":true}"#), 404),
    ("PATCH", "/api/projects/{pid}/contacts/{cid}", Some(r#"{"note_name":"x"}"#), 404),
    ("GET",   "/api/projects/{pid}/sessions/{sid}/reply-window", None, 404),
    ("POST",  "/api/projects/{pid}/sessions/{sid}/messages/999999/retry", None, 404),
];

static UNIQ: AtomicUsize = AtomicUsize::new(0);

struct World {
    app: TestApp,
    /// One per column; `None` for the anonymous caller.
    callers: Vec<Option<Agent>>,
    owner: Agent,
    fixed: Vec<(&'static str, String)>,
}

async fn send(
    app: &TestApp,
    who: Option<&Agent>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    if method == "WS" {
        return (ws_status(app, who, path).await, Value::Null);
    }
    let http = reqwest::Client::new();
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = http.request(m, format!("{}{path}", app.url()));
    if let Some(a) = who {
        req = req.bearer_auth(&a.token);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn ws_status(app: &TestApp, who: Option<&Agent>, path: &str) -> u16 {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("{}{path}", app.ws_url())
        .into_client_request()
        .unwrap();
    if let Some(a) = who {
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {}", a.token).parse().unwrap(),
        );
    }
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
        .await
        .unwrap()
    {
        Ok((_, resp)) => resp.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("websocket {path}: {e}"),
    }
}

fn id_of(v: &Value) -> String {
    v["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

impl World {
    async fn new() -> World {
        let app = TestApp::start().await;
        let pid = app.project_id;
        let owner = app.owner().await;
        let p = |s: &str| s.replace("{pid}", &pid.to_string());
        for (name, perms, scope) in [
            ("own agent", json!([]), "own"),
            (
                "tagger",
                json!(["session_tags.manage", "automation.view"]),
                "all",
            ),
        ] {
            let (s, _) = send(
                &app,
                Some(&owner),
                "POST",
                &p("/api/projects/{pid}/roles"),
                Some(json!({"name": name, "permissions": perms, "data_scope": scope})),
            )
            .await;
            assert_eq!(s, 201);
        }
        let admin = app.member(pid, "admin", "admin").await;
        let agent_all = app.member(pid, "agent", "all").await;
        let agent_own = app.member(pid, "own agent", "own").await;
        let tagger = app.member(pid, "tagger", "tagger").await;
        let (_, other) = send(
            &app,
            Some(&owner),
            "POST",
            "/api/projects",
            Some(json!({"name": "Elsewhere"})),
        )
        .await;
        let outsider_email = "outsider@example.com";
        let (s, _) = send(&app, Some(&owner), "POST", &format!("/api/projects/{}/members", id_of(&other)),
            Some(json!({"email": outsider_email, "display_name": "o", "password": "password123", "role": "agent"}))).await;
        assert_eq!(s, 201);
        let outsider = app.login(outsider_email, "password123").await;

        let (_, roles) = send(
            &app,
            Some(&owner),
            "GET",
            &p("/api/projects/{pid}/roles"),
            None,
        )
        .await;
        let agent_role = roles
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "agent")
            .map(id_of)
            .unwrap();
        let mut v = app.visitor().await;
        v.send(json!({"v": 1, "type": "send", "client_id": "c", "text": "hi"}))
            .await;
        let sid = v.recv_type("ack").await["session_id"]
            .as_i64()
            .unwrap()
            .to_string();
        let cid = app.contact_of(&v).await.to_string();
        let lone_cid = app.contact_without_session().await.0.to_string();
        let (_, tag) = send(
            &app,
            Some(&owner),
            "POST",
            &p("/api/projects/{pid}/session-tags"),
            Some(json!({"name": "fixed"})),
        )
        .await;

        let (_, flow) = send(
            &app,
            Some(&owner),
            "POST",
            &p("/api/projects/{pid}/flows"),
            Some(json!({"name": "fixed"})),
        )
        .await;
        let (s, _) = send(
            &app,
            Some(&owner),
            "POST",
            &p(&format!(
                "/api/projects/{{pid}}/flows/{}/publish",
                id_of(&flow)
            )),
            None,
        )
        .await;
        assert_eq!(s, 200);

        let fixed = vec![
            ("{fid}", id_of(&flow)),
            ("{pid}", pid.to_string()),
            ("{sid}", sid),
            ("{cid}", cid),
            ("{lone_cid}", lone_cid),
            ("{tid}", id_of(&tag)),
            ("{agent_role}", agent_role),
            ("{web_ch}", app.channel_id().await.to_string()),
        ];
        // The owner column logs in again: its own token, so the table's logout row does not end
        // the token the fixtures use.
        World {
            callers: vec![
                Some(app.owner().await),
                Some(admin),
                Some(agent_all),
                Some(agent_own),
                Some(tagger),
                Some(outsider),
                None,
            ],
            app,
            owner,
            fixed,
        }
    }

    /// Fills a template: fixed ids, a unique string, and fresh records made by the owner.
    async fn fill(&self, template: &str) -> String {
        let mut s = template.to_owned();
        for (k, v) in &self.fixed {
            s = s.replace(k, v);
        }
        let uniq = UNIQ.fetch_add(1, Ordering::Relaxed).to_string();
        s = s.replace("{uniq}", &uniq);
        let pid = self.app.project_id;
        let owner = Some(&self.owner);
        if s.contains("{new_sid}") {
            let mut v = self.app.visitor().await;
            v.send(json!({"v": 1, "type": "send", "client_id": "c", "text": "hi"}))
                .await;
            let sid = v.recv_type("ack").await["session_id"].as_i64().unwrap();
            s = s.replace("{new_sid}", &sid.to_string());
        }
        if s.contains("{new_tag}") {
            let (_, t) = send(
                &self.app,
                owner,
                "POST",
                &format!("/api/projects/{pid}/session-tags"),
                Some(json!({"name": format!("n{uniq}")})),
            )
            .await;
            s = s.replace("{new_tag}", &id_of(&t));
        }
        if s.contains("{new_role}") {
            let (_, r) = send(
                &self.app,
                owner,
                "POST",
                &format!("/api/projects/{pid}/roles"),
                Some(json!({"name": format!("n{uniq}"), "permissions": [], "data_scope": "own"})),
            )
            .await;
            s = s.replace("{new_role}", &id_of(&r));
        }
        if s.contains("{new_flow}") {
            let (_, f) = send(
                &self.app,
                owner,
                "POST",
                &format!("/api/projects/{pid}/flows"),
                Some(json!({"name": format!("n{uniq}")})),
            )
            .await;
            s = s.replace("{new_flow}", &id_of(&f));
        }
        if s.contains("{new_member}") {
            let (st, u) = send(&self.app, owner, "POST", &format!("/api/projects/{pid}/members"),
                Some(json!({"email": format!("n{uniq}@example.com"), "display_name": "n", "password": "password123", "role": "agent"}))).await;
            assert_eq!(st, 201);
            s = s.replace("{new_member}", &id_of(&u));
        }
        s
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_allows_exactly_the_callers_it_should() {
    let w = World::new().await;
    let mut failures = Vec::new();
    for r in TABLE {
        for (col, who) in w.callers.iter().enumerate() {
            let path = w.fill(r.path).await;
            let body = match r.body {
                Some(b) => Some(serde_json::from_str(&w.fill(b).await).unwrap()),
                None => None,
            };
            let (status, resp) = send(&w.app, who.as_ref(), r.method, &path, body).await;
            if status != r.expect[col] {
                failures.push(format!(
                    "{} {} as {}: expected {}, got {status} {resp}",
                    r.method, r.path, CALLERS[col], r.expect[col]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_own_scope_agent_cannot_reach_another_agents_session() {
    let mut w = World::new().await;
    let pid = w.app.project_id;
    let other = w.callers[2].as_ref().unwrap().user_id;
    let mut v = w.app.visitor().await;
    v.send(json!({"v": 1, "type": "send", "client_id": "c", "text": "hi"}))
        .await;
    let sid = v.recv_type("ack").await["session_id"].as_i64().unwrap();
    let cid = w.app.contact_of(&v).await;
    let (s, _) = send(
        &w.app,
        Some(&w.owner),
        "POST",
        &format!("/api/projects/{pid}/sessions/{sid}/assign"),
        Some(json!({"user_id": other})),
    )
    .await;
    assert_eq!(s, 200);
    for (k, v) in w.fixed.iter_mut() {
        match *k {
            "{sid}" => *v = sid.to_string(),
            "{cid}" => *v = cid.to_string(),
            _ => {}
        }
    }
    let own = w.callers[3].as_ref();
    let mut failures = Vec::new();
    for (method, template, body, expect) in OWN_SCOPE {
        let path = w.fill(template).await;
        let body = match body {
            Some(b) => Some(serde_json::from_str(&w.fill(b).await).unwrap()),
            None => None,
        };
        let (status, resp) = send(&w.app, own, method, &path, body).await;
        if status != *expect {
            failures.push(format!(
                "{method} {template}: expected {expect}, got {status} {resp}"
            ));
        }
    }
    // The same calls are fine for the agent the session belongs to (reads; the table covers writes).
    let (s, _) = send(
        &w.app,
        w.callers[2].as_ref(),
        "GET",
        &format!("/api/projects/{pid}/sessions/{sid}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    // And the own-scope agent's session list leaves it out.
    let (_, page) = send(
        &w.app,
        own,
        "GET",
        &format!("/api/projects/{pid}/sessions"),
        None,
    )
    .await;
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["id"] != sid),
        "{page}"
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
