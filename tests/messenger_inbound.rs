//! Messenger inbound: connecting a Page (token checked against the fake Graph API, secrets
//! write-only, one Page per server), the webhook (verification, signatures over the raw body,
//! fail closed), and the channel actor's processing: contacts by PSID with profile names, each
//! mid stored once, postbacks and attachments, our echoes and native replies, watermarks.

use crate::common::graph::{self, FakeGraph};
use crate::common::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reqwest::Method;
use serde_json::{json, Value};

const PAGE: &str = "100200300";
const TOKEN: &str = "EAAB-page-token-secret";
const APP_ID: i64 = 1517776481860111;
const SECRET: &str = "app-secret-value";
const VERIFY: &str = "verify-token-value";

struct Mx {
    app: TestApp,
    graph: FakeGraph,
    owner: Agent,
    channel_id: i64,
}

fn connect_body() -> Value {
    json!({"page_id": PAGE, "page_name": "Acme Shop", "page_access_token": TOKEN,
           "app_id": APP_ID.to_string(), "app_secret": SECRET, "verify_token": VERIFY,
           "human_agent": true, "allowed_tags": []})
}

/// A server with the fake Graph API and the Page connected.
async fn setup() -> Mx {
    let graph = FakeGraph::start().await;
    graph.add_page(PAGE, TOKEN, "Acme on Facebook").await;
    let app = TestApp::start_with(graph.configure()).await;
    let owner = app.owner().await;
    let path = format!("/api/projects/{}/channels/messenger", app.project_id);
    let (s, ch) = app
        .call(&owner, Method::POST, &path, Some(connect_body()))
        .await;
    assert_eq!(s, 201, "{ch}");
    let channel_id = ch["id"].as_i64().unwrap();
    Mx {
        app,
        graph,
        owner,
        channel_id,
    }
}

async fn count(db: &mut AsyncPgConnection, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::Int8)]
        n: i64,
    }
    let n: N = diesel::sql_query(sql).get_result(db).await.unwrap();
    n.n
}

/// A refused webhook left no trace: no stored event, no message.
async fn assert_nothing_stored(db: &mut AsyncPgConnection) {
    let events = count(db, "SELECT count(*) AS n FROM webhook_events").await;
    let messages = count(db, "SELECT count(*) AS n FROM messages").await;
    assert_eq!((events, messages), (0, 0), "(webhook events, messages)");
}

async fn exec(db: &mut AsyncPgConnection, sql: &str) {
    diesel::sql_query(sql).execute(db).await.unwrap();
}

