//! The real `switchboard` binary as a child process on a test's database, for what only a
//! process can show: `kill -9` (no shutdown code runs) and a restart on the same port.

use std::process::Stdio;

pub struct Binary {
    child: tokio::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Binary {
    /// `serve` on a free port with these environment variables (besides a small pool, one
    /// worker and warnings-only logs); returns once `/healthz` answers.
    pub async fn start(db_url: &str, env: &[(&str, String)]) -> Binary {
        Binary::start_on(free_port(), db_url, env).await
    }

    pub async fn start_on(port: u16, db_url: &str, env: &[(&str, String)]) -> Binary {
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["serve", "--database-url", db_url, "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .env("SWITCHBOARD_DB_POOL", "4")
            .env("SWITCHBOARD_WORKERS", "1")
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let health = format!("{base}/healthz");
        super::eventually("the server binary answers", || async {
            reqwest::get(&health).await.is_ok_and(|r| r.status() == 200)
        })
        .await;
        Binary { child, base }
    }

    /// A client logged in to this server (its cookie kept).
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Client {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let r = http
            .post(format!("{}/api/auth/login", self.base))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login to the server binary");
        http
    }

    /// An API token (for a websocket's `Authorization: Bearer`) of a user, made on this server.
    pub async fn bearer_token(&self, email: &str, password: &str) -> String {
        let http = self.login(email, password).await;
        let r = http
            .post(format!("{}/api/auth/tokens", self.base))
            .json(&serde_json::json!({"name": "test"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "a token from the server binary");
        r.json::<serde_json::Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn ws(&self) -> String {
        self.base.replacen("http://", "ws://", 1)
    }

    /// `kill -9`: no shutdown code runs.
    pub async fn kill_9(mut self) {
        let pid = self.child.id().unwrap() as i32;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        let status = tokio::time::timeout(super::WAIT, self.child.wait())
            .await
            .expect("the killed server exits")
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9));
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
