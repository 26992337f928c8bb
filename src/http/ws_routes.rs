//! The websocket upgrade endpoints: they authenticate and resolve who is connecting, then hand
//! the socket to `crate::ws`.

use super::extract::AuthUser;
use super::input::Query;
use crate::db;
use crate::domain::access;
use crate::domain::visitors;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::ws;
use actix_web::{get, web, FromRequest, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct AgentQuery {
    pub project: i64,
}

/// A page on another site must not open an agent socket with the agent's cookie.
fn same_origin(req: &HttpRequest) -> bool {
    let Some(origin) = req.headers().get("origin").and_then(|o| o.to_str().ok()) else {
        return true; // not a browser
    };
    let host = req.connection_info().host().to_owned();
    origin
        .split("://")
        .nth(1)
        .is_some_and(|o| o.trim_end_matches('/') == host)
}

#[get("/ws/agent")]
pub async fn agent(
    st: web::Data<AppState>,
    req: HttpRequest,
    stream: web::Payload,
    q: Query<AgentQuery>,
) -> AppResult<HttpResponse> {
    if !same_origin(&req) {
        return Err(AppError::forbidden(
            "cross-origin agent sockets are not allowed",
        ));
    }
    let auth = AuthUser::extract(&req).await?;
    // Read before the access is loaded: a revocation committed after the load bumps it, and
    // the connection then refuses to register (`Registry::register_agent_checked`).
    let epoch = st.hub.access_epoch(q.project, auth.user.id);
    let access = {
        let mut conn = st.pool.get().await?;
        access::load(&mut conn, q.project, auth.user.id).await?
    };
    ws::agent::start(&req, stream, access, epoch, st.ws_shared()).map_err(AppError::internal)
}

#[derive(Deserialize)]
pub struct VisitorQuery {
    pub key: String,
    pub token: Option<String>,
}

/// A visitor who has not written yet costs no row: the upgrade reads the channel (and, with a
/// token, looks for its contact), and only a known contact's open session.
#[get("/ws/visitor")]
pub async fn visitor(
    st: web::Data<AppState>,
    req: HttpRequest,
    stream: web::Payload,
    q: Query<VisitorQuery>,
) -> AppResult<HttpResponse> {
    let ip = st.limits.client_ip(&req);
    let mut conn = st.pool.get().await?;
    let id = visitors::identify(
        &mut conn,
        &st.app.secrets,
        &q.key,
        q.token.as_deref(),
        async || st.limits.new_visitors.check(&ip).await,
    )
    .await?;
    let open = match &id.visitor {
        visitors::Visitor::Contact(c) => db::sessions::open_for_contact(&mut conn, c.id).await?,
        visitors::Visitor::Pending(_) => None,
    };
    drop(conn);
    let start = ws::visitor::VisitorStart {
        visitor: id.visitor,
        token: id.token,
        session_id: open.as_ref().map(|s| s.id),
        last_seq: open.as_ref().map_or(0, |s| s.last_seq),
    };
    ws::visitor::start(&req, stream, start, st.ws_shared()).map_err(AppError::internal)
}
