//! A private PostgreSQL cluster run from the machine's server binaries, used when no
//! DATABASE_URL is given and by tests for throwaway clusters.
//!
//! Layout of `cluster_dir`: `data/` (PGDATA), `sock/` (the unix socket; no TCP port is
//! opened, so any number of clusters coexist), `postgres.log` (initdb and server output).
//!
//! Why it looks the way it does:
//! - PostgreSQL refuses to run as root, and CI runs as root, so as root initdb and postgres run
//!   as the `postgres` system user and the cluster directory is handed over to that user.
//! - postgres is our direct child (not daemonized by pg_ctl) so that it dies with us:
//!   `PR_SET_PDEATHSIG` sends it SIGINT (fast shutdown) when its parent goes away, even on
//!   kill -9. The "parent" is the *thread* that forked, so the child is spawned from a dedicated
//!   supervisor thread that lives exactly as long as the child, never from a tokio worker or a
//!   test thread that may end first.
//! - Authentication is `trust`, which is safe because the socket directory is 0700 and owned
//!   by the user that runs postgres: only that user and root can reach the socket.
//! - A cluster has one postmaster, owned by whoever started it (normally `switchboard serve`).
//!   Admin commands run while it serves use it through its socket (`attach`) instead of
//!   waiting for a data directory that will not be released.

use nix::sys::signal::{kill, Signal};
use nix::unistd::{geteuid, getgrouplist, Gid, Pid, Uid, User};
use std::ffi::{CString, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};
use EmbeddedError::NoPostgresUser;

/// The superuser created by initdb, and the user in every URL.
const SUPERUSER: &str = "switchboard";
/// Only names the socket file (`.s.PGSQL.5432`); no TCP port is opened.
const PORT: &str = "5432";
/// `sun_path` is 108 bytes including the terminating NUL.
const SOCKET_PATH_MAX: usize = 107;
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a postgres left by a previous run (shutting down because its parent died) may
/// take to release the data directory.
const LEFTOVER_TIMEOUT: Duration = Duration::from_secs(15);
/// libpq variables that could point our client programs elsewhere.
const PG_ENV: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGSERVICE",
    "PGOPTIONS",
];

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("PostgreSQL server binaries (initdb, postgres) were not found in PATH or /usr/lib/postgresql/*/bin; install them (Debian: apt-get install postgresql) or set DATABASE_URL")]
    BinariesNotFound,
    #[error("running as root, the embedded PostgreSQL must run as the `postgres` system user, which does not exist; install PostgreSQL's server package (it creates the user), run as a non-root user, or set DATABASE_URL")]
    NoPostgresUser,
    #[error("the `postgres` system user cannot enter {}, an ancestor of the database directory; choose a --data-dir under a searchable path, or run `chmod o+x {}`", .0.display(), .0.display())]
    NotSearchable(PathBuf),
    #[error("the PostgreSQL socket path {} is {} bytes, over the {SOCKET_PATH_MAX}-byte limit for unix sockets; choose a shorter --data-dir", .0.display(), .1)]
    SocketPathTooLong(PathBuf, usize),
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    /// initdb failed, postgres exited during startup, or did not get ready in time.
    #[error("{what}; last lines of {}: {tail}", .log.display())]
    Server {
        what: String,
        log: PathBuf,
        tail: String,
    },
    #[error("another postgres (pid {}) is still running on {}; stop it first", .0, .1.display())]
    AlreadyRunning(i32, PathBuf),
    /// A postgres that accepts connections already serves the cluster (another server).
    #[error("the PostgreSQL cluster in {} is already serving another process (postgres pid {}); stop it first or choose another data dir", .1.display(), .0)]
    InUse(i32, PathBuf),
    #[error("cannot create database {0:?}: {1}")]
    CreateDb(String, String),
}

/// Wraps an I/O error with what we were doing.
fn io_err(what: impl std::fmt::Display) -> impl FnOnce(io::Error) -> EmbeddedError {
    move |source| EmbeddedError::Io {
        what: what.to_string(),
        source,
    }
}

