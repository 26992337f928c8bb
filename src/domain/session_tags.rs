//! Session tags: the project's tag list (managed with `session_tags.manage`) and setting the
//! tags of one session (any member who can see the session).

use crate::db::{self, session_tags::SessionTag, session_tags::TagChanges, sessions::SessionRow};
use crate::domain::access::{Access, Permission};
use crate::domain::events::Event;
use crate::error::{AppError, AppResult, NotFoundExt};
use diesel_async::{AsyncConnection, AsyncPgConnection};

pub const NAME_MAX: usize = 32;
pub const DEFAULT_COLOR: &str = "#888888";
/// At most this many tags on one session.
pub const PER_SESSION_MAX: usize = 20;

pub fn validate_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > NAME_MAX {
        return Err(AppError::validation(format!(
            "name must have 1 to {NAME_MAX} characters"
        )));
    }
    Ok(name.to_owned())
}

/// `#rrggbb`, stored in lower case.
pub fn validate_color(color: &str) -> AppResult<String> {
    let c = color.trim();
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit());
    if ok {
        Ok(c.to_ascii_lowercase())
    } else {
        Err(AppError::validation("color must be #rrggbb"))
    }
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    access: &Access,
    name: &str,
    color: Option<&str>,
) -> AppResult<SessionTag> {
    access.require(Permission::ManageSessionTags)?;
    let name = validate_name(name)?;
    let color = validate_color(color.unwrap_or(DEFAULT_COLOR))?;
    db::session_tags::insert(conn, access.project_id, &name, &color)
        .await
        .map_err(AppError::conflict_means("a tag with this name exists"))
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    access: &Access,
    id: i64,
    name: Option<&str>,
    color: Option<&str>,
) -> AppResult<SessionTag> {
    access.require(Permission::ManageSessionTags)?;
    let changes = TagChanges {
        name: name.map(validate_name).transpose()?,
        color: color.map(validate_color).transpose()?,
    };
    if changes.name.is_none() && changes.color.is_none() {
        return Err(AppError::validation("give name or color"));
    }
    db::session_tags::update(conn, access.project_id, id, &changes)
        .await
        .map_err(|e| match e {
            diesel::result::Error::NotFound => AppError::not_found("tag"),
            e => AppError::conflict_means("a tag with this name exists")(e),
        })
}

pub async fn delete(conn: &mut AsyncPgConnection, access: &Access, id: i64) -> AppResult<()> {
    access.require(Permission::ManageSessionTags)?;
    match db::session_tags::delete(conn, access.project_id, id).await? {
        0 => Err(AppError::not_found("tag")),
        _ => Ok(()),
    }
}

/// Replaces a session's tags. The session row is locked so concurrent edits apply in order;
/// every id must be a tag of the project.
/// The tags of a session the caller can see.
pub async fn of_session(
    conn: &mut AsyncPgConnection,
    access: &Access,
    session_id: i64,
) -> AppResult<Vec<SessionTag>> {
    let session = db::sessions::find(conn, session_id)
        .await
        .or_not_found("session")?;
    access.check_session(&session)?;
    Ok(db::session_tags::for_session(conn, session_id).await?)
}

pub async fn set_for_session(
    conn: &mut AsyncPgConnection,
    access: &Access,
    session_id: i64,
    tag_ids: &[i64],
) -> AppResult<(SessionRow, Vec<SessionTag>)> {
    let mut ids = tag_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() > PER_SESSION_MAX {
        return Err(AppError::validation(format!(
            "tag_ids: at most {PER_SESSION_MAX} tags on a session"
        )));
    }
    let access = access.clone();
    conn.transaction(async move |conn| {
        let session = db::sessions::lock(conn, session_id)
            .await
            .or_not_found("session")?;
        access.check_session(&session)?;
        let tags = db::session_tags::find_many(conn, access.project_id, &ids).await?;
        if tags.len() != ids.len() {
            return Err(AppError::validation(
                "tag_ids: every id must be a session tag of this project",
            ));
        }
        db::session_tags::set_for_session(conn, session_id, &ids).await?;
        Ok((session, tags))
    })
    .await
}

/// What replacing a session's tags announces after the commit: `session_tags` to every agent
/// who sees the session.
pub fn tags_changed(session: &SessionRow, tags: &[SessionTag]) -> Event {
    Event::SessionTagsChanged {
        session: session.clone(),
        tags: tags.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_colors_are_checked() {
        assert_eq!(validate_name("  VIP ").unwrap(), "VIP");
        assert!(validate_name(" ").is_err());
        assert!(validate_name(&"x".repeat(33)).is_err());
        assert_eq!(validate_color("#A0b1C2").unwrap(), "#a0b1c2");
        for bad in ["red", "#12345", "#1234567", "#12345g"] {
            assert!(validate_color(bad).is_err(), "{bad}");
        }
    }
}
