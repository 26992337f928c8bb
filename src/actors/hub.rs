//! The connection hub: this server's agent connections by project and visitor connections by
//! contact (a visitor who has not written yet: by token hash, until a tab of theirs writes and
//! the contact is made), and the local fan-out to them. Fan-out uses `try_send` only: a connection whose
//! bounded mailbox is full is flagged as lagging (its heartbeat closes it, the client resumes)
//! instead of queuing without bound.
//!
//! Delivery goes through the `Fanout` trait: `Hub` delivers to this server's connections.
//! Other servers' events reach it through the same listener (`crate::bus` hands them to
//! `Dispatcher::dispatch_remote`); when the bus may have missed some, `resync` closes every
//! local connection (4009) so that its client resumes from the database.

use super::Deliver;
use crate::db::contacts::Contact;
use crate::domain::access::Access;
use crate::domain::events::{Audience, Delivery, Event};
use crate::events::Listener;
use actix::prelude::*;
use dashmap::DashMap;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long `Hub::recently_made` remembers a contact: far longer than an upgrade takes.
const RECENTLY_MADE: Duration = Duration::from_secs(60);

/// Carries committed events' frames to the connections in their audiences.
pub trait Fanout: Send + Sync {
    fn deliver(&self, d: &Delivery);
    /// Closes these members' agent connections (4003) before anything else reaches them.
    fn revoke(&self, project_id: i64, user_ids: &[i64]) -> usize;
    /// A pending visitor's contact was made: their connections move to it.
    fn contact_made(&self, token_hash: &[u8], contact: &Contact);
}

/// The listener that turns events into deliveries for a fan-out.
pub struct FanoutListener<F: Fanout>(pub Arc<F>);

impl<F: Fanout> Listener for FanoutListener<F> {
    fn on_events(&self, events: &[Event]) {
        for e in events {
            match e {
                Event::AccessRevoked {
                    project_id,
                    user_ids,
                } => {
                    let n = self.0.revoke(*project_id, user_ids);
                    if n > 0 {
                        tracing::debug!(project_id, connections = n, "agent connections revoked");
                    }
                }
                Event::ContactMade {
                    token_hash,
                    contact,
                } => self.0.contact_made(token_hash, contact),
                _ => {}
            }
            for d in e.deliveries() {
                self.0.deliver(&d);
            }
        }
    }
}

/// A connection as the hub sees it.
#[derive(Clone)]
pub struct ConnHandle {
    pub id: u64,
    pub recipient: Recipient<Deliver>,
    pub lagging: Arc<AtomicBool>,
    /// Tells the connection to close for a resync (see `Hub::resync`).
    pub resync: Recipient<Resync>,
}

/// Events from other servers may have been missed (the bus reconnected): the connection
/// closes (code 4009) and the client reconnects and resumes from the database.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct Resync;

impl ConnHandle {
    fn deliver(&self, d: Deliver) {
        match self.recipient.try_send(d) {
            Ok(()) => {}
            Err(SendError::Full(_)) => self.lagging.store(true, Ordering::Relaxed),
            // Closed: the connection is stopping and unregisters itself.
            Err(SendError::Closed(_)) => {}
        }
    }

    fn resync(&self) {
        // A full mailbox: lagging closes it (4008) within its heartbeat's half second, and
        // the client resumes just the same.
        if let Err(SendError::Full(_)) = self.resync.try_send(Resync) {
            self.lagging.store(true, Ordering::Relaxed);
        }
    }
}

#[derive(Clone)]
pub struct AgentEntry {
    pub access: Access,
    pub conn: ConnHandle,
    /// Tells the connection to close because its access changed (see `revoke`).
    pub revoke: Recipient<Revoke>,
}

/// The member's role, data scope or membership changed: the connection closes (code 4003) and
/// the client reconnects with its new access (or learns that it has none).
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct Revoke;

/// A visitor connection with a token and no contact yet.
#[derive(Clone)]
pub struct PendingEntry {
    pub conn: ConnHandle,
    pub made: Recipient<ContactMade>,
    /// Set by the hub to the contact's id when it moves the connection to that contact, so a
    /// connection that stops before `ContactMade` reaches it still unregisters the right entry.
    pub contact_id: Arc<AtomicI64>,
}

/// A tab of this pending visitor wrote: this is their contact now, and the connection is
/// registered under it.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct ContactMade(pub Contact);

