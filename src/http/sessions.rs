//! Sessions over REST. Changes go through the session's actor, exactly like websocket
//! commands, so they are ordered, committed before the answer, and fanned out live.

use super::extract::{path_id, ProjectAccess};
use super::input::{Json, Query};
use crate::actors::session;
use crate::db::{self, sessions::ListFilter};
use crate::domain::access::{Access, DataScope};
use crate::domain::conversation::{self, Applied, Author, NewPost};
use crate::domain::events::Event;
use crate::domain::history;
use crate::domain::messenger::outbound;
use crate::domain::reports;
use crate::domain::views::{MessageView, SessionView};
use crate::error::{AppError, AppResult, ErrorBody, NotFoundExt};
use crate::state::AppState;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// `ongoing` (not ended), `unassigned`, `assigned` or `ended`; `open` is accepted as
    /// another spelling of `ongoing` (the same vocabulary as the session-management reports).
    pub status: Option<String>,
    /// A user id, or `me`.
    pub assignee: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionPage {
    pub items: Vec<SessionView>,
    pub next_cursor: Option<String>,
}

fn parse_cursor(c: &str) -> AppResult<(DateTime<Utc>, i64)> {
    let bad = || AppError::validation("cursor is not valid");
    let (micros, id) = c.split_once('_').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let id: i64 = id.parse().map_err(|_| bad())?;
    Ok((DateTime::from_timestamp_micros(micros).ok_or_else(bad)?, id))
}

fn limit_of(limit: Option<i64>, default: i64, max: i64) -> AppResult<i64> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(AppError::validation(format!(
            "limit must be from 1 to {max}"
        ))),
    }
}

/// Sessions in the caller's data scope, newest activity first, paged by cursor.
#[utoipa::path(get, path = "/api/projects/{pid}/sessions", params(("pid" = i64, Path), ListQuery),
    responses((status = 200, body = SessionPage), (status = 400, body = ErrorBody)))]
#[get("/api/projects/{pid}/sessions")]
pub async fn list(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    q: Query<ListQuery>,
) -> AppResult<Json<SessionPage>> {
    let status = reports::status_filter(q.status.as_deref())?;
    let assignee_id = match q.assignee.as_deref() {
        None | Some("") => None,
        Some("me") => Some(pa.access.user_id),
        Some(n) => Some(
            n.parse::<i64>()
                .map_err(|_| AppError::validation("assignee must be a user id or \"me\""))?,
        ),
    };
    let limit = limit_of(q.limit, 50, 200)?;
    let filter = ListFilter {
        status,
        assignee_id,
        visible_to: (pa.access.scope == DataScope::Own).then_some(pa.access.user_id),
        after: q.cursor.as_deref().map(parse_cursor).transpose()?,
        limit,
    };
    let mut conn = st.pool.get().await?;
    let rows = db::sessions::list(&mut conn, pa.access.project_id, &filter).await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| {
            rows.last()
                .map(|(s, _, _)| format!("{}_{}", s.last_message_at.timestamp_micros(), s.id))
        })
        .flatten();
    let items = rows
        .iter()
        .map(|(s, name, note)| SessionView::new(s, name, note.as_deref()))
        .collect();
    Ok(Json(SessionPage { items, next_cursor }))
}

async fn visible_session(st: &AppState, pa: &ProjectAccess, sid: i64) -> AppResult<SessionView> {
    let mut conn = st.pool.get().await?;
    let s = db::sessions::find(&mut conn, sid)
        .await
        .or_not_found("session")?;
    pa.access.check_session(&s)?;
    let (name, note) = db::sessions::contact_names(&mut conn, s.contact_id).await?;
    Ok(SessionView::new(&s, &name, note.as_deref()))
}

