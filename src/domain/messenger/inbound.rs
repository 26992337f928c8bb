//! What a Messenger event becomes in the conversation: the post of a person's message,
//! postback or quick reply (text, plus what is not text in `content`), the post of a reply
//! sent natively (an echo that is not ours), and how our own echoes are recognised. A tap on
//! one of automation's quick replies is also a button click (`content.button`).
//! Attachments are stored as their type and URL only: the server never fetches them.

use super::buttons;
use super::webhook::{Message, Postback};
use crate::domain::conversation::{Author, NewPost, MAX_TEXT_CHARS};
use serde_json::{json, Map, Value};

/// Our Send API metadata: `sb:<messages.id>`.
pub const METADATA_PREFIX: &str = "sb:";

pub fn metadata_for(message_id: i64) -> String {
    format!("{METADATA_PREFIX}{message_id}")
}

/// The message id in our metadata, if it is ours.
pub fn our_message_id(metadata: Option<&str>) -> Option<i64> {
    metadata?.strip_prefix(METADATA_PREFIX)?.parse().ok()
}

/// The name of a person whose profile could not be read.
pub fn fallback_name(psid: &str) -> String {
    let chars: Vec<char> = psid.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("Messenger user {tail}")
}

/// A person's message (text, attachments, quick reply). A quick reply carrying one of our
/// button payloads is also the click of that button, stored as the widget's click is.
pub fn message_post(contact_id: i64, m: &Message, standby: bool) -> NewPost {
    let mut content = message_content(m, standby);
    let payload = m.quick_reply.as_ref().and_then(|q| q.payload.as_deref());
    if let (Some(Value::Object(c)), Some(click)) = (&mut content, buttons::button_click(payload)) {
        c.insert("button".into(), click);
    }
    post(
        Author::Visitor { contact_id },
        m.mid.clone(),
        message_text(m),
        content,
    )
}

/// A reply the Page sent outside Switchboard: an agent message marked off-platform.
pub fn native_reply_post(m: &Message, standby: bool) -> NewPost {
    post(
        Author::NativeReply,
        m.mid.clone(),
        message_text(m),
        message_content(m, standby),
    )
}

/// A button tap ("Get Started", a menu item, a template button), shown with its title.
/// `fallback_mid` identifies it when Meta sends none (older Get Started postbacks).
pub fn postback_post(
    contact_id: i64,
    p: &Postback,
    fallback_mid: String,
    standby: bool,
) -> NewPost {
    let title = p.title.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let text = match (title, p.payload.as_deref()) {
        (Some(t), _) => t.to_owned(),
        (None, Some(payload)) if !payload.trim().is_empty() => format!("[postback] {payload}"),
        _ => "[postback]".to_owned(),
    };
    let mut content = Map::new();
    content.insert(
        "postback".into(),
        json!({"title": p.title, "payload": p.payload}),
    );
    if standby {
        content.insert("standby".into(), Value::Bool(true));
    }
    post(
        Author::Visitor { contact_id },
        p.mid.clone().unwrap_or(fallback_mid),
        text,
        Some(Value::Object(content)),
    )
}

fn post(author: Author, mid: String, text: String, content: Option<Value>) -> NewPost {
    NewPost {
        author,
        client_id: None,
        external_id: Some(mid),
        text: clean(&text),
        content,
        tag: None,
    }
}

/// The text, else a readable line per attachment (`[image] <url>`).
fn message_text(m: &Message) -> String {
    if let Some(t) = m.text.as_deref().filter(|t| !t.trim().is_empty()) {
        return t.to_owned();
    }
    let lines: Vec<String> = m
        .attachments
        .iter()
        .map(|a| {
            let kind = if a.kind.is_empty() {
                "attachment"
            } else {
                &a.kind
            };
            match a.payload.as_ref().and_then(|p| p.url.as_deref()) {
                Some(url) => format!("[{kind}] {url}"),
                None => format!("[{kind}]"),
            }
        })
        .collect();
    if lines.is_empty() {
        "[message]".to_owned()
    } else {
        lines.join("\n")
    }
}

fn message_content(m: &Message, standby: bool) -> Option<Value> {
    let mut c = Map::new();
    if !m.attachments.is_empty() {
        let list: Vec<Value> = m
            .attachments
            .iter()
            .map(|a| json!({"type": a.kind, "url": a.payload.as_ref().and_then(|p| p.url.clone())}))
            .collect();
        c.insert("attachments".into(), Value::Array(list));
    }
    if let Some(q) = &m.quick_reply {
        c.insert("quick_reply".into(), json!({"payload": q.payload}));
    }
    if let Some(r) = &m.reply_to {
        c.insert("reply_to".into(), json!({"mid": r.mid}));
    }
    if standby {
        c.insert("standby".into(), Value::Bool(true));
    }
    (!c.is_empty()).then_some(Value::Object(c))
}

