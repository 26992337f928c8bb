//! `loadtest`: load generator for Switchboard's websocket chat path.
//!
//! - `run`      — drive a running Switchboard server (loopback only)
//! - `baseline` — drive a minimal in-process tokio-tungstenite broadcast server
//! - `compare`  — both, back to back, with a ratio table
//! - `seed`     — fill one project with a large data set (server-side SQL)
//! - `bench-queries` — p50/p95 of the list, filter and report endpoints over HTTP
//! - `webhook-burst` — Messenger webhook answer latency, steady and under a 10× burst
//! - `sync-bench` — Messenger contact sync throughput against the fake Graph API
//! - `hosting-bench` — robot hosting switched for N assigned sessions in one request
//! - `flow-bench` — automation flows (N hosted sessions running a 5-step flow) under chat load

mod baseline;
mod bench;
mod flows;
mod frames;
mod hosting;
mod load;
mod seed;
mod setup;
mod stats;
mod sync;
mod sys;
mod webhook;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::load::{AgentAuth, LoadConfig, Target};
use crate::stats::Report;

#[derive(Parser)]
#[command(
    name = "loadtest",
    version,
    about = "Load generator for Switchboard's visitor → agent websocket path"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Load a running Switchboard server (creates a project, a web channel and agents).
    Run {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Load a minimal in-process websocket broadcast server (no DB, no auth).
    Baseline {
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Run the baseline, then the real server, and print both with ours/baseline ratios.
    Compare {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Fill one new project with contacts, sessions, messages and agents (server-side SQL).
    Seed {
        /// PostgreSQL URL of the server's database (the one `switchboard serve` prints).
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, default_value_t = 1_000_000)]
        sessions: i64,
        #[arg(long, default_value_t = 10_000_000)]
        messages: i64,
        #[arg(long, default_value_t = 1_000_000)]
        contacts: i64,
        #[arg(long, default_value_t = 50)]
        agents: i64,
        /// Rows per INSERT statement (messages: a quarter of this many sessions).
        #[arg(long, default_value_t = 100_000)]
        batch: i64,
        /// Automation flows (each one published version); 0: none.
        #[arg(long, default_value_t = 0)]
        flows: i64,
        /// Runs of those flows, spread over the sessions (their contacts and times).
        #[arg(long, default_value_t = 0)]
        runs: i64,
        /// Step transitions in total (`flow_run_steps` rows), about `transitions / runs` a run.
        #[arg(long, default_value_t = 0)]
        transitions: i64,
        #[arg(long)]
        quiet: bool,
    },
    /// p50/p95 of the read endpoints a large project stresses, one request at a time.
    BenchQueries {
        #[command(flatten)]
        login: LoginArgs,
        /// The project to query (the id `seed` prints).
        #[arg(long)]
        project: i64,
        /// Requests per endpoint.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// Query parameter of the contacts filter: `q`, or `note_name` where the server has it.
        #[arg(long, default_value = "q")]
        contacts_param: String,
        /// Write the figures as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Messenger webhook: answer latency at a steady rate, under a burst of N× that rate, and
    /// the time until processing caught up (the server's Graph API must accept the Page token
    /// `loadtest-page-token`: run it against `tests/fake_graph.py`, see loadtest/README.md).
    WebhookBurst {
        #[command(flatten)]
        login: LoginArgs,
        /// Webhook POSTs per second in the steady phases (one new person's message each).
        #[arg(long, default_value_t = 20.0)]
        base_rate: f64,
        #[arg(long, default_value_t = 10.0)]
        burst_factor: f64,
        /// Length of each phase (steady, burst, steady).
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        phase: Duration,
        /// POSTs in flight at most (Meta's delivery is concurrent too).
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Root URL of `tests/fake_graph.py` (`http://127.0.0.1:PORT`), to register the Page.
        #[arg(long)]
        fake_graph: Option<String>,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Messenger contact sync throughput: "Sync all" of N seeded conversations, then again.
    SyncBench {
        #[command(flatten)]
        login: LoginArgs,
        /// Root URL of `tests/fake_graph.py` (`http://127.0.0.1:PORT`), the server's Graph API.
        #[arg(long)]
        fake_graph: String,
        #[arg(long, default_value_t = 1000)]
        conversations: usize,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Automation flows under chat load: chat only, chat while N hosted flow sessions run a
    /// 5-step flow over and over, chat only again; flow step latencies and the ratio.
    FlowBench {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        load: LoadArgs,
        /// Flow visitors (each its own hosted session, running the flow again and again).
        #[arg(long, default_value_t = 1000)]
        flow_visitors: usize,
        /// A flow visitor's pause before each answer (jittered ±50 %).
        #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
        think: Duration,
    },
    /// Robot hosting: "switch all assigned" on, then off, over N assigned sessions.
    HostingBench {
        #[command(flatten)]
        login: LoginArgs,
        /// PostgreSQL URL of the server's database (the one `switchboard serve` prints).
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, default_value_t = 10_000)]
        sessions: i64,
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

/// The server a REST benchmark drives and the account it logs in with.
#[derive(Args)]
struct LoginArgs {
    /// Base URL of the Switchboard server (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, env = "LOADTEST_EMAIL")]
    email: String,
    #[arg(long, env = "LOADTEST_PASSWORD", hide_env_values = true)]
    password: String,
}

#[derive(Args)]
struct ServerArgs {
    /// Base URL of the Switchboard server; must be http:// on 127.0.0.1, ::1 or localhost.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Owner (or admin) account that may create projects and members.
    #[arg(long, env = "LOADTEST_EMAIL")]
    email: String,
    /// That account's password (prefer the environment variable: argv is visible in ps).
    #[arg(long, env = "LOADTEST_PASSWORD", hide_env_values = true)]
    password: String,
    /// Pid of the server process: its VmRSS is sampled every second (peak and end).
    #[arg(long)]
    server_pid: Option<u32>,
    /// `Origin` header to send on the websocket upgrades (only if the server checks it).
    #[arg(long)]
    origin: Option<String>,
}

#[derive(Args, Clone)]
struct LoadArgs {
    /// Visitor sockets (each one a new contact and session).
    #[arg(long, default_value_t = 2000)]
    visitors: usize,
    /// Agent sockets (each a separate agent member with data scope "all").
    #[arg(long, default_value_t = 50)]
    agents: usize,
    /// Length of the send window (after ramp-up), e.g. 30s, 2m. At most 1h.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Messages per second sent by each visitor (intervals jittered ±50 %).
    #[arg(long, default_value_t = 0.2)]
    rate_per_visitor: f64,
    /// Message text length in bytes (at least the "loadtest <client_id>" prefix).
    #[arg(long, default_value_t = 64)]
    message_bytes: usize,
    /// Sockets connected concurrently per ramp-up batch.
    #[arg(long, default_value_t = 100)]
    ramp_batch: usize,
    /// Pause between ramp-up batches.
    #[arg(long, default_value = "50ms", value_parser = humantime::parse_duration)]
    ramp_pause: Duration,
    /// A message that no agent received within this long after its send counts as lost.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    lost_after: Duration,
    /// Timeout of a connect (TCP + upgrade) and, separately, of the wait for `hello`.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    connect_timeout: Duration,
    /// Write all figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long)]
    quiet: bool,
}

impl LoadArgs {
    fn validate(&self) -> Result<()> {
        if self.visitors == 0 || self.agents == 0 {
            bail!("--visitors and --agents must be at least 1");
        }
        if !(self.rate_per_visitor.is_finite() && self.rate_per_visitor > 0.0) {
            bail!("--rate-per-visitor must be a positive number of messages per second");
        }
        if self.rate_per_visitor > 1000.0 {
            bail!("--rate-per-visitor above 1000 msg/s per visitor is not a sensible load");
        }
        if self.duration < Duration::from_secs(1) || self.duration > Duration::from_secs(3600) {
            bail!("--duration must be between 1s and 1h");
        }
        if self.message_bytes > 8000 {
            bail!("--message-bytes must be at most 8000 (the protocol's text limit)");
        }
        if self.ramp_batch == 0 {
            bail!("--ramp-batch must be at least 1");
        }
        if self.lost_after.is_zero() || self.connect_timeout.is_zero() {
            bail!("--lost-after and --connect-timeout must be positive");
        }
        Ok(())
    }

    fn config(&self) -> LoadConfig {
        LoadConfig {
            visitors: self.visitors,
            rate_per_visitor: self.rate_per_visitor,
            duration: self.duration,
            message_bytes: self.message_bytes,
            ramp_batch: self.ramp_batch,
            ramp_pause: self.ramp_pause,
            connect_timeout: self.connect_timeout,
            lost_after: self.lost_after,
            // The protocol pings every 10 s, so 35 s of silence means a dead socket.
            idle_timeout: Duration::from_secs(35),
            send_timeout: Duration::from_secs(10),
            quiet: self.quiet,
        }
    }

    /// File descriptors needed: one per client socket, twice that when the baseline
    /// server's ends live in this process too, plus slack.
    fn fds_needed(&self, in_process_server: bool) -> u64 {
        let sockets = (self.visitors + self.agents) as u64;
        sockets * if in_process_server { 2 } else { 1 } + 128
    }
}

async fn run_baseline(load: &LoadArgs) -> Result<Report> {
    let server = baseline::BaselineServer::start().await?;
    let base = format!("ws://{}", server.addr);
    let visitor_url = url::Url::parse(&format!("{base}/ws/visitor?key=baseline"))?;
    let agent_url = url::Url::parse(&format!("{base}/ws/agent?project=1"))?;
    let target = Target {
        label: "baseline".to_owned(),
        describe: format!(
            "in-process tokio-tungstenite broadcast server on {}",
            server.addr
        ),
        visitor_url,
        agents: (0..load.agents)
            .map(|_| (agent_url.clone(), AgentAuth::None))
            .collect(),
        server_pid: None,
        origin: None,
        server_source: "in-process: see the loadtest process figures, which include the generator"
            .to_owned(),
    };
    let report = load::run(target, load.config()).await;
    server.shutdown().await;
    report
}

/// REST setup on the real server (project, channel, agents and their logins).
async fn prepare_server(server: &ServerArgs, load: &LoadArgs) -> Result<Target> {
    let base = setup::check_loopback(&server.url)?;
    if let Some(pid) = server.server_pid {
        sys::read_vmrss_kib(Some(pid))
            .with_context(|| format!("--server-pid {pid}: cannot read its VmRSS"))?;
    }
    let target = setup::prepare(
        &base,
        &server.email,
        &server.password,
        load.agents,
        server.server_pid,
        load.quiet,
    )
    .await?;
    Ok(Target {
        origin: server.origin.clone(),
        ..target
    })
}

/// Prints a run's figures and, with `--json`, writes them to that file too.
fn emit<T: Serialize>(text: &str, json: Option<&PathBuf>, value: &T) -> Result<()> {
    print!("{text}");
    match json {
        Some(p) => write_json(p, value),
        None => Ok(()),
    }
}

fn write_json<T: Serialize>(path: &PathBuf, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    eprintln!("figures written to {}", path.display());
    Ok(())
}

#[derive(Serialize)]
struct CompareOut<'a> {
    baseline: &'a Report,
    ours: &'a Report,
    comparison: Vec<stats::CompareRow>,
    rss_note: &'static str,
}

async fn main_async(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Run { server, load } => {
            load.validate()?;
            setup::check_loopback(&server.url)?;
            sys::raise_nofile(load.fds_needed(false))?;
            let target = prepare_server(&server, &load).await?;
            let r = load::run(target, load.config()).await?;
            emit(&stats::render_report(&r), load.json.as_ref(), &r)?;
        }
        Cmd::Baseline { load } => {
            load.validate()?;
            sys::raise_nofile(load.fds_needed(true))?;
            let r = run_baseline(&load).await?;
            emit(&stats::render_report(&r), load.json.as_ref(), &r)?;
        }
        Cmd::Compare { server, load } => {
            load.validate()?;
            sys::raise_nofile(load.fds_needed(true))?;
            // Set the real server up first, so a wrong URL or password fails before the
            // baseline has been run.
            let target = prepare_server(&server, &load).await?;
            let b = run_baseline(&load).await?;
            print!("{}", stats::render_report(&b));
            // Let the runtime settle between the two runs.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let o = load::run(target, load.config()).await?;
            print!("{}", stats::render_report(&o));
            let rows = stats::compare_rows(&b, &o);
            println!();
            print!("{}", stats::render_compare(&rows));
            if let Some(p) = &load.json {
                write_json(
                    p,
                    &CompareOut {
                        baseline: &b,
                        ours: &o,
                        comparison: rows,
                        rss_note: "ours = server peak VmRSS (--server-pid); baseline = growth \
                                   (peak - start) of the loadtest process during the baseline \
                                   run, which includes the load generator itself",
                    },
                )?;
            }
        }
        Cmd::Seed {
            database_url,
            sessions,
            messages,
            contacts,
            agents,
            batch,
            flows,
            runs,
            transitions,
            quiet,
        } => {
            seed::run(seed::SeedConfig {
                database_url,
                sessions,
                messages,
                contacts,
                agents,
                batch,
                flows,
                runs,
                transitions,
                quiet,
            })
            .await?;
        }
        Cmd::BenchQueries {
            login:
                LoginArgs {
                    url,
                    email,
                    password,
                },
            project,
            requests,
            contacts_param,
            json,
        } => {
            if requests == 0 {
                bail!("--requests must be at least 1");
            }
            let base = setup::check_loopback(&url)?;
            let rows = bench::run(bench::BenchConfig {
                base,
                email,
                password,
                project,
                requests,
                contacts_param,
            })
            .await?;
            emit(&bench::render(&rows, requests), json.as_ref(), &rows)?;
        }
        Cmd::WebhookBurst {
            login:
                LoginArgs {
                    url,
                    email,
                    password,
                },
            base_rate,
            burst_factor,
            phase,
            concurrency,
            fake_graph,
            json,
        } => {
            if !(base_rate > 0.0 && burst_factor >= 1.0 && concurrency > 0) {
                bail!("--base-rate must be positive, --burst-factor at least 1, --concurrency at least 1");
            }
            let base = setup::check_loopback(&url)?;
            let report = webhook::run(webhook::WebhookConfig {
                base,
                email,
                password,
                base_rate,
                burst_factor,
                phase,
                concurrency,
                fake_graph: fake_graph.map(|u| setup::check_loopback(&u)).transpose()?,
            })
            .await?;
            emit(&webhook::render(&report), json.as_ref(), &report)?;
        }
        Cmd::SyncBench {
            login:
                LoginArgs {
                    url,
                    email,
                    password,
                },
            fake_graph,
            conversations,
            json,
        } => {
            let report = sync::run(sync::SyncConfig {
                base: setup::check_loopback(&url)?,
                email,
                password,
                fake_graph: setup::check_loopback(&fake_graph)?,
                conversations,
            })
            .await?;
            emit(&sync::render(&report), json.as_ref(), &report)?;
        }
        Cmd::FlowBench {
            server,
            load,
            flow_visitors,
            think,
        } => {
            load.validate()?;
            let base = setup::check_loopback(&server.url)?;
            sys::raise_nofile(load.fds_needed(false) + flow_visitors as u64)?;
            let target = prepare_server(&server, &load).await?;
            let report = flows::run(flows::FlowBenchConfig {
                base,
                email: server.email.clone(),
                password: server.password.clone(),
                target,
                load: load.config(),
                flow_visitors,
                think,
            })
            .await?;
            emit(&flows::render(&report), load.json.as_ref(), &report)?;
        }
        Cmd::HostingBench {
            login:
                LoginArgs {
                    url,
                    email,
                    password,
                },
            database_url,
            sessions,
            json,
        } => {
            let report = hosting::run(hosting::HostingConfig {
                base: setup::check_loopback(&url)?,
                email,
                password,
                database_url,
                sessions,
            })
            .await?;
            emit(&hosting::render(&report), json.as_ref(), &report)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadtest: starting the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(main_async(cli));
    // Do not wait on stray blocking work at exit.
    rt.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadtest: {e:#}");
            ExitCode::FAILURE
        }
    }
}
