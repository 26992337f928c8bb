//! E-mail alerts when a visitor waits for a human reply, delivered through the outbox to a
//! real SMTP server process (`tests/smtp_server.py`). Waiting times are 2–3 seconds.

use crate::common::binary::Binary;
use crate::common::smtp::{SmtpServer, FROM, PUBLIC_URL};
use crate::common::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use switchboard::domain::bootstrap;

/// The alerts' waiting time in these tests.
const WAIT_SECS: u64 = 2;

async fn count(db: &mut AsyncPgConnection, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::Int8)]
        n: i64,
    }
    let n: N = diesel::sql_query(sql).get_result(db).await.unwrap();
    n.n
}

async fn sql(db: &mut AsyncPgConnection, sql: &str) {
    diesel::sql_query(sql).execute(db).await.unwrap();
}

/// PATCHes the notification settings and returns the answer (status must be 200).
async fn set_alerts(base: &str, who: &reqwest::Client, pid: i64, body: Value) -> Value {
    let r = who
        .patch(format!("{base}/api/projects/{pid}/settings/notifications"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

async fn alerts_on(app: &TestApp, owner: &Agent) {
    let s = set_alerts(
        &app.url(),
        &owner.http,
        app.project_id,
        json!({"email_enabled": true, "wait_secs": WAIT_SECS}),
    )
    .await;
    assert_eq!(
        s,
        json!({"email_enabled": true, "wait_secs": WAIT_SECS, "include_bot_hosted": false,
               "email_configured": true})
    );
}

async fn outbox(app: &TestApp, owner: &Agent, query: &str) -> Vec<Value> {
    let r = owner
        .http
        .get(format!(
            "{}/api/projects/{}/email/outbox{query}",
            app.url(),
            app.project_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    r.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn recipients(mails: &[Value]) -> Vec<String> {
    mails
        .iter()
        .map(|m| {
            let to = m["to"].as_array().unwrap();
            assert_eq!(to.len(), 1, "one recipient per mail: {m}");
            to[0].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assignee_is_alerted_and_nobody_else() {
    let smtp = SmtpServer::start(&[]).await;
    let app = TestApp::start_with(smtp.configure()).await;
    let pid = app.project_id;
    let owner = app.owner().await;
    let ann = app.member(pid, "agent", "ann").await;

    // Alerts off: a first exchange makes the session, assigned to Ann, with a note name.
    let mut v = app.visitor().await;
    let sid = visitor_says(&mut v, "m1", "hi").await["session_id"]
        .as_i64()
        .unwrap();
    let mut db = app.db().await;
    sql(&mut db, &format!(
        "UPDATE contacts SET note_name = 'Ada <VIP> & Co' WHERE id = (SELECT contact_id FROM sessions WHERE id = {sid})"
    ))
    .await;
    let r = owner
        .http
        .post(format!(
            "{}/api/projects/{pid}/sessions/{sid}/assign",
            app.url()
        ))
        .json(&json!({"user_id": ann.user_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.reply(&ann, sid, "r1").await;

    // Alerts on: the next wait alerts Ann only.
    alerts_on(&app, &owner).await;
    let t0 = Instant::now();
    visitor_says(&mut v, "m2", "Is <b>anyone</b> there? & hello").await;

    let mails = smtp.wait_for_mails(1, WAIT).await;
    assert!(
        t0.elapsed() >= Duration::from_secs(WAIT_SECS),
        "not before the waiting time"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mails_later = smtp.mails();
    assert_eq!(mails_later.len(), 1, "{mails_later:?}");
    assert_eq!(recipients(&mails), vec![ann.email.clone()]);

    let m = &mails[0];
    let link = format!("{PUBLIC_URL}/chats/{sid}");
    let subject = m["subject"].as_str().unwrap();
    assert!(
        subject.starts_with("Ada <VIP> & Co has waited ") && subject.ends_with(" on Website"),
        "{subject}"
    );
    let text = m["text"].as_str().unwrap();
    assert!(text.contains("Hello ann,"), "{text}");
    assert!(text.contains("> Is <b>anyone</b> there? & hello"), "{text}");
    assert!(text.contains(&link), "{text}");
    assert!(text.contains("assigned to you"), "{text}");
    let html = m["html"].as_str().unwrap();
    assert!(
        html.contains("<strong>Ada &lt;VIP&gt; &amp; Co</strong>"),
        "{html}"
    );
    assert!(
        html.contains("Is &lt;b&gt;anyone&lt;/b&gt; there? &amp; hello"),
        "{html}"
    );
    assert!(!html.contains("<b>anyone"), "{html}");
    assert!(html.contains(&format!("<a href=\"{link}\">")), "{html}");
    assert!(m["header_from"]
        .as_str()
        .unwrap()
        .contains("alerts@switchboard.test"));
    assert_eq!(m["from"], "alerts@switchboard.test");

    let rows = outbox(&app, &owner, "?state=sent").await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (
            row["kind"].as_str(),
            row["session_id"].as_i64(),
            row["attempts"].as_i64()
        ),
        (Some("no_reply_alert"), Some(sid), Some(1))
    );
    assert_eq!(
        row["message_id"].as_str().unwrap(),
        format!("<outbox-{}.{pid}@support.example.com>", row["id"])
    );
    assert_eq!(m["message_id"], row["message_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unassigned_session_alerts_every_member() {
    let smtp = SmtpServer::start(&[]).await;
    let app = TestApp::start_with(smtp.configure()).await;
    let pid = app.project_id;
    let owner = app.owner().await;
    let a = app.member(pid, "agent", "amy").await;
    let b = app.member(pid, "admin", "bea").await;
    alerts_on(&app, &owner).await;

    let mut v = app.visitor().await;
    let sid = visitor_says(&mut v, "m1", "hello?").await["session_id"]
        .as_i64()
        .unwrap();
    let mails = smtp.wait_for_mails(3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.mails().len(), 3);
    let got: BTreeSet<String> = recipients(&mails).into_iter().collect();
    let want: BTreeSet<String> = [owner.email.clone(), a.email.clone(), b.email.clone()]
        .into_iter()
        .collect();
    assert_eq!(got, want);
    for m in &mails {
        assert!(m["text"]
            .as_str()
            .unwrap()
            .contains("not assigned to anyone"));
        assert!(m["text"]
            .as_str()
            .unwrap()
            .contains(&format!("{PUBLIC_URL}/chats/{sid}")));
    }
    let ids: BTreeSet<String> = mails
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids.len(),
        3,
        "one outbox row (and Message-ID) per recipient"
    );
    assert_eq!(outbox(&app, &owner, "?state=sent").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_in_time_sends_no_email() {
    let smtp = SmtpServer::start(&[]).await;
    let app = TestApp::start_with(smtp.configure()).await;
    let owner = app.owner().await;
    alerts_on(&app, &owner).await;

    let mut v = app.visitor().await;
    let sid = visitor_says(&mut v, "m1", "hello?").await["session_id"]
        .as_i64()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.reply(&owner, sid, "r1").await;
    tokio::time::sleep(Duration::from_secs(WAIT_SECS + 2)).await;
    assert!(smtp.mails().is_empty(), "{:?}", smtp.mails());
    let mut db = app.db().await;
    assert_eq!(
        count(
            &mut db,
            &format!(
            "SELECT count(*) AS n FROM timers WHERE session_id = {sid} AND kind = 'no_reply_alert'"
        )
        )
        .await,
        0,
        "the reply deleted the alert timer"
    );
    assert_eq!(count(&mut db, "SELECT count(*) AS n FROM outbox").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_alert_per_wait_when_the_visitor_writes_again() {
    let smtp = SmtpServer::start(&[]).await;
    let app = TestApp::start_with(smtp.configure()).await;
    let owner = app.owner().await;
    alerts_on(&app, &owner).await;

    let mut v = app.visitor().await;
    let sid = visitor_says(&mut v, "m1", "first").await["session_id"]
        .as_i64()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    visitor_says(&mut v, "m2", "second, still waiting").await;
    // The deadline did not move: it is the first message's time plus the waiting time.
    let mut db = app.db().await;
    assert_eq!(
        count(&mut db, &format!(
            "SELECT count(*) AS n FROM timers t JOIN sessions s ON s.id = t.session_id
             WHERE t.session_id = {sid} AND t.kind = 'no_reply_alert'
               AND t.due_at = s.alert_wait_since + interval '{WAIT_SECS} seconds'
               AND s.alert_wait_since = (SELECT created_at FROM messages WHERE session_id = {sid} AND seq = 1)"
        ))
        .await,
        1
    );
    let mails = smtp.wait_for_mails(1, WAIT).await;
    tokio::time::sleep(Duration::from_secs(WAIT_SECS + 1)).await;
    assert_eq!(smtp.mails().len(), 1, "{:?}", smtp.mails());
    let text = mails[0]["text"].as_str().unwrap();
    assert!(
        text.contains("> second, still waiting"),
        "the last visitor message: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_wait_after_a_reply_alerts_again() {
    let smtp = SmtpServer::start(&[]).await;
    let app = TestApp::start_with(smtp.configure()).await;
    let owner = app.owner().await;
    alerts_on(&app, &owner).await;

    let mut v = app.visitor().await;
    let sid = visitor_says(&mut v, "m1", "first question").await["session_id"]
        .as_i64()
        .unwrap();
    smtp.wait_for_mails(1, WAIT).await;
    app.reply(&owner, sid, "r1").await;
    visitor_says(&mut v, "m2", "second question").await;
    let mails = smtp.wait_for_mails(2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.mails().len(), 2);
    assert!(mails[0]["text"]
        .as_str()
        .unwrap()
        .contains("> first question"));
    assert!(mails[1]["text"]
        .as_str()
        .unwrap()
        .contains("> second question"));
    assert_ne!(mails[0]["message_id"], mails[1]["message_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_hosted_session_alerts_only_when_the_setting_says_so() {
    let smtp = SmtpServer::start(&[]).await;
    let app = TestApp::start_with(smtp.configure()).await;
    let pid = app.project_id;
    let owner = app.owner().await;

    // Alerts off while the session is made and handed to a bot.
    let mut v = app.visitor().await;
    let sid = visitor_says(&mut v, "m1", "hi").await["session_id"]
        .as_i64()
        .unwrap();
    app.reply(&owner, sid, "r1").await;
    let mut db = app.db().await;
    sql(
        &mut db,
        &format!("UPDATE sessions SET bot_hosted = true WHERE id = {sid}"),
    )
    .await;
    alerts_on(&app, &owner).await;

    // Hosted, setting off: no alert. A bot answer is no human reply either way.
    visitor_says(&mut v, "m2", "hosted, setting off").await;
    tokio::time::sleep(Duration::from_secs(WAIT_SECS + 2)).await;
    assert!(smtp.mails().is_empty(), "{:?}", smtp.mails());
    // First-response semantics are unchanged: a hosted session starts no human wait.
    assert_eq!(
        count(&mut db, &format!(
            "SELECT count(*) AS n FROM sessions WHERE id = {sid} AND awaiting_since IS NULL AND alert_wait_since IS NOT NULL"
        ))
        .await,
        1
    );

    // Hosted, setting on: the next wait alerts.
    app.reply(&owner, sid, "r2").await;
    let s = set_alerts(
        &app.url(),
        &owner.http,
        pid,
        json!({"include_bot_hosted": true}),
    )
    .await;
    assert_eq!(s["include_bot_hosted"], true);
    assert_eq!(s["wait_secs"], WAIT_SECS, "other settings stay");
    visitor_says(&mut v, "m3", "hosted, setting on").await;
    let mails = smtp.wait_for_mails(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.mails().len(), 1);
    assert!(mails[0]["text"]
        .as_str()
        .unwrap()
        .contains("> hosted, setting on"));
}

/// Polls one outbox row until `done` says so.
async fn outbox_row_until(app: &TestApp, owner: &Agent, id: i64, state: &str) -> Value {
    let url = format!(
        "{}/api/projects/{}/email/outbox/{id}",
        app.url(),
        app.project_id
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let r = owner.http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let row: Value = r.json().await.unwrap();
        if row["state"] == state {
            return row;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "outbox row {id} never became {state}: {row}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn send_test_mail(app: &TestApp, owner: &Agent) -> Value {
    let r = owner
        .http
        .post(format!(
            "{}/api/projects/{}/email/test",
            app.url(),
            app.project_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let row: Value = r.json().await.unwrap();
    assert_eq!(
        (row["kind"].as_str(), row["state"].as_str()),
        (Some("test"), Some("pending"))
    );
    assert_eq!(row["to"], owner.email);
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_temporary_failure_is_retried_and_delivered_once() {
    let smtp = SmtpServer::start(&["--fail-first", "1", "--fail-code", "421"]).await;
    let app = TestApp::start_with(smtp.configure()).await;
    let owner = app.owner().await;
    let row = send_test_mail(&app, &owner).await;
    let id = row["id"].as_i64().unwrap();

    let sent = outbox_row_until(&app, &owner, id, "sent").await;
    assert_eq!(sent["attempts"], 2);
    assert!(
        sent["last_error"].as_str().unwrap().contains("421"),
        "{sent}"
    );
    let mails = smtp.wait_for_mails(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.mails().len(), 1, "delivered once");
    assert_eq!(smtp.refused().len(), 1);
    assert_eq!(mails[0]["message_id"], sent["message_id"]);
    assert_eq!(recipients(&mails), vec![owner.email.clone()]);
    assert!(mails[0]["subject"]
        .as_str()
        .unwrap()
        .contains("test e-mail"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_is_not_retried_and_is_listed() {
    let smtp = SmtpServer::start(&["--reject-code", "550"]).await;
    let app = TestApp::start_with(smtp.configure()).await;
    let owner = app.owner().await;
    let id = send_test_mail(&app, &owner).await["id"].as_i64().unwrap();

    let failed = outbox_row_until(&app, &owner, id, "failed").await;
    assert_eq!(failed["attempts"], 1);
    assert!(
        failed["last_error"].as_str().unwrap().contains("550"),
        "{failed}"
    );
    // Longer than the retry base: nothing is tried again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let listed = outbox(&app, &owner, "?state=failed").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["attempts"], 1);
    assert!(listed[0]["last_error"].as_str().unwrap().contains("550"));
    assert!(outbox(&app, &owner, "?state=pending").await.is_empty());
    assert_eq!(smtp.refused().len(), 1);
    assert!(smtp.mails().is_empty());

    let r = owner
        .http
        .get(format!(
            "{}/api/projects/{}/email/outbox?state=lost",
            app.url(),
            app.project_id
        ))
        .send()
        .await
        .unwrap();
    assert_error_response(r, 400, "validation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_smtp_settings_say_so_and_are_validated_whole() {
    let app = TestApp::start().await;
    let pid = app.project_id;
    let base = app.url();
    let owner = app.owner().await;
    let agent = app.member(pid, "agent", "al").await;
    let settings_url = format!("{base}/api/projects/{pid}/settings/notifications");
    let defaults = json!({"email_enabled": false, "wait_secs": 300, "include_bot_hosted": false,
                          "email_configured": false});

    // Any member reads; changing needs project.manage.
    for who in [&owner, &agent] {
        let r = who.http.get(&settings_url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap(), defaults);
    }
    let r = agent
        .http
        .patch(&settings_url)
        .json(&json!({"email_enabled": true}))
        .send()
        .await
        .unwrap();
    assert_error_response(r, 403, "forbidden").await;
    for path in ["email/outbox", "email/outbox/1"] {
        let r = agent
            .http
            .get(format!("{base}/api/projects/{pid}/{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    let r = agent
        .http
        .post(format!("{base}/api/projects/{pid}/email/test"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Invalid patches change nothing, not even their valid fields.
    for bad in [
        json!({"email_enabled": true, "wait_secs": 0}),
        json!({"email_enabled": true, "wait_secs": -5}),
        json!({"email_enabled": true, "wait_secs": 604801}),
        json!({"email_enabled": true, "wait_secs": "300"}),
        json!({"email_enabled": "yes"}),
        json!({"email_enabled": true, "waiting": 60}),
        json!([1]),
    ] {
        let r = owner
            .http
            .patch(&settings_url)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_error_response(r, 400, "validation").await;
    }
    let r = owner.http.get(&settings_url).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), defaults);

    // Switching alerts on works without SMTP (the console warns), but no mail can be sent.
    let s = set_alerts(
        &base,
        &owner.http,
        pid,
        json!({"email_enabled": true, "wait_secs": 60}),
    )
    .await;
    assert_eq!(
        s,
        json!({"email_enabled": true, "wait_secs": 60, "include_bot_hosted": false,
               "email_configured": false})
    );
    let r = owner
        .http
        .post(format!("{base}/api/projects/{pid}/email/test"))
        .send()
        .await
        .unwrap();
    assert_error_response(r, 409, "email_not_configured").await;
    let r = owner
        .http
        .get(format!("{base}/api/projects/{pid}/email/outbox/12345"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let spec: Value = reqwest::get(format!("{base}/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = &spec["paths"];
    assert!(paths["/api/projects/{pid}/settings/notifications"]["patch"].is_object());
    assert!(paths["/api/projects/{pid}/email/test"]["post"].is_object());
    assert!(paths["/api/projects/{pid}/email/outbox"]["get"].is_object());
    assert!(paths["/api/projects/{pid}/email/outbox/{id}"]["get"].is_object());
}

/// The real binary on the test's database, sending mail through `smtp`.
async fn binary(db_url: &str, smtp: &SmtpServer) -> Binary {
    let env = [
        ("SWITCHBOARD_SMTP_URL", smtp.url()),
        ("SWITCHBOARD_SMTP_FROM", FROM.to_owned()),
        ("SWITCHBOARD_SMTP_RETRY_BASE_SECS", "1".to_owned()),
        ("SWITCHBOARD_PUBLIC_URL", PUBLIC_URL.to_owned()),
    ];
    Binary::start(db_url, &env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_wait_alerts_exactly_once_after_restart() {
    init_tracing();
    let smtp = SmtpServer::start(&[]).await;
    let db_url = fresh_database().await;
    let first = {
        let mut conn = AsyncPgConnection::establish(&db_url).await.unwrap();
        bootstrap::ensure_first_owner(&mut conn)
            .await
            .unwrap()
            .expect("empty database")
    };
    let pid = first.channel.project_id;
    let server = binary(&db_url, &smtp).await;

    let owner = server.login(&first.email, &first.password).await;
    set_alerts(
        &server.base,
        &owner,
        pid,
        json!({"email_enabled": true, "wait_secs": 3}),
    )
    .await;

    let ws = server.base.replacen("http://", "ws://", 1);
    let key = first.channel.widget_key.clone().unwrap();
    let mut v = WsClient::connect(&format!("{ws}/ws/visitor?key={key}"), None).await;
    v.recv_type("hello").await;
    let t0 = Instant::now();
    let sid = visitor_says(&mut v, "m1", "are you there?").await["session_id"]
        .as_i64()
        .unwrap();
    drop(v);

    server.kill_9().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server = binary(&db_url, &smtp).await;

    let mails = smtp.wait_for_mails(1, WAIT).await;
    let after = t0.elapsed();
    assert!(
        after >= Duration::from_secs(3) && after < Duration::from_secs(9),
        "on time: {after:?}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.mails().len(), 1, "exactly once: {:?}", smtp.mails());
    assert_eq!(recipients(&mails), vec![first.email.clone()]);
    assert!(mails[0]["text"]
        .as_str()
        .unwrap()
        .contains(&format!("{PUBLIC_URL}/chats/{sid}")));

    let mut db = AsyncPgConnection::establish(&db_url).await.unwrap();
    assert_eq!(
        count(
            &mut db,
            &format!(
                "SELECT count(*) AS n FROM outbox WHERE session_id = {sid} AND state = 'sent'"
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(&mut db, &format!(
            "SELECT count(*) AS n FROM timers WHERE session_id = {sid} AND kind = 'no_reply_alert' AND fired_at IS NOT NULL"
        ))
        .await,
        1
    );
    server.kill_9().await;
    smtp.stop().await;
}
