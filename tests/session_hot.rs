//! A message's update of its session row is HOT (issue 14, migration 000014): no index of
//! `sessions` uses a column a message changes, so PostgreSQL writes no index entry for it;
//! and the session list, which no longer has an index on `last_message_at`, keeps its order
//! (newest activity first, id as the tie-breaker) and its cursor across open and ended
//! sessions.

use crate::common::*;
use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::{BigInt, Text, Timestamptz};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Columns of `sessions` that some index uses: key and INCLUDE columns, and the columns its
/// expressions or its predicate name. A change to any of them makes an update non-HOT.
async fn indexed_columns(conn: &mut AsyncPgConnection) -> BTreeSet<String> {
    let rows: Vec<Name> = diesel::sql_query(
        "SELECT a.attname::text AS name
           FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum > 0 AND NOT a.attisdropped
          WHERE i.indrelid = 'sessions'::regclass
            AND (a.attnum = ANY (i.indkey)
                 OR coalesce(pg_get_expr(i.indexprs, i.indrelid), '') ~ ('\\m' || a.attname || '\\M')
                 OR coalesce(pg_get_expr(i.indpred, i.indrelid), '') ~ ('\\m' || a.attname || '\\M'))",
    )
    .load(conn)
    .await
    .unwrap();
    rows.into_iter().map(|r| r.name).collect()
}

/// The session row, every column (the generated `list_at` too), as JSON.
async fn row_of(conn: &mut AsyncPgConnection, sid: i64) -> BTreeMap<String, Value> {
    let row: Name =
        diesel::sql_query("SELECT row_to_json(s)::text AS name FROM sessions s WHERE id = $1")
            .bind::<BigInt, _>(sid)
            .get_result(conn)
            .await
            .unwrap();
    serde_json::from_str(&row.name).unwrap()
}

fn changed(before: &BTreeMap<String, Value>, after: &BTreeMap<String, Value>) -> BTreeSet<String> {
    after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_index_of_sessions_uses_a_column_a_message_changes() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (mut v, sid) = app.open_session("hello").await;
    // Taking the session is an assignment, not a message: its change of indexed columns
    // (status, assignee, reception) is left out.
    app.assign(&owner, sid, Some(owner.user_id)).await;
    let mut conn = app.db().await;
    let mut rows = vec![row_of(&mut conn, sid).await];
    visitor_says(&mut v, "c2", "anyone there?").await;
    rows.push(row_of(&mut conn, sid).await);
    app.reply(&owner, sid, "r1").await;
    rows.push(row_of(&mut conn, sid).await);
    visitor_says(&mut v, "c3", "thanks").await;
    rows.push(row_of(&mut conn, sid).await);

    let written: BTreeSet<String> = rows
        .windows(2)
        .flat_map(|w| changed(&w[0], &w[1]))
        .collect();
    for expected in [
        "last_seq",
        "last_message_at",
        "message_count",
        "visitor_message_count",
        "agent_message_count",
        "awaiting_since",
        "first_response_at",
        "updated_at",
    ] {
        assert!(
            written.contains(expected),
            "{expected} not seen in {written:?}"
        );
    }
    let indexed = indexed_columns(&mut conn).await;
    assert!(
        indexed.contains("list_at") && indexed.contains("status"),
        "{indexed:?}"
    );
    let both: Vec<_> = written.intersection(&indexed).collect();
    assert!(
        both.is_empty(),
        "indexed and written by a message: {both:?}"
    );
}

#[derive(QueryableByName)]
struct TableStats {
    #[diesel(sql_type = BigInt)]
    upd: i64,
    #[diesel(sql_type = BigInt)]
    hot: i64,
}

/// Updates and HOT updates of `sessions` that the server's backends have reported.
async fn update_stats(conn: &mut AsyncPgConnection) -> TableStats {
    diesel::sql_query(
        "SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables
          WHERE relname = 'sessions'",
    )
    .get_result(conn)
    .await
    .unwrap()
}

