//! Contact sync: importing a Page's Messenger conversations (the person and the 20 latest
//! messages the Conversations API gives for each) as contacts, sessions and messages.
//!
//! Importing is idempotent: a person is one contact per (channel, PSID) and a message is
//! stored once per (channel, mid), so importing a conversation again changes nothing and counts
//! nothing new. Imported history opens no live work and sends nothing: it goes into the
//! contact's latest session (or a new *ended* one), and no event, outbound row, alert or timer
//! is written for it.

use crate::db::{self, enums::SenderKind, messages::NewMessage, sessions::SessionChanges};
use crate::error::{AppError, AppResult};
use crate::graph::{Conversation, ConversationMessage};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};

/// How many conversations the Conversations API is asked for per call.
pub const PAGE_SIZE: u32 = 25;
/// "Sync recent": the first (newest) conversations, this many.
pub const RECENT: i64 = 100;

/// Which conversations a sync imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SyncScope {
    /// The 100 newest conversations.
    Recent,
    /// Every conversation, following the cursor to the end (can be long).
    All,
}

/// A sync job's `params`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncParams {
    pub scope: SyncScope,
}

/// A sync job's `progress`, saved whole after each page (with the cursor of the next one), so
/// a job claimed again after a crash goes on from there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// The `after` cursor of the next page; `None` before the first page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Conversations imported (new or already known).
    #[serde(default)]
    pub conversations_done: i64,
    /// Contacts this job made (people already known are not counted).
    #[serde(default)]
    pub contacts_imported: i64,
    /// Messages this job stored (messages already stored are not counted).
    #[serde(default)]
    pub messages_imported: i64,
    /// Conversations that could not be imported.
    #[serde(default)]
    pub errors: i64,
    /// Conversations listed so far (the API gives no total).
    #[serde(default)]
    pub total_so_far: i64,
    /// Pages read so far.
    #[serde(default)]
    pub pages: i64,
}

impl SyncProgress {
    /// Read leniently: a row written by an older server, or none yet, is a fresh start.
    pub fn of(value: &serde_json::Value) -> SyncProgress {
        serde_json::from_value(value.clone()).unwrap_or_default()
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// How many more conversations the scope wants (`None`: no limit).
    pub fn wanted(&self, scope: SyncScope) -> Option<i64> {
        match scope {
            SyncScope::Recent => Some((RECENT - self.total_so_far).max(0)),
            SyncScope::All => None,
        }
    }

    /// Counts one listed conversation's import (`None`: it could not be imported).
    pub fn count(&mut self, outcome: Option<Imported>) {
        self.total_so_far += 1;
        match outcome {
            Some(i) => {
                self.conversations_done += 1;
                self.contacts_imported += i64::from(i.contact_new);
                self.messages_imported += i.messages_new;
            }
            None => self.errors += 1,
        }
    }
}

impl SyncParams {
    pub fn of(value: &serde_json::Value) -> SyncParams {
        serde_json::from_value(value.clone()).unwrap_or(SyncParams {
            scope: SyncScope::Recent,
        })
    }
}

/// The sentence a job that was refused by the platform for its token ends with.
pub const TOKEN_INVALID: &str = "the Page token is invalid (190): reconnect the Page";

/// The channel a sync imports into.
#[derive(Debug, Clone)]
pub struct Target {
    pub project_id: i64,
    pub channel_id: i64,
    /// The Page id: the participant who is not the person.
    pub page_id: String,
}

/// What importing one conversation added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub contact_id: i64,
    pub contact_new: bool,
    pub messages_new: i64,
}

/// One message as it is to be stored.
struct Incoming<'a> {
    mid: &'a str,
    at: DateTime<Utc>,
    sender: SenderKind,
    text: &'a str,
    content: serde_json::Value,
}

