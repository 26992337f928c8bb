//! Session management (reports): the records of sessions, their live counts and the CSV
//! export, all under one filter and always inside the caller's data scope
//! (`Access::report_scope`). Definitions: docs/session-management.md.
//!
//! Nothing here is precomputed: the counters, reception time and first-response times are
//! columns of `sessions` that `conversation` maintains in each message's transaction, so the
//! figures move as soon as a message, an assignment or an end commits.

use crate::db::enums::{ChannelKind, SessionStatus};
use crate::db::{
    self,
    reports::{RecordCursor, RecordRow, ReportFilter},
    sessions::StatusFilter,
    Pool,
};
use crate::domain::access::Access;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde::Serialize;

/// Rows fetched per query while exporting CSV: memory stays at one page, whatever the total.
pub const CSV_PAGE: i64 = 2000;

/// The filter as a client gives it (all optional, as strings), before validation.
#[derive(Debug, Default, Clone)]
pub struct RawFilter<'a> {
    pub received_from: Option<&'a str>,
    pub received_to: Option<&'a str>,
    pub receptionist: Option<&'a str>,
    pub status: Option<&'a str>,
    pub channel: Option<i64>,
    pub tag: Option<i64>,
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

fn parse_time(name: &str, s: Option<&str>) -> AppResult<Option<DateTime<Utc>>> {
    non_empty(s)
        .map(|s| {
            DateTime::parse_from_rfc3339(s.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    AppError::validation(format!(
                        "{name} must be an RFC 3339 time, e.g. 2026-11-24T00:00:00Z"
                    ))
                })
        })
        .transpose()
}

/// The `status` filter of the session list and of these reports, one vocabulary for both:
/// `ongoing` (not ended; `open` is the same), `unassigned`, `assigned`, `ended`; none when
/// absent or empty.
pub fn status_filter(raw: Option<&str>) -> AppResult<Option<StatusFilter>> {
    non_empty(raw)
        .map(|s| {
            StatusFilter::parse(s.trim()).ok_or_else(|| {
                AppError::validation(format!("status must be {}", StatusFilter::EXPECTED))
            })
        })
        .transpose()
}

/// Validates a client's filter and restricts it to the caller's data scope.
pub fn filter_for(access: &Access, raw: &RawFilter<'_>) -> AppResult<ReportFilter> {
    let received_from = parse_time("received_from", raw.received_from)?;
    let received_to = parse_time("received_to", raw.received_to)?;
    if let (Some(a), Some(b)) = (received_from, received_to) {
        if a > b {
            return Err(AppError::validation(
                "received_from must not be after received_to",
            ));
        }
    }
    let receptionist = match non_empty(raw.receptionist) {
        None => None,
        Some("me") => Some(access.user_id),
        Some(n) => Some(
            n.trim()
                .parse::<i64>()
                .map_err(|_| AppError::validation("receptionist must be a user id or \"me\""))?,
        ),
    };
    let status = status_filter(raw.status)?;
    Ok(ReportFilter {
        received_from,
        received_to,
        receptionist,
        status,
        channel_id: raw.channel,
        tag_id: raw.tag,
        scope_assignee: access.report_scope(),
    })
}

/// `<reception time in µs, or "n" when never received>_<session id>`.
pub fn encode_cursor(c: RecordCursor) -> String {
    match c.received_at {
        Some(t) => format!("{}_{}", t.timestamp_micros(), c.id),
        None => format!("n_{}", c.id),
    }
}

