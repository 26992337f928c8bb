//! `loadtest seed`: fills one new project with a large, realistic data set using server-side
//! SQL only (`INSERT … SELECT generate_series` in batches), then runs ANALYZE.
//!
//! Shape of the data (deterministic: `setseed` fixes `random()` per batch):
//! - `--contacts` contacts; every 10th has a note name (`VIP <n>`), most have a phone and an
//!   e-mail.
//! - `--agents` agent members (builtin role `agent`, data scope `all`) that share the first
//!   user's password hash, so `bench-queries` can log in as any of them with the owner's
//!   password. The first user (the owner) is made owner of the project.
//! - `--sessions` sessions spread over the last 90 days (session `g` is created at
//!   `now - 90 days + g/sessions × 90 days`), contact `(g - 1) mod contacts + 1`. The newest
//!   1 % are unassigned, the next 4 % assigned (ongoing), the rest ended; 3 % of the ended
//!   ones were never received (abandoned in the queue). Assignees are skewed (agent
//!   `floor(random()^1.5 × agents)`), like real teams.
//! - `--messages` messages in total: each session gets 1..(2 × average − 1) messages (uniform),
//!   `seq` 1..n, visitor and agent alternating from a visitor message (only visitor messages
//!   in sessions never received), one gap of 5–119 s between them. The session's counters,
//!   `last_seq`, `last_message_at`, `received_at`, `first_wait_at` and `first_response_at`
//!   are computed from the same formulas, so they agree with the inserted messages.
//! - 8 session tags; every third session carries one.
//! - With `--flows F --runs R --transitions T`: F keyword flows, each one published version:
//!   a chain of L = 2 × T/R − 1 steps (L − 1 messages with one button `go`, then an End step
//!   `done`). Run `g` belongs to a flow picked by a hash of `g`, session `(g − 1) mod sessions + 1` (its
//!   contact, channel; `triggered_at` its creation time + a minute per earlier run there) and entered `n` = 1..L steps
//!   (uniform, mean ≈ T/R): `n = L` completed, `n ≥ 2` participated (it clicked), otherwise
//!   ended at step `n` — running for 10 % of the runs of the first `sessions` (one running run
//!   per session), stopped (`agent_replied`) for the rest. Its `n` step rows agree with the
//!   run row (`current_step`, `step_seq`, ports, times 10 s apart). The statistics actor
//!   reads runs at start: restart the server after seeding, or its flow list will not
//!   count them.

use anyhow::{bail, Context, Result};
use std::time::Instant;
use tokio_postgres::{Client, NoTls};

pub struct SeedConfig {
    pub database_url: String,
    pub sessions: i64,
    pub messages: i64,
    pub contacts: i64,
    pub agents: i64,
    pub batch: i64,
    pub flows: i64,
    pub runs: i64,
    pub transitions: i64,
    pub quiet: bool,
}

struct Ids {
    project: i64,
    channel: i64,
    /// Id offsets: row `g` (1-based) of this run gets id `base + g`.
    contact_base: i64,
    session_base: i64,
    message_base: i64,
    agent_first: i64,
}

fn log(quiet: bool, start: Instant, s: &str) {
    if !quiet {
        eprintln!("[seed {:>7.1}s] {s}", start.elapsed().as_secs_f64());
    }
}

