//! Automation flows: the flow document (`document`), drafts, versions and test runs
//! (`flows`), which flow a message or a silence
//! triggers (`triggers`, `silence`), and the run engine (`engine`). A run's state and every
//! step transition are rows (`db::flow_runs`); its waits are durable timers; its steps run
//! inside the session's transactions, through the session actor.

pub mod analytics;
pub mod document;
pub mod engine;
pub mod flows;
pub mod silence;
pub mod triggers;

use crate::db;
use crate::error::AppResult;
use diesel_async::AsyncPgConnection;

/// The session ended: its runs' waits and its silences are over.
pub async fn cancel_timers(conn: &mut AsyncPgConnection, session_id: i64) -> AppResult<()> {
    db::timers::cancel_for_session(conn, session_id, engine::TIMER_FLOW_WAIT).await?;
    db::timers::cancel_for_session(conn, session_id, silence::TIMER_FLOW_SILENCE).await?;
    Ok(())
}
