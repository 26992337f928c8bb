//! A visitor's websocket (the web widget). The visitor writes into its open session; the first
//! message, or the first after the session ended, opens a new one. A visitor who has not written
//! yet is pending (a token, no contact row): their first message makes the contact (with its
//! session, in one transaction), and the hub then moves every connection with that token to it.
//!
//! A connection's messages are stored in the order they arrived: they go to the session one at
//! a time. Concurrently, a burst into a session that is still being opened (the widget's
//! offline queue) would race the open and land in any order.

use super::conn::{self, spawn_resume, ConnCore, HistoryRead, Reader};
use super::Shared;
use crate::actors::hub::{ConnHandle, ContactMade, PendingEntry, Resync};
use crate::actors::inbound::{self, Received};
use crate::actors::session;
use crate::actors::Deliver;
use crate::db::contacts::Contact;
use crate::db::retry::with_retry;
use crate::domain::conversation::{self, Author, NewPost};
use crate::domain::events::Event;
use crate::domain::history;
use crate::domain::views::MessageView;
use crate::domain::visitors::{Pending, Visitor};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::protocol::{self, ButtonClick, VisitorIn};
use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse};
use actix_web_actors::ws;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;

/// Sends accepted but not yet stored, per connection. Past this a send is refused with
/// `rate_limited` (not stored; the client sends it again once acks come back), so a client
/// that never waits for acks cannot queue without bound.
const MAX_QUEUED_SENDS: usize = 256;

pub struct VisitorConn {
    core: ConnCore,
    sh: Shared,
    who: Who,
    token: String,
    session_id: Option<i64>,
    last_seq: i64,
    /// Validated sends waiting for the one in flight, oldest first.
    queued: VecDeque<QueuedSend>,
    sending: bool,
}

enum Who {
    Contact(Contact),
    /// Registered with the hub by token hash; `moved` is set by the hub when it moves the
    /// connection to the contact (see `Hub::unregister_pending`).
    Pending {
        visitor: Pending,
        hash: Vec<u8>,
        moved: Arc<AtomicI64>,
    },
}

/// A validated send; its author is known once the contact is (a pending visitor's first send
/// makes it).
#[derive(Clone)]
struct QueuedSend {
    client_id: String,
    text: String,
    content: Option<Value>,
}

impl QueuedSend {
    fn into_post(self, contact_id: i64) -> NewPost {
        let mut post = NewPost::text(
            Author::Visitor { contact_id },
            Some(self.client_id),
            self.text,
        );
        post.content = self.content;
        post
    }

    /// The post again, for a first message that may be routed more than once (retries).
    fn to_post(&self, contact_id: i64) -> NewPost {
        self.clone().into_post(contact_id)
    }
}

pub struct VisitorStart {
    pub visitor: Visitor,
    pub token: String,
    pub session_id: Option<i64>,
    pub last_seq: i64,
}

pub fn start(
    req: &HttpRequest,
    stream: actix_web::web::Payload,
    v: VisitorStart,
    sh: Shared,
) -> Result<HttpResponse, actix_web::Error> {
    let conn = VisitorConn {
        core: ConnCore::new(sh.hub.next_conn_id()),
        sh,
        who: match v.visitor {
            Visitor::Contact(c) => Who::Contact(c),
            Visitor::Pending(p) => Who::Pending {
                hash: p.token_hash(),
                visitor: p,
                moved: Arc::new(AtomicI64::new(0)),
            },
        },
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
        ConnCore::start_heartbeat(
            ctx,
            |a: &mut VisitorConn| &mut a.core,
            crate::metrics::ConnKind::Visitor,
            Arc::clone(&self.sh.app.metrics),
        );
        self.sh
            .app
            .metrics
            .connection_opened(crate::metrics::ConnKind::Visitor);
        let handle = ConnHandle {
            id: self.core.id,
            recipient: ctx.address().recipient(),
            lagging: Arc::clone(&self.core.lagging),
            resync: ctx.address().recipient(),
        };
        let hello = match &self.who {
            Who::Contact(contact) => {
                self.sh.hub.register_visitor(contact.id, handle);
                protocol::visitor_hello(&self.token, contact.id, self.session_id, self.last_seq)
            }
            Who::Pending { hash, moved, .. } => {
                let made = self.sh.hub.register_pending(
                    hash,
                    PendingEntry {
                        conn: handle,
                        made: ctx.address().recipient(),
                        contact_id: Arc::clone(moved),
                    },
                );
                let hello = protocol::pending_visitor_hello(&self.token);
                // Another tab wrote between the upgrade's look-up and now: this connection is
                // that contact's; its session shows with the frames that follow.
                if let Some(contact) = made {
                    self.became(contact);
                }
                hello
            }
        };
        self.core.send(ctx, &hello);
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.sh
            .app
            .metrics
            .connection_closed(crate::metrics::ConnKind::Visitor);
        match &self.who {
            Who::Contact(contact) => self.sh.hub.unregister_visitor(contact.id, self.core.id),
            Who::Pending { hash, moved, .. } => {
                self.sh.hub.unregister_pending(hash, self.core.id, moved)
            }
        }
        Running::Stop
    }
}

