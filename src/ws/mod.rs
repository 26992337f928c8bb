//! The websocket layer: one actor per agent or visitor connection. This is the only module that
//! uses actix-web-actors (deprecated upstream), so moving to actix-ws touches only this folder.

pub mod agent;
mod conn;
mod cursor;
mod frame_limit;
pub mod visitor;
