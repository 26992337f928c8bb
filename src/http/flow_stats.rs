//! Automation analytics over REST: the flow list with figures (from the statistics actor), the
//! drill-down of triggered visitors and its CSV, and a version's funnel (SQL). Every route
//! needs `automation.view` or `automation.manage` (rules in `domain::automation::analytics`).

use super::extract::{path_id, ProjectAccess};
use super::input::{Json, Query};
use crate::actors::stats::GetFlowFigures;
use crate::domain::access::Permission;
use crate::domain::automation::analytics::{
    self as domain, FlowStatsList, Funnel, VisitorPage, VisitorParams,
};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;
use actix_web::{get, http::header, web, HttpRequest, HttpResponse};
use chrono::Utc;
use futures_util::StreamExt;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct RangeQuery {
    /// RFC 3339 or YYYY-MM-DD (that day's UTC midnight), widened to its day's start; default:
    /// 30 days before `to`.
    pub from: Option<String>,
    /// Exclusive; RFC 3339 or YYYY-MM-DD, widened to the next UTC midnight unless it is one;
    /// default: the end of today (UTC).
    pub to: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct VisitorsQuery {
    /// As in `/automation/stats`.
    pub from: Option<String>,
    pub to: Option<String>,
    /// `completed`, `participated` or `not_participated` (a visitor's best run).
    pub status: Option<String>,
    pub channel_id: Option<i64>,
    /// `next` of the previous page.
    pub after: Option<String>,
    /// 1 to 200, default 50 (the CSV ignores it).
    pub limit: Option<i64>,
}

impl VisitorsQuery {
    fn params(&self) -> VisitorParams<'_> {
        VisitorParams {
            from: self.from.as_deref(),
            to: self.to.as_deref(),
            status: self.status.as_deref(),
            channel_id: self.channel_id,
        }
    }
}

/// Every flow of the project with its figures over whole UTC days (zeros included).
#[utoipa::path(get, path = "/api/projects/{pid}/automation/stats",
    params(("pid" = i64, Path), RangeQuery),
    responses((status = 200, body = FlowStatsList), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/automation/stats")]
pub async fn stats(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    q: Query<RangeQuery>,
) -> AppResult<Json<FlowStatsList>> {
    pa.access.require(Permission::ViewAutomation)?;
    let range = domain::day_range(q.from.as_deref(), q.to.as_deref(), Utc::now())?;
    let mut conn = st.pool.get().await?;
    let flows = domain::flows_of(&mut conn, &pa.access).await?;
    let live = st
        .stats
        .send(GetFlowFigures {
            flow_ids: flows.iter().map(|f| f.id).collect(),
            range,
        })
        .await
        .map_err(AppError::internal)?;
    let figures = match live {
        Some(f) => f,
        // Not loaded yet (just started, or the database was down then): count from the rows.
        None => {
            let mut f = HashMap::new();
            for flow in &flows {
                f.insert(flow.id, domain::recount(&mut conn, flow.id, &range).await?);
            }
            f
        }
    };
    Ok(Json(domain::flow_list(flows, &figures, range)))
}

/// The flow's triggered visitors, one row each, latest trigger first (in the caller's data
/// scope: own scope sees visitors of runs in sessions assigned to them).
#[utoipa::path(get, path = "/api/projects/{pid}/flows/{fid}/visitors",
    params(("pid" = i64, Path), ("fid" = i64, Path), VisitorsQuery),
    responses((status = 200, body = VisitorPage), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/flows/{fid}/visitors")]
pub async fn visitors(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    q: Query<VisitorsQuery>,
) -> AppResult<Json<VisitorPage>> {
    let fid = path_id(&req, "fid")?;
    let mut conn = st.pool.get().await?;
    let query = domain::visitor_query(&mut conn, &pa.access, fid, &q.params(), Utc::now()).await?;
    Ok(Json(
        domain::visitors(&mut conn, &query, q.after.as_deref(), q.limit).await?,
    ))
}

/// The drill-down as CSV: every matching visitor (no paging), streamed, as an attachment.
#[utoipa::path(get, path = "/api/projects/{pid}/flows/{fid}/visitors.csv",
    params(("pid" = i64, Path), ("fid" = i64, Path), VisitorsQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/flows/{fid}/visitors.csv")]
pub async fn visitors_csv(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    q: Query<VisitorsQuery>,
) -> AppResult<HttpResponse> {
    let fid = path_id(&req, "fid")?;
    let now = Utc::now();
    let query = {
        let mut conn = st.pool.get().await?;
        domain::visitor_query(&mut conn, &pa.access, fid, &q.params(), now).await?
    };
    let name = format!("flow-{fid}-visitors-{}.csv", now.format("%Y%m%d-%H%M%S"));
    let body =
        domain::csv_stream(st.pool.clone(), query, now).map(|chunk| chunk.map(web::Bytes::from));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

/// A published version's funnel: per step the runs that reached it, wait there now or stopped
/// there; per edge the transitions through it. Counted from the recorded transitions.
#[utoipa::path(get, path = "/api/projects/{pid}/flows/{fid}/versions/{n}/funnel",
    params(("pid" = i64, Path), ("fid" = i64, Path), ("n" = i32, Path)),
    responses((status = 200, body = Funnel), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/flows/{fid}/versions/{n}/funnel")]
pub async fn funnel(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<Funnel>> {
    let fid = path_id(&req, "fid")?;
    let n = i32::try_from(path_id(&req, "n")?).map_err(|_| AppError::not_found("version"))?;
    let mut conn = st.pool.get().await?;
    Ok(Json(domain::funnel(&mut conn, &pa.access, fid, n).await?))
}
