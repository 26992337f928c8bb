//! The shapes of sessions and messages as clients see them, over REST and the websockets alike.

use crate::db::channel_outbound::ChannelOutbound;
use crate::db::channels::Channel;
use crate::db::enums::{ChannelHealth, ChannelKind, OutboundState, SenderKind, SessionStatus};
use crate::db::{messages::MessageRow, sessions::SessionRow};
use crate::domain::messenger::config::MessengerConfig;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct SessionView {
    pub id: i64,
    pub project_id: i64,
    pub channel_id: i64,
    pub contact_id: i64,
    pub contact_name: String,
    pub note_name: Option<String>,
    /// `unassigned`, `assigned` or `ended`.
    #[ts(type = "\"unassigned\" | \"assigned\" | \"ended\"")]
    pub status: SessionStatus,
    pub bot_hosted: bool,
    pub assignee_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// Reception time: when an agent first took or was given the session.
    pub received_at: Option<DateTime<Utc>>,
    /// Since when the visitor has been waiting for a human reply, if they are.
    pub awaiting_since: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    /// Seconds from the first wait for a human to the first human reply.
    pub first_response_secs: Option<f64>,
    pub ended_at: Option<DateTime<Utc>>,
    pub last_seq: i64,
    pub last_message_at: DateTime<Utc>,
    pub message_count: i32,
    pub visitor_message_count: i32,
    pub agent_message_count: i32,
}

