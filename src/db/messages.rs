//! Messages of a session, ordered by their per-session sequence number.

use super::enums::SenderKind;
use super::prepared::prepared;
use super::schema::messages;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Also serialised whole into the events that cross servers (`crate::bus`).
#[derive(
    Debug, Clone, Queryable, QueryableByName, Selectable, serde::Serialize, serde::Deserialize,
)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: i64,
    pub session_id: i64,
    pub seq: i64,
    pub sender_kind: SenderKind,
    pub sender_user_id: Option<i64>,
    pub client_id: Option<String>,
    pub body: String,
    pub off_platform: bool,
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Set with `external_id`: a channel's message id is unique per channel.
    pub channel_id: Option<i64>,
    /// What is not text: `attachments` (links), `postback`, `quick_reply`; `{}` for plain text.
    pub content: serde_json::Value,
    /// The automation run that wrote this bot message.
    pub flow_run_id: Option<i64>,
}

/// `MessageRow`'s columns, for the prepared fixed texts (named, not `*`: see
/// `sessions::session_columns`).
macro_rules! message_columns {
    () => {
        "messages.id, messages.session_id, messages.seq, messages.sender_kind, \
         messages.sender_user_id, messages.client_id, messages.body, messages.off_platform, \
         messages.external_id, messages.created_at, messages.channel_id, messages.content, \
         messages.flow_run_id"
    };
}

#[derive(Clone, Insertable)]
#[diesel(table_name = messages)]
pub struct NewMessage<'a> {
    pub session_id: i64,
    pub seq: i64,
    pub sender_kind: SenderKind,
    pub sender_user_id: Option<i64>,
    pub client_id: Option<&'a str>,
    pub body: &'a str,
    pub off_platform: bool,
    pub external_id: Option<&'a str>,
    pub created_at: DateTime<Utc>,
    pub channel_id: Option<i64>,
    pub content: &'a serde_json::Value,
    pub flow_run_id: Option<i64>,
}

pub async fn insert(mut conn: &AsyncPgConnection, new: NewMessage<'_>) -> QueryResult<MessageRow> {
    use diesel::sql_types::{Bool, Int8, Jsonb, Nullable, Text, Timestamptz};
    // A fixed text (every post runs it): diesel builds an INSERT's SQL again for each run.
    prepared(
        diesel::sql_query(concat!(
            "INSERT INTO messages (session_id, seq, sender_kind, sender_user_id, client_id, body,
                                   off_platform, external_id, created_at, channel_id, content,
                                   flow_run_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             RETURNING ",
            message_columns!()
        ))
        .bind::<Int8, _>(new.session_id)
        .bind::<Int8, _>(new.seq)
        .bind::<Text, _>(new.sender_kind.as_str())
        .bind::<Nullable<Int8>, _>(new.sender_user_id)
        .bind::<Nullable<Text>, _>(new.client_id)
        .bind::<Text, _>(new.body)
        .bind::<Bool, _>(new.off_platform)
        .bind::<Nullable<Text>, _>(new.external_id)
        .bind::<Timestamptz, _>(new.created_at)
        .bind::<Nullable<Int8>, _>(new.channel_id)
        .bind::<Jsonb, _>(new.content)
        .bind::<Nullable<Int8>, _>(new.flow_run_id),
    )
    .get_result(&mut conn)
    .await
}

/// Inserts these messages in one statement; returns them as stored, in no particular order.
pub async fn insert_many(
    mut conn: &AsyncPgConnection,
    rows: &[NewMessage<'_>],
) -> QueryResult<Vec<MessageRow>> {
    use diesel::sql_types::{Array, Bool, Int8, Jsonb, Nullable, Text, Timestamptz};
    fn col<'r, 'a, T>(rows: &'r [NewMessage<'a>], f: impl Fn(&'r NewMessage<'a>) -> T) -> Vec<T> {
        rows.iter().map(f).collect()
    }
    // One row (most batches below saturation): `insert`, whose generic plan PostgreSQL keeps
    // (it plans an `unnest` of parameters for every run). More: one fixed text whatever their
    // number, where a multi-row VALUES is a text per size that diesel builds again each run.
    if let [one] = rows {
        return Ok(vec![insert(conn, one.clone()).await?]);
    }
    prepared(
        diesel::sql_query(concat!(
            "INSERT INTO messages (session_id, seq, sender_kind, sender_user_id, client_id, body,
                                   off_platform, external_id, created_at, channel_id, content,
                                   flow_run_id)
             SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             RETURNING ",
            message_columns!()
        ))
        .bind::<Array<Int8>, _>(col(rows, |r| r.session_id))
        .bind::<Array<Int8>, _>(col(rows, |r| r.seq))
        .bind::<Array<Text>, _>(col(rows, |r| r.sender_kind.as_str()))
        .bind::<Array<Nullable<Int8>>, _>(col(rows, |r| r.sender_user_id))
        .bind::<Array<Nullable<Text>>, _>(col(rows, |r| r.client_id))
        .bind::<Array<Text>, _>(col(rows, |r| r.body))
        .bind::<Array<Bool>, _>(col(rows, |r| r.off_platform))
        .bind::<Array<Nullable<Text>>, _>(col(rows, |r| r.external_id))
        .bind::<Array<Timestamptz>, _>(col(rows, |r| r.created_at))
        .bind::<Array<Nullable<Int8>>, _>(col(rows, |r| r.channel_id))
        .bind::<Array<Jsonb>, _>(col(rows, |r| r.content))
        .bind::<Array<Nullable<Int8>>, _>(col(rows, |r| r.flow_run_id)),
    )
    .load(&mut conn)
    .await
}

