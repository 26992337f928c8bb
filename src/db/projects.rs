//! Projects, their roles and their members.

use super::enums::DataScope;
use super::schema::{project_members, projects, roles, users};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = projects)]
pub struct Project {
    pub id: i64,
    pub name: String,
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = roles)]
pub struct Role {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub builtin: bool,
    pub permissions: Vec<String>,
    pub data_scope: DataScope,
}

#[derive(Debug, Clone, Queryable, Serialize, utoipa::ToSchema)]
pub struct MemberRow {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub role_id: i64,
    pub role_name: String,
    pub joined_at: DateTime<Utc>,
}

pub async fn insert_project(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<Project> {
    diesel::insert_into(projects::table)
        .values(projects::name.eq(name))
        .returning(Project::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Project> {
    projects::table
        .find(id)
        .select(Project::as_select())
        .first(conn)
        .await
}

pub async fn settings(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<serde_json::Value> {
    projects::table
        .find(id)
        .select(projects::settings)
        .first(conn)
        .await
}

/// The settings, with the project row locked until the transaction ends (read-modify-write).
pub async fn lock_settings(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> QueryResult<serde_json::Value> {
    projects::table
        .find(id)
        .for_update()
        .select(projects::settings)
        .first(conn)
        .await
}

/// Replaces the project's settings object (`domain::settings` writes it whole, unknown keys
/// included, under `lock_settings`).
pub async fn write_settings(
    conn: &mut AsyncPgConnection,
    id: i64,
    settings: &serde_json::Value,
) -> QueryResult<usize> {
    diesel::update(projects::table.find(id))
        .set(projects::settings.eq(settings))
        .execute(conn)
        .await
}

pub async fn list_for_user(
    conn: &mut AsyncPgConnection,
    user_id: i64,
) -> QueryResult<Vec<(Project, Role)>> {
    project_members::table
        .inner_join(projects::table)
        .inner_join(roles::table)
        .filter(project_members::user_id.eq(user_id))
        .order(projects::id.asc())
        .select((Project::as_select(), Role::as_select()))
        .load(conn)
        .await
}

pub async fn insert_role(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    name: &str,
    builtin: bool,
    permissions: &[String],
    data_scope: DataScope,
) -> QueryResult<Role> {
    diesel::insert_into(roles::table)
        .values((
            roles::project_id.eq(project_id),
            roles::name.eq(name),
            roles::builtin.eq(builtin),
            roles::permissions.eq(permissions),
            roles::data_scope.eq(data_scope),
        ))
        .returning(Role::as_returning())
        .get_result(conn)
        .await
}

pub async fn role_by_name(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    name: &str,
) -> QueryResult<Option<Role>> {
    roles::table
        .filter(roles::project_id.eq(project_id))
        .filter(roles::name.eq(name))
        .select(Role::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn list_roles(conn: &mut AsyncPgConnection, project_id: i64) -> QueryResult<Vec<Role>> {
    roles::table
        .filter(roles::project_id.eq(project_id))
        .order(roles::id.asc())
        .select(Role::as_select())
        .load(conn)
        .await
}

/// The role a user holds in a project, if a member.
pub async fn membership(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    user_id: i64,
) -> QueryResult<Option<Role>> {
    project_members::table
        .inner_join(roles::table)
        .filter(project_members::project_id.eq(project_id))
        .filter(project_members::user_id.eq(user_id))
        .select(Role::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn add_member(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    user_id: i64,
    role_id: i64,
) -> QueryResult<usize> {
    diesel::insert_into(project_members::table)
        .values((
            project_members::project_id.eq(project_id),
            project_members::user_id.eq(user_id),
            project_members::role_id.eq(role_id),
        ))
        .execute(conn)
        .await
}

pub async fn list_members(
    conn: &mut AsyncPgConnection,
    project_id: i64,
) -> QueryResult<Vec<MemberRow>> {
    project_members::table
        .inner_join(users::table)
        .inner_join(roles::table)
        .filter(project_members::project_id.eq(project_id))
        .order(users::id.asc())
        .select((
            users::id,
            users::email,
            users::display_name,
            roles::id,
            roles::name,
            project_members::created_at,
        ))
        .load(conn)
        .await
}

/// (user id, e-mail, display name) of the project's members, or of one member.
pub async fn member_addresses(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    only: Option<i64>,
) -> QueryResult<Vec<(i64, String, String)>> {
    let mut q = project_members::table
        .inner_join(users::table)
        .filter(project_members::project_id.eq(project_id))
        .order(users::id.asc())
        .select((users::id, users::email, users::display_name))
        .into_boxed();
    if let Some(user_id) = only {
        q = q.filter(users::id.eq(user_id));
    }
    q.load(conn).await
}

pub async fn member_ids(conn: &mut AsyncPgConnection, project_id: i64) -> QueryResult<Vec<i64>> {
    project_members::table
        .filter(project_members::project_id.eq(project_id))
        .select(project_members::user_id)
        .load(conn)
        .await
}

pub async fn any_project(conn: &mut AsyncPgConnection) -> QueryResult<Option<Project>> {
    projects::table
        .order(projects::id.asc())
        .select(Project::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_role(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    id: i64,
) -> QueryResult<Option<Role>> {
    roles::table
        .filter(roles::project_id.eq(project_id))
        .filter(roles::id.eq(id))
        .select(Role::as_select())
        .first(conn)
        .await
        .optional()
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = roles)]
pub struct RoleChanges {
    pub name: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub data_scope: Option<DataScope>,
}

pub async fn update_role(
    conn: &mut AsyncPgConnection,
    id: i64,
    changes: &RoleChanges,
) -> QueryResult<Role> {
    diesel::update(roles::table.find(id))
        .set(changes)
        .returning(Role::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete_role(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(roles::table.find(id)).execute(conn).await
}

/// Members holding a role (user ids).
pub async fn members_with_role(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    role_id: i64,
) -> QueryResult<Vec<i64>> {
    project_members::table
        .filter(project_members::project_id.eq(project_id))
        .filter(project_members::role_id.eq(role_id))
        .select(project_members::user_id)
        .load(conn)
        .await
}

/// Locks the project's member rows (in a stable order) and returns (user id, role id) of each:
/// last-owner checks read this under the lock so two demotions cannot both pass.
pub async fn lock_members(
    conn: &mut AsyncPgConnection,
    project_id: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    project_members::table
        .filter(project_members::project_id.eq(project_id))
        .order(project_members::user_id.asc())
        .for_update()
        .select((project_members::user_id, project_members::role_id))
        .load(conn)
        .await
}

pub async fn set_member_role(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    user_id: i64,
    role_id: i64,
) -> QueryResult<usize> {
    diesel::update(
        project_members::table
            .filter(project_members::project_id.eq(project_id))
            .filter(project_members::user_id.eq(user_id)),
    )
    .set(project_members::role_id.eq(role_id))
    .execute(conn)
    .await
}

pub async fn remove_member(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    user_id: i64,
) -> QueryResult<usize> {
    diesel::delete(
        project_members::table
            .filter(project_members::project_id.eq(project_id))
            .filter(project_members::user_id.eq(user_id)),
    )
    .execute(conn)
    .await
}

pub async fn preferences(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    user_id: i64,
) -> QueryResult<serde_json::Value> {
    project_members::table
        .filter(project_members::project_id.eq(project_id))
        .filter(project_members::user_id.eq(user_id))
        .select(project_members::preferences)
        .first(conn)
        .await
}

/// Merges `patch` into the member's preferences object (top-level keys replace).
pub async fn merge_preferences(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    user_id: i64,
    patch: &serde_json::Value,
) -> QueryResult<serde_json::Value> {
    diesel::sql_query(
        "UPDATE project_members SET preferences = preferences || $3 \
         WHERE project_id = $1 AND user_id = $2 RETURNING preferences",
    )
    .bind::<diesel::sql_types::Int8, _>(project_id)
    .bind::<diesel::sql_types::Int8, _>(user_id)
    .bind::<diesel::sql_types::Jsonb, _>(patch)
    .get_result::<PreferencesRow>(conn)
    .await
    .map(|r| r.preferences)
}

#[derive(QueryableByName)]
struct PreferencesRow {
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    preferences: serde_json::Value,
}

/// (user id, e-mail, display name) of the members whose role has `permission`.
pub async fn member_addresses_with_permission(
    conn: &mut AsyncPgConnection,
    project_id: i64,
    permission: &str,
) -> QueryResult<Vec<(i64, String, String)>> {
    use diesel::PgArrayExpressionMethods;
    project_members::table
        .inner_join(users::table)
        .inner_join(roles::table)
        .filter(project_members::project_id.eq(project_id))
        .filter(roles::permissions.contains(vec![permission.to_owned()]))
        .order(users::id.asc())
        .select((users::id, users::email, users::display_name))
        .load(conn)
        .await
}