pub async fn run(cfg: SeedConfig) -> Result<()> {
    if cfg.sessions < 1 || cfg.contacts < 1 || cfg.agents < 1 {
        bail!("--sessions, --contacts and --agents must be at least 1");
    }
    if cfg.messages < cfg.sessions {
        bail!("--messages must be at least --sessions (every session has a message)");
    }
    if cfg.batch < 1000 {
        bail!("--batch must be at least 1000");
    }
    if cfg.flows > 0 && cfg.runs > 0 && cfg.transitions < cfg.runs {
        bail!("--transitions must be at least --runs (every run enters its first step)");
    }
    let open = cfg.sessions / 20;
    if open > cfg.contacts {
        bail!("--contacts must be at least 5 % of --sessions (one open session per contact)");
    }
    let (client, connection) = tokio_postgres::connect(&cfg.database_url, NoTls)
        .await
        .context("connecting to --database-url")?;
    let conn_task = tokio::spawn(connection);
    let start = Instant::now();
    client
        .batch_execute(
            "SET synchronous_commit = off; SET maintenance_work_mem = '256MB'; \
             SET work_mem = '64MB'",
        )
        .await?;
    let ids = setup(&client, &cfg).await?;
    log(
        cfg.quiet,
        start,
        &format!(
            "project {} (channel {}), {} agents, first agent user id {}",
            ids.project, ids.channel, cfg.agents, ids.agent_first
        ),
    );
    contacts(&client, &cfg, &ids, start).await?;
    sessions(&client, &cfg, &ids, start).await?;
    messages(&client, &cfg, &ids, start).await?;
    tags(&client, &cfg, &ids).await?;
    if cfg.flows > 0 && cfg.runs > 0 {
        flows(&client, &cfg, &ids, start).await?;
    }
    for t in [
        "contacts",
        "sessions",
        "messages",
        "flow_runs",
        "flow_run_steps",
    ] {
        client
            .batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"
            ))
            .await?;
    }
    // VACUUM too, as autovacuum would soon: it sets the visibility map that index-only scans
    // (the summary's counts) rely on. Each its own statement: VACUUM refuses a transaction.
    for t in [
        "contacts",
        "sessions",
        "messages",
        "session_tag_links",
        "users",
        "project_members",
        "flows",
        "flow_versions",
        "flow_runs",
        "flow_run_steps",
    ] {
        log(cfg.quiet, start, &format!("VACUUM (ANALYZE) {t}"));
        client
            .batch_execute(&format!("VACUUM (ANALYZE) {t}"))
            .await?;
    }
    log(
        cfg.quiet,
        start,
        &format!(
            "done: project {} — {} contacts, {} sessions, {} messages, {} flows, {} runs",
            ids.project, cfg.contacts, cfg.sessions, cfg.messages, cfg.flows, cfg.runs
        ),
    );
    println!("{}", ids.project);
    drop(client);
    let _ = conn_task.await;
    Ok(())
}

async fn one_i64(client: &Client, sql: &str) -> Result<i64> {
    let row = client.query_one(sql, &[]).await?;
    Ok(row.try_get::<_, i64>(0)?)
}

