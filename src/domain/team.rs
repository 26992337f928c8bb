//! Team permissions: adding a member, changing a member's role, removing a member, and custom
//! roles.
//!
//! Rules: everything needs `team.manage`; granting or revoking the owner role, and giving any
//! role `project.manage` — to a new member or an existing one, one rule (`require_may_grant`)
//! — also needs `project.manage` (an admin cannot make itself or anyone an owner); the
//! last owner can be neither removed nor demoted; the builtin owner role cannot be edited or
//! deleted; a role that members hold cannot be deleted (`conflict`); a removed member's open
//! sessions go back to the queue (a durable `release_assignee` job per session, committed with
//! the removal). Each change returns the user ids whose access changed: after the commit their
//! live agent connections are revoked (`revoked` → `Event::AccessRevoked`, carried out by the
//! connection hub) and reconnect with the new access.

use crate::db::{self, projects::Role, projects::RoleChanges, users::User};
use crate::domain::access::{Access, DataScope, Permission};
use crate::domain::auth;
use crate::domain::conversation::TIMER_RELEASE_ASSIGNEE;
use crate::domain::events::Event;
use crate::domain::projects::{insert_user, validate_email};
use crate::error::{AppError, AppResult, ErrorCode};
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};

pub const ROLE_NAME_MAX: usize = 50;

fn is_owner_role(r: &Role) -> bool {
    r.builtin && r.name == "owner"
}

/// The one rule for handing a member a role, used when adding a member and when changing a
/// member's role: taking the owner role away, or giving the owner role or any role holding
/// `project.manage`, needs `project.manage` — else `team.manage` would be a way to it.
fn require_may_grant(access: &Access, was_owner: bool, role: &Role) -> AppResult<()> {
    let grants_project = role
        .permissions
        .iter()
        .any(|p| p == Permission::ManageProject.as_str());
    if was_owner || is_owner_role(role) || grants_project {
        access.require(Permission::ManageProject)?;
    }
    Ok(())
}

async fn role_named(conn: &mut AsyncPgConnection, project_id: i64, name: &str) -> AppResult<Role> {
    db::projects::role_by_name(conn, project_id, name)
        .await?
        .ok_or_else(|| AppError::validation(format!("no role named {name}")))
}

/// Adds a member with a role name, creating the account when the e-mail is new (then a
/// password is required). Returns the user.
pub async fn add_member(
    conn: &mut AsyncPgConnection,
    access: &Access,
    email: &str,
    display_name: &str,
    password: Option<&str>,
    role: &str,
) -> AppResult<User> {
    access.require(Permission::ManageTeam)?;
    let email = validate_email(email)?;
    // Checked before hashing, so a refused request costs no argon2 time; checked again in
    // the transaction below.
    require_may_grant(
        access,
        false,
        &role_named(conn, access.project_id, role).await?,
    )?;
    // Hashing takes tens of ms: done before the transaction, which would otherwise stay open
    // (holding its locks) that long.
    let hash = match db::users::find_by_email(conn, &email).await? {
        Some(_) => None,
        None => {
            let pw = password
                .ok_or_else(|| AppError::validation("a password is required for a new account"))?;
            Some(auth::hash_password_async(pw.to_owned()).await?)
        }
    };
    let access = access.clone();
    let role_name = role.to_owned();
    let display_name = display_name.to_owned();
    conn.transaction(async move |conn| {
        let role = role_named(conn, access.project_id, &role_name).await?;
        require_may_grant(&access, false, &role)?;
        let user = match (db::users::find_by_email(conn, &email).await?, hash) {
            (Some(u), _) => u,
            (None, Some(hash)) => insert_user(conn, &email, &display_name, &hash).await?,
            (None, None) => {
                return Err(AppError::validation(
                    "a password is required for a new account",
                ))
            }
        };
        db::projects::add_member(conn, access.project_id, user.id, role.id)
            .await
            .map_err(AppError::conflict_means("already a member of this project"))?;
        Ok(user)
    })
    .await
}

pub fn validate_role_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > ROLE_NAME_MAX {
        return Err(AppError::validation(format!(
            "name must have 1 to {ROLE_NAME_MAX} characters"
        )));
    }
    Ok(name.to_owned())
}

