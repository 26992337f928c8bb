//! Admin commands (`create-owner`, `reset-password`) of the real binary on the embedded
//! PostgreSQL: they use the running server's cluster, or start one themselves when none runs.

use crate::common::*;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use switchboard::db::embedded::EmbeddedPostgres;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A first start runs initdb, which on a busy machine takes longer than `WAIT`.
const FIRST_START: Duration = Duration::from_secs(40);

/// `switchboard ARGS` with the test's environment kept from pointing it elsewhere.
fn switchboard(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("SWITCHBOARD_DATA_DIR")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Runs an admin command to its end, within `bound`.
async fn admin(args: &[&str], bound: Duration) -> Output {
    let started = Instant::now();
    let out = tokio::time::timeout(bound, switchboard(args).output())
        .await
        .unwrap_or_else(|_| panic!("`switchboard {}` did not end within {bound:?}", args[0]))
        .unwrap();
    eprintln!("`switchboard {}` took {:?}", args[0], started.elapsed());
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The arguments of `reset-password` for `email` on `data` with `password`.
fn reset_password<'a>(data: &'a str, email: &'a str, password: &'a str) -> [&'a str; 7] {
    [
        "reset-password",
        "--data-dir",
        data,
        "--email",
        email,
        "--password",
        password,
    ]
}

/// `switchboard serve` on its own new data dir (embedded PostgreSQL), with the first owner's
/// credentials it printed.
struct Server {
    _child: Child,
    /// The `--data-dir`.
    data: String,
    base: String,
    owner_email: String,
    owner_password: String,
}

impl Server {
    async fn start(tag: &str) -> Server {
        init_tracing();
        let data_dir = temp_dir(tag);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bind = format!("127.0.0.1:{port}");
        let data = data_dir.to_str().unwrap();
        let mut child = switchboard(&["serve", "--data-dir", data, "--bind", &bind])
            .env("SWITCHBOARD_WORKERS", "1")
            .env("SWITCHBOARD_DB_POOL", "4")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut email, mut password) = (None, None);
        let read = async {
            while let Some(line) = lines.next_line().await.unwrap() {
                let line = line.trim();
                if let Some(v) = line.strip_prefix("e-mail:") {
                    email = Some(v.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("password:") {
                    password = Some(v.trim().to_owned());
                    break;
                }
            }
        };
        tokio::time::timeout(FIRST_START, read)
            .await
            .expect("the server prints the first owner's credentials");
        // Keep draining stdout so that the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server {
            _child: child,
            data: data.to_owned(),
            base: format!("http://{bind}"),
            owner_email: email.expect("first owner's e-mail"),
            owner_password: password.expect("first owner's password"),
        }
    }

    async fn login_status(&self, email: &str, password: &str) -> u16 {
        reqwest::Client::new()
            .post(format!("{}/api/auth/login", self.base))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_password_while_the_server_runs_uses_the_servers_database() {
    let server = Server::start("admin-live").await;
    let data = server.data.as_str();
    let email = server.owner_email.as_str();
    let args = reset_password(data, email, "a new long password");
    let out = admin(&args, WAIT).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("running server"), "stdout: {stdout}");
    assert!(stdout.contains(&format!("password of {email} changed")));

    assert_eq!(server.login_status(email, "a new long password").await, 200);
    let old = server.owner_password.as_str();
    assert_eq!(server.login_status(email, old).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_a_running_data_dir_is_refused_at_once() {
    let server = Server::start("admin-twice").await;
    let data = server.data.as_str();
    let out = admin(
        &["serve", "--data-dir", data, "--bind", "127.0.0.1:0"],
        WAIT,
    )
    .await;
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("already running"), "stderr: {stderr}");
    assert!(stderr.contains(data), "names the data dir: {stderr}");
    // The first server is untouched.
    let owner = (&server.owner_email, &server.owner_password);
    assert_eq!(server.login_status(owner.0, owner.1).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_without_a_server_start_and_stop_the_cluster_themselves() {
    init_tracing();
    let data_dir = temp_dir("admin-alone");
    let data = data_dir.to_str().unwrap();
    let email = "owner@example.com";

    let create = [
        "create-owner",
        "--data-dir",
        data,
        "--email",
        email,
        "--password",
        "the first password",
    ];
    let out = admin(&create, FIRST_START).await;
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let reset = reset_password(data, email, "the second password");
    let out = admin(&reset, FIRST_START).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert!(!stdout.contains("running server"), "stdout: {stdout}");

    let cluster: PathBuf = data_dir.join("postgres");
    assert!(
        !cluster.join("data/postmaster.pid").exists(),
        "the command stopped the cluster it started"
    );
    let pg = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&cluster, "switchboard"))
        .await
        .unwrap()
        .unwrap();
    let mut conn = AsyncPgConnection::establish(&pg.url()).await.unwrap();
    let user = switchboard::db::users::find_by_email(&mut conn, email)
        .await
        .unwrap()
        .unwrap();
    assert!(switchboard::domain::auth::verify_password(
        "the second password",
        &user.password_hash
    ));
    drop(conn);
    tokio::task::spawn_blocking(move || drop(pg)).await.unwrap();
}
