//! Delivers due durable timers to their session actors. Timers are rows (`db::timers`); the
//! scheduler claims due rows with a lease, so a server that dies holding a claim only delays
//! the timer until the lease lapses, and `domain::timers::fire` marks a timer fired in the same
//! transaction as its effect, so it takes effect once. A session's timer is fired by the
//! session's actor; a timer of no session by the scheduler itself.
//!
//! A tick does not wait for its deliveries: a `Fire` can wait on a busy session (its row lock,
//! up to 12 s of retries while the database is away), and meanwhile other timers must still
//! fire. Deliveries run on their own, at most `MAX_IN_FLIGHT` at a time; a tick claims only as
//! many timers as there is room for, so the work the scheduler holds stays bounded.

use super::session::Fire;
use super::sessions::SessionSupervisor;
use crate::context::AppContext;
use crate::db::{self, retry::with_retry, timers::TimerRow};
use crate::domain::timers::{self, TimerEnv};
use actix::prelude::*;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

const TICK: Duration = Duration::from_millis(250);
const BATCH: usize = 200;
const MAX_IN_FLIGHT: usize = 400;
const LEASE_SECS: i64 = 30;

pub struct Scheduler {
    ctx: Arc<AppContext>,
    sessions: Arc<SessionSupervisor>,
    claiming: bool,
    /// Timers whose `Fire` was sent and not yet answered.
    in_flight: HashSet<i64>,
}

impl Scheduler {
    pub fn new(ctx: Arc<AppContext>, sessions: Arc<SessionSupervisor>) -> Self {
        Scheduler {
            ctx,
            sessions,
            claiming: false,
            in_flight: HashSet::new(),
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let room = MAX_IN_FLIGHT
            .saturating_sub(self.in_flight.len())
            .min(BATCH);
        if self.claiming || room == 0 {
            return;
        }
        self.claiming = true;
        let app = Arc::clone(&self.ctx);
        let fut = async move {
            let mut conn = app.pool.get().await.map_err(|e| e.to_string())?;
            db::timers::claim_due(&mut conn, room as i64, LEASE_SECS)
                .await
                .map_err(|e| e.to_string())
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            act.claiming = false;
            match res {
                Ok(due) => {
                    act.ctx.metrics.timers_due.inc_by(due.len() as u64);
                    for t in due {
                        act.deliver(t, ctx);
                    }
                }
                // One failed tick (database down) must not stop the scheduler.
                Err(e) => tracing::warn!(error = %e, "timer tick failed"),
            }
        }));
    }

    /// A session's timer goes to the session's actor, in order with the session's other
    /// changes; any other timer is fired here, by its kind's handler.
    fn deliver(&mut self, t: TimerRow, ctx: &mut Context<Self>) {
        // Claimed again after its lease lapsed while the first Fire still waits on the
        // session: a second one would only queue behind it.
        if !self.in_flight.insert(t.id) {
            return;
        }
        self.ctx
            .metrics
            .timers_in_flight
            .set(self.in_flight.len() as i64);
        let timer_id = t.id;
        let done = move |res: Result<(), String>, act: &mut Scheduler, _: &mut Context<Self>| {
            act.in_flight.remove(&timer_id);
            let m = &act.ctx.metrics;
            m.timers_in_flight.set(act.in_flight.len() as i64);
            match res {
                Ok(()) => {
                    m.timers_fired.inc();
                }
                // The claim lapses and the timer is delivered again.
                Err(e) => tracing::warn!(error = %e, timer = timer_id, "timer not delivered"),
            }
        };
        match t.session_id {
            Some(session_id) => {
                let sent = self.sessions.session(session_id).send(Fire { timer_id });
                let sent = async move { sent.await.map_err(|e| e.to_string()) };
                ctx.spawn(sent.into_actor(self).map(done));
            }
            None => {
                let app = Arc::clone(&self.ctx);
                let fired = async move {
                    let env = TimerEnv {
                        mail: app.mail.clone(),
                    };
                    with_retry(|| async {
                        let mut conn = app.pool.get().await?;
                        timers::fire(&mut conn, timer_id, &app.timers, &env).await
                    })
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
                };
                ctx.spawn(fired.into_actor(self).map(done));
            }
        }
    }
}

impl Actor for Scheduler {
    type Context = Context<Self>;
    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
    }
}
