//! `POST /graphql` (JSON, or multipart with files) and `GET /graphql/ws` (subscriptions): the session is
//! resolved, the request context built, the schema executed, and the outcome measured and logged.

use async_graphql_axum::GraphQLResponse;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap};

use super::headers::{bearer_token, client_of, header};
use super::state::HttpState;
use crate::auth::sessions;
use crate::error::ApiError;
use crate::graphql::context::RequestCtx;

/// Files one GraphQL request may carry.
pub const MAX_FILES_PER_REQUEST: usize = 10;

/// Reads a GraphQL request: JSON, or multipart with files (the GraphQL multipart request spec), each file at
/// most `max_file` bytes and at most [`MAX_FILES_PER_REQUEST`] of them.
async fn read_request(
    headers: &HeaderMap,
    body: axum::body::Body,
    max_file: usize,
) -> Result<async_graphql::Request, ApiError> {
    use futures::TryStreamExt;
    use tokio_util::compat::TokioAsyncReadCompatExt;
    let content_type = header(headers, "content-type");
    let stream = body
        .into_data_stream()
        .map_err(|e| std::io::Error::other(e.to_string()));
    let reader = tokio_util::io::StreamReader::new(stream).compat();
    let opts = async_graphql::http::MultipartOptions::default()
        .max_file_size(max_file)
        .max_num_files(MAX_FILES_PER_REQUEST);
    async_graphql::http::receive_body(content_type, reader, opts)
        .await
        .map_err(|e| match e {
            async_graphql::ParseRequestError::PayloadTooLarge => ApiError::validation(
                "file",
                format!(
                    "a file is larger than {max_file} bytes, or the request carries more than {} files",
                    MAX_FILES_PER_REQUEST
                ),
            ),
            other => ApiError::validation("request", other.to_string()),
        })
}

fn error_response(e: ApiError) -> GraphQLResponse {
    async_graphql::Response::from_errors(vec![
        async_graphql::Error::from(e).into_server_error(async_graphql::Pos::default())
    ])
    .into()
}

pub(crate) async fn graphql(
    State(s): State<HttpState>,
    headers: HeaderMap,
    extensions: Extensions,
    body: axum::body::Body,
) -> GraphQLResponse {
    let token = bearer_token(&headers);
    let actor = match &token {
        Some(t) => match sessions::resolve(&s.pool, t, s.sessions).await {
            Ok(a) => a,
            Err(e) => return error_response(e),
        },
        None => None,
    };
    let req = match read_request(&headers, body, s.upload_max_bytes).await {
        Ok(r) => r,
        Err(e) => return error_response(e),
    };
    let request_id =
        header(&headers, "x-request-id").unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let ctx = RequestCtx {
        actor,
        token_hash: token.as_deref().map(sessions::token_hash),
        correlation_id: header(&headers, "x-correlation-id").unwrap_or_else(|| request_id.clone()),
        request_id,
        client: client_of(&headers, &extensions, &s.forwarding),
    };
    let started = std::time::Instant::now();
    let actor = ctx.actor.as_ref().map(|a| a.event_actor());
    let request_id = ctx.request_id.clone();
    let response = s.schema.execute(req.data(ctx)).await;
    let codes: Vec<String> = response
        .errors
        .iter()
        .map(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .map(|c| c.to_string().trim_matches('"').to_owned())
                .unwrap_or_else(|| "GRAPHQL".to_owned())
        })
        .collect();
    let elapsed = started.elapsed();
    let outcome = if codes.is_empty() { "ok" } else { "error" };
    metrics::counter!("cabinet_graphql_requests_total", "outcome" => outcome).increment(1);
    metrics::histogram!("cabinet_graphql_request_duration_seconds").record(elapsed.as_secs_f64());
    for code in &codes {
        metrics::counter!("cabinet_graphql_errors_total", "code" => code.clone()).increment(1);
    }
    tracing::info!(
        request_id,
        actor = actor.as_deref().unwrap_or("anonymous"),
        ms = elapsed.as_secs_f64() * 1000.0,
        errors = ?codes,
        "graphql"
    );
    response.into()
}

/// The bearer token of a `connection_init` payload: `{"Authorization": "Bearer <token>"}` (any case of the
/// key) or `{"token": "<token>"}`.
fn init_token(payload: &serde_json::Value) -> Option<String> {
    let obj = payload.as_object()?;
    obj.iter().find_map(|(k, v)| {
        let v = v.as_str()?;
        if k.eq_ignore_ascii_case("authorization") {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .map(|t| t.trim().to_owned())
        } else if k == "token" {
            Some(v.trim().to_owned())
        } else {
            None
        }
    })
}

/// `GET /graphql/ws`: subscriptions over `graphql-transport-ws` (and the older `graphql-ws`). The token is
/// checked in `connection_init`, as a bearer token is on `POST /graphql`; without a valid one the connection
/// is refused before any subscription starts.
pub(crate) async fn graphql_ws(
    State(s): State<HttpState>,
    protocol: async_graphql_axum::GraphQLProtocol,
    upgrade: axum::extract::WebSocketUpgrade,
    headers: HeaderMap,
    extensions: Extensions,
) -> axum::response::Response {
    let client = client_of(&headers, &extensions, &s.forwarding);
    let schema = s.schema.clone();
    let (pool, policy) = (s.pool.clone(), s.sessions);
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            async_graphql_axum::GraphQLWebSocket::new(stream, schema, protocol)
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
                        .ok_or_else(|| {
                            async_graphql::Error::new("UNAUTHENTICATED: the token is not valid")
                        })?;
                    metrics::counter!("cabinet_subscription_connections_total").increment(1);
                    let request_id = uuid::Uuid::now_v7().to_string();
                    let mut data = async_graphql::Data::default();
                    data.insert(RequestCtx {
                        actor: Some(actor),
                        token_hash: Some(sessions::token_hash(&token)),
                        correlation_id: request_id.clone(),
                        request_id,
                        client,
                    });
                    Ok(data)
                })
                .serve()
        })
}
