//! Runs durable background jobs (`db::jobs`): every 500 ms, or at once when nudged (a job was
//! queued), it claims a due job with a 60 s lease and runs it; at most `MAX_RUNNING` at a time.
//! A runner that dies holding a job only delays it until its lease lapses; the next claim goes
//! on from the job's saved progress. Started once in `app::start`, on the background arbiter.
//!
//! Contact sync (`domain::messenger::sync`) pages a Page's Conversations API: at most 2 calls a
//! second per Page (one job per channel at a time, calls 500 ms apart). A page's imports (a
//! savepoint per conversation) and the cursor and counters after it commit in one transaction,
//! so after a crash the job goes on from the last saved page with exact counters (the page in
//! flight is read again; imports are idempotent anyway). A live `job` frame follows each page. Rate-limit and temporary errors retry the same page (honouring the usage
//! header's wait) up to 5 times; an invalid token (190) fails the job; a conversation that
//! cannot be imported is counted in `errors` and the sync goes on.

use super::stats::{Reload, StatsActor};
use crate::context::AppContext;
use crate::db::enums::{ChannelHealth, ChannelKind, JobKind, JobState};
use crate::db::jobs::JobRow;
use crate::domain::events::Event;
use crate::domain::messenger::config::MessengerConfig;
use crate::domain::messenger::sync::{self, SyncParams, SyncProgress, Target};
use crate::domain::views::JobView;
use crate::error::AppError;
use crate::graph::{ConversationPage, ErrorClass, PageAuth};
use actix::prelude::*;
use chrono::Utc;
use diesel_async::AsyncConnection;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TICK: Duration = Duration::from_millis(500);
const LEASE_SECS: f64 = 60.0;
const MAX_RUNNING: usize = 4;
/// The Conversations API allows about 2 calls a second per Page.
const CALL_INTERVAL: Duration = Duration::from_millis(500);
/// Retries of one page after a temporary error or a rate limit.
const RETRIES: u32 = 5;
/// A job given back after a passing problem (the database away) is claimed again after this.
const RELEASE_SECS: i64 = 5;

/// Wakes every job runner of this process to claim at once (a job was just queued). Runners
/// of other servers find it on their next tick.
static NUDGE: tokio::sync::Notify = tokio::sync::Notify::const_new();

pub fn nudge() {
    NUDGE.notify_waiters();
}

pub struct JobRunner {
    ctx: Arc<AppContext>,
    /// Told to re-read its session counts when a sync made sessions (no event announces
    /// imported history).
    stats: Addr<StatsActor>,
    claiming: bool,
    running: HashSet<i64>,
}

impl JobRunner {
    pub fn new(ctx: Arc<AppContext>, stats: Addr<StatsActor>) -> Self {
        JobRunner {
            ctx,
            stats,
            claiming: false,
            running: HashSet::new(),
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.claiming || self.running.len() >= MAX_RUNNING {
            return;
        }
        self.claiming = true;
        let app = Arc::clone(&self.ctx);
        let fut = async move {
            let mut conn = app.pool.get().await.map_err(|e| e.to_string())?;
            crate::db::jobs::claim_due(&mut conn, LEASE_SECS)
                .await
                .map_err(|e| e.to_string())
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            act.claiming = false;
            match res {
                Ok(Some(job)) => {
                    act.start(job, ctx);
                    // There may be more due jobs than one tick claims.
                    act.tick(ctx);
                }
                Ok(None) => {}
                // One failed tick (database down) must not stop the runner.
                Err(e) => tracing::warn!(error = %e, "job tick failed"),
            }
        }));
    }

    fn start(&mut self, job: JobRow, ctx: &mut Context<Self>) {
        let id = job.id;
        if !self.running.insert(id) {
            return;
        }
        let app = Arc::clone(&self.ctx);
        ctx.spawn(
            run(app, self.stats.clone(), job)
                .into_actor(self)
                .map(move |_, act, ctx| {
                    act.running.remove(&id);
                    act.tick(ctx);
                }),
        );
    }

    fn listen(&mut self, ctx: &mut Context<Self>) {
        // Registered from here on, even before it is first polled.
        let nudged = NUDGE.notified();
        ctx.spawn(nudged.into_actor(self).map(|_, act, ctx| {
            act.tick(ctx);
            act.listen(ctx);
        }));
    }
}

impl Actor for JobRunner {
    type Context = Context<Self>;
    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
        self.listen(ctx);
    }
}

/// Why a run stopped before its job ended.
enum Interrupted {
    /// The database went away (or similar): the job goes back to the queue for a while.
    Passing(String),
    /// The claim is no longer ours (the lease lapsed and the job was claimed again).
    LostClaim,
}

/// How a run ended its job.
struct Ended {
    state: JobState,
    error: Option<String>,
}

impl Ended {
    fn done() -> Ended {
        Ended {
            state: JobState::Done,
            error: None,
        }
    }

    fn failed(error: impl Into<String>) -> Ended {
        Ended {
            state: JobState::Failed,
            error: Some(error.into()),
        }
    }
}

