//! A real SMTP server process for the tests (`tests/smtp_server.py`, aiosmtpd): it records
//! every accepted mail as a JSON line the tests read back. Every wait is bounded; the process
//! is killed when the handle is dropped.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use switchboard::config::{Config, SmtpConfig};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

pub const FROM: &str = "Switchboard <alerts@switchboard.test>";
pub const PUBLIC_URL: &str = "https://support.example.com";

pub struct SmtpServer {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    pub port: u16,
    out: PathBuf,
}

impl SmtpServer {
    /// Starts the server with behaviour flags (`--fail-first 1 --fail-code 421`,
    /// `--reject-code 550`) and waits until it listens.
    pub async fn start(flags: &[&str]) -> SmtpServer {
        let dir = super::temp_dir("smtp");
        let out = dir.join("mails.jsonl");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--port", "0", "--out"])
            .arg(&out)
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 tests/smtp_server.py starts (pip install aiosmtpd)");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        tokio::time::timeout(super::WAIT, stdout.read_line(&mut line))
            .await
            .expect("the SMTP test server did not start in time (is aiosmtpd installed?)")
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the SMTP server: {line:?}"));
        SmtpServer {
            child,
            _stdout: stdout,
            port,
            out,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// A test-server configuration: SMTP here, a public URL for links, 1 s retry base.
    pub fn configure(&self) -> impl Fn(&mut Config) + Send + Sync + 'static {
        let url = self.url();
        move |c: &mut Config| {
            c.smtp = Some(SmtpConfig {
                url: url.clone(),
                from: FROM.into(),
            });
            c.public_url = PUBLIC_URL.into();
            c.smtp_retry_base = Duration::from_secs(1);
        }
    }

    fn read(path: &std::path::Path) -> Vec<Value> {
        match std::fs::read_to_string(path) {
            Ok(s) => s
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
            Err(_) => vec![],
        }
    }

    /// The mails accepted so far.
    pub fn mails(&self) -> Vec<Value> {
        Self::read(&self.out)
    }

    /// The attempts refused so far (by `--fail-first` or `--reject-code`).
    pub fn refused(&self) -> Vec<Value> {
        Self::read(&self.out.with_extension("jsonl.refused"))
    }

    /// Waits until at least `n` mails were accepted (at most `within`), and returns them all.
    pub async fn wait_for_mails(&self, n: usize, within: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "timed out waiting for {n} mail(s); received {}: {mails:?}",
                    mails.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(super::WAIT, self.child.wait()).await;
    }
}
