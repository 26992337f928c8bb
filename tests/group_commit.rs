//! Group commit on the message path (`actors::committer`): posts of many sessions share a
//! transaction, and every guarantee of one post per transaction still holds.

use crate::common::ws::WsClient;
use crate::common::TestApp;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};
use std::collections::HashMap;

#[derive(QueryableByName, Debug)]
struct Stored {
    #[diesel(sql_type = BigInt)]
    session_id: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Nullable<Text>)]
    client_id: Option<String>,
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Every message of these sessions, by session, in seq order.
async fn stored(app: &TestApp, sids: &[i64]) -> HashMap<i64, Vec<Stored>> {
    let mut conn = app.db().await;
    let rows: Vec<Stored> = diesel::sql_query(
        "SELECT session_id, seq, client_id, id FROM messages \
         WHERE session_id = ANY($1) ORDER BY session_id, seq",
    )
    .bind::<diesel::sql_types::Array<BigInt>, _>(sids.to_vec())
    .load(&mut conn)
    .await
    .unwrap();
    let mut out: HashMap<i64, Vec<Stored>> = HashMap::new();
    for r in rows {
        out.entry(r.session_id).or_default().push(r);
    }
    out
}

fn send(client_id: &str, text: &str) -> Value {
    json!({"v": 1, "type": "send", "client_id": client_id, "text": text})
}

/// Acks (and refusals) in arrival order until `n` of them came.
async fn answers(v: &mut WsClient, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        let f = v.recv().await;
        if f["type"] == "ack" || f["type"] == "error" {
            out.push(f);
        }
    }
    out
}

#[tokio::test]
async fn many_sessions_posting_at_once_keep_each_seq_gapless_and_in_order_and_every_ack_is_stored()
{
    // One writer and small batches: the burst below is certain to share transactions.
    let app = TestApp::start_with(|c| {
        c.commit.writers = 1;
        c.commit.max_batch = 16;
    })
    .await;
    const VISITORS: usize = 12;
    const EACH: usize = 15;
    let mut visitors = Vec::new();
    for _ in 0..VISITORS {
        visitors.push(app.visitor().await);
    }
    // Every visitor writes its burst without waiting for acks, all at the same time.
    for (i, v) in visitors.iter_mut().enumerate() {
        for k in 0..EACH {
            v.send(send(&format!("v{i}-{k}"), &format!("message {k}")))
                .await;
        }
    }
    let mut acks_by_session: HashMap<i64, Vec<Value>> = HashMap::new();
    for (i, v) in visitors.iter_mut().enumerate() {
        let got = answers(v, EACH).await;
        for (k, a) in got.iter().enumerate() {
            assert_eq!(a["type"], "ack", "{a}");
            assert_eq!(
                a["client_id"],
                format!("v{i}-{k}"),
                "acks come in send order"
            );
            assert_eq!(a["seq"], (k + 1) as i64, "seq 1, 2, 3… without gaps");
        }
        let sid = got[0]["session_id"].as_i64().unwrap();
        assert!(got.iter().all(|a| a["session_id"] == sid));
        acks_by_session.insert(sid, got);
    }
    let sids: Vec<i64> = acks_by_session.keys().copied().collect();
    assert_eq!(sids.len(), VISITORS);
    let rows = stored(&app, &sids).await;
    for (sid, acks) in &acks_by_session {
        let rows = &rows[sid];
        assert_eq!(rows.len(), EACH, "session {sid}: exactly one row per send");
        for (k, (row, ack)) in rows.iter().zip(acks).enumerate() {
            assert_eq!(row.seq, (k + 1) as i64);
            assert_eq!(row.id, ack["message_id"].as_i64().unwrap(), "the acked row");
            assert_eq!(row.client_id.as_deref(), ack["client_id"].as_str());
        }
    }
}

