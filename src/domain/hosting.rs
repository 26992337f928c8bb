//! Robot hosting: whether the bot answers a session (`sessions.bot_hosted`). Every change is
//! one transaction on the locked session row: the row, an audit row (`hosting_changes`) and a
//! system line in the chat; a session opened hosted gets the audit row only. Changes are sent
//! through the session's actor, like any other change to a session.

use crate::db::enums::HostingReason;
use crate::db::hosting_changes::NewHostingChange;
use crate::db::{self, messages::MessageRow, sessions::SessionChanges, sessions::SessionRow};
use crate::domain::access::Access;
use crate::domain::conversation::{self, Applied};
use crate::domain::settings;
use crate::error::{AppError, AppResult, ErrorCode, NotFoundExt};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};

/// A project's robot-hosting settings (`projects.settings.hosting`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct HostingSettings {
    /// A session opened from now on starts hosted.
    pub new_sessions_hosted: bool,
    /// An agent's reply in a hosted session switches hosting off.
    pub agent_reply_hands_off: bool,
}

impl Default for HostingSettings {
    fn default() -> Self {
        HostingSettings {
            new_sessions_hosted: false,
            agent_reply_hands_off: true,
        }
    }
}

/// A change to the hosting settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostingPatch {
    pub new_sessions_hosted: Option<bool>,
    pub agent_reply_hands_off: Option<bool>,
}

pub async fn settings(conn: &mut AsyncPgConnection, project_id: i64) -> AppResult<HostingSettings> {
    Ok(settings::load(conn, project_id).await?.hosting)
}

pub async fn update_settings(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    patch: HostingPatch,
) -> AppResult<HostingSettings> {
    conn.transaction(async move |conn| {
        let (written, ()) = settings::update_locked(conn, project_id, |s| {
            if let Some(v) = patch.new_sessions_hosted {
                s.hosting.new_sessions_hosted = v;
            }
            if let Some(v) = patch.agent_reply_hands_off {
                s.hosting.agent_reply_hands_off = v;
            }
            Ok(())
        })
        .await?;
        Ok(written.hosting)
    })
    .await
}

fn switched_text(name: &str, hosted: bool) -> String {
    let state = if hosted { "on" } else { "off" };
    format!("{name} switched robot hosting {state}")
}

async fn display_name(conn: &mut AsyncPgConnection, user_id: i64) -> AppResult<String> {
    Ok(db::users::find(conn, user_id)
        .await
        .or_not_found("user")?
        .display_name)
}

/// Switches one session's hosting. `Ok(None)`: it already was in that state, nothing recorded.
pub async fn switch(
    conn: &mut AsyncPgConnection,
    session_id: i64,
    by: &Access,
    hosted: bool,
    reason: HostingReason,
) -> AppResult<Option<Applied>> {
    let by = by.clone();
    conn.transaction(async move |conn| {
        let before = db::sessions::lock(conn, session_id)
            .await
            .or_not_found("session")?;
        by.check_session(&before)?;
        if before.status.is_ended() {
            return Err(AppError::new(
                ErrorCode::SessionEnded,
                "the session has ended",
            ));
        }
        if before.bot_hosted == hosted {
            return Ok(None);
        }
        let now = Utc::now();
        let seq = before.last_seq + 1;
        let name = display_name(conn, by.user_id).await?;
        let text = switched_text(&name, hosted);
        let message = conversation::system_line(conn, session_id, seq, &text, now).await?;
        let mut c = SessionChanges::at(now);
        c.bot_hosted = Some(hosted);
        c.last_seq = Some(seq);
        c.last_message_at = Some(now);
        let after = db::sessions::update(conn, session_id, &c).await?;
        db::hosting_changes::insert(
            conn,
            &NewHostingChange {
                session_id,
                user_id: Some(by.user_id),
                hosted,
                reason,
                at: now,
            },
        )
        .await?;
        Ok(Some(Applied {
            before,
            after,
            message: Some(message),
            extra: Vec::new(),
            duplicate: false,
            more: Vec::new(),
        }))
    })
    .await
}

/// Inside `conversation::post`'s transaction: an agent replied in a hosted session and the
/// project hands off on a reply. Writes the audit row and the system line at `seq` (the one
/// after the reply); the caller sets `bot_hosted` and `last_seq` on the session.
pub(crate) async fn reply_handoff(
    conn: &mut AsyncPgConnection,
    session: &SessionRow,
    by: &Access,
    seq: i64,
    now: DateTime<Utc>,
) -> AppResult<MessageRow> {
    let name = display_name(conn, by.user_id).await?;
    let text = format!("Robot hosting switched off: {name} replied");
    let line = conversation::system_line(conn, session.id, seq, &text, now).await?;
    db::hosting_changes::insert(
        conn,
        &NewHostingChange {
            session_id: session.id,
            user_id: Some(by.user_id),
            hosted: false,
            reason: HostingReason::ReplyHandoff,
            at: now,
        },
    )
    .await?;
    Ok(line)
}

/// Inside an automation run's transaction: its hand-off step switches hosting off. Writes the
/// audit row (no member: the flow did it) and the system line at `seq`; the caller sets
/// `bot_hosted` and `last_seq` on the session.
pub(crate) async fn flow_handoff(
    conn: &mut AsyncPgConnection,
    session: &SessionRow,
    seq: i64,
    now: DateTime<Utc>,
) -> AppResult<MessageRow> {
    let text = "Robot hosting switched off: the flow handed the chat to a person";
    let line = conversation::system_line(conn, session.id, seq, text, now).await?;
    db::hosting_changes::insert(
        conn,
        &NewHostingChange {
            session_id: session.id,
            user_id: None,
            hosted: false,
            reason: HostingReason::FlowHandoff,
            at: now,
        },
    )
    .await?;
    Ok(line)
}

/// A session opened just now: it starts hosted when the project says so (audit row only, no
/// system line). Returns the row as it is now.
pub async fn on_open(conn: &mut AsyncPgConnection, row: SessionRow) -> AppResult<SessionRow> {
    if row.bot_hosted || !settings(conn, row.project_id).await?.new_sessions_hosted {
        return Ok(row);
    }
    let now = Utc::now();
    let mut c = SessionChanges::at(now);
    c.bot_hosted = Some(true);
    let after = db::sessions::update(conn, row.id, &c).await?;
    db::hosting_changes::insert(
        conn,
        &NewHostingChange {
            session_id: row.id,
            user_id: None,
            hosted: true,
            reason: HostingReason::NewSession,
            at: now,
        },
    )
    .await?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_default_to_not_hosted_and_hand_off_on_reply() {
        let s: HostingSettings = serde_json::from_value(json!({})).unwrap();
        assert_eq!(s, HostingSettings::default());
        assert!(!s.new_sessions_hosted);
        assert!(s.agent_reply_hands_off);
    }

    #[test]
    fn the_system_line_names_the_agent_and_the_state() {
        assert_eq!(switched_text("Ann", true), "Ann switched robot hosting on");
        assert_eq!(
            switched_text("Ann", false),
            "Ann switched robot hosting off"
        );
    }
}
