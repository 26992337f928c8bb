//! Messenger channels: connecting a Page and changing its settings (`channels.manage`). The
//! secrets in the body are sealed before they are stored and never answered back.

use super::extract::{path_id, ProjectAccess};
use super::input::Json;
use crate::domain::access::Permission;
use crate::domain::messenger::config::{self, ConnectMessenger, PatchMessenger};
use crate::domain::views::ChannelView;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;
use actix_web::{patch, post, web, HttpRequest, HttpResponse};

/// Connect a Facebook Page. The token is checked with the Graph API (`GET /{page_id}`): a
/// token it refuses (190) is `page_token_invalid`; when the Graph API does not answer, the
/// channel is saved and its `health_detail` says the token could not be checked. A Page
/// connected already (in any project) is `page_already_connected` (409).
#[utoipa::path(post, path = "/api/projects/{pid}/channels/messenger", params(("pid" = i64, Path)),
    request_body = ConnectMessenger,
    responses((status = 201, body = ChannelView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/api/projects/{pid}/channels/messenger")]
pub async fn connect(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    body: Json<ConnectMessenger>,
) -> AppResult<HttpResponse> {
    pa.access.require(Permission::ManageChannels)?;
    let mut conn = st.pool.get().await?;
    let ctx = &st.app;
    let ch = config::connect(
        &mut conn,
        &ctx.secrets,
        &ctx.graph,
        pa.access.project_id,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(ChannelView::new(&ch, &st.config.public_url)))
}

/// Change a Messenger channel: any subset of the connect fields; a secret left out stays as
/// it is. A new token or Page id is checked like on connect.
#[utoipa::path(patch, path = "/api/projects/{pid}/channels/{cid}/messenger",
    params(("pid" = i64, Path), ("cid" = i64, Path)), request_body = PatchMessenger,
    responses((status = 200, body = ChannelView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[patch("/api/projects/{pid}/channels/{cid}/messenger")]
pub async fn update(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    body: Json<PatchMessenger>,
) -> AppResult<Json<ChannelView>> {
    pa.access.require(Permission::ManageChannels)?;
    let cid = path_id(&req, "cid")?;
    let mut conn = st.pool.get().await?;
    let ctx = &st.app;
    let ch = config::update(
        &mut conn,
        &ctx.secrets,
        &ctx.graph,
        pa.access.project_id,
        cid,
        body.into_inner(),
    )
    .await?;
    Ok(Json(ChannelView::new(&ch, &st.config.public_url)))
}