/// Permission names, each one of `Permission::ALL`, without duplicates, in canonical order.
pub fn validate_permissions(names: &[String]) -> AppResult<Vec<Permission>> {
    let mut out = Vec::new();
    for n in names {
        let p = Permission::parse(n).ok_or_else(|| {
            AppError::validation(format!(
                "unknown permission {n:?}; known: {}",
                Permission::ALL.map(Permission::as_str).join(", ")
            ))
        })?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(Permission::ALL
        .into_iter()
        .filter(|p| out.contains(p))
        .collect())
}

pub fn parse_scope(s: &str) -> AppResult<DataScope> {
    DataScope::parse(s).ok_or_else(|| AppError::validation("data_scope must be \"own\" or \"all\""))
}

fn names(perms: &[Permission]) -> Vec<String> {
    perms.iter().map(|p| p.as_str().to_owned()).collect()
}

/// Owners among (user id, role id) member rows.
fn owner_count(members: &[(i64, i64)], owner_role: Option<i64>) -> usize {
    members
        .iter()
        .filter(|(_, r)| Some(*r) == owner_role)
        .count()
}

async fn owner_role_id(conn: &mut AsyncPgConnection, project_id: i64) -> AppResult<Option<i64>> {
    Ok(db::projects::list_roles(conn, project_id)
        .await?
        .into_iter()
        .find(is_owner_role)
        .map(|r| r.id))
}

/// Gives a member another role of the project. Returns the member's user id.
pub async fn set_member_role(
    conn: &mut AsyncPgConnection,
    access: &Access,
    user_id: i64,
    role_id: i64,
) -> AppResult<i64> {
    access.require(Permission::ManageTeam)?;
    let access = access.clone();
    conn.transaction(async move |conn| {
        let members = db::projects::lock_members(conn, access.project_id).await?;
        let current = members
            .iter()
            .find(|(u, _)| *u == user_id)
            .map(|(_, r)| *r)
            .ok_or_else(|| AppError::not_found("member"))?;
        let role = db::projects::find_role(conn, access.project_id, role_id)
            .await?
            .ok_or_else(|| AppError::validation("role_id is not a role of this project"))?;
        let owner = owner_role_id(conn, access.project_id).await?;
        let was_owner = Some(current) == owner;
        require_may_grant(&access, was_owner, &role)?;
        if was_owner && !is_owner_role(&role) && owner_count(&members, owner) <= 1 {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "the project's last owner cannot be demoted",
            ));
        }
        db::projects::set_member_role(conn, access.project_id, user_id, role.id).await?;
        Ok(user_id)
    })
    .await
}

/// Removes a member from the project. Returns the member's user id.
pub async fn remove_member(
    conn: &mut AsyncPgConnection,
    access: &Access,
    user_id: i64,
) -> AppResult<i64> {
    access.require(Permission::ManageTeam)?;
    let access = access.clone();
    conn.transaction(async move |conn| {
        let members = db::projects::lock_members(conn, access.project_id).await?;
        let current = members
            .iter()
            .find(|(u, _)| *u == user_id)
            .map(|(_, r)| *r)
            .ok_or_else(|| AppError::not_found("member"))?;
        let owner = owner_role_id(conn, access.project_id).await?;
        if Some(current) == owner {
            access.require(Permission::ManageProject)?;
            if owner_count(&members, owner) <= 1 {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    "the project's last owner cannot be removed",
                ));
            }
        }
        db::projects::remove_member(conn, access.project_id, user_id).await?;
        // Their open sessions go back to the queue: a durable job per session, committed with
        // the removal, applied by each session's actor.
        let now = Utc::now();
        for sid in db::sessions::assigned_to(conn, access.project_id, user_id).await? {
            db::timers::upsert_for_session(
                conn,
                access.project_id,
                sid,
                TIMER_RELEASE_ASSIGNEE,
                now,
                &serde_json::json!({ "user_id": user_id }),
            )
            .await?;
        }
        Ok(user_id)
    })
    .await
}

pub async fn create_role(
    conn: &mut AsyncPgConnection,
    access: &Access,
    name: &str,
    permissions: &[String],
    data_scope: &str,
) -> AppResult<Role> {
    access.require(Permission::ManageTeam)?;
    let name = validate_role_name(name)?;
    let perms = validate_permissions(permissions)?;
    let scope = parse_scope(data_scope)?;
    if perms.contains(&Permission::ManageProject) {
        access.require(Permission::ManageProject)?;
    }
    db::projects::insert_role(conn, access.project_id, &name, false, &names(&perms), scope)
        .await
        .map_err(AppError::conflict_means("a role with this name exists"))
}

