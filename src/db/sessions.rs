//! Sessions (conversations). The row is also the ordering lock for its messages: every
//! change to a session's messages first locks its row (`lock`).

use super::enums::SessionStatus;
use super::prepared::prepared;
use super::schema::{contacts, sessions};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Also serialised whole into the events that cross servers (`crate::bus`).
#[derive(
    Debug,
    Clone,
    Queryable,
    QueryableByName,
    Selectable,
    PartialEq,
    serde::Serialize,
    serde::Deserialize,
)]
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

/// `SessionRow`'s columns, for the prepared fixed texts: named, not `*`, because a prepared
/// statement whose result gains a column (a migration run by another server) fails with
/// "cached plan must not change result type" on every later run on its connection.
macro_rules! session_columns {
    () => {
        "sessions.id, sessions.project_id, sessions.channel_id, sessions.contact_id, \
         sessions.status, sessions.bot_hosted, sessions.assignee_id, sessions.created_at, \
         sessions.received_at, sessions.awaiting_since, sessions.first_wait_at, \
         sessions.first_response_at, sessions.ended_at, sessions.last_seq, \
         sessions.last_message_at, sessions.message_count, sessions.visitor_message_count, \
         sessions.agent_message_count, sessions.updated_at, sessions.alert_wait_since"
    };
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
    use diesel::sql_types::{Array, Int8};
    // Fixed texts (every batch runs one): diesel builds a query's SQL again for each run. One
    // session (most batches below saturation) by `= $1`, whose generic plan PostgreSQL keeps;
    // it plans an `= ANY($1)` for every run, its generic estimate (ten ids) being worse.
    match ids {
        [id] => {
            prepared(
                diesel::sql_query(concat!(
                    "SELECT ",
                    session_columns!(),
                    " FROM sessions WHERE id = $1 FOR UPDATE"
                ))
                .bind::<Int8, _>(*id),
            )
            .load(&mut conn)
            .await
        }
        _ => {
            prepared(
                diesel::sql_query(concat!(
                    "SELECT ",
                    session_columns!(),
                    " FROM sessions WHERE id = ANY($1) ORDER BY id FOR UPDATE"
                ))
                .bind::<Array<Int8>, _>(ids),
            )
            .load(&mut conn)
            .await
        }
    }
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
    // One text per set of changed columns: a message changes one of a few sets.
    prepared(
        diesel::update(sessions::table.find(id))
            .set(changes)
            .returning(SessionRow::as_returning()),
    )
    .get_result(&mut conn)
    .await
}

fn set<T>(field: &mut T, change: Option<T>) {
    if let Some(v) = change {
        *field = v;
    }
}

