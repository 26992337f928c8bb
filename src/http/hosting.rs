//! Robot hosting over REST: one session, a selection, every assigned session in the caller's
//! scope, and the project's settings. Every switch goes through the session's actor (rules in
//! `domain::hosting`), so it is ordered with the session's other changes and fanned out live.

use super::extract::{path_id, ProjectAccess};
use super::input::Json;
use crate::actors::session;
use crate::db::{self, enums::HostingReason};
use crate::domain::access::{Access, Permission};
use crate::domain::conversation::{self, Applied};
use crate::domain::hosting::{self, HostingPatch, HostingSettings};
use crate::domain::views::SessionView;
use crate::error::{AppError, AppResult, ErrorBody, ErrorCode, NotFoundExt};
use crate::state::AppState;
use actix_web::{get, patch, post, put, web, HttpRequest};
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The most sessions one bulk switch takes.
pub const MAX_BULK: usize = 10_000;
/// Session actors switched at once by a bulk request: enough to keep the pool busy, few enough
/// that one request does not starve the others of connections.
const CONCURRENCY: usize = 64;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostingBody {
    pub hosted: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkHostingBody {
    /// 1 to 10,000 session ids (repeats count once).
    pub session_ids: Vec<i64>,
    pub hosted: bool,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct BulkOutcome {
    /// Switched now.
    pub changed: usize,
    /// Already in that state: nothing recorded.
    pub unchanged: usize,
    /// Ended: not switched.
    pub ended: usize,
}

async fn switch_one(
    st: &AppState,
    by: &Access,
    sid: i64,
    hosted: bool,
    reason: HostingReason,
) -> AppResult<Option<Applied>> {
    st.sessions
        .session(sid)
        .send(session::SetHosting {
            by: by.clone(),
            hosted,
            reason,
        })
        .await
        .unwrap_or_else(|e| Err(crate::actors::inbound::busy(e)))
}

/// Switches the sessions (all known to exist and be in scope) through their actors, a bounded
/// number at a time.
async fn switch_many(
    st: &AppState,
    by: &Access,
    ids: Vec<i64>,
    hosted: bool,
    reason: HostingReason,
) -> AppResult<BulkOutcome> {
    let mut results = stream::iter(ids)
        .map(|sid| switch_one(st, by, sid, hosted, reason))
        .buffer_unordered(CONCURRENCY);
    let mut out = BulkOutcome::default();
    while let Some(r) = results.next().await {
        match r {
            Ok(Some(_)) => out.changed += 1,
            Ok(None) => out.unchanged += 1,
            // Ended since it was checked.
            Err(e) if e.code == ErrorCode::SessionEnded => out.ended += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Switch one session's robot hosting. The same state as now changes and records nothing.
#[utoipa::path(put, path = "/api/projects/{pid}/sessions/{sid}/hosting", params(("pid" = i64, Path), ("sid" = i64, Path)),
    request_body = HostingBody,
    responses((status = 200, body = SessionView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "session_ended")))]
#[put("/api/projects/{pid}/sessions/{sid}/hosting")]
pub async fn switch(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    body: Json<HostingBody>,
) -> AppResult<Json<SessionView>> {
    let sid = path_id(&req, "sid")?;
    {
        let mut conn = st.pool.get().await?;
        conversation::visible_session(&mut conn, &pa.access, sid).await?;
    }
    let applied = switch_one(&st, &pa.access, sid, body.hosted, HostingReason::Switch).await?;
    let mut conn = st.pool.get().await?;
    let row = match applied {
        Some(a) => a.after,
        None => db::sessions::find(&mut conn, sid)
            .await
            .or_not_found("session")?,
    };
    let (name, note) = db::sessions::contact_names(&mut conn, row.contact_id).await?;
    Ok(Json(SessionView::new(&row, &name, note.as_deref())))
}

/// Switch a selection of sessions on or off. Every id must be a session of the project in the
/// caller's data scope, else 404 names the first that is not and nothing is switched.
#[utoipa::path(post, path = "/api/projects/{pid}/sessions/hosting", params(("pid" = i64, Path)),
    request_body = BulkHostingBody,
    responses((status = 200, body = BulkOutcome), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
#[post("/api/projects/{pid}/sessions/hosting")]
pub async fn bulk(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    body: Json<BulkHostingBody>,
) -> AppResult<Json<BulkOutcome>> {
    let body = body.into_inner();
    let mut seen = HashSet::new();
    let ids: Vec<i64> = body
        .session_ids
        .into_iter()
        .filter(|id| seen.insert(*id))
        .collect();
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(AppError::validation(format!(
            "session_ids must hold 1 to {MAX_BULK} ids"
        )));
    }
    let found = {
        let mut conn = st.pool.get().await?;
        db::sessions::scope_of(&mut conn, pa.access.project_id, &ids).await?
    };
    let visible: std::collections::HashMap<i64, bool> = found
        .iter()
        .filter(|(_, status, assignee)| pa.access.can_see(*status, *assignee))
        .map(|(id, status, _)| (*id, status.is_ended()))
        .collect();
    if let Some(missing) = ids.iter().find(|id| !visible.contains_key(id)) {
        return Err(AppError::not_found(&format!("session {missing}")));
    }
    let (ended, open): (Vec<i64>, Vec<i64>) = ids.into_iter().partition(|id| visible[id]);
    let mut out = switch_many(&st, &pa.access, open, body.hosted, HostingReason::Bulk).await?;
    out.ended += ended.len();
    Ok(Json(out))
}

/// Switch every assigned session in the caller's data scope (own scope: those assigned to the
/// caller).
#[utoipa::path(post, path = "/api/projects/{pid}/sessions/hosting/assigned", params(("pid" = i64, Path)),
    request_body = HostingBody, responses((status = 200, body = BulkOutcome)))]
#[post("/api/projects/{pid}/sessions/hosting/assigned")]
pub async fn all_assigned(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    body: Json<HostingBody>,
) -> AppResult<Json<BulkOutcome>> {
    let ids = {
        let mut conn = st.pool.get().await?;
        db::sessions::assigned_in_scope(&mut conn, pa.access.project_id, pa.access.report_scope())
            .await?
    };
    let out = switch_many(
        &st,
        &pa.access,
        ids,
        body.hosted,
        HostingReason::AllAssigned,
    )
    .await?;
    Ok(Json(out))
}

/// The project's robot-hosting settings (any member may read them).
#[utoipa::path(get, path = "/api/projects/{pid}/settings/hosting", params(("pid" = i64, Path)),
    responses((status = 200, body = HostingSettings), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/settings/hosting")]
pub async fn get_settings(
    st: web::Data<AppState>,
    pa: ProjectAccess,
) -> AppResult<Json<HostingSettings>> {
    let mut conn = st.pool.get().await?;
    Ok(Json(
        hosting::settings(&mut conn, pa.access.project_id).await?,
    ))
}

/// Change the robot-hosting settings (absent fields stay); needs `project.manage`.
#[utoipa::path(patch, path = "/api/projects/{pid}/settings/hosting", params(("pid" = i64, Path)),
    request_body = HostingPatch,
    responses((status = 200, body = HostingSettings), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
#[patch("/api/projects/{pid}/settings/hosting")]
pub async fn patch_settings(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    body: Json<HostingPatch>,
) -> AppResult<Json<HostingSettings>> {
    pa.access.require(Permission::ManageProject)?;
    let mut conn = st.pool.get().await?;
    let s = hosting::update_settings(&mut conn, pa.access.project_id, body.into_inner()).await?;
    Ok(Json(s))
}