async fn setup(client: &Client, cfg: &SeedConfig) -> Result<Ids> {
    let owner = one_i64(client, "SELECT id FROM users ORDER BY id LIMIT 1")
        .await
        .context("no user yet: start the server once so it creates the owner")?;
    let project = one_i64(
        client,
        "INSERT INTO projects (name) VALUES ('seed ' || to_char(now(), 'YYYY-MM-DD HH24:MI:SS')) RETURNING id",
    )
    .await?;
    client
        .batch_execute(&format!(
            "INSERT INTO roles (project_id, name, builtin, permissions, data_scope) VALUES
               ({project}, 'owner', true, ARRAY['project.manage','team.manage','channels.manage','automation.manage','automation.view','contacts.manage','session_tags.manage'], 'all'),
               ({project}, 'admin', true, ARRAY['team.manage','channels.manage','automation.manage','automation.view','contacts.manage','session_tags.manage'], 'all'),
               ({project}, 'agent', true, '{{}}', 'all');
             INSERT INTO project_members (project_id, user_id, role_id)
               SELECT {project}, {owner}, id FROM roles WHERE project_id = {project} AND name = 'owner';"
        ))
        .await?;
    let channel = one_i64(
        client,
        &format!(
            "INSERT INTO channels (project_id, kind, name, widget_key)
             VALUES ({project}, 'web', 'seed widget', 'wk_seed_' || {project}) RETURNING id"
        ),
    )
    .await?;
    client
        .batch_execute(&format!(
            "INSERT INTO users (email, display_name, password_hash)
               SELECT 'seed-agent-' || {project} || '-' || a || '@example.com', 'Agent ' || a,
                      (SELECT password_hash FROM users WHERE id = {owner})
               FROM generate_series(1, {agents}) a ORDER BY a;
             INSERT INTO project_members (project_id, user_id, role_id)
               SELECT {project}, u.id, r.id FROM users u, roles r
               WHERE u.email LIKE 'seed-agent-' || {project} || '-%'
                 AND r.project_id = {project} AND r.name = 'agent';",
            agents = cfg.agents
        ))
        .await?;
    // The agents' ids, in order (identity values need not be contiguous).
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS seed_agents;
             CREATE UNLOGGED TABLE seed_agents AS
               SELECT (row_number() OVER (ORDER BY id)) - 1 AS n, id FROM users
               WHERE email LIKE 'seed-agent-' || {project} || '-%';
             CREATE UNIQUE INDEX ON seed_agents (n);"
        ))
        .await?;
    let agent_first = one_i64(client, "SELECT min(id) FROM seed_agents").await?;
    let base = |t: &'static str| format!("SELECT COALESCE(max(id), 0) FROM {t}");
    Ok(Ids {
        project,
        channel,
        contact_base: one_i64(client, &base("contacts")).await?,
        session_base: one_i64(client, &base("sessions")).await?,
        message_base: one_i64(client, &base("messages")).await?,
        agent_first,
    })
}

async fn contacts(client: &Client, cfg: &SeedConfig, ids: &Ids, start: Instant) -> Result<()> {
    let Ids {
        project,
        channel,
        contact_base,
        ..
    } = *ids;
    let mut lo = 1;
    while lo <= cfg.contacts {
        let hi = (lo + cfg.batch - 1).min(cfg.contacts);
        client
            .batch_execute(&format!(
                "INSERT INTO contacts (id, project_id, channel_id, external_id, name, note_name,
                                       phone, email, created_at, updated_at)
                 OVERRIDING SYSTEM VALUE
                 SELECT {contact_base} + g, {project}, {channel}, 'seed-' || g,
                        'Visitor ' || g,
                        CASE WHEN g % 10 = 0 THEN 'VIP ' || g ELSE NULL END,
                        CASE WHEN g % 4 <> 0 THEN '+1555' || lpad((g % 10000000)::text, 7, '0') END,
                        CASE WHEN g % 3 <> 0 THEN 'visitor' || g || '@example.com' END,
                        now() - interval '91 days' + (g::float8 / {n}) * interval '90 days',
                        now() - interval '91 days' + (g::float8 / {n}) * interval '90 days'
                 FROM generate_series({lo}, {hi}) g",
                n = cfg.contacts
            ))
            .await?;
        log(cfg.quiet, start, &format!("contacts {hi}/{}", cfg.contacts));
        lo = hi + 1;
    }
    Ok(())
}

/// The per-session formulas shared by the sessions and messages inserts: `n` messages, a gap
/// of `gap` seconds between them, `received` (an agent took it), `status`.
fn gap_expr(g: &str) -> String {
    format!("(5 + (hashint8({g} * 31) & 2147483647) % 115)")
}

fn session_exprs(cfg: &SeedConfig) -> (String, String, String, String) {
    let total = cfg.sessions;
    let avg2 = 2 * cfg.messages / cfg.sessions; // n uniform in 1..avg2-1, mean ≈ messages/sessions
    let n = format!("(1 + (hashint8(g) & 2147483647) % GREATEST({avg2} - 1, 1))::int");
    let gap = gap_expr("g");
    let status = format!(
        "CASE WHEN g > {total} - {unassigned} THEN 'unassigned'
              WHEN g > {total} - {open} THEN 'assigned' ELSE 'ended' END",
        unassigned = total / 100,
        open = total / 20
    );
    // Never received: the unassigned queue, and 3 % of the ended sessions.
    let received = format!(
        "(g <= {total} - {open} AND (hashint8(g * 7) & 2147483647) % 100 >= 3
          OR g > {total} - {open} AND g <= {total} - {unassigned})",
        unassigned = total / 100,
        open = total / 20
    );
    (n, gap, status, received)
}

