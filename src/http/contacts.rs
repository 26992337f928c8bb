//! Contacts (read side; editing arrives with the customer-info column).

use super::extract::{path_id, ProjectAccess};
use crate::db::{self, contacts::Contact};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;
use actix_web::{get, web, HttpRequest};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ContactQuery {
    /// Matches name or note name (substring, case-insensitive).
    pub q: Option<String>,
    /// Contacts with a smaller id (the previous page's `next_before`).
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ContactPage {
    pub items: Vec<Contact>,
    pub next_before: Option<i64>,
}

#[utoipa::path(get, path = "/api/projects/{pid}/contacts", params(("pid" = i64, Path), ContactQuery),
    responses((status = 200, body = ContactPage)))]
#[get("/api/projects/{pid}/contacts")]
pub async fn list(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    q: web::Query<ContactQuery>,
) -> AppResult<web::Json<ContactPage>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::validation("limit must be from 1 to 200"));
    }
    let mut conn = st.pool.get().await?;
    let items = db::contacts::list(
        &mut conn,
        pa.access.project_id,
        q.q.as_deref(),
        q.before,
        limit,
    )
    .await?;
    let next_before = (items.len() as i64 == limit)
        .then(|| items.last().map(|c| c.id))
        .flatten();
    Ok(web::Json(ContactPage { items, next_before }))
}

#[utoipa::path(get, path = "/api/projects/{pid}/contacts/{cid}", params(("pid" = i64, Path), ("cid" = i64, Path)),
    responses((status = 200, body = Contact), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/contacts/{cid}")]
pub async fn get(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<web::Json<Contact>> {
    let cid = path_id(&req, "cid")?;
    let mut conn = st.pool.get().await?;
    let c = db::contacts::find(&mut conn, pa.access.project_id, cid)
        .await
        .map_err(|_| AppError::not_found("contact"))?;
    Ok(web::Json(c))
}
