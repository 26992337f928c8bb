//! Several servers on one PostgreSQL and one Redis (`--redis-url`): committed events cross
//! between servers through the bus, and a Redis outage ends in every local socket resuming
//! from the database (close 4009). Two in-process servers on one database, a real Redis.

use crate::common::redis::RedisServer;
use crate::common::{eventually, visitor_says, Agent, TestApp, WsClient, WAIT};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Two servers, A and B, on one database and one Redis, both subscribed.
struct Pair {
    redis: RedisServer,
    a: TestApp,
    b: TestApp,
}

async fn two_servers() -> Pair {
    let redis = RedisServer::start().await;
    let url = redis.url();
    let a = TestApp::start_with(move |c| c.redis_url = Some(url.clone())).await;
    let b = a.another_server().await;
    for s in [&a, &b] {
        redis_becomes(s, "ok").await;
    }
    Pair { redis, a, b }
}

async fn health(app: &TestApp) -> (u16, Value) {
    let res = reqwest::get(format!("{}/healthz", app.url()))
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn redis_becomes(app: &TestApp, state: &str) {
    eventually(&format!("/healthz says redis {state}"), || async {
        health(app).await.1["redis"] == state
    })
    .await;
}

/// The `seq`s of session `sid`'s message frames, in arrival order, up to and including `last`.
async fn seqs_until(ws: &mut WsClient, sid: i64, last: i64) -> Vec<i64> {
    let (before, barrier) = ws
        .recv_until_barrier(|f| {
            f["type"] == "message" && f["session_id"] == sid && f["seq"] == last
        })
        .await;
    let mut seqs: Vec<i64> = before
        .iter()
        .filter(|f| f["type"] == "message" && f["session_id"] == sid)
        .map(|f| f["seq"].as_i64().unwrap())
        .collect();
    seqs.push(barrier["seq"].as_i64().unwrap());
    seqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_on_both_servers_get_every_message_in_order_once_and_a_reply_from_b_reaches_the_visitor_on_a(
) {
    let p = two_servers().await;
    let (a, b, pid) = (&p.a, &p.b, p.a.project_id);
    let mut agent_a = a.agent_ws(&a.owner().await, pid).await;
    let owner_b = b.owner().await;
    let mut agent_b = b.agent_ws(&owner_b, pid).await;
    let (mut v, sid) = a.open_session("m1").await;
    for i in 2..=20 {
        visitor_says(&mut v, &format!("c{i}"), &format!("m{i}")).await;
    }
    agent_b
        .send(
            json!({"v": 1, "type": "send", "session_id": sid, "client_id": "r1", "text": "from B"}),
        )
        .await;
    for ws in [&mut agent_a, &mut agent_b] {
        assert_eq!(seqs_until(ws, sid, 21).await, (1..=21).collect::<Vec<_>>());
    }
    let reply = v
        .recv_until_barrier(|f| f["type"] == "message" && f["seq"] == 21)
        .await
        .1;
    assert_eq!(
        (reply["sender"].as_str(), reply["text"].as_str()),
        (Some("agent"), Some("from B"))
    );
    // Once: the next message frame of the session either agent gets is the next message.
    visitor_says(&mut v, "c22", "m22").await;
    for ws in [&mut agent_a, &mut agent_b] {
        let (before, next) = ws.recv_until_barrier(|f| f["type"] == "message").await;
        assert_eq!(next["seq"], 22, "frames before it: {before:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_made_through_a_closes_the_members_socket_on_b_with_4003() {
    let p = two_servers().await;
    let (a, b, pid) = (&p.a, &p.b, p.a.project_id);
    let owner = a.owner().await;
    let amy = a.member(pid, "agent", "amy").await;
    let admin_role = crate::common::role_id(a, &owner, a.project_id, "admin").await;
    let mut amy_on_b = b.agent_ws(&amy, pid).await;
    let path = format!("/api/projects/{pid}/members/{}", amy.user_id);
    let status = a
        .status_of(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({"role_id": admin_role})),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(amy_on_b.closed_code().await, Some(4003));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_edit_through_a_shows_in_the_next_session_frame_of_bs_session_actor() {
    let p = two_servers().await;
    let (a, b, pid) = (&p.a, &p.b, p.a.project_id);
    let (v, sid) = a.open_session("hello").await;
    let cid = a.contact_of(&v).await;
    let owner_b = b.owner().await;
    let mut ws_b = b.agent_ws(&owner_b, pid).await;
    // B's session actor for the session starts, and caches the contact's names.
    b.assign(&owner_b, sid, Some(owner_b.user_id)).await;
    let assigned = ws_b
        .recv_until_barrier(|f| {
            f["type"] == "session" && f["session"]["assignee_id"] == owner_b.user_id
        })
        .await
        .1;
    assert!(assigned["session"]["note_name"].is_null(), "{assigned}");
    let owner_a = a.owner().await;
    let path = format!("/api/projects/{pid}/contacts/{cid}");
    let (s, c) = a
        .call(
            &owner_a,
            Method::PATCH,
            &path,
            Some(json!({"note_name": "Big client"})),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let contact = ws_b.recv_type("contact").await;
    assert_eq!(contact["contact"]["note_name"], "Big client");
    b.assign(&owner_b, sid, None).await;
    let queued = ws_b
        .recv_until_barrier(|f| f["type"] == "session" && f["session"]["assignee_id"].is_null())
        .await
        .1;
    assert_eq!(queued["session"]["note_name"], "Big client", "{queued}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_typing_on_b_reaches_an_agent_on_a() {
    let p = two_servers().await;
    let (a, b, pid) = (&p.a, &p.b, p.a.project_id);
    let mut agent_a = a.agent_ws(&a.owner().await, pid).await;
    let (mut v, sid) = b.open_session("hi").await;
    assert_eq!(seqs_until(&mut agent_a, sid, 1).await, vec![1]);
    v.send(json!({"v": 1, "type": "typing", "on": true})).await;
    let t = agent_a.recv_type("typing").await;
    assert_eq!(
        (
            t["session_id"].as_i64(),
            t["from"].as_str(),
            t["on"].as_bool()
        ),
        (Some(sid), Some("visitor"), Some(true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitors_pending_tab_on_b_follows_the_conversation_their_tab_on_a_starts() {
    let p = two_servers().await;
    let (a, b) = (&p.a, &p.b);
    let mut tab_b = b.visitor().await;
    let token = tab_b.hello.as_ref().unwrap()["visitor_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tab_a = a.visitor_with(Some(&token)).await;
    assert!(
        tab_a.hello.as_ref().unwrap()["contact_id"].is_null(),
        "pending on A too"
    );
    let sid = visitor_says(&mut tab_a, "c1", "hi").await["session_id"]
        .as_i64()
        .unwrap();
    let m = tab_b.recv_type("message").await;
    assert_eq!(
        (m["session_id"].as_i64(), m["seq"].as_i64()),
        (Some(sid), Some(1))
    );
    // And it can write into that session from B.
    let ack = visitor_says(&mut tab_b, "c2", "from the other tab").await;
    assert_eq!(
        (ack["session_id"].as_i64(), ack["seq"].as_i64()),
        (Some(sid), Some(2))
    );
}

/// A's session actor caches the session's row for typing's audience; a reassignment made on B
/// must reach that cache, or the former assignee's typing would still reach the visitor and
/// the new one's would not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reassignment_on_b_moves_typing_on_a_to_the_new_assignee() {
    let p = two_servers().await;
    let (a, b, pid) = (&p.a, &p.b, p.a.project_id);
    a.set_role_scope(pid, "agent", "own").await;
    let owner = a.owner().await;
    let bob = a.member(pid, "agent", "bob").await;
    let amy = a.member(pid, "agent", "amy").await;
    let (mut v, sid) = a.open_session("hello").await;
    a.assign(&owner, sid, Some(bob.user_id)).await;
    let mut bob_ws = a.agent_ws(&bob, pid).await;
    let mut amy_ws = a.agent_ws(&amy, pid).await;
    // A's actor has the row (assigned to Bob) cached: Bob's typing reaches the visitor.
    bob_ws
        .send(json!({"v": 1, "type": "typing", "session_id": sid, "on": true}))
        .await;
    let t = v.recv_type("typing").await;
    assert_eq!(t["user_id"], bob.user_id);
    b.assign(&b.owner().await, sid, Some(amy.user_id)).await;
    // Bob hears (through the bus) that the session left his scope; Amy that it is hers.
    bob_ws
        .recv_until_barrier(|f| {
            f["type"] == "session" && f["session"]["assignee_id"] == amy.user_id
        })
        .await;
    amy_ws
        .recv_until_barrier(|f| {
            f["type"] == "session" && f["session"]["assignee_id"] == amy.user_id
        })
        .await;
    bob_ws
        .send(json!({"v": 1, "type": "typing", "session_id": sid, "on": false}))
        .await;
    amy_ws
        .send(json!({"v": 1, "type": "typing", "session_id": sid, "on": true}))
        .await;
    let amys = v
        .assert_none_before_barrier(
            |f| f["type"] == "typing" && f["user_id"] == bob.user_id,
            |f| f["type"] == "typing" && f["user_id"] == amy.user_id,
        )
        .await;
    assert_eq!(amys["on"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_session_counters_are_the_same_on_both_servers() {
    let p = two_servers().await;
    let (a, b, pid) = (&p.a, &p.b, p.a.project_id);
    let (owner_a, owner_b) = (a.owner().await, b.owner().await);
    let (_v1, _) = a.open_session("one").await;
    let (_v2, _) = a.open_session("two").await;
    let (_v3, _) = b.open_session("three").await;
    let path = format!("/api/projects/{pid}/stats");
    eventually("both servers count three open sessions", || async {
        let (sa, sb) = (
            a.get_json(&owner_a, &path).await,
            b.get_json(&owner_b, &path).await,
        );
        sa == sb && sa["unassigned"] == 3
    })
    .await;
    let s = a.get_json(&owner_a, &path).await;
    assert_eq!(
        (s["unassigned"].as_i64(), s["messages_since_start"].as_i64()),
        (Some(3), Some(3)),
        "{s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_follows_redis_down_and_back_and_stays_200() {
    let mut p = two_servers().await;
    eventually("A sees its first heartbeat", || async {
        health(&p.a).await.1["redis_heartbeat_at"].is_string()
    })
    .await;
    assert_eq!(health(&p.a).await.1["ready"], true);
    p.redis.stop().await;
    for s in [&p.a, &p.b] {
        redis_becomes(s, "down").await;
        let (status, h) = health(s).await;
        // It still serves its own connections: live, not ready.
        assert_eq!((status, &h["ready"]), (200, &json!(false)), "{h}");
    }
    p.redis.start_again().await;
    for s in [&p.a, &p.b] {
        redis_becomes(s, "ok").await;
        assert_eq!(health(s).await.1["ready"], true);
    }
}

/// A client that follows sessions across reconnects: it records every message frame (by
/// session and seq, and checks that no socket sends one twice), and when the server closes
/// its socket it records the code, reconnects and resumes each session from its resume point.
struct Follower<'a> {
    app: &'a TestApp,
    who: Who<'a>,
    ws: Option<WsClient>,
    sessions: Vec<i64>,
    seen: BTreeMap<i64, BTreeSet<i64>>,
    this_socket: BTreeSet<(i64, i64)>,
    closes: Vec<Option<u16>>,
}

enum Who<'a> {
    Agent(&'a Agent),
    Visitor { token: String },
}

impl<'a> Follower<'a> {
    /// An agent connected now, resuming the sessions from their start.
    async fn agent(app: &'a TestApp, agent: &'a Agent, sessions: &[i64]) -> Follower<'a> {
        let mut f = Self::with(app, Who::Agent(agent), None, sessions);
        f.reconnect().await;
        f
    }

    fn visitor(app: &'a TestApp, ws: WsClient, sid: i64) -> Follower<'a> {
        let hello = ws.hello.as_ref().unwrap();
        let token = hello["visitor_token"].as_str().unwrap().to_owned();
        let mut f = Self::with(app, Who::Visitor { token }, Some(ws), &[sid]);
        // Its first message's frame may have come before its ack (`open_session` skips it).
        f.seen.get_mut(&sid).unwrap().insert(1);
        f
    }

    fn with(
        app: &'a TestApp,
        who: Who<'a>,
        ws: Option<WsClient>,
        sessions: &[i64],
    ) -> Follower<'a> {
        Follower {
            app,
            who,
            ws,
            sessions: sessions.to_vec(),
            seen: sessions.iter().map(|s| (*s, BTreeSet::new())).collect(),
            this_socket: BTreeSet::new(),
            closes: Vec::new(),
        }
    }

    /// The highest seq up to which every message of `sid` arrived.
    fn point(&self, sid: i64) -> i64 {
        let mut n = 0;
        while self.seen[&sid].contains(&(n + 1)) {
            n += 1;
        }
        n
    }

    fn record(&mut self, f: &Value) {
        if f["type"] != "message" {
            return;
        }
        let (sid, seq) = (
            f["session_id"].as_i64().unwrap(),
            f["seq"].as_i64().unwrap(),
        );
        assert!(
            self.this_socket.insert((sid, seq)),
            "one socket sent ({sid}, {seq}) twice"
        );
        if let Some(s) = self.seen.get_mut(&sid) {
            s.insert(seq);
        }
    }

    async fn reconnect(&mut self) {
        self.this_socket.clear();
        let mut ws = match &self.who {
            Who::Agent(agent) => self.app.agent_ws(agent, self.app.project_id).await,
            Who::Visitor { token } => self.app.visitor_with(Some(token)).await,
        };
        for sid in self.sessions.clone() {
            let after = self.point(sid);
            let resume = match self.who {
                Who::Agent(_) => {
                    json!({"v": 1, "type": "resume", "session_id": sid, "after_seq": after})
                }
                Who::Visitor { .. } => json!({"v": 1, "type": "resume", "after_seq": after}),
            };
            // A socket closed meanwhile (a second resync) is found closed by the next read.
            if !ws.try_send(resume).await {
                break;
            }
        }
        self.ws = Some(ws);
    }

    /// The next frame within `d` (recorded), or `Err` once the socket closed (the close
    /// recorded, and the socket gone: the next call reconnects).
    async fn step(&mut self, d: Duration) -> Result<Option<Value>, Option<u16>> {
        if self.ws.is_none() {
            self.reconnect().await;
        }
        match self.ws.as_mut().unwrap().next_or_close(d).await {
            Ok(Some(f)) => {
                self.record(&f);
                Ok(Some(f))
            }
            Ok(None) => Ok(None),
            Err(code) => {
                self.ws = None;
                self.closes.push(code);
                Err(code)
            }
        }
    }

    /// Reads (reconnecting after each close) until every session holds 1..=`last[sid]`.
    async fn until_complete(&mut self, last: &BTreeMap<i64, i64>) {
        let deadline = tokio::time::Instant::now() + WAIT * 2;
        while self.sessions.iter().any(|s| self.point(*s) < last[s]) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "incomplete: {:?}",
                self.seen
            );
            let _ = self.step(Duration::from_millis(200)).await;
        }
    }

    /// Waits for the server to close the socket (recording what came before); its code.
    async fn closed(&mut self) -> Option<u16> {
        assert!(self.ws.is_some(), "no socket open");
        loop {
            match self.step(WAIT).await {
                Ok(Some(_)) => {}
                Ok(None) => panic!("the socket was not closed in time"),
                Err(code) => return code,
            }
        }
    }

    /// A visitor's message and its ack; after a close before the ack it is sent again with
    /// the same client id on the next socket.
    async fn say(&mut self, client_id: &str) {
        loop {
            if self.ws.is_none() {
                self.reconnect().await;
            }
            let send = json!({"v": 1, "type": "send", "client_id": client_id, "text": client_id});
            let _ = self.ws.as_mut().unwrap().try_send(send).await;
            loop {
                match self.step(WAIT).await {
                    Ok(Some(f)) if f["type"] == "ack" && f["client_id"] == client_id => return,
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("no ack for {client_id}"),
                    Err(_) => break,
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_redis_restart_mid_traffic_every_socket_resumes_with_nothing_lost_or_doubled() {
    let mut p = two_servers().await;
    let (owner_a, owner_b) = (p.a.owner().await, p.b.owner().await);
    let (v1, s1) = p.a.open_session("v1-1").await;
    let (v2, s2) = p.b.open_session("v2-1").await;
    let mut agent_a = Follower::agent(&p.a, &owner_a, &[s1, s2]).await;
    let mut agent_b = Follower::agent(&p.b, &owner_b, &[s1, s2]).await;
    let mut v1 = Follower::visitor(&p.a, v1, s1);
    let mut v2 = Follower::visitor(&p.b, v2, s2);
    for i in 2..=3 {
        v1.say(&format!("v1-{i}")).await;
        v2.say(&format!("v2-{i}")).await;
    }
    let upto = |n: i64| BTreeMap::from([(s1, n), (s2, n)]);
    agent_a.until_complete(&upto(3)).await;
    agent_b.until_complete(&upto(3)).await;

    // Redis goes away; each server goes on serving its own sockets.
    p.redis.stop().await;
    redis_becomes(&p.a, "down").await;
    redis_becomes(&p.b, "down").await;
    for i in 4..=6 {
        v1.say(&format!("v1-{i}")).await;
        v2.say(&format!("v2-{i}")).await;
    }
    p.redis.start_again().await;
    // Every socket on both servers is told to resume.
    for f in [&mut agent_a, &mut agent_b, &mut v1, &mut v2] {
        assert_eq!(f.closed().await, Some(4009));
    }
    for i in 7..=8 {
        v1.say(&format!("v1-{i}")).await;
        v2.say(&format!("v2-{i}")).await;
    }
    agent_a.until_complete(&upto(8)).await;
    agent_b.until_complete(&upto(8)).await;
    v1.until_complete(&BTreeMap::from([(s1, 8)])).await;
    v2.until_complete(&BTreeMap::from([(s2, 8)])).await;
    for f in [&agent_a, &agent_b] {
        for sid in [s1, s2] {
            assert_eq!(f.seen[&sid], (1..=8).collect(), "session {sid}");
        }
        // Any later close is a resync too (a server whose publishes failed tells the others).
        assert!(f.closes.iter().all(|c| *c == Some(4009)), "{:?}", f.closes);
    }
    assert_eq!(v1.seen[&s1], (1..=8).collect());
    assert_eq!(v2.seen[&s2], (1..=8).collect());
}

/// The scrape's value of a sample without labels (0 when absent).
async fn metric(app: &TestApp, name: &str) -> f64 {
    crate::common::scraped(&app.url(), name)
        .await
        .unwrap_or(0.0)
}

/// Centrifugo's issue 1189: a subscriber whose connection stays open but hears nothing while
/// health stays green. Redis pausing writes blocks every PUBLISH, heartbeats included, while
/// the subscriber's socket stays up: it must notice, subscribe again and resync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_hearing_its_own_heartbeats_subscribes_again_and_resyncs() {
    let p = two_servers().await;
    let (a, pid) = (&p.a, p.a.project_id);
    let mut agent = a.agent_ws(&a.owner().await, pid).await;
    assert_eq!(metric(a, "switchboard_bus_resyncs_total").await, 0.0);
    let client = redis::Client::open(p.redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(6000)
        .arg("WRITE")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(agent.closed_code().await, Some(4009));
    assert!(metric(a, "switchboard_bus_resyncs_total").await >= 1.0);
    redis_becomes(a, "ok").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_on_two_servers_replying_to_one_session_at_once_both_see_every_seq_in_order_once(
) {
    let p = two_servers().await;
    let (a, b, pid) = (&p.a, &p.b, p.a.project_id);
    let mut agent_a = a.agent_ws(&a.owner().await, pid).await;
    let admin = a.member(pid, "admin", "second").await;
    let mut agent_b = b.agent_ws(&admin, pid).await;
    let (mut v, sid) = a.open_session("hello").await;
    const EACH: i64 = 15;
    // Both agents write their replies without waiting for any ack, at the same moment: the two
    // servers' committers interleave them on the session row, so each agent's own server
    // delivers its replies at once and the other's later, out of order, through Redis.
    for i in 1..=EACH {
        for (ws, who) in [(&mut agent_a, "a"), (&mut agent_b, "b")] {
            ws.send(json!({"v": 1, "type": "send", "session_id": sid,
                           "client_id": format!("{who}{i}"), "text": format!("{who} {i}")}))
                .await;
        }
    }
    let last = 1 + 2 * EACH;
    for ws in [&mut agent_a, &mut agent_b] {
        assert_eq!(
            seqs_until(ws, sid, last).await,
            (1..=last).collect::<Vec<_>>()
        );
    }
    // The visitor's first message (seq 1) was read by `open_session`.
    assert_eq!(
        seqs_until(&mut v, sid, last).await,
        (2..=last).collect::<Vec<_>>()
    );
    assert_eq!(a.message_count(sid).await, last);
    // Once: the next message frame either agent gets is the next message.
    visitor_says(&mut v, "after", "after").await;
    for ws in [&mut agent_a, &mut agent_b] {
        let (before, next) = ws.recv_until_barrier(|f| f["type"] == "message").await;
        assert_eq!(next["seq"], last + 1, "frames before it: {before:?}");
    }
}

/// Events another server published that this one cannot read (a newer version's kind during a
/// rolling upgrade, a corrupted payload) are events missed: its connections resume from the
/// database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_envelope_this_server_cannot_read_makes_its_sockets_resume() {
    let p = two_servers().await;
    let (a, pid) = (&p.a, p.a.project_id);
    let mut agent = a.agent_ws(&a.owner().await, pid).await;
    assert_eq!(metric(a, "switchboard_bus_resyncs_total").await, 0.0);
    let client = redis::Client::open(p.redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = redis::cmd("PUBLISH")
        .arg("switchboard:events")
        .arg(r#"{"node":"someone-else","events":[{"NoSuchEvent":{}}]}"#)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(agent.closed_code().await, Some(4009));
    assert!(metric(a, "switchboard_bus_resyncs_total").await >= 1.0);
    // Still subscribed: the next events from B arrive live.
    assert_eq!(health(a).await.1["redis"], "ok");
}
