//! Session management over REST: records, live summary and CSV export, under one filter and
//! the caller's data scope (domain::reports).

use super::extract::ProjectAccess;
use super::input::{Json, Query};
use crate::domain::reports::{self, RawFilter, RecordPage, Summary};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;
use actix_web::{get, http::header, web, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct FilterQuery {
    /// Reception time from (inclusive), RFC 3339.
    pub received_from: Option<String>,
    /// Reception time to (exclusive), RFC 3339.
    pub received_to: Option<String>,
    /// The receptionist (assignee): a user id, or `me`.
    pub receptionist: Option<String>,
    /// `ongoing` (not ended), `unassigned`, `assigned` or `ended`; `open` is accepted as
    /// another spelling of `ongoing` (the same vocabulary as the session list).
    pub status: Option<String>,
    /// A channel id.
    pub channel: Option<i64>,
    /// A session tag id.
    pub tag: Option<i64>,
}

impl FilterQuery {
    fn raw(&self) -> RawFilter<'_> {
        RawFilter {
            received_from: self.received_from.as_deref(),
            received_to: self.received_to.as_deref(),
            receptionist: self.receptionist.as_deref(),
            status: self.status.as_deref(),
            channel: self.channel,
            tag: self.tag,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

/// Session records, newest reception first (sessions never received last).
#[utoipa::path(get, path = "/api/projects/{pid}/reports/sessions",
    params(("pid" = i64, Path), FilterQuery, PageQuery),
    responses((status = 200, body = RecordPage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/reports/sessions")]
pub async fn records(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    f: Query<FilterQuery>,
    p: Query<PageQuery>,
) -> AppResult<Json<RecordPage>> {
    let filter = reports::filter_for(&pa.access, &f.raw())?;
    let limit = match p.limit {
        None => 50,
        Some(n) if (1..=200).contains(&n) => n,
        Some(_) => return Err(AppError::validation("limit must be from 1 to 200")),
    };
    let page = reports::records(
        &st.pool,
        pa.access.project_id,
        &filter,
        p.cursor.as_deref(),
        limit,
    )
    .await?;
    Ok(Json(page))
}

/// Live counts under the filter: ongoing (not ended), ended and total.
#[utoipa::path(get, path = "/api/projects/{pid}/reports/sessions/summary",
    params(("pid" = i64, Path), FilterQuery),
    responses((status = 200, body = Summary), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/reports/sessions/summary")]
pub async fn summary(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    f: Query<FilterQuery>,
) -> AppResult<Json<Summary>> {
    let filter = reports::filter_for(&pa.access, &f.raw())?;
    Ok(Json(
        reports::summary(&st.pool, pa.access.project_id, &filter).await?,
    ))
}

/// The records as CSV (all pages, streamed), as an attachment.
#[utoipa::path(get, path = "/api/projects/{pid}/reports/sessions.csv",
    params(("pid" = i64, Path), FilterQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/reports/sessions.csv")]
pub async fn csv(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    f: Query<FilterQuery>,
) -> AppResult<HttpResponse> {
    let filter = reports::filter_for(&pa.access, &f.raw())?;
    let name = format!(
        "sessions-{}-{}.csv",
        pa.access.project_id,
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    );
    let body = reports::csv_stream(st.pool.clone(), pa.access.project_id, filter)
        .map(|chunk| chunk.map(web::Bytes::from));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}
