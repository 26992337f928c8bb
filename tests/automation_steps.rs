//! What each step does, as the visitor and the database see it: buttons (clicked or typed),
//! questions with validation, retries and a fallback, waits interrupted by a reply, labels,
//! tags, hand-off; participation and completion; every transition a row; versions kept.

use crate::common::flows::{
    self, bot_messages, bot_texts, click, doc, first_message, make_due, publish, runs_in, steps_of,
};
use crate::common::{eventually, visitor_says, TestApp};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};
use switchboard::db::enums::{HostingReason, RunEndReason, RunStatus, SessionStatus};

type Time = Option<chrono::DateTime<chrono::Utc>>;

/// A menu with two branches, each to its own end.
fn menu() -> Value {
    doc(
        first_message(),
        vec![
            json!({"id": "menu", "type": "message", "text": "How can we help?",
                   "buttons": [{"id": "price", "title": "Pricing"}, {"id": "bug", "title": "A bug"}]}),
            json!({"id": "e1", "type": "end", "text": "Prices are on our site."}),
            json!({"id": "e2", "type": "end", "text": "Sorry! Tell us more."}),
        ],
        &[("menu", "price", "e1"), ("menu", "bug", "e2")],
    )
}

#[tokio::test]
async fn a_button_click_participates_and_its_branch_completes_with_every_transition_recorded() {
    let app = TestApp::start().await;
    publish(&app, "Menu", menu()).await;
    let (mut v, sid) = app.open_session("hi").await;
    let bots = bot_messages(&app, sid).await;
    assert_eq!(bots[0].1, "How can we help?");
    assert_eq!(
        bots[0].2["buttons"][0],
        json!({"id": "price", "title": "Pricing"})
    );
    let run = &runs_in(&app, sid).await[0];
    assert_eq!(run.status, RunStatus::Running);
    assert!(run.participated_at.is_none());
    assert_eq!(run.waiting_message_id, Some(bots[0].0));

    click(&mut v, "c", bots[0].0, "price", "Pricing").await;
    assert_eq!(
        bot_texts(&app, sid).await,
        ["How can we help?", "Prices are on our site."]
    );
    let run = &runs_in(&app, sid).await[0];
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.end_reason, Some(RunEndReason::Completed));
    assert!(run.participated_at.is_some() && run.completed_at.is_some());
    assert_eq!(run.current_step.as_deref(), Some("e1"));
    let steps = steps_of(&app, run.id).await;
    let shown: Vec<_> = steps
        .iter()
        .map(|s| {
            (
                s.seq,
                s.step_id.as_str(),
                s.from_step.as_deref(),
                s.via_port.as_deref(),
                s.left_port.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (1, "menu", None, None, Some("price")),
            (2, "e1", Some("menu"), Some("price"), None)
        ]
    );
    assert!(steps[0].left_at.is_some() && steps[1].left_at.is_none());
}

#[tokio::test]
async fn a_typed_button_title_counts_as_the_click_and_the_other_branch_completes_too() {
    let app = TestApp::start().await;
    publish(&app, "Menu", menu()).await;
    let (mut v, sid) = app.open_session("hi").await;
    visitor_says(&mut v, "x", "something else").await;
    assert_eq!(
        bot_texts(&app, sid).await.len(),
        1,
        "no `other` edge: it keeps waiting"
    );
    visitor_says(&mut v, "t", "  a BUG ").await;
    assert_eq!(bot_texts(&app, sid).await[1], "Sorry! Tell us more.");
    let run = &runs_in(&app, sid).await[0];
    assert_eq!(run.status, RunStatus::Completed);
    assert!(run.participated_at.is_some());
    assert_eq!(run.current_step.as_deref(), Some("e2"));
}

fn ask_email() -> Value {
    doc(
        first_message(),
        vec![
            json!({"id": "q", "type": "question", "text": "Your e-mail?", "answer": "email",
                   "save_to": "email", "retries": 1, "retry_text": "That is not an e-mail."}),
            json!({"id": "ok", "type": "end", "text": "Thanks!"}),
            json!({"id": "give_up", "type": "end", "text": "Never mind."}),
        ],
        &[("q", "next", "ok"), ("q", "fallback", "give_up")],
    )
}

