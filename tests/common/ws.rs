//! A websocket test client: every wait is bounded.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// What one read brought, for clients that outlive a dropped socket.
pub enum Next {
    Frame(Value),
    /// Nothing within the wait.
    Nothing,
    /// The socket ended (closed by the server, or broken).
    Closed,
}

pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub hello: Option<Value>,
}

/// Frames of one `type` (a predicate for the barrier helpers).
pub fn of_type(ty: &str) -> impl Fn(&Value) -> bool + '_ {
    move |f| f["type"] == ty
}

/// A `message` frame of session `session_id`.
pub fn message_in(session_id: i64) -> impl Fn(&Value) -> bool {
    move |f| f["type"] == "message" && f["session_id"] == session_id
}

impl WsClient {
    pub async fn connect(url: &str, bearer: Option<&str>) -> WsClient {
        let mut req = url.into_client_request().unwrap();
        if let Some(t) = bearer {
            req.headers_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        let (stream, _) = tokio::time::timeout(super::WAIT, tokio_tungstenite::connect_async(req))
            .await
            .expect("connect timed out")
            .expect("connect");
        WsClient {
            stream,
            hello: None,
        }
    }

    /// Tries to connect; returns the HTTP status of a refused upgrade.
    pub async fn refused_status(url: &str, bearer: Option<&str>) -> u16 {
        let mut req = url.into_client_request().unwrap();
        if let Some(t) = bearer {
            req.headers_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok(_) => panic!("upgrade to {url} was accepted"),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(v.to_string()).await;
    }

    /// Sends a frame; false when the socket is gone (a client that reconnects then reads
    /// the close and starts over).
    pub async fn try_send(&mut self, v: Value) -> bool {
        matches!(
            tokio::time::timeout(super::WAIT, self.stream.send(Message::Text(v.to_string()))).await,
            Ok(Ok(()))
        )
    }

    pub async fn send_text(&mut self, text: String) {
        tokio::time::timeout(super::WAIT, self.stream.send(Message::Text(text)))
            .await
            .expect("send timed out")
            .expect("send");
    }

    /// Writes bytes on the TCP connection under the websocket (e.g. a hand-made frame header).
    pub async fn write_raw_bytes(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let MaybeTlsStream::Plain(tcp) = self.stream.get_mut() else {
            panic!("tests use plain TCP");
        };
        tokio::time::timeout(super::WAIT, tcp.write_all(bytes))
            .await
            .expect("write timed out")
            .expect("write");
    }

    pub async fn send_raw(&mut self, m: Message) {
        self.stream.send(m).await.expect("send");
    }

    /// The next JSON frame (pings are answered by tungstenite while reading).
    pub async fn recv(&mut self) -> Value {
        self.recv_within(super::WAIT)
            .await
            .expect("no frame in time")
    }

    pub async fn recv_within(&mut self, d: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await {
                Err(_) => return None,
                Ok(None) => panic!("socket closed"),
                Ok(Some(Err(e))) => panic!("socket error: {e}"),
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Some(serde_json::from_str(&t).expect("JSON frame"))
                }
                Ok(Some(Ok(Message::Close(c)))) => panic!("socket closed by server: {c:?}"),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next JSON frame within `d`, or that none came, or that the socket ended: unlike
    /// `recv_within`, an end of the socket is an answer, not a failure.
    pub async fn next_within(&mut self, d: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await {
                Err(_) => return Next::Nothing,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return Next::Closed,
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Next::Frame(serde_json::from_str(&t).expect("JSON frame"))
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next JSON frame within `d` (`Ok(None)`: none came), or the end of the socket with
    /// its close code (`Err(None)`: it ended without a close frame).
    pub async fn next_or_close(&mut self, d: Duration) -> Result<Option<Value>, Option<u16>> {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await {
                Err(_) => return Ok(None),
                Ok(None | Some(Err(_))) => return Err(None),
                Ok(Some(Ok(Message::Close(c)))) => return Err(c.map(|c| u16::from(c.code))),
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Ok(Some(serde_json::from_str(&t).expect("JSON frame")))
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Skips frames until one of `type` arrives.
    pub async fn recv_type(&mut self, ty: &str) -> Value {
        loop {
            let f = self.recv().await;
            if f["type"] == ty {
                return f;
            }
        }
    }

    /// Collects frames of `type` until `n` have arrived.
    pub async fn recv_n(&mut self, ty: &str, n: usize) -> Vec<Value> {
        let mut out = Vec::new();
        while out.len() < n {
            out.push(self.recv_type(ty).await);
        }
        out
    }

    /// The frames that arrive before the first one `is_barrier` accepts, and that one; the
    /// whole wait is bounded by `WAIT`. A barrier is a frame that the server must send to this
    /// connection after any frame the test wants to rule out — so once it is here, the
    /// unwanted frame can no longer be on its way, and no sleep is needed to say "nothing came".
    pub async fn recv_until_barrier(
        &mut self,
        is_barrier: impl Fn(&Value) -> bool,
    ) -> (Vec<Value>, Value) {
        let deadline = tokio::time::Instant::now() + super::WAIT;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(f) = self.recv_within(left).await else {
                panic!("no barrier frame in time; frames before it: {before:?}");
            };
            if is_barrier(&f) {
                return (before, f);
            }
            before.push(f);
        }
    }

    /// Waits for the barrier frame (see `recv_until_barrier`) and asserts that no frame
    /// `unwanted` accepts came before it; returns the barrier.
    pub async fn assert_none_before_barrier(
        &mut self,
        unwanted: impl Fn(&Value) -> bool,
        is_barrier: impl Fn(&Value) -> bool,
    ) -> Value {
        let (before, barrier) = self.recv_until_barrier(is_barrier).await;
        let bad: Vec<&Value> = before.iter().filter(|f| unwanted(f)).collect();
        assert!(
            bad.is_empty(),
            "unwanted frames before the barrier {barrier}: {bad:?}"
        );
        barrier
    }

    /// Waits for the server to close the socket; returns the close code.
    pub async fn closed_code(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await {
                Err(_) => panic!("socket not closed in time"),
                Ok(None) | Ok(Some(Err(_))) => return None,
                Ok(Some(Ok(Message::Close(c)))) => return c.map(|c| u16::from(c.code)),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The JSON frames the server wrote up to its close, and the close code (`None` when the
    /// socket ended without a close frame); bounded like `closed_code`.
    pub async fn frames_until_close(&mut self) -> (Vec<Value>, Option<u16>) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut frames = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await {
                Err(_) => panic!("socket not closed in time"),
                Ok(None) | Ok(Some(Err(_))) => return (frames, None),
                Ok(Some(Ok(Message::Close(c)))) => return (frames, c.map(|c| u16::from(c.code))),
                Ok(Some(Ok(Message::Text(t)))) => {
                    frames.push(serde_json::from_str(&t).expect("JSON frame"))
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
