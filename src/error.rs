//! The one error type of the service. Every failure a client can see carries a stable
//! [`ErrorCode`]; HTTP status and the websocket `error` frame are derived from it here and
//! nowhere else. Domain code returns `AppResult<T>`; handlers pass errors through unchanged.
//!
//! Database errors are classified once, in `From<diesel::result::Error>` and
//! `From<PoolError>`: a missing row is `not_found`, a unique violation `conflict`, a closed
//! connection or pool timeout `db_unavailable` (503, safe to retry), anything else `internal`.
//! To name what is missing, use [`NotFoundExt::or_not_found`], never
//! `map_err(|_| AppError::not_found(..))`: that would turn an outage into a 404.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidJson,
    InvalidFrame,
    UnknownType,
    FrameTooLarge,
    UnsupportedFrame,
    TextTooLong,
    Validation,
    Unauthenticated,
    InvalidCredentials,
    Forbidden,
    NotFound,
    Conflict,
    SessionEnded,
    EmailNotConfigured,
    /// A webhook whose signature is missing, wrong, or cannot be checked (no secret set).
    InvalidSignature,
    /// The Messenger Page is already connected (in this or another project).
    PageAlreadyConnected,
    /// The Graph API refused the Page access token (error 190).
    PageTokenInvalid,
    /// Too many attempts from one client (logins, new visitors, test e-mails); retry later.
    RateLimited,
    /// A Messenger reply past the person's reply window with no usable message tag.
    ReplyWindowClosed,
    /// The platform said the person cannot be messaged (Messenger 551), and they have not
    /// written since.
    ContactUnreachable,
    /// An automation flow document that cannot be published: `details` lists each problem and
    /// the step it is on.
    InvalidFlow,
    /// The server is at capacity on the message path and did not take the message (nothing
    /// stored); `details.retry_after_ms` says when to send it again, with the same client id.
    Busy,
    DbUnavailable,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidFrame => "invalid_frame",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::UnsupportedFrame => "unsupported_frame",
            ErrorCode::TextTooLong => "text_too_long",
            ErrorCode::Validation => "validation",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::SessionEnded => "session_ended",
            ErrorCode::EmailNotConfigured => "email_not_configured",
            ErrorCode::InvalidSignature => "invalid_signature",
            ErrorCode::PageAlreadyConnected => "page_already_connected",
            ErrorCode::PageTokenInvalid => "page_token_invalid",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::ReplyWindowClosed => "reply_window_closed",
            ErrorCode::ContactUnreachable => "contact_unreachable",
            ErrorCode::InvalidFlow => "invalid_flow",
            ErrorCode::Busy => "busy",
            ErrorCode::DbUnavailable => "db_unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidJson
            | ErrorCode::InvalidFrame
            | ErrorCode::UnknownType
            | ErrorCode::FrameTooLarge
            | ErrorCode::UnsupportedFrame
            | ErrorCode::TextTooLong
            | ErrorCode::Validation
            | ErrorCode::InvalidFlow
            | ErrorCode::PageTokenInvalid => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated
            | ErrorCode::InvalidCredentials
            | ErrorCode::InvalidSignature => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict
            | ErrorCode::SessionEnded
            | ErrorCode::EmailNotConfigured
            | ErrorCode::ReplyWindowClosed
            | ErrorCode::ContactUnreachable
            | ErrorCode::PageAlreadyConnected => StatusCode::CONFLICT,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::DbUnavailable | ErrorCode::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with a stable code, a message safe to show the client, and (for logs only) the cause.
