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

    let (status, body) = add_member(&app, &admin, "deputy@example.com", &role).await;

    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &json!("forbidden")),
        "{body}"
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
    let (status, body) =
        call_during_an_outage(&app, &owner, Method::GET, &path, None, "contacts").await;

    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "db_unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_a_session_during_a_database_outage_is_db_unavailable_not_not_found() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (_v, sid) = app.open_session("hello").await;

    let path = format!("/api/projects/{}/sessions/{sid}", app.project_id);
    let (status, body) =
        call_during_an_outage(&app, &owner, Method::GET, &path, None, "sessions").await;

    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "db_unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_session_tags_during_a_database_outage_is_db_unavailable_not_not_found() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (_v, sid) = app.open_session("hello").await;

    let path = format!("/api/projects/{}/sessions/{sid}/tags", app.project_id);
    let (status, body) =
        call_during_an_outage(&app, &owner, Method::GET, &path, None, "sessions").await;

    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "db_unavailable");
}
