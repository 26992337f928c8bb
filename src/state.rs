//! What every request handler can reach.

use crate::actors::hub::Hub;
use crate::actors::messenger::MessengerChannels;
use crate::actors::sessions::SessionSupervisor;
use crate::actors::stats::StatsActor;
use crate::bus::BusStatus;
use crate::config::Config;
use crate::context::AppContext;
use crate::db::Pool;
use crate::http::rate_limit::RateLimits;
use crate::ws;
use actix::Addr;
use std::sync::Arc;

pub struct AppState {
    pub pool: Pool,
    pub app: Arc<AppContext>,
    pub hub: Arc<Hub>,
    pub sessions: Arc<SessionSupervisor>,
    pub stats: Addr<StatsActor>,
    /// The Messenger channel actors (inbound processing), nudged by the webhook.
    pub messenger: Arc<MessengerChannels>,
    pub config: Arc<Config>,
    pub limits: Arc<RateLimits>,
    /// The cross-server bus's state (`off` without `--redis-url`), for `/healthz`.
    pub bus: Arc<BusStatus>,
}

impl AppState {
    /// What a websocket connection uses.
    pub fn ws_shared(&self) -> ws::Shared {
        ws::Shared {
            hub: Arc::clone(&self.hub),
            sessions: Arc::clone(&self.sessions),
            app: Arc::clone(&self.app),
        }
    }
}
