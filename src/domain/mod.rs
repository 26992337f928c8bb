//! Business rules, free of HTTP and websocket concerns.

pub mod access;
pub mod alerts;
pub mod auth;
pub mod automation;
pub mod bootstrap;
pub mod channel_out;
pub mod contacts;
pub mod conversation;
pub mod csv_export;
pub mod events;
pub mod hasher;
pub mod history;
pub mod hosting;
pub mod inbound;
pub mod messenger;
pub mod post_batch;
pub mod preferences;
pub mod projects;
pub mod reports;
pub mod session_tags;
pub mod settings;
pub mod team;
pub mod timers;
pub mod views;
pub mod visitors;
