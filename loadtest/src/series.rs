//! Per-second time series of a run and the latency histogram, folded from per-message
//! timings, counters and /proc readings. Pure, so it is unit-tested; the JSON written with
//! `--series` is [`SeriesFile`], which `loadtest report` reads back.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::sys::SysSample;

/// One message's times, relative to the start of the send window.
#[derive(Debug, Clone, Copy, Default)]
pub struct MsgTimes {
    pub sent: Duration,
    pub ack: Option<Duration>,
    pub delivered: Option<Duration>,
}

/// One second of a run (`t` = seconds since the send window opened; seconds past the
/// window are the drain).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SecondPoint {
    pub t: u32,
    /// Sends the schedule asked for in this second (first attempts, not resends).
    pub offered: u64,
    /// Distinct messages written to a socket in this second.
    pub sent: u64,
    /// Acks received in this second.
    pub acked: u64,
    /// Messages first seen by an agent in this second.
    pub delivered: u64,
    /// `busy` refusals sent again with the same client id (`--honour-busy`).
    pub resends: u64,
    /// Error frames and socket failures seen in this second, by code.
    pub errors: BTreeMap<String, u64>,
    /// Visitor → first agent latency of the messages delivered in this second.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub server_rss_kib: Option<u64>,
    /// % of one core.
    pub server_cpu_pct: Option<f64>,
    /// The server's descendants (embedded PostgreSQL), % of one core.
    pub children_cpu_pct: Option<f64>,
    pub self_rss_kib: Option<u64>,
    /// The loadtest process, % of one core (near 100 × cores means the generator is the
    /// limit, not the server).
    #[serde(default)]
    pub self_cpu_pct: Option<f64>,
}

/// Count of latencies in `(previous edge, le_ms]`; the last bin has `le_ms = None` (above
/// every edge).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HistBin {
    pub le_ms: Option<f64>,
    pub count: u64,
}

/// The series of one run (one target, one offered rate).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Series {
    /// The target's label (`switchboard`, `baseline`): runs of one group share a section.
    pub group: String,
    pub offered_msgs_per_s: f64,
    pub window_s: f64,
    pub points: Vec<SecondPoint>,
    pub latency_histogram: Vec<HistBin>,
}

/// What `--series FILE` holds. `runs` of one `group` are drawn one after another on one time
/// axis (a sweep's steps); groups are drawn side by side (compare's baseline and ours).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SeriesFile {
    pub title: String,
    /// `run`, `compare` or `sweep`.
    pub mode: String,
    pub runs: Vec<Series>,
    /// The sweep's steps and verdict, when the file comes from `sweep`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<serde_json::Value>,
}

/// Histogram edges in ms: 1-2-5 steps from 0.1 ms to 100 s.
pub fn hist_edges_ms() -> Vec<f64> {
    let mut v = Vec::new();
    let mut decade: f64 = 0.1;
    while decade <= 100_000.0 {
        for m in [1.0, 2.0, 5.0] {
            let e = decade * m;
            if e <= 100_000.0 * 1.0001 {
                v.push((e * 1000.0).round() / 1000.0);
            }
        }
        decade *= 10.0;
    }
    v
}

pub fn histogram(latencies_ms: impl IntoIterator<Item = f64>) -> Vec<HistBin> {
    let edges = hist_edges_ms();
    let mut counts = vec![0u64; edges.len() + 1];
    for l in latencies_ms {
        let i = edges.partition_point(|&e| e < l);
        counts[i] += 1;
    }
    edges
        .iter()
        .map(|&e| Some(e))
        .chain(std::iter::once(None))
        .zip(counts)
        .map(|(le_ms, count)| HistBin { le_ms, count })
        .collect()
}

