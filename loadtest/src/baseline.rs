//! The raw baseline: a minimal tokio + tokio-tungstenite broadcast server that speaks the
//! same frame shapes as Switchboard (hello / send → ack + message), with no database, no
//! auth and no persistence. It runs inside the loadtest process on 127.0.0.1:0.
//!
//! Deliberate simplifications against docs/protocol.md: no client_id de-duplication, no
//! `resume`, one `session` frame per session (at creation) rather than one per change, and
//! agent frames other than pings are ignored. Each agent socket reads from one shared
//! `tokio::sync::broadcast` ring of 256 frames; an agent that falls 256 frames behind is
//! closed with 4008 (`lagging`), like the contract's bounded per-connection queue.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use crate::frames::RawFrame;

const QUEUE: usize = 256;
const PING_EVERY: Duration = Duration::from_secs(10);
const IDLE_DROP: Duration = Duration::from_secs(30);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_TEXT_CHARS: usize = 8000;
const MAX_FRAME: usize = 64 * 1024;

type Ws = WebSocketStream<TcpStream>;

struct State {
    agents: broadcast::Sender<String>,
    next_contact: AtomicU64,
    next_session: AtomicU64,
    next_message: AtomicU64,
    /// Refuse every n-th send once with `busy` (0: never). Only the generator's tests use it,
    /// to drive `--honour-busy` through real sockets.
    busy_every: u64,
    sends: AtomicU64,
}

pub struct BaselineServer {
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl BaselineServer {
    pub async fn start() -> Result<Self> {
        Self::start_with(0).await
    }

    /// A baseline that answers every `n`-th new send with a `busy` refusal (the repeat of a
    /// refused client id is taken), as Switchboard does past its capacity.
    #[cfg(test)]
    pub async fn start_refusing(n: u64) -> Result<Self> {
        Self::start_with(n).await
    }

    async fn start_with(busy_every: u64) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the baseline server on 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let (agents, _) = broadcast::channel(QUEUE);
        let state = Arc::new(State {
            agents,
            next_contact: AtomicU64::new(1),
            next_session: AtomicU64::new(1),
            next_message: AtomicU64::new(1),
            busy_every,
            sends: AtomicU64::new(0),
        });
        let stop = CancellationToken::new();
        let task = tokio::spawn(accept_loop(listener, state, stop.clone()));
        Ok(BaselineServer { addr, stop, task })
    }

    /// Stops accepting, closes every connection, waits (bounded) for them.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = timeout(Duration::from_secs(10), self.task).await;
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, stop: CancellationToken) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    conns.spawn(connection(stream, state.clone(), stop.clone()));
                }
                // EMFILE and friends: back off briefly instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    if timeout(Duration::from_secs(5), async {
        while conns.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        conns.abort_all();
    }
}

#[derive(Clone, Copy)]
enum Role {
    Visitor,
    Agent,
}

// The callback's error type is fixed by tungstenite's `Callback` trait.
#[allow(clippy::result_large_err)]
async fn connection(stream: TcpStream, state: Arc<State>, stop: CancellationToken) {
    let _ = stream.set_nodelay(true);
    let mut role = None;
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        role = match req.uri().path() {
            "/ws/visitor" => Some(Role::Visitor),
            "/ws/agent" => Some(Role::Agent),
            _ => None,
        };
        if role.is_some() {
            Ok(resp)
        } else {
            let mut r = ErrorResponse::new(Some("not found".to_owned()));
            *r.status_mut() = StatusCode::NOT_FOUND;
            Err(r)
        }
    };
    let ws = match timeout(
        Duration::from_secs(10),
        tokio_tungstenite::accept_hdr_async(stream, callback),
    )
    .await
    {
        Ok(Ok(ws)) => ws,
        _ => return,
    };
    match role {
        Some(Role::Visitor) => visitor(ws, state, stop).await,
        Some(Role::Agent) => agent(ws, state, stop).await,
        None => {}
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn error_frame(code: &str, message: &str, client_id: Option<&str>) -> String {
    serde_json::json!({"v":1,"type":"error","code":code,"message":message,"ref":client_id})
        .to_string()
}

#[derive(Serialize)]
struct AckOut<'a> {
    v: u8,
    #[serde(rename = "type")]
    kind: &'static str,
    client_id: &'a str,
    session_id: u64,
    seq: u64,
    message_id: u64,
    created_at: &'a str,
}

