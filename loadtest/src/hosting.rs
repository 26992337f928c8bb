//! `loadtest hosting-bench`: robot hosting switched for every assigned session at once. It
//! logs in, makes a new project with a web channel, writes N contacts and N sessions assigned
//! to the logged-in account straight into the server's database (SQL, like `seed`), then times
//! `POST /sessions/hosting/assigned` on and then off: each is one request that switches every
//! session through its own session actor (row, audit row, system line, live frames).

use crate::setup;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_postgres::NoTls;
use url::Url;

pub struct HostingConfig {
    pub base: Url,
    pub email: String,
    pub password: String,
    pub database_url: String,
    pub sessions: i64,
}

#[derive(Serialize)]
pub struct HostingReport {
    pub sessions: i64,
    pub on_secs: f64,
    pub on_changed: i64,
    pub off_secs: f64,
    pub off_changed: i64,
    pub on_sessions_per_sec: f64,
    pub off_sessions_per_sec: f64,
}

pub async fn run(cfg: HostingConfig) -> Result<HostingReport> {
    let http = setup::cookie_client(Duration::from_secs(600))?;
    let (me, pid) =
        setup::login_into_new_project(&http, &cfg.base, &cfg.email, &cfg.password, "hosting bench")
            .await?;
    let user_id = me["user"]["id"].as_i64().context("user id")?;
    let channel: Value = http
        .post(cfg.base.join(&format!("/api/projects/{pid}/channels"))?)
        .json(&json!({"kind": "web", "name": "hosting bench"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let cid = channel["id"].as_i64().context("channel id")?;

    let (client, connection) = tokio_postgres::connect(&cfg.database_url, NoTls)
        .await
        .context("connecting to --database-url")?;
    let conn_task = tokio::spawn(connection);
    let n = cfg.sessions;
    client
        .batch_execute(&format!(
            "INSERT INTO contacts (project_id, channel_id, external_id, name)
             SELECT {pid}, {cid}, 'hosting-' || g, 'Visitor ' || g FROM generate_series(1, {n}) g;
             INSERT INTO sessions (project_id, channel_id, contact_id, status, assignee_id,
                                   received_at)
             SELECT project_id, channel_id, id, 'assigned', {user_id}, now()
             FROM contacts WHERE channel_id = {cid};"
        ))
        .await
        .context("writing the sessions")?;
    drop(client);
    conn_task.await??;
    eprintln!("project {pid}: {n} sessions assigned to user {user_id}");

    let switch = |hosted: bool| {
        let http = http.clone();
        let url = cfg
            .base
            .join(&format!("/api/projects/{pid}/sessions/hosting/assigned"));
        async move {
            let start = Instant::now();
            let res = http
                .post(url?)
                .json(&json!({ "hosted": hosted }))
                .send()
                .await?;
            if !res.status().is_success() {
                bail!("switch {hosted}: HTTP {}", res.status());
            }
            let out: Value = res.json().await?;
            Ok::<_, anyhow::Error>((
                start.elapsed().as_secs_f64(),
                out["changed"].as_i64().unwrap_or(0),
            ))
        }
    };
    let (on_secs, on_changed) = switch(true).await?;
    let (off_secs, off_changed) = switch(false).await?;
    Ok(HostingReport {
        sessions: n,
        on_secs,
        on_changed,
        off_secs,
        off_changed,
        on_sessions_per_sec: on_changed as f64 / on_secs,
        off_sessions_per_sec: off_changed as f64 / off_secs,
    })
}

pub fn render(r: &HostingReport) -> String {
    format!(
        "all assigned on:  {} of {} sessions in {:.2} s ({:.0} sessions/s)\n\
         all assigned off: {} of {} sessions in {:.2} s ({:.0} sessions/s)\n",
        r.on_changed,
        r.sessions,
        r.on_secs,
        r.on_sessions_per_sec,
        r.off_changed,
        r.sessions,
        r.off_secs,
        r.off_sessions_per_sec
    )
}
