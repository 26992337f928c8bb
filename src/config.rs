//! Command line and environment. Every option has a flag and an environment variable; a bad
//! value is a one-line error naming the option (clap does that for us).

use crate::secrets::SecretBox;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "switchboard",
    version,
    about = "Self-hostable real-time customer-service chat server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once at start: the size of the `serve` arguments costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (console, widget, API). Starts the embedded PostgreSQL unless DATABASE_URL is set.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DbArgs),
    /// Create an owner account (and a project for it, if it has none).
    CreateOwner {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        email: String,
        /// Read from the terminal's standard input when omitted.
        #[arg(long, env = "SWITCHBOARD_OWNER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long, default_value = "Owner")]
        name: String,
    },
    /// Set a new password for an account and end its console logins.
    ResetPassword {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        email: String,
        /// A random password is generated and printed when omitted.
        #[arg(long, env = "SWITCHBOARD_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Directory for the server's own files, including the embedded PostgreSQL cluster.
    #[arg(long, env = "SWITCHBOARD_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL. When unset, the server runs a private PostgreSQL cluster in the data dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address to listen on.
    #[arg(long, env = "SWITCHBOARD_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The URL people reach this server at (links in e-mails, the widget snippet). Default: http://BIND.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Database connections in the pool.
    #[arg(long, env = "SWITCHBOARD_DB_POOL", default_value_t = 32, value_parser = clap::value_parser!(u32).range(4..=1000))]
    pub db_pool: u32,
    /// HTTP worker threads (default: number of CPUs).
    #[arg(long, env = "SWITCHBOARD_WORKERS")]
    pub workers: Option<usize>,
    /// Seconds a session actor stays in memory with no activity.
    #[arg(long, env = "SWITCHBOARD_SESSION_IDLE_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle_secs: u64,
    /// SMTP server for e-mail alerts, as a URL: `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `?tls=opportunistic` (STARTTLS when offered), `smtps://…:465` (TLS from the
    /// start), `smtp://host:25` (no TLS). Unset: no e-mail is sent.
    #[arg(long, env = "SWITCHBOARD_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The From address of e-mails, e.g. `Switchboard <alerts@example.com>`. Needed with --smtp-url.
    #[arg(long, env = "SWITCHBOARD_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Delay before the first retry of an e-mail that failed temporarily; it doubles per attempt.
    #[arg(long, env = "SWITCHBOARD_SMTP_RETRY_BASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub smtp_retry_base_secs: u64,
    /// Login attempts per client address per minute (a burst of this many, then refilled
    /// evenly); 0: no limit.
    #[arg(long, env = "SWITCHBOARD_LOGINS_PER_MINUTE", default_value_t = 10)]
    pub logins_per_minute: u32,
    /// New widget visitors (each a new token, and at most one contact when they write) per
    /// client address per minute; 0: no limit.
    #[arg(
        long,
        env = "SWITCHBOARD_VISITOR_SIGNUPS_PER_MINUTE",
        default_value_t = 60
    )]
    pub visitor_signups_per_minute: u32,
    /// Take the client address for these limits from `X-Forwarded-For`/`Forwarded`: only behind
    /// a reverse proxy that sets them (otherwise clients could pick their own address).
    #[arg(long, env = "SWITCHBOARD_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Redis, for several servers on one database: each committed event is published there
    /// and every server delivers it to its own connections; rate limits are counted there.
    /// Unset: this server alone (docs/scale-out.md). E.g. `redis://127.0.0.1:6379/0`.
    #[arg(long, env = "SWITCHBOARD_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Meta's Graph API, with its version: the Messenger channel's Send, Conversations and
    /// profile calls go here.
    #[arg(
        long,
        env = "SWITCHBOARD_GRAPH_BASE_URL",
        default_value = "https://graph.facebook.com/v25.0"
    )]
    pub graph_base_url: String,
    /// The key that seals channel secrets at rest: 64 hex digits. Unset: `secret.key` in the
    /// data dir, made on the first start.
    #[arg(long, env = "SWITCHBOARD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// How long a channel message may be on its way (claimed, request sent) before a server
    /// that died holding it is assumed gone: the message then shows as unconfirmed. Longer
    /// than the Graph API's request timeout (20 s).
    #[arg(long, env = "SWITCHBOARD_SEND_LEASE_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub send_lease_secs: u64,
    /// Writer tasks of the message committer, each committing batches of posts on its own
    /// database connection. A batch runs its posts one after another, so fewer writers wait on
    /// round trips when the CPU is contended (4 saturated at ~1,000 msg/s on 2 shared cores).
    #[arg(long, env = "SWITCHBOARD_COMMIT_WRITERS", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub commit_writers: u64,
    /// Posts waiting for a committer writer, at most; past it a send waits up to
    /// --commit-admit-ms for room, then is refused with `busy`.
    #[arg(long, env = "SWITCHBOARD_COMMIT_QUEUE", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub commit_queue: u64,
    /// Posts committed in one transaction, at most.
    #[arg(long, env = "SWITCHBOARD_COMMIT_BATCH", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub commit_batch: u64,
    /// How long a send waits for room in a full committer queue before it is refused (`busy`).
    #[arg(long, env = "SWITCHBOARD_COMMIT_ADMIT_MS", default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub commit_admit_ms: u64,
    /// `GET /metrics` (Prometheus): `auto` serves it on a loopback bind, and on any other
    /// bind only with --metrics-token; `open` serves it without a token on any bind; `off`
    /// never. With a token set (and not `off`) a scrape needs `Authorization: Bearer <token>`.
    #[arg(long, env = "SWITCHBOARD_METRICS", value_enum, default_value_t = MetricsMode::Auto)]
    pub metrics: MetricsMode,
    /// The bearer token a Prometheus scrape of `/metrics` must send.
    #[arg(long, env = "SWITCHBOARD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