async fn sessions(client: &Client, cfg: &SeedConfig, ids: &Ids, start: Instant) -> Result<()> {
    let Ids {
        project,
        channel,
        contact_base,
        session_base,
        ..
    } = *ids;
    let (n, gap, status, received) = session_exprs(cfg);
    let mut lo = 1;
    while lo <= cfg.sessions {
        let hi = (lo + cfg.batch - 1).min(cfg.sessions);
        // One CTE row per session with its derived values; the INSERT only projects them.
        client
            .batch_execute(&format!(
                "SELECT setseed({seed});
                 INSERT INTO sessions (id, project_id, channel_id, contact_id, status, assignee_id,
                     created_at, received_at, awaiting_since, first_wait_at, first_response_at,
                     ended_at, last_seq, last_message_at, message_count, visitor_message_count,
                     agent_message_count, updated_at, alert_wait_since)
                 OVERRIDING SYSTEM VALUE
                 SELECT {session_base} + g, {project}, {channel},
                        {contact_base} + (g - 1) % {contacts} + 1,
                        status, CASE WHEN received THEN agent END,
                        created, CASE WHEN received THEN created + gap * interval '1 second' END,
                        CASE WHEN status <> 'ended' AND (NOT received OR n % 2 = 1)
                             THEN created + (n - 1) * gap * interval '1 second' END,
                        created,
                        CASE WHEN received AND n >= 2 THEN created + gap * interval '1 second' END,
                        CASE WHEN status = 'ended'
                             THEN created + (n - 1) * gap * interval '1 second' + interval '5 minutes' END,
                        n, created + (n - 1) * gap * interval '1 second', n,
                        CASE WHEN received THEN (n + 1) / 2 ELSE n END,
                        CASE WHEN received THEN n / 2 ELSE 0 END,
                        created + (n - 1) * gap * interval '1 second',
                        CASE WHEN status <> 'ended' AND (NOT received OR n % 2 = 1)
                             THEN created + (n - 1) * gap * interval '1 second' END
                 FROM (
                   SELECT g, {n} AS n, {gap} AS gap, {status} AS status, {received} AS received,
                          now() - interval '90 days' + (g::float8 / {total}) * interval '90 days'
                            - interval '2 hours' AS created,
                          (SELECT id FROM seed_agents a WHERE a.n = y.agent_n) AS agent
                   FROM (SELECT g, floor(power(random(), 1.5) * {agents})::int AS agent_n
                         FROM generate_series({lo}, {hi}) g) y
                 ) x",
                seed = (lo % 1000) as f64 / 1000.0,
                contacts = cfg.contacts,
                total = cfg.sessions,
                agents = cfg.agents,
            ))
            .await?;
        log(cfg.quiet, start, &format!("sessions {hi}/{}", cfg.sessions));
        lo = hi + 1;
    }
    Ok(())
}

