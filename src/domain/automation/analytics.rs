//! Automation analytics: the seed's figures per flow (trigger times, triggered visitors,
//! participants, completed visitors and the two rates), counted over non-preview runs whose
//! `triggered_at` falls in a range of whole UTC days; a visitor's drill-down status; the
//! drill-down's cursor; the per-version funnel's shape; and the throttle that keeps live
//! `flow_stats` frames to one per flow per second. Definitions: docs/automation.md#analytics.
//!
//! `Tally` is what the statistics actor keeps: per flow and UTC day, the runs and three sets
//! of contacts (triggered, participated, completed) as compressed bitmaps. Every figure is a
//! set size, so counting a run twice (seeding and its event racing at start) changes nothing,
//! and a range is the union of its days' sets — exact for distinct visitors.

use crate::db::enums::{ChannelKind, RunStatus, TriggerKind};
use crate::db::{self, flow_stats::VisitorQuery, Pool};
use crate::domain::access::{Access, Permission};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use diesel_async::AsyncPgConnection;
use roaring::RoaringTreemap;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// The default range: the 30 UTC days ending with today.
pub const DEFAULT_DAYS: i64 = 30;
/// The longest range asked for at once.
pub const MAX_DAYS: i64 = 3660;
pub const VISITORS_DEFAULT: i64 = 50;
pub const VISITORS_MAX: i64 = 200;
/// At most one `flow_stats` frame per flow in this time.
pub const FRAME_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A range of whole UTC days, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl DayRange {
    pub fn first_day(&self) -> NaiveDate {
        self.from.date_naive()
    }
    /// The day after the last one.
    pub fn end_day(&self) -> NaiveDate {
        self.to.date_naive()
    }
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))
}

/// The instant a `from`/`to` parameter names: RFC 3339, or `YYYY-MM-DD` (that day's UTC
/// midnight).
fn instant(name: &str, s: &str) -> AppResult<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(midnight(d));
    }
    Err(AppError::validation(format!(
        "{name} must be an RFC 3339 time or a date YYYY-MM-DD"
    )))
}

/// The range the figures cover: `from` and `to` widened to whole UTC days (`from` to its day's
/// midnight, `to` to the next midnight unless it is one). Default: the 30 days ending today
/// (with only `from`: up to the end of today; with only `to`: the 30 days before it).
pub fn day_range(from: Option<&str>, to: Option<&str>, now: DateTime<Utc>) -> AppResult<DayRange> {
    let ceil = |t: DateTime<Utc>| {
        let day = midnight(t.date_naive());
        if day == t {
            t
        } else {
            day + Duration::days(1)
        }
    };
    let to = match to.filter(|s| !s.trim().is_empty()) {
        Some(s) => ceil(instant("to", s)?),
        None => ceil(now + Duration::nanoseconds(1)),
    };
    let from = match from.filter(|s| !s.trim().is_empty()) {
        Some(s) => midnight(instant("from", s)?.date_naive()),
        None => to - Duration::days(DEFAULT_DAYS),
    };
    if from >= to {
        return Err(AppError::validation("from must be before to"));
    }
    if to - from > Duration::days(MAX_DAYS) {
        return Err(AppError::validation(format!(
            "a range is at most {MAX_DAYS} days"
        )));
    }
    Ok(DayRange { from, to })
}

/// The four counts behind a flow's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub trigger_times: u64,
    pub triggered_visitors: u64,
    pub participants: u64,
    pub completed_visitors: u64,
}

