//! Automation flows over REST: the list, the editor's draft, publishing, enabling, versions,
//! test runs and the runs' records. Every route needs `automation.manage` (rules in
//! `domain::automation::flows`).

use super::extract::{path_id, ProjectAccess};
use super::input::{Json, Query};
use crate::domain::automation::document::FlowDocument;
use crate::domain::automation::flows::{
    self as domain, FlowDetail, FlowSummary, PreviewView, RunStepView, RunView, VersionView,
};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFlowBody {
    /// 1 to 100 characters.
    pub name: String,
    /// The flow document; default: a first-message flow, one message step, then an End step.
    #[schema(value_type = Option<FlowDocument>)]
    pub draft: Option<Value>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowEditBody {
    pub name: Option<String>,
    /// Saved when it parses, even with problems (listed in the answer's `problems`).
    #[schema(value_type = Option<FlowDocument>)]
    pub draft: Option<Value>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowSwitchBody {
    pub enabled: bool,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct RunsQuery {
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

fn fid(req: &HttpRequest) -> AppResult<i64> {
    path_id(req, "fid")
}

#[utoipa::path(get, path = "/api/projects/{pid}/flows", params(("pid" = i64, Path)),
    responses((status = 200, body = [FlowSummary]), (status = 403, body = ErrorBody)))]
#[get("/api/projects/{pid}/flows")]
pub async fn list(st: web::Data<AppState>, pa: ProjectAccess) -> AppResult<Json<Vec<FlowSummary>>> {
    let mut conn = st.pool.get().await?;
    Ok(Json(domain::list(&mut conn, &pa.access).await?))
}

/// Create a flow (disabled, not published).
#[utoipa::path(post, path = "/api/projects/{pid}/flows", params(("pid" = i64, Path)),
    request_body = NewFlowBody,
    responses((status = 201, body = FlowDetail), (status = 400, body = ErrorBody,
        description = "validation, or invalid_flow: a draft that does not parse"),
        (status = 403, body = ErrorBody)))]
#[post("/api/projects/{pid}/flows")]
pub async fn create(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    body: Json<NewFlowBody>,
) -> AppResult<HttpResponse> {
    let mut conn = st.pool.get().await?;
    let flow = domain::create(&mut conn, &pa.access, &body.name, body.draft.as_ref()).await?;
    Ok(HttpResponse::Created().json(flow))
}

