//! E-mail alerts: the project's notification settings, a test e-mail, and the outbox as
//! admins see it. Rules live in `domain::alerts`.

use super::extract::{path_id, ProjectAccess};
use super::input::{Json, Query};
use crate::db::{self, enums::OutboxState};
use crate::domain::access::Permission;
use crate::domain::alerts::{self, NotificationPatch, NotificationSettings, OutboxView};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationSettingsView {
    /// Send an e-mail when a visitor waits longer than `wait_secs` for a human reply.
    pub email_enabled: bool,
    /// The waiting time in seconds (the console shows minutes).
    pub wait_secs: i64,
    /// Bot-hosted sessions alert too.
    pub include_bot_hosted: bool,
    /// Whether this server can send e-mail (SMTP configured); without it nothing is sent.
    pub email_configured: bool,
}

fn view(st: &AppState, s: NotificationSettings) -> NotificationSettingsView {
    NotificationSettingsView {
        email_enabled: s.email_enabled,
        wait_secs: s.wait_secs,
        include_bot_hosted: s.include_bot_hosted,
        email_configured: st.app.mail.configured,
    }
}

/// The project's e-mail alert settings (any member may read them).
#[utoipa::path(get, path = "/api/projects/{pid}/settings/notifications", params(("pid" = i64, Path)),
    responses((status = 200, body = NotificationSettingsView), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/settings/notifications")]
pub async fn get_settings(
    st: web::Data<AppState>,
    pa: ProjectAccess,
) -> AppResult<Json<NotificationSettingsView>> {
    let mut conn = st.pool.get().await?;
    let s = alerts::settings(&mut conn, pa.access.project_id).await?;
    Ok(Json(view(&st, s)))
}

/// Change the e-mail alert settings (absent fields stay); needs `project.manage`. All or
/// nothing: one invalid field (`validation`) changes nothing.
#[utoipa::path(patch, path = "/api/projects/{pid}/settings/notifications", params(("pid" = i64, Path)),
    request_body = NotificationPatch,
    responses((status = 200, body = NotificationSettingsView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
#[patch("/api/projects/{pid}/settings/notifications")]
pub async fn patch_settings(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    body: Json<NotificationPatch>,
) -> AppResult<Json<NotificationSettingsView>> {
    pa.access.require(Permission::ManageProject)?;
    let mut conn = st.pool.get().await?;
    let s = alerts::update_settings(&mut conn, pa.access.project_id, body.into_inner()).await?;
    Ok(Json(view(&st, s)))
}

/// Queue a test e-mail to the caller through the outbox; poll
/// `GET /api/projects/{pid}/email/outbox/{id}` for its state. Needs `project.manage`;
/// `email_not_configured` (409) when the server has no SMTP settings; `rate_limited` (429)
/// after 6 in a minute for the project.
#[utoipa::path(post, path = "/api/projects/{pid}/email/test", params(("pid" = i64, Path)),
    responses((status = 202, body = OutboxView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/api/projects/{pid}/email/test")]
pub async fn send_test(st: web::Data<AppState>, pa: ProjectAccess) -> AppResult<HttpResponse> {
    pa.access.require(Permission::ManageProject)?;
    st.limits.test_mails.check(&pa.access.project_id).await?;
    let mut conn = st.pool.get().await?;
    let row = alerts::enqueue_test(&mut conn, pa.access.project_id, &pa.user, &st.app.mail).await?;
    Ok(HttpResponse::Accepted().json(OutboxView::from(&row)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct OutboxQuery {
    /// `pending`, `sent` or `failed`; all when absent.
    pub state: Option<String>,
    /// Rows with a smaller id (the last id of the previous page).
    pub before_id: Option<i64>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OutboxPage {
    pub items: Vec<OutboxView>,
}

/// The project's e-mails, newest first (`?state=failed`: what could not be delivered, with
/// `last_error`). Needs `project.manage`.
#[utoipa::path(get, path = "/api/projects/{pid}/email/outbox", params(("pid" = i64, Path), OutboxQuery),
    responses((status = 200, body = OutboxPage), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
#[get("/api/projects/{pid}/email/outbox")]
pub async fn list_outbox(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    q: Query<OutboxQuery>,
) -> AppResult<Json<OutboxPage>> {
    pa.access.require(Permission::ManageProject)?;
    let state = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            OutboxState::parse(s)
                .ok_or_else(|| AppError::validation("state must be pending, sent or failed"))?,
        ),
    };
    let limit = match q.limit {
        None => 50,
        Some(n) if (1..=200).contains(&n) => n,
        Some(_) => return Err(AppError::validation("limit must be from 1 to 200")),
    };
    let mut conn = st.pool.get().await?;
    let rows = db::outbox::list(&mut conn, pa.access.project_id, state, q.before_id, limit).await?;
    Ok(Json(OutboxPage {
        items: rows.iter().map(OutboxView::from).collect(),
    }))
}

/// One e-mail's state (`pending`, `sent`, `failed` with `last_error`). Needs `project.manage`.
#[utoipa::path(get, path = "/api/projects/{pid}/email/outbox/{id}", params(("pid" = i64, Path), ("id" = i64, Path)),
    responses((status = 200, body = OutboxView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/email/outbox/{id}")]
pub async fn get_outbox(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<OutboxView>> {
    pa.access.require(Permission::ManageProject)?;
    let id = path_id(&req, "id")?;
    let mut conn = st.pool.get().await?;
    let row = db::outbox::find(&mut conn, pa.access.project_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("e-mail"))?;
    Ok(Json(OutboxView::from(&row)))
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn the_openapi_document_describes_the_email_shapes() {
        let spec = serde_json::to_value(crate::http::ApiDoc::openapi()).unwrap();
        let schemas = &spec["components"]["schemas"];
        for name in [
            "NotificationSettingsView",
            "NotificationPatch",
            "OutboxView",
            "OutboxPage",
        ] {
            assert!(schemas[name].is_object(), "{name} missing");
        }
        assert!(
            spec["paths"]["/api/projects/{pid}/email/outbox"]["get"]["parameters"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["name"] == "state")),
            "the state filter is documented"
        );
    }
}
