//! `POST /graphql` (JSON, or multipart with files) and `GET /graphql/ws` (subscriptions): the session is
//! resolved, the request context built, the schema executed, and the outcome measured and logged.

use async_graphql_axum::GraphQLResponse;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::headers::{bearer_token, client_of, header};
use super::state::HttpState;
use crate::auth::sessions;
use crate::config::{HttpSettings, Introspection};
use crate::error::ApiError;
use crate::graphql::context::RequestCtx;

/// Files one GraphQL request may carry.
pub const MAX_FILES_PER_REQUEST: usize = 10;

/// The kind of body a `POST /graphql` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Json,
    Multipart,
}

/// What a body's `Content-Type` allows. A browser sends `text/plain`, form and multipart bodies across
/// sites without asking the server first (a CSRF-simple request), so: JSON, or multipart with one of the
/// headers a cross-site form cannot set (`Apollo-Require-Preflight`, `X-Apollo-Operation-Name`, the
/// preflight headers Apollo's and other clients' upload links send).
fn body_kind(headers: &HeaderMap) -> Result<BodyKind, ApiError> {
    let content_type = header(headers, "content-type").unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" | "application/graphql-response+json" => Ok(BodyKind::Json),
        "multipart/form-data" => {
            if header(headers, "apollo-require-preflight").is_some()
                || header(headers, "x-apollo-operation-name").is_some()
            {
                Ok(BodyKind::Multipart)
            } else {
                Err(ApiError::validation(
                    "content-type",
                    "a multipart request must carry an Apollo-Require-Preflight header (any value)",
                ))
            }
        }
        "" => Err(ApiError::validation(
            "content-type",
            "send application/json (or multipart/form-data with files)",
        )),
        other => Err(ApiError::validation(
            "content-type",
            format!("{other} is not accepted; send application/json (or multipart/form-data with files)"),
        )),
    }
}

/// Reads a GraphQL request: JSON of at most `limits.request_max_bytes`, or multipart with files (the
/// GraphQL multipart request spec), each file at most `max_file` bytes and at most
/// [`MAX_FILES_PER_REQUEST`] of them.
async fn read_request(
    headers: &HeaderMap,
    body: axum::body::Body,
    kind: BodyKind,
    limits: &HttpSettings,
    max_file: usize,
) -> Result<async_graphql::Request, (StatusCode, ApiError)> {
    use futures::TryStreamExt;
    use tokio_util::compat::TokioAsyncReadCompatExt;
    let max_body = match kind {
        BodyKind::Json => limits.request_max_bytes,
        BodyKind::Multipart => limits
            .request_max_bytes
            .saturating_add(max_file.saturating_mul(MAX_FILES_PER_REQUEST)),
    };
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::validation(
                "request",
                match kind {
                    BodyKind::Json => format!("the body is larger than {max_body} bytes"),
                    BodyKind::Multipart => format!(
                        "the body is larger than {max_body} bytes ({MAX_FILES_PER_REQUEST} files of {max_file} bytes at most)"
                    ),
                },
            ),
        )
    };
    let declared = header(headers, "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body as u64) {
        return Err(too_large());
    }
    let content_type = header(headers, "content-type");
    let body = http_body_util::Limited::new(body, max_body);
    let exceeded = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = exceeded.clone();
    let stream = http_body_util::BodyDataStream::new(body).map_err(move |e| {
        if e.is::<http_body_util::LengthLimitError>() {
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        std::io::Error::other(e.to_string())
    });
    let reader = tokio_util::io::StreamReader::new(stream).compat();
    let opts = async_graphql::http::MultipartOptions::default()
        .max_file_size(max_file)
        .max_num_files(MAX_FILES_PER_REQUEST);
    let read = async_graphql::http::receive_body(content_type, reader, opts).await;
    if exceeded.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(too_large());
    }
    read.map_err(|e| match e {
        async_graphql::ParseRequestError::PayloadTooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::validation(
                "file",
                format!(
                    "a file is larger than {max_file} bytes, or the request carries more than {MAX_FILES_PER_REQUEST} files"
                ),
            ),
        ),
        other => (
            StatusCode::BAD_REQUEST,
            ApiError::validation("request", other.to_string()),
        ),
    })
}