/// Through the server: its backends report their counts within about a second of going idle
/// (PostgreSQL's stats flush), so the figures are polled, within `WAIT`. Each test has its
/// own database, so every update counted is one of this test's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_update_their_session_row_hot() {
    let app = TestApp::start().await;
    let (mut v, _sid) = app.open_session("hello").await;
    for i in 0..5 {
        visitor_says(&mut v, &format!("m{i}"), "more").await;
    }
    let mut conn = app.db().await;
    let mut last = TableStats { upd: 0, hot: 0 };
    let seen = tokio::time::timeout(WAIT, async {
        loop {
            last = update_stats(&mut conn).await;
            if last.hot >= 5 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        seen.is_ok(),
        "HOT updates of sessions: {} of {}",
        last.hot,
        last.upd
    );
    assert_eq!(
        last.hot, last.upd,
        "every update of the session row was HOT"
    );
}

#[derive(QueryableByName)]
struct XactStats {
    #[diesel(sql_type = BigInt)]
    upd: i64,
    #[diesel(sql_type = BigInt)]
    hot: i64,
}

/// The committer's statement for a batch of several sessions (`update_many`), run in one
/// transaction whose own counters PostgreSQL reports at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_update_of_several_sessions_is_hot() {
    use switchboard::db::sessions::{self, SessionChanges};
    let app = TestApp::start().await;
    let (_a, first) = app.open_session("one").await;
    let (_b, second) = app.open_session("two").await;
    let mut conn = app.db().await;
    let stats = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let now = Utc::now();
            let before = sessions::lock_many(conn, &[first, second]).await?;
            let afters: Vec<_> = before
                .iter()
                .map(|s| {
                    let mut c = SessionChanges::at(now);
                    c.last_seq = Some(s.last_seq + 1);
                    c.last_message_at = Some(now);
                    c.message_count = Some(s.message_count + 1);
                    c.visitor_message_count = Some(s.visitor_message_count + 1);
                    c.applied_to(s)
                })
                .collect();
            sessions::update_many(conn, &afters).await?;
            diesel::sql_query(
                "SELECT pg_stat_get_xact_tuples_updated('sessions'::regclass) AS upd,
                        pg_stat_get_xact_tuples_hot_updated('sessions'::regclass) AS hot",
            )
            .get_result::<XactStats>(conn)
            .await
        })
        .await
        .unwrap();
    assert_eq!((stats.upd, stats.hot), (2, 2));
}

#[derive(QueryableByName, Clone)]
struct Listed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    assignee_id: Option<i64>,
    #[diesel(sql_type = Timestamptz)]
    last_message_at: DateTime<Utc>,
}

/// Every page of `query` at `limit`, followed by cursor: the ids in the order listed.
async fn every_page(app: &TestApp, agent: &Agent, query: &str, limit: i64) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!(
            "/api/projects/{}/sessions?limit={limit}{query}",
            app.project_id
        );
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.get_json(agent, &path).await;
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
        assert!(ids.len() < 100, "the cursor does not advance: {ids:?}");
    }
}

