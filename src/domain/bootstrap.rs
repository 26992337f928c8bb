//! First start: with no account at all, make an owner with a generated password, a demo
//! project and a web-widget channel, so a newcomer can log in and chat at once.

use crate::db::{self, channels::Channel};
use crate::domain::{auth, projects};
use crate::error::AppResult;
use diesel_async::AsyncPgConnection;

pub const FIRST_OWNER_EMAIL: &str = "owner@switchboard.local";

pub struct FirstStart {
    pub email: String,
    pub password: String,
    pub channel: Channel,
}

/// Returns the credentials when it created them (only ever once per database).
pub async fn ensure_first_owner(conn: &mut AsyncPgConnection) -> AppResult<Option<FirstStart>> {
    if db::users::count(conn).await? > 0 {
        return Ok(None);
    }
    let password = auth::random_password();
    let user = projects::create_user(conn, FIRST_OWNER_EMAIL, "Owner", &password).await?;
    let project = projects::create_project(conn, "Demo", user.id).await?;
    let channel = projects::create_web_channel(conn, project.id, "Website").await?;
    Ok(Some(FirstStart {
        email: user.email,
        password,
        channel,
    }))
}
