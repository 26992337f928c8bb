//! A session's reply window, as the console's composer shows it (Messenger: time left in the
//! 24 h window, the HUMAN_AGENT period, tags, or the refusal; the web widget: always open).
//! The same rules refuse a send (`domain::messenger::window`).

use super::extract::{path_id, ProjectAccess};
use super::input::Json;
use crate::domain::messenger::outbound::{self, ReplyWindowView};
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;
use actix_web::{get, web, HttpRequest};

#[utoipa::path(get, path = "/api/projects/{pid}/sessions/{sid}/reply-window",
    params(("pid" = i64, Path), ("sid" = i64, Path)),
    responses((status = 200, body = ReplyWindowView), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/sessions/{sid}/reply-window")]
pub async fn get(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<ReplyWindowView>> {
    let sid = path_id(&req, "sid")?;
    let mut conn = st.pool.get().await?;
    Ok(Json(
        outbound::reply_window(&mut conn, &pa.access, sid).await?,
    ))
}