/// Open and ended sessions interleaved in time, with equal times across the two kinds, for
/// every filter and several page sizes: one order, each session once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_list_orders_open_and_ended_sessions_as_one() {
    let app = TestApp::start().await;
    let pid = app.project_id;
    let owner = app.owner().await;
    let member = app.member(pid, "agent", "own-agent").await;
    app.set_role_scope(pid, "agent", "own").await;
    let mut sids = Vec::new();
    let mut visitors = Vec::new();
    for i in 0..8 {
        let (v, sid) = app.open_session(&format!("visitor {i}")).await;
        visitors.push(v);
        sids.push(sid);
    }
    // Ended: 0 (the owner's), 2 (the member's), 4 and 6 (never taken). Open: 1 (the
    // owner's), 3 (the member's), 5 and 7 (the queue).
    app.assign(&owner, sids[0], Some(owner.user_id)).await;
    app.assign(&owner, sids[1], Some(owner.user_id)).await;
    app.assign(&owner, sids[2], Some(member.user_id)).await;
    app.assign(&owner, sids[3], Some(member.user_id)).await;
    for i in [0, 2, 4, 6] {
        app.end(&owner, sids[i]).await;
    }
    // Seconds before now, per session: ties between an ended and an open one (0/1, 4/5),
    // and ended and open sessions alternating.
    let t = Utc::now();
    let mut conn = app.db().await;
    for (i, secs) in [10, 10, 30, 20, 5, 5, 40, 1].into_iter().enumerate() {
        diesel::sql_query("UPDATE sessions SET last_message_at = $1 WHERE id = $2")
            .bind::<Timestamptz, _>(t - Duration::seconds(secs))
            .bind::<BigInt, _>(sids[i])
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let mut rows: Vec<Listed> = diesel::sql_query(
        "SELECT id, status, assignee_id, last_message_at FROM sessions WHERE project_id = $1",
    )
    .bind::<BigInt, _>(pid)
    .load(&mut conn)
    .await
    .unwrap();
    rows.sort_by_key(|r| std::cmp::Reverse((r.last_message_at, r.id)));
    let ended: Vec<i64> = rows
        .iter()
        .filter(|r| r.status == "ended")
        .map(|r| r.id)
        .collect();
    assert_eq!(ended.len(), 4);

    let expect = |keep: &dyn Fn(&Listed) -> bool| -> Vec<i64> {
        rows.iter().filter(|r| keep(r)).map(|r| r.id).collect()
    };
    let me = owner.user_id;
    let cases: Vec<(&str, &Agent, Vec<i64>)> = vec![
        ("", &owner, expect(&|_| true)),
        ("&status=ended", &owner, expect(&|r| r.status == "ended")),
        ("&status=ongoing", &owner, expect(&|r| r.status != "ended")),
        (
            "&status=unassigned",
            &owner,
            expect(&|r| r.status == "unassigned"),
        ),
        (
            "&status=assigned",
            &owner,
            expect(&|r| r.status == "assigned"),
        ),
        (
            "&assignee=me",
            &owner,
            expect(&|r| r.assignee_id == Some(me)),
        ),
        (
            "&assignee=me&status=ended",
            &owner,
            expect(&|r| r.assignee_id == Some(me) && r.status == "ended"),
        ),
        (
            "",
            &member,
            expect(&|r| r.assignee_id == Some(member.user_id) || r.status == "unassigned"),
        ),
    ];
    for (query, agent, expected) in cases {
        assert!(!expected.is_empty(), "{query}: a case with nothing to list");
        for limit in [1, 2, 3, 50] {
            assert_eq!(
                every_page(&app, agent, query, limit).await,
                expected,
                "{query} (limit {limit}, as user {})",
                agent.user_id
            );
        }
    }
}

#[derive(QueryableByName)]
struct ListAt {
    #[diesel(sql_type = diesel::sql_types::Nullable<Timestamptz>)]
    list_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    last_message_at: DateTime<Utc>,
}

async fn list_at_of(conn: &mut AsyncPgConnection, sid: i64) -> ListAt {
    diesel::sql_query("SELECT list_at, last_message_at FROM sessions WHERE id = $1")
        .bind::<BigInt, _>(sid)
        .get_result(conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_listed_by_its_last_message_once_it_ends() {
    let app = TestApp::start().await;
    let owner = app.owner().await;
    let (_v, sid) = app.open_session("hello").await;
    let mut conn = app.db().await;
    assert_eq!(list_at_of(&mut conn, sid).await.list_at, None, "open");
    app.assign(&owner, sid, Some(owner.user_id)).await;
    assert_eq!(list_at_of(&mut conn, sid).await.list_at, None, "assigned");
    app.end(&owner, sid).await;
    let ended = list_at_of(&mut conn, sid).await;
    assert_eq!(ended.list_at, Some(ended.last_message_at), "ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_history_session_is_listed_by_its_last_message() {
    let app = TestApp::start().await;
    let (contact_id, _name) = app.contact_without_session().await;
    let channel_id = app.channel_id().await;
    let to = Utc::now() - Duration::days(3);
    let mut conn = app.db().await;
    let row = switchboard::db::sessions::insert_history(
        &mut conn,
        app.project_id,
        channel_id,
        contact_id,
        to - Duration::days(1),
        to,
    )
    .await
    .unwrap();
    let stored = list_at_of(&mut conn, row.id).await;
    assert_eq!(stored.list_at, Some(stored.last_message_at));
    assert_eq!(
        stored.last_message_at.timestamp_micros(),
        to.timestamp_micros()
    );
}
