//! Contacts: the people who write to a project, one record per person per channel.

use super::enums::SessionStatus;
use super::prepared::prepared;
use super::schema::contacts;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A contact's customer info. Its selected columns are also its public shape: the REST API's
/// contact and the `contact` frame (TypeScript `ContactView`), so a column added here is
/// shown to agents; the visitor token's hash is never selected.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize, utoipa::ToSchema, TS)]
#[diesel(table_name = contacts)]
#[ts(rename = "ContactView")]
pub struct Contact {
    pub id: i64,
    pub project_id: i64,
    pub channel_id: i64,
    pub external_id: String,
    /// The visitor's own name.
    pub name: String,
    pub note_name: Option<String>,
    /// E.164, normalised by the server.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub labels: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A web visitor's contact, unless one with this token hash (or external id) exists: `None`
/// then, and the caller reads that one. Concurrent callers wait on the unique index, so one row.
pub async fn insert_visitor_once(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    channel_id: i64,
    external_id: &str,
    name: &str,
    token_hash: &[u8],
) -> QueryResult<Option<Contact>> {
    prepared(
        diesel::insert_into(contacts::table)
            .values((
                contacts::project_id.eq(project_id),
                contacts::channel_id.eq(channel_id),
                contacts::external_id.eq(external_id),
                contacts::name.eq(name),
                contacts::visitor_token_hash.eq(token_hash),
            ))
            .on_conflict_do_nothing()
            .returning(Contact::as_returning()),
    )
    .get_result(conn)
    .await
    .optional()
}

pub async fn by_visitor_token(
    conn: &mut AsyncPgConnection,
    channel_id: i64,
    token_hash: &[u8],
) -> QueryResult<Option<Contact>> {
    contacts::table
        .filter(contacts::channel_id.eq(channel_id))
        .filter(contacts::visitor_token_hash.eq(token_hash))
        .select(Contact::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, project_id: i64, id: i64) -> QueryResult<Contact> {
    contacts::table
        .filter(contacts::project_id.eq(project_id))
        .filter(contacts::id.eq(id))
        .select(Contact::as_select())
        .first(conn)
        .await
}

/// What a channel needs to send to a contact: its id on the platform (a Messenger PSID) and
/// when the person last wrote (the reply window) or was found unreachable.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contacts)]
pub struct Reach {
    pub external_id: String,
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub unreachable_at: Option<DateTime<Utc>>,
}

pub async fn reach(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Reach> {
    contacts::table
        .find(id)
        .select(Reach::as_select())
        .first(conn)
        .await
}

/// The platform said the person cannot be messaged (Messenger 551: blocked, deactivated).
pub async fn mark_unreachable(
    conn: &mut AsyncPgConnection,
    id: i64,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(contacts::table.find(id))
        .set(contacts::unreachable_at.eq(at))
        .execute(conn)
        .await
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = contacts)]
pub struct ContactChanges {
    pub name: Option<String>,
    pub note_name: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub labels: Option<Vec<String>>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    id: i64,
    changes: ContactChanges,
) -> QueryResult<Contact> {
    diesel::update(
        contacts::table
            .filter(contacts::project_id.eq(project_id))
            .filter(contacts::id.eq(id)),
    )
    .set(changes)
    .returning(Contact::as_returning())
    .get_result(conn)
    .await
}

pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Filters of the Contacts list. Substring filters are case-insensitive (`ILIKE`, served by
/// the trigram indexes on name and note name).
#[derive(Debug, Default)]
pub struct ContactFilter<'a> {
    /// Matches name or note name.
    pub query: Option<&'a str>,
    /// Matches note name only.
    pub note_name: Option<&'a str>,
    pub before_id: Option<i64>,
    pub limit: i64,
    /// Only contacts with a session assigned to this member or waiting unassigned (data
    /// scope "own" without `contacts.manage`, see `Access::contact_scope`).
    pub seen_by: Option<i64>,
}

/// Newest first, paged by id.
pub async fn search(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    f: &ContactFilter<'_>,
) -> QueryResult<Vec<Contact>> {
    let mut q = contacts::table
        .filter(contacts::project_id.eq(project_id))
        .select(Contact::as_select())
        .order(contacts::id.desc())
        .limit(f.limit)
        .into_boxed();
    if let Some(text) = f.query.filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", escape_like(text));
        q = q.filter(
            contacts::name
                .ilike(pattern.clone())
                .or(contacts::note_name.ilike(pattern)),
        );
    }
    if let Some(text) = f.note_name.filter(|t| !t.is_empty()) {
        q = q.filter(contacts::note_name.ilike(format!("%{}%", escape_like(text))));
    }
    if let Some(before) = f.before_id {
        q = q.filter(contacts::id.lt(before));
    }
    if let Some(user_id) = f.seen_by {
        use super::schema::sessions;
        q = q.filter(
            contacts::id.eq_any(
                sessions::table
                    .filter(sessions::project_id.eq(project_id))
                    .filter(
                        sessions::assignee_id
                            .eq(user_id)
                            .or(sessions::status.eq(SessionStatus::Unassigned)),
                    )
                    .select(sessions::contact_id),
            ),
        );
    }
    q.load(conn).await
}

/// The contact, locked until the transaction ends (read-modify-write of its fields).
pub async fn lock(conn: &mut AsyncPgConnection, project_id: i64, id: i64) -> QueryResult<Contact> {
    contacts::table
        .filter(contacts::project_id.eq(project_id))
        .filter(contacts::id.eq(id))
        .for_update()
        .select(Contact::as_select())
        .first(conn)
        .await
}

/// (id, status, assignee) of every session of the contact.
pub async fn sessions_of(
    conn: &mut AsyncPgConnection,
    contact_id: i64,
) -> QueryResult<Vec<(i64, SessionStatus, Option<i64>)>> {
    use super::schema::sessions;
    sessions::table
        .filter(sessions::contact_id.eq(contact_id))
        .select((sessions::id, sessions::status, sessions::assignee_id))
        .load(conn)
        .await
}

/// (status, assignee) of every session of the contact: what data-scope checks need.
pub async fn session_states(
    conn: &mut AsyncPgConnection,
    contact_id: i64,
) -> QueryResult<Vec<(SessionStatus, Option<i64>)>> {
    Ok(sessions_of(conn, contact_id)
        .await?
        .into_iter()
        .map(|(_, status, assignee)| (status, assignee))
        .collect())
}

/// A channel's person by their platform id (a Messenger PSID), made if new; an existing
/// contact's name is replaced only when it is empty or exactly `placeholder` (the name given
/// when the profile could not be read): a real name is never replaced by an import. Returns
/// the contact's id and whether this call made it.
pub async fn upsert_imported(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    channel_id: i64,
    external_id: &str,
    name: &str,
    placeholder: &str,
) -> QueryResult<(i64, bool)> {
    use diesel::sql_types::{Bool, Int8, Text};
    #[derive(QueryableByName)]
    struct Upserted {
        #[diesel(sql_type = Int8)]
        id: i64,
        #[diesel(sql_type = Bool)]
        inserted: bool,
    }
    let row: Option<Upserted> = diesel::sql_query(
        "INSERT INTO contacts (project_id, channel_id, external_id, name) VALUES ($1, $2, $3, $4)
         ON CONFLICT (channel_id, external_id) DO UPDATE
             SET name = EXCLUDED.name, updated_at = now()
             WHERE contacts.name IN ('', $5) AND EXCLUDED.name <> ''
         RETURNING id, (xmax = 0) AS inserted",
    )
    .bind::<Int8, _>(project_id)
    .bind::<Int8, _>(channel_id)
    .bind::<Text, _>(external_id)
    .bind::<Text, _>(name)
    .bind::<Text, _>(placeholder)
    .get_result(conn)
    .await
    .optional()?;
    if let Some(r) = row {
        return Ok((r.id, r.inserted));
    }
    let id = contacts::table
        .filter(contacts::channel_id.eq(channel_id))
        .filter(contacts::external_id.eq(external_id))
        .select(contacts::id)
        .first(conn)
        .await?;
    Ok((id, false))
}

/// Moves the person's last inbound time forward to `at` (never back: the reply window is
/// counted from the latest).
pub async fn advance_last_inbound(
    conn: &mut AsyncPgConnection,
    id: i64,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        contacts::table.find(id).filter(
            contacts::last_inbound_at
                .is_null()
                .or(contacts::last_inbound_at.lt(at)),
        ),
    )
    .set(contacts::last_inbound_at.eq(Some(at)))
    .execute(conn)
    .await
}

