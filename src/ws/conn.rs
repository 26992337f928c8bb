//! What agent and visitor connections share: the bounded outbound path, heartbeat, and the
//! flow control that stops a client that does not read from growing the server's memory.
//!
//! actix-web-actors buffers frames without bound when the peer stops reading. So the server
//! pings with the running count of bytes it has queued; a reading client's pong echoes that
//! count. More than `MAX_UNACKED_BYTES` queued past the last echoed count, or a full mailbox,
//! marks the connection lagging: it is closed with 4008 and the client resumes.
//!
//! An agent connection's mailbox is larger than a visitor's: it receives every session of its
//! project (its data scope), a visitor only its own. Its frames arrive in bursts of one
//! committed batch while the connection's worker thread serves hundreds of other sockets, so
//! at a visitor's bound a single agent was closed within the first seconds of 2,000 msg/s
//! (docs/performance.md, "Issue 14: delivery to one agent").

use super::cursor::{Cursors, Flush, Live};
use super::frame_limit::FrameLimit;
use crate::actors::Deliver;
use crate::domain::views::MessageView;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::metrics::{ConnKind, LagCause, Metrics};
use crate::protocol;
use actix::prelude::*;
use actix_web_actors::ws;
use futures_util::future::LocalBoxFuture;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Deliveries a visitor connection's mailbox holds before it is lagging.
pub const VISITOR_MAILBOX: usize = 256;
/// The same for an agent connection: about 0.4 s of 10,000 frames/s, and at most a few hundred
/// KiB of queued envelopes (the frames themselves are shared by every recipient).
pub const AGENT_MAILBOX: usize = 4096;
pub const HEARTBEAT: Duration = Duration::from_secs(10);
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
const PING_EVERY_BYTES: u64 = 128 * 1024;
const MAX_UNACKED_BYTES: u64 = 4 * 1024 * 1024;
pub const CLOSE_LAGGING: u16 = 4008;
/// The server may have missed other servers' events (its bus reconnected): reconnect at once
/// and resume.
pub const CLOSE_RESYNC: u16 = 4009;

/// Closes a connection for a resync (`Hub::resync`).
pub fn close_for_resync<A>(ctx: &mut ws::WebsocketContext<A>)
where
    A: Actor<Context = ws::WebsocketContext<A>>,
{
    ctx.close(Some(ws::CloseReason {
        code: ws::CloseCode::Other(CLOSE_RESYNC),
        description: Some("resync: reconnect and resume".into()),
    }));
    ctx.stop();
}

pub struct ConnCore {
    pub id: u64,
    pub lagging: Arc<AtomicBool>,
    /// Set by `FrameLimit` when the client declared a frame over `MAX_CODEC_FRAME_BYTES`.
    pub oversized: Arc<AtomicBool>,
    pub cursors: Cursors,
    /// Set with `lagging` when the client fell `MAX_UNACKED_BYTES` behind (not the mailbox).
    unread_bytes: bool,
    /// The heartbeat closed the connection as lagging.
    closing: bool,
    last_heard: Instant,
    sent: u64,
    acked: u64,
    pinged_at: u64,
}

impl ConnCore {
    pub fn new(id: u64) -> Self {
        ConnCore {
            id,
            lagging: Arc::new(AtomicBool::new(false)),
            oversized: Arc::new(AtomicBool::new(false)),
            cursors: Cursors::default(),
            unread_bytes: false,
            closing: false,
            last_heard: Instant::now(),
            sent: 0,
            acked: 0,
            pinged_at: 0,
        }
    }

    /// The request payload with the frame limit applied to declared lengths.
    pub fn limited<S>(&self, stream: S) -> FrameLimit<S> {
        FrameLimit::new(
            stream,
            protocol::MAX_CODEC_FRAME_BYTES,
            Arc::clone(&self.oversized),
        )
    }

    /// The client's input ended or broke: after an oversized frame the client is told why
    /// (1009, as documented) instead of seeing the connection vanish.
    pub fn input_ended<A>(
        &self,
        ctx: &mut ws::WebsocketContext<A>,
        error: Option<&ws::ProtocolError>,
    ) where
        A: Actor<Context = ws::WebsocketContext<A>>,
    {
        let too_big = self.oversized.load(Ordering::Relaxed)
            || matches!(error, Some(ws::ProtocolError::Overflow));
        if too_big {
            ctx.close(Some(ws::CloseReason {
                code: ws::CloseCode::Size,
                description: Some(format!(
                    "frames are limited to {} bytes",
                    protocol::MAX_CODEC_FRAME_BYTES
                )),
            }));
        } else if let Some(e) = error {
            tracing::debug!(error = %e, "socket protocol error");
        }
        ctx.stop();
    }

