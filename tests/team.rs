//! Team changes: custom roles, members' roles and removal, the last-owner rule, and the live
//! agent connections those changes revoke.

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_changes_follow_the_rules_and_revoke_live_connections() {
    let app = TestApp::start().await;
    let pid = app.project_id;
    let owner = app.owner().await;
    let admin = app.member(pid, "admin", "ada").await;
    let amy = app.member(pid, "agent", "amy").await;
    let bob = app.member(pid, "agent", "bob").await;
    let owner_role = role_id(&app, &owner, pid, "owner").await;
    let agent_role = role_id(&app, &owner, pid, "agent").await;
    let roles = format!("/api/projects/{pid}/roles");
    let role = |id: i64| format!("{roles}/{id}");
    let member = |uid: i64| format!("/api/projects/{pid}/members/{uid}");
    // `by` gives member `uid` the role `role_id`; the answer's status.
    let set_role = async |by: &Agent, uid: i64, role_id: i64| {
        let body = json!({ "role_id": role_id });
        app.call(by, Method::PATCH, &member(uid), Some(body))
            .await
            .0
    };

    // Roles: validation, owner role protected, scope and permission names checked.
    assert_error(
        app.call(
            &admin,
            Method::POST,
            &roles,
            Some(json!({"name": "x", "permissions": ["root"], "data_scope": "own"})),
        )
        .await,
        400,
        "validation",
    );
    let s = app
        .status_of(
            &admin,
            Method::POST,
            &roles,
            Some(json!({"name": "x", "permissions": [], "data_scope": "mine"})),
        )
        .await;
    assert_eq!(s, 400);
    let s = app
        .status_of(
            &admin,
            Method::POST,
            &roles,
            Some(json!({"name": "boss", "permissions": ["project.manage"], "data_scope": "all"})),
        )
        .await;
    assert_eq!(s, 403, "an admin cannot create a role with project.manage");
    let (s, own_role) = app.call(&admin, Method::POST, &roles, Some(json!({"name": "own agents", "permissions": ["session_tags.manage"], "data_scope": "own"}))).await;
    assert_eq!(s, 201, "{own_role}");
    let own_role_id = own_role["id"].as_i64().unwrap();
    let s = app
        .status_of(
            &admin,
            Method::POST,
            &roles,
            Some(json!({"name": "own agents", "data_scope": "own"})),
        )
        .await;
    assert_eq!(s, 409);
    let s = app
        .status_of(
            &owner,
            Method::PATCH,
            &role(owner_role),
            Some(json!({"data_scope": "own"})),
        )
        .await;
    assert_eq!(s, 403);
    let s = app
        .status_of(&owner, Method::DELETE, &role(owner_role), None)
        .await;
    assert_eq!(s, 403);
    let s = app
        .status_of(&owner, Method::DELETE, &role(agent_role), None)
        .await;
    assert_eq!(s, 409, "a role in use cannot be deleted");

    // Last owner; only owners grant or revoke owner.
    assert_error(
        app.call(
            &owner,
            Method::PATCH,
            &member(owner.user_id),
            Some(json!({"role_id": agent_role})),
        )
        .await,
        409,
        "conflict",
    );
    let s = app
        .status_of(&owner, Method::DELETE, &member(owner.user_id), None)
        .await;
    assert_eq!(s, 409);
    let s = set_role(&admin, admin.user_id, owner_role).await;
    assert_eq!(s, 403);
    let s = app
        .status_of(&admin, Method::DELETE, &member(owner.user_id), None)
        .await;
    assert_eq!(s, 403);
    let s = set_role(&amy, bob.user_id, own_role_id).await;
    assert_eq!(s, 403);
    let s = set_role(&admin, amy.user_id, 999_999).await;
    assert_eq!(s, 400);

    // A session of Bob's; Amy (scope all) sees its events until her role changes to own scope.
    let (mut v, sid) = app.open_session("hello").await;
    app.assign(&owner, sid, Some(bob.user_id)).await;
    let mut amy_ws = app.agent_ws(&amy, pid).await;
    assert_eq!(amy_ws.hello.as_ref().unwrap()["data_scope"], "all");
    let s = set_role(&admin, amy.user_id, own_role_id).await;
    assert_eq!(s, 204);
    assert_eq!(amy_ws.closed_code().await, Some(4003));
    let mut amy_ws = app.agent_ws(&amy, pid).await;
    assert_eq!(amy_ws.hello.as_ref().unwrap()["data_scope"], "own");
    v.send(json!({"v": 1, "type": "send", "client_id": "second", "text": "for bob only"}))
        .await;
    v.recv_type("ack").await;
    // The barrier: a message in a new, queued session, which own scope sees. The session actor
    // hands "for bob only" to the sockets before it answers (the ack above), and the queued
    // visitor writes after that, so its message reaches Amy's socket after Bob's would have.
    let (_queued, queued_sid) = app.open_session("anyone there?").await;
    amy_ws
        .assert_none_before_barrier(of_type("message"), message_in(queued_sid))
        .await;

    // Editing a role's scope revokes its members' connections too.
    let mut bob_ws = app.agent_ws(&bob, pid).await;
    let s = set_role(&admin, bob.user_id, own_role_id).await;
    assert_eq!(s, 204);
    assert_eq!(bob_ws.closed_code().await, Some(4003));
    let mut bob_ws = app.agent_ws(&bob, pid).await;
    let (s, r) = app
        .call(
            &admin,
            Method::PATCH,
            &role(own_role_id),
            Some(json!({"data_scope": "all"})),
        )
        .await;
    assert_eq!((s, r["data_scope"].as_str()), (200, Some("all")));
    assert_eq!(bob_ws.closed_code().await, Some(4003));
    assert_eq!(amy_ws.closed_code().await, Some(4003));

    // Removing a member closes their socket and ends their access.
    let mut amy_ws = app.agent_ws(&amy, pid).await;
    let s = app
        .status_of(&admin, Method::DELETE, &member(amy.user_id), None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(amy_ws.closed_code().await, Some(4003));
    let s = app
        .status_of(&amy, Method::GET, &format!("/api/projects/{pid}"), None)
        .await;
    assert_eq!(s, 404);

    // A second owner makes demoting the first possible; an unused custom role can go.
    let s = set_role(&owner, admin.user_id, owner_role).await;
    assert_eq!(s, 204);
    let s = set_role(&admin, owner.user_id, agent_role).await;
    assert_eq!(s, 204);
    let s = set_role(&admin, bob.user_id, agent_role).await;
    assert_eq!(s, 204);
    let s = app
        .status_of(&admin, Method::DELETE, &role(own_role_id), None)
        .await;
    assert_eq!(s, 204);

    // Removing a member puts the sessions still assigned to them back in the queue, live.
    let mut admin_ws = app.agent_ws(&admin, pid).await;
    let s = app
        .status_of(&admin, Method::DELETE, &member(bob.user_id), None)
        .await;
    assert_eq!(s, 204);
    let f = loop {
        let f = admin_ws.recv_type("session").await;
        if f["session"]["id"] == sid {
            break f;
        }
    };
    assert_eq!(f["session"]["status"], "unassigned");
    assert_eq!(f["session"]["assignee_id"], Value::Null);
    let (_, got) = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/projects/{pid}/sessions/{sid}"),
            None,
        )
        .await;
    assert_eq!(
        (got["status"].as_str(), got["assignee_id"].clone()),
        (Some("unassigned"), Value::Null)
    );
}
