//! `loadtest xmpp`: `run`'s chat load against an XMPP server over WebSocket (RFC 7395), so a
//! peer such as ejabberd (loadtest/ejabberd/ejabberd.sh) is measured side by side with
//! Switchboard: `--visitors` sender accounts send one-to-one chat messages at
//! `--rate-per-visitor` each to `--agents` receiver accounts, and the figures are `run`'s
//! [`Report`] and `--series` file (send → receive latency, lost, RSS and CPU).
//!
//! Accounts are PREFIX1 … PREFIXn, senders first, then the receivers; each password is the
//! account name. A message's stanza id is its number, so the receiver times it without a
//! lookup by text. XMPP has no per-message acknowledgement here (no XEP-0198/XEP-0184), so
//! the ack figures stay empty and missing acks are not counted as errors.
//!
//! CPU: `--server-pid` (beam.smp) and `--db-pid` (the postmaster) are sampled each second;
//! the series' `server_cpu_pct` is the server with its children, `children_cpu_pct` the
//! database cluster (postmaster and backends), the same split `run` gives for Switchboard
//! and its embedded PostgreSQL.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use clap::Args;
use dashmap::DashMap;
use futures_util::{SinkExt, StreamExt};
use quick_xml::events::{BytesStart, Event};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::series::{self, MsgTimes, Series, SeriesInput};
use crate::stats::{
    self, AgentDelivery, ConnectStats, ErrorStats, LatencySummary, Report, RssStats, Timing,
};
use crate::sys::{RssSampler, SysSample, SysSampler};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Args)]
pub struct XmppArgs {
    /// Base URL of the server's HTTP listener (loopback only), e.g. http://127.0.0.1:5480.
    #[arg(long, default_value = "http://127.0.0.1:5480")]
    url: String,
    /// Path of the XMPP-over-WebSocket endpoint on it.
    #[arg(long, default_value = "/ws")]
    ws_path: String,
    /// The virtual host: the domain of every account.
    #[arg(long, default_value = "lt.localhost")]
    host: String,
    /// Accounts are PREFIX1, PREFIX2, … (senders, then receivers); password = account name.
    #[arg(long, default_value = "u")]
    user_prefix: String,
    /// Label of the run in the report and the series (its group).
    #[arg(long, default_value = "ejabberd")]
    label: String,
    /// Pid of the XMPP server (beam.smp): RSS, and CPU with its children.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Pid of the server's database (the postmaster): CPU of it and its backends.
    #[arg(long)]
    db_pid: Option<u32>,
    #[command(flatten)]
    load: crate::LoadArgs,
}

/// CPU spent per delivered message over the send window and the drain, from the series.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct CpuPerMessage {
    pub delivered: u64,
    pub server_cpu_s: f64,
    pub db_cpu_s: f64,
    pub server_ms_per_msg: Option<f64>,
    pub db_ms_per_msg: Option<f64>,
    pub total_ms_per_msg: Option<f64>,
}

/// Sums the per-second CPU readings (each point is one second) and divides by `delivered`.
pub fn cpu_per_message(series: &Series, delivered: u64) -> CpuPerMessage {
    let sum = |f: fn(&series::SecondPoint) -> Option<f64>| {
        series.points.iter().filter_map(f).sum::<f64>() / 100.0
    };
    let server_cpu_s = sum(|p| p.server_cpu_pct);
    let db_cpu_s = sum(|p| p.children_cpu_pct);
    let per = |s: f64| (delivered > 0).then(|| s * 1000.0 / delivered as f64);
    CpuPerMessage {
        delivered,
        server_cpu_s,
        db_cpu_s,
        server_ms_per_msg: per(server_cpu_s),
        db_ms_per_msg: per(db_cpu_s),
        total_ms_per_msg: per(server_cpu_s + db_cpu_s),
    }
}

#[derive(Serialize)]
struct XmppOut<'a> {
    report: &'a Report,
    cpu_per_message: CpuPerMessage,
}