/// POSTs raw bytes with the given signature headers; returns the status.
async fn post_raw(app: &TestApp, body: &[u8], headers: &[(&str, String)]) -> u16 {
    let mut req = reqwest::Client::new()
        .post(format!("{}/webhooks/messenger", app.url()))
        .header("Content-Type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    req.body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn post(mx: &Mx, events: Vec<Value>) -> u16 {
    graph::post_webhook(&mx.app.url(), SECRET, &graph::envelope(PAGE, events)).await
}

/// Waits (bounded) until `sql` counts `want`.
async fn wait_count(mx: &Mx, sql: &str, want: i64) {
    let mut db = mx.app.db().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = count(&mut db, sql).await;
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out: {sql} is {got}, not {want}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Waits until `n` webhook rows are stored and all are processed.
async fn processed(mx: &Mx, n: i64) {
    let sql = "SELECT count(*) FILTER (WHERE processed_at IS NOT NULL)
                    + 1000 * count(*) AS n FROM webhook_events";
    wait_count(mx, sql, 1001 * n).await;
}

async fn contact_of(db: &mut AsyncPgConnection, psid: &str) -> i64 {
    count(
        db,
        &format!("SELECT id AS n FROM contacts WHERE external_id = '{psid}'"),
    )
    .await
}

async fn session_of(db: &mut AsyncPgConnection, psid: &str) -> i64 {
    count(
        db,
        &format!(
            "SELECT s.id AS n FROM sessions s JOIN contacts c ON c.id = s.contact_id
              WHERE c.external_id = '{psid}' ORDER BY s.id DESC LIMIT 1"
        ),
    )
    .await
}

async fn messages_of(mx: &Mx, sid: i64) -> Vec<Value> {
    let path = format!(
        "/api/projects/{}/sessions/{sid}/messages",
        mx.app.project_id
    );
    mx.app.get_json(&mx.owner, &path).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn ms_ago(ms: i64) -> i64 {
    graph::now_ms() - ms
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validly_signed_webhook_is_answered_200_and_stored() {
    let mx = setup().await;
    let body = graph::envelope(
        PAGE,
        vec![graph::message_event(
            PAGE,
            "psid-1",
            "m-1",
            "hello",
            ms_ago(10),
        )],
    );
    let raw = serde_json::to_vec(&body).unwrap();
    let status = post_raw(
        &mx.app,
        &raw,
        &[("X-Hub-Signature-256", graph::sign(SECRET, &raw))],
    )
    .await;
    assert_eq!(status, 200);
    processed(&mx, 1).await;
    let mut db = mx.app.db().await;
    // Stored as received: the very bytes the signature covers.
    let stored = count(
        &mut db,
        &format!(
            "SELECT count(*) AS n FROM webhook_events WHERE body = '{}' AND channel_id = {}",
            String::from_utf8(raw).unwrap().replace('\'', "''"),
            mx.channel_id
        ),
    )
    .await;
    assert_eq!(stored, 1);
    let sid = session_of(&mut db, "psid-1").await;
    let texts: Vec<Value> = messages_of(&mx, sid)
        .await
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(texts, [json!("hello")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_without_a_valid_signature_is_refused_and_nothing_is_stored() {
    let mx = setup().await;
    let body = graph::envelope(
        PAGE,
        vec![graph::message_event(
            PAGE,
            "psid-x",
            "m-forged",
            "forged",
            ms_ago(10),
        )],
    );
    let raw = serde_json::to_vec(&body).unwrap();
    let good = graph::sign(SECRET, &raw);
    let sha1_only = good.replacen("sha256=", "sha1=", 1);
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("no signature header", vec![]),
        (
            "only the SHA-1 header",
            vec![("X-Hub-Signature", sha1_only.clone())],
        ),
        (
            "the SHA-1 form in the SHA-256 header",
            vec![("X-Hub-Signature-256", sha1_only)],
        ),
        (
            "signed with another secret",
            vec![("X-Hub-Signature-256", graph::sign("not-the-secret", &raw))],
        ),
        (
            "malformed hex",
            vec![("X-Hub-Signature-256", "sha256=zz-not-hex".into())],
        ),
        (
            "a signature of other bytes",
            vec![("X-Hub-Signature-256", graph::sign(SECRET, b"{}"))],
        ),
    ];
    for (what, headers) in cases {
        assert_eq!(post_raw(&mx.app, &raw, &headers).await, 401, "{what}");
    }
    // A Page that is not connected, even correctly signed with some secret.
    let other = graph::envelope(
        "999",
        vec![graph::message_event("999", "psid-x", "m-9", "x", ms_ago(5))],
    );
    assert_eq!(
        graph::post_webhook(&mx.app.url(), SECRET, &other).await,
        401
    );

    let mut db = mx.app.db().await;
    assert_nothing_stored(&mut db).await;
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) AS n FROM contacts WHERE external_id = 'psid-x'"
        )
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_without_an_app_secret_refuses_every_webhook() {
    let mx = setup().await;
    let mut db = mx.app.db().await;
    let body = graph::envelope(
        PAGE,
        vec![graph::message_event(PAGE, "psid-e", "m-e", "x", ms_ago(5))],
    );
    // Unset, then set to an empty string: both fail closed, also when "signed" with "".
    for config in [
        "config - 'app_secret'",
        "jsonb_set(config, '{app_secret}', '\"\"')",
    ] {
        exec(
            &mut db,
            &format!(
                "UPDATE channels SET config = {config} WHERE id = {}",
                mx.channel_id
            ),
        )
        .await;
        assert_eq!(graph::post_webhook(&mx.app.url(), "", &body).await, 401);
        assert_eq!(graph::post_webhook(&mx.app.url(), SECRET, &body).await, 401);
    }
    assert_nothing_stored(&mut db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verification_challenge_is_answered_only_for_a_connected_pages_verify_token() {
    let mx = setup().await;
    let http = reqwest::Client::new();
    let get = |token: &str, mode: &str| {
        http.get(format!("{}/webhooks/messenger", mx.app.url()))
            .query(&[
                ("hub.mode", mode),
                ("hub.verify_token", token),
                ("hub.challenge", "1158201444"),
            ])
            .send()
    };
    let ok = get(VERIFY, "subscribe").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    assert_eq!(get("wrong-token", "subscribe").await.unwrap().status(), 403);
    assert_eq!(get(VERIFY, "unsubscribe").await.unwrap().status(), 403);
    let bare = http
        .get(format!("{}/webhooks/messenger", mx.app.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_webhook_delivered_three_times_is_one_message() {
    let mx = setup().await;
    let event = graph::message_event(PAGE, "psid-3", "m-dup", "only once", ms_ago(100));
    for _ in 0..3 {
        assert_eq!(post(&mx, vec![event.clone()]).await, 200);
    }
    processed(&mx, 3).await;
    let mut db = mx.app.db().await;
    let cid = contact_of(&mut db, "psid-3").await;
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) AS n FROM contacts WHERE external_id = 'psid-3'"
        )
        .await,
        1
    );
    assert_eq!(mx.app.session_count_of_contact(cid).await, 1);
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) AS n FROM messages WHERE external_id = 'm-dup'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_events_of_a_new_person_posted_at_once_make_one_contact_and_one_session() {
    let mx = setup().await;
    let t = ms_ago(1000);
    let a = post(
        &mx,
        vec![graph::message_event(PAGE, "psid-new", "m-a", "first", t)],
    );
    let b = post(
        &mx,
        vec![graph::message_event(
            PAGE,
            "psid-new",
            "m-b",
            "second",
            t + 1,
        )],
    );
    let (a, b) = tokio::join!(a, b);
    assert_eq!((a, b), (200, 200));
    processed(&mx, 2).await;
    let mut db = mx.app.db().await;
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) AS n FROM contacts WHERE external_id = 'psid-new'"
        )
        .await,
        1
    );
    let cid = contact_of(&mut db, "psid-new").await;
    assert_eq!(mx.app.session_count_of_contact(cid).await, 1);
    let sid = session_of(&mut db, "psid-new").await;
    let mut texts: Vec<String> = messages_of(&mx, sid)
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    texts.sort();
    assert_eq!(texts, ["first", "second"]);
    // The profile was asked for once: the second event found the contact.
    let profiles = mx.graph.requests("profile").await;
    assert_eq!(profiles.len(), 1, "{profiles:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_events_in_one_post_are_stored_in_timestamp_order() {
    let mx = setup().await;
    let t = ms_ago(5000);
    let status = post(
        &mx,
        vec![
            graph::message_event(PAGE, "psid-o", "m-3", "three", t + 3),
            graph::message_event(PAGE, "psid-o", "m-1", "one", t + 1),
            graph::message_event(PAGE, "psid-o", "m-2", "two", t + 2),
        ],
    )
    .await;
    assert_eq!(status, 200);
    processed(&mx, 1).await;
    let mut db = mx.app.db().await;
    let sid = session_of(&mut db, "psid-o").await;
    let texts: Vec<Value> = messages_of(&mx, sid)
        .await
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(texts, [json!("one"), json!("two"), json!("three")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_message_reaches_agents_live_under_the_persons_profile_name() {
    let mx = setup().await;
    mx.graph.set_profile("psid-ada", "Ada", "Lovelace").await;
    let mut ws = mx.app.agent_ws(&mx.owner, mx.app.project_id).await;
    let ts = ms_ago(2000);
    assert_eq!(
        post(
            &mx,
            vec![graph::message_event(
                PAGE,
                "psid-ada",
                "m-ada",
                "Is my order shipped?",
                ts
            )]
        )
        .await,
        200
    );
    let session = ws.recv_type("session").await;
    assert_eq!(
        session["session"]["contact_name"], "Ada Lovelace",
        "{session}"
    );
    assert_eq!(session["session"]["channel_id"], mx.channel_id);
    let message = ws.recv_type("message").await;
    assert_eq!(message["text"], "Is my order shipped?", "{message}");
    assert_eq!(message["sender"], "visitor");

    // The reply window counts from Meta's timestamp of the event.
    let mut db = mx.app.db().await;
    let at = count(
        &mut db,
        "SELECT (extract(epoch FROM last_inbound_at) * 1000)::int8 AS n FROM contacts WHERE external_id = 'psid-ada'",
    )
    .await;
    assert_eq!(at, ts);
    let profile = &mx.graph.requests("profile").await[0];
    assert!(
        profile["path"].as_str().unwrap().ends_with("/psid-ada"),
        "{profile}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_whose_profile_cannot_be_read_gets_a_placeholder_name() {
    let mx = setup().await;
    mx.graph
        .script(
            "profile",
            vec![json!({"status": 400, "body": {"error": {"message": "no", "type": "GraphMethodException", "code": 100, "error_subcode": 33}}})],
        )
        .await;
    assert_eq!(
        post(
            &mx,
            vec![graph::message_event(
                PAGE,
                "psid-98765",
                "m-p",
                "hi",
                ms_ago(5)
            )]
        )
        .await,
        200
    );
    processed(&mx, 1).await;
    let contacts = mx
        .app
        .get_json(
            &mx.owner,
            &format!("/api/projects/{}/contacts", mx.app.project_id),
        )
        .await;
    let names: Vec<&str> = contacts["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(names.contains(&"Messenger user 8765"), "{contacts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_started_postback_is_shown_with_its_title() {
    let mx = setup().await;
    let mut ws = mx.app.agent_ws(&mx.owner, mx.app.project_id).await;
    let ev = graph::postback_event(
        PAGE,
        "psid-gs",
        "m-gs",
        "Get Started",
        "GET_STARTED",
        ms_ago(5),
    );
    assert_eq!(post(&mx, vec![ev]).await, 200);
    let message = ws.recv_type("message").await;
    assert_eq!(message["text"], "Get Started", "{message}");
    assert_eq!(
        message["content"]["postback"],
        json!({"title": "Get Started", "payload": "GET_STARTED"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_is_stored_as_a_link_and_not_fetched() {
    let mx = setup().await;
    // The URL points at the fake Graph API, which records every GET it gets.
    let url = format!("{}/attachment-cat.jpg", mx.graph.base_url);
    let ev = json!({"sender": {"id": "psid-img"}, "recipient": {"id": PAGE}, "timestamp": ms_ago(5),
        "message": {"mid": "m-img", "attachments": [{"type": "image", "payload": {"url": url}}]}});
    assert_eq!(post(&mx, vec![ev]).await, 200);
    processed(&mx, 1).await;
    let mut db = mx.app.db().await;
    let sid = session_of(&mut db, "psid-img").await;
    let m = &messages_of(&mx, sid).await[0];
    assert_eq!(m["text"], format!("[image] {url}"));
    assert_eq!(
        m["content"]["attachments"],
        json!([{"type": "image", "url": url}])
    );
    let asked: Vec<Value> = mx
        .graph
        .requests("profile")
        .await
        .iter()
        .map(|r| r["path"].clone())
        .collect();
    assert_eq!(
        asked,
        [json!("/v25.0/psid-img")],
        "only the profile was fetched"
    );
}

/// An agent message with an outbound row, as the sender leaves it (`state`, `mid`).
async fn outbound(mx: &Mx, sid: i64, psid: &str, state: &str, mid: Option<&str>) -> i64 {
    let mut db = mx.app.db().await;
    let message_id = count(
        &mut db,
        &format!(
            "WITH s AS (UPDATE sessions SET last_seq = last_seq + 1 WHERE id = {sid} RETURNING last_seq)
             INSERT INTO messages (session_id, seq, sender_kind, body)
             SELECT {sid}, last_seq, 'agent', 'our reply' FROM s RETURNING id AS n"
        ),
    )
    .await;
    let mid = mid.map_or("NULL".to_owned(), |m| format!("'{m}'"));
    let sent_at = if state == "sent" {
        "now() - interval '1 second'"
    } else {
        "NULL"
    };
    exec(
        &mut db,
        &format!(
            "INSERT INTO channel_outbound (message_id, channel_id, session_id, recipient, messaging_type, state, mid, sent_at)
             VALUES ({message_id}, {}, {sid}, '{psid}', 'RESPONSE', '{state}', {mid}, {sent_at})",
            mx.channel_id
        ),
    )
    .await;
    message_id
}

/// A person who wrote once, and their session.
async fn person(mx: &Mx, psid: &str) -> i64 {
    let ev = graph::message_event(PAGE, psid, &format!("m-in-{psid}"), "hello", ms_ago(60_000));
    assert_eq!(post(mx, vec![ev]).await, 200);
    let sql = format!("SELECT count(*) AS n FROM messages WHERE external_id = 'm-in-{psid}'");
    wait_count(mx, &sql, 1).await;
    let mut db = mx.app.db().await;
    session_of(&mut db, psid).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_of_our_send_confirms_its_row_and_stores_no_message() {
    let mx = setup().await;
    let sid = person(&mx, "psid-echo").await;
    let message_id = outbound(&mx, sid, "psid-echo", "sending", None).await;
    let mut ws = mx.app.agent_ws(&mx.owner, mx.app.project_id).await;
    let meta = format!("sb:{message_id}");
    let echo = graph::echo_event(
        PAGE,
        "psid-echo",
        "m-ours",
        "our reply",
        Some(APP_ID),
        Some(&meta),
        ms_ago(1),
    );
    assert_eq!(post(&mx, vec![echo.clone()]).await, 200);
    let status = ws.recv_type("message_status").await;
    assert_eq!(status["message_id"], message_id, "{status}");
    assert_eq!(status["session_id"], sid);
    assert_eq!(status["delivery"]["state"], "sent");
    // Again (Meta redelivers): nothing new.
    assert_eq!(post(&mx, vec![echo]).await, 200);
    processed(&mx, 3).await;
    let mut db = mx.app.db().await;
    assert_eq!(
        count(&mut db, &format!("SELECT count(*) AS n FROM channel_outbound WHERE message_id = {message_id} AND state = 'sent' AND mid = 'm-ours'")).await,
        1
    );
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) AS n FROM messages WHERE external_id = 'm-ours'"
        )
        .await,
        0
    );
    assert_eq!(mx.app.message_count(sid).await, 2);
    // An echo of a row already sent under its mid (our app, no metadata) is nothing new either.
    outbound(&mx, sid, "psid-echo", "sent", Some("m-known")).await;
    let known = graph::echo_event(
        PAGE,
        "psid-echo",
        "m-known",
        "our reply",
        Some(APP_ID),
        None,
        ms_ago(1),
    );
    assert_eq!(post(&mx, vec![known]).await, 200);
    processed(&mx, 4).await;
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) AS n FROM messages WHERE external_id = 'm-known'"
        )
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_reply_is_stored_once_as_an_off_platform_agent_message() {
    let mx = setup().await;
    let sid = person(&mx, "psid-native").await;
    let mut ws = mx.app.agent_ws(&mx.owner, mx.app.project_id).await;
    // From the Page inbox (its own app id), and from the phone app (no app id).
    let inbox = graph::echo_event(
        PAGE,
        "psid-native",
        "m-inbox",
        "Sent from the Page inbox",
        Some(263902037430900),
        None,
        ms_ago(2),
    );
    let phone = graph::echo_event(
        PAGE,
        "psid-native",
        "m-phone",
        "Sent from the phone",
        None,
        Some("sb:1"),
        ms_ago(1),
    );
    assert_eq!(post(&mx, vec![inbox.clone(), phone]).await, 200);
    let first = ws.recv_type("message").await;
    assert_eq!(first["text"], "Sent from the Page inbox");
    assert_eq!(first["sender"], "agent");
    assert_eq!(first["off_platform"], true);
    assert_eq!(first["sender_user_id"], Value::Null);
    assert_eq!(post(&mx, vec![inbox]).await, 200);
    processed(&mx, 3).await;
    let messages = messages_of(&mx, sid).await;
    let shown: Vec<(&str, &str, bool)> = messages
        .iter()
        .map(|m| {
            (
                m["text"].as_str().unwrap(),
                m["sender"].as_str().unwrap(),
                m["off_platform"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("hello", "visitor", false),
            ("Sent from the Page inbox", "agent", true),
            ("Sent from the phone", "agent", true)
        ]
    );
    // A native reply is a reply: the person is no longer waiting for one.
    let s = mx
        .app
        .get_json(
            &mx.owner,
            &format!("/api/projects/{}/sessions/{sid}", mx.app.project_id),
        )
        .await;
    assert_eq!(s["awaiting_since"], Value::Null, "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_and_read_watermarks_tick_our_sent_messages_live() {
    let mx = setup().await;
    let sid = person(&mx, "psid-tick").await;
    let message_id = outbound(&mx, sid, "psid-tick", "sent", Some("m-sent")).await;
    let mut ws = mx.app.agent_ws(&mx.owner, mx.app.project_id).await;
    let now = graph::now_ms() + 1000;
    assert_eq!(
        post(&mx, vec![graph::delivery_event(PAGE, "psid-tick", now)]).await,
        200
    );
    let delivered = ws.recv_type("message_status").await;
    assert_eq!(delivered["message_id"], message_id, "{delivered}");
    assert!(
        delivered["delivery"]["delivered_at"].is_string(),
        "{delivered}"
    );
    assert_eq!(delivered["delivery"]["read_at"], Value::Null);
    assert_eq!(
        post(&mx, vec![graph::read_event(PAGE, "psid-tick", now)]).await,
        200
    );
    let read = ws.recv_type("message_status").await;
    assert_eq!(read["message_id"], message_id);
    assert!(read["delivery"]["read_at"].is_string(), "{read}");
    // A watermark older than the send changes nothing.
    assert_eq!(
        post(
            &mx,
            vec![graph::delivery_event(PAGE, "psid-tick", ms_ago(3_600_000))]
        )
        .await,
        200
    );
    processed(&mx, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_api_answer_contains_a_secret() {
    let mx = setup().await;
    let pid = mx.app.project_id;
    let path = format!("/api/projects/{pid}/channels");
    let listed = mx.app.get_json(&mx.owner, &path).await;
    let patched = mx
        .app
        .call(
            &mx.owner,
            Method::PATCH,
            &format!("/api/projects/{pid}/channels/{}/messenger", mx.channel_id),
            Some(json!({"app_secret": "second-secret-value", "allowed_tags": ["HUMAN_AGENT"]})),
        )
        .await;
    assert_eq!(patched.0, 200, "{}", patched.1);
    let text = format!("{listed}{}", patched.1);
    for secret in [TOKEN, SECRET, VERIFY, "second-secret-value"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    let ch = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == mx.channel_id)
        .unwrap();
    assert_eq!(ch["kind"], "messenger");
    assert_eq!(ch["health"], "connected");
    let m = &ch["messenger"];
    assert_eq!(m["page_id"], PAGE);
    assert_eq!(m["page_name"], "Acme Shop");
    assert_eq!(m["app_id"], APP_ID.to_string());
    assert_eq!(m["human_agent"], true);
    assert_eq!(
        (
            m["has_page_token"].clone(),
            m["has_app_secret"].clone(),
            m["has_verify_token"].clone()
        ),
        (json!(true), json!(true), json!(true))
    );
    assert!(m["webhook_url"]
        .as_str()
        .unwrap()
        .ends_with("/webhooks/messenger"));
    assert_eq!(
        patched.1["messenger"]["allowed_tags"],
        json!(["HUMAN_AGENT"])
    );
    // The web channel has no Messenger part.
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["kind"] == "web" && c["messenger"].is_null()));
    // Stored sealed: not even the database holds them in clear.
    let mut db = mx.app.db().await;
    for secret in [TOKEN, SECRET, VERIFY, "second-secret-value"] {
        assert_eq!(
            count(
                &mut db,
                &format!("SELECT count(*) AS n FROM channels WHERE config::text LIKE '%{secret}%'")
            )
            .await,
            0
        );
    }
    // The new secret signs webhooks from now on; the old one no longer does.
    let body = graph::envelope(
        PAGE,
        vec![graph::message_event(PAGE, "psid-s", "m-s", "x", ms_ago(1))],
    );
    assert_eq!(graph::post_webhook(&mx.app.url(), SECRET, &body).await, 401);
    assert_eq!(
        graph::post_webhook(&mx.app.url(), "second-secret-value", &body).await,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_graph_api_refuses_is_not_connected_and_a_page_connects_once() {
    let graph = FakeGraph::start().await;
    graph.add_page(PAGE, TOKEN, "Acme").await;
    let app = TestApp::start_with(graph.configure()).await;
    let owner = app.owner().await;
    let path = format!("/api/projects/{}/channels/messenger", app.project_id);
    let mut bad = connect_body();
    bad["page_access_token"] = json!("expired-token");
    let body = assert_error(
        app.call(&owner, Method::POST, &path, Some(bad)).await,
        400,
        "page_token_invalid",
    );
    assert!(
        body["error"]["message"].as_str().unwrap().contains("190"),
        "{body}"
    );
    let mut db = app.db().await;
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) AS n FROM channels WHERE kind = 'messenger'"
        )
        .await,
        0
    );

    let (s, ch) = app
        .call(&owner, Method::POST, &path, Some(connect_body()))
        .await;
    assert_eq!(s, 201, "{ch}");
    assert_eq!(ch["health_detail"], Value::Null);
    assert_error(
        app.call(&owner, Method::POST, &path, Some(connect_body()))
            .await,
        409,
        "page_already_connected",
    );
    // Also from another project.
    let (s, other) = app
        .call(
            &owner,
            Method::POST,
            "/api/projects",
            Some(json!({"name": "Other"})),
        )
        .await;
    assert_eq!(s, 201);
    let other_path = format!("/api/projects/{}/channels/messenger", other["id"]);
    assert_error(
        app.call(&owner, Method::POST, &other_path, Some(connect_body()))
            .await,
        409,
        "page_already_connected",
    );
    // A bad field is refused by name before any Graph call.
    let mut tags = connect_body();
    tags["page_id"] = json!("2002");
    tags["allowed_tags"] = json!(["human agent"]);
    let e = assert_error(
        app.call(&owner, Method::POST, &path, Some(tags)).await,
        400,
        "validation",
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allowed_tags"),
        "{e}"
    );
    // A new token through PATCH is checked too.
    let patch = format!(
        "/api/projects/{}/channels/{}/messenger",
        app.project_id, ch["id"]
    );
    assert_error(
        app.call(
            &owner,
            Method::PATCH,
            &patch,
            Some(json!({"page_access_token": "expired-again"})),
        )
        .await,
        400,
        "page_token_invalid",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_is_connected_unchecked_when_the_graph_api_cannot_be_reached() {
    let app = TestApp::start_with(|c| c.graph_base_url = "http://127.0.0.1:9/v25.0".into()).await;
    let owner = app.owner().await;
    let path = format!("/api/projects/{}/channels/messenger", app.project_id);
    let (s, ch) = app
        .call(&owner, Method::POST, &path, Some(connect_body()))
        .await;
    assert_eq!(s, 201, "{ch}");
    assert_eq!(ch["health"], "connected");
    let detail = ch["health_detail"].as_str().unwrap();
    assert!(detail.contains("could not be checked"), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_needs_the_manage_channels_permission() {
    let graph = FakeGraph::start().await;
    graph.add_page(PAGE, TOKEN, "Acme").await;
    let app = TestApp::start_with(graph.configure()).await;
    let agent = app.member(app.project_id, "agent", "amy").await;
    let path = format!("/api/projects/{}/channels/messenger", app.project_id);
    assert_error(
        app.call(&agent, Method::POST, &path, Some(connect_body()))
            .await,
        403,
        "forbidden",
    );
    assert!(graph.requests("page").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stored_before_a_restart_are_processed_after_it() {
    let mut mx = setup().await;
    mx.app.stop_server().await;
    // What a server that died right after its 200 left behind.
    let body = graph::envelope(
        PAGE,
        vec![graph::message_event(
            PAGE,
            "psid-r",
            "m-r",
            "after the crash",
            ms_ago(50),
        )],
    );
    let mut db = mx.app.db().await;
    exec(
        &mut db,
        &format!(
            "INSERT INTO webhook_events (channel_id, body) VALUES ({}, '{}')",
            mx.channel_id,
            body.to_string().replace('\'', "''")
        ),
    )
    .await;
    mx.app.start_server_again().await;
    processed(&mx, 1).await;
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) AS n FROM messages WHERE external_id = 'm-r'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_one_mebibyte_is_refused_unstored() {
    let mx = setup().await;
    let text = "x".repeat(1024 * 1024);
    let body = graph::envelope(
        PAGE,
        vec![graph::message_event(
            PAGE,
            "psid-big",
            "m-big",
            &text,
            ms_ago(5),
        )],
    );
    assert_eq!(
        post(&mx, vec![body["entry"][0]["messaging"][0].clone()]).await,
        413
    );
    let mut db = mx.app.db().await;
    assert_eq!(
        count(&mut db, "SELECT count(*) AS n FROM webhook_events").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_messages_are_stored_marked_and_a_referral_opens_the_window_without_a_message() {
    let mx = setup().await;
    let ts = ms_ago(30_000);
    let body = json!({"object": "page", "entry": [{"id": PAGE, "time": ts, "standby": [
        graph::message_event(PAGE, "psid-sb", "m-sb", "while another app owns the thread", ts)
    ]}]});
    assert_eq!(graph::post_webhook(&mx.app.url(), SECRET, &body).await, 200);
    let referral = json!({"sender": {"id": "psid-sb"}, "recipient": {"id": PAGE},
        "timestamp": ts + 10_000, "referral": {"ref": "promo", "source": "SHORTLINK", "type": "OPEN_THREAD"}});
    assert_eq!(post(&mx, vec![referral]).await, 200);
    processed(&mx, 2).await;
    let mut db = mx.app.db().await;
    let sid = session_of(&mut db, "psid-sb").await;
    let messages = messages_of(&mx, sid).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["content"]["standby"], true);
    let at = count(
        &mut db,
        "SELECT (extract(epoch FROM last_inbound_at) * 1000)::int8 AS n FROM contacts WHERE external_id = 'psid-sb'",
    )
    .await;
    assert_eq!(at, ts + 10_000);
    assert!(mx.graph.requests("send").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_naming_two_connected_pages_is_stored_for_each() {
    let mx = setup().await;
    let second = "100200400";
    mx.graph.add_page(second, "second-token", "Second").await;
    let mut other = connect_body();
    other["page_id"] = json!(second);
    other["page_access_token"] = json!("second-token");
    let path = format!("/api/projects/{}/channels/messenger", mx.app.project_id);
    let (s, ch2) = mx
        .app
        .call(&mx.owner, Method::POST, &path, Some(other))
        .await;
    assert_eq!(s, 201, "{ch2}");
    let ts = ms_ago(100);
    let body = json!({"object": "page", "entry": [
        {"id": PAGE, "time": ts, "messaging": [graph::message_event(PAGE, "psid-p1", "m-p1", "to the first", ts)]},
        {"id": second, "time": ts, "messaging": [graph::message_event(second, "psid-p2", "m-p2", "to the second", ts)]}
    ]});
    assert_eq!(graph::post_webhook(&mx.app.url(), SECRET, &body).await, 200);
    processed(&mx, 2).await;
    let mut db = mx.app.db().await;
    let first = count(
        &mut db,
        "SELECT channel_id AS n FROM contacts WHERE external_id = 'psid-p1'",
    )
    .await;
    let second_channel = count(
        &mut db,
        "SELECT channel_id AS n FROM contacts WHERE external_id = 'psid-p2'",
    )
    .await;
    assert_eq!(
        (first, second_channel),
        (mx.channel_id, ch2["id"].as_i64().unwrap())
    );
    assert_eq!(
        count(&mut db, "SELECT count(*) AS n FROM messages").await,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_redelivered_after_its_session_ended_is_not_stored_again() {
    let mx = setup().await;
    let sid = person(&mx, "psid-late").await;
    mx.app.end(&mx.owner, sid).await;
    let again = graph::message_event(PAGE, "psid-late", "m-in-psid-late", "hello", ms_ago(60_000));
    assert_eq!(post(&mx, vec![again]).await, 200);
    processed(&mx, 2).await;
    let mut db = mx.app.db().await;
    let cid = contact_of(&mut db, "psid-late").await;
    assert_eq!(
        mx.app.session_count_of_contact(cid).await,
        1,
        "no session opened for it"
    );
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) AS n FROM messages WHERE external_id = 'm-in-psid-late'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_reply_to_a_person_without_an_open_session_opens_one() {
    let mx = setup().await;
    let sid = person(&mx, "psid-closed").await;
    mx.app.end(&mx.owner, sid).await;
    let echo = graph::echo_event(
        PAGE,
        "psid-closed",
        "m-later",
        "Following up from the inbox",
        None,
        None,
        ms_ago(1),
    );
    assert_eq!(post(&mx, vec![echo]).await, 200);
    processed(&mx, 2).await;
    let mut db = mx.app.db().await;
    let newer = session_of(&mut db, "psid-closed").await;
    assert_ne!(newer, sid);
    let messages = messages_of(&mx, newer).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["off_platform"], true);
    assert_eq!(messages[0]["sender"], "agent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_answers_before_processing_so_a_slow_graph_api_does_not_delay_it() {
    let mx = setup().await;
    // The new person's profile takes 2.5 s (within the 3 s the actor waits for it).
    mx.graph
        .script("profile", vec![json!({"delay_ms": 2500})])
        .await;
    mx.graph.set_profile("psid-slow", "Slow", "Profile").await;
    let started = std::time::Instant::now();
    let ev = graph::message_event(PAGE, "psid-slow", "m-slow", "hi", ms_ago(5));
    assert_eq!(post(&mx, vec![ev]).await, 200);
    let answered = started.elapsed();
    assert!(
        answered < std::time::Duration::from_millis(1500),
        "answered after {answered:?}"
    );
    processed(&mx, 1).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(2500));
    let mut db = mx.app.db().await;
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) AS n FROM contacts WHERE name = 'Slow Profile'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_token_that_checks_out_reconnects_a_channel_that_needs_it() {
    let mx = setup().await;
    let mut db = mx.app.db().await;
    exec(
        &mut db,
        &format!(
            "UPDATE channels SET health = 'needs_reconnect', health_detail = 'Graph API error 190' WHERE id = {}",
            mx.channel_id
        ),
    )
    .await;
    mx.graph
        .add_page(PAGE, "fresh-token", "Acme on Facebook")
        .await;
    let path = format!(
        "/api/projects/{}/channels/{}/messenger",
        mx.app.project_id, mx.channel_id
    );
    let (s, ch) = mx
        .app
        .call(
            &mx.owner,
            Method::PATCH,
            &path,
            Some(json!({"page_access_token": "fresh-token"})),
        )
        .await;
    assert_eq!(s, 200, "{ch}");
    assert_eq!(ch["health"], "connected");
    assert_eq!(ch["health_detail"], Value::Null);
    // The new token is the one used from now on.
    let ev = graph::message_event(PAGE, "psid-fresh", "m-fresh", "hi", ms_ago(5));
    assert_eq!(post(&mx, vec![ev]).await, 200);
    processed(&mx, 1).await;
    let profile = &mx.graph.requests("profile").await[0];
    assert_eq!(
        profile["headers"]["authorization"], "Bearer fresh-token",
        "{profile}"
    );
    // A change that does not touch the token keeps the health as it is, and checks nothing.
    let pages_before = mx.graph.requests("page").await.len();
    let (s, ch) = mx
        .app
        .call(
            &mx.owner,
            Method::PATCH,
            &path,
            Some(json!({"human_agent": false})),
        )
        .await;
    assert_eq!(s, 200, "{ch}");
    assert_eq!(ch["messenger"]["human_agent"], false);
    assert_eq!(mx.graph.requests("page").await.len(), pages_before);
}