fn passing(e: impl std::fmt::Display) -> Interrupted {
    Interrupted::Passing(e.to_string())
}

/// One claimed job, run to its end (or until interrupted).
struct Run {
    app: Arc<AppContext>,
    stats: Addr<StatsActor>,
    id: i64,
    project_id: i64,
    attempt: i32,
    progress: SyncProgress,
    last_call: Option<Instant>,
}

async fn run(app: Arc<AppContext>, stats: Addr<StatsActor>, job: JobRow) {
    let mut r = Run {
        app,
        stats,
        id: job.id,
        project_id: job.project_id,
        attempt: job.attempts,
        progress: SyncProgress::of(&job.progress),
        last_call: None,
    };
    r.announce(&job);
    let outcome = match job.kind {
        JobKind::ContactSync => r.contact_sync(&job).await,
    };
    match outcome {
        Ok(ended) => {
            let res = async {
                let mut conn = r.app.pool.get().await.map_err(passing)?;
                crate::db::jobs::finish(
                    &mut conn,
                    r.id,
                    r.attempt,
                    ended.state,
                    &r.progress.to_json(),
                    ended.error.as_deref(),
                )
                .await
                .map_err(passing)
            }
            .await;
            match res {
                Ok(Some(row)) => {
                    tracing::info!(job = r.id, state = %row.state, error = ?row.last_error,
                        "job ended");
                    r.announce(&row);
                }
                Ok(None) => {}
                // Not recorded: the lease lapses and the job runs again from its saved
                // progress, which ends it the same way.
                Err(Interrupted::Passing(e)) => {
                    tracing::warn!(job = r.id, error = %e, "cannot record a job's end");
                }
                Err(Interrupted::LostClaim) => {}
            }
        }
        Err(Interrupted::Passing(e)) => {
            tracing::warn!(job = r.id, error = %e, "job interrupted; will resume");
            if let Ok(mut conn) = r.app.pool.get().await {
                let after = Utc::now() + chrono::Duration::seconds(RELEASE_SECS);
                let _ = crate::db::jobs::release(&mut conn, r.id, r.attempt, &e, after).await;
            }
        }
        Err(Interrupted::LostClaim) => {
            tracing::info!(job = r.id, "job claimed elsewhere; this run stops");
        }
    }
}

impl Run {
    fn announce(&self, row: &JobRow) {
        self.app.events.dispatch(&[Event::JobProgress {
            project_id: self.project_id,
            job: JobView::from(row),
        }]);
    }

