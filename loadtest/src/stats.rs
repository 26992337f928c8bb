//! Figures of one run, their summary from per-message timings, and the printed tables.
//! Everything here is pure (no I/O besides formatting), so it is unit-tested.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Histograms record microseconds from 1 µs up to this bound; larger values saturate.
const HIST_MAX_US: u64 = 3_600_000_000;

pub fn new_histogram() -> Histogram<u64> {
    // Bounds are constants that hdrhistogram accepts (low >= 1, high >= 2 * low, 3 sigfigs).
    Histogram::new_with_bounds(1, HIST_MAX_US, 3).unwrap_or_else(|_| unreachable!())
}

pub fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
    h.saturating_record(us);
}

/// p50/p95/p99/max of a latency histogram, in milliseconds. `count == 0` means no sample
/// (the percentiles are then 0 and print as "n/a").
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LatencySummary {
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return LatencySummary::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        LatencySummary {
            count: h.len(),
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }

    fn line(&self) -> String {
        if self.count == 0 {
            return "n/a (no samples)".to_owned();
        }
        format!(
            "p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (mean {:.2} ms, n={})",
            self.p50_ms, self.p95_ms, self.p99_ms, self.max_ms, self.mean_ms, self.count
        )
    }
}

/// Timing of one message that was handed to the socket, relative to its send instant.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    /// send → `ack` on the visitor socket.
    pub ack: Option<Duration>,
    /// send → first `message` frame for it on any agent socket.
    pub delivered: Option<Duration>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct MessageTally {
    /// Messages written to a visitor socket successfully.
    pub sent: u64,
    pub acked: u64,
    /// No ack within the loss deadline (includes acks that never came).
    pub ack_timeouts: u64,
    /// Distinct messages that reached at least one agent (any time before shutdown).
    pub delivered_distinct: u64,
    /// No agent received it within the loss deadline (includes `late`).
    pub lost: u64,
    /// Reached an agent, but after the loss deadline.
    pub late: u64,
}

