//! Starting the server: migrations, pool, the shared actors (once, before the HTTP server, so
//! every worker shares them), then the HTTP server.

use crate::actors::committer::Committer;
use crate::actors::hub::{FanoutListener, Hub};
use crate::actors::messenger::MessengerChannels;
use crate::actors::messenger_sender::{MessengerSender, SenderListener};
use crate::actors::sessions::{RemoteRows, SessionSupervisor};
use crate::actors::stats::StatsListener;
use crate::actors::{mailer::MailerActor, scheduler::Scheduler, stats::StatsActor};
use crate::bus::{self, BusStatus};
use crate::config::Config;
use crate::context::AppContext;
use crate::domain::alerts::{self, MailEnv};
use crate::domain::automation;
use crate::domain::automation::analytics::Throttle;
use crate::domain::conversation;
use crate::domain::timers::TimerKinds;
use crate::email::{Mailer, RetryPolicy};
use crate::events::{Dispatcher, Listener, Reach};
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::{db, http};
use actix::prelude::*;
use actix_web::{dev::ServerHandle, web, App, HttpServer};
use std::net::SocketAddr;
use std::sync::Arc;

/// A server that is listening; `run` completes when it stops.
pub struct Started {
    pub addr: SocketAddr,
    pub server: actix_web::dev::Server,
    arbiters: Vec<Arbiter>,
}

impl Started {
    /// Runs until the server stops, then stops the session and background arbiters and waits
    /// for them, so nothing touches the database after `run` returns (the embedded cluster is
    /// stopped next).
    pub async fn run(self) -> std::io::Result<()> {
        let res = self.server.await;
        for a in &self.arbiters {
            a.stop();
        }
        let arbiters = self.arbiters;
        let _ = tokio::task::spawn_blocking(move || {
            for a in arbiters {
                let _ = a.join();
            }
        })
        .await;
        res
    }
}

