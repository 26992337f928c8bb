//! The caller's own settings in a project (chat-list preferences).

use super::extract::ProjectAccess;
use super::input::Json;
use crate::domain::preferences::{self, Preferences};
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;
use actix_web::{get, patch, web};

#[utoipa::path(get, path = "/api/projects/{pid}/me/preferences", params(("pid" = i64, Path)),
    responses((status = 200, body = Preferences)))]
#[get("/api/projects/{pid}/me/preferences")]
pub async fn get_preferences(
    st: web::Data<AppState>,
    pa: ProjectAccess,
) -> AppResult<Json<Preferences>> {
    let mut conn = st.pool.get().await?;
    Ok(Json(preferences::get(&mut conn, &pa.access).await?))
}

/// Change the caller's own chat-list settings: `{"show_visitor_labels": bool,
/// "note_name_first": bool}` (either or both; other keys or types are refused).
#[utoipa::path(patch, path = "/api/projects/{pid}/me/preferences", params(("pid" = i64, Path)),
    request_body = Object, responses((status = 200, body = Preferences), (status = 400, body = ErrorBody)))]
#[patch("/api/projects/{pid}/me/preferences")]
pub async fn patch_preferences(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    body: Json<serde_json::Value>,
) -> AppResult<Json<Preferences>> {
    let mut conn = st.pool.get().await?;
    Ok(Json(
        preferences::patch(&mut conn, &pa.access, &body).await?,
    ))
}
