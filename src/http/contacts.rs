//! Contacts: the list and one contact, customer-info edits (`PATCH`, with audit trail and a
//! live `contact` frame) and the edit history.

use super::extract::{path_id, ProjectAccess};
use super::input::{Json, Query};
use crate::db::{self, contact_changes::ContactChange, contacts::Contact};
use crate::domain::contacts::{self as domain, ContactPatch};
use crate::error::{AppError, AppResult, ErrorBody, NotFoundExt};
use crate::state::AppState;
use actix_web::{get, patch, web, HttpRequest};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ContactQuery {
    /// Matches name or note name (substring, case-insensitive).
    pub q: Option<String>,
    /// Matches note name only (substring, case-insensitive).
    pub note_name: Option<String>,
    /// Contacts with a smaller id (the previous page's `next_before`).
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ContactPage {
    pub items: Vec<Contact>,
    pub next_before: Option<i64>,
}

/// Newest first. A member with data scope "own" and without `contacts.manage` sees the contacts
/// with a session assigned to it or waiting unassigned, like its chat list.
#[utoipa::path(get, path = "/api/projects/{pid}/contacts", params(("pid" = i64, Path), ContactQuery),
    responses((status = 200, body = ContactPage)))]
#[get("/api/projects/{pid}/contacts")]
pub async fn list(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    q: Query<ContactQuery>,
) -> AppResult<Json<ContactPage>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::validation("limit must be from 1 to 200"));
    }
    let mut conn = st.pool.get().await?;
    let filter = db::contacts::ContactFilter {
        query: q.q.as_deref(),
        note_name: q.note_name.as_deref(),
        before_id: q.before,
        limit,
        seen_by: pa.access.contact_scope(),
    };
    let items = db::contacts::search(&mut conn, pa.access.project_id, &filter).await?;
    let next_before = (items.len() as i64 == limit)
        .then(|| items.last().map(|c| c.id))
        .flatten();
    Ok(Json(ContactPage { items, next_before }))
}

#[utoipa::path(get, path = "/api/projects/{pid}/contacts/{cid}", params(("pid" = i64, Path), ("cid" = i64, Path)),
    responses((status = 200, body = Contact), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/contacts/{cid}")]
pub async fn get(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
) -> AppResult<Json<Contact>> {
    let cid = path_id(&req, "cid")?;
    let mut conn = st.pool.get().await?;
    let c = db::contacts::find(&mut conn, pa.access.project_id, cid)
        .await
        .or_not_found("contact")?;
    pa.access
        .check_contact(&db::contacts::session_states(&mut conn, cid).await?)?;
    Ok(Json(c))
}

/// Edit customer info: note name, phone, e-mail, labels — all fields or none. Needs
/// `contacts.manage`, or a session of the contact in the caller's data scope. Every changed
/// field is recorded in the contact's history; agents who see the contact get a `contact` frame.
#[utoipa::path(patch, path = "/api/projects/{pid}/contacts/{cid}", params(("pid" = i64, Path), ("cid" = i64, Path)),
    request_body = ContactPatch,
    responses((status = 200, body = Contact), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
#[patch("/api/projects/{pid}/contacts/{cid}")]
pub async fn update(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    body: Json<ContactPatch>,
) -> AppResult<Json<Contact>> {
    let cid = path_id(&req, "cid")?;
    let mut conn = st.pool.get().await?;
    let edited = domain::edit(&mut conn, &pa.access, cid, body.into_inner()).await?;
    st.app.events.dispatch(&edited.events());
    Ok(Json(edited.contact))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ChangesQuery {
    /// Changes with a smaller id (the previous page's `next_before`).
    pub before: Option<i64>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChangePage {
    pub items: Vec<ContactChange>,
    pub next_before: Option<i64>,
}

/// The contact's edit history, newest first. Readable by whoever may read the contact.
#[utoipa::path(get, path = "/api/projects/{pid}/contacts/{cid}/changes",
    params(("pid" = i64, Path), ("cid" = i64, Path), ChangesQuery),
    responses((status = 200, body = ChangePage), (status = 404, body = ErrorBody)))]
#[get("/api/projects/{pid}/contacts/{cid}/changes")]
pub async fn changes(
    st: web::Data<AppState>,
    pa: ProjectAccess,
    req: HttpRequest,
    q: Query<ChangesQuery>,
) -> AppResult<Json<ChangePage>> {
    let cid = path_id(&req, "cid")?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::validation("limit must be from 1 to 200"));
    }
    let mut conn = st.pool.get().await?;
    db::contacts::find(&mut conn, pa.access.project_id, cid)
        .await
        .or_not_found("contact")?;
    pa.access
        .check_contact(&db::contacts::session_states(&mut conn, cid).await?)?;
    let items = db::contact_changes::list(&mut conn, cid, q.before, limit).await?;
    let next_before = (items.len() as i64 == limit)
        .then(|| items.last().map(|c| c.id))
        .flatten();
    Ok(Json(ChangePage { items, next_before }))
}