/// Checks a conversation and puts its messages in the order they were written. A conversation
/// without a person, or with a message whose time cannot be read, is refused whole
/// (validation error), before anything is written.
fn prepare<'a>(
    target: &Target,
    conv: &'a Conversation,
) -> AppResult<(&'a str, &'a str, Vec<Incoming<'a>>)> {
    let person = conv
        .participants
        .as_ref()
        .and_then(|p| p.data.iter().find(|p| p.id != target.page_id))
        .ok_or_else(|| {
            AppError::validation(format!("conversation {} has no person in it", conv.id))
        })?;
    let mut incoming = Vec::new();
    for m in conv.messages.iter().flat_map(|l| l.data.iter()) {
        // Without a sender the message cannot be told visitor or agent: left out.
        let Some(from) = &m.from else { continue };
        let sender = if from.id == person.id {
            SenderKind::Visitor
        } else {
            SenderKind::Agent
        };
        incoming.push(Incoming {
            mid: &m.id,
            at: created_time(m)?,
            sender,
            text: &m.message,
            content: content(m),
        });
    }
    // The API lists the newest first; a stable sort keeps equal times in the order written.
    incoming.reverse();
    incoming.sort_by_key(|m| m.at);
    Ok((&person.id, &person.name, incoming))
}

/// `2026-11-20T10:00:00+0000` (the Graph API's form), or RFC 3339.
fn created_time(m: &ConversationMessage) -> AppResult<DateTime<Utc>> {
    DateTime::parse_from_str(&m.created_time, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(&m.created_time))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            AppError::validation(format!(
                "message {} has an unreadable created_time {:?}",
                m.id, m.created_time
            ))
        })
}

/// Attachments are kept as the links the API gave (never fetched by the server).
fn content(m: &ConversationMessage) -> serde_json::Value {
    match &m.attachments {
        Some(a) if !a.data.is_empty() => serde_json::json!({ "attachments": a.data }),
        _ => serde_json::json!({}),
    }
}

