//! Publishing this server's committed events. The listener runs on the committing thread and
//! never blocks: it queues a copy of the batch (`try_send`, bounded); a task publishes what is
//! queued as one pipeline on a `ConnectionManager`, which reconnects by itself. A full queue
//! or a failed publish drops those events (counted) and the next publish is preceded by a
//! resync notice: the other servers missed them and their connections read them from the
//! database instead.

use super::envelope::{self, NodeId};
use super::{BusStatus, HEARTBEAT};
use crate::domain::events::Event;
use crate::events::Listener;
use crate::metrics::{BusMetrics, DropCause};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Batches (one per dispatch) waiting to be published. Past this a batch is dropped: a
/// server whose Redis is slow must not grow memory or hold up its commits.
const QUEUE: usize = 4096;

/// Batches published in one pipeline at most.
const PIPELINE: usize = 256;

/// A publish that takes longer than this has failed (Redis wedged or gone).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The listener at the seam (`Reach::ThisServer`: a remote event is never published again).
pub struct Publisher {
    queue: mpsc::Sender<Vec<Event>>,
    status: Arc<BusStatus>,
    metrics: BusMetrics,
}

impl Publisher {
    pub(super) fn new(
        status: Arc<BusStatus>,
        metrics: BusMetrics,
    ) -> (Publisher, mpsc::Receiver<Vec<Event>>) {
        let (queue, rx) = mpsc::channel(QUEUE);
        (
            Publisher {
                queue,
                status,
                metrics,
            },
            rx,
        )
    }
}

impl Listener for Publisher {
    fn on_events(&self, events: &[Event]) {
        // Each server derives its own `flow_stats` frames from the runs' changes (its
        // statistics listener hears those from every server), so these stay local.
        let out: Vec<Event> = events
            .iter()
            .filter(|e| !matches!(e, Event::FlowStatsChanged { .. }))
            .cloned()
            .collect();
        if out.is_empty() {
            return;
        }
        let n = out.len() as u64;
        if self.queue.try_send(out).is_err() {
            self.metrics.dropped(DropCause::QueueFull, n);
            self.status.mark_dropped();
        }
    }
}

/// The publishing task.
pub(super) struct Task {
    pub client: redis::Client,
    pub node: NodeId,
    pub status: Arc<BusStatus>,
    pub metrics: BusMetrics,
}

impl Task {
    pub async fn run(self, mut queue: mpsc::Receiver<Vec<Event>>) {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        // Lazy: it connects on the first publish, so a Redis that is down at start only
        // fails publishes until it is back.
        let mut conn = match ConnectionManager::new_lazy_with_config(self.client.clone(), config) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "bus: the publisher cannot start; nothing is published");
                return;
            }
        };
        let mut beat = tokio::time::interval(HEARTBEAT);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                got = queue.recv() => {
                    let Some(first) = got else { return };
                    let mut batches = vec![first];
                    while batches.len() < PIPELINE {
                        match queue.try_recv() {
                            Ok(b) => batches.push(b),
                            Err(_) => break,
                        }
                    }
                    self.publish(&mut conn, &batches).await;
                }
                _ = beat.tick() => self.publish(&mut conn, &[]).await,
            }
        }
    }

    /// Publishes the batches (none: a heartbeat) in one pipeline, preceded by a resync notice
    /// when events were dropped since the last publish.
    async fn publish(&self, conn: &mut ConnectionManager, batches: &[Vec<Event>]) {
        let mut pipe = redis::pipe();
        let resync = self.status.take_dropped();
        if resync {
            pipe.publish(envelope::CHANNEL, envelope::resync(&self.node))
                .ignore();
        }
        let mut events = 0u64;
        for b in batches {
            match envelope::events(&self.node, b) {
                Ok(payload) => {
                    pipe.publish(envelope::CHANNEL, payload).ignore();
                    events += b.len() as u64;
                }
                Err(e) => {
                    tracing::error!(error = %e, "bus: an event did not serialise; dropped");
                    self.metrics.dropped(DropCause::Redis, b.len() as u64);
                    self.status.mark_dropped();
                }
            }
        }
        if batches.is_empty() {
            pipe.publish(envelope::CHANNEL, envelope::heartbeat(&self.node))
                .ignore();
        }
        match pipe.query_async::<()>(conn).await {
            Ok(()) => {
                self.metrics.published.inc_by(events);
            }
            Err(e) => {
                tracing::debug!(error = %e, events, "bus: publish failed");
                // Not known to have arrived: the others must resync, the notice again too.
                if events > 0 || resync {
                    self.status.mark_dropped();
                }
                self.metrics.dropped(DropCause::Redis, events);
            }
        }
    }
}
