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
    fn reads_own_rss() {
        assert!(read_vmrss_kib(None).expect("own status") > 0);
    }
}
