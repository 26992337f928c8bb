//! `idle`: what an idle visitor socket costs the server. Per cycle: N visitor sockets
//! connect (hello received) and stay open; the server's VmRSS is read before and with them
//! open; they close; VmRSS is read again. After C cycles: how far RSS came back.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use futures_util::{stream, StreamExt};
use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::{timeout, Instant};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::frames;
use crate::stats::{self, LatencySummary};
use crate::sys::read_vmrss_kib;
use crate::vsock;

pub struct IdleConfig {
    pub visitor_url: Url,
    pub visitors: usize,
    pub cycles: usize,
    /// Loopback source addresses to spread the sockets over (per cycle).
    pub source_addrs: u8,
    pub concurrency: usize,
    pub connect_timeout: Duration,
    /// Wait after the last connect / close before reading RSS.
    pub settle: Duration,
    pub server_pid: u32,
    pub quiet: bool,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CycleResult {
    pub cycle: usize,
    pub connected: u64,
    pub failed: u64,
    pub first_failure: Option<String>,
    /// Sockets the server closed while they were held open.
    pub dropped: u64,
    pub connect_s: f64,
    pub connect_latency: LatencySummary,
    pub rss_before_kib: Option<u64>,
    pub rss_open_kib: Option<u64>,
    pub rss_closed_kib: Option<u64>,
    /// (open − before) / connected.
    pub kib_per_socket: Option<f64>,
    pub self_kib_per_socket: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct IdleReport {
    pub visitors: usize,
    pub source_addrs: u8,
    pub open_file_limit: u64,
    pub cycles: Vec<CycleResult>,
    pub rss_start_kib: Option<u64>,
    pub rss_end_kib: Option<u64>,
    /// rss_end / rss_start: 1.10 = 10 % above the start after all cycles.
    pub end_vs_start: Option<f64>,
}

/// (open − before) / n in KiB, when both readings exist and n > 0.
pub fn per_socket(before: Option<u64>, open: Option<u64>, n: u64) -> Option<f64> {
    match (before, open) {
        (Some(b), Some(o)) if n > 0 => Some((o as f64 - b as f64) / n as f64),
        _ => None,
    }
}

pub fn end_vs_start(start: Option<u64>, end: Option<u64>) -> Option<f64> {
    match (start, end) {
        (Some(s), Some(e)) if s > 0 => Some(e as f64 / s as f64),
        _ => None,
    }
}

/// Connects `n` visitor sockets, each waiting for its `hello`, and hands them to holders.
async fn connect_all(
    cfg: &IdleConfig,
    addr: SocketAddr,
    cycle: usize,
    set: &mut JoinSet<()>,
    stop: &CancellationToken,
    dropped: &Arc<AtomicU64>,
) -> (u64, u64, Option<String>, hdrhistogram::Histogram<u64>) {
    let mut hist = stats::new_histogram();
    let (mut ok, mut failed, mut first) = (0u64, 0u64, None);
    let results = stream::iter(0..cfg.visitors)
        .map(|i| {
            let url = cfg.visitor_url.clone();
            let t = cfg.connect_timeout;
            let src = vsock::source_ip(&addr, cfg.source_addrs, cycle, i);
            async move {
                let t0 = Instant::now();
                let mut ws = vsock::open(&url, addr, src, t).await?;
                let hello = vsock::next_text(&mut ws, Instant::now() + t).await?;
                match frames::parse(&hello) {
                    Ok(frames::Frame::Hello) => Ok((ws, t0.elapsed())),
                    _ => bail!(
                        "expected hello, got {}",
                        hello.chars().take(200).collect::<String>()
                    ),
                }
            }
        })
        .buffer_unordered(cfg.concurrency);
    futures_util::pin_mut!(results);
    let mut last_log = Instant::now();
    while let Some(r) = results.next().await {
        match r {
            Ok((ws, d)) => {
                ok += 1;
                stats::record(&mut hist, d);
                set.spawn(vsock::hold(ws, stop.clone(), dropped.clone()));
            }
            Err(e) => {
                failed += 1;
                first.get_or_insert_with(|| format!("{e:#}"));
            }
        }
        if !cfg.quiet && last_log.elapsed() >= Duration::from_secs(1) {
            last_log = Instant::now();
            eprintln!(
                "[idle] cycle {}: {ok} connected, {failed} failed",
                cycle + 1
            );
        }
    }
    (ok, failed, first, hist)
}

pub async fn run(cfg: IdleConfig, open_file_limit: u64) -> Result<IdleReport> {
    let addr = vsock::resolve(&cfg.visitor_url).await?;
    let rss = || read_vmrss_kib(Some(cfg.server_pid)).ok();
    let self_rss = || read_vmrss_kib(None).ok();
    let mut report = IdleReport {
        visitors: cfg.visitors,
        source_addrs: cfg.source_addrs,
        open_file_limit,
        rss_start_kib: rss(),
        ..Default::default()
    };
    for cycle in 0..cfg.cycles {
        let stop = CancellationToken::new();
        let dropped = Arc::new(AtomicU64::new(0));
        let mut set = JoinSet::new();
        let rss_before = rss();
        let self_before = self_rss();
        let t0 = Instant::now();
        let (ok, failed, first, hist) =
            connect_all(&cfg, addr, cycle, &mut set, &stop, &dropped).await;
        let connect_s = t0.elapsed().as_secs_f64();
        tokio::time::sleep(cfg.settle).await;
        let rss_open = rss();
        let self_open = self_rss();
        if !cfg.quiet {
            eprintln!(
                "[idle] cycle {}: {ok} open in {connect_s:.1} s, server RSS {} → {} KiB; closing",
                cycle + 1,
                rss_before.unwrap_or(0),
                rss_open.unwrap_or(0)
            );
        }
        stop.cancel();
        if timeout(Duration::from_secs(30), async {
            while set.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            set.abort_all();
        }
        tokio::time::sleep(cfg.settle).await;
        let c = CycleResult {
            cycle: cycle + 1,
            connected: ok,
            failed,
            first_failure: first,
            dropped: dropped.load(Ordering::Relaxed),
            connect_s,
            connect_latency: LatencySummary::from_histogram(&hist),
            rss_before_kib: rss_before,
            rss_open_kib: rss_open,
            rss_closed_kib: rss(),
            kib_per_socket: per_socket(rss_before, rss_open, ok),
            self_kib_per_socket: per_socket(self_before, self_open, ok),
        };
        if !cfg.quiet {
            eprintln!("[idle] {}", render_cycle(&c));
        }
        report.cycles.push(c);
    }
    report.rss_end_kib = report.cycles.last().and_then(|c| c.rss_closed_kib);
    report.end_vs_start = end_vs_start(report.rss_start_kib, report.rss_end_kib);
    Ok(report)
}

fn mib(k: Option<u64>) -> String {
    k.map_or("n/a".to_owned(), |k| {
        format!("{:.1} MiB", k as f64 / 1024.0)
    })
}

pub fn render_cycle(c: &CycleResult) -> String {
    let f = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.1} KiB"));
    format!(
        "cycle {}: {} open ({} failed, {} dropped by the server) in {:.1} s, connect+hello p50 {:.1} ms p99 {:.1} ms; server RSS before {}, open {}, closed {}; per socket {} (loadtest {})",
        c.cycle,
        c.connected,
        c.failed,
        c.dropped,
        c.connect_s,
        c.connect_latency.p50_ms,
        c.connect_latency.p99_ms,
        mib(c.rss_before_kib),
        mib(c.rss_open_kib),
        mib(c.rss_closed_kib),
        f(c.kib_per_socket),
        f(c.self_kib_per_socket)
    )
}

pub fn render(r: &IdleReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "idle sockets: {} visitors per cycle over {} source address(es), open-file limit {}",
        r.visitors, r.source_addrs, r.open_file_limit
    );
    for c in &r.cycles {
        let _ = writeln!(s, "{}", render_cycle(c));
        if let Some(f) = &c.first_failure {
            let _ = writeln!(s, "  first failure: {f}");
        }
    }
    let _ = writeln!(
        s,
        "server RSS start {}, after the last cycle {} ({})",
        mib(r.rss_start_kib),
        mib(r.rss_end_kib),
        r.end_vs_start.map_or("n/a".to_owned(), |x| format!(
            "{:+.1} % vs the start",
            (x - 1.0) * 100.0
        ))
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_socket_cost_is_growth_over_sockets() {
        assert_eq!(per_socket(Some(10_000), Some(110_000), 10_000), Some(10.0));
        assert_eq!(per_socket(Some(10_000), Some(9_000), 1_000), Some(-1.0));
        assert_eq!(per_socket(None, Some(1), 1), None);
        assert_eq!(per_socket(Some(1), Some(2), 0), None);
    }

    #[test]
    fn end_vs_start_is_a_ratio() {
        assert_eq!(end_vs_start(Some(100), Some(110)), Some(1.1));
        assert_eq!(end_vs_start(Some(0), Some(110)), None);
    }

    #[test]
    fn the_summary_names_the_growth() {
        let r = IdleReport {
            visitors: 10,
            source_addrs: 1,
            open_file_limit: 1024,
            cycles: vec![CycleResult {
                cycle: 1,
                connected: 10,
                kib_per_socket: Some(9.5),
                ..Default::default()
            }],
            rss_start_kib: Some(1024),
            rss_end_kib: Some(1126),
            end_vs_start: end_vs_start(Some(1024), Some(1126)),
        };
        let t = render(&r);
        assert!(t.contains("per socket 9.5 KiB"), "{t}");
        assert!(t.contains("+10.0 % vs the start"), "{t}");
    }
}
