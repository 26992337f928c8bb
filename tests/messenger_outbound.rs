//! Messenger sending (issue 11, items 5 and 6's server side): the reply window decides how an
//! agent's or the bot's message goes out or refuses it before anything is stored; the sender
//! delivers each durable row through the Send API of the fake Graph API process, by error code;
//! a failed message can be retried; a server killed with kill -9 neither loses nor doubles a
//! send (a request it was waiting on is `unconfirmed`, never resent by itself).

use crate::common::binary::{free_port, Binary};
use crate::common::graph::FakeGraph;
use crate::common::messenger::{self as mx, PageSetup, Person};
use crate::common::{eventually, fresh_database, init_tracing, Agent, TestApp, WsClient, WAIT};
use chrono::{Duration as Span, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use switchboard::domain::bootstrap;
use switchboard::domain::conversation::{self, Author, NewPost};
use switchboard::error::ErrorCode;
use switchboard::secrets::SecretBox;

const PSID: &str = "psid-1";
const CLOSED_TEXT: &str =
    "the 7-day reply window has closed; the person must message the Page first";

fn h24m01() -> Span {
    Span::minutes(24 * 60 + 1)
}

fn d7m01() -> Span {
    Span::minutes(7 * 24 * 60 + 1)
}

struct Setup {
    app: TestApp,
    fake: FakeGraph,
    owner: Agent,
    channel_id: i64,
    person: Person,
}

/// A Page connected to the fake Graph API and a person who last wrote `ago` ago.
async fn setup(page: PageSetup, ago: Option<Span>) -> Setup {
    let (fake, app, channel_id, person) =
        mx::app_with_person(&page, PSID, ago.map(|d| Utc::now() - d), |_| {}).await;
    let owner = app.owner().await;
    Setup {
        app,
        fake,
        owner,
        channel_id,
        person,
    }
}

impl Setup {
    fn sid(&self) -> i64 {
        self.person.session_id
    }

    fn path(&self, rest: &str) -> String {
        format!(
            "/api/projects/{}/sessions/{}{rest}",
            self.app.project_id,
            self.sid()
        )
    }

    /// The owner's reply over REST: (status, body).
    async fn reply(&self, client_id: &str, tag: Option<&str>) -> (u16, Value) {
        let mut body = json!({"client_id": client_id, "text": format!("reply {client_id}")});
        if let Some(t) = tag {
            body["tag"] = json!(t);
        }
        self.app
            .call(
                &self.owner,
                Method::POST,
                &self.path("/messages"),
                Some(body),
            )
            .await
    }

    /// A reply that must be stored; its message id.
    async fn replied(&self, client_id: &str, tag: Option<&str>) -> i64 {
        let (status, body) = self.reply(client_id, tag).await;
        assert_eq!(status, 201, "{body}");
        body["message"]["message_id"].as_i64().unwrap()
    }

    async fn agent_ws(&self) -> WsClient {
        self.app.agent_ws(&self.owner, self.app.project_id).await
    }

    async fn outbound(&self, message_id: i64) -> Option<mx::OutboundFacts> {
        mx::outbound_of(&mut self.app.db().await, message_id).await
    }

    async fn wait_state(&self, message_id: i64, state: &str) -> mx::OutboundFacts {
        let mut last = None;
        let deadline = tokio::time::Instant::now() + WAIT;
        while tokio::time::Instant::now() < deadline {
            last = self.outbound(message_id).await;
            if last.as_ref().is_some_and(|o| o.0 == state) {
                return last.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("message {message_id} never became {state}: {last:?}");
    }

    async fn window(&self) -> Value {
        self.app
            .get_json(&self.owner, &self.path("/reply-window"))
            .await
    }

    async fn delivery_in_list(&self, message_id: i64) -> Value {
        let page = self
            .app
            .get_json(&self.owner, &self.path("/messages"))
            .await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["message_id"] == message_id)
            .unwrap()["delivery"]
            .clone()
    }
}

fn graph_error(code: i64, subcode: Option<i64>) -> Value {
    json!({"status": 400, "body": {"error": {"message": "scripted", "type": "OAuthException",
        "code": code, "error_subcode": subcode, "fbtrace_id": "t"}}})
}

/// The message's `message_status` frame in `state`, skipping the others.
async fn status_frame(ws: &mut WsClient, message_id: i64, state: &str) -> Value {
    loop {
        let f = ws.recv_type("message_status").await;
        if f["message_id"] == message_id && f["delivery"]["state"] == state {
            return f;
        }
    }
}

#[tokio::test]
async fn a_reply_within_24_hours_goes_out_as_response_to_the_psid_with_our_metadata() {
    let s = setup(PageSetup::default(), Some(Span::minutes(23 * 60 + 59))).await;
    let w = s.window().await;
    assert_eq!(w["channel"], "messenger");
    assert_eq!(w["state"], "open");
    assert_eq!(w["refusal"], Value::Null);
    let mut ws = s.agent_ws().await;
    let (status, body) = s.reply("c1", None).await;
    assert_eq!(status, 201, "{body}");
    let id = body["message"]["message_id"].as_i64().unwrap();
    // The answer already carries the durable send (pending, or further along by now).
    assert_eq!(body["message"]["delivery"]["messaging_type"], "RESPONSE");

    let sent = s.fake.wait_for_requests("send", 1).await;
    assert_eq!(sent[0]["path"], format!("/v25.0/{}/messages", mx::PAGE_ID));
    assert_eq!(
        sent[0]["headers"]["authorization"],
        format!("Bearer {}", mx::PAGE_TOKEN)
    );
    assert_eq!(
        sent[0]["body"],
        json!({"recipient": {"id": PSID}, "messaging_type": "RESPONSE",
               "message": {"text": "reply c1", "metadata": format!("sb:{id}")}})
    );
    let f = status_frame(&mut ws, id, "sent").await;
    assert_eq!(f["session_id"], s.sid());
    assert_eq!(f["delivery"]["messaging_type"], "RESPONSE");
    assert_eq!(f["delivery"]["attempts"], 1);
    assert!(f["delivery"]["sent_at"].is_string());
    assert_eq!(s.delivery_in_list(id).await["state"], "sent");
}

#[tokio::test]
async fn past_24_hours_with_the_human_agent_permission_a_reply_is_tagged_human_agent() {
    let s = setup(PageSetup::default().human_agent(true), Some(h24m01())).await;
    let w = s.window().await;
    assert_eq!(w["state"], "human_agent");
    assert!(w["human_agent_until"].is_string());
    let id = s.replied("c1", None).await;
    let sent = s.fake.wait_for_requests("send", 1).await;
    assert_eq!(sent[0]["body"]["messaging_type"], "MESSAGE_TAG");
    assert_eq!(sent[0]["body"]["tag"], "HUMAN_AGENT");
    s.wait_state(id, "sent").await;

    // Still so at 6 days 23 hours.
    mx::set_last_inbound(
        &mut s.app.db().await,
        s.person.contact_id,
        Utc::now() - Span::hours(6 * 24 + 23),
    )
    .await;
    s.replied("c2", None).await;
    let sent = s.fake.wait_for_requests("send", 2).await;
    assert_eq!(sent[1]["body"]["tag"], "HUMAN_AGENT");
}

#[tokio::test]
async fn past_24_hours_without_the_permission_a_reply_is_refused_and_nothing_is_stored() {
    let s = setup(PageSetup::default(), Some(h24m01())).await;
    assert_eq!(s.window().await["state"], "closed");
    let before = s.app.message_count(s.sid()).await;
    let (status, body) = s.reply("c1", None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "reply_window_closed");

    // The socket's send is refused the same way.
    let mut ws = s.agent_ws().await;
    ws.send(json!({"type": "send", "session_id": s.sid(), "client_id": "c2", "text": "hi"}))
        .await;
    let e = ws.recv_type("error").await;
    assert_eq!(e["code"], "reply_window_closed");
    assert_eq!(e["ref"], "c2");

    assert_eq!(s.app.message_count(s.sid()).await, before);
    assert_eq!(mx::outbound_count(&mut s.app.db().await).await, 0);
    assert!(s.fake.requests("send").await.is_empty());
}

#[tokio::test]
async fn past_7_days_without_tags_a_reply_is_refused_with_the_reason() {
    let s = setup(PageSetup::default().human_agent(true), Some(d7m01())).await;
    let w = s.window().await;
    assert_eq!(w["state"], "closed");
    assert_eq!(w["refusal"], CLOSED_TEXT);
    assert_eq!(w["allowed_tags"], json!([]));
    let (status, body) = s.reply("c1", None).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "reply_window_closed");
    assert_eq!(body["error"]["message"], CLOSED_TEXT);
    // A tag the Page does not allow is a validation error, also stored nowhere.
    let (status, body) = s.reply("c2", Some("ACCOUNT_UPDATE")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("validation"))
    );
    assert_eq!(s.app.message_count(s.sid()).await, 0);
}

