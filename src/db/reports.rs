//! Session-management reports: session records with their contact, channel and receptionist,
//! and live counts, both under one filter. Read-only; everything comes straight from
//! `sessions` (whose counters are maintained per message, in the message's transaction).

use super::enums::{ChannelKind, SessionStatus};
use super::schema::{channels, contacts, session_tag_links, sessions, users};
use super::sessions::StatusFilter;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Filters shared by the records, the summary and the CSV export.
#[derive(Debug, Default, Clone)]
pub struct ReportFilter {
    /// Reception time from (inclusive).
    pub received_from: Option<DateTime<Utc>>,
    /// Reception time to (exclusive).
    pub received_to: Option<DateTime<Utc>>,
    /// The receptionist (assignee).
    pub receptionist: Option<i64>,
    pub status: Option<StatusFilter>,
    pub channel_id: Option<i64>,
    pub tag_id: Option<i64>,
    /// Data scope `own`: only sessions assigned to this user.
    pub scope_assignee: Option<i64>,
}

/// Position after the last row of a page, in the order `received_at DESC NULLS LAST, id DESC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordCursor {
    pub received_at: Option<DateTime<Utc>>,
    pub id: i64,
}

#[derive(Debug, Clone, Queryable)]
pub struct RecordRow {
    pub id: i64,
    pub status: SessionStatus,
    pub created_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub first_wait_at: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub message_count: i32,
    pub visitor_message_count: i32,
    pub agent_message_count: i32,
    pub contact_id: i64,
    pub contact_name: String,
    pub note_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub channel_id: i64,
    pub channel_name: String,
    pub channel_kind: ChannelKind,
    pub receptionist_id: Option<i64>,
    pub receptionist_name: Option<String>,
}

/// Adds the filter's conditions to a boxed query over `sessions` (alone or joined).
macro_rules! filtered {
    ($q:expr, $project_id:expr, $f:expr) => {{
        let f: &ReportFilter = $f;
        let mut q = $q.filter(sessions::project_id.eq($project_id));
        if let Some(t) = f.received_from {
            q = q.filter(sessions::received_at.ge(t));
        }
        if let Some(t) = f.received_to {
            q = q.filter(sessions::received_at.lt(t));
        }
        if let Some(a) = f.receptionist {
            q = q.filter(sessions::assignee_id.eq(a));
        }
        if let Some(a) = f.scope_assignee {
            q = q.filter(sessions::assignee_id.eq(a));
        }
        // Literals, not bind parameters: the planner must see the constant to use the
        // partial index `sessions_received_ongoing` in a prepared statement's generic plan.
        q = match f.status {
            Some(StatusFilter::Ongoing) => q.filter(sql::<Bool>("sessions.status <> 'ended'")),
            Some(StatusFilter::Ended) => q.filter(sql::<Bool>("sessions.status = 'ended'")),
            Some(StatusFilter::Unassigned) => {
                q.filter(sql::<Bool>("sessions.status = 'unassigned'"))
            }
            Some(StatusFilter::Assigned) => q.filter(sql::<Bool>("sessions.status = 'assigned'")),
            None => q,
        };
        if let Some(c) = f.channel_id {
            q = q.filter(sessions::channel_id.eq(c));
        }
        if let Some(t) = f.tag_id {
            q = q.filter(diesel::dsl::exists(
                session_tag_links::table
                    .filter(session_tag_links::session_id.eq(sessions::id))
                    .filter(session_tag_links::tag_id.eq(t)),
            ));
        }
        q
    }};
}

/// Which part of the order a query reads.
#[derive(Clone, Copy)]
enum Part {
    /// From the start (received, then never received: one index walk).
    Start,
    /// Received sessions after a received cursor.
    ReceivedAfter(DateTime<Utc>, i64),
    /// Never-received sessions, optionally after a session id.
    NeverReceived(Option<i64>),
}

