//! Switchboard: a self-hostable real-time customer-service chat server.
//! See ARCHITECTURE.md for the actor map and data flow.

pub mod actors;
pub mod app;
pub mod bus;
pub mod config;
pub mod context;
pub mod db;
pub mod domain;
pub mod email;
pub mod error;
pub mod events;
pub mod graph;
pub mod http;
pub mod metrics;
pub mod protocol;
pub mod secrets;
pub mod state;
pub mod text;
pub mod wire;
pub mod ws;
