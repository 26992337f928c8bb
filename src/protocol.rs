//! Websocket protocol v1 (docs/protocol.md): the frames clients send, parsed with stable error
//! codes, and the frames the server sends. Transport-free, so every actor can build frames.

use crate::domain::views::{MessageView, SessionView};
use crate::error::{AppError, ErrorCode};
use crate::wire::{
    AgentHello, Hello, ServerFrame, SessionPayload, TagView, VisitorHello, VisitorSessionView,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

pub const VERSION: i64 = 1;
/// Largest text frame the application accepts (a larger one gets `frame_too_large`).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Largest frame the codec reads at all; past this the socket is closed (1009).
pub const MAX_CODEC_FRAME_BYTES: usize = 1024 * 1024;

#[derive(Debug, Deserialize, PartialEq, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[ts(optional_fields = nullable)]
pub enum VisitorIn {
    Send {
        #[serde(default)]
        v: Option<i64>,
        client_id: String,
        /// The button's title when `button` is set.
        text: String,
        /// A click on a button of a bot message (an automation flow's choice).
        #[serde(default)]
        button: Option<ButtonClick>,
    },
    Typing {
        #[serde(default)]
        v: Option<i64>,
        on: bool,
    },
    Resume {
        #[serde(default)]
        v: Option<i64>,
        after_seq: i64,
        #[serde(default, rename = "ref")]
        reference: Option<Value>,
    },
    Ping {
        #[serde(default)]
        v: Option<i64>,
        #[serde(default, rename = "ref")]
        reference: Option<Value>,
    },
}

/// Which button of which message was clicked; stored in the visitor message's
/// `content.button`, where an automation run waiting on that message reads it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct ButtonClick {
    pub message_id: i64,
    pub id: String,
}

#[derive(Debug, Deserialize, PartialEq, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[ts(optional_fields = nullable)]
pub enum AgentIn {
    Send {
        #[serde(default)]
        v: Option<i64>,
        session_id: i64,
        client_id: String,
        text: String,
        /// A Messenger message tag from the Page's allowed list, for a reply past the windows.
        #[serde(default)]
        tag: Option<String>,
    },
    Typing {
        #[serde(default)]
        v: Option<i64>,
        session_id: i64,
        on: bool,
    },
    Take {
        #[serde(default)]
        v: Option<i64>,
        session_id: i64,
        #[serde(default, rename = "ref")]
        reference: Option<Value>,
    },
    Assign {
        #[serde(default)]
        v: Option<i64>,
        session_id: i64,
        user_id: Option<i64>,
        #[serde(default, rename = "ref")]
        reference: Option<Value>,
    },
    End {
        #[serde(default)]
        v: Option<i64>,
        session_id: i64,
        #[serde(default, rename = "ref")]
        reference: Option<Value>,
    },
    Resume {
        #[serde(default)]
        v: Option<i64>,
        session_id: i64,
        after_seq: i64,
        #[serde(default, rename = "ref")]
        reference: Option<Value>,
    },
    Ping {
        #[serde(default)]
        v: Option<i64>,
        #[serde(default, rename = "ref")]
        reference: Option<Value>,
    },
}

const VISITOR_TYPES: &[&str] = &["send", "typing", "resume", "ping"];
const AGENT_TYPES: &[&str] = &["send", "typing", "take", "assign", "end", "resume", "ping"];

/// A refused frame: the error to send back and the reference (client id or ref) to echo.
#[derive(Debug)]
pub struct Refusal {
    pub error: AppError,
    pub reference: Option<Value>,
}

pub fn parse_visitor(text: &str) -> Result<VisitorIn, Refusal> {
    parse(text, VISITOR_TYPES)
}

