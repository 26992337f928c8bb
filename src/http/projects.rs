//! Projects, their settings and live statistics, channels, roles and members.

use super::extract::{AuthUser, ProjectAccess};
use super::input::Json;
use crate::actors::stats::{GetProjectStats, ProjectStats};
use crate::db::enums::ChannelKind;
use crate::db::{self, projects::MemberRow, projects::Project, projects::Role};
use crate::domain::access::Permission;
use crate::domain::projects as domain;
use crate::domain::settings::{self, ProjectSettings};
use crate::domain::views::ChannelView;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;
use actix_web::{get, patch, post, web, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewProject {
    pub name: String,
}

/// Create a project; the caller becomes its owner.
#[utoipa::path(post, path = "/api/projects", request_body = NewProject, responses((status = 201, body = Project)))]
#[post("/api/projects")]
pub async fn create(
    st: web::Data<AppState>,
    auth: AuthUser,
    body: Json<NewProject>,
) -> AppResult<HttpResponse> {
    let mut conn = st.pool.get().await?;
    let project = domain::create_project(&mut conn, &body.name, auth.user.id).await?;
    Ok(HttpResponse::Created().json(project))
}

#[utoipa::path(get, path = "/api/projects/{pid}", params(("pid" = i64, Path)),
    responses((status = 200, body = Project), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}")]
pub async fn get(st: web::Data<AppState>, pa: ProjectAccess) -> AppResult<Json<Project>> {
    let mut conn = st.pool.get().await?;
    Ok(Json(
        db::projects::find(&mut conn, pa.access.project_id).await?,
    ))
}

/// Change settings (e.g. `{"auto_end_after_secs": 3600}`: end a session after that many
/// seconds without messages, 0 for never); the keys given replace theirs, the others stay.
/// Answers all the settings. Needs `project.manage`.
#[utoipa::path(patch, path = "/api/projects/{pid}/settings", params(("pid" = i64, Path)),
    request_body = Object, responses((status = 200, body = Object)))]
#[patch("/api/projects/{pid}/settings")]
pub async fn patch_settings(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    body: Json<serde_json::Value>,
) -> AppResult<Json<ProjectSettings>> {
    pa.access.require(Permission::ManageProject)?;
    let mut conn = st.pool.get().await?;
    Ok(Json(
        settings::patch(&mut conn, pa.access.project_id, &body).await?,
    ))
}

/// Live session counters of the project (from the statistics supervisor).
#[utoipa::path(get, path = "/api/projects/{pid}/stats", params(("pid" = i64, Path)), responses((status = 200, body = ProjectStats)))]
#[get("/api/projects/{pid}/stats")]
pub async fn stats(st: web::Data<AppState>, pa: ProjectAccess) -> AppResult<Json<ProjectStats>> {
    let s = st
        .stats
        .send(GetProjectStats {
            project_id: pa.access.project_id,
        })
        .await
        .map_err(AppError::internal)?;
    Ok(Json(s))
}

/// The project's channels, without their (write-only) configuration.
#[utoipa::path(get, path = "/api/projects/{pid}/channels", params(("pid" = i64, Path)), responses((status = 200, body = [ChannelView])))]
#[get("/api/projects/{pid}/channels")]
pub async fn list_channels(
    st: web::Data<AppState>,
    pa: ProjectAccess,
) -> AppResult<Json<Vec<ChannelView>>> {
    let mut conn = st.pool.get().await?;
    let channels = db::channels::list(&mut conn, pa.access.project_id).await?;
    let url = &st.config.public_url;
    Ok(Json(
        channels.iter().map(|c| ChannelView::new(c, url)).collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewChannel {
    /// Only `web` for now.
    pub kind: ChannelKind,
    pub name: String,
}

/// Create a channel; needs `channels.manage`.
#[utoipa::path(post, path = "/api/projects/{pid}/channels", params(("pid" = i64, Path)), request_body = NewChannel,
    responses((status = 201, body = ChannelView), (status = 403, body = ErrorBody)))]
#[post("/api/projects/{pid}/channels")]
pub async fn create_channel(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    body: Json<NewChannel>,
) -> AppResult<HttpResponse> {
    pa.access.require(Permission::ManageChannels)?;
    if body.kind != ChannelKind::Web {
        return Err(AppError::validation("kind must be \"web\""));
    }
    let mut conn = st.pool.get().await?;
    let ch = domain::create_web_channel(&mut conn, pa.access.project_id, &body.name).await?;
    Ok(HttpResponse::Created().json(ChannelView::new(&ch, &st.config.public_url)))
}

#[utoipa::path(get, path = "/api/projects/{pid}/roles", params(("pid" = i64, Path)), responses((status = 200, body = [Role])))]
#[get("/api/projects/{pid}/roles")]
pub async fn list_roles(st: web::Data<AppState>, pa: ProjectAccess) -> AppResult<Json<Vec<Role>>> {
    let mut conn = st.pool.get().await?;
    Ok(Json(
        db::projects::list_roles(&mut conn, pa.access.project_id).await?,
    ))
}

#[utoipa::path(get, path = "/api/projects/{pid}/members", params(("pid" = i64, Path)), responses((status = 200, body = [MemberRow])))]
#[get("/api/projects/{pid}/members")]
pub async fn list_members(
    st: web::Data<AppState>,
    pa: ProjectAccess,
) -> AppResult<Json<Vec<MemberRow>>> {
    let mut conn = st.pool.get().await?;
    Ok(Json(
        db::projects::list_members(&mut conn, pa.access.project_id).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewMember {
    pub email: String,
    #[serde(default)]
    pub display_name: String,
    /// Required when the e-mail has no account yet.
    pub password: Option<String>,
    /// A role name of the project: `owner`, `admin`, `agent` or a custom one.
    pub role: String,
}

/// Add a member (creating the account if needed); needs `team.manage` (and `project.manage`
/// for the owner role or a role holding it).
#[utoipa::path(post, path = "/api/projects/{pid}/members", params(("pid" = i64, Path)), request_body = NewMember,
    responses((status = 201, body = crate::db::users::User), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/api/projects/{pid}/members")]
pub async fn add_member(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    body: Json<NewMember>,
) -> AppResult<HttpResponse> {
    let mut conn = st.pool.get().await?;
    let user = crate::domain::team::add_member(
        &mut conn,
        &pa.access,
        &body.email,
        &body.display_name,
        body.password.as_deref(),
        &body.role,
    )
    .await?;
    Ok(HttpResponse::Created().json(user))
}
