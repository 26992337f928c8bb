//! `loadtest`: load generator for Switchboard's websocket chat path.
//!
//! - `run`      — drive a running Switchboard server (loopback only)
//! - `baseline` — drive a minimal in-process tokio-tungstenite broadcast server
//! - `compare`  — both, back to back, with a ratio table
//! - `sweep`    — the offered rate step by step until p99 or loss breaks a bound: the capacity
//! - `report`   — a `--series` file as an HTML page with SVG charts
//! - `idle`     — server RSS per idle visitor socket, over connect/disconnect cycles
//! - `reconnect` — visitors reconnect within a window and resume; every resume checked
//! - `seed`     — fill one project with a large data set (server-side SQL)
//! - `bench-queries` — p50/p95 of the list, filter and report endpoints over HTTP
//! - `webhook-burst` — Messenger webhook answer latency, steady and under a 10× burst
//! - `sync-bench` — Messenger contact sync throughput against the fake Graph API
//! - `hosting-bench` — robot hosting switched for N assigned sessions in one request
//! - `flow-bench` — automation flows (N hosted sessions running a 5-step flow) under chat load
//! - `xmpp`     — `run`'s chat load against an XMPP server over WebSocket (ejabberd side by side)

mod baseline;
mod bench;
mod flows;
mod frames;
mod hosting;
mod idle;
mod load;
mod reconnect;
mod report;
mod seed;
mod series;
mod setup;
mod stats;
mod sweep;
mod sync;
mod sys;
mod vsock;
mod webhook;
mod xmpp;

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
    /// Raise the offered rate step by step until p99 or loss breaks its bound; print the
    /// sustainable capacity. `--duration` is each step's length; the steps set the rate.
    Sweep {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        sweep: SweepArgs,
    },
    /// Idle visitor sockets: server RSS per socket, over connect/disconnect cycles.
    Idle {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        conn: ConnArgs,
        #[arg(long, default_value_t = 10_000)]
        visitors: usize,
        #[arg(long, default_value_t = 3)]
        cycles: usize,
        /// Wait after the last connect and after the closes before reading RSS.
        #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
        settle: Duration,
    },
    /// Visitors with a session and messages reconnect within a window and resume.
    Reconnect {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        conn: ConnArgs,
        #[arg(long, default_value_t = 2000)]
        visitors: usize,
        /// Messages each visitor sends before it leaves.
        #[arg(long, default_value_t = 3)]
        messages: usize,
        /// The reconnects start evenly spread over this window.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        within: Duration,
    },
    /// Draw a `--series` JSON file as a self-contained HTML page with SVG charts.
    Report {
        /// The file `run`/`compare`/`sweep --series` wrote.
        file: PathBuf,
        #[arg(long, default_value = "report.html")]
        out: PathBuf,
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
    /// `run`'s load against an XMPP-over-WebSocket server (RFC 7395): senders → receivers.
    Xmpp(xmpp::XmppArgs),
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
    /// Several servers on one database: give it several times (or comma-separated); visitors
    /// and agents are spread over them round-robin, setup and logins go to the first.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_delimiter = ',')]
    url: Vec<String>,
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

/// Socket options of `idle` and `reconnect`.
#[derive(Args)]
struct ConnArgs {
    /// Loopback source addresses (127.0.0.10, .11, …) to spread sockets over; 0 = one per
    /// 20,000 sockets.
    #[arg(long, default_value_t = 0)]
    source_addrs: u8,
    /// Connects in flight at once.
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    /// Timeout of each connect, hello, and (reconnect) the wait for acks or a resume.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    #[arg(long)]
    json: Option<PathBuf>,
    #[arg(long)]
    quiet: bool,
}

impl ServerArgs {
    /// The servers' base URLs, each checked to be on loopback; never empty.
    fn bases(&self) -> Result<Vec<url::Url>> {
        if self.url.is_empty() {
            bail!("--url: give at least one server");
        }
        self.url.iter().map(|u| setup::check_loopback(u)).collect()
    }
}

impl ConnArgs {
    fn sources(&self, sockets: usize) -> u8 {
        match self.source_addrs {
            0 => vsock::sources_for(sockets),
            k => k,
        }
    }
}

#[derive(Args)]
struct SweepArgs {
    /// Offered rate of the first step, msg/s (over all visitors).
    #[arg(long, default_value_t = 200.0)]
    start: f64,
    /// Add this many msg/s per step (default: double each step, see --factor).
    #[arg(long, conflicts_with = "factor")]
    step: Option<f64>,
    /// Multiply the rate by this per step (default 2 when --step is not given).
    #[arg(long)]
    factor: Option<f64>,
    /// Offered rate of the last step, msg/s.
    #[arg(long)]
    max: f64,
    /// A step whose visitor→agent p99 is above this is out of bounds.
    #[arg(long, default_value_t = 100.0)]
    max_p99_ms: f64,
    /// A step that loses more than this fraction of its messages is out of bounds (0 = none).
    #[arg(long, default_value_t = 0.0)]
    max_loss: f64,
    /// Sweep the in-process raw baseline too (first), with the same steps.
    #[arg(long)]
    baseline: bool,
    /// Pause between steps.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    settle: Duration,
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
    /// Write the per-second time series as JSON to this file (`loadtest report` draws it).
    #[arg(long)]
    series: Option<PathBuf>,
    /// On a `busy` error frame, send the same client id again after its `retry_after_ms`.
    #[arg(long)]
    honour_busy: bool,
}

impl LoadArgs {
    /// Only what `prepare_server` reads: no agents (the connection modes need none).
    fn for_setup(quiet: bool) -> Self {
        LoadArgs {
            visitors: 0,
            agents: 0,
            duration: Duration::from_secs(1),
            rate_per_visitor: 1.0,
            message_bytes: 0,
            ramp_batch: 1,
            ramp_pause: Duration::ZERO,
            lost_after: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            json: None,
            quiet,
            series: None,
            honour_busy: false,
        }
    }

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
            honour_busy: self.honour_busy,
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
    let target = baseline_target(&server, load.agents)?;
    let report = load::run(target, load.config()).await;
    server.shutdown().await;
    report
}

fn baseline_target(server: &baseline::BaselineServer, agents: usize) -> Result<Target> {
    let base = format!("ws://{}", server.addr);
    let visitor_url = url::Url::parse(&format!("{base}/ws/visitor?key=baseline"))?;
    let agent_url = url::Url::parse(&format!("{base}/ws/agent?project=1"))?;
    let target = Target {
        label: "baseline".to_owned(),
        describe: format!(
            "in-process tokio-tungstenite broadcast server on {}",
            server.addr
        ),
        visitor_urls: vec![visitor_url],
        agents: (0..agents)
            .map(|_| (agent_url.clone(), AgentAuth::None))
            .collect(),
        server_pid: None,
        origin: None,
        server_source: "in-process: see the loadtest process figures, which include the generator"
            .to_owned(),
    };
    Ok(target)
}

/// REST setup on the real server (project, channel, agents and their logins).
async fn prepare_server(server: &ServerArgs, load: &LoadArgs) -> Result<Target> {
    let bases = server.bases()?;
    if let Some(pid) = server.server_pid {
        sys::read_vmrss_kib(Some(pid))
            .with_context(|| format!("--server-pid {pid}: cannot read its VmRSS"))?;
    }
    let target = setup::prepare(
        &bases,
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

/// Writes `--series` (if asked for) from the runs' series.
fn write_series(path: Option<&PathBuf>, mode: &str, title: String, runs: &[&Report]) -> Result<()> {
    let Some(p) = path else { return Ok(()) };
    write_json(
        p,
        &series::SeriesFile {
            title,
            mode: mode.to_owned(),
            runs: runs.iter().map(|r| r.series.clone()).collect(),
            sweep: None,
        },
    )
}

fn title_of(r: &Report) -> String {
    format!(
        "{}: {} visitors, {} agents, {:.0} msg/s offered, {:.0} s",
        r.label, r.visitors, r.agents, r.offered_msgs_per_s, r.window_s
    )
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
        Cmd::Xmpp(args) => xmpp::main(args).await?,
        Cmd::Run { server, load } => {
            load.validate()?;
            server.bases()?;
            sys::raise_nofile(load.fds_needed(false))?;
            let target = prepare_server(&server, &load).await?;
            let r = load::run(target, load.config()).await?;
            emit(&stats::render_report(&r), load.json.as_ref(), &r)?;
            write_series(load.series.as_ref(), "run", title_of(&r), &[&r])?;
        }
        Cmd::Baseline { load } => {
            load.validate()?;
            sys::raise_nofile(load.fds_needed(true))?;
            let r = run_baseline(&load).await?;
            emit(&stats::render_report(&r), load.json.as_ref(), &r)?;
            write_series(load.series.as_ref(), "run", title_of(&r), &[&r])?;
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
            write_series(
                load.series.as_ref(),
                "compare",
                format!("compare — {}", title_of(&o)),
                &[&b, &o],
            )?;
        }
        Cmd::Sweep {
            server,
            load,
            sweep: sw,
        } => {
            load.validate()?;
            let growth = match (sw.step, sw.factor) {
                (Some(d), _) => sweep::Growth::Add(d),
                (None, f) => sweep::Growth::Mul(f.unwrap_or(2.0)),
            };
            let rates = sweep::rate_steps(sw.start, growth, sw.max)?;
            if let Some(top) = rates.last() {
                if top / load.visitors as f64 > 1000.0 {
                    bail!("--max {top} over {} visitors is above 1000 msg/s per visitor: add visitors", load.visitors);
                }
            }
            if !(sw.max_loss >= 0.0 && sw.max_loss < 1.0 && sw.max_p99_ms > 0.0) {
                bail!("--max-loss must be in [0, 1) and --max-p99-ms positive");
            }
            sys::raise_nofile(load.fds_needed(sw.baseline))?;
            let plan = sweep::SweepPlan {
                rates: rates.clone(),
                bounds: sweep::Bounds {
                    max_p99_ms: sw.max_p99_ms,
                    max_loss: sw.max_loss,
                },
                visitors: load.visitors,
                settle: sw.settle,
            };
            let target = prepare_server(&server, &load).await?;
            let mut targets = Vec::new();
            let mut reports = Vec::new();
            if sw.baseline {
                let bs = baseline::BaselineServer::start().await?;
                let bt = baseline_target(&bs, load.agents)?;
                let res = sweep::run_target(&plan, &load.config(), &bt).await;
                bs.shutdown().await;
                let (t, r) = res?;
                targets.push(t);
                reports.extend(r);
                tokio::time::sleep(sw.settle).await;
            }
            let (t, r) = sweep::run_target(&plan, &load.config(), &target).await?;
            targets.push(t);
            reports.extend(r);
            let out = sweep::SweepOut {
                bounds: plan.bounds,
                visitors: load.visitors,
                agents: load.agents,
                step_duration_s: load.duration.as_secs_f64(),
                rates,
                targets,
            };
            emit(&sweep::render(&out), load.json.as_ref(), &out)?;
            if let Some(p) = &load.series {
                write_json(
                    p,
                    &series::SeriesFile {
                        title: format!(
                            "sweep: {} visitors, {} agents, {:.0} s per step, p99 <= {} ms, loss <= {}",
                            load.visitors, load.agents, load.duration.as_secs_f64(), sw.max_p99_ms, sw.max_loss
                        ),
                        mode: "sweep".to_owned(),
                        runs: reports.iter().map(|r| r.series.clone()).collect(),
                        sweep: Some(serde_json::to_value(&out)?),
                    },
                )?;
            }
        }
        Cmd::Idle {
            server,
            conn,
            visitors,
            cycles,
            settle,
        } => {
            let Some(pid) = server.server_pid else {
                bail!("idle measures the server's RSS: pass --server-pid");
            };
            if visitors == 0 || cycles == 0 || conn.concurrency == 0 {
                bail!("--visitors, --cycles and --concurrency must be at least 1");
            }
            let limit = sys::raise_nofile(visitors as u64 + 256)?;
            let load = LoadArgs::for_setup(conn.quiet);
            let target = prepare_server(&server, &load).await?;
            let r = idle::run(
                idle::IdleConfig {
                    visitor_url: target.visitor_urls[0].clone(),
                    visitors,
                    cycles,
                    source_addrs: conn.sources(visitors),
                    concurrency: conn.concurrency,
                    connect_timeout: conn.timeout,
                    settle,
                    server_pid: pid,
                    quiet: conn.quiet,
                },
                limit,
            )
            .await?;
            emit(&idle::render(&r), conn.json.as_ref(), &r)?;
        }
        Cmd::Reconnect {
            server,
            conn,
            visitors,
            messages,
            within,
        } => {
            if visitors == 0 || messages == 0 || conn.concurrency == 0 {
                bail!("--visitors, --messages and --concurrency must be at least 1");
            }
            sys::raise_nofile(visitors as u64 + 256)?;
            let load = LoadArgs::for_setup(conn.quiet);
            let target = prepare_server(&server, &load).await?;
            let r = reconnect::run(reconnect::ReconnectConfig {
                visitor_url: target.visitor_urls[0].clone(),
                visitors,
                messages,
                within,
                source_addrs: conn.sources(visitors),
                concurrency: conn.concurrency,
                timeout: conn.timeout,
                quiet: conn.quiet,
            })
            .await?;
            emit(&reconnect::render(&r), conn.json.as_ref(), &r)?;
        }
        Cmd::Report { file, out } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let f: series::SeriesFile = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a --series file", file.display()))?;
            std::fs::write(&out, report::render(&f))
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!("report written to {}", out.display());
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
            let base = server.bases()?.swap_remove(0);
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
