//! Which flow a visitor message starts: the first message of a session, keywords (exact or
//! contained, case-insensitive), a new session, the conditions on top, the oldest flow when
//! several fire, never a second run while one runs, and a test-run visitor's preview.

use crate::common::flows::{self, bot_texts, doc, first_message, hello, publish, runs_in};
use crate::common::{visitor_says, TestApp};
use serde_json::json;
use switchboard::db::enums::{RunStatus, TriggerKind};

#[tokio::test]
async fn a_first_message_flow_answers_the_first_visitor_message_and_no_later_one() {
    let app = TestApp::start().await;
    publish(&app, "Welcome", hello(first_message(), "Welcome!")).await;
    let (mut v, sid) = app.open_session("hi").await;
    assert_eq!(bot_texts(&app, sid).await, ["Welcome!"]);
    visitor_says(&mut v, "second", "hello again").await;
    assert_eq!(bot_texts(&app, sid).await, ["Welcome!"]);
    let runs = runs_in(&app, sid).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].trigger_kind, TriggerKind::FirstMessage);
    assert_eq!(runs[0].status, RunStatus::Completed);
}

#[tokio::test]
async fn keywords_match_exactly_or_contained_and_ignore_case() {
    let app = TestApp::start().await;
    let exact = json!({"kind": "keyword", "keywords": ["price"], "matching": "exact"});
    let contains = json!({"kind": "keyword", "keywords": ["refund"], "matching": "contains"});
    publish(&app, "Exact", hello(exact, "Our prices")).await;
    publish(&app, "Contains", hello(contains, "About refunds")).await;
    let (mut v, sid) = app.open_session("what is the price?").await;
    assert!(
        bot_texts(&app, sid).await.is_empty(),
        "exact needs the whole message"
    );
    visitor_says(&mut v, "2", "  PRICE ").await;
    assert_eq!(bot_texts(&app, sid).await, ["Our prices"]);
    visitor_says(&mut v, "3", "I want a Refund please").await;
    assert_eq!(bot_texts(&app, sid).await, ["Our prices", "About refunds"]);
    visitor_says(&mut v, "4", "thanks").await;
    assert_eq!(bot_texts(&app, sid).await.len(), 2);
}

#[tokio::test]
async fn a_new_session_flow_fires_on_its_channels_only() {
    let app = TestApp::start().await;
    let channel = app.channel_id().await;
    let mut on_ours = hello(json!({"kind": "new_session"}), "New here?");
    on_ours["conditions"] = json!({"channels": [channel]});
    let mut elsewhere = hello(json!({"kind": "new_session"}), "Other channel");
    elsewhere["conditions"] = json!({"channels": [channel + 1000]});
    publish(&app, "Elsewhere", elsewhere).await;
    publish(&app, "Ours", on_ours).await;
    let (mut v, sid) = app.open_session("hi").await;
    assert_eq!(bot_texts(&app, sid).await, ["New here?"]);
    visitor_says(&mut v, "2", "more").await;
    assert_eq!(bot_texts(&app, sid).await, ["New here?"]);
}

#[tokio::test]
async fn conditions_on_the_contact_must_hold() {
    let app = TestApp::start().await;
    let mut vip = hello(first_message(), "Hello VIP");
    vip["conditions"] = json!({"contact_label": "vip"});
    let mut named = hello(first_message(), "Hello stranger");
    named["conditions"] = json!({"note_name_present": false});
    publish(&app, "VIP", vip).await;
    publish(&app, "Unnamed", named).await;
    let (_v, sid) = app.open_session("hi").await;
    assert_eq!(bot_texts(&app, sid).await, ["Hello stranger"]);
}

#[tokio::test]
async fn when_several_flows_fire_the_oldest_wins_and_only_one_runs() {
    let app = TestApp::start().await;
    let older = publish(&app, "Older", hello(first_message(), "older")).await;
    let newer = publish(&app, "Newer", hello(first_message(), "newer")).await;
    let (_v, sid) = app.open_session("hi").await;
    assert_eq!(bot_texts(&app, sid).await, ["older"]);
    assert_eq!(flows::runs_of(&app, older).await.len(), 1);
    assert!(flows::runs_of(&app, newer).await.is_empty());
}

