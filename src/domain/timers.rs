//! Durable timer kinds. A timer is a row (`db::timers`); what a due one does is its kind's
//! handler, registered by the feature that sets timers of that kind, next to its rules:
//! `conversation::AUTO_END`, `conversation::RELEASE_ASSIGNEE`, `alerts::NO_REPLY_ALERT`.
//!
//! A new kind plugs in at one seam: define a `TimerKind` in the feature's module and add it to
//! the list `app::start` gives `TimerKinds::new`. A timer may belong to a session (then the
//! session's actor fires it, in order with the session's other changes, and the handler gets the
//! locked session row) or to something else (an automation run, a channel job: the scheduler
//! fires it and the handler gets `None`). Several pending timers of one kind per session are
//! told apart by their `key`.

use crate::db::{self, sessions::SessionRow, timers::TimerRow};
use crate::domain::alerts::MailEnv;
use crate::domain::conversation::Applied;
use crate::error::AppResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::future::BoxFuture;
use std::collections::HashMap;

/// What timer handlers may need besides the database.
#[derive(Debug, Clone)]
pub struct TimerEnv {
    pub mail: MailEnv,
}

/// Applies a due timer inside its firing transaction (the timer row locked and marked fired;
/// a session timer's session row locked). `Ok(None)`: nothing changed that is announced.
pub type FireFn = for<'a> fn(
    &'a mut AsyncPgConnection,
    &'a TimerRow,
    Option<SessionRow>,
    &'a TimerEnv,
) -> BoxFuture<'a, AppResult<Option<Applied>>>;

#[derive(Clone, Copy)]
pub struct TimerKind {
    pub name: &'static str,
    pub fire: FireFn,
}

/// The kinds this server fires, by name.
pub struct TimerKinds(HashMap<&'static str, TimerKind>);

impl TimerKinds {
    pub fn new(kinds: &[TimerKind]) -> Self {
        TimerKinds(kinds.iter().map(|k| (k.name, *k)).collect())
    }

    pub fn get(&self, name: &str) -> Option<&TimerKind> {
        self.0.get(name)
    }
}

/// Applies a due timer once: `None` if it already fired (another server, or a retry), has
/// nothing to announce, or is of a kind this server does not know (logged, and marked fired
/// so it is not claimed forever). The timer row is marked fired in the same transaction as
/// its effect.
pub async fn fire(
    conn: &mut AsyncPgConnection,
    timer_id: i64,
    kinds: &TimerKinds,
    env: &TimerEnv,
) -> AppResult<Option<Applied>> {
    conn.transaction(async move |conn| {
        let Some(timer) = db::timers::lock_pending(conn, timer_id).await? else {
            return Ok(None);
        };
        db::timers::mark_fired(conn, timer.id).await?;
        let Some(kind) = kinds.get(&timer.kind) else {
            tracing::warn!(
                kind = timer.kind,
                timer = timer.id,
                "timer of unknown kind dropped"
            );
            return Ok(None);
        };
        let session = match timer.session_id {
            Some(sid) => Some(db::sessions::lock(conn, sid).await?),
            None => None,
        };
        (kind.fire)(conn, &timer, session, env).await
    })
    .await
}
