//! The message committer: posts from many sessions share one transaction and one WAL flush.
//!
//! A session actor hands its post (`conversation::post_in`) to [`Committer::post`] and waits
//! for the answer; it has at most one post in flight, so a session is in at most one batch and
//! its sequence numbers stay gapless and in order. Writers (`CommitConfig::writers`, on their
//! own arbiters) each drain a bounded queue (a session's posts go to writer `id % writers`): a
//! writer takes whatever is waiting (at most `max_batch`, with no delay: while
//! one batch commits the next accumulates), applies them in one transaction (the plain ones
//! with a few pipelined round trips for all, `domain::post_batch`; the others through
//! `conversation::post_in`), commits, and only then answers each post. A post refused before
//! anything is written gets its error and costs the batch nothing; one that fails later rolls
//! the batch back: it is run again alone
//! (its own transaction, today's path, for its authoritative answer) and the others are
//! committed as a batch again, so a bad post costs the others nothing and is never half
//! applied.
//!
//! Locks: a batch holds the row locks of its sessions until it commits. Those sessions' other
//! changes (assign, end, hosting, timers) go through the same actors, which wait for the post;
//! two batches never share a session. What locks sessions outside the actors (tags, one row;
//! contact sync's page) waits for the batch, or, for a sync page holding several rows, loses a
//! deadlock to PostgreSQL's detector and is retried the way its failures are.
//!
//! Overload: the queues are bounded (`CommitConfig::queue`, split between the writers). A post
//! that finds its writer's queue full waits at
//! most `admit_wait` for room, then is refused with `busy` and a retry hint: nothing was stored
//! and the client sends it again with the same client id.

use crate::config::CommitConfig;
use crate::db::Pool;
use crate::domain::conversation::{self, Applied, NewPost};
use crate::domain::post_batch::{self, Outcome};
use crate::error::{AppError, AppResult};
use actix::ArbiterHandle;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

struct Job {
    session_id: i64,
    post: NewPost,
    reply: oneshot::Sender<AppResult<Applied>>,
}

/// The committer's handle: cheap to clone, shared by every session actor.
#[derive(Clone)]
pub struct Committer {
    /// One queue per writer: a session's posts always go to the same writer, and writers never
    /// contend for a shared receiver (a shared one made every writer wait for whichever held
    /// it, on whatever thread that was busy with).
    queues: Arc<[mpsc::Sender<Job>]>,
    config: CommitConfig,
    stats: Arc<Stats>,
}

/// What the retry hint is computed from, and what tests and measurements read.
#[derive(Default)]
pub struct Stats {
    /// Microseconds a committed post took, smoothed (batch time / batch size).
    per_post_us: AtomicU64,
    pub batches: AtomicU64,
    pub posts: AtomicU64,
    pub refused: AtomicU64,
    pub largest_batch: AtomicU64,
    /// Batch sizes and commit times, exported at `/metrics`.
    pub histograms: crate::metrics::CommitHistograms,
}

