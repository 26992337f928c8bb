//! `loadtest flow-bench`: automation flows under chat load. One project gets two web channels:
//! the chat channel, loaded by `load::run` (visitors → agents, as `loadtest run`), and a flow
//! channel whose sessions open hosted and run a 5-step flow (message → message with buttons →
//! question → add label → end, keyword trigger `start`). Three phases, one server, back to back:
//! chat only, chat while N flow visitors go through the flow again and again, chat only again —
//! so the effect of the flows on visitor → agent latency is a ratio measured side by side.
//! Each flow step is timed on the flow visitor's socket: its message sent → the bot's answer
//! delivered (trigger → first bot message; click → question; answer → end message).

use crate::load::{self, LoadConfig, Target};
use crate::setup;
use crate::stats::{self, LatencySummary, Report};
use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use url::Url;

const END_TEXT: &str = "Thanks, all done";
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

pub struct FlowBenchConfig {
    pub base: Url,
    pub email: String,
    pub password: String,
    pub target: Target,
    pub load: LoadConfig,
    pub flow_visitors: usize,
    /// A flow visitor's pause before each of its answers (jittered ±50 %).
    pub think: Duration,
}

#[derive(Serialize)]
pub struct FlowBenchReport {
    pub flow_visitors: usize,
    pub think_ms: u64,
    pub runs_started: u64,
    pub runs_completed: u64,
    pub step_timeouts: u64,
    pub socket_errors: u64,
    /// "start" sent → the flow's first bot message delivered to the visitor.
    pub trigger_to_first_message: LatencySummary,
    /// Button click sent → the question delivered.
    pub click_to_question: LatencySummary,
    /// Answer sent → the end step's message delivered.
    pub answer_to_end: LatencySummary,
    /// All three together.
    pub flow_step: LatencySummary,
    pub chat_only_before: Report,
    pub chat_with_flows: Report,
    pub chat_only_after: Report,
    /// visitor → agent p50 and p95 with flows running / the mean of the two chat-only phases.
    pub visitor_to_agent_p50_ratio: Option<f64>,
    pub visitor_to_agent_p95_ratio: Option<f64>,
}

#[derive(Default)]
struct Tally {
    started: AtomicU64,
    completed: AtomicU64,
    timeouts: AtomicU64,
    errors: AtomicU64,
    hist: Mutex<[Option<Histogram<u64>>; 3]>,
}

impl Tally {
    fn record(&self, which: usize, d: Duration) {
        let mut g = self.hist.lock().unwrap_or_else(|p| p.into_inner());
        stats::record(g[which].get_or_insert_with(stats::new_histogram), d);
    }
}