#[tokio::test]
async fn a_post_refused_amid_a_burst_gets_its_error_and_the_posts_around_it_commit() {
    let app = TestApp::start_with(|c| {
        c.commit.writers = 1;
        c.commit.max_batch = 64;
    })
    .await;
    let owner = app.owner().await;
    let (_ended_visitor, ended) = app.open_session("I will be ended").await;
    let path = format!("/api/projects/{}/sessions/{ended}/end", app.project_id);
    assert_eq!(
        app.status_of(&owner, reqwest::Method::POST, &path, None)
            .await,
        200
    );
    let mut open = Vec::new();
    for i in 0..6 {
        open.push(app.open_session(&format!("open {i}")).await.1);
    }
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    // Replies to six open sessions with one to the ended session in the middle of them,
    // written back to back so that they reach the committer together.
    for round in 0..3 {
        for (i, sid) in open.iter().enumerate() {
            if i == 3 {
                agent
                    .send(json!({"v": 1, "type": "send", "session_id": ended,
                                 "client_id": format!("late-{round}"), "text": "too late"}))
                    .await;
            }
            agent
                .send(json!({"v": 1, "type": "send", "session_id": sid,
                             "client_id": format!("r{round}-{i}"), "text": "hello"}))
                .await;
        }
    }
    let got = answers(&mut agent, 3 * (open.len() + 1)).await;
    let mut refused = 0;
    for a in &got {
        let cid = a["client_id"].as_str().or(a["ref"].as_str()).unwrap();
        if cid.starts_with("late-") {
            assert_eq!(
                (a["type"].as_str(), a["code"].as_str()),
                (Some("error"), Some("session_ended")),
                "{a}"
            );
            refused += 1;
        } else {
            assert_eq!(a["type"], "ack", "{a}");
        }
    }
    assert_eq!(refused, 3);
    let rows = stored(&app, &open).await;
    for sid in &open {
        let seqs: Vec<i64> = rows[sid].iter().map(|r| r.seq).collect();
        assert_eq!(
            seqs,
            vec![1, 2, 3, 4],
            "session {sid}: the first message and three replies"
        );
    }
    let ended_rows = stored(&app, &[ended]).await;
    assert_eq!(
        ended_rows[&ended].len(),
        1,
        "nothing stored in the ended session"
    );
}

#[tokio::test]
async fn a_client_id_repeated_across_one_burst_is_stored_once_per_session_and_acked_with_the_original(
) {
    let app = TestApp::start_with(|c| c.commit.writers = 1).await;
    let owner = app.owner().await;
    let mut sids = Vec::new();
    for i in 0..5 {
        sids.push(app.open_session(&format!("hi {i}")).await.1);
    }
    let mut agent = app.agent_ws(&owner, app.project_id).await;
    // The same client id in every session, each sent twice, interleaved.
    for _ in 0..2 {
        for sid in &sids {
            agent
                .send(json!({"v": 1, "type": "send", "session_id": sid,
                             "client_id": "same", "text": "once"}))
                .await;
        }
    }
    let got = answers(&mut agent, 2 * sids.len()).await;
    let mut by_session: HashMap<i64, Vec<&Value>> = HashMap::new();
    for a in &got {
        assert_eq!(a["type"], "ack", "{a}");
        by_session
            .entry(a["session_id"].as_i64().unwrap())
            .or_default()
            .push(a);
    }
    let rows = stored(&app, &sids).await;
    for sid in &sids {
        let acks = &by_session[sid];
        assert_eq!(acks.len(), 2);
        assert_eq!(
            acks[0]["message_id"], acks[1]["message_id"],
            "the repeat names the original"
        );
        assert_eq!(acks[0]["seq"], 2);
        assert_eq!(
            rows[sid].len(),
            2,
            "session {sid}: the visitor's first message and one reply"
        );
    }
}

