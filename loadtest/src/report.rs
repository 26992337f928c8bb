//! `loadtest report`: a self-contained HTML page with inline SVG charts drawn from a
//! `--series` JSON file.
//!
//! The SVG is written by hand rather than with a plotting crate (`plotters` and the like):
//! four kinds of chart with lines and bars need ~300 lines here, while a plotting crate
//! brings font rasterising dependencies, emits text as paths or needs system fonts, and makes
//! the output harder to test. Hand-written SVG is plain text whose elements the unit tests
//! check, opens in any browser with no network, and stays small in a git diff.

use std::fmt::Write as _;

use crate::series::{merge_histograms, HistBin, SecondPoint, Series, SeriesFile};

const W: f64 = 900.0;
const H: f64 = 260.0;
const ML: f64 = 64.0;
const MR: f64 = 16.0;
const MT: f64 = 28.0;
const MB: f64 = 40.0;

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A line of a chart: name, colour, and (x, y) points; `None` breaks the line.
pub struct Line {
    pub name: String,
    pub color: &'static str,
    pub points: Vec<(f64, Option<f64>)>,
}

/// A vertical marker on the time axis (a sweep step's start).
pub struct Marker {
    pub x: f64,
    pub label: String,
}

fn nice_step(range: f64, ticks: f64) -> f64 {
    let raw = (range / ticks).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let n = raw / mag;
    let m = if n <= 1.0 {
        1.0
    } else if n <= 2.0 {
        2.0
    } else if n <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        "0".to_owned()
    } else if v.abs() >= 1000.0 {
        let k = v / 1000.0;
        if (k - k.round()).abs() < 1e-9 {
            format!("{k:.0}k")
        } else {
            format!("{k:.1}k")
        }
    } else if v.abs() >= 1.0 {
        format!("{}", (v * 100.0).round() / 100.0)
    } else {
        format!("{}", (v * 1000.0).round() / 1000.0)
    }
}

