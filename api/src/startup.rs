//! The application: its database, command executors, HTTP router and server.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use domain::company::Company;
use projections::cluster::{cluster_dir_for, Cluster, Tuning};
use projections::command::CommandExecutor;
use projections::projection::Projection;
use sqlx::PgPool;

use crate::auth::sessions;
use crate::config::Settings;
use crate::graphql::{build_schema, CabinetSchema, RequestCtx};

/// The application's shared state.
#[derive(Clone)]
pub struct App {
    /// The database.
    pub pool: PgPool,
    /// Company commands.
    pub companies: Arc<CommandExecutor<Company>>,
    /// The inline projections (for rebuild/verify/status).
    pub inline: Arc<[Arc<dyn Projection>]>,
    /// Session lifetime.
    pub session_ttl: chrono::Duration,
}

impl App {
    /// Wires the executors over `pool`.
    pub fn new(pool: PgPool, settings: &Settings) -> Self {
        let inline = projections::inline_projections();
        let companies =
            projections::company_executor(pool.clone(), inline.clone(), settings.snapshot_every);
        Self {
            pool,
            companies: Arc::new(companies),
            inline,
            session_ttl: chrono::Duration::hours(settings.session_ttl_hours),
        }
    }
}

/// The database the process uses: a given server, or a private cluster it started.
pub struct Database {
    /// The pool on the `cabinet` database.
    pub pool: PgPool,
    cluster: Option<Cluster>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or starts (or joins) the private cluster under the data directory and
    /// creates the `cabinet` database; then applies migrations.
    ///
    /// # Errors
    /// No PostgreSQL binaries (the message names the `postgresql` package and DATABASE_URL), a failing
    /// cluster, connection or migration.
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let (url, cluster) = match &settings.database_url {
            Some(url) if !url.is_empty() => (url.clone(), None),
            _ => {
                let data_dir = settings.data_dir.clone();
                let cluster = tokio::task::spawn_blocking(move || -> anyhow::Result<Cluster> {
                    let dir = cluster_dir_for(&data_dir)?;
                    let mut c = Cluster::open(&dir, Tuning::default())?;
                    c.start()?;
                    Ok(c)
                })
                .await
                .context("starting PostgreSQL")??;
                let admin = projections::db::connect(&cluster.url("postgres")?, 1)
                    .await
                    .context("connecting to the private PostgreSQL")?;
                projections::db::ensure_database(&admin, "cabinet").await?;
                admin.close().await;
                tracing::info!(dir = %cluster.base().display(), "private PostgreSQL cluster running");
                (cluster.url("cabinet")?, Some(cluster))
            }
        };
        let pool = projections::db::connect(&url, settings.pool_size)
            .await
            .context("connecting to PostgreSQL")?;
        projections::db::migrate(&pool)
            .await
            .context("applying migrations")?;
        Ok(Self { pool, cluster })
    }

    /// Closes the pool and stops the private cluster if this process started it.
    pub async fn close(mut self) {
        self.pool.close().await;
        if let Some(mut c) = self.cluster.take() {
            if let Err(e) = tokio::task::spawn_blocking(move || c.stop()).await {
                tracing::warn!(error = %e, "stopping PostgreSQL");
            }
        }
    }
}

#[derive(Clone)]
struct HttpState {
    schema: CabinetSchema,
    pool: PgPool,
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_owned)
}

async fn graphql(
    State(s): State<HttpState>,
    headers: HeaderMap,
    req: GraphQLRequest,
) -> GraphQLResponse {
    let token = header(&headers, "authorization")
        .and_then(|v| v.strip_prefix("Bearer ").map(|t| t.trim().to_owned()));
    let actor = match &token {
        Some(t) => match sessions::resolve(&s.pool, t).await {
            Ok(a) => a,
            Err(e) => {
                return async_graphql::Response::from_errors(vec![
                    async_graphql::Error::from(e).into_server_error(async_graphql::Pos::default())
                ])
                .into()
            }
        },
        None => None,
    };
    let request_id =
        header(&headers, "x-request-id").unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let ctx = RequestCtx {
        actor,
        token_hash: token.as_deref().map(sessions::token_hash),
        correlation_id: header(&headers, "x-correlation-id").unwrap_or_else(|| request_id.clone()),
        request_id,
    };
    let started = std::time::Instant::now();
    let actor = ctx.actor.as_ref().map(|a| a.event_actor());
    let request_id = ctx.request_id.clone();
    let response = s.schema.execute(req.into_inner().data(ctx)).await;
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

async fn metrics_endpoint() -> (StatusCode, String) {
    match crate::telemetry::metrics() {
        Some(h) => (StatusCode::OK, h.render()),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder unavailable".into(),
        ),
    }
}

async fn graphiql() -> impl IntoResponse {
    Html(GraphiQLSource::build().endpoint("/graphql").finish())
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(s): State<HttpState>) -> (StatusCode, &'static str) {
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

/// The HTTP routes: `POST /graphql`, `GET /graphql` (GraphiQL), `GET /healthz`, `GET /readyz`,
/// `GET /metrics` (Prometheus text format).
pub fn router(app: App) -> Router {
    // Install the registry before the first request records anything.
    let _ = crate::telemetry::metrics();
    let state = HttpState {
        pool: app.pool.clone(),
        schema: build_schema(app),
    };
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_endpoint))
        .with_state(state)
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
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}
