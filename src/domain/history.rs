//! Reading a session's stored messages for a resume: an agent's (within its data scope) or a
//! visitor's (its own session), all of them after a sequence number, in pages.

use crate::db::{self, messages::MessageRow, sessions::SessionRow};
use crate::domain::access::Access;
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
) -> AppResult<Vec<MessageRow>> {
    access.check_session(&session(conn, session_id).await?)?;
    after(conn, session_id, after_seq).await
}

/// Every stored message of the visitor's session after `after_seq`.
pub async fn for_visitor(
    conn: &mut AsyncPgConnection,
    contact_id: i64,
    session_id: i64,
    after_seq: i64,
) -> AppResult<Vec<MessageRow>> {
    if session(conn, session_id).await?.contact_id != contact_id {
        return Err(AppError::not_found("session"));
    }
    after(conn, session_id, after_seq).await
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