/// A line chart. With `log_y` the y axis is logarithmic (latencies span 1 ms to seconds).
pub fn line_chart(
    title: &str,
    y_label: &str,
    lines: &[Line],
    markers: &[Marker],
    log_y: bool,
) -> String {
    let ys: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().filter_map(|p| p.1))
        .filter(|y| y.is_finite() && (!log_y || *y > 0.0))
        .collect();
    let xs: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .collect();
    let x_max = xs.iter().copied().fold(1.0f64, f64::max);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img"><title>{t}</title><text x="{ML}" y="18" class="ct">{t}</text>"#,
        t = esc(title)
    );
    let pw = W - ML - MR;
    let ph = H - MT - MB;
    let px = |x: f64| ML + x / x_max * pw;
    if ys.is_empty() {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" class="empty">no data</text></svg>"#,
            W / 2.0,
            H / 2.0
        );
        return s;
    }
    let (lo, hi, ticks): (f64, f64, Vec<f64>) = if log_y {
        let lo = 10f64.powf(ys.iter().copied().fold(f64::MAX, f64::min).log10().floor());
        let mut hi = 10f64.powf(ys.iter().copied().fold(0.0, f64::max).log10().ceil());
        if hi <= lo {
            hi = lo * 10.0;
        }
        let mut t = Vec::new();
        let mut v = lo;
        while v <= hi * 1.0001 {
            t.push(v);
            v *= 10.0;
        }
        (lo, hi, t)
    } else {
        let hi = ys.iter().copied().fold(0.0, f64::max);
        let step = nice_step(if hi > 0.0 { hi } else { 1.0 }, 5.0);
        let hi = (hi / step).ceil().max(1.0) * step;
        let t = (0..=((hi / step).round() as usize))
            .map(|i| i as f64 * step)
            .collect();
        (0.0, hi, t)
    };
    let py = |y: f64| {
        let f = if log_y {
            (y.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10())
        } else {
            (y - lo) / (hi - lo)
        };
        MT + ph - f * ph
    };
    // Grid and y ticks.
    for t in &ticks {
        let y = py(*t);
        let _ = write!(
            s,
            r#"<line x1="{ML}" x2="{}" y1="{y:.1}" y2="{y:.1}" class="grid"/><text x="{}" y="{:.1}" class="yt">{}</text>"#,
            W - MR,
            ML - 6.0,
            y + 4.0,
            fmt_num(*t)
        );
    }
    // x ticks in seconds.
    let xs_step = nice_step(x_max, 10.0).max(1.0);
    let mut x = 0.0;
    while x <= x_max + 1e-9 {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" class="xt">{}</text>"#,
            px(x),
            MT + ph + 16.0,
            fmt_num(x)
        );
        x += xs_step;
    }
    let _ = write!(
        s,
        r#"<line x1="{ML}" x2="{}" y1="{b}" y2="{b}" class="axis"/><line x1="{ML}" x2="{ML}" y1="{MT}" y2="{b}" class="axis"/><text x="{}" y="{}" class="xl">seconds</text><text x="14" y="{}" class="yl" transform="rotate(-90 14 {})">{}</text>"#,
        W - MR,
        ML + pw / 2.0,
        H - 6.0,
        MT + ph / 2.0,
        MT + ph / 2.0,
        esc(y_label),
        b = MT + ph
    );
    for m in markers {
        let x = px(m.x);
        let _ = write!(
            s,
            r#"<line x1="{x:.1}" x2="{x:.1}" y1="{MT}" y2="{}" class="marker"/><text x="{:.1}" y="{}" class="ml">{}</text>"#,
            MT + ph,
            x + 3.0,
            MT + 10.0,
            esc(&m.label)
        );
    }
    for l in lines {
        // A gap (None) ends one polyline and starts the next.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for &(x, y) in &l.points {
            match y.filter(|y| y.is_finite() && (!log_y || *y > 0.0)) {
                Some(y) => {
                    if let Some(r) = runs.last_mut() {
                        r.push((px(x), py(y)));
                    }
                }
                None => runs.push(Vec::new()),
            }
        }
        for r in runs.iter().filter(|r| !r.is_empty()) {
            let pts: Vec<String> = r.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            if r.len() == 1 {
                let _ = write!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2" fill="{}"/>"#,
                    r[0].0, r[0].1, l.color
                );
            } else {
                let _ = write!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5"/>"#,
                    pts.join(" "),
                    l.color
                );
            }
        }
    }
    // Legend, top right.
    let mut lx = W - MR - 10.0;
    for l in lines.iter().rev() {
        lx -= 12.0 + 7.0 * l.name.chars().count() as f64;
        let _ = write!(
            s,
            r#"<rect x="{lx:.1}" y="10" width="10" height="10" fill="{}"/><text x="{:.1}" y="19" class="lg">{}</text>"#,
            l.color,
            lx + 13.0,
            esc(&l.name)
        );
        lx -= 10.0;
    }
    s.push_str("</svg>");
    s
}

