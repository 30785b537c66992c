//! What every HTTP request leaves behind for the operator: a span (`request`, with the route, the request
//! id and — once known — the GraphQL operation, the actor and the correlation id; commands, the store and
//! inline projections run inside it), W3C trace context in (`traceparent` of the caller) and out (the
//! `traceparent` of this request's span, and `X-Request-Id`), and the HTTP metrics per route and status.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

/// The request id this server gave a request (the GraphQL handler may let staff name their own).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The HTTP methods counted by name; anything else counts as `other` (labels stay few).
fn method_label(m: &axum::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        _ => "other",
    }
}

/// `cabinet_http_requests_in_flight`, taken back however the request ends (a dropped connection included).
struct InFlight;

impl InFlight {
    fn new() -> Self {
        metrics::gauge!("cabinet_http_requests_in_flight").increment(1.0);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!("cabinet_http_requests_in_flight").decrement(1.0);
    }
}

/// The middleware: span, trace context, request id, metrics.
pub(crate) async fn http_metrics(mut req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(req.method());
    let request_id = uuid::Uuid::now_v7().to_string();
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let span = tracing::info_span!(
        "request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = %route,
        request_id = %request_id,
        operation = tracing::field::Empty,
        actor = tracing::field::Empty,
        correlation_id = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    crate::telemetry::continue_trace(&span, req.headers());
    let traceparent = crate::telemetry::traceparent_of(&span);
    let started = Instant::now();
    let in_flight = InFlight::new();
    let mut response = next.run(req).instrument(span.clone()).await;
    drop(in_flight);
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    metrics::counter!(
        "cabinet_http_requests_total",
        "route" => route.clone(),
        "method" => method,
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "cabinet_http_request_duration_seconds",
        "route" => route,
        "method" => method
    )
    .record(started.elapsed().as_secs_f64());
    let headers = response.headers_mut();
    if !headers.contains_key("x-request-id") {
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            headers.insert("x-request-id", v);
        }
    }
    if let Some(tp) = traceparent.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert("traceparent", tp);
    }
    response
}
