//! Meta's webhook for Messenger (`/webhooks/messenger`, outside `/api`: Meta calls it, no
//! login). `GET` answers the subscription check; `POST` checks the signature over the raw
//! bytes, stores the body once per channel it concerns and answers 200 at once — the channel
//! actors process it after (`actors::messenger`). Nothing here calls the Graph API.

use super::input::Query;
use crate::db;
use crate::db::enums::ChannelKind;
use crate::domain::messenger::config::MessengerConfig;
use crate::domain::messenger::webhook::{same_secret, signature_ok, PageIds};
use crate::error::{AppError, AppResult, ErrorBody, ErrorCode};
use crate::state::AppState;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;

/// Meta's bodies are small; this bounds what one unauthenticated request can make us buffer.
pub const MAX_BODY: usize = 1024 * 1024;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct Verification {
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    pub mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// Meta's subscription check: `hub.mode=subscribe` with the verify token of a connected Page
/// is answered 200 with `hub.challenge` as the plain-text body; anything else 403.
#[utoipa::path(get, path = "/webhooks/messenger", params(Verification),
    responses((status = 200, body = String, content_type = "text/plain"), (status = 403, body = ErrorBody)))]
#[get("/webhooks/messenger")]
pub async fn verify(st: web::Data<AppState>, q: Query<Verification>) -> AppResult<HttpResponse> {
    let refused = || AppError::forbidden("the verify token matches no Messenger channel");
    let (Some("subscribe"), Some(token), Some(challenge)) = (
        q.mode.as_deref(),
        q.verify_token.as_deref(),
        q.challenge.as_deref(),
    ) else {
        return Err(refused());
    };
    let mut conn = st.pool.get().await?;
    let channels = db::channels::all_of_kind(&mut conn, ChannelKind::Messenger).await?;
    let matches = channels.iter().any(|c| {
        MessengerConfig::from_json(&c.config)
            .verify_token(&st.app.secrets)
            .is_ok_and(|t| same_secret(&t, token))
    });
    if !matches {
        return Err(refused());
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(challenge.to_owned()))
}

/// A webhook POST. 401 `invalid_signature`, with nothing stored, unless every Page named in
/// the body is connected and `X-Hub-Signature-256` is the HMAC-SHA256 of the raw body under
/// each one's app secret; 413 over 1 MiB. Else one `webhook_events` row per channel and 200.
#[utoipa::path(post, path = "/webhooks/messenger", request_body = Object,
    responses((status = 200, body = String, content_type = "text/plain"),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)))]
#[post("/webhooks/messenger")]
pub async fn receive(
    st: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let body = match read_body(&req, payload).await? {
        Some(b) => b,
        None => {
            let e = AppError::new(ErrorCode::FrameTooLarge, "the body is larger than 1 MiB");
            return Ok(HttpResponse::PayloadTooLarge().json(e.body()));
        }
    };
    let signature = req
        .headers()
        .get("x-hub-signature-256")
        .and_then(|h| h.to_str().ok());
    let refuse = |why: &str| {
        tracing::warn!(reason = why, "messenger webhook refused");
        AppError::new(
            ErrorCode::InvalidSignature,
            format!("webhook refused: {why}"),
        )
    };
    if signature.is_none() {
        return Err(refuse("no X-Hub-Signature-256 header"));
    }
    let page_ids = PageIds::parse(&body).ok_or_else(|| refuse("not a webhook envelope"))?;
    if page_ids.is_empty() {
        return Err(refuse("no Page in the body"));
    }
    let mut conn = st.pool.get().await?;
    let channels =
        db::channels::by_external_ids(&mut conn, ChannelKind::Messenger, &page_ids).await?;
    if channels.len() != page_ids.len() {
        return Err(refuse("a Page in the body is not connected"));
    }
    for ch in &channels {
        let secret = MessengerConfig::from_json(&ch.config)
            .app_secret(&st.app.secrets)
            .map_err(|_| refuse("the channel has no usable app secret"))?;
        if !signature_ok(&secret, &body, signature) {
            return Err(refuse("the signature does not match"));
        }
    }
    // Stored as text: Meta's bodies are ASCII (escaped unicode); one that is not UTF-8, or
    // holds a NUL, cannot be a Messenger event.
    let text = std::str::from_utf8(&body)
        .ok()
        .filter(|t| !t.contains('\0'))
        .ok_or_else(|| AppError::validation("the body is not UTF-8 text"))?;
    let ids: Vec<i64> = channels.iter().map(|c| c.id).collect();
    db::webhook_events::insert(&mut conn, &ids, text).await?;
    drop(conn);
    for id in ids {
        st.messenger.nudge(id);
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("EVENT_RECEIVED"))
}

/// The raw bytes (the signature is over them, not over re-serialised JSON); `None` past
/// `MAX_BODY`.
async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> AppResult<Option<Vec<u8>>> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Ok(None);
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(4096).min(MAX_BODY));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| AppError::validation(format!("cannot read the body: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}