    async fn contact_sync(&mut self, job: &JobRow) -> Result<Ended, Interrupted> {
        let scope = SyncParams::of(&job.params).scope;
        let Some(channel_id) = job.channel_id else {
            return Ok(Ended::failed("the job has no channel"));
        };
        let channel = {
            let mut conn = self.app.pool.get().await.map_err(passing)?;
            match crate::db::channels::find(&mut conn, channel_id).await {
                Ok(c) => c,
                Err(diesel::result::Error::NotFound) => {
                    return Ok(Ended::failed("the channel was deleted"))
                }
                Err(e) => return Err(passing(e)),
            }
        };
        let page_id = match (&channel.kind, &channel.external_id) {
            (ChannelKind::Messenger, Some(id)) => id.clone(),
            _ => return Ok(Ended::failed("the channel is not a Messenger Page")),
        };
        let token = MessengerConfig::from_json(&channel.config)
            .page_token(&self.app.secrets)
            .ok();
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Ok(Ended::failed(
                "the Page token is missing or unreadable: reconnect the Page",
            ));
        };
        let target = Target {
            project_id: channel.project_id,
            channel_id,
            page_id,
        };
        let auth = PageAuth {
            page_id: &target.page_id,
            token: &token,
        };
        let mut cancel_requested = job.cancel_requested;
        loop {
            if cancel_requested {
                return Ok(Ended {
                    state: JobState::Cancelled,
                    error: None,
                });
            }
            // The last page was saved but the end was not recorded (a crash in between).
            if self.progress.pages > 0 && self.progress.cursor.is_none() {
                return Ok(Ended::done());
            }
            let wanted = self.progress.wanted(scope);
            if wanted == Some(0) {
                return Ok(Ended::done());
            }
            let limit = wanted.map_or(sync::PAGE_SIZE, |w| {
                u32::try_from(w).map_or(sync::PAGE_SIZE, |w| w.min(sync::PAGE_SIZE))
            });
            let page = match self.fetch(channel_id, auth, limit).await? {
                Ok(page) => page,
                Err(ended) => return Ok(ended),
            };
            let take = wanted.map_or(usize::MAX, |w| usize::try_from(w).unwrap_or(usize::MAX));
            let imported_before = self.progress.messages_imported;
            let row = self.import_page(&target, &page, take).await?;
            if self.progress.messages_imported > imported_before {
                // History sessions may have been made: the dashboard counts them too.
                self.stats.do_send(Reload);
            }
            self.announce(&row);
            cancel_requested = row.cancel_requested;
            if self.progress.cursor.is_none() {
                return Ok(Ended::done());
            }
        }
    }

    /// Imports a page's first `take` conversations and saves the progress with the next
    /// cursor, all in one transaction: each conversation in its own savepoint (one that cannot
    /// be imported is rolled back alone and counted in `errors`), and the counters commit with
    /// what they count, so a crash anywhere leaves them exact and the page is read again.
    async fn import_page(
        &mut self,
        target: &Target,
        page: &ConversationPage,
        take: usize,
    ) -> Result<JobRow, Interrupted> {
        let mut progress = self.progress.clone();
        let (id, attempt) = (self.id, self.attempt);
        let mut lost = false;
        let mut conn = self.app.pool.get().await.map_err(passing)?;
        let saved = conn
            .transaction(async |conn| {
                for conv in page.data.iter().take(take) {
                    match sync::import_conversation(conn, target, conv).await {
                        Ok(imported) => progress.count(Some(imported)),
                        Err(e) if e.is_transient() => return Err(e),
                        Err(e) => {
                            tracing::warn!(job = id, conversation = %conv.id, error = %e,
                                "conversation not imported");
                            progress.count(None);
                        }
                    }
                }
                progress.pages += 1;
                progress.cursor = page.next_cursor().map(str::to_owned);
                let row = crate::db::jobs::save_progress(
                    conn,
                    id,
                    attempt,
                    &progress.to_json(),
                    LEASE_SECS,
                )
                .await?;
                // Another runner holds the job now: this page is its to count.
                row.ok_or_else(|| {
                    lost = true;
                    AppError::internal("the job's claim was lost")
                })
            })
            .await;
        let row = match saved {
            Ok(row) => row,
            Err(_) if lost => return Err(Interrupted::LostClaim),
            Err(e) => return Err(passing(e)),
        };
        self.progress = progress;
        Ok(row)
    }

    /// The next page, retried after temporary errors; `Err(Ended)` ends the job.
    async fn fetch(
        &mut self,
        auth_channel: i64,
        auth: PageAuth<'_>,
        limit: u32,
    ) -> Result<Result<ConversationPage, Ended>, Interrupted> {
        let mut retries = 0;
        loop {
            self.pace().await;
            let cursor = self.progress.cursor.as_deref();
            let err = match self.app.graph.conversations(auth, cursor, limit).await {
                Ok(page) => return Ok(Ok(page)),
                Err(e) => e,
            };
            match err.class() {
                ErrorClass::Retry { wait } if retries < RETRIES => {
                    retries += 1;
                    let backoff = Duration::from_secs(1 << (retries - 1));
                    let wait = wait.unwrap_or(backoff);
                    tracing::warn!(job = self.id, error = %err, retry_in_secs = wait.as_secs(),
                        "conversations page not read; will retry");
                    if self.wait_holding_lease(wait).await? {
                        return Ok(Err(Ended {
                            state: JobState::Cancelled,
                            error: None,
                        }));
                    }
                }
                ErrorClass::Retry { .. } => {
                    return Ok(Err(Ended::failed(format!(
                        "gave up after {RETRIES} retries: {err}"
                    ))))
                }
                ErrorClass::TokenInvalid => {
                    // The sender would find out at its next send; the health line tells now.
                    let mut conn = self.app.pool.get().await.map_err(passing)?;
                    let health = ChannelHealth::NeedsReconnect;
                    let why = err.to_string();
                    let mail = &self.app.mail;
                    crate::domain::messenger::health::degrade(
                        &mut conn,
                        mail,
                        auth_channel,
                        health,
                        &why,
                    )
                    .await
                    .map_err(passing)?;
                    return Ok(Err(Ended::failed(sync::TOKEN_INVALID)));
                }
                _ => return Ok(Err(Ended::failed(err.to_string()))),
            }
        }
    }

    /// Keeps calls to the Page's Conversations API `CALL_INTERVAL` apart.
    async fn pace(&mut self) {
        if let Some(last) = self.last_call {
            let next = last + CALL_INTERVAL;
            let now = Instant::now();
            if next > now {
                tokio::time::sleep(next - now).await;
            }
        }
        self.last_call = Some(Instant::now());
    }

    /// Sleeps `d` (a rate limit's wait can be minutes), renewing the lease meanwhile so that no
    /// other runner takes the job; `true` when it was asked to stop meanwhile.
    async fn wait_holding_lease(&self, d: Duration) -> Result<bool, Interrupted> {
        let renew_every = Duration::from_secs_f64(LEASE_SECS / 3.0);
        let deadline = Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            tokio::time::sleep(left.min(renew_every)).await;
            let mut conn = self.app.pool.get().await.map_err(passing)?;
            let row = crate::db::jobs::renew(&mut conn, self.id, self.attempt, LEASE_SECS)
                .await
                .map_err(passing)?
                .ok_or(Interrupted::LostClaim)?;
            if row.cancel_requested {
                return Ok(true);
            }
        }
    }
}