/// The newest message of a session from one kind of sender.
pub async fn last_from(
    conn: &mut AsyncPgConnection,
    session_id: i64,
    sender_kind: SenderKind,
) -> QueryResult<Option<MessageRow>> {
    messages::table
        .filter(messages::session_id.eq(session_id))
        .filter(messages::sender_kind.eq(sender_kind))
        .order(messages::seq.desc())
        .select(MessageRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// What makes a message unique for idempotency: the client's id for it (widget, console,
/// REST), or the channel's id for it (a Messenger `mid`).
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    ClientId(&'a str),
    ExternalId(&'a str),
}

/// Where a repeated post's original is looked for.
#[derive(Debug, Clone, Copy)]
pub enum Within {
    /// A visitor's: the contact's latest sessions (a resend can land in a newer session).
    Contact(i64),
    Session(i64),
}

/// The message with this client or channel id, within a contact's latest sessions or one
/// session. One round trip: this runs for every post that has a key.
pub async fn by_key(
    mut conn: &AsyncPgConnection,
    within: Within,
    key: Key<'_>,
) -> QueryResult<Option<MessageRow>> {
    use diesel::sql_types::{Int8, Text};
    // Fixed texts (the committer runs one per post): diesel would build the query's SQL again
    // for every run. A visitor's client id is checked against the contact's 5 latest sessions.
    // Not kept prepared: planned for each run on the table as it is. A generic plan adopted
    // while `messages` was nearly empty (a fresh database's first second) was a sequential
    // scan, kept as the table grew (docs/performance.md, "Issue 14: CPU per message").
    macro_rules! select_where {
        ($($part:expr),+) => {
            concat!("SELECT ", message_columns!(), " FROM messages WHERE ", $($part),+, " LIMIT 1")
        };
    }
    macro_rules! in_latest_sessions {
        () => {
            "session_id IN (SELECT id FROM sessions WHERE contact_id = $1 ORDER BY id DESC LIMIT 5)"
        };
    }
    let (within_id, sql) = match (within, key) {
        (Within::Contact(id), Key::ClientId(_)) => (
            id,
            select_where!(in_latest_sessions!(), " AND client_id = $2"),
        ),
        (Within::Contact(id), Key::ExternalId(_)) => (
            id,
            select_where!(in_latest_sessions!(), " AND external_id = $2"),
        ),
        (Within::Session(id), Key::ClientId(_)) => {
            (id, select_where!("session_id = $1 AND client_id = $2"))
        }
        (Within::Session(id), Key::ExternalId(_)) => {
            (id, select_where!("session_id = $1 AND external_id = $2"))
        }
    };
    let (Key::ClientId(k) | Key::ExternalId(k)) = key;
    diesel::sql_query(sql)
        .bind::<Int8, _>(within_id)
        .bind::<Text, _>(k)
        .get_result(&mut conn)
        .await
        .optional()
}

/// Messages with `seq > after_seq`, oldest first.
pub async fn after(
    conn: &mut AsyncPgConnection,
    session_id: i64,
    after_seq: i64,
    limit: i64,
) -> QueryResult<Vec<MessageRow>> {
    messages::table
        .filter(messages::session_id.eq(session_id))
        .filter(messages::seq.gt(after_seq))
        .order(messages::seq.asc())
        .limit(limit)
        .select(MessageRow::as_select())
        .load(conn)
        .await
}

/// The `limit` messages just before `before_seq`, returned oldest first (scroll back).
pub async fn before(
    conn: &mut AsyncPgConnection,
    session_id: i64,
    before_seq: i64,
    limit: i64,
) -> QueryResult<Vec<MessageRow>> {
    let mut rows: Vec<MessageRow> = messages::table
        .filter(messages::session_id.eq(session_id))
        .filter(messages::seq.lt(before_seq))
        .order(messages::seq.desc())
        .limit(limit)
        .select(MessageRow::as_select())
        .load(conn)
        .await?;
    rows.reverse();
    Ok(rows)
}

/// Inserts a message unless one with its channel and external id (or its session and seq)
/// exists; `None` when it was already there.
pub async fn insert_if_new(
    conn: &mut AsyncPgConnection,
    new: NewMessage<'_>,
) -> QueryResult<Option<MessageRow>> {
    diesel::insert_into(messages::table)
        .values(new)
        .on_conflict_do_nothing()
        .returning(MessageRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// These messages, in no particular order (the channel sender reads what it claimed).
pub async fn of_ids(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<MessageRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    messages::table
        .filter(messages::id.eq_any(ids))
        .select(MessageRow::as_select())
        .load(conn)
        .await
}

/// The message a channel stored under its platform id (unique per channel), in any session.
pub async fn by_channel_external_id(
    conn: &mut AsyncPgConnection,
    channel_id: i64,
    external_id: &str,
) -> QueryResult<Option<MessageRow>> {
    messages::table
        .filter(messages::channel_id.eq(channel_id))
        .filter(messages::external_id.eq(external_id))
        .select(MessageRow::as_select())
        .first(conn)
        .await
        .optional()
}
