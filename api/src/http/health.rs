//! Liveness, readiness, metrics and GraphiQL.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::state::HttpState;

/// The Prometheus text, to a caller that may read it: with `metrics_token` set, one that sends it as a
/// bearer token; without, one on the loopback interface (the operator's own scraper on the host).
pub(crate) async fn metrics_endpoint(
    State(s): State<HttpState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
) -> Response {
    let peer = extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    metrics_for(s.metrics_token.as_deref(), peer, &headers)
}

/// `/metrics` on the metrics address of its own.
pub(crate) async fn metrics_only(
    State(token): State<Option<Arc<str>>>,
    headers: HeaderMap,
) -> Response {
    // That address is the operator's: without a token, anyone who reaches it may read.
    let allowed = match token.as_deref() {
        Some(t) => token_matches(t, &headers),
        None => true,
    };
    if allowed {
        render()
    } else {
        denied()
    }
}

fn token_matches(expected: &str, headers: &HeaderMap) -> bool {
    use sha2::{Digest, Sha256};
    let given = super::headers::bearer_token(headers).unwrap_or_default();
    // Compared as digests, so the time taken says nothing of how much matched.
    Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes())
}

fn metrics_for(
    token: Option<&str>,
    peer: Option<std::net::SocketAddr>,
    headers: &HeaderMap,
) -> Response {
    let allowed = match token {
        Some(t) => token_matches(t, headers),
        None => {
            peer.is_some_and(|p| p.ip().is_loopback()) && !headers.contains_key("x-forwarded-for")
        }
    };
    if allowed {
        render()
    } else {
        denied()
    }
}

fn denied() -> Response {
    (
        StatusCode::FORBIDDEN,
        "metrics: send the metrics token (Authorization: Bearer), or read them from the host itself",
    )
        .into_response()
}

fn render() -> Response {
    match crate::telemetry::metrics() {
        Some(h) => {
            crate::telemetry::sample_process();
            (StatusCode::OK, h.render()).into_response()
        }
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder unavailable",
        )
            .into_response(),
    }
}

/// GraphiQL's page may load scripts and styles from this server only (styles inline too: the editor sets
/// them), and talk to this server only.
const GRAPHIQL_CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'none'";

/// `GET /graphql`: GraphiQL's page.
pub(crate) async fn graphiql() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(GRAPHIQL_CSP),
            ),
        ],
        include_str!("../../assets/graphiql/index.html"),
    )
        .into_response()
}

/// `GET /graphql` with `graphiql = false`.
pub(crate) async fn no_graphiql() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, HeaderValue::from_static("POST"))],
        "send GraphQL requests with POST (GraphiQL is turned off on this server)",
    )
        .into_response()
}

/// The files GraphiQL's page loads: (name, content type, gzip-compressed, bytes).
const ASSETS: &[(&str, &str, bool, &[u8])] = &[
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        true,
        include_bytes!("../../assets/graphiql/graphiql.min.js.gz"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        true,
        include_bytes!("../../assets/graphiql/graphiql.min.css.gz"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        true,
        include_bytes!("../../assets/graphiql/react.production.min.js.gz"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        true,
        include_bytes!("../../assets/graphiql/react-dom.production.min.js.gz"),
    ),
    (
        "init.js",
        "text/javascript; charset=utf-8",
        false,
        include_bytes!("../../assets/graphiql/init.js"),
    ),
    (
        "page.css",
        "text/css; charset=utf-8",
        false,
        include_bytes!("../../assets/graphiql/page.css"),
    ),
];

/// `GET /graphiql/{asset}`: one of GraphiQL's files, from the binary.
pub(crate) async fn graphiql_asset(Path(name): Path<String>) -> Response {
    let Some((_, content_type, gzipped, bytes)) = ASSETS.iter().find(|(n, ..)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut r = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        *bytes,
    )
        .into_response();
    if *gzipped {
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r
}

pub(crate) async fn healthz() -> &'static str {
    "ok"
}

pub(crate) async fn readyz(State(s): State<HttpState>) -> (StatusCode, &'static str) {
    let ping = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("SELECT 1").execute(&s.pool),
    )
    .await;
    match ping {
        Ok(Ok(_)) => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}