pub async fn main(args: XmppArgs) -> Result<()> {
    let load = &args.load;
    load.validate()?;
    let base = crate::setup::check_loopback(&args.url)?;
    let mut ws_url = base
        .join(&args.ws_path)
        .context("joining --ws-path to --url")?;
    ws_url
        .set_scheme("ws")
        .map_err(|()| anyhow::anyhow!("cannot make {ws_url} a ws:// URL"))?;
    for pid in [args.server_pid, args.db_pid].into_iter().flatten() {
        crate::sys::read_vmrss_kib(Some(pid))
            .with_context(|| format!("pid {pid}: cannot read its VmRSS"))?;
    }
    crate::sys::raise_nofile(load.fds_needed(false))?;
    let target = XmppTarget {
        label: args.label.clone(),
        url: ws_url,
        host: args.host.clone(),
        prefix: args.user_prefix.clone(),
        server_pid: args.server_pid,
        db_pid: args.db_pid,
    };
    let r = run(&target, load.config(), load.agents).await?;
    let cpu = cpu_per_message(&r.series, r.messages.delivered_distinct);
    let f = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.3} ms"));
    let text = format!(
        "{}CPU/message: server {} + database {} = {} ({:.1} s + {:.1} s over {} delivered)\n",
        stats::render_report(&r),
        f(cpu.server_ms_per_msg),
        f(cpu.db_ms_per_msg),
        f(cpu.total_ms_per_msg),
        cpu.server_cpu_s,
        cpu.db_cpu_s,
        cpu.delivered
    );
    crate::emit(
        &text,
        load.json.as_ref(),
        &XmppOut {
            report: &r,
            cpu_per_message: cpu,
        },
    )?;
    crate::write_series(load.series.as_ref(), "run", crate::title_of(&r), &[&r])?;
    Ok(())
}

struct XmppTarget {
    label: String,
    url: Url,
    host: String,
    prefix: String,
    server_pid: Option<u32>,
    db_pid: Option<u32>,
}

impl XmppTarget {
    fn user(&self, n: usize) -> String {
        format!("{}{n}", self.prefix)
    }
}

// ---- frames (RFC 7395 framing: one element per websocket text frame) ----

const FRAMING_NS: &str = "urn:ietf:params:xml:ns:xmpp-framing";
/// Every client binds this resource; receivers are addressed by full JID, so no presence or
/// roster is needed for the messages to reach the session.
const RESOURCE: &str = "lt";

fn esc(s: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(s)
}

fn open_frame(host: &str) -> String {
    format!(
        r#"<open xmlns="{FRAMING_NS}" to="{}" version="1.0"/>"#,
        esc(host)
    )
}

fn auth_plain_frame(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
    format!(r#"<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">{token}</auth>"#)
}

fn bind_frame(id: &str) -> String {
    format!(
        r#"<iq xmlns="jabber:client" type="set" id="{id}"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>{RESOURCE}</resource></bind></iq>"#
    )
}

fn session_frame(id: &str) -> String {
    format!(
        r#"<iq xmlns="jabber:client" type="set" id="{id}"><session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></iq>"#
    )
}

fn message_frame(to: &str, id: u64, body: &str) -> String {
    format!(
        r#"<message xmlns="jabber:client" to="{}" type="chat" id="{id}"><body>{}</body></message>"#,
        esc(to),
        esc(body)
    )
}

const CLOSE_FRAME: &str = r#"<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>"#;

/// What a received frame is, by the local name of its top element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Open,
    Features,
    Success,
    Failure,
    Iq,
    Message,
    Presence,
    StreamError,
    Close,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Incoming {
    kind: Kind,
    id: Option<String>,
    /// The `type` attribute (`result`, `error`, `chat`, …).
    typ: Option<String>,
    /// Text of a `<body>` child (messages).
    body: Option<String>,
}

fn attr(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(Cow::into_owned))
}

fn top_element(e: &BytesStart<'_>) -> Incoming {
    let kind = match e.local_name().as_ref() {
        b"open" => Kind::Open,
        b"features" => Kind::Features,
        b"success" => Kind::Success,
        b"failure" => Kind::Failure,
        b"iq" => Kind::Iq,
        b"message" => Kind::Message,
        b"presence" => Kind::Presence,
        b"error" => Kind::StreamError,
        b"close" => Kind::Close,
        _ => Kind::Other,
    };
    Incoming {
        kind,
        id: attr(e, b"id"),
        typ: attr(e, b"type"),
        body: None,
    }
}

