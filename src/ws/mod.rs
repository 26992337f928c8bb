//! The websocket layer: one actor per agent or visitor connection. This is the only module that
//! uses actix-web-actors (deprecated upstream), so moving to actix-ws touches only this folder.

use crate::actors::hub::Hub;
use crate::actors::sessions::SessionSupervisor;
use crate::context::AppContext;
use std::sync::Arc;

pub mod agent;
mod conn;
mod cursor;
mod frame_limit;
pub mod visitor;

/// What a connection uses: the hub it registers with, the session actors it sends commands to,
/// and the application context (the pool, for the domain's history reads).
#[derive(Clone)]
pub struct Shared {
    pub hub: Arc<Hub>,
    pub sessions: Arc<SessionSupervisor>,
    pub app: Arc<AppContext>,
}