fn rate(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

/// One run's change as the statistics count it: the seed's rows are the same shape.
pub type RunChange = db::flow_stats::CountedRun;

#[derive(Debug, Default, Clone)]
struct Day {
    runs: RoaringTreemap,
    triggered: RoaringTreemap,
    participated: RoaringTreemap,
    completed: RoaringTreemap,
}

/// Per flow and UTC day (of `triggered_at`), the sets behind the figures.
#[derive(Debug, Default)]
pub struct Tally {
    flows: HashMap<i64, BTreeMap<NaiveDate, Day>>,
}

fn id(v: i64) -> u64 {
    // Ids are positive identities; a negative one would be a bug elsewhere, kept apart.
    v as u64
}

impl Tally {
    pub fn new() -> Tally {
        Tally::default()
    }

    /// Counts a run as it is now (a start, a participation, a completion, or a seeded row).
    /// Idempotent: counting the same state again changes nothing.
    pub fn apply(&mut self, c: &RunChange) {
        let day = self
            .flows
            .entry(c.flow_id)
            .or_default()
            .entry(c.triggered_at.date_naive())
            .or_default();
        day.runs.insert(id(c.run_id));
        day.triggered.insert(id(c.contact_id));
        if c.participated {
            day.participated.insert(id(c.contact_id));
        }
        if c.completed {
            day.completed.insert(id(c.contact_id));
        }
    }

    /// The flow's figures over the range's days.
    pub fn figures(&self, flow_id: i64, range: &DayRange) -> Figures {
        let Some(days) = self.flows.get(&flow_id) else {
            return Figures::default();
        };
        let mut runs = 0;
        let (mut t, mut p, mut c) = (
            RoaringTreemap::new(),
            RoaringTreemap::new(),
            RoaringTreemap::new(),
        );
        for day in days
            .range(range.first_day()..range.end_day())
            .map(|(_, d)| d)
        {
            // A run has one trigger day: the days' run sets are disjoint.
            runs += day.runs.len();
            t |= &day.triggered;
            p |= &day.participated;
            c |= &day.completed;
        }
        Figures {
            trigger_times: runs,
            triggered_visitors: t.len(),
            participants: p.len(),
            completed_visitors: c.len(),
        }
    }
}

/// A flow in the analytics list: what it is and its figures over the range.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlowStatsRow {
    pub flow_id: i64,
    pub name: String,
    pub enabled: bool,
    /// The draft's trigger.
    pub trigger_kind: TriggerKind,
    pub published_version: Option<i32>,
    /// Runs triggered in the range.
    pub trigger_times: u64,
    /// Distinct visitors with a run triggered in the range.
    pub triggered_visitors: u64,
    /// Distinct visitors with a run triggered in the range that participated.
    pub participants: u64,
    /// Distinct visitors with a run triggered in the range that completed.
    pub completed_visitors: u64,
    /// participants / triggered_visitors, 0 to 1; null without triggered visitors.
    pub participation: Option<f64>,
    /// completed_visitors / triggered_visitors, 0 to 1; null without triggered visitors.
    pub completion_rate: Option<f64>,
}

impl FlowStatsRow {
    pub fn new(flow: &FlowBrief, f: Figures) -> FlowStatsRow {
        FlowStatsRow {
            flow_id: flow.id,
            name: flow.name.clone(),
            enabled: flow.enabled,
            trigger_kind: flow.trigger_kind,
            published_version: flow.published_version,
            trigger_times: f.trigger_times,
            triggered_visitors: f.triggered_visitors,
            participants: f.participants,
            completed_visitors: f.completed_visitors,
            participation: rate(f.participants, f.triggered_visitors),
            completion_rate: rate(f.completed_visitors, f.triggered_visitors),
        }
    }
}

/// A flow as the analytics list names it.
#[derive(Debug, Clone)]
pub struct FlowBrief {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub trigger_kind: TriggerKind,
    pub published_version: Option<i32>,
}

/// `GET /automation/stats`: the range actually counted (whole UTC days) and every flow.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlowStatsList {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub flows: Vec<FlowStatsRow>,
}

pub use crate::db::enums::VisitorStatus;

pub fn parse_status(s: &str) -> AppResult<VisitorStatus> {
    VisitorStatus::parse(s).ok_or_else(|| {
        AppError::validation("status must be completed, participated or not_participated")
    })
}

/// A visitor's status: the best of their runs — any completed, else any participated.
pub fn status_of(any_completed: bool, any_participated: bool) -> VisitorStatus {
    if any_completed {
        VisitorStatus::Completed
    } else if any_participated {
        VisitorStatus::Participated
    } else {
        VisitorStatus::NotParticipated
    }
}

/// Where a drill-down page ends: the last row's (last trigger, contact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitorCursor {
    pub last_triggered_at: DateTime<Utc>,
    pub contact_id: i64,
}

pub fn encode_cursor(c: VisitorCursor) -> String {
    format!(
        "{}_{}",
        c.last_triggered_at.timestamp_micros(),
        c.contact_id
    )
}

