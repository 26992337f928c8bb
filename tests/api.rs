//! REST behaviour: auth, error shape, tenancy, paging, assignment and ending.

use crate::common::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_openapi_and_error_shape() {
    let app = TestApp::start().await;
    let http = reqwest::Client::new();
    let h = http
        .get(format!("{}/healthz", app.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), 200);
    let spec: Value = http
        .get(format!("{}/api/openapi.json", app.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["paths"]["/api/projects/{pid}/sessions"]["get"].is_object());

    let r = http
        .get(format!("{}/api/me", app.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": {"code": "unauthenticated", "message": "log in or send a bearer token"}})
    );

    let r = http
        .post(format!("{}/api/auth/login", app.url()))
        .json(&json!({"email": app.owner_email, "password": "nope-nope"}))
        .send()
        .await
        .unwrap();
    assert_error_response(r, 401, "invalid_credentials").await;

    let r = http
        .post(format!("{}/api/auth/login", app.url()))
        .header("content-type", "application/json")
        .body("{broken")
        .send()
        .await
        .unwrap();
    assert_error_response(r, 400, "invalid_json").await;

    let r = http
        .get(format!("{}/api/nothing-here", app.url()))
        .send()
        .await
        .unwrap();
    assert_error_response(r, 404, "not_found").await;

    // Logout ends the cookie session.
    let owner = app.owner().await;
    assert_eq!(
        owner
            .http
            .get(format!("{}/api/me", app.url()))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        owner
            .http
            .post(format!("{}/api/auth/logout", app.url()))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        owner
            .http
            .get(format!("{}/api/me", app.url()))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_of_another_project_sees_nothing() {
    let app = TestApp::start().await;
    let pa = app.project_id;
    let (mut visitor, sid) = app.open_session("project A business").await;

    // Someone with their own project B.
    let outsider = app.member(pa, "agent", "outsider").await;
    let b: Value = outsider
        .http
        .post(format!("{}/api/projects", app.url()))
        .json(&json!({"name": "B"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pb = b["id"].as_i64().unwrap();
    // Remove them from A again, directly (member removal arrives with the Team screen).
    {
        use diesel_async::RunQueryDsl;
        let mut db = app.db().await;
        diesel::sql_query(format!(
            "DELETE FROM project_members WHERE project_id = {pa} AND user_id = {}",
            outsider.user_id
        ))
        .execute(&mut db)
        .await
        .unwrap();
    }
    for path in [
        format!("/api/projects/{pa}"),
        format!("/api/projects/{pa}/sessions"),
        format!("/api/projects/{pa}/sessions/{sid}"),
        format!("/api/projects/{pa}/sessions/{sid}/messages"),
        format!("/api/projects/{pa}/contacts"),
        format!("/api/projects/{pa}/members"),
        format!("/api/projects/{pa}/stats"),
        format!("/api/projects/{pb}/sessions/{sid}"),
        format!("/api/projects/{pb}/sessions/{sid}/messages"),
    ] {
        let r = outsider
            .http
            .get(format!("{}{path}", app.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "GET {path}");
    }
    for path in [
        format!("/api/projects/{pa}/sessions/{sid}/take"),
        format!("/api/projects/{pb}/sessions/{sid}/take"),
        format!("/api/projects/{pb}/sessions/{sid}/end"),
    ] {
        let r = outsider
            .http
            .post(format!("{}{path}", app.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "POST {path}");
    }
    // Their own project's socket works but carries nothing of A; A's socket is refused.
    let status = WsClient::refused_status(
        &format!("{}/ws/agent?project={pa}", app.ws_url()),
        Some(&outsider.token),
    )
    .await;
    assert_eq!(status, 404);
    let mut b_ws = app.agent_ws(&outsider, pb).await;
    b_ws.send(
        json!({"v": 1, "type": "send", "session_id": sid, "client_id": "x", "text": "hijack"}),
    )
    .await;
    assert_eq!(b_ws.recv_type("error").await["code"], "not_found");
    b_ws.send(json!({"v": 1, "type": "resume", "session_id": sid, "after_seq": 0}))
        .await;
    assert_eq!(b_ws.recv_type("error").await["code"], "not_found");
    visitor
        .send(json!({"v": 1, "type": "send", "client_id": "more", "text": "still A"}))
        .await;
    visitor.recv_type("ack").await;
    // The barrier: a visitor of B's own channel writes after "still A" was acknowledged. A
    // session actor hands a message to the sockets before acknowledging it, so "still A" would
    // have reached the outsider's socket before B's message.
    let (s, channel) = app
        .call(
            &outsider,
            Method::POST,
            &format!("/api/projects/{pb}/channels"),
            Some(json!({"kind": "web", "name": "B site"})),
        )
        .await;
    assert_eq!(s, 201, "{channel}");
    let mut b_visitor = app
        .visitor_on(channel["widget_key"].as_str().unwrap(), None)
        .await;
    let b_sid = visitor_says(&mut b_visitor, "b1", "project B business").await["session_id"]
        .as_i64()
        .unwrap();
    b_ws.assert_none_before_barrier(of_type("message"), message_in(b_sid))
        .await;
    assert_eq!(app.message_count(sid).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_list_pages_by_cursor_and_messages_scroll_back() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let pid = app.project_id;
    let mut sids = Vec::new();
    for i in 0..5 {
        let (_v, sid) = app.open_session(&format!("visitor {i}")).await;
        sids.push(sid);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!(
            "{}/api/projects/{pid}/sessions?limit=2&status=open",
            app.url()
        );
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = owner
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    sids.reverse();
    assert_eq!(seen, sids, "newest first, each once");
    let r = owner
        .http
        .get(format!(
            "{}/api/projects/{pid}/sessions?status=weird",
            app.url()
        ))
        .send()
        .await
        .unwrap();
    assert_error_response(r, 400, "validation").await;

    let sid = sids[0];
    let url = format!("{}/api/projects/{pid}/sessions/{sid}/messages", app.url());
    for i in 0..6 {
        owner
            .http
            .post(&url)
            .json(&json!({"client_id": format!("m{i}"), "text": format!("reply {i}")}))
            .send()
            .await
            .unwrap();
    }
    let back: Value = owner
        .http
        .get(format!("{url}?before_seq=6&limit=3"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seqs: Vec<i64> = back["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![3, 4, 5]);
    let fwd: Value = owner
        .http
        .get(format!("{url}?after_seq=5"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seqs: Vec<i64> = fwd["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![6, 7]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_take_end_and_the_next_message_opens_a_new_session() {
    let app = TestApp::start().await;
    let pid = app.project_id;
    let owner = app.owner().await;
    let agent = app.member(pid, "agent", "ann").await;
    let (mut visitor, sid) = app.open_session("help").await;
    let base = format!("{}/api/projects/{pid}/sessions/{sid}", app.url());

    // Assigning to someone who is not a member changes nothing.
    let r = owner
        .http
        .post(format!("{base}/assign"))
        .json(&json!({"user_id": 987654}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let s: Value = owner
        .http
        .get(&base)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (s["status"].as_str(), s["assignee_id"].as_i64()),
        (Some("unassigned"), None)
    );

    let s: Value = agent
        .http
        .post(format!("{base}/take"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (s["status"].as_str(), s["assignee_id"].as_i64()),
        (Some("assigned"), Some(agent.user_id))
    );
    let received = s["received_at"].clone();
    let s: Value = owner
        .http
        .post(format!("{base}/assign"))
        .json(&json!({"user_id": null}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["status"], "unassigned");
    assert_eq!(
        s["received_at"], received,
        "reception time is the first reception"
    );

    let s: Value = owner
        .http
        .post(format!("{base}/end"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["status"], "ended");
    // The visitor saw each status change, ending with "ended".
    let mut statuses = Vec::new();
    while statuses.last().map(String::as_str) != Some("ended") {
        statuses.push(
            visitor.recv_type("session").await["session"]["status"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(
        statuses,
        ["unassigned", "assigned", "unassigned", "ended"][4 - statuses.len()..]
    );
    let r = owner.http.post(format!("{base}/end")).send().await.unwrap();
    assert_error_response(r, 409, "session_ended").await;

    visitor
        .send(json!({"v": 1, "type": "send", "client_id": "again", "text": "me again"}))
        .await;
    let opened = visitor.recv_type("session").await;
    let new_sid = opened["session"]["id"].as_i64().unwrap();
    assert_ne!(new_sid, sid);
    let ack = visitor.recv_type("ack").await;
    assert_eq!(
        (ack["session_id"].as_i64(), ack["seq"].as_i64()),
        (Some(new_sid), Some(1))
    );

    let stats: Value = owner
        .http
        .get(format!("{}/api/projects/{pid}/stats", app.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            stats["ended"].as_i64(),
            stats["ongoing"].as_i64(),
            stats["total"].as_i64()
        ),
        (Some(1), Some(1), Some(2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_are_checked_on_admin_endpoints() {
    let app = TestApp::start().await;
    let pid = app.project_id;
    let agent = app.member(pid, "agent", "plain").await;
    let r = agent
        .http
        .post(format!("{}/api/projects/{pid}/members", app.url()))
        .json(&json!({"email": "x@y.z", "password": "password123", "role": "agent"}))
        .send()
        .await
        .unwrap();
    assert_error_response(r, 403, "forbidden").await;
    let r = agent
        .http
        .post(format!("{}/api/projects/{pid}/channels", app.url()))
        .json(&json!({"kind": "web", "name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = agent
        .http
        .patch(format!("{}/api/projects/{pid}/settings", app.url()))
        .json(&json!({"auto_end_after_secs": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let admin = app.member(pid, "admin", "adm").await;
    let r = admin
        .http
        .post(format!("{}/api/projects/{pid}/channels", app.url()))
        .json(&json!({"kind": "web", "name": "Shop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // Admins cannot make owners.
    let r = admin
        .http
        .post(format!("{}/api/projects/{pid}/members", app.url()))
        .json(&json!({"email": "boss@y.z", "password": "password123", "role": "owner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let owner = app.owner().await;
    let r = owner
        .http
        .patch(format!("{}/api/projects/{pid}/settings", app.url()))
        .json(&json!({"auto_end_after_secs": -1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = owner
        .http
        .patch(format!("{}/api/projects/{pid}/settings", app.url()))
        .json(&json!({"colour": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// The owner's login with `password`, optionally claiming another client address.
async fn login(app: &TestApp, password: &str, forwarded_for: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/api/auth/login", app.url()))
        .json(&json!({"email": app.owner_email, "password": password}));
    if let Some(f) = forwarded_for {
        req = req.header("x-forwarded-for", f);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_and_new_visitors_are_rate_limited_per_client() {
    let app = TestApp::start_with(|c| {
        c.logins_per_minute = 3;
        c.visitor_signups_per_minute = 2;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(login(&app, "wrong-password", None).await.0, 401);
    }
    // The fourth attempt in the minute is refused before the password is looked at, even the
    // right one, and a made-up X-Forwarded-For does not help (not trusted by default).
    let body = assert_error(
        login(&app, "wrong-password", None).await,
        429,
        "rate_limited",
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("too many login attempts; try again in "),
        "{body}"
    );
    let right = app.owner_password.clone();
    assert_eq!(login(&app, &right, None).await.0, 429);
    assert_eq!(login(&app, &right, Some("203.0.113.9")).await.0, 429);

    // Two new visitors a minute from this address; a returning visitor is not new; an
    // unknown token would make a new one, so it counts too.
    let v1 = app.visitor().await;
    let token = v1.hello.as_ref().unwrap()["visitor_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let _v2 = app.visitor().await;
    let url = format!("{}/ws/visitor?key={}", app.ws_url(), app.widget_key);
    assert_eq!(WsClient::refused_status(&url, None).await, 429);
    assert_eq!(
        WsClient::refused_status(&format!("{url}&token=made-up"), None).await,
        429
    );
    let back = app.visitor_with(Some(&token)).await;
    assert_eq!(
        back.hello.as_ref().unwrap()["visitor_token"],
        token.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channels_configuration_is_never_returned() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut conn = app.db().await;
    diesel::sql_query("UPDATE channels SET config = '{\"app_secret\": \"s3cret-value\"}'::jsonb")
        .execute(&mut conn)
        .await
        .unwrap();
    let path = format!("/api/projects/{}/channels", app.project_id);
    let listed = app.get_json(&owner, &path).await;
    assert!(!listed.to_string().contains("s3cret-value"), "{listed}");
    let first = &listed[0];
    assert!(first.get("config").is_none(), "{first}");
    assert_eq!(first["widget_key"], app.widget_key.as_str());

    let (status, created) = app
        .call(
            &owner,
            Method::POST,
            &path,
            Some(json!({"kind": "web", "name": "Shop"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(created.get("config").is_none(), "{created}");
    assert!(created["widget_key"]
        .as_str()
        .is_some_and(|k| !k.is_empty()));
}