#[tokio::test]
async fn past_7_days_a_configured_tag_the_agent_picks_goes_out_as_that_tag() {
    let s = setup(PageSetup::default().tags(&["CUSTOM_UPDATE"]), Some(d7m01())).await;
    let w = s.window().await;
    assert_eq!(w["state"], "tag_only");
    assert_eq!(w["allowed_tags"], json!(["CUSTOM_UPDATE"]));
    let (status, body) = s.reply("c0", None).await;
    assert_eq!(status, 409, "without a tag: {body}");

    let mut ws = s.agent_ws().await;
    ws.send(
        json!({"type": "send", "session_id": s.sid(), "client_id": "c1",
                   "text": "your order shipped", "tag": "CUSTOM_UPDATE"}),
    )
    .await;
    let ack = ws.recv_type("ack").await;
    let id = ack["message_id"].as_i64().unwrap();
    let sent = s.fake.wait_for_requests("send", 1).await;
    assert_eq!(sent[0]["body"]["messaging_type"], "MESSAGE_TAG");
    assert_eq!(sent[0]["body"]["tag"], "CUSTOM_UPDATE");
    let f = status_frame(&mut ws, id, "sent").await;
    assert_eq!(f["delivery"]["tag"], "CUSTOM_UPDATE");
}

#[tokio::test]
async fn a_bot_message_past_24_hours_never_goes_out_with_human_agent() {
    let s = setup(PageSetup::default().human_agent(true), Some(h24m01())).await;
    let mut db = s.app.db().await;
    let bot = NewPost::text(Author::Bot, None, "an automated nudge".into());
    let e = conversation::post(&mut db, s.sid(), bot).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ReplyWindowClosed);
    assert_eq!(s.app.message_count(s.sid()).await, 0);

    // Within 24 hours the bot's message goes out as a plain response.
    mx::set_last_inbound(&mut db, s.person.contact_id, Utc::now() - Span::hours(1)).await;
    let bot = NewPost::text(Author::Bot, None, "an automated answer".into());
    let m = conversation::post(&mut db, s.sid(), bot).await.unwrap();
    let id = m.message.unwrap().id;
    // Posted outside a session actor, so only the poll finds it.
    let sent = s.fake.wait_for_requests("send", 1).await;
    assert_eq!(sent[0]["body"]["messaging_type"], "RESPONSE");
    assert!(sent[0]["body"].get("tag").is_none());
    s.wait_state(id, "sent").await;
}

