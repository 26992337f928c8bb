//! The one place committed domain events go: the dispatcher hands each batch to every
//! listener, in order, on the caller's thread. Listeners must not block (they `try_send` or
//! `do_send` to actors), so a session actor dispatching its events keeps the session's order
//! for every listener.
//!
//! A new listener plugs in at one seam: implement `Listener` and add it to the list given to
//! `Dispatcher::set_listeners` in `app::start`.

use crate::domain::events::Event;
use std::sync::{Arc, OnceLock};

pub trait Listener: Send + Sync {
    /// Called after the commit that produced `events`, in commit order per session.
    fn on_events(&self, events: &[Event]);
}

#[derive(Default)]
pub struct Dispatcher {
    /// Set once at start, before the server accepts connections; listeners are created after
    /// the actors that dispatch (session actors need the dispatcher, and the session
    /// supervisor is itself a listener).
    listeners: OnceLock<Vec<Arc<dyn Listener>>>,
}

impl Dispatcher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set_listeners(&self, listeners: Vec<Arc<dyn Listener>>) {
        if self.listeners.set(listeners).is_err() {
            tracing::error!("event listeners were set twice; the first set stays");
        }
    }

    pub fn dispatch(&self, events: &[Event]) {
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
        for l in listeners {
            l.on_events(events);
        }
    }
}
