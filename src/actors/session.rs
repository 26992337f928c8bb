//! One actor per live session. It applies the session's changes one at a time (each a
//! committed transaction, see `domain::conversation`), then fans the result out in commit
//! order, so every connection sees sequence numbers in order. It passivates when idle; the
//! registry starts it again on the next message.

use super::sessions::SessionSupervisor;
use crate::context::AppContext;
use crate::db::enums::HostingReason;
use crate::db::retry::with_retry;
use crate::db::sessions::SessionRow;
use crate::domain::access::Access;
use crate::domain::conversation::{self, Applied, NewPost};
use crate::domain::events::{self, Event, Names};
use crate::domain::hosting;
use crate::domain::timers::{self, TimerEnv};
use crate::error::{AppError, AppResult};
use actix::prelude::*;
use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Message)]
#[rtype(result = "AppResult<Applied>")]
pub struct Post(pub NewPost);

#[derive(Message)]
#[rtype(result = "AppResult<Applied>")]
pub struct Assign {
    pub by: Access,
    pub to: Option<i64>,
}

/// Switch robot hosting; `None` when the session already was in that state.
#[derive(Message)]
#[rtype(result = "AppResult<Option<Applied>>")]
pub struct SetHosting {
    pub by: Access,
    pub hosted: bool,
    pub reason: HostingReason,
}

#[derive(Message)]
#[rtype(result = "AppResult<Applied>")]
pub struct End {
    pub by: Access,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Typing {
    /// `None` for the visitor.
    pub agent: Option<Access>,
    pub on: bool,
}

/// A due durable timer, delivered by the scheduler.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Fire {
    pub timer_id: i64,
}

/// A session was opened elsewhere (by the inbound path): announce it, before any message of
/// it (the opener sends this before its `Post`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Opened {
    pub row: SessionRow,
    pub names: Names,
}

/// The contact's names changed (a customer-info edit committed): later `session` frames carry
/// the new ones instead of the cached.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ContactNames(pub Names);

/// Another server committed a change of this session (its event came through the bus): the
/// row it left, so what this actor announces without a query (typing's audience) is current.
#[derive(Message)]
#[rtype(result = "()")]
pub struct NewerRow(pub SessionRow);

pub struct SessionActor {
    id: i64,
    ctx: Arc<AppContext>,
    sup: Arc<SessionSupervisor>,
    last_active: Instant,
    /// The latest committed row and the contact's names, for events without a query.
    row: Option<SessionRow>,
    names: Option<Names>,
    /// Set by a `busy` refusal: posts before this instant are refused too (their order).
    refusing_until: Option<Instant>,
    /// Client (or external) ids of posts whose last attempt failed while the database was
    /// unavailable: their COMMIT may have succeeded with its answer lost, so a resend that
    /// finds the message stored is the first to announce it.
    unsettled: VecDeque<String>,
}

/// More unsettled posts than this cannot be in flight: a client resends in order.
const MAX_UNSETTLED: usize = 64;

/// How long an idle actor with unsettled posts stays in memory for their resends: passivating
/// would forget them, and a resend that finds its message stored would then announce nothing.
/// A client offline for longer gets its message on resume instead of live.
const UNSETTLED_KEEP: Duration = Duration::from_secs(3600);

/// What makes a post idempotent, when it has something.
fn post_key(post: &NewPost) -> Option<String> {
    match (&post.external_id, &post.client_id) {
        (Some(e), _) => Some(format!("e:{e}")),
        (None, Some(c)) => Some(format!("c:{c}")),
        (None, None) => None,
    }
}

impl SessionActor {
    pub fn new(id: i64, ctx: Arc<AppContext>, sup: Arc<SessionSupervisor>) -> Self {
        SessionActor {
            id,
            ctx,
            sup,
            last_active: Instant::now(),
            row: None,
            names: None,
            refusing_until: None,
            unsettled: VecDeque::new(),
        }
    }

    /// Whether `key` was unsettled (and is no longer).
    fn settle(&mut self, key: &str) -> bool {
        let before = self.unsettled.len();
        self.unsettled.retain(|k| k != key);
        self.unsettled.len() != before
    }

    fn unsettle(&mut self, key: String) {
        self.settle(&key);
        if self.unsettled.len() == MAX_UNSETTLED {
            self.unsettled.pop_front();
        }
        self.unsettled.push_back(key);
    }

    /// Runs a change with retries, loads the contact's names if not cached, then (back on the
    /// actor, still before any other message is handled) dispatches its events.
    fn apply<F, Fut>(&mut self, op: F) -> AtomicResponse<Self, AppResult<Applied>>
    where
        F: Fn(Arc<AppContext>) -> Fut + 'static,
        Fut: Future<Output = AppResult<Applied>> + 'static,
    {
        let changed = self.apply_if_changed(move |ctx| {
            let op = op(ctx);
            async move { op.await.map(Some) }
        });
        AtomicResponse::new(Box::pin(changed.map(|res, _, _| {
            res?.ok_or_else(|| AppError::internal("a change without its result"))
        })))
    }