#[tokio::test]
async fn temporary_errors_are_retried_and_the_message_goes_out_once() {
    let s = setup(PageSetup::default(), Some(Span::hours(1))).await;
    let mut limited = graph_error(613, None);
    limited["headers"] = json!({"X-Business-Use-Case-Usage":
        {mx::PAGE_ID: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 0}]}});
    s.fake
        .script("send", vec![graph_error(2, None), limited])
        .await;
    let mut ws = s.agent_ws().await;
    let id = s.replied("c1", None).await;

    let pending = status_frame(&mut ws, id, "pending").await;
    assert_eq!(pending["delivery"]["error_code"], 2);
    let f = status_frame(&mut ws, id, "sent").await;
    assert_eq!(f["delivery"]["attempts"], 3);
    assert_eq!(f["delivery"]["error"], Value::Null);
    let sent = s.fake.requests("send").await;
    assert_eq!(sent.len(), 3, "{sent:?}");
    for r in &sent {
        assert_eq!(r["body"]["message"]["metadata"], format!("sb:{id}"));
    }
    // 1 s, then 2 s apart.
    let gap = |a: &Value, b: &Value| b["t"].as_f64().unwrap() - a["t"].as_f64().unwrap();
    assert!(gap(&sent[0], &sent[1]) >= 0.9, "{sent:?}");
    assert!(gap(&sent[1], &sent[2]) >= 1.9, "{sent:?}");
    assert_eq!(s.app.message_count(s.sid()).await, 1);
}

#[tokio::test]
async fn messages_to_one_person_go_out_in_order_while_the_first_is_retried() {
    let s = setup(PageSetup::default(), Some(Span::hours(1))).await;
    s.fake.script("send", vec![graph_error(2, None)]).await;
    let first = s.replied("c1", None).await;
    s.fake.wait_for_requests("send", 1).await;
    let second = s.replied("c2", None).await;
    s.wait_state(second, "sent").await;
    let order: Vec<Value> = s
        .fake
        .requests("send")
        .await
        .iter()
        .map(|r| r["body"]["message"]["metadata"].clone())
        .collect();
    assert_eq!(
        order,
        [first, first, second].map(|id| json!(format!("sb:{id}")))
    );
}

