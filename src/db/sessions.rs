//! Sessions (conversations). The row is also the ordering lock for its messages: every
//! change to a session's messages first locks its row (`lock`).

use super::enums::SessionStatus;
use super::schema::{contacts, sessions};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, PartialEq)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: i64,
    pub project_id: i64,
    pub channel_id: i64,
    pub contact_id: i64,
    pub status: SessionStatus,
    pub bot_hosted: bool,
    pub assignee_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    pub awaiting_since: Option<DateTime<Utc>>,
    pub first_wait_at: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub last_seq: i64,
    pub last_message_at: DateTime<Utc>,
    pub message_count: i32,
    pub visitor_message_count: i32,
    pub agent_message_count: i32,
    pub updated_at: DateTime<Utc>,
    /// Start of the current wait for a human reply, bot-hosted time included (e-mail alerts).
    pub alert_wait_since: Option<DateTime<Utc>>,
}

/// What a message changes on its session, decided by the domain and written in one UPDATE.
#[derive(AsChangeset)]
#[diesel(table_name = sessions)]
pub struct SessionChanges {
    pub status: Option<SessionStatus>,
    pub assignee_id: Option<Option<i64>>,
    pub bot_hosted: Option<bool>,
    pub received_at: Option<Option<DateTime<Utc>>>,
    pub awaiting_since: Option<Option<DateTime<Utc>>>,
    pub first_wait_at: Option<Option<DateTime<Utc>>>,
    pub first_response_at: Option<Option<DateTime<Utc>>>,
    pub ended_at: Option<Option<DateTime<Utc>>>,
    pub last_seq: Option<i64>,
    pub last_message_at: Option<DateTime<Utc>>,
    pub message_count: Option<i32>,
    pub visitor_message_count: Option<i32>,
    pub agent_message_count: Option<i32>,
    pub updated_at: DateTime<Utc>,
    pub alert_wait_since: Option<Option<DateTime<Utc>>>,
}

impl SessionChanges {
    /// The row these changes make of `row` (what `update` would return), for writing many
    /// sessions' rows in one statement (`update_many`).
    pub fn applied_to(&self, row: &SessionRow) -> SessionRow {
        let mut r = row.clone();
        let c = self;
        set(&mut r.status, c.status);
        set(&mut r.assignee_id, c.assignee_id);
        set(&mut r.bot_hosted, c.bot_hosted);
        set(&mut r.received_at, c.received_at);
        set(&mut r.awaiting_since, c.awaiting_since);
        set(&mut r.first_wait_at, c.first_wait_at);
        set(&mut r.first_response_at, c.first_response_at);
        set(&mut r.ended_at, c.ended_at);
        set(&mut r.last_seq, c.last_seq);
        set(&mut r.last_message_at, c.last_message_at);
        set(&mut r.message_count, c.message_count);
        set(&mut r.visitor_message_count, c.visitor_message_count);
        set(&mut r.agent_message_count, c.agent_message_count);
        set(&mut r.alert_wait_since, c.alert_wait_since);
        r.updated_at = c.updated_at;
        r
    }

    pub fn at(now: DateTime<Utc>) -> Self {
        SessionChanges {
            status: None,
            assignee_id: None,
            bot_hosted: None,
            received_at: None,
            awaiting_since: None,
            first_wait_at: None,
            first_response_at: None,
            ended_at: None,
            last_seq: None,
            last_message_at: None,
            message_count: None,
            visitor_message_count: None,
            agent_message_count: None,
            updated_at: now,
            alert_wait_since: None,
        }
    }
}

#[cfg(test)]
impl SessionRow {
    /// A new session of project 1 for the domain's unit tests.
    pub fn sample(status: SessionStatus, assignee_id: Option<i64>) -> SessionRow {
        let t = Utc::now();
        SessionRow {
            id: 1,
            project_id: 1,
            channel_id: 1,
            contact_id: 1,
            status,
            bot_hosted: false,
            assignee_id,
            created_at: t,
            received_at: None,
            awaiting_since: None,
            first_wait_at: None,
            first_response_at: None,
            ended_at: None,
            last_seq: 0,
            last_message_at: t,
            message_count: 0,
            visitor_message_count: 0,
            agent_message_count: 0,
            updated_at: t,
            alert_wait_since: None,
        }
    }
}

