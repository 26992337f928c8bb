//! Automation runs (`flow_runs`: one row per run, its state) and their step transitions
//! (`flow_run_steps`: one row per step a run entered).

use super::enums::{RunEndReason, RunStatus, RunWait, TriggerKind};
use super::schema::{flow_run_steps, flow_runs};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = flow_runs)]
pub struct RunRow {
    pub id: i64,
    pub project_id: i64,
    pub flow_id: i64,
    pub flow_version_id: i64,
    pub session_id: i64,
    pub contact_id: i64,
    pub channel_id: i64,
    pub preview: bool,
    pub status: RunStatus,
    pub end_reason: Option<RunEndReason>,
    pub trigger_kind: TriggerKind,
    pub trigger_message_id: Option<i64>,
    pub current_step: Option<String>,
    /// How many steps it has entered: the episode its wait timer names.
    pub step_seq: i32,
    pub waiting_for: Option<RunWait>,
    pub waiting_message_id: Option<i64>,
    pub retries: i32,
    pub vars: serde_json::Value,
    pub triggered_at: DateTime<Utc>,
    pub participated_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = flow_run_steps)]
pub struct StepRow {
    pub id: i64,
    pub run_id: i64,
    pub flow_version_id: i64,
    pub seq: i32,
    pub step_id: String,
    pub step_type: String,
    pub from_step: Option<String>,
    pub via_port: Option<String>,
    pub entered_at: DateTime<Utc>,
    pub left_port: Option<String>,
    pub left_at: Option<DateTime<Utc>>,
}

/// The session's running run, locked (one per session: a partial unique index).
pub async fn lock_running(
    conn: &mut AsyncPgConnection,
    session_id: i64,
) -> QueryResult<Option<RunRow>> {
    flow_runs::table
        .filter(flow_runs::session_id.eq(session_id))
        .filter(flow_runs::status.eq(RunStatus::Running))
        .for_update()
        .select(RunRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<RunRow> {
    flow_runs::table
        .find(id)
        .select(RunRow::as_select())
        .first(conn)
        .await
}

/// Every step a run entered, in order.
pub async fn steps(conn: &mut AsyncPgConnection, run_id: i64) -> QueryResult<Vec<StepRow>> {
    flow_run_steps::table
        .filter(flow_run_steps::run_id.eq(run_id))
        .order(flow_run_steps::seq)
        .select(StepRow::as_select())
        .load(conn)
        .await
}

#[derive(Insertable)]
#[diesel(table_name = flow_runs)]
pub struct NewRun {
    pub project_id: i64,
    pub flow_id: i64,
    pub flow_version_id: i64,
    pub session_id: i64,
    pub contact_id: i64,
    pub channel_id: i64,
    pub preview: bool,
    pub trigger_kind: TriggerKind,
    pub trigger_message_id: Option<i64>,
    pub triggered_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewRun) -> QueryResult<RunRow> {
    diesel::insert_into(flow_runs::table)
        .values(new)
        .returning(RunRow::as_returning())
        .get_result(conn)
        .await
}

/// What a step changes on its run; `None` leaves a column as it is.
#[derive(AsChangeset, Default)]
#[diesel(table_name = flow_runs)]
pub struct RunChanges {
    pub status: Option<RunStatus>,
    pub end_reason: Option<Option<RunEndReason>>,
    pub current_step: Option<Option<String>>,
    pub step_seq: Option<i32>,
    pub waiting_for: Option<Option<RunWait>>,
    pub waiting_message_id: Option<Option<i64>>,
    pub retries: Option<i32>,
    pub vars: Option<serde_json::Value>,
    pub participated_at: Option<Option<DateTime<Utc>>>,
    pub completed_at: Option<Option<DateTime<Utc>>>,
    pub ended_at: Option<Option<DateTime<Utc>>>,
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: i64,
    changes: &RunChanges,
) -> QueryResult<RunRow> {
    diesel::update(flow_runs::table.find(id))
        .set(changes)
        .returning(RunRow::as_returning())
        .get_result(conn)
        .await
}

/// Ends the session's running run, if there is one (a human replied, the session ended): it
/// stays at the step it was at, whose row keeps no `left_port`.
pub async fn stop_running(
    conn: &mut AsyncPgConnection,
    session_id: i64,
    reason: RunEndReason,
    at: DateTime<Utc>,
) -> QueryResult<Option<RunRow>> {
    diesel::update(
        flow_runs::table
            .filter(flow_runs::session_id.eq(session_id))
            .filter(flow_runs::status.eq(RunStatus::Running)),
    )
    .set((
        flow_runs::status.eq(RunStatus::Stopped),
        flow_runs::end_reason.eq(Some(reason)),
        flow_runs::waiting_for.eq(None::<RunWait>),
        flow_runs::ended_at.eq(Some(at)),
    ))
    .returning(RunRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

#[derive(Insertable)]
#[diesel(table_name = flow_run_steps)]
pub struct NewStep<'a> {
    pub run_id: i64,
    pub flow_version_id: i64,
    pub seq: i32,
    pub step_id: &'a str,
    pub step_type: &'a str,
    pub from_step: Option<&'a str>,
    pub via_port: Option<&'a str>,
    pub entered_at: DateTime<Utc>,
}

pub async fn insert_step(conn: &mut AsyncPgConnection, new: &NewStep<'_>) -> QueryResult<usize> {
    diesel::insert_into(flow_run_steps::table)
        .values(new)
        .execute(conn)
        .await
}

/// The run left step number `seq` by `port`.
pub async fn leave_step(
    conn: &mut AsyncPgConnection,
    run_id: i64,
    seq: i32,
    port: &str,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        flow_run_steps::table
            .filter(flow_run_steps::run_id.eq(run_id))
            .filter(flow_run_steps::seq.eq(seq)),
    )
    .set((
        flow_run_steps::left_port.eq(Some(port)),
        flow_run_steps::left_at.eq(Some(at)),
    ))
    .execute(conn)
    .await
}

/// The flow whose run wrote a message (a flow is never triggered by its own messages).
pub async fn flow_of(conn: &mut AsyncPgConnection, run_id: i64) -> QueryResult<Option<i64>> {
    flow_runs::table
        .find(run_id)
        .select(flow_runs::flow_id)
        .first(conn)
        .await
        .optional()
}

// API reads

/// The flow's runs (previews too), newest first, with the number of the version each runs.
pub async fn of_flow(
    conn: &mut AsyncPgConnection,
    flow_id: i64,
    limit: i64,
) -> QueryResult<Vec<(RunRow, i32)>> {
    use super::schema::flow_versions;
    flow_runs::table
        .inner_join(flow_versions::table)
        .filter(flow_runs::flow_id.eq(flow_id))
        .order((flow_runs::triggered_at.desc(), flow_runs::id.desc()))
        .limit(limit)
        .select((RunRow::as_select(), flow_versions::version))
        .load(conn)
        .await
}
