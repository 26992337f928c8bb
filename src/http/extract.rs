//! Authentication extractors. `AuthUser` accepts the console's session cookie or an API bearer
//! token; `ProjectAccess` adds the member's rights in the project named by the `{pid}` path
//! segment (a non-member gets 404, so other tenants' ids are not confirmed).

use crate::db::{self, users::User};
use crate::domain::access::{self, Access};
use crate::domain::auth;
use crate::error::{AppError, ErrorCode};
use crate::state::AppState;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

pub const SESSION_COOKIE: &str = "sb_session";

pub struct AuthUser {
    pub user: User,
    /// The raw token this request used (to end it on logout).
    pub token: String,
    pub via_cookie: bool,
}

pub struct ProjectAccess {
    pub user: User,
    pub access: Access,
}

fn token_of(req: &HttpRequest) -> Option<(String, bool)> {
    if let Some(h) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        if let Some(t) = h.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
            return Some((t.trim().to_owned(), false));
        }
    }
    req.cookie(SESSION_COOKIE)
        .map(|c| (c.value().to_owned(), true))
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal("application state missing"))
}

async fn authenticate(req: HttpRequest) -> Result<AuthUser, AppError> {
    let (token, via_cookie) = token_of(&req).ok_or_else(|| {
        AppError::new(ErrorCode::Unauthenticated, "log in or send a bearer token")
    })?;
    let st = state(&req)?;
    let mut conn = st.pool.get().await?;
    match db::users::user_for_token(&mut conn, &auth::hash_token(&token)).await? {
        Some(user) => Ok(AuthUser {
            user,
            token,
            via_cookie,
        }),
        None => Err(AppError::new(
            ErrorCode::Unauthenticated,
            "the session or token is not valid",
        )),
    }
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

impl FromRequest for ProjectAccess {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let pid = path_id(&req, "pid").map_err(|_| AppError::not_found("project"))?;
            project_access(req, pid).await
        })
    }
}

/// The caller's access to project `pid` (also used where the id is not in the path).
pub async fn project_access(req: HttpRequest, pid: i64) -> Result<ProjectAccess, AppError> {
    let auth = authenticate(req.clone()).await?;
    let st = state(&req)?;
    let mut conn = st.pool.get().await?;
    let access = access::load(&mut conn, pid, auth.user.id).await?;
    Ok(ProjectAccess {
        user: auth.user,
        access,
    })
}

/// Parses a `{pid}`-style path id; a non-number is a 404 like a missing record.
pub fn path_id(req: &HttpRequest, name: &str) -> Result<i64, AppError> {
    req.match_info()
        .get(name)
        .and_then(|p| p.parse::<i64>().ok())
        .ok_or_else(|| AppError::not_found(name))
}
