//! A visitor's message arriving on any channel (the web widget now, Messenger next): where it
//! goes before the session's actor stores it. A resend whose original is already stored — in
//! this session or one that has ended since — is answered with the original; otherwise the
//! contact's open session takes it, opened now when the contact has none (announced before the
//! message). Storing it is `conversation::post`, in the session's actor.

use crate::db;
use crate::db::contacts::Contact;
use crate::db::messages::MessageRow;
use crate::db::sessions::SessionRow;
use crate::domain::conversation::{self, NewPost};
use crate::domain::events::Names;
use crate::domain::hosting;
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
    let (project_id, channel_id, contact_id) = (contact.project_id, contact.channel_id, contact.id);
    // A session the project opens hosted is hosted from its first moment: the insert, the
    // switch and its audit row commit together.
    let (row, created) = conn
        .transaction(async move |conn| {
            let (row, created) =
                db::sessions::open_or_get(conn, project_id, channel_id, contact_id).await?;
            let row = match created {
                true => hosting::on_open(conn, row).await?,
                false => row,
            };
            Ok::<_, AppError>((row, created))
        })
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