/// Sums histograms that share the edges of [`hist_edges_ms`] (a group's runs).
pub fn merge_histograms<'a>(hs: impl IntoIterator<Item = &'a [HistBin]>) -> Vec<HistBin> {
    let mut out: Vec<HistBin> = Vec::new();
    for h in hs {
        if out.is_empty() {
            out = h.to_vec();
            continue;
        }
        for (o, b) in out.iter_mut().zip(h) {
            o.count += b.count;
        }
    }
    out
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn bucket(d: Duration, n: usize) -> usize {
    (d.as_secs() as usize).min(n.saturating_sub(1))
}

/// Raw inputs of one run's series.
pub struct SeriesInput<'a> {
    /// Seconds covered: the window plus the drain.
    pub n_secs: usize,
    pub msgs: &'a [MsgTimes],
    /// Per second: first send attempts, and resends.
    pub offered: &'a [u64],
    pub resends: &'a [u64],
    /// (time since the window opened, code); times before it count in second 0.
    pub errors: &'a [(f64, String)],
    pub sys: &'a [SysSample],
}

pub fn aggregate(inp: &SeriesInput<'_>) -> Vec<SecondPoint> {
    let n = inp.n_secs.max(1);
    let mut pts: Vec<SecondPoint> = (0..n)
        .map(|t| SecondPoint {
            t: t as u32,
            offered: inp.offered.get(t).copied().unwrap_or(0),
            resends: inp.resends.get(t).copied().unwrap_or(0),
            ..Default::default()
        })
        .collect();
    // Counters beyond the covered seconds land in the last one, so totals add up.
    pts[n - 1].offered += inp.offered.iter().skip(n).sum::<u64>();
    pts[n - 1].resends += inp.resends.iter().skip(n).sum::<u64>();
    let mut lat: Vec<Vec<f64>> = vec![Vec::new(); n];
    for m in inp.msgs {
        pts[bucket(m.sent, n)].sent += 1;
        if let Some(a) = m.ack {
            pts[bucket(a, n)].acked += 1;
        }
        if let Some(d) = m.delivered {
            let b = bucket(d, n);
            pts[b].delivered += 1;
            lat[b].push(d.saturating_sub(m.sent).as_secs_f64() * 1000.0);
        }
    }
    for (p, mut l) in pts.iter_mut().zip(lat) {
        l.sort_by(f64::total_cmp);
        p.p50_ms = percentile(&l, 0.50);
        p.p99_ms = percentile(&l, 0.99);
    }
    for (at, code) in inp.errors {
        let b = (at.max(0.0) as usize).min(n - 1);
        *pts[b].errors.entry(code.clone()).or_default() += 1;
    }
    for s in inp.sys {
        if s.at_s < 0.0 {
            continue;
        }
        // A reading at t = k.02 s describes the second before it, (k-1, k].
        let b = ((s.at_s.round() as usize).saturating_sub(1)).min(n - 1);
        let p = &mut pts[b];
        p.server_rss_kib = s.server_rss_kib.or(p.server_rss_kib);
        p.server_cpu_pct = s.server_cpu_pct.or(p.server_cpu_pct);
        p.children_cpu_pct = s.children_cpu_pct.or(p.children_cpu_pct);
        p.self_rss_kib = s.self_rss_kib.or(p.self_rss_kib);
        p.self_cpu_pct = s.self_cpu_pct.or(p.self_cpu_pct);
    }
    pts
}