pub fn decode_cursor(s: &str) -> AppResult<VisitorCursor> {
    let bad = || AppError::validation("after is not a cursor of this list");
    let (t, id) = s.split_once('_').ok_or_else(bad)?;
    let micros: i64 = t.parse().map_err(|_| bad())?;
    let contact_id: i64 = id.parse().map_err(|_| bad())?;
    let last_triggered_at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    Ok(VisitorCursor {
        last_triggered_at,
        contact_id,
    })
}

pub fn visitors_limit(limit: Option<i64>) -> AppResult<i64> {
    match limit {
        None => Ok(VISITORS_DEFAULT),
        Some(n) if (1..=VISITORS_MAX).contains(&n) => Ok(n),
        Some(_) => Err(AppError::validation(format!(
            "limit must be from 1 to {VISITORS_MAX}"
        ))),
    }
}

/// One triggered visitor.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VisitorRow {
    pub contact_id: i64,
    pub name: String,
    /// Shown first when set (as in the chat list).
    pub note_name: Option<String>,
    pub avatar_url: Option<String>,
    pub channel_id: i64,
    pub channel_kind: ChannelKind,
    pub channel_name: String,
    pub status: VisitorStatus,
    /// Runs triggered in the range.
    pub triggers: i64,
    pub first_triggered_at: DateTime<Utc>,
    pub last_triggered_at: DateTime<Utc>,
    /// The session of the latest run: `/chats/<id>` in the console.
    pub last_session_id: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VisitorPage {
    /// Latest trigger first.
    pub items: Vec<VisitorRow>,
    /// `after` for the next page; null on the last.
    pub next: Option<String>,
    /// Visitors matching the filters (all pages).
    pub total: i64,
}

/// A step of a version in the funnel.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FunnelStep {
    pub step_id: String,
    pub step_type: String,
    /// Distinct runs that entered the step.
    pub reached: i64,
    /// Runs running at the step now (waiting for a click, an answer, a timer).
    pub waiting: i64,
    /// Runs that ended at the step without completing (stopped or failed there): the drop-off.
    pub stopped: i64,
}

/// An edge of a version in the funnel.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FunnelEdge {
    pub from: String,
    pub port: String,
    pub to: String,
    /// Transitions through it (a run looping through it counts each time).
    pub taken: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Funnel {
    pub version: i32,
    /// Runs of the version.
    pub runs: i64,
    /// Of which completed.
    pub completed: i64,
    /// Every step of the version's document, in its order, then any other step runs entered.
    pub steps: Vec<FunnelStep>,
    /// Every edge of the document, then any other transition recorded.
    pub edges: Vec<FunnelEdge>,
}

/// Whether a `flow_stats` frame goes now, later, or is already on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    Now,
    /// Send it after this long (and then tell the throttle, `sent`).
    Later(std::time::Duration),
    /// One is already scheduled: it will carry this change too.
    Scheduled,
}

/// At most one `flow_stats` frame per flow per `FRAME_EVERY`: the first change goes at once, the
/// changes in the following second go together at its end.
#[derive(Debug, Default)]
pub struct Throttle {
    flows: HashMap<i64, (Instant, bool)>,
}

impl Throttle {
    pub fn new() -> Throttle {
        Throttle::default()
    }

    pub fn on_change(&mut self, flow_id: i64, now: Instant) -> Frame {
        match self.flows.get_mut(&flow_id) {
            Some((_, true)) => Frame::Scheduled,
            Some((last, scheduled)) if now.duration_since(*last) < FRAME_EVERY => {
                *scheduled = true;
                Frame::Later(FRAME_EVERY - now.duration_since(*last))
            }
            _ => {
                self.flows.insert(flow_id, (now, false));
                Frame::Now
            }
        }
    }

    /// A scheduled frame went out.
    pub fn sent(&mut self, flow_id: i64, now: Instant) {
        self.flows.insert(flow_id, (now, false));
        // Flows quiet for a while need no entry.
        self.flows.retain(|_, (last, scheduled)| {
            *scheduled || now.duration_since(*last) < FRAME_EVERY * 60
        });
    }
}

// Reads (each needs `automation.view`, which `automation.manage` grants).

/// The list: every flow of the project with its figures over the range (zeros included).
pub fn flow_list(
    flows: Vec<FlowBrief>,
    figures: &HashMap<i64, Figures>,
    range: DayRange,
) -> FlowStatsList {
    FlowStatsList {
        from: range.from,
        to: range.to,
        flows: flows
            .iter()
            .map(|f| FlowStatsRow::new(f, figures.get(&f.id).copied().unwrap_or_default()))
            .collect(),
    }
}

