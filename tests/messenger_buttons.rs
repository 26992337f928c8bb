//! Automation's buttons and questions on Messenger (issue 12, item 4): a bot message's buttons
//! go out as quick replies whose payload names our message and the button; a question for an
//! e-mail or a phone number offers the person's own with Meta's `user_email` /
//! `user_phone_number` quick reply; the person's tap comes back through the webhook as the
//! click of that button (`content.button`), as the widget's click is stored. Against the fake
//! Graph API process, which checks quick replies the way the Send API reference says.

use crate::common::graph::{envelope, now_ms, post_webhook, FakeGraph};
use crate::common::messenger::{self as mx, PageSetup, Person};
use crate::common::{Agent, TestApp, WAIT};
use chrono::{Duration as Span, Utc};
use serde_json::{json, Value};
use std::time::Duration;
use switchboard::domain::conversation::{self, Author, NewPost};

const PSID: &str = "psid-b";

struct Setup {
    app: TestApp,
    fake: FakeGraph,
    owner: Agent,
    person: Person,
}

/// A Page on the fake Graph API and a person who wrote five minutes ago (the window is open).
async fn setup() -> Setup {
    let page = PageSetup::default();
    let fake = FakeGraph::start().await;
    fake.add_page(&page.page_id, &page.token, &page.page_name)
        .await;
    let app = TestApp::start_with(fake.configure()).await;
    let owner = app.owner().await;
    let mut db = app.db().await;
    let channel_id = mx::insert_page(&mut db, &mx::test_secrets(), app.project_id, &page).await;
    let person = mx::insert_person(
        &mut db,
        app.project_id,
        channel_id,
        PSID,
        Some(Utc::now() - Span::minutes(5)),
    )
    .await;
    Setup {
        app,
        fake,
        owner,
        person,
    }
}

impl Setup {
    /// Posts a bot message (as an automation run's message is posted) with `content`; waits
    /// until the Send API got it and returns (our message id, the request's `message`).
    async fn bot_says(&self, text: &str, content: Option<Value>) -> (i64, Value) {
        let before = self.fake.requests("send").await.len();
        let post = NewPost {
            content,
            ..NewPost::text(Author::Bot, None, text.into())
        };
        let mut db = self.app.db().await;
        let applied = conversation::post(&mut db, self.person.session_id, post)
            .await
            .unwrap();
        let id = applied.message.unwrap().id;
        let sent = self.fake.wait_for_requests("send", before + 1).await;
        let body = &sent[before]["body"];
        assert_eq!(body["message"]["metadata"], format!("sb:{id}"), "{body}");
        self.wait_sent(id).await;
        (id, body["message"].clone())
    }