#[tokio::test]
async fn an_email_answer_is_validated_saved_to_the_contact_and_participates() {
    let app = TestApp::start().await;
    publish(&app, "Email", ask_email()).await;
    let (mut v, sid) = app.open_session("hi").await;
    visitor_says(&mut v, "a1", "not an address").await;
    assert_eq!(
        bot_texts(&app, sid).await,
        ["Your e-mail?", "That is not an e-mail."]
    );
    let bots = bot_messages(&app, sid).await;
    assert_eq!(bots[1].2, json!({"ask": "email"}));
    assert!(runs_in(&app, sid).await[0].participated_at.is_none());
    visitor_says(&mut v, "a2", " Ann@Example.com ").await;
    assert_eq!(bot_texts(&app, sid).await[2], "Thanks!");
    let run = &runs_in(&app, sid).await[0];
    assert!(run.participated_at.is_some() && run.completed_at.is_some());
    assert!(run.vars["q"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case("ann@example.com"));

    use switchboard::db::schema::{contact_changes, contacts, sessions};
    let mut db = app.db().await;
    let contact_id: i64 = sessions::table
        .find(sid)
        .select(sessions::contact_id)
        .first(&mut db)
        .await
        .unwrap();
    let email: Option<String> = contacts::table
        .find(contact_id)
        .select(contacts::email)
        .first(&mut db)
        .await
        .unwrap();
    assert!(email.unwrap().eq_ignore_ascii_case("ann@example.com"));
    let audit: Vec<(String, Option<i64>)> = contact_changes::table
        .filter(contact_changes::contact_id.eq(contact_id))
        .select((contact_changes::field, contact_changes::user_id))
        .load(&mut db)
        .await
        .unwrap();
    assert_eq!(audit, [("email".to_owned(), None)]);
}

#[tokio::test]
async fn invalid_answers_past_the_retries_take_the_fallback_without_participating() {
    let app = TestApp::start().await;
    publish(&app, "Email", ask_email()).await;
    let (mut v, sid) = app.open_session("hi").await;
    visitor_says(&mut v, "a1", "nope").await;
    visitor_says(&mut v, "a2", "still nope").await;
    assert_eq!(
        bot_texts(&app, sid).await,
        ["Your e-mail?", "That is not an e-mail.", "Never mind."]
    );
    let run = &runs_in(&app, sid).await[0];
    assert_eq!(run.status, RunStatus::Completed);
    assert!(run.participated_at.is_none());
    assert_eq!(run.current_step.as_deref(), Some("give_up"));
}

fn waiting() -> Value {
    doc(
        first_message(),
        vec![
            json!({"id": "w", "type": "wait", "seconds": 3600}),
            json!({"id": "late", "type": "end", "text": "Still there?"}),
            json!({"id": "back", "type": "end", "text": "Welcome back"}),
        ],
        &[("w", "next", "late"), ("w", "replied", "back")],
    )
}

#[tokio::test]
async fn a_reply_interrupts_a_wait_and_its_timer_is_skipped() {
    let app = TestApp::start().await;
    publish(&app, "Wait", waiting()).await;
    let (mut v, sid) = app.open_session("hi").await;
    assert_eq!(
        runs_in(&app, sid).await[0].waiting_for,
        Some(switchboard::db::enums::RunWait::Wait)
    );
    visitor_says(&mut v, "r", "I'm here").await;
    assert_eq!(bot_texts(&app, sid).await, ["Welcome back"]);
    make_due(&app, sid, "flow_wait").await;
    eventually("the wait timer is skipped", || async {
        flows::timers_of(&app, sid, "flow_wait").await[0].2
    })
    .await;
    let t = &flows::timers_of(&app, sid, "flow_wait").await[0];
    assert_eq!(
        t.3.as_deref(),
        Some("run_not_running"),
        "the run went on and ended"
    );
    assert_eq!(bot_texts(&app, sid).await, ["Welcome back"]);
}

#[tokio::test]
async fn a_wait_goes_on_when_its_time_is_up() {
    let app = TestApp::start().await;
    publish(&app, "Wait", waiting()).await;
    let (_v, sid) = app.open_session("hi").await;
    let run = runs_in(&app, sid).await[0].clone();
    let t = &flows::timers_of(&app, sid, "flow_wait").await[0];
    assert_eq!(
        (t.0.clone(), t.1.clone()),
        (format!("run:{}", run.id), "1".to_owned())
    );
    make_due(&app, sid, "flow_wait").await;
    eventually("the run goes on", || async {
        bot_texts(&app, sid).await == ["Still there?"]
    })
    .await;
    assert_eq!(runs_in(&app, sid).await[0].status, RunStatus::Completed);
}

#[tokio::test]
async fn label_tag_and_handoff_steps_change_the_contact_the_session_and_hosting() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut db = app.db().await;
    use switchboard::db::schema::{session_tag_links, session_tags, sessions};
    let tag: i64 = diesel::insert_into(session_tags::table)
        .values((
            session_tags::project_id.eq(app.project_id),
            session_tags::name.eq("bot"),
            session_tags::color.eq("#336699"),
        ))
        .returning(session_tags::id)
        .get_result(&mut db)
        .await
        .unwrap();
    let d = doc(
        first_message(),
        vec![
            json!({"id": "l", "type": "add_label", "label": "lead"}),
            json!({"id": "t", "type": "add_tag", "tag_id": tag}),
            json!({"id": "h", "type": "handoff", "assignee": owner.user_id, "text": "A colleague will answer."}),
            json!({"id": "e", "type": "end"}),
        ],
        &[("l", "next", "t"), ("t", "next", "h"), ("h", "next", "e")],
    );
    publish(&app, "Handoff", d).await;
    let path = format!("/api/projects/{}/settings/hosting", app.project_id);
    let (s, _) = app
        .call(
            &owner,
            reqwest::Method::PATCH,
            &path,
            Some(json!({"new_sessions_hosted": true})),
        )
        .await;
    assert_eq!(s, 200);
    let (_v, sid) = app.open_session("hi").await;
    let (status, assignee, hosted, first_response): (
        SessionStatus,
        Option<i64>,
        bool,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = sessions::table
        .find(sid)
        .select((
            sessions::status,
            sessions::assignee_id,
            sessions::bot_hosted,
            sessions::first_response_at,
        ))
        .first(&mut db)
        .await
        .unwrap();
    assert_eq!(
        (status, assignee, hosted),
        (SessionStatus::Assigned, Some(owner.user_id), false)
    );
    assert!(first_response.is_none(), "a bot message is no human reply");
    let tags: Vec<i64> = session_tag_links::table
        .filter(session_tag_links::session_id.eq(sid))
        .select(session_tag_links::tag_id)
        .load(&mut db)
        .await
        .unwrap();
    assert_eq!(tags, [tag]);
    let audit = switchboard::db::hosting_changes::of_session(&mut db, sid)
        .await
        .unwrap();
    assert_eq!(audit.last().unwrap().reason, HostingReason::FlowHandoff);
    assert_eq!(audit.last().unwrap().user_id, None);
    let msgs = crate::common::messenger::message_ids(&mut db, sid).await;
    assert_eq!(msgs.len(), 3, "visitor, bot text, system line");
    let labels: Vec<String> = {
        use switchboard::db::schema::contacts;
        let cid: i64 = sessions::table
            .find(sid)
            .select(sessions::contact_id)
            .first(&mut db)
            .await
            .unwrap();
        contacts::table
            .find(cid)
            .select(contacts::labels)
            .first(&mut db)
            .await
            .unwrap()
    };
    assert_eq!(labels, ["lead"]);
    assert_eq!(runs_in(&app, sid).await[0].status, RunStatus::Completed);
}

#[tokio::test]
async fn bot_messages_are_no_human_reply_for_first_response_or_the_alert_wait() {
    let app = TestApp::start().await;
    publish(&app, "Menu", menu()).await;
    let (_v, sid) = app.open_session("hi").await;
    use switchboard::db::schema::sessions;
    let (first_response, awaiting, alert): (Time, Time, Time) = sessions::table
        .find(sid)
        .select((
            sessions::first_response_at,
            sessions::awaiting_since,
            sessions::alert_wait_since,
        ))
        .first(&mut app.db().await)
        .await
        .unwrap();
    assert!(first_response.is_none());
    assert!(
        awaiting.is_some() && alert.is_some(),
        "the visitor still waits for a person"
    );
}

#[tokio::test]
async fn an_agent_reply_stops_the_run_and_ending_the_session_stops_another() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    publish(&app, "Menu", menu()).await;
    let (_v, sid) = app.open_session("hi").await;
    app.reply(&owner, sid, "r1").await;
    let run = &runs_in(&app, sid).await[0];
    assert_eq!(
        (run.status, run.end_reason),
        (RunStatus::Stopped, Some(RunEndReason::AgentReplied))
    );
    let (_v2, sid2) = app.open_session("hi").await;
    app.end(&owner, sid2).await;
    let run = &runs_in(&app, sid2).await[0];
    assert_eq!(
        (run.status, run.end_reason),
        (RunStatus::Stopped, Some(RunEndReason::SessionEnded))
    );
}