#[derive(Serialize)]
struct MessageOut<'a> {
    v: u8,
    #[serde(rename = "type")]
    kind: &'static str,
    session_id: u64,
    seq: u64,
    message_id: u64,
    sender: &'static str,
    sender_user_id: Option<u64>,
    client_id: &'a str,
    text: &'a str,
    off_platform: bool,
    created_at: &'a str,
}

async fn flush(ws: &mut Ws) -> bool {
    matches!(timeout(WRITE_TIMEOUT, ws.flush()).await, Ok(Ok(())))
}

async fn close_with(ws: &mut Ws, code: CloseCode, reason: &'static str) {
    let _ = timeout(
        Duration::from_secs(2),
        ws.close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })),
    )
    .await;
}

/// Writes one frame into the socket's buffer (no flush). False when the socket is gone.
async fn feed(ws: &mut Ws, text: String) -> bool {
    matches!(
        timeout(WRITE_TIMEOUT, ws.feed(Message::Text(text))).await,
        Ok(Ok(()))
    )
}

async fn visitor(mut ws: Ws, state: Arc<State>, stop: CancellationToken) {
    let contact = state.next_contact.fetch_add(1, Ordering::Relaxed);
    let hello = serde_json::json!({
        "v": 1, "type": "hello", "visitor_token": format!("baseline-{contact}"),
        "contact_id": contact, "session_id": null, "last_seq": 0
    });
    if !feed(&mut ws, hello.to_string()).await || !flush(&mut ws).await {
        return;
    }
    let mut session: Option<u64> = None;
    let mut seq = 0u64;
    let mut refused: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => {
                close_with(&mut ws, CloseCode::Away, "server shutting down").await;
                return;
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_DROP {
                    return;
                }
                if !matches!(timeout(WRITE_TIMEOUT, ws.send(Message::Ping(Vec::new()))).await, Ok(Ok(()))) {
                    return;
                }
            }
            m = ws.next() => {
                let text = match m {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => {
                        last_heard = Instant::now();
                        let e = error_frame("unsupported_frame", "binary frames are not accepted", None);
                        if !feed(&mut ws, e).await || !flush(&mut ws).await { return; }
                        continue;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => { last_heard = Instant::now(); continue; }
                };
                last_heard = Instant::now();
                if text.len() > MAX_FRAME {
                    let e = error_frame("frame_too_large", "frame over 64 KiB", None);
                    if !feed(&mut ws, e).await || !flush(&mut ws).await { return; }
                    continue;
                }
                let frame: RawFrame<'_> = match serde_json::from_str(&text) {
                    Ok(f) => f,
                    Err(_) => {
                        let e = error_frame("invalid_json", "not a JSON frame with a type", None);
                        if !feed(&mut ws, e).await || !flush(&mut ws).await { return; }
                        continue;
                    }
                };
                let reply = match (frame.kind.as_ref(), frame.client_id.as_deref(), frame.text.as_deref()) {
                    ("send", Some(cid), Some(body)) if (1..=64).contains(&cid.len()) => {
                        if body.chars().count() > MAX_TEXT_CHARS {
                            Err(error_frame("text_too_long", "text over 8000 characters", Some(cid)))
                        } else {
                            Ok((cid, body))
                        }
                    }
                    ("send", cid, _) => Err(error_frame("invalid_frame", "send needs client_id and text", cid)),
                    ("ping", _, _) => Err(serde_json::json!({"v":1,"type":"pong","ref":frame.ref_.as_deref()}).to_string()),
                    ("typing", _, _) => continue,
                    _ => Err(error_frame("unknown_type", "unknown frame type", None)),
                };
                let (cid, body) = match reply {
                    Ok(v) => v,
                    Err(e) => {
                        if !feed(&mut ws, e).await || !flush(&mut ws).await { return; }
                        continue;
                    }
                };
                if state.busy_every > 0
                    && !refused.contains(cid)
                    && state.sends.fetch_add(1, Ordering::Relaxed) % state.busy_every == state.busy_every - 1
                {
                    refused.insert(cid.to_owned());
                    let e = serde_json::json!({"v":1,"type":"error","code":"busy","message":"at capacity",
                        "ref":cid,"details":{"retry_after_ms":20}}).to_string();
                    if !feed(&mut ws, e).await || !flush(&mut ws).await { return; }
                    continue;
                }
                let session_id = match session {
                    Some(s) => s,
                    None => {
                        let s = state.next_session.fetch_add(1, Ordering::Relaxed);
                        session = Some(s);
                        let created = now_rfc3339();
                        let frame = serde_json::json!({"v":1,"type":"session","session":{
                            "id": s, "project_id": 1, "channel_id": 1, "contact_id": contact,
                            "contact_name": format!("Visitor {contact}"), "status": "open",
                            "bot_hosted": false, "assignee_id": null, "created_at": created,
                            "received_at": created, "first_response_at": null, "ended_at": null,
                            "last_seq": 0, "last_message_at": null, "message_count": 0,
                            "visitor_message_count": 0, "agent_message_count": 0}});
                        let _ = state.agents.send(frame.to_string());
                        s
                    }
                };
                seq += 1;
                let message_id = state.next_message.fetch_add(1, Ordering::Relaxed);
                let created_at = now_rfc3339();
                let ack = AckOut {
                    v: 1, kind: "ack", client_id: cid, session_id, seq, message_id,
                    created_at: &created_at,
                };
                let msg = MessageOut {
                    v: 1, kind: "message", session_id, seq, message_id, sender: "visitor",
                    sender_user_id: None, client_id: cid, text: body, off_platform: false,
                    created_at: &created_at,
                };
                let (Ok(ack), Ok(msg)) = (serde_json::to_string(&ack), serde_json::to_string(&msg)) else {
                    return;
                };
                // ack, then fan-out to agents and the visitor's own echo, as the contract says.
                if !feed(&mut ws, ack).await { return; }
                // No receiver (no agent connected) is not an error.
                let _ = state.agents.send(msg.clone());
                if !feed(&mut ws, msg).await || !flush(&mut ws).await { return; }
            }
        }
    }
}

