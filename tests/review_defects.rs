//! Defects found in review (issue 10): adding a member cannot grant more than changing a
//! role can; a database outage is `db_unavailable`, never `not_found`; one stuck timer does
//! not hold back the others; a timer without a session is not claimed forever.

use crate::common::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use reqwest::Method;
use serde_json::{json, Value};

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::Int8)]
    n: i64,
}

async fn count(db: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<N>(db).await.unwrap().n
}

/// A custom role holding `project.manage` (made by the owner, who may).
async fn role_with_project_manage(app: &TestApp, owner: &Agent) -> String {
    let name = "deputy".to_owned();
    let (status, body) = app
        .call(
            owner,
            Method::POST,
            &format!("/api/projects/{}/roles", app.project_id),
            Some(json!({"name": name, "permissions": ["project.manage", "team.manage"], "data_scope": "all"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    name
}

async fn add_member(app: &TestApp, by: &Agent, email: &str, role: &str) -> (u16, Value) {
    app.call(
        by,
        Method::POST,
        &format!("/api/projects/{}/members", app.project_id),
        Some(json!({"email": email, "password": "password123", "role": role})),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_cannot_add_a_member_with_a_role_that_holds_project_manage() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let role = role_with_project_manage(&app, &owner).await;
    // The builtin admin role has team.manage but not project.manage.
    let admin = app.member(app.project_id, "admin", "admin").await;

    assert_error(
        add_member(&app, &admin, "deputy@example.com", &role).await,
        403,
        "forbidden",
    );
    let mut db = app.db().await;
    let members = count(
        &mut db,
        "SELECT count(*) AS n FROM project_members m JOIN users u ON u.id = m.user_id
         WHERE u.email = 'deputy@example.com'",
    )
    .await;
    assert_eq!(members, 0, "no member was added");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_can_add_a_member_with_a_role_that_holds_project_manage() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let role = role_with_project_manage(&app, &owner).await;

    let (status, body) = add_member(&app, &owner, "deputy@example.com", &role).await;

    assert_eq!(status, 201, "{body}");
    app.login("deputy@example.com", "password123").await;
}

/// Sends `path` as `agent` while `table` is locked by another transaction, and terminates the
/// server's database connection once its query waits on that lock: a real outage in the
/// middle of the request, after it got a pooled connection.
async fn call_during_an_outage(
    app: &TestApp,
    agent: &Agent,
    method: Method,
    path: &str,
    body: Option<Value>,
    table: &str,
) -> (u16, Value) {
    let mut locker = app.db().await;
    locker
        .batch_execute(&format!(
            "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
        ))
        .await
        .unwrap();
    let request = app.call(agent, method, path, body);
    let killer = async {
        eventually("the request waits on the lock", || async {
            count(
                &mut app.db().await,
                "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .await
                > 0
        })
        .await;
    };
    let (answer, ()) = tokio::time::timeout(WAIT, futures_util::future::join(request, killer))
        .await
        .expect("the request is answered");
    locker.batch_execute("ROLLBACK").await.unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_a_contact_during_a_database_outage_is_db_unavailable_not_not_found() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (_v, sid) = app.open_session("hello").await;
    let path = format!("/api/projects/{}/sessions/{sid}", app.project_id);
    let cid = app.get_json(&owner, &path).await["contact_id"]
        .as_i64()
        .unwrap();

    let path = format!("/api/projects/{}/contacts/{cid}", app.project_id);
    let answer = call_during_an_outage(&app, &owner, Method::GET, &path, None, "contacts").await;
    assert_error(answer, 503, "db_unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_a_session_during_a_database_outage_is_db_unavailable_not_not_found() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (_v, sid) = app.open_session("hello").await;

    let path = format!("/api/projects/{}/sessions/{sid}", app.project_id);
    let answer = call_during_an_outage(&app, &owner, Method::GET, &path, None, "sessions").await;
    assert_error(answer, 503, "db_unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_session_tags_during_a_database_outage_is_db_unavailable_not_not_found() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (_v, sid) = app.open_session("hello").await;

    let path = format!("/api/projects/{}/sessions/{sid}/tags", app.project_id);
    let answer = call_during_an_outage(&app, &owner, Method::GET, &path, None, "sessions").await;
    assert_error(answer, 503, "db_unavailable");
}

async fn due_timer(db: &mut AsyncPgConnection, project_id: i64, session: Option<i64>) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Int8)]
        id: i64,
    }
    let session = session.map_or("NULL".to_owned(), |s| s.to_string());
    // auto_end with auto-ending off: firing it only marks it fired.
    diesel::sql_query(format!(
        "INSERT INTO timers (project_id, session_id, kind, due_at, payload)
         VALUES ({project_id}, {session}, 'auto_end', now(), '{{}}') RETURNING id"
    ))
    .get_result::<Id>(db)
    .await
    .unwrap()
    .id
}

async fn timer_is(app: &TestApp, id: i64, condition: &str) -> bool {
    count(
        &mut app.db().await,
        &format!("SELECT count(*) AS n FROM timers WHERE id = {id} AND {condition}"),
    )
    .await
        == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_stuck_on_a_locked_session_does_not_hold_back_other_timers() {
    let app = TestApp::start().await;
    let (_a, stuck_session) = app.open_session("first").await;
    let (_b, other_session) = app.open_session("second").await;
    let mut db = app.db().await;
    // Firing locks the session row: while this transaction holds it, that timer's Fire waits.
    // (NO KEY UPDATE, so that inserting a timer that refers to the session can pass.)
    let mut locker = app.db().await;
    locker
        .batch_execute(&format!(
            "BEGIN; SELECT id FROM sessions WHERE id = {stuck_session} FOR NO KEY UPDATE"
        ))
        .await
        .unwrap();
    let stuck = due_timer(&mut db, app.project_id, Some(stuck_session)).await;
    eventually("the stuck timer is claimed", || {
        timer_is(&app, stuck, "claimed_until IS NOT NULL")
    })
    .await;

    let other = due_timer(&mut db, app.project_id, Some(other_session)).await;
    eventually("the other session's timer fires", || {
        timer_is(&app, other, "fired_at IS NOT NULL")
    })
    .await;
    assert!(
        timer_is(&app, stuck, "fired_at IS NULL").await,
        "still stuck"
    );

    locker.batch_execute("ROLLBACK").await.unwrap();
    eventually("the stuck timer fires once its session is free", || {
        timer_is(&app, stuck, "fired_at IS NOT NULL")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_without_a_session_is_marked_fired_instead_of_claimed_forever() {
    let app = TestApp::start().await;
    let mut db = app.db().await;

    let timer = due_timer(&mut db, app.project_id, None).await;

    eventually("the timer is marked fired", || {
        timer_is(&app, timer, "fired_at IS NOT NULL")
    })
    .await;
}

async fn live_sessions(app: &TestApp) -> i64 {
    let health: Value = reqwest::get(format!("{}/healthz", app.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    health["live_sessions"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_for_sessions_that_do_not_exist_start_no_session_actor() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (_v, mine) = app.open_session("hello").await;
    let before = live_sessions(&app).await;

    let mut ws = app.agent_ws(&owner, app.project_id).await;
    let made_up = mine + 1_000_000;
    for i in 0..20 {
        ws.send(json!({"v": 1, "type": "typing", "session_id": made_up + i, "on": true}))
            .await;
    }
    ws.send(
        json!({"v": 1, "type": "send", "session_id": made_up, "client_id": "c1", "text": "hi"}),
    )
    .await;
    let e = ws.recv_type("error").await;
    assert_eq!(
        (e["code"].as_str(), &e["ref"]),
        (Some("not_found"), &json!("c1"))
    );
    for (path, body) in [
        (
            format!("/api/projects/{}/sessions/{made_up}/end", app.project_id),
            None,
        ),
        (
            format!(
                "/api/projects/{}/sessions/{made_up}/messages",
                app.project_id
            ),
            Some(json!({"client_id": "r1", "text": "hi"})),
        ),
    ] {
        assert_error(
            app.call(&owner, Method::POST, &path, body).await,
            404,
            "not_found",
        );
    }
    // The answers above came after the typing frames were checked (one connection, in
    // order), so no actor can still be starting.
    assert_eq!(live_sessions(&app).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_own_scope_agent_cannot_command_a_session_outside_its_scope() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let amy = app.member(app.project_id, "agent", "amy").await;
    app.set_role_scope(app.project_id, "agent", "own").await;
    let (_v, sid) = app.open_session("for the owner").await;
    app.assign(&owner, sid, Some(owner.user_id)).await;

    let mut ws = app.agent_ws(&amy, app.project_id).await;
    ws.send(json!({"v": 1, "type": "send", "session_id": sid, "client_id": "a1", "text": "mine?"}))
        .await;
    let e = ws.recv_type("error").await;
    assert_eq!(
        (e["code"].as_str(), &e["ref"]),
        (Some("not_found"), &json!("a1"))
    );
    assert_eq!(app.message_count(sid).await, 1, "nothing stored");
}
