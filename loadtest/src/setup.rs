//! Everything specific to the real Switchboard server's REST API lives here: the owner
//! logs in, creates a project, a web channel and the agent members, then each agent logs
//! in. If the server's API changes, this is the module to adjust.
//!
//! Endpoints used (docs/protocol.md and the API brief):
//! - `POST /api/auth/login {"email","password"}` → 2xx, sets cookie `sb_session`
//!   (a `{"token": …}` body is accepted as a fallback and used as a Bearer token)
//! - `POST /api/projects {"name"}` → `{"id", …}`
//! - `POST /api/projects/{pid}/channels {"kind":"web","name"}` → `{"id","widget_key", …}`
//! - `POST /api/projects/{pid}/members {"email","display_name","password","role":"agent"}` → 201
//! - `GET /ws/visitor?key=WIDGET_KEY`, `GET /ws/agent?project=PID` (cookie `sb_session`)

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{stream, StreamExt, TryStreamExt};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::{json, Value};
use url::{Host, Url};

use crate::load::{AgentAuth, Target};

const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Parallel REST calls while creating/logging in agents (password hashing is slow).
const SETUP_CONCURRENCY: usize = 4;
pub const SESSION_COOKIE: &str = "sb_session";

/// Accepts only http:// URLs on 127.0.0.1, ::1 or localhost: this machine forbids load
/// on any other address.
pub fn check_loopback(raw: &str) -> Result<Url> {
    let url = Url::parse(raw).with_context(|| format!("--url {raw:?} is not a URL"))?;
    if url.scheme() != "http" {
        bail!(
            "--url must be plain http:// (got scheme {:?}); the generator derives ws:// from it",
            url.scheme()
        );
    }
    let ok = match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip) == IpAddr::from([127, 0, 0, 1]),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if !ok {
        bail!(
            "refusing --url {raw}: load may only target 127.0.0.1, ::1 or localhost on this machine"
        );
    }
    Ok(url)
}

fn api(base: &Url, path: &str) -> Result<Url> {
    base.join(path)
        .with_context(|| format!("joining {path} to {base}"))
}

/// Turns a non-2xx response into an error that quotes the server's `{"error":{…}}`.
async fn check(resp: reqwest::Response, what: &str) -> Result<reqwest::Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| {
            let e = v.get("error")?;
            Some(format!(
                "{}: {}",
                e.get("code")?.as_str().unwrap_or("?"),
                e.get("message").and_then(Value::as_str).unwrap_or("")
            ))
        })
        .unwrap_or_else(|| body.chars().take(300).collect());
    bail!("{what} failed: HTTP {status}: {detail}")
}

/// An id field as it goes into a URL: numbers and strings are both accepted.
fn id_of(v: &Value, field: &str, what: &str) -> Result<String> {
    match v.get(field) {
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => bail!("{what}: response has no usable {field:?}: {v}"),
    }
}

fn client(cookies: bool) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .cookie_store(cookies)
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(HTTP_TIMEOUT)
        .no_proxy()
        .build()
        .context("building the HTTP client")
}

/// Logs in; returns how a websocket should authenticate as this user.
async fn login(
    http: &reqwest::Client,
    base: &Url,
    email: &str,
    password: &str,
) -> Result<AgentAuth> {
    let resp = http
        .post(api(base, "/api/auth/login")?)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .with_context(|| format!("POST /api/auth/login as {email}"))?;
    let resp = check(resp, &format!("login as {email}")).await?;
    if let Some(c) = resp.cookies().find(|c| c.name() == SESSION_COOKIE) {
        return Ok(AgentAuth::Cookie(c.value().to_owned()));
    }
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    match body.get("token").and_then(Value::as_str) {
        Some(t) => Ok(AgentAuth::Bearer(t.to_owned())),
        None => Err(anyhow!(
            "login as {email} succeeded but set no {SESSION_COOKIE} cookie and returned no token"
        )),
    }
}

async fn post_json(http: &reqwest::Client, url: Url, body: Value, what: &str) -> Result<Value> {
    let resp = http
        .post(url)
        .json(&body)
        .send()
        .await
        .with_context(|| what.to_owned())?;
    let resp = check(resp, what).await?;
    let text = resp
        .text()
        .await
        .with_context(|| format!("{what}: reading body"))?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).with_context(|| format!("{what}: response is not JSON: {text}"))
}

fn ws_url(base: &Url, path: &str, query: (&str, &str)) -> Result<Url> {
    let mut u = api(base, path)?;
    u.set_scheme("ws")
        .map_err(|()| anyhow!("cannot derive a ws:// URL from {base}"))?;
    u.query_pairs_mut().clear().append_pair(query.0, query.1);
    Ok(u)
}