#[derive(Default)]
pub struct Hub {
    agents: DashMap<i64, HashMap<u64, AgentEntry>>,
    visitors: DashMap<i64, HashMap<u64, ConnHandle>>,
    /// Pending visitors' connections by the SHA-256 of their token.
    pending: DashMap<Vec<u8>, HashMap<u64, PendingEntry>>,
    /// Contacts made from pending tokens lately: a tab whose upgrade looked for its contact
    /// just before another tab's first message made it registers under the contact, so it does
    /// not stay pending and miss the conversation.
    recently_made: DashMap<Vec<u8>, (Contact, Instant)>,
    /// (project, user) → how many times that member's access was revoked. An agent socket reads
    /// it before its access is loaded and registers only if it is unchanged, so a connection
    /// being opened while the member's role changes cannot slip in with the old access.
    access_epochs: DashMap<(i64, i64), u64>,
    next_conn: AtomicU64,
}

impl Hub {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed) + 1
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
        // Checked under the project's entry lock; `revoke` bumps the epoch before it takes
        // that lock, so either it sees this entry or this check sees its bump.
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

    /// Registers a pending visitor's connection; when their contact was made meanwhile, under
    /// that contact instead, which is returned.
    pub fn register_pending(&self, token_hash: &[u8], entry: PendingEntry) -> Option<Contact> {
        let mut conns = self.pending.entry(token_hash.to_vec()).or_default();
        // Checked under the pending entry's lock; `contact_made` records the contact before it
        // takes that lock, so either it finds this entry or this check finds its contact.
        let Some(contact) = self.recently_made.get(token_hash).map(|m| m.0.clone()) else {
            conns.insert(entry.conn.id, entry);
            return None;
        };
        drop(conns);
        self.pending
            .remove_if(token_hash, |_, conns| conns.is_empty());
        entry.contact_id.store(contact.id, Ordering::Release);
        self.register_visitor(contact.id, entry.conn);
        Some(contact)
    }

    /// Unregisters a pending visitor's connection wherever it is now: still pending, or moved
    /// to its contact by `contact_made`.
    pub fn unregister_pending(&self, token_hash: &[u8], conn_id: u64, contact_id: &AtomicI64) {
        let removed = self
            .pending
            .get_mut(token_hash)
            .is_some_and(|mut conns| conns.remove(&conn_id).is_some());
        self.pending
            .remove_if(token_hash, |_, conns| conns.is_empty());
        if !removed {
            // `contact_made` sets the id while it holds the pending entry, so it is set here.
            let id = contact_id.load(Ordering::Acquire);
            if id != 0 {
                self.unregister_visitor(id, conn_id);
            }
        }
    }

    /// The pending visitor with this token has a contact now: every connection of theirs is
    /// moved to it (and told), so all their tabs receive the conversation that follows.
    pub fn contact_made(&self, token_hash: &[u8], contact: &Contact) {
        let now = Instant::now();
        if self.recently_made.len() > 1024 {
            self.recently_made
                .retain(|_, (_, at)| now.duration_since(*at) < RECENTLY_MADE);
        }
        self.recently_made
            .insert(token_hash.to_vec(), (contact.clone(), now));
        if let Some(mut conns) = self.pending.get_mut(token_hash) {
            for (_, entry) in conns.drain() {
                entry.contact_id.store(contact.id, Ordering::Release);
                entry.made.do_send(ContactMade(contact.clone()));
                self.register_visitor(contact.id, entry.conn);
            }
        }
        self.pending
            .remove_if(token_hash, |_, conns| conns.is_empty());
    }

    pub fn connection_counts(&self) -> (usize, usize) {
        let agents = self.agents.iter().map(|e| e.value().len()).sum();
        let visitors: usize = self.visitors.iter().map(|e| e.value().len()).sum();
        let pending: usize = self.pending.iter().map(|e| e.value().len()).sum();
        (agents, visitors + pending)
    }

    /// Tells every connection of this server to close and resume (4009); returns how many.
    /// Registrations stay until each connection stops, so nothing is delivered out of turn
    /// meanwhile: a frame that still arrives is one more the client resumes past.
    pub fn resync(&self) -> usize {
        let mut n = 0;
        for conns in self.agents.iter() {
            for e in conns.values() {
                e.conn.resync();
                n += 1;
            }
        }
        for conns in self.visitors.iter() {
            for c in conns.values() {
                c.resync();
                n += 1;
            }
        }
        for conns in self.pending.iter() {
            for e in conns.values() {
                e.conn.resync();
                n += 1;
            }
        }
        n
    }

    fn project_of(a: &Audience) -> Option<i64> {
        match a {
            Audience::SessionAgents { project_id, .. }
            | Audience::ContactAgents { project_id, .. }
            | Audience::ProjectPermission { project_id, .. } => Some(*project_id),
            Audience::Visitor { .. } => None,
        }
    }
}