pub fn parse_agent(text: &str) -> Result<AgentIn, Refusal> {
    parse(text, AGENT_TYPES)
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, known: &[&str]) -> Result<T, Refusal> {
    let refuse = |code, msg: String, reference| Refusal {
        error: AppError::new(code, msg),
        reference,
    };
    if text.len() > MAX_FRAME_BYTES {
        return Err(refuse(
            ErrorCode::FrameTooLarge,
            format!("frames are limited to {MAX_FRAME_BYTES} bytes"),
            None,
        ));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| refuse(ErrorCode::InvalidJson, format!("not valid JSON: {e}"), None))?;
    let obj = value.as_object().ok_or_else(|| {
        refuse(
            ErrorCode::InvalidFrame,
            "a frame is a JSON object".into(),
            None,
        )
    })?;
    let reference = obj.get("client_id").or_else(|| obj.get("ref")).cloned();
    match obj.get("v") {
        None => {}
        Some(Value::Number(n)) if n.as_i64() == Some(VERSION) => {}
        Some(_) => {
            return Err(refuse(
                ErrorCode::InvalidFrame,
                format!("unsupported protocol version (this server speaks v{VERSION})"),
                reference,
            ))
        }
    }
    match obj.get("type").and_then(Value::as_str) {
        None => {
            return Err(refuse(
                ErrorCode::InvalidFrame,
                "a frame needs a string \"type\"".into(),
                reference,
            ))
        }
        Some(t) if !known.contains(&t) => {
            return Err(refuse(
                ErrorCode::UnknownType,
                format!("unknown frame type {t:?}"),
                reference,
            ))
        }
        Some(_) => {}
    }
    // Before anything acts on the frame: a visitor's first `send` must not open a session for
    // text the database will refuse.
    crate::text::check_json(&value).map_err(|error| Refusal {
        error,
        reference: reference.clone(),
    })?;
    serde_json::from_value(value)
        .map_err(|e| refuse(ErrorCode::InvalidFrame, e.to_string(), reference))
}

// The builders below keep the call sites free of wire details; the shapes live in `wire`.

fn frame(f: ServerFrame<'_>) -> Arc<str> {
    Arc::from(f.into_text())
}

pub fn error(e: &AppError, reference: Option<&Value>) -> Arc<str> {
    frame(ServerFrame::Error {
        code: e.code.as_str().to_owned(),
        message: e.message.clone(),
        reference: reference.cloned(),
        details: e.details.clone(),
    })
}

pub fn message(m: &MessageView) -> Arc<str> {
    frame(ServerFrame::Message(Cow::Borrowed(m)))
}

pub fn message_status(
    session_id: i64,
    message_id: i64,
    delivery: &crate::domain::views::DeliveryView,
) -> Arc<str> {
    frame(ServerFrame::MessageStatus {
        session_id,
        message_id,
        delivery: delivery.clone(),
    })
}

/// What a visitor may know of its session: not the agent-side fields (note name, assignee,
/// counters).
pub fn visitor_session(s: &crate::db::sessions::SessionRow) -> Arc<str> {
    frame(ServerFrame::Session {
        session: SessionPayload::Visitor(VisitorSessionView::from(s)),
    })
}

pub fn session(s: &SessionView) -> Arc<str> {
    frame(ServerFrame::Session {
        session: SessionPayload::Agent(Cow::Borrowed(s)),
    })
}

/// A background job moved on (agents who manage the project's channels).
pub fn job(j: &crate::domain::views::JobView) -> Arc<str> {
    frame(ServerFrame::Job { job: j.clone() })
}

/// A flow's analytics figures changed (agents who view automation data).
pub fn flow_stats(flow_id: i64) -> Arc<str> {
    frame(ServerFrame::FlowStats { flow_id })
}

/// A contact's customer info changed (agents who see the contact).
pub fn contact(c: &crate::db::contacts::Contact) -> Arc<str> {
    frame(ServerFrame::Contact { contact: c.clone() })
}

/// A session's tags were replaced (agents who see the session).
pub fn session_tags(session_id: i64, tags: &[crate::db::session_tags::SessionTag]) -> Arc<str> {
    frame(ServerFrame::SessionTags {
        session_id,
        tags: tags.iter().map(TagView::from).collect(),
    })
}

pub fn ack(m: &MessageView) -> Arc<str> {
    frame(ServerFrame::Ack {
        client_id: m.client_id.clone(),
        session_id: m.session_id,
        seq: m.seq,
        message_id: m.message_id,
        created_at: m.created_at,
    })
}

pub fn ok(reference: Option<&Value>) -> Arc<str> {
    frame(ServerFrame::Ok {
        reference: reference.cloned(),
    })
}