/// Writes this row's changeable columns (as `SessionChanges::applied_to` made them); returns
/// the row as stored. `update_many` for one row, in a fixed text whose plan is an index look-up.
pub async fn update_row(mut conn: &AsyncPgConnection, r: &SessionRow) -> QueryResult<SessionRow> {
    use diesel::sql_types::{Bool, Int4, Int8, Nullable, Text, Timestamptz};
    prepared(
        diesel::sql_query(concat!(
            "UPDATE sessions SET status = $2, assignee_id = $3, bot_hosted = $4,
                    received_at = $5, awaiting_since = $6, first_wait_at = $7,
                    first_response_at = $8, ended_at = $9, last_seq = $10,
                    last_message_at = $11, message_count = $12, visitor_message_count = $13,
                    agent_message_count = $14, updated_at = $15, alert_wait_since = $16
             WHERE id = $1
             RETURNING ",
            session_columns!()
        ))
        .bind::<Int8, _>(r.id)
        .bind::<Text, _>(r.status.as_str())
        .bind::<Nullable<Int8>, _>(r.assignee_id)
        .bind::<Bool, _>(r.bot_hosted)
        .bind::<Nullable<Timestamptz>, _>(r.received_at)
        .bind::<Nullable<Timestamptz>, _>(r.awaiting_since)
        .bind::<Nullable<Timestamptz>, _>(r.first_wait_at)
        .bind::<Nullable<Timestamptz>, _>(r.first_response_at)
        .bind::<Nullable<Timestamptz>, _>(r.ended_at)
        .bind::<Int8, _>(r.last_seq)
        .bind::<Timestamptz, _>(r.last_message_at)
        .bind::<Int4, _>(r.message_count)
        .bind::<Int4, _>(r.visitor_message_count)
        .bind::<Int4, _>(r.agent_message_count)
        .bind::<Timestamptz, _>(r.updated_at)
        .bind::<Nullable<Timestamptz>, _>(r.alert_wait_since),
    )
    .get_result(&mut conn)
    .await
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
    prepared(
        diesel::sql_query(concat!(
            "UPDATE sessions SET status = u.status, assignee_id = u.assignee_id,
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
         WHERE sessions.id = u.id
         RETURNING ",
            session_columns!()
        ))
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
        .bind::<Array<Nullable<Timestamptz>>, _>(col::<_, Option<DateTime<Utc>>>(rows, |r| {
            r.ended_at
        }))
        .bind::<Array<Int8>, _>(col::<_, i64>(rows, |r| r.last_seq))
        .bind::<Array<Timestamptz>, _>(col::<_, DateTime<Utc>>(rows, |r| r.last_message_at))
        .bind::<Array<Int4>, _>(col::<_, i32>(rows, |r| r.message_count))
        .bind::<Array<Int4>, _>(col::<_, i32>(rows, |r| r.visitor_message_count))
        .bind::<Array<Int4>, _>(col::<_, i32>(rows, |r| r.agent_message_count))
        .bind::<Array<Timestamptz>, _>(col::<_, DateTime<Utc>>(rows, |r| r.updated_at))
        .bind::<Array<Nullable<Timestamptz>>, _>(col::<_, Option<DateTime<Utc>>>(rows, |r| {
            r.alert_wait_since
        })),
    )
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
    let inserted: Option<SessionRow> = prepared(
        diesel::insert_into(sessions::table)
            .values((
                sessions::project_id.eq(project_id),
                sessions::channel_id.eq(channel_id),
                sessions::contact_id.eq(contact_id),
            ))
            .on_conflict_do_nothing()
            .returning(SessionRow::as_returning()),
    )
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

#[derive(QueryableByName)]
struct ListedRow {
    #[diesel(embed)]
    session: SessionRow,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    note_name: Option<String>,
}

/// The session list: newest activity first, id as the tie-breaker, keyset-paged by
/// `(last_message_at, id)`.
///
/// No index orders sessions by `last_message_at`: a message changes it, and an index on it
/// would keep the message's UPDATE of the row from being HOT (migration 000014). So the list
/// is two parts, each cursor-bounded and limited before they meet: the open sessions (few)
/// fetched by `sessions_open` and sorted, and the ended ones walked in order on `list_at`
/// (`sessions_ended_list`, `sessions_ended_assignee`), which equals `last_message_at` for an
/// ended session. The contacts are joined to the page only.
pub async fn list(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    f: &ListFilter,
) -> QueryResult<Vec<ListedSession>> {
    let (open, ended) = match f.status {
        None => (true, true),
        Some(StatusFilter::Ended) => (false, true),
        Some(_) => (true, false),
    };
    let mut q = ListQuery::default();
    q.push("SELECT s.*, c.name, c.note_name FROM (");
    if open {
        q.open_part(project_id, f);
    }
    if open && ended {
        q.push(" UNION ALL ");
    }
    if ended {
        q.ended_part(project_id, f);
    }
    q.push(
        ") s JOIN contacts c ON c.id = s.contact_id \
         ORDER BY s.last_message_at DESC, s.id DESC LIMIT ",
    );
    q.bind_i64(f.limit);
    let rows: Vec<ListedRow> = q.into_query().load(conn).await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.session, r.name, r.note_name))
        .collect())
}

