//! `GET /graphql/ws`: GraphQL over WebSocket (`graphql-transport-ws`, and the older `graphql-ws`), run by
//! this module's own loop around async-graphql's protocol state machine, so that the socket is held to the
//! same rules as a request:
//! - `connection_init` must come within `ws_init_timeout_seconds`, with a valid session;
//! - every operation runs as the session is *now* (a schema extension resolves it again, see
//!   `graphql::session`), and the socket closes (4401) as soon as the session ends — revoked on any node
//!   (announced through PostgreSQL), blocked, expired (checked every [`SESSION_RECHECK`] too);
//! - at most `ws_max_operations` operations at once; more are refused one by one with an error;
//! - the server pings every `ws_keepalive_seconds` and closes a socket that answered nothing for two of them;
//! - a message is at most `request_max_bytes`;
//! - the socket counts as its client address's connection until it closes, and closes when the server
//!   shuts down.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::http::{WebSocketProtocols, WsMessage};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::State;
use axum::http::{Extensions, HeaderMap};
use futures::{SinkExt, StreamExt};
use uuid::Uuid;

use super::graphql::init_token;
use super::headers::client_of;
use super::server::Connection;
use super::state::HttpState;
use crate::auth::security::Client;
use crate::auth::sessions;
use crate::graphql::context::{RequestCtx, SocketSession};

/// How often an open socket checks its session even without an announcement (expiry, a missed
/// announcement while the listener reconnected).
pub const SESSION_RECHECK: Duration = Duration::from_secs(30);

/// Close codes of `graphql-transport-ws`.
const UNAUTHORIZED: u16 = 4401;
const INIT_TIMEOUT: u16 = 4408;
const GOING_AWAY: u16 = 1001;

/// `GET /graphql/ws`.
pub(crate) async fn graphql_ws(
    State(s): State<HttpState>,
    upgrade: axum::extract::WebSocketUpgrade,
    headers: HeaderMap,
    extensions: Extensions,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let protocol = headers
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok());
    let Some(protocol) = protocol else {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            "sec-websocket-protocol: ask for graphql-transport-ws (or graphql-ws)",
        )
            .into_response();
    };
    let client = client_of(&headers, &extensions, &s.forwarding);
    let held = extensions.get::<Connection>().cloned();
    let request_id = extensions
        .get::<super::observe::RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let upgrade_span = tracing::Span::current();
    // The socket's messages in the language its upgrade request prefers.
    let language = crate::error::reason::from_accept_language(
        super::headers::header(&headers, "accept-language").as_deref(),
    );
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(s.limits.request_max_bytes)
        .max_frame_size(s.limits.request_max_bytes)
        .on_upgrade(move |socket| {
            use tracing::Instrument as _;
            // The socket lives on after the upgrade's request: a trace of its own, following from it.
            let span = tracing::info_span!(parent: None, "websocket", request_id = %request_id);
            span.follows_from(&upgrade_span);
            crate::error::reason::LANGUAGE
                .scope(language, run(socket, s, protocol, client, held))
                .instrument(span)
        })
}

/// What the client says a message is, read before the protocol machine sees it.
#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

