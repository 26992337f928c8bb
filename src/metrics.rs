//! The server's Prometheus metrics: one registry, built once in `app::start`, served at
//! `GET /metrics` (`http::metrics`). Every family is listed in docs/metrics.md.
//!
//! `Metrics` is held in `AppContext` (an `Arc`), not in a process-wide `OnceLock`: a test
//! process runs many servers at once, and each must count only its own connections and
//! messages. The typed handles (counters, gauges, histograms) are cheap clones of one shared
//! value, so a recording site holds its handle and never touches the registry.
//!
//! Three ways a figure gets here:
//! - recorded where it happens: connections (`ws::visitor`, `ws::agent`: started/stopping),
//!   timers (`actors::scheduler`), the committer's batch histograms (`Writer::record`);
//! - read from counters the code keeps anyway, at scrape time: the committer's posts and
//!   refusals (`committer::Stats`), by the `CommitCollector`;
//! - sampled at scrape time into gauges (`Metrics::refresh`): the pool's status, the live
//!   session actors, the committer's queue depth, and the backlogs counted in the database
//!   (e-mail outbox, channel sends, overdue timers), those at most once per `BACKLOG_TTL`.
//!
//! The seam to add a metric: a field here, registered in `Metrics::new`, recorded through the
//! handle where it happens (or sampled in `refresh`), and a row in docs/metrics.md.

use crate::actors::committer::Committer;
use crate::db::{self, Pool};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the database backlog counts are reused: a scrape every few seconds costs at most
/// three index scans per this interval, however many scrapers there are.
const BACKLOG_TTL: Duration = Duration::from_secs(5);

/// A scrape never waits on the database longer than this; the backlog gauges then keep their
/// last values.
const BACKLOG_TIMEOUT: Duration = Duration::from_secs(2);

/// Label values in Prometheus's lower case (the derive writes the variant name as it is).
macro_rules! label_values {
    ($t:ty { $($v:ident => $s:literal),+ $(,)? }) => {
        impl EncodeLabelValue for $t {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                use std::fmt::Write;
                encoder.write_str(match self {
                    $(Self::$v => $s),+
                })
            }
        }
    };
}

/// The kind of a websocket connection.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ConnKind {
    Visitor,
    Agent,
}

label_values!(ConnKind { Visitor => "visitor", Agent => "agent" });

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: ConnKind,
}

/// Why a connection was closed as lagging (4008).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum LagCause {
    /// Its mailbox was full when a delivery came.
    Mailbox,
    /// The client had not echoed 4 MiB of what was written to it.
    UnreadBytes,
}

label_values!(LagCause { Mailbox => "mailbox", UnreadBytes => "unread_bytes" });

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LagLabel {
    pub kind: ConnKind,
    pub cause: LagCause,
}

/// Where rows wait to be sent.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Queue {
    /// The e-mail outbox (`outbox`, sent by the mailer).
    Email,
    /// Messages to send through a platform (`channel_outbound`, sent by the Messenger sender).
    Channel,
}

label_values!(Queue { Email => "email", Channel => "channel" });

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub queue: Queue,
}

/// The database pool's state.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum PoolState {
    /// Connections open (idle or in use).
    Size,
    /// Idle connections, ready to be taken.
    Available,
    /// Callers waiting for a connection.
    Waiting,
    /// The most connections the pool opens.
    Max,
}

label_values!(PoolState {
    Size => "size",
    Available => "available",
    Waiting => "waiting",
    Max => "max",
});

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabel {
    pub state: PoolState,
}

/// Why the bus's publisher dropped events (the other servers then resync).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum DropCause {
    /// Its queue was full (Redis slower than the commits).
    QueueFull,
    /// Redis refused or did not answer the publish.
    Redis,
}

label_values!(DropCause { QueueFull => "queue_full", Redis => "redis" });

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropLabel {
    pub cause: DropCause,
}