impl SessionView {
    pub fn new(s: &SessionRow, contact_name: &str, note_name: Option<&str>) -> SessionView {
        let first_response_secs = match (s.first_wait_at, s.first_response_at) {
            (Some(w), Some(r)) => Some((r - w).num_milliseconds() as f64 / 1000.0),
            _ => None,
        };
        SessionView {
            id: s.id,
            project_id: s.project_id,
            channel_id: s.channel_id,
            contact_id: s.contact_id,
            contact_name: contact_name.to_owned(),
            note_name: note_name.map(str::to_owned),
            status: s.status,
            bot_hosted: s.bot_hosted,
            assignee_id: s.assignee_id,
            created_at: s.created_at,
            received_at: s.received_at,
            awaiting_since: s.awaiting_since,
            first_response_at: s.first_response_at,
            first_response_secs,
            ended_at: s.ended_at,
            last_seq: s.last_seq,
            last_message_at: s.last_message_at,
            message_count: s.message_count,
            visitor_message_count: s.visitor_message_count,
            agent_message_count: s.agent_message_count,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct MessageView {
    pub session_id: i64,
    pub seq: i64,
    pub message_id: i64,
    /// `visitor`, `agent`, `bot` or `system`.
    #[ts(type = "\"visitor\" | \"agent\" | \"bot\" | \"system\"")]
    pub sender: SenderKind,
    pub sender_user_id: Option<i64>,
    pub client_id: Option<String>,
    pub text: String,
    /// Sent outside Switchboard (a reply from the Page inbox or the Messenger app).
    pub off_platform: bool,
    pub created_at: DateTime<Utc>,
    /// What is not text: `attachments` (`[{type, url}]`, shown as links), `postback`
    /// (`{title, payload}`), `quick_reply` (`{payload}`); `{}` for plain text.
    #[ts(type = "Record<string, unknown>")]
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    /// How a message to a channel's platform is getting on; null for the web widget and for
    /// messages that were not sent through a platform.
    pub delivery: Option<DeliveryView>,
}

/// Where a message sent through a channel's platform (Messenger) is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
pub struct DeliveryView {
    /// `pending`, `sending`, `sent`, `failed` or `unconfirmed`.
    #[ts(type = "\"pending\" | \"sending\" | \"sent\" | \"failed\" | \"unconfirmed\"")]
    pub state: OutboundState,
    /// `RESPONSE` or `MESSAGE_TAG` (with `tag`).
    pub messaging_type: String,
    pub tag: Option<String>,
    /// The platform's error code and our reading of it, when it failed.
    pub error_code: Option<i32>,
    pub error_subcode: Option<i32>,
    pub error: Option<String>,
    pub attempts: i32,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<&ChannelOutbound> for DeliveryView {
    fn from(o: &ChannelOutbound) -> Self {
        DeliveryView {
            state: o.state,
            messaging_type: o.messaging_type.as_str().to_owned(),
            tag: o.tag.clone(),
            error_code: o.error_code,
            error_subcode: o.error_subcode,
            error: o.error_text.clone(),
            attempts: o.attempts,
            sent_at: o.sent_at,
            delivered_at: o.delivered_at,
            read_at: o.read_at,
        }
    }
}

impl MessageView {
    pub fn with_delivery(m: &MessageRow, o: Option<&ChannelOutbound>) -> MessageView {
        MessageView {
            delivery: o.map(DeliveryView::from),
            ..MessageView::from(m)
        }
    }
}

impl From<&MessageRow> for MessageView {
    fn from(m: &MessageRow) -> Self {
        MessageView {
            session_id: m.session_id,
            seq: m.seq,
            message_id: m.id,
            sender: m.sender_kind,
            sender_user_id: m.sender_user_id,
            client_id: m.client_id.clone(),
            text: m.body.clone(),
            off_platform: m.off_platform,
            created_at: m.created_at,
            content: m.content.clone(),
            delivery: None,
        }
    }
}

/// A channel as the API shows it. Its `config` holds secrets (a Page access token, an app
/// secret, a verify token) that are write-only, so the view says only whether each is set.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    pub id: i64,
    pub project_id: i64,
    pub kind: ChannelKind,
    pub name: String,
    /// The key the web widget's snippet uses (web channels only).
    pub widget_key: Option<String>,
    pub created_at: DateTime<Utc>,
    /// `connected`, `needs_reconnect` (the platform refused the token) or `restricted`.
    #[schema(value_type = String)]
    pub health: ChannelHealth,
    /// Why, when it is not plainly connected (or when the token could not be checked).
    pub health_detail: Option<String>,
    pub health_at: Option<DateTime<Utc>>,
    /// A Messenger channel's settings; null for the web widget.
    pub messenger: Option<MessengerView>,
}

/// A Messenger channel's settings without its secrets.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessengerView {
    pub page_id: String,
    pub page_name: String,
    pub app_id: String,
    pub human_agent: bool,
    pub allowed_tags: Vec<String>,
    pub has_page_token: bool,
    pub has_app_secret: bool,
    pub has_verify_token: bool,
    /// The callback URL to paste into Meta's app dashboard.
    pub webhook_url: String,
}

impl ChannelView {
    /// `public_url` is the server's (`--public-url`), for the webhook URL.
    pub fn new(c: &Channel, public_url: &str) -> ChannelView {
        let messenger = (c.kind == ChannelKind::Messenger).then(|| {
            let cfg = MessengerConfig::from_json(&c.config);
            MessengerView {
                page_id: c.external_id.clone().unwrap_or_default(),
                page_name: cfg.page_name.clone(),
                app_id: cfg.app_id.clone(),
                human_agent: cfg.human_agent,
                allowed_tags: cfg.allowed_tags.clone(),
                has_page_token: cfg.has_page_token(),
                has_app_secret: cfg.has_app_secret(),
                has_verify_token: cfg.has_verify_token(),
                webhook_url: format!("{}/webhooks/messenger", public_url.trim_end_matches('/')),
            }
        });
        ChannelView {
            id: c.id,
            project_id: c.project_id,
            kind: c.kind,
            name: c.name.clone(),
            widget_key: c.widget_key.clone(),
            created_at: c.created_at,
            health: c.health,
            health_detail: c.health_detail.clone(),
            health_at: c.health_at,
            messenger,
        }
    }
}
