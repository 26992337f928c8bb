//! An agent's or the bot's message to a Messenger person: the reply window decides how it is
//! sent (or refuses it), and a `channel_outbound` row is written with the message, in its
//! transaction. `actors::messenger_sender` sends the rows.

use super::config::MessengerConfig;
use super::window::{self, PageRules, Window, Writer};
use crate::db::channel_outbound::{ChannelOutbound, NewOutbound};
use crate::db::channels::Channel;
use crate::db::enums::{ChannelKind, OutboundState, SenderKind};
use crate::db::messages::MessageRow;
use crate::db::sessions::SessionRow;
use crate::db::{self};
use crate::domain::access::Access;
use crate::domain::conversation::{Author, NewPost};
use crate::error::{AppError, AppResult, ErrorCode, NotFoundExt};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;

/// The window settings of a Messenger channel (`human_agent`, `allowed_tags`).
pub fn rules_of(channel: &Channel) -> PageRules {
    let c = MessengerConfig::from_json(&channel.config);
    PageRules {
        human_agent: c.human_agent,
        allowed_tags: c.allowed_tags,
    }
}

/// Who wrote a stored message, for the window rules.
fn writer_of(kind: SenderKind) -> Writer {
    match kind {
        SenderKind::Agent => Writer::Human,
        _ => Writer::Automation,
    }
}

struct Facts {
    rules: PageRules,
    psid: String,
    last_inbound_at: Option<DateTime<Utc>>,
    unreachable_at: Option<DateTime<Utc>>,
}

pub const UNREACHABLE_TEXT: &str =
    "Messenger said this person cannot be reached (they blocked the Page or left Messenger); \
     a reply can go once they message the Page again";

impl Facts {
    /// Meta answered 551 and the person has not written since: a send would only fail again.
    fn unreachable(&self) -> bool {
        match (self.unreachable_at, self.last_inbound_at) {
            (Some(u), Some(l)) => u >= l,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    fn check_reachable(&self) -> AppResult<()> {
        if self.unreachable() {
            return Err(AppError::new(
                ErrorCode::ContactUnreachable,
                UNREACHABLE_TEXT,
            ));
        }
        Ok(())
    }
}

async fn facts(conn: &mut AsyncPgConnection, session: &SessionRow) -> AppResult<Facts> {
    let channel = db::channels::find(conn, session.channel_id)
        .await
        .or_not_found("channel")?;
    let reach = db::contacts::reach(conn, session.contact_id)
        .await
        .or_not_found("contact")?;
    Ok(Facts {
        rules: rules_of(&channel),
        psid: reach.external_id,
        last_inbound_at: reach.last_inbound_at,
        unreachable_at: reach.unreachable_at,
    })
}

/// Called by `conversation::post` inside the message's transaction for an agent's or the
/// bot's message in a Messenger session: a refusal aborts the transaction, so a message that
/// cannot go out is not stored.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    session: &SessionRow,
    message: &MessageRow,
    post: &NewPost,
) -> AppResult<()> {
    let writer = match post.author {
        Author::Agent(_) => Writer::Human,
        _ => Writer::Automation,
    };
    let f = facts(conn, session).await?;
    f.check_reachable()?;
    let d = window::decide(
        f.last_inbound_at,
        Utc::now(),
        &f.rules,
        writer,
        post.tag.as_deref(),
    )?;
    db::channel_outbound::insert(
        conn,
        NewOutbound {
            message_id: message.id,
            channel_id: session.channel_id,
            session_id: session.id,
            recipient: &f.psid,
            messaging_type: d.messaging_type,
            tag: d.tag.as_deref(),
        },
    )
    .await?;
    Ok(())
}

/// An agent asks to send a failed or unconfirmed message again: the window is decided anew
/// (it may have closed meanwhile: refused), and the row is due at once.
pub async fn retry(
    conn: &mut AsyncPgConnection,
    access: &Access,
    session_id: i64,
    message_id: i64,
) -> AppResult<(SessionRow, MessageRow, ChannelOutbound)> {
    let session = db::sessions::find(conn, session_id)
        .await
        .or_not_found("session")?;
    access.check_session(&session)?;
    let row = db::channel_outbound::find(conn, message_id)
        .await?
        .filter(|r| r.session_id == session_id)
        .ok_or_else(|| AppError::not_found("message sent through a channel"))?;
    if !matches!(
        row.state,
        OutboundState::Failed | OutboundState::Unconfirmed
    ) {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "only a failed or unconfirmed message can be retried; this one is {}",
                row.state.as_str()
            ),
        ));
    }
    let message = db::messages::of_ids(conn, &[message_id])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("message"))?;
    let f = facts(conn, &session).await?;
    f.check_reachable()?;
    // A tag the agent picked stays picked; HUMAN_AGENT is the window's, decided again.
    let picked = row.tag.as_deref().filter(|t| *t != window::HUMAN_AGENT_TAG);
    let d = window::decide(
        f.last_inbound_at,
        Utc::now(),
        &f.rules,
        writer_of(message.sender_kind),
        picked,
    )?;
    let row = db::channel_outbound::requeue(conn, message_id, d.messaging_type, d.tag.as_deref())
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::Conflict, "the message is being sent already"))?;
    Ok((session, message, row))
}

