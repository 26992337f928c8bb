//! Automation's buttons and questions on Messenger. A bot message's `content.buttons` go out as
//! text quick replies whose payload names our message and the button (`sb:btn:<message id>:
//! <button id>`), so the tap that comes back says which message's button it was; a question's
//! `content.ask` of `email` / `phone` goes out with Meta's `user_email` / `user_phone_number`
//! quick reply, which offers the address or number of the person's profile.

use crate::graph::QuickReply;
use serde_json::{json, Value};

/// Our quick-reply payloads: `sb:btn:<messages.id>:<button id>`.
pub const BUTTON_PAYLOAD_PREFIX: &str = "sb:btn:";
/// Meta shows at most 13 quick replies.
pub const MAX_QUICK_REPLIES: usize = 13;
/// Meta truncates a quick reply's title past 20 characters; we cut it ourselves, so the
/// console knows what the person saw.
pub const MAX_TITLE_CHARS: usize = 20;
/// Meta refuses a payload over 1000 characters.
pub const MAX_PAYLOAD_CHARS: usize = 1000;

pub fn button_payload(message_id: i64, button_id: &str) -> String {
    format!("{BUTTON_PAYLOAD_PREFIX}{message_id}:{button_id}")
}

/// The message id and button id of one of our button payloads; `None` for anything else
/// (a payload of another app, a malformed one). A button id may itself contain `:`.
pub fn parse_button_payload(payload: &str) -> Option<(i64, String)> {
    let rest = payload.strip_prefix(BUTTON_PAYLOAD_PREFIX)?;
    let (id, button) = rest.split_once(':')?;
    // Only the digits we write: `+5` or ` 5` would parse but are not ours.
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || button.is_empty() {
        return None;
    }
    let id: i64 = id.parse().ok().filter(|id| *id > 0)?;
    Some((id, button.to_owned()))
}

/// `content.button` of a person's quick-reply tap on one of our buttons, as the widget's
/// click stores it.
pub fn button_click(payload: Option<&str>) -> Option<Value> {
    let (message_id, id) = parse_button_payload(payload?)?;
    Some(json!({"message_id": message_id, "id": id}))
}

/// The quick replies a bot message offers, from its `content`: its buttons (the first 13,
/// titles cut to 20 characters), or the e-mail / phone quick reply of a question; none for
/// anything else.
pub fn quick_replies(message_id: i64, content: &Value) -> Vec<QuickReply> {
    if let Some(buttons) = content.get("buttons").and_then(Value::as_array) {
        return buttons
            .iter()
            .filter_map(|b| {
                let id = b.get("id")?.as_str().filter(|id| !id.is_empty())?;
                let title: String = b
                    .get("title")?
                    .as_str()?
                    .trim()
                    .chars()
                    .take(MAX_TITLE_CHARS)
                    .collect();
                let payload = button_payload(message_id, id);
                if title.is_empty() || payload.chars().count() > MAX_PAYLOAD_CHARS {
                    tracing::warn!(message_id, button = id, "a button Messenger cannot show");
                    return None;
                }
                Some(QuickReply::Text { title, payload })
            })
            .take(MAX_QUICK_REPLIES)
            .collect();
    }
    match content.get("ask").and_then(Value::as_str) {
        Some("email") => vec![QuickReply::UserEmail],
        Some("phone") => vec![QuickReply::UserPhoneNumber],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(title: &str, payload: &str) -> QuickReply {
        QuickReply::Text {
            title: title.into(),
            payload: payload.into(),
        }
    }

    #[test]
    fn a_button_payload_round_trips_even_with_a_colon_in_the_button_id() {
        assert_eq!(button_payload(42, "price"), "sb:btn:42:price");
        assert_eq!(
            parse_button_payload(&button_payload(42, "price")),
            Some((42, "price".into()))
        );
        assert_eq!(
            parse_button_payload("sb:btn:7:a:b"),
            Some((7, "a:b".into()))
        );
    }

    #[test]
    fn a_malformed_or_foreign_payload_is_no_button() {
        for p in [
            "",
            "YES",
            "sb:42",
            "sb:btn:",
            "sb:btn:42",
            "sb:btn:42:",
            "sb:btn::price",
            "sb:btn:x:price",
            "sb:btn:+4:price",
            "sb:btn: 4:price",
            "sb:btn:0:price",
            "sb:btn:99999999999999999999:price",
            "SB:BTN:4:price",
        ] {
            assert_eq!(parse_button_payload(p), None, "{p:?}");
        }
        assert_eq!(button_click(None), None);
        assert_eq!(
            button_click(Some("sb:btn:5:human")),
            Some(json!({"message_id": 5, "id": "human"}))
        );
    }

    #[test]
    fn buttons_become_text_quick_replies_naming_the_message_and_the_button() {
        let content = json!({"buttons": [{"id": "price", "title": "Pricing"},
                                         {"id": "human", "title": " A person "}]});
        assert_eq!(
            quick_replies(9, &content),
            vec![
                text("Pricing", "sb:btn:9:price"),
                text("A person", "sb:btn:9:human")
            ]
        );
    }

    #[test]
    fn titles_are_cut_to_20_characters_and_at_most_13_buttons_go() {
        let long = "Ünïcödé title that is far too long";
        let buttons: Vec<Value> = (0..15)
            .map(|i| json!({"id": format!("b{i}"), "title": long}))
            .collect();
        let got = quick_replies(1, &json!({ "buttons": buttons }));
        assert_eq!(got.len(), MAX_QUICK_REPLIES);
        let cut: String = long.chars().take(20).collect();
        assert_eq!(got[0], text(&cut, "sb:btn:1:b0"));
        assert_eq!(got[12], text(&cut, "sb:btn:1:b12"));
    }

    #[test]
    fn a_button_messenger_cannot_show_is_left_out() {
        let content = json!({"buttons": [{"id": "", "title": "No id"}, {"id": "x", "title": "  "},
            {"id": "y"}, {"id": "z".repeat(1000), "title": "Too long a payload"},
            {"id": "ok", "title": "Fine"}]});
        assert_eq!(
            quick_replies(3, &content),
            vec![text("Fine", "sb:btn:3:ok")]
        );
    }

    #[test]
    fn a_question_for_an_email_or_a_phone_offers_the_profiles_and_text_offers_nothing() {
        assert_eq!(
            quick_replies(1, &json!({"ask": "email"})),
            vec![QuickReply::UserEmail]
        );
        assert_eq!(
            quick_replies(1, &json!({"ask": "phone"})),
            vec![QuickReply::UserPhoneNumber]
        );
        assert_eq!(quick_replies(1, &json!({"ask": "text"})), vec![]);
        assert_eq!(quick_replies(1, &json!({})), vec![]);
        assert_eq!(quick_replies(1, &json!({"attachments": []})), vec![]);
    }
}
