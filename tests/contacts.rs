//! Customer info (contact edits, audit, live `contact` frames, note-name filter), session tags
//! and chat-list preferences.

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// A visitor's first message: (visitor, session id, contact id).
async fn open_session(app: &TestApp, text: &str) -> (WsClient, i64, i64) {
    let (v, sid) = app.open_session(text).await;
    let contact_id = app.contact_of(&v).await;
    (v, sid, contact_id)
}

/// Contact ids of the member's Contacts list under `query`, newest first.
async fn contact_ids(app: &TestApp, a: &Agent, query: &str) -> Vec<i64> {
    let pid = app.project_id;
    let path = format!("/api/projects/{pid}/contacts?limit=200&{query}");
    let (s, page) = app.call(a, Method::GET, &path, None).await;
    assert_eq!(s, 200);
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_edits_are_validated_audited_and_pushed_to_agents_in_scope() {
    let app = TestApp::start().await;
    let pid = app.project_id;
    let owner = app.owner().await;
    app.set_role_scope(pid, "agent", "own").await;
    let amy = app.member(pid, "agent", "amy").await;
    let bob = app.member(pid, "agent", "bob").await;
    let (_v, sid, cid) = open_session(&app, "hello").await;
    app.assign(&owner, sid, Some(bob.user_id)).await;
    let mut owner_ws = app.agent_ws(&owner, pid).await;
    let mut amy_ws = app.agent_ws(&amy, pid).await;
    let mut bob_ws = app.agent_ws(&bob, pid).await;
    let path = format!("/api/projects/{pid}/contacts/{cid}");

    // Bob (own scope, no contacts.manage) edits the contact of his session.
    let (s, c) = app.call(&bob, Method::PATCH, &path, Some(json!({
        "note_name": "  Big client ", "phone": "+49 (30) 123-45.67", "email": " big@client.example ",
        "labels": [" vip", "vip", "b2b"]
    }))).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["note_name"], "Big client");
    assert_eq!(c["phone"], "+49301234567");
    assert_eq!(c["email"], "big@client.example");
    assert_eq!(c["labels"], json!(["vip", "b2b"]));

    for ws in [&mut owner_ws, &mut bob_ws] {
        let f = ws.recv_type("contact").await;
        assert_eq!(f["v"], 1);
        assert_eq!(f["contact"]["id"], cid);
        assert_eq!(f["contact"]["note_name"], "Big client");
        assert_eq!(f["contact"]["labels"], json!(["vip", "b2b"]));
    }
    // Amy (own scope) has no session of this contact: she may not edit it, and she gets no
    // `contact` frame for it (checked below, once a frame she does see has come after it).
    assert_error(
        app.call(&amy, Method::PATCH, &path, Some(json!({"note_name": "x"})))
            .await,
        404,
        "not_found",
    );

    // All or nothing: a bad phone leaves the good note name unapplied.
    let e = assert_error(
        app.call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"note_name": "Other", "phone": "030 1234567"})),
        )
        .await,
        400,
        "validation",
    );
    assert!(
        e["error"]["message"].as_str().unwrap().contains("phone"),
        "{e}"
    );
    for (body, field) in [
        (json!({"email": "not-an-address"}), "email"),
        (json!({"note_name": "n".repeat(101)}), "note_name"),
        (json!({"labels": ["x".repeat(33)]}), "labels"),
        (
            json!({"labels": (0..21).map(|i| i.to_string()).collect::<Vec<_>>()}),
            "labels",
        ),
    ] {
        let (s, e) = app.call(&owner, Method::PATCH, &path, Some(body)).await;
        assert_eq!(s, 400);
        assert!(
            e["error"]["message"].as_str().unwrap().contains(field),
            "{e}"
        );
    }
    let (_, c) = app.call(&owner, Method::GET, &path, None).await;
    assert_eq!(c["note_name"], "Big client");

    // Clearing: empty note name and null phone; an unchanged e-mail is not recorded.
    let (s, c) = app
        .call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"note_name": "", "phone": null, "email": "big@client.example"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (c["note_name"].clone(), c["phone"].clone()),
        (Value::Null, Value::Null)
    );
    let f = bob_ws.recv_type("contact").await;
    assert_eq!(f["contact"]["note_name"], Value::Null);

    // The audit trail: newest first, who, old and new values.
    let (s, h) = app
        .call(&owner, Method::GET, &format!("{path}/changes"), None)
        .await;
    assert_eq!(s, 200);
    let items = h["items"].as_array().unwrap();
    let fields: Vec<&str> = items.iter().map(|i| i["field"].as_str().unwrap()).collect();
    assert_eq!(items.len(), 6, "{h}");
    assert!(fields[..2].contains(&"note_name") && fields[..2].contains(&"phone"));
    let first_note = items
        .iter()
        .rev()
        .find(|i| i["field"] == "note_name")
        .unwrap();
    assert_eq!(first_note["user_id"], bob.user_id);
    assert_eq!(
        (first_note["old"].clone(), first_note["new"].clone()),
        (Value::Null, json!("Big client"))
    );

    // Note-name filter (substring, case-insensitive; note name only).
    app.call(
        &owner,
        Method::PATCH,
        &path,
        Some(json!({"note_name": "Acme Buyer"})),
    )
    .await;
    // The session's later frames carry the new note name, not the one cached before the edit.
    app.assign(&owner, sid, Some(owner.user_id)).await;
    let f = owner_ws.recv_type("session").await;
    assert_eq!(f["session"]["id"], sid);
    assert_eq!(f["session"]["assignee_id"], owner.user_id);
    assert_eq!(f["session"]["note_name"], "Acme Buyer");
    assert_eq!(f["session"]["contact_name"], c["name"]);
    app.assign(&owner, sid, Some(bob.user_id)).await;
    assert_eq!(
        contact_ids(&app, &owner, "note_name=me%20BU").await,
        vec![cid]
    );
    assert!(contact_ids(&app, &owner, "note_name=nobody")
        .await
        .is_empty());
    assert_eq!(contact_ids(&app, &owner, "q=acme").await, vec![cid]);
    assert!(contact_ids(&app, &owner, "note_name=50%25")
        .await
        .is_empty());

    // A contact with no session: contacts.manage (admin) may edit, an all-scope agent may not.
    let (lone_id, lone_token) = app.contact_without_session().await;
    let admin = app.member(pid, "admin", "ada").await;
    let lone_path = format!("/api/projects/{pid}/contacts/{lone_id}");
    let s = app
        .status_of(
            &admin,
            Method::PATCH,
            &lone_path,
            Some(json!({"labels": ["lead"]})),
        )
        .await;
    assert_eq!(s, 200);
    let s = app
        .status_of(
            &bob,
            Method::PATCH,
            &lone_path,
            Some(json!({"labels": ["x"]})),
        )
        .await;
    assert_eq!(s, 404);

    // Contacts list and page follow the data scope: own scope (no contacts.manage) sees the
    // contacts of its sessions and of the unassigned queue, scope all and admins see everyone.
    let (_v2, queued_sid, queued_cid) = open_session(&app, "anyone there?").await;
    // The barrier for Amy's socket: the queued session's opening. A `contact` frame is handed
    // to the sockets before its PATCH is answered, and this session was opened after every
    // edit above was answered, so its frame reaches Amy's socket (one ordered mailbox) after
    // any `contact` frame of those edits would have.
    amy_ws
        .assert_none_before_barrier(of_type("contact"), |f| {
            f["type"] == "session" && f["session"]["id"] == queued_sid
        })
        .await;
    assert_eq!(contact_ids(&app, &bob, "").await, vec![queued_cid, cid]);
    assert_eq!(contact_ids(&app, &amy, "").await, vec![queued_cid]);
    let everyone = contact_ids(&app, &admin, "").await;
    assert!([queued_cid, lone_id, cid]
        .iter()
        .all(|c| everyone.contains(c)));
    assert_eq!(contact_ids(&app, &owner, "").await, everyone);
    for p in [path.clone(), format!("{path}/changes"), lone_path.clone()] {
        assert_error(
            app.call(&amy, Method::GET, &p, None).await,
            404,
            "not_found",
        );
    }
    let s = app.status_of(&bob, Method::GET, &path, None).await;
    assert_eq!(s, 200);

    // A note name set after the visitor connected and before its first message is in the
    // new session's first frame (the socket's copy of the contact is from the connect).
    let s = app
        .status_of(
            &admin,
            Method::PATCH,
            &lone_path,
            Some(json!({"note_name": "Lone Star"})),
        )
        .await;
    assert_eq!(s, 200);
    let mut lone = app.visitor_with(Some(&lone_token)).await;
    lone.send(json!({"v": 1, "type": "send", "client_id": "l1", "text": "hi"}))
        .await;
    lone.recv_type("ack").await;
    let opened = loop {
        let f = owner_ws.recv_type("session").await;
        if f["session"]["contact_id"] == lone_id {
            break f;
        }
    };
    assert_eq!(opened["session"]["note_name"], "Lone Star");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_tags_and_preferences() {
    let app = TestApp::start().await;
    let pid = app.project_id;
    let owner = app.owner().await;
    let agent = app.member(pid, "agent", "ann").await;
    let base = format!("/api/projects/{pid}/session-tags");

    let (s, vip) = app
        .call(
            &owner,
            Method::POST,
            &base,
            Some(json!({"name": " VIP ", "color": "#FF0000"})),
        )
        .await;
    assert_eq!(s, 201, "{vip}");
    assert_eq!(
        (vip["name"].as_str(), vip["color"].as_str()),
        (Some("VIP"), Some("#ff0000"))
    );
    let (s, bug) = app
        .call(&owner, Method::POST, &base, Some(json!({"name": "bug"})))
        .await;
    assert_eq!((s, bug["color"].as_str()), (201, Some("#888888")));
    assert_error(
        app.call(&owner, Method::POST, &base, Some(json!({"name": "VIP"})))
            .await,
        409,
        "conflict",
    );
    let s = app
        .status_of(
            &owner,
            Method::POST,
            &base,
            Some(json!({"name": "x", "color": "red"})),
        )
        .await;
    assert_eq!(s, 400);
    let s = app
        .status_of(&agent, Method::POST, &base, Some(json!({"name": "mine"})))
        .await;
    assert_eq!(s, 403);
    let (s, list) = app.call(&agent, Method::GET, &base, None).await;
    assert_eq!((s, list.as_array().unwrap().len()), (200, 2));
    let vip_id = vip["id"].as_i64().unwrap();
    let bug_id = bug["id"].as_i64().unwrap();
    let (s, t) = app
        .call(
            &owner,
            Method::PATCH,
            &format!("{base}/{bug_id}"),
            Some(json!({"name": "Bug", "color": "#00ff00"})),
        )
        .await;
    assert_eq!((s, t["name"].as_str()), (200, Some("Bug")));

    // Tagging a session: any member who sees it; agents get `session_tags`.
    let (_v, sid, _) = open_session(&app, "hi").await;
    let mut owner_ws = app.agent_ws(&owner, pid).await;
    let tags_path = format!("/api/projects/{pid}/sessions/{sid}/tags");
    let (s, tags) = app
        .call(
            &agent,
            Method::PUT,
            &tags_path,
            Some(json!({"tag_ids": [vip_id, bug_id, vip_id]})),
        )
        .await;
    assert_eq!(s, 200, "{tags}");
    assert_eq!(tags.as_array().unwrap().len(), 2);
    let f = owner_ws.recv_type("session_tags").await;
    assert_eq!(f["session_id"], sid);
    assert_eq!(f["tags"].as_array().unwrap().len(), 2);
    assert!(f["tags"][0]["name"].is_string() && f["tags"][0]["color"].is_string());

    // A tag of another project is refused; nothing changes.
    let (_, other) = app
        .call(
            &owner,
            Method::POST,
            "/api/projects",
            Some(json!({"name": "Other"})),
        )
        .await;
    let other_pid = other["id"].as_i64().unwrap();
    let (_, foreign) = app
        .call(
            &owner,
            Method::POST,
            &format!("/api/projects/{other_pid}/session-tags"),
            Some(json!({"name": "f"})),
        )
        .await;
    assert_error(
        app.call(
            &agent,
            Method::PUT,
            &tags_path,
            Some(json!({"tag_ids": [foreign["id"]]})),
        )
        .await,
        400,
        "validation",
    );

    // Deleting a tag removes it from sessions.
    let s = app
        .status_of(&owner, Method::DELETE, &format!("{base}/{vip_id}"), None)
        .await;
    assert_eq!(s, 204);
    let s = app
        .status_of(&owner, Method::DELETE, &format!("{base}/{vip_id}"), None)
        .await;
    assert_eq!(s, 404);
    let (s, tags) = app
        .call(
            &agent,
            Method::PUT,
            &tags_path,
            Some(json!({"tag_ids": [bug_id]})),
        )
        .await;
    assert_eq!((s, tags.as_array().unwrap().len()), (200, 1));

    // The new endpoints are described in the OpenAPI document.
    let spec: Value = reqwest::get(format!("{}/api/openapi.json", app.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, method) in [
        ("/api/projects/{pid}/contacts/{cid}", "patch"),
        ("/api/projects/{pid}/contacts/{cid}/changes", "get"),
        ("/api/projects/{pid}/session-tags", "post"),
        ("/api/projects/{pid}/session-tags/{tid}", "delete"),
        ("/api/projects/{pid}/sessions/{sid}/tags", "put"),
        ("/api/projects/{pid}/me/preferences", "patch"),
        ("/api/projects/{pid}/members/{uid}", "delete"),
        ("/api/projects/{pid}/roles", "post"),
        ("/api/projects/{pid}/roles/{rid}", "patch"),
    ] {
        assert!(spec["paths"][path][method].is_object(), "{method} {path}");
    }

    // Preferences: defaults, the caller's own row only, strict validation.
    let prefs = format!("/api/projects/{pid}/me/preferences");
    let (s, p) = app.call(&agent, Method::GET, &prefs, None).await;
    assert_eq!(
        (s, p),
        (
            200,
            json!({"show_visitor_labels": false, "note_name_first": false})
        )
    );
    let (s, p) = app
        .call(
            &agent,
            Method::PATCH,
            &prefs,
            Some(json!({"note_name_first": true})),
        )
        .await;
    assert_eq!((s, p["note_name_first"].as_bool()), (200, Some(true)));
    let (_, p) = app
        .call(
            &agent,
            Method::PATCH,
            &prefs,
            Some(json!({"show_visitor_labels": true})),
        )
        .await;
    assert_eq!(
        p,
        json!({"show_visitor_labels": true, "note_name_first": true})
    );
    let (_, p) = app.call(&owner, Method::GET, &prefs, None).await;
    assert_eq!(
        p,
        json!({"show_visitor_labels": false, "note_name_first": false})
    );
    for bad in [
        json!({"theme": "dark"}),
        json!({"note_name_first": 1}),
        json!([true]),
    ] {
        assert_error(
            app.call(&agent, Method::PATCH, &prefs, Some(bad)).await,
            400,
            "validation",
        );
    }
}
