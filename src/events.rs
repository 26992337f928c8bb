//! The one place committed domain events go: the dispatcher hands each batch to every
//! listener, in order, on the caller's thread. Listeners must not block (they `try_send` or
//! `do_send` to actors), so a session actor dispatching its events keeps the session's order
//! for every listener.
//!
//! A new listener plugs in at one seam: implement `Listener` and add it, with its `Reach`, to
//! the list given to `Dispatcher::set_listeners` in `app::start`.
//!
//! With several servers (`--redis-url`) events committed on another server arrive through
//! `crate::bus` and enter at `dispatch_remote`: they reach only the listeners whose `Reach` is
//! `AllServers` — what every server must hear of (its own connections, its counters, its
//! session actors' caches) — and never those that act once for the change where it was
//! committed (the channel sender, the publisher itself). `OtherServers` listeners hear only
//! those (the session actors' cached rows, which their own changes already keep).

use crate::domain::events::Event;
use std::sync::{Arc, OnceLock};

pub trait Listener: Send + Sync {
    /// Called after the commit that produced `events`, in commit order per session.
    fn on_events(&self, events: &[Event]);
}

/// Which servers' events a listener hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Only events committed on this server.
    ThisServer,
    /// This server's and, through the bus, every other server's.
    AllServers,
    /// Only other servers' (what a server's own changes already took care of here).
    OtherServers,
}

#[derive(Default)]
pub struct Dispatcher {
    /// Set once at start, before the server accepts connections; listeners are created after
    /// the actors that dispatch (session actors need the dispatcher, and the session
    /// supervisor is itself a listener).
    listeners: OnceLock<Vec<(Reach, Arc<dyn Listener>)>>,
}

impl Dispatcher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set_listeners(&self, listeners: Vec<(Reach, Arc<dyn Listener>)>) {
        if self.listeners.set(listeners).is_err() {
            tracing::error!("event listeners were set twice; the first set stays");
        }
    }

    /// Events committed on this server: to every listener.
    pub fn dispatch(&self, events: &[Event]) {
        self.to(events, |r| r != Reach::OtherServers);
    }

    /// Events another server committed (from the bus): to the `AllServers` and
    /// `OtherServers` listeners.
    pub fn dispatch_remote(&self, events: &[Event]) {
        self.to(events, |r| r != Reach::ThisServer);
    }

    fn to(&self, events: &[Event], takes: impl Fn(Reach) -> bool) {
        if events.is_empty() {
            return;
        }
        let Some(listeners) = self.listeners.get() else {
            tracing::error!(
                count = events.len(),
                "events dispatched before start; dropped"
            );
            return;
        };
        for (reach, l) in listeners {
            if takes(*reach) {
                l.on_events(events);
            }
        }
    }
}