/// Must be called inside an actix `System`.
pub async fn start(config: Config) -> Result<Started, String> {
    // A bad SMTP setting stops the start, before anything else happens.
    let mailer = match &config.smtp {
        Some(smtp) => Some(Mailer::new(&smtp.url, &smtp.from)?),
        None => None,
    };
    db::run_migrations(&config.database_url).await?;
    let pool = db::build_pool(&config.database_url, config.db_pool)?;
    // Statistics, timers and mail run on their own arbiter, stopped with the server.
    let background = Arbiter::new();
    let events = Arc::new(Dispatcher::new());
    // Weak: the dispatcher holds the stats listener, which must not keep it alive.
    let (stats_pool, stats_events) = (pool.clone(), Arc::downgrade(&events));
    let throttle = Arc::new(std::sync::Mutex::new(Throttle::new()));
    let stats_throttle = Arc::clone(&throttle);
    let stats = StatsActor::start_in_arbiter(&background.handle(), move |_| {
        StatsActor::new(stats_pool, stats_events, stats_throttle)
    });
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let arbiters: Vec<Arbiter> = (0..n).map(|_| Arbiter::new()).collect();
    // The committer's writers on threads of their own: behind the session actors' fan-out
    // they would hold up every session's commit.
    let commit_arbiters: Vec<Arbiter> = (0..n.min(config.commit.writers.max(1)))
        .map(|_| Arbiter::new())
        .collect();
    let committer = Committer::start(
        pool.clone(),
        config.commit,
        &commit_arbiters
            .iter()
            .map(|a| a.handle())
            .collect::<Vec<_>>(),
    );
    let ctx = Arc::new(AppContext {
        pool: pool.clone(),
        mail: MailEnv {
            public_url: config.public_url.clone(),
            configured: mailer.is_some(),
        },
        events: Arc::clone(&events),
        // The seam for timer kinds: each feature's kind, fired when its timers are due.
        timers: TimerKinds::new(&[
            conversation::AUTO_END,
            conversation::RELEASE_ASSIGNEE,
            alerts::NO_REPLY_ALERT,
            automation::engine::FLOW_WAIT,
            automation::silence::FLOW_SILENCE,
        ]),
        secrets: config.secrets.clone(),
        graph: crate::graph::Graph::new(&config.graph_base_url),
        metrics: Arc::new(Metrics::new(&committer)),
    });
    let hub = Arc::new(Hub::new());
    let session_arbiters: Vec<ArbiterHandle> = arbiters.iter().map(|a| a.handle()).collect();
    let sessions = Arc::new(SessionSupervisor::new(
        Arc::clone(&ctx),
        session_arbiters,
        config.session_idle,
        committer,
    ));
    let (sender_ctx, lease) = (Arc::clone(&ctx), config.send_lease);
    let sender = MessengerSender::start_in_arbiter(&background.handle(), move |_| {
        MessengerSender::new(sender_ctx, lease)
    });
    // With several servers: this server's events to the others, theirs to its listeners.
    let bus = match &config.redis_url {
        Some(url) => Some(bus::start(
            url,
            &background.handle(),
            bus::Local {
                events: Arc::clone(&events),
                hub: Arc::clone(&hub),
                stats: stats.clone(),
            },
            ctx.metrics.bus.clone(),
        )?),
        None => None,
    };
    let bus_status = bus
        .as_ref()
        .map_or_else(|| Arc::new(BusStatus::off()), |b| Arc::clone(&b.status));
    // The seam for listeners: every committed event reaches each of these, in this order;
    // `Reach` says which also hear the events other servers committed (`crate::bus`).
    let mut listeners: Vec<(Reach, Arc<dyn Listener>)> = vec![
        // First: a session actor has another server's row before any client can hear of the
        // change and act on it (typing's audience).
        (
            Reach::OtherServers,
            Arc::new(RemoteRows(Arc::clone(&sessions))),
        ),
        (
            Reach::AllServers,
            Arc::new(FanoutListener(Arc::clone(&hub))),
        ),
        (
            Reach::AllServers,
            Arc::new(StatsListener::new(
                stats.clone(),
                throttle,
                Arc::downgrade(&events),
            )),
        ),
        (
            Reach::AllServers,
            Arc::clone(&sessions) as Arc<dyn Listener>,
        ),
        (Reach::ThisServer, Arc::new(SenderListener(sender))),
    ];
    if let Some(bus) = bus {
        listeners.push((Reach::ThisServer, bus.publisher));
    }
    events.set_listeners(listeners);
    let (scheduler_ctx, scheduler_sessions) = (Arc::clone(&ctx), Arc::clone(&sessions));
    Scheduler::start_in_arbiter(&background.handle(), move |_| {
        Scheduler::new(scheduler_ctx, scheduler_sessions)
    });
    let (jobs_ctx, jobs_stats) = (Arc::clone(&ctx), stats.clone());
    crate::actors::jobs::JobRunner::start_in_arbiter(&background.handle(), move |_| {
        crate::actors::jobs::JobRunner::new(jobs_ctx, jobs_stats)
    });
    if let Some(mailer) = mailer {
        let (mail_pool, retry) = (pool.clone(), RetryPolicy::with_base(config.smtp_retry_base));
        MailerActor::start_in_arbiter(&background.handle(), move |_| {
            MailerActor::new(mail_pool, mailer, retry)
        });
    }
    // Messenger's inbound processing: one actor per Page, started on demand; the sweep also
    // picks up what a previous run left unprocessed.
    let messenger = Arc::new(MessengerChannels::new(
        Arc::clone(&ctx),
        Arc::clone(&sessions),
        background.handle(),
    ));
    messenger.start_sweep();
    let limits = http::rate_limit::RateLimits::new(&config, ctx.metrics.rate_limit_local.clone())?;
    let state = web::Data::new(AppState {
        pool,
        app: ctx,
        hub,
        sessions,
        stats,
        messenger,
        config: Arc::new(config.clone()),
        limits: Arc::new(limits),
        bus: bus_status,
    });
    let public_url = config.public_url.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(http::security_headers::middleware(&public_url))
            // The webhook's verification carries the verify token in its query string: it is
            // kept out of the access log (the handler logs refusals itself).
            .wrap(
                actix_web::middleware::Logger::new("%r %s %Dms")
                    .log_target("switchboard::http")
                    .exclude("/webhooks/messenger"),
            )
            .configure(http::routes)
    })
    // Small frames written back to back (a message echo, then its ack) must not wait for the
    // peer's delayed ACK (Nagle): that added ~40 ms to every ack.
    .on_connect(|conn, _| {
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = tcp.set_nodelay(true);
        }
    })
    .workers(config.workers)
    .shutdown_timeout(5);
    if !config.handle_signals {
        server = server.disable_signals();
    }
    let server = server
        .bind(config.bind)
        .map_err(|e| format!("cannot listen on {} (--bind): {e}", config.bind))?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or("the server has no address")?;
    Ok(Started {
        addr,
        server: server.run(),
        arbiters: arbiters
            .into_iter()
            .chain(commit_arbiters)
            .chain([background])
            .collect(),
    })
}

/// An in-process server on its own thread and actix system (tests and tools).
pub struct RunningServer {
    pub addr: SocketAddr,
    handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    pub fn spawn(config: Config) -> Result<RunningServer, String> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("switchboard-server".into())
            .spawn(move || {
                let system = actix::System::new();
                system.block_on(async move {
                    match start(config).await {
                        Ok(started) => {
                            let _ = tx.send(Ok((started.addr, started.server.handle())));
                            if let Err(e) = started.run().await {
                                tracing::error!(error = %e, "server stopped with an error");
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(|e| format!("cannot start the server thread: {e}"))?;
        let (addr, handle) = rx
            .recv()
            .map_err(|_| "the server thread died".to_string())??;
        Ok(RunningServer {
            addr,
            handle,
            thread: Some(thread),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server; `graceful: false` drops connections at once (like a crash, minus the
    /// process exit).
    pub async fn stop(mut self, graceful: bool) {
        self.handle.stop(graceful).await;
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}