/// Prepares a fresh project with `agents` agent members on the first server of `bases` and
/// returns the generator's target, its sockets spread round-robin over `bases` (several
/// servers on one database: a login on one is valid on all). Leaves the project in place
/// (there is no cleanup API in the contract); each run uses its own project, channel and
/// agent e-mails.
pub async fn prepare(
    bases: &[Url],
    email: &str,
    password: &str,
    agents: usize,
    server_pid: Option<u32>,
    quiet: bool,
) -> Result<Target> {
    let log = |s: String| {
        if !quiet {
            eprintln!("[setup] {s}");
        }
    };
    let base = bases.first().context("no server URL")?;
    let owner = client(true)?;
    login(&owner, base, email, password).await?;
    let run = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
    let nonce: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(6)
        .map(char::from)
        .collect::<String>()
        .to_lowercase();

    let project = post_json(
        &owner,
        api(base, "/api/projects")?,
        json!({"name": format!("loadtest {run} {nonce}")}),
        "creating the project",
    )
    .await?;
    let pid = id_of(&project, "id", "creating the project")?;
    let channel = post_json(
        &owner,
        api(base, &format!("/api/projects/{pid}/channels"))?,
        json!({"kind": "web", "name": "loadtest widget"}),
        "creating the web channel",
    )
    .await?;
    let widget_key = id_of(&channel, "widget_key", "creating the web channel")?;
    log(format!(
        "project {pid}, web channel widget key {widget_key}"
    ));

    let agent_password: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    let emails: Vec<String> = (0..agents)
        .map(|i| format!("loadtest-{run}-{nonce}-agent{i}@example.com"))
        .collect();
    stream::iter(emails.iter().enumerate())
        .map(|(i, e)| {
            let owner = &owner;
            let agent_password = &agent_password;
            let pid = &pid;
            async move {
                let url = api(base, &format!("/api/projects/{pid}/members"))?;
                post_json(
                    owner,
                    url,
                    json!({"email": e, "display_name": format!("Load agent {i}"),
                           "password": agent_password, "role": "agent"}),
                    &format!("adding agent member {e}"),
                )
                .await
                .map(|_| ())
            }
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    log(format!("{agents} agent members created"));

    let agent_http = client(false)?;
    let auths: Vec<AgentAuth> = stream::iter(emails.iter())
        .map(|e| login(&agent_http, base, e, &agent_password))
        .buffered(SETUP_CONCURRENCY)
        .try_collect()
        .await?;
    log(format!("{} agents logged in", auths.len()));

    let agent_urls = bases
        .iter()
        .map(|b| ws_url(b, "/ws/agent", ("project", &pid)))
        .collect::<Result<Vec<_>>>()?;
    let visitor_urls = bases
        .iter()
        .map(|b| ws_url(b, "/ws/visitor", ("key", &widget_key)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Target {
        label: "switchboard".to_owned(),
        describe: bases
            .iter()
            .map(Url::as_str)
            .collect::<Vec<_>>()
            .join(" + "),
        visitor_urls,
        agents: auths
            .into_iter()
            .enumerate()
            .map(|(i, a)| (agent_urls[i % agent_urls.len()].clone(), a))
            .collect(),
        server_pid,
        origin: None,
        server_source: match server_pid {
            Some(p) => format!("VmRSS of pid {p}"),
            None => "not measured: pass --server-pid".to_owned(),
        },
    })
}

/// An HTTP client that keeps the login cookie, for the REST-driven benchmarks.
pub fn cookie_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .cookie_store(true)
        .no_proxy()
        .timeout(timeout)
        .build()
        .context("building the HTTP client")
}

/// Logs `http` in and makes a new project named `name` (plus a timestamp) for one benchmark
/// run: (the login answer, the project id).
pub async fn login_into_new_project(
    http: &reqwest::Client,
    base: &Url,
    email: &str,
    password: &str,
    name: &str,
) -> Result<(Value, i64)> {
    let resp = http
        .post(api(base, "/api/auth/login")?)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .with_context(|| format!("POST /api/auth/login as {email}"))?;
    let me: Value = check(resp, &format!("login as {email}"))
        .await?
        .json()
        .await?;
    let resp = http
        .post(api(base, "/api/projects")?)
        .json(&json!({"name": format!("{name} {}", chrono::Utc::now().timestamp())}))
        .send()
        .await
        .context("POST /api/projects")?;
    let project: Value = check(resp, "creating the project").await?.json().await?;
    let pid = project["id"]
        .as_i64()
        .context("the new project has no id")?;
    Ok((me, pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        assert!(check_loopback("http://127.0.0.1:8080").is_ok());
        assert!(check_loopback("http://localhost:8080/").is_ok());
        assert!(check_loopback("http://[::1]:8080").is_ok());
        assert!(check_loopback("http://10.0.0.1:8080").is_err());
        assert!(check_loopback("http://127.0.0.2:8080").is_err());
        assert!(check_loopback("http://example.com").is_err());
        assert!(check_loopback("https://127.0.0.1").is_err());
        assert!(check_loopback("127.0.0.1:8080").is_err());
    }

    #[test]
    fn ws_urls() {
        let base = Url::parse("http://127.0.0.1:8080").expect("url");
        assert_eq!(
            ws_url(&base, "/ws/visitor", ("key", "a b&c"))
                .expect("ws")
                .as_str(),
            "ws://127.0.0.1:8080/ws/visitor?key=a+b%26c"
        );
        assert_eq!(
            ws_url(&base, "/ws/agent", ("project", "12"))
                .expect("ws")
                .as_str(),
            "ws://127.0.0.1:8080/ws/agent?project=12"
        );
    }
}
