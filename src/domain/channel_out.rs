//! The seam where a channel with its own platform takes an outgoing message: called by
//! `conversation::post` inside the message's transaction, so the durable send row commits with
//! the message, and a refusal (a closed reply window) stores nothing. A new channel adds its arm
//! here.

use crate::db;
use crate::db::enums::ChannelKind;
use crate::db::messages::MessageRow;
use crate::db::sessions::SessionRow;
use crate::domain::conversation::{Author, NewPost};
use crate::domain::messenger;
use crate::error::AppResult;
use diesel_async::AsyncPgConnection;

pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    session: &SessionRow,
    message: &MessageRow,
    post: &NewPost,
) -> AppResult<()> {
    // Only what we write goes out; a visitor's message came in, a native reply went out already.
    if !matches!(
        post.author,
        Author::Agent(_) | Author::Bot | Author::Flow { .. }
    ) {
        return Ok(());
    }
    match db::channels::kind_of(conn, session.channel_id).await? {
        ChannelKind::Web => Ok(()),
        ChannelKind::Messenger => messenger::outbound::enqueue(conn, session, message, post).await,
    }
}