    /// `apply` for an operation that may find nothing to do (`Ok(None)`, e.g. a timer that
    /// already fired): nothing is loaded or dispatched then.
    fn apply_if_changed<F, Fut>(
        &mut self,
        op: F,
    ) -> ResponseActFuture<Self, AppResult<Option<Applied>>>
    where
        F: Fn(Arc<AppContext>) -> Fut + 'static,
        Fut: Future<Output = AppResult<Option<Applied>>> + 'static,
    {
        self.last_active = Instant::now();
        let ctx = Arc::clone(&self.ctx);
        let cached = self.names.clone();
        let fut = async move {
            let Some(applied) = with_retry(|| op(Arc::clone(&ctx))).await? else {
                return Ok(None);
            };
            let names = match cached {
                Some(n) => n,
                None => {
                    with_retry(|| load_names(Arc::clone(&ctx), applied.after.contact_id)).await?
                }
            };
            Ok(Some((applied, names)))
        };
        Box::pin(
            fut.into_actor(self)
                .map(|res: AppResult<Option<(Applied, _)>>, act, _| {
                    let Some((applied, names)) = res? else {
                        return Ok(None);
                    };
                    act.ctx.events.dispatch(&applied.events(&names));
                    act.names = Some(names);
                    act.row = Some(applied.after.clone());
                    Ok(Some(applied))
                }),
        )
    }
}

async fn load_names(ctx: Arc<AppContext>, contact_id: i64) -> AppResult<Names> {
    let mut conn = ctx.pool.get().await?;
    let (contact_name, note_name) =
        crate::db::sessions::contact_names(&mut conn, contact_id).await?;
    Ok(Names {
        contact_name,
        note_name,
    })
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let idle = self.sup.idle;
        ctx.run_interval(
            idle.min(Duration::from_secs(30))
                .max(Duration::from_millis(100)),
            move |act, ctx| {
                let quiet = act.last_active.elapsed();
                if quiet >= idle && (act.unsettled.is_empty() || quiet >= UNSETTLED_KEEP) {
                    ctx.stop();
                }
            },
        );
    }

    fn stopping(&mut self, ctx: &mut Self::Context) -> Running {
        self.sup.forget(self.id, &ctx.address());
        Running::Stop
    }
}

impl Handler<Post> for SessionActor {
    type Result = AtomicResponse<Self, AppResult<Applied>>;
    fn handle(&mut self, msg: Post, _: &mut Self::Context) -> Self::Result {
        // After a `busy`, the session's later posts are refused until the hint has passed:
        // taking them would store them before the refused one, which the client sends again.
        if let Some(until) = self.refusing_until {
            let left = until.saturating_duration_since(Instant::now());
            if !left.is_zero() {
                let ms = (left.as_millis() as u64).max(1);
                return AtomicResponse::new(Box::pin(actix::fut::ready(Err(AppError::busy(ms)))));
            }
            self.refusing_until = None;
        }
        let id = self.id;
        let committer = self.sup.committer.clone();
        let key = post_key(&msg.0);
        // Set when a COMMIT of this post may have stored it without anyone hearing of it: by
        // an earlier post of the same id, or by an attempt of this one that `with_retry` runs
        // again. A retry that then finds it stored has the only answer there will be, so it
        // is announced (a duplicate announces nothing), in order, before the session's next
        // change. Were it already announced, connections skip its seq; only this case's
        // statistics could count it twice, where otherwise agents would never see it.
        let unknown = Rc::new(Cell::new(key.as_deref().is_some_and(|k| self.settle(k))));
        let posted = self.apply_if_changed({
            let unknown = Rc::clone(&unknown);
            move |_| {
                let (committer, post) = (committer.clone(), msg.0.clone());
                let unknown = Rc::clone(&unknown);
                async move {
                    match committer.post(id, post).await {
                        Ok(mut applied) => {
                            if applied.duplicate && unknown.get() {
                                applied.duplicate = false;
                            }
                            Ok(Some(applied))
                        }
                        Err(e) => {
                            if e.is_transient() {
                                unknown.set(true);
                            }
                            Err(e)
                        }
                    }
                }
            }
        });
        AtomicResponse::new(Box::pin(posted.map(move |res, act, _| {
            let res =
                res.and_then(|a| a.ok_or_else(|| AppError::internal("a post without its result")));
            if let Err(e) = &res {
                if let Some(ms) = e.retry_after_ms() {
                    act.refusing_until = Some(Instant::now() + Duration::from_millis(ms));
                }
                if let (true, Some(key)) = (e.is_transient() && unknown.get(), key) {
                    act.unsettle(key);
                }
            }
            res
        })))
    }
}