/// Whether `/metrics` is served (see `--metrics`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsMode {
    Auto,
    Off,
    Open,
}

/// Who may read `/metrics`, resolved from the mode, the token and the bind address.
#[derive(Clone, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Not served: 404, as for any unknown path.
    Off,
    Open,
    /// `Authorization: Bearer <token>` required.
    Token(String),
}

impl MetricsAccess {
    pub fn resolve(mode: MetricsMode, token: Option<&str>, bind: SocketAddr) -> MetricsAccess {
        let token = token.filter(|t| !t.is_empty());
        match (mode, token) {
            (MetricsMode::Off, _) => MetricsAccess::Off,
            (_, Some(t)) => MetricsAccess::Token(t.to_owned()),
            (MetricsMode::Open, None) => MetricsAccess::Open,
            // A public bind without a token would publish the server's load to anyone.
            (MetricsMode::Auto, None) if bind.ip().is_loopback() => MetricsAccess::Open,
            (MetricsMode::Auto, None) => MetricsAccess::Off,
        }
    }
}

/// The token stays out of `Debug` output (logs of the configuration).
impl std::fmt::Debug for MetricsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MetricsAccess::Off => "Off",
            MetricsAccess::Open => "Open",
            MetricsAccess::Token(_) => "Token(…)",
        })
    }
}

impl ServeArgs {
    /// Checks what clap cannot: options that only make sense together.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.smtp_url, &self.smtp_from) {
            (Some(_), None) => Err(
                "--smtp-url (SWITCHBOARD_SMTP_URL) needs --smtp-from (SWITCHBOARD_SMTP_FROM)"
                    .into(),
            ),
            (None, Some(_)) => Err(
                "--smtp-from (SWITCHBOARD_SMTP_FROM) needs --smtp-url (SWITCHBOARD_SMTP_URL)"
                    .into(),
            ),
            _ => Ok(()),
        }
    }
}

/// Where e-mail goes. The URL may hold a password: `Debug` leaves it out.
#[derive(Clone)]
pub struct SmtpConfig {
    pub url: String,
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = match self.url.split_once("://") {
            Some((scheme, rest)) => match rest.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}"),
                None => self.url.clone(),
            },
            None => "***".into(),
        };
        f.debug_struct("SmtpConfig")
            .field("url", &shown)
            .field("from", &self.from)
            .finish()
    }
}

fn test_secrets() -> SecretBox {
    static KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    SecretBox::from_key(KEY.get_or_init(rand::random))
}

/// What the running server needs, resolved from the arguments.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub public_url: String,
    pub database_url: String,
    pub db_pool: usize,
    pub workers: usize,
    pub session_idle: Duration,
    /// SMTP for e-mail alerts; `None` when the server sends no e-mail. Checked at start
    /// (`email::Mailer::new`): a bad URL or From address stops the server.
    pub smtp: Option<SmtpConfig>,
    /// First retry delay of an e-mail that failed temporarily (doubles per attempt).
    pub smtp_retry_base: Duration,
    /// Let actix-web stop the server on SIGINT/SIGTERM (off for in-process test servers).
    pub handle_signals: bool,
    /// Per client address and minute; 0: no limit (`http::rate_limit`).
    pub logins_per_minute: u32,
    pub visitor_signups_per_minute: u32,
    pub trust_forwarded_for: bool,
    /// Meta's Graph API base, with its version (`--graph-base-url`).
    pub graph_base_url: String,
    /// What seals channel secrets (`crate::secrets`).
    pub secrets: SecretBox,
    /// The lease of a channel message being sent (`--send-lease-secs`).
    pub send_lease: Duration,
    /// The message committer's writers, queue, batch size and admission wait
    /// (`actors::committer`).
    pub commit: CommitConfig,
    /// Who may read `/metrics` (`--metrics`, `--metrics-token`).
    pub metrics: MetricsAccess,
    /// Redis for several servers (`--redis-url`); `None`: one server.
    pub redis_url: Option<String>,
}

/// How the message committer (`actors::committer`) batches posts and when it refuses them.
#[derive(Debug, Clone, Copy)]
pub struct CommitConfig {
    pub writers: usize,
    pub queue: usize,
    pub max_batch: usize,
    pub admit_wait: Duration,
}

impl Default for CommitConfig {
    fn default() -> Self {
        CommitConfig {
            writers: 16,
            queue: 1024,
            max_batch: 64,
            admit_wait: Duration::from_millis(50),
        }
    }
}

