//! Messages of a session, ordered by their per-session sequence number.

use super::enums::SenderKind;
use super::schema::messages;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Also serialised whole into the events that cross servers (`crate::bus`).
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
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

#[derive(Insertable)]
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
    diesel::insert_into(messages::table)
        .values(new)
        .returning(MessageRow::as_returning())
        .get_result(&mut conn)
        .await
}

/// Inserts these messages in one statement; returns them as stored, in no particular order.
pub async fn insert_many(
    mut conn: &AsyncPgConnection,
    rows: &[NewMessage<'_>],
) -> QueryResult<Vec<MessageRow>> {
    diesel::insert_into(messages::table)
        .values(rows)
        .returning(MessageRow::as_returning())
        .get_results(&mut conn)
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

/// How many of a contact's latest sessions a visitor's client id is checked against.
const RECENT_SESSIONS: i64 = 5;

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
    use super::schema::sessions;
    let q = messages::table.select(MessageRow::as_select()).into_boxed();
    let q = match within {
        Within::Contact(contact_id) => {
            let recent = sessions::table
                .filter(sessions::contact_id.eq(contact_id))
                .order(sessions::id.desc())
                .limit(RECENT_SESSIONS)
                .select(sessions::id);
            q.filter(messages::session_id.eq_any(recent))
        }
        Within::Session(id) => q.filter(messages::session_id.eq(id)),
    };
    let q = match key {
        Key::ClientId(id) => q.filter(messages::client_id.eq(id)),
        Key::ExternalId(id) => q.filter(messages::external_id.eq(id)),
    };
    q.first(&mut conn).await.optional()
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