/// One page of records, newest reception first; sessions never received come last.
///
/// Each query's cursor condition is an AND of index bounds (no `OR received_at IS NULL`,
/// which would make the database walk every earlier row): a page that runs out of received
/// sessions continues with a second query over the never-received ones.
pub async fn records(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    f: &ReportFilter,
    after: Option<RecordCursor>,
    limit: i64,
) -> QueryResult<Vec<RecordRow>> {
    let first = match after {
        None => Part::Start,
        Some(RecordCursor {
            received_at: Some(t),
            id,
        }) => Part::ReceivedAfter(t, id),
        Some(RecordCursor {
            received_at: None,
            id,
        }) => Part::NeverReceived(Some(id)),
    };
    let mut rows = page(conn, project_id, f, first, limit).await?;
    let window = f.received_from.is_some() || f.received_to.is_some();
    if matches!(first, Part::ReceivedAfter(..)) && (rows.len() as i64) < limit && !window {
        let rest = limit - rows.len() as i64;
        rows.extend(page(conn, project_id, f, Part::NeverReceived(None), rest).await?);
    }
    Ok(rows)
}

async fn page(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    f: &ReportFilter,
    part: Part,
    limit: i64,
) -> QueryResult<Vec<RecordRow>> {
    let q = sessions::table
        .inner_join(contacts::table)
        .inner_join(channels::table)
        .left_join(users::table.on(sessions::assignee_id.eq(users::id.nullable())))
        .select((
            sessions::id,
            sessions::status,
            sessions::created_at,
            sessions::received_at,
            sessions::ended_at,
            sessions::first_wait_at,
            sessions::first_response_at,
            sessions::message_count,
            sessions::visitor_message_count,
            sessions::agent_message_count,
            contacts::id,
            contacts::name,
            contacts::note_name,
            contacts::phone,
            contacts::email,
            channels::id,
            channels::name,
            channels::kind,
            sessions::assignee_id,
            users::display_name.nullable(),
        ))
        .order((
            sessions::received_at.desc().nulls_last(),
            sessions::id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    let mut q = filtered!(q, project_id, f);
    q = match part {
        Part::Start => q,
        // `received_at <= t` bounds the index scan; the rest drops the few rows at exactly t.
        Part::ReceivedAfter(t, id) => q.filter(
            sessions::received_at
                .le(t)
                .and(sessions::received_at.lt(t).or(sessions::id.lt(id))),
        ),
        Part::NeverReceived(after) => {
            let q = q.filter(sessions::received_at.is_null());
            match after {
                Some(id) => q.filter(sessions::id.lt(id)),
                None => q,
            }
        }
    };
    q.load(conn).await
}

/// (ongoing, ended) under the filter.
pub async fn counts(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    f: &ReportFilter,
) -> QueryResult<(i64, i64)> {
    if f.narrows_only_by_status() {
        return counts_from_counters(conn, project_id, f.status).await;
    }
    let q = sessions::table
        .select((
            sql::<BigInt>("count(*) FILTER (WHERE sessions.status <> 'ended')"),
            sql::<BigInt>("count(*) FILTER (WHERE sessions.status = 'ended')"),
        ))
        .into_boxed();
    filtered!(q, project_id, f).first(conn).await
}

impl ReportFilter {
    /// No filter but (maybe) the status: the trigger-kept counters answer it.
    fn narrows_only_by_status(&self) -> bool {
        self.received_from.is_none()
            && self.received_to.is_none()
            && self.receptionist.is_none()
            && self.scope_assignee.is_none()
            && self.channel_id.is_none()
            && self.tag_id.is_none()
    }
}

/// (ongoing, ended) from the trigger-kept counts, committed with the sessions themselves.
async fn counts_from_counters(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    status: Option<StatusFilter>,
) -> QueryResult<(i64, i64)> {
    let rows = super::session_counts::for_project(conn, project_id).await?;
    let (mut ongoing, mut ended) = (0, 0);
    for (st, n) in rows
        .into_iter()
        .filter(|(st, _)| status.is_none_or(|f| f.matches(*st)))
    {
        if st.is_ended() {
            ended += n;
        } else {
            ongoing += n;
        }
    }
    Ok((ongoing, ended))
}