#[utoipa::path(get, path = "/api/projects/{pid}/flows/{fid}", params(("pid" = i64, Path), ("fid" = i64, Path)),
    responses((status = 200, body = FlowDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/flows/{fid}")]
pub async fn get(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<FlowDetail>> {
    let id = fid(&req)?;
    let mut conn = st.pool.get().await?;
    Ok(Json(domain::get(&mut conn, &pa.access, id).await?))
}

/// Save the name and/or the draft. A draft that parses is saved even with problems; one that
/// does not (unknown step type: `invalid_flow`; bad shape: `validation`) is not saved.
#[utoipa::path(put, path = "/api/projects/{pid}/flows/{fid}", params(("pid" = i64, Path), ("fid" = i64, Path)),
    request_body = FlowEditBody,
    responses((status = 200, body = FlowDetail), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[put("/api/projects/{pid}/flows/{fid}")]
pub async fn save(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    body: Json<FlowEditBody>,
) -> AppResult<Json<FlowDetail>> {
    let id = fid(&req)?;
    let mut conn = st.pool.get().await?;
    Ok(Json(
        domain::save(
            &mut conn,
            &pa.access,
            id,
            body.name.as_deref(),
            body.draft.as_ref(),
        )
        .await?,
    ))
}

/// Enable or disable the flow; a flow never published cannot be enabled (409 `conflict`).
#[utoipa::path(patch, path = "/api/projects/{pid}/flows/{fid}", params(("pid" = i64, Path), ("fid" = i64, Path)),
    request_body = FlowSwitchBody,
    responses((status = 200, body = FlowDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[patch("/api/projects/{pid}/flows/{fid}")]
pub async fn switch(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    body: Json<FlowSwitchBody>,
) -> AppResult<Json<FlowDetail>> {
    let id = fid(&req)?;
    let mut conn = st.pool.get().await?;
    Ok(Json(
        domain::set_enabled(&mut conn, &pa.access, id, body.enabled).await?,
    ))
}

/// Delete the flow, its versions and its runs' records.
#[utoipa::path(delete, path = "/api/projects/{pid}/flows/{fid}", params(("pid" = i64, Path), ("fid" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/api/projects/{pid}/flows/{fid}")]
pub async fn delete(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let id = fid(&req)?;
    let mut conn = st.pool.get().await?;
    domain::delete(&mut conn, &pa.access, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Publish the draft as the next immutable version; a draft with problems is refused
/// (`invalid_flow`, `error.details.problems`) and nothing is published.
#[utoipa::path(post, path = "/api/projects/{pid}/flows/{fid}/publish", params(("pid" = i64, Path), ("fid" = i64, Path)),
    responses((status = 200, body = FlowDetail), (status = 400, body = ErrorBody, description = "invalid_flow"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/api/projects/{pid}/flows/{fid}/publish")]
pub async fn publish(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<FlowDetail>> {
    let id = fid(&req)?;
    let mut conn = st.pool.get().await?;
    Ok(Json(domain::publish(&mut conn, &pa.access, id).await?))
}

/// One published version, with its document.
#[utoipa::path(get, path = "/api/projects/{pid}/flows/{fid}/versions/{n}",
    params(("pid" = i64, Path), ("fid" = i64, Path), ("n" = i32, Path)),
    responses((status = 200, body = VersionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/flows/{fid}/versions/{n}")]
pub async fn version(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<VersionView>> {
    let id = fid(&req)?;
    let n = i32::try_from(path_id(&req, "n")?).map_err(|_| AppError::not_found("version"))?;
    let mut conn = st.pool.get().await?;
    Ok(Json(domain::version(&mut conn, &pa.access, id, n).await?))
}

/// Start a test run of the draft (it must have no problems): a preview version and a new
/// visitor to chat as, at `/ws/visitor?key=<widget_key>&token=<visitor_token>`.
#[utoipa::path(post, path = "/api/projects/{pid}/flows/{fid}/preview", params(("pid" = i64, Path), ("fid" = i64, Path)),
    responses((status = 201, body = PreviewView), (status = 400, body = ErrorBody, description = "invalid_flow"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/api/projects/{pid}/flows/{fid}/preview")]
pub async fn preview(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let id = fid(&req)?;
    let mut conn = st.pool.get().await?;
    let p = domain::preview(&mut conn, &pa.access, id).await?;
    Ok(HttpResponse::Created().json(p))
}

/// The flow's runs, newest first (test runs included, `preview: true`).
#[utoipa::path(get, path = "/api/projects/{pid}/flows/{fid}/runs",
    params(("pid" = i64, Path), ("fid" = i64, Path), RunsQuery),
    responses((status = 200, body = [RunView]), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/flows/{fid}/runs")]
pub async fn runs(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    q: Query<RunsQuery>,
) -> AppResult<Json<Vec<RunView>>> {
    let id = fid(&req)?;
    let mut conn = st.pool.get().await?;
    Ok(Json(
        domain::runs(&mut conn, &pa.access, id, q.limit).await?,
    ))
}

/// Every step a run entered, in order.
#[utoipa::path(get, path = "/api/projects/{pid}/runs/{rid}/steps", params(("pid" = i64, Path), ("rid" = i64, Path)),
    responses((status = 200, body = [RunStepView]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/runs/{rid}/steps")]
pub async fn run_steps(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<Vec<RunStepView>>> {
    let rid = path_id(&req, "rid")?;
    let mut conn = st.pool.get().await?;
    Ok(Json(domain::run_steps(&mut conn, &pa.access, rid).await?))
}
