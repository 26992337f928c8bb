//! Login, logout, the current user, API tokens.

use super::extract::{AuthUser, SESSION_COOKIE};
use super::input::Json;
use crate::db::{self, projects::Project, projects::Role, users::User};
use crate::domain::auth;
use crate::error::{AppError, AppResult, ErrorBody, ErrorCode};
use crate::state::AppState;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

const COOKIE_DAYS: i64 = 30;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeProject {
    pub project: Project,
    pub role: Role,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: User,
    pub projects: Vec<MeProject>,
}

fn wrong_credentials() -> AppError {
    AppError::new(ErrorCode::InvalidCredentials, "wrong e-mail or password")
}

/// Log in; sets the HttpOnly `sb_session` cookie.
#[utoipa::path(post, path = "/api/auth/login", request_body = LoginBody,
    responses((status = 200, body = Me), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/api/auth/login")]
pub async fn login(
    st: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginBody>,
) -> AppResult<HttpResponse> {
    st.limits.logins.check(&st.limits.client_ip(&req)).await?;
    let mut conn = st.pool.get().await?;
    let user = db::users::find_by_email(&mut conn, body.email.trim()).await?;
    // The pool connection is not held while the password is checked.
    drop(conn);
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let user = match user {
        Some(u) if auth::verify_password_async(body.password.clone(), stored).await => u,
        None => {
            auth::verify_password_async(body.password.clone(), None).await;
            return Err(wrong_credentials());
        }
        Some(_) => return Err(wrong_credentials()),
    };
    let mut conn = st.pool.get().await?;
    let (token, hash) = auth::new_token();
    db::users::insert_token(
        &mut conn,
        user.id,
        &hash,
        "cookie",
        "console",
        Some(Utc::now() + Duration::days(COOKIE_DAYS)),
    )
    .await?;
    let body = me_of(&mut conn, user).await?;
    let cookie = Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(st.config.public_url.starts_with("https://"))
        .max_age(CookieDuration::days(COOKIE_DAYS))
        .finish();
    Ok(HttpResponse::Ok().cookie(cookie).json(body))
}

/// Log out: ends the token used for this request.
#[utoipa::path(post, path = "/api/auth/logout", responses((status = 204)))]
#[post("/api/auth/logout")]
pub async fn logout(st: web::Data<AppState>, auth: AuthUser) -> AppResult<HttpResponse> {
    let mut conn = st.pool.get().await?;
    db::users::delete_token(&mut conn, &auth::hash_token(&auth.token)).await?;
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// The logged-in user and the projects they belong to, with their role in each.
#[utoipa::path(get, path = "/api/me", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
#[get("/api/me")]
pub async fn me(st: web::Data<AppState>, auth: AuthUser) -> AppResult<Json<Me>> {
    let mut conn = st.pool.get().await?;
    Ok(Json(me_of(&mut conn, auth.user).await?))
}

async fn me_of(conn: &mut diesel_async::AsyncPgConnection, user: User) -> AppResult<Me> {
    let projects = db::projects::list_for_user(conn, user.id)
        .await?
        .into_iter()
        .map(|(project, role)| MeProject { project, role })
        .collect();
    Ok(Me { user, projects })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenBody {
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NewToken {
    /// Shown once; only its hash is stored.
    pub token: String,
}

/// Create an API bearer token for the current user.
#[utoipa::path(post, path = "/api/auth/tokens", request_body = TokenBody, responses((status = 201, body = NewToken)))]
#[post("/api/auth/tokens")]
pub async fn create_token(
    st: web::Data<AppState>,
    auth: AuthUser,
    body: Json<TokenBody>,
) -> AppResult<HttpResponse> {
    let name = body.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(AppError::validation(
            "token name must have 1 to 100 characters",
        ));
    }
    let mut conn = st.pool.get().await?;
    let (token, hash) = auth::new_token();
    db::users::insert_token(&mut conn, auth.user.id, &hash, "api", name, None).await?;
    Ok(HttpResponse::Created().json(NewToken { token }))
}
