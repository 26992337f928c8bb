//! A visitor's message arriving on any channel (the web widget now, Messenger next): where it
//! goes before the session's actor stores it. A resend whose original is already stored — in
//! this session or one that has ended since — is answered with the original; otherwise the
//! contact's open session takes it, opened now when the contact has none (announced before the
//! message). Storing it is `conversation::post`, in the session's actor.
//!
//! A pending web visitor's first message (`route_first`) makes the contact and opens its
//! session in one transaction: one commit, and a failure between the two leaves neither.

use crate::db;
use crate::db::contacts::Contact;
use crate::db::messages::MessageRow;
use crate::db::sessions::SessionRow;
use crate::domain::conversation::{self, NewPost};
use crate::domain::events::Names;
use crate::domain::hosting;
use crate::domain::visitors::{self, Pending};
use crate::error::{AppError, AppResult};
use diesel_async::{AsyncConnection, AsyncPgConnection};

pub enum Route {
    /// Stored before: acknowledge this, store nothing.
    Original(MessageRow),
    Session(Opening),
}

/// The session to post to; `opened` when it was opened just now (announce it first).
pub struct Opening {
    pub id: i64,
    pub opened: Option<(SessionRow, Names)>,
}

/// Where a message from a contact with no session known to its connection goes.
pub async fn route(
    conn: &mut AsyncPgConnection,
    contact: &Contact,
    post: &NewPost,
) -> AppResult<Route> {
    if let Some(original) = conversation::original_of(conn, post, None).await? {
        return Ok(Route::Original(original));
    }
    Ok(Route::Session(open(conn, contact).await?))
}

/// The contact's open session, opened now when there is none (its last one ended).
pub async fn open(conn: &mut AsyncPgConnection, contact: &Contact) -> AppResult<Opening> {
    let (row, created) = conn
        .transaction(async move |conn| open_in(conn, contact).await)
        .await?;
    // Only a new session is announced, with the names as they are now (an agent may have
    // edited the note name since the connection loaded the contact).
    let opened = match created {
        true => {
            let (contact_name, note_name) = db::sessions::contact_names(conn, contact.id).await?;
            Some((
                row.clone(),
                Names {
                    contact_name,
                    note_name,
                },
            ))
        }
        false => None,
    };
    Ok(Opening { id: row.id, opened })
}

/// A pending visitor's first message, and where it goes.
pub struct First {
    /// Made by this message, or by another tab's first message just before.
    pub contact: Contact,
    /// The message, its author the contact.
    pub post: NewPost,
    pub route: Route,
}

/// Where a pending visitor's first message goes, with its contact: made now unless another
/// tab has made it, in the same transaction as the session it opens. `post` gives the message
/// of a contact id (called again on a retry).
pub async fn route_first(
    conn: &mut AsyncPgConnection,
    visitor: &Pending,
    post: impl Fn(i64) -> NewPost + Send + Sync,
) -> AppResult<First> {
    conn.transaction(async move |conn| {
        let (contact, made) = visitors::contact_for(conn, visitor).await?;
        let post = post(contact.id);
        // A contact made just now has written nothing: no original to look for.
        if !made {
            if let Some(original) = conversation::original_of(conn, &post, None).await? {
                return Ok(First {
                    contact,
                    post,
                    route: Route::Original(original),
                });
            }
        }
        let (row, created) = open_in(conn, &contact).await?;
        // The contact was read (or made) in this transaction: its names are current.
        let opened = created.then(|| {
            let names = Names {
                contact_name: contact.name.clone(),
                note_name: contact.note_name.clone(),
            };
            (row.clone(), names)
        });
        let route = Route::Session(Opening { id: row.id, opened });
        Ok::<_, AppError>(First {
            contact,
            post,
            route,
        })
    })
    .await
}

/// The contact's open session or a new one, on the caller's transaction; `true` when new.
async fn open_in(conn: &mut AsyncPgConnection, contact: &Contact) -> AppResult<(SessionRow, bool)> {
    let (row, created) =
        db::sessions::open_or_get(conn, contact.project_id, contact.channel_id, contact.id).await?;
    // A session the project opens hosted is hosted from its first moment: the insert, the
    // switch and its audit row commit together.
    let row = match created {
        true => hosting::on_open(conn, row).await?,
        false => row,
    };
    Ok((row, created))
}
