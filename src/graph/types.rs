//! The Graph API's request and answer shapes that we use.

use crate::db::enums::MessagingType;
use serde::{Deserialize, Serialize};

/// A text message to a person, with quick replies when it offers some.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub recipient: String,
    pub messaging_type: MessagingType,
    pub tag: Option<String>,
    pub text: String,
    /// Our message id: it comes back in the echo, which may arrive before the HTTP answer.
    pub metadata: String,
    /// `message.quick_replies` (Meta takes at most 13); left out of the request when empty.
    pub quick_replies: Vec<QuickReply>,
}

/// One of `message.quick_replies`, by its `content_type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "content_type", rename_all = "snake_case")]
pub enum QuickReply {
    /// A button: tapping it posts `title` as the person's message, with `payload`
    /// (Meta: title at most 20 characters, payload at most 1000).
    Text { title: String, payload: String },
    /// Offers the e-mail address of the person's profile; the tap sends it as text and payload
    /// (not shown when the profile has none).
    UserEmail,
    /// The same for the profile's phone number.
    UserPhoneNumber,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SendOk {
    pub recipient_id: Option<String>,
    pub message_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    pub profile_pic: Option<String>,
}

impl Profile {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_owned()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PageInfo {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConversationPage {
    #[serde(default)]
    pub data: Vec<Conversation>,
    pub paging: Option<Paging>,
}

impl ConversationPage {
    /// The cursor of the next page, when there is one.
    pub fn next_cursor(&self) -> Option<&str> {
        let p = self.paging.as_ref()?;
        p.next.as_ref()?;
        p.cursors.as_ref()?.after.as_deref()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Paging {
    pub cursors: Option<Cursors>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Cursors {
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Conversation {
    pub id: String,
    pub updated_time: Option<String>,
    pub participants: Option<List<Participant>>,
    pub messages: Option<List<ConversationMessage>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Participant {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConversationMessage {
    /// The message's `mid`.
    pub id: String,
    /// e.g. `2026-11-20T10:00:00+0000`.
    pub created_time: String,
    pub from: Option<Participant>,
    #[serde(default)]
    pub message: String,
    pub attachments: Option<List<serde_json::Value>>,
}
