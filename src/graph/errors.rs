//! Graph API errors and what each means for us, decided by `code` / `error_subcode` alone.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum GraphError {
    /// The API answered with an error body.
    Api {
        status: u16,
        code: i64,
        subcode: Option<i64>,
        message: String,
        /// From `X-Business-Use-Case-Usage`, when it says how long to wait.
        wait: Option<Duration>,
    },
    /// No connection: refused, unreachable, DNS, connect timeout. The request was not
    /// received.
    Transport(String),
    /// The request went out but no answer came (a timeout, the connection cut while waiting):
    /// the platform may have acted on it. Retrying is fine for reads; a send must not be
    /// repeated blindly.
    NoAnswer(String),
    /// A success status with a body we cannot read, or an error without an error body.
    Malformed(String),
}

/// What to do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Temporary (code 2) or a rate limit (4, 17, 32, 613): try again later.
    Retry { wait: Option<Duration> },
    /// 190: the token is invalid or expired; the channel needs reconnecting.
    TokenInvalid,
    /// 10 / 2018278: outside the allowed reply window.
    OutsideWindow,
    /// 100 / 1893061: a retired message tag.
    RetiredTag,
    /// 551: the person is unavailable (blocked the Page, deactivated).
    Unreachable,
    /// 200: the person is not receiving messages from the Page.
    NotReceiving,
    /// 10 / 1893063: the Page is temporarily restricted from sending.
    PageRestricted,
    /// 10 / 2018300: another app controls the thread.
    ThreadOwnedElsewhere,
    /// Anything else: refused, shown with its code.
    Refused,
}

impl GraphError {
    pub fn from_body(status: u16, body: &[u8], wait: Option<Duration>) -> GraphError {
        #[derive(serde::Deserialize)]
        struct Envelope {
            error: Body,
        }
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(default)]
            message: String,
            code: i64,
            error_subcode: Option<i64>,
        }
        match serde_json::from_slice::<Envelope>(body) {
            Ok(Envelope { error }) => GraphError::Api {
                status,
                code: error.code,
                subcode: error.error_subcode,
                message: error.message,
                wait,
            },
            Err(_) => GraphError::Malformed(format!(
                "HTTP {status} without an error body: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )),
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            GraphError::Api {
                code,
                subcode,
                wait,
                ..
            } => match (*code, *subcode) {
                (2 | 4 | 17 | 32 | 613, _) => ErrorClass::Retry { wait: *wait },
                (190, _) => ErrorClass::TokenInvalid,
                (10, Some(2018278)) => ErrorClass::OutsideWindow,
                (10, Some(1893063)) => ErrorClass::PageRestricted,
                (10, Some(2018300)) => ErrorClass::ThreadOwnedElsewhere,
                (100, Some(1893061)) => ErrorClass::RetiredTag,
                (551, _) => ErrorClass::Unreachable,
                (200, _) => ErrorClass::NotReceiving,
                _ => ErrorClass::Refused,
            },
            GraphError::Transport(_) | GraphError::NoAnswer(_) => ErrorClass::Retry { wait: None },
            // A 5xx without a body is the platform failing: temporary.
            GraphError::Malformed(m) if m.starts_with("HTTP 5") => ErrorClass::Retry { wait: None },
            GraphError::Malformed(_) => ErrorClass::Refused,
        }
    }

    pub fn code(&self) -> Option<(i64, Option<i64>)> {
        match self {
            GraphError::Api { code, subcode, .. } => Some((*code, *subcode)),
            _ => None,
        }
    }
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GraphError::Api {
                status,
                code,
                subcode,
                message,
                ..
            } => match subcode {
                Some(s) => write!(f, "Graph API error {code}/{s} (HTTP {status}): {message}"),
                None => write!(f, "Graph API error {code} (HTTP {status}): {message}"),
            },
            GraphError::Transport(e) => write!(f, "Graph API unreachable: {e}"),
            GraphError::NoAnswer(e) => write!(f, "no answer from the Graph API: {e}"),
            GraphError::Malformed(e) => write!(f, "unexpected Graph API answer: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: i64, subcode: Option<i64>, message: &str) -> GraphError {
        let body = serde_json::json!({"error": {"message": message, "type": "OAuthException",
            "code": code, "error_subcode": subcode, "fbtrace_id": "x"}});
        GraphError::from_body(400, body.to_string().as_bytes(), None)
    }

    #[test]
    fn errors_are_classified_by_code_and_subcode_not_by_text() {
        assert_eq!(err(2, None, "x").class(), ErrorClass::Retry { wait: None });
        for c in [4, 17, 32, 613] {
            assert_eq!(err(c, None, "").class(), ErrorClass::Retry { wait: None });
        }
        assert_eq!(err(190, Some(463), "").class(), ErrorClass::TokenInvalid);
        // The same words under another code are not a token error.
        assert_eq!(
            err(100, None, "Error validating access token").class(),
            ErrorClass::Refused
        );
        assert_eq!(
            err(10, Some(2018278), "").class(),
            ErrorClass::OutsideWindow
        );
        assert_eq!(
            err(10, Some(1893063), "").class(),
            ErrorClass::PageRestricted
        );
        assert_eq!(
            err(10, Some(2018300), "").class(),
            ErrorClass::ThreadOwnedElsewhere
        );
        assert_eq!(err(100, Some(1893061), "").class(), ErrorClass::RetiredTag);
        assert_eq!(err(551, None, "").class(), ErrorClass::Unreachable);
        assert_eq!(err(200, None, "").class(), ErrorClass::NotReceiving);
        assert_eq!(err(10, None, "").class(), ErrorClass::Refused);
    }

    #[test]
    fn no_answer_is_retried_and_a_bodiless_5xx_too() {
        assert_eq!(
            GraphError::Transport("refused".into()).class(),
            ErrorClass::Retry { wait: None }
        );
        let e = GraphError::from_body(502, b"<html>bad gateway</html>", None);
        assert_eq!(e.class(), ErrorClass::Retry { wait: None });
        let e = GraphError::from_body(400, b"nope", None);
        assert_eq!(e.class(), ErrorClass::Refused);
    }
}
