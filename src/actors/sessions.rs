//! The session supervisor: this server's live session actors by id, started on demand and
//! spread over the session arbiters. It listens for contact edits (from every server) to
//! refresh the names its running actors cache, and (`RemoteRows`) for other servers' changes
//! of their sessions, to refresh the rows they cache.

use super::committer::Committer;
use super::session::{ContactNames, NewerRow, SessionActor};
use crate::context::AppContext;
use crate::domain::events::Event;
use crate::events::Listener;
use actix::prelude::*;
use dashmap::DashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct SessionSupervisor {
    ctx: Arc<AppContext>,
    sessions: DashMap<i64, Addr<SessionActor>>,
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: AtomicUsize,
    /// How long an idle session actor stays in memory.
    pub idle: Duration,
    /// Where the session actors' posts are committed, batched across sessions.
    pub committer: Committer,
}

impl SessionSupervisor {
    pub fn new(
        ctx: Arc<AppContext>,
        arbiters: Vec<ArbiterHandle>,
        idle: Duration,
        committer: Committer,
    ) -> Self {
        SessionSupervisor {
            ctx,
            sessions: DashMap::new(),
            arbiters,
            next_arbiter: AtomicUsize::new(0),
            idle,
            committer,
        }
    }

    /// The live actor of a session, started on demand. Callers check first that the session
    /// exists and is theirs to touch (an actor per made-up id would be memory for nothing).
    pub fn session(self: &Arc<Self>, id: i64) -> Addr<SessionActor> {
        if let Some(addr) = self.sessions.get(&id) {
            if addr.connected() {
                return addr.clone();
            }
        }
        let mut entry = self.sessions.entry(id).or_insert_with(|| self.start(id));
        if !entry.connected() {
            *entry = self.start(id);
        }
        entry.clone()
    }

    /// The actor of a session if it is running (not started on demand).
    pub fn live(&self, id: i64) -> Option<Addr<SessionActor>> {
        self.sessions
            .get(&id)
            .map(|a| a.clone())
            .filter(|a| a.connected())
    }

    fn start(self: &Arc<Self>, id: i64) -> Addr<SessionActor> {
        let (ctx, sup) = (Arc::clone(&self.ctx), Arc::clone(self));
        let make = move |c: &mut Context<SessionActor>| {
            c.set_mailbox_capacity(64);
            SessionActor::new(id, ctx, sup)
        };
        if self.arbiters.is_empty() {
            SessionActor::create(make)
        } else {
            let i = self.next_arbiter.fetch_add(1, Ordering::Relaxed) % self.arbiters.len();
            SessionActor::start_in_arbiter(&self.arbiters[i], make)
        }
    }

    /// Called by a stopping session actor; removes it only if it is still the registered one.
    pub fn forget(&self, id: i64, addr: &Addr<SessionActor>) {
        self.sessions.remove_if(&id, |_, a| a == addr);
    }

    pub fn live_count(&self) -> usize {
        self.sessions.len()
    }
}

impl Listener for SessionSupervisor {
    fn on_events(&self, events: &[Event]) {
        for e in events {
            if let Event::ContactChanged {
                contact,
                session_ids,
                ..
            } = e
            {
                for id in session_ids {
                    if let Some(actor) = self.live(*id) {
                        actor.do_send(ContactNames(crate::domain::events::Names {
                            contact_name: contact.name.clone(),
                            note_name: contact.note_name.clone(),
                        }));
                    }
                }
            }
        }
    }
}

/// Other servers' changes of sessions that have a live actor here: the actor's cached row
/// follows (`Reach::OtherServers`; this server's own changes leave the actor its row itself).
pub struct RemoteRows(pub Arc<SessionSupervisor>);

impl Listener for RemoteRows {
    fn on_events(&self, events: &[Event]) {
        for e in events {
            let row = match e {
                Event::MessagePosted { after, .. } | Event::SessionChanged { after, .. } => after,
                Event::SessionOpened { session, .. } => session,
                _ => continue,
            };
            if let Some(actor) = self.0.live(row.id) {
                actor.do_send(NewerRow(row.clone()));
            }
        }
    }
}