/// The latency histogram: one bar per bin (bins on a 1-2-5 ms scale).
pub fn histogram_chart(title: &str, bins: &[HistBin]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img"><title>{t}</title><text x="{ML}" y="18" class="ct">{t}</text>"#,
        t = esc(title)
    );
    let total: u64 = bins.iter().map(|b| b.count).sum();
    // Trim empty bins at both ends so the bars use the width.
    let first = bins.iter().position(|b| b.count > 0);
    let last = bins.iter().rposition(|b| b.count > 0);
    let (Some(a), Some(z)) = (first, last) else {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" class="empty">no data</text></svg>"#,
            W / 2.0,
            H / 2.0
        );
        return s;
    };
    let shown = &bins[a..=z];
    let pw = W - ML - MR;
    let ph = H - MT - MB;
    let bw = pw / shown.len() as f64;
    let max = shown.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let _ = write!(
        s,
        r#"<line x1="{ML}" x2="{}" y1="{b}" y2="{b}" class="axis"/><text x="{}" y="{}" class="xl">visitor → agent latency, ms (bar = up to the value below it)</text><text x="14" y="{}" class="yl" transform="rotate(-90 14 {})">% of messages</text>"#,
        W - MR,
        ML + pw / 2.0,
        H - 6.0,
        MT + ph / 2.0,
        MT + ph / 2.0,
        b = MT + ph
    );
    for (i, b) in shown.iter().enumerate() {
        // 90 % of the height, so the tallest bar's label stays inside the chart.
        let h = b.count as f64 / max * ph * 0.9;
        let x = ML + i as f64 * bw;
        let pct = b.count as f64 * 100.0 / total as f64;
        let label = b.le_ms.map_or("more".to_owned(), fmt_num);
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="#4e79a7"><title>≤ {label} ms: {} ({pct:.2} %)</title></rect><text x="{:.1}" y="{}" class="xt">{label}</text>"##,
            x + 1.0,
            MT + ph - h,
            (bw - 2.0).max(1.0),
            b.count,
            x + bw / 2.0,
            MT + ph + 16.0
        );
        if b.count > 0 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" class="bt">{pct:.1}</text>"#,
                x + bw / 2.0,
                MT + ph - h - 3.0
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// One group's runs laid end to end: (x, point) and a marker at each run's start.
fn timeline(runs: &[&Series]) -> (Vec<(f64, SecondPoint)>, Vec<Marker>) {
    let mut pts = Vec::new();
    let mut markers = Vec::new();
    let mut offset = 0.0;
    for r in runs {
        if runs.len() > 1 {
            markers.push(Marker {
                x: offset,
                label: format!("{:.0}/s", r.offered_msgs_per_s),
            });
        }
        for p in &r.points {
            pts.push((offset + f64::from(p.t), p.clone()));
        }
        offset += r.points.len() as f64;
    }
    (pts, markers)
}

fn line(
    name: &str,
    color: &'static str,
    pts: &[(f64, SecondPoint)],
    f: impl Fn(&SecondPoint) -> Option<f64>,
) -> Line {
    Line {
        name: name.to_owned(),
        color,
        points: pts.iter().map(|(x, p)| (*x + 0.5, f(p))).collect(),
    }
}

fn group_section(group: &str, runs: &[&Series]) -> String {
    let (pts, markers) = timeline(runs);
    let mut s = String::new();
    let _ = write!(s, "<h2>{}</h2>", esc(group));
    s.push_str(&line_chart(
        &format!("{group}: visitor → agent latency per second (messages delivered in that second)"),
        "ms (log)",
        &[
            line("p50", "#4e79a7", &pts, |p| p.p50_ms),
            line("p99", "#e15759", &pts, |p| p.p99_ms),
        ],
        &markers,
        true,
    ));
    let errors = |p: &SecondPoint| Some(p.errors.values().sum::<u64>() as f64);
    s.push_str(&line_chart(
        &format!("{group}: throughput per second"),
        "messages / s",
        &[
            line("offered", "#bab0ac", &pts, |p| Some(p.offered as f64)),
            line("acked", "#59a14f", &pts, |p| Some(p.acked as f64)),
            line("delivered", "#4e79a7", &pts, |p| Some(p.delivered as f64)),
            line("errors", "#e15759", &pts, errors),
            line("resends", "#f28e2b", &pts, |p| Some(p.resends as f64)),
        ],
        &markers,
        false,
    ));
    let mib = |k: Option<u64>| k.map(|k| k as f64 / 1024.0);
    s.push_str(&line_chart(
        &format!("{group}: memory (VmRSS)"),
        "MiB",
        &[
            line("server", "#4e79a7", &pts, |p| mib(p.server_rss_kib)),
            line("loadtest", "#bab0ac", &pts, |p| mib(p.self_rss_kib)),
        ],
        &markers,
        false,
    ));
    s.push_str(&line_chart(
        &format!("{group}: CPU"),
        "% of one core",
        &[
            line("server", "#4e79a7", &pts, |p| p.server_cpu_pct),
            line("its children (PostgreSQL)", "#76b7b2", &pts, |p| {
                p.children_cpu_pct
            }),
            line("loadtest", "#bab0ac", &pts, |p| p.self_cpu_pct),
        ],
        &markers,
        false,
    ));
    let hist = merge_histograms(runs.iter().map(|r| r.latency_histogram.as_slice()));
    s.push_str(&histogram_chart(
        &format!(
            "{group}: latency histogram (all messages{})",
            if runs.len() > 1 { " of all steps" } else { "" }
        ),
        &hist,
    ));
    s
}

