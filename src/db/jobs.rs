//! Durable background jobs (contact sync). A job is `queued`, then `running` while a runner
//! holds its lease (`claimed_until`, renewed with each saved step), and ends `done`, `failed`
//! (`last_error` says why) or `cancelled`. One queued or running job per channel and kind
//! (`jobs_one_active_per_channel_kind`): asking for a second one returns the active one.
//!
//! Every claim counts an attempt, and a runner's later writes are fenced by the attempt it
//! claimed: a runner whose lease lapsed and whose job was claimed again writes nothing.

use super::enums::{JobKind, JobState};
use super::schema::jobs;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Double, Int4, Int8, Jsonb, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub id: i64,
    pub project_id: i64,
    pub kind: JobKind,
    pub state: JobState,
    pub params: serde_json::Value,
    pub progress: serde_json::Value,
    /// Claims so far; also the fencing token of the current claim.
    pub attempts: i32,
    pub last_error: Option<String>,
    pub run_after: DateTime<Utc>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub channel_id: Option<i64>,
    pub cancel_requested: bool,
}

/// Queues a job for a channel, or returns the channel's active job of that kind; `true` when
/// this call queued it.
pub async fn insert_or_active(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    channel_id: i64,
    kind: JobKind,
    params: &serde_json::Value,
) -> QueryResult<(JobRow, bool)> {
    // The active job can finish between the insert that conflicts with it and the read: the
    // second round then inserts.
    for _ in 0..3 {
        let inserted: Option<JobRow> = diesel::sql_query(
            "INSERT INTO jobs (project_id, channel_id, kind, params) VALUES ($1, $2, $3, $4)
             ON CONFLICT (channel_id, kind)
                 WHERE state IN ('queued', 'running') AND channel_id IS NOT NULL
             DO NOTHING
             RETURNING *",
        )
        .bind::<Int8, _>(project_id)
        .bind::<Int8, _>(channel_id)
        .bind::<Text, _>(kind)
        .bind::<Jsonb, _>(params)
        .get_result(conn)
        .await
        .optional()?;
        if let Some(row) = inserted {
            return Ok((row, true));
        }
        let active = jobs::table
            .filter(jobs::channel_id.eq(channel_id))
            .filter(jobs::kind.eq(kind))
            .filter(jobs::state.eq_any([JobState::Queued, JobState::Running]))
            .select(JobRow::as_select())
            .first(conn)
            .await
            .optional()?;
        if let Some(row) = active {
            return Ok((row, false));
        }
    }
    Err(diesel::result::Error::NotFound)
}

/// Claims the longest-due queued job, or a running one whose runner's lease lapsed (it died),
/// for `lease_secs`; counts the attempt.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    lease_secs: f64,
) -> QueryResult<Option<JobRow>> {
    diesel::sql_query(
        "UPDATE jobs SET state = 'running', claimed_until = now() + make_interval(secs => $1),
                attempts = attempts + 1, updated_at = now()
         WHERE id = (
             SELECT id FROM jobs
             WHERE state IN ('queued', 'running') AND run_after <= now()
               AND (claimed_until IS NULL OR claimed_until < now())
             ORDER BY run_after, id LIMIT 1
             FOR UPDATE SKIP LOCKED)
         RETURNING *",
    )
    .bind::<Double, _>(lease_secs)
    .get_result(conn)
    .await
    .optional()
}

/// Saves a running job's progress (its cursor and counters, in one UPDATE) and renews the
/// lease. `updated_at` is the time of the write, not of its transaction's start: clients keep
/// the view with the latest `updated_at`. `None`: the claim `attempt` is no longer this job's (it lapsed and was claimed again,
/// or the job was cancelled meanwhile), so the caller stops.
pub async fn save_progress(
    conn: &mut AsyncPgConnection,
    id: i64,
    attempt: i32,
    progress: &serde_json::Value,
    lease_secs: f64,
) -> QueryResult<Option<JobRow>> {
    diesel::sql_query(
        "UPDATE jobs SET progress = $3, claimed_until = now() + make_interval(secs => $4),
                updated_at = clock_timestamp()
         WHERE id = $1 AND attempts = $2 AND state = 'running'
         RETURNING *",
    )
    .bind::<Int8, _>(id)
    .bind::<Int4, _>(attempt)
    .bind::<Jsonb, _>(progress)
    .bind::<Double, _>(lease_secs)
    .get_result(conn)
    .await
    .optional()
}

