//! Automation analytics over `flow_runs` and `flow_run_steps`: the statistics actor's seed, the
//! recount it must agree with, the drill-down of triggered visitors (one row per contact, keyset
//! paging on (last trigger, contact) descending), and the per-version funnel. Preview runs are
//! never counted. Raw SQL where the query is an aggregate the DSL spells badly.

use super::enums::{ChannelKind, RunStatus, TriggerKind, VisitorStatus};
use super::schema::{flow_runs, flows};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A flow as the analytics list names it: (id, name, enabled, trigger kind, published version).
pub type FlowBriefRow = (i64, String, bool, TriggerKind, Option<i32>);

/// The project's flows, oldest first.
pub async fn flows_of(
    conn: &mut AsyncPgConnection,
    project_id: i64,
) -> QueryResult<Vec<FlowBriefRow>> {
    flows::table
        .filter(flows::project_id.eq(project_id))
        .order(flows::id)
        .select((
            flows::id,
            flows::name,
            flows::enabled,
            flows::trigger_kind,
            flows::published_version,
        ))
        .load(conn)
        .await
}

/// Whether the flow is the project's.
pub async fn flow_exists(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    flow_id: i64,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        flows::table
            .filter(flows::project_id.eq(project_id))
            .filter(flows::id.eq(flow_id)),
    ))
    .get_result(conn)
    .await
}

/// A run as the statistics count it: a row of the seed, or a change an event announces.
#[derive(Debug, Clone, Copy, Queryable)]
pub struct CountedRun {
    pub flow_id: i64,
    pub run_id: i64,
    pub contact_id: i64,
    pub triggered_at: DateTime<Utc>,
    pub participated: bool,
    pub completed: bool,
}

/// Every non-preview run, for the statistics actor's start (one query; at a million runs
/// about a second).
pub async fn seed(conn: &mut AsyncPgConnection) -> QueryResult<Vec<CountedRun>> {
    flow_runs::table
        .filter(flow_runs::preview.eq(false))
        .select((
            flow_runs::flow_id,
            flow_runs::id,
            flow_runs::contact_id,
            flow_runs::triggered_at,
            flow_runs::participated_at.is_not_null(),
            flow_runs::completed_at.is_not_null(),
        ))
        .load(conn)
        .await
}

/// (trigger times, triggered visitors, participants, completed visitors) of a flow over
/// `[from, to)`, counted from the run rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Recount {
    #[diesel(sql_type = BigInt)]
    pub trigger_times: i64,
    #[diesel(sql_type = BigInt)]
    pub triggered_visitors: i64,
    #[diesel(sql_type = BigInt)]
    pub participants: i64,
    #[diesel(sql_type = BigInt)]
    pub completed_visitors: i64,
}

