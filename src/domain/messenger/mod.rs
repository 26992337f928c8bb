//! The Messenger channel's rules: a Page's settings and secrets, the reply windows, webhook
//! events, sending (durable rows), automation's buttons and questions, and contact sync. No
//! HTTP, no actors.

pub mod buttons;
pub mod config;
pub mod health;
pub mod inbound;
pub mod outbound;
pub mod sync;
pub mod webhook;
pub mod window;