    /// The fake accepted it (it refuses malformed quick replies with error 100).
    async fn wait_sent(&self, message_id: i64) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let o = mx::outbound_of(&mut self.app.db().await, message_id).await;
            match o.as_ref().map(|o| o.0.as_str()) {
                Some("sent") => return,
                Some("failed") => panic!("the Send API refused message {message_id}: {o:?}"),
                _ => {}
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "message {message_id} was never sent: {o:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The person taps a quick reply: Meta posts its title as text with the payload.
    async fn person_taps(&self, mid: &str, text: &str, payload: &str) -> Value {
        let event = json!({"sender": {"id": PSID}, "recipient": {"id": mx::PAGE_ID},
            "timestamp": now_ms(),
            "message": {"mid": mid, "text": text, "quick_reply": {"payload": payload}}});
        let body = envelope(mx::PAGE_ID, vec![event]);
        assert_eq!(
            post_webhook(&self.app.url(), mx::APP_SECRET, &body).await,
            200
        );
        self.stored(mid).await
    }

    /// The session's message stored under `mid` (bounded wait), as the REST list shows it.
    async fn stored(&self, mid: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        let id = loop {
            if let Some(id) = self.id_of(mid).await {
                break id;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the message {mid} was never stored"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        let path = format!(
            "/api/projects/{}/sessions/{}/messages",
            self.app.project_id, self.person.session_id
        );
        let page = self.app.get_json(&self.owner, &path).await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["message_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("message {id} is not in the session's list: {page}"))
    }

    /// Our id of the session's message stored under the platform's `mid`.
    async fn id_of(&self, mid: &str) -> Option<i64> {
        use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
        use diesel_async::RunQueryDsl;
        use switchboard::db::schema::messages;
        messages::table
            .filter(messages::session_id.eq(self.person.session_id))
            .filter(messages::external_id.eq(mid))
            .select(messages::id)
            .first::<i64>(&mut self.app.db().await)
            .await
            .optional()
            .unwrap()
    }
}

fn buttons() -> Value {
    json!({"buttons": [{"id": "price", "title": "Pricing"},
                       {"id": "human", "title": "Talk to a person"}]})
}

#[tokio::test]
async fn a_bot_message_with_buttons_is_sent_with_quick_replies_naming_our_message_and_each_button()
{
    let s = setup().await;
    let (id, message) = s.bot_says("How can we help?", Some(buttons())).await;
    assert_eq!(
        message,
        json!({"text": "How can we help?", "metadata": format!("sb:{id}"), "quick_replies": [
            {"content_type": "text", "title": "Pricing", "payload": format!("sb:btn:{id}:price")},
            {"content_type": "text", "title": "Talk to a person",
             "payload": format!("sb:btn:{id}:human")},
        ]})
    );
}

#[tokio::test]
async fn at_most_13_buttons_go_out_and_long_titles_are_cut_to_20_characters() {
    let s = setup().await;
    let many: Vec<Value> = (0..15)
        .map(|i| json!({"id": format!("b{i}"), "title": format!("Option number {i} with words")}))
        .collect();
    let (id, message) = s
        .bot_says("Pick one", Some(json!({ "buttons": many })))
        .await;
    let quick = message["quick_replies"].as_array().unwrap();
    assert_eq!(quick.len(), 13);
    assert_eq!(quick[0]["title"], "Option number 0 with");
    assert_eq!(quick[12]["payload"], format!("sb:btn:{id}:b12"));
}

#[tokio::test]
async fn a_question_for_an_email_is_sent_with_the_user_email_quick_reply() {
    let s = setup().await;
    let (id, message) = s
        .bot_says("What is your e-mail?", Some(json!({"ask": "email"})))
        .await;
    assert_eq!(
        message,
        json!({"text": "What is your e-mail?", "metadata": format!("sb:{id}"),
               "quick_replies": [{"content_type": "user_email"}]})
    );
}

#[tokio::test]
async fn a_question_for_a_phone_number_is_sent_with_the_user_phone_number_quick_reply() {
    let s = setup().await;
    let (_, message) = s
        .bot_says("Your phone number?", Some(json!({"ask": "phone"})))
        .await;
    assert_eq!(
        message["quick_replies"],
        json!([{"content_type": "user_phone_number"}])
    );
}

#[tokio::test]
async fn plain_text_bot_messages_and_free_text_questions_are_sent_without_quick_replies() {
    let s = setup().await;
    let (id, message) = s.bot_says("Hello there", None).await;
    assert_eq!(
        message,
        json!({"text": "Hello there", "metadata": format!("sb:{id}")})
    );
    let (_, message) = s
        .bot_says("What is your name?", Some(json!({"ask": "text"})))
        .await;
    assert!(message.get("quick_replies").is_none(), "{message}");
}

#[tokio::test]
async fn tapping_a_button_quick_reply_stores_the_click_with_the_quick_reply() {
    let s = setup().await;
    let (id, message) = s.bot_says("How can we help?", Some(buttons())).await;
    // The payload Meta gives back is the one we sent.
    let payload = message["quick_replies"][0]["payload"].as_str().unwrap();
    let tap = s.person_taps("m_tap_1", "Pricing", payload).await;
    assert_eq!(tap["text"], "Pricing");
    assert_eq!(
        tap["content"],
        json!({"quick_reply": {"payload": format!("sb:btn:{id}:price")},
               "button": {"message_id": id, "id": "price"}})
    );
}

#[tokio::test]
async fn a_quick_reply_with_a_malformed_button_payload_is_stored_without_a_click() {
    let s = setup().await;
    s.bot_says("How can we help?", Some(buttons())).await;
    for (mid, payload) in [
        ("m_bad_1", "sb:btn:notanid:price"),
        ("m_bad_2", "sb:btn:12"),
        ("m_bad_3", "SOMETHING_ELSE"),
    ] {
        let tap = s.person_taps(mid, "Pricing", payload).await;
        assert_eq!(
            tap["content"],
            json!({"quick_reply": {"payload": payload}}),
            "{mid}"
        );
    }
}

#[tokio::test]
async fn an_email_quick_reply_is_stored_as_the_address_sent_as_text() {
    let s = setup().await;
    s.bot_says("What is your e-mail?", Some(json!({"ask": "email"})))
        .await;
    // Meta sends the profile's address as the text and as the payload.
    let tap = s
        .person_taps("m_mail", "ann@example.com", "ann@example.com")
        .await;
    assert_eq!(tap["text"], "ann@example.com");
    assert_eq!(
        tap["content"],
        json!({"quick_reply": {"payload": "ann@example.com"}})
    );
}

#[tokio::test]
async fn the_echo_of_a_message_with_quick_replies_confirms_it_and_stores_nothing() {
    let s = setup().await;
    let hook = format!("{}/webhooks/messenger", s.app.url());
    s.fake
        .echo_to(
            mx::PAGE_ID,
            &hook,
            mx::APP_SECRET,
            mx::APP_ID,
            "before_response",
        )
        .await;
    let (id, _) = s.bot_says("How can we help?", Some(buttons())).await;
    // A tap after the echo is processed after it (a Page's webhook rows go in order): once the
    // tap is stored, the echo was handled.
    s.person_taps("m_after_echo", "Pricing", &format!("sb:btn:{id}:price"))
        .await;
    let ids = mx::message_ids(&mut s.app.db().await, s.person.session_id).await;
    assert_eq!(ids.len(), 2, "our message and the tap, no echo: {ids:?}");
    assert_eq!(ids[0], id);
    assert_eq!(s.fake.requests("send").await.len(), 1);
}

#[tokio::test]
async fn the_fake_send_api_refuses_quick_replies_meta_would_refuse() {
    use switchboard::db::enums::MessagingType;
    use switchboard::graph::{ErrorClass, Graph, PageAuth, QuickReply, SendRequest};
    let fake = FakeGraph::start().await;
    fake.add_page(mx::PAGE_ID, mx::PAGE_TOKEN, "Acme").await;
    let graph = Graph::new(&fake.base_url);
    let auth = PageAuth {
        page_id: mx::PAGE_ID,
        token: mx::PAGE_TOKEN,
    };
    let request = |quick_replies: Vec<QuickReply>| SendRequest {
        recipient: PSID.into(),
        messaging_type: MessagingType::Response,
        tag: None,
        text: "Pick one".into(),
        metadata: "sb:1".into(),
        quick_replies,
    };
    let button = |i: usize| QuickReply::Text {
        title: format!("B{i}"),
        payload: format!("sb:btn:1:b{i}"),
    };
    let fourteen = (0..14).map(button).collect();
    let e = graph.send(auth, &request(fourteen)).await.unwrap_err();
    assert_eq!(e.code(), Some((100, None)));
    assert_eq!(e.class(), ErrorClass::Refused);
    let untitled = vec![QuickReply::Text {
        title: " ".into(),
        payload: "p".into(),
    }];
    assert!(graph.send(auth, &request(untitled)).await.is_err());
    let thirteen = (0..13).map(button).collect();
    graph.send(auth, &request(thirteen)).await.unwrap();
}

/// The whole path on Messenger: a person's message triggers a published flow, the flow's
/// buttons leave as quick replies, the person's tap comes back through the webhook and takes
/// that button's branch, whose end message is sent too; the run participated and completed.
#[tokio::test]
async fn a_flow_on_messenger_sends_its_buttons_as_quick_replies_and_a_tap_takes_the_branch() {
    use crate::common::flows;
    let s = setup().await;
    let doc = flows::doc(
        json!({"kind": "keyword", "keywords": ["menu"], "matching": "exact"}),
        vec![
            json!({"id": "ask", "type": "message", "text": "What do you need?",
                   "buttons": [{"id": "price", "title": "Pricing"}, {"id": "help", "title": "Help"}]}),
            json!({"id": "priced", "type": "end", "text": "Plans start at 9 EUR."}),
            json!({"id": "helped", "type": "end", "text": "An agent will write."}),
        ],
        &[("ask", "price", "priced"), ("ask", "help", "helped")],
    );
    let flow = flows::publish(&s.app, "menu", doc).await;
    let before = s.fake.requests("send").await.len();
    let event = crate::common::graph::message_event(mx::PAGE_ID, PSID, "m-menu", "menu", now_ms());
    let body = envelope(mx::PAGE_ID, vec![event]);
    assert_eq!(post_webhook(&s.app.url(), mx::APP_SECRET, &body).await, 200);

    let sent = s.fake.wait_for_requests("send", before + 1).await;
    let question = &sent[before]["body"]["message"];
    assert_eq!(question["text"], "What do you need?", "{question}");
    let replies = question["quick_replies"].as_array().expect("quick replies");
    assert_eq!(replies.len(), 2, "{question}");
    let pricing = replies
        .iter()
        .find(|r| r["title"] == "Pricing")
        .expect("Pricing");
    let payload = pricing["payload"].as_str().unwrap();

    let tap = s.person_taps("m-tap", "Pricing", payload).await;
    assert_eq!(tap["content"]["button"]["id"], "price", "{tap}");
    let sent = s.fake.wait_for_requests("send", before + 2).await;
    assert_eq!(
        sent[before + 1]["body"]["message"]["text"],
        "Plans start at 9 EUR."
    );
    assert!(sent[before + 1]["body"]["message"]
        .get("quick_replies")
        .is_none());

    let runs = flows::runs_of(&s.app, flow).await;
    assert_eq!(runs.len(), 1);
    assert!(runs[0].participated_at.is_some(), "the tap participates");
    assert!(
        runs[0].completed_at.is_some(),
        "the branch's end completes the run"
    );
}
