//! The flows API: drafts saved with their problems, immutable published versions, enabling,
//! test runs from the editor, the runs' records, and `automation.manage` on every route.

use crate::common::{assert_error, Agent, TestApp};
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard::db::enums::TriggerKind;

fn flows_path(app: &TestApp) -> String {
    format!("/api/projects/{}/flows", app.project_id)
}

fn flow_path(app: &TestApp, fid: i64) -> String {
    format!("{}/{fid}", flows_path(app))
}

async fn create(app: &TestApp, by: &Agent, name: &str) -> Value {
    let (s, f) = app
        .call(
            by,
            Method::POST,
            &flows_path(app),
            Some(json!({ "name": name })),
        )
        .await;
    assert_eq!(s, 201, "{f}");
    f
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

async fn save_draft(app: &TestApp, by: &Agent, fid: i64, draft: Value) -> (u16, Value) {
    app.call(
        by,
        Method::PUT,
        &flow_path(app, fid),
        Some(json!({ "draft": draft })),
    )
    .await
}

async fn publish(app: &TestApp, by: &Agent, fid: i64) -> (u16, Value) {
    let path = format!("{}/publish", flow_path(app, fid));
    app.call(by, Method::POST, &path, None).await
}

async fn set_enabled(app: &TestApp, by: &Agent, fid: i64, enabled: bool) -> (u16, Value) {
    app.call(
        by,
        Method::PATCH,
        &flow_path(app, fid),
        Some(json!({ "enabled": enabled })),
    )
    .await
}

/// A valid two-step flow whose message says `text`.
fn flow_saying(text: &str) -> Value {
    json!({
        "trigger": {"kind": "keyword", "keywords": ["price"], "matching": "contains"},
        "start": "hello",
        "steps": [
            {"id": "hello", "type": "message", "text": text, "position": {"x": 10.0, "y": 20.0}},
            {"id": "bye", "type": "end"}
        ],
        "edges": [{"from": "hello", "port": "next", "to": "bye"}]
    })
}

fn codes(problems: &Value) -> Vec<(Value, String)> {
    problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["step"].clone(), p["code"].as_str().unwrap().to_owned()))
        .collect()
}

