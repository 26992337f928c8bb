//! Two real server processes on one database and one Redis: one is killed with SIGKILL in
//! the middle of a conversation, and its visitor and agent carry on through the other — every
//! message once, by `seq`, nothing lost, nothing doubled. Postgres holds the conversation, so
//! this needs no cross-server fan-out: each client resumes from the database.

use crate::common::binary::Binary;
use crate::common::redis::RedisServer;
use crate::common::ws::{message_in, Next, WsClient};
use crate::common::{fresh_database, temp_dir};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use switchboard::domain::bootstrap;

/// Both servers seal and sign with one key: a visitor token one issued is valid on the other.
const KEY_HEX: &str = "5a69788796a5b4c3d2e1f00f1e2d3c4b0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// One client's socket and every `seq` of the session it has received, in arrival order.
struct Side {
    ws: WsClient,
    seqs: Vec<i64>,
    sid: i64,
    /// An agent's `resume` names its session; a visitor's is of its open session.
    agent: bool,
}

impl Side {
    fn note(&mut self, f: &Value) {
        if message_in(self.sid)(f) {
            self.seqs.push(f["seq"].as_i64().unwrap());
        }
    }

    /// Reads until the message `seq` of the session has arrived.
    async fn until_seq(&mut self, seq: i64) {
        while !self.seqs.contains(&seq) {
            let f = self.ws.recv().await;
            self.note(&f);
        }
    }

    /// Sends a message; returns its `seq` once it is acknowledged.
    async fn send(&mut self, frame: Value) -> i64 {
        let client_id = frame["client_id"].clone();
        self.ws.send(frame).await;
        loop {
            let f = self.ws.recv().await;
            self.note(&f);
            if f["type"] == "ack" && f["client_id"] == client_id {
                return f["seq"].as_i64().unwrap();
            }
            assert_ne!(f["type"], "error", "{f}");
        }
    }

    /// The frames the dead server had written, up to the end of the socket.
    async fn drain(&mut self) {
        loop {
            match self.ws.next_within(crate::common::WAIT).await {
                Next::Frame(f) => self.note(&f),
                Next::Closed => return,
                Next::Nothing => panic!("the killed server's socket did not end"),
            }
        }
    }

    /// The highest `seq` up to which this side holds every message.
    fn resume_point(&self) -> i64 {
        let held: BTreeSet<i64> = self.seqs.iter().copied().collect();
        (1..).take_while(|s| held.contains(s)).last().unwrap_or(0)
    }

    /// `resume` from the resume point, until its `ok`.
    async fn resume(&mut self) {
        let mut frame =
            json!({"v": 1, "type": "resume", "after_seq": self.resume_point(), "ref": "r"});
        if self.agent {
            frame["session_id"] = json!(self.sid);
        }
        self.ws.send(frame).await;
        loop {
            let f = self.ws.recv().await;
            self.note(&f);
            if f["type"] == "ok" && f["ref"] == "r" {
                return;
            }
            assert_ne!(f["type"], "error", "{f}");
        }
    }
}

