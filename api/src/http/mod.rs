//! HTTP: the router and the server, the GraphQL endpoints (POST, multipart uploads, subscriptions over
//! WebSocket), downloads, health and metrics.
//!
//! # Layout
//! - [`graphql`]: `POST /graphql` and `GET /graphql/ws`, the request context they build;
//! - [`headers`]: the bearer token, the client's address and user agent;
//! - [`downloads`]: `GET /documents/{id}`;
//! - [`health`]: `/healthz`, `/readyz`, `/metrics`, GraphiQL.

pub mod downloads;
pub mod graphql;
pub mod headers;
pub mod health;
mod state;

use std::future::Future;
use std::net::SocketAddr;

use axum::routing::get;
use axum::Router;

use crate::app::App;
use crate::graphql::build_schema;
use state::HttpState;

/// The HTTP routes: `POST /graphql` (JSON or multipart with files), `GET /graphql` (GraphiQL), `GET /graphql/ws`
/// (subscriptions), `GET /healthz`,
/// `GET /readyz`, `GET /metrics` (Prometheus text format), `GET /documents/{id}` (downloads).
pub fn router(app: App) -> Router {
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
        schema: build_schema(app.clone()),
    };
    let downloads = downloads::DownloadState {
        store: app.store.clone(),
        pool: state.pool.clone(),
        sessions: state.sessions,
    };
    Router::new()
        .route("/graphql", get(health::graphiql).post(graphql::graphql))
        .route("/graphql/ws", get(graphql::graphql_ws))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics_endpoint))
        .with_state(state)
        .merge(
            Router::new()
                .route("/documents/{sha256}", get(downloads::download))
                .with_state(downloads),
        )
}

/// Serves `app` on an already-bound listener until `shutdown` resolves.
///
/// # Errors
/// The server fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