#[utoipa::path(get, path = "/api/projects/{pid}/sessions/{sid}", params(("pid" = i64, Path), ("sid" = i64, Path)),
    responses((status = 200, body = SessionView), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/sessions/{sid}")]
pub async fn get(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<SessionView>> {
    let sid = path_id(&req, "sid")?;
    Ok(Json(visible_session(&st, &pa, sid).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct MessagesQuery {
    /// Messages after this sequence number, oldest first.
    pub after_seq: Option<i64>,
    /// Or: the messages just before this sequence number (scroll back), oldest first.
    pub before_seq: Option<i64>,
    /// 1 to 500, default 100.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MessagePage {
    pub items: Vec<MessageView>,
}

#[utoipa::path(get, path = "/api/projects/{pid}/sessions/{sid}/messages", params(("pid" = i64, Path), ("sid" = i64, Path), MessagesQuery),
    responses((status = 200, body = MessagePage), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/sessions/{sid}/messages")]
pub async fn messages(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    q: Query<MessagesQuery>,
) -> AppResult<Json<MessagePage>> {
    let sid = path_id(&req, "sid")?;
    visible_session(&st, &pa, sid).await?;
    let limit = limit_of(q.limit, 100, 500)?;
    let mut conn = st.pool.get().await?;
    let rows = match (q.after_seq, q.before_seq) {
        (Some(_), Some(_)) => {
            return Err(AppError::validation(
                "give after_seq or before_seq, not both",
            ))
        }
        (_, Some(before)) => db::messages::before(&mut conn, sid, before, limit).await?,
        (after, None) => db::messages::after(&mut conn, sid, after.unwrap_or(0), limit).await?,
    };
    let channel_id = db::sessions::find(&mut conn, sid)
        .await
        .or_not_found("session")?
        .channel_id;
    Ok(Json(MessagePage {
        items: history::with_delivery(&mut conn, channel_id, &rows).await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SendBody {
    /// Unique per message; a repeat returns the original and stores nothing.
    pub client_id: String,
    pub text: String,
    /// A Messenger message tag from the Page's allowed list, for a reply past the reply
    /// windows (`GET …/reply-window`); ignored for the web widget.
    #[serde(default)]
    pub tag: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Sent {
    pub message: MessageView,
    pub duplicate: bool,
}

/// Sends a change to the session's actor, once the session is known to exist and be in the
/// caller's scope (no actor is started for a made-up id).
async fn via_actor<M>(st: &AppState, access: &Access, sid: i64, msg: M) -> AppResult<Applied>
where
    M: actix::Message<Result = AppResult<Applied>> + Send + 'static,
    session::SessionActor: actix::Handler<M>,
{
    {
        let mut conn = st.pool.get().await?;
        conversation::visible_session(&mut conn, access, sid).await?;
    }
    st.sessions
        .session(sid)
        .send(msg)
        .await
        .unwrap_or_else(|e| Err(crate::actors::inbound::busy(e)))
}

/// Send an agent message (idempotent by `client_id`). 201 when stored, 200 for a repeat.
#[utoipa::path(post, path = "/api/projects/{pid}/sessions/{sid}/messages", params(("pid" = i64, Path), ("sid" = i64, Path)),
    request_body = SendBody, responses((status = 201, body = Sent), (status = 200, body = Sent), (status = 409, body = ErrorBody, description = "session_ended, or reply_window_closed (a Messenger reply no window allows; nothing stored)")))]
#[post("/api/projects/{pid}/sessions/{sid}/messages")]
pub async fn send(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    body: Json<SendBody>,
) -> AppResult<HttpResponse> {
    let sid = path_id(&req, "sid")?;
    let body = body.into_inner();
    let post = NewPost {
        tag: body.tag,
        ..NewPost::text(
            Author::Agent(pa.access.clone()),
            Some(body.client_id),
            body.text,
        )
    };
    let applied = via_actor(&st, &pa.access, sid, session::Post(post)).await?;
    let row = applied
        .message
        .as_ref()
        .ok_or_else(|| AppError::internal("no message"))?;
    let message = {
        let mut conn = st.pool.get().await?;
        history::with_delivery(
            &mut conn,
            applied.after.channel_id,
            std::slice::from_ref(row),
        )
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("no message"))?
    };
    let sent = Sent {
        message,
        duplicate: applied.duplicate,
    };
    Ok(if applied.duplicate {
        HttpResponse::Ok().json(sent)
    } else {
        HttpResponse::Created().json(sent)
    })
}

async fn view_of(st: &AppState, a: &Applied) -> AppResult<SessionView> {
    let mut conn = st.pool.get().await?;
    let (name, note) = db::sessions::contact_names(&mut conn, a.after.contact_id).await?;
    Ok(SessionView::new(&a.after, &name, note.as_deref()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AssignBody {
    /// A member of the project, or null to return the session to the queue.
    pub user_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/projects/{pid}/sessions/{sid}/assign", params(("pid" = i64, Path), ("sid" = i64, Path)),
    request_body = AssignBody, responses((status = 200, body = SessionView), (status = 400, body = ErrorBody)))]
#[post("/api/projects/{pid}/sessions/{sid}/assign")]
pub async fn assign(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    body: Json<AssignBody>,
) -> AppResult<Json<SessionView>> {
    let sid = path_id(&req, "sid")?;
    let a = via_actor(
        &st,
        &pa.access,
        sid,
        session::Assign {
            by: pa.access.clone(),
            to: body.user_id,
        },
    )
    .await?;
    Ok(Json(view_of(&st, &a).await?))
}

/// Assign the session to the caller.
#[utoipa::path(post, path = "/api/projects/{pid}/sessions/{sid}/take", params(("pid" = i64, Path), ("sid" = i64, Path)),
    responses((status = 200, body = SessionView)))]
#[post("/api/projects/{pid}/sessions/{sid}/take")]
pub async fn take(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<SessionView>> {
    let sid = path_id(&req, "sid")?;
    let me = pa.access.user_id;
    let a = via_actor(
        &st,
        &pa.access,
        sid,
        session::Assign {
            by: pa.access.clone(),
            to: Some(me),
        },
    )
    .await?;
    Ok(Json(view_of(&st, &a).await?))
}

#[utoipa::path(post, path = "/api/projects/{pid}/sessions/{sid}/end", params(("pid" = i64, Path), ("sid" = i64, Path)),
    responses((status = 200, body = SessionView), (status = 409, body = ErrorBody)))]
#[post("/api/projects/{pid}/sessions/{sid}/end")]
pub async fn end(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<SessionView>> {
    let sid = path_id(&req, "sid")?;
    let a = via_actor(
        &st,
        &pa.access,
        sid,
        session::End {
            by: pa.access.clone(),
        },
    )
    .await?;
    Ok(Json(view_of(&st, &a).await?))
}

/// Send a failed or unconfirmed Messenger message again. The reply window is decided anew (it
/// may refuse: `reply_window_closed`); the message is due at once.
#[utoipa::path(post, path = "/api/projects/{pid}/sessions/{sid}/messages/{message_id}/retry",
    params(("pid" = i64, Path), ("sid" = i64, Path), ("message_id" = i64, Path)),
    responses((status = 200, body = MessageView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "not failed or unconfirmed, or reply_window_closed")))]
#[post("/api/projects/{pid}/sessions/{sid}/messages/{message_id}/retry")]
pub async fn retry(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<MessageView>> {
    let sid = path_id(&req, "sid")?;
    let message_id = path_id(&req, "message_id")?;
    let mut conn = st.pool.get().await?;
    let (session, message, row) = outbound::retry(&mut conn, &pa.access, sid, message_id).await?;
    let view = MessageView::with_delivery(&message, Some(&row));
    if let Some(delivery) = view.delivery.clone() {
        st.app.events.dispatch(&[Event::MessageStatus {
            session,
            message_id,
            delivery,
        }]);
    }
    Ok(Json(view))
}