/// The project's flows as the list names them (the caller checked the permission).
pub async fn flows_of(conn: &mut AsyncPgConnection, access: &Access) -> AppResult<Vec<FlowBrief>> {
    access.require(Permission::ViewAutomation)?;
    Ok(db::flow_stats::flows_of(conn, access.project_id)
        .await?
        .into_iter()
        .map(
            |(id, name, enabled, trigger_kind, published_version)| FlowBrief {
                id,
                name,
                enabled,
                trigger_kind,
                published_version,
            },
        )
        .collect())
}

/// The figures of one flow recounted from the run rows (what the live figures must equal; the
/// list's answer while the statistics actor is not loaded yet).
pub async fn recount(
    conn: &mut AsyncPgConnection,
    flow_id: i64,
    range: &DayRange,
) -> AppResult<Figures> {
    let r = db::flow_stats::recount(conn, flow_id, range.from, range.to).await?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(Figures {
        trigger_times: n(r.trigger_times),
        triggered_visitors: n(r.triggered_visitors),
        participants: n(r.participants),
        completed_visitors: n(r.completed_visitors),
    })
}

/// The drill-down's parameters as the client sends them.
#[derive(Debug, Clone, Default)]
pub struct VisitorParams<'a> {
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub status: Option<&'a str>,
    pub channel_id: Option<i64>,
}

/// Checks the permission and the flow, and resolves the filters in the caller's data scope.
pub async fn visitor_query(
    conn: &mut AsyncPgConnection,
    access: &Access,
    flow_id: i64,
    p: &VisitorParams<'_>,
    now: DateTime<Utc>,
) -> AppResult<VisitorQuery> {
    access.require(Permission::ViewAutomation)?;
    let range = day_range(p.from, p.to, now)?;
    let status = p
        .status
        .filter(|s| !s.is_empty())
        .map(parse_status)
        .transpose()?;
    if !db::flow_stats::flow_exists(conn, access.project_id, flow_id).await? {
        return Err(AppError::not_found("flow"));
    }
    Ok(VisitorQuery {
        flow_id,
        from: range.from,
        to: range.to,
        status,
        channel_id: p.channel_id,
        assignee: access.report_scope(),
    })
}

fn visitor_row(r: db::flow_stats::VisitorRow) -> VisitorRow {
    VisitorRow {
        contact_id: r.contact_id,
        name: r.name,
        note_name: r.note_name,
        avatar_url: r.avatar_url,
        channel_id: r.channel_id,
        channel_kind: r.channel_kind,
        channel_name: r.channel_name,
        status: status_of(r.completed, r.participated),
        triggers: r.triggers,
        first_triggered_at: r.first_triggered_at,
        last_triggered_at: r.last_triggered_at,
        last_session_id: r.last_session_id,
    }
}

/// One page of the drill-down.
pub async fn visitors(
    conn: &mut AsyncPgConnection,
    q: &VisitorQuery,
    after: Option<&str>,
    limit: Option<i64>,
) -> AppResult<VisitorPage> {
    let limit = visitors_limit(limit)?;
    let after = after
        .filter(|s| !s.is_empty())
        .map(decode_cursor)
        .transpose()?;
    let (rows, total) = db::flow_stats::visitors(
        conn,
        q,
        after.map(|c| (c.last_triggered_at, c.contact_id)),
        limit + 1,
    )
    .await?;
    let mut items: Vec<VisitorRow> = rows.into_iter().map(visitor_row).collect();
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|r| {
            encode_cursor(VisitorCursor {
                last_triggered_at: r.last_triggered_at,
                contact_id: r.contact_id,
            })
        })
    } else {
        None
    };
    Ok(VisitorPage { items, next, total })
}

const CSV_PAGE: i64 = 1000;
pub const CSV_HEADER: &str =
    "contact_id,name,note_name,channel,status,triggers,first_triggered_at,last_triggered_at\r\n";

