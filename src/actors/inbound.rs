//! "A visitor message arrives on channel C from contact K": the one path every inbound
//! channel takes (the web visitor socket now, a Messenger channel actor next). The domain
//! decides where the message goes (`domain::inbound`); this drives it through the session's
//! actor, which stores it in order and dispatches its events. A pending web visitor's first
//! message comes with no contact yet: `receive_first` makes it with the session.

use super::session::{Opened, Post};
use super::sessions::SessionSupervisor;
use crate::context::AppContext;
use crate::db::contacts::Contact;
use crate::db::messages::MessageRow;
use crate::db::retry::with_retry;
use crate::domain::conversation::{Applied, NewPost};
use crate::domain::inbound::{self, Opening, Route};
use crate::domain::visitors::Pending;
use crate::error::{AppError, AppResult, ErrorCode};
use std::sync::Arc;

/// A stored (or recognised) inbound message.
pub struct Received {
    /// The session it is in now; `None` when it is the original of a resend in an ended one.
    pub session_id: Option<i64>,
    pub message: MessageRow,
}

/// Stores `post` from `contact`. `current` is the session its connection is in, if known: it is
/// used as is, and when it turns out to have ended the message opens the next one.
pub async fn receive(
    ctx: &AppContext,
    sessions: &Arc<SessionSupervisor>,
    contact: &Contact,
    post: NewPost,
    current: Option<i64>,
) -> AppResult<Received> {
    let sid = match current {
        Some(sid) => sid,
        None => {
            let route = with_retry(|| async {
                let mut conn = ctx.pool.get().await?;
                inbound::route(&mut conn, contact, &post).await
            })
            .await?;
            match route {
                Route::Original(message) => return Ok(original(message)),
                Route::Session(opening) => announce(sessions, opening),
            }
        }
    };
    post_in_session(ctx, sessions, contact, post, sid).await
}

/// Stores a pending web visitor's first message (`post` of the contact id): the contact and
/// its session are made in one transaction (`inbound::route_first`), then `made` is told the
/// contact — before the message is posted, so the visitor's other tabs can follow the
/// session it opens. Fails as a whole only when the contact could not be made; otherwise the
/// contact, and the message's own outcome.
pub async fn receive_first(
    ctx: &AppContext,
    sessions: &Arc<SessionSupervisor>,
    visitor: &Pending,
    post: impl Fn(i64) -> NewPost + Send + Sync,
    made: impl FnOnce(&Contact),
) -> AppResult<(Contact, AppResult<Received>)> {
    let first = with_retry(|| async {
        let mut conn = ctx.pool.get().await?;
        inbound::route_first(&mut conn, visitor, &post).await
    })
    .await?;
    made(&first.contact);
    let received = match first.route {
        Route::Original(message) => Ok(original(message)),
        Route::Session(opening) => {
            let sid = announce(sessions, opening);
            post_in_session(ctx, sessions, &first.contact, first.post, sid).await
        }
    };
    Ok((first.contact, received))
}

/// The answer to a resend whose original is stored (perhaps in a session that has ended).
fn original(message: MessageRow) -> Received {
    Received {
        session_id: None,
        message,
    }
}

/// Posts to session `sid`, or to the contact's next session when that one has ended.
async fn post_in_session(
    ctx: &AppContext,
    sessions: &Arc<SessionSupervisor>,
    contact: &Contact,
    post: NewPost,
    sid: i64,
) -> AppResult<Received> {
    let applied = match post_to(sessions, sid, post.clone()).await {
        Err(e) if e.code == ErrorCode::SessionEnded => {
            let opening = with_retry(|| async {
                let mut conn = ctx.pool.get().await?;
                inbound::open(&mut conn, contact).await
            })
            .await?;
            post_to(sessions, announce(sessions, opening), post).await
        }
        other => other,
    }?;
    let message = applied
        .message
        .ok_or_else(|| AppError::internal("a post without its message"))?;
    Ok(Received {
        session_id: Some(applied.after.id),
        message,
    })
}

/// A session opened just now is announced by its actor before the message is posted to it
/// (the same mailbox keeps that order).
fn announce(sessions: &Arc<SessionSupervisor>, opening: Opening) -> i64 {
    if let Some((row, names)) = opening.opened {
        sessions.session(opening.id).do_send(Opened { row, names });
    }
    opening.id
}

async fn post_to(
    sessions: &Arc<SessionSupervisor>,
    session_id: i64,
    post: NewPost,
) -> AppResult<Applied> {
    sessions
        .session(session_id)
        .send(Post(post))
        .await
        .unwrap_or_else(|e| Err(busy(e)))
}

/// The session actor's mailbox was full or it stopped: not stored; the client resends.
pub fn busy(e: actix::MailboxError) -> AppError {
    AppError::new(
        ErrorCode::DbUnavailable,
        format!("session busy: {e}; retry"),
    )
}