async fn messages(client: &Client, cfg: &SeedConfig, ids: &Ids, start: Instant) -> Result<()> {
    let Ids {
        session_base,
        message_base,
        ..
    } = *ids;
    // Messages of sessions lo..hi get ids after the previous batch's; `offset` carries it.
    let per_batch = (cfg.batch / 4).max(1000);
    let mut lo = 1;
    let mut next_id = message_base;
    while lo <= cfg.sessions {
        let hi = (lo + per_batch - 1).min(cfg.sessions);
        let inserted = client
            .execute(
                &format!(
                    "INSERT INTO messages (id, session_id, seq, sender_kind, sender_user_id, body,
                                           created_at)
                     OVERRIDING SYSTEM VALUE
                     SELECT {next_id} + row_number() OVER (ORDER BY s.id, k), s.id, k,
                            CASE WHEN s.agent_message_count > 0 AND k % 2 = 0 THEN 'agent' ELSE 'visitor' END,
                            CASE WHEN s.agent_message_count > 0 AND k % 2 = 0 THEN s.assignee_id END,
                            CASE WHEN k % 2 = 0 THEN 'Thanks for waiting, let me check order '
                                 ELSE 'Hello, I have a question about order ' END || (s.id % 100000),
                            s.first_wait_at + (k - 1) * ({gap}) * interval '1 second'
                     FROM sessions s, generate_series(1, s.last_seq) k
                     WHERE s.id BETWEEN {session_base} + {lo} AND {session_base} + {hi}",
                    gap = gap_expr(&format!("(s.id - {session_base})")),
                ),
                &[],
            )
            .await?;
        next_id += inserted as i64;
        log(
            cfg.quiet,
            start,
            &format!(
                "messages {} (sessions {hi}/{})",
                next_id - message_base,
                cfg.sessions
            ),
        );
        lo = hi + 1;
    }
    Ok(())
}

async fn tags(client: &Client, cfg: &SeedConfig, ids: &Ids) -> Result<()> {
    let Ids {
        project,
        session_base,
        ..
    } = *ids;
    client
        .batch_execute(&format!(
            "INSERT INTO session_tags (project_id, name)
               SELECT {project}, t FROM unnest(ARRAY['billing','shipping','refund','bug',
                 'feature request','vip','spam','complaint']) t;
             INSERT INTO session_tag_links (session_id, tag_id)
               SELECT {session_base} + g, t.id
               FROM generate_series(3, {total}, 3) g
               JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM session_tags
                     WHERE project_id = {project}) t ON t.n = (g / 3) % 8;
             DROP TABLE seed_agents;",
            total = cfg.sessions
        ))
        .await?;
    Ok(())
}

