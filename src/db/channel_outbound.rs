//! Messages to send through a channel's platform (Messenger), one row per message, written in
//! the message's transaction. The sender claims due `pending` rows, marks them `sending` (a
//! committed lease) before the request, and records the outcome; echoes and delivery/read
//! watermarks update them.

use super::enums::{MessagingType, OutboundState};
use super::schema::channel_outbound as co;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = co)]
pub struct ChannelOutbound {
    pub message_id: i64,
    pub channel_id: i64,
    pub session_id: i64,
    pub recipient: String,
    pub messaging_type: MessagingType,
    pub tag: Option<String>,
    pub state: OutboundState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub error_code: Option<i32>,
    pub error_subcode: Option<i32>,
    pub error_text: Option<String>,
    pub mid: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = co)]
pub struct NewOutbound<'a> {
    pub message_id: i64,
    pub channel_id: i64,
    pub session_id: i64,
    pub recipient: &'a str,
    pub messaging_type: MessagingType,
    pub tag: Option<&'a str>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: NewOutbound<'_>,
) -> QueryResult<ChannelOutbound> {
    diesel::insert_into(co::table)
        .values(new)
        .returning(ChannelOutbound::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    message_id: i64,
) -> QueryResult<Option<ChannelOutbound>> {
    co::table
        .find(message_id)
        .select(ChannelOutbound::as_select())
        .first(conn)
        .await
        .optional()
}

/// The rows of these messages (to show their delivery with the history).
pub async fn of_messages(
    conn: &mut AsyncPgConnection,
    message_ids: &[i64],
) -> QueryResult<Vec<ChannelOutbound>> {
    if message_ids.is_empty() {
        return Ok(Vec::new());
    }
    co::table
        .filter(co::message_id.eq_any(message_ids))
        .select(ChannelOutbound::as_select())
        .load(conn)
        .await
}

pub async fn by_mid(
    conn: &mut AsyncPgConnection,
    channel_id: i64,
    mid: &str,
) -> QueryResult<Option<ChannelOutbound>> {
    co::table
        .filter(co::channel_id.eq(channel_id))
        .filter(co::mid.eq(mid))
        .select(ChannelOutbound::as_select())
        .first(conn)
        .await
        .optional()
}

/// The channels with a `pending` row due now: the sender claims only on these.
pub async fn due_channels(conn: &mut AsyncPgConnection) -> QueryResult<Vec<i64>> {
    co::table
        .filter(co::state.eq(OutboundState::Pending))
        .filter(co::next_attempt_at.le(Utc::now()))
        .select(co::channel_id)
        .distinct()
        .load(conn)
        .await
}

/// Claims up to `limit` due `pending` rows of a channel: each becomes `sending` with a lease
/// and one more attempt, committed before any request goes out. One per person at a time,
/// oldest first: a row waits while an older one to the same recipient is pending (even
/// backing off) or any is being sent, so a person gets messages in the order they were written.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    channel_id: i64,
    lease_secs: f64,
    limit: i64,
) -> QueryResult<Vec<ChannelOutbound>> {
    use diesel::sql_types::{Double, Int8};
    diesel::sql_query(
        "UPDATE channel_outbound
            SET state = 'sending', attempts = attempts + 1,
                claimed_until = now() + make_interval(secs => $3), updated_at = now()
          WHERE message_id IN (
              SELECT o.message_id FROM channel_outbound o
               WHERE o.channel_id = $1 AND o.state = 'pending' AND o.next_attempt_at <= now()
                 -- Two checks, each within a partial index's few rows (pending, sending).
                 AND NOT EXISTS (
                     SELECT 1 FROM channel_outbound e
                      WHERE e.state = 'pending' AND e.channel_id = o.channel_id
                        AND e.recipient = o.recipient AND e.message_id < o.message_id)
                 AND NOT EXISTS (
                     SELECT 1 FROM channel_outbound e
                      WHERE e.state = 'sending' AND e.channel_id = o.channel_id
                        AND e.recipient = o.recipient)
               ORDER BY o.message_id LIMIT $2
               FOR UPDATE OF o SKIP LOCKED)
      RETURNING *",
    )
    .bind::<Int8, _>(channel_id)
    .bind::<Int8, _>(limit)
    .bind::<Double, _>(lease_secs)
    .load(conn)
    .await
}