fn flow_document(channel_id: i64) -> Value {
    json!({
        "trigger": {"kind": "keyword", "keywords": ["start"], "matching": "exact"},
        "conditions": {"channels": [channel_id], "session_states": ["hosted"]},
        "start": "welcome",
        "steps": [
            {"id": "welcome", "type": "message", "text": "Welcome to the bench",
             "position": {"x": 0, "y": 0}},
            {"id": "pick", "type": "message", "text": "Pick one",
             "buttons": [{"id": "a", "title": "Option A"}, {"id": "b", "title": "Option B"}],
             "position": {"x": 0, "y": 120}},
            {"id": "name", "type": "question", "text": "Your name?", "answer": "text",
             "position": {"x": 0, "y": 240}},
            {"id": "label", "type": "add_label", "label": "bench", "position": {"x": 0, "y": 360}},
            {"id": "done", "type": "end", "text": END_TEXT, "position": {"x": 0, "y": 480}}
        ],
        "edges": [
            {"from": "welcome", "port": "next", "to": "pick"},
            {"from": "pick", "port": "a", "to": "name"},
            {"from": "pick", "port": "b", "to": "name"},
            {"from": "name", "port": "next", "to": "label"},
            {"from": "name", "port": "fallback", "to": "done"},
            {"from": "label", "port": "next", "to": "done"}
        ]
    })
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: Url,
    body: Value,
    what: &str,
) -> Result<Value> {
    let resp = http
        .request(method, url)
        .json(&body)
        .send()
        .await
        .with_context(|| what.to_owned())?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{what}: HTTP {status}: {text}");
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The project of the prepared target, a hosted flow channel and the published, enabled flow;
/// returns the flow channel's visitor URL.
async fn set_up_flow(cfg: &FlowBenchConfig) -> Result<Url> {
    let agent_url = &cfg
        .target
        .agents
        .first()
        .context("the target has no agents")?
        .0;
    let pid = agent_url
        .query_pairs()
        .find(|(k, _)| k == "project")
        .map(|(_, v)| v.into_owned())
        .context("the agent URL names no project")?;
    let http = setup::cookie_client(Duration::from_secs(60))?;
    let api = |p: &str| cfg.base.join(&format!("/api/projects/{pid}{p}"));
    call(
        &http,
        reqwest::Method::POST,
        cfg.base.join("/api/auth/login")?,
        json!({"email": cfg.email, "password": cfg.password}),
        "logging in",
    )
    .await?;
    let channel = call(
        &http,
        reqwest::Method::POST,
        api("/channels")?,
        json!({"kind": "web", "name": "flow bench"}),
        "creating the flow channel",
    )
    .await?;
    let cid = channel["id"].as_i64().context("channel id")?;
    let key = channel["widget_key"]
        .as_str()
        .context("widget key")?
        .to_owned();
    call(
        &http,
        reqwest::Method::PATCH,
        api("/settings/hosting")?,
        json!({"new_sessions_hosted": true}),
        "opening new sessions hosted",
    )
    .await?;
    let flow = call(
        &http,
        reqwest::Method::POST,
        api("/flows")?,
        json!({"name": "bench flow", "draft": flow_document(cid)}),
        "creating the flow",
    )
    .await?;
    let fid = flow["id"].as_i64().context("flow id")?;
    call(
        &http,
        reqwest::Method::POST,
        api(&format!("/flows/{fid}/publish"))?,
        json!({}),
        "publishing the flow",
    )
    .await?;
    call(
        &http,
        reqwest::Method::PATCH,
        api(&format!("/flows/{fid}"))?,
        json!({"enabled": true}),
        "enabling the flow",
    )
    .await?;
    let mut url = cfg.base.join("/ws/visitor")?;
    url.set_scheme("ws")
        .map_err(|()| anyhow!("cannot make a ws:// URL of {}", cfg.base))?;
    url.query_pairs_mut().append_pair("key", &key);
    Ok(url)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next bot `message` frame for which `want` holds; other frames are skipped.
async fn bot_message(ws: &mut Ws, want: impl Fn(&Value) -> bool) -> Result<Value> {
    loop {
        let msg = ws.next().await.ok_or_else(|| anyhow!("socket closed"))??;
        let Message::Text(text) = msg else { continue };
        let v: Value = serde_json::from_str(&text)?;
        if v["type"] == "error" {
            bail!("error frame: {v}");
        }
        if v["type"] == "message" && v["sender"] == "bot" && want(&v) {
            return Ok(v);
        }
    }
}

async fn send(ws: &mut Ws, frame: Value) -> Result<()> {
    ws.send(Message::Text(frame.to_string())).await?;
    Ok(())
}

/// One flow visitor: "start", click a button, answer, see the end; again until stopped.
async fn flow_visitor(
    url: Url,
    idx: usize,
    think: Duration,
    tally: Arc<Tally>,
    stop: CancellationToken,
) {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(idx as u64);
    let Ok(Ok((mut ws, _))) =
        timeout(STEP_TIMEOUT, tokio_tungstenite::connect_async(url.as_str())).await
    else {
        tally.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let mut pause = move || {
        let ms = think.as_millis() as f64 * rng.gen_range(0.5..1.5);
        tokio::time::sleep(Duration::from_millis(ms as u64))
    };
    let mut n = 0u64;
    while !stop.is_cancelled() {
        n += 1;
        let cid = |k: &str| format!("f{idx}-{n}-{k}");
        let round = async {
            let t0 = Instant::now();
            send(
                &mut ws,
                json!({"type": "send", "client_id": cid("s"), "text": "start"}),
            )
            .await?;
            tally.started.fetch_add(1, Ordering::Relaxed);
            bot_message(&mut ws, |_| true).await?;
            tally.record(0, t0.elapsed());
            let buttons = bot_message(&mut ws, |m| m["content"]["buttons"].is_array()).await?;
            pause().await;
            let b = &buttons["content"]["buttons"][0];
            let t1 = Instant::now();
            send(&mut ws, json!({"type": "send", "client_id": cid("b"),
                                 "text": b["title"], "button": {"message_id": buttons["message_id"], "id": b["id"]}})).await?;
            bot_message(&mut ws, |_| true).await?;
            tally.record(1, t1.elapsed());
            pause().await;
            let t2 = Instant::now();
            send(
                &mut ws,
                json!({"type": "send", "client_id": cid("a"), "text": "Ann"}),
            )
            .await?;
            bot_message(&mut ws, |m| m["text"] == END_TEXT).await?;
            tally.record(2, t2.elapsed());
            tally.completed.fetch_add(1, Ordering::Relaxed);
            pause().await;
            anyhow::Ok(())
        };
        tokio::select! {
            r = timeout(STEP_TIMEOUT * 3, round) => match r {
                Ok(Ok(())) => {}
                Ok(Err(_)) => { tally.errors.fetch_add(1, Ordering::Relaxed); return; }
                Err(_) => { tally.timeouts.fetch_add(1, Ordering::Relaxed); return; }
            },
            () = stop.cancelled() => break,
        }
    }
    let _ = ws.close(None).await;
}

fn summary(h: &Option<Histogram<u64>>) -> LatencySummary {
    h.as_ref()
        .map(LatencySummary::from_histogram)
        .unwrap_or_default()
}

fn ratio(with: f64, a: f64, b: f64) -> Option<f64> {
    let base = (a + b) / 2.0;
    (base > 0.0).then(|| with / base)
}

pub async fn run(cfg: FlowBenchConfig) -> Result<FlowBenchReport> {
    let flow_url = set_up_flow(&cfg).await?;
    eprintln!("[flows] flow published on {flow_url}");
    let before = load::run(cfg.target.clone(), cfg.load.clone()).await?;
    eprint!("{}", stats::render_report(&before));

    let tally = Arc::new(Tally::default());
    let stop = CancellationToken::new();
    let mut set = JoinSet::new();
    for i in 0..cfg.flow_visitors {
        set.spawn(flow_visitor(
            flow_url.clone(),
            i,
            cfg.think,
            tally.clone(),
            stop.clone(),
        ));
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let with = load::run(cfg.target.clone(), cfg.load.clone()).await?;
    stop.cancel();
    while set.join_next().await.is_some() {}
    eprint!("{}", stats::render_report(&with));

    let after = load::run(cfg.target.clone(), cfg.load.clone()).await?;
    eprint!("{}", stats::render_report(&after));

    let h = tally.hist.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut all = stats::new_histogram();
    for x in h.iter().flatten() {
        all.add(x).map_err(|e| anyhow!("merging histograms: {e}"))?;
    }
    let l = |r: &Report| r.latency_visitor_to_agent;
    Ok(FlowBenchReport {
        flow_visitors: cfg.flow_visitors,
        think_ms: cfg.think.as_millis() as u64,
        runs_started: tally.started.load(Ordering::Relaxed),
        runs_completed: tally.completed.load(Ordering::Relaxed),
        step_timeouts: tally.timeouts.load(Ordering::Relaxed),
        socket_errors: tally.errors.load(Ordering::Relaxed),
        trigger_to_first_message: summary(&h[0]),
        click_to_question: summary(&h[1]),
        answer_to_end: summary(&h[2]),
        flow_step: LatencySummary::from_histogram(&all),
        visitor_to_agent_p50_ratio: ratio(l(&with).p50_ms, l(&before).p50_ms, l(&after).p50_ms),
        visitor_to_agent_p95_ratio: ratio(l(&with).p95_ms, l(&before).p95_ms, l(&after).p95_ms),
        chat_only_before: before,
        chat_with_flows: with,
        chat_only_after: after,
    })
}

pub fn render(r: &FlowBenchReport) -> String {
    let line = |name: &str, s: &LatencySummary| {
        format!(
            "{name:<28} p50 {:>8.2} ms  p95 {:>8.2} ms  p99 {:>8.2} ms  n={}\n",
            s.p50_ms, s.p95_ms, s.p99_ms, s.count
        )
    };
    let chat = |name: &str, r: &Report| line(name, &r.latency_visitor_to_agent);
    let mut out = format!(
        "flow visitors {} (think {} ms): runs started {}, completed {}, step timeouts {}, socket errors {}\n",
        r.flow_visitors, r.think_ms, r.runs_started, r.runs_completed, r.step_timeouts, r.socket_errors
    );
    out += &line("trigger → first bot message", &r.trigger_to_first_message);
    out += &line("click → question", &r.click_to_question);
    out += &line("answer → end message", &r.answer_to_end);
    out += &line("any flow step", &r.flow_step);
    out += &chat("visitor→agent, chat only", &r.chat_only_before);
    out += &chat("visitor→agent, with flows", &r.chat_with_flows);
    out += &chat("visitor→agent, chat only 2", &r.chat_only_after);
    let f = |x: Option<f64>| x.map_or("n/a".to_owned(), |v| format!("{v:.2}"));
    out += &format!(
        "visitor→agent with flows / chat only: p50 {}  p95 {}\n",
        f(r.visitor_to_agent_p50_ratio),
        f(r.visitor_to_agent_p95_ratio)
    );
    out
}