#[tokio::test]
async fn an_invalid_token_fails_the_message_and_the_page_needs_reconnecting() {
    let s = setup(PageSetup::default(), Some(Span::hours(1))).await;
    // The fake knows the Page with another token: ours gets error 190.
    s.fake.add_page(mx::PAGE_ID, "the-new-token", "Acme").await;
    let mut ws = s.agent_ws().await;
    let id = s.replied("c1", None).await;
    let f = status_frame(&mut ws, id, "failed").await;
    assert_eq!(f["delivery"]["error_code"], 190);
    let why = f["delivery"]["error"].as_str().unwrap();
    assert!(why.contains("reconnect the Page"), "{why}");
    assert_eq!(health_of(&s).await, ("needs_reconnect".into(), true));
    let channels = s
        .app
        .get_json(
            &s.owner,
            &format!("/api/projects/{}/channels", s.app.project_id),
        )
        .await;
    let page = channels
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == s.channel_id)
        .unwrap()
        .clone();
    assert_eq!(page["health"], "needs_reconnect", "{page}");
    assert!(
        page["health_detail"].as_str().unwrap().contains("190"),
        "{page}"
    );

    // Further messages wait for the reconnect instead of failing too.
    let second = s.replied("c2", None).await;
    assert_eq!(s.outbound(second).await.unwrap().0, "pending");
    // An admin pastes the new token (Settings › Channels › Messenger).
    let (status, body) = s
        .app
        .call(
            &s.owner,
            Method::PATCH,
            &format!(
                "/api/projects/{}/channels/{}/messenger",
                s.app.project_id, s.channel_id
            ),
            Some(json!({"page_access_token": "the-new-token"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["health"], "connected", "{body}");
    s.wait_state(second, "sent").await;
    let sent = s.fake.requests("send").await;
    assert_eq!(
        sent.len(),
        2,
        "the waiting message was not tried with the bad token"
    );
    assert_eq!(sent[1]["headers"]["authorization"], "Bearer the-new-token");
    assert_eq!(s.outbound(id).await.unwrap().0, "failed");
}

/// The channel's health and whether it says why.
async fn health_of(s: &Setup) -> (String, bool) {
    use diesel::{ExpressionMethods, QueryDsl};
    use switchboard::db::schema::channels;
    let (health, detail): (String, Option<String>) = channels::table
        .filter(channels::id.eq(s.channel_id))
        .select((channels::health, channels::health_detail))
        .first(&mut s.app.db().await)
        .await
        .unwrap();
    (health, detail.is_some_and(|d| d.contains("190")))
}

#[tokio::test]
async fn a_person_who_cannot_be_reached_is_marked_unreachable() {
    let s = setup(PageSetup::default(), Some(Span::hours(1))).await;
    s.fake.script("send", vec![graph_error(551, None)]).await;
    let id = s.replied("c1", None).await;
    let o = s.wait_state(id, "failed").await;
    assert_eq!(o.4, Some(551));
    assert!(o.5.unwrap().contains("unavailable"));
    assert!(
        mx::unreachable_at(&mut s.app.db().await, s.person.contact_id)
            .await
            .is_some()
    );
    let d = s.delivery_in_list(id).await;
    assert_eq!(d["state"], "failed");
    assert_eq!(d["error_code"], 551);
}

#[tokio::test]
async fn a_person_marked_unreachable_gets_no_reply_until_they_write_again() {
    use crate::common::graph::{envelope, message_event, now_ms, post_webhook};
    let s = setup(PageSetup::default(), Some(Span::hours(1))).await;
    s.fake.script("send", vec![graph_error(551, None)]).await;
    let first = s.replied("c1", None).await;
    s.wait_state(first, "failed").await;
    let before = mx::message_ids(&mut s.app.db().await, s.sid()).await;
    crate::common::assert_error(s.reply("c2", None).await, 409, "contact_unreachable");
    assert_eq!(
        mx::message_ids(&mut s.app.db().await, s.sid()).await,
        before
    );
    let w = s.window().await;
    assert_eq!(w["state"], "closed", "{w}");
    assert!(w["refusal"].as_str().unwrap().contains("cannot be reached"));
    // The person writes again: replies can go.
    let back = envelope(
        mx::PAGE_ID,
        vec![message_event(
            mx::PAGE_ID,
            PSID,
            "m_back",
            "hi again",
            now_ms(),
        )],
    );
    assert_eq!(post_webhook(&s.app.url(), mx::APP_SECRET, &back).await, 200);
    eventually("the person's new message is stored", || async {
        mx::message_ids(&mut s.app.db().await, s.sid()).await.len() == before.len() + 1
    })
    .await;
    let id = s.replied("c3", None).await;
    s.wait_state(id, "sent").await;
}

#[tokio::test]
async fn a_refused_message_can_be_retried_and_is_sent_once() {
    let s = setup(PageSetup::default(), Some(Span::hours(1))).await;
    s.fake.script("send", vec![graph_error(200, None)]).await;
    let id = s.replied("c1", None).await;
    let o = s.wait_state(id, "failed").await;
    assert!(o.5.unwrap().contains("isn't receiving"));
    let retry = s.path(&format!("/messages/{id}/retry"));
    let mut ws = s.agent_ws().await;
    let (status, view) = s.app.call(&s.owner, Method::POST, &retry, None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["message_id"], id);
    assert_eq!(view["delivery"]["state"], "pending");
    status_frame(&mut ws, id, "sent").await;
    assert_eq!(s.fake.requests("send").await.len(), 2);
    // A sent message is not sent again.
    let (status, body) = s.app.call(&s.owner, Method::POST, &retry, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    assert_eq!(s.fake.requests("send").await.len(), 2);
}

#[tokio::test]
async fn a_retry_after_the_window_closed_is_refused() {
    let s = setup(PageSetup::default(), Some(Span::hours(1))).await;
    s.fake.script("send", vec![graph_error(200, None)]).await;
    let id = s.replied("c1", None).await;
    s.wait_state(id, "failed").await;
    mx::set_last_inbound(
        &mut s.app.db().await,
        s.person.contact_id,
        Utc::now() - d7m01(),
    )
    .await;
    let retry = s.path(&format!("/messages/{id}/retry"));
    let (status, body) = s.app.call(&s.owner, Method::POST, &retry, None).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "reply_window_closed");
    assert_eq!(s.outbound(id).await.unwrap().0, "failed");
}

#[tokio::test]
async fn a_web_session_reply_window_is_always_open() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (_v, sid) = app.open_session("hello").await;
    let w = app
        .get_json(
            &owner,
            &format!(
                "/api/projects/{}/sessions/{sid}/reply-window",
                app.project_id
            ),
        )
        .await;
    assert_eq!(
        w,
        json!({"channel": "web", "state": "open", "last_inbound_at": null,
               "window_closes_at": null, "human_agent_until": null, "allowed_tags": [],
               "refusal": null})
    );
    let spec: Value = reqwest::get(format!("{}/api/openapi.json", app.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = &spec["paths"];
    assert!(paths["/api/projects/{pid}/sessions/{sid}/reply-window"]["get"].is_object());
    assert!(
        paths["/api/projects/{pid}/sessions/{sid}/messages/{message_id}/retry"]["post"].is_object()
    );
    assert!(spec["components"]["schemas"]["ReplyWindowView"].is_object());
}

// --- The real binary, killed with kill -9 ------------------------------------------------

const KEY_HEX: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// The real binary on the test's database, with our key and the Graph API at `graph_base`.
async fn binary_on(port: u16, db_url: &str, graph_base: &str, lease_secs: u64) -> Binary {
    let env = [
        ("SWITCHBOARD_GRAPH_BASE_URL", graph_base.to_owned()),
        ("SWITCHBOARD_SECRET_KEY", KEY_HEX.to_owned()),
        ("SWITCHBOARD_SEND_LEASE_SECS", lease_secs.to_string()),
    ];
    Binary::start_on(port, db_url, &env).await
}

async fn binary(db_url: &str, graph_base: &str, lease_secs: u64) -> Binary {
    binary_on(free_port(), db_url, graph_base, lease_secs).await
}

/// A database with an owner, a Page and a person who wrote a minute ago.
struct Crash {
    db_url: String,
    pid: i64,
    email: String,
    password: String,
    person: Person,
}

async fn crash_setup() -> Crash {
    init_tracing();
    let db_url = fresh_database().await;
    let mut conn = AsyncPgConnection::establish(&db_url).await.unwrap();
    let first = bootstrap::ensure_first_owner(&mut conn)
        .await
        .unwrap()
        .expect("empty database");
    let pid = first.channel.project_id;
    let secrets = SecretBox::from_hex(KEY_HEX).unwrap();
    let channel = mx::insert_page(&mut conn, &secrets, pid, &PageSetup::default()).await;
    let person = mx::insert_person(
        &mut conn,
        pid,
        channel,
        PSID,
        Some(Utc::now() - Span::minutes(1)),
    )
    .await;
    Crash {
        db_url,
        pid,
        email: first.email,
        password: first.password,
        person,
    }
}

impl Crash {
    async fn login(&self, server: &Binary) -> reqwest::Client {
        server.login(&self.email, &self.password).await
    }

    fn sessions(&self, server: &Binary) -> String {
        format!(
            "{}/api/projects/{}/sessions/{}",
            server.base, self.pid, self.person.session_id
        )
    }

    async fn reply(&self, server: &Binary, http: &reqwest::Client, client_id: &str) -> i64 {
        let r = http
            .post(format!("{}/messages", self.sessions(server)))
            .json(&json!({"client_id": client_id, "text": format!("reply {client_id}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["message"]["message_id"]
            .as_i64()
            .unwrap()
    }

    async fn outbound(&self, message_id: i64) -> mx::OutboundFacts {
        let mut conn = AsyncPgConnection::establish(&self.db_url).await.unwrap();
        mx::outbound_of(&mut conn, message_id).await.unwrap()
    }

    async fn wait_for(&self, message_id: i64, what: &str, ok: impl Fn(&mx::OutboundFacts) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let o = self.outbound(message_id).await;
            if ok(&o) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "message {message_id} never {what}: {o:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn metadata_of(requests: &[Value]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            r["body"]["message"]["metadata"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_between_commit_and_send_sends_the_message_once_after_restart() {
    let c = crash_setup().await;
    let fake = FakeGraph::start().await;
    let (port, base) = (fake.port, fake.base_url.clone());
    let server = binary(&c.db_url, &base, 60).await;
    let http = c.login(&server).await;
    // The Graph API is down: the committed message cannot leave yet.
    fake.stop().await;
    let id = c.reply(&server, &http, "c1").await;
    c.wait_for(id, "was tried", |o| o.0 == "pending" && o.3 >= 1)
        .await;
    server.kill_9().await;

    let fake = FakeGraph::start_on(port).await;
    fake.add_page(mx::PAGE_ID, mx::PAGE_TOKEN, "Acme").await;
    let server = binary(&c.db_url, &base, 60).await;
    c.wait_for(id, "was sent", |o| o.0 == "sent").await;
    // A second message sent after it is the barrier: nothing else went out before it.
    let http = c.login(&server).await;
    let second = c.reply(&server, &http, "c2").await;
    c.wait_for(second, "was sent", |o| o.0 == "sent").await;
    assert_eq!(
        metadata_of(&fake.requests("send").await),
        [format!("sb:{id}"), format!("sb:{second}")]
    );
    server.kill_9().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_the_request_leaves_the_message_unconfirmed_not_resent() {
    let c = crash_setup().await;
    let fake = FakeGraph::start().await;
    fake.add_page(mx::PAGE_ID, mx::PAGE_TOKEN, "Acme").await;
    // The answer takes long enough for the server to die waiting for it.
    fake.script("send", vec![json!({"delay_ms": 3000})]).await;
    let server = binary(&c.db_url, &fake.base_url, 2).await;
    let http = c.login(&server).await;
    let id = c.reply(&server, &http, "c1").await;
    fake.wait_for_requests("send", 1).await;
    assert_eq!(c.outbound(id).await.0, "sending");
    server.kill_9().await;

    let server = binary(&c.db_url, &fake.base_url, 2).await;
    c.wait_for(id, "became unconfirmed", |o| o.0 == "unconfirmed")
        .await;
    let http = c.login(&server).await;
    let second = c.reply(&server, &http, "c2").await;
    c.wait_for(second, "was sent", |o| o.0 == "sent").await;
    assert_eq!(
        metadata_of(&fake.requests("send").await),
        [format!("sb:{id}"), format!("sb:{second}")],
        "the unconfirmed message was not sent again"
    );
    assert_eq!(c.outbound(id).await.0, "unconfirmed");

    // The agent may send it again: once.
    let r = http
        .post(format!("{}/messages/{id}/retry", c.sessions(&server)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    c.wait_for(id, "was sent", |o| o.0 == "sent").await;
    assert_eq!(fake.requests("send").await.len(), 3);
    server.kill_9().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_unconfirmed_by_a_crash_is_confirmed_by_its_echo_and_never_resent() {
    let c = crash_setup().await;
    let port = free_port();
    let fake = FakeGraph::start().await;
    fake.add_page(mx::PAGE_ID, mx::PAGE_TOKEN, "Acme").await;
    // Like Meta, the fake posts the echo (with our metadata) before it answers — here after a
    // delay the server does not survive; the echo reaches the restarted server.
    fake.script("send", vec![json!({"delay_ms": 4000})]).await;
    let webhook = format!("http://127.0.0.1:{port}/webhooks/messenger");
    fake.echo_to(
        mx::PAGE_ID,
        &webhook,
        mx::APP_SECRET,
        mx::APP_ID,
        "before_response",
    )
    .await;
    let server = binary_on(port, &c.db_url, &fake.base_url, 2).await;
    let http = c.login(&server).await;
    let id = c.reply(&server, &http, "c1").await;
    fake.wait_for_requests("send", 1).await;
    server.kill_9().await;

    let server = binary_on(port, &c.db_url, &fake.base_url, 2).await;
    c.wait_for(id, "was confirmed by its echo", |o| o.0 == "sent")
        .await;
    let mut conn = AsyncPgConnection::establish(&c.db_url).await.unwrap();
    assert_eq!(
        mx::message_ids(&mut conn, c.person.session_id).await,
        [id],
        "the echo is our message, not a second one"
    );
    // A later message is the barrier: the confirmed one was not sent again before it.
    let http = c.login(&server).await;
    let second = c.reply(&server, &http, "c2").await;
    c.wait_for(second, "was sent", |o| o.0 == "sent").await;
    assert_eq!(
        metadata_of(&fake.requests("send").await),
        [format!("sb:{id}"), format!("sb:{second}")]
    );
    server.kill_9().await;
}

#[tokio::test]
async fn a_retired_tag_is_refused_by_meta_and_shown_on_the_message() {
    // An operator configured a tag Meta has since retired.
    let s = setup(
        PageSetup::default().tags(&["ACCOUNT_UPDATE"]),
        Some(d7m01()),
    )
    .await;
    let id = s.replied("c1", Some("ACCOUNT_UPDATE")).await;
    let o = s.wait_state(id, "failed").await;
    assert_eq!(
        (o.1.as_str(), o.2.as_deref()),
        ("MESSAGE_TAG", Some("ACCOUNT_UPDATE"))
    );
    assert_eq!(o.4, Some(100));
    assert!(o.5.unwrap().contains("retired"));
    assert_eq!(s.fake.requests("send").await.len(), 1);
}

#[tokio::test]
async fn a_restricted_page_fails_the_message_and_shows_on_the_channel() {
    let s = setup(PageSetup::default(), Some(Span::hours(1))).await;
    s.fake
        .script("send", vec![graph_error(10, Some(1893063))])
        .await;
    let id = s.replied("c1", None).await;
    let o = s.wait_state(id, "failed").await;
    assert!(o.5.unwrap().contains("restricted"));
    let (health, _) = health_of(&s).await;
    assert_eq!(health, "restricted");
}

#[tokio::test]
async fn resumed_history_shows_how_each_message_is_getting_on() {
    let s = setup(PageSetup::default(), Some(Span::hours(1))).await;
    s.fake.script("send", vec![graph_error(200, None)]).await;
    let failed = s.replied("c1", None).await;
    s.wait_state(failed, "failed").await;
    let sent = s.replied("c2", None).await;
    s.wait_state(sent, "sent").await;
    let mut ws = s.agent_ws().await;
    ws.send(json!({"type": "resume", "session_id": s.sid(), "after_seq": 0, "ref": "r"}))
        .await;
    let (frames, _) = ws
        .recv_until_barrier(|f| f["type"] == "ok" && f["ref"] == "r")
        .await;
    let delivery = |id: i64| {
        frames
            .iter()
            .find(|f| f["type"] == "message" && f["message_id"] == id)
            .unwrap()["delivery"]
            .clone()
    };
    assert_eq!(delivery(failed)["state"], "failed");
    assert_eq!(delivery(failed)["error_code"], 200);
    assert_eq!(delivery(sent)["state"], "sent");
}

/// The fake Graph API echoes every accepted send to our webhook (`mode`), as Meta does; then the
/// person writes once more — processed after the echo (a Page's rows go in order), so once that
/// message is stored the echo has been handled. Returns our reply's message id.
async fn reply_with_echo(mode: &str) -> (Setup, i64) {
    use crate::common::graph::{envelope, message_event, now_ms, post_webhook};
    use diesel::{QueryDsl, TextExpressionMethods};
    use switchboard::db::schema::webhook_events as we;
    let s = setup(PageSetup::default(), Some(Span::minutes(5))).await;
    let hook = format!("{}/webhooks/messenger", s.app.url());
    s.fake
        .echo_to(mx::PAGE_ID, &hook, mx::APP_SECRET, mx::APP_ID, mode)
        .await;
    let id = s.replied("c1", None).await;
    s.wait_state(id, "sent").await;
    eventually("the echo reaches the webhook", || async {
        let n: i64 = we::table
            .filter(we::body.like("%is_echo%"))
            .count()
            .get_result(&mut s.app.db().await)
            .await
            .unwrap();
        n == 1
    })
    .await;
    let barrier = envelope(
        mx::PAGE_ID,
        vec![message_event(
            mx::PAGE_ID,
            PSID,
            "m_barrier",
            "after the echo",
            now_ms(),
        )],
    );
    assert_eq!(
        post_webhook(&s.app.url(), mx::APP_SECRET, &barrier).await,
        200
    );
    eventually("the barrier message is stored", || async {
        mx::message_ids(&mut s.app.db().await, s.sid()).await.len() >= 2
    })
    .await;
    (s, id)
}

#[tokio::test]
async fn an_echo_arriving_before_the_send_api_answer_is_our_send_and_is_not_stored_again() {
    let (s, id) = reply_with_echo("before_response").await;
    // Our reply, then the barrier: the echo stored nothing, and one request went out.
    let ids = mx::message_ids(&mut s.app.db().await, s.sid()).await;
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], id);
    assert_eq!(s.fake.requests("send").await.len(), 1);
    assert_eq!(s.outbound(id).await.unwrap().0, "sent");
}

#[tokio::test]
async fn an_echo_arriving_after_the_send_api_answer_is_our_send_and_is_not_stored_again() {
    let (s, id) = reply_with_echo("after_response").await;
    let ids = mx::message_ids(&mut s.app.db().await, s.sid()).await;
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], id);
    assert_eq!(s.fake.requests("send").await.len(), 1);
    assert_eq!(s.outbound(id).await.unwrap().0, "sent");
}

/// The project's `channel_health` e-mails: (recipient, subject), oldest first.
async fn health_mails(app: &TestApp) -> Vec<(String, String)> {
    use diesel::{ExpressionMethods, QueryDsl};
    use switchboard::db::schema::outbox;
    outbox::table
        .filter(outbox::project_id.eq(app.project_id))
        .filter(outbox::kind.eq("channel_health"))
        .order(outbox::id.asc())
        .select((outbox::to_address, outbox::subject))
        .load(&mut app.db().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_refused_token_emails_every_channel_manager_once_per_change() {
    use crate::common::smtp::SmtpServer;
    let smtp = SmtpServer::start(&[]).await;
    let fake = FakeGraph::start().await;
    let page = PageSetup::default();
    // The fake knows the Page with another token: ours gets error 190.
    fake.add_page(&page.page_id, "the-new-token", &page.page_name)
        .await;
    let (graph, mail) = (fake.configure(), smtp.configure());
    let app = TestApp::start_with(move |c| {
        graph(c);
        mail(c);
    })
    .await;
    let owner = app.owner().await;
    app.member(app.project_id, "admin", "admin").await;
    app.member(app.project_id, "agent", "agent").await;
    let mut db = app.db().await;
    let channel_id = mx::insert_page(&mut db, &mx::test_secrets(), app.project_id, &page).await;
    let person = mx::insert_person(
        &mut db,
        app.project_id,
        channel_id,
        PSID,
        Some(Utc::now() - Span::hours(1)),
    )
    .await;
    let path = format!(
        "/api/projects/{}/sessions/{}/messages",
        app.project_id, person.session_id
    );
    let (status, body) = app
        .call(
            &owner,
            Method::POST,
            &path,
            Some(json!({"client_id": "c1", "text": "hello"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["message"]["message_id"].as_i64().unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while mx::outbound_of(&mut app.db().await, id).await.unwrap().0 != "failed" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the send never failed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The owner and the admin manage channels; the agent does not.
    let mails = health_mails(&app).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(
        mails.iter().all(|(to, _)| !to.starts_with("agent-")),
        "{mails:?}"
    );
    assert_eq!(mails[0].1, "Messenger Page \"Acme\" needs attention");
    let sent = smtp.wait_for_mails(2, WAIT).await;
    assert_eq!(sent.len(), 2);

    // The contact sync meets the same refusal: still the same change, no new mail. The job's
    // end is the barrier (its health update comes before it).
    let (status, body) = app
        .call(
            &owner,
            Method::POST,
            &format!(
                "/api/projects/{}/channels/{channel_id}/sync",
                app.project_id
            ),
            Some(json!({"scope": "recent"})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let sync = format!(
        "/api/projects/{}/channels/{channel_id}/sync",
        app.project_id
    );
    eventually("the sync fails", || async {
        app.get_json(&owner, &sync).await["state"] == "failed"
    })
    .await;
    assert_eq!(health_mails(&app).await.len(), 2);
}