/// The sweep's step table, from the `sweep` value of the file.
fn sweep_table(v: &serde_json::Value) -> String {
    let mut s = String::new();
    let num = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_f64());
    let f1 = |x: Option<f64>| x.map_or("n/a".to_owned(), |x| format!("{x:.1}"));
    for t in v
        .get("targets")
        .and_then(|t| t.as_array())
        .into_iter()
        .flatten()
    {
        let name = t.get("target").and_then(|x| x.as_str()).unwrap_or("?");
        let _ = write!(
            s,
            "<h3>{}: sustainable capacity {}</h3><table><tr><th>offered msg/s</th><th>delivered msg/s</th><th>p50 ms</th><th>p99 ms</th><th>loss %</th><th>busy</th><th>resends</th><th>errors</th><th>verdict</th></tr>",
            esc(name),
            num(t, "capacity_msgs_per_s").map_or("below the first step".to_owned(), |c| format!("{c:.0} msg/s offered"))
        );
        for st in t
            .get("steps")
            .and_then(|x| x.as_array())
            .into_iter()
            .flatten()
        {
            let broke: Vec<&str> = st
                .get("broke")
                .and_then(|b| b.as_array())
                .into_iter()
                .flatten()
                .filter_map(|b| b.as_str())
                .collect();
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                f1(num(st, "offered_msgs_per_s")),
                f1(num(st, "delivered_distinct_per_s")),
                f1(num(st, "p50_ms")),
                f1(num(st, "p99_ms")),
                num(st, "loss").unwrap_or(0.0) * 100.0,
                num(st, "busy_refusals").unwrap_or(0.0),
                num(st, "resends").unwrap_or(0.0),
                num(st, "errors_total").unwrap_or(0.0),
                if broke.is_empty() { "within bounds".to_owned() } else { esc(&broke.join(", ")) }
            );
        }
        s.push_str("</table>");
    }
    s
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:960px}\
h1{font-size:20px}h2{font-size:17px;margin-top:32px}h3{font-size:15px}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
svg.chart{display:block;margin:12px 0;background:#fff}\
.ct{font-size:13px;font-weight:600}.xt,.yt,.lg,.bt,.ml{font-size:11px}.yt{text-anchor:end}\
.xt,.bt{text-anchor:middle}.xl,.yl{font-size:11px;text-anchor:middle;fill:#555}\
.grid{stroke:#eee}.axis{stroke:#888}.marker{stroke:#999;stroke-dasharray:3 3}.ml{fill:#666}\
.empty{text-anchor:middle;fill:#999}";

/// The whole page: title, the sweep's table if any, then per group its five charts.
pub fn render(file: &SeriesFile) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>\
         <p>From <code>loadtest {m}</code>. Time runs along the x axis in seconds from the start of the send window{steps}; the seconds after a window are its drain. Latency is visitor → first agent, per second of delivery.</p>",
        t = esc(&file.title),
        m = esc(&file.mode),
        steps = if file.mode == "sweep" { " (steps laid end to end, dashed lines mark each step's start and its offered rate)" } else { "" }
    );
    if let Some(v) = &file.sweep {
        s.push_str(&sweep_table(v));
    }
    let mut groups: Vec<&str> = Vec::new();
    for r in &file.runs {
        if !groups.contains(&r.group.as_str()) {
            groups.push(&r.group);
        }
    }
    for g in groups {
        let runs: Vec<&Series> = file.runs.iter().filter(|r| r.group == g).collect();
        s.push_str(&group_section(g, &runs));
    }
    s.push_str("</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::histogram;

    fn series(group: &str, rate: f64, n: u32) -> Series {
        Series {
            group: group.into(),
            offered_msgs_per_s: rate,
            window_s: f64::from(n),
            points: (0..n)
                .map(|t| SecondPoint {
                    t,
                    offered: rate as u64,
                    acked: rate as u64,
                    delivered: rate as u64,
                    p50_ms: Some(2.0 + f64::from(t)),
                    p99_ms: (t != 1).then_some(20.0),
                    server_rss_kib: Some(10_240),
                    server_cpu_pct: Some(40.0),
                    ..Default::default()
                })
                .collect(),
            latency_histogram: histogram([1.5, 2.5, 3.0, 40.0]),
        }
    }

    #[test]
    fn the_page_is_self_contained_with_every_chart() {
        let f = SeriesFile {
            title: "sweep <test>".into(),
            mode: "sweep".into(),
            runs: vec![series("ours", 200.0, 3), series("ours", 400.0, 3)],
            sweep: Some(
                serde_json::json!({"targets":[{"target":"ours","capacity_msgs_per_s":200.0,
                "steps":[{"offered_msgs_per_s":200.0,"p99_ms":20.0,"loss":0.0,"broke":[]},
                         {"offered_msgs_per_s":400.0,"p99_ms":150.0,"loss":0.0,"broke":["p99 150.0 ms > 100.0 ms"]}]}]}),
            ),
        };
        let html = render(&f);
        assert!(html.starts_with("<!doctype html>"));
        // No network: no external scripts, stylesheets or images.
        assert!(!html.contains("<script"));
        assert!(!html.contains("src=") && !html.contains("href="));
        assert_eq!(
            html.matches("<svg").count(),
            5,
            "latency, throughput, RSS, CPU, histogram"
        );
        assert!(html.contains("sweep &lt;test&gt;"));
        assert!(html.contains("<polyline"));
        assert!(html.contains(">p99<"));
        assert!(html.contains(">delivered<"));
        // Histogram bars, and the step markers of a sweep.
        assert!(html.matches("<rect").count() >= 4);
        assert!(html.contains(">400/s<"));
        assert!(html.contains("sustainable capacity 200 msg/s offered"));
        assert!(html.contains("p99 150.0 ms &gt; 100.0 ms"));
    }

    #[test]
    fn a_gap_in_the_data_splits_the_line() {
        let s = series("ours", 100.0, 4);
        let (pts, markers) = timeline(&[&s]);
        assert!(markers.is_empty());
        let l = line("p99", "#000", &pts, |p| p.p99_ms);
        let svg = line_chart("t", "ms", &[l], &[], true);
        // Points 0 | 2,3: a lone dot, then a polyline.
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 1);
    }

    #[test]
    fn groups_are_drawn_separately_and_steps_end_to_end() {
        let f = SeriesFile {
            title: "compare".into(),
            mode: "compare".into(),
            runs: vec![series("baseline", 100.0, 2), series("ours", 100.0, 2)],
            sweep: None,
        };
        let html = render(&f);
        assert_eq!(html.matches("<svg").count(), 10);
        assert!(html.contains("<h2>baseline</h2>") && html.contains("<h2>ours</h2>"));
        let (a, b) = (series("ours", 1.0, 3), series("ours", 2.0, 2));
        let (pts, m) = timeline(&[&a, &b]);
        assert_eq!(
            pts.iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![0.0, 1.0, 2.0, 3.0, 4.0]
        );
        assert_eq!(m.iter().map(|m| m.x).collect::<Vec<_>>(), vec![0.0, 3.0]);
    }

    #[test]
    fn empty_data_says_so() {
        assert!(line_chart("t", "y", &[], &[], false).contains("no data"));
        assert!(histogram_chart("h", &histogram([])).contains("no data"));
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(nice_step(1000.0, 5.0), 200.0);
        assert_eq!(nice_step(7.0, 5.0), 2.0);
        assert_eq!(fmt_num(2000.0), "2k");
        assert_eq!(fmt_num(0.5), "0.5");
    }
}