/// The cross-server bus's figures (`crate::bus`), recorded by its publisher and subscriber.
#[derive(Clone, Default)]
pub struct BusMetrics {
    /// Events this server published.
    pub published: Counter,
    dropped: Family<DropLabel, Counter>,
    /// Events received from other servers.
    pub received: Counter,
    /// Resyncs: every local connection closed 4009 to resume from the database.
    pub resyncs: Counter,
    subscribed: Gauge,
}

impl BusMetrics {
    pub fn dropped(&self, cause: DropCause, events: u64) {
        self.dropped
            .get_or_create(&DropLabel { cause })
            .inc_by(events);
    }

    pub fn set_subscribed(&self, up: bool) {
        self.subscribed.set(i64::from(up));
    }

    fn register(&self, registry: &mut Registry) {
        registry.register(
            "bus_events_published",
            "Committed events this server published to the other servers (Redis)",
            self.published.clone(),
        );
        registry.register(
            "bus_events_dropped",
            "Events this server could not publish, by cause: its queue was full (queue_full) \
             or Redis failed (redis); the other servers then resync",
            self.dropped.clone(),
        );
        for cause in [DropCause::QueueFull, DropCause::Redis] {
            let _ = self.dropped.get_or_create(&DropLabel { cause });
        }
        registry.register(
            "bus_events_received",
            "Events received from the other servers and delivered here",
            self.received.clone(),
        );
        registry.register(
            "bus_resyncs",
            "Resyncs: events may have been missed, every local connection was closed 4009 to \
             resume from the database",
            self.resyncs.clone(),
        );
        registry.register(
            "bus_subscribed",
            "1 while the subscriber is subscribed and sees its own heartbeats, 0 otherwise \
             (0 without --redis-url)",
            self.subscribed.clone(),
        );
    }
}

/// The committer's histograms, recorded by its writers (`committer::Writer::record`).
#[derive(Clone)]
pub struct CommitHistograms {
    /// Posts per committed batch.
    pub batch_size: Histogram,
    /// Seconds from taking a batch to its last post's answer (COMMIT included).
    pub seconds: Histogram,
}

impl Default for CommitHistograms {
    fn default() -> Self {
        CommitHistograms {
            // 1 … 1024: the batch limit is at most 10,000 but 64 by default.
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 11)),
            // 0.5 ms … 8 s.
            seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 15)),
        }
    }
}

impl CommitHistograms {
    pub fn observe(&self, posts: u64, took: Duration) {
        self.batch_size.observe(posts as f64);
        self.seconds.observe(took.as_secs_f64());
    }
}

/// What `refresh` samples: the parts of the server the registry does not own.
pub struct Sources<'a> {
    pub pool: &'a Pool,
    pub live_sessions: usize,
    pub committer: &'a Committer,
}

/// Every metric this server exports, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    connections: Family<KindLabel, Gauge>,
    lagging: Family<LagLabel, Counter>,
    /// Timers the scheduler claimed as due (again after a lapsed lease).
    pub timers_due: Counter,
    /// Timer deliveries completed (fired, or found already fired or cancelled).
    pub timers_fired: Counter,
    /// Timers the scheduler delivered and is waiting on.
    pub timers_in_flight: Gauge,
    pool: Family<PoolLabel, Gauge>,
    session_actors: Gauge,
    commit_queue: Gauge,
    backlog: Family<QueueLabel, Gauge>,
    timers_overdue: Gauge,
    /// Rate-limit attempts counted on this server because Redis could not be reached.
    pub rate_limit_local: Counter,
    backlog_read: Mutex<Option<Instant>>,
    /// The cross-server bus (unused without `--redis-url`).
    pub bus: BusMetrics,
}

