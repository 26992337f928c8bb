//! The subset of protocol v1 (docs/protocol.md) that the load generator speaks.
//!
//! Incoming frames are parsed into a flat, borrowed view: only the fields the generator
//! measures are read, unknown fields and unknown frame types are tolerated, so the
//! generator keeps working while the server grows new fields. The tests check this parser
//! against the frames the server itself builds (`switchboard::protocol`, typed in
//! `switchboard::wire`), so the two cannot drift apart unnoticed.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Prefix of every message text the generator sends. The client_id follows it, so a
/// `message` frame can be matched to its send even if the server omits `client_id`.
pub const TEXT_PREFIX: &str = "loadtest ";

/// A server → client frame, flattened. Every field is optional except `type`.
#[derive(Debug, Deserialize)]
pub struct RawFrame<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub client_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub sender: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub text: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub code: Option<Cow<'a, str>>,
    #[serde(default, rename = "ref", borrow, deserialize_with = "opt_cow")]
    pub ref_: Option<Cow<'a, str>>,
    /// `hello` (visitor): the visitor's token, its open session and that session's last seq.
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    pub visitor_token: Option<Cow<'a, str>>,
    #[serde(default)]
    pub session_id: Option<i64>,
    #[serde(default)]
    pub last_seq: Option<i64>,
    /// `ack` / `message`: the message's place in its session.
    #[serde(default)]
    pub seq: Option<i64>,
    /// `error`: machine-readable extras, e.g. `busy`'s `retry_after_ms`.
    #[serde(default)]
    pub details: Option<ErrorDetails>,
}

/// The part of an error frame's `details` the generator acts on; other keys are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorDetails {
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
}

/// Code of the refusal the server sends when it cannot take a `send` soon enough; the
/// client resends the same `client_id` after `details.retry_after_ms`.
pub const BUSY: &str = "busy";

/// `Option<Cow<str>>` that borrows from the input when the JSON string has no escapes
/// (plain `Option<Cow>` always allocates).
fn opt_cow<'de, D>(d: D) -> Result<Option<Cow<'de, str>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrowed<'de>>::deserialize(d)?.map(|b| b.0))
}

/// What the generator does with a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    Hello,
    Ack {
        client_id: Cow<'a, str>,
    },
    /// A `message` frame. `client_id` is the generator's id for it when it can be
    /// recovered (from the field, else from the text), `None` for foreign messages.
    Message {
        from_visitor: bool,
        client_id: Option<Cow<'a, str>>,
    },
    Session,
    Error {
        code: Cow<'a, str>,
        client_id: Option<Cow<'a, str>>,
        /// `details.retry_after_ms`, when the server gave a hint (`busy`).
        retry_after_ms: Option<u64>,
    },
    /// `typing`, `ok`, `pong` and any type this generator does not know.
    Other,
}

/// Parses one text frame. Fails only when the frame is not a JSON object with a `type`.
pub fn parse(text: &str) -> Result<Frame<'_>, serde_json::Error> {
    Ok(classify(parse_raw(text)?))
}

/// The flat view itself, for callers that check more than the classification
/// (the reconnect mode reads `seq`, `session_id` and the hello's token).
pub fn parse_raw(text: &str) -> Result<RawFrame<'_>, serde_json::Error> {
    serde_json::from_str(text)
}