pub fn decode_cursor(s: &str) -> AppResult<RecordCursor> {
    let bad = || AppError::validation("cursor is not valid");
    let (t, id) = s.split_once('_').ok_or_else(bad)?;
    let id: i64 = id.parse().map_err(|_| bad())?;
    let received_at = if t == "n" {
        None
    } else {
        let micros: i64 = t.parse().map_err(|_| bad())?;
        Some(DateTime::from_timestamp_micros(micros).ok_or_else(bad)?)
    };
    Ok(RecordCursor { received_at, id })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordContact {
    pub id: i64,
    pub name: String,
    pub note_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordChannel {
    pub id: i64,
    pub name: String,
    pub kind: ChannelKind,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Receptionist {
    pub id: i64,
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageCounts {
    /// Visitor, agent and bot messages (system notes are not counted).
    pub total: i32,
    pub visitor: i32,
    pub agent: i32,
}

/// One row of the session records.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionRecord {
    pub id: i64,
    pub contact: RecordContact,
    pub channel: RecordChannel,
    pub status: SessionStatus,
    /// The assignee (who received the session); null while in the queue.
    pub receptionist: Option<Receptionist>,
    pub created_at: DateTime<Utc>,
    /// Reception time: when an agent first took or was given the session.
    pub received_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub messages: MessageCounts,
    /// From the first visitor message that waits for a human to the first human reply;
    /// null without a human reply (docs/session-management.md).
    pub first_response_secs: Option<f64>,
}

pub fn first_response_secs(
    first_wait_at: Option<DateTime<Utc>>,
    first_response_at: Option<DateTime<Utc>>,
) -> Option<f64> {
    match (first_wait_at, first_response_at) {
        (Some(w), Some(r)) => Some((r - w).num_milliseconds() as f64 / 1000.0),
        _ => None,
    }
}

impl From<RecordRow> for SessionRecord {
    fn from(r: RecordRow) -> Self {
        SessionRecord {
            id: r.id,
            contact: RecordContact {
                id: r.contact_id,
                name: r.contact_name,
                note_name: r.note_name,
                phone: r.phone,
                email: r.email,
            },
            channel: RecordChannel {
                id: r.channel_id,
                name: r.channel_name,
                kind: r.channel_kind,
            },
            status: r.status,
            receptionist: match (r.receptionist_id, r.receptionist_name) {
                (Some(id), Some(display_name)) => Some(Receptionist { id, display_name }),
                _ => None,
            },
            created_at: r.created_at,
            received_at: r.received_at,
            ended_at: r.ended_at,
            messages: MessageCounts {
                total: r.message_count,
                visitor: r.visitor_message_count,
                agent: r.agent_message_count,
            },
            first_response_secs: first_response_secs(r.first_wait_at, r.first_response_at),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordPage {
    pub items: Vec<SessionRecord>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

pub async fn records(
    pool: &Pool,
    project_id: i64,
    f: &ReportFilter,
    cursor: Option<&str>,
    limit: i64,
) -> AppResult<RecordPage> {
    let after = cursor
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()?;
    let mut conn = pool.get().await?;
    let rows = db::reports::records(&mut conn, project_id, f, after, limit).await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| {
            rows.last().map(|r| {
                encode_cursor(RecordCursor {
                    received_at: r.received_at,
                    id: r.id,
                })
            })
        })
        .flatten();
    Ok(RecordPage {
        items: rows.into_iter().map(SessionRecord::from).collect(),
        next_cursor,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Not ended (in the queue or assigned).
    pub ongoing: i64,
    pub ended: i64,
    pub total: i64,
}

pub async fn summary(pool: &Pool, project_id: i64, f: &ReportFilter) -> AppResult<Summary> {
    let mut conn = pool.get().await?;
    let (ongoing, ended) = db::reports::counts(&mut conn, project_id, f).await?;
    Ok(Summary {
        ongoing,
        ended,
        total: ongoing + ended,
    })
}

pub const CSV_HEADER: &[&str] = &[
    "session_id",
    "contact_id",
    "contact_name",
    "note_name",
    "phone",
    "email",
    "channel_id",
    "channel",
    "status",
    "receptionist_id",
    "receptionist",
    "created_at",
    "received_at",
    "ended_at",
    "messages_total",
    "messages_visitor",
    "messages_agent",
    "first_response_secs",
];

/// One CSV field: quoted when it holds a comma, quote, CR or LF (quotes doubled), and
/// prefixed with `'` when it starts with `=`, `+`, `-` or `@` so that spreadsheets do not
/// evaluate it as a formula. Numbers and times we format ourselves are written as they are.
pub fn csv_field(out: &mut String, value: &str) {
    let guarded = matches!(value.chars().next(), Some('=' | '+' | '-' | '@'));
    let needs_quotes = guarded || value.contains([',', '"', '\r', '\n']);
    if needs_quotes {
        out.push('"');
    }
    if guarded {
        out.push('\'');
    }
    if needs_quotes {
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn time_field(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

pub fn csv_header_line() -> String {
    let mut s = CSV_HEADER.join(",");
    s.push_str("\r\n");
    s
}

/// One record as a CSV line (RFC 4180, CRLF).
pub fn csv_line(r: &SessionRecord) -> String {
    let fields: [String; 18] = [
        r.id.to_string(),
        r.contact.id.to_string(),
        r.contact.name.clone(),
        r.contact.note_name.clone().unwrap_or_default(),
        r.contact.phone.clone().unwrap_or_default(),
        r.contact.email.clone().unwrap_or_default(),
        r.channel.id.to_string(),
        r.channel.name.clone(),
        r.status.as_str().to_owned(),
        r.receptionist
            .as_ref()
            .map(|x| x.id.to_string())
            .unwrap_or_default(),
        r.receptionist
            .as_ref()
            .map(|x| x.display_name.clone())
            .unwrap_or_default(),
        time_field(Some(r.created_at)),
        time_field(r.received_at),
        time_field(r.ended_at),
        r.messages.total.to_string(),
        r.messages.visitor.to_string(),
        r.messages.agent.to_string(),
        r.first_response_secs
            .map(|s| format!("{s:.3}"))
            .unwrap_or_default(),
    ];
    let mut out = String::with_capacity(160);
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(&mut out, f);
    }
    out.push_str("\r\n");
    out
}

/// The CSV export, `CSV_PAGE` records a page (`csv_export::paged`).
pub fn csv_stream(
    pool: Pool,
    project_id: i64,
    filter: ReportFilter,
) -> impl Stream<Item = AppResult<String>> {
    let fetch = move |after: Option<RecordCursor>| {
        let (pool, filter) = (pool.clone(), filter.clone());
        async move {
            let mut conn = pool.get().await?;
            Ok(db::reports::records(&mut conn, project_id, &filter, after, CSV_PAGE).await?)
        }
    };
    super::csv_export::paged(
        csv_header_line(),
        CSV_PAGE,
        fetch,
        |r| RecordCursor {
            received_at: r.received_at,
            id: r.id,
        },
        |r| csv_line(&SessionRecord::from(r)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(v: &str) -> String {
        let mut s = String::new();
        csv_field(&mut s, v);
        s
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field(""), "");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=SUM(A1:A9)"), "\"'=SUM(A1:A9)\"");
        assert_eq!(field("+1 555"), "\"'+1 555\"");
        assert_eq!(field("-2"), "\"'-2\"");
        assert_eq!(field("@cmd"), "\"'@cmd\"");
        assert_eq!(field("=\"x\""), "\"'=\"\"x\"\"\"");
    }

    #[test]
    fn cursors_round_trip() {
        let t = DateTime::from_timestamp_micros(1_700_000_000_123_456);
        for c in [
            RecordCursor {
                received_at: t,
                id: 42,
            },
            RecordCursor {
                received_at: None,
                id: 7,
            },
        ] {
            assert_eq!(decode_cursor(&encode_cursor(c)).ok(), Some(c));
        }
        assert!(decode_cursor("x_1").is_err());
        assert!(decode_cursor("12").is_err());
    }
}