/// Renews a running job's lease without changing it (a long wait between two steps).
pub async fn renew(
    conn: &mut AsyncPgConnection,
    id: i64,
    attempt: i32,
    lease_secs: f64,
) -> QueryResult<Option<JobRow>> {
    diesel::sql_query(
        "UPDATE jobs SET claimed_until = now() + make_interval(secs => $3)
         WHERE id = $1 AND attempts = $2 AND state = 'running'
         RETURNING *",
    )
    .bind::<Int8, _>(id)
    .bind::<Int4, _>(attempt)
    .bind::<Double, _>(lease_secs)
    .get_result(conn)
    .await
    .optional()
}

/// Ends a running job as `done`, `failed` or `cancelled`, with its last progress.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    id: i64,
    attempt: i32,
    state: JobState,
    progress: &serde_json::Value,
    error: Option<&str>,
) -> QueryResult<Option<JobRow>> {
    diesel::sql_query(
        "UPDATE jobs SET state = $3, progress = $4, last_error = $5, claimed_until = NULL,
                updated_at = clock_timestamp()
         WHERE id = $1 AND attempts = $2 AND state = 'running'
         RETURNING *",
    )
    .bind::<Int8, _>(id)
    .bind::<Int4, _>(attempt)
    .bind::<Text, _>(state)
    .bind::<Jsonb, _>(progress)
    .bind::<Nullable<Text>, _>(error)
    .get_result(conn)
    .await
    .optional()
}

/// Gives a running job back to the queue until `run_after` (its runner hit a passing problem,
/// such as the database going away, and another attempt may succeed).
pub async fn release(
    conn: &mut AsyncPgConnection,
    id: i64,
    attempt: i32,
    error: &str,
    run_after: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        jobs::table
            .find(id)
            .filter(jobs::attempts.eq(attempt))
            .filter(jobs::state.eq(JobState::Running)),
    )
    .set((
        jobs::last_error.eq(Some(error)),
        jobs::run_after.eq(run_after),
        jobs::claimed_until.eq(None::<DateTime<Utc>>),
        jobs::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await
}

/// Asks a job to stop. A job that no runner holds (queued, or running under a lapsed lease)
/// is cancelled at once; a held one stops before its next step. A finished job is unchanged.
pub async fn request_cancel(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    id: i64,
) -> QueryResult<JobRow> {
    let changed: Option<JobRow> = diesel::sql_query(
        "UPDATE jobs SET cancel_requested = true, updated_at = now(),
                state = CASE WHEN claimed_until IS NULL OR claimed_until < now()
                             THEN 'cancelled' ELSE state END
         WHERE id = $1 AND project_id = $2 AND state IN ('queued', 'running')
         RETURNING *",
    )
    .bind::<Int8, _>(id)
    .bind::<Int8, _>(project_id)
    .get_result(conn)
    .await
    .optional()?;
    match changed {
        Some(row) => Ok(row),
        None => find(conn, project_id, id).await,
    }
}

pub async fn find(conn: &mut AsyncPgConnection, project_id: i64, id: i64) -> QueryResult<JobRow> {
    jobs::table
        .filter(jobs::project_id.eq(project_id))
        .filter(jobs::id.eq(id))
        .select(JobRow::as_select())
        .first(conn)
        .await
}

/// The channel's newest job of a kind, whatever its state.
pub async fn latest_for_channel(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    channel_id: i64,
    kind: JobKind,
) -> QueryResult<Option<JobRow>> {
    jobs::table
        .filter(jobs::project_id.eq(project_id))
        .filter(jobs::channel_id.eq(channel_id))
        .filter(jobs::kind.eq(kind))
        .order(jobs::id.desc())
        .select(JobRow::as_select())
        .first(conn)
        .await
        .optional()
}