#[tokio::test]
async fn one_statement_for_many_sessions_writes_what_one_update_per_session_writes() {
    use switchboard::db::enums::SessionStatus;
    use switchboard::db::sessions::{self, SessionChanges};
    let app = TestApp::start().await;
    let (_a, first) = app.open_session("one").await;
    let (_b, second) = app.open_session("two").await;
    let owner = app.owner().await;
    let mut conn = app.db().await;
    let now = chrono::Utc::now();
    // Every column a message may change, nullable ones both set and cleared.
    let mut c = SessionChanges::at(now);
    c.status = Some(SessionStatus::Assigned);
    c.assignee_id = Some(Some(owner.user_id));
    c.bot_hosted = Some(true);
    c.received_at = Some(Some(now));
    c.awaiting_since = Some(None);
    c.first_wait_at = Some(Some(now));
    c.first_response_at = Some(Some(now));
    c.last_seq = Some(7);
    c.last_message_at = Some(now);
    c.message_count = Some(7);
    c.visitor_message_count = Some(4);
    c.agent_message_count = Some(3);
    c.alert_wait_since = Some(None);
    let one = sessions::update(&conn, first, &c).await.unwrap();
    let before = sessions::find(&mut conn, second).await.unwrap();
    let computed = c.applied_to(&before);
    let many = sessions::update_many(&conn, std::slice::from_ref(&computed))
        .await
        .unwrap();
    assert_eq!(many.len(), 1);
    // Timestamps come back at PostgreSQL's microseconds.
    assert_eq!(many[0].id, second);
    let same = |r: &sessions::SessionRow| {
        (
            r.status,
            r.assignee_id,
            r.bot_hosted,
            r.received_at.is_some(),
            r.awaiting_since,
            r.first_wait_at.is_some(),
            r.first_response_at.is_some(),
            r.last_seq,
            r.message_count,
            r.visitor_message_count,
            r.agent_message_count,
            r.alert_wait_since,
        )
    };
    assert_eq!(
        same(&many[0]),
        same(&one),
        "the batch's UPDATE writes the same columns"
    );
    assert_eq!(
        same(&computed),
        same(&one),
        "applied_to computes what the UPDATE stores"
    );
    assert_eq!(
        many[0].updated_at.timestamp_micros(),
        one.updated_at.timestamp_micros()
    );
}

/// A gauge's value in this server's `/metrics` scrape.
async fn gauge(app: &TestApp, name: &str) -> f64 {
    crate::common::scraped(&app.url(), name)
        .await
        .unwrap_or_else(|| panic!("no {name} in {}/metrics", app.url()))
}

#[tokio::test]
async fn a_post_refused_by_the_full_rules_inside_a_batch_is_rolled_back_alone_and_the_plain_posts_commit(
) {
    use crate::common::eventually;
    use crate::common::messenger::{self as mx, PageSetup};
    use crate::overload::{lock_session, writer_waits_for_the_lock};
    // Last wrote two days ago: a reply is refused by the channel's reply window, which only the
    // full rules (`post_in`, after the plain posts of its batch are written) find out.
    let two_days_ago = chrono::Utc::now() - chrono::Duration::hours(49);
    let (_graph, app, _, person) =
        mx::app_with_person(&PageSetup::default(), "9001", Some(two_days_ago), |c| {
            c.commit.writers = 1;
            c.commit.max_batch = 64;
        })
        .await;
    let owner = app.owner().await;
    let stored_before = app.message_count(person.session_id).await;
    let (mut blocker, blocked) = app.open_session("first").await;
    let (mut a, sid_a) = app.open_session("a-1").await;
    let (mut b, sid_b) = app.open_session("b-1").await;

    // The writer waits for a row lock we hold; behind it the three posts queue up, and take
    // one batch when it is released.
    let lock = lock_session(&app, blocked).await;
    blocker.send(send("x-2", "behind the lock")).await;
    writer_waits_for_the_lock(&app).await;
    a.send(send("a-2", "plain")).await;
    b.send(send("b-2", "plain too")).await;
    let reply_path = format!(
        "/api/projects/{}/sessions/{}/messages",
        app.project_id, person.session_id
    );
    let reply = {
        let (app_url, token) = (app.url(), owner.token.clone());
        tokio::spawn(async move {
            let r = reqwest::Client::new()
                .post(format!("{app_url}{reply_path}"))
                .bearer_auth(token)
                .json(&json!({"client_id": "m-1", "text": "too late"}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    };
    eventually("three posts wait for the writer", || async {
        gauge(&app, "switchboard_commit_queue_depth").await >= 3.0
    })
    .await;
    drop(lock);

    let (status, body) = reply.await.unwrap();
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "reply_window_closed");
    for (v, cid) in [(&mut a, "a-2"), (&mut b, "b-2")] {
        let got = answers(v, 1).await;
        assert_eq!(got[0]["type"], "ack", "{}", got[0]);
        assert_eq!(got[0]["client_id"], cid);
        assert_eq!(got[0]["seq"], 2);
    }
    assert!(
        gauge(&app, "switchboard_commit_largest_batch").await >= 3.0,
        "the three posts shared a batch"
    );
    let rows = stored(&app, &[sid_a, sid_b]).await;
    assert_eq!(rows[&sid_a].len(), 2);
    assert_eq!(rows[&sid_b].len(), 2);
    assert_eq!(
        app.message_count(person.session_id).await,
        stored_before,
        "nothing of the refused reply"
    );
    drop(blocker);
}
