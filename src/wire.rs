//! The frames the server sends on both websockets (docs/protocol.md), as one typed enum, and
//! the TypeScript declarations generated from it (`web/shared/protocol.generated.ts`).
//!
//! Why typed frames: the wire format used to be written four times (here with `json!`, in the
//! console, in the widget and in the load generator) and nothing noticed when one copy drifted.
//! Now `protocol`'s builders serialise `ServerFrame`, the console and the widget import the
//! generated types (`tsc` fails when they diverge), and the load generator's parser is tested
//! against frames built here. The test below pins the JSON of every frame, so a change to the
//! wire is a visible change to that test, to the generated file and to docs/protocol.md.
//!
//! Why ts-rs and not schemars: we need TypeScript types, not a JSON schema. ts-rs reads the
//! serde attributes (tag, rename, flatten, untagged, skip) and emits TypeScript directly, with no
//! schema-to-TS tool to install in `web/`; Lemmy exports its API types the same way.
//!
//! The frames are independent of database rows: contacts and tags get their own views here,
//! sessions and messages use `domain::views`, which REST shares. Both endpoints send `hello`
//! and `session` frames of different shapes (a visitor learns nothing agent-side), modelled as
//! untagged alternatives so that the tag stays `"hello"` / `"session"` on the wire.

use crate::db::enums::SessionStatus;
use crate::db::{contacts::Contact, session_tags::SessionTag, sessions::SessionRow};
use crate::domain::views::{DeliveryView, JobView, MessageView, SessionView};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use ts_rs::TS;

/// A server frame as it goes on the wire: `"v"` next to the frame's own fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireFrame<'a> {
    pub v: i64,
    #[serde(flatten)]
    pub frame: ServerFrame<'a>,
}

