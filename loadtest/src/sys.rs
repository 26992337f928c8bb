//! Process-level helpers: RSS sampling from /proc and the open-file limit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio_util::sync::CancellationToken;

/// Parses the `VmRSS:` line of a /proc/PID/status text, in KiB.
pub fn parse_vmrss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut parts = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => Some(value),
        Some(_) => None,
    }
}

/// VmRSS of `pid` (or of this process when `None`), in KiB.
pub fn read_vmrss_kib(pid: Option<u32>) -> Result<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_vmrss_kib(&text).with_context(|| format!("no VmRSS line in {path}"))
}

/// Samples the VmRSS of one process every second until stopped, keeping the peak.
pub struct RssSampler {
    pid: Option<u32>,
    start: Option<u64>,
    peak: Arc<AtomicU64>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    pub fn start(pid: Option<u32>) -> Self {
        let start = read_vmrss_kib(pid).ok();
        let peak = Arc::new(AtomicU64::new(start.unwrap_or(0)));
        let stop = CancellationToken::new();
        let task = {
            let peak = peak.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tick.tick() => {
                            if let Ok(v) = read_vmrss_kib(pid) {
                                peak.fetch_max(v, Ordering::Relaxed);
                            }
                        }
                    }
                }
            })
        };
        RssSampler {
            pid,
            start,
            peak,
            stop,
            task,
        }
    }

    /// Stops sampling; returns (start, peak, end) in KiB, `None` where unreadable.
    pub async fn finish(self) -> (Option<u64>, Option<u64>, Option<u64>) {
        self.stop.cancel();
        let _ = self.task.await;
        let end = read_vmrss_kib(self.pid).ok();
        let mut peak = self.peak.load(Ordering::Relaxed);
        if let Some(e) = end {
            peak = peak.max(e);
        }
        let peak = (peak > 0).then_some(peak);
        (self.start, peak, end)
    }
}

/// Linux reports /proc CPU times in USER_HZ ticks, which is 100 on every architecture the
/// kernel supports today (sysconf(_SC_CLK_TCK) returns the same); assuming it avoids libc.
const TICKS_PER_S: f64 = 100.0;

/// (ppid, utime + stime in ticks) from the text of /proc/PID/stat. The command name is in
/// parentheses and may hold spaces or parentheses itself, so fields are counted from the
/// last `)`.
pub fn parse_stat(stat: &str) -> Option<(u32, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) … utime(14) stime(15).
    let ppid = f.get(1)?.parse().ok()?;
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

/// CPU ticks of `pid` itself and of all its descendants (for the embedded PostgreSQL: its
/// postmaster and backends). `None` when `pid` is gone.
pub fn cpu_ticks_tree(pid: u32) -> Option<(u64, u64)> {
    let mut procs: Vec<(u32, u32, u64)> = Vec::new();
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Some((ppid, t)) = std::fs::read_to_string(format!("/proc/{p}/stat"))
            .ok()
            .as_deref()
            .and_then(parse_stat)
        {
            procs.push((p, ppid, t));
        }
    }
    split_tree(pid, &procs)
}

/// (own ticks, descendants' ticks) of `root` among (pid, ppid, ticks) rows.
pub fn split_tree(root: u32, procs: &[(u32, u32, u64)]) -> Option<(u64, u64)> {
    let own = procs.iter().find(|p| p.0 == root)?.2;
    let mut inside = vec![root];
    let mut children = 0;
    // Parents usually have lower pids, but not always (pid wrap): repeat until stable.
    loop {
        let before = inside.len();
        for &(p, pp, t) in procs {
            if !inside.contains(&p) && inside.contains(&pp) {
                inside.push(p);
                children += t;
            }
        }
        if inside.len() == before {
            break;
        }
    }
    Some((own, children))
}

/// One reading of the machine-side figures, `at` seconds after the series' origin.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SysSample {
    pub at_s: f64,
    pub server_rss_kib: Option<u64>,
    /// Server process CPU, % of one core, over the interval before this reading.
    pub server_cpu_pct: Option<f64>,
    /// The server's descendants (embedded PostgreSQL), % of one core.
    pub children_cpu_pct: Option<f64>,
    pub self_rss_kib: Option<u64>,
    /// This loadtest process (in `baseline`, the baseline server too), % of one core.
    pub self_cpu_pct: Option<f64>,
}

/// Reads RSS and CPU of the server (and its process tree) and this process once a second.
pub struct SysSampler {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Vec<SysSample>>,
}