fn parse_frame(text: &str) -> Result<Incoming> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut top: Option<Incoming> = None;
    // Depth of the element being read: 1 = the top element, 2 = its children.
    let mut depth = 0usize;
    let mut in_body = false;
    loop {
        match reader.read_event()? {
            Event::Empty(e) if top.is_none() => return Ok(top_element(&e)),
            Event::Start(e) if top.is_none() => {
                top = Some(top_element(&e));
                depth = 1;
            }
            Event::Start(e) => {
                depth += 1;
                in_body = depth == 2 && e.local_name().as_ref() == b"body";
            }
            Event::Text(t) if in_body => {
                if let Some(top) = top.as_mut() {
                    let piece = t.unescape()?;
                    top.body.get_or_insert_with(String::new).push_str(&piece);
                }
            }
            Event::End(_) => {
                in_body = false;
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    top.context("no element in the frame")
}

// ---- the run ----

#[derive(Debug)]
struct Entry {
    sent: Instant,
    delivered: Option<Instant>,
}

#[derive(Default)]
struct Shared {
    next_id: AtomicU64,
    entries: DashMap<u64, Entry>,
    sent: AtomicU64,
    delivered: AtomicU64,
    receipts: AtomicU64,
    send_failed: AtomicU64,
    senders_alive: AtomicU64,
    receivers_alive: AtomicU64,
    errors: Mutex<ErrorStats>,
    /// First attempts per second of the window.
    offered: Vec<AtomicU64>,
    /// (when, code) of error stanzas and socket failures, for the per-second error counts.
    events: Mutex<Vec<(Instant, String)>>,
}

impl Shared {
    fn fail(&self, code: &str, f: impl FnOnce(&mut ErrorStats)) {
        let mut e = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut e);
        drop(e);
        let mut ev = self.events.lock().unwrap_or_else(|p| p.into_inner());
        ev.push((Instant::now(), code.to_owned()));
    }

    fn error_stanza(&self, what: &str) {
        self.fail(what, |e| {
            *e.error_frames.entry(what.to_owned()).or_default() += 1;
        });
    }
}

/// Reads frames until one of `want` arrives; error stanzas and failures end the login.
async fn expect(ws: &mut Ws, want: Kind, deadline: Instant) -> Result<Incoming> {
    loop {
        let m = match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => bail!("timed out waiting for {want:?}"),
            Ok(None) => bail!("socket closed waiting for {want:?}"),
            Ok(Some(m)) => m?,
        };
        let text = match m {
            Message::Text(t) => t,
            Message::Close(c) => bail!("closed waiting for {want:?}: {c:?}"),
            _ => continue,
        };
        let f = parse_frame(&text).with_context(|| format!("unparseable frame {text:?}"))?;
        if f.kind == want {
            return Ok(f);
        }
        match f.kind {
            Kind::Failure | Kind::StreamError | Kind::Close => {
                bail!("{want:?} expected, got {text}")
            }
            Kind::Iq if f.typ.as_deref() == Some("error") => bail!("iq error: {text}"),
            _ => {}
        }
    }
}

/// TCP + upgrade + stream open, SASL PLAIN, stream restart, resource bind and session.
async fn login(url: &Url, host: &str, user: &str, cfg: &crate::load::LoadConfig) -> Result<Ws> {
    let mut req = url.as_str().into_client_request()?;
    req.headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("xmpp"));
    let (mut ws, _) = match timeout(
        cfg.connect_timeout,
        tokio_tungstenite::connect_async_with_config(req, None, true),
    )
    .await
    {
        Ok(r) => r?,
        Err(_) => bail!("connect timed out after {:?}", cfg.connect_timeout),
    };
    let deadline = Instant::now() + cfg.connect_timeout;
    ws.send(Message::Text(open_frame(host))).await?;
    expect(&mut ws, Kind::Open, deadline).await?;
    expect(&mut ws, Kind::Features, deadline).await?;
    ws.send(Message::Text(auth_plain_frame(user, user))).await?;
    expect(&mut ws, Kind::Success, deadline)
        .await
        .with_context(|| format!("SASL PLAIN as {user}"))?;
    ws.send(Message::Text(open_frame(host))).await?;
    expect(&mut ws, Kind::Open, deadline).await?;
    expect(&mut ws, Kind::Features, deadline).await?;
    ws.send(Message::Text(bind_frame("bind"))).await?;
    expect(&mut ws, Kind::Iq, deadline).await?;
    ws.send(Message::Text(session_frame("sess"))).await?;
    expect(&mut ws, Kind::Iq, deadline).await?;
    Ok(ws)
}

