//! Creating projects (with their builtin roles), channels and user accounts.

use crate::db::{self, channels::Channel, enums::ChannelKind, projects::Project, users::User};
use crate::domain::{access::builtin_roles, auth};
use crate::error::{AppError, AppResult};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::RngCore;

pub async fn create_project(
    conn: &mut AsyncPgConnection,
    name: &str,
    owner_id: i64,
) -> AppResult<Project> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation(
            "project name must have 1 to 100 characters",
        ));
    }
    conn.transaction(async move |conn| {
        let project = db::projects::insert_project(conn, &name).await?;
        let mut owner_role = None;
        for (role, perms, scope) in builtin_roles() {
            let perms: Vec<String> = perms.iter().map(|p| p.as_str().to_owned()).collect();
            let r = db::projects::insert_role(conn, project.id, role, true, &perms, scope).await?;
            if role == "owner" {
                owner_role = Some(r.id);
            }
        }
        let owner_role = owner_role.ok_or_else(|| AppError::internal("no owner role"))?;
        db::projects::add_member(conn, project.id, owner_id, owner_role).await?;
        Ok(project)
    })
    .await
}

pub async fn create_web_channel(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    name: &str,
) -> AppResult<Channel> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation(
            "channel name must have 1 to 100 characters",
        ));
    }
    let mut key = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let key = format!("wk_{}", hex::encode(key));
    Ok(db::channels::insert(conn, project_id, ChannelKind::Web, name, Some(&key)).await?)
}

pub fn validate_email(email: &str) -> AppResult<String> {
    let email = email.trim();
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
                && !domain.contains('@')
        });
    if ok {
        Ok(email.to_owned())
    } else {
        Err(AppError::validation("email address is not valid"))
    }
}

/// Creates a user account (e-mail must be free).
pub async fn create_user(
    conn: &mut AsyncPgConnection,
    email: &str,
    display_name: &str,
    password: &str,
) -> AppResult<User> {
    let email = validate_email(email)?;
    let hash = auth::hash_password_async(password.to_owned()).await?;
    insert_user(conn, &email, display_name, &hash).await
}

/// Inserts an account with an already hashed password; `email` is validated. Lets a caller
/// hash (tens of ms) before it opens a transaction.
pub async fn insert_user(
    conn: &mut AsyncPgConnection,
    email: &str,
    display_name: &str,
    password_hash: &str,
) -> AppResult<User> {
    let display_name = display_name.trim();
    let display_name = if display_name.is_empty() {
        email.split('@').next().unwrap_or("user")
    } else {
        display_name
    };
    db::users::insert(
        conn,
        db::users::NewUser {
            email,
            display_name,
            password_hash,
        },
    )
    .await
    .map_err(AppError::conflict_means("a user with this e-mail exists"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_syntax() {
        assert!(validate_email("a@b.co").is_ok());
        assert!(validate_email(" a@b.co ").is_ok());
        for bad in ["", "a", "@b.co", "a@", "a b@c.d", "a@.b", "a@b@c"] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }
}
