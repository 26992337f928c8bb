//! One integration-test binary: real PostgreSQL (a private cluster for the run, one database
//! per test made from a migrated template), real servers on loopback, real websocket clients.

mod common;

mod api;
mod realtime;
mod restarts;
