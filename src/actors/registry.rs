//! The registry: live session actors by id, agent connections by project, visitor connections
//! by contact. Fan-out happens here, with `try_send` only: a connection whose bounded mailbox
//! is full is flagged as lagging (its heartbeat closes it, the client resumes) instead of
//! queuing without bound.

use super::session::SessionActor;
use super::stats::StatsActor;
use super::Deliver;
use crate::db::{sessions::SessionRow, Pool};
use crate::domain::access::Access;
use crate::domain::alerts::MailEnv;
use actix::prelude::*;
use dashmap::DashMap;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A connection as the registry sees it.
#[derive(Clone)]
pub struct ConnHandle {
    pub id: u64,
    pub recipient: Recipient<Deliver>,
    pub lagging: Arc<AtomicBool>,
}

impl ConnHandle {
    fn deliver(&self, d: Deliver) {
        match self.recipient.try_send(d) {
            Ok(()) => {}
            Err(SendError::Full(_)) => self.lagging.store(true, Ordering::Relaxed),
            // Closed: the connection is stopping and unregisters itself.
            Err(SendError::Closed(_)) => {}
        }
    }
}

#[derive(Clone)]
pub struct AgentEntry {
    pub access: Access,
    pub conn: ConnHandle,
    /// Tells the connection to close because its access changed (see `revoke_agents`).
    pub revoke: Recipient<Revoke>,
}

/// The member's role, data scope or membership changed: the connection closes (code 4003) and
/// the client reconnects with its new access (or learns that it has none).
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct Revoke;

pub struct Registry {
    pub pool: Pool,
    pub stats: Addr<StatsActor>,
    sessions: DashMap<i64, Addr<SessionActor>>,
    agents: DashMap<i64, HashMap<u64, AgentEntry>>,
    visitors: DashMap<i64, HashMap<u64, ConnHandle>>,
    /// (project, user) → how many times that member's access was revoked. An agent socket reads
    /// it before its access is loaded and registers only if it is unchanged, so a connection
    /// being opened while the member's role changes cannot slip in with the old access.
    access_epochs: DashMap<(i64, i64), u64>,
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: AtomicUsize,
    next_conn: AtomicU64,
    pub session_idle: Duration,
    /// Public URL and whether SMTP is set: what a firing alert timer needs.
    pub mail: MailEnv,
}

impl Registry {
    pub fn new(
        pool: Pool,
        stats: Addr<StatsActor>,
        arbiters: Vec<ArbiterHandle>,
        session_idle: Duration,
        mail: MailEnv,
    ) -> Self {
        Registry {
            pool,
            stats,
            sessions: DashMap::new(),
            agents: DashMap::new(),
            visitors: DashMap::new(),
            access_epochs: DashMap::new(),
            arbiters,
            next_arbiter: AtomicUsize::new(0),
            next_conn: AtomicU64::new(1),
            session_idle,
            mail,
        }
    }

    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The live actor of a session, started on demand (spread over the session arbiters).
    pub fn session(self: &Arc<Self>, id: i64) -> Addr<SessionActor> {
        if let Some(addr) = self.sessions.get(&id) {
            if addr.connected() {
                return addr.clone();
            }
        }
        let mut entry = self
            .sessions
            .entry(id)
            .or_insert_with(|| self.start_session(id));
        if !entry.connected() {
            *entry = self.start_session(id);
        }
        entry.clone()
    }

    /// The actor of a session if it is running (not started on demand).
    pub fn live_session(&self, id: i64) -> Option<Addr<SessionActor>> {
        self.sessions
            .get(&id)
            .map(|a| a.clone())
            .filter(|a| a.connected())
    }

    fn start_session(self: &Arc<Self>, id: i64) -> Addr<SessionActor> {
        let reg = Arc::clone(self);
        let make = move |ctx: &mut Context<SessionActor>| {
            ctx.set_mailbox_capacity(64);
            SessionActor::new(id, reg)
        };
        if self.arbiters.is_empty() {
            SessionActor::create(make)
        } else {
            let i = self.next_arbiter.fetch_add(1, Ordering::Relaxed) % self.arbiters.len();
            SessionActor::start_in_arbiter(&self.arbiters[i], make)
        }
    }

    /// Called by a stopping session actor; removes it only if it is still the registered one.
    pub fn forget_session(&self, id: i64, addr: &Addr<SessionActor>) {
        self.sessions.remove_if(&id, |_, a| a == addr);
    }

    pub fn live_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Read before loading a member's access for a new agent connection.
    pub fn access_epoch(&self, project_id: i64, user_id: i64) -> u64 {
        self.access_epochs
            .get(&(project_id, user_id))
            .map_or(0, |e| *e)
    }

