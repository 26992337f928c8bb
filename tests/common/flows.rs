//! Flows for engine tests, written straight into the database the way publishing writes them
//! (a `flows` row, an immutable `flow_versions` row, enabled), so these tests depend on the
//! engine only, not on the flow API. And the probes the engine tests read runs with.

use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{json, Value};
use switchboard::db::enums::TriggerKind;
use switchboard::db::flow_runs::{self, RunRow, StepRow};
use switchboard::db::schema::{flow_runs as runs, flow_versions, flows, messages, timers};
use switchboard::domain::automation::document;

use super::TestApp;

/// A published, enabled flow: its id.
pub async fn publish(app: &TestApp, name: &str, doc: Value) -> i64 {
    let mut conn = app.db().await;
    let parsed = document::parse(&doc).expect("a flow document");
    document::validate(&parsed).expect("a valid flow");
    let kind: TriggerKind = parsed.trigger.kind();
    let id: i64 = diesel::insert_into(flows::table)
        .values((
            flows::project_id.eq(app.project_id),
            flows::name.eq(name),
            flows::draft.eq(&doc),
            flows::trigger_kind.eq(kind),
        ))
        .returning(flows::id)
        .get_result(&mut conn)
        .await
        .unwrap();
    publish_version(&mut conn, id, doc).await;
    id
}

/// Publishes `doc` as the flow's next version (and enables it).
pub async fn publish_version(conn: &mut AsyncPgConnection, flow_id: i64, doc: Value) -> i32 {
    let kind = document::parse(&doc).unwrap().trigger.kind();
    let last: Option<i32> = flows::table
        .find(flow_id)
        .select(flows::published_version)
        .first(conn)
        .await
        .unwrap();
    let version = last.unwrap_or(0) + 1;
    diesel::insert_into(flow_versions::table)
        .values((
            flow_versions::flow_id.eq(flow_id),
            flow_versions::version.eq(version),
            flow_versions::document.eq(&doc),
            flow_versions::trigger_kind.eq(kind),
        ))
        .execute(conn)
        .await
        .unwrap();
    diesel::update(flows::table.find(flow_id))
        .set((
            flows::published_version.eq(Some(version)),
            flows::enabled.eq(true),
            flows::draft.eq(&doc),
        ))
        .execute(conn)
        .await
        .unwrap();
    version
}

pub async fn set_enabled(app: &TestApp, flow_id: i64, on: bool) {
    diesel::update(flows::table.find(flow_id))
        .set(flows::enabled.eq(on))
        .execute(&mut app.db().await)
        .await
        .unwrap();
}

/// A document: `trigger`, then `steps` (JSON objects) joined by `edges` `(from, port, to)`;
/// the first step starts.
pub fn doc(trigger: Value, steps: Vec<Value>, edges: &[(&str, &str, &str)]) -> Value {
    let start = steps[0]["id"].clone();
    json!({
        "trigger": trigger,
        "start": start,
        "steps": steps,
        "edges": edges.iter().map(|(f, p, t)| json!({"from": f, "port": p, "to": t})).collect::<Vec<_>>(),
    })
}

/// message "hi" → end: the simplest flow on `trigger`.
pub fn hello(trigger: Value, text: &str) -> Value {
    doc(
        trigger,
        vec![
            json!({"id": "m", "type": "message", "text": text}),
            json!({"id": "e", "type": "end"}),
        ],
        &[("m", "next", "e")],
    )
}

pub fn first_message() -> Value {
    json!({"kind": "first_message"})
}

type Time = Option<chrono::DateTime<chrono::Utc>>;

/// Every run of the flow, oldest first.
pub async fn runs_of(app: &TestApp, flow_id: i64) -> Vec<RunRow> {
    runs::table
        .filter(runs::flow_id.eq(flow_id))
        .order(runs::id)
        .select(<RunRow as diesel::SelectableHelper<diesel::pg::Pg>>::as_select())
        .load(&mut app.db().await)
        .await
        .unwrap()
}

pub async fn runs_in(app: &TestApp, session_id: i64) -> Vec<RunRow> {
    runs::table
        .filter(runs::session_id.eq(session_id))
        .order(runs::id)
        .select(<RunRow as diesel::SelectableHelper<diesel::pg::Pg>>::as_select())
        .load(&mut app.db().await)
        .await
        .unwrap()
}

pub async fn steps_of(app: &TestApp, run_id: i64) -> Vec<StepRow> {
    flow_runs::steps(&mut app.db().await, run_id).await.unwrap()
}

/// The bodies of the session's bot messages, in order.
pub async fn bot_texts(app: &TestApp, session_id: i64) -> Vec<String> {
    messages::table
        .filter(messages::session_id.eq(session_id))
        .filter(messages::sender_kind.eq(switchboard::db::enums::SenderKind::Bot))
        .order(messages::seq)
        .select(messages::body)
        .load(&mut app.db().await)
        .await
        .unwrap()
}

/// Makes the session's pending timers of `kind` due now (a silence is minutes long; the
/// scheduler then fires them as it would at their time).
pub async fn make_due(app: &TestApp, session_id: i64, kind: &str) -> usize {
    make_due_on(&mut app.db().await, session_id, kind).await
}

pub async fn make_due_on(conn: &mut AsyncPgConnection, session_id: i64, kind: &str) -> usize {
    diesel::update(
        timers::table
            .filter(timers::session_id.eq(session_id))
            .filter(timers::kind.eq(kind))
            .filter(timers::fired_at.is_null()),
    )
    .set(timers::due_at.eq(chrono::Utc::now()))
    .execute(conn)
    .await
    .unwrap()
}

/// (key, episode, fired, skip_reason) of the session's timers of `kind`, oldest first.
pub async fn timers_of(
    app: &TestApp,
    session_id: i64,
    kind: &str,
) -> Vec<(String, String, bool, Option<String>)> {
    let rows: Vec<(String, String, Time, Option<String>)> = timers::table
        .filter(timers::session_id.eq(session_id))
        .filter(timers::kind.eq(kind))
        .order(timers::id)
        .select((
            timers::key,
            timers::episode,
            timers::fired_at,
            timers::skip_reason,
        ))
        .load(&mut app.db().await)
        .await
        .unwrap();
    rows.into_iter()
        .map(|(k, e, f, s)| (k, e, f.is_some(), s))
        .collect()
}

/// (id, body, content) of the session's bot messages, in order.
pub async fn bot_messages(app: &TestApp, session_id: i64) -> Vec<(i64, String, Value)> {
    messages::table
        .filter(messages::session_id.eq(session_id))
        .filter(messages::sender_kind.eq(switchboard::db::enums::SenderKind::Bot))
        .order(messages::seq)
        .select((messages::id, messages::body, messages::content))
        .load(&mut app.db().await)
        .await
        .unwrap()
}

/// Runs a statement (tests set states the API reaches only slowly: a hosted session, …).
pub async fn exec(app: &TestApp, sql: &str) {
    diesel::sql_query(sql)
        .execute(&mut app.db().await)
        .await
        .unwrap();
}

/// The visitor clicks button `id` of bot message `message_id` (its title is the text).
pub async fn click(
    v: &mut super::WsClient,
    client_id: &str,
    message_id: i64,
    id: &str,
    title: &str,
) {
    v.send(
        json!({"v": 1, "type": "send", "client_id": client_id, "text": title,
                  "button": {"message_id": message_id, "id": id}}),
    )
    .await;
    let ack = v.recv_type("ack").await;
    assert_eq!(ack["client_id"], client_id, "{ack}");
}
