//! The actor system: the connection hub (local fan-out), the session supervisor and one actor
//! per live session, the inbound path every channel takes, the statistics supervisor, the
//! durable-timer scheduler, the e-mail outbox sender, the background job runner, the Messenger
//! channel actors (inbound) and the Messenger sender. Connection actors live in `crate::ws`.

pub mod committer;
pub mod hub;
pub mod inbound;
pub mod jobs;
pub mod mailer;
pub mod messenger;
pub mod messenger_sender;
pub mod scheduler;
pub mod session;
pub mod sessions;
pub mod stats;

use actix::prelude::*;
use std::sync::Arc;

/// One serialised frame on its way to a connection. Serialised once, shared by every
/// recipient of a fan-out.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct Deliver {
    pub session_id: i64,
    /// The message sequence number, for `message` frames (drives resume and de-duplication).
    pub seq: Option<i64>,
    /// The session left this connection's data scope or ended: drop its resume cursor.
    pub forget_cursor: bool,
    pub frame: Arc<str>,
}