/// A channel's person by their id on the platform (a Messenger PSID).
pub async fn by_external_id(
    conn: &mut AsyncPgConnection,
    channel_id: i64,
    external_id: &str,
) -> QueryResult<Option<Contact>> {
    contacts::table
        .filter(contacts::channel_id.eq(channel_id))
        .filter(contacts::external_id.eq(external_id))
        .select(Contact::as_select())
        .first(conn)
        .await
        .optional()
}

/// A channel's person, made on first sight. Two events of one new person processed at once
/// (two servers, or the inbound path and contact sync) meet at the unique key
/// (channel_id, external_id): one row, whoever comes second gets it. `last_inbound_at` only
/// moves forward; `name` and `avatar_url` are those of the first insert.
pub async fn upsert_channel_person(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    channel_id: i64,
    external_id: &str,
    name: &str,
    avatar_url: Option<&str>,
    last_inbound_at: Option<DateTime<Utc>>,
) -> QueryResult<Contact> {
    diesel::insert_into(contacts::table)
        .values((
            contacts::project_id.eq(project_id),
            contacts::channel_id.eq(channel_id),
            contacts::external_id.eq(external_id),
            contacts::name.eq(name),
            contacts::avatar_url.eq(avatar_url),
            contacts::last_inbound_at.eq(last_inbound_at),
        ))
        .on_conflict((contacts::channel_id, contacts::external_id))
        .do_update()
        .set(contacts::last_inbound_at.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >(
            "GREATEST(contacts.last_inbound_at, excluded.last_inbound_at)",
        )))
        .returning(Contact::as_returning())
        .get_result(conn)
        .await
}
