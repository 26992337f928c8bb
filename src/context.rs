//! What the actors and handlers share besides the connection hub and the session supervisor:
//! the database pool, the mail environment, the event dispatcher, the timer kinds, the secret box
//! the Graph API client and the metrics. Passed where needed, so no actor is a service locator.

use crate::db::Pool;
use crate::domain::alerts::MailEnv;
use crate::domain::timers::TimerKinds;
use crate::events::Dispatcher;
use crate::graph::Graph;
use crate::metrics::Metrics;
use crate::secrets::SecretBox;
use std::sync::Arc;

pub struct AppContext {
    pub pool: Pool,
    /// Public URL and whether SMTP is set: what a firing alert timer needs.
    pub mail: MailEnv,
    pub events: Arc<Dispatcher>,
    /// The durable timer kinds this server fires.
    pub timers: TimerKinds,
    /// Seals and opens channel secrets.
    pub secrets: SecretBox,
    /// Meta's Graph API (the Messenger channel).
    pub graph: Graph,
    /// What `/metrics` exports; connections and timers record here.
    pub metrics: Arc<Metrics>,
}
