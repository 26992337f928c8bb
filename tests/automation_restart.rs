//! A server killed with kill -9 while a run waits: after the restart the wait's next step is
//! carried out exactly once (one bot message, not two, not none).

use crate::common::binary::Binary;
use crate::common::flows::{doc, first_message};
use crate::common::{eventually, fresh_database, init_tracing, visitor_says, WsClient};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use std::time::Duration;
use switchboard::db::enums::SenderKind;
use switchboard::db::schema::{flow_versions, flows, messages};
use switchboard::domain::bootstrap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_a_wait_carries_out_its_next_step_once_after_restart() {
    init_tracing();
    let db_url = fresh_database().await;
    let mut db = AsyncPgConnection::establish(&db_url).await.unwrap();
    let first = bootstrap::ensure_first_owner(&mut db)
        .await
        .unwrap()
        .unwrap();
    let d = doc(
        first_message(),
        vec![
            json!({"id": "hi", "type": "message", "text": "One moment"}),
            json!({"id": "w", "type": "wait", "seconds": 3}),
            json!({"id": "e", "type": "end", "text": "Here I am"}),
        ],
        &[("hi", "next", "w"), ("w", "next", "e")],
    );
    let kind = switchboard::db::enums::TriggerKind::FirstMessage;
    let fid: i64 = diesel::insert_into(flows::table)
        .values((
            flows::project_id.eq(first.channel.project_id),
            flows::name.eq("Wait"),
            flows::draft.eq(&d),
            flows::trigger_kind.eq(kind),
            flows::enabled.eq(true),
            flows::published_version.eq(Some(1)),
        ))
        .returning(flows::id)
        .get_result(&mut db)
        .await
        .unwrap();
    diesel::insert_into(flow_versions::table)
        .values((
            flow_versions::flow_id.eq(fid),
            flow_versions::version.eq(1),
            flow_versions::document.eq(&d),
            flow_versions::trigger_kind.eq(kind),
        ))
        .execute(&mut db)
        .await
        .unwrap();

    let server = Binary::start(&db_url, &[]).await;
    let ws = server.base.replacen("http://", "ws://", 1);
    let key = first.channel.widget_key.clone().unwrap();
    let mut v = WsClient::connect(&format!("{ws}/ws/visitor?key={key}"), None).await;
    v.recv_type("hello").await;
    let sid = visitor_says(&mut v, "m1", "hello").await["session_id"]
        .as_i64()
        .unwrap();
    drop(v);
    server.kill_9().await;

    let bots = async |db: &mut AsyncPgConnection| -> Vec<String> {
        messages::table
            .filter(messages::session_id.eq(sid))
            .filter(messages::sender_kind.eq(SenderKind::Bot))
            .order(messages::seq)
            .select(messages::body)
            .load(db)
            .await
            .unwrap()
    };
    assert_eq!(bots(&mut db).await, ["One moment"]);
    // Down past the wait's time: it is due when the server comes back.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let server = Binary::start(&db_url, &[]).await;
    eventually("the wait's next step", || async {
        bots(&mut AsyncPgConnection::establish(&db_url).await.unwrap())
            .await
            .len()
            == 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(bots(&mut db).await, ["One moment", "Here I am"]);
    server.kill_9().await;
}