pub async fn lock(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<SessionRow> {
    sessions::table
        .find(id)
        .for_update()
        .select(SessionRow::as_select())
        .first(conn)
        .await
}

/// Locks these sessions (those that exist), in id order so that two lockers of several rows
/// wait for each other instead of deadlocking.
pub async fn lock_many(mut conn: &AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::id.eq_any(ids))
        .order(sessions::id)
        .for_update()
        .select(SessionRow::as_select())
        .load(&mut conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<SessionRow> {
    sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)
        .await
}

pub async fn update(
    mut conn: &AsyncPgConnection,
    id: i64,
    changes: &SessionChanges,
) -> QueryResult<SessionRow> {
    diesel::update(sessions::table.find(id))
        .set(changes)
        .returning(SessionRow::as_returning())
        .get_result(&mut conn)
        .await
}

fn set<T>(field: &mut T, change: Option<T>) {
    if let Some(v) = change {
        *field = v;
    }
}

/// Writes these rows' changeable columns (as `SessionChanges::applied_to` made them) in one
/// statement; returns the rows as stored.
pub async fn update_many(
    mut conn: &AsyncPgConnection,
    rows: &[SessionRow],
) -> QueryResult<Vec<SessionRow>> {
    use diesel::sql_types::{Array, Bool, Int4, Int8, Nullable, Text, Timestamptz};
    fn col<T, U>(rows: &[SessionRow], f: impl Fn(&SessionRow) -> T) -> Vec<U>
    where
        T: Into<U>,
    {
        rows.iter().map(|r| f(r).into()).collect()
    }
    let status: Vec<&str> = col(rows, |r| r.status.as_str());
    diesel::sql_query(
        "UPDATE sessions s SET status = u.status, assignee_id = u.assignee_id,
                bot_hosted = u.bot_hosted, received_at = u.received_at,
                awaiting_since = u.awaiting_since, first_wait_at = u.first_wait_at,
                first_response_at = u.first_response_at, ended_at = u.ended_at,
                last_seq = u.last_seq, last_message_at = u.last_message_at,
                message_count = u.message_count, visitor_message_count = u.visitor_message_count,
                agent_message_count = u.agent_message_count, updated_at = u.updated_at,
                alert_wait_since = u.alert_wait_since
         FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
              AS u(id, status, assignee_id, bot_hosted, received_at, awaiting_since,
                   first_wait_at, first_response_at, ended_at, last_seq, last_message_at,
                   message_count, visitor_message_count, agent_message_count, updated_at,
                   alert_wait_since)
         WHERE s.id = u.id
         RETURNING s.*",
    )
    .bind::<Array<Int8>, _>(col::<_, i64>(rows, |r| r.id))
    .bind::<Array<Text>, _>(status)
    .bind::<Array<Nullable<Int8>>, _>(col::<_, Option<i64>>(rows, |r| r.assignee_id))
    .bind::<Array<Bool>, _>(col::<_, bool>(rows, |r| r.bot_hosted))
    .bind::<Array<Nullable<Timestamptz>>, _>(col::<_, Option<DateTime<Utc>>>(rows, |r| {
        r.received_at
    }))
    .bind::<Array<Nullable<Timestamptz>>, _>(col::<_, Option<DateTime<Utc>>>(rows, |r| {
        r.awaiting_since
    }))
    .bind::<Array<Nullable<Timestamptz>>, _>(col::<_, Option<DateTime<Utc>>>(rows, |r| {
        r.first_wait_at
    }))
    .bind::<Array<Nullable<Timestamptz>>, _>(col::<_, Option<DateTime<Utc>>>(rows, |r| {
        r.first_response_at
    }))
    .bind::<Array<Nullable<Timestamptz>>, _>(col::<_, Option<DateTime<Utc>>>(rows, |r| r.ended_at))
    .bind::<Array<Int8>, _>(col::<_, i64>(rows, |r| r.last_seq))
    .bind::<Array<Timestamptz>, _>(col::<_, DateTime<Utc>>(rows, |r| r.last_message_at))
    .bind::<Array<Int4>, _>(col::<_, i32>(rows, |r| r.message_count))
    .bind::<Array<Int4>, _>(col::<_, i32>(rows, |r| r.visitor_message_count))
    .bind::<Array<Int4>, _>(col::<_, i32>(rows, |r| r.agent_message_count))
    .bind::<Array<Timestamptz>, _>(col::<_, DateTime<Utc>>(rows, |r| r.updated_at))
    .bind::<Array<Nullable<Timestamptz>>, _>(col::<_, Option<DateTime<Utc>>>(rows, |r| {
        r.alert_wait_since
    }))
    .load(&mut conn)
    .await
}

pub async fn open_for_contact(
    conn: &mut AsyncPgConnection,
    contact_id: i64,
) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .filter(sessions::contact_id.eq(contact_id))
        .filter(sessions::status.ne(SessionStatus::Ended))
        .select(SessionRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Opens a session for a contact, or returns the one already open (one open per contact).
pub async fn open_or_get(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    channel_id: i64,
    contact_id: i64,
) -> QueryResult<(SessionRow, bool)> {
    let inserted: Option<SessionRow> = diesel::insert_into(sessions::table)
        .values((
            sessions::project_id.eq(project_id),
            sessions::channel_id.eq(channel_id),
            sessions::contact_id.eq(contact_id),
        ))
        .on_conflict_do_nothing()
        .returning(SessionRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    match inserted {
        Some(row) => Ok((row, true)),
        None => open_for_contact(conn, contact_id)
            .await?
            .map(|row| (row, false))
            .ok_or(diesel::result::Error::NotFound),
    }
}

/// Filters for the session list. `visible_to` applies an own-data scope: sessions assigned to
/// that user plus the unassigned queue.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub status: Option<StatusFilter>,
    pub assignee_id: Option<i64>,
    pub visible_to: Option<i64>,
    /// (last_message_at, id) of the last row of the previous page.
    pub after: Option<(DateTime<Utc>, i64)>,
    pub limit: i64,
}

/// The `status` filter of the session list and the session-management reports: one
/// vocabulary for both endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Not ended (unassigned or assigned). Spelled `ongoing`; `open` is accepted too (the
    /// session list's older spelling).
    Ongoing,
    Unassigned,
    Assigned,
    Ended,
}

impl StatusFilter {
    /// What `parse` accepts, for error messages and API descriptions.
    pub const EXPECTED: &'static str = "ongoing (or open), unassigned, assigned or ended";

    pub fn parse(s: &str) -> Option<StatusFilter> {
        match s {
            "ongoing" | "open" => Some(StatusFilter::Ongoing),
            other => SessionStatus::parse(other).map(StatusFilter::only),
        }
    }

    fn only(status: SessionStatus) -> StatusFilter {
        match status {
            SessionStatus::Unassigned => StatusFilter::Unassigned,
            SessionStatus::Assigned => StatusFilter::Assigned,
            SessionStatus::Ended => StatusFilter::Ended,
        }
    }

    pub fn matches(self, status: SessionStatus) -> bool {
        match self {
            StatusFilter::Ongoing => !status.is_ended(),
            _ => StatusFilter::only(status) == self,
        }
    }
}

pub type ListedSession = (SessionRow, String, Option<String>);

pub async fn list(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    f: &ListFilter,
) -> QueryResult<Vec<ListedSession>> {
    let mut q = sessions::table
        .inner_join(contacts::table)
        .filter(sessions::project_id.eq(project_id))
        .select((SessionRow::as_select(), contacts::name, contacts::note_name))
        .order((sessions::last_message_at.desc(), sessions::id.desc()))
        .limit(f.limit)
        .into_boxed();
    q = match f.status {
        Some(StatusFilter::Unassigned) => q.filter(sessions::status.eq(SessionStatus::Unassigned)),
        Some(StatusFilter::Assigned) => q.filter(sessions::status.eq(SessionStatus::Assigned)),
        Some(StatusFilter::Ended) => q.filter(sessions::status.eq(SessionStatus::Ended)),
        Some(StatusFilter::Ongoing) => q.filter(sessions::status.ne(SessionStatus::Ended)),
        None => q,
    };
    if let Some(a) = f.assignee_id {
        q = q.filter(sessions::assignee_id.eq(a));
    }
    if let Some(me) = f.visible_to {
        q = q.filter(
            sessions::assignee_id
                .eq(me)
                .or(sessions::status.eq(SessionStatus::Unassigned)),
        );
    }
    if let Some((ts, id)) = f.after {
        q = q.filter(
            sessions::last_message_at
                .lt(ts)
                .or(sessions::last_message_at.eq(ts).and(sessions::id.lt(id))),
        );
    }
    q.load(conn).await
}

/// Ids of the project's sessions assigned to `user_id` (not ended).
pub async fn assigned_to(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    user_id: i64,
) -> QueryResult<Vec<i64>> {
    sessions::table
        .filter(sessions::project_id.eq(project_id))
        .filter(sessions::assignee_id.eq(user_id))
        .filter(sessions::status.eq(SessionStatus::Assigned))
        .select(sessions::id)
        .load(conn)
        .await
}

/// (id, status, assignee) of those of `ids` that are the project's sessions, in one query
/// (the bulk hosting switch checks them all before changing any).
pub async fn scope_of(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    ids: &[i64],
) -> QueryResult<Vec<(i64, SessionStatus, Option<i64>)>> {
    sessions::table
        .filter(sessions::project_id.eq(project_id))
        .filter(sessions::id.eq_any(ids))
        .select((sessions::id, sessions::status, sessions::assignee_id))
        .load(conn)
        .await
}

/// Ids of the project's assigned sessions, only those assigned to `assignee` when given
/// (an own data scope), in id order.
pub async fn assigned_in_scope(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    assignee: Option<i64>,
) -> QueryResult<Vec<i64>> {
    let mut q = sessions::table
        .filter(sessions::project_id.eq(project_id))
        .filter(sessions::status.eq(SessionStatus::Assigned))
        .select(sessions::id)
        .order(sessions::id.asc())
        .into_boxed();
    if let Some(a) = assignee {
        q = q.filter(sessions::assignee_id.eq(a));
    }
    q.load(conn).await
}

pub async fn contact_names(
    conn: &mut AsyncPgConnection,
    contact_id: i64,
) -> QueryResult<(String, Option<String>)> {
    contacts::table
        .find(contact_id)
        .select((contacts::name, contacts::note_name))
        .first(conn)
        .await
}

/// The contact's newest session, locked until the transaction ends.
pub async fn lock_latest_for_contact(
    conn: &mut AsyncPgConnection,
    contact_id: i64,
) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .filter(sessions::contact_id.eq(contact_id))
        .order(sessions::id.desc())
        .for_update()
        .select(SessionRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// An ended session holding a contact's imported history, spanning `from`..`to`. Being ended,
/// it opens no work: no queue entry, no wait, no timers.
pub async fn insert_history(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    channel_id: i64,
    contact_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<SessionRow> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::project_id.eq(project_id),
            sessions::channel_id.eq(channel_id),
            sessions::contact_id.eq(contact_id),
            sessions::status.eq(SessionStatus::Ended),
            sessions::created_at.eq(from),
            sessions::ended_at.eq(Some(to)),
            sessions::last_message_at.eq(to),
        ))
        .returning(SessionRow::as_returning())
        .get_result(conn)
        .await
}
