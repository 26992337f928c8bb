//! The e-mail outbox. A row is written in the transaction that decides to send a mail; the
//! mailer claims due rows with a lease (`FOR UPDATE SKIP LOCKED`, like timers), sends, and
//! records the outcome here. States: `pending` (to send, maybe after `next_attempt_at`),
//! `sent`, `failed` (permanent error or attempts exhausted; `last_error` says why).

use super::enums::OutboxState;
use super::schema::outbox;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Double, Int8};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub project_id: i64,
    pub kind: String,
    pub session_id: Option<i64>,
    pub timer_id: Option<i64>,
    pub recipient_user_id: Option<i64>,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub message_id: String,
    pub state: OutboxState,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutbox<'a> {
    pub project_id: i64,
    pub kind: &'a str,
    pub session_id: Option<i64>,
    pub timer_id: Option<i64>,
    pub recipient_user_id: Option<i64>,
    pub to_address: &'a str,
    pub to_name: &'a str,
    pub subject: &'a str,
    pub text_body: &'a str,
    pub html_body: &'a str,
}

/// Inserts a pending row; `message_id` is derived from the new id by `make_message_id` in the
/// same call (so the caller's transaction holds both or neither).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: NewOutbox<'_>,
    make_message_id: impl FnOnce(i64, i64) -> String,
) -> QueryResult<OutboxRow> {
    let (id, project_id): (i64, i64) = diesel::insert_into(outbox::table)
        .values(new)
        .returning((outbox::id, outbox::project_id))
        .get_result(conn)
        .await?;
    diesel::update(outbox::table.find(id))
        .set(outbox::message_id.eq(make_message_id(id, project_id)))
        .returning(OutboxRow::as_returning())
        .get_result(conn)
        .await
}

/// Claims up to `limit` due pending rows for `lease_secs` and counts the attempt; a claim whose
/// holder died lapses and the row is claimed again.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    limit: i64,
    lease_secs: f64,
) -> QueryResult<Vec<OutboxRow>> {
    diesel::sql_query(
        "UPDATE outbox SET claimed_until = now() + make_interval(secs => $2),
                attempts = attempts + 1, updated_at = now()
         WHERE id IN (
             SELECT id FROM outbox
             WHERE state = 'pending' AND next_attempt_at <= now()
               AND (claimed_until IS NULL OR claimed_until < now())
             ORDER BY next_attempt_at LIMIT $1
             FOR UPDATE SKIP LOCKED)
         RETURNING *",
    )
    .bind::<Int8, _>(limit)
    .bind::<Double, _>(lease_secs)
    .load(conn)
    .await
}

/// Records a delivery. Only a pending row changes (a row already settled stays as it is).
pub async fn mark_sent(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
    let now = Utc::now();
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::state.eq(OutboxState::Pending)),
    )
    .set((
        outbox::state.eq(OutboxState::Sent),
        outbox::sent_at.eq(Some(now)),
        outbox::claimed_until.eq(None::<DateTime<Utc>>),
        outbox::updated_at.eq(now),
    ))
    .execute(conn)
    .await
}

/// Records a temporary failure: the row stays pending until `next_attempt_at`.
pub async fn mark_retry(
    conn: &mut AsyncPgConnection,
    id: i64,
    error: &str,
    next_attempt_at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::state.eq(OutboxState::Pending)),
    )
    .set((
        outbox::last_error.eq(Some(error)),
        outbox::next_attempt_at.eq(next_attempt_at),
        outbox::claimed_until.eq(None::<DateTime<Utc>>),
        outbox::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await
}

/// Records a permanent failure: the row is not tried again.
pub async fn mark_failed(conn: &mut AsyncPgConnection, id: i64, error: &str) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::state.eq(OutboxState::Pending)),
    )
    .set((
        outbox::state.eq(OutboxState::Failed),
        outbox::last_error.eq(Some(error)),
        outbox::claimed_until.eq(None::<DateTime<Utc>>),
        outbox::updated_at.eq(Utc::now()),
    ))
    .execute(conn)
    .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    id: i64,
) -> QueryResult<Option<OutboxRow>> {
    outbox::table
        .filter(outbox::project_id.eq(project_id))
        .filter(outbox::id.eq(id))
        .select(OutboxRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// A project's rows, newest first, paged by id; `state` narrows to one state.
pub async fn list(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    state: Option<OutboxState>,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    let mut q = outbox::table
        .filter(outbox::project_id.eq(project_id))
        .select(OutboxRow::as_select())
        .order(outbox::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(s) = state {
        q = q.filter(outbox::state.eq(s));
    }
    if let Some(b) = before_id {
        q = q.filter(outbox::id.lt(b));
    }
    q.load(conn).await
}

/// Pending rows, due or waiting for a retry (the `/metrics` backlog; the partial index
/// `outbox_due` holds exactly these).
pub async fn count_pending(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::state.eq(OutboxState::Pending))
        .count()
        .get_result(conn)
        .await
}
