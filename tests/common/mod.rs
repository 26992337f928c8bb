#![allow(dead_code)]

pub mod binary;
pub mod flows;
pub mod graph;
pub mod messenger;
pub mod pg_proxy;
pub mod redis;
pub mod smtp;
pub mod steps;
pub mod ws;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use switchboard::app::RunningServer;
use switchboard::config::Config;
use switchboard::db::embedded::EmbeddedPostgres;
use switchboard::domain::bootstrap;

pub use steps::visitor_says;
pub use ws::{message_in, of_type, WsClient};

/// Every wait in a test is bounded by this.
pub const WAIT: Duration = Duration::from_secs(10);

pub fn init_tracing() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("TEST_LOG")
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .try_init();
    });
}

/// A directory under /tmp that the `postgres` system user can enter.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "sb-test-{}-{tag}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Shared {
    pg: Mutex<EmbeddedPostgres>,
    template_url: String,
}

static SHARED: OnceLock<Shared> = OnceLock::new();
static TEMPLATE_READY: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
static DB_COUNTER: AtomicUsize = AtomicUsize::new(0);

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        init_tracing();
        let pg =
            EmbeddedPostgres::start(&temp_dir("cluster"), "sb_template").expect("test cluster");
        let template_url = pg.url_for("sb_template");
        Shared {
            pg: Mutex::new(pg),
            template_url,
        }
    })
}

fn url_for(db: &str) -> String {
    shared().pg.lock().unwrap().url_for(db)
}

/// A fresh, migrated database for one test.
pub async fn fresh_database() -> String {
    let template_url = tokio::task::spawn_blocking(|| shared().template_url.clone())
        .await
        .unwrap();
    TEMPLATE_READY
        .get_or_init(|| async {
            switchboard::db::run_migrations(&template_url)
                .await
                .expect("migrate template");
        })
        .await;
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        DB_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = AsyncPgConnection::establish(&url_for("postgres"))
        .await
        .unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE sb_template"))
        .execute(&mut admin)
        .await
        .unwrap();
    url_for(&name)
}

/// Changes a test server's configuration (SMTP settings, …) before it starts.
pub type Configure = std::sync::Arc<dyn Fn(&mut Config) + Send + Sync>;

/// A running server on its own database, with a first owner and a demo project.
pub struct TestApp {
    pub server: Option<RunningServer>,
    configure: Configure,
    pub db_url: String,
    pub owner_email: String,
    pub owner_password: String,
    pub project_id: i64,
    pub widget_key: String,
}

pub struct Agent {
    pub http: reqwest::Client,
    pub token: String,
    pub user_id: i64,
    pub email: String,
}

impl TestApp {
    pub async fn start() -> TestApp {
        let db_url = fresh_database().await;
        Self::start_on(db_url).await
    }

    /// A server whose configuration `configure` changes (also on restarts).
    pub async fn start_with(configure: impl Fn(&mut Config) + Send + Sync + 'static) -> TestApp {
        let db_url = fresh_database().await;
        Self::start_on_with(db_url, std::sync::Arc::new(configure)).await
    }

    /// A server on an existing database (bootstrapping it when empty).
    pub async fn start_on(db_url: String) -> TestApp {
        Self::start_on_with(db_url, std::sync::Arc::new(|_: &mut Config| {})).await
    }

    pub async fn start_on_with(db_url: String, configure: Configure) -> TestApp {
        init_tracing();
        let server = start_server_with(&db_url, &configure).await;
        let mut conn = AsyncPgConnection::establish(&db_url).await.unwrap();
        let first = bootstrap::ensure_first_owner(&mut conn)
            .await
            .unwrap()
            .expect("empty database");
        TestApp {
            server: Some(server),
            configure,
            db_url,
            owner_email: first.email,
            owner_password: first.password,
            project_id: first.channel.project_id,
            widget_key: first.channel.widget_key.unwrap(),
        }
    }

    /// A second server on this one's database, with the same configuration (several servers
    /// on one PostgreSQL): the same owner, project and widget.
    pub async fn another_server(&self) -> TestApp {
        TestApp {
            server: Some(start_server_with(&self.db_url, &self.configure).await),
            configure: std::sync::Arc::clone(&self.configure),
            db_url: self.db_url.clone(),
            owner_email: self.owner_email.clone(),
            owner_password: self.owner_password.clone(),
            project_id: self.project_id,
            widget_key: self.widget_key.clone(),
        }
    }

