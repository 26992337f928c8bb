//! The cross-server bus (`--redis-url`): committed events go from the server that committed
//! them to every other server through one Redis pub/sub channel, and each server delivers them
//! to its own connections. Postgres stays the mailbox and Redis is only the doorbell: what a
//! server misses while Redis is away, its connections read again from the database (resync).
//!
//! - `publisher`: an `events::Listener` on the committing thread (`try_send` into a bounded
//!   queue) and a task that publishes what is queued, pipelined, plus a heartbeat every second.
//! - `subscriber`: one task per server on its own pub/sub connection; events of other nodes go
//!   to `Dispatcher::dispatch_remote`. When its connection drops, or it stops seeing its own
//!   heartbeats (a wedged subscriber), it reconnects with backoff and then resyncs: every
//!   local socket is closed with 4009 (the clients reconnect and resume) and the statistics
//!   are read again.
//! - `BusStatus`: what `/healthz` and `/metrics` report.
//!
//! Only this module talks to Redis.

mod envelope;
mod publisher;
mod subscriber;

pub use envelope::NodeId;
pub use publisher::Publisher;

use crate::actors::hub::Hub;
use crate::actors::stats::StatsActor;
use crate::events::Dispatcher;
use crate::metrics::BusMetrics;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often each publisher sends its heartbeat.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// A subscriber that has not seen its own server's heartbeat for this long is wedged (or its
/// publisher cannot publish): it reconnects and resyncs.
pub const STALL: Duration = Duration::from_secs(4);

/// The subscriber's link to Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// No `--redis-url`: this server alone.
    Off,
    /// Subscribed, and its own heartbeats come back.
    Ok,
    /// Not subscribed (Redis unreachable, or the subscriber stalled); local delivery goes on.
    Down,
}

/// The subscriber's state as `/healthz` shows it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Snapshot {
    pub link: Link,
    /// When `link` took its value.
    pub since: DateTime<Utc>,
    /// The last of this server's own heartbeats seen on the channel.
    pub heartbeat_at: Option<DateTime<Utc>>,
}

/// Shared by the bus tasks and the handlers that report on them.
pub struct BusStatus {
    snapshot: Mutex<Snapshot>,
    /// Set when the publisher dropped events (a full queue, Redis failing): the other servers
    /// missed them, so its next publish tells them to resync first.
    dropped: AtomicBool,
    metrics: Option<BusMetrics>,
}

impl BusStatus {
    /// No bus: this server alone.
    pub fn off() -> BusStatus {
        BusStatus::with(Link::Off, None)
    }

    fn with(link: Link, metrics: Option<BusMetrics>) -> BusStatus {
        if let Some(m) = &metrics {
            m.set_subscribed(link == Link::Ok);
        }
        BusStatus {
            snapshot: Mutex::new(Snapshot {
                link,
                since: Utc::now(),
                heartbeat_at: None,
            }),
            dropped: AtomicBool::new(false),
            metrics,
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        match self.snapshot.lock() {
            Ok(s) => *s,
            Err(p) => *p.into_inner(),
        }
    }

    fn set_link(&self, link: Link) {
        if let Ok(mut s) = self.snapshot.lock() {
            if s.link != link {
                s.link = link;
                s.since = Utc::now();
            }
        }
        if let Some(m) = &self.metrics {
            m.set_subscribed(link == Link::Ok);
        }
    }

    fn heartbeat_seen(&self) {
        if let Ok(mut s) = self.snapshot.lock() {
            s.heartbeat_at = Some(Utc::now());
        }
    }

    fn mark_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
    }

    /// Whether events were dropped since the last call.
    fn take_dropped(&self) -> bool {
        self.dropped.swap(false, Ordering::AcqRel)
    }
}

/// What the subscriber hands remote events to, and what a resync touches on this server.
#[derive(Clone)]
pub struct Local {
    pub events: Arc<Dispatcher>,
    pub hub: Arc<Hub>,
    pub stats: Addr<StatsActor>,
}

impl Local {
    /// Events may have been missed: every local connection resumes from the database (closed
    /// with 4009; the client reconnects and resumes) and the session counters are read again.
    fn resync(&self, metrics: &BusMetrics) {
        let closed = self.hub.resync();
        self.stats.do_send(crate::actors::stats::Reload);
        metrics.resyncs.inc();
        tracing::warn!(
            connections = closed,
            "bus: resync, every local connection resumes"
        );
    }
}

/// The running bus: the publisher (a listener for the seam in `app::start`) and the status.
pub struct Bus {
    pub publisher: Arc<Publisher>,
    pub status: Arc<BusStatus>,
}

/// Starts the publisher and the subscriber tasks on `arbiter`. Fails only on a URL Redis's
/// client cannot read; an unreachable Redis is retried for as long as the server runs.
pub fn start(
    url: &str,
    arbiter: &ArbiterHandle,
    local: Local,
    metrics: BusMetrics,
) -> Result<Bus, String> {
    let client =
        redis::Client::open(url).map_err(|e| format!("--redis-url {url} is not usable: {e}"))?;
    let node = NodeId::random();
    let status = Arc::new(BusStatus::with(Link::Down, Some(metrics.clone())));
    let (publisher, queue) = Publisher::new(Arc::clone(&status), metrics.clone());
    let task = publisher::Task {
        client: client.clone(),
        node: node.clone(),
        status: Arc::clone(&status),
        metrics: metrics.clone(),
    };
    arbiter.spawn(task.run(queue));
    let sub = subscriber::Subscriber {
        client,
        node,
        status: Arc::clone(&status),
        metrics,
        local,
    };
    arbiter.spawn(sub.supervise());
    Ok(Bus {
        publisher: Arc::new(publisher),
        status,
    })
}