fn classify(raw: RawFrame<'_>) -> Frame<'_> {
    match raw.kind.as_ref() {
        "hello" => Frame::Hello,
        "ack" => match raw.client_id {
            Some(client_id) => Frame::Ack { client_id },
            None => Frame::Other,
        },
        "message" => {
            let from_visitor = raw.sender.as_deref() == Some("visitor");
            let client_id = raw.client_id.or_else(|| {
                raw.text.and_then(|t| match t {
                    Cow::Borrowed(t) => client_id_from_text(t).map(Cow::Borrowed),
                    Cow::Owned(t) => client_id_from_text(&t).map(|c| Cow::Owned(c.to_owned())),
                })
            });
            Frame::Message {
                from_visitor,
                client_id,
            }
        }
        "session" => Frame::Session,
        "error" => Frame::Error {
            code: raw.code.unwrap_or(Cow::Borrowed("unknown")),
            client_id: raw.client_id.or(raw.ref_),
            retry_after_ms: raw.details.and_then(|d| d.retry_after_ms),
        },
        _ => Frame::Other,
    }
}

/// Recovers the client_id from a text the generator produced (`"loadtest <id> …"`).
pub fn client_id_from_text(text: &str) -> Option<&str> {
    let rest = text.strip_prefix(TEXT_PREFIX)?;
    let id = rest.split(' ').next()?;
    (!id.is_empty()).then_some(id)
}

/// Builds the text of a generated message: the prefix, the client_id, then padding up
/// to `len` bytes (never shorter than prefix + id).
pub fn message_text(client_id: &str, len: usize) -> String {
    let mut text = String::with_capacity(len.max(TEXT_PREFIX.len() + client_id.len() + 1));
    text.push_str(TEXT_PREFIX);
    text.push_str(client_id);
    if text.len() < len {
        text.push(' ');
        while text.len() < len {
            text.push('x');
        }
    }
    text
}

/// Visitor → server `send`.
#[derive(Debug, Serialize)]
pub struct VisitorSend<'a> {
    pub v: u8,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub client_id: &'a str,
    pub text: &'a str,
}

impl<'a> VisitorSend<'a> {
    pub fn new(client_id: &'a str, text: &'a str) -> Self {
        VisitorSend {
            v: 1,
            kind: "send",
            client_id,
            text,
        }
    }

    pub fn to_json(&self) -> String {
        // Serializing a struct of &str into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hello_with_null_session() {
        let f = parse(
            r#"{"v":1,"type":"hello","visitor_token":"t","contact_id":12,"session_id":null,"last_seq":0}"#,
        )
        .expect("valid");
        assert_eq!(f, Frame::Hello);
    }