pub async fn recount(
    conn: &mut AsyncPgConnection,
    flow_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<Recount> {
    diesel::sql_query(
        "SELECT count(*) AS trigger_times, \
                count(DISTINCT contact_id) AS triggered_visitors, \
                count(DISTINCT contact_id) FILTER (WHERE participated_at IS NOT NULL) AS participants, \
                count(DISTINCT contact_id) FILTER (WHERE completed_at IS NOT NULL) AS completed_visitors \
         FROM flow_runs \
         WHERE flow_id = $1 AND NOT preview AND triggered_at >= $2 AND triggered_at < $3",
    )
    .bind::<BigInt, _>(flow_id)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .get_result(conn)
    .await
}

/// The drill-down's filters.
#[derive(Debug, Clone)]
pub struct VisitorQuery {
    pub flow_id: i64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub status: Option<VisitorStatus>,
    pub channel_id: Option<i64>,
    /// Own data scope: only runs whose session is assigned to this member.
    pub assignee: Option<i64>,
}

/// One triggered visitor, with the number of visitors matching (all pages).
#[derive(Debug, Clone, QueryableByName)]
pub struct VisitorRow {
    #[diesel(sql_type = BigInt)]
    pub contact_id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub note_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub avatar_url: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub channel_id: i64,
    #[diesel(sql_type = Text)]
    pub channel_kind: ChannelKind,
    #[diesel(sql_type = Text)]
    pub channel_name: String,
    #[diesel(sql_type = Bool)]
    pub completed: bool,
    #[diesel(sql_type = Bool)]
    pub participated: bool,
    #[diesel(sql_type = BigInt)]
    pub triggers: i64,
    #[diesel(sql_type = Timestamptz)]
    pub first_triggered_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub last_triggered_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub last_session_id: i64,
    #[diesel(sql_type = BigInt)]
    pub total: i64,
}

/// The visitors' runs grouped per contact, filtered: the common part of a page and a count.
/// Binds: $1 flow, $2 from, $3 to, then the optional ones in this order.
fn grouped(q: &VisitorQuery) -> (String, usize) {
    let mut sql = String::from(
        "WITH v AS ( \
           SELECT r.contact_id, count(*) AS triggers, \
                  min(r.triggered_at) AS first_triggered_at, \
                  max(r.triggered_at) AS last_triggered_at, \
                  bool_or(r.completed_at IS NOT NULL) AS completed, \
                  bool_or(r.participated_at IS NOT NULL) AS participated, \
                  (array_agg(r.session_id ORDER BY r.triggered_at DESC, r.id DESC))[1] AS last_session_id, \
                  (array_agg(r.channel_id ORDER BY r.triggered_at DESC, r.id DESC))[1] AS channel_id \
           FROM flow_runs r \
           WHERE r.flow_id = $1 AND NOT r.preview AND r.triggered_at >= $2 AND r.triggered_at < $3",
    );
    let mut n = 3;
    if q.channel_id.is_some() {
        n += 1;
        sql.push_str(&format!(" AND r.channel_id = ${n}"));
    }
    if q.assignee.is_some() {
        n += 1;
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = r.session_id AND s.assignee_id = ${n})"
        ));
    }
    sql.push_str(" GROUP BY r.contact_id), f AS (SELECT * FROM v");
    sql.push_str(match q.status {
        None => "",
        Some(VisitorStatus::Completed) => " WHERE completed",
        Some(VisitorStatus::Participated) => " WHERE NOT completed AND participated",
        Some(VisitorStatus::NotParticipated) => " WHERE NOT completed AND NOT participated",
    });
    sql.push(')');
    (sql, n)
}

macro_rules! bind_filters {
    ($query:expr, $q:expr) => {{
        let mut query = $query
            .bind::<BigInt, _>($q.flow_id)
            .bind::<Timestamptz, _>($q.from)
            .bind::<Timestamptz, _>($q.to);
        if let Some(c) = $q.channel_id {
            query = query.bind::<BigInt, _>(c);
        }
        if let Some(a) = $q.assignee {
            query = query.bind::<BigInt, _>(a);
        }
        query
    }};
}

