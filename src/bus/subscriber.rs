//! The one subscriber of a server: its own pub/sub connection to the channel, events of other
//! nodes handed to `Dispatcher::dispatch_remote`, this node's heartbeats watched. A dropped
//! connection or a stall (no own heartbeat for `STALL`: Centrifugo's wedged subscriber, whose
//! health stayed green) ends the subscription; it reconnects with backoff and, once
//! subscribed again, resyncs — what was published meanwhile is gone from pub/sub.

use super::envelope::{self, NodeId};
use super::{BusStatus, Link, Local, STALL};
use crate::metrics::BusMetrics;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub(super) struct Subscriber {
    pub client: redis::Client,
    pub node: NodeId,
    pub status: Arc<BusStatus>,
    pub metrics: BusMetrics,
    pub local: Local,
}

/// Why a subscription ended.
#[derive(Debug)]
enum Ended {
    Dropped,
    Stalled,
}

impl Subscriber {
    /// Runs `run` as a task of its own and starts it again if it panics (a listener's bug must
    /// not leave the server deaf to the others for the rest of its life); the new run resyncs
    /// once subscribed, as after any gap.
    pub async fn supervise(self) {
        // Nothing published before the first subscription concerns connections that did not
        // exist yet; after a panic, events may have been missed.
        let mut missed = false;
        loop {
            match tokio::task::spawn_local(self.clone().run(missed)).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::error!(error = %e, "bus: the subscriber failed; starting it again");
                    self.status.set_link(Link::Down);
                    missed = true;
                    tokio::time::sleep(BACKOFF_MIN).await;
                }
            }
        }
    }

    /// Runs for as long as its arbiter: every failure is followed by a reconnection. `missed`:
    /// events may have been missed before this run (it resyncs once subscribed).
    async fn run(self, mut missed: bool) {
        let mut backoff = BACKOFF_MIN;
        loop {
            match self.subscribe().await {
                Ok(pubsub) => {
                    backoff = BACKOFF_MIN;
                    self.status.set_link(Link::Ok);
                    if missed {
                        self.local.resync(&self.metrics);
                    }
                    tracing::info!("bus: subscribed to {}", envelope::CHANNEL);
                    let ended = self.listen(pubsub).await;
                    tracing::warn!(?ended, "bus: subscription ended; reconnecting");
                }
                Err(e) => tracing::warn!(error = %e, "bus: cannot subscribe; retrying"),
            }
            self.status.set_link(Link::Down);
            missed = true;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    async fn subscribe(&self) -> Result<redis::aio::PubSub, String> {
        let connect = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(envelope::CHANNEL).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".into()),
        }
    }

    async fn listen(&self, mut pubsub: redis::aio::PubSub) -> Ended {
        let mut stream = pubsub.on_message();
        // The first heartbeat is due within a second of subscribing.
        let mut own_seen = Instant::now();
        let mut check = tokio::time::interval(STALL / 4);
        loop {
            tokio::select! {
                msg = stream.next() => {
                    let Some(msg) = msg else { return Ended::Dropped };
                    if self.received(msg.get_payload_bytes()) {
                        own_seen = Instant::now();
                    }
                }
                _ = check.tick() => {
                    if own_seen.elapsed() > STALL {
                        return Ended::Stalled;
                    }
                }
            }
        }
    }

    /// Handles one envelope; true when it was this node's own.
    fn received(&self, payload: &[u8]) -> bool {
        let env = match envelope::parse(payload) {
            Ok(e) => e,
            Err(e) => {
                // Another server's events this one cannot read (a newer version's kind, during
                // a rolling upgrade): missed, so the connections read them from the database.
                tracing::error!(error = %e, "bus: an envelope did not parse; resyncing");
                self.local.resync(&self.metrics);
                return false;
            }
        };
        if env.node == self.node.as_str() {
            self.status.heartbeat_seen();
            return true;
        }
        if env.resync {
            self.local.resync(&self.metrics);
        }
        if !env.events.is_empty() {
            self.metrics.received.inc_by(env.events.len() as u64);
            self.local.events.dispatch_remote(&env.events);
        }
        false
    }
}
