//! Contact sync of a Messenger channel (`channels.manage`): start one, see the latest, cancel
//! it. The work is a durable job (`actors::jobs`); progress also arrives as live `job` frames.

use super::extract::{path_id, ProjectAccess};
use super::input::Json;
use crate::db::{self, enums::ChannelKind, enums::JobKind};
use crate::domain::access::Permission;
use crate::domain::events::Event;
use crate::domain::messenger::sync::{SyncParams, SyncScope};
use crate::domain::views::JobView;
use crate::error::{AppError, AppResult, ErrorBody, NotFoundExt};
use crate::state::AppState;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSync {
    /// `recent`: the 100 newest conversations; `all`: every one (needs `confirm: true`).
    pub scope: SyncScope,
    #[serde(default)]
    pub confirm: bool,
}

async fn messenger_channel(
    conn: &mut diesel_async::AsyncPgConnection,
    project_id: i64,
    channel_id: i64,
) -> AppResult<()> {
    let channel = db::channels::find(conn, channel_id)
        .await
        .or_not_found("channel")?;
    if channel.project_id != project_id {
        return Err(AppError::not_found("channel"));
    }
    if channel.kind != ChannelKind::Messenger {
        return Err(AppError::validation(
            "only a Messenger channel has contacts to sync",
        ));
    }
    Ok(())
}

fn announce(st: &AppState, view: &JobView, project_id: i64) {
    st.app.events.dispatch(&[Event::JobProgress {
        project_id,
        job: view.clone(),
    }]);
}

/// Start importing the Page's conversations (contacts and their 20 latest messages). 202 with
/// the new job; 200 with the running one when a sync of this channel is already under way.
#[utoipa::path(post, path = "/api/projects/{pid}/channels/{cid}/sync",
    params(("pid" = i64, Path), ("cid" = i64, Path)), request_body = StartSync,
    responses((status = 202, body = JobView), (status = 200, body = JobView),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/api/projects/{pid}/channels/{cid}/sync")]
pub async fn start(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    body: Json<StartSync>,
) -> AppResult<HttpResponse> {
    pa.access.require(Permission::ManageChannels)?;
    let cid = path_id(&req, "cid")?;
    if body.scope == SyncScope::All && !body.confirm {
        return Err(AppError::validation(
            "syncing all conversations can take long (25 conversations every half second): \
             send \"confirm\": true to start it",
        ));
    }
    let project_id = pa.access.project_id;
    let mut conn = st.pool.get().await?;
    messenger_channel(&mut conn, project_id, cid).await?;
    let params =
        serde_json::to_value(SyncParams { scope: body.scope }).map_err(AppError::internal)?;
    let (row, created) =
        db::jobs::insert_or_active(&mut conn, project_id, cid, JobKind::ContactSync, &params)
            .await?;
    let view = JobView::from(&row);
    if created {
        announce(&st, &view, project_id);
        crate::actors::jobs::nudge();
        Ok(HttpResponse::Accepted().json(view))
    } else {
        Ok(HttpResponse::Ok().json(view))
    }
}

/// The channel's latest contact sync, whatever its state.
#[utoipa::path(get, path = "/api/projects/{pid}/channels/{cid}/sync",
    params(("pid" = i64, Path), ("cid" = i64, Path)),
    responses((status = 200, body = JobView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/channels/{cid}/sync")]
pub async fn latest(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<JobView>> {
    pa.access.require(Permission::ManageChannels)?;
    let cid = path_id(&req, "cid")?;
    let mut conn = st.pool.get().await?;
    messenger_channel(&mut conn, pa.access.project_id, cid).await?;
    let row =
        db::jobs::latest_for_channel(&mut conn, pa.access.project_id, cid, JobKind::ContactSync)
            .await?
            .ok_or_else(|| AppError::not_found("sync"))?;
    Ok(Json(JobView::from(&row)))
}

/// Ask a job to stop: a queued one is cancelled at once, a running one before its next page
/// (what it imported stays). A job that has ended is returned unchanged.
#[utoipa::path(post, path = "/api/projects/{pid}/jobs/{jid}/cancel",
    params(("pid" = i64, Path), ("jid" = i64, Path)),
    responses((status = 200, body = JobView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/api/projects/{pid}/jobs/{jid}/cancel")]
pub async fn cancel(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<JobView>> {
    pa.access.require(Permission::ManageChannels)?;
    let jid = path_id(&req, "jid")?;
    let project_id = pa.access.project_id;
    let mut conn = st.pool.get().await?;
    let row = db::jobs::request_cancel(&mut conn, project_id, jid)
        .await
        .or_not_found("job")?;
    let view = JobView::from(&row);
    announce(&st, &view, project_id);
    Ok(Json(view))
}