/// Every frame the server sends; `type` names the variant. Payloads that are built from a
/// view the caller already holds are borrowed (`Cow`), so a fan-out copies nothing.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    /// First frame on a connection; its shape depends on the endpoint.
    Hello(Hello),
    Session {
        session: SessionPayload<'a>,
    },
    /// A committed message.
    Message(Cow<'a, MessageView>),
    /// How a message sent through a channel's platform is getting on changed: sent, failed,
    /// delivered, read (agents who see the session).
    MessageStatus {
        session_id: i64,
        message_id: i64,
        delivery: DeliveryView,
    },
    /// A background job (contact sync) moved on: after each page, and when it ends (agents
    /// with `channels.manage`).
    Job {
        job: JobView,
    },
    /// A flow's analytics figures changed (a run started, participated or completed), at most
    /// once per flow per second: an open analytics page refetches what it shows (agents with
    /// `automation.view` or `automation.manage`).
    FlowStats {
        flow_id: i64,
    },
    /// A contact's customer info was edited (agents who see the contact).
    Contact {
        // The same public shape as the REST API's contact (`db::contacts::Contact`).
        contact: Contact,
    },
    /// A session's tags were replaced: the whole new list.
    SessionTags {
        session_id: i64,
        tags: Vec<TagView>,
    },
    /// The message with this client id is committed.
    Ack {
        client_id: Option<String>,
        session_id: i64,
        seq: i64,
        message_id: i64,
        created_at: DateTime<Utc>,
    },
    /// A command was applied; `ref` echoes the command's (null when it had none).
    Ok {
        #[serde(rename = "ref")]
        reference: Option<Value>,
    },
    /// Answer to `ping`; `ref` echoes the ping's (null when it had none).
    Pong {
        #[serde(rename = "ref")]
        reference: Option<Value>,
    },
    /// A typing indicator (not stored).
    Typing {
        session_id: i64,
        #[ts(type = "\"visitor\" | \"agent\"")]
        from: String,
        user_id: Option<i64>,
        on: bool,
    },
    /// A frame was refused; nothing was applied. `ref` is the refused frame's `ref` or
    /// `client_id`, left out when it had neither.
    Error {
        code: String,
        message: String,
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<Value>,
        /// Structured detail of the refusal (`busy`: `retry_after_ms`); left out when none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        details: Option<Value>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(untagged)]
pub enum Hello {
    Agent(AgentHello),
    Visitor(VisitorHello),
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct AgentHello {
    pub user_id: i64,
    pub project_id: i64,
    #[ts(type = "\"own\" | \"all\"")]
    pub data_scope: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct VisitorHello {
    pub visitor_token: String,
    /// Null for a visitor who has not written yet: the contact is made with the first message.
    pub contact_id: Option<i64>,
    /// The open session, null when there is none yet.
    pub session_id: Option<i64>,
    /// Newest seq in that session, 0 when none.
    pub last_seq: i64,
}

/// An agent gets the whole view; a visitor only `VisitorSessionView`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(untagged)]
pub enum SessionPayload<'a> {
    Agent(Cow<'a, SessionView>),
    Visitor(VisitorSessionView),
}

/// What a visitor may know of its session: not the agent-side fields (note name, assignee,
/// counters).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct VisitorSessionView {
    pub id: i64,
    #[ts(type = "\"unassigned\" | \"assigned\" | \"ended\"")]
    pub status: SessionStatus,
    pub created_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<&SessionRow> for VisitorSessionView {
    fn from(s: &SessionRow) -> Self {
        VisitorSessionView {
            id: s.id,
            status: s.status,
            created_at: s.created_at,
            ended_at: s.ended_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct TagView {
    pub id: i64,
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
}

impl From<&SessionTag> for TagView {
    fn from(t: &SessionTag) -> Self {
        TagView {
            id: t.id,
            name: t.name.clone(),
            color: t.color.clone(),
        }
    }
}

impl ServerFrame<'_> {
    /// The frame's text, with the protocol version.
    pub fn into_text(self) -> String {
        let wire = WireFrame {
            v: crate::protocol::VERSION,
            frame: self,
        };
        // Frames hold strings, numbers and JSON values only: serialising cannot fail.
        serde_json::to_string(&wire).unwrap_or_default()
    }
}

/// The TypeScript declarations of every frame, both ways, as checked in at
/// `web/shared/protocol.generated.ts`.
pub fn typescript() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let decls = [
        // ts-rs would inline the whole union into `WireFrame`; by name it reads as it is meant.
        "type WireFrame = { v: 1 } & ServerFrame;".to_owned(),
        <ServerFrame<'static> as TS>::decl(&cfg),
        <Hello as TS>::decl(&cfg),
        <AgentHello as TS>::decl(&cfg),
        <VisitorHello as TS>::decl(&cfg),
        <SessionPayload<'static> as TS>::decl(&cfg),
        <SessionView as TS>::decl(&cfg),
        <VisitorSessionView as TS>::decl(&cfg),
        <MessageView as TS>::decl(&cfg),
        <DeliveryView as TS>::decl(&cfg),
        <JobView as TS>::decl(&cfg),
        <Contact as TS>::decl(&cfg),
        <TagView as TS>::decl(&cfg),
        <crate::protocol::ButtonClick as TS>::decl(&cfg),
        <crate::protocol::VisitorIn as TS>::decl(&cfg),
        <crate::protocol::AgentIn as TS>::decl(&cfg),
        <Value as TS>::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from src/wire.rs by ts-rs: do not edit. The frames of docs/protocol.md.\n\
         // Regenerate: SWITCHBOARD_WRITE_TS=1 cargo test --lib wire::\n\n",
    );
    for decl in decls {
        out.push_str("export ");
        out.push_str(&decl);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::enums::SenderKind;
    use crate::error::{AppError, ErrorCode};
    use crate::protocol;
    use serde_json::json;
    use std::path::Path;

    const GENERATED: &str = "web/shared/protocol.generated.ts";

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn message_view() -> MessageView {
        MessageView {
            session_id: 34,
            seq: 7,
            message_id: 901,
            sender: SenderKind::Agent,
            sender_user_id: Some(3),
            client_id: Some("c1".into()),
            text: "hi".into(),
            off_platform: false,
            created_at: at("2026-01-02T03:04:05.678Z"),
            content: serde_json::json!({}),
            delivery: None,
        }
    }

    fn session_view() -> SessionView {
        SessionView {
            id: 34,
            project_id: 1,
            channel_id: 2,
            contact_id: 12,
            contact_name: "Visitor 12".into(),
            note_name: None,
            status: SessionStatus::Assigned,
            bot_hosted: false,
            assignee_id: Some(3),
            created_at: at("2026-01-02T03:00:00Z"),
            received_at: Some(at("2026-01-02T03:01:00Z")),
            awaiting_since: None,
            first_response_at: Some(at("2026-01-02T03:02:00Z")),
            first_response_secs: Some(60.5),
            ended_at: None,
            last_seq: 7,
            last_message_at: at("2026-01-02T03:04:05Z"),
            message_count: 7,
            visitor_message_count: 4,
            agent_message_count: 3,
        }
    }

    fn parsed(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    /// Parsing the JSON back gives a frame that serialises to the same JSON: the untagged
    /// alternatives (agent / visitor `hello` and `session`) can be told apart by a client.
    fn round_trips(text: &str) {
        let back: WireFrame<'static> = serde_json::from_str(text).unwrap();
        assert_eq!(parsed(&back.frame.into_text()), parsed(text), "{text}");
    }

    fn pin(text: &str, expected: Value) {
        assert_eq!(parsed(text), expected);
        round_trips(text);
    }

    #[test]
    fn hello_frames_differ_by_endpoint() {
        pin(
            &protocol::agent_hello(3, 1, "all"),
            json!({"v": 1, "type": "hello", "user_id": 3, "project_id": 1, "data_scope": "all"}),
        );
        pin(
            &protocol::visitor_hello("tok", 12, Some(34), 7),
            json!({"v": 1, "type": "hello", "visitor_token": "tok", "contact_id": 12,
                   "session_id": 34, "last_seq": 7}),
        );
        pin(
            &protocol::visitor_hello("tok", 12, None, 0),
            json!({"v": 1, "type": "hello", "visitor_token": "tok", "contact_id": 12,
                   "session_id": null, "last_seq": 0}),
        );
    }

    #[test]
    fn message_frame_is_the_message_view_with_its_type() {
        pin(
            &protocol::message(&message_view()),
            json!({"v": 1, "type": "message", "session_id": 34, "seq": 7, "message_id": 901,
                   "sender": "agent", "sender_user_id": 3, "client_id": "c1", "text": "hi",
                   "off_platform": false, "created_at": "2026-01-02T03:04:05.678Z",
                   "content": {}, "delivery": null}),
        );
    }

    #[test]
    fn message_status_frame_carries_the_delivery() {
        let d = DeliveryView {
            state: crate::db::enums::OutboundState::Failed,
            messaging_type: "RESPONSE".into(),
            tag: None,
            error_code: Some(551),
            error_subcode: None,
            error: Some("the person is unavailable".into()),
            attempts: 1,
            sent_at: None,
            delivered_at: None,
            read_at: None,
        };
        pin(
            &protocol::message_status(34, 901, &d),
            json!({"v": 1, "type": "message_status", "session_id": 34, "message_id": 901,
                   "delivery": {"state": "failed", "messaging_type": "RESPONSE", "tag": null,
                   "error_code": 551, "error_subcode": null,
                   "error": "the person is unavailable", "attempts": 1, "sent_at": null,
                   "delivered_at": null, "read_at": null}}),
        );
    }

    #[test]
    fn job_frame_carries_the_job_view() {
        let job = JobView {
            id: 5,
            channel_id: 2,
            kind: crate::db::enums::JobKind::ContactSync,
            state: crate::db::enums::JobState::Running,
            scope: crate::domain::messenger::sync::SyncScope::All,
            conversations_done: 50,
            contacts_imported: 49,
            messages_imported: 1000,
            errors: 1,
            total_so_far: 51,
            last_error: None,
            cursor_saved: true,
            cancel_requested: false,
            created_at: at("2026-01-02T03:00:00Z"),
            updated_at: at("2026-01-02T03:00:05Z"),
        };
        pin(
            &protocol::job(&job),
            json!({"v": 1, "type": "job", "job": {"id": 5, "channel_id": 2,
                   "kind": "contact_sync", "state": "running", "scope": "all",
                   "conversations_done": 50, "contacts_imported": 49, "messages_imported": 1000,
                   "errors": 1, "total_so_far": 51, "last_error": null, "cursor_saved": true,
                   "cancel_requested": false, "created_at": "2026-01-02T03:00:00Z",
                   "updated_at": "2026-01-02T03:00:05Z"}}),
        );
    }

    #[test]
    fn flow_stats_frame_names_the_flow() {
        pin(
            &protocol::flow_stats(4),
            json!({"v": 1, "type": "flow_stats", "flow_id": 4}),
        );
    }

    #[test]
    fn agents_get_the_whole_session_and_visitors_four_fields() {
        pin(
            &protocol::session(&session_view()),
            json!({"v": 1, "type": "session", "session": {
                "id": 34, "project_id": 1, "channel_id": 2, "contact_id": 12,
                "contact_name": "Visitor 12", "note_name": null, "status": "assigned",
                "bot_hosted": false, "assignee_id": 3, "created_at": "2026-01-02T03:00:00Z",
                "received_at": "2026-01-02T03:01:00Z", "awaiting_since": null,
                "first_response_at": "2026-01-02T03:02:00Z", "first_response_secs": 60.5,
                "ended_at": null, "last_seq": 7, "last_message_at": "2026-01-02T03:04:05Z",
                "message_count": 7, "visitor_message_count": 4, "agent_message_count": 3,
            }}),
        );
        let row = SessionRow {
            id: 34,
            project_id: 1,
            channel_id: 2,
            contact_id: 12,
            status: SessionStatus::Ended,
            bot_hosted: false,
            assignee_id: Some(3),
            created_at: at("2026-01-02T03:00:00Z"),
            received_at: None,
            awaiting_since: None,
            first_wait_at: None,
            first_response_at: None,
            ended_at: Some(at("2026-01-02T04:00:00Z")),
            last_seq: 7,
            last_message_at: at("2026-01-02T03:04:05Z"),
            message_count: 7,
            visitor_message_count: 4,
            agent_message_count: 3,
            updated_at: at("2026-01-02T04:00:00Z"),
            alert_wait_since: None,
        };
        pin(
            &protocol::visitor_session(&row),
            json!({"v": 1, "type": "session", "session": {"id": 34, "status": "ended",
                   "created_at": "2026-01-02T03:00:00Z", "ended_at": "2026-01-02T04:00:00Z"}}),
        );
    }

    #[test]
    fn contact_and_session_tags_frames() {
        let contact = Contact {
            id: 12,
            project_id: 1,
            channel_id: 2,
            external_id: "v-abc".into(),
            name: "Visitor 12".into(),
            note_name: Some("Ada".into()),
            phone: Some("+49301234567".into()),
            email: None,
            labels: vec!["vip".into()],
            created_at: at("2026-01-02T03:00:00Z"),
            updated_at: at("2026-01-02T05:00:00Z"),
        };
        pin(
            &protocol::contact(&contact),
            json!({"v": 1, "type": "contact", "contact": {
                "id": 12, "project_id": 1, "channel_id": 2, "external_id": "v-abc",
                "name": "Visitor 12", "note_name": "Ada", "phone": "+49301234567",
                "email": null, "labels": ["vip"], "created_at": "2026-01-02T03:00:00Z",
                "updated_at": "2026-01-02T05:00:00Z",
            }}),
        );
        let tag = SessionTag {
            id: 5,
            project_id: 1,
            name: "billing".into(),
            color: "#aa0000".into(),
        };
        pin(
            &protocol::session_tags(34, &[tag]),
            json!({"v": 1, "type": "session_tags", "session_id": 34,
                   "tags": [{"id": 5, "name": "billing", "color": "#aa0000"}]}),
        );
    }

    #[test]
    fn ack_ok_pong_and_typing_frames() {
        pin(
            &protocol::ack(&message_view()),
            json!({"v": 1, "type": "ack", "client_id": "c1", "session_id": 34, "seq": 7,
                   "message_id": 901, "created_at": "2026-01-02T03:04:05.678Z"}),
        );
        pin(
            &protocol::ok(Some(&json!("r1"))),
            json!({"v": 1, "type": "ok", "ref": "r1"}),
        );
        pin(
            &protocol::ok(None),
            json!({"v": 1, "type": "ok", "ref": null}),
        );
        pin(
            &protocol::pong(Some(&json!(7))),
            json!({"v": 1, "type": "pong", "ref": 7}),
        );
        pin(
            &protocol::pong(None),
            json!({"v": 1, "type": "pong", "ref": null}),
        );
        pin(
            &protocol::typing(34, "agent", Some(3), true),
            json!({"v": 1, "type": "typing", "session_id": 34, "from": "agent", "user_id": 3,
                   "on": true}),
        );
        pin(
            &protocol::typing(34, "visitor", None, false),
            json!({"v": 1, "type": "typing", "session_id": 34, "from": "visitor",
                   "user_id": null, "on": false}),
        );
    }

    #[test]
    fn error_frame_has_ref_only_when_the_refused_frame_had_one() {
        let e = AppError::new(ErrorCode::TextTooLong, "too long");
        pin(
            &protocol::error(&e, Some(&json!("c1"))),
            json!({"v": 1, "type": "error", "code": "text_too_long", "message": "too long",
                   "ref": "c1"}),
        );
        pin(
            &protocol::error(&e, None),
            json!({"v": 1, "type": "error", "code": "text_too_long", "message": "too long"}),
        );
    }

    /// The TypeScript the console and the widget compile against is what `typescript()` makes
    /// now. `SWITCHBOARD_WRITE_TS=1` rewrites the file instead of failing.
    #[test]
    fn generated_typescript_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GENERATED);
        let fresh = typescript();
        if std::env::var_os("SWITCHBOARD_WRITE_TS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
            return;
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == fresh,
            "{GENERATED} is stale: run `SWITCHBOARD_WRITE_TS=1 cargo test --lib wire::` \
             and commit it"
        );
    }
}
