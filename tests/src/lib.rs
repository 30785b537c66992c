//! The end-to-end suite lives in tests/tests/e2e/ (one test binary). This library holds what both they and the `api` crate's tests of the
//! real binary need: a `graphql-transport-ws` client over a real WebSocket.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a subscription message before failing.
pub const WAIT: Duration = Duration::from_secs(30);

/// A `graphql-transport-ws` connection to `/graphql/ws`.
pub struct Subscriptions {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Subscriptions {
    /// Connects to the server at `base` (`http://host:port`) and sends `connection_init` with `token`;
    /// returns the connection once acknowledged, or why the server refused it.
    ///
    /// # Errors
    /// The server closed the connection or answered something other than `connection_ack`.
    pub async fn connect(base: &str, token: Option<&str>) -> Result<Self, String> {
        let url = format!(
            "{}/graphql/ws",
            base.trim_end_matches('/')
                .trim_end_matches("/graphql")
                .replacen("http", "ws", 1)
        );
        let mut request = url.into_client_request().map_err(|e| e.to_string())?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().expect("header value"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| e.to_string())?;
        let mut s = Self { ws };
        let payload = token.map_or(
            json!({}),
            |t| json!({ "Authorization": format!("Bearer {t}") }),
        );
        s.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        match s.message().await {
            Some(m) if m["type"] == "connection_ack" => Ok(s),
            other => Err(format!("{other:?}")),
        }
    }

    async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("websocket send");
    }

    /// The next protocol message (pings answered on the way); `None` when the server closed.
    async fn message(&mut self) -> Option<Value> {
        loop {
            let m = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a websocket message within the deadline")?;
            match m {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).expect("JSON message");
                    if v["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Some(v);
                }
                Ok(Message::Close(frame)) => {
                    return frame.map(|f| json!({ "type": "close", "code": u16::from(f.code), "reason": f.reason.to_string() }));
                }
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// Starts subscription `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next `next`, `error` or `complete` message of any subscription (the whole message).
    ///
    /// # Panics
    /// The server closed the connection or nothing came within [`WAIT`].
    pub async fn next(&mut self) -> Value {
        self.message().await.expect("the connection is open")
    }

    /// Collects `next` payloads of subscription `id` until `done` says the collection is complete.
    ///
    /// # Panics
    /// An `error` or `complete` for `id` first, or nothing within [`WAIT`].
    pub async fn collect_until(
        &mut self,
        id: &str,
        mut done: impl FnMut(&[Value]) -> bool,
    ) -> Vec<Value> {
        let mut got = Vec::new();
        while !done(&got) {
            let m = self.next().await;
            if m["id"] != id {
                continue;
            }
            assert_eq!(m["type"], "next", "subscription {id} ended: {m}");
            assert!(m["payload"]["errors"].is_null(), "{m}");
            got.push(m["payload"]["data"].clone());
        }
        got
    }

    /// Stops subscription `id`.
    pub async fn stop(&mut self, id: &str) {
        self.send(json!({ "id": id, "type": "complete" })).await;
    }
}