impl Fanout for Hub {
    /// Connections drop their resume cursor for a session that left their scope or ended (an
    /// ended session takes no more messages), so long-lived connections do not accumulate
    /// cursors.
    fn deliver(&self, d: &Delivery) {
        if let Audience::Visitor { contact_id, .. } = &d.audience {
            let Some(conns) = self.visitors.get(contact_id) else {
                return;
            };
            for conn in conns.values() {
                conn.deliver(Deliver {
                    session_id: d.session_id,
                    seq: d.seq,
                    forget_cursor: false,
                    frame: Arc::clone(&d.frame),
                });
            }
            return;
        }
        let Some(project_id) = Self::project_of(&d.audience) else {
            return;
        };
        let Some(conns) = self.agents.get(&project_id) else {
            return;
        };
        for entry in conns.values() {
            let (sees, left) = d.audience.agent_sees(&entry.access);
            if sees {
                entry.conn.deliver(Deliver {
                    session_id: d.session_id,
                    seq: d.seq,
                    forget_cursor: left || d.session_ended,
                    frame: Arc::clone(&d.frame),
                });
            }
        }
    }

    fn contact_made(&self, token_hash: &[u8], contact: &Contact) {
        Hub::contact_made(self, token_hash, contact);
    }

    /// Removes the members' agent connections from fan-out at once (so none receives another
    /// event under the old access) and tells each to close; a connection whose mailbox is full
    /// is flagged lagging instead (its heartbeat closes it). Returns how many were dropped.
    fn revoke(&self, project_id: i64, user_ids: &[i64]) -> usize {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection that only counts what reaches it.
    #[derive(Default)]
    struct Probe {
        made: Arc<AtomicI64>,
    }
    impl Actor for Probe {
        type Context = Context<Self>;
    }
    impl Handler<Deliver> for Probe {
        type Result = ();
        fn handle(&mut self, _: Deliver, _: &mut Self::Context) {}
    }
    impl Handler<Resync> for Probe {
        type Result = ();
        fn handle(&mut self, _: Resync, _: &mut Self::Context) {}
    }
    impl Handler<ContactMade> for Probe {
        type Result = ();
        fn handle(&mut self, m: ContactMade, _: &mut Self::Context) {
            self.made.store(m.0.id, Ordering::SeqCst);
        }
    }

    fn contact(id: i64) -> Contact {
        let now = chrono::Utc::now();
        Contact {
            id,
            project_id: 1,
            channel_id: 1,
            external_id: format!("v_{id}"),
            name: "Visitor".into(),
            note_name: None,
            phone: None,
            email: None,
            labels: vec![],
            created_at: now,
            updated_at: now,
        }
    }

    fn pending(addr: &Addr<Probe>, id: u64) -> PendingEntry {
        PendingEntry {
            conn: ConnHandle {
                id,
                recipient: addr.clone().recipient(),
                lagging: Arc::new(AtomicBool::new(false)),
                resync: addr.clone().recipient(),
            },
            made: addr.clone().recipient(),
            contact_id: Arc::new(AtomicI64::new(0)),
        }
    }

    #[actix_web::test]
    async fn a_pending_visitors_tabs_move_to_the_contact_made_before_or_after_they_register() {
        let hub = Hub::new();
        let made = Arc::new(AtomicI64::new(0));
        let addr = Probe {
            made: Arc::clone(&made),
        }
        .start();
        let early = pending(&addr, 1);
        assert!(hub.register_pending(b"h", early.clone()).is_none());
        hub.contact_made(b"h", &contact(7));
        assert_eq!(early.contact_id.load(Ordering::SeqCst), 7);
        // A tab whose upgrade looked before the contact was made registers after it.
        let late = pending(&addr, 2);
        assert_eq!(
            hub.register_pending(b"h", late.clone()).map(|c| c.id),
            Some(7)
        );
        assert_eq!(hub.connection_counts(), (0, 2));
        assert!(hub.visitors.get(&7).is_some_and(|c| c.len() == 2));
        assert!(hub.pending.is_empty());
        // Both unregister from the contact, whether or not they heard of it.
        hub.unregister_pending(b"h", 1, &early.contact_id);
        hub.unregister_visitor(7, 2);
        assert_eq!(hub.connection_counts(), (0, 0));
        // The early tab was told.
        for _ in 0..100 {
            if made.load(Ordering::SeqCst) == 7 {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("ContactMade never reached the early tab");
    }
}
