//! Text input at the boundary: PostgreSQL cannot store U+0000, so a NUL anywhere in a
//! websocket frame, a JSON body or a query string is refused with `validation` naming the
//! field, before anything is stored.

use crate::common::*;
use diesel::QueryDsl;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard::db::schema::auth_tokens;

/// A `400 validation` answer whose message names `field`.
fn assert_refused(status: u16, body: &Value, field: &str) {
    let body = assert_error((status, body.clone()), 400, "validation");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("`{field}`")) && message.contains("U+0000"),
        "{message} should name {field}"
    );
}

/// A websocket `error` frame with code `validation`, echoing `reference`, naming `field`.
fn assert_refused_frame(frame: &Value, reference: &str, field: &str) {
    assert_eq!(frame["code"], "validation", "{frame}");
    assert_eq!(frame["ref"], reference, "{frame}");
    let message = frame["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("`{field}`")),
        "{message} should name {field}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_message_with_nul_is_refused_and_opens_no_session() {
    let app = TestApp::start().await;
    for (field, client_id, text) in [("text", "c1", "hi\0there"), ("client_id", "c\0", "hi")] {
        let mut v = app.visitor().await;
        let token = v.hello.as_ref().unwrap()["visitor_token"]
            .as_str()
            .unwrap()
            .to_owned();
        v.send(json!({"v": 1, "type": "send", "client_id": client_id, "text": text}))
            .await;
        assert_refused_frame(&v.recv_type("error").await, client_id, field);
        // Not even the visitor's contact: that is made with the first stored message.
        assert_eq!(app.contact_of_token(&token).await, None, "{field}");
        // The connection stays usable.
        visitor_says(&mut v, "c2", "hello").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_message_with_nul_is_refused_and_nothing_is_stored() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (_v, sid) = app.open_session("hello").await;
    let mut a = app.agent_ws(&owner, app.project_id).await;
    for (field, client_id, text) in [("text", "a1", "\0"), ("client_id", "a\0", "hi")] {
        a.send(json!({"v": 1, "type": "send", "session_id": sid, "client_id": client_id, "text": text}))
            .await;
        assert_refused_frame(&a.recv_type("error").await, client_id, field);
    }
    assert_eq!(app.message_count(sid).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_with_nul_is_refused() {
    let app = TestApp::start().await;
    let http = reqwest::Client::new();
    let with_nul = format!("{}\0", app.owner_email);
    for (field, email, password) in [
        ("email", with_nul.as_str(), app.owner_password.as_str()),
        ("password", app.owner_email.as_str(), "pass\0word"),
    ] {
        let res = http
            .post(format!("{}/api/auth/login", app.url()))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert_refused(status, &res.json().await.unwrap(), field);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_filters_with_nul_are_refused() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let pid = app.project_id;
    for (field, query) in [("q", "q=a%00b"), ("note_name", "note_name=%00")] {
        let path = format!("/api/projects/{pid}/contacts?{query}");
        let (status, body) = app.call(&owner, Method::GET, &path, None).await;
        assert_refused(status, &body, field);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_edit_with_nul_is_refused_and_changes_nothing() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (v, _sid) = app.open_session("hello").await;
    let cid = app.contact_of(&v).await;
    let path = format!("/api/projects/{}/contacts/{cid}", app.project_id);
    let before = app.get_json(&owner, &path).await;
    for (field, patch) in [
        ("note_name", json!({"note_name": "Big\0client"})),
        ("email", json!({"email": "big\0@client.example"})),
        ("labels[1]", json!({"labels": ["vip", "b2\0b"]})),
    ] {
        let (status, body) = app.call(&owner, Method::PATCH, &path, Some(patch)).await;
        assert_refused(status, &body, field);
    }
    assert_eq!(app.get_json(&owner, &path).await, before);
}

async fn token_count(app: &TestApp) -> i64 {
    let mut conn = app.db().await;
    auth_tokens::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_with_nul_are_refused_and_nothing_is_stored() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let pid = app.project_id;
    let p = |s: &str| format!("/api/projects/{pid}{s}");
    let custom = app
        .call(
            &owner,
            Method::POST,
            &p("/roles"),
            Some(json!({"name": "helper", "data_scope": "own"})),
        )
        .await
        .1["id"]
        .as_i64()
        .unwrap();
    // (what, method, path, body, field refused, listing that must not change)
    let cases = [
        (
            "session tag",
            Method::POST,
            p("/session-tags"),
            json!({"name": "vip\0"}),
            "name",
            p("/session-tags"),
        ),
        (
            "channel",
            Method::POST,
            p("/channels"),
            json!({"kind": "web", "name": "Shop\0"}),
            "name",
            p("/channels"),
        ),
        (
            "project",
            Method::POST,
            "/api/projects".into(),
            json!({"name": "Two\0"}),
            "name",
            "/api/me".into(),
        ),
        (
            "role",
            Method::POST,
            p("/roles"),
            json!({"name": "r\0", "data_scope": "all"}),
            "name",
            p("/roles"),
        ),
        (
            "role rename",
            Method::PATCH,
            p(&format!("/roles/{custom}")),
            json!({"name": "r\0"}),
            "name",
            p("/roles"),
        ),
        (
            "role permission",
            Method::POST,
            p("/roles"),
            json!({"name": "r2", "data_scope": "all", "permissions": ["team.manage", "x\0"]}),
            "permissions[1]",
            p("/roles"),
        ),
        (
            "member name",
            Method::POST,
            p("/members"),
            json!({"email": "new@example.com", "display_name": "N\0", "password": "password123", "role": "agent"}),
            "display_name",
            p("/members"),
        ),
        (
            "member e-mail",
            Method::POST,
            p("/members"),
            json!({"email": "new\0@example.com", "password": "password123", "role": "agent"}),
            "email",
            p("/members"),
        ),
    ];
    for (what, method, path, body, field, listing) in cases {
        let before = app.get_json(&owner, &listing).await;
        let (status, answer) = app.call(&owner, method, &path, Some(body)).await;
        assert_refused(status, &answer, field);
        assert_eq!(app.get_json(&owner, &listing).await, before, "{what}");
    }

    let tokens = token_count(&app).await;
    let (status, answer) = app
        .call(
            &owner,
            Method::POST,
            "/api/auth/tokens",
            Some(json!({"name": "ci\0"})),
        )
        .await;
    assert_refused(status, &answer, "name");
    assert_eq!(token_count(&app).await, tokens);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_query_parameter_name_is_refused() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let path = format!("/api/projects/{}/contacts?x%00=1", app.project_id);
    assert_error(
        app.call(&owner, Method::GET, &path, None).await,
        400,
        "validation",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_socket_with_nul_in_its_key_or_token_is_refused() {
    let app = TestApp::start().await;
    let base = format!("{}/ws/visitor?key={}", app.ws_url(), app.widget_key);
    for url in [format!("{base}%00"), format!("{base}&token=t%00")] {
        assert_eq!(WsClient::refused_status(&url, None).await, 400, "{url}");
    }
}