impl SysSampler {
    /// `origin`: the instant `at_s` counts from (the start of the send window).
    pub fn start(pid: Option<u32>, origin: tokio::time::Instant) -> Self {
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let mut out = Vec::new();
            let mut last: Option<(tokio::time::Instant, u64, u64)> = None;
            let mut last_self: Option<(tokio::time::Instant, u64)> = None;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let now = tokio::time::Instant::now();
                // The /proc scan is blocking file I/O, but a few hundred tiny reads a second.
                let ticks = pid.and_then(cpu_ticks_tree);
                let (mut server_cpu_pct, mut children_cpu_pct) = (None, None);
                if let (Some((own, kids)), Some((t0, own0, kids0))) = (ticks, last) {
                    let dt = now.duration_since(t0).as_secs_f64();
                    if dt > 0.0 {
                        let pct =
                            |a: u64, b: u64| a.saturating_sub(b) as f64 / TICKS_PER_S / dt * 100.0;
                        server_cpu_pct = Some(pct(own, own0));
                        children_cpu_pct = Some(pct(kids, kids0));
                    }
                }
                if let Some((own, kids)) = ticks {
                    last = Some((now, own, kids));
                }
                let self_ticks = std::fs::read_to_string("/proc/self/stat")
                    .ok()
                    .as_deref()
                    .and_then(parse_stat)
                    .map(|s| s.1);
                let mut self_cpu_pct = None;
                if let (Some(t), Some((t0, s0))) = (self_ticks, last_self) {
                    let dt = now.duration_since(t0).as_secs_f64();
                    if dt > 0.0 {
                        self_cpu_pct = Some(t.saturating_sub(s0) as f64 / TICKS_PER_S / dt * 100.0);
                    }
                }
                if let Some(t) = self_ticks {
                    last_self = Some((now, t));
                }
                let at_s = if now >= origin {
                    now.duration_since(origin).as_secs_f64()
                } else {
                    -origin.duration_since(now).as_secs_f64()
                };
                out.push(SysSample {
                    at_s,
                    server_rss_kib: pid.and_then(|p| read_vmrss_kib(Some(p)).ok()),
                    server_cpu_pct,
                    children_cpu_pct,
                    self_rss_kib: read_vmrss_kib(None).ok(),
                    self_cpu_pct,
                });
            }
            out
        });
        SysSampler { stop, task }
    }

    pub async fn finish(self) -> Vec<SysSample> {
        self.stop.cancel();
        self.task.await.unwrap_or_default()
    }
}

/// Raises the soft RLIMIT_NOFILE to the hard limit and checks that `needed` descriptors
/// fit. Returns the new soft limit.
pub fn raise_nofile(needed: u64) -> Result<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("getrlimit(RLIMIT_NOFILE)")?;
    let mut now = soft;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
            .with_context(|| format!("raising RLIMIT_NOFILE soft limit {soft} to {hard}"))?;
        now = hard;
    }
    if now < needed {
        // Above the hard limit needs CAP_SYS_RESOURCE (root); the kernel caps it at
        // fs.nr_open. Try, and fall through to the error below if it is refused.
        let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .unwrap_or(needed);
        let want = needed.max(65_536).min(nr_open);
        if want > now && setrlimit(Resource::RLIMIT_NOFILE, want, want).is_ok() {
            now = want;
        }
    }
    if now < needed {
        bail!(
            "this run needs about {needed} file descriptors but the open-file hard limit is {hard}; \
             lower --visitors/--agents or raise the hard limit (ulimit -Hn)"
        );
    }
    Ok(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vmrss() {
        let status = "Name:\tswitchboard\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\nThreads:\t4\n";
        assert_eq!(parse_vmrss_kib(status), Some(12345));
        assert_eq!(parse_vmrss_kib("Name: x\n"), None);
        assert_eq!(parse_vmrss_kib("VmRSS: lots kB\n"), None);
    }

    #[test]
    fn parses_stat_with_a_name_holding_parentheses() {
        let stat =
            "4242 (post gres) (x)) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 1 0 99";
        assert_eq!(parse_stat(stat), Some((17, 281)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn the_tree_sums_descendants_but_not_strangers() {
        // 10 is the server; 30 is its grandchild listed before its parent 20; 40 is unrelated.
        let procs = [(10, 1, 5), (30, 20, 7), (20, 10, 11), (40, 1, 1000)];
        assert_eq!(split_tree(10, &procs), Some((5, 18)));
        assert_eq!(split_tree(99, &procs), None);
    }

    #[test]
    fn reads_own_cpu_ticks() {
        assert!(cpu_ticks_tree(std::process::id()).is_some());
    }

    #[test]
    fn reads_own_rss() {
        assert!(read_vmrss_kib(None).expect("own status") > 0);
    }
}
