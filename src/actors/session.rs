//! One actor per live session. It applies the session's changes one at a time (each a
//! committed transaction, see `domain::conversation`), then fans the result out in commit
//! order, so every connection sees sequence numbers in order. It passivates when idle; the
//! registry starts it again on the next message.

use super::registry::Registry;
use super::stats::{MessagePosted, StatusChanged};
use crate::db::sessions::SessionRow;
use crate::domain::access::Access;
use crate::domain::conversation::{self, Applied, NewPost};
use crate::domain::views::{MessageView, SessionView};
use crate::error::{AppError, AppResult};
use crate::protocol;
use actix::prelude::*;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a change keeps retrying while the database is unreachable (restart, failover)
/// before the client is told `db_unavailable` and resends.
const RETRY_FOR: Duration = Duration::from_secs(12);

#[derive(Message)]
#[rtype(result = "AppResult<Applied>")]
pub struct Post(pub NewPost);

#[derive(Message)]
#[rtype(result = "AppResult<Applied>")]
pub struct Assign {
    pub by: Access,
    pub to: Option<i64>,
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

/// A session was opened elsewhere (by a visitor connection): announce it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Opened {
    pub row: SessionRow,
    pub contact_name: String,
    pub note_name: Option<String>,
}

/// The contact's names changed (a customer-info edit committed): later `session` frames carry
/// the new ones instead of the cached.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ContactNames {
    pub contact_name: String,
    pub note_name: Option<String>,
}

pub struct SessionActor {
    id: i64,
    reg: Arc<Registry>,
    last_active: Instant,
    /// The latest committed row and the contact's names, for fan-out without a query.
    row: Option<SessionRow>,
    names: Option<(String, Option<String>)>,
}

impl SessionActor {
    pub fn new(id: i64, reg: Arc<Registry>) -> Self {
        SessionActor {
            id,
            reg,
            last_active: Instant::now(),
            row: None,
            names: None,
        }
    }

    /// Runs a change with retries, loads the contact's names if not cached, then (back on the
    /// actor, still before any other message is handled) publishes it.
    fn apply<F, Fut>(&mut self, op: F) -> AtomicResponse<Self, AppResult<Applied>>
    where
        F: Fn(Arc<Registry>) -> Fut + 'static,
        Fut: Future<Output = AppResult<Applied>> + 'static,
    {
        let changed = self.apply_if_changed(move |reg| {
            let op = op(reg);
            async move { op.await.map(Some) }
        });
        AtomicResponse::new(Box::pin(changed.map(|res, _, _| {
            res?.ok_or_else(|| AppError::internal("a change without its result"))
        })))
    }

    /// `apply` for an operation that may find nothing to do (`Ok(None)`, e.g. a timer that
    /// already fired): nothing is loaded or published then.
    fn apply_if_changed<F, Fut>(
        &mut self,
        op: F,
    ) -> ResponseActFuture<Self, AppResult<Option<Applied>>>
    where
        F: Fn(Arc<Registry>) -> Fut + 'static,
        Fut: Future<Output = AppResult<Option<Applied>>> + 'static,
    {
        self.last_active = Instant::now();
        let reg = Arc::clone(&self.reg);
        let cached = self.names.clone();
        let fut = async move {
            let Some(applied) = with_retry(|| op(Arc::clone(&reg))).await? else {
                return Ok(None);
            };
            let names = match cached {
                Some(n) => n,
                None => {
                    with_retry(|| load_names(Arc::clone(&reg), applied.after.contact_id)).await?
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
                    act.names = Some(names);
                    if !applied.duplicate {
                        act.publish(&applied);
                    }
                    act.row = Some(applied.after.clone());
                    Ok(Some(applied))
                }),
        )
    }

    fn view(&self, row: &SessionRow) -> SessionView {
        let (name, note) = self.names.clone().unwrap_or_default();
        SessionView::new(row, &name, note.as_deref())
    }

    fn publish(&self, a: &Applied) {
        let (before, after) = (&a.before, &a.after);
        if let Some(m) = &a.message {
            let frame = protocol::message(&MessageView::from(m));
            self.reg
                .to_visitor(after.contact_id, after.id, Some(m.seq), &frame);
            self.reg.to_agents(after, Some(before), Some(m.seq), &frame);
            self.reg.stats.do_send(MessagePosted {
                project_id: after.project_id,
            });
        }
        let list_changed = before.status != after.status
            || before.assignee_id != after.assignee_id
            || before.bot_hosted != after.bot_hosted
            || before.message_count == 0 && after.message_count > 0
            // Session management shows first response times live.
            || before.first_response_at != after.first_response_at;
        if list_changed {
            let frame = protocol::session(&self.view(after));
            self.reg.to_agents(after, Some(before), None, &frame);
            if before.status != after.status {
                let visitor_frame = protocol::visitor_session(after);
                self.reg
                    .to_visitor(after.contact_id, after.id, None, &visitor_frame);
                self.reg.stats.do_send(StatusChanged {
                    project_id: after.project_id,
                    from: Some(before.status.clone()),
                    to: after.status.clone(),
                });
            }
        }
    }
}

