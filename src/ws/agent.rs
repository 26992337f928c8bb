//! An agent's websocket: receives the project's session events within its data scope, and
//! sends messages and commands. Every command goes to the session's actor; the reply (ack,
//! ok or error) comes back here once committed.

use super::conn::{self, spawn_resume, ConnCore, HistoryRead, Reader};
use super::Shared;
use crate::actors::hub::{AgentEntry, ConnHandle, Resync, Revoke};
use crate::actors::inbound::busy;
use crate::actors::session;
use crate::actors::Deliver;
use crate::db::retry::with_retry;
use crate::domain::access::Access;
use crate::domain::conversation::{self, Applied, Author, NewPost};
use crate::domain::history;
use crate::domain::views::MessageView;
use crate::error::{AppError, AppResult};
use crate::protocol::{self, AgentIn};
use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse};
use actix_web_actors::ws;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Sessions remembered as checked per connection; past this the set starts over (a check is
/// one query).
const MAX_KNOWN_SESSIONS: usize = 4096;

/// Sends of one connection handed to session actors and not yet answered; past this a send is
/// refused with `busy` (not stored), so one connection cannot queue without bound in the
/// session actors' mailboxes.
const MAX_SENDS_IN_FLIGHT: usize = 256;

/// The retry hint when this connection has too many sends in flight: about one commit.
const IN_FLIGHT_RETRY_MS: u64 = 100;

pub struct AgentConn {
    core: ConnCore,
    access: Access,
    /// `Hub::access_epoch` read before `access` was loaded.
    epoch: u64,
    sh: Shared,
    /// Sessions known to exist in this project and to have been in this agent's scope: their
    /// actors may be started for its commands. (The domain checks scope again on every change.)
    known: HashSet<i64>,
    /// Commands for a session being checked, in arrival order.
    checking: HashMap<i64, Vec<AgentIn>>,
    /// Sends handed to session actors, not yet answered.
    sends_in_flight: usize,
}

/// Upgrades an authenticated request to an agent connection.
pub fn start(
    req: &HttpRequest,
    stream: actix_web::web::Payload,
    access: Access,
    epoch: u64,
    sh: Shared,
) -> Result<HttpResponse, actix_web::Error> {
    let conn = AgentConn {
        core: ConnCore::new(sh.hub.next_conn_id()),
        access,
        epoch,
        sh,
        known: HashSet::new(),
        checking: HashMap::new(),
        sends_in_flight: 0,
    };
    let stream = conn.core.limited(stream);
    ws::WsResponseBuilder::new(conn, req, stream)
        .frame_size(protocol::MAX_CODEC_FRAME_BYTES)
        .start()
}

impl Actor for AgentConn {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ConnCore::start_heartbeat(
            ctx,
            |a: &mut AgentConn| &mut a.core,
            crate::metrics::ConnKind::Agent,
            Arc::clone(&self.sh.app.metrics),
        );
        self.sh
            .app
            .metrics
            .connection_opened(crate::metrics::ConnKind::Agent);
        let registered = self.sh.hub.register_agent_checked(
            AgentEntry {
                access: self.access.clone(),
                conn: ConnHandle {
                    id: self.core.id,
                    recipient: ctx.address().recipient(),
                    lagging: Arc::clone(&self.core.lagging),
                    resync: ctx.address().recipient(),
                },
                revoke: ctx.address().recipient(),
            },
            self.epoch,
        );
        if !registered {
            // The member's access changed while this socket was being opened.
            Handler::<Revoke>::handle(self, Revoke, ctx);
            return;
        }
        let hello = protocol::agent_hello(
            self.access.user_id,
            self.access.project_id,
            self.access.scope.as_str(),
        );
        self.core.send(ctx, &hello);
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.sh
            .app
            .metrics
            .connection_closed(crate::metrics::ConnKind::Agent);
        self.sh
            .hub
            .unregister_agent(self.access.project_id, self.core.id);
        Running::Stop
    }
}

impl Handler<Resync> for AgentConn {
    type Result = ();
    fn handle(&mut self, _: Resync, ctx: &mut Self::Context) {
        super::conn::close_for_resync(ctx);
    }
}