/// A running (or stopped) private cluster. Dropping it stops the server.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    cluster_dir: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    log_path: PathBuf,
    bin_dir: PathBuf,
    dbname: String,
    /// The user and group that run initdb/postgres, when we are root.
    run_as: Option<(Uid, Gid)>,
    running: Option<Running>,
}

/// How postgres is stopped: `pg_ctl stop -m fast` or `-m immediate`, as signals to our child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// SIGINT: open transactions are rolled back, clients disconnected, a checkpoint written.
    Fast,
    /// SIGQUIT: every process exits at once, no checkpoint; the next start replays the WAL —
    /// the crash case.
    Immediate,
}

impl Shutdown {
    fn signal(self) -> Signal {
        match self {
            Shutdown::Fast => Signal::SIGINT,
            Shutdown::Immediate => Signal::SIGQUIT,
        }
    }
}

/// The postmaster and the thread that spawned it. The child stays unreaped until stop(), so
/// its pid cannot be reused by another process while we may still signal it.
#[derive(Debug)]
struct Running {
    child: Child,
    /// Dropping this ends the supervisor thread (whose end would also SIGINT a live child).
    release: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

/// A cluster that another process started and serves. Holding it keeps nothing alive and
/// dropping it stops nothing.
#[derive(Debug)]
pub struct RunningCluster {
    pid: i32,
    url: String,
}

impl RunningCluster {
    /// The URL of the database named when attaching.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The serving postmaster's pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }
}

/// What holds a data directory's lock file, `postmaster.pid`.
enum Postmaster {
    /// No lock, or its process is gone (postgres copes with that by itself).
    Absent,
    /// The pid now belongs to another program (pid reuse); postgres would refuse to start.
    Reused(i32, String),
    /// A live postgres: serving, starting, or shutting down.
    Alive(i32),
}

/// The cluster in `cluster_dir`: ours if we started it, or one already served by another
/// process.
#[derive(Debug)]
pub enum Cluster {
    Started(EmbeddedPostgres),
    Attached(RunningCluster),
}

impl EmbeddedPostgres {
    /// Finds the binaries, runs initdb on first use (an existing cluster is reused), starts the
    /// server, waits until it accepts connections and makes sure database `dbname` exists.
    pub fn start(cluster_dir: &Path, dbname: &str) -> Result<EmbeddedPostgres, EmbeddedError> {
        let bin_dir = find_bin_dir().ok_or(EmbeddedError::BinariesNotFound)?;
        debug!(bin_dir = %bin_dir.display(), "found PostgreSQL binaries");
        let user = match geteuid().is_root() {
            true => Some(
                User::from_name("postgres")
                    .ok()
                    .flatten()
                    .ok_or(NoPostgresUser)?,
            ),
            false => None,
        };
        let what = format!("cannot create {}", cluster_dir.display());
        fs::create_dir_all(cluster_dir).map_err(io_err(what))?;
        // Absolute and symlink-free: postgres runs with another cwd, and the URL needs it.
        let what = format!("cannot resolve {}", cluster_dir.display());
        let cluster_dir = fs::canonicalize(cluster_dir).map_err(io_err(what))?;
        let socket_dir = cluster_dir.join("sock");
        check_socket_path(&socket_dir)?;
        if let Some(user) = &user {
            check_searchable(&cluster_dir, user)?;
        }
        let run_as = user.map(|u| (u.uid, u.gid));
        let mut pg = EmbeddedPostgres::at(cluster_dir, bin_dir, dbname, run_as);
        pg.own(&pg.cluster_dir, Some(0o700))?;
        pg.open_log()?; // creates and chowns it before initdb writes to it
        if !pg.pgdata.join("PG_VERSION").exists() {
            pg.initdb()?;
        }
        pg.launch()?;
        pg.ensure_database(dbname)?;
        Ok(pg)
    }