impl Metrics {
    /// The registry with every family; the committer's are read from `committer`.
    pub fn new(committer: &Committer) -> Metrics {
        let mut registry = Registry::with_prefix("switchboard");
        let connections = Family::<KindLabel, Gauge>::default();
        registry.register(
            "connections",
            "Open websocket connections, by kind (visitor, agent)",
            connections.clone(),
        );
        // Both kinds show from the first scrape, at 0.
        for kind in [ConnKind::Visitor, ConnKind::Agent] {
            let _ = connections.get_or_create(&KindLabel { kind });
        }
        let lagging = Family::<LagLabel, Counter>::default();
        registry.register(
            "connections_lagging",
            "Websocket connections closed 4008 (lagging), by kind and cause: a full mailbox \
             (mailbox) or 4 MiB written and not echoed by the client's pongs (unread_bytes)",
            lagging.clone(),
        );
        for kind in [ConnKind::Visitor, ConnKind::Agent] {
            for cause in [LagCause::Mailbox, LagCause::UnreadBytes] {
                let _ = lagging.get_or_create(&LagLabel { kind, cause });
            }
        }
        registry.register_collector(Box::new(CommitCollector(committer.clone())));
        let h = &committer.stats().histograms;
        registry.register(
            "commit_batch_size",
            "Posts per committed batch",
            h.batch_size.clone(),
        );
        registry.register_with_unit(
            "commit_duration",
            "Time to commit a batch and answer its posts",
            Unit::Seconds,
            h.seconds.clone(),
        );
        let commit_queue = Gauge::default();
        registry.register(
            "commit_queue_depth",
            "Posts waiting in the committer's queues for a writer (sampled at scrape)",
            commit_queue.clone(),
        );
        let pool = Family::<PoolLabel, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool: connections open (size), idle (available), the most it opens (max), \
             and callers waiting for one (waiting); sampled at scrape",
            pool.clone(),
        );
        let session_actors = Gauge::default();
        registry.register(
            "session_actors",
            "Live session actors (one per session with recent activity; sampled at scrape)",
            session_actors.clone(),
        );
        let timers_due = Counter::default();
        registry.register(
            "timers_due",
            "Timers the scheduler claimed as due (a timer claimed again after its lease lapsed \
             counts again)",
            timers_due.clone(),
        );
        let timers_fired = Counter::default();
        registry.register(
            "timers_fired",
            "Timer deliveries completed: fired, or found already fired or cancelled",
            timers_fired.clone(),
        );
        let timers_in_flight = Gauge::default();
        registry.register(
            "timers_in_flight",
            "Timers delivered by the scheduler and not yet answered",
            timers_in_flight.clone(),
        );
        let timers_overdue = Gauge::default();
        registry.register(
            "timers_overdue",
            "Timers due and not fired (counted in the database, at most every 5 s)",
            timers_overdue.clone(),
        );
        let backlog = Family::<QueueLabel, Gauge>::default();
        registry.register(
            "outbox_pending",
            "Rows waiting to be sent, by queue: email (outbox) and channel (platform sends); \
             counted in the database, at most every 5 s",
            backlog.clone(),
        );
        for queue in [Queue::Email, Queue::Channel] {
            let _ = backlog.get_or_create(&QueueLabel { queue });
        }
        let rate_limit_local = Counter::default();
        registry.register(
            "rate_limit_local",
            "Rate-limit attempts (logins, new visitors, test e-mails) counted in this server's \
             memory because Redis (--redis-url) could not be reached",
            rate_limit_local.clone(),
        );
        let bus = BusMetrics::default();
        bus.register(&mut registry);
        Metrics {
            bus,
            registry,
            connections,
            lagging,
            timers_due,
            timers_fired,
            timers_in_flight,
            pool,
            session_actors,
            commit_queue,
            backlog,
            timers_overdue,
            rate_limit_local,
            backlog_read: Mutex::new(None),
        }
    }

    /// A websocket connection started (`started` of its actor).
    pub fn connection_opened(&self, kind: ConnKind) {
        self.connections.get_or_create(&KindLabel { kind }).inc();
    }

    /// A websocket connection stopped (`stopping` of its actor).
    pub fn connection_closed(&self, kind: ConnKind) {
        self.connections.get_or_create(&KindLabel { kind }).dec();
    }

    /// A connection is being closed 4008 (its heartbeat found it lagging).
    pub fn connection_lagging(&self, kind: ConnKind, cause: LagCause) {
        self.lagging.get_or_create(&LagLabel { kind, cause }).inc();
    }

    /// Samples the gauges read at scrape time.
    pub async fn refresh(&self, s: Sources<'_>) {
        let status = s.pool.status();
        for (state, v) in [
            (PoolState::Size, status.size),
            (PoolState::Available, status.available),
            (PoolState::Waiting, status.waiting),
            (PoolState::Max, status.max_size),
        ] {
            self.pool.get_or_create(&PoolLabel { state }).set(v as i64);
        }
        self.session_actors.set(s.live_sessions as i64);
        self.commit_queue.set(s.committer.queued() as i64);
        if self.backlog_is_stale() {
            match tokio::time::timeout(BACKLOG_TIMEOUT, count_backlog(s.pool)).await {
                Ok(Ok(b)) => {
                    self.set_backlog(Queue::Email, b.email);
                    self.set_backlog(Queue::Channel, b.channel);
                    self.timers_overdue.set(b.timers_overdue);
                }
                Ok(Err(e)) => tracing::debug!(error = %e, "metrics: backlog not counted"),
                Err(_) => tracing::debug!("metrics: backlog count timed out"),
            }
        }
    }

    /// The text of a scrape, in OpenMetrics or in Prometheus's text format 0.0.4.
    pub fn encode(&self, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        if openmetrics {
            prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        }
        Ok(out)
    }

    fn set_backlog(&self, queue: Queue, n: i64) {
        self.backlog.get_or_create(&QueueLabel { queue }).set(n);
    }

    /// True for the one caller that should count now (the others reuse the last counts).
    fn backlog_is_stale(&self) -> bool {
        let Ok(mut last) = self.backlog_read.lock() else {
            return false;
        };
        match *last {
            Some(at) if at.elapsed() < BACKLOG_TTL => false,
            _ => {
                *last = Some(Instant::now());
                true
            }
        }
    }
}