/// A request refused before GraphQL ran: the status and a GraphQL error body naming the field.
fn refused(status: StatusCode, e: ApiError) -> Response {
    let body = async_graphql::Response::from_errors(vec![
        async_graphql::Error::from(e).into_server_error(async_graphql::Pos::default())
    ]);
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        serde_json::to_string(&body).unwrap_or_default(),
    )
        .into_response()
}

pub(crate) async fn graphql(
    State(s): State<HttpState>,
    headers: HeaderMap,
    extensions: Extensions,
    body: axum::body::Body,
) -> Response {
    let kind = match body_kind(&headers) {
        Ok(k) => k,
        Err(e) => return refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, e),
    };
    let token = bearer_token(&headers);
    let actor = match &token {
        Some(t) => match sessions::resolve(&s.pool, t, s.sessions).await {
            Ok(a) => a,
            Err(e) => return refused(StatusCode::OK, e),
        },
        None => None,
    };
    let mut req = match read_request(&headers, body, kind, &s.limits, s.upload_max_bytes).await {
        Ok(r) => r,
        Err((status, e)) => return refused(status, e),
    };
    let introspection = match s.introspection {
        Introspection::Public => true,
        Introspection::Authenticated => actor.is_some(),
        Introspection::Off => false,
    };
    if !introspection {
        req = req.disable_introspection();
    }
    // Only the lessor's staff (and its back office, which signs in as staff) may tie a request to a story of
    // their own; a client's ids would join its events to anyone's (a business day, say).
    let staff = actor.as_ref().is_some_and(|a| a.is_staff());
    let given = |name| staff.then(|| header(&headers, name)).flatten();
    let request_id = given("x-request-id").unwrap_or_else(|| {
        extensions
            .get::<super::observe::RequestId>()
            .map_or_else(|| uuid::Uuid::now_v7().to_string(), |r| r.0.clone())
    });
    let ctx = RequestCtx {
        actor,
        token_hash: token.as_deref().map(sessions::token_hash),
        correlation_id: given("x-correlation-id").unwrap_or_else(|| request_id.clone()),
        request_id,
        client: client_of(&headers, &extensions, &s.forwarding),
        uploads: Default::default(),
        read_after: match header(&headers, "cabinet-read-after") {
            None => None,
            Some(p) => match crate::graphql::read_after(&p) {
                Some(position) => Some(position),
                None => {
                    return refused(
                        StatusCode::BAD_REQUEST,
                        ApiError::validation(
                            "Cabinet-Read-After",
                            "not a position this API returned",
                        ),
                    )
                }
            },
        },
        reads: Default::default(),
    };
    let uploads = ctx.uploads.clone();
    // With read replicas, a session's mutation raises its read floor (below), so its next reads see it.
    let floor_for = match (&ctx.token_hash, s.replicas && is_mutation(&req)) {
        (Some(hash), true) => Some(hash.clone()),
        _ => None,
    };
    let started = std::time::Instant::now();
    let actor = ctx.actor.as_ref().map(|a| a.event_actor());
    let request_id = ctx.request_id.clone();
    let operation = operation_name(&req);
    // The request's span (opened by the HTTP layer) learns what it is about; commands, the store and the
    // inline projections run inside it.
    let span = tracing::Span::current();
    span.record("request_id", request_id.as_str());
    span.record("correlation_id", ctx.correlation_id.as_str());
    span.record("operation", operation.as_str());
    span.record("actor", actor.as_deref().unwrap_or("anonymous"));
    // Messages in the caller's language (Russian unless Accept-Language prefers English).
    let language =
        crate::error::reason::from_accept_language(header(&headers, "accept-language").as_deref());
    let response = crate::error::reason::LANGUAGE
        .scope(language, s.schema.execute(req.data(ctx)))
        .await;
    if let Some(hash) = floor_for.filter(|_| response.errors.is_empty()) {
        if let Err(e) = sessions::raise_read_floor(&s.pool, &hash).await {
            tracing::warn!(error = %e, "raising a session's read floor failed");
        }
    }
    if !response.errors.is_empty() {
        // A refused command leaves no file behind (one another field or request still uses stays).
        for (sha256, mark) in uploads.take() {
            match s.store.discard(&sha256, mark).await {
                Ok(true) => metrics::counter!("cabinet_uploads_discarded_total").increment(1),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e.message(), "discarding an upload failed"),
            }
        }
    }
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
        operation,
        actor = actor.as_deref().unwrap_or("anonymous"),
        ms = elapsed.as_secs_f64() * 1000.0,
        errors = ?codes,
        "graphql"
    );
    let mut r = GraphQLResponse::from(response).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&request_id) {
        r.headers_mut().insert("x-request-id", v);
    }
    r
}