#[derive(Debug)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// Structured detail for the client (an invalid flow's problems), sent as `error.details`.
    pub details: Option<serde_json::Value>,
    cause: Option<String>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
            details: None,
            cause: None,
        }
    }
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    /// Refused at capacity: send again after `retry_after_ms` (same client id).
    pub fn busy(retry_after_ms: u64) -> Self {
        Self::new(
            ErrorCode::Busy,
            format!("the server is busy; not stored, send it again in {retry_after_ms} ms"),
        )
        .with_details(serde_json::json!({ "retry_after_ms": retry_after_ms }))
    }
    /// The retry hint of a `busy` refusal.
    pub fn retry_after_ms(&self) -> Option<u64> {
        self.details
            .as_ref()
            .and_then(|d| d.get("retry_after_ms"))
            .and_then(|v| v.as_u64())
    }
    pub fn internal(cause: impl fmt::Display) -> Self {
        AppError {
            code: ErrorCode::Internal,
            message: "internal error".into(),
            details: None,
            cause: Some(cause.to_string()),
        }
    }
    /// Converts a database error, saying what a unique-key conflict means for this write.
    pub fn conflict_means(message: &'static str) -> impl FnOnce(diesel::result::Error) -> AppError {
        move |e| {
            let e = AppError::from(e);
            if e.code == ErrorCode::Conflict {
                AppError {
                    message: message.into(),
                    ..e
                }
            } else {
                e
            }
        }
    }
    /// True when retrying the same operation later may succeed.
    pub fn is_transient(&self) -> bool {
        self.code == ErrorCode::DbUnavailable
    }
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                details: self.details.clone(),
            },
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Some(c) => write!(f, "{}: {} ({c})", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl std::error::Error for AppError {}

/// The JSON shape of every REST error: `{"error":{"code":"…","message":"…"}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }
    fn error_response(&self) -> HttpResponse {
        if self.code == ErrorCode::Internal || self.code == ErrorCode::DbUnavailable {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        if let Some(ms) = self.retry_after_ms() {
            // Retry-After counts whole seconds: rounded up, so a client never comes back early.
            response.insert_header(("Retry-After", ms.div_ceil(1000).max(1).to_string()));
        }
        response.json(self.body())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match &e {
            E::NotFound => AppError::not_found("record"),
            E::DatabaseError(K::UniqueViolation, info) => AppError {
                code: ErrorCode::Conflict,
                message: "already exists".into(),
                details: None,
                cause: Some(info.message().to_string()),
            },
            E::DatabaseError(K::ForeignKeyViolation, info) => AppError {
                code: ErrorCode::Validation,
                message: "refers to something that does not exist".into(),
                details: None,
                cause: Some(info.message().to_string()),
            },
            E::DatabaseError(K::ClosedConnection, _) | E::BrokenTransactionManager => {
                db_unavailable(&e)
            }
            E::DatabaseError(_, info) if is_connection_message(info.message()) => {
                db_unavailable(&e)
            }
            _ => AppError::internal(e),
        }
    }
}

/// Names the missing row of a database read (`contact not found`) while every other database
/// error keeps its classification: an outage stays `db_unavailable`, so clients retry instead
/// of concluding the thing is gone.
pub trait NotFoundExt<T> {
    fn or_not_found(self, what: &str) -> AppResult<T>;
}

impl<T> NotFoundExt<T> for Result<T, diesel::result::Error> {
    fn or_not_found(self, what: &str) -> AppResult<T> {
        self.map_err(|e| match e {
            diesel::result::Error::NotFound => AppError::not_found(what),
            other => other.into(),
        })
    }
}

fn is_connection_message(msg: &str) -> bool {
    // tokio-postgres reports a dropped socket or a shutting-down server as an unknown database
    // error with one of these texts; they are as retryable as a closed connection.
    let m = msg.to_ascii_lowercase();
    m.contains("connection closed")
        || m.contains("terminating connection")
        || m.contains("the database system is")
        || m.contains("broken pipe")
        || m.contains("connection reset")
        || m.contains("error communicating")
}

fn db_unavailable(cause: &dyn fmt::Display) -> AppError {
    AppError {
        code: ErrorCode::DbUnavailable,
        message: "the database is unavailable; retry".into(),
        details: None,
        cause: Some(cause.to_string()),
    }
}

impl From<crate::db::PoolError> for AppError {
    fn from(e: crate::db::PoolError) -> Self {
        db_unavailable(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_shape_is_stable() {
        let body = serde_json::to_value(AppError::not_found("session").body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "not_found", "message": "session not found"}})
        );
    }

    #[test]
    fn busy_is_503_with_its_retry_hint_in_the_body_and_the_header() {
        let e = AppError::busy(1500);
        assert_eq!(e.code.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.retry_after_ms(), Some(1500));
        let body = serde_json::to_value(e.body()).unwrap();
        assert_eq!(body["error"]["code"], "busy");
        assert_eq!(body["error"]["details"]["retry_after_ms"], 1500);
        let r = e.error_response();
        assert_eq!(r.headers().get("Retry-After").unwrap(), "2");
    }

    #[test]
    fn only_a_missing_row_is_not_found() {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        let missing: Result<(), E> = Err(E::NotFound);
        let e = missing.or_not_found("contact").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::NotFound, "contact not found")
        );
        let closed = Err::<(), _>(E::DatabaseError(
            K::ClosedConnection,
            Box::new(String::new()),
        ));
        assert_eq!(
            closed.or_not_found("contact").unwrap_err().code,
            ErrorCode::DbUnavailable
        );
        let terminated = Err::<(), _>(E::DatabaseError(
            K::Unknown,
            Box::new("terminating connection due to administrator command".to_owned()),
        ));
        assert_eq!(
            terminated.or_not_found("contact").unwrap_err().code,
            ErrorCode::DbUnavailable
        );
        assert_eq!(Ok::<_, E>(7).or_not_found("contact").unwrap(), 7);
    }

    #[test]
    fn codes_serialize_as_their_names() {
        for code in [
            ErrorCode::DbUnavailable,
            ErrorCode::TextTooLong,
            ErrorCode::Forbidden,
            ErrorCode::ReplyWindowClosed,
            ErrorCode::ContactUnreachable,
            ErrorCode::Busy,
        ] {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(code.as_str().into())
            );
        }
    }
}
