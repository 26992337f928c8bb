//! Durable timers. A timer is a row; the scheduler claims due rows with a lease and fires them
//! (through the session's actor when it has a session), marking the row fired in the
//! transaction that applies it. What a kind does is in `domain::timers`.

use super::schema::timers;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Int8, Jsonb, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = timers)]
pub struct TimerRow {
    pub id: i64,
    pub project_id: i64,
    pub session_id: Option<i64>,
    pub kind: String,
    pub due_at: DateTime<Utc>,
    pub payload: serde_json::Value,
    pub claimed_until: Option<DateTime<Utc>>,
    pub fired_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Tells apart several pending timers of one kind for one session ('' when one is kept).
    pub key: String,
    /// What the timer waits on (an automation run's step number, the message a silence
    /// follows): re-checked when it fires.
    pub episode: String,
    /// Why a timer that no longer applied when it fired did nothing.
    pub skip_reason: Option<String>,
}

/// Sets (or moves) the one pending timer of `kind` for a session (the empty key).
pub async fn upsert_for_session(
    mut conn: &AsyncPgConnection,
    project_id: i64,
    session_id: i64,
    kind: &str,
    due_at: DateTime<Utc>,
    payload: &serde_json::Value,
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO timers (project_id, session_id, kind, due_at, payload) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (session_id, kind, key) WHERE fired_at IS NULL
         DO UPDATE SET due_at = EXCLUDED.due_at, payload = EXCLUDED.payload, claimed_until = NULL",
    )
    .bind::<Int8, _>(project_id)
    .bind::<Int8, _>(session_id)
    .bind::<Text, _>(kind)
    .bind::<Timestamptz, _>(due_at)
    .bind::<Jsonb, _>(payload)
    .execute(&mut conn)
    .await
}

pub async fn cancel_for_session(
    mut conn: &AsyncPgConnection,
    session_id: i64,
    kind: &str,
) -> QueryResult<usize> {
    diesel::delete(
        timers::table
            .filter(timers::session_id.eq(session_id))
            .filter(timers::kind.eq(kind))
            .filter(timers::fired_at.is_null()),
    )
    .execute(&mut conn)
    .await
}

/// Moves every pending timer of `kind` in a project to `payload[key]` (a timestamp) plus
/// `secs`: a project setting that sets the delay changed.
pub async fn reschedule_from_payload(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    kind: &str,
    key: &str,
    secs: i64,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE timers SET due_at = (payload->>$3)::timestamptz + make_interval(secs => $4),
                claimed_until = NULL
         WHERE project_id = $1 AND kind = $2 AND fired_at IS NULL AND payload ? $3",
    )
    .bind::<Int8, _>(project_id)
    .bind::<Text, _>(kind)
    .bind::<Text, _>(key)
    .bind::<diesel::sql_types::Double, _>(secs as f64)
    .execute(conn)
    .await
}

/// Claims up to `limit` due timers for `lease_secs`; a claim whose holder died lapses.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    limit: i64,
    lease_secs: i64,
) -> QueryResult<Vec<TimerRow>> {
    diesel::sql_query(
        "UPDATE timers SET claimed_until = now() + make_interval(secs => $2)
         WHERE id IN (
             SELECT id FROM timers
             WHERE fired_at IS NULL AND due_at <= now()
               AND (claimed_until IS NULL OR claimed_until < now())
             ORDER BY due_at LIMIT $1
             FOR UPDATE SKIP LOCKED)
         RETURNING *",
    )
    .bind::<Int8, _>(limit)
    .bind::<diesel::sql_types::Double, _>(lease_secs as f64)
    .load(conn)
    .await
}

/// Locks a pending timer for firing; `None` when it already fired or was cancelled.
pub async fn lock_pending(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<TimerRow>> {
    timers::table
        .filter(timers::id.eq(id))
        .filter(timers::fired_at.is_null())
        .for_update()
        .select(TimerRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn mark_fired(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
    diesel::update(timers::table.find(id))
        .set(timers::fired_at.eq(Utc::now()))
        .execute(conn)
        .await
}

/// Sets (or moves) the pending timer of `kind` and `key` for a session, naming the `episode`
/// it waits on (re-checked when it fires).
#[allow(clippy::too_many_arguments)]
pub async fn upsert_episode(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    session_id: i64,
    kind: &str,
    key: &str,
    episode: &str,
    due_at: DateTime<Utc>,
    payload: &serde_json::Value,
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO timers (project_id, session_id, kind, key, episode, due_at, payload)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (session_id, kind, key) WHERE fired_at IS NULL
         DO UPDATE SET due_at = EXCLUDED.due_at, payload = EXCLUDED.payload,
                       episode = EXCLUDED.episode, claimed_until = NULL",
    )
    .bind::<Int8, _>(project_id)
    .bind::<Int8, _>(session_id)
    .bind::<Text, _>(kind)
    .bind::<Text, _>(key)
    .bind::<Text, _>(episode)
    .bind::<Timestamptz, _>(due_at)
    .bind::<Jsonb, _>(payload)
    .execute(conn)
    .await
}

/// A timer that fired but no longer applied: why it did nothing.
pub async fn mark_skipped(
    conn: &mut AsyncPgConnection,
    id: i64,
    reason: &str,
) -> QueryResult<usize> {
    diesel::update(timers::table.find(id))
        .set(timers::skip_reason.eq(Some(reason)))
        .execute(conn)
        .await
}

/// Timers due and not fired: the scheduler's backlog (`/metrics`; within the partial index
/// `timers_due`).
pub async fn count_overdue(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    timers::table
        .filter(timers::fired_at.is_null())
        .filter(timers::due_at.le(Utc::now()))
        .count()
        .get_result(conn)
        .await
}