/// What `PATCH …/roles/{rid}` may change; absent fields stay.
#[derive(Debug, Default)]
pub struct RoleEdit<'a> {
    pub name: Option<&'a str>,
    pub permissions: Option<&'a [String]>,
    pub data_scope: Option<&'a str>,
}

/// Edits a role. Returns it and the user ids of its members (their access changed).
pub async fn update_role(
    conn: &mut AsyncPgConnection,
    access: &Access,
    role_id: i64,
    edit: RoleEdit<'_>,
) -> AppResult<(Role, Vec<i64>)> {
    access.require(Permission::ManageTeam)?;
    let changes = RoleChanges {
        name: edit.name.map(validate_role_name).transpose()?,
        permissions: edit
            .permissions
            .map(|p| validate_permissions(p).map(|v| names(&v)))
            .transpose()?,
        data_scope: edit.data_scope.map(parse_scope).transpose()?,
    };
    if changes.name.is_none() && changes.permissions.is_none() && changes.data_scope.is_none() {
        return Err(AppError::validation("give name, permissions or data_scope"));
    }
    let access = access.clone();
    conn.transaction(async move |conn| {
        let role = db::projects::find_role(conn, access.project_id, role_id)
            .await?
            .ok_or_else(|| AppError::not_found("role"))?;
        if is_owner_role(&role) {
            return Err(AppError::forbidden("the owner role cannot be changed"));
        }
        if role.builtin && changes.name.as_ref().is_some_and(|n| *n != role.name) {
            return Err(AppError::forbidden("builtin roles cannot be renamed"));
        }
        let grants_project = |perms: &[String]| {
            perms
                .iter()
                .any(|p| p == Permission::ManageProject.as_str())
        };
        let before = grants_project(&role.permissions);
        let after = changes
            .permissions
            .as_deref()
            .map_or(before, grants_project);
        if before != after {
            access.require(Permission::ManageProject)?;
        }
        let role = db::projects::update_role(conn, role.id, &changes)
            .await
            .map_err(AppError::conflict_means("a role with this name exists"))?;
        let members = db::projects::members_with_role(conn, access.project_id, role.id).await?;
        Ok((role, members))
    })
    .await
}

pub async fn delete_role(
    conn: &mut AsyncPgConnection,
    access: &Access,
    role_id: i64,
) -> AppResult<()> {
    access.require(Permission::ManageTeam)?;
    let access = access.clone();
    conn.transaction(async move |conn| {
        let role = db::projects::find_role(conn, access.project_id, role_id)
            .await?
            .ok_or_else(|| AppError::not_found("role"))?;
        if is_owner_role(&role) {
            return Err(AppError::forbidden("the owner role cannot be deleted"));
        }
        // Members referencing the role block the delete (foreign key); check first for a clear
        // message, and rely on the key for a member added concurrently.
        if !db::projects::members_with_role(conn, access.project_id, role.id)
            .await?
            .is_empty()
        {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "the role is in use: give its members another role first",
            ));
        }
        db::projects::delete_role(conn, role.id)
            .await
            .map_err(|e| match AppError::from(e) {
                e if e.code == ErrorCode::Validation => AppError::new(
                    ErrorCode::Conflict,
                    "the role is in use: give its members another role first",
                ),
                e => e,
            })?;
        Ok(())
    })
    .await
}

/// What a change of members' access announces after its commit: their live agent connections
/// close and reconnect with the new access, so an own-scope agent never gets another agent's
/// session events under old rights.
pub fn revoked(project_id: i64, user_ids: &[i64]) -> Event {
    Event::AccessRevoked {
        project_id,
        user_ids: user_ids.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_are_validated_and_canonical() {
        let v = validate_permissions(&[
            "session_tags.manage".into(),
            "team.manage".into(),
            "team.manage".into(),
        ])
        .unwrap();
        assert_eq!(
            v,
            vec![Permission::ManageTeam, Permission::ManageSessionTags]
        );
        let e = validate_permissions(&["root".into()]).unwrap_err();
        assert!(e.message.contains("root"));
        assert!(parse_scope("mine").is_err());
        assert!(validate_role_name("  ").is_err());
    }

    #[test]
    fn owners_are_counted_by_role() {
        assert_eq!(owner_count(&[(1, 10), (2, 11), (3, 10)], Some(10)), 2);
        assert_eq!(owner_count(&[(1, 10)], None), 0);
    }
}
