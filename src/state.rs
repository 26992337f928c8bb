//! What every request handler can reach.

use crate::actors::registry::Registry;
use crate::config::Config;
use crate::db::Pool;
use crate::http::rate_limit::RateLimits;
use std::sync::Arc;

pub struct AppState {
    pub pool: Pool,
    pub reg: Arc<Registry>,
    pub config: Arc<Config>,
    pub limits: Arc<RateLimits>,
}
