//! Reading a session's stored messages for a resume: an agent's (within its data scope) or a
//! visitor's (its own session), all of them after a sequence number, in pages. Agents see how
//! each message sent through a channel's platform is getting on (`delivery`).

use crate::db::enums::{ChannelKind, SenderKind};
use crate::db::{self, messages::MessageRow, sessions::SessionRow};
use crate::domain::access::Access;
use crate::domain::views::MessageView;
use crate::error::{AppError, AppResult, NotFoundExt};
use diesel_async::AsyncPgConnection;

/// Messages are read in pages of this size.
const PAGE: i64 = 1000;

/// Every stored message of `session_id` after `after_seq`, for an agent who may see it.
pub async fn for_agent(
    conn: &mut AsyncPgConnection,
    access: &Access,
    session_id: i64,
    after_seq: i64,
) -> AppResult<Vec<MessageView>> {
    let s = session(conn, session_id).await?;
    access.check_session(&s)?;
    let rows = after(conn, session_id, after_seq).await?;
    with_delivery(conn, s.channel_id, &rows).await
}

/// The agents' view of a session's messages: those sent through a channel's platform carry
/// their delivery. A web session's need no query.
pub async fn with_delivery(
    conn: &mut AsyncPgConnection,
    channel_id: i64,
    rows: &[MessageRow],
) -> AppResult<Vec<MessageView>> {
    if db::channels::kind_of(conn, channel_id).await? == ChannelKind::Web {
        return Ok(rows.iter().map(MessageView::from).collect());
    }
    let ids: Vec<i64> = rows
        .iter()
        .filter(|m| matches!(m.sender_kind, SenderKind::Agent | SenderKind::Bot) && !m.off_platform)
        .map(|m| m.id)
        .collect();
    let outbound: std::collections::HashMap<i64, _> = db::channel_outbound::of_messages(conn, &ids)
        .await?
        .into_iter()
        .map(|o| (o.message_id, o))
        .collect();
    Ok(rows
        .iter()
        .map(|m| MessageView::with_delivery(m, outbound.get(&m.id)))
        .collect())
}

/// Every stored message of the visitor's session after `after_seq`.
pub async fn for_visitor(
    conn: &mut AsyncPgConnection,
    contact_id: i64,
    session_id: i64,
    after_seq: i64,
) -> AppResult<Vec<MessageView>> {
    if session(conn, session_id).await?.contact_id != contact_id {
        return Err(AppError::not_found("session"));
    }
    let rows = after(conn, session_id, after_seq).await?;
    Ok(rows.iter().map(MessageView::from).collect())
}

async fn session(conn: &mut AsyncPgConnection, id: i64) -> AppResult<SessionRow> {
    db::sessions::find(conn, id).await.or_not_found("session")
}

async fn after(
    conn: &mut AsyncPgConnection,
    session_id: i64,
    after_seq: i64,
) -> AppResult<Vec<MessageRow>> {
    let mut rows = Vec::new();
    let mut cursor = after_seq;
    loop {
        let page = db::messages::after(conn, session_id, cursor, PAGE).await?;
        let done = (page.len() as i64) < PAGE;
        if let Some(last) = page.last() {
            cursor = last.seq;
        }
        rows.extend(page);
        if done {
            return Ok(rows);
        }
    }
}
