//! The load generator proper: agent and visitor sockets, the send schedule, and the
//! measurement. It only knows the websocket protocol (docs/protocol.md); how the target's
//! URLs and credentials are obtained lives in `setup` (real server) and `baseline`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{bail, Result};
use dashmap::DashMap;
use futures_util::{SinkExt, StreamExt};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::frames::{self, Frame, VisitorSend};
use crate::series::{self, MsgTimes, SeriesInput};
use crate::stats::{
    self, AgentDelivery, ConnectStats, ErrorStats, LatencySummary, Report, RssStats, Timing,
};
use crate::sys::{RssSampler, SysSampler};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How an agent socket authenticates.
#[derive(Debug, Clone)]
pub enum AgentAuth {
    None,
    /// Value of the `sb_session` cookie.
    Cookie(String),
    Bearer(String),
}

/// Where to point the generator.
#[derive(Debug, Clone)]
pub struct Target {
    pub label: String,
    pub describe: String,
    /// `ws://…/ws/visitor?key=…`, one per server: visitor `i` connects to `i % len` (never
    /// empty).
    pub visitor_urls: Vec<Url>,
    /// One entry per agent socket: `ws://…/ws/agent?project=…` and its credentials.
    pub agents: Vec<(Url, AgentAuth)>,
    /// Process whose RSS is sampled as "the server", and how to describe it.
    pub server_pid: Option<u32>,
    pub server_source: String,
    /// `Origin` header sent on every socket, if any.
    pub origin: Option<String>,
}

/// Load shape and timeouts.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub visitors: usize,
    pub rate_per_visitor: f64,
    pub duration: Duration,
    pub message_bytes: usize,
    pub ramp_batch: usize,
    pub ramp_pause: Duration,
    pub connect_timeout: Duration,
    /// A message not seen by any agent within this long after its send is lost.
    pub lost_after: Duration,
    /// A socket that receives nothing (not even a ping) for this long is dead.
    pub idle_timeout: Duration,
    pub send_timeout: Duration,
    pub quiet: bool,
    /// On a `busy` refusal, send the same client id again after `details.retry_after_ms`.
    pub honour_busy: bool,
}

/// Wait before a resend when a `busy` frame carries no hint.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_millis(100);

#[derive(Debug)]
struct Entry {
    sent: Instant,
    ack: Option<Instant>,
    first_agent: Option<Instant>,
}

/// Per-second counters for the time series, indexed from the window's start.
struct Timeline {
    start: OnceLock<Instant>,
    offered: Vec<AtomicU64>,
    resends: Vec<AtomicU64>,
    /// Error frames and socket failures with their time, for the per-second error counts.
    events: Mutex<Vec<(Instant, String)>>,
}

impl Timeline {
    fn new(n_secs: usize) -> Self {
        let n = n_secs.max(1);
        Timeline {
            start: OnceLock::new(),
            offered: (0..n).map(|_| AtomicU64::new(0)).collect(),
            resends: (0..n).map(|_| AtomicU64::new(0)).collect(),
            events: Mutex::new(Vec::new()),
        }
    }

    fn bump(&self, which: &[AtomicU64], at: Instant) {
        let i = match self.start.get() {
            Some(s) => (at.saturating_duration_since(*s).as_secs() as usize).min(which.len() - 1),
            None => 0,
        };
        which[i].fetch_add(1, Ordering::Relaxed);
    }

    fn event(&self, code: &str) {
        let mut g = self.events.lock().unwrap_or_else(|p| p.into_inner());
        g.push((Instant::now(), code.to_owned()));
    }
}

#[derive(Default)]
struct Shared {
    entries: DashMap<Box<str>, Entry>,
    sent: AtomicU64,
    send_failed: AtomicU64,
    acked: AtomicU64,
    delivered: AtomicU64,
    agent_receipts: AtomicU64,
    visitor_echoes: AtomicU64,
    agent_sessions: AtomicU64,
    agents_alive: AtomicU64,
    visitors_alive: AtomicU64,
    busy: AtomicU64,
    resends: AtomicU64,
    agent: AgentCounters,
    /// Agent sockets closed by the server or broken, by close code (also in `errors`).
    agent_closes: Mutex<BTreeMap<String, u64>>,
    errors: Mutex<ErrorStats>,
    timeline: Option<Timeline>,
}

/// What the agents' reconnects and resumes did, summed over every agent.
#[derive(Default)]
struct AgentCounters {
    reconnects: AtomicU64,
    reconnect_failures: AtomicU64,
    resumes_sent: AtomicU64,
    resumes_answered: AtomicU64,
    resumes_refused: AtomicU64,
    by_resume: AtomicU64,
    duplicates: AtomicU64,
}