/// The operation's name for logs and spans: the one the request names, else the first operation's name in
/// the document, else its kind and first field (`mutation login`), at most 100 characters.
/// Whether the request runs a mutation (its named operation, or its only one).
fn is_mutation(req: &async_graphql::Request) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(doc) = async_graphql::parser::parse_query(&req.query) else {
        return false;
    };
    let ty = match &doc.operations {
        DocumentOperations::Single(op) => Some(op.node.ty),
        DocumentOperations::Multiple(ops) => match req.operation_name.as_deref() {
            Some(name) => ops.get(name).map(|op| op.node.ty),
            None => ops.values().next().map(|op| op.node.ty),
        },
    };
    ty == Some(OperationType::Mutation)
}

fn operation_name(req: &async_graphql::Request) -> String {
    if let Some(name) = req.operation_name.as_deref().filter(|n| !n.is_empty()) {
        return name.chars().take(100).collect();
    }
    // A cheap look at the text, no second parse: `query Name(…) {`, `mutation($i: …) { field`, `{ field`.
    let text = req.query.trim_start();
    let head_end = text.find('{').unwrap_or(text.len());
    let head = &text[..head_end];
    let word = |t: &str| -> Option<String> {
        t.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .find(|w| !w.is_empty())
            .map(str::to_owned)
    };
    let kind = ["query", "mutation", "subscription"]
        .into_iter()
        .find(|k| head.starts_with(k))
        .unwrap_or("query");
    let after_kind = head.strip_prefix(kind).unwrap_or(head);
    let named = after_kind
        .split('(')
        .next()
        .and_then(word)
        .filter(|_| !after_kind.trim_start().starts_with('('));
    let name = named.or_else(|| word(&text[(head_end + 1).min(text.len())..]));
    format!("{kind} {}", name.as_deref().unwrap_or("?"))
        .chars()
        .take(100)
        .collect()
}

/// The bearer token of a `connection_init` payload: `{"Authorization": "Bearer <token>"}` (any case of the
/// key) or `{"token": "<token>"}`.
pub(super) fn init_token(payload: &serde_json::Value) -> Option<String> {
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

#[cfg(test)]
mod tests {
    #[test]
    fn operations_are_named_for_logs() {
        let name = |q: &str| super::operation_name(&async_graphql::Request::new(q));
        assert_eq!(name("query Debt { debt { total } }"), "query Debt");
        assert_eq!(
            name("mutation($i: X!) { recordPayment(input: $i) { position } }"),
            "mutation recordPayment"
        );
        assert_eq!(name("{ me { id } }"), "query me");
        assert_eq!(
            name("subscription Live($c: UUID) { notifications { id } }"),
            "subscription Live"
        );
        assert_eq!(
            super::operation_name(&async_graphql::Request::new("{ a }").operation_name("Mine")),
            "Mine"
        );
    }
}
