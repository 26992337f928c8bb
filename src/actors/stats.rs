//! The statistics supervisor: live session counters per project, fed by session actors as
//! changes commit, seeded from the database at start. One per server; with several servers
//! each counts its own traffic, so the seeded totals are re-read on `Reload`.

use crate::db::{self, enums::SessionStatus, Pool};
use actix::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;

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

pub struct StatsActor {
    pool: Pool,
    projects: HashMap<i64, ProjectStats>,
}

impl StatsActor {
    pub fn new(pool: Pool) -> Self {
        StatsActor {
            pool,
            projects: HashMap::new(),
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

/// Feeds the statistics supervisor from committed events.
pub struct StatsListener(pub Addr<StatsActor>);

impl crate::events::Listener for StatsListener {
    fn on_events(&self, events: &[crate::domain::events::Event]) {
        use crate::domain::events::Event;
        for e in events {
            match e {
                Event::SessionOpened { session, .. } => self.0.do_send(StatusChanged {
                    project_id: session.project_id,
                    from: None,
                    to: session.status,
                }),
                Event::MessagePosted { after, .. } => self.0.do_send(MessagePosted {
                    project_id: after.project_id,
                }),
                Event::SessionChanged { before, after, .. } if before.status != after.status => {
                    self.0.do_send(StatusChanged {
                        project_id: after.project_id,
                        from: Some(before.status),
                        to: after.status,
                    })
                }
                _ => {}
            }
        }
    }
}
