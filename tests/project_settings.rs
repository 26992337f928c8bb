//! A project's settings object: both settings endpoints change only their own keys, and keys
//! this server does not know survive every write.

use crate::common::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_settings_keys_survive_both_settings_endpoints() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let pid = app.project_id;
    let mut db = app.db().await;
    diesel::sql_query(format!(
        "UPDATE projects SET settings = '{{\"theme\": {{\"accent\": \"#336699\"}}}}' WHERE id = {pid}"
    ))
    .execute(&mut db)
    .await
    .unwrap();

    let (status, body) = app
        .call(
            &owner,
            Method::PATCH,
            &format!("/api/projects/{pid}/settings"),
            Some(json!({"auto_end_after_secs": 3600})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["auto_end_after_secs"], 3600);
    assert_eq!(body["theme"], json!({"accent": "#336699"}));

    let (status, body) = app
        .call(
            &owner,
            Method::PATCH,
            &format!("/api/projects/{pid}/settings/notifications"),
            Some(json!({"email_enabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let project = app.get_json(&owner, &format!("/api/projects/{pid}")).await;
    let settings = &project["settings"];
    assert_eq!(
        settings["theme"],
        json!({"accent": "#336699"}),
        "{settings}"
    );
    assert_eq!(settings["auto_end_after_secs"], 3600, "{settings}");
    assert_eq!(
        settings["notifications"]["email_enabled"], true,
        "{settings}"
    );
}