fn envelope(text: &str) -> Option<Envelope> {
    serde_json::from_str(text).ok()
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// The message refusing operation `id` beyond the limit, in the socket's protocol.
fn over_limit(protocol: WebSocketProtocols, id: &str, max: usize) -> Message {
    let error = serde_json::json!({
        "message": format!("this connection already runs {max} operations; complete one first"),
        "extensions": { "code": "LIMIT_EXCEEDED", "field": "subscribe" },
    });
    let payload = match protocol {
        WebSocketProtocols::GraphQLWS => serde_json::json!([error]),
        WebSocketProtocols::SubscriptionsTransportWS => error,
    };
    Message::Text(
        serde_json::json!({ "type": "error", "id": id, "payload": payload })
            .to_string()
            .into(),
    )
}

/// This socket's share of the gauges `cabinet_websockets_open` and `cabinet_subscriptions_active` (the
/// operations running on open sockets), taken back when the socket ends however it ends.
struct OpenGauges {
    operations: usize,
}

impl OpenGauges {
    fn new() -> Self {
        metrics::gauge!("cabinet_websockets_open").increment(1.0);
        Self { operations: 0 }
    }

    fn set(&mut self, operations: usize) {
        let g = metrics::gauge!("cabinet_subscriptions_active");
        g.increment(operations as f64 - self.operations as f64);
        self.operations = operations;
    }
}

impl Drop for OpenGauges {
    fn drop(&mut self) {
        self.set(0);
        metrics::gauge!("cabinet_websockets_open").decrement(1.0);
    }
}

/// The session behind the socket, once `connection_init` succeeded.
type Signed = Arc<Mutex<Option<(Uuid, Vec<u8>)>>>;

async fn run(
    socket: WebSocket,
    s: HttpState,
    protocol: WebSocketProtocols,
    client: Client,
    held: Option<Connection>,
) {
    let limits = s.limits;
    let (mut sink, mut source) = socket.split();
    let (to_machine, from_client) = tokio::sync::mpsc::channel::<String>(16);
    let signed: Signed = Arc::default();
    let machine = {
        let (pool, policy, signed) = (s.pool.clone(), s.sessions, signed.clone());
        async_graphql::http::WebSocket::new(
            s.schema.clone(),
            tokio_stream_of(from_client),
            protocol,
        )
        .on_connection_init(move |payload| async move {
            let token = init_token(&payload).ok_or_else(|| {
                async_graphql::Error::new(
                    "UNAUTHENTICATED: send {\"Authorization\": \"Bearer <token>\"} in connection_init",
                )
            })?;
            let actor = sessions::resolve(&pool, &token, policy)
                .await
                .ok()
                .flatten()
                .ok_or_else(|| async_graphql::Error::new("UNAUTHENTICATED: the token is not valid"))?;
            metrics::counter!("cabinet_subscription_connections_total").increment(1);
            let hash = sessions::token_hash(&token);
            *signed.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((actor.account_id, hash.clone()));
            let request_id = Uuid::now_v7().to_string();
            let mut data = async_graphql::Data::default();
            data.insert(SocketSession {
                token_hash: hash.clone(),
            });
            data.insert(RequestCtx {
                actor: Some(actor),
                token_hash: Some(hash),
                correlation_id: request_id.clone(),
                request_id,
                client,
                uploads: Default::default(),
                read_after: None,
                reads: Default::default(),
            });
            Ok(data)
        })
    };
    let mut machine = std::pin::pin!(machine);
    let mut active: HashSet<String> = HashSet::new();
    let mut gauges = OpenGauges::new();
    let keepalive = Duration::from_secs(limits.ws_keepalive_seconds.max(1));
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
    let mut recheck = tokio::time::interval_at(
        tokio::time::Instant::now() + SESSION_RECHECK,
        SESSION_RECHECK,
    );
    let init_deadline =
        tokio::time::sleep(Duration::from_secs(limits.ws_init_timeout_seconds.max(1)));
    let mut init_deadline = std::pin::pin!(init_deadline);
    let mut revocations = s.revocations.subscribe();
    let mut last_heard = Instant::now();
    let closing = async {
        match &held {
            Some(h) => h.0.closing().await,
            None => std::future::pending().await,
        }
    };
    let mut closing = std::pin::pin!(closing);
    let session = || signed.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let still_valid = |hash: Vec<u8>| {
        let pool = s.pool.clone();
        async move {
            // A database that does not answer is not a revocation: the next check decides.
            !matches!(
                sessions::resolve_hash(&pool, &hash, s.sessions).await,
                Ok(None)
            )
        }
    };
    loop {
        let mut check = false;
        tokio::select! {
            m = source.next() => {
                let text = match m {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Binary(b))) => match String::from_utf8(b.to_vec()) {
                        Ok(t) => t,
                        Err(_) => {
                            let _ = sink.send(close(4400, "messages are UTF-8 JSON")).await;
                            break;
                        }
                    },
                    Some(Ok(_)) => {
                        last_heard = Instant::now();
                        continue;
                    }
                };
                last_heard = Instant::now();
                if let Some(Envelope { kind, id: Some(id) }) = envelope(&text) {
                    match kind.as_str() {
                        "subscribe" | "start" => {
                            if !active.contains(&id) && active.len() >= limits.ws_max_operations {
                                metrics::counter!("cabinet_subscription_refused_total").increment(1);
                                if sink
                                    .send(over_limit(protocol, &id, limits.ws_max_operations))
                                    .await
                                    .is_err()
                                {
                                    break;
                                }
                                continue;
                            }
                            active.insert(id);
                        }
                        "complete" | "stop" => {
                            active.remove(&id);
                        }
                        _ => {}
                    }
                    gauges.set(active.len());
                }
                if to_machine.send(text).await.is_err() {
                    break;
                }
            }
            out = machine.next() => match out {
                None => break,
                Some(WsMessage::Text(t)) => {
                    if let Some(Envelope { kind, id: Some(id) }) = envelope(&t) {
                        if kind == "complete" || kind == "error" {
                            active.remove(&id);
                            gauges.set(active.len());
                        }
                    }
                    if sink.send(Message::Text(t.into())).await.is_err() {
                        break;
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    let _ = sink.send(close(code, &reason)).await;
                    break;
                }
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > keepalive * 2 {
                    let _ = sink.send(close(GOING_AWAY, "no answer to pings")).await;
                    break;
                }
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            () = &mut init_deadline, if session().is_none() => {
                let _ = sink.send(close(INIT_TIMEOUT, "Connection initialisation timeout")).await;
                break;
            }
            r = revocations.recv() => {
                use tokio::sync::broadcast::error::RecvError;
                check = match r {
                    Ok(account) => session().is_some_and(|(a, _)| a == account),
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => false,
                };
            }
            _ = recheck.tick() => check = true,
            () = &mut closing => {
                let _ = sink.send(close(GOING_AWAY, "the server is shutting down")).await;
                break;
            }
        }
        if check {
            if let Some((_, hash)) = session() {
                if !still_valid(hash).await {
                    metrics::counter!("cabinet_subscription_sessions_ended_total").increment(1);
                    let _ = sink
                        .send(close(UNAUTHORIZED, "the session has ended"))
                        .await;
                    break;
                }
            }
        }
    }
    let _ = sink.close().await;
}

/// An mpsc receiver as a stream of the protocol machine's input.
fn tokio_stream_of(
    mut rx: tokio::sync::mpsc::Receiver<String>,
) -> impl futures::Stream<Item = String> + Send + Unpin + 'static {
    Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}
