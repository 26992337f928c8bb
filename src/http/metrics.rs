//! `GET /metrics`: the Prometheus scrape (`crate::metrics`). Who may read it is
//! `Config::metrics` (`--metrics`, `--metrics-token`): not served at all (404, like any unknown
//! path), open, or behind a bearer token.

use crate::config::MetricsAccess;
use crate::error::{AppError, ErrorBody, ErrorCode};
use crate::metrics::Sources;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse, ResponseError};
use sha2::{Digest, Sha256};

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The server's metrics, in Prometheus's text format 0.0.4, or in OpenMetrics when the
/// scraper accepts it (Prometheus does). Every family is in docs/metrics.md.
#[utoipa::path(
    get,
    path = "/metrics",
    responses(
        (status = 200, description = "The metrics (OpenMetrics when the Accept header names \
            application/openmetrics-text, else text format 0.0.4)",
            content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
        (status = 401, description = "A token is set (`--metrics-token`) and the request did \
            not send it as `Authorization: Bearer <token>`", body = ErrorBody),
        (status = 404, description = "Metrics are off: `--metrics off`, or a non-loopback bind \
            without a token", body = ErrorBody)
    )
)]
#[get("/metrics")]
pub async fn metrics(req: HttpRequest, st: web::Data<AppState>) -> HttpResponse {
    match &st.config.metrics {
        MetricsAccess::Off => return AppError::not_found("page").error_response(),
        MetricsAccess::Open => {}
        MetricsAccess::Token(token) => {
            if !bearer_matches(&req, token) {
                let mut res = AppError::new(
                    ErrorCode::Unauthenticated,
                    "metrics need Authorization: Bearer <metrics token>",
                )
                .error_response();
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer realm=\"metrics\""),
                );
                return res;
            }
        }
    }
    let m = &st.app.metrics;
    m.refresh(Sources {
        pool: &st.pool,
        live_sessions: st.sessions.live_count(),
        committer: &st.sessions.committer,
    })
    .await;
    let openmetrics = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    match m.encode(openmetrics) {
        Ok(body) => HttpResponse::Ok()
            .content_type(if openmetrics {
                OPENMETRICS
            } else {
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE
            })
            .body(body),
        Err(e) => AppError::internal(e).error_response(),
    }
}

/// Compares digests, so the time taken says nothing about how much of the token matched.
fn bearer_matches(req: &HttpRequest, token: &str) -> bool {
    let Some(sent) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (a, b) = (Sha256::digest(sent.trim()), Sha256::digest(token));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}