    /// Registers an agent connection whose access was loaded after reading `epoch`; refuses
    /// (false) when the member's access was revoked since: the connection must close.
    pub fn register_agent_checked(&self, entry: AgentEntry, epoch: u64) -> bool {
        let mut conns = self.agents.entry(entry.access.project_id).or_default();
        // Checked under the project's entry lock; `revoke_agents` bumps the epoch before it
        // takes that lock, so either it sees this entry or this check sees its bump.
        if self.access_epoch(entry.access.project_id, entry.access.user_id) != epoch {
            return false;
        }
        conns.insert(entry.conn.id, entry);
        true
    }

    pub fn unregister_agent(&self, project_id: i64, conn_id: u64) {
        if let Some(mut conns) = self.agents.get_mut(&project_id) {
            conns.remove(&conn_id);
        }
        self.agents
            .remove_if(&project_id, |_, conns| conns.is_empty());
    }

    pub fn register_visitor(&self, contact_id: i64, conn: ConnHandle) {
        self.visitors
            .entry(contact_id)
            .or_default()
            .insert(conn.id, conn);
    }

    pub fn unregister_visitor(&self, contact_id: i64, conn_id: u64) {
        if let Some(mut conns) = self.visitors.get_mut(&contact_id) {
            conns.remove(&conn_id);
        }
        self.visitors
            .remove_if(&contact_id, |_, conns| conns.is_empty());
    }

    pub fn connection_counts(&self) -> (usize, usize) {
        let agents = self.agents.iter().map(|e| e.value().len()).sum();
        let visitors = self.visitors.iter().map(|e| e.value().len()).sum();
        (agents, visitors)
    }

    /// To every agent of the project whose data scope includes the session now (`after`) —
    /// or included it before this change (`before`), so they learn that it left. Connections
    /// drop their resume cursor for a session that left their scope or ended (an ended session
    /// takes no more messages), so long-lived connections do not accumulate cursors.
    pub fn to_agents(
        &self,
        after: &SessionRow,
        before: Option<&SessionRow>,
        seq: Option<i64>,
        frame: &Arc<str>,
    ) {
        let Some(conns) = self.agents.get(&after.project_id) else {
            return;
        };
        let ended = after.status == "ended";
        for entry in conns.values() {
            let sees_now = entry.access.can_see_session(after);
            let saw_before = before.is_some_and(|b| entry.access.can_see_session(b));
            if sees_now || saw_before {
                entry.conn.deliver(Deliver {
                    session_id: after.id,
                    seq,
                    forget_cursor: !sees_now || ended,
                    frame: Arc::clone(frame),
                });
            }
        }
    }

    /// A frame about a contact (not about one session), to every agent of the project who
    /// sees the contact (`Access::sees_contact`: scope `all` always; scope `own` when one of the
    /// contact's sessions, given as (status, assignee), is in its scope).
    pub fn to_agents_seeing_contact(
        &self,
        project_id: i64,
        sessions: &[(String, Option<i64>)],
        frame: &Arc<str>,
    ) {
        let Some(conns) = self.agents.get(&project_id) else {
            return;
        };
        for entry in conns.values() {
            if entry.access.sees_contact(sessions) {
                entry.conn.deliver(Deliver {
                    session_id: 0,
                    seq: None,
                    forget_cursor: false,
                    frame: Arc::clone(frame),
                });
            }
        }
    }

    /// After a member's role, data scope or membership changed: removes that member's agent
    /// connections from fan-out at once (so none receives another event under the old access)
    /// and tells each to close; a connection whose mailbox is full is flagged lagging instead
    /// (its heartbeat closes it). Returns how many connections were dropped.
    pub fn revoke_agents(&self, project_id: i64, user_ids: &[i64]) -> usize {
        for user_id in user_ids {
            *self
                .access_epochs
                .entry((project_id, *user_id))
                .or_insert(0) += 1;
        }
        let removed: Vec<AgentEntry> = match self.agents.get_mut(&project_id) {
            Some(mut conns) => {
                let ids: Vec<u64> = conns
                    .values()
                    .filter(|e| user_ids.contains(&e.access.user_id))
                    .map(|e| e.conn.id)
                    .collect();
                ids.iter().filter_map(|id| conns.remove(id)).collect()
            }
            None => return 0,
        };
        self.agents
            .remove_if(&project_id, |_, conns| conns.is_empty());
        for entry in &removed {
            if let Err(SendError::Full(_)) = entry.revoke.try_send(Revoke) {
                entry.conn.lagging.store(true, Ordering::Relaxed);
            }
        }
        removed.len()
    }

    pub fn to_visitor(&self, contact_id: i64, session_id: i64, seq: Option<i64>, frame: &Arc<str>) {
        let Some(conns) = self.visitors.get(&contact_id) else {
            return;
        };
        for conn in conns.values() {
            conn.deliver(Deliver {
                session_id,
                seq,
                forget_cursor: false,
                frame: Arc::clone(frame),
            });
        }
    }
}
