//! Delivers due durable timers to their session actors. Timers are rows (`db::timers`); the
//! scheduler claims due rows with a lease, so a server that dies holding a claim only delays
//! the timer until the lease lapses, and the session actor marks a timer fired in the same
//! transaction as its effect, so it takes effect once.
//!
//! A tick does not wait for its deliveries: a `Fire` can wait on a busy session (its row lock,
//! up to 12 s of retries while the database is away), and meanwhile other timers must still
//! fire. Deliveries run on their own, at most `MAX_IN_FLIGHT` at a time; a tick claims only as
//! many timers as there is room for, so the work the scheduler holds stays bounded.

use super::registry::Registry;
use super::session::Fire;
use crate::db::{self, timers::TimerRow};
use actix::prelude::*;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

const TICK: Duration = Duration::from_millis(250);
const BATCH: usize = 200;
const MAX_IN_FLIGHT: usize = 400;
const LEASE_SECS: i64 = 30;

pub struct Scheduler {
    reg: Arc<Registry>,
    claiming: bool,
    /// Timers whose `Fire` was sent and not yet answered.
    in_flight: HashSet<i64>,
}

impl Scheduler {
    pub fn new(reg: Arc<Registry>) -> Self {
        Scheduler {
            reg,
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
        let reg = Arc::clone(&self.reg);
        let fut = async move {
            let mut conn = reg.pool.get().await.map_err(|e| e.to_string())?;
            let due = db::timers::claim_due(&mut conn, room as i64, LEASE_SECS)
                .await
                .map_err(|e| e.to_string())?;
            let (with_session, without): (Vec<TimerRow>, Vec<TimerRow>) =
                due.into_iter().partition(|t| t.session_id.is_some());
            if !without.is_empty() {
                // Every timer kind so far belongs to a session. Until the timer-kind registry
                // (issue 10) routes session-less kinds, they are marked fired so that they are
                // not claimed again every lease.
                let ids: Vec<i64> = without.iter().map(|t| t.id).collect();
                tracing::warn!(timers = ?ids, "timers without a session dropped");
                db::timers::mark_all_fired(&mut conn, &ids)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(with_session)
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            act.claiming = false;
            match res {
                Ok(due) => {
                    for t in due {
                        act.deliver(t, ctx);
                    }
                }
                // One failed tick (database down) must not stop the scheduler.
                Err(e) => tracing::warn!(error = %e, "timer tick failed"),
            }
        }));
    }

    fn deliver(&mut self, t: TimerRow, ctx: &mut Context<Self>) {
        let Some(session_id) = t.session_id else {
            return;
        };
        // Claimed again after its lease lapsed while the first Fire still waits on the
        // session: a second one would only queue behind it.
        if !self.in_flight.insert(t.id) {
            return;
        }
        let timer_id = t.id;
        let sent = self.reg.session(session_id).send(Fire { timer_id });
        ctx.spawn(sent.into_actor(self).map(move |res, act, _| {
            act.in_flight.remove(&timer_id);
            if let Err(e) = res {
                // The claim lapses and the timer is delivered again.
                tracing::warn!(error = %e, timer = timer_id, "timer not delivered");
            }
        }));
    }
}

impl Actor for Scheduler {
    type Context = Context<Self>;
    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
    }
}
