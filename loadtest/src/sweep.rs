//! `sweep`: the offered rate goes up step by step until p99 or loss breaks its bound; the
//! sustainable capacity is the last step within both. The step list, the verdict of a step
//! and the capacity are pure functions (unit-tested); `run` drives `load::run` per step.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{bail, Result};
use serde::Serialize;

use crate::load::{self, LoadConfig, Target};
use crate::stats::Report;

/// How the offered rate grows from one step to the next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Growth {
    /// + this many msg/s per step.
    Add(f64),
    /// × this factor per step.
    Mul(f64),
}

/// The offered rates (msg/s) of a sweep: `start`, grown step by step while at most `max`;
/// `max` itself is the last step when growth overshoots it.
pub fn rate_steps(start: f64, growth: Growth, max: f64) -> Result<Vec<f64>> {
    if !(start.is_finite() && start > 0.0 && max.is_finite() && max >= start) {
        bail!("the sweep needs 0 < --start <= --max");
    }
    match growth {
        Growth::Add(d) if !(d.is_finite() && d > 0.0) => bail!("--step must be positive"),
        Growth::Mul(f) if !(f.is_finite() && f > 1.0) => bail!("--factor must be above 1"),
        _ => {}
    }
    let mut v = vec![start];
    // A tolerance so that 200 × 2 × 2 × 2 reaches 1600 despite float rounding.
    let eps = max * 1e-9;
    loop {
        let last = v[v.len() - 1];
        let next = match growth {
            Growth::Add(d) => last + d,
            Growth::Mul(f) => last * f,
        };
        if next > max + eps {
            if last < max - eps {
                v.push(max);
            }
            break;
        }
        v.push(next.min(max));
        if v.len() > 1000 {
            bail!("more than 1000 steps: use a larger --step or --factor");
        }
    }
    Ok(v)
}

/// The bounds a step must stay within to count as sustainable.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Bounds {
    pub max_p99_ms: f64,
    /// Fraction of the messages offered that may be lost (not delivered within the loss
    /// deadline, failed to send, or refused and never resent).
    pub max_loss: f64,
}

/// One step's figures, as the sweep prints and writes them.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct StepResult {
    pub target: String,
    pub offered_msgs_per_s: f64,
    pub window_s: f64,
    pub sent: u64,
    pub acked: u64,
    pub delivered: u64,
    pub lost: u64,
    pub send_failed: u64,
    pub loss: f64,
    pub busy_refusals: u64,
    pub resends: u64,
    pub errors_total: u64,
    pub delivered_distinct_per_s: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub ack_p99_ms: Option<f64>,
    pub server_peak_rss_kib: Option<u64>,
    pub within_bounds: bool,
    /// Why the step is out of bounds.
    pub broke: Vec<String>,
}

/// Folds a run's report into a step and judges it.
pub fn step_of(r: &Report, bounds: &Bounds) -> StepResult {
    let m = &r.messages;
    let attempted = m.sent + r.send_failed;
    let loss = if attempted == 0 {
        1.0
    } else {
        (m.lost + r.send_failed) as f64 / attempted as f64
    };
    let lat = &r.latency_visitor_to_agent;
    let mut s = StepResult {
        target: r.label.clone(),
        offered_msgs_per_s: r.offered_msgs_per_s,
        window_s: r.window_s,
        sent: m.sent,
        acked: m.acked,
        delivered: m.delivered_distinct,
        lost: m.lost,
        send_failed: r.send_failed,
        loss,
        busy_refusals: r.busy_refusals,
        resends: r.resends,
        errors_total: r.errors_total,
        delivered_distinct_per_s: r.distinct_delivered_per_s,
        p50_ms: (lat.count > 0).then_some(lat.p50_ms),
        p99_ms: (lat.count > 0).then_some(lat.p99_ms),
        ack_p99_ms: (r.latency_ack.count > 0).then_some(r.latency_ack.p99_ms),
        server_peak_rss_kib: r.rss.server_peak_kib,
        ..Default::default()
    };
    judge(&mut s, bounds);
    s
}

/// Sets `within_bounds` and `broke` from p99 and loss.
pub fn judge(s: &mut StepResult, b: &Bounds) {
    s.broke.clear();
    match s.p99_ms {
        None => s.broke.push("no message delivered".to_owned()),
        Some(p) if p > b.max_p99_ms => s
            .broke
            .push(format!("p99 {p:.1} ms > {:.1} ms", b.max_p99_ms)),
        Some(_) => {}
    }
    if s.loss > b.max_loss {
        s.broke.push(format!(
            "loss {:.4} % > {:.4} %",
            s.loss * 100.0,
            b.max_loss * 100.0
        ));
    }
    s.within_bounds = s.broke.is_empty();
}