async fn display_name(app: &TestApp, user_id: i64) -> String {
    switchboard::db::users::find(&mut app.db().await, user_id)
        .await
        .unwrap()
        .display_name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_flow_gets_a_valid_first_message_draft_and_is_listed() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let f = create(&app, &owner, "  Welcome  ").await;
    assert_eq!(f["name"], "Welcome");
    assert_eq!(f["trigger_kind"], "first_message");
    assert_eq!(f["problems"], json!([]));
    assert_eq!(f["versions"], json!([]));
    assert_eq!(
        (f["enabled"].clone(), f["published_version"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(f["has_unpublished_changes"], true);
    assert_eq!(
        f["updated_by_name"],
        display_name(&app, owner.user_id).await.as_str()
    );
    let draft = &f["draft"];
    assert_eq!(draft["trigger"]["kind"], "first_message");
    let steps = draft["steps"].as_array().unwrap();
    assert_eq!(steps[0]["type"], "message");
    assert_eq!(steps[0]["text"], "Hello! How can we help?");
    assert!(steps[0]["position"]["x"].is_number());
    assert_eq!(steps[1]["type"], "end");

    let list = app.get_json(&owner, &flows_path(&app)).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], f["id"]);
    assert!(
        list[0].get("draft").is_none(),
        "the list carries no documents"
    );

    let (s, e) = app
        .call(
            &owner,
            Method::POST,
            &flows_path(&app),
            Some(json!({"name": " "})),
        )
        .await;
    assert_error((s, e), 400, "validation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_with_a_dangling_edge_is_saved_and_its_problem_names_the_step() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let fid = id(&create(&app, &owner, "F").await);
    let mut draft = flow_saying("Hi");
    draft["edges"][0]["to"] = json!("nowhere");
    let (s, f) = save_draft(&app, &owner, fid, draft).await;
    assert_eq!(s, 200, "{f}");
    assert!(
        codes(&f["problems"]).contains(&(json!("hello"), "dangling_edge".into())),
        "{}",
        f["problems"]
    );
    assert_eq!(f["trigger_kind"], "keyword", "saved with its trigger kind");
    let again = app.get_json(&owner, &flow_path(&app, fid)).await;
    assert_eq!(again["draft"]["edges"][0]["to"], "nowhere");
    assert_eq!(again["problems"], f["problems"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_with_an_unknown_step_type_is_refused_and_not_saved() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let f = create(&app, &owner, "F").await;
    let fid = id(&f);
    let mut draft = flow_saying("Hi");
    draft["steps"][1]["type"] = json!("teleport");
    let body = assert_error(
        save_draft(&app, &owner, fid, draft).await,
        400,
        "invalid_flow",
    );
    assert_eq!(body["error"]["details"]["problems"][0]["step"], "bye");
    assert!(body["error"]["message"].as_str().unwrap().contains("bye"));
    // A bad shape is refused too.
    let bad = json!({"trigger": {"kind": "first_message"}, "steps": "many"});
    assert_error(save_draft(&app, &owner, fid, bad).await, 400, "validation");
    let again = app.get_json(&owner, &flow_path(&app, fid)).await;
    assert_eq!(again["draft"], f["draft"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_with_nul_in_a_draft_or_a_name_is_refused_at_the_boundary() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let f = create(&app, &owner, "F").await;
    let fid = id(&f);
    let draft = flow_saying("Hi\u{0}there");
    let body = assert_error(
        save_draft(&app, &owner, fid, draft).await,
        400,
        "validation",
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("U+0000") && message.contains("steps"),
        "{message}"
    );
    let r = app
        .call(
            &owner,
            Method::POST,
            &flows_path(&app),
            Some(json!({"name": "a\u{0}b"})),
        )
        .await;
    assert_error(r, 400, "validation");
    let again = app.get_json(&owner, &flow_path(&app, fid)).await;
    assert_eq!(again["draft"], f["draft"]);
    assert_eq!(
        app.get_json(&owner, &flows_path(&app))
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_a_draft_with_problems_is_refused_and_publishes_nothing() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let fid = id(&create(&app, &owner, "F").await);
    let mut draft = flow_saying("Hi");
    draft["edges"] = json!([]);
    assert_eq!(save_draft(&app, &owner, fid, draft).await.0, 200);
    let body = assert_error(publish(&app, &owner, fid).await, 400, "invalid_flow");
    let problems = codes(&body["error"]["details"]["problems"]);
    assert!(
        problems.contains(&(json!("hello"), "unconnected_port".into())),
        "{problems:?}"
    );
    let f = app.get_json(&owner, &flow_path(&app, fid)).await;
    assert_eq!(
        (f["published_version"].clone(), f["versions"].clone()),
        (Value::Null, json!([]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_version_is_numbered_and_never_changes() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let fid = id(&create(&app, &owner, "F").await);
    let (s, v1) = publish(&app, &owner, fid).await;
    assert_eq!(s, 200, "{v1}");
    assert_eq!(v1["published_version"], 1);
    assert_eq!(v1["has_unpublished_changes"], false);
    let name = display_name(&app, owner.user_id).await;
    assert_eq!(v1["versions"][0]["version"], 1);
    assert_eq!(v1["versions"][0]["published_by_name"], name.as_str());

    let (s, edited) = save_draft(&app, &owner, fid, flow_saying("Prices are on the site")).await;
    assert_eq!(s, 200);
    assert_eq!(edited["has_unpublished_changes"], true);
    assert_eq!(edited["published_version"], 1, "saving does not publish");
    let (s, v2) = publish(&app, &owner, fid).await;
    assert_eq!(s, 200, "{v2}");
    assert_eq!(v2["published_version"], 2);
    assert_eq!(v2["trigger_kind"], "keyword");
    let numbers: Vec<i64> = v2["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);

    let one = app
        .get_json(&owner, &format!("{}/versions/1", flow_path(&app, fid)))
        .await;
    assert_eq!(one["version"], 1);
    assert_eq!(
        one["document"]["steps"][0]["text"],
        "Hello! How can we help?"
    );
    assert_eq!(one["document"]["trigger"]["kind"], "first_message");
    assert_eq!(one["published_by_name"], name.as_str());
    let two = app
        .get_json(&owner, &format!("{}/versions/2", flow_path(&app, fid)))
        .await;
    assert_eq!(
        two["document"]["steps"][0]["text"],
        "Prices are on the site"
    );
    let (s, e) = app
        .call(
            &owner,
            Method::GET,
            &format!("{}/versions/3", flow_path(&app, fid)),
            None,
        )
        .await;
    assert_error((s, e), 404, "not_found");

    // The live flow the engine reads is the published version with its own trigger kind.
    assert_eq!(set_enabled(&app, &owner, fid, true).await.0, 200);
    let live =
        switchboard::db::flows::live(&mut app.db().await, app.project_id, &[TriggerKind::Keyword])
            .await
            .unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!((live[0].flow_id, live[0].version.version), (fid, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_publishes_at_once_make_two_consecutive_versions() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let fid = id(&create(&app, &owner, "F").await);
    let (a, b) = tokio::join!(publish(&app, &owner, fid), publish(&app, &owner, fid));
    assert_eq!((a.0, b.0), (200, 200), "{} {}", a.1, b.1);
    let mut got = [
        a.1["published_version"].as_i64(),
        b.1["published_version"].as_i64(),
    ];
    got.sort();
    assert_eq!(got, [Some(1), Some(2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_never_published_cannot_be_enabled() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let fid = id(&create(&app, &owner, "F").await);
    let body = assert_error(set_enabled(&app, &owner, fid, true).await, 409, "conflict");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("publish the flow first"));
    let f = app.get_json(&owner, &flow_path(&app, fid)).await;
    assert_eq!(f["enabled"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_flow_is_enabled_and_disabled() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let fid = id(&create(&app, &owner, "F").await);
    assert_eq!(publish(&app, &owner, fid).await.0, 200);
    let live = async || {
        switchboard::db::flows::live(
            &mut app.db().await,
            app.project_id,
            &[TriggerKind::FirstMessage],
        )
        .await
        .unwrap()
        .len()
    };
    let (s, f) = set_enabled(&app, &owner, fid, true).await;
    assert_eq!((s, f["enabled"].clone()), (200, json!(true)));
    assert_eq!(live().await, 1);
    let list = app.get_json(&owner, &flows_path(&app)).await;
    assert_eq!(list[0]["enabled"], true);
    let (s, f) = set_enabled(&app, &owner, fid, false).await;
    assert_eq!((s, f["enabled"].clone()), (200, json!(false)));
    assert_eq!(live().await, 0);
    let (s, e) = app
        .call(
            &owner,
            Method::PATCH,
            &flow_path(&app, fid),
            Some(json!({"enabled": "yes"})),
        )
        .await;
    assert_error((s, e), 400, "validation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_flow_is_gone_with_its_versions() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let keep = id(&create(&app, &owner, "Keep").await);
    let fid = id(&create(&app, &owner, "Drop").await);
    assert_eq!(publish(&app, &owner, fid).await.0, 200);
    let (s, _) = app
        .call(&owner, Method::DELETE, &flow_path(&app, fid), None)
        .await;
    assert_eq!(s, 204);
    let (s, e) = app
        .call(&owner, Method::GET, &flow_path(&app, fid), None)
        .await;
    assert_error((s, e), 404, "not_found");
    let (s, e) = app
        .call(&owner, Method::DELETE, &flow_path(&app, fid), None)
        .await;
    assert_error((s, e), 404, "not_found");
    let list = app.get_json(&owner, &flows_path(&app)).await;
    let ids: Vec<i64> = list.as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, [keep]);
    let versions: i64 = {
        use diesel::{ExpressionMethods, QueryDsl};
        use switchboard::db::schema::flow_versions;
        flow_versions::table
            .filter(flow_versions::flow_id.eq(fid))
            .count()
            .get_result(&mut app.db().await)
            .await
            .unwrap()
    };
    assert_eq!(versions, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_run_gives_a_visitor_linked_to_a_preview_of_the_draft() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let fid = id(&create(&app, &owner, "Welcome").await);
    assert_eq!(
        save_draft(&app, &owner, fid, flow_saying("Draft text"))
            .await
            .0,
        200
    );
    let (s, p) = app
        .call(
            &owner,
            Method::POST,
            &format!("{}/preview", flow_path(&app, fid)),
            None,
        )
        .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["widget_key"], app.widget_key.as_str());
    let token = p["visitor_token"].as_str().unwrap();
    let contact_id = p["contact_id"].as_i64().unwrap();

    let v = app.visitor_on(&app.widget_key, Some(token)).await;
    let hello = v.hello.as_ref().unwrap();
    assert_eq!(
        hello["contact_id"], contact_id,
        "the token names the test-run visitor"
    );

    let mut conn = app.db().await;
    let version = switchboard::db::flows::preview_of_contact(&mut conn, contact_id)
        .await
        .unwrap()
        .expect("the flow_previews row");
    assert_eq!(version.id, p["flow_version_id"].as_i64().unwrap());
    assert_eq!(
        (version.flow_id, version.version, version.preview),
        (fid, 0, true)
    );
    assert_eq!(version.trigger_kind, TriggerKind::Keyword);
    assert_eq!(version.document["steps"][0]["text"], "Draft text");
    let contact = switchboard::db::contacts::find(&mut conn, app.project_id, contact_id)
        .await
        .unwrap();
    assert_eq!(contact.name, "Test run · Welcome");

    // A preview is not a published version.
    let f = app.get_json(&owner, &flow_path(&app, fid)).await;
    assert_eq!(
        (f["published_version"].clone(), f["versions"].clone()),
        (Value::Null, json!([]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_run_of_a_draft_with_problems_is_refused() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let fid = id(&create(&app, &owner, "F").await);
    let mut draft = flow_saying("Hi");
    draft["edges"] = json!([]);
    assert_eq!(save_draft(&app, &owner, fid, draft).await.0, 200);
    let r = app
        .call(
            &owner,
            Method::POST,
            &format!("{}/preview", flow_path(&app, fid)),
            None,
        )
        .await;
    let body = assert_error(r, 400, "invalid_flow");
    assert!(!body["error"]["details"]["problems"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_and_their_steps_are_read_newest_first() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let fid = id(&create(&app, &owner, "F").await);
    assert_eq!(publish(&app, &owner, fid).await.0, 200);
    let (_v, sid) = app.open_session("hello").await;
    // The engine writes runs; here they are written by SQL to read them back.
    let mut conn = app.db().await;
    let insert_run = |status: &'static str, at: &'static str| {
        diesel::sql_query(format!(
            "INSERT INTO flow_runs (project_id, flow_id, flow_version_id, session_id, contact_id,
                 channel_id, status, trigger_kind, current_step, triggered_at, completed_at)
             SELECT s.project_id, {fid}, v.id, s.id, s.contact_id, s.channel_id, '{status}',
                 'first_message', 'end', '{at}', CASE WHEN '{status}' = 'completed' THEN now() END
             FROM sessions s, flow_versions v WHERE s.id = {sid} AND v.flow_id = {fid}"
        ))
    };
    insert_run("completed", "2026-01-01T10:00:00Z")
        .execute(&mut conn)
        .await
        .unwrap();
    insert_run("running", "2026-01-01T11:00:00Z")
        .execute(&mut conn)
        .await
        .unwrap();
    let runs = app
        .get_json(&owner, &format!("{}/runs", flow_path(&app, fid)))
        .await;
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["status"], "running", "newest first");
    assert_eq!(runs[1]["status"], "completed");
    assert!(runs[1]["completed_at"].is_string());
    assert_eq!(
        (runs[0]["session_id"].clone(), runs[0]["version"].clone()),
        (json!(sid), json!(1))
    );
    assert_eq!(runs[0]["preview"], false);
    let one = app
        .get_json(&owner, &format!("{}/runs?limit=1", flow_path(&app, fid)))
        .await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    let (s, e) = app
        .call(
            &owner,
            Method::GET,
            &format!("{}/runs?limit=0", flow_path(&app, fid)),
            None,
        )
        .await;
    assert_error((s, e), 400, "validation");

    let rid = runs[1]["id"].as_i64().unwrap();
    for step in [
        "1, 'welcome', 'message', NULL, NULL, 'next', now()",
        "2, 'end', 'end', 'welcome', 'next', NULL, NULL",
    ] {
        diesel::sql_query(format!(
            "INSERT INTO flow_run_steps (run_id, flow_version_id, seq, step_id, step_type,
                 from_step, via_port, left_port, left_at)
             SELECT id, flow_version_id, {step} FROM flow_runs WHERE id = {rid}"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let steps = app
        .get_json(
            &owner,
            &format!("/api/projects/{}/runs/{rid}/steps", app.project_id),
        )
        .await;
    let steps = steps.as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(
        (steps[0]["seq"].clone(), steps[0]["left_port"].clone()),
        (json!(1), json!("next"))
    );
    assert_eq!(
        (steps[1]["step_id"].clone(), steps[1]["from_step"].clone()),
        (json!("end"), json!("welcome"))
    );
    assert_eq!(steps[1]["via_port"], "next");
    assert!(steps[1]["left_at"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_and_runs_of_another_project_are_not_found() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let fid = id(&create(&app, &owner, "F").await);
    let (s, other) = app
        .call(
            &owner,
            Method::POST,
            "/api/projects",
            Some(json!({"name": "Other"})),
        )
        .await;
    assert_eq!(s, 201);
    let other = id(&other);
    for (method, path) in [
        (Method::GET, format!("/api/projects/{other}/flows/{fid}")),
        (
            Method::POST,
            format!("/api/projects/{other}/flows/{fid}/publish"),
        ),
        (Method::DELETE, format!("/api/projects/{other}/flows/{fid}")),
        (
            Method::GET,
            format!("/api/projects/{other}/flows/{fid}/runs"),
        ),
    ] {
        let r = app.call(&owner, method.clone(), &path, None).await;
        assert_error(r, 404, "not_found");
    }
    let list = app
        .get_json(&owner, &format!("/api/projects/{other}/flows"))
        .await;
    assert_eq!(list, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_without_automation_manage_is_refused_every_flow_route() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let fid = id(&create(&app, &owner, "F").await);
    let agent = app.member(app.project_id, "agent", "agent").await;
    let f = flow_path(&app, fid);
    let routes = [
        (Method::GET, flows_path(&app), None),
        (Method::POST, flows_path(&app), Some(json!({"name": "x"}))),
        (Method::GET, f.clone(), None),
        (Method::PUT, f.clone(), Some(json!({"name": "x"}))),
        (Method::PATCH, f.clone(), Some(json!({"enabled": false}))),
        (Method::DELETE, f.clone(), None),
        (Method::POST, format!("{f}/publish"), None),
        (Method::GET, format!("{f}/versions/1"), None),
        (Method::POST, format!("{f}/preview"), None),
        (Method::GET, format!("{f}/runs"), None),
        (
            Method::GET,
            format!("/api/projects/{}/runs/1/steps", app.project_id),
            None,
        ),
    ];
    for (method, path, body) in routes {
        let r = app.call(&agent, method.clone(), &path, body).await;
        assert_eq!(r.0, 403, "{method} {path}: {}", r.1);
        assert_eq!(r.1["error"]["code"], "forbidden");
    }
    // Nothing changed.
    let f = app.get_json(&owner, &flow_path(&app, fid)).await;
    assert_eq!(
        (f["name"].clone(), f["versions"].clone()),
        (json!("F"), json!([]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flow_routes_are_in_the_openapi_document() {
    let app = TestApp::start().await;
    let spec: Value = reqwest::get(format!("{}/api/openapi.json", app.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, method) in [
        ("/api/projects/{pid}/flows", "get"),
        ("/api/projects/{pid}/flows", "post"),
        ("/api/projects/{pid}/flows/{fid}", "get"),
        ("/api/projects/{pid}/flows/{fid}", "put"),
        ("/api/projects/{pid}/flows/{fid}", "patch"),
        ("/api/projects/{pid}/flows/{fid}", "delete"),
        ("/api/projects/{pid}/flows/{fid}/publish", "post"),
        ("/api/projects/{pid}/flows/{fid}/versions/{n}", "get"),
        ("/api/projects/{pid}/flows/{fid}/preview", "post"),
        ("/api/projects/{pid}/flows/{fid}/runs", "get"),
        ("/api/projects/{pid}/runs/{rid}/steps", "get"),
    ] {
        assert!(spec["paths"][path][method].is_object(), "{method} {path}");
    }
    assert!(spec["components"]["schemas"]["FlowDocument"].is_object());
}