    /// What the client sent: the text of a text frame, for the connection to parse; every
    /// other kind of frame is handled here (pong, close, refusal of binary and fragments).
    pub fn incoming<A>(
        &mut self,
        ctx: &mut ws::WebsocketContext<A>,
        item: Result<ws::Message, ws::ProtocolError>,
    ) -> Option<actix_web::web::Bytes>
    where
        A: Actor<Context = ws::WebsocketContext<A>>,
    {
        let msg = match item {
            Ok(m) => m,
            Err(e) => {
                self.input_ended(ctx, Some(&e));
                return None;
            }
        };
        self.heard();
        let refused = match msg {
            ws::Message::Text(text) => return Some(text.into_bytes()),
            ws::Message::Binary(_) => "binary frames are not used; send JSON text",
            ws::Message::Continuation(_) => "fragmented frames are not supported",
            ws::Message::Ping(p) => {
                ctx.pong(&p);
                return None;
            }
            ws::Message::Pong(p) => {
                self.pong(&p);
                return None;
            }
            ws::Message::Close(reason) => {
                ctx.close(reason);
                ctx.stop();
                return None;
            }
            ws::Message::Nop => return None,
        };
        let e = AppError::new(crate::error::ErrorCode::UnsupportedFrame, refused);
        self.error(ctx, &e, None);
        None
    }

    pub fn heard(&mut self) {
        self.last_heard = Instant::now();
    }

    pub fn send<A>(&mut self, ctx: &mut ws::WebsocketContext<A>, frame: &str)
    where
        A: Actor<Context = ws::WebsocketContext<A>>,
    {
        ctx.text(frame.to_owned());
        self.sent += frame.len() as u64;
        if self.sent - self.pinged_at >= PING_EVERY_BYTES {
            self.ping(ctx);
        }
        if self.sent - self.acked > MAX_UNACKED_BYTES {
            self.unread_bytes = true;
            self.lagging.store(true, Ordering::Relaxed);
        }
    }

    pub fn error<A>(
        &mut self,
        ctx: &mut ws::WebsocketContext<A>,
        e: &AppError,
        reference: Option<&serde_json::Value>,
    ) where
        A: Actor<Context = ws::WebsocketContext<A>>,
    {
        self.send(ctx, &protocol::error(e, reference));
    }

    fn ping<A>(&mut self, ctx: &mut ws::WebsocketContext<A>)
    where
        A: Actor<Context = ws::WebsocketContext<A>>,
    {
        self.pinged_at = self.sent;
        ctx.ping(self.sent.to_string().as_bytes());
    }

    pub fn pong(&mut self, payload: &[u8]) {
        self.heard();
        if let Some(n) = std::str::from_utf8(payload)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        {
            if n <= self.sent {
                self.acked = self.acked.max(n);
            }
        }
    }

    /// Starts the heartbeat; stops the actor when the client is silent or lagging (counted in
    /// `metrics` by why).
    pub fn start_heartbeat<A>(
        ctx: &mut ws::WebsocketContext<A>,
        core: fn(&mut A) -> &mut ConnCore,
        kind: ConnKind,
        metrics: Arc<Metrics>,
    ) where
        A: Actor<Context = ws::WebsocketContext<A>>,
    {
        ctx.set_mailbox_capacity(match kind {
            ConnKind::Visitor => VISITOR_MAILBOX,
            ConnKind::Agent => AGENT_MAILBOX,
        });
        ctx.run_interval(Duration::from_millis(500), move |act, ctx| {
            let c = core(act);
            if c.lagging.load(Ordering::Relaxed) {
                // A socket whose peer does not read takes a while to stop (this runs again
                // meanwhile): count it once.
                if !std::mem::replace(&mut c.closing, true) {
                    let cause = if c.unread_bytes {
                        LagCause::UnreadBytes
                    } else {
                        LagCause::Mailbox
                    };
                    metrics.connection_lagging(kind, cause);
                    tracing::debug!(conn = c.id, ?kind, ?cause, "closing a lagging connection");
                }
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Other(CLOSE_LAGGING),
                    description: Some("lagging: reconnect and resume".into()),
                }));
                ctx.stop();
            } else if c.last_heard.elapsed() > CLIENT_TIMEOUT {
                ctx.stop();
            }
        });
        ctx.run_interval(HEARTBEAT, move |act, ctx| core(act).ping(ctx));
    }

    fn finish_read(
        &mut self,
        session_id: i64,
        after_seq: i64,
        covered: Option<i64>,
        history: &[MessageView],
    ) -> Flush {
        let frames = history
            .iter()
            .map(|m| (m.seq, protocol::message(m)))
            .collect();
        self.cursors.finish(session_id, after_seq, covered, frames)
    }
}

