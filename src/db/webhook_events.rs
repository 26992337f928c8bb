//! Webhook POSTs as received, one row per channel they concern: stored before the request is
//! answered, processed after by the channel's actor in id order.

use super::schema::webhook_events as we;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = we)]
pub struct WebhookEvent {
    pub id: i64,
    pub channel_id: i64,
    /// The raw body (its signature was checked over these bytes).
    pub body: String,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// One row per channel, in one statement (the webhook's only write).
pub async fn insert(
    conn: &mut AsyncPgConnection,
    channel_ids: &[i64],
    body: &str,
) -> QueryResult<Vec<i64>> {
    let rows: Vec<_> = channel_ids
        .iter()
        .map(|c| (we::channel_id.eq(*c), we::body.eq(body)))
        .collect();
    diesel::insert_into(we::table)
        .values(rows)
        .returning(we::id)
        .get_results(conn)
        .await
}

/// The oldest unprocessed rows of a channel, in id order, each counted as one more attempt.
/// Processing is idempotent (unique mids, upserted contacts, watermarks), so a row processed
/// twice — by two servers, or again after a crash before it was marked — changes nothing more.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    channel_id: i64,
    limit: i64,
) -> QueryResult<Vec<WebhookEvent>> {
    use diesel::sql_types::Int8;
    let mut rows: Vec<WebhookEvent> = diesel::sql_query(
        "UPDATE webhook_events SET attempts = attempts + 1
          WHERE id IN (
              SELECT id FROM webhook_events
               WHERE channel_id = $1 AND processed_at IS NULL
               ORDER BY id LIMIT $2
               FOR UPDATE SKIP LOCKED)
      RETURNING *",
    )
    .bind::<Int8, _>(channel_id)
    .bind::<Int8, _>(limit)
    .load(conn)
    .await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// Done; `error` says what could not be processed when the row was given up on.
pub async fn mark_processed(
    conn: &mut AsyncPgConnection,
    id: i64,
    error: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(we::table.find(id))
        .set((we::processed_at.eq(Utc::now()), we::last_error.eq(error)))
        .execute(conn)
        .await
}

/// Not processed this time (the database or a session was unavailable): tried again later.
pub async fn mark_failed(conn: &mut AsyncPgConnection, id: i64, error: &str) -> QueryResult<usize> {
    diesel::update(we::table.find(id))
        .set(we::last_error.eq(error))
        .execute(conn)
        .await
}

/// Channels with rows left to process (after a restart, or a nudge that was lost).
pub async fn channels_with_pending(conn: &mut AsyncPgConnection) -> QueryResult<Vec<i64>> {
    we::table
        .filter(we::processed_at.is_null())
        .select(we::channel_id)
        .distinct()
        .load(conn)
        .await
}
