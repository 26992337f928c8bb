//! One status vocabulary for the session list and the session-management reports: `ongoing`
//! (not ended), with `open` accepted as the same filter on both.

use crate::common::*;
use reqwest::Method;
use serde_json::Value;

fn sorted_ids(page: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ongoing_and_open_are_the_same_filter_on_the_session_list_and_the_reports() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let pid = app.project_id;
    let (_v1, queued) = app.open_session("one").await;
    let (_v2, taken) = app.open_session("two").await;
    let (_v3, over) = app.open_session("three").await;
    app.reply(&owner, taken, "r").await;
    app.end(&owner, over).await;
    let mut not_ended = vec![queued, taken];
    not_ended.sort_unstable();

    for spelling in ["ongoing", "open"] {
        let list = app
            .get_json(
                &owner,
                &format!("/api/projects/{pid}/sessions?status={spelling}"),
            )
            .await;
        assert_eq!(sorted_ids(&list), not_ended, "session list, {spelling}");
        let records = app
            .get_json(
                &owner,
                &format!("/api/projects/{pid}/reports/sessions?status={spelling}"),
            )
            .await;
        assert_eq!(sorted_ids(&records), not_ended, "records, {spelling}");
        let summary = app
            .get_json(
                &owner,
                &format!("/api/projects/{pid}/reports/sessions/summary?status={spelling}"),
            )
            .await;
        assert_eq!(summary["ongoing"], 2, "summary, {spelling}: {summary}");
        assert_eq!(summary["ended"], 0, "summary, {spelling}: {summary}");
    }

    for path in ["sessions", "reports/sessions"] {
        let (status, e) = app
            .call(
                &owner,
                Method::GET,
                &format!("/api/projects/{pid}/{path}?status=closed"),
                None,
            )
            .await;
        assert_eq!(status, 400, "{path}: {e}");
        assert_eq!(
            e["error"]["message"],
            "status must be ongoing (or open), unassigned, assigned or ended",
            "{path}: the same vocabulary in the refusal"
        );
    }
}
