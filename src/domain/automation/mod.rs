//! Automation flows: the flow document (`document`), triggers, the run engine, robot hosting's
//! partner. A run's state and every step transition are rows (`db::flow_runs`); its waits are
//! durable timers; its steps run inside the session's transactions, through the session actor.

pub mod document;
pub mod flows;
