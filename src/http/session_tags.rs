//! Session tags: the project's list (any member reads; `session_tags.manage` edits) and the
//! tags of one session (any member who can see it; live `session_tags` frame).

use super::extract::{path_id, ProjectAccess};
use super::input::Json;
use crate::db::{self, session_tags::SessionTag};
use crate::domain::session_tags as domain;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[utoipa::path(get, path = "/api/projects/{pid}/session-tags", params(("pid" = i64, Path)),
    responses((status = 200, body = [SessionTag])))]
#[get("/api/projects/{pid}/session-tags")]
pub async fn list(st: web::Data<AppState>, pa: ProjectAccess) -> AppResult<Json<Vec<SessionTag>>> {
    let mut conn = st.pool.get().await?;
    Ok(Json(
        db::session_tags::list(&mut conn, pa.access.project_id).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTag {
    /// 1 to 32 characters, unique in the project.
    pub name: String,
    /// `#rrggbb`, default `#888888`.
    pub color: Option<String>,
}

/// Create a tag; needs `session_tags.manage`.
#[utoipa::path(post, path = "/api/projects/{pid}/session-tags", params(("pid" = i64, Path)), request_body = NewTag,
    responses((status = 201, body = SessionTag), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/api/projects/{pid}/session-tags")]
pub async fn create(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    body: Json<NewTag>,
) -> AppResult<HttpResponse> {
    let mut conn = st.pool.get().await?;
    let tag = domain::create(&mut conn, &pa.access, &body.name, body.color.as_deref()).await?;
    Ok(HttpResponse::Created().json(tag))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagPatch {
    pub name: Option<String>,
    pub color: Option<String>,
}

/// Rename or recolour a tag; needs `session_tags.manage`.
#[utoipa::path(patch, path = "/api/projects/{pid}/session-tags/{tid}", params(("pid" = i64, Path), ("tid" = i64, Path)),
    request_body = TagPatch,
    responses((status = 200, body = SessionTag), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[patch("/api/projects/{pid}/session-tags/{tid}")]
pub async fn update(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    body: Json<TagPatch>,
) -> AppResult<Json<SessionTag>> {
    let tid = path_id(&req, "tid")?;
    let mut conn = st.pool.get().await?;
    Ok(Json(
        domain::update(
            &mut conn,
            &pa.access,
            tid,
            body.name.as_deref(),
            body.color.as_deref(),
        )
        .await?,
    ))
}

/// Delete a tag (it is removed from every session); needs `session_tags.manage`.
#[utoipa::path(delete, path = "/api/projects/{pid}/session-tags/{tid}", params(("pid" = i64, Path), ("tid" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/api/projects/{pid}/session-tags/{tid}")]
pub async fn delete(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let tid = path_id(&req, "tid")?;
    let mut conn = st.pool.get().await?;
    domain::delete(&mut conn, &pa.access, tid).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionTagIds {
    /// The session's tags after the call (at most 20), ids of this project's tags.
    pub tag_ids: Vec<i64>,
}

/// Replace a session's tags; any member who can see the session. Agents who see it get a
/// `session_tags` frame.
#[utoipa::path(put, path = "/api/projects/{pid}/sessions/{sid}/tags", params(("pid" = i64, Path), ("sid" = i64, Path)),
    request_body = SessionTagIds,
    responses((status = 200, body = [SessionTag]), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[put("/api/projects/{pid}/sessions/{sid}/tags")]
pub async fn set_for_session(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    body: Json<SessionTagIds>,
) -> AppResult<Json<Vec<SessionTag>>> {
    let sid = path_id(&req, "sid")?;
    let mut conn = st.pool.get().await?;
    let (session, tags) =
        domain::set_for_session(&mut conn, &pa.access, sid, &body.tag_ids).await?;
    st.app
        .events
        .dispatch(&[domain::tags_changed(&session, &tags)]);
    Ok(Json(tags))
}

/// A session's tags; any member who can see the session.
#[utoipa::path(get, path = "/api/projects/{pid}/sessions/{sid}/tags", params(("pid" = i64, Path), ("sid" = i64, Path)),
    responses((status = 200, body = [SessionTag]), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/sessions/{sid}/tags")]
pub async fn of_session(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<Vec<SessionTag>>> {
    let sid = path_id(&req, "sid")?;
    let mut conn = st.pool.get().await?;
    Ok(Json(domain::of_session(&mut conn, &pa.access, sid).await?))
}