/// The sustainable capacity: the last step within bounds before the first one out of
/// them (a later step that happens to pass again does not count).
pub fn capacity(steps: &[StepResult]) -> Option<&StepResult> {
    steps.iter().take_while(|s| s.within_bounds).last()
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetSweep {
    pub target: String,
    pub steps: Vec<StepResult>,
    /// Offered msg/s of the last step within bounds; `None` if the first step broke them.
    pub capacity_msgs_per_s: Option<f64>,
    /// What that step delivered (distinct msg/s in its window).
    pub capacity_delivered_per_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SweepOut {
    pub bounds: Bounds,
    pub visitors: usize,
    pub agents: usize,
    pub step_duration_s: f64,
    pub rates: Vec<f64>,
    pub targets: Vec<TargetSweep>,
}

pub fn render_step(s: &StepResult) -> String {
    let f = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.1}"));
    format!(
        "{:>9.0} msg/s offered: delivered {:>8.1}/s  p50 {:>8} ms  p99 {:>8} ms  loss {:>7.3} %  busy {:>6}  resends {:>6}  errors {:>6}  RSS {:>7}  {}",
        s.offered_msgs_per_s,
        s.delivered_distinct_per_s,
        f(s.p50_ms),
        f(s.p99_ms),
        s.loss * 100.0,
        s.busy_refusals,
        s.resends,
        s.errors_total,
        s.server_peak_rss_kib
            .map_or("n/a".to_owned(), |k| format!("{:.0} MiB", k as f64 / 1024.0)),
        if s.within_bounds {
            "ok".to_owned()
        } else {
            format!("OUT: {}", s.broke.join(", "))
        }
    )
}

pub fn render(out: &SweepOut) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "sweep: {} visitors, {} agents, {:.0} s per step, bounds p99 <= {:.1} ms and loss <= {:.4} %",
        out.visitors,
        out.agents,
        out.step_duration_s,
        out.bounds.max_p99_ms,
        out.bounds.max_loss * 100.0
    );
    for t in &out.targets {
        let _ = writeln!(s, "== {} ==", t.target);
        for st in &t.steps {
            let _ = writeln!(s, "{}", render_step(st));
        }
        let _ = match (t.capacity_msgs_per_s, t.capacity_delivered_per_s) {
            (Some(c), Some(d)) => writeln!(
                s,
                "sustainable capacity ({}): {c:.0} msg/s offered ({d:.1} msg/s delivered){}",
                t.target,
                if t.steps.iter().all(|s| s.within_bounds) {
                    " — every step was within bounds: raise --max to find the limit"
                } else {
                    ""
                }
            ),
            _ => writeln!(
                s,
                "sustainable capacity ({}): below the first step ({:.0} msg/s)",
                t.target,
                out.rates.first().copied().unwrap_or(0.0)
            ),
        };
    }
    s
}

pub struct SweepPlan {
    pub rates: Vec<f64>,
    pub bounds: Bounds,
    pub visitors: usize,
    /// Pause between steps, so the previous step's backlog does not spill into the next.
    pub settle: Duration,
}