/// Where a session's person stands for a reply now, as the composer shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReplyWindowView {
    /// `messenger` or `web`.
    pub channel: ChannelKind,
    /// `open` (until `window_closes_at`), `human_agent` (a human reply until
    /// `human_agent_until`), `tag_only` (only with one of `allowed_tags`) or `closed`.
    pub state: String,
    /// The platform's time of the person's last message, postback or referral.
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// End of the 24 h standard window.
    pub window_closes_at: Option<DateTime<Utc>>,
    /// End of the HUMAN_AGENT period (only when the Page has the permission).
    pub human_agent_until: Option<DateTime<Utc>>,
    pub allowed_tags: Vec<String>,
    /// What a reply without a tag would be refused with now; null when it can go.
    pub refusal: Option<String>,
}

/// The reply window of a session the agent may see (always open for the web widget).
pub async fn reply_window(
    conn: &mut AsyncPgConnection,
    access: &Access,
    session_id: i64,
) -> AppResult<ReplyWindowView> {
    let session = db::sessions::find(conn, session_id)
        .await
        .or_not_found("session")?;
    access.check_session(&session)?;
    if db::channels::kind_of(conn, session.channel_id).await? == ChannelKind::Web {
        return Ok(ReplyWindowView {
            channel: ChannelKind::Web,
            state: "open".into(),
            last_inbound_at: None,
            window_closes_at: None,
            human_agent_until: None,
            allowed_tags: Vec::new(),
            refusal: None,
        });
    }
    let f = facts(conn, &session).await?;
    let mut v = view(f.last_inbound_at, Utc::now(), &f.rules);
    if f.unreachable() {
        v.state = "closed".into();
        v.refusal = Some(UNREACHABLE_TEXT.into());
    }
    Ok(v)
}

fn view(last: Option<DateTime<Utc>>, now: DateTime<Utc>, rules: &PageRules) -> ReplyWindowView {
    let w = Window::of(last, now, rules);
    ReplyWindowView {
        channel: ChannelKind::Messenger,
        state: w.state().into(),
        last_inbound_at: last,
        window_closes_at: last.map(|t| t + window::STANDARD),
        human_agent_until: last
            .filter(|_| rules.human_agent)
            .map(|t| t + window::HUMAN_AGENT),
        allowed_tags: rules.allowed_tags.clone(),
        refusal: window::refusal(last, now, rules),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn channel(config: serde_json::Value) -> Channel {
        Channel {
            id: 1,
            project_id: 1,
            kind: ChannelKind::Messenger,
            name: "Page".into(),
            widget_key: None,
            config,
            created_at: Utc::now(),
            external_id: Some("p1".into()),
            health: crate::db::enums::ChannelHealth::Connected,
            health_detail: None,
            health_at: None,
        }
    }

    #[test]
    fn the_window_settings_are_read_from_the_channel_config() {
        let c = channel(serde_json::json!({"page_name": "P", "human_agent": true,
            "allowed_tags": ["CUSTOM"], "page_token": "v1.sealed"}));
        assert_eq!(
            rules_of(&c),
            PageRules {
                human_agent: true,
                allowed_tags: vec!["CUSTOM".into()]
            }
        );
        // Missing or malformed settings are the safe default: no permission, no tags.
        assert_eq!(
            rules_of(&channel(serde_json::json!({}))),
            PageRules::default()
        );
        assert_eq!(
            rules_of(&channel(serde_json::json!({"human_agent": "yes"}))),
            PageRules::default()
        );
    }

    #[test]
    fn the_view_names_the_window_and_its_ends() {
        let now: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
        let last = now - Duration::hours(30);
        let rules = PageRules {
            human_agent: true,
            allowed_tags: vec![],
        };
        let v = view(Some(last), now, &rules);
        assert_eq!(v.state, "human_agent");
        assert_eq!(v.window_closes_at, Some(last + Duration::hours(24)));
        assert_eq!(v.human_agent_until, Some(last + Duration::days(7)));
        assert_eq!(v.refusal, None);
        let v = view(Some(now - Duration::days(8)), now, &PageRules::default());
        assert_eq!(v.state, "closed");
        assert_eq!(v.human_agent_until, None);
        assert_eq!(v.refusal.as_deref(), Some(window::CLOSED_TEXT));
    }
}
