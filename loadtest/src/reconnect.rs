//! `reconnect`: N visitors with a session and some messages come back (their token) within a
//! window and resume. Each resume must be complete: the `hello` names the same session and
//! its last seq, and `resume` after a point delivers exactly the seqs after it, in order,
//! then `ok` (docs/protocol.md, "Reconnecting without loss").

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use futures_util::{stream, StreamExt};
use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::frames::{self, VisitorSend};
use crate::stats::{self, LatencySummary};
use crate::vsock;

pub struct ReconnectConfig {
    pub visitor_url: Url,
    pub visitors: usize,
    /// Messages each visitor sends before it goes away.
    pub messages: usize,
    /// All reconnects start within this window.
    pub within: Duration,
    pub source_addrs: u8,
    pub concurrency: usize,
    pub timeout: Duration,
    pub quiet: bool,
}

/// A visitor as it left: its token, session and the seqs its messages got.
#[derive(Debug, Clone)]
struct Left {
    token: String,
    session_id: i64,
    last_seq: i64,
}

/// What one resume must deliver: `after + 1 ..= last`, in order, each once.
pub fn check_resume(after: i64, last: i64, got: &[i64]) -> Result<(), String> {
    let want: Vec<i64> = (after + 1..=last).collect();
    if got == want.as_slice() {
        return Ok(());
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(d) = got.iter().find(|s| !seen.insert(**s)) {
        return Err(format!("seq {d} twice"));
    }
    if let Some(m) = want.iter().find(|s| !got.contains(s)) {
        return Err(format!("seq {m} missing"));
    }
    if let Some(x) = got.iter().find(|s| !want.contains(s)) {
        return Err(format!("seq {x} not after {after}"));
    }
    Err("seqs out of order".to_owned())
}

/// Which resume point visitor `i` uses: 0, 1, … up to one before its last seq, so the
/// run covers full history as well as short tails.
pub fn resume_point(i: usize, last_seq: i64) -> i64 {
    if last_seq <= 0 {
        0
    } else {
        (i as i64) % last_seq
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ReconnectReport {
    pub visitors: usize,
    pub messages_each: usize,
    pub within_s: f64,
    /// Phase 1: visitors that connected, sent and got every ack.
    pub prepared: u64,
    pub prepare_failed: u64,
    pub prepare_first_failure: Option<String>,
    pub reconnects: u64,
    pub resumes_complete: u64,
    /// Failures by kind (connect, hello, resume incomplete, timeout, …).
    pub errors: BTreeMap<String, u64>,
    pub errors_total: u64,
    pub first_error: Option<String>,
    /// From the first scheduled reconnect to the last completed resume.
    pub span_s: f64,
    pub reconnect_latency: LatencySummary,
    pub resume_latency: LatencySummary,
    /// Sockets the server closed while the reconnected visitors were held open.
    pub dropped_after: u64,
}

/// Phase 1: connect, send `messages`, wait for every ack, close.
async fn prepare_one(
    url: Url,
    addr: SocketAddr,
    src: Option<std::net::IpAddr>,
    i: usize,
    messages: usize,
    t: Duration,
) -> Result<Left> {
    let mut ws = vsock::open(&url, addr, src, t).await?;
    let deadline = Instant::now() + t;
    let hello = vsock::next_text(&mut ws, deadline).await?;
    let h = frames::parse_raw(&hello)?;
    if h.kind != "hello" {
        bail!("expected hello, got {}", h.kind);
    }
    let token = h
        .visitor_token
        .map(|t| t.into_owned())
        .ok_or_else(|| anyhow!("hello without a visitor_token"))?;
    for j in 0..messages {
        let cid = format!("rc-{i}-{j}");
        let text = frames::message_text(&cid, 32);
        vsock::send_text(&mut ws, VisitorSend::new(&cid, &text).to_json(), t).await?;
    }
    let (mut acks, mut session_id, mut last_seq) = (0, None, 0);
    let deadline = Instant::now() + t;
    while acks < messages {
        let f = vsock::next_text(&mut ws, deadline).await?;
        let r = frames::parse_raw(&f)?;
        match r.kind.as_ref() {
            "ack" => {
                acks += 1;
                session_id = session_id.or(r.session_id);
                last_seq = last_seq.max(r.seq.unwrap_or(0));
            }
            "error" => bail!("error frame {}", r.code.as_deref().unwrap_or("?")),
            _ => {}
        }
    }
    // Close as a browser tab does; the session stays open on the server.
    let _ = timeout(Duration::from_secs(2), ws.close(None)).await;
    Ok(Left {
        token,
        session_id: session_id.ok_or_else(|| anyhow!("acks without a session_id"))?,
        last_seq,
    })
}

/// Phase 2 for one visitor: connect with its token, check hello, resume, check the frames.
/// Returns the open socket and (connect+hello, resume→ok) durations.
async fn resume_one(
    url: Url,
    addr: SocketAddr,
    src: Option<std::net::IpAddr>,
    left: Left,
    after: i64,
    t: Duration,
) -> Result<(vsock::Ws, Duration, Duration), (&'static str, String)> {
    let mut url = url;
    url.query_pairs_mut().append_pair("token", &left.token);
    let t0 = Instant::now();
    let mut ws = vsock::open(&url, addr, src, t)
        .await
        .map_err(|e| ("connect", format!("{e:#}")))?;
    let hello = vsock::next_text(&mut ws, Instant::now() + t)
        .await
        .map_err(|e| ("hello", format!("{e:#}")))?;
    let h = frames::parse_raw(&hello).map_err(|e| ("hello", e.to_string()))?;
    if h.kind != "hello" {
        return Err(("hello", format!("expected hello, got {}", h.kind)));
    }
    if h.session_id != Some(left.session_id) || h.last_seq != Some(left.last_seq) {
        return Err((
            "hello mismatch",
            format!(
                "hello says session {:?} last_seq {:?}, the visitor left session {} at seq {}",
                h.session_id, h.last_seq, left.session_id, left.last_seq
            ),
        ));
    }
    let connected = t0.elapsed();
    let t1 = Instant::now();
    let resume =
        serde_json::json!({"v": 1, "type": "resume", "after_seq": after, "ref": "lt-resume"});
    vsock::send_text(&mut ws, resume.to_string(), t)
        .await
        .map_err(|e| ("resume send", format!("{e:#}")))?;
    let mut got = Vec::new();
    let deadline = Instant::now() + t;
    loop {
        let f = vsock::next_text(&mut ws, deadline)
            .await
            .map_err(|e| ("resume timeout", format!("{e:#}")))?;
        let r = frames::parse_raw(&f).map_err(|e| ("unparseable", e.to_string()))?;
        match r.kind.as_ref() {
            "message" if r.session_id == Some(left.session_id) => got.push(r.seq.unwrap_or(-1)),
            "ok" if r.ref_.as_deref() == Some("lt-resume") => break,
            "error" => {
                return Err((
                    "error frame",
                    format!("error {} on resume", r.code.as_deref().unwrap_or("?")),
                ))
            }
            _ => {}
        }
    }
    check_resume(after, left.last_seq, &got).map_err(|e| ("resume incomplete", e))?;
    Ok((ws, connected, t1.elapsed()))
}

pub async fn run(cfg: ReconnectConfig) -> Result<ReconnectReport> {
    let addr = vsock::resolve(&cfg.visitor_url).await?;
    let mut report = ReconnectReport {
        visitors: cfg.visitors,
        messages_each: cfg.messages,
        within_s: cfg.within.as_secs_f64(),
        ..Default::default()
    };
    // Phase 1 (not measured): every visitor gets a session with `messages` messages.
    let mut left: Vec<(usize, Left)> = Vec::with_capacity(cfg.visitors);
    {
        let results = stream::iter(0..cfg.visitors)
            .map(|i| {
                let src = vsock::source_ip(&addr, cfg.source_addrs, 0, i);
                let url = cfg.visitor_url.clone();
                async move {
                    (
                        i,
                        prepare_one(url, addr, src, i, cfg.messages, cfg.timeout).await,
                    )
                }
            })
            .buffer_unordered(cfg.concurrency);
        futures_util::pin_mut!(results);
        let mut last_log = Instant::now();
        while let Some((i, r)) = results.next().await {
            match r {
                Ok(l) => left.push((i, l)),
                Err(e) => {
                    report.prepare_failed += 1;
                    report
                        .prepare_first_failure
                        .get_or_insert_with(|| format!("{e:#}"));
                }
            }
            if !cfg.quiet && last_log.elapsed() >= Duration::from_secs(1) {
                last_log = Instant::now();
                eprintln!(
                    "[reconnect] prepared {} visitors, {} failed",
                    left.len(),
                    report.prepare_failed
                );
            }
        }
    }
    report.prepared = left.len() as u64;
    if left.is_empty() {
        bail!(
            "no visitor could be prepared: {}",
            report.prepare_first_failure.clone().unwrap_or_default()
        );
    }
    if !cfg.quiet {
        eprintln!(
            "[reconnect] {} visitors left with {} messages each; reconnecting all within {:?}",
            left.len(),
            cfg.messages,
            cfg.within
        );
    }
    // Let the server notice the closes before the storm.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Phase 2: each visitor reconnects at its slot in the window (evenly spread), from the
    // next cycle's source addresses (fresh ports).
    let n = left.len();
    let start = Instant::now() + Duration::from_millis(100);
    let stop = CancellationToken::new();
    let dropped = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for (k, (i, l)) in left.into_iter().enumerate() {
        let at = start + cfg.within.mul_f64(k as f64 / n as f64);
        let url = cfg.visitor_url.clone();
        let src = vsock::source_ip(&addr, cfg.source_addrs, 1, i);
        let t = cfg.timeout;
        let after = resume_point(i, l.last_seq);
        tasks.spawn(async move {
            sleep_until(at).await;
            let r = resume_one(url, addr, src, l, after, t).await;
            (r, Instant::now())
        });
    }
    let mut hello_h = stats::new_histogram();
    let mut resume_h = stats::new_histogram();
    let mut holders = JoinSet::new();
    let mut last_done = start;
    let mut last_log = Instant::now();
    while let Some(j) = tasks.join_next().await {
        report.reconnects += 1;
        match j {
            Ok((Ok((ws, c, r)), done)) => {
                report.resumes_complete += 1;
                stats::record(&mut hello_h, c);
                stats::record(&mut resume_h, r);
                last_done = last_done.max(done);
                holders.spawn(vsock::hold(ws, stop.clone(), dropped.clone()));
            }
            Ok((Err((kind, msg)), done)) => {
                last_done = last_done.max(done);
                *report.errors.entry(kind.to_owned()).or_default() += 1;
                report.first_error.get_or_insert(msg);
            }
            Err(e) => {
                *report.errors.entry("task".to_owned()).or_default() += 1;
                report.first_error.get_or_insert(e.to_string());
            }
        }
        if !cfg.quiet && last_log.elapsed() >= Duration::from_secs(1) {
            last_log = Instant::now();
            eprintln!(
                "[reconnect] t+{:.0}s {} reconnected and resumed, {} errors",
                start.elapsed().as_secs_f64(),
                report.resumes_complete,
                report.errors.values().sum::<u64>()
            );
        }
    }
    report.span_s = last_done.saturating_duration_since(start).as_secs_f64();
    report.reconnect_latency = LatencySummary::from_histogram(&hello_h);
    report.resume_latency = LatencySummary::from_histogram(&resume_h);
    // Hold them a moment: a server that drops resumed sockets shows it here.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.cancel();
    let _ = timeout(Duration::from_secs(30), async {
        while holders.join_next().await.is_some() {}
    })
    .await;
    report.dropped_after = dropped.load(Ordering::Relaxed);
    report.errors_total = report.errors.values().sum::<u64>() + report.dropped_after;
    Ok(report)
}

pub fn render(r: &ReconnectReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "reconnect: {} visitors ({} prepared, {} failed to prepare) with {} messages each, reconnecting within {:.1} s",
        r.visitors, r.prepared, r.prepare_failed, r.messages_each, r.within_s
    );
    let _ = writeln!(
        s,
        "resumes complete {}/{} in {:.1} s; errors {} ({}); dropped after resume {}",
        r.resumes_complete,
        r.reconnects,
        r.span_s,
        r.errors_total,
        if r.errors.is_empty() {
            "none".to_owned()
        } else {
            r.errors
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
        r.dropped_after
    );
    let _ = writeln!(
        s,
        "reconnect (connect + hello): p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms; resume → ok: p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        r.reconnect_latency.p50_ms,
        r.reconnect_latency.p99_ms,
        r.reconnect_latency.max_ms,
        r.resume_latency.p50_ms,
        r.resume_latency.p99_ms,
        r.resume_latency.max_ms
    );
    for (what, e) in [
        ("first prepare failure", &r.prepare_first_failure),
        ("first error", &r.first_error),
    ] {
        if let Some(e) = e {
            let _ = writeln!(s, "{what}: {e}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_resume_is_exactly_the_tail_in_order() {
        assert_eq!(check_resume(1, 4, &[2, 3, 4]), Ok(()));
        assert_eq!(check_resume(4, 4, &[]), Ok(()));
        assert_eq!(check_resume(0, 2, &[1, 2]), Ok(()));
    }

    #[test]
    fn gaps_duplicates_extras_and_disorder_are_named() {
        assert_eq!(check_resume(0, 3, &[1, 3]), Err("seq 2 missing".into()));
        assert_eq!(check_resume(0, 2, &[1, 1, 2]), Err("seq 1 twice".into()));
        assert_eq!(
            check_resume(1, 3, &[1, 2, 3]),
            Err("seq 1 not after 1".into())
        );
        assert_eq!(
            check_resume(0, 3, &[1, 3, 2]),
            Err("seqs out of order".into())
        );
    }

    #[test]
    fn resume_points_cover_full_history_and_tails() {
        let pts: Vec<i64> = (0..5).map(|i| resume_point(i, 3)).collect();
        assert_eq!(pts, vec![0, 1, 2, 0, 1]);
        assert_eq!(resume_point(7, 0), 0);
    }
}