async fn agent(mut ws: Ws, state: Arc<State>, stop: CancellationToken) {
    // Subscribe before hello so nothing sent after the hello is missed.
    let mut rx = state.agents.subscribe();
    let hello = r#"{"v":1,"type":"hello","user_id":1,"project_id":1,"data_scope":"all"}"#;
    if !feed(&mut ws, hello.to_owned()).await || !flush(&mut ws).await {
        return;
    }
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => {
                close_with(&mut ws, CloseCode::Away, "server shutting down").await;
                return;
            }
            r = rx.recv() => match r {
                Ok(text) => {
                    if !feed(&mut ws, text).await { return; }
                    // Batch whatever else is queued into one flush.
                    for _ in 0..64 {
                        match rx.try_recv() {
                            Ok(t) => if !feed(&mut ws, t).await { return; },
                            Err(_) => break,
                        }
                    }
                    if !flush(&mut ws).await { return; }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    close_with(&mut ws, CloseCode::Library(4008), "lagging").await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_DROP {
                    return;
                }
                if !matches!(timeout(WRITE_TIMEOUT, ws.send(Message::Ping(Vec::new()))).await, Ok(Ok(()))) {
                    return;
                }
            }
            m = ws.next() => match m {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => last_heard = Instant::now(),
            },
        }
    }
}