/// Counts what a frame outside the login says; `false` = the stream is over.
fn on_frame(m: Message, shared: &Shared, receiver: bool) -> bool {
    let text = match m {
        Message::Text(t) => t,
        Message::Close(c) => {
            let code = c.map_or("no code".to_owned(), |f| u16::from(f.code).to_string());
            shared.fail("close", |e| {
                *e.unexpected_closes.entry(code).or_default() += 1
            });
            return false;
        }
        // Pings are answered by tungstenite itself.
        _ => return true,
    };
    let f = match parse_frame(&text) {
        Ok(f) => f,
        Err(_) => {
            shared.fail("unparseable", |e| e.unparseable_frames += 1);
            return true;
        }
    };
    match f.kind {
        Kind::Message if f.typ.as_deref() == Some("error") => shared.error_stanza("message-error"),
        Kind::Message if receiver => {
            let now = Instant::now();
            if let Some(mut e) =
                f.id.and_then(|i| i.parse::<u64>().ok())
                    .and_then(|i| shared.entries.get_mut(&i))
            {
                shared.receipts.fetch_add(1, Ordering::Relaxed);
                if e.delivered.is_none() {
                    e.delivered = Some(now);
                    shared.delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Kind::StreamError => {
            shared.error_stanza("stream-error");
            return false;
        }
        Kind::Close => {
            shared.fail("close", |e| {
                *e.unexpected_closes.entry("xmpp close".into()).or_default() += 1
            });
            return false;
        }
        Kind::Iq if f.typ.as_deref() == Some("error") => shared.error_stanza("iq-error"),
        _ => {}
    }
    true
}

async fn read(ws: &mut Ws, shared: &Shared) -> Option<Message> {
    match ws.next().await {
        None => {
            shared.fail("close", |e| {
                *e.unexpected_closes.entry("eof".into()).or_default() += 1
            });
            None
        }
        Some(Err(_)) => {
            shared.fail("transport", |e| e.transport_errors += 1);
            None
        }
        Some(Ok(m)) => Some(m),
    }
}

async fn close(ws: &mut Ws) {
    let deadline = Instant::now() + Duration::from_secs(2);
    let _ = tokio::time::timeout_at(deadline, ws.send(Message::Text(CLOSE_FRAME.into()))).await;
    let _ = tokio::time::timeout_at(deadline, ws.close(None)).await;
    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Message::Close(_) = m {
            break;
        }
    }
}

async fn receiver_task(mut ws: Ws, shared: Arc<Shared>, stop: CancellationToken) {
    shared.receivers_alive.fetch_add(1, Ordering::Relaxed);
    let shutdown = loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => break true,
            m = read(&mut ws, &shared) => {
                if !m.is_some_and(|m| on_frame(m, &shared, true)) {
                    break false;
                }
            }
        }
    };
    shared.receivers_alive.fetch_sub(1, Ordering::Relaxed);
    if shutdown {
        close(&mut ws).await;
    }
}

struct SenderCtx {
    to: String,
    cfg: Arc<crate::load::LoadConfig>,
    shared: Arc<Shared>,
    go: watch::Receiver<Option<(Instant, Instant)>>,
    stop: CancellationToken,
}

