//! Steps the tests share: a visitor writing, and an agent calling the REST API.

use super::{Agent, TestApp, WsClient};
use reqwest::Method;
use serde_json::{json, Value};

/// A visitor message; returns its `ack` once the message is committed.
pub async fn visitor_says(v: &mut WsClient, client_id: &str, text: &str) -> Value {
    v.send(json!({"v": 1, "type": "send", "client_id": client_id, "text": text}))
        .await;
    let ack = v.recv_type("ack").await;
    assert_eq!(ack["client_id"], client_id);
    ack
}

impl TestApp {
    /// A new visitor writes `text`; returns the visitor and the session id.
    pub async fn open_session(&self, text: &str) -> (WsClient, i64) {
        let mut v = self.visitor().await;
        let sid = visitor_says(&mut v, "first", text).await["session_id"]
            .as_i64()
            .unwrap();
        (v, sid)
    }

    /// `agent` calls `path` (bearer auth); returns the status and the JSON body (null if none).
    pub async fn call(
        &self,
        agent: &Agent,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = agent
            .http
            .request(method, format!("{}{path}", self.url()))
            .bearer_auth(&agent.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `agent` calls `path`; only the HTTP status matters to the caller.
    pub async fn status_of(
        &self,
        agent: &Agent,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> u16 {
        self.call(agent, method, path, body).await.0
    }

    /// A GET that must answer 200; its JSON body.
    pub async fn get_json(&self, agent: &Agent, path_and_query: &str) -> Value {
        let (status, body) = self.call(agent, Method::GET, path_and_query, None).await;
        assert_eq!(status, 200, "GET {path_and_query}: {body}");
        body
    }

    /// An agent's reply over REST (it takes an unassigned session).
    pub async fn reply(&self, agent: &Agent, sid: i64, client_id: &str) {
        let path = format!("/api/projects/{}/sessions/{sid}/messages", self.project_id);
        let body = json!({"client_id": client_id, "text": "How can I help?"});
        let (status, e) = self.call(agent, Method::POST, &path, Some(body)).await;
        assert_eq!(status, 201, "{e}");
    }

    /// `by` assigns the session to `to`, or back to the queue with `None`.
    pub async fn assign(&self, by: &Agent, sid: i64, to: Option<i64>) {
        let path = format!("/api/projects/{}/sessions/{sid}/assign", self.project_id);
        let body = json!({ "user_id": to });
        let (status, e) = self.call(by, Method::POST, &path, Some(body)).await;
        assert_eq!(status, 200, "{e}");
    }

    pub async fn end(&self, by: &Agent, sid: i64) {
        let path = format!("/api/projects/{}/sessions/{sid}/end", self.project_id);
        let (status, e) = self.call(by, Method::POST, &path, None).await;
        assert_eq!(status, 200, "{e}");
    }
}
