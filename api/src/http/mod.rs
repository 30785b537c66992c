//! HTTP: the router and the server, the GraphQL endpoints (POST, multipart uploads, subscriptions over
//! WebSocket), downloads, health and metrics.
//!
//! # Layout
//! - [`graphql`]: `POST /graphql` and `GET /graphql/ws`, the request context they build;
//! - [`headers`]: the bearer token, the client's address and user agent;
//! - [`downloads`]: `GET /documents/{id}`;
//! - [`health`]: `/healthz`, `/readyz`, `/metrics`, GraphiQL.

pub mod downloads;
pub mod exports;
pub mod graphql;
pub mod headers;
pub mod health;
mod observe;
pub mod server;
mod state;
mod ws;

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::routing::get;
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::app::App;
use crate::config::{HttpSettings, Introspection, Settings};
use crate::graphql::build_schema;
use state::HttpState;

/// What the HTTP layer takes from the settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Limits of the transport.
    pub limits: HttpSettings,
    /// Who may use introspection.
    pub introspection: Introspection,
    /// GraphiQL at `GET /graphql`.
    pub graphiql: bool,
    /// The token `/metrics` asks for.
    pub metrics_token: Option<String>,
    /// `/metrics` on an address of its own (and not on the public router).
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl From<&Settings> for HttpConfig {
    fn from(s: &Settings) -> Self {
        Self {
            limits: s.http,
            introspection: s.introspection,
            graphiql: s.graphiql,
            metrics_token: s.metrics_token.as_ref().map(|t| t.expose().to_owned()),
            metrics_listen: s.metrics_listen,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self::from(&Settings::default())
    }
}

/// The content security policy of every answer but GraphiQL's page: nothing may load, nothing may frame.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The HTTP routes: `POST /graphql` (JSON or multipart with files), `GET /graphql` (GraphiQL, with its
/// assets under `/graphiql/`), `GET /graphql/ws` (subscriptions), `GET /healthz`, `GET /readyz`,
/// `GET /metrics` (Prometheus text format; unless it has an address of its own), `GET /documents/{id}`
/// (downloads). Every answer carries the security headers; every request but a WebSocket's is bounded in
/// time.
pub fn router(app: App, config: &HttpConfig) -> Router {
    // Install the registry before the first request records anything.
    let _ = crate::telemetry::metrics();
    let state = HttpState {
        pool: app.pool.clone(),
        sessions: app.accounts.session_policy(),
        forwarding: headers::Forwarding {
            trust_peer: app.trust_forwarded_for,
            proxies: app.trusted_proxies.clone(),
        },
        upload_max_bytes: app.upload_max_bytes,
        limits: config.limits,
        introspection: config.introspection,
        metrics_token: config.metrics_token.clone().map(Arc::from),
        revocations: app.revocations.clone(),
        store: app.store.clone(),
        replicas: app.reads.any(),
        schema: build_schema(app.clone()),
    };
    let downloads = downloads::DownloadState {
        store: app.store.clone(),
        pool: state.pool.clone(),
        sessions: state.sessions,
        links: app.links.clone(),
    };
    let exports = exports::ExportState {
        sessions: state.sessions,
        docs: app.document_service.clone(),
    };
    let mut graphql = get(health::no_graphiql);
    if config.graphiql {
        graphql = get(health::graphiql);
    }
    let mut routes = Router::new()
        .route("/graphql", graphql.post(graphql::graphql))
        .route("/graphql/ws", get(ws::graphql_ws))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    if config.graphiql {
        routes = routes.route("/graphiql/{asset}", get(health::graphiql_asset));
    }
    if config.metrics_listen.is_none() {
        routes = routes.route("/metrics", get(health::metrics_endpoint));
    }
    let timeout = Duration::from_secs(config.limits.request_timeout_seconds.max(1));
    routes
        .with_state(state)
        .merge(
            Router::new()
                .route("/documents/{sha256}", get(downloads::download))
                .with_state(downloads),
        )
        .merge(
            Router::new()
                .route("/exports/{file}", get(exports::export))
                .with_state(exports),
        )
        .route_layer(axum::middleware::from_fn(observe::http_metrics))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(API_CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// The router of the metrics address (`metrics_listen`): `/metrics` alone, still asking for the token
/// when one is set.
fn metrics_router(config: &HttpConfig) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics_only))
        .with_state(config.metrics_token.clone().map(Arc::from))
}

/// Serves `app` on an already-bound listener until `shutdown` resolves, within the limits of `config`; with
/// `metrics_listen` set, `/metrics` is served there beside it.
///
/// # Errors
/// The metrics address cannot be bound.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    config: &HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Our own proxies are not held to the per-address limit: they carry many clients.
    let exempt: Arc<[IpAddr]> = app.trusted_proxies.clone();
    let trust_all = app.trust_forwarded_for;
    let (stop_metrics, metrics_stopped) = tokio::sync::watch::channel(false);
    if let Some(addr) = config.metrics_listen {
        let l = tokio::net::TcpListener::bind(addr).await?;
        let mut stopped = metrics_stopped.clone();
        tokio::spawn(server::serve_router(
            l,
            metrics_router(config),
            config.limits,
            Arc::from([]),
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            },
        ));
    }
    let mut limits = config.limits;
    if trust_all {
        // The peer is our proxy: the per-address limit cannot tell its clients apart.
        limits.max_connections_per_address = limits.max_connections;
    }
    let r = server::serve_router(listener, router(app, config), limits, exempt, shutdown).await;
    let _ = stop_metrics.send(true);
    r
}
