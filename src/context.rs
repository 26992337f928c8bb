//! What the actors and handlers share besides the connection hub and the session supervisor:
//! the database pool, the mail environment and the event dispatcher. Passed where needed, so
//! no actor is a service locator.

use crate::db::Pool;
use crate::domain::alerts::MailEnv;
use crate::events::Dispatcher;
use std::sync::Arc;

pub struct AppContext {
    pub pool: Pool,
    /// Public URL and whether SMTP is set: what a firing alert timer needs.
    pub mail: MailEnv,
    pub events: Arc<Dispatcher>,
}