impl Shared {
    fn with_errors(&self, f: impl FnOnce(&mut ErrorStats)) {
        // A poisoned lock only means another task panicked mid-update; keep counting.
        let mut g = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g);
    }

    fn with_agent_closes(&self, f: impl FnOnce(&mut BTreeMap<String, u64>)) {
        let mut g = self.agent_closes.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g);
    }

    fn agent_delivery(&self) -> AgentDelivery {
        let a = &self.agent;
        let load = |v: &AtomicU64| v.load(Ordering::Relaxed);
        AgentDelivery {
            reconnects: load(&a.reconnects),
            reconnect_failures: load(&a.reconnect_failures),
            closes: self
                .agent_closes
                .lock()
                .map(|g| g.clone())
                .unwrap_or_else(|p| p.into_inner().clone()),
            resumes_sent: load(&a.resumes_sent),
            resumes_answered: load(&a.resumes_answered),
            resumes_refused: load(&a.resumes_refused),
            by_resume: load(&a.by_resume),
            duplicates: load(&a.duplicates),
        }
    }

    fn event(&self, code: &str) {
        if let Some(t) = &self.timeline {
            t.event(code);
        }
    }

    fn count_close(&self, code: String) {
        self.event(&format!("close {code}"));
        self.with_errors(|e| *e.unexpected_closes.entry(code).or_default() += 1);
    }

    fn count_error_frame(&self, code: &str) {
        self.event(code);
        self.with_errors(|e| *e.error_frames.entry(code.to_owned()).or_default() += 1);
    }

    /// Counts a socket failure that has no code of its own (timeouts, transport errors).
    fn count_failure(&self, what: &str, f: impl FnOnce(&mut ErrorStats)) {
        self.event(what);
        self.with_errors(f);
    }
}

/// What a visitor's read loop does after a frame.
enum Next {
    Continue,
    Stop,
    /// The server refused this send as `busy`: send it again after the pause.
    Resend(String, Duration),
}

/// How a socket's read loop ended.
enum End {
    Shutdown,
    Dead,
}

#[derive(Clone, Copy)]
enum Role {
    Visitor,
    Agent,
}