/// A page of triggered visitors, latest trigger first, after `after` (last trigger, contact).
/// Each row carries the total; an empty page counts separately.
pub async fn visitors(
    conn: &mut AsyncPgConnection,
    q: &VisitorQuery,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> QueryResult<(Vec<VisitorRow>, i64)> {
    let (mut sql, mut n) = grouped(q);
    sql.push_str(
        " SELECT f.contact_id, c.name, c.note_name, c.avatar_url, f.channel_id, \
                 ch.kind AS channel_kind, ch.name AS channel_name, f.completed, f.participated, \
                 f.triggers, f.first_triggered_at, f.last_triggered_at, f.last_session_id, \
                 (SELECT count(*) FROM f) AS total \
          FROM f JOIN contacts c ON c.id = f.contact_id JOIN channels ch ON ch.id = f.channel_id",
    );
    if after.is_some() {
        sql.push_str(&format!(
            " WHERE (f.last_triggered_at, f.contact_id) < (${}, ${})",
            n + 1,
            n + 2
        ));
        n += 2;
    }
    sql.push_str(&format!(
        " ORDER BY f.last_triggered_at DESC, f.contact_id DESC LIMIT ${}",
        n + 1
    ));
    let mut query = bind_filters!(diesel::sql_query(sql).into_boxed(), q);
    if let Some((t, c)) = after {
        query = query.bind::<Timestamptz, _>(t).bind::<BigInt, _>(c);
    }
    let rows: Vec<VisitorRow> = query.bind::<BigInt, _>(limit).load(conn).await?;
    let total = match rows.as_slice().first() {
        Some(r) => r.total,
        None => count(conn, q).await?,
    };
    Ok((rows, total))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many visitors match the filters.
pub async fn count(conn: &mut AsyncPgConnection, q: &VisitorQuery) -> QueryResult<i64> {
    let (mut sql, _) = grouped(q);
    sql.push_str(" SELECT count(*) AS n FROM f");
    let c: Count = bind_filters!(diesel::sql_query(sql).into_boxed(), q)
        .get_result(conn)
        .await?;
    Ok(c.n)
}

/// A published (non-preview) version of the flow: (id, document).
pub async fn version_of(
    conn: &mut AsyncPgConnection,
    flow_id: i64,
    version: i32,
) -> QueryResult<Option<(i64, serde_json::Value)>> {
    use super::schema::flow_versions;
    flow_versions::table
        .filter(flow_versions::flow_id.eq(flow_id))
        .filter(flow_versions::version.eq(version))
        .filter(flow_versions::preview.eq(false))
        .select((flow_versions::id, flow_versions::document))
        .first(conn)
        .await
        .optional()
}

/// Per step of a version: (step id, type, distinct runs that entered it), from the step rows
/// (needed only when a run can enter a step twice: a version with a loop).
#[derive(Debug, Clone, QueryableByName)]
pub struct StepReached {
    #[diesel(sql_type = Text)]
    pub step_id: String,
    #[diesel(sql_type = Text)]
    pub step_type: String,
    #[diesel(sql_type = BigInt)]
    pub reached: i64,
}

pub async fn steps_reached(
    conn: &mut AsyncPgConnection,
    version_id: i64,
) -> QueryResult<Vec<StepReached>> {
    diesel::sql_query(
        "SELECT step_id, min(step_type) AS step_type, count(DISTINCT run_id) AS reached \
         FROM flow_run_steps WHERE flow_version_id = $1 GROUP BY step_id",
    )
    .bind::<BigInt, _>(version_id)
    .load(conn)
    .await
}

/// A version's step rows grouped by the step entered and where from: (step, type, from
/// step, port, how many entries) — the edges' counts, and each step's entries. One scan.
#[derive(Debug, Clone, QueryableByName)]
pub struct Entries {
    #[diesel(sql_type = Text)]
    pub step_id: String,
    #[diesel(sql_type = Text)]
    pub step_type: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub from_step: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub via_port: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

pub async fn entries(conn: &mut AsyncPgConnection, version_id: i64) -> QueryResult<Vec<Entries>> {
    diesel::sql_query(
        "SELECT step_id, min(step_type) AS step_type, from_step, via_port, count(*) AS n \
         FROM flow_run_steps WHERE flow_version_id = $1 \
         GROUP BY step_id, from_step, via_port",
    )
    .bind::<BigInt, _>(version_id)
    .load(conn)
    .await
}

/// Where a version's runs are or ended: (step, status, runs). A run's `current_step` is the
/// step of its last step row (the one without `left_port`).
pub async fn runs_at(
    conn: &mut AsyncPgConnection,
    version_id: i64,
) -> QueryResult<Vec<(Option<String>, RunStatus, i64)>> {
    flow_runs::table
        .filter(flow_runs::flow_version_id.eq(version_id))
        .group_by((flow_runs::current_step, flow_runs::status))
        .select((
            flow_runs::current_step,
            flow_runs::status,
            diesel::dsl::count_star(),
        ))
        .load(conn)
        .await
}
