//! Command line and environment. Every option has a flag and an environment variable; a bad
//! value is a one-line error naming the option (clap does that for us).

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
    /// Let actix-web stop the server on SIGINT/SIGTERM (off for in-process test servers).
    pub handle_signals: bool,
}

impl Config {
    pub fn new(args: &ServeArgs, database_url: String) -> Config {
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
            handle_signals: true,
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
            handle_signals: false,
        }
    }
}