#[tokio::test]
async fn publishing_a_new_version_leaves_a_running_run_on_its_version() {
    let app = TestApp::start().await;
    let id = publish(&app, "Menu", menu()).await;
    let (mut v, sid) = app.open_session("hi").await;
    let mut v2 = menu();
    v2["steps"][1]["text"] = json!("New prices!");
    flows::publish_version(&mut app.db().await, id, v2).await;
    visitor_says(&mut v, "p", "pricing").await;
    assert_eq!(bot_texts(&app, sid).await[1], "Prices are on our site.");
    let (mut w, sid2) = app.open_session("hi").await;
    visitor_says(&mut w, "p", "Pricing").await;
    assert_eq!(bot_texts(&app, sid2).await[1], "New prices!");
}

#[tokio::test]
async fn a_loop_without_a_wait_fails_at_the_step_limit() {
    let app = TestApp::start().await;
    let d = doc(
        first_message(),
        vec![
            json!({"id": "a", "type": "add_label", "label": "x"}),
            json!({"id": "b", "type": "add_label", "label": "y"}),
            json!({"id": "e", "type": "end"}),
        ],
        &[("a", "next", "b"), ("b", "next", "a")],
    );
    // Not a publishable flow (no way to its end); written as if it were.
    let mut db = app.db().await;
    use switchboard::db::schema::{flow_versions, flows as f};
    let fid: i64 = diesel::insert_into(f::table)
        .values((
            f::project_id.eq(app.project_id),
            f::name.eq("Loop"),
            f::draft.eq(&d),
            f::trigger_kind.eq(switchboard::db::enums::TriggerKind::FirstMessage),
            f::enabled.eq(true),
            f::published_version.eq(Some(1)),
        ))
        .returning(f::id)
        .get_result(&mut db)
        .await
        .unwrap();
    diesel::insert_into(flow_versions::table)
        .values((
            flow_versions::flow_id.eq(fid),
            flow_versions::version.eq(1),
            flow_versions::document.eq(&d),
            flow_versions::trigger_kind.eq(switchboard::db::enums::TriggerKind::FirstMessage),
        ))
        .execute(&mut db)
        .await
        .unwrap();
    let (_v, sid) = app.open_session("hi").await;
    let run = &runs_in(&app, sid).await[0];
    assert_eq!(
        (run.status, run.end_reason),
        (RunStatus::Failed, Some(RunEndReason::StepLimit))
    );
    assert_eq!(steps_of(&app, run.id).await.len(), 50);
}

#[tokio::test]
async fn the_visitor_and_the_console_see_the_bot_messages_after_the_visitors_in_order() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let mut console = app.agent_ws(&owner, app.project_id).await;
    publish(&app, "Menu", menu()).await;
    let mut v = app.visitor().await;
    v.send(json!({"v": 1, "type": "send", "client_id": "c1", "text": "hi"}))
        .await;
    let frame = loop {
        let f = v.recv_type("message").await;
        if f["sender"] == "bot" {
            break f;
        }
    };
    assert_eq!(frame["text"], "How can we help?");
    assert_eq!(frame["content"]["buttons"][1]["title"], "A bug");
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let f = console.recv_type("message").await;
        seen.push((
            f["sender"].as_str().unwrap().to_owned(),
            f["seq"].as_i64().unwrap(),
        ));
    }
    assert_eq!(seen, [("visitor".to_owned(), 1), ("bot".to_owned(), 2)]);
}