#[tokio::test]
async fn a_running_run_keeps_the_session_and_a_new_trigger_starts_nothing() {
    let app = TestApp::start().await;
    let menu = doc(
        first_message(),
        vec![
            json!({"id": "menu", "type": "message", "text": "Pick one",
                   "buttons": [{"id": "a", "title": "A"}]}),
            json!({"id": "e", "type": "end"}),
        ],
        &[("menu", "a", "e")],
    );
    publish(&app, "Menu", menu).await;
    let kw = json!({"kind": "keyword", "keywords": ["help"]});
    let help = publish(&app, "Help", hello(kw, "Helping")).await;
    let (mut v, sid) = app.open_session("hi").await;
    visitor_says(&mut v, "2", "help").await;
    assert_eq!(bot_texts(&app, sid).await, ["Pick one"]);
    assert!(flows::runs_of(&app, help).await.is_empty());
    let runs = runs_in(&app, sid).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Running);
}

#[tokio::test]
async fn a_disabled_flow_does_not_trigger() {
    let app = TestApp::start().await;
    let id = publish(&app, "Off", hello(first_message(), "nope")).await;
    flows::set_enabled(&app, id, false).await;
    let (_v, sid) = app.open_session("hi").await;
    assert!(bot_texts(&app, sid).await.is_empty());
}

#[tokio::test]
async fn a_flow_is_not_triggered_by_its_own_messages() {
    let app = TestApp::start().await;
    // Its own message contains its keyword: were bot messages triggers, it would loop.
    let kw = json!({"kind": "keyword", "keywords": ["menu"]});
    let id = publish(&app, "Echo", hello(kw, "Here is the menu")).await;
    let (_v, sid) = app.open_session("menu").await;
    assert_eq!(bot_texts(&app, sid).await, ["Here is the menu"]);
    assert_eq!(flows::runs_of(&app, id).await.len(), 1);
}

#[tokio::test]
async fn a_test_run_visitor_runs_its_preview_whatever_the_trigger_and_no_other_flow() {
    use diesel::ExpressionMethods;
    use diesel_async::RunQueryDsl;
    use switchboard::db::schema::{flow_previews, flow_versions};
    let app = TestApp::start().await;
    let live = publish(&app, "Live", hello(first_message(), "live flow")).await;
    let kw = json!({"kind": "keyword", "keywords": ["never typed"]});
    let draft = publish(&app, "Draft", hello(kw.clone(), "preview!")).await;
    // A test run's visitor is made with its contact (as the test-run API makes it).
    let (contact_id, token) = app.contact_without_session().await;
    let mut v = app.visitor_with(Some(&token)).await;
    let mut db = app.db().await;
    let version: i64 = diesel::insert_into(flow_versions::table)
        .values((
            flow_versions::flow_id.eq(draft),
            flow_versions::version.eq(0),
            flow_versions::preview.eq(true),
            flow_versions::document.eq(hello(kw, "preview!")),
            flow_versions::trigger_kind.eq(TriggerKind::Keyword),
        ))
        .returning(flow_versions::id)
        .get_result(&mut db)
        .await
        .unwrap();
    diesel::insert_into(flow_previews::table)
        .values((
            flow_previews::contact_id.eq(contact_id),
            flow_previews::flow_version_id.eq(version),
        ))
        .execute(&mut db)
        .await
        .unwrap();
    let sid = visitor_says(&mut v, "1", "hello").await["session_id"]
        .as_i64()
        .unwrap();
    assert_eq!(bot_texts(&app, sid).await, ["preview!"]);
    let runs = runs_in(&app, sid).await;
    assert_eq!(runs.len(), 1);
    assert!(runs[0].preview);
    assert!(flows::runs_of(&app, live).await.is_empty());
}
