#![allow(clippy::unwrap_used, clippy::expect_used)] // the whole crate is test code
//! One integration-test binary: real PostgreSQL (a private cluster for the run, one database
//! per test made from a migrated template), real servers on loopback, real websocket clients.

mod common;

mod admin;
mod agent_delivery;
mod alerts;
mod api;
mod automation_analytics;
mod automation_restart;
mod automation_silence;
mod automation_steps;
mod automation_triggers;
mod batch_statements;
mod commit_restart;
mod contact_sync;
mod contacts;
mod flows_api;
mod frame_fuzz;
mod graph_client;
mod group_commit;
mod hosting;
mod lazy_visitors;
mod messenger_buttons;
mod messenger_inbound;
mod messenger_outbound;
mod metrics;
mod overload;
mod permissions;
mod project_settings;
mod protocol_guarantees;
mod realtime;
mod reports;
mod restarts;
mod review_defects;
mod scale_out;
mod scale_out_failover;
mod scale_out_gaps;
mod scale_out_limits;
mod security_headers;
mod session_hot;
mod status_filter;
mod team;
mod text_input;
mod timers;
