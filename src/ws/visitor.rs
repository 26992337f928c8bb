//! A visitor's websocket (the web widget). The visitor writes into its open session; the first
//! message, or the first after the session ended, opens a new one.
//!
//! A connection's messages are stored in the order they arrived: they go to the session one at
//! a time. Concurrently, a burst into a session that is still being opened (the widget's
//! offline queue) would race the open and land in any order.

use super::conn::{read_history, spawn_resume, ConnCore};
use crate::actors::registry::{ConnHandle, Registry};
use crate::actors::session::{self, with_retry};
use crate::actors::Deliver;
use crate::db::contacts::Contact;
use crate::db::messages::MessageRow;
use crate::domain::conversation::{self, Applied, Author, NewPost};
use crate::domain::views::MessageView;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::protocol::{self, VisitorIn};
use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse};
use actix_web_actors::ws;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;

/// Sends accepted but not yet stored, per connection. Past this a send is refused with
/// `rate_limited` (not stored; the client sends it again once acks come back), so a client
/// that never waits for acks cannot queue without bound.
const MAX_QUEUED_SENDS: usize = 256;

pub struct VisitorConn {
    core: ConnCore,
    reg: Arc<Registry>,
    contact: Contact,
    token: String,
    session_id: Option<i64>,
    last_seq: i64,
    /// Validated sends waiting for the one in flight, oldest first.
    queued: VecDeque<NewPost>,
    sending: bool,
}

pub struct VisitorStart {
    pub contact: Contact,
    pub token: String,
    pub session_id: Option<i64>,
    pub last_seq: i64,
}

pub fn start(
    req: &HttpRequest,
    stream: actix_web::web::Payload,
    v: VisitorStart,
    reg: Arc<Registry>,
) -> Result<HttpResponse, actix_web::Error> {
    let conn = VisitorConn {
        core: ConnCore::new(reg.next_conn_id()),
        reg,
        contact: v.contact,
        token: v.token,
        session_id: v.session_id,
        last_seq: v.last_seq,
        queued: VecDeque::new(),
        sending: false,
    };
    let stream = conn.core.limited(stream);
    ws::WsResponseBuilder::new(conn, req, stream)
        .frame_size(protocol::MAX_CODEC_FRAME_BYTES)
        .start()
}

impl Actor for VisitorConn {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ConnCore::start_heartbeat(ctx, |a: &mut VisitorConn| &mut a.core);
        self.reg.register_visitor(
            self.contact.id,
            ConnHandle {
                id: self.core.id,
                recipient: ctx.address().recipient(),
                lagging: Arc::clone(&self.core.lagging),
            },
        );
        let hello =
            protocol::visitor_hello(&self.token, self.contact.id, self.session_id, self.last_seq);
        self.core.send(ctx, &hello);
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.reg.unregister_visitor(self.contact.id, self.core.id);
        Running::Stop
    }
}