/// Text PostgreSQL can store (no NUL) and that the conversation accepts (not empty, not too
/// long): a person's message is stored even when it is odd.
fn clean(text: &str) -> String {
    let t: String = text
        .chars()
        .filter(|c| *c != '\0')
        .take(MAX_TEXT_CHARS)
        .collect();
    if t.trim().is_empty() {
        "[message]".to_owned()
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::messenger::webhook::{Attachment, AttachmentPayload, QuickReply};

    fn msg(text: Option<&str>) -> Message {
        Message {
            mid: "m_1".into(),
            text: text.map(str::to_owned),
            quick_reply: None,
            attachments: vec![],
            reply_to: None,
            is_echo: false,
            app_id: None,
            metadata: None,
        }
    }

    #[test]
    fn our_metadata_round_trips_and_nothing_else_is_ours() {
        assert_eq!(our_message_id(Some(&metadata_for(42))), Some(42));
        assert_eq!(our_message_id(Some("sb:x")), None);
        assert_eq!(our_message_id(Some("42")), None);
        assert_eq!(our_message_id(None), None);
    }

    #[test]
    fn the_fallback_name_shows_the_psid_tail() {
        assert_eq!(fallback_name("1234567890"), "Messenger user 7890");
        assert_eq!(fallback_name("12"), "Messenger user 12");
    }

    #[test]
    fn an_attachment_is_a_link_in_text_and_content() {
        let mut m = msg(None);
        m.attachments = vec![Attachment {
            kind: "image".into(),
            payload: Some(AttachmentPayload {
                url: Some("https://cdn.example/p.jpg".into()),
            }),
        }];
        let p = message_post(7, &m, false);
        assert_eq!(p.text, "[image] https://cdn.example/p.jpg");
        assert_eq!(
            p.content.unwrap(),
            json!({"attachments": [{"type": "image", "url": "https://cdn.example/p.jpg"}]})
        );
        assert_eq!(p.external_id.as_deref(), Some("m_1"));
        assert!(matches!(p.author, Author::Visitor { contact_id: 7 }));
    }

    #[test]
    fn a_quick_reply_keeps_text_and_payload_and_standby_is_marked() {
        let mut m = msg(Some("Yes"));
        m.quick_reply = Some(QuickReply {
            payload: Some("YES".into()),
        });
        let p = message_post(1, &m, true);
        assert_eq!(p.text, "Yes");
        assert_eq!(
            p.content.unwrap(),
            json!({"quick_reply": {"payload": "YES"}, "standby": true})
        );
        assert_eq!(message_post(1, &msg(Some("plain")), false).content, None);
    }

    #[test]
    fn a_quick_reply_on_one_of_our_buttons_is_also_its_click() {
        let mut m = msg(Some("Pricing"));
        m.quick_reply = Some(QuickReply {
            payload: Some("sb:btn:12:price".into()),
        });
        let p = message_post(1, &m, false);
        assert_eq!(p.text, "Pricing");
        assert_eq!(
            p.content.unwrap(),
            json!({"quick_reply": {"payload": "sb:btn:12:price"},
                   "button": {"message_id": 12, "id": "price"}})
        );
        m.quick_reply = Some(QuickReply {
            payload: Some("sb:btn:twelve:price".into()),
        });
        assert_eq!(
            message_post(1, &m, false).content.unwrap(),
            json!({"quick_reply": {"payload": "sb:btn:twelve:price"}})
        );
    }

    #[test]
    fn an_email_quick_reply_keeps_the_address_as_text_and_payload() {
        let mut m = msg(Some("ann@example.com"));
        m.quick_reply = Some(QuickReply {
            payload: Some("ann@example.com".into()),
        });
        let p = message_post(1, &m, false);
        assert_eq!(p.text, "ann@example.com");
        assert_eq!(
            p.content.unwrap(),
            json!({"quick_reply": {"payload": "ann@example.com"}})
        );
    }

    #[test]
    fn a_postback_shows_its_title() {
        let p = Postback {
            mid: None,
            title: Some("Get Started".into()),
            payload: Some("GET_STARTED".into()),
        };
        let post = postback_post(3, &p, "postback:P:1".into(), false);
        assert_eq!(post.text, "Get Started");
        assert_eq!(post.external_id.as_deref(), Some("postback:P:1"));
        assert_eq!(
            post.content.unwrap(),
            json!({"postback": {"title": "Get Started", "payload": "GET_STARTED"}})
        );
    }

    #[test]
    fn odd_text_is_still_storable() {
        assert_eq!(message_post(1, &msg(Some("a\0b")), false).text, "ab");
        assert_eq!(message_post(1, &msg(Some("   ")), false).text, "[message]");
        let long = "x".repeat(MAX_TEXT_CHARS + 5);
        assert_eq!(
            message_post(1, &msg(Some(&long)), false)
                .text
                .chars()
                .count(),
            MAX_TEXT_CHARS
        );
        assert!(matches!(
            native_reply_post(&msg(Some("hi")), false).author,
            Author::NativeReply
        ));
    }
}