async fn load_names(reg: Arc<Registry>, contact_id: i64) -> AppResult<(String, Option<String>)> {
    let mut conn = reg.pool.get().await?;
    Ok(crate::db::sessions::contact_names(&mut conn, contact_id).await?)
}

/// Retries an operation while the database is unavailable, with a capped backoff.
pub async fn with_retry<T, F, Fut>(mut op: F) -> AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = AppResult<T>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        match op().await {
            Err(e) if e.is_transient() && started.elapsed() < RETRY_FOR => {
                tracing::warn!(error = %e, "database unavailable; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            other => return other,
        }
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let idle = self.reg.session_idle;
        ctx.run_interval(
            idle.min(Duration::from_secs(30))
                .max(Duration::from_millis(100)),
            move |act, ctx| {
                if act.last_active.elapsed() >= idle {
                    ctx.stop();
                }
            },
        );
    }

    fn stopping(&mut self, ctx: &mut Self::Context) -> Running {
        self.reg.forget_session(self.id, &ctx.address());
        Running::Stop
    }
}

impl Handler<Post> for SessionActor {
    type Result = AtomicResponse<Self, AppResult<Applied>>;
    fn handle(&mut self, msg: Post, _: &mut Self::Context) -> Self::Result {
        let id = self.id;
        self.apply(move |reg| {
            let post = msg.0.clone();
            async move {
                let mut conn = reg.pool.get().await?;
                conversation::post(&mut conn, id, post).await
            }
        })
    }
}

impl Handler<Assign> for SessionActor {
    type Result = AtomicResponse<Self, AppResult<Applied>>;
    fn handle(&mut self, msg: Assign, _: &mut Self::Context) -> Self::Result {
        let id = self.id;
        self.apply(move |reg| {
            let (by, to) = (msg.by.clone(), msg.to);
            async move {
                let mut conn = reg.pool.get().await?;
                conversation::assign(&mut conn, id, &by, to).await
            }
        })
    }
}

impl Handler<End> for SessionActor {
    type Result = AtomicResponse<Self, AppResult<Applied>>;
    fn handle(&mut self, msg: End, _: &mut Self::Context) -> Self::Result {
        let id = self.id;
        self.apply(move |reg| {
            let by = msg.by.clone();
            async move {
                let mut conn = reg.pool.get().await?;
                conversation::end(&mut conn, id, Some(&by)).await
            }
        })
    }
}

impl Handler<Fire> for SessionActor {
    type Result = AtomicResponse<Self, ()>;
    fn handle(&mut self, msg: Fire, _: &mut Self::Context) -> Self::Result {
        let timer_id = msg.timer_id;
        let fired = self.apply_if_changed(move |reg| async move {
            let mut conn = reg.pool.get().await?;
            conversation::fire_timer(&mut conn, timer_id, &reg.mail).await
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
        self.names = Some((msg.contact_name, msg.note_name));
        let frame = protocol::session(&self.view(&msg.row));
        self.reg.to_agents(&msg.row, None, None, &frame);
        self.reg.to_visitor(
            msg.row.contact_id,
            msg.row.id,
            None,
            &protocol::visitor_session(&msg.row),
        );
        self.reg.stats.do_send(StatusChanged {
            project_id: msg.row.project_id,
            from: None,
            to: msg.row.status.clone(),
        });
        self.row = Some(msg.row);
    }
}

impl Handler<ContactNames> for SessionActor {
    type Result = ();
    fn handle(&mut self, msg: ContactNames, _: &mut Self::Context) {
        // Behind any change already running (its future holds the actor), so nothing that
        // starts after the edit publishes the old names.
        self.names = Some((msg.contact_name, msg.note_name));
    }
}

impl Handler<Typing> for SessionActor {
    type Result = ();
    fn handle(&mut self, msg: Typing, ctx: &mut Self::Context) {
        self.last_active = Instant::now();
        match self.row.clone() {
            Some(row) => self.publish_typing(&row, msg),
            None => {
                // Not yet loaded (the actor was just started): load the row once, then publish.
                let reg = Arc::clone(&self.reg);
                let id = self.id;
                let fut = async move {
                    let mut conn = reg.pool.get().await?;
                    let row = crate::db::sessions::find(&mut conn, id).await?;
                    let names =
                        crate::db::sessions::contact_names(&mut conn, row.contact_id).await?;
                    Ok::<_, AppError>((row, names))
                };
                ctx.spawn(fut.into_actor(self).map(move |res, act, _| {
                    if let Ok((row, names)) = res {
                        act.names = Some(names);
                        act.row = Some(row.clone());
                        act.publish_typing(&row, msg);
                    }
                }));
            }
        }
    }
}

impl SessionActor {
    fn publish_typing(&self, row: &SessionRow, msg: Typing) {
        match msg.agent {
            Some(access) => {
                if access.can_see_session(row) {
                    let frame = protocol::typing(row.id, "agent", Some(access.user_id), msg.on);
                    self.reg.to_visitor(row.contact_id, row.id, None, &frame);
                }
            }
            None => {
                let frame = protocol::typing(row.id, "visitor", None, msg.on);
                self.reg.to_agents(row, None, None, &frame);
            }
        }
    }
}