impl Handler<Deliver> for AgentConn {
    type Result = ();
    fn handle(&mut self, d: Deliver, ctx: &mut Self::Context) {
        // A frame about a session in scope: commands for it need no check.
        if d.session_id != 0 && !d.forget_cursor {
            self.remember(d.session_id);
        }
        conn::deliver(self, ctx, d);
    }
}

/// Close code when the member's access changed: reconnect to get the new data scope.
pub const CLOSE_ACCESS_CHANGED: u16 = 4003;

impl Handler<Revoke> for AgentConn {
    type Result = ();
    fn handle(&mut self, _: Revoke, ctx: &mut Self::Context) {
        ctx.close(Some(ws::CloseReason {
            code: ws::CloseCode::Other(CLOSE_ACCESS_CHANGED),
            description: Some("access changed; reconnect".into()),
        }));
        ctx.stop();
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for AgentConn {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        let Some(bytes) = self.core.incoming(ctx, item) else {
            return;
        };
        // A text frame's bytes are UTF-8 (the codec checked them).
        let text = String::from_utf8_lossy(&bytes);
        match protocol::parse_agent(&text) {
            Ok(frame) => self.command(frame, ctx),
            Err(r) => self.core.error(ctx, &r.error, r.reference.as_ref()),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        self.core.input_ended(ctx, None);
    }
}

impl AgentConn {
    fn remember(&mut self, session_id: i64) {
        if self.known.len() >= MAX_KNOWN_SESSIONS {
            self.known.clear();
        }
        self.known.insert(session_id);
    }

    fn command(&mut self, frame: AgentIn, ctx: &mut ws::WebsocketContext<Self>) {
        match frame {
            AgentIn::Resume {
                session_id,
                after_seq,
                reference,
                ..
            } => self.resume(ctx, session_id, after_seq, reference),
            AgentIn::Ping { reference, .. } => {
                let pong = protocol::pong(reference.as_ref());
                self.core.send(ctx, &pong);
            }
            frame => {
                let Some(sid) = session_of(&frame) else {
                    return;
                };
                if self.known.contains(&sid) {
                    self.send_to_session(frame, ctx);
                } else {
                    self.check_then(sid, frame, ctx);
                }
            }
        }
    }

    /// Checks that the session exists in this project and in the agent's scope before its
    /// actor is started; commands arriving meanwhile wait behind the first, in order.
    fn check_then(&mut self, sid: i64, frame: AgentIn, ctx: &mut ws::WebsocketContext<Self>) {
        if let Some(waiting) = self.checking.get_mut(&sid) {
            waiting.push(frame);
            return;
        }
        self.checking.insert(sid, vec![frame]);
        let (app, access) = (Arc::clone(&self.sh.app), self.access.clone());
        let check = async move {
            with_retry(|| async {
                let mut conn = app.pool.get().await?;
                conversation::visible_session(&mut conn, &access, sid).await
            })
            .await
        };
        ctx.spawn(check.into_actor(self).map(move |res, act, ctx| {
            let waiting = act.checking.remove(&sid).unwrap_or_default();
            match res {
                Ok(()) => {
                    act.remember(sid);
                    for frame in waiting {
                        act.send_to_session(frame, ctx);
                    }
                }
                Err(e) => {
                    for frame in waiting {
                        // Typing is ephemeral: a refused one is dropped silently.
                        if let Some(reference) = reference_of(&frame) {
                            let reference = (!reference.is_null()).then_some(&reference);
                            act.core.error(ctx, &e, reference);
                        }
                    }
                }
            }
        }));
    }

    /// Sends a command to the session's actor now, so a connection's commands to a session
    /// keep the order they arrived in; the answer comes back without blocking this connection.
    fn send_to_session(&mut self, frame: AgentIn, ctx: &mut ws::WebsocketContext<Self>) {
        let access = self.access.clone();
        let Some(sid) = session_of(&frame) else {
            return;
        };
        let addr = self.sh.sessions.session(sid);
        let reference = reference_of(&frame).unwrap_or(Value::Null);
        match frame {
            AgentIn::Send {
                client_id,
                text,
                tag,
                ..
            } => {
                if self.sends_in_flight >= MAX_SENDS_IN_FLIGHT {
                    let e = AppError::busy(IN_FLIGHT_RETRY_MS);
                    self.core.error(ctx, &e, Some(&reference));
                    return;
                }
                let post = NewPost {
                    tag,
                    ..NewPost::text(Author::Agent(access), Some(client_id), text)
                };
                self.sends_in_flight += 1;
                self.reply(ctx, addr.send(session::Post(post)), reference, true);
            }
            AgentIn::Take { .. } => {
                let to = Some(access.user_id);
                let request = addr.send(session::Assign { by: access, to });
                self.reply(ctx, request, reference, false);
            }
            AgentIn::Assign { user_id, .. } => {
                let request = addr.send(session::Assign {
                    by: access,
                    to: user_id,
                });
                self.reply(ctx, request, reference, false);
            }
            AgentIn::End { .. } => {
                let request = addr.send(session::End { by: access });
                self.reply(ctx, request, reference, false);
            }
            AgentIn::Typing { on, .. } => addr.do_send(session::Typing {
                agent: Some(access),
                on,
            }),
            AgentIn::Resume { .. } | AgentIn::Ping { .. } => {}
        }
    }

    /// Waits for the session actor's answer without blocking this connection.
    fn reply<F>(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        fut: F,
        reference: Value,
        is_send: bool,
    ) where
        F: std::future::Future<Output = Result<AppResult<Applied>, MailboxError>> + 'static,
    {
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            if is_send {
                act.sends_in_flight = act.sends_in_flight.saturating_sub(1);
            }
            let res = res.unwrap_or_else(|e| Err(busy(e)));
            let reference = (!reference.is_null()).then_some(&reference);
            match res {
                Ok(applied) if is_send => match &applied.message {
                    Some(m) => act.core.send(ctx, &protocol::ack(&MessageView::from(m))),
                    None => act.core.send(ctx, &protocol::ok(reference)),
                },
                Ok(_) => act.core.send(ctx, &protocol::ok(reference)),
                Err(e) => act.core.error(ctx, &e, reference),
            }
        }));
    }

    fn resume(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        session_id: i64,
        after_seq: i64,
        reference: Option<Value>,
    ) {
        spawn_resume(self, ctx, session_id, after_seq, reference);
    }
}