impl Committer {
    /// Starts the writers as tasks spread over `arbiters` (on the current one when empty).
    pub fn start(pool: Pool, config: CommitConfig, arbiters: &[ArbiterHandle]) -> Committer {
        let writers = config.writers.max(1);
        let per_writer = config.queue.div_ceil(writers).max(1);
        let stats = Arc::new(Stats::default());
        let mut queues = Vec::with_capacity(writers);
        for i in 0..writers {
            let (tx, rx) = mpsc::channel(per_writer);
            queues.push(tx);
            let writer = Writer {
                pool: pool.clone(),
                rx,
                max_batch: config.max_batch.max(1),
                stats: Arc::clone(&stats),
            };
            match arbiters.get(i % arbiters.len().max(1)) {
                // The writer's future is made on its arbiter's thread: it need not be `Send`.
                Some(a) => {
                    a.spawn_fn(move || {
                        actix::spawn(writer.run());
                    });
                }
                None => {
                    actix::spawn(writer.run());
                }
            }
        }
        Committer {
            queues: queues.into(),
            config,
            stats,
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Posts waiting in the writers' queues now.
    pub fn queued(&self) -> usize {
        self.queues
            .iter()
            .map(|q| q.max_capacity() - q.capacity())
            .sum()
    }

    /// Stores a post of `session_id` (see `conversation::post`), committed with whatever other
    /// posts are ready. `busy` when the queue stays full past the admission wait.
    pub async fn post(&self, session_id: i64, post: NewPost) -> AppResult<Applied> {
        let tx = &self.queues[session_id.unsigned_abs() as usize % self.queues.len()];
        let permit = match tx.try_reserve() {
            Ok(p) => p,
            Err(mpsc::error::TrySendError::Closed(())) => {
                return Err(AppError::internal("the committer has stopped"))
            }
            Err(mpsc::error::TrySendError::Full(())) => {
                match tokio::time::timeout(self.config.admit_wait, tx.reserve()).await {
                    Ok(Ok(p)) => p,
                    Ok(Err(_)) => return Err(AppError::internal("the committer has stopped")),
                    Err(_) => {
                        self.stats.refused.fetch_add(1, Ordering::Relaxed);
                        return Err(AppError::busy(self.retry_after_ms(tx)));
                    }
                }
            }
        };
        let (reply, answer) = oneshot::channel();
        permit.send(Job {
            session_id,
            post,
            reply,
        });
        answer
            .await
            .unwrap_or_else(|_| Err(AppError::internal("the committer dropped a post")))
    }

    /// About how long the queue takes to drain now: a client coming back then finds room.
    fn retry_after_ms(&self, tx: &mpsc::Sender<Job>) -> u64 {
        let per_post_us = self.stats.per_post_us.load(Ordering::Relaxed).max(100);
        let queued = (tx.max_capacity() - tx.capacity()) as u64;
        (queued * per_post_us / 1000).clamp(50, 5000)
    }
}

struct Writer {
    pool: Pool,
    rx: mpsc::Receiver<Job>,
    max_batch: usize,
    stats: Arc<Stats>,
}

impl Writer {
    async fn run(mut self) {
        loop {
            let Some(first) = self.rx.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                match self.rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let started = Instant::now();
            let n = batch.len() as u64;
            self.commit(batch).await;
            self.record(n, started);
        }
    }

    fn record(&self, n: u64, started: Instant) {
        let s = &self.stats;
        s.batches.fetch_add(1, Ordering::Relaxed);
        s.posts.fetch_add(n, Ordering::Relaxed);
        s.largest_batch.fetch_max(n, Ordering::Relaxed);
        s.histograms.observe(n, started.elapsed());
        let ms = started.elapsed().as_millis();
        if ms > 100 {
            tracing::debug!(n, ms, "slow commit batch");
        }
        let us = started.elapsed().as_micros() as u64 / n.max(1);
        let old = s.per_post_us.load(Ordering::Relaxed);
        let smoothed = if old == 0 { us } else { (old * 7 + us) / 8 };
        s.per_post_us.store(smoothed, Ordering::Relaxed);
    }

    /// Commits the batch, or, when a post in it fails, that post alone and the rest again.
    async fn commit(&self, mut batch: Vec<Job>) {
        let mut conn = match self.pool.get().await {
            Ok(c) => c,
            Err(e) => {
                let e = AppError::from(e);
                for job in batch {
                    let _ = job.reply.send(Err(clone_error(&e)));
                }
                return;
            }
        };
        while !batch.is_empty() {
            match run_batch(&mut conn, &batch).await {
                Ok(answers) => {
                    for (job, a) in batch.into_iter().zip(answers) {
                        let _ = job.reply.send(a);
                    }
                    return;
                }
                Err(Failed::Post(i)) => {
                    tracing::debug!(size = batch.len(), "a post failed in its batch");
                    // Rolled back: that post alone gives its own answer (the same refusal, as
                    // a rule), the others are tried again together.
                    let job = batch.remove(i);
                    let res = conversation::post(&mut conn, job.session_id, job.post).await;
                    let _ = job.reply.send(res);
                }
                Err(Failed::Db(e)) if e.is_transient() => {
                    // The session actors retry; nothing of the batch was committed.
                    for job in batch {
                        let _ = job.reply.send(Err(clone_error(&e)));
                    }
                    return;
                }
                Err(Failed::Db(e)) => {
                    tracing::warn!(error = %e, "a commit batch failed; committing its posts one by one");
                    for job in batch {
                        let res = conversation::post(&mut conn, job.session_id, job.post).await;
                        let _ = job.reply.send(res);
                    }
                    return;
                }
            }
        }
    }
}

enum Failed {
    /// The post at this index failed (the transaction was rolled back).
    Post(usize),
    /// BEGIN or COMMIT failed.
    Db(AppError),
}

impl From<diesel::result::Error> for Failed {
    fn from(e: diesel::result::Error) -> Self {
        Failed::Db(e.into())
    }
}

/// One transaction: the plain posts together (`post_batch`, a few round trips for all), then
/// those that need the full rules one by one. Each post's answer: stored, or refused with
/// nothing of it written.
async fn run_batch(
    conn: &mut AsyncPgConnection,
    batch: &[Job],
) -> Result<Vec<AppResult<Applied>>, Failed> {
    conn.transaction(async |conn| {
        let posts: Vec<(i64, &NewPost)> = batch.iter().map(|j| (j.session_id, &j.post)).collect();
        let outcomes = post_batch::run(conn, &posts).await.map_err(Failed::Db)?;
        let mut out = Vec::with_capacity(batch.len());
        for (i, (outcome, job)) in outcomes.into_iter().zip(batch).enumerate() {
            out.push(match outcome {
                Outcome::Done(a) => Ok(*a),
                Outcome::Refused(e) => Err(e),
                Outcome::Full => match conversation::post_in(conn, job.session_id, &job.post).await
                {
                    Ok(a) => Ok(a),
                    // An outage fails every post alike: no point running them one by one.
                    Err(e) if e.is_transient() => return Err(Failed::Db(e)),
                    Err(_) => return Err(Failed::Post(i)),
                },
            });
        }
        Ok(out)
    })
    .await
}

/// The same error for every post of a failed batch (`AppError` holds a cause string, no
/// handle, so it is not `Clone` by design: this copies code, message and details).
fn clone_error(e: &AppError) -> AppError {
    let mut out = AppError::new(e.code, e.message.clone());
    out.details = e.details.clone();
    out
}