impl Handler<Assign> for SessionActor {
    type Result = AtomicResponse<Self, AppResult<Applied>>;
    fn handle(&mut self, msg: Assign, _: &mut Self::Context) -> Self::Result {
        let id = self.id;
        self.apply(move |ctx| {
            let (by, to) = (msg.by.clone(), msg.to);
            async move {
                let mut conn = ctx.pool.get().await?;
                conversation::assign(&mut conn, id, &by, to).await
            }
        })
    }
}

impl Handler<SetHosting> for SessionActor {
    type Result = AtomicResponse<Self, AppResult<Option<Applied>>>;
    fn handle(&mut self, msg: SetHosting, _: &mut Self::Context) -> Self::Result {
        let id = self.id;
        AtomicResponse::new(self.apply_if_changed(move |ctx| {
            let (by, hosted, reason) = (msg.by.clone(), msg.hosted, msg.reason);
            async move {
                let mut conn = ctx.pool.get().await?;
                hosting::switch(&mut conn, id, &by, hosted, reason).await
            }
        }))
    }
}

impl Handler<End> for SessionActor {
    type Result = AtomicResponse<Self, AppResult<Applied>>;
    fn handle(&mut self, msg: End, _: &mut Self::Context) -> Self::Result {
        let id = self.id;
        self.apply(move |ctx| {
            let by = msg.by.clone();
            async move {
                let mut conn = ctx.pool.get().await?;
                conversation::end(&mut conn, id, Some(&by)).await
            }
        })
    }
}

impl Handler<Fire> for SessionActor {
    type Result = AtomicResponse<Self, ()>;
    fn handle(&mut self, msg: Fire, _: &mut Self::Context) -> Self::Result {
        let timer_id = msg.timer_id;
        let fired = self.apply_if_changed(move |ctx| async move {
            let mut conn = ctx.pool.get().await?;
            let env = TimerEnv {
                mail: ctx.mail.clone(),
            };
            timers::fire(&mut conn, timer_id, &ctx.timers, &env).await
        });
        AtomicResponse::new(Box::pin(fired.map(move |res, _, _| {
            if let Err(e) = res {
                // The claim lapses and the scheduler delivers the timer again.
                tracing::error!(error = %e, timer_id, "timer failed");
            }
        })))
    }
}

impl Handler<Opened> for SessionActor {
    type Result = ();
    fn handle(&mut self, msg: Opened, _: &mut Self::Context) {
        self.last_active = Instant::now();
        self.ctx.events.dispatch(&[Event::SessionOpened {
            session: msg.row.clone(),
            names: msg.names.clone(),
        }]);
        self.names = Some(msg.names);
        self.row = Some(msg.row);
    }
}

impl Handler<ContactNames> for SessionActor {
    type Result = ();
    fn handle(&mut self, msg: ContactNames, _: &mut Self::Context) {
        // Behind any change already running (its future holds the actor), so nothing that
        // starts after the edit dispatches the old names.
        self.names = Some(msg.0);
    }
}

impl Handler<NewerRow> for SessionActor {
    type Result = ();
    fn handle(&mut self, NewerRow(row): NewerRow, _: &mut Self::Context) {
        // Only a row newer than the cached one: the bus may deliver it after this actor's own
        // later change. No cached row: the next use loads it.
        if let Some(cached) = &self.row {
            if row.updated_at >= cached.updated_at && row.last_seq >= cached.last_seq {
                self.row = Some(row);
            }
        }
    }
}

impl Handler<Typing> for SessionActor {
    type Result = ();
    fn handle(&mut self, msg: Typing, ctx: &mut Self::Context) {
        self.last_active = Instant::now();
        match self.row.clone() {
            Some(row) => self.dispatch_typing(&row, &msg),
            None => {
                // Not yet loaded (the actor was just started): load the row once, then announce.
                let app = Arc::clone(&self.ctx);
                let id = self.id;
                let fut = async move {
                    let mut conn = app.pool.get().await?;
                    Ok::<_, AppError>(crate::db::sessions::find(&mut conn, id).await?)
                };
                ctx.spawn(fut.into_actor(self).map(move |res, act, _| {
                    if let Ok(row) = res {
                        act.row = Some(row.clone());
                        act.dispatch_typing(&row, &msg);
                    }
                }));
            }
        }
    }
}

impl SessionActor {
    fn dispatch_typing(&self, row: &SessionRow, msg: &Typing) {
        if let Some(e) = events::typing(row, msg.agent.as_ref(), msg.on) {
            self.ctx.events.dispatch(&[e]);
        }
    }
}
