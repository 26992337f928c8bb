//! Business rules, free of HTTP and websocket concerns.

pub mod access;
pub mod alerts;
pub mod auth;
pub mod bootstrap;
pub mod conversation;
pub mod projects;
pub mod views;
pub mod visitors;