impl Config {
    pub fn new(args: &ServeArgs, database_url: String, secrets: SecretBox) -> Config {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Config {
            bind: args.bind,
            public_url: args
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", args.bind))
                .trim_end_matches('/')
                .to_owned(),
            database_url,
            db_pool: args.db_pool as usize,
            workers: args.workers.unwrap_or(cpus).max(1),
            session_idle: Duration::from_secs(args.session_idle_secs),
            smtp: match (&args.smtp_url, &args.smtp_from) {
                (Some(url), Some(from)) => Some(SmtpConfig {
                    url: url.clone(),
                    from: from.clone(),
                }),
                _ => None,
            },
            smtp_retry_base: Duration::from_secs(args.smtp_retry_base_secs),
            handle_signals: true,
            logins_per_minute: args.logins_per_minute,
            visitor_signups_per_minute: args.visitor_signups_per_minute,
            trust_forwarded_for: args.trust_forwarded_for,
            graph_base_url: args.graph_base_url.trim_end_matches('/').to_owned(),
            secrets,
            send_lease: Duration::from_secs(args.send_lease_secs),
            commit: CommitConfig {
                writers: args.commit_writers as usize,
                queue: args.commit_queue as usize,
                max_batch: args.commit_batch as usize,
                admit_wait: Duration::from_millis(args.commit_admit_ms),
            },
            metrics: MetricsAccess::resolve(args.metrics, args.metrics_token.as_deref(), args.bind),
            redis_url: args.redis_url.clone(),
        }
    }

    /// Defaults for an in-process server (tests, tools) on an ephemeral port.
    pub fn for_database(database_url: String) -> Config {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: "http://127.0.0.1".into(),
            database_url,
            db_pool: 8,
            workers: 2,
            session_idle: Duration::from_secs(300),
            smtp: None,
            smtp_retry_base: Duration::from_secs(30),
            handle_signals: false,
            // Tests log in and open visitors from one address far faster than people do.
            logins_per_minute: 0,
            visitor_signups_per_minute: 0,
            trust_forwarded_for: false,
            graph_base_url: "https://graph.facebook.com/v25.0".into(),
            // One key per test process, so a server restarted in it reads what it sealed.
            secrets: test_secrets(),
            send_lease: Duration::from_secs(60),
            commit: CommitConfig::default(),
            metrics: MetricsAccess::Open,
            redis_url: None,
        }
    }

    /// Whether this server sends e-mail (alerts, test mails).
    pub fn email_configured(&self) -> bool {
        self.smtp.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> ServeArgs {
        let mut all = vec!["switchboard", "serve"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all).unwrap().command {
            Command::Serve(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn smtp_needs_url_and_from_together() {
        assert!(serve(&[]).validate().is_ok());
        let both = serve(&["--smtp-url", "smtp://h:25", "--smtp-from", "a@b.c"]);
        assert!(both.validate().is_ok());
        let config = Config::new(&both, "postgres://x".into(), test_secrets());
        assert!(config.email_configured());
        assert_eq!(config.smtp_retry_base, Duration::from_secs(30));
        let e = serve(&["--smtp-url", "smtp://h:25"])
            .validate()
            .unwrap_err();
        assert!(e.contains("--smtp-from"), "{e}");
        let e = serve(&["--smtp-from", "a@b.c"]).validate().unwrap_err();
        assert!(e.contains("--smtp-url"), "{e}");
    }

    #[test]
    fn the_smtp_password_stays_out_of_debug_output() {
        let c = SmtpConfig {
            url: "smtp://user:s3cret@mail.example.com:587?tls=required".into(),
            from: "a@b.c".into(),
        };
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("user"),
            "{shown}"
        );
        assert!(shown.contains("mail.example.com:587"), "{shown}");
    }

    #[test]
    fn metrics_are_open_on_loopback_and_off_on_a_public_bind_without_a_token() {
        let resolved = |args: &[&str]| {
            Config::new(&serve(args), "postgres://x".into(), test_secrets()).metrics
        };
        assert_eq!(resolved(&[]), MetricsAccess::Open);
        assert_eq!(resolved(&["--bind", "[::1]:8080"]), MetricsAccess::Open);
        assert_eq!(resolved(&["--bind", "0.0.0.0:8080"]), MetricsAccess::Off);
        assert_eq!(
            resolved(&["--bind", "0.0.0.0:8080", "--metrics", "open"]),
            MetricsAccess::Open
        );
        assert_eq!(
            resolved(&["--bind", "0.0.0.0:8080", "--metrics-token", "t0k"]),
            MetricsAccess::Token("t0k".into())
        );
        // A token is required wherever it is set, loopback included.
        assert_eq!(
            resolved(&["--metrics-token", "t0k"]),
            MetricsAccess::Token("t0k".into())
        );
        assert_eq!(
            resolved(&["--metrics", "off", "--metrics-token", "t0k"]),
            MetricsAccess::Off
        );
        let shown = format!("{:?}", MetricsAccess::Token("t0k".into()));
        assert!(!shown.contains("t0k"), "{shown}");
    }
}