fn csv_line(r: &VisitorRow) -> String {
    use crate::domain::reports::csv_field;
    let mut out = String::with_capacity(128);
    out.push_str(&r.contact_id.to_string());
    out.push(',');
    csv_field(&mut out, &r.name);
    out.push(',');
    csv_field(&mut out, r.note_name.as_deref().unwrap_or(""));
    out.push(',');
    csv_field(&mut out, &r.channel_name);
    out.push(',');
    out.push_str(r.status.as_str());
    out.push(',');
    out.push_str(&r.triggers.to_string());
    out.push(',');
    out.push_str(
        &r.first_triggered_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    out.push(',');
    out.push_str(
        &r.last_triggered_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    out.push_str("\r\n");
    out
}

/// Every matching visitor as CSV, a header row first, read a page at a time. The range ends
/// at the export's start at the latest: a visitor triggering again during the export would
/// move in the order, and is neither skipped nor written twice this way.
pub fn csv_stream(
    pool: Pool,
    mut q: VisitorQuery,
    now: DateTime<Utc>,
) -> impl futures_util::Stream<Item = AppResult<String>> {
    q.to = q.to.min(now);
    let fetch = move |after: Option<(DateTime<Utc>, i64)>| {
        let (pool, q) = (pool.clone(), q.clone());
        async move {
            if q.from >= q.to {
                return Ok(Vec::new());
            }
            let mut conn = pool.get().await?;
            Ok(db::flow_stats::visitors(&mut conn, &q, after, CSV_PAGE)
                .await?
                .0)
        }
    };
    crate::domain::csv_export::paged(
        CSV_HEADER.to_owned(),
        CSV_PAGE,
        fetch,
        |r| (r.last_triggered_at, r.contact_id),
        |r| csv_line(&visitor_row(r)),
    )
}

/// The funnel of a published version, counted from its runs' step rows (and where the runs
/// are now): never by walking the graph.
pub async fn funnel(
    conn: &mut AsyncPgConnection,
    access: &Access,
    flow_id: i64,
    version: i32,
) -> AppResult<Funnel> {
    access.require(Permission::ViewAutomation)?;
    if !db::flow_stats::flow_exists(conn, access.project_id, flow_id).await? {
        return Err(AppError::not_found("flow"));
    }
    let Some((version_id, document)) = db::flow_stats::version_of(conn, flow_id, version).await?
    else {
        return Err(AppError::not_found("version"));
    };
    let entries = db::flow_stats::entries(conn, version_id).await?;
    // Without a loop a run enters a step at most once: its entries are its runs. With one, the
    // distinct runs are counted (a second, costlier scan).
    let looped = super::document::parse(&document)
        .map(|d| has_cycle(&d))
        .unwrap_or(true);
    let reached = if looped {
        db::flow_stats::steps_reached(conn, version_id).await?
    } else {
        let mut per: Vec<db::flow_stats::StepReached> = Vec::new();
        for e in &entries {
            match per.iter_mut().find(|r| r.step_id == e.step_id) {
                Some(r) => r.reached += e.n,
                None => per.push(db::flow_stats::StepReached {
                    step_id: e.step_id.clone(),
                    step_type: e.step_type.clone(),
                    reached: e.n,
                }),
            }
        }
        per
    };
    let at = db::flow_stats::runs_at(conn, version_id).await?;
    Ok(funnel_of(version, &document, reached, entries, at))
}

/// Whether the document's edges form a cycle (decides how the funnel counts; the counts
/// themselves always come from the rows).
fn has_cycle(doc: &super::document::FlowDocument) -> bool {
    let ids: Vec<&str> = doc.steps.iter().map(|s| s.id.as_str()).collect();
    let index = |id: &str| ids.iter().position(|x| *x == id);
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    for e in &doc.edges {
        if let (Some(a), Some(b)) = (index(&e.from), index(&e.to)) {
            next[a].push(b);
        }
    }
    // 0 unseen, 1 on the current path, 2 done.
    let mut state = vec![0u8; ids.len()];
    for root in 0..ids.len() {
        if state[root] != 0 {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        state[root] = 1;
        while let Some((node, i)) = stack.pop() {
            if let Some(&to) = next[node].get(i) {
                stack.push((node, i + 1));
                match state[to] {
                    1 => return true,
                    0 => {
                        state[to] = 1;
                        stack.push((to, 0));
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
            }
        }
    }
    false
}

/// Puts the counts on the version's steps and edges, in the document's order (a document
/// that no longer parses still shows what the rows say).
fn funnel_of(
    version: i32,
    document: &serde_json::Value,
    reached: Vec<db::flow_stats::StepReached>,
    entries: Vec<db::flow_stats::Entries>,
    at: Vec<(Option<String>, RunStatus, i64)>,
) -> Funnel {
    let doc = super::document::parse(document).ok();
    let mut steps: Vec<FunnelStep> = doc
        .iter()
        .flat_map(|d| d.steps.iter())
        .map(|s| FunnelStep {
            step_id: s.id.clone(),
            step_type: s.kind.type_name().to_owned(),
            reached: 0,
            waiting: 0,
            stopped: 0,
        })
        .collect();
    fn step<'a>(steps: &'a mut Vec<FunnelStep>, id: &str, ty: &str) -> &'a mut FunnelStep {
        let i = match steps.iter().position(|s| s.step_id == id) {
            Some(i) => i,
            None => {
                steps.push(FunnelStep {
                    step_id: id.to_owned(),
                    step_type: ty.to_owned(),
                    reached: 0,
                    waiting: 0,
                    stopped: 0,
                });
                steps.len() - 1
            }
        };
        &mut steps[i]
    }
    for r in reached {
        step(&mut steps, &r.step_id, &r.step_type).reached = r.reached;
    }
    let (mut runs, mut completed) = (0, 0);
    for (current, status, n) in at {
        runs += n;
        if status == RunStatus::Completed {
            completed += n;
        }
        let Some(current) = current else { continue };
        match status {
            RunStatus::Completed => {}
            RunStatus::Running => step(&mut steps, &current, "").waiting += n,
            RunStatus::Stopped | RunStatus::Failed => step(&mut steps, &current, "").stopped += n,
        }
    }
    let mut edges: Vec<FunnelEdge> = doc
        .iter()
        .flat_map(|d| d.edges.iter())
        .map(|e| FunnelEdge {
            from: e.from.clone(),
            port: e.port.clone(),
            to: e.to.clone(),
            taken: 0,
        })
        .collect();
    for t in entries {
        let (Some(from), Some(port)) = (t.from_step, t.via_port) else {
            continue;
        };
        match edges
            .iter_mut()
            .find(|e| e.from == from && e.port == port && e.to == t.step_id)
        {
            Some(e) => e.taken += t.n,
            None => edges.push(FunnelEdge {
                from,
                port,
                to: t.step_id,
                taken: t.n,
            }),
        }
    }
    Funnel {
        version,
        runs,
        completed,
        steps,
        edges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_range_is_widened_to_whole_utc_days() {
        let now = at("2026-12-01T20:00:00Z");
        let r = day_range(
            Some("2026-11-03T10:00:00+02:00"),
            Some("2026-11-05T00:00:01Z"),
            now,
        )
        .unwrap();
        assert_eq!(r.from, at("2026-11-03T00:00:00Z"));
        assert_eq!(r.to, at("2026-11-06T00:00:00Z"));
        let r = day_range(Some("2026-11-03"), Some("2026-11-05"), now).unwrap();
        assert_eq!(
            (r.from, r.to),
            (at("2026-11-03T00:00:00Z"), at("2026-11-05T00:00:00Z"))
        );
        let d = day_range(None, None, now).unwrap();
        assert_eq!(
            (d.from, d.to),
            (at("2026-11-02T00:00:00Z"), at("2026-12-02T00:00:00Z"))
        );
        let at_midnight = day_range(None, None, at("2026-12-01T00:00:00Z")).unwrap();
        assert_eq!(at_midnight.to, at("2026-12-02T00:00:00Z"), "today counts");
        assert!(day_range(Some("2026-11-05"), Some("2026-11-05"), now).is_err());
        assert!(day_range(Some("yesterday"), None, now).is_err());
        assert!(day_range(Some("1990-01-01"), None, now).is_err());
    }

    fn change(run: i64, contact: i64, day: &str, p: bool, c: bool) -> RunChange {
        RunChange {
            flow_id: 1,
            run_id: run,
            contact_id: contact,
            triggered_at: at(&format!("{day}T12:00:00Z")),
            participated: p,
            completed: c,
        }
    }

    #[test]
    fn figures_count_distinct_visitors_across_days_and_runs_once() {
        let mut t = Tally::new();
        t.apply(&change(1, 10, "2026-11-01", false, false));
        t.apply(&change(1, 10, "2026-11-01", true, false));
        t.apply(&change(2, 10, "2026-11-02", true, true));
        t.apply(&change(3, 11, "2026-11-02", false, false));
        // Seeding and an event of the same run: counted once.
        t.apply(&change(3, 11, "2026-11-02", false, false));
        let both = day_range(Some("2026-11-01"), Some("2026-11-03"), Utc::now()).unwrap();
        assert_eq!(
            t.figures(1, &both),
            Figures {
                trigger_times: 3,
                triggered_visitors: 2,
                participants: 1,
                completed_visitors: 1
            }
        );
        let first = day_range(Some("2026-11-01"), Some("2026-11-02"), Utc::now()).unwrap();
        assert_eq!(t.figures(1, &first).completed_visitors, 0);
        assert_eq!(t.figures(2, &both), Figures::default());
        let row = FlowStatsRow::new(
            &FlowBrief {
                id: 1,
                name: "f".into(),
                enabled: true,
                trigger_kind: TriggerKind::FirstMessage,
                published_version: Some(1),
            },
            t.figures(1, &both),
        );
        assert_eq!(
            (row.participation, row.completion_rate),
            (Some(0.5), Some(0.5))
        );
        assert_eq!(
            FlowStatsRow::new(
                &FlowBrief {
                    id: 2,
                    ..row_brief()
                },
                Figures::default()
            )
            .participation,
            None
        );
    }

    fn row_brief() -> FlowBrief {
        FlowBrief {
            id: 1,
            name: "f".into(),
            enabled: true,
            trigger_kind: TriggerKind::Keyword,
            published_version: None,
        }
    }

    #[test]
    fn a_visitors_best_run_gives_the_status() {
        assert_eq!(status_of(true, false), VisitorStatus::Completed);
        assert_eq!(status_of(true, true), VisitorStatus::Completed);
        assert_eq!(status_of(false, true), VisitorStatus::Participated);
        assert_eq!(status_of(false, false), VisitorStatus::NotParticipated);
        for s in VisitorStatus::ALL {
            assert_eq!(parse_status(s.as_str()).unwrap(), *s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!(parse_status("done").is_err());
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let c = VisitorCursor {
            last_triggered_at: at("2026-11-01T12:00:00.123456Z"),
            contact_id: 42,
        };
        assert_eq!(decode_cursor(&encode_cursor(c)).unwrap(), c);
        assert!(decode_cursor("x_1").is_err() && decode_cursor("12").is_err());
    }

    #[test]
    fn a_loop_in_the_document_is_found() {
        let doc = |edges: serde_json::Value| {
            super::super::document::parse(&serde_json::json!({
                "trigger": {"kind": "first_message"}, "start": "a",
                "steps": [{"id": "a", "type": "question", "text": "?", "answer": "text"},
                          {"id": "b", "type": "message", "text": "x"},
                          {"id": "c", "type": "end"}],
                "edges": edges}))
            .unwrap()
        };
        let chain = doc(
            serde_json::json!([{"from": "a", "to": "b"}, {"from": "b", "to": "c"},
            {"from": "a", "port": "fallback", "to": "c"}]),
        );
        assert!(!has_cycle(&chain));
        let looped = doc(
            serde_json::json!([{"from": "a", "to": "b"}, {"from": "b", "to": "a"},
            {"from": "a", "port": "fallback", "to": "c"}]),
        );
        assert!(has_cycle(&looped));
    }

    #[test]
    fn frames_go_at_once_then_at_most_once_a_second() {
        let mut t = Throttle::new();
        let t0 = Instant::now();
        assert_eq!(t.on_change(1, t0), Frame::Now);
        assert_eq!(t.on_change(2, t0), Frame::Now, "flows are apart");
        let later = t0 + std::time::Duration::from_millis(300);
        assert_eq!(
            t.on_change(1, later),
            Frame::Later(std::time::Duration::from_millis(700))
        );
        assert_eq!(t.on_change(1, later), Frame::Scheduled);
        let fired = t0 + FRAME_EVERY;
        t.sent(1, fired);
        assert!(matches!(t.on_change(1, fired), Frame::Later(_)));
        assert_eq!(t.on_change(1, fired + FRAME_EVERY * 3), Frame::Scheduled);
        t.sent(1, fired + FRAME_EVERY * 3);
        assert_eq!(t.on_change(1, fired + FRAME_EVERY * 5), Frame::Now);
    }
}