/// Builds a run's series: the points and its whole-run latency histogram.
pub fn build(group: &str, offered_msgs_per_s: f64, window_s: f64, inp: &SeriesInput<'_>) -> Series {
    Series {
        group: group.to_owned(),
        offered_msgs_per_s,
        window_s,
        points: aggregate(inp),
        latency_histogram: histogram(inp.msgs.iter().filter_map(|m| {
            m.delivered
                .map(|d| d.saturating_sub(m.sent).as_secs_f64() * 1000.0)
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn edges_run_1_2_5_from_a_tenth_ms_to_100_s() {
        let e = hist_edges_ms();
        assert_eq!(&e[..4], &[0.1, 0.2, 0.5, 1.0]);
        assert_eq!(e.last(), Some(&100_000.0));
        assert!(e.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn histogram_bins_are_upper_inclusive_with_an_overflow_bin() {
        let h = histogram([0.05, 0.1, 0.15, 3.0, 1e9]);
        let count = |le: Option<f64>| h.iter().find(|b| b.le_ms == le).map(|b| b.count);
        assert_eq!(count(Some(0.1)), Some(2));
        assert_eq!(count(Some(0.2)), Some(1));
        assert_eq!(count(Some(5.0)), Some(1));
        assert_eq!(count(None), Some(1));
        assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), 5);
        let m = merge_histograms([h.as_slice(), h.as_slice()]);
        assert_eq!(m.iter().map(|b| b.count).sum::<u64>(), 10);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn messages_are_counted_in_the_second_each_thing_happened() {
        let msgs = [
            // Sent in second 0, acked in 0, delivered in 1 (1.1 s later).
            MsgTimes {
                sent: ms(900),
                ack: Some(ms(950)),
                delivered: Some(ms(2000)),
            },
            MsgTimes {
                sent: ms(1500),
                ack: Some(ms(1510)),
                delivered: Some(ms(1520)),
            },
            // Never delivered; its ack lands past the covered seconds → the last one.
            MsgTimes {
                sent: ms(1600),
                ack: Some(ms(9000)),
                delivered: None,
            },
        ];
        let errors = [
            (-3.0, "connect".to_owned()),
            (1.5, "busy".to_owned()),
            (1.7, "busy".to_owned()),
        ];
        let sys = [
            SysSample {
                at_s: -0.98,
                server_rss_kib: Some(1),
                ..Default::default()
            },
            SysSample {
                at_s: 1.02,
                server_rss_kib: Some(100),
                server_cpu_pct: Some(50.0),
                ..Default::default()
            },
            SysSample {
                at_s: 2.01,
                server_rss_kib: Some(200),
                ..Default::default()
            },
        ];
        let pts = aggregate(&SeriesInput {
            n_secs: 3,
            msgs: &msgs,
            offered: &[1, 2, 0, 4],
            resends: &[0, 2, 0, 0],
            errors: &errors,
            sys: &sys,
        });
        assert_eq!(pts.len(), 3);
        assert_eq!(
            pts.iter()
                .map(|p| (p.offered, p.sent, p.acked, p.delivered))
                .collect::<Vec<_>>(),
            vec![(1, 1, 1, 0), (2, 2, 1, 1), (4, 0, 1, 1)]
        );
        assert_eq!(pts[1].resends, 2);
        assert_eq!(pts[1].p50_ms, Some(20.0));
        assert_eq!(pts[2].p99_ms, Some(1100.0));
        assert_eq!(pts[0].p50_ms, None);
        assert_eq!(pts[0].errors.get("connect"), Some(&1));
        assert_eq!(pts[1].errors.get("busy"), Some(&2));
        assert_eq!(pts[0].server_rss_kib, Some(100));
        assert_eq!(pts[0].server_cpu_pct, Some(50.0));
        assert_eq!(pts[1].server_rss_kib, Some(200));
        assert_eq!(pts[2].server_rss_kib, None);
    }

    #[test]
    fn the_series_file_round_trips() {
        let s = build(
            "ours",
            100.0,
            1.0,
            &SeriesInput {
                n_secs: 1,
                msgs: &[MsgTimes {
                    sent: ms(1),
                    ack: None,
                    delivered: Some(ms(4)),
                }],
                offered: &[1],
                resends: &[0],
                errors: &[],
                sys: &[],
            },
        );
        assert_eq!(s.latency_histogram.iter().map(|b| b.count).sum::<u64>(), 1);
        let f = SeriesFile {
            title: "t".into(),
            mode: "run".into(),
            runs: vec![s.clone()],
            sweep: None,
        };
        let back: SeriesFile =
            serde_json::from_str(&serde_json::to_string(&f).expect("json")).expect("parse");
        assert_eq!(back.runs, vec![s]);
    }
}
