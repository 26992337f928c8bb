//! The statistics supervisor: live session counters per project, fed by session actors as
//! changes commit, seeded from the database at start. One per server; with several servers
//! each counts its own traffic, so the seeded totals are re-read on `Reload`.
//!
//! It also keeps automation's figures (`analytics::Tally`: per flow and UTC day, the runs and
//! the triggered, participating and completing contacts as bitmaps), seeded from `flow_runs`
//! at start and updated from `FlowRunChanged`; `GET /automation/stats` is answered from them.
//! Its listener coalesces those changes into at most one `FlowStatsChanged` per flow per
//! second: the first at once, on the committing actor's thread (so it follows the session's
//! own frames), the rest at the end of that second, from here.

use crate::db::{self, enums::SessionStatus, Pool};
use crate::domain::automation::analytics::{DayRange, Figures, Frame, RunChange, Tally, Throttle};
use crate::domain::events::Event;
use crate::events::Dispatcher;
use actix::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How long to wait before reading the runs again when the first read failed.
const SEED_RETRY: Duration = Duration::from_secs(2);

/// How often the +1/-1 rows of `session_count_deltas` are folded: a minute of session changes
/// is what a dashboard count sums at most.
const COMPACT_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Default, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct ProjectStats {
    pub unassigned: i64,
    pub assigned: i64,
    pub ended: i64,
    /// Sessions not ended (unassigned + assigned).
    pub ongoing: i64,
    pub total: i64,
    /// Messages committed since this server started.
    pub messages_since_start: i64,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct StatusChanged {
    pub project_id: i64,
    /// `None` for a new session.
    pub from: Option<SessionStatus>,
    pub to: SessionStatus,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct MessagePosted {
    pub project_id: i64,
}

#[derive(Message)]
#[rtype(result = "ProjectStats")]
pub struct GetProjectStats {
    pub project_id: i64,
}

/// Re-reads the session counts from the database.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reload;

/// A run started, participated or completed (committed).
#[derive(Message)]
#[rtype(result = "()")]
pub struct FlowRunCounted(pub RunChange);

/// The figures of these flows over the range; `None` until the runs are loaded (the caller
/// then counts from the database).
#[derive(Message)]
#[rtype(result = "Option<HashMap<i64, Figures>>")]
pub struct GetFlowFigures {
    pub flow_ids: Vec<i64>,
    pub range: DayRange,
}

/// Sends the flow's coalesced `flow_stats` frame after `after`.
#[derive(Message)]
#[rtype(result = "()")]
struct FlowStatsLater {
    project_id: i64,
    flow_id: i64,
    after: Duration,
}

/// Reads every run into the figures (at start).
#[derive(Message)]
#[rtype(result = "()")]
struct SeedFlows;

pub struct StatsActor {
    pool: Pool,
    projects: HashMap<i64, ProjectStats>,
    flows: Tally,
    flows_loaded: bool,
    events: Weak<Dispatcher>,
    throttle: Arc<Mutex<Throttle>>,
}

impl StatsActor {
    /// `events` is where coalesced `FlowStatsChanged` go; `throttle` is shared with the
    /// listener (`StatsListener::new`).
    pub fn new(pool: Pool, events: Weak<Dispatcher>, throttle: Arc<Mutex<Throttle>>) -> Self {
        StatsActor {
            pool,
            projects: HashMap::new(),
            flows: Tally::new(),
            flows_loaded: false,
            events,
            throttle,
        }
    }

    fn bump(&mut self, project_id: i64, status: SessionStatus, delta: i64) {
        let s = self.projects.entry(project_id).or_default();
        match status {
            SessionStatus::Unassigned => s.unassigned += delta,
            SessionStatus::Assigned => s.assigned += delta,
            SessionStatus::Ended => s.ended += delta,
        }
    }
}

impl Actor for StatsActor {
    type Context = Context<Self>;
    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.notify(Reload);
        ctx.notify(SeedFlows);
        ctx.run_interval(COMPACT_EVERY, |act, ctx| {
            let pool = act.pool.clone();
            ctx.spawn(
                async move {
                    let res = match pool.get().await {
                        Ok(mut conn) => db::session_counts::compact(&mut conn)
                            .await
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    if let Err(e) = res {
                        tracing::warn!(error = %e, "cannot fold session counts");
                    }
                }
                .into_actor(act),
            );
        });
    }
}

impl Handler<Reload> for StatsActor {
    type Result = ();
    fn handle(&mut self, _: Reload, ctx: &mut Context<Self>) {
        let pool = self.pool.clone();
        let fut = async move {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            db::session_counts::all(&mut conn)
                .await
                .map_err(|e| e.to_string())
        };
        // `wait`: no change is counted against half-loaded totals.
        ctx.wait(fut.into_actor(self).map(|res, act, _| match res {
            Ok(rows) => {
                let messages: HashMap<i64, i64> = act
                    .projects
                    .iter()
                    .map(|(k, v)| (*k, v.messages_since_start))
                    .collect();
                act.projects.clear();
                for (project_id, status, n) in rows {
                    act.bump(project_id, status, n);
                }
                for (k, m) in messages {
                    act.projects.entry(k).or_default().messages_since_start = m;
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot load session statistics"),
        }));
    }
}

impl Handler<SeedFlows> for StatsActor {
    type Result = ();
    fn handle(&mut self, _: SeedFlows, ctx: &mut Context<Self>) {
        let pool = self.pool.clone();
        let fut = async move {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            db::flow_stats::seed(&mut conn)
                .await
                .map_err(|e| e.to_string())
        };
        // `wait`: questions and changes queue behind the seed. A run both read here and
        // announced by an event is counted once: every figure is a set.
        ctx.wait(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok(rows) => {
                for r in &rows {
                    act.flows.apply(r);
                }
                act.flows_loaded = true;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot load automation statistics; retrying");
                ctx.notify_later(SeedFlows, SEED_RETRY);
            }
        }));
    }
}

impl Handler<FlowRunCounted> for StatsActor {
    type Result = ();
    fn handle(&mut self, msg: FlowRunCounted, _: &mut Context<Self>) {
        self.flows.apply(&msg.0);
    }
}

impl Handler<GetFlowFigures> for StatsActor {
    type Result = MessageResult<GetFlowFigures>;
    fn handle(&mut self, msg: GetFlowFigures, _: &mut Context<Self>) -> Self::Result {
        if !self.flows_loaded {
            return MessageResult(None);
        }
        MessageResult(Some(
            msg.flow_ids
                .iter()
                .map(|id| (*id, self.flows.figures(*id, &msg.range)))
                .collect(),
        ))
    }
}

impl Handler<FlowStatsLater> for StatsActor {
    type Result = ();
    fn handle(&mut self, msg: FlowStatsLater, ctx: &mut Context<Self>) {
        ctx.run_later(msg.after, move |act, _| {
            if let Ok(mut t) = act.throttle.lock() {
                t.sent(msg.flow_id, Instant::now());
            }
            if let Some(events) = act.events.upgrade() {
                events.dispatch(&[Event::FlowStatsChanged {
                    project_id: msg.project_id,
                    flow_id: msg.flow_id,
                }]);
            }
        });
    }
}

impl Handler<StatusChanged> for StatsActor {
    type Result = ();
    fn handle(&mut self, msg: StatusChanged, _: &mut Context<Self>) {
        if let Some(from) = msg.from {
            self.bump(msg.project_id, from, -1);
        }
        self.bump(msg.project_id, msg.to, 1);
    }
}

impl Handler<MessagePosted> for StatsActor {
    type Result = ();
    fn handle(&mut self, msg: MessagePosted, _: &mut Context<Self>) {
        self.projects
            .entry(msg.project_id)
            .or_default()
            .messages_since_start += 1;
    }
}

impl Handler<GetProjectStats> for StatsActor {
    type Result = MessageResult<GetProjectStats>;
    fn handle(&mut self, msg: GetProjectStats, _: &mut Context<Self>) -> Self::Result {
        let mut s = self
            .projects
            .get(&msg.project_id)
            .copied()
            .unwrap_or_default();
        s.ongoing = s.unassigned + s.assigned;
        s.total = s.ongoing + s.ended;
        MessageResult(s)
    }
}

/// Feeds the statistics supervisor from committed events, and sends the coalesced
/// `FlowStatsChanged` of automation runs.
pub struct StatsListener {
    stats: Addr<StatsActor>,
    throttle: Arc<Mutex<Throttle>>,
    events: Weak<Dispatcher>,
}

impl StatsListener {
    pub fn new(
        stats: Addr<StatsActor>,
        throttle: Arc<Mutex<Throttle>>,
        events: Weak<Dispatcher>,
    ) -> StatsListener {
        StatsListener {
            stats,
            throttle,
            events,
        }
    }

    /// The change is already on its way to the actor, so a client that refetches on the
    /// frame reads figures that include it (the actor answers in mailbox order).
    fn flow_changed(&self, project_id: i64, flow_id: i64) {
        let decision = match self.throttle.lock() {
            Ok(mut t) => t.on_change(flow_id, Instant::now()),
            Err(_) => return,
        };
        match decision {
            Frame::Now => {
                if let Some(events) = self.events.upgrade() {
                    events.dispatch(&[Event::FlowStatsChanged {
                        project_id,
                        flow_id,
                    }]);
                }
            }
            Frame::Later(after) => self.stats.do_send(FlowStatsLater {
                project_id,
                flow_id,
                after,
            }),
            Frame::Scheduled => {}
        }
    }
}

impl crate::events::Listener for StatsListener {
    fn on_events(&self, events: &[Event]) {
        let mut changed_flows: Vec<(i64, i64)> = Vec::new();
        for e in events {
            match e {
                Event::SessionOpened { session, .. } => self.stats.do_send(StatusChanged {
                    project_id: session.project_id,
                    from: None,
                    to: session.status,
                }),
                Event::MessagePosted { after, .. } => self.stats.do_send(MessagePosted {
                    project_id: after.project_id,
                }),
                Event::SessionChanged { before, after, .. } if before.status != after.status => {
                    self.stats.do_send(StatusChanged {
                        project_id: after.project_id,
                        from: Some(before.status),
                        to: after.status,
                    })
                }
                Event::FlowRunChanged {
                    project_id,
                    flow_id,
                    run_id,
                    contact_id,
                    triggered_at,
                    participated,
                    completed,
                    ..
                } => {
                    self.stats.do_send(FlowRunCounted(RunChange {
                        flow_id: *flow_id,
                        run_id: *run_id,
                        contact_id: *contact_id,
                        triggered_at: *triggered_at,
                        participated: *participated,
                        completed: *completed,
                    }));
                    if !changed_flows.contains(&(*project_id, *flow_id)) {
                        changed_flows.push((*project_id, *flow_id));
                    }
                }
                _ => {}
            }
        }
        for (project_id, flow_id) in changed_flows {
            self.flow_changed(project_id, flow_id);
        }
    }
}