/// The same schedule as `run`'s visitors: a random first send in the first mean interval,
/// then intervals jittered uniformly in [0.5, 1.5) × the mean, from the planned times.
async fn sender_task(mut ws: Ws, mut ctx: SenderCtx) {
    let (shared, cfg) = (ctx.shared.clone(), ctx.cfg.clone());
    shared.senders_alive.fetch_add(1, Ordering::Relaxed);
    let mut rng = SmallRng::from_entropy();
    let mean = Duration::from_secs_f64(1.0 / cfg.rate_per_visitor);
    let mut waiting_for_go = true;
    let mut next_send: Option<Instant> = None;
    let (mut start, mut window_end) = (Instant::now(), Instant::now());
    let shutdown = loop {
        tokio::select! {
            biased;
            _ = ctx.stop.cancelled() => break true,
            changed = ctx.go.changed(), if waiting_for_go => match changed {
                Err(_) => waiting_for_go = false,
                Ok(()) => if let Some((s, e)) = *ctx.go.borrow_and_update() {
                    waiting_for_go = false;
                    (start, window_end) = (s, e);
                    next_send = Some(s + mean.mul_f64(rng.gen_range(0.0..1.0)));
                },
            },
            _ = sleep_until(next_send.unwrap_or(window_end)), if next_send.is_some() => {
                let now = Instant::now();
                if now >= window_end {
                    next_send = None;
                    continue;
                }
                let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
                let body = crate::frames::message_text(&format!("lt-{id}"), cfg.message_bytes);
                let frame = message_frame(&ctx.to, id, &body);
                let sent = Instant::now();
                let sec = (sent.saturating_duration_since(start).as_secs() as usize)
                    .min(shared.offered.len().saturating_sub(1));
                if let Some(c) = shared.offered.get(sec) {
                    c.fetch_add(1, Ordering::Relaxed);
                }
                shared.entries.insert(id, Entry { sent, delivered: None });
                match timeout(cfg.send_timeout, ws.send(Message::Text(frame))).await {
                    Ok(Ok(())) => {
                        shared.sent.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        shared.entries.remove(&id);
                        shared.send_failed.fetch_add(1, Ordering::Relaxed);
                        shared.fail("send failure", |e| e.send_failures += 1);
                        break false;
                    }
                }
                let planned = next_send.unwrap_or(sent);
                next_send = Some(planned + mean.mul_f64(rng.gen_range(0.5..1.5)));
            }
            m = read(&mut ws, &shared) => {
                if !m.is_some_and(|m| on_frame(m, &shared, false)) {
                    break false;
                }
            }
        }
    };
    shared.senders_alive.fetch_sub(1, Ordering::Relaxed);
    if shutdown {
        close(&mut ws).await;
    }
}

/// Logs in `users` in batches of `cfg.ramp_batch`; each session is handed to `spawn`.
async fn ramp(
    target: &XmppTarget,
    users: std::ops::RangeInclusive<usize>,
    cfg: &crate::load::LoadConfig,
    hist: &mut hdrhistogram::Histogram<u64>,
    first_failure: &mut Option<String>,
    mut spawn: impl FnMut(usize, Ws),
) -> (u64, u64) {
    let (mut ok, mut failed) = (0u64, 0u64);
    let users: Vec<usize> = users.collect();
    for (b, batch) in users.chunks(cfg.ramp_batch).enumerate() {
        if b > 0 {
            tokio::time::sleep(cfg.ramp_pause).await;
        }
        let logins = batch.iter().map(|&n| {
            let user = target.user(n);
            async move {
                let t0 = Instant::now();
                (
                    n,
                    login(&target.url, &target.host, &user, cfg).await,
                    t0.elapsed(),
                )
            }
        });
        for (n, res, took) in futures_util::future::join_all(logins).await {
            match res {
                Ok(ws) => {
                    ok += 1;
                    stats::record(hist, took);
                    spawn(n, ws);
                }
                Err(e) => {
                    failed += 1;
                    first_failure.get_or_insert_with(|| format!("{}: {e:#}", target.user(n)));
                }
            }
        }
    }
    (ok, failed)
}