    #[test]
    fn unescaped_fields_are_borrowed() {
        let text = r#"{"v":1,"type":"ack","client_id":"lt-1-2","session_id":3}"#;
        match parse(text).expect("valid") {
            Frame::Ack { client_id } => assert!(matches!(client_id, Cow::Borrowed(_))),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn parses_ack() {
        let f = parse(
            r#"{"v":1,"type":"ack","client_id":"lt-1-2","session_id":3,"seq":4,"message_id":5,"created_at":"2024-01-01T00:00:00Z"}"#,
        )
        .expect("valid");
        assert_eq!(
            f,
            Frame::Ack {
                client_id: Cow::Borrowed("lt-1-2")
            }
        );
    }

    #[test]
    fn parses_message_with_and_without_client_id() {
        let with = parse(
            r#"{"v":1,"type":"message","session_id":1,"seq":1,"message_id":9,"sender":"visitor","client_id":"lt-0-0","text":"loadtest lt-0-0 xx","off_platform":false,"created_at":"x"}"#,
        )
        .expect("valid");
        assert_eq!(
            with,
            Frame::Message {
                from_visitor: true,
                client_id: Some(Cow::Borrowed("lt-0-0"))
            }
        );
        let without = parse(
            r#"{"v":1,"type":"message","session_id":1,"seq":1,"sender":"visitor","text":"loadtest lt-7-3 xxx"}"#,
        )
        .expect("valid");
        assert_eq!(
            without,
            Frame::Message {
                from_visitor: true,
                client_id: Some(Cow::Borrowed("lt-7-3"))
            }
        );
        let agent =
            parse(r#"{"v":1,"type":"message","sender":"agent","text":"hi"}"#).expect("valid");
        assert_eq!(
            agent,
            Frame::Message {
                from_visitor: false,
                client_id: None
            }
        );
    }

    #[test]
    fn escaped_text_still_yields_client_id() {
        // An escape forces serde to hand out an owned string.
        let f = parse(r#"{"type":"message","sender":"visitor","text":"loadtest lt-1-1 \u0078"}"#)
            .expect("valid");
        assert_eq!(
            f,
            Frame::Message {
                from_visitor: true,
                client_id: Some(Cow::Owned("lt-1-1".to_owned()))
            }
        );
    }

    #[test]
    fn parses_error_session_and_unknown() {
        let e = parse(r#"{"v":1,"type":"error","code":"text_too_long","message":"m","ref":"r1"}"#)
            .expect("valid");
        assert_eq!(
            e,
            Frame::Error {
                code: Cow::Borrowed("text_too_long"),
                client_id: Some(Cow::Borrowed("r1")),
                retry_after_ms: None,
            }
        );
        let s =
            parse(r#"{"v":1,"type":"session","session":{"id":1,"status":"open"}}"#).expect("valid");
        assert_eq!(s, Frame::Session);
        assert_eq!(
            parse(r#"{"v":1,"type":"typing","on":true}"#).expect("valid"),
            Frame::Other
        );
        assert!(parse("not json").is_err());
        assert!(parse(r#"{"v":1}"#).is_err());
    }

    #[test]
    fn busy_carries_its_retry_hint() {
        let f = parse(
            r#"{"v":1,"type":"error","code":"busy","message":"later","ref":"lt-4-1","details":{"retry_after_ms":250,"other":1}}"#,
        )
        .expect("valid");
        assert_eq!(
            f,
            Frame::Error {
                code: Cow::Borrowed(BUSY),
                client_id: Some(Cow::Borrowed("lt-4-1")),
                retry_after_ms: Some(250),
            }
        );
    }

    #[test]
    fn raw_view_has_seq_session_and_token() {
        let h = parse_raw(
            r#"{"v":1,"type":"hello","visitor_token":"tok","contact_id":1,"session_id":7,"last_seq":3}"#,
        )
        .expect("valid");
        assert_eq!(h.visitor_token.as_deref(), Some("tok"));
        assert_eq!((h.session_id, h.last_seq), (Some(7), Some(3)));
        let none = parse_raw(
            r#"{"v":1,"type":"hello","visitor_token":"t","session_id":null,"last_seq":0}"#,
        )
        .expect("valid");
        assert_eq!(none.session_id, None);
        let m = parse_raw(r#"{"type":"message","session_id":7,"seq":2}"#).expect("valid");
        assert_eq!(m.seq, Some(2));
    }

    #[test]
    fn message_text_roundtrip() {
        let t = message_text("lt-3-9", 40);
        assert_eq!(t.len(), 40);
        assert_eq!(client_id_from_text(&t), Some("lt-3-9"));
        let short = message_text("lt-3-9", 0);
        assert_eq!(short, "loadtest lt-3-9");
        assert_eq!(client_id_from_text(&short), Some("lt-3-9"));
        assert_eq!(client_id_from_text("hello"), None);
    }

    #[test]
    fn send_frame_shape() {
        let v: serde_json::Value =
            serde_json::from_str(&VisitorSend::new("c1", "hi").to_json()).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"v":1,"type":"send","client_id":"c1","text":"hi"})
        );
    }

    /// The server's own frames (every type), as the generator classifies them.
    mod against_the_server {
        use super::*;
        use switchboard::db::enums::{SenderKind, SessionStatus};
        use switchboard::domain::views::MessageView;
        use switchboard::error::{AppError, ErrorCode};
        use switchboard::protocol;
        use switchboard::wire::{ServerFrame, SessionPayload, VisitorSessionView};

        fn view(sender: SenderKind, client_id: Option<&str>, text: &str) -> MessageView {
            MessageView {
                session_id: 3,
                seq: 4,
                message_id: 5,
                sender,
                sender_user_id: None,
                client_id: client_id.map(str::to_owned),
                text: text.into(),
                off_platform: false,
                created_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                content: serde_json::json!({}),
                delivery: None,
            }
        }

        #[test]
        fn hello_ack_and_message_frames_are_understood() {
            assert_eq!(
                parse(&protocol::visitor_hello("t", 12, None, 0)).expect("valid"),
                Frame::Hello
            );
            assert_eq!(
                parse(&protocol::agent_hello(1, 2, "all")).expect("valid"),
                Frame::Hello
            );
            let sent = view(SenderKind::Visitor, Some("lt-1-2"), "loadtest lt-1-2 xx");
            assert_eq!(
                parse(&protocol::ack(&sent)).expect("valid"),
                Frame::Ack {
                    client_id: Cow::Borrowed("lt-1-2")
                }
            );
            assert_eq!(
                parse(&protocol::message(&sent)).expect("valid"),
                Frame::Message {
                    from_visitor: true,
                    client_id: Some(Cow::Borrowed("lt-1-2"))
                }
            );
            let reply = view(SenderKind::Agent, None, "hi");
            assert_eq!(
                parse(&protocol::message(&reply)).expect("valid"),
                Frame::Message {
                    from_visitor: false,
                    client_id: None
                }
            );
        }

        #[test]
        fn the_resume_fields_are_read_from_the_servers_frames() {
            let hello = protocol::visitor_hello("tok", 12, Some(34), 7);
            let h = parse_raw(&hello).expect("valid");
            assert_eq!(h.visitor_token.as_deref(), Some("tok"));
            assert_eq!((h.session_id, h.last_seq), (Some(34), Some(7)));
            let sent = view(SenderKind::Visitor, Some("lt-1-2"), "loadtest lt-1-2 xx");
            let m = protocol::message(&sent);
            let m = parse_raw(&m).expect("valid");
            assert_eq!((m.session_id, m.seq), (Some(3), Some(4)));
            let a = protocol::ack(&sent);
            assert_eq!(parse_raw(&a).expect("valid").seq, Some(4));
        }

        #[test]
        fn error_frames_name_the_refused_send() {
            let e = AppError::new(ErrorCode::RateLimited, "later");
            let refused = serde_json::Value::String("lt-0-9".into());
            assert_eq!(
                parse(&protocol::error(&e, Some(&refused))).expect("valid"),
                Frame::Error {
                    code: Cow::Borrowed("rate_limited"),
                    client_id: Some(Cow::Borrowed("lt-0-9")),
                    retry_after_ms: None,
                }
            );
            assert_eq!(
                parse(&protocol::error(&e, None)).expect("valid"),
                Frame::Error {
                    code: Cow::Borrowed("rate_limited"),
                    client_id: None,
                    retry_after_ms: None,
                }
            );
        }

        #[test]
        fn session_frames_are_understood() {
            let visitor_view = ServerFrame::Session {
                session: SessionPayload::Visitor(VisitorSessionView {
                    id: 3,
                    status: SessionStatus::Unassigned,
                    created_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                    ended_at: None,
                }),
            };
            assert_eq!(
                parse(&visitor_view.into_text()).expect("valid"),
                Frame::Session
            );
        }

        #[test]
        fn other_frames_are_tolerated() {
            for f in [
                protocol::ok(None),
                protocol::pong(Some(&serde_json::json!("p"))),
                protocol::typing(3, "agent", Some(1), true),
                protocol::session_tags(3, &[]),
            ] {
                assert_eq!(parse(&f).expect("valid"), Frame::Other, "{f}");
            }
        }

        #[test]
        fn the_server_accepts_the_generated_send() {
            let json = VisitorSend::new("lt-1-1", "loadtest lt-1-1").to_json();
            assert!(matches!(
                protocol::parse_visitor(&json),
                Ok(protocol::VisitorIn::Send { client_id, .. }) if client_id == "lt-1-1"
            ));
        }
    }
}
