//! Meta's Graph API, as the Messenger channel uses it: the Send API, the Conversations API
//! (contact sync), a person's profile and the Page itself (token check). The base URL and
//! version are configuration (`--graph-base-url`), so tests point it at a local fake server.
//! Errors are classified by their code and subcode, never by their message text.

mod errors;
mod types;

pub use errors::{ErrorClass, GraphError};
pub use types::*;

use crate::db::enums::MessagingType;
use reqwest::header::HeaderMap;
use std::time::Duration;

/// A Page's credentials for one call.
#[derive(Clone, Copy)]
pub struct PageAuth<'a> {
    pub page_id: &'a str,
    pub token: &'a str,
}

#[derive(Clone)]
pub struct Graph {
    http: reqwest::Client,
    base: String,
}

impl Graph {
    pub fn new(base: &str) -> Graph {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(16)
            .build()
            .unwrap_or_default();
        Graph {
            http,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST /{page}/messages`.
    pub async fn send(&self, page: PageAuth<'_>, req: &SendRequest) -> Result<SendOk, GraphError> {
        let body = send_body(req);
        let url = format!("{}/{}/messages", self.base, page.page_id);
        let res = self
            .http
            .post(url)
            .bearer_auth(page.token)
            .json(&body)
            .send()
            .await;
        parse(res).await
    }

    /// One page of the Page's Messenger conversations, newest first, each with its 20 latest
    /// messages; `after` is the previous page's cursor.
    pub async fn conversations(
        &self,
        page: PageAuth<'_>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<ConversationPage, GraphError> {
        let url = format!("{}/{}/conversations", self.base, page.page_id);
        let limit = limit.to_string();
        let mut query = vec![
            ("platform", "messenger"),
            (
                "fields",
                "participants,updated_time,messages.limit(20){id,created_time,from,to,message,attachments}",
            ),
            ("limit", limit.as_str()),
        ];
        if let Some(a) = after {
            query.push(("after", a));
        }
        let res = self
            .http
            .get(url)
            .bearer_auth(page.token)
            .query(&query)
            .send()
            .await;
        parse(res).await
    }

    /// A person's profile by PSID.
    pub async fn profile(&self, page: PageAuth<'_>, psid: &str) -> Result<Profile, GraphError> {
        let url = format!("{}/{}", self.base, psid);
        let res = self
            .http
            .get(url)
            .bearer_auth(page.token)
            .query(&[("fields", "first_name,last_name,profile_pic")])
            .send()
            .await;
        parse(res).await
    }

    /// The Page the token belongs to: checks a token when a Page is connected.
    pub async fn page(&self, page: PageAuth<'_>) -> Result<PageInfo, GraphError> {
        let url = format!("{}/{}", self.base, page.page_id);
        let res = self
            .http
            .get(url)
            .bearer_auth(page.token)
            .query(&[("fields", "id,name")])
            .send()
            .await;
        parse(res).await
    }
}

/// The Send API's JSON body of a request.
fn send_body(req: &SendRequest) -> serde_json::Value {
    let mut body = serde_json::json!({
        "recipient": {"id": req.recipient},
        "messaging_type": req.messaging_type.as_str(),
        "message": {"text": req.text, "metadata": req.metadata},
    });
    if let (MessagingType::MessageTag, Some(tag)) = (req.messaging_type, &req.tag) {
        body["tag"] = serde_json::Value::String(tag.clone());
    }
    if !req.quick_replies.is_empty() {
        body["message"]["quick_replies"] = serde_json::json!(req.quick_replies);
    }
    body
}

async fn parse<T: serde::de::DeserializeOwned>(
    res: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, GraphError> {
    let res = res.map_err(|e| {
        // Only a failed connect (or a request never built) proves nothing was received.
        if e.is_connect() || e.is_builder() {
            GraphError::Transport(e.to_string())
        } else {
            GraphError::NoAnswer(e.to_string())
        }
    })?;
    let status = res.status().as_u16();
    let wait = regain_access(res.headers());
    let bytes = res
        .bytes()
        .await
        .map_err(|e| GraphError::NoAnswer(e.to_string()))?;
    if (200..300).contains(&status) {
        return serde_json::from_slice(&bytes)
            .map_err(|e| GraphError::Malformed(format!("HTTP {status}: {e}")));
    }
    Err(GraphError::from_body(status, &bytes, wait))
}

/// The longest `estimated_time_to_regain_access` (minutes) in `X-Business-Use-Case-Usage`.
pub fn regain_access(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get("x-business-use-case-usage")?.to_str().ok()?;
    let usage: std::collections::HashMap<String, Vec<serde_json::Value>> =
        serde_json::from_str(raw).ok()?;
    usage
        .values()
        .flatten()
        .filter_map(|u| u.get("estimated_time_to_regain_access")?.as_u64())
        .max()
        .filter(|m| *m > 0)
        .map(|m| Duration::from_secs(m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn quick_replies_go_in_the_message_by_content_type_and_only_when_there_are_some() {
        let mut req = SendRequest {
            recipient: "p".into(),
            messaging_type: MessagingType::Response,
            tag: None,
            text: "Pick one".into(),
            metadata: "sb:1".into(),
            quick_replies: vec![],
        };
        assert!(send_body(&req)["message"].get("quick_replies").is_none());
        req.quick_replies = vec![
            QuickReply::Text {
                title: "Red".into(),
                payload: "sb:btn:1:red".into(),
            },
            QuickReply::UserEmail,
            QuickReply::UserPhoneNumber,
        ];
        assert_eq!(
            send_body(&req)["message"],
            serde_json::json!({"text": "Pick one", "metadata": "sb:1", "quick_replies": [
                {"content_type": "text", "title": "Red", "payload": "sb:btn:1:red"},
                {"content_type": "user_email"},
                {"content_type": "user_phone_number"},
            ]})
        );
    }

    #[test]
    fn the_usage_header_gives_the_longest_wait_in_minutes() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(
                r#"{"123":[{"type":"pages","call_count":100,"total_cputime":10,"total_time":10,"estimated_time_to_regain_access":3}],"9":[{"type":"pages","estimated_time_to_regain_access":1}]}"#,
            ),
        );
        assert_eq!(regain_access(&h), Some(Duration::from_secs(180)));
        let mut zero = HeaderMap::new();
        zero.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(r#"{"1":[{"estimated_time_to_regain_access":0}]}"#),
        );
        assert_eq!(regain_access(&zero), None);
        assert_eq!(regain_access(&HeaderMap::new()), None);
    }
}
