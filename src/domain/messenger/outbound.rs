//! An agent's or the bot's message to a Messenger person: the reply window decides how it is
//! sent (or refuses it), and a `channel_outbound` row is written with the message.

use crate::db::messages::MessageRow;
use crate::db::sessions::SessionRow;
use crate::domain::conversation::NewPost;
use crate::error::{AppError, AppResult};
use diesel_async::AsyncPgConnection;

pub async fn enqueue(
    _conn: &mut AsyncPgConnection,
    _session: &SessionRow,
    _message: &MessageRow,
    _post: &NewPost,
) -> AppResult<()> {
    Err(AppError::internal("sending to Messenger is not built yet"))
}
