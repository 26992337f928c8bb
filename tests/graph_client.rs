//! The Graph API client against the fake Graph API process: the wire format both ways, errors
//! read by code, the usage header's wait, cursor paging.

use crate::common::graph::FakeGraph;
use serde_json::json;
use switchboard::db::enums::MessagingType;
use switchboard::graph::{ErrorClass, Graph, PageAuth, SendRequest};

const PAGE: &str = "1001";
const TOKEN: &str = "page-token-1";

fn auth() -> PageAuth<'static> {
    PageAuth {
        page_id: PAGE,
        token: TOKEN,
    }
}

fn text(messaging_type: MessagingType, tag: Option<&str>) -> SendRequest {
    SendRequest {
        recipient: "psid-7".into(),
        messaging_type,
        tag: tag.map(str::to_owned),
        text: "hello".into(),
        metadata: "sb:42".into(),
        quick_replies: vec![],
    }
}

async fn fake() -> (FakeGraph, Graph) {
    let fake = FakeGraph::start().await;
    fake.add_page(PAGE, TOKEN, "Acme").await;
    let graph = Graph::new(&fake.base_url);
    (fake, graph)
}

#[tokio::test]
async fn a_send_goes_out_in_the_documented_shape_with_the_page_token() {
    let (fake, graph) = fake().await;
    let ok = graph
        .send(
            auth(),
            &text(MessagingType::MessageTag, Some("HUMAN_AGENT")),
        )
        .await
        .unwrap();
    assert!(ok.message_id.starts_with("m_"));
    let calls = fake.requests("send").await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["path"], format!("/v25.0/{PAGE}/messages"));
    assert_eq!(
        calls[0]["headers"]["authorization"],
        format!("Bearer {TOKEN}")
    );
    assert_eq!(
        calls[0]["body"],
        json!({"recipient": {"id": "psid-7"}, "messaging_type": "MESSAGE_TAG",
               "tag": "HUMAN_AGENT", "message": {"text": "hello", "metadata": "sb:42"}})
    );
}

#[tokio::test]
async fn a_response_send_carries_no_tag() {
    let (fake, graph) = fake().await;
    graph
        .send(auth(), &text(MessagingType::Response, Some("HUMAN_AGENT")))
        .await
        .unwrap();
    let body = &fake.requests("send").await[0]["body"];
    assert_eq!(body["messaging_type"], "RESPONSE");
    assert!(body.get("tag").is_none(), "{body}");
}

#[tokio::test]
async fn an_unknown_token_is_error_190_token_invalid() {
    let (_fake, graph) = fake().await;
    let bad = PageAuth {
        page_id: PAGE,
        token: "expired",
    };
    let e = graph
        .send(bad, &text(MessagingType::Response, None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some((190, Some(463))));
    assert_eq!(e.class(), ErrorClass::TokenInvalid);
}

#[tokio::test]
async fn a_retired_tag_is_refused_by_the_platform_as_1893061() {
    let (_fake, graph) = fake().await;
    let e = graph
        .send(
            auth(),
            &text(MessagingType::MessageTag, Some("POST_PURCHASE_UPDATE")),
        )
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::RetiredTag);
}

#[tokio::test]
async fn a_rate_limit_answer_is_retried_after_the_usage_headers_wait() {
    let (fake, graph) = fake().await;
    let usage = json!({PAGE: [{"type": "pages", "call_count": 100, "total_cputime": 30,
        "total_time": 40, "estimated_time_to_regain_access": 2}]});
    fake.script(
        "send",
        vec![json!({"status": 400,
            "body": {"error": {"message": "(#613) Calls to this api have exceeded the rate limit.",
                     "type": "OAuthException", "code": 613, "fbtrace_id": "x"}},
            "headers": {"X-Business-Use-Case-Usage": usage.to_string()}})],
    )
    .await;
    let e = graph
        .send(auth(), &text(MessagingType::Response, None))
        .await
        .unwrap_err();
    assert_eq!(
        e.class(),
        ErrorClass::Retry {
            wait: Some(std::time::Duration::from_secs(120))
        }
    );
    // The script is used up: the next call succeeds.
    graph
        .send(auth(), &text(MessagingType::Response, None))
        .await
        .unwrap();
}

#[tokio::test]
async fn conversations_page_with_after_cursors_to_the_end() {
    let (fake, graph) = fake().await;
    fake.seed_conversations(PAGE, 60).await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = graph
            .conversations(auth(), after.as_deref(), 25)
            .await
            .unwrap();
        for c in &page.data {
            let messages = &c.messages.as_ref().unwrap().data;
            assert_eq!(messages.len(), 20, "the 20 latest messages of each");
            seen.push(c.id.clone());
        }
        match page.next_cursor() {
            Some(c) => after = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 60);
    seen.dedup();
    assert_eq!(seen.len(), 60);
    let calls = fake.requests("conversations").await;
    assert_eq!(calls.len(), 3);
    assert!(calls[0]["query"].get("after").is_none());
    assert!(calls[1]["query"]["after"].is_string());
    assert_eq!(calls[0]["query"]["platform"], "messenger");
}

#[tokio::test]
async fn a_profile_gives_the_persons_name() {
    let (fake, graph) = fake().await;
    fake.set_profile("psid-9", "Ada", "Lovelace").await;
    let p = graph.profile(auth(), "psid-9").await.unwrap();
    assert_eq!(p.name(), "Ada Lovelace");
}

#[tokio::test]
async fn no_answer_is_a_retry() {
    let (fake, _) = fake().await;
    let graph = Graph::new(&fake.base_url);
    fake.stop().await;
    let e = graph
        .send(auth(), &text(MessagingType::Response, None))
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Retry { wait: None });
}