impl Handler<Deliver> for VisitorConn {
    type Result = ();
    fn handle(&mut self, d: Deliver, ctx: &mut Self::Context) {
        // Another tab of this visitor may have opened a newer session: follow it, so typing and
        // resume go to the session the visitor is in now.
        if self.session_id.is_none_or(|current| d.session_id > current) {
            self.session_id = Some(d.session_id);
        }
        self.core.deliver(ctx, d);
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for VisitorConn {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        let msg = match item {
            Ok(m) => m,
            Err(e) => return self.core.input_ended(ctx, Some(&e)),
        };
        self.core.heard();
        match msg {
            ws::Message::Text(text) => match protocol::parse_visitor(&text) {
                Ok(frame) => self.command(frame, ctx),
                Err(r) => self.core.error(ctx, &r.error, r.reference.as_ref()),
            },
            ws::Message::Binary(_) | ws::Message::Continuation(_) => {
                let e = AppError::new(
                    ErrorCode::UnsupportedFrame,
                    "only JSON text frames are used",
                );
                self.core.error(ctx, &e, None);
            }
            ws::Message::Ping(p) => ctx.pong(&p),
            ws::Message::Pong(p) => self.core.pong(&p),
            ws::Message::Close(reason) => {
                ctx.close(reason);
                ctx.stop();
            }
            ws::Message::Nop => {}
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        self.core.input_ended(ctx, None);
    }
}

impl VisitorConn {
    fn command(&mut self, frame: VisitorIn, ctx: &mut ws::WebsocketContext<Self>) {
        match frame {
            VisitorIn::Send {
                client_id, text, ..
            } => self.send_message(ctx, client_id, text),
            VisitorIn::Typing { on, .. } => {
                if let Some(sid) = self.session_id {
                    self.reg
                        .session(sid)
                        .do_send(session::Typing { agent: None, on });
                }
            }
            VisitorIn::Resume {
                after_seq,
                reference,
                ..
            } => self.resume(ctx, after_seq, reference),
            VisitorIn::Ping { reference, .. } => {
                let pong = protocol::pong(reference.as_ref());
                self.core.send(ctx, &pong);
            }
        }
    }

    /// Validates a send before anything is opened or queued ("refused; nothing was applied"),
    /// then stores it after every earlier send of this connection.
    fn send_message(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        client_id: String,
        text: String,
    ) {
        let reference = Value::String(client_id.clone());
        let checked = conversation::validate_client_id(&client_id)
            .and_then(|()| conversation::validate_text(&text));
        if let Err(e) = checked {
            self.core.error(ctx, &e, Some(&reference));
            return;
        }
        if self.queued.len() >= MAX_QUEUED_SENDS {
            let e = AppError::new(
                ErrorCode::RateLimited,
                "too many messages waiting for their ack; not stored, send it again after the acks",
            );
            self.core.error(ctx, &e, Some(&reference));
            return;
        }
        self.queued.push_back(NewPost {
            author: Author::Visitor {
                contact_id: self.contact.id,
            },
            client_id: Some(client_id),
            text,
        });
        self.send_next(ctx);
    }

    /// Stores the oldest queued send unless one is in flight; its answer starts the next.
    fn send_next(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        if self.sending {
            return;
        }
        let Some(post) = self.queued.pop_front() else {
            return;
        };
        self.sending = true;
        let reference = Value::String(post.client_id.clone().unwrap_or_default());
        let (reg, contact, current) =
            (Arc::clone(&self.reg), self.contact.clone(), self.session_id);
        let fut = async move {
            if current.is_none() {
                // A resend after a reconnect, whose original was stored in a session that has
                // since ended: acknowledge it instead of opening an empty session.
                if let Some(original) = already_stored(&reg, &post).await? {
                    return Ok((None, original));
                }
            }
            let sid = match current {
                Some(sid) => sid,
                None => open_session(&reg, &contact).await?,
            };
            let applied = match post_to(&reg, sid, post.clone()).await {
                // The session ended since: this message opens the next one.
                Err(e) if e.code == ErrorCode::SessionEnded => {
                    let sid = open_session(&reg, &contact).await?;
                    post_to(&reg, sid, post).await
                }
                other => other,
            }?;
            let message = applied
                .message
                .ok_or_else(|| AppError::internal("a post without its message"))?;
            Ok((Some(applied.after.id), message))
        };
        ctx.spawn(
            fut.into_actor(self)
                .map(move |res: AppResult<_>, act, ctx| {
                    match res {
                        Ok((session_id, message)) => {
                            // Never back to an older session: another tab may have opened a
                            // newer one meanwhile (see `Deliver`).
                            if session_id > act.session_id {
                                act.session_id = session_id;
                            }
                            act.core
                                .send(ctx, &protocol::ack(&MessageView::from(&message)));
                        }
                        Err(e) => act.core.error(ctx, &e, Some(&reference)),
                    }
                    act.sending = false;
                    act.send_next(ctx);
                }),
        );
    }

    fn resume(
        &mut self,
        ctx: &mut ws::WebsocketContext<Self>,
        after_seq: i64,
        reference: Option<Value>,
    ) {
        let Some(session_id) = self.session_id else {
            let ok = protocol::ok(reference.as_ref());
            self.core.send(ctx, &ok);
            return;
        };
        let reg = Arc::clone(&self.reg);
        let history = async move {
            with_retry(|| {
                let reg = Arc::clone(&reg);
                async move {
                    let mut conn = reg.pool.get().await?;
                    read_history(&mut conn, session_id, after_seq).await
                }
            })
            .await
        };
        let core: fn(&mut VisitorConn) -> &mut ConnCore = |v| &mut v.core;
        spawn_resume(self, ctx, core, session_id, after_seq, reference, history);
    }
}

async fn already_stored(reg: &Arc<Registry>, post: &NewPost) -> AppResult<Option<MessageRow>> {
    let (Author::Visitor { contact_id }, Some(cid)) = (&post.author, &post.client_id) else {
        return Ok(None);
    };
    with_retry(|| async {
        let mut conn = reg.pool.get().await?;
        Ok(crate::db::messages::by_client_id_for_contact(&mut conn, *contact_id, cid).await?)
    })
    .await
}

async fn post_to(reg: &Arc<Registry>, session_id: i64, post: NewPost) -> AppResult<Applied> {
    reg.session(session_id)
        .send(session::Post(post))
        .await
        .unwrap_or_else(|e| {
            Err(AppError::new(
                ErrorCode::DbUnavailable,
                format!("session busy: {e}; retry"),
            ))
        })
}

/// Opens (or finds) the contact's open session; a new one is announced by its actor. The
/// names are read now, not taken from `contact` as loaded at connect: an agent may have
/// edited the note name since.
async fn open_session(reg: &Arc<Registry>, contact: &Contact) -> AppResult<i64> {
    let (row, opened) = with_retry(|| async {
        let mut conn = reg.pool.get().await?;
        let (row, created) = crate::db::sessions::open_or_get(
            &mut conn,
            contact.project_id,
            contact.channel_id,
            contact.id,
        )
        .await?;
        // Only a new session is announced, with the names as they are now.
        let names = match created {
            true => Some(crate::db::sessions::contact_names(&mut conn, contact.id).await?),
            false => None,
        };
        Ok((row, names))
    })
    .await?;
    if let Some((contact_name, note_name)) = opened {
        reg.session(row.id).do_send(session::Opened {
            row: row.clone(),
            contact_name,
            note_name,
        });
    }
    Ok(row.id)
}