pub fn pong(reference: Option<&Value>) -> Arc<str> {
    frame(ServerFrame::Pong {
        reference: reference.cloned(),
    })
}

pub fn typing(session_id: i64, from: &str, user_id: Option<i64>, on: bool) -> Arc<str> {
    frame(ServerFrame::Typing {
        session_id,
        from: from.to_owned(),
        user_id,
        on,
    })
}

pub fn agent_hello(user_id: i64, project_id: i64, scope: &str) -> Arc<str> {
    frame(ServerFrame::Hello(Hello::Agent(AgentHello {
        user_id,
        project_id,
        data_scope: scope.to_owned(),
    })))
}

pub fn visitor_hello(
    token: &str,
    contact_id: i64,
    session_id: Option<i64>,
    last_seq: i64,
) -> Arc<str> {
    frame(ServerFrame::Hello(Hello::Visitor(VisitorHello {
        visitor_token: token.to_owned(),
        contact_id: Some(contact_id),
        session_id,
        last_seq,
    })))
}

/// The hello of a visitor who has not written yet: no contact, so no session either.
pub fn pending_visitor_hello(token: &str) -> Arc<str> {
    frame(ServerFrame::Hello(Hello::Visitor(VisitorHello {
        visitor_token: token.to_owned(),
        contact_id: None,
        session_id: None,
        last_seq: 0,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_known_frames() {
        let f = parse_agent(r#"{"v":1,"type":"send","session_id":3,"client_id":"c1","text":"hi"}"#)
            .unwrap();
        assert_eq!(
            f,
            AgentIn::Send {
                v: Some(1),
                session_id: 3,
                client_id: "c1".into(),
                text: "hi".into(),
                tag: None,
            }
        );
        let f = parse_agent(
            r#"{"type":"send","session_id":3,"client_id":"c2","text":"hi","tag":"CUSTOM"}"#,
        )
        .unwrap();
        assert!(matches!(f, AgentIn::Send { tag: Some(t), .. } if t == "CUSTOM"));
        assert!(matches!(
            parse_visitor(r#"{"type":"ping"}"#),
            Ok(VisitorIn::Ping { .. })
        ));
    }

    #[test]
    fn refusals_have_stable_codes_and_echo_the_reference() {
        let code = |r: Result<AgentIn, Refusal>| r.unwrap_err().error.code;
        assert_eq!(code(parse_agent("{nope")), ErrorCode::InvalidJson);
        assert_eq!(code(parse_agent("[1]")), ErrorCode::InvalidFrame);
        assert_eq!(
            code(parse_agent(r#"{"type":"dance"}"#)),
            ErrorCode::UnknownType
        );
        assert_eq!(
            code(parse_agent(r#"{"v":2,"type":"ping"}"#)),
            ErrorCode::InvalidFrame
        );
        let r = parse_agent(r#"{"type":"send","client_id":"c9","text":"x"}"#).unwrap_err();
        assert_eq!(r.error.code, ErrorCode::InvalidFrame);
        assert_eq!(r.reference, Some(json!("c9")));
        let big = format!(
            r#"{{"type":"ping","ref":"{}"}}"#,
            "x".repeat(MAX_FRAME_BYTES)
        );
        assert_eq!(code(parse_agent(&big)), ErrorCode::FrameTooLarge);
        // A visitor cannot use agent commands.
        assert_eq!(
            parse_visitor(r#"{"type":"take","session_id":1}"#)
                .unwrap_err()
                .error
                .code,
            ErrorCode::UnknownType
        );
    }

    #[test]
    fn a_nul_anywhere_is_refused_as_validation_naming_the_field() {
        let r = parse_visitor(r#"{"type":"send","client_id":"c1","text":"a\u0000"}"#).unwrap_err();
        assert_eq!(r.error.code, ErrorCode::Validation);
        assert!(r.error.message.contains("`text`"), "{}", r.error.message);
        assert_eq!(r.reference, Some(json!("c1")));
        let r = parse_agent(r#"{"type":"ping","ref":{"k":["\u0000"]}}"#).unwrap_err();
        assert!(
            r.error.message.contains("`ref.k[0]`"),
            "{}",
            r.error.message
        );
    }
}
