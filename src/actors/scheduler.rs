//! Delivers due durable timers to their session actors. Timers are rows (`db::timers`); the
//! scheduler claims due rows with a lease, so a server that dies holding a claim only delays
//! the timer until the lease lapses, and the session actor marks a timer fired in the same
//! transaction as its effect, so it takes effect once.

use super::session::Fire;
use super::sessions::SessionSupervisor;
use crate::db::{self, Pool};
use actix::prelude::*;
use std::sync::Arc;
use std::time::Duration;

const TICK: Duration = Duration::from_millis(250);
const BATCH: i64 = 200;
const LEASE_SECS: i64 = 30;

pub struct Scheduler {
    pool: Pool,
    sessions: Arc<SessionSupervisor>,
    busy: bool,
}

impl Scheduler {
    pub fn new(pool: Pool, sessions: Arc<SessionSupervisor>) -> Self {
        Scheduler {
            pool,
            sessions,
            busy: false,
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
        self.busy = true;
        let (pool, sessions) = (self.pool.clone(), Arc::clone(&self.sessions));
        let fut = async move {
            let mut conn = pool.get().await.map_err(|e| e.to_string())?;
            let due = db::timers::claim_due(&mut conn, BATCH, LEASE_SECS)
                .await
                .map_err(|e| e.to_string())?;
            drop(conn);
            let sends = due.into_iter().filter_map(|t| {
                let session_id = t.session_id?;
                let addr = sessions.session(session_id);
                Some(async move {
                    if let Err(e) = addr.send(Fire { timer_id: t.id }).await {
                        // The claim lapses and the timer is delivered again.
                        tracing::warn!(error = %e, timer = t.id, "timer not delivered");
                    }
                })
            });
            futures_util::future::join_all(sends).await;
            Ok::<_, String>(())
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, _| {
            act.busy = false;
            if let Err(e) = res {
                // One failed tick (database down) must not stop the scheduler.
                tracing::warn!(error = %e, "timer tick failed");
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