/// Runs the steps against one target until a step breaks the bounds. Returns the steps and
/// each step's report (for the time series).
pub async fn run_target(
    plan: &SweepPlan,
    base: &LoadConfig,
    target: &Target,
) -> Result<(TargetSweep, Vec<Report>)> {
    let mut steps = Vec::new();
    let mut reports = Vec::new();
    let mut label = String::new();
    for (i, &rate) in plan.rates.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(plan.settle).await;
        }
        let cfg = LoadConfig {
            rate_per_visitor: rate / plan.visitors as f64,
            ..base.clone()
        };
        if !base.quiet {
            eprintln!(
                "[sweep] step {}/{}: {rate:.0} msg/s offered ({:.3} msg/s per visitor)",
                i + 1,
                plan.rates.len(),
                cfg.rate_per_visitor
            );
        }
        // The same project and agents each step; the visitors are new each step.
        let r = load::run(target.clone(), cfg).await?;
        let step = step_of(&r, &plan.bounds);
        label = r.label.clone();
        // One line per step, also with --quiet: it is the sweep's result.
        eprintln!("[sweep] {}", render_step(&step));
        let broke = !step.within_bounds;
        steps.push(step);
        reports.push(r);
        if broke {
            break;
        }
    }
    let cap = capacity(&steps);
    let sweep = TargetSweep {
        target: label,
        capacity_msgs_per_s: cap.map(|s| s.offered_msgs_per_s),
        capacity_delivered_per_s: cap.map(|s| s.delivered_distinct_per_s),
        steps,
    };
    Ok((sweep, reports))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{LatencySummary, MessageTally};

    #[test]
    fn additive_steps_end_at_max() {
        assert_eq!(
            rate_steps(200.0, Growth::Add(200.0), 1000.0).expect("steps"),
            vec![200.0, 400.0, 600.0, 800.0, 1000.0]
        );
        // The last step is capped at max rather than overshooting it.
        assert_eq!(
            rate_steps(200.0, Growth::Add(300.0), 1000.0).expect("steps"),
            vec![200.0, 500.0, 800.0, 1000.0]
        );
        assert_eq!(
            rate_steps(5.0, Growth::Add(1.0), 5.0).expect("one"),
            vec![5.0]
        );
    }

    #[test]
    fn multiplicative_steps_survive_rounding() {
        assert_eq!(
            rate_steps(200.0, Growth::Mul(2.0), 1600.0).expect("steps"),
            vec![200.0, 400.0, 800.0, 1600.0]
        );
        let v = rate_steps(100.0, Growth::Mul(1.1), 200.0).expect("steps");
        assert_eq!(v.last(), Some(&200.0));
        assert!(v.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn nonsense_steps_are_refused() {
        assert!(rate_steps(0.0, Growth::Add(1.0), 10.0).is_err());
        assert!(rate_steps(10.0, Growth::Add(1.0), 5.0).is_err());
        assert!(rate_steps(10.0, Growth::Add(0.0), 50.0).is_err());
        assert!(rate_steps(10.0, Growth::Mul(1.0), 50.0).is_err());
        assert!(rate_steps(1.0, Growth::Add(1e-6), 1e6).is_err());
    }

    fn report(offered: f64, p99: Option<f64>, sent: u64, lost: u64) -> Report {
        Report {
            label: "ours".into(),
            offered_msgs_per_s: offered,
            distinct_delivered_per_s: offered,
            messages: MessageTally {
                sent,
                lost,
                delivered_distinct: sent - lost,
                ..Default::default()
            },
            latency_visitor_to_agent: match p99 {
                Some(p) => LatencySummary {
                    count: 1,
                    p50_ms: p / 2.0,
                    p99_ms: p,
                    ..Default::default()
                },
                None => LatencySummary::default(),
            },
            ..Default::default()
        }
    }

    const B: Bounds = Bounds {
        max_p99_ms: 100.0,
        max_loss: 0.001,
    };

    #[test]
    fn a_step_breaks_on_p99_or_on_loss() {
        assert!(step_of(&report(100.0, Some(99.0), 1000, 1), &B).within_bounds);
        let slow = step_of(&report(100.0, Some(101.0), 1000, 0), &B);
        assert!(!slow.within_bounds);
        assert!(slow.broke[0].starts_with("p99"), "{:?}", slow.broke);
        let lossy = step_of(&report(100.0, Some(5.0), 1000, 2), &B);
        assert!(!lossy.within_bounds);
        assert!(lossy.broke[0].starts_with("loss"), "{:?}", lossy.broke);
        assert!(!step_of(&report(100.0, None, 0, 0), &B).within_bounds);
    }

    #[test]
    fn failed_sends_count_as_loss() {
        let mut r = report(100.0, Some(5.0), 1000, 0);
        r.send_failed = 10;
        let s = step_of(&r, &B);
        assert!((s.loss - 10.0 / 1010.0).abs() < 1e-12);
        assert!(!s.within_bounds);
    }

    #[test]
    fn capacity_is_the_last_step_before_the_first_break() {
        let steps: Vec<StepResult> = [
            (200.0, Some(5.0)),
            (400.0, Some(20.0)),
            (800.0, Some(500.0)),
            (1600.0, Some(50.0)),
        ]
        .iter()
        .map(|&(o, p)| step_of(&report(o, p, 100, 0), &B))
        .collect();
        assert_eq!(capacity(&steps).map(|s| s.offered_msgs_per_s), Some(400.0));
        assert_eq!(capacity(&steps[2..]), None);
        assert_eq!(capacity(&[]), None);
        let out = SweepOut {
            bounds: B,
            visitors: 10,
            agents: 1,
            step_duration_s: 10.0,
            rates: vec![200.0, 400.0, 800.0],
            targets: vec![TargetSweep {
                target: "ours".into(),
                capacity_msgs_per_s: Some(400.0),
                capacity_delivered_per_s: Some(400.0),
                steps: steps[..3].to_vec(),
            }],
        };
        let text = render(&out);
        assert!(
            text.contains("sustainable capacity (ours): 400 msg/s"),
            "{text}"
        );
        assert!(text.contains("OUT: p99 500.0 ms"), "{text}");
    }
}