impl Reader for AgentConn {
    fn core(&mut self) -> &mut ConnCore {
        &mut self.core
    }

    fn history(&self, session_id: i64, after_seq: i64) -> HistoryRead {
        let (app, access) = (Arc::clone(&self.sh.app), self.access.clone());
        Box::pin(async move {
            with_retry(|| async {
                let mut conn = app.pool.get().await?;
                history::for_agent(&mut conn, &access, session_id, after_seq).await
            })
            .await
        })
    }
}

/// The session a command is about.
fn session_of(frame: &AgentIn) -> Option<i64> {
    match frame {
        AgentIn::Send { session_id, .. }
        | AgentIn::Typing { session_id, .. }
        | AgentIn::Take { session_id, .. }
        | AgentIn::Assign { session_id, .. }
        | AgentIn::End { session_id, .. }
        | AgentIn::Resume { session_id, .. } => Some(*session_id),
        AgentIn::Ping { .. } => None,
    }
}

/// What an answer to the command echoes: the client id of a send, the `ref` of a command
/// (`Null` when it had none); `None` for typing, which gets no answer.
fn reference_of(frame: &AgentIn) -> Option<Value> {
    match frame {
        AgentIn::Send { client_id, .. } => Some(Value::String(client_id.clone())),
        AgentIn::Take { reference, .. }
        | AgentIn::Assign { reference, .. }
        | AgentIn::End { reference, .. }
        | AgentIn::Resume { reference, .. }
        | AgentIn::Ping { reference, .. } => Some(reference.clone().unwrap_or(Value::Null)),
        AgentIn::Typing { .. } => None,
    }
}