fn visitor_send(client_id: &str, text: &str) -> Value {
    json!({"v": 1, "type": "send", "client_id": client_id, "text": text})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_conversation_its_clients_resume_complete_on_the_other() {
    let db_url = fresh_database().await;
    let mut db = AsyncPgConnection::establish(&db_url).await.unwrap();
    let first = bootstrap::ensure_first_owner(&mut db)
        .await
        .unwrap()
        .unwrap();
    let (pid, key) = (
        first.channel.project_id,
        first.channel.widget_key.clone().unwrap(),
    );
    let redis = RedisServer::start().await;
    let env = [
        ("SWITCHBOARD_REDIS_URL", redis.url()),
        ("SWITCHBOARD_SECRET_KEY", KEY_HEX.to_owned()),
        (
            "SWITCHBOARD_DATA_DIR",
            temp_dir("failover").display().to_string(),
        ),
    ];
    let one = Binary::start(&db_url, &env).await;
    let two = Binary::start(&db_url, &env).await;
    let token = one.bearer_token(&first.email, &first.password).await;
    let visitor_url = |s: &Binary| format!("{}/ws/visitor?key={key}", s.ws());
    let agent_url = |s: &Binary| format!("{}/ws/agent?project={pid}", s.ws());

    // A conversation on server one.
    let mut v = WsClient::connect(&visitor_url(&one), None).await;
    let hello = v.recv_type("hello").await;
    let visitor_token = hello["visitor_token"].as_str().unwrap().to_owned();
    v.send(visitor_send("v1", "hello?")).await;
    // The session is opened by this message: its `message` may come before the `ack`.
    let (before, ack) = v.recv_until_barrier(|f| f["type"] == "ack").await;
    let sid = ack["session_id"].as_i64().unwrap();
    let mut visitor = Side {
        ws: v,
        seqs: Vec::new(),
        sid,
        agent: false,
    };
    for f in &before {
        visitor.note(f);
    }
    visitor.until_seq(1).await;
    let mut a = WsClient::connect(&agent_url(&one), Some(&token)).await;
    a.recv_type("hello").await;
    let mut agent = Side {
        ws: a,
        seqs: Vec::new(),
        sid,
        agent: true,
    };
    agent.resume().await;
    let agent_send = |client_id: &str, text: &str| json!({"v": 1, "type": "send", "session_id": sid, "client_id": client_id, "text": text});
    for (i, who) in ["agent", "visitor", "agent", "visitor"].iter().enumerate() {
        let id = format!("m{i}");
        let seq = if *who == "agent" {
            agent.send(agent_send(&id, "…")).await
        } else {
            visitor.send(visitor_send(&id, "…")).await
        };
        visitor.until_seq(seq).await;
        agent.until_seq(seq).await;
    }
    // One more from each, not waited for, and the server dies: stored or not, nobody knows.
    visitor
        .ws
        .send(visitor_send("late-v", "are you there?"))
        .await;
    agent.ws.send(agent_send("late-a", "one moment")).await;
    one.kill_9().await;
    visitor.drain().await;
    agent.drain().await;

    // Both reconnect to server two, resume from what they hold, and send their unacknowledged
    // message again with the same client id.
    let mut a = WsClient::connect(&agent_url(&two), Some(&token)).await;
    a.recv_type("hello").await;
    agent.ws = a;
    agent.resume().await;
    let late_a = agent.send(agent_send("late-a", "one moment")).await;
    let mut v = WsClient::connect(
        &format!("{}&token={visitor_token}", visitor_url(&two)),
        None,
    )
    .await;
    let hello = v.recv_type("hello").await;
    assert_eq!(hello["session_id"], sid, "{hello}");
    visitor.ws = v;
    visitor.resume().await;
    let late_v = visitor.send(visitor_send("late-v", "are you there?")).await;
    // And the conversation goes on, both ways.
    let from_visitor = visitor.send(visitor_send("after-v", "thanks")).await;
    agent.until_seq(from_visitor).await;
    let from_agent = agent.send(agent_send("after-a", "you're welcome")).await;
    visitor.until_seq(from_agent).await;
    agent.until_seq(late_v).await;
    visitor.until_seq(late_a).await;

    // 1 + 4 + 2 late + 2 after: each stored once, and each side holds each once.
    let last = 9;
    assert_eq!(from_agent, last);
    for (who, side) in [("visitor", &visitor), ("agent", &agent)] {
        let mut seqs = side.seqs.clone();
        seqs.sort_unstable();
        assert_eq!(
            seqs,
            (1..=last).collect::<Vec<_>>(),
            "{who}: {:?}",
            side.seqs
        );
    }
    // Nothing more is on its way: a ping's pong is the barrier.
    for side in [&mut visitor, &mut agent] {
        side.ws
            .send(json!({"v": 1, "type": "ping", "ref": "end"}))
            .await;
        let (before, _) = side
            .ws
            .recv_until_barrier(|f| f["type"] == "pong" && f["ref"] == "end")
            .await;
        assert!(before.iter().all(|f| !message_in(sid)(f)), "{before:?}");
    }
    let stored = {
        use diesel::{ExpressionMethods, QueryDsl};
        use diesel_async::RunQueryDsl;
        use switchboard::db::schema::messages;
        messages::table
            .filter(messages::session_id.eq(sid))
            .count()
            .get_result::<i64>(&mut db)
            .await
            .unwrap()
    };
    assert_eq!(stored, last);
    two.kill_9().await;
}