/// Imports one conversation in one transaction: the person as a contact by (channel, PSID)
/// (a new contact gets the API's name; a known one keeps its names, its empty name filled
/// in), and each message not yet stored by (channel, mid), oldest first, into the contact's
/// latest session or a new ended history session. The session row is locked and each new
/// message takes the next seq, so the session's messages stay gap-free; a message older than
/// the session's existing ones still takes the next seq (seq is the order of storing, and
/// `created_at` keeps the platform's time). A message from the Page is an agent message
/// marked off-platform (it was not sent through us). The contact's last inbound time moves
/// to the newest imported message of the person, if later.
pub async fn import_conversation(
    conn: &mut AsyncPgConnection,
    target: &Target,
    conv: &Conversation,
) -> AppResult<Imported> {
    let (psid, name, incoming) = prepare(target, conv)?;
    conn.transaction(async move |conn| {
        let (contact_id, contact_new) = db::contacts::upsert_imported(
            conn,
            target.project_id,
            target.channel_id,
            psid,
            name,
            &super::inbound::fallback_name(psid),
        )
        .await?;
        let mut imported = Imported {
            contact_id,
            contact_new,
            messages_new: 0,
        };
        let (Some(first), Some(last)) = (incoming.first(), incoming.last()) else {
            return Ok(imported);
        };
        let session = match db::sessions::lock_latest_for_contact(conn, contact_id).await? {
            Some(s) => s,
            None => {
                db::sessions::insert_history(
                    conn,
                    target.project_id,
                    target.channel_id,
                    contact_id,
                    first.at,
                    last.at,
                )
                .await?
            }
        };
        let (mut seq, mut visitor, mut agent) = (session.last_seq, 0, 0);
        let mut newest_inbound = None;
        let mut newest = session.last_message_at;
        for m in &incoming {
            let stored = db::messages::insert_if_new(
                conn,
                NewMessage {
                    session_id: session.id,
                    seq: seq + 1,
                    sender_kind: m.sender,
                    sender_user_id: None,
                    client_id: None,
                    body: m.text,
                    off_platform: m.sender == SenderKind::Agent,
                    external_id: Some(m.mid),
                    created_at: m.at,
                    channel_id: Some(target.channel_id),
                    content: &m.content,
                    flow_run_id: None,
                },
            )
            .await?;
            if stored.is_none() {
                continue;
            }
            seq += 1;
            newest = newest.max(m.at);
            match m.sender {
                SenderKind::Visitor => {
                    visitor += 1;
                    newest_inbound = Some(m.at);
                }
                _ => agent += 1,
            }
        }
        if let Some(at) = newest_inbound {
            db::contacts::advance_last_inbound(conn, contact_id, at).await?;
        }
        let added = visitor + agent;
        if added > 0 {
            let mut c = SessionChanges::at(Utc::now());
            c.last_seq = Some(seq);
            c.last_message_at = Some(newest);
            c.message_count = Some(session.message_count + added);
            c.visitor_message_count = Some(session.visitor_message_count + visitor);
            c.agent_message_count = Some(session.agent_message_count + agent);
            db::sessions::update(conn, session.id, &c).await?;
        }
        imported.messages_new = i64::from(added);
        Ok::<_, AppError>(imported)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{List, Participant};

    fn participant(id: &str, name: &str) -> Participant {
        Participant {
            id: id.into(),
            name: name.into(),
            email: None,
        }
    }

    fn message(mid: &str, at: &str, from: &str) -> ConversationMessage {
        ConversationMessage {
            id: mid.into(),
            created_time: at.into(),
            from: Some(participant(from, "")),
            message: format!("text of {mid}"),
            attachments: None,
        }
    }

    fn target() -> Target {
        Target {
            project_id: 1,
            channel_id: 2,
            page_id: "page".into(),
        }
    }

    fn conversation(messages: Vec<ConversationMessage>) -> Conversation {
        Conversation {
            id: "t_1".into(),
            updated_time: None,
            participants: Some(List {
                data: vec![participant("psid", "Ada"), participant("page", "The Page")],
            }),
            messages: Some(List { data: messages }),
        }
    }

    #[test]
    fn messages_are_stored_oldest_first_and_the_page_side_is_the_agent() {
        let conv = conversation(vec![
            message("m3", "2026-11-20T10:02:00+0000", "page"),
            message("m2", "2026-11-20T10:01:00+0000", "psid"),
            message("m1", "2026-11-20T10:00:00+0000", "psid"),
        ]);
        let (psid, name, incoming) = prepare(&target(), &conv).unwrap();
        assert_eq!((psid, name), ("psid", "Ada"));
        let order: Vec<_> = incoming.iter().map(|m| (m.mid, m.sender)).collect();
        assert_eq!(
            order,
            [
                ("m1", SenderKind::Visitor),
                ("m2", SenderKind::Visitor),
                ("m3", SenderKind::Agent)
            ]
        );
    }

    #[test]
    fn a_conversation_without_a_person_or_with_an_unreadable_time_is_refused() {
        let mut conv = conversation(vec![]);
        conv.participants = Some(List {
            data: vec![participant("page", "The Page")],
        });
        assert!(prepare(&target(), &conv).is_err());
        let conv = conversation(vec![message("m1", "yesterday", "psid")]);
        assert!(prepare(&target(), &conv).is_err());
    }

    #[test]
    fn recent_wants_what_is_left_of_100_and_progress_reads_leniently() {
        let mut p = SyncProgress::of(&serde_json::json!({"total_so_far": 75, "x": 1}));
        assert_eq!(p.wanted(SyncScope::Recent), Some(25));
        assert_eq!(p.wanted(SyncScope::All), None);
        p.count(None);
        assert_eq!((p.total_so_far, p.errors), (76, 1));
        assert_eq!(
            SyncProgress::of(&serde_json::json!(null)),
            SyncProgress::default()
        );
    }
}