    pub fn url(&self) -> String {
        self.server.as_ref().expect("server running").url()
    }

    pub fn ws_url(&self) -> String {
        self.url().replacen("http://", "ws://", 1)
    }

    pub async fn db(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.db_url).await.unwrap()
    }

    /// Stops the server (not gracefully: connections drop as in a crash) and starts a new one
    /// on the same database.
    pub async fn restart_server(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop(false).await;
        }
        self.server = Some(start_server_with(&self.db_url, &self.configure).await);
    }

    pub async fn stop_server(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop(false).await;
        }
    }

    pub async fn start_server_again(&mut self) {
        self.server = Some(start_server_with(&self.db_url, &self.configure).await);
    }

    /// Logs in and returns a client carrying the session cookie, plus a bearer token.
    pub async fn login(&self, email: &str, password: &str) -> Agent {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let res = http
            .post(format!("{}/api/auth/login", self.url()))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login of {email}");
        let me: Value = res.json().await.unwrap();
        let user_id = me["user"]["id"].as_i64().unwrap();
        let res = http
            .post(format!("{}/api/auth/tokens", self.url()))
            .json(&json!({"name": "test"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let token = res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        Agent {
            http,
            token,
            user_id,
            email: email.to_owned(),
        }
    }

    pub async fn owner(&self) -> Agent {
        self.login(&self.owner_email.clone(), &self.owner_password.clone())
            .await
    }

    /// Adds a member with a builtin role, optionally switching that role to own-data scope.
    pub async fn member(&self, project_id: i64, role: &str, tag: &str) -> Agent {
        let owner = self.owner().await;
        let email = format!(
            "{tag}-{}@example.com",
            DB_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let res = owner
            .http
            .post(format!("{}/api/projects/{project_id}/members", self.url()))
            .json(&json!({"email": email, "display_name": tag, "password": "password123", "role": role}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        self.login(&email, "password123").await
    }

    /// Sets a role's data scope directly (the Team screen arrives later).
    pub async fn set_role_scope(&self, project_id: i64, role: &str, scope: &str) {
        let mut conn = self.db().await;
        diesel::sql_query(format!(
            "UPDATE roles SET data_scope = '{scope}' WHERE project_id = {project_id} AND name = '{role}'"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }

    pub async fn visitor(&self) -> WsClient {
        self.visitor_with(None).await
    }

    pub async fn visitor_with(&self, token: Option<&str>) -> WsClient {
        self.visitor_on(&self.widget_key, token).await
    }

    /// A visitor of the web channel with `widget_key` (another project's, say).
    pub async fn visitor_on(&self, widget_key: &str, token: Option<&str>) -> WsClient {
        let mut url = format!("{}/ws/visitor?key={widget_key}", self.ws_url());
        if let Some(t) = token {
            url.push_str(&format!("&token={t}"));
        }
        let mut c = WsClient::connect(&url, None).await;
        c.hello = Some(c.recv_type("hello").await);
        c
    }

    pub async fn agent_ws(&self, agent: &Agent, project_id: i64) -> WsClient {
        let url = format!("{}/ws/agent?project={project_id}", self.ws_url());
        let mut c = WsClient::connect(&url, Some(&agent.token)).await;
        c.hello = Some(c.recv_type("hello").await);
        c
    }

    /// The demo project's web channel.
    pub async fn channel_id(&self) -> i64 {
        use diesel::{ExpressionMethods, QueryDsl};
        use switchboard::db::schema::channels;
        let mut conn = self.db().await;
        channels::table
            .filter(channels::widget_key.eq(&self.widget_key))
            .select(channels::id)
            .first(&mut conn)
            .await
            .unwrap()
    }

    /// How many sessions a contact has (open or ended).
    pub async fn session_count_of_contact(&self, contact_id: i64) -> i64 {
        use diesel::{ExpressionMethods, QueryDsl};
        use switchboard::db::schema::sessions;
        let mut conn = self.db().await;
        sessions::table
            .filter(sessions::contact_id.eq(contact_id))
            .count()
            .get_result(&mut conn)
            .await
            .unwrap()
    }

    /// The contact a visitor token names, if it has one yet: a visitor has none until they
    /// write.
    pub async fn contact_of_token(&self, token: &str) -> Option<i64> {
        use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
        use switchboard::db::schema::contacts;
        let mut conn = self.db().await;
        contacts::table
            .filter(contacts::visitor_token_hash.eq(switchboard::domain::auth::hash_token(token)))
            .select(contacts::id)
            .first(&mut conn)
            .await
            .optional()
            .unwrap()
    }

    /// The contact of a visitor (connected with `visitor*`) who has written.
    pub async fn contact_of(&self, v: &WsClient) -> i64 {
        let hello = v.hello.as_ref().expect("a visitor's hello");
        if let Some(id) = hello["contact_id"].as_i64() {
            return id;
        }
        let token = hello["visitor_token"].as_str().expect("a visitor token");
        self.contact_of_token(token)
            .await
            .expect("the visitor has written, so has a contact")
    }

    /// A web-channel contact made at once, with no session (as an automation test run makes
    /// one): its id and token.
    pub async fn contact_without_session(&self) -> (i64, String) {
        let mut conn = self.db().await;
        let channel = switchboard::db::channels::by_widget_key(&mut conn, &self.widget_key)
            .await
            .unwrap()
            .unwrap();
        let (contact, token) = switchboard::domain::visitors::create(&mut conn, &channel, None)
            .await
            .unwrap();
        (contact.id, token)
    }

    pub async fn message_count(&self, session_id: i64) -> i64 {
        use diesel::{ExpressionMethods, QueryDsl};
        use switchboard::db::schema::messages;
        let mut conn = self.db().await;
        messages::table
            .filter(messages::session_id.eq(session_id))
            .count()
            .get_result(&mut conn)
            .await
            .unwrap()
    }
}

pub async fn start_server(db_url: &str) -> RunningServer {
    start_server_with(
        db_url,
        &(std::sync::Arc::new(|_: &mut Config| {}) as Configure),
    )
    .await
}

pub async fn start_server_with(db_url: &str, configure: &Configure) -> RunningServer {
    let mut config = Config::for_database(db_url.to_owned());
    config.db_pool = 6;
    configure(&mut config);
    tokio::task::spawn_blocking(move || RunningServer::spawn(config))
        .await
        .unwrap()
        .expect("server starts")
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            // Stopped (not forgotten) so its pool's connections close: a suite of leaked
            // servers runs the shared cluster out of connections. The test's runtime may be
            // shutting down, so the stop runs on a runtime of its own.
            let stopping = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(s.stop(false));
                }
            });
            let _ = stopping.join();
        }
    }
}

/// Polls `f` until it returns true, at most `WAIT`.
pub async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Asserts that an answer of `TestApp::call` is the error `code` with HTTP `status`; returns
/// the body (for its message).
#[track_caller]
pub fn assert_error(response: (u16, Value), status: u16, code: &str) -> Value {
    let (got, body) = response;
    assert!(
        (got, body["error"]["code"].as_str()) == (status, Some(code)),
        "expected {status} {code}, got {got}: {body}"
    );
    body
}

/// `assert_error` for a reqwest response; returns its JSON body (null if none).
pub async fn assert_error_response(r: reqwest::Response, status: u16, code: &str) -> Value {
    let url = r.url().clone();
    let got = r.status().as_u16();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert!(
        (got, body["error"]["code"].as_str()) == (status, Some(code)),
        "{url}: expected {status} {code}, got {got}: {text}"
    );
    body
}

/// The value of a sample without labels in the `/metrics` scrape of the server at `base`
/// (`None` when the scrape has no such sample).
pub async fn scraped(base: &str, name: &str) -> Option<f64> {
    let body = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// The id of the project's role called `name`, as the roles API lists it.
pub async fn role_id(app: &TestApp, a: &Agent, pid: i64, name: &str) -> i64 {
    let (_, roles) = app
        .call(
            a,
            reqwest::Method::GET,
            &format!("/api/projects/{pid}/roles"),
            None,
        )
        .await;
    roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}