async fn connect(
    url: &Url,
    auth: &AgentAuth,
    origin: Option<&str>,
    cfg: &LoadConfig,
) -> Result<Ws> {
    let mut req = url.as_str().into_client_request()?;
    if let Some(o) = origin {
        req.headers_mut()
            .insert("origin", HeaderValue::from_str(o)?);
    }
    match auth {
        AgentAuth::None => {}
        AgentAuth::Cookie(v) => {
            req.headers_mut()
                .insert("cookie", HeaderValue::from_str(&format!("sb_session={v}"))?);
        }
        AgentAuth::Bearer(t) => {
            req.headers_mut().insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {t}"))?,
            );
        }
    }
    let (mut ws, _resp) = match timeout(
        cfg.connect_timeout,
        tokio_tungstenite::connect_async_with_config(req, None, true),
    )
    .await
    {
        Ok(r) => r?,
        Err(_) => bail!("connect timed out after {:?}", cfg.connect_timeout),
    };
    // Wait for `hello`; anything else first is a protocol violation.
    let first = match timeout(cfg.connect_timeout, ws.next()).await {
        Err(_) => bail!("no hello within {:?}", cfg.connect_timeout),
        Ok(None) => bail!("socket closed before hello"),
        Ok(Some(m)) => m?,
    };
    match first {
        Message::Text(t) => match frames::parse(&t) {
            Ok(Frame::Hello) => Ok(ws),
            Ok(Frame::Error { code, .. }) => bail!("error frame instead of hello: {code}"),
            _ => bail!("expected hello, got {}", truncate(&t, 200)),
        },
        Message::Close(c) => bail!("closed before hello: {c:?}"),
        other => bail!("expected hello, got {other:?}"),
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Handles one incoming frame.
fn on_frame(role: Role, msg: Message, shared: &Shared, honour_busy: bool) -> Next {
    match msg {
        Message::Text(t) => match frames::parse(&t) {
            Ok(Frame::Ack { client_id }) => {
                if let Some(mut e) = shared.entries.get_mut(client_id.as_ref()) {
                    if e.ack.is_none() {
                        e.ack = Some(Instant::now());
                        shared.acked.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Ok(Frame::Message {
                from_visitor: true,
                client_id: Some(_),
            }) => match role {
                Role::Visitor => {
                    shared.visitor_echoes.fetch_add(1, Ordering::Relaxed);
                }
                // Counted by (session, seq) in `agent_connection`, which never passes them here.
                Role::Agent => {}
            },
            Ok(Frame::Session) => {
                if let Role::Agent = role {
                    shared.agent_sessions.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(Frame::Error {
                code,
                client_id,
                retry_after_ms,
            }) => {
                shared.count_error_frame(&code);
                if code == frames::BUSY {
                    shared.busy.fetch_add(1, Ordering::Relaxed);
                    if let (Role::Visitor, true, Some(cid)) = (role, honour_busy, client_id) {
                        if shared.entries.contains_key(cid.as_ref()) {
                            let wait = retry_after_ms
                                .map(Duration::from_millis)
                                .unwrap_or(DEFAULT_RETRY_AFTER);
                            return Next::Resend(cid.into_owned(), wait);
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(_) => shared.count_failure("unparseable", |e| e.unparseable_frames += 1),
        },
        Message::Close(c) => {
            let code = match c {
                Some(f) => u16::from(f.code).to_string(),
                None => "no code".to_owned(),
            };
            shared.count_close(code);
            return Next::Stop;
        }
        // Pings are answered by tungstenite itself.
        _ => {}
    }
    Next::Continue
}

/// Reads one frame with the idle timeout. `None` = the socket is dead (already counted).
async fn read_one(ws: &mut Ws, cfg: &LoadConfig, shared: &Shared) -> Option<Message> {
    match timeout(cfg.idle_timeout, ws.next()).await {
        Err(_) => {
            shared.count_failure("read timeout", |e| e.read_timeouts += 1);
            None
        }
        Ok(None) => {
            shared.count_close("eof".to_owned());
            None
        }
        Ok(Some(Err(_))) => {
            shared.count_failure("transport", |e| e.transport_errors += 1);
            None
        }
        Ok(Some(Ok(m))) => Some(m),
    }
}

/// Graceful close on shutdown: close frame, then drain briefly for the server's answer.
async fn close(ws: &mut Ws) {
    let deadline = Instant::now() + Duration::from_secs(2);
    let _ = tokio::time::timeout_at(deadline, ws.close(None)).await;
    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Message::Close(_) = m {
            break;
        }
    }
}

/// First pause before an agent reconnects; it doubles on each failed attempt.
const AGENT_RECONNECT_MIN: Duration = Duration::from_millis(100);
const AGENT_RECONNECT_MAX: Duration = Duration::from_secs(2);

/// What one agent holds of a session, as the console keeps it (docs/protocol.md,
/// "Reconnecting without loss"): every `seq` up to `point`, and the ones above it that
/// arrived before the gap below them was filled.
#[derive(Default)]
struct Held {
    point: i64,
    above: BTreeSet<i64>,
}

impl Held {
    /// Records `seq`; false when the agent already had it.
    fn hold(&mut self, seq: i64) -> bool {
        if seq <= self.point || !self.above.insert(seq) {
            return false;
        }
        while self.above.remove(&(self.point + 1)) {
            self.point += 1;
        }
        true
    }

    fn has_gap(&self) -> bool {
        !self.above.is_empty()
    }
}

/// What an agent socket needs to reconnect, and the run it reports to.
struct AgentCtx {
    url: Url,
    auth: AgentAuth,
    origin: Option<String>,
    cfg: Arc<LoadConfig>,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

/// The `ref` of this generator's `resume` for a session; its `ok` echoes it.
fn resume_ref(session_id: i64) -> String {
    format!("resume-{session_id}")
}

fn resume_frame(session_id: i64, after_seq: i64) -> String {
    serde_json::json!({
        "v": 1, "type": "resume", "session_id": session_id, "after_seq": after_seq,
        "ref": resume_ref(session_id),
    })
    .to_string()
}

/// One agent for the whole run, like the console: when the server closes its socket (4008
/// for a consumer that fell behind) or the socket breaks, it reconnects and resumes every
/// session it holds from its resume point, so a message missed while it was away still
/// reaches it. Every message is counted once per agent, by (session, seq), whether it came
/// live or by a resume.
async fn agent_task(ws: Ws, ctx: AgentCtx) {
    let mut held: HashMap<i64, Held> = HashMap::new();
    let mut ws = ws;
    let mut reconnected = false;
    loop {
        ctx.shared.agents_alive.fetch_add(1, Ordering::Relaxed);
        let end = agent_connection(&mut ws, &mut held, reconnected, &ctx).await;
        ctx.shared.agents_alive.fetch_sub(1, Ordering::Relaxed);
        if let End::Shutdown = end {
            close(&mut ws).await;
            return;
        }
        let mut pause = AGENT_RECONNECT_MIN;
        ws = loop {
            tokio::select! {
                biased;
                _ = ctx.stop.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
            match connect(&ctx.url, &ctx.auth, ctx.origin.as_deref(), &ctx.cfg).await {
                Ok(ws) => break ws,
                Err(_) => {
                    ctx.shared
                        .agent
                        .reconnect_failures
                        .fetch_add(1, Ordering::Relaxed);
                    pause = (pause * 2).min(AGENT_RECONNECT_MAX);
                }
            }
        };
        ctx.shared.agent.reconnects.fetch_add(1, Ordering::Relaxed);
        reconnected = true;
    }
}

/// One socket of an agent, until shutdown or until it is closed or breaks.
async fn agent_connection(
    ws: &mut Ws,
    held: &mut HashMap<i64, Held>,
    reconnected: bool,
    ctx: &AgentCtx,
) -> End {
    let shared = &ctx.shared;
    // Sessions resumed on this socket, and those whose resume has not been answered yet.
    let mut resumed: HashSet<i64> = HashSet::new();
    let mut resuming: HashSet<i64> = HashSet::new();
    if reconnected {
        for (sid, h) in held.iter() {
            if ws
                .feed(Message::Text(resume_frame(*sid, h.point)))
                .await
                .is_err()
            {
                shared.count_failure("send failure", |e| e.send_failures += 1);
                return End::Dead;
            }
            resumed.insert(*sid);
            resuming.insert(*sid);
            shared.agent.resumes_sent.fetch_add(1, Ordering::Relaxed);
        }
        if ws.flush().await.is_err() {
            shared.count_failure("send failure", |e| e.send_failures += 1);
            return End::Dead;
        }
    }
    loop {
        let m = tokio::select! {
            biased;
            _ = ctx.stop.cancelled() => return End::Shutdown,
            m = read_one(ws, &ctx.cfg, shared) => m,
        };
        let Some(m) = m else { return End::Dead };
        let text = match &m {
            Message::Text(t) => t,
            Message::Close(c) => {
                let code = c
                    .as_ref()
                    .map_or_else(|| "no code".to_owned(), |f| u16::from(f.code).to_string());
                shared.with_agent_closes(|closes| *closes.entry(code).or_default() += 1);
                let _ = on_frame(Role::Agent, m, shared, false);
                return End::Dead;
            }
            _ => continue,
        };
        let Ok(raw) = frames::parse_raw(text) else {
            let _ = on_frame(Role::Agent, m, shared, false);
            continue;
        };
        match raw.kind.as_ref() {
            "message" => {
                let (Some(sid), Some(seq)) = (raw.session_id, raw.seq) else {
                    continue;
                };
                let h = held.entry(sid).or_default();
                let new = h.hold(seq);
                // A session this socket has not resumed, with a gap: messages of it went by
                // while the agent was away. Resume it from its point, as the console does.
                if h.has_gap() && resumed.insert(sid) {
                    let frame = resume_frame(sid, h.point);
                    if ws.send(Message::Text(frame)).await.is_err() {
                        shared.count_failure("send failure", |e| e.send_failures += 1);
                        return End::Dead;
                    }
                    resuming.insert(sid);
                    shared.agent.resumes_sent.fetch_add(1, Ordering::Relaxed);
                }
                let ours = raw.sender.as_deref() == Some("visitor");
                let cid = raw
                    .client_id
                    .as_deref()
                    .or_else(|| raw.text.as_deref().and_then(frames::client_id_from_text));
                let Some(cid) = cid.filter(|_| ours) else {
                    continue;
                };
                let Some(mut e) = shared.entries.get_mut(cid) else {
                    continue;
                };
                if !new {
                    shared.agent.duplicates.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                shared.agent_receipts.fetch_add(1, Ordering::Relaxed);
                if resuming.contains(&sid) {
                    shared.agent.by_resume.fetch_add(1, Ordering::Relaxed);
                }
                if e.first_agent.is_none() {
                    e.first_agent = Some(Instant::now());
                    shared.delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
            "ok" => {
                let sid = raw
                    .ref_
                    .as_deref()
                    .and_then(|r| r.strip_prefix("resume-"))
                    .and_then(|s| s.parse::<i64>().ok());
                if let Some(sid) = sid {
                    if resuming.remove(&sid) {
                        shared
                            .agent
                            .resumes_answered
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            _ => {
                let refused_resume = raw.kind == "error"
                    && raw
                        .ref_
                        .as_deref()
                        .and_then(|r| r.strip_prefix("resume-"))
                        .and_then(|s| s.parse::<i64>().ok())
                        .is_some_and(|sid| resuming.remove(&sid));
                if refused_resume {
                    shared.agent.resumes_refused.fetch_add(1, Ordering::Relaxed);
                }
                drop(raw);
                let _ = on_frame(Role::Agent, m, shared, false);
            }
        }
    }
}

struct VisitorCtx {
    idx: usize,
    cfg: Arc<LoadConfig>,
    shared: Arc<Shared>,
    go: watch::Receiver<Option<(Instant, Instant)>>,
    stop: CancellationToken,
}

async fn visitor_task(mut ws: Ws, mut ctx: VisitorCtx) {
    let shared = ctx.shared.clone();
    let cfg = ctx.cfg.clone();
    shared.visitors_alive.fetch_add(1, Ordering::Relaxed);
    let mut rng = SmallRng::from_entropy();
    let mean = Duration::from_secs_f64(1.0 / cfg.rate_per_visitor);
    let mut waiting_for_go = true;
    let mut next_send: Option<Instant> = None;
    let mut window_end = Instant::now();
    let mut n: u64 = 0;
    // `busy` refusals waiting for their retry time, earliest first.
    let mut resends: BinaryHeap<Reverse<(Instant, String)>> = BinaryHeap::new();
    let end = loop {
        let next_resend = resends.peek().map(|r| r.0 .0);
        tokio::select! {
            biased;
            _ = ctx.stop.cancelled() => break End::Shutdown,
            changed = ctx.go.changed(), if waiting_for_go => {
                match changed {
                    Err(_) => waiting_for_go = false,
                    Ok(()) => {
                        if let Some((start, end)) = *ctx.go.borrow_and_update() {
                            waiting_for_go = false;
                            window_end = end;
                            next_send = Some(start + mean.mul_f64(rng.gen_range(0.0..1.0)));
                        }
                    }
                }
            }
            _ = sleep_until(next_send.unwrap_or(window_end)), if next_send.is_some() => {
                let now = Instant::now();
                if now >= window_end {
                    next_send = None;
                    continue;
                }
                let client_id = format!("lt-{}-{}", ctx.idx, n);
                n += 1;
                let text = frames::message_text(&client_id, cfg.message_bytes);
                let frame = VisitorSend::new(&client_id, &text).to_json();
                let sent = Instant::now();
                if let Some(t) = &shared.timeline {
                    t.bump(&t.offered, sent);
                }
                shared.entries.insert(
                    client_id.clone().into_boxed_str(),
                    Entry { sent, ack: None, first_agent: None },
                );
                match timeout(cfg.send_timeout, ws.send(Message::Text(frame))).await {
                    Ok(Ok(())) => {
                        shared.sent.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        shared.entries.remove(client_id.as_str());
                        shared.send_failed.fetch_add(1, Ordering::Relaxed);
                        shared.count_failure("send failure", |e| e.send_failures += 1);
                        break End::Dead;
                    }
                }
                // Schedule from the planned time (not "now") so the offered rate holds;
                // jitter uniformly in [0.5, 1.5) × the mean interval.
                let planned = next_send.unwrap_or(sent);
                next_send = Some(planned + mean.mul_f64(rng.gen_range(0.5..1.5)));
            }
            _ = sleep_until(next_resend.unwrap_or(window_end)), if next_resend.is_some() => {
                let Some(Reverse((_, client_id))) = resends.pop() else { continue };
                // The same client id and text: the server stores it once, whichever try lands.
                let text = frames::message_text(&client_id, cfg.message_bytes);
                let frame = VisitorSend::new(&client_id, &text).to_json();
                match timeout(cfg.send_timeout, ws.send(Message::Text(frame))).await {
                    Ok(Ok(())) => {
                        shared.resends.fetch_add(1, Ordering::Relaxed);
                        if let Some(t) = &shared.timeline {
                            t.bump(&t.resends, Instant::now());
                        }
                    }
                    _ => {
                        shared.count_failure("send failure", |e| e.send_failures += 1);
                        break End::Dead;
                    }
                }
            }
            m = read_one(&mut ws, &cfg, &shared) => match m {
                Some(m) => match on_frame(Role::Visitor, m, &shared, cfg.honour_busy) {
                    Next::Continue => {}
                    Next::Stop => break End::Dead,
                    Next::Resend(cid, wait) => resends.push(Reverse((Instant::now() + wait, cid))),
                },
                None => break End::Dead,
            },
        }
    };
    shared.visitors_alive.fetch_sub(1, Ordering::Relaxed);
    if let End::Shutdown = end {
        close(&mut ws).await;
    }
}

/// Connects `items` in batches of `cfg.ramp_batch`; each connected socket is handed to
/// `run` as a task in `set`. Records connect latencies and failures.
async fn ramp<T, F, Fut>(
    items: Vec<(Url, AgentAuth, T)>,
    origin: &Option<String>,
    cfg: &Arc<LoadConfig>,
    set: &mut JoinSet<()>,
    hist: &mut hdrhistogram::Histogram<u64>,
    first_failure: &mut Option<String>,
    run: F,
) -> (u64, u64)
where
    T: Send + 'static,
    F: Fn(Ws, T) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (mut ok, mut failed) = (0u64, 0u64);
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let mut waits = Vec::with_capacity(cfg.ramp_batch);
        for (url, auth, extra) in items.by_ref().take(cfg.ramp_batch) {
            let (tx, rx) = oneshot::channel::<Result<Duration, String>>();
            let cfg = cfg.clone();
            let run = run.clone();
            let origin = origin.clone();
            set.spawn(async move {
                let t0 = Instant::now();
                match connect(&url, &auth, origin.as_deref(), &cfg).await {
                    Ok(ws) => {
                        let _ = tx.send(Ok(t0.elapsed()));
                        run(ws, extra).await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(format!("{e:#}")));
                    }
                }
            });
            waits.push(rx);
        }
        // Each connect is bounded by two connect timeouts (upgrade + hello).
        let bound = cfg.connect_timeout * 2 + Duration::from_secs(1);
        for rx in waits {
            match timeout(bound, rx).await {
                Ok(Ok(Ok(d))) => {
                    ok += 1;
                    stats::record(hist, d);
                }
                Ok(Ok(Err(e))) => {
                    failed += 1;
                    first_failure.get_or_insert(e);
                }
                _ => {
                    failed += 1;
                    first_failure.get_or_insert_with(|| "connect task did not report".to_owned());
                }
            }
        }
        if items.peek().is_some() {
            tokio::time::sleep(cfg.ramp_pause).await;
        }
    }
    (ok, failed)
}

/// Closes what did connect and explains why the run cannot go on.
async fn abandon(
    mut set: JoinSet<()>,
    stop: &CancellationToken,
    what: &str,
    target: &str,
    first_failure: Option<String>,
) -> anyhow::Error {
    stop.cancel();
    let _ = timeout(Duration::from_secs(5), async {
        while set.join_next().await.is_some() {}
    })
    .await;
    set.abort_all();
    anyhow::anyhow!(
        "no {what} socket connected to {target}: {}",
        first_failure.unwrap_or_else(|| "no attempt".to_owned())
    )
}

/// Runs one load test against `target` and returns its figures.
pub async fn run(target: Target, cfg: LoadConfig) -> Result<Report> {
    let cfg = Arc::new(cfg);
    let series_secs = (cfg.duration + cfg.lost_after).as_secs() as usize + 2;
    let shared = Arc::new(Shared {
        timeline: Some(Timeline::new(series_secs)),
        ..Shared::default()
    });
    let stop = CancellationToken::new();
    let (go_tx, go_rx) = watch::channel::<Option<(Instant, Instant)>>(None);
    let mut set = JoinSet::new();
    let mut connect_hist = stats::new_histogram();
    let mut first_failure = None;

    let server_rss = target.server_pid.map(|p| RssSampler::start(Some(p)));
    let self_rss = RssSampler::start(None);
    let ramp_start = Instant::now();
    let log = |s: String| {
        if !cfg.quiet {
            eprintln!("[{}] {s}", target.label);
        }
    };

    // Agents first, so that they see every session from its first message.
    let agent_items = target
        .agents
        .iter()
        .map(|(u, a)| (u.clone(), a.clone(), (u.clone(), a.clone())))
        .collect();
    let (agents_ok, agents_failed) = {
        let (cfg2, shared2, stop2) = (cfg.clone(), shared.clone(), stop.clone());
        let origin = target.origin.clone();
        ramp(
            agent_items,
            &target.origin,
            &cfg,
            &mut set,
            &mut connect_hist,
            &mut first_failure,
            move |ws, (url, auth)| {
                agent_task(
                    ws,
                    AgentCtx {
                        url,
                        auth,
                        origin: origin.clone(),
                        cfg: cfg2.clone(),
                        shared: shared2.clone(),
                        stop: stop2.clone(),
                    },
                )
            },
        )
        .await
    };
    log(format!(
        "{agents_ok} agent sockets up, {agents_failed} failed"
    ));
    if agents_ok == 0 {
        return Err(abandon(set, &stop, "agent", &target.describe, first_failure).await);
    }

    let visitor_items = (0..cfg.visitors)
        .map(|i| {
            let url = &target.visitor_urls[i % target.visitor_urls.len()];
            (url.clone(), AgentAuth::None, i)
        })
        .collect();
    let (visitors_ok, visitors_failed) = {
        let (cfg2, shared2, stop2, go2) = (cfg.clone(), shared.clone(), stop.clone(), go_rx);
        ramp(
            visitor_items,
            &target.origin,
            &cfg,
            &mut set,
            &mut connect_hist,
            &mut first_failure,
            move |ws, idx| {
                visitor_task(
                    ws,
                    VisitorCtx {
                        idx,
                        cfg: cfg2.clone(),
                        shared: shared2.clone(),
                        go: go2.clone(),
                        stop: stop2.clone(),
                    },
                )
            },
        )
        .await
    };
    let ramp_s = ramp_start.elapsed().as_secs_f64();
    log(format!(
        "{visitors_ok} visitor sockets up, {visitors_failed} failed (ramp-up {ramp_s:.1} s)"
    ));

    if visitors_ok == 0 {
        return Err(abandon(set, &stop, "visitor", &target.describe, first_failure).await);
    }

    // The send window.
    let start = Instant::now();
    let window_end = start + cfg.duration;
    if let Some(t) = &shared.timeline {
        let _ = t.start.set(start);
    }
    let sys = SysSampler::start(target.server_pid, start);
    let _ = go_tx.send(Some((start, window_end)));
    let mut progress =
        tokio::time::interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
    let mut last = [0u64; 4];
    loop {
        tokio::select! {
            _ = sleep_until(window_end) => break,
            _ = progress.tick() => {
                let now = [
                    shared.sent.load(Ordering::Relaxed),
                    shared.acked.load(Ordering::Relaxed),
                    shared.delivered.load(Ordering::Relaxed),
                    shared.errors.lock().map(|e| e.socket_errors()).unwrap_or(0),
                ];
                let d: Vec<u64> = now.iter().zip(last).map(|(n, l)| n.saturating_sub(l)).collect();
                last = now;
                log(format!(
                    "t+{:.0}s  last second: sent {} acked {} delivered {} errors {}  (totals: sent {} acked {} delivered {} busy {} resends {})",
                    start.elapsed().as_secs_f64(),
                    d[0], d[1], d[2], d[3], now[0], now[1], now[2],
                    shared.busy.load(Ordering::Relaxed),
                    shared.resends.load(Ordering::Relaxed),
                ));
            }
        }
    }
    let window_s = start.elapsed().as_secs_f64();
    let receipts_window = shared.agent_receipts.load(Ordering::Relaxed);
    let distinct_window = shared.delivered.load(Ordering::Relaxed);
    let agents_alive = shared.agents_alive.load(Ordering::Relaxed);
    let visitors_alive = shared.visitors_alive.load(Ordering::Relaxed);

    // Drain: wait until every sent message is acked and delivered, at most `lost_after`
    // past the last possible send.
    let drain_deadline = window_end + cfg.lost_after;
    loop {
        let sent = shared.sent.load(Ordering::Relaxed);
        if shared.acked.load(Ordering::Relaxed) >= sent
            && shared.delivered.load(Ordering::Relaxed) >= sent
        {
            break;
        }
        if Instant::now() >= drain_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let covered_s = start.elapsed().as_secs_f64();
    let sys_samples = sys.finish().await;
    log(format!(
        "window over after {window_s:.1} s, drained in {:.1} s; closing sockets",
        window_end.elapsed().as_secs_f64()
    ));
    stop.cancel();
    if timeout(Duration::from_secs(10), async {
        while set.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        log("some sockets did not close within 10 s; aborting them".to_owned());
        set.abort_all();
    }

    let (server_start, server_peak, server_end) = match server_rss {
        Some(s) => s.finish().await,
        None => (None, None, None),
    };
    let (self_start, self_peak, self_end) = self_rss.finish().await;

    let timings: Vec<Timing> = shared
        .entries
        .iter()
        .map(|e| Timing {
            ack: e.ack.map(|a| a.saturating_duration_since(e.sent)),
            delivered: e.first_agent.map(|a| a.saturating_duration_since(e.sent)),
        })
        .collect();
    let (messages, deliver_hist, ack_hist) = stats::summarize(timings, cfg.lost_after);
    let series = {
        let since = |t: Instant| t.saturating_duration_since(start);
        let msgs: Vec<MsgTimes> = shared
            .entries
            .iter()
            .map(|e| MsgTimes {
                sent: since(e.sent),
                ack: e.ack.map(since),
                delivered: e.first_agent.map(since),
            })
            .collect();
        let load = |v: &[AtomicU64]| {
            v.iter()
                .map(|a| a.load(Ordering::Relaxed))
                .collect::<Vec<_>>()
        };
        let (offered, resends, events) = match &shared.timeline {
            Some(t) => (
                load(&t.offered),
                load(&t.resends),
                t.events
                    .lock()
                    .map(|g| g.clone())
                    .unwrap_or_else(|p| p.into_inner().clone()),
            ),
            None => (Vec::new(), Vec::new(), Vec::new()),
        };
        let errors: Vec<(f64, String)> = events
            .into_iter()
            .map(|(at, code)| {
                let off = if at >= start {
                    at.duration_since(start).as_secs_f64()
                } else {
                    -start.duration_since(at).as_secs_f64()
                };
                (off, code)
            })
            .collect();
        // A drain shorter than half a second is folded into the window's last second
        // rather than drawn as a nearly empty one.
        let n_secs = if covered_s - window_s < 0.5 {
            window_s.round()
        } else {
            covered_s.ceil()
        };
        series::build(
            &target.label,
            cfg.visitors as f64 * cfg.rate_per_visitor,
            window_s,
            &SeriesInput {
                n_secs: n_secs as usize,
                msgs: &msgs,
                offered: &offered,
                resends: &resends,
                errors: &errors,
                sys: &sys_samples,
            },
        )
    };
    let errors = shared
        .errors
        .lock()
        .map(|e| e.clone())
        .unwrap_or_else(|p| p.into_inner().clone());
    let errors_total = errors.socket_errors()
        + agents_failed
        + visitors_failed
        + messages.lost
        + messages.ack_timeouts;

    Ok(Report {
        label: target.label.clone(),
        target: target.describe.clone(),
        visitors: cfg.visitors,
        agents: target.agents.len(),
        rate_per_visitor: cfg.rate_per_visitor,
        offered_msgs_per_s: cfg.visitors as f64 * cfg.rate_per_visitor,
        window_s,
        ramp_s,
        lost_after_s: cfg.lost_after.as_secs_f64(),
        connects: ConnectStats {
            visitors_ok,
            visitors_failed,
            agents_ok,
            agents_failed,
            connect_latency: LatencySummary::from_histogram(&connect_hist),
            first_failure,
        },
        messages,
        send_failed: shared.send_failed.load(Ordering::Relaxed),
        busy_refusals: shared.busy.load(Ordering::Relaxed),
        resends: shared.resends.load(Ordering::Relaxed),
        series,
        agent_receipts_window: receipts_window,
        agent_receipts_total: shared.agent_receipts.load(Ordering::Relaxed),
        delivered_msgs_per_s: receipts_window as f64 / window_s,
        distinct_delivered_per_s: distinct_window as f64 / window_s,
        visitor_echoes: shared.visitor_echoes.load(Ordering::Relaxed),
        agent_session_frames: shared.agent_sessions.load(Ordering::Relaxed),
        agents_alive_at_end: agents_alive,
        agent_delivery: shared.agent_delivery(),
        visitors_alive_at_end: visitors_alive,
        latency_visitor_to_agent: LatencySummary::from_histogram(&deliver_hist),
        latency_ack: LatencySummary::from_histogram(&ack_hist),
        errors,
        errors_total,
        rss: RssStats {
            server_source: target.server_source.clone(),
            server_start_kib: server_start,
            server_peak_kib: server_peak,
            server_end_kib: server_end,
            self_start_kib: self_start,
            self_peak_kib: self_peak,
            self_end_kib: self_end,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::BaselineServer;

    async fn run_against(server: &BaselineServer, honour_busy: bool) -> Report {
        let base = format!("ws://{}", server.addr);
        let target = Target {
            label: "baseline".into(),
            describe: "refusing baseline".into(),
            visitor_urls: vec![Url::parse(&format!("{base}/ws/visitor?key=k")).expect("url")],
            agents: vec![(
                Url::parse(&format!("{base}/ws/agent?project=1")).expect("url"),
                AgentAuth::None,
            )],
            server_pid: None,
            server_source: "in-process".into(),
            origin: None,
        };
        let cfg = LoadConfig {
            visitors: 20,
            rate_per_visitor: 10.0,
            duration: Duration::from_secs(2),
            message_bytes: 32,
            ramp_batch: 20,
            ramp_pause: Duration::ZERO,
            connect_timeout: Duration::from_secs(5),
            lost_after: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(35),
            send_timeout: Duration::from_secs(5),
            quiet: true,
            honour_busy,
        };
        run(target, cfg).await.expect("run")
    }

    #[test]
    fn an_agents_resume_point_moves_only_over_a_run_without_gaps_and_repeats_are_not_counted() {
        let mut h = Held::default();
        assert!(h.hold(1));
        // 2 and 3 went by while the agent was away; 4 came live on the new socket.
        assert!(h.hold(4));
        assert_eq!(h.point, 1);
        assert!(h.has_gap());
        // The resume after 1 brings 2, 3 and 4 again.
        assert!(h.hold(2));
        assert!(h.hold(3));
        assert!(!h.hold(4));
        assert_eq!(h.point, 4);
        assert!(!h.has_gap());
        assert!(!h.hold(1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn busy_refusals_are_resent_with_the_same_client_id_and_nothing_is_lost() {
        let server = BaselineServer::start_refusing(5).await.expect("baseline");
        let r = run_against(&server, true).await;
        server.shutdown().await;
        assert!(r.busy_refusals > 0, "{r:?}");
        assert_eq!(r.resends, r.busy_refusals);
        assert_eq!(r.messages.lost, 0);
        assert_eq!(r.messages.acked, r.messages.sent);
        assert_eq!(r.errors.error_frames.get("busy"), Some(&r.busy_refusals));
        let per_second: u64 = r.series.points.iter().map(|p| p.resends).sum();
        assert_eq!(per_second, r.resends);
        let busy_per_second: u64 = r
            .series
            .points
            .iter()
            .filter_map(|p| p.errors.get("busy"))
            .sum();
        assert_eq!(busy_per_second, r.busy_refusals);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_honour_busy_a_refused_message_is_lost() {
        let server = BaselineServer::start_refusing(5).await.expect("baseline");
        let r = run_against(&server, false).await;
        server.shutdown().await;
        assert!(r.busy_refusals > 0, "{r:?}");
        assert_eq!(r.resends, 0);
        assert_eq!(r.messages.lost, r.busy_refusals);
    }
}