struct Backlog {
    email: i64,
    channel: i64,
    timers_overdue: i64,
}

async fn count_backlog(pool: &Pool) -> Result<Backlog, String> {
    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
    let e = |e: diesel::result::Error| e.to_string();
    Ok(Backlog {
        email: db::outbox::count_pending(&mut conn).await.map_err(e)?,
        channel: db::channel_outbound::count_pending(&mut conn)
            .await
            .map_err(e)?,
        timers_overdue: db::timers::count_overdue(&mut conn).await.map_err(e)?,
    })
}

/// Reads the committer's own counters at scrape time: it keeps them for its retry hint and
/// tests anyway, so the message path records nothing twice.
struct CommitCollector(Committer);

impl std::fmt::Debug for CommitCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitCollector")
    }
}

impl Collector for CommitCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use std::sync::atomic::Ordering::Relaxed;
        let s = self.0.stats();
        let mut emit = |name: &str, help: &str, metric: &dyn EncodeMetric| {
            metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
        };
        emit(
            "messages_accepted",
            "Posts the committer took and ran (stored, or answered as a resend or a refusal \
             of the domain).",
            &ConstCounter::new(s.posts.load(Relaxed)),
        )?;
        emit(
            "messages_refused",
            "Posts refused with `busy` (the committer's queue stayed full): nothing stored.",
            &ConstCounter::new(s.refused.load(Relaxed)),
        )?;
        emit(
            "commit_batches",
            "Batches the committer's writers ran.",
            &ConstCounter::new(s.batches.load(Relaxed)),
        )?;
        emit(
            "commit_largest_batch",
            "The largest batch since the server started.",
            &ConstGauge::new(s.largest_batch.load(Relaxed) as i64),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_cover_the_batch_limit_and_slow_commits() {
        let h = CommitHistograms::default();
        h.observe(64, Duration::from_millis(3));
        let mut r = Registry::default();
        r.register("b", "b", h.batch_size.clone());
        r.register("s", "s", h.seconds.clone());
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &r).unwrap();
        assert!(out.contains("b_bucket{le=\"1024.0\"} 1"), "{out}");
        assert!(out.contains("s_bucket{le=\"8.192\"} 1"), "{out}");
    }
}
