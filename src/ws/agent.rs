//! An agent's websocket: receives the project's session events within its data scope, and
//! sends messages and commands. Every command goes to the session's actor; the reply (ack,
//! ok or error) comes back here once committed.

use super::conn::{read_history, spawn_resume, ConnCore};
use crate::actors::registry::{AgentEntry, ConnHandle, Registry, Revoke};
use crate::actors::session::{self, with_retry};
use crate::actors::Deliver;
use crate::domain::access::Access;
use crate::domain::conversation::{Applied, Author, NewPost};
use crate::domain::views::MessageView;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::protocol::{self, AgentIn};
use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse};
use actix_web_actors::ws;
use serde_json::Value;
use std::sync::Arc;

pub struct AgentConn {
    core: ConnCore,
    access: Access,
    /// `Registry::access_epoch` read before `access` was loaded.
    epoch: u64,
    reg: Arc<Registry>,
}

/// Upgrades an authenticated request to an agent connection.
pub fn start(
    req: &HttpRequest,
    stream: actix_web::web::Payload,
    access: Access,
    epoch: u64,
    reg: Arc<Registry>,
) -> Result<HttpResponse, actix_web::Error> {
    let conn = AgentConn {
        core: ConnCore::new(reg.next_conn_id()),
        access,
        epoch,
        reg,
    };
    let stream = conn.core.limited(stream);
    ws::WsResponseBuilder::new(conn, req, stream)
        .frame_size(protocol::MAX_CODEC_FRAME_BYTES)
        .start()
}

impl Actor for AgentConn {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ConnCore::start_heartbeat(ctx, |a: &mut AgentConn| &mut a.core);
        let registered = self.reg.register_agent_checked(
            AgentEntry {
                access: self.access.clone(),
                conn: ConnHandle {
                    id: self.core.id,
                    recipient: ctx.address().recipient(),
                    lagging: Arc::clone(&self.core.lagging),
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
        self.reg
            .unregister_agent(self.access.project_id, self.core.id);
        Running::Stop
    }
}

impl Handler<Deliver> for AgentConn {
    type Result = ();
    fn handle(&mut self, d: Deliver, ctx: &mut Self::Context) {
        self.core.deliver(ctx, d);
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
        let msg = match item {
            Ok(m) => m,
            Err(e) => return self.core.input_ended(ctx, Some(&e)),
        };
        self.core.heard();
        match msg {
            ws::Message::Text(text) => match protocol::parse_agent(&text) {
                Ok(frame) => self.command(frame, ctx),
                Err(r) => self.core.error(ctx, &r.error, r.reference.as_ref()),
            },
            ws::Message::Binary(_) => {
                let e = AppError::new(
                    ErrorCode::UnsupportedFrame,
                    "binary frames are not used; send JSON text",
                );
                self.core.error(ctx, &e, None);
            }
            ws::Message::Ping(p) => ctx.pong(&p),
            ws::Message::Pong(p) => self.core.pong(&p),
            ws::Message::Close(reason) => {
                ctx.close(reason);
                ctx.stop();
            }
            ws::Message::Continuation(_) => {
                let e = AppError::new(
                    ErrorCode::UnsupportedFrame,
                    "fragmented frames are not supported",
                );
                self.core.error(ctx, &e, None);
            }
            ws::Message::Nop => {}
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        self.core.input_ended(ctx, None);
    }
}

impl AgentConn {
    fn command(&mut self, frame: AgentIn, ctx: &mut ws::WebsocketContext<Self>) {
        let access = self.access.clone();
        match frame {
            AgentIn::Send {
                session_id,
                client_id,
                text,
                ..
            } => {
                let reference = Value::String(client_id.clone());
                let post = NewPost {
                    author: Author::Agent(access),
                    client_id: Some(client_id),
                    text,
                };
                // Queued in the session's mailbox now, not when the reply future first runs,
                // so a connection's sends to a session keep the order they arrived in.
                let request = self.reg.session(session_id).send(session::Post(post));
                self.reply(ctx, request, reference, true);
            }
            AgentIn::Take {
                session_id,
                reference,
                ..
            } => {
                let addr = self.reg.session(session_id);
                let to = Some(access.user_id);
                self.reply(
                    ctx,
                    async move { addr.send(session::Assign { by: access, to }).await },
                    ref_or_null(reference),
                    false,
                );
            }
            AgentIn::Assign {
                session_id,
                user_id,
                reference,
                ..
            } => {
                let addr = self.reg.session(session_id);
                self.reply(
                    ctx,
                    async move {
                        addr.send(session::Assign {
                            by: access,
                            to: user_id,
                        })
                        .await
                    },
                    ref_or_null(reference),
                    false,
                );
            }
            AgentIn::End {
                session_id,
                reference,
                ..
            } => {
                let addr = self.reg.session(session_id);
                self.reply(
                    ctx,
                    async move { addr.send(session::End { by: access }).await },
                    ref_or_null(reference),
                    false,
                );
            }
            AgentIn::Typing { session_id, on, .. } => {
                self.reg.session(session_id).do_send(session::Typing {
                    agent: Some(access),
                    on,
                });
            }
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
            let res = res.unwrap_or_else(|e| {
                Err(AppError::new(
                    ErrorCode::DbUnavailable,
                    format!("session busy: {e}; retry"),
                ))
            });
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
        let (reg, access) = (Arc::clone(&self.reg), self.access.clone());
        let history = async move {
            with_retry(|| {
                let (reg, access) = (Arc::clone(&reg), access.clone());
                async move {
                    let mut conn = reg.pool.get().await?;
                    let session = crate::db::sessions::find(&mut conn, session_id)
                        .await
                        .map_err(|_| AppError::not_found("session"))?;
                    access.check_session(&session)?;
                    read_history(&mut conn, session_id, after_seq).await
                }
            })
            .await
        };
        let core: fn(&mut AgentConn) -> &mut ConnCore = |a| &mut a.core;
        spawn_resume(self, ctx, core, session_id, after_seq, reference, history);
    }
}

fn ref_or_null(r: Option<Value>) -> Value {
    r.unwrap_or(Value::Null)
}