impl Handler<ContactMade> for VisitorConn {
    type Result = ();
    fn handle(&mut self, ContactMade(contact): ContactMade, _: &mut Self::Context) {
        self.became(contact);
    }
}

impl Handler<Resync> for VisitorConn {
    type Result = ();
    fn handle(&mut self, _: Resync, ctx: &mut Self::Context) {
        super::conn::close_for_resync(ctx);
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
        conn::deliver(self, ctx, d);
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for VisitorConn {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        let Some(bytes) = self.core.incoming(ctx, item) else {
            return;
        };
        // A text frame's bytes are UTF-8 (the codec checked them).
        let text = String::from_utf8_lossy(&bytes);
        match protocol::parse_visitor(&text) {
            Ok(frame) => self.command(frame, ctx),
            Err(r) => self.core.error(ctx, &r.error, r.reference.as_ref()),
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
                client_id,
                text,
                button,
                ..
            } => self.send_message(ctx, client_id, text, button),
            VisitorIn::Typing { on, .. } => {
                if let Some(sid) = self.session_id {
                    self.sh
                        .sessions
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
        button: Option<ButtonClick>,
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
        self.queued.push_back(QueuedSend {
            client_id,
            text,
            content: button.map(|b| serde_json::json!({ "button": b })),
        });
        self.send_next(ctx);
    }

    /// This pending visitor's contact exists now (made by this connection or another tab's).
    fn became(&mut self, contact: Contact) {
        if matches!(self.who, Who::Pending { .. }) {
            self.who = Who::Contact(contact);
        }
    }

    /// Stores the oldest queued send unless one is in flight; its answer starts the next.
    fn send_next(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        if self.sending {
            return;
        }
        let Some(queued) = self.queued.pop_front() else {
            return;
        };
        self.sending = true;
        let reference = Value::String(queued.client_id.clone());
        let known = match &self.who {
            Who::Contact(c) => Ok(c.clone()),
            Who::Pending { visitor, hash, .. } => Err((visitor.clone(), hash.clone())),
        };
        let (sh, current) = (self.sh.clone(), self.session_id);
        let fut = async move {
            match known {
                Ok(contact) => {
                    let post = queued.into_post(contact.id);
                    let received =
                        inbound::receive(&sh.app, &sh.sessions, &contact, post, current).await;
                    Ok((contact, received))
                }
                // The first message: the contact is made with its session.
                Err((visitor, hash)) => {
                    let post = |contact_id| queued.to_post(contact_id);
                    // Through the dispatcher: the hub moves this server's tabs of the
                    // visitor at once, and the bus tells the other servers' hubs.
                    let made = |contact: &Contact| {
                        sh.app.events.dispatch(&[Event::ContactMade {
                            token_hash: hash.clone(),
                            contact: contact.clone(),
                        }])
                    };
                    inbound::receive_first(&sh.app, &sh.sessions, &visitor, post, made).await
                }
            }
        };
        ctx.spawn(fut.into_actor(self).map(
            move |res: AppResult<(Contact, AppResult<Received>)>, act, ctx| {
                let res = res.and_then(|(contact, received)| {
                    act.became(contact);
                    received
                });
                match res {
                    Ok(Received {
                        session_id,
                        message,
                    }) => {
                        // Never back to an older session: another tab may have opened a
                        // newer one meanwhile (see `Deliver`).
                        if session_id > act.session_id {
                            act.session_id = session_id;
                        }
                        act.core
                            .send(ctx, &protocol::ack(&MessageView::from(&message)));
                    }
                    Err(e) => {
                        act.core.error(ctx, &e, Some(&reference));
                        if e.retry_after_ms().is_some() {
                            // `busy`: the sends queued behind it would overtake it; they are
                            // refused with it and come back in order.
                            for queued in std::mem::take(&mut act.queued) {
                                let r = Value::String(queued.client_id);
                                act.core.error(ctx, &e, Some(&r));
                            }
                        }
                    }
                }
                act.sending = false;
                act.send_next(ctx);
            },
        ));
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
        // A session is known only once the contact is.
        if !matches!(self.who, Who::Contact(_)) {
            let ok = protocol::ok(reference.as_ref());
            self.core.send(ctx, &ok);
            return;
        }
        spawn_resume(self, ctx, session_id, after_seq, reference);
    }
}

impl Reader for VisitorConn {
    fn core(&mut self) -> &mut ConnCore {
        &mut self.core
    }

    fn history(&self, session_id: i64, after_seq: i64) -> HistoryRead {
        let app = Arc::clone(&self.sh.app);
        let contact_id = match &self.who {
            Who::Contact(c) => c.id,
            // Frames of a session reach a visitor after its contact is known (`ContactMade`
            // comes first): nothing to read otherwise.
            Who::Pending { .. } => {
                return Box::pin(std::future::ready(Err(AppError::not_found("session"))))
            }
        };
        Box::pin(async move {
            with_retry(|| async {
                let mut conn = app.pool.get().await?;
                history::for_visitor(&mut conn, contact_id, session_id, after_seq).await
            })
            .await
        })
    }
}
