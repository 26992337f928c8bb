//! The request input extractors every handler uses instead of `web::Json` and `web::Query`:
//! the same parsing, limits and error shape, plus the boundary check of `crate::text` (no
//! NUL in any string) before the handler's type is built. clippy.toml disallows actix's own,
//! so a new handler cannot skip the check.
#![allow(clippy::disallowed_types)] // the one place that wraps actix's extractors

use crate::error::AppError;
use crate::text;
use actix_web::body::BoxBody;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest, HttpResponse, Responder};
use futures_util::future::{ready, LocalBoxFuture, Ready};
use serde::{de::DeserializeOwned, Serialize};
use std::ops::{Deref, DerefMut};

/// A JSON request body (parsed under the app's `JsonConfig`: size limit, `invalid_json` /
/// `validation` codes) and, as a return type, a JSON response.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // Parsed as a `Value` first so that every string, also of fields `T` ignores, is
        // checked, and a NUL is named by its path rather than by a serde position.
        let body = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = body.await?.into_inner();
            text::check_json(&value)?;
            serde_json::from_value(value)
                .map(Json)
                .map_err(|e| AppError::validation(format!("Json deserialize error: {e}")).into())
        })
    }
}

impl<T: Serialize> Responder for Json<T> {
    type Body = BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse<BoxBody> {
        web::Json(self.0).respond_to(req).map_into_boxed_body()
    }
}

/// Query-string parameters (`serde_urlencoded`, like `web::Query`); a malformed or NUL-bearing
/// query is `validation`.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(query(req.query_string()))
    }
}

fn query<T: DeserializeOwned>(qs: &str) -> Result<Query<T>, AppError> {
    let invalid = |e: actix_web::error::QueryPayloadError| AppError::validation(e.to_string());
    let pairs = web::Query::<Vec<(String, String)>>::from_query(qs).map_err(invalid)?;
    text::check_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    web::Query::<T>::from_query(qs)
        .map(|q| Query(q.into_inner()))
        .map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[derive(serde::Deserialize, Debug)]
    struct Filter {
        q: Option<String>,
        limit: Option<i64>,
    }

    #[test]
    fn queries_parse_like_web_query() {
        let f = query::<Filter>("q=a%20b&limit=3&other=x").unwrap();
        assert_eq!(f.q.as_deref(), Some("a b"));
        assert_eq!(f.limit, Some(3));
        let e = query::<Filter>("limit=many").unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
    }

    #[test]
    fn a_query_with_nul_is_refused_naming_the_parameter() {
        let e = query::<Filter>("limit=3&q=a%00").unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        assert!(e.message.contains("`q`"), "{}", e.message);
        // Also when the handler's type ignores the parameter.
        assert!(query::<Filter>("x%00=1").is_err());
    }
}