    /// The cluster in `cluster_dir` when another process already serves it: a live postgres
    /// holds its data directory and accepts connections on its socket. `None` when none does
    /// (also while one is starting or shutting down: `start` then waits for it or refuses).
    /// Makes sure database `dbname` exists, like `start`.
    pub fn attach(
        cluster_dir: &Path,
        dbname: &str,
    ) -> Result<Option<RunningCluster>, EmbeddedError> {
        let Ok(cluster_dir) = fs::canonicalize(cluster_dir) else {
            return Ok(None); // no cluster there yet
        };
        let bin_dir = find_bin_dir().ok_or(EmbeddedError::BinariesNotFound)?;
        // Client programs only: they run as whoever we are, so no user to switch to.
        let pg = EmbeddedPostgres::at(cluster_dir, bin_dir, dbname, None);
        let Postmaster::Alive(pid) = pg.postmaster() else {
            return Ok(None);
        };
        // Without pg_isready, a server cannot be told from a leftover shutting down: start.
        if pg.accepts_connections() != Some(true) {
            return Ok(None);
        }
        pg.ensure_database(dbname)?;
        info!(pid, cluster = %pg.cluster_dir.display(), "using the running postgres");
        let url = pg.url();
        Ok(Some(RunningCluster { pid, url }))
    }

    /// The cluster that another process serves, or else one we start (and stop on drop). A
    /// server that got ready while `start` waited for the data directory is attached to.
    pub fn attach_or_start(cluster_dir: &Path, dbname: &str) -> Result<Cluster, EmbeddedError> {
        if let Some(running) = Self::attach(cluster_dir, dbname)? {
            return Ok(Cluster::Attached(running));
        }
        match Self::start(cluster_dir, dbname) {
            Err(EmbeddedError::InUse(..)) => match Self::attach(cluster_dir, dbname)? {
                Some(running) => Ok(Cluster::Attached(running)),
                None => Self::start(cluster_dir, dbname).map(Cluster::Started),
            },
            started => started.map(Cluster::Started),
        }
    }

    /// Our layout under a canonical `cluster_dir`, not started.
    fn at(
        cluster_dir: PathBuf,
        bin_dir: PathBuf,
        dbname: &str,
        run_as: Option<(Uid, Gid)>,
    ) -> EmbeddedPostgres {
        EmbeddedPostgres {
            pgdata: cluster_dir.join("data"),
            log_path: cluster_dir.join("postgres.log"),
            socket_dir: cluster_dir.join("sock"),
            cluster_dir,
            bin_dir,
            dbname: dbname.to_owned(),
            run_as,
            running: None,
        }
    }

    /// A URL for database `dbname` through the unix socket, for tokio-postgres / diesel-async.
    pub fn url_for(&self, dbname: &str) -> String {
        let (host, db) = (self.socket_dir.as_os_str().as_bytes(), dbname.as_bytes());
        format!(
            "postgres://{SUPERUSER}@{}/{}",
            percent_encode(host),
            percent_encode(db)
        )
    }

    /// The URL of the database named at start.
    pub fn url(&self) -> String {
        self.url_for(&self.dbname)
    }

    pub fn cluster_dir(&self) -> &Path {
        &self.cluster_dir
    }

    /// The postmaster's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(|r| r.child.id())
    }

    /// Fast shutdown (SIGINT), waiting up to 30 s before SIGKILL. Idempotent.
    pub fn stop(&mut self) -> Result<(), EmbeddedError> {
        self.stop_with(Shutdown::Fast)
    }