/// The list's SQL text and its binds, built together so that the placeholders are numbered
/// in the order of the values.
#[derive(Default)]
struct ListQuery {
    sql: String,
    binds: Vec<ListBind>,
}

enum ListBind {
    Id(i64),
    At(DateTime<Utc>),
}

impl ListQuery {
    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    fn bind(&mut self, v: ListBind) {
        self.binds.push(v);
        self.sql.push_str(&format!("${}", self.binds.len()));
    }

    fn bind_i64(&mut self, v: i64) {
        self.bind(ListBind::Id(v));
    }

    fn bind_at(&mut self, v: DateTime<Utc>) {
        self.bind(ListBind::At(v));
    }

    fn into_query(
        self,
    ) -> diesel::query_builder::BoxedSqlQuery<
        'static,
        diesel::pg::Pg,
        diesel::query_builder::SqlQuery,
    > {
        use diesel::sql_types::{Int8, Timestamptz};
        let mut q = diesel::sql_query(self.sql).into_boxed();
        for b in self.binds {
            q = match b {
                ListBind::Id(v) => q.bind::<Int8, _>(v),
                ListBind::At(v) => q.bind::<Timestamptz, _>(v),
            };
        }
        q
    }

    /// Open sessions of the filter: an index lookup by status (and assignee), then a top-N
    /// sort of what it found. An open session with an assignee is `assigned` (the table's
    /// CHECK), which lets the assignee filters use all three columns of `sessions_open`.
    fn open_part(&mut self, project_id: i64, f: &ListFilter) {
        self.push("(SELECT * FROM sessions WHERE project_id = ");
        self.bind_i64(project_id);
        self.push(" AND status <> 'ended'");
        match f.status {
            Some(StatusFilter::Unassigned) => self.push(" AND status = 'unassigned'"),
            Some(StatusFilter::Assigned) => self.push(" AND status = 'assigned'"),
            _ => {}
        }
        if let Some(a) = f.assignee_id {
            self.push(" AND status = 'assigned' AND assignee_id = ");
            self.bind_i64(a);
        }
        if let Some(me) = f.visible_to {
            self.push(" AND (status = 'unassigned' OR (status = 'assigned' AND assignee_id = ");
            self.bind_i64(me);
            self.push("))");
        }
        if let Some((ts, id)) = f.after {
            self.push(" AND (last_message_at < ");
            self.bind_at(ts);
            self.push(" OR (last_message_at = ");
            self.bind_at(ts);
            self.push(" AND id < ");
            self.bind_i64(id);
            self.push("))");
        }
        self.push(" ORDER BY last_message_at DESC, id DESC LIMIT ");
        self.bind_i64(f.limit);
        self.push(")");
    }

    /// Ended sessions of the filter, walked in list order. An ended session is nobody's
    /// queue, so the own scope ("mine or unassigned") is only "mine" here.
    fn ended_part(&mut self, project_id: i64, f: &ListFilter) {
        self.push("(SELECT * FROM sessions WHERE project_id = ");
        self.bind_i64(project_id);
        self.push(" AND list_at IS NOT NULL");
        for a in [f.assignee_id, f.visible_to].into_iter().flatten() {
            self.push(" AND assignee_id = ");
            self.bind_i64(a);
        }
        if let Some((ts, id)) = f.after {
            // `list_at <= ts` bounds the index scan; the rest drops the few rows at exactly ts.
            self.push(" AND list_at <= ");
            self.bind_at(ts);
            self.push(" AND (list_at < ");
            self.bind_at(ts);
            self.push(" OR id < ");
            self.bind_i64(id);
            self.push(")");
        }
        self.push(" ORDER BY list_at DESC, id DESC LIMIT ");
        self.bind_i64(f.limit);
        self.push(")");
    }
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