/// A connection that reads its sessions' stored messages: for `resume`, and to fill a hole in
/// what it was sent live (through `domain::history`, within what the connection may see).
pub trait Reader: Actor<Context = ws::WebsocketContext<Self>> {
    fn core(&mut self) -> &mut ConnCore;
    /// The session's stored messages with `seq > after_seq` that this connection may see, in
    /// order.
    fn history(&self, session_id: i64, after_seq: i64) -> HistoryRead;
}

pub type HistoryRead = LocalBoxFuture<'static, AppResult<Vec<MessageView>>>;

/// A fan-out delivery: a session's frames go through its cursor (`message` frames in `seq`
/// order, each once; a hole is filled from history first).
pub fn deliver<A: Reader>(act: &mut A, ctx: &mut ws::WebsocketContext<A>, d: Deliver) {
    let c = act.core();
    match c
        .cursors
        .deliver(d.session_id, d.seq, &d.frame, d.forget_cursor)
    {
        Live::Send => c.send(ctx, &d.frame),
        Live::Skip | Live::Held => {}
        Live::Gap { after, upto } => spawn_fill(act, ctx, d.session_id, after, upto),
        Live::Overflow => c.lagging.store(true, Ordering::Relaxed),
    }
}

/// Reads what the connection missed of `session_id` after `after` (its frames are held
/// meanwhile), then sends it and what was held, in order.
fn spawn_fill<A: Reader>(
    act: &mut A,
    ctx: &mut ws::WebsocketContext<A>,
    session_id: i64,
    after: i64,
    upto: i64,
) {
    let read = act.history(session_id, after);
    ctx.spawn(read.into_actor(act).map(move |res, act, ctx| match res {
        Ok(rows) => {
            let flush = act.core().finish_read(session_id, after, Some(upto), &rows);
            send_flush(act, ctx, session_id, flush);
        }
        // The session left what this connection may see (an agent's scope changed) by the
        // time of the read: the hole is not its to see; what was held goes out.
        Err(e) if e.code == ErrorCode::NotFound => {
            let flush = act.core().finish_read(session_id, after, Some(upto), &[]);
            send_flush(act, ctx, session_id, flush);
        }
        Err(e) => {
            // The database stayed unreachable past the retries: the held frames cannot go out
            // in order, so the connection is closed as lagging and the client resumes.
            let c = act.core();
            tracing::debug!(conn = c.id, session_id, error = %e, "gap fill failed; closing");
            c.lagging.store(true, Ordering::Relaxed);
        }
    }));
}

fn send_flush<A: Reader>(
    act: &mut A,
    ctx: &mut ws::WebsocketContext<A>,
    session_id: i64,
    flush: Flush,
) {
    let c = act.core();
    for frame in &flush.frames {
        c.send(ctx, frame);
    }
    if let Some((after, upto)) = flush.gap {
        spawn_fill(act, ctx, session_id, after, upto);
    }
}

/// Runs a resume for `session_id`: the session's frames are held back while its history
/// after `after_seq` is read; then the missing messages go out in order, the held-back ones
/// after them, and `ok` (or the error, after releasing what was held).
pub fn spawn_resume<A: Reader>(
    act: &mut A,
    ctx: &mut ws::WebsocketContext<A>,
    session_id: i64,
    after_seq: i64,
    reference: Option<serde_json::Value>,
) {
    act.core().cursors.begin(session_id);
    let read = act.history(session_id, after_seq);
    ctx.spawn(read.into_actor(act).map(move |res, act, ctx| {
        let (rows, error) = match res {
            Ok(rows) => (rows, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let flush = act.core().finish_read(session_id, after_seq, None, &rows);
        let gap = flush.gap;
        let c = act.core();
        for frame in &flush.frames {
            c.send(ctx, frame);
        }
        match error {
            None => c.send(ctx, &protocol::ok(reference.as_ref())),
            Some(e) => c.error(ctx, &e, reference.as_ref()),
        }
        if let Some((after, upto)) = gap {
            spawn_fill(act, ctx, session_id, after, upto);
        }
    }));
}