    /// Stops the server in `mode`, waiting up to 30 s before SIGKILL. Idempotent.
    pub fn stop_with(&mut self, mode: Shutdown) -> Result<(), EmbeddedError> {
        let Some(mut running) = self.running.take() else {
            return Ok(());
        };
        let child = &mut running.child;
        let pid = Pid::from_raw(child.id() as i32);
        // Signal only a child not yet reaped: a reaped pid may already be someone else's.
        if matches!(child.try_wait(), Ok(None)) {
            info!(%pid, ?mode, "stopping embedded postgres");
            let _ = kill(pid, mode.signal());
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(25));
        }
        if !matches!(child.try_wait(), Ok(Some(_))) {
            warn!(%pid, "postgres did not stop in time; killing it");
            let _ = child.kill();
        }
        let result = child.wait().map_err(io_err("cannot wait for postgres"));
        // Only now, with the child reaped, may the supervisor thread end.
        drop(running.release);
        let _ = running.thread.join();
        result.map(|status| debug!(%status, "postgres exited"))
    }

    /// Stops the server and starts it again on the same cluster directory.
    pub fn restart(&mut self) -> Result<(), EmbeddedError> {
        self.restart_with(Shutdown::Fast)
    }

    /// Stops the server in `mode` and starts it again on the same cluster directory (after an
    /// immediate stop, postgres recovers from its WAL first, as after a crash).
    pub fn restart_with(&mut self, mode: Shutdown) -> Result<(), EmbeddedError> {
        self.stop_with(mode)?;
        self.launch()
    }

    /// The unix socket postgres listens on (for a proxy in front of it).
    pub fn socket_path(&self) -> PathBuf {
        self.socket_dir.join(format!(".s.PGSQL.{PORT}"))
    }

    /// Gives `path` to the postgres user (when root) and sets its mode.
    fn own(&self, path: &Path, mode: Option<u32>) -> Result<(), EmbeddedError> {
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::lchown(path, Some(uid.as_raw()), Some(gid.as_raw()))
                .map_err(io_err(format!("cannot chown {}", path.display())))?;
        }
        match mode {
            Some(mode) => fs::set_permissions(path, fs::Permissions::from_mode(mode))
                .map_err(io_err(format!("cannot chmod {}", path.display()))),
            None => Ok(()),
        }
    }

    fn open_log(&self) -> Result<File, EmbeddedError> {
        let what = format!("cannot open {}", self.log_path.display());
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path);
        let file = file.map_err(io_err(what))?;
        self.own(&self.log_path, None)?;
        Ok(file)
    }

    /// A command for one of our binaries (a client program falls back to PATH), with no libpq
    /// variables that could redirect it.
    fn command(&self, program: &str) -> Command {
        let path = self.bin_dir.join(program);
        let mut cmd = Command::new(match is_executable(&path) {
            true => path,
            false => PathBuf::from(program),
        });
        for var in PG_ENV {
            cmd.env_remove(var);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// A server program: runs as the cluster's user, from the cluster directory, with its
    /// output appended to postgres.log. Also returns the log's length, for `log_tail`.
    fn server_command(&self, program: &str) -> Result<(Command, u64), EmbeddedError> {
        let log = self.open_log()?;
        let offset = log.metadata().map(|m| m.len()).unwrap_or(0);
        let log2 = log
            .try_clone()
            .map_err(io_err("cannot duplicate the log"))?;
        let mut cmd = self.command(program);
        cmd.stdout(log2).stderr(log).current_dir(&self.cluster_dir);
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid.as_raw()).gid(gid.as_raw());
        }
        Ok((cmd, offset))
    }

    fn initdb(&self) -> Result<(), EmbeddedError> {
        info!(pgdata = %self.pgdata.display(), "initialising a new PostgreSQL cluster");
        let existed = self.pgdata.exists();
        let mut what = String::new();
        let mut offset = 0;
        // C.UTF-8 is wanted; plain C is the fallback for systems that lack that locale.
        for locale in ["C.UTF-8", "C"] {
            let (mut cmd, start) = self.server_command("initdb")?;
            cmd.arg("-D")
                .arg(&self.pgdata)
                .arg(format!("--locale={locale}"));
            let status = cmd
                .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8"])
                .status();
            let status = status.map_err(io_err("cannot run initdb"))?;
            if status.success() {
                return Ok(());
            }
            warn!(%status, locale, "initdb failed");
            (what, offset) = (format!("initdb failed ({status})"), start);
            // initdb cleans up after itself, but make sure the retry finds no half-made cluster
            // (only in a directory we made: never delete what someone else put there).
            if !existed && self.pgdata.exists() {
                let _ = fs::remove_dir_all(&self.pgdata);
            }
        }
        Err(self.server_error(what, offset))
    }

    /// Spawns the postmaster from the supervisor thread and waits until it accepts connections.
    fn launch(&mut self) -> Result<(), EmbeddedError> {
        if self.running.is_some() {
            return Ok(());
        }
        self.clear_leftover()?;
        let _ = fs::create_dir(&self.socket_dir);
        self.own(&self.socket_dir, Some(0o700))?;
        // Quoted, since the setting is a list: the directory may contain spaces or commas.
        let mut sockets = b"unix_socket_directories=\"".to_vec();
        for &b in self.socket_dir.as_os_str().as_bytes() {
            sockets.extend_from_slice(if b == b'"' {
                b"\"\""
            } else {
                std::slice::from_ref(&b)
            });
        }
        sockets.push(b'"');
        let (mut cmd, offset) = self.server_command("postgres")?;
        cmd.arg("-D")
            .arg(&self.pgdata)
            .arg("-c")
            .arg(OsString::from_vec(sockets));
        cmd.args(["-c", "listen_addresses=", "-c", &format!("port={PORT}")]);
        // Its own process group: a Ctrl-C on the terminal must not stop the database under a
        // server that is still draining; we stop it ourselves (or PDEATHSIG does).
        cmd.process_group(0);
        set_parent_death_signal(&mut cmd);
        let started = Instant::now();
        self.running = Some(spawn_supervised(cmd)?);
        info!(pid = ?self.pid(), cluster = %self.cluster_dir.display(), "postgres spawned");
        if let Err(e) = self.wait_ready(offset) {
            let _ = self.stop();
            return Err(e);
        }
        let ms = started.elapsed().as_millis() as u64;
        info!(elapsed_ms = ms, url = %self.url(), "embedded postgres ready");
        Ok(())
    }

    /// Polls until `pg_isready` succeeds (or, without it, the socket appears), failing early if
    /// the postmaster exits.
    fn wait_ready(&mut self, offset: u64) -> Result<(), EmbeddedError> {
        let socket = self.socket_path();
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.running.as_mut().map(|r| r.child.try_wait()) {
                let what = format!("postgres exited during startup ({status})");
                return Err(self.server_error(what, offset));
            }
            match self.accepts_connections() {
                Some(true) => return Ok(()),
                None if socket.exists() => {
                    thread::sleep(Duration::from_millis(300));
                    return Ok(());
                }
                _ => {}
            }
            thread::sleep(Duration::from_millis(50));
        }
        let secs = START_TIMEOUT.as_secs();
        Err(self.server_error(
            format!("postgres did not accept connections within {secs}s"),
            offset,
        ))
    }

    /// Whether postgres accepts connections on the socket (one that is starting or shutting
    /// down does not), by `pg_isready`; `None` without that program.
    fn accepts_connections(&self) -> Option<bool> {
        if !is_executable(&self.bin_dir.join("pg_isready")) {
            return None;
        }
        if !self.socket_path().exists() {
            return Some(false);
        }
        let mut cmd = self.command("pg_isready");
        cmd.arg("-h")
            .arg(&self.socket_dir)
            .args(["-p", PORT, "-U", SUPERUSER, "-q"]);
        let status = cmd.args(["-d", "postgres", "-t", "2"]).status();
        Some(status.is_ok_and(|s| s.success()))
    }

    fn postmaster(&self) -> Postmaster {
        let text = fs::read_to_string(self.pgdata.join("postmaster.pid")).unwrap_or_default();
        let Some(pid) = text.lines().next().and_then(|l| l.trim().parse().ok()) else {
            return Postmaster::Absent;
        };
        match process_name(pid) {
            None => Postmaster::Absent,
            Some(name) if name != "postgres" => Postmaster::Reused(pid, name),
            Some(_) => Postmaster::Alive(pid),
        }
    }

    /// A postmaster.pid left by a killed run. If its process is gone, postgres copes by itself.
    /// If that pid now belongs to something else (pid reuse, common in containers), postgres
    /// would refuse to start, so the stale lock files are removed. If it is a postgres (the
    /// old server shutting down after its parent died), wait for it to finish; one that
    /// accepts connections is another server's, which will not go away.
    fn clear_leftover(&self) -> Result<(), EmbeddedError> {
        let deadline = Instant::now() + LEFTOVER_TIMEOUT;
        loop {
            match self.postmaster() {
                Postmaster::Absent => return Ok(()),
                Postmaster::Reused(pid, name) => {
                    warn!(
                        pid,
                        name, "removing a stale postmaster.pid (its pid was reused)"
                    );
                    let _ = fs::remove_file(self.pgdata.join("postmaster.pid"));
                    let _ = fs::remove_file(self.socket_dir.join(format!(".s.PGSQL.{PORT}.lock")));
                    return Ok(());
                }
                Postmaster::Alive(pid) if self.accepts_connections() == Some(true) => {
                    return Err(EmbeddedError::InUse(pid, self.cluster_dir.clone()));
                }
                Postmaster::Alive(pid) if Instant::now() >= deadline => {
                    return Err(EmbeddedError::AlreadyRunning(pid, self.pgdata.clone()));
                }
                Postmaster::Alive(pid) => {
                    debug!(pid, "waiting for a leftover postgres to exit");
                    thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    /// Creates `dbname` unless it exists. Client programs may run as root: no user switch.
    fn ensure_database(&self, dbname: &str) -> Result<(), EmbeddedError> {
        let mut cmd = self.command("createdb");
        cmd.arg("-h")
            .arg(&self.socket_dir)
            .args(["-p", PORT, "-U", SUPERUSER]);
        let out = cmd.args(["--", dbname]).output();
        let out = out.map_err(io_err("cannot run createdb"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            info!(dbname, "created database");
        } else if stderr.contains("already exists") {
            debug!(dbname, "database already exists");
        } else {
            let message = stderr.trim().replace('\n', " | ");
            return Err(EmbeddedError::CreateDb(dbname.to_owned(), message));
        }
        Ok(())
    }

    /// An error carrying the last ~20 lines written to postgres.log since `offset`, on one line.
    fn server_error(&self, what: String, offset: u64) -> EmbeddedError {
        let mut buf = Vec::new();
        if let Ok(mut file) = File::open(&self.log_path) {
            let _ = file
                .seek(SeekFrom::Start(offset))
                .map(|_| file.read_to_end(&mut buf));
        }
        let text = String::from_utf8_lossy(&buf);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(20)..].join(" | ");
        let log = self.log_path.clone();
        EmbeddedError::Server { what, log, tail }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Spawns `cmd` from a new thread that then just waits to be released. PDEATHSIG fires when
/// the thread that forked the child ends, so that thread must outlive the child: it ends only
/// when `Running::release` is dropped (after the child was reaped) or when the process dies.
fn spawn_supervised(mut cmd: Command) -> Result<Running, EmbeddedError> {
    let (child_tx, child_rx) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let thread = thread::Builder::new()
        .name("embedded-postgres".into())
        .spawn(move || {
            let _ = child_tx.send(cmd.spawn());
            let _ = release_rx.recv(); // returns once the sender is dropped
        })
        .map_err(io_err("cannot start the postgres supervisor thread"))?;
    let spawned = child_rx
        .recv()
        .unwrap_or_else(|_| Err(io::Error::other("thread died")));
    match spawned {
        Ok(child) => Ok(Running {
            child,
            release,
            thread,
        }),
        Err(e) => {
            drop(release);
            let _ = thread.join();
            Err(io_err("cannot start postgres")(e))
        }
    }
}

/// Makes the child get SIGINT (fast shutdown) when the spawning thread dies. Runs in
/// `pre_exec`, which std calls after setgid/setuid: a credential change clears PDEATHSIG, so
/// setting it earlier would be undone.
fn set_parent_death_signal(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use nix::libc;
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: only async-signal-safe syscalls (prctl, getppid, _exit) run in the child.
        unsafe {
            cmd.pre_exec(move || {
                let signal = libc::SIGINT as libc::c_ulong;
                if libc::prctl(libc::PR_SET_PDEATHSIG, signal, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // If we died between fork and prctl, the signal will never come: give up.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
    }
}

fn check_socket_path(socket_dir: &Path) -> Result<(), EmbeddedError> {
    let socket = socket_dir.join(format!(".s.PGSQL.{PORT}"));
    match socket.as_os_str().len() {
        len if len > SOCKET_PATH_MAX => Err(EmbeddedError::SocketPathTooLong(socket, len)),
        _ => Ok(()),
    }
}

/// The command name of a live (non-zombie) process, from /proc.
fn process_name(pid: i32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let state = stat.get(close + 2..close + 3)?;
    (state != "Z").then(|| stat[open + 1..close].to_owned())
}

/// The postgres user must be able to traverse every ancestor of the cluster directory (a data
/// dir under /root, which is 0700, cannot work).
fn check_searchable(cluster_dir: &Path, user: &User) -> Result<(), EmbeddedError> {
    let name = CString::new(user.name.as_bytes()).unwrap_or_default();
    let groups = getgrouplist(&name, user.gid).unwrap_or_else(|_| vec![user.gid]);
    for dir in cluster_dir.ancestors().skip(1) {
        let meta = fs::metadata(dir).map_err(io_err(format!("cannot stat {}", dir.display())))?;
        let bit = if meta.uid() == user.uid.as_raw() {
            0o100
        } else if groups.iter().any(|g| g.as_raw() == meta.gid()) {
            0o010
        } else {
            0o001
        };
        if meta.mode() & bit == 0 {
            return Err(EmbeddedError::NotSearchable(dir.to_owned()));
        }
    }
    Ok(())
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            true => out.push(b as char),
            false => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
}

/// PATH first, then /usr/lib/postgresql/<version>/bin, newest version first.
fn candidate_dirs(path_var: Option<OsString>, versions_root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = path_var.iter().flat_map(std::env::split_paths).collect();
    let mut versioned: Vec<(Vec<u32>, PathBuf)> = fs::read_dir(versions_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version: Option<Vec<u32>> = name.split('.').map(|s| s.parse().ok()).collect();
            Some((version?, entry.path().join("bin")))
        })
        .collect();
    versioned.sort_by(|a, b| b.0.cmp(&a.0));
    dirs.extend(versioned.into_iter().map(|(_, dir)| dir));
    dirs
}

/// The first directory with both server binaries. A PATH entry may hold symlinks (e.g.
/// /usr/local/bin/postgres -> /usr/lib/postgresql/15/bin/postgres): then the real directory is
/// used, since it also holds the client programs (createdb, pg_isready).
fn find_bin_dir_in(dirs: Vec<PathBuf>) -> Option<PathBuf> {
    dirs.into_iter().find_map(|dir| {
        if !(is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres"))) {
            return None;
        }
        let real = fs::canonicalize(dir.join("postgres")).ok();
        let real = real.and_then(|p| p.parent().map(Path::to_owned));
        Some(
            real.filter(|r| is_executable(&r.join("initdb")))
                .unwrap_or(dir),
        )
    })
}

fn find_bin_dir() -> Option<PathBuf> {
    let versions_root = Path::new("/usr/lib/postgresql");
    find_bin_dir_in(candidate_dirs(std::env::var_os("PATH"), versions_root))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("embedded-pg-unit-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn fake_bins(dir: &Path, names: &[&str]) {
        fs::create_dir_all(dir).unwrap();
        for name in names {
            let p = dir.join(name);
            fs::write(&p, "#!/bin/sh\n").unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    #[test]
    fn percent_encoding_and_urls() {
        assert_eq!(percent_encode(b"/tmp/a b/sock"), "%2Ftmp%2Fa%20b%2Fsock");
        assert_eq!(percent_encode(b"Az09-._~"), "Az09-._~");
        let pg = EmbeddedPostgres {
            cluster_dir: "/x/pg".into(),
            pgdata: "/x/pg/data".into(),
            socket_dir: "/x/pg/sock".into(),
            log_path: "/x/pg/postgres.log".into(),
            bin_dir: "/bin".into(),
            dbname: "switchboard".into(),
            run_as: None,
            running: None,
        };
        assert_eq!(
            pg.url(),
            "postgres://switchboard@%2Fx%2Fpg%2Fsock/switchboard"
        );
        assert_eq!(
            pg.url_for("test db"),
            "postgres://switchboard@%2Fx%2Fpg%2Fsock/test%20db"
        );
    }

    #[test]
    fn socket_path_limit() {
        assert!(check_socket_path(Path::new("/tmp/short/sock")).is_ok());
        let long = PathBuf::from(format!("/tmp/{}/sock", "d".repeat(100)));
        let err = check_socket_path(&long).unwrap_err();
        assert!(matches!(err, EmbeddedError::SocketPathTooLong(..)));
        assert!(err.to_string().contains(&long.display().to_string()));
    }

    #[test]
    fn discovery_prefers_path_then_newest_version() {
        let root = scratch("discovery");
        let versions = root.join("lib");
        fake_bins(&versions.join("9.6/bin"), &["initdb", "postgres"]);
        fake_bins(&versions.join("16/bin"), &["initdb", "postgres"]);
        fake_bins(&versions.join("15/bin"), &["initdb", "postgres"]);
        fake_bins(&versions.join("17/bin"), &["initdb"]); // incomplete: skipped
        fs::create_dir_all(versions.join("common")).unwrap(); // not a version: ignored
        let dirs = candidate_dirs(None, &versions);
        let names: Vec<_> = dirs
            .iter()
            .map(|d| d.strip_prefix(&versions).unwrap().to_owned())
            .collect();
        let expected: Vec<PathBuf> = ["17/bin", "16/bin", "15/bin", "9.6/bin"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(names, expected);
        assert_eq!(find_bin_dir_in(dirs), Some(versions.join("16/bin")));

        let on_path = root.join("path-bin");
        fake_bins(&on_path, &["initdb", "postgres"]);
        let path_var = std::env::join_paths([root.join("nothing"), on_path.clone()]).unwrap();
        assert_eq!(
            find_bin_dir_in(candidate_dirs(Some(path_var), &versions)),
            Some(on_path)
        );
        assert_eq!(
            find_bin_dir_in(candidate_dirs(None, &root.join("missing"))),
            None
        );

        // Symlinks on PATH resolve to the real directory.
        let links = root.join("links");
        fs::create_dir_all(&links).unwrap();
        for name in ["initdb", "postgres"] {
            std::os::unix::fs::symlink(versions.join("16/bin").join(name), links.join(name))
                .unwrap();
        }
        let found = find_bin_dir_in(candidate_dirs(Some(links.into_os_string()), &versions));
        assert_eq!(
            found,
            Some(fs::canonicalize(versions.join("16/bin")).unwrap())
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn missing_binaries_message() {
        let msg = EmbeddedError::BinariesNotFound.to_string();
        assert!(msg.contains("apt-get install postgresql") && msg.contains("DATABASE_URL"));
    }
}