/// The server sampler's reading, with the server's CPU including its children and the
/// database cluster's (postmaster and backends) as `children_cpu_pct`.
fn merge_samples(server: Vec<SysSample>, db: &[SysSample]) -> Vec<SysSample> {
    let add = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
    };
    server
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let d = db.get(i).copied().unwrap_or_default();
            SysSample {
                server_cpu_pct: add(s.server_cpu_pct, s.children_cpu_pct),
                children_cpu_pct: add(d.server_cpu_pct, d.children_cpu_pct),
                ..s
            }
        })
        .collect()
}

async fn run(
    target: &XmppTarget,
    cfg: crate::load::LoadConfig,
    receivers: usize,
) -> Result<Report> {
    let cfg = Arc::new(cfg);
    let series_secs = (cfg.duration + cfg.lost_after).as_secs() as usize + 2;
    let shared = Arc::new(Shared {
        offered: (0..series_secs.max(1)).map(|_| AtomicU64::new(0)).collect(),
        ..Shared::default()
    });
    let stop = CancellationToken::new();
    let (go_tx, go_rx) = watch::channel::<Option<(Instant, Instant)>>(None);
    let mut set = JoinSet::new();
    let mut connect_hist = stats::new_histogram();
    let mut first_failure = None;
    let log = |s: String| {
        if !cfg.quiet {
            eprintln!("[{}] {s}", target.label);
        }
    };
    let server_rss = target.server_pid.map(|p| RssSampler::start(Some(p)));
    let self_rss = RssSampler::start(None);
    let ramp_start = Instant::now();

    let senders = cfg.visitors;
    let first_receiver = senders + 1;
    let (receivers_ok, receivers_failed) = ramp(
        target,
        first_receiver..=senders + receivers,
        &cfg,
        &mut connect_hist,
        &mut first_failure,
        |_, ws| {
            set.spawn(receiver_task(ws, shared.clone(), stop.clone()));
        },
    )
    .await;
    log(format!(
        "{receivers_ok} receivers logged in, {receivers_failed} failed"
    ));
    if receivers_ok == 0 {
        stop.cancel();
        bail!(
            "no receiver logged in to {}: {}",
            target.url,
            first_failure.unwrap_or_default()
        );
    }
    let (senders_ok, senders_failed) = ramp(
        target,
        1..=senders,
        &cfg,
        &mut connect_hist,
        &mut first_failure,
        |n, ws| {
            let to = format!(
                "{}@{}/{RESOURCE}",
                target.user(first_receiver + (n - 1) % receivers),
                target.host
            );
            let ctx = SenderCtx {
                to,
                cfg: cfg.clone(),
                shared: shared.clone(),
                go: go_rx.clone(),
                stop: stop.clone(),
            };
            set.spawn(sender_task(ws, ctx));
        },
    )
    .await;
    let ramp_s = ramp_start.elapsed().as_secs_f64();
    log(format!(
        "{senders_ok} senders logged in, {senders_failed} failed (ramp-up {ramp_s:.1} s)"
    ));
    if senders_ok == 0 {
        stop.cancel();
        bail!("no sender logged in: {}", first_failure.unwrap_or_default());
    }

    let start = Instant::now();
    let window_end = start + cfg.duration;
    let sys = SysSampler::start(target.server_pid, start);
    let db_sys = target.db_pid.map(|p| SysSampler::start(Some(p), start));
    let _ = go_tx.send(Some((start, window_end)));
    let mut progress =
        tokio::time::interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
    let mut last = [0u64; 2];
    loop {
        tokio::select! {
            _ = sleep_until(window_end) => break,
            _ = progress.tick() => {
                let now = [shared.sent.load(Ordering::Relaxed), shared.delivered.load(Ordering::Relaxed)];
                log(format!(
                    "t+{:.0}s  last second: sent {} delivered {}  (totals: sent {} delivered {})",
                    start.elapsed().as_secs_f64(),
                    now[0] - last[0], now[1] - last[1], now[0], now[1]
                ));
                last = now;
            }
        }
    }
    let window_s = start.elapsed().as_secs_f64();
    let receipts_window = shared.receipts.load(Ordering::Relaxed);
    let distinct_window = shared.delivered.load(Ordering::Relaxed);
    let senders_alive = shared.senders_alive.load(Ordering::Relaxed);
    let receivers_alive = shared.receivers_alive.load(Ordering::Relaxed);
    let drain_deadline = window_end + cfg.lost_after;
    while shared.delivered.load(Ordering::Relaxed) < shared.sent.load(Ordering::Relaxed)
        && Instant::now() < drain_deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let covered_s = start.elapsed().as_secs_f64();
    let db_samples = match db_sys {
        Some(s) => s.finish().await,
        None => Vec::new(),
    };
    let sys_samples = merge_samples(sys.finish().await, &db_samples);
    log(format!(
        "window over after {window_s:.1} s, drained in {:.1} s; closing",
        window_end.elapsed().as_secs_f64()
    ));
    stop.cancel();
    if timeout(Duration::from_secs(10), async {
        while set.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
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
            ack: None,
            delivered: e.delivered.map(|d| d.saturating_duration_since(e.sent)),
        })
        .collect();
    let (mut messages, deliver_hist, _) = stats::summarize(timings, cfg.lost_after);
    // The protocol has no ack here; a missing one is not a failure.
    messages.ack_timeouts = 0;
    let since = |t: Instant| t.saturating_duration_since(start);
    let msgs: Vec<MsgTimes> = shared
        .entries
        .iter()
        .map(|e| MsgTimes {
            sent: since(e.sent),
            ack: None,
            delivered: e.delivered.map(since),
        })
        .collect();
    let offered: Vec<u64> = shared
        .offered
        .iter()
        .map(|a| a.load(Ordering::Relaxed))
        .collect();
    let events: Vec<(f64, String)> = shared
        .events
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(at, code)| (since(*at).as_secs_f64(), code.clone()))
        .collect();
    let n_secs = if covered_s - window_s < 0.5 {
        window_s.round()
    } else {
        covered_s.ceil()
    };
    let series = series::build(
        &target.label,
        cfg.visitors as f64 * cfg.rate_per_visitor,
        window_s,
        &SeriesInput {
            n_secs: n_secs as usize,
            msgs: &msgs,
            offered: &offered,
            resends: &[],
            errors: &events,
            sys: &sys_samples,
        },
    );
    let errors = shared
        .errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let errors_total = errors.socket_errors() + receivers_failed + senders_failed + messages.lost;
    Ok(Report {
        label: target.label.clone(),
        target: format!(
            "XMPP over WebSocket {} (host {}), one-to-one chat to full JIDs, no acks",
            target.url, target.host
        ),
        visitors: cfg.visitors,
        agents: receivers,
        rate_per_visitor: cfg.rate_per_visitor,
        offered_msgs_per_s: cfg.visitors as f64 * cfg.rate_per_visitor,
        window_s,
        ramp_s,
        lost_after_s: cfg.lost_after.as_secs_f64(),
        connects: ConnectStats {
            visitors_ok: senders_ok,
            visitors_failed: senders_failed,
            agents_ok: receivers_ok,
            agents_failed: receivers_failed,
            connect_latency: LatencySummary::from_histogram(&connect_hist),
            first_failure,
        },
        messages,
        send_failed: shared.send_failed.load(Ordering::Relaxed),
        busy_refusals: 0,
        resends: 0,
        series,
        agent_receipts_window: receipts_window,
        agent_receipts_total: shared.receipts.load(Ordering::Relaxed),
        delivered_msgs_per_s: receipts_window as f64 / window_s,
        distinct_delivered_per_s: distinct_window as f64 / window_s,
        visitor_echoes: 0,
        agent_session_frames: 0,
        // XMPP receivers do not reconnect or resume: a broken one counts as failed.
        agent_delivery: AgentDelivery::default(),
        agents_alive_at_end: receivers_alive,
        visitors_alive_at_end: senders_alive,
        latency_visitor_to_agent: LatencySummary::from_histogram(&deliver_hist),
        latency_ack: LatencySummary::default(),
        errors,
        errors_total,
        rss: RssStats {
            server_source: match target.db_pid {
                Some(_) => "VmRSS of --server-pid (the database's is not included)".to_owned(),
                None => "VmRSS of --server-pid".to_owned(),
            },
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

    #[test]
    fn a_message_frame_parses_back_to_its_id_and_escaped_body() {
        let f = parse_frame(&message_frame("u3@h/lt", 42, "a <b> & 'c'")).expect("parse");
        assert_eq!(f.kind, Kind::Message);
        assert_eq!(f.id.as_deref(), Some("42"));
        assert_eq!(f.typ.as_deref(), Some("chat"));
        assert_eq!(f.body.as_deref(), Some("a <b> & 'c'"));
    }

    #[test]
    fn the_body_is_found_among_the_archive_s_added_children() {
        let text = r#"<message xmlns="jabber:client" from="u1@h/lt" to="u3@h/lt" type="chat" id="7"><archived by="u3@h" id="1" xmlns="urn:xmpp:mam:tmp"/><stanza-id by="u3@h" id="1" xmlns="urn:xmpp:sid:0"/><body>loadtest lt-7 xx</body></message>"#;
        let f = parse_frame(text).expect("parse");
        assert_eq!((f.kind, f.id.as_deref()), (Kind::Message, Some("7")));
        assert_eq!(f.body.as_deref(), Some("loadtest lt-7 xx"));
    }

    #[test]
    fn stream_frames_are_told_apart_by_their_local_name() {
        let open = r#"<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" from="h" id="x" version="1.0" xml:lang="en"/>"#;
        assert_eq!(parse_frame(open).expect("open").kind, Kind::Open);
        let features = r#"<stream:features xmlns:stream="http://etherx.jabber.org/streams"><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>PLAIN</mechanism></mechanisms></stream:features>"#;
        assert_eq!(
            parse_frame(features).expect("features").kind,
            Kind::Features
        );
        let ok = r#"<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>"#;
        assert_eq!(parse_frame(ok).expect("success").kind, Kind::Success);
        let err = r#"<stream:error xmlns:stream="http://etherx.jabber.org/streams"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>"#;
        assert_eq!(parse_frame(err).expect("error").kind, Kind::StreamError);
        let iq = r#"<iq xmlns="jabber:client" type="result" id="bind"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><jid>u1@h/lt</jid></bind></iq>"#;
        let f = parse_frame(iq).expect("iq");
        assert_eq!(
            (f.kind, f.typ.as_deref(), f.body),
            (Kind::Iq, Some("result"), None)
        );
    }

    #[test]
    fn sasl_plain_carries_the_user_and_password_after_nul_bytes() {
        // base64("\0u1\0u1")
        assert!(auth_plain_frame("u1", "u1").contains(">AHUxAHUx<"));
    }

    #[test]
    fn cpu_per_message_sums_the_seconds_of_both_processes() {
        let p = |s: f64, d: f64| series::SecondPoint {
            server_cpu_pct: Some(s),
            children_cpu_pct: Some(d),
            ..Default::default()
        };
        let s = Series {
            points: vec![p(50.0, 20.0), p(30.0, 20.0), series::SecondPoint::default()],
            ..Default::default()
        };
        let c = cpu_per_message(&s, 400);
        assert!((c.server_cpu_s - 0.8).abs() < 1e-9);
        assert!((c.db_cpu_s - 0.4).abs() < 1e-9);
        assert_eq!(
            c.total_ms_per_msg.map(|v| (v * 1000.0).round()),
            Some(3000.0)
        );
        assert_eq!(cpu_per_message(&s, 0).total_ms_per_msg, None);
    }

    #[test]
    fn the_database_s_cpu_becomes_the_children_s_share() {
        let server = vec![SysSample {
            server_cpu_pct: Some(40.0),
            children_cpu_pct: Some(1.0),
            server_rss_kib: Some(9),
            ..Default::default()
        }];
        let db = [SysSample {
            server_cpu_pct: Some(2.0),
            children_cpu_pct: Some(13.0),
            ..Default::default()
        }];
        let m = merge_samples(server, &db);
        assert_eq!(m[0].server_cpu_pct, Some(41.0));
        assert_eq!(m[0].children_cpu_pct, Some(15.0));
        assert_eq!(m[0].server_rss_kib, Some(9));
    }
}