type NullableTs = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>;

/// `sent_at` keeps the first time it was set (the echo and the HTTP answer race).
fn first_sent_at() -> diesel::expression::SqlLiteral<NullableTs> {
    diesel::dsl::sql::<NullableTs>("COALESCE(sent_at, now())")
}

/// The platform accepted it: `sent` with its mid. An echo may have recorded it first; the
/// first `sent_at` stays.
pub async fn mark_sent(
    conn: &mut AsyncPgConnection,
    message_id: i64,
    mid: &str,
) -> QueryResult<Option<ChannelOutbound>> {
    diesel::update(co::table.find(message_id))
        .set((
            co::state.eq(OutboundState::Sent),
            co::mid.eq(mid),
            co::sent_at.eq(first_sent_at()),
            co::claimed_until.eq(None::<DateTime<Utc>>),
            co::error_code.eq(None::<i32>),
            co::error_subcode.eq(None::<i32>),
            co::error_text.eq(None::<String>),
            co::updated_at.eq(Utc::now()),
        ))
        .returning(ChannelOutbound::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// An echo of our own send (matched by the metadata's message id): `sent` with its mid,
/// whatever state the row was in (`sending`, or `unconfirmed` after a crash). `None` when the
/// row is not this channel's.
pub async fn confirm_by_echo(
    conn: &mut AsyncPgConnection,
    channel_id: i64,
    message_id: i64,
    mid: &str,
) -> QueryResult<Option<ChannelOutbound>> {
    diesel::update(
        co::table
            .filter(co::message_id.eq(message_id))
            .filter(co::channel_id.eq(channel_id)),
    )
    .set((
        co::state.eq(OutboundState::Sent),
        co::mid.eq(mid),
        co::sent_at.eq(first_sent_at()),
        co::claimed_until.eq(None::<DateTime<Utc>>),
        co::updated_at.eq(Utc::now()),
    ))
    .returning(ChannelOutbound::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// A platform error as stored on the row: (code, subcode, text).
pub type StoredError<'a> = (Option<i32>, Option<i32>, &'a str);

/// Settles a `sending` row in `state` with `error` (and, when given, due again at `at`); `None`
/// when the row was no longer `sending` (an echo confirmed it, or its lease expired).
async fn settle(
    conn: &mut AsyncPgConnection,
    message_id: i64,
    state: OutboundState,
    at: Option<DateTime<Utc>>,
    error: StoredError<'_>,
) -> QueryResult<Option<ChannelOutbound>> {
    let now = Utc::now();
    diesel::update(
        co::table
            .find(message_id)
            .filter(co::state.eq(OutboundState::Sending)),
    )
    .set((
        co::state.eq(state),
        co::next_attempt_at.eq(at.unwrap_or(now)),
        co::claimed_until.eq(None::<DateTime<Utc>>),
        co::error_code.eq(error.0),
        co::error_subcode.eq(error.1),
        co::error_text.eq(error.2),
        co::updated_at.eq(now),
    ))
    .returning(ChannelOutbound::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// A temporary failure: `pending` again, due at `at`, with the error kept for the console.
pub async fn mark_retry(
    conn: &mut AsyncPgConnection,
    message_id: i64,
    at: DateTime<Utc>,
    error: StoredError<'_>,
) -> QueryResult<Option<ChannelOutbound>> {
    settle(conn, message_id, OutboundState::Pending, Some(at), error).await
}

/// Refused for good (or out of attempts): `failed`, with why.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    message_id: i64,
    error: StoredError<'_>,
) -> QueryResult<Option<ChannelOutbound>> {
    settle(conn, message_id, OutboundState::Failed, None, error).await
}

/// The request went out but no answer came (a timeout, a connection cut mid-answer): the
/// platform may have the message, so it is `unconfirmed`, not sent again by itself; an echo
/// may still confirm it.
pub async fn mark_unconfirmed(
    conn: &mut AsyncPgConnection,
    message_id: i64,
    error: &str,
) -> QueryResult<Option<ChannelOutbound>> {
    let error = (None, None, error);
    settle(conn, message_id, OutboundState::Unconfirmed, None, error).await
}

/// An agent asks to send a `failed` or `unconfirmed` message again: `pending`, due now.
pub async fn requeue(
    conn: &mut AsyncPgConnection,
    message_id: i64,
    messaging_type: MessagingType,
    tag: Option<&str>,
) -> QueryResult<Option<ChannelOutbound>> {
    let now = Utc::now();
    diesel::update(
        co::table
            .find(message_id)
            .filter(co::state.eq_any([OutboundState::Failed, OutboundState::Unconfirmed])),
    )
    .set((
        co::state.eq(OutboundState::Pending),
        co::messaging_type.eq(messaging_type),
        co::tag.eq(tag),
        co::next_attempt_at.eq(now),
        co::updated_at.eq(now),
    ))
    .returning(ChannelOutbound::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Rows left `sending` past their lease by a server that died mid-request: whether the
/// platform got them is unknown, so they become `unconfirmed` (an echo may still confirm one)
/// and are never sent again by themselves.
pub async fn expire_sending(conn: &mut AsyncPgConnection) -> QueryResult<Vec<ChannelOutbound>> {
    let now = Utc::now();
    diesel::update(
        co::table
            .filter(co::state.eq(OutboundState::Sending))
            .filter(co::claimed_until.lt(now)),
    )
    .set((
        co::state.eq(OutboundState::Unconfirmed),
        co::claimed_until.eq(None::<DateTime<Utc>>),
        co::updated_at.eq(now),
    ))
    .returning(ChannelOutbound::as_returning())
    .get_results(conn)
    .await
}

/// A delivery watermark: every message sent to `recipient` at or before `at` is delivered.
pub async fn mark_delivered_until(
    conn: &mut AsyncPgConnection,
    channel_id: i64,
    recipient: &str,
    at: DateTime<Utc>,
) -> QueryResult<Vec<ChannelOutbound>> {
    diesel::update(
        co::table
            .filter(co::channel_id.eq(channel_id))
            .filter(co::recipient.eq(recipient))
            .filter(co::state.eq(OutboundState::Sent))
            .filter(co::sent_at.le(at))
            .filter(co::delivered_at.is_null()),
    )
    .set((co::delivered_at.eq(at), co::updated_at.eq(Utc::now())))
    .returning(ChannelOutbound::as_returning())
    .get_results(conn)
    .await
}

/// A read watermark: read (and so delivered) up to `at`.
pub async fn mark_read_until(
    conn: &mut AsyncPgConnection,
    channel_id: i64,
    recipient: &str,
    at: DateTime<Utc>,
) -> QueryResult<Vec<ChannelOutbound>> {
    diesel::update(
        co::table
            .filter(co::channel_id.eq(channel_id))
            .filter(co::recipient.eq(recipient))
            .filter(co::state.eq(OutboundState::Sent))
            .filter(co::sent_at.le(at))
            .filter(co::read_at.is_null()),
    )
    .set((
        co::read_at.eq(at),
        co::delivered_at.eq(diesel::dsl::sql::<NullableTs>(
            "COALESCE(delivered_at, read_at)",
        )),
        co::updated_at.eq(Utc::now()),
    ))
    .returning(ChannelOutbound::as_returning())
    .get_results(conn)
    .await
}

/// Pending rows, due or waiting for a retry (the `/metrics` backlog; the partial index
/// `channel_outbound_due` holds exactly these).
pub async fn count_pending(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    co::table
        .filter(co::state.eq(OutboundState::Pending))
        .count()
        .get_result(conn)
        .await
}
