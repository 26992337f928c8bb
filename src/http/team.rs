//! Team permissions: members' roles and removal, custom roles. Rules live in `domain::team`;
//! after each change the affected members' live agent connections are revoked.

use super::extract::{path_id, ProjectAccess};
use super::input::Json;
use crate::db::projects::Role;
use crate::domain::team::{self, RoleEdit};
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;
use actix_web::{delete, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    pub role_id: i64,
}

/// Give a member another role; needs `team.manage` (and `project.manage` to grant or revoke
/// owner). The last owner cannot be demoted (`conflict`).
#[utoipa::path(patch, path = "/api/projects/{pid}/members/{uid}", params(("pid" = i64, Path), ("uid" = i64, Path)),
    request_body = MemberPatch,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[patch("/api/projects/{pid}/members/{uid}")]
pub async fn set_member_role(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    body: Json<MemberPatch>,
) -> AppResult<HttpResponse> {
    let uid = path_id(&req, "uid")?;
    let mut conn = st.pool.get().await?;
    let user = team::set_member_role(&mut conn, &pa.access, uid, body.role_id).await?;
    st.app
        .events
        .dispatch(&[team::revoked(pa.access.project_id, &[user])]);
    Ok(HttpResponse::NoContent().finish())
}

/// Remove a member; needs `team.manage` (and `project.manage` for an owner). The last owner
/// cannot be removed (`conflict`).
#[utoipa::path(delete, path = "/api/projects/{pid}/members/{uid}", params(("pid" = i64, Path), ("uid" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
#[delete("/api/projects/{pid}/members/{uid}")]
pub async fn remove_member(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let uid = path_id(&req, "uid")?;
    let mut conn = st.pool.get().await?;
    let user = team::remove_member(&mut conn, &pa.access, uid).await?;
    st.app
        .events
        .dispatch(&[team::revoked(pa.access.project_id, &[user])]);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    pub name: String,
    /// Names from `project.manage`, `team.manage`, `channels.manage`, `automation.manage`,
    /// `automation.view`, `contacts.manage`, `session_tags.manage`.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// `own` or `all`.
    pub data_scope: String,
}

/// Create a custom role; needs `team.manage` (and `project.manage` to include it).
#[utoipa::path(post, path = "/api/projects/{pid}/roles", params(("pid" = i64, Path)), request_body = NewRole,
    responses((status = 201, body = Role), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
#[post("/api/projects/{pid}/roles")]
pub async fn create_role(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    body: Json<NewRole>,
) -> AppResult<HttpResponse> {
    let mut conn = st.pool.get().await?;
    let role = team::create_role(
        &mut conn,
        &pa.access,
        &body.name,
        &body.permissions,
        &body.data_scope,
    )
    .await?;
    Ok(HttpResponse::Created().json(role))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePatch {
    pub name: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub data_scope: Option<String>,
}

/// Edit a role; needs `team.manage`. The owner role cannot be edited; builtin roles keep their
/// names. Members holding the role reconnect their agent sockets with the new access.
#[utoipa::path(patch, path = "/api/projects/{pid}/roles/{rid}", params(("pid" = i64, Path), ("rid" = i64, Path)),
    request_body = RolePatch,
    responses((status = 200, body = Role), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[patch("/api/projects/{pid}/roles/{rid}")]
pub async fn update_role(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    body: Json<RolePatch>,
) -> AppResult<Json<Role>> {
    let rid = path_id(&req, "rid")?;
    let edit = RoleEdit {
        name: body.name.as_deref(),
        permissions: body.permissions.as_deref(),
        data_scope: body.data_scope.as_deref(),
    };
    let mut conn = st.pool.get().await?;
    let (role, members) = team::update_role(&mut conn, &pa.access, rid, edit).await?;
    st.app
        .events
        .dispatch(&[team::revoked(pa.access.project_id, &members)]);
    Ok(Json(role))
}

/// Delete a custom role no member holds (`conflict` when in use); needs `team.manage`.
#[utoipa::path(delete, path = "/api/projects/{pid}/roles/{rid}", params(("pid" = i64, Path), ("rid" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
#[delete("/api/projects/{pid}/roles/{rid}")]
pub async fn delete_role(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let rid = path_id(&req, "rid")?;
    let mut conn = st.pool.get().await?;
    team::delete_role(&mut conn, &pa.access, rid).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn the_openapi_document_describes_contacts_tags_preferences_and_team_shapes() {
        let spec = serde_json::to_value(crate::http::ApiDoc::openapi()).unwrap();
        let schemas = &spec["components"]["schemas"];
        for name in [
            "ContactPatch",
            "ChangePage",
            "ContactChange",
            "SessionTag",
            "NewTag",
            "TagPatch",
            "SessionTagIds",
            "Preferences",
            "MemberPatch",
            "NewRole",
            "RolePatch",
        ] {
            assert!(schemas[name].is_object(), "{name} missing");
        }
        assert!(
            spec["paths"]["/api/projects/{pid}/contacts"]["get"]["parameters"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["name"] == "note_name")),
            "the note_name filter is documented"
        );
    }
}