/// Folds per-message timings into counts and the two latency histograms
/// (visitor→first agent, ack). Late arrivals are counted as lost but their latency is
/// still recorded, so `max` shows them.
pub fn summarize(
    timings: impl IntoIterator<Item = Timing>,
    lost_after: Duration,
) -> (MessageTally, Histogram<u64>, Histogram<u64>) {
    let mut tally = MessageTally::default();
    let mut deliver = new_histogram();
    let mut ack = new_histogram();
    for t in timings {
        tally.sent += 1;
        match t.ack {
            Some(d) => {
                tally.acked += 1;
                record(&mut ack, d);
                if d > lost_after {
                    tally.ack_timeouts += 1;
                }
            }
            None => tally.ack_timeouts += 1,
        }
        match t.delivered {
            Some(d) => {
                tally.delivered_distinct += 1;
                record(&mut deliver, d);
                if d > lost_after {
                    tally.lost += 1;
                    tally.late += 1;
                }
            }
            None => tally.lost += 1,
        }
    }
    (tally, deliver, ack)
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ConnectStats {
    pub visitors_ok: u64,
    pub visitors_failed: u64,
    pub agents_ok: u64,
    pub agents_failed: u64,
    /// TCP connect + websocket upgrade + `hello` frame, per socket.
    pub connect_latency: LatencySummary,
    /// First connect failure, to make a failing run explainable.
    pub first_failure: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ErrorStats {
    /// `error` frames received, by code.
    pub error_frames: BTreeMap<String, u64>,
    /// Sockets closed before the generator's shutdown, by close code ("eof" = no close frame).
    pub unexpected_closes: BTreeMap<String, u64>,
    /// Sockets that saw no frame at all for the idle timeout.
    pub read_timeouts: u64,
    /// Writes that failed or timed out (the message is not counted as sent).
    pub send_failures: u64,
    /// Websocket protocol / transport errors while reading.
    pub transport_errors: u64,
    /// Text frames that were not JSON objects with a `type`.
    pub unparseable_frames: u64,
}

impl ErrorStats {
    pub fn socket_errors(&self) -> u64 {
        self.error_frames.values().sum::<u64>()
            + self.unexpected_closes.values().sum::<u64>()
            + self.read_timeouts
            + self.send_failures
            + self.transport_errors
            + self.unparseable_frames
    }
}

/// How the agents kept up: each agent reconnects after the server closes its socket (4008:
/// it fell behind) and resumes the sessions it holds, like the console.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AgentDelivery {
    /// Agent sockets opened again after a close or a break.
    pub reconnects: u64,
    /// Reconnect attempts that failed (each is retried with a longer pause).
    pub reconnect_failures: u64,
    /// Agent sockets closed by the server or broken before shutdown, by close code ("eof" = no
    /// close frame); the same closes are in `errors.unexpected_closes` with the visitors'.
    pub closes: BTreeMap<String, u64>,
    /// `resume` frames sent: one per held session after a reconnect, one per session whose
    /// first live frame on a socket showed a gap.
    pub resumes_sent: u64,
    /// Resumes answered `ok` (every missing message came before it).
    pub resumes_answered: u64,
    /// Resumes answered with an error frame (also in `errors.error_frames`).
    pub resumes_refused: u64,
    /// Messages of this run an agent first got while a resume of their session was open.
    pub by_resume: u64,
    /// `message` frames an agent already held (same session and seq): not counted again.
    pub duplicates: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RssStats {
    /// What `server_*` measures, in words.
    pub server_source: String,
    pub server_start_kib: Option<u64>,
    pub server_peak_kib: Option<u64>,
    pub server_end_kib: Option<u64>,
    /// This loadtest process (generator, plus the baseline server in `baseline`).
    pub self_start_kib: Option<u64>,
    pub self_peak_kib: Option<u64>,
    pub self_end_kib: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub label: String,
    pub target: String,
    pub visitors: usize,
    pub agents: usize,
    pub rate_per_visitor: f64,
    pub offered_msgs_per_s: f64,
    pub window_s: f64,
    pub ramp_s: f64,
    pub lost_after_s: f64,
    pub connects: ConnectStats,
    pub messages: MessageTally,
    /// Writes attempted on visitor sockets that failed (not in `messages.sent`).
    pub send_failed: u64,
    /// `busy` error frames received (also in `errors.error_frames`).
    pub busy_refusals: u64,
    /// Sends repeated with the same client id after a `busy` hint (`--honour-busy`).
    pub resends: u64,
    /// Per-second figures; written separately (`--series`), not with the report.
    #[serde(skip)]
    pub series: crate::series::Series,
    /// Messages (from visitors, of this run) received by the agents during the send window,
    /// each counted once per agent by (session, seq), live or by resume: a repeated frame is
    /// in `agent_delivery.duplicates`, not here.
    pub agent_receipts_window: u64,
    /// Same, including the drain after the window.
    pub agent_receipts_total: u64,
    /// `agent_receipts_window / window_s`: agent-side delivered frames per second.
    pub delivered_msgs_per_s: f64,
    /// Distinct messages first delivered to an agent during the window, per second.
    pub distinct_delivered_per_s: f64,
    /// Own messages echoed back to visitor sockets.
    pub visitor_echoes: u64,
    /// `session` frames received by agents.
    pub agent_session_frames: u64,
    /// Agent sockets still open at the end of the window.
    pub agents_alive_at_end: u64,
    pub agent_delivery: AgentDelivery,
    pub visitors_alive_at_end: u64,
    pub latency_visitor_to_agent: LatencySummary,
    pub latency_ack: LatencySummary,
    pub errors: ErrorStats,
    /// All error figures added: socket errors + connect failures + lost messages.
    pub errors_total: u64,
    pub rss: RssStats,
}

fn kib(v: Option<u64>) -> String {
    match v {
        Some(k) => format!("{:.1} MiB", k as f64 / 1024.0),
        None => "n/a".to_owned(),
    }
}

fn map_line(m: &BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "none".to_owned();
    }
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn render_report(r: &Report) -> String {
    let mut s = String::new();
    let m = &r.messages;
    let c = &r.connects;
    let e = &r.errors;
    // Writing into a String cannot fail.
    let _ = writeln!(s, "== {} — {} ==", r.label, r.target);
    let _ = writeln!(
        s,
        "load        : {} visitors x {:.3} msg/s = {:.1} msg/s offered, {} agents, window {:.1} s (ramp-up {:.1} s before it)",
        r.visitors, r.rate_per_visitor, r.offered_msgs_per_s, r.agents, r.window_s, r.ramp_s
    );
    let _ = writeln!(
        s,
        "connects    : visitors {}/{} ok, agents {}/{} ok; connect+hello {}",
        c.visitors_ok,
        c.visitors_ok + c.visitors_failed,
        c.agents_ok,
        c.agents_ok + c.agents_failed,
        c.connect_latency.line()
    );
    if let Some(f) = &c.first_failure {
        let _ = writeln!(s, "              first connect failure: {f}");
    }
    let _ = writeln!(
        s,
        "messages    : sent {}, acked {}, delivered to >=1 agent {}, lost {} (late {}), send failures {}",
        m.sent, m.acked, m.delivered_distinct, m.lost, m.late, r.send_failed
    );
    if r.busy_refusals > 0 || r.resends > 0 {
        let _ = writeln!(
            s,
            "              busy refusals {}, resends with the same client id {}",
            r.busy_refusals, r.resends
        );
    }
    let _ = writeln!(
        s,
        "visitor→agent (first agent): {}",
        r.latency_visitor_to_agent.line()
    );
    let _ = writeln!(s, "send→ack    : {}", r.latency_ack.line());
    let _ = writeln!(
        s,
        "throughput  : {:.1} msg frames/s received by agents ({} in window, {} total), {:.1} distinct msg/s delivered",
        r.delivered_msgs_per_s, r.agent_receipts_window, r.agent_receipts_total, r.distinct_delivered_per_s
    );
    let _ = writeln!(
        s,
        "              visitor echoes {}, agent session frames {}, sockets alive at end: agents {}, visitors {}",
        r.visitor_echoes, r.agent_session_frames, r.agents_alive_at_end, r.visitors_alive_at_end
    );
    let a = &r.agent_delivery;
    let _ = writeln!(
        s,
        "agents      : closes {}; reconnects {} (failed attempts {}); resumes sent {}, answered {}, refused {}; messages by resume {}, duplicates {}",
        map_line(&a.closes),
        a.reconnects,
        a.reconnect_failures,
        a.resumes_sent,
        a.resumes_answered,
        a.resumes_refused,
        a.by_resume,
        a.duplicates
    );
    let _ = writeln!(
        s,
        "errors      : total {} = connect failures {} + lost {} + ack timeouts {} + socket errors {}",
        r.errors_total,
        c.visitors_failed + c.agents_failed,
        m.lost,
        m.ack_timeouts,
        e.socket_errors()
    );
    let _ = writeln!(
        s,
        "              error frames: {}; unexpected closes: {}; read timeouts {}; send failures {}; transport errors {}; unparseable frames {}",
        map_line(&e.error_frames),
        map_line(&e.unexpected_closes),
        e.read_timeouts,
        e.send_failures,
        e.transport_errors,
        e.unparseable_frames
    );
    let _ = writeln!(
        s,
        "RSS         : server ({}) start {}, peak {}, end {}; loadtest process start {}, peak {}, end {}",
        r.rss.server_source,
        kib(r.rss.server_start_kib),
        kib(r.rss.server_peak_kib),
        kib(r.rss.server_end_kib),
        kib(r.rss.self_start_kib),
        kib(r.rss.self_peak_kib),
        kib(r.rss.self_end_kib)
    );
    s
}

/// ours / baseline; `None` when either side has no figure or the baseline is 0.
pub fn ratio(ours: Option<f64>, baseline: Option<f64>) -> Option<f64> {
    match (ours, baseline) {
        (Some(o), Some(b)) if b > 0.0 && o.is_finite() => Some(o / b),
        _ => None,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CompareRow {
    pub metric: String,
    pub baseline: Option<f64>,
    pub ours: Option<f64>,
    /// ours / baseline
    pub ratio: Option<f64>,
}

fn lat(s: &LatencySummary, f: fn(&LatencySummary) -> f64) -> Option<f64> {
    (s.count > 0).then(|| f(s))
}

/// Rows of the comparison table. The baseline's RSS is the loadtest process's own growth
/// (peak − start) during the baseline run: it holds the baseline server *and* the
/// generator, so it over-states the baseline server alone.
pub fn compare_rows(baseline: &Report, ours: &Report) -> Vec<CompareRow> {
    let row = |metric: &str, b: Option<f64>, o: Option<f64>| CompareRow {
        metric: metric.to_owned(),
        baseline: b,
        ours: o,
        ratio: ratio(o, b),
    };
    let (bl, ol) = (
        &baseline.latency_visitor_to_agent,
        &ours.latency_visitor_to_agent,
    );
    let mib = |k: Option<u64>| k.map(|k| k as f64 / 1024.0);
    let baseline_growth = match (baseline.rss.self_peak_kib, baseline.rss.self_start_kib) {
        (Some(p), Some(s)) => Some(p.saturating_sub(s)),
        _ => None,
    };
    vec![
        row(
            "p50 latency ms",
            lat(bl, |s| s.p50_ms),
            lat(ol, |s| s.p50_ms),
        ),
        row(
            "p95 latency ms",
            lat(bl, |s| s.p95_ms),
            lat(ol, |s| s.p95_ms),
        ),
        row(
            "p99 latency ms",
            lat(bl, |s| s.p99_ms),
            lat(ol, |s| s.p99_ms),
        ),
        row(
            "delivered msg frames/s",
            Some(baseline.delivered_msgs_per_s),
            Some(ours.delivered_msgs_per_s),
        ),
        row(
            "distinct msg/s delivered",
            Some(baseline.distinct_delivered_per_s),
            Some(ours.distinct_delivered_per_s),
        ),
        row(
            "peak RSS MiB",
            mib(baseline_growth),
            mib(ours.rss.server_peak_kib),
        ),
        row(
            "errors (total)",
            Some(baseline.errors_total as f64),
            Some(ours.errors_total as f64),
        ),
    ]
}

pub fn render_compare(rows: &[CompareRow]) -> String {
    let f = |v: Option<f64>| match v {
        Some(v) => format!("{v:.2}"),
        None => "n/a".to_owned(),
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<26} {:>12} {:>12} {:>16}",
        "metric", "baseline", "ours", "ours/baseline"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<26} {:>12} {:>12} {:>16}",
            r.metric,
            f(r.baseline),
            f(r.ours),
            f(r.ratio)
        );
    }
    let _ = writeln!(
        s,
        "RSS: 'ours' is the server's peak VmRSS (--server-pid); 'baseline' is the growth (peak − start) of this\n\
         loadtest process during the baseline run, which holds the baseline server AND the load generator,\n\
         so it over-states the baseline server alone."
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn percentiles_of_1_to_100_ms() {
        let mut h = new_histogram();
        for v in 1..=100 {
            record(&mut h, ms(v));
        }
        let s = LatencySummary::from_histogram(&h);
        assert_eq!(s.count, 100);
        // 3 significant digits: values are exact to within 0.1 %.
        assert!((s.p50_ms - 50.0).abs() < 0.1, "{s:?}");
        assert!((s.p95_ms - 95.0).abs() < 0.1, "{s:?}");
        assert!((s.p99_ms - 99.0).abs() < 0.1, "{s:?}");
        assert!((s.max_ms - 100.0).abs() < 0.1, "{s:?}");
        assert!((s.mean_ms - 50.5).abs() < 0.1, "{s:?}");
    }

    #[test]
    fn empty_histogram_has_no_samples() {
        let s = LatencySummary::from_histogram(&new_histogram());
        assert_eq!(s, LatencySummary::default());
        assert_eq!(s.line(), "n/a (no samples)");
    }

    #[test]
    fn sub_microsecond_and_huge_values_are_kept() {
        let mut h = new_histogram();
        record(&mut h, Duration::from_nanos(10));
        record(&mut h, Duration::from_secs(100_000));
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn summarize_counts_lost_late_and_unacked() {
        let lost_after = Duration::from_secs(10);
        let timings = vec![
            Timing {
                ack: Some(ms(2)),
                delivered: Some(ms(3)),
            },
            Timing {
                ack: Some(ms(4)),
                delivered: None,
            },
            Timing {
                ack: None,
                delivered: Some(ms(12_000)),
            },
            Timing {
                ack: Some(ms(11_000)),
                delivered: Some(ms(5)),
            },
        ];
        let (t, deliver, ack) = summarize(timings, lost_after);
        assert_eq!(
            t,
            MessageTally {
                sent: 4,
                acked: 3,
                ack_timeouts: 2,
                delivered_distinct: 3,
                lost: 2,
                late: 1,
            }
        );
        assert_eq!(deliver.len(), 3);
        assert_eq!(ack.len(), 3);
        let d = LatencySummary::from_histogram(&deliver);
        assert!((d.max_ms - 12_000.0).abs() < 12.0);
    }

    #[test]
    fn ratio_handles_missing_and_zero() {
        assert_eq!(ratio(Some(4.0), Some(2.0)), Some(2.0));
        assert_eq!(ratio(Some(4.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(1.0)), None);
        assert_eq!(ratio(Some(1.0), None), None);
    }

    #[test]
    fn compare_rows_use_process_growth_for_baseline_rss() {
        let b = Report {
            latency_visitor_to_agent: LatencySummary {
                count: 1,
                p50_ms: 1.0,
                p95_ms: 2.0,
                p99_ms: 4.0,
                ..Default::default()
            },
            delivered_msgs_per_s: 100.0,
            rss: RssStats {
                self_start_kib: Some(1024),
                self_peak_kib: Some(3072),
                ..Default::default()
            },
            ..Default::default()
        };
        let o = Report {
            latency_visitor_to_agent: LatencySummary {
                count: 1,
                p50_ms: 3.0,
                p95_ms: 4.0,
                p99_ms: 8.0,
                ..Default::default()
            },
            delivered_msgs_per_s: 50.0,
            rss: RssStats {
                server_peak_kib: Some(10 * 1024),
                ..Default::default()
            },
            ..Default::default()
        };
        let rows = compare_rows(&b, &o);
        let get = |m: &str| {
            rows.iter()
                .find(|r| r.metric == m)
                .and_then(|r| r.ratio)
                .unwrap_or(f64::NAN)
        };
        assert_eq!(get("p50 latency ms"), 3.0);
        assert_eq!(get("p99 latency ms"), 2.0);
        assert_eq!(get("delivered msg frames/s"), 0.5);
        assert_eq!(get("peak RSS MiB"), 5.0);
        assert!(render_compare(&rows).contains("ours/baseline"));
    }
}