/// The chain flow of `len` steps: `s1 … s{len-1}` (a message with one button `go`), then `done`.
fn chain_document(len: i64) -> String {
    let mut steps = Vec::new();
    let mut edges = Vec::new();
    for k in 1..len {
        steps.push(format!(
            r#"{{"id":"s{k}","type":"message","text":"Step {k}","buttons":[{{"id":"go","title":"Go on"}}]}}"#
        ));
        let to = if k + 1 == len {
            "done".to_owned()
        } else {
            format!("s{}", k + 1)
        };
        edges.push(format!(r#"{{"from":"s{k}","port":"go","to":"{to}"}}"#));
    }
    steps.push(r#"{"id":"done","type":"end","text":"Thanks"}"#.to_owned());
    let start = if len > 1 { "s1" } else { "done" };
    format!(
        r#"{{"trigger":{{"kind":"keyword","keywords":["seed"],"matching":"exact"}},"start":"{start}","steps":[{}],"edges":[{}]}}"#,
        steps.join(","),
        edges.join(",")
    )
}

async fn flows(client: &Client, cfg: &SeedConfig, ids: &Ids, start: Instant) -> Result<()> {
    let Ids {
        project,
        session_base,
        ..
    } = *ids;
    let len = (2 * cfg.transitions / cfg.runs - 1).clamp(1, 99);
    let doc = chain_document(len).replace('\'', "''");
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS seed_flows;
             CREATE UNLOGGED TABLE seed_flows (n int PRIMARY KEY, flow_id bigint, version_id bigint);
             WITH f AS (
               INSERT INTO flows (project_id, name, enabled, draft, trigger_kind, published_version)
               SELECT {project}, 'Seed flow ' || k, true, '{doc}'::jsonb, 'keyword', 1
               FROM generate_series(1, {flows}) k ORDER BY k
               RETURNING id)
             INSERT INTO seed_flows (n, flow_id)
               SELECT (row_number() OVER (ORDER BY id)) - 1, id FROM f;
             WITH v AS (
               INSERT INTO flow_versions (flow_id, version, document, trigger_kind)
               SELECT flow_id, 1, '{doc}'::jsonb, 'keyword' FROM seed_flows ORDER BY n
               RETURNING id, flow_id)
             UPDATE seed_flows s SET version_id = v.id FROM v WHERE v.flow_id = s.flow_id;",
            flows = cfg.flows
        ))
        .await?;
    let run_base = one_i64(client, "SELECT COALESCE(max(id), 0) FROM flow_runs").await?;
    // n steps for run g (1..len), and its session (g - 1) % sessions + 1.
    let n = format!("(1 + (hashint8(g * 13) & 2147483647) % {len})::int");
    let mut lo = 1;
    while lo <= cfg.runs {
        let hi = (lo + cfg.batch - 1).min(cfg.runs);
        client
            .batch_execute(&format!(
                "INSERT INTO flow_runs (id, project_id, flow_id, flow_version_id, session_id,
                     contact_id, channel_id, status, end_reason, trigger_kind, current_step,
                     step_seq, waiting_for, triggered_at, participated_at, completed_at, ended_at)
                 OVERRIDING SYSTEM VALUE
                 SELECT {run_base} + g, {project}, f.flow_id, f.version_id, s.id, s.contact_id,
                        s.channel_id, x.status,
                        CASE x.status WHEN 'completed' THEN 'completed'
                                      WHEN 'stopped' THEN 'agent_replied' END,
                        'keyword', CASE WHEN x.n = {len} THEN 'done' ELSE 's' || x.n END, x.n,
                        CASE WHEN x.status = 'running' THEN 'button' END,
                        tt.t,
                        CASE WHEN x.n >= 2 THEN tt.t + interval '10 seconds' END,
                        CASE WHEN x.status = 'completed'
                             THEN tt.t + (x.n - 1) * interval '10 seconds' END,
                        CASE WHEN x.status <> 'running'
                             THEN tt.t + (x.n - 1) * interval '10 seconds' END
                 FROM (SELECT g, {n} AS n,
                              CASE WHEN {n} = {len} THEN 'completed'
                                   WHEN g <= {sessions} AND (hashint8(g * 17) & 2147483647) % 10 = 0
                                   THEN 'running'
                                   ELSE 'stopped' END AS status
                       FROM generate_series({lo}, {hi}) g) x
                 JOIN seed_flows f ON f.n = (hashint8(x.g * 7) & 2147483647) % {flows}
                 JOIN sessions s ON s.id = {session_base} + (x.g - 1) % {sessions} + 1
                 CROSS JOIN LATERAL (SELECT s.created_at + ((x.g - 1) / {sessions}) * interval '1 minute' AS t) tt;
                 INSERT INTO flow_run_steps (run_id, flow_version_id, seq, step_id, step_type,
                     from_step, via_port, entered_at, left_port, left_at)
                 SELECT r.id, r.flow_version_id, k,
                        CASE WHEN k = {len} THEN 'done' ELSE 's' || k END,
                        CASE WHEN k = {len} THEN 'end' ELSE 'message' END,
                        CASE WHEN k > 1 THEN 's' || (k - 1) END,
                        CASE WHEN k > 1 THEN 'go' END,
                        r.triggered_at + (k - 1) * interval '10 seconds',
                        CASE WHEN k < r.step_seq THEN 'go' END,
                        CASE WHEN k < r.step_seq THEN r.triggered_at + k * interval '10 seconds' END
                 FROM flow_runs r, generate_series(1, r.step_seq) k
                 WHERE r.id BETWEEN {run_base} + {lo} AND {run_base} + {hi};",
                flows = cfg.flows,
                sessions = cfg.sessions,
            ))
            .await?;
        log(cfg.quiet, start, &format!("flow runs {hi}/{}", cfg.runs));
        lo = hi + 1;
    }
    client.batch_execute("DROP TABLE seed_flows").await?;
    Ok(())
}
