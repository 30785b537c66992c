//! The application: its database, command executors, HTTP router and server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::GraphQLResponse;
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use domain::calendar::ProductionCalendar;
use domain::clock::{BusinessClock, ClockCommand, ClockError, CLOCK_ID};
use domain::company::Company;
use domain::contract::Contract;
use projections::cluster::{cluster_dir_for, Cluster, Tuning};
use projections::command::CommandExecutor;
use projections::projection::Projection;
use sqlx::PgPool;

use crate::auth::security::Client;
use crate::auth::service::{AccountService, AccountSettings};
use crate::auth::sessions::{self, SessionPolicy};
use crate::config::Settings;
use crate::error::ApiError;
use crate::graphql::{build_schema, CabinetSchema, RequestCtx};
use crate::mail::sender::Transport;
use crate::mail::Outbox;
use lettre::message::Mailbox;

/// The application's shared state.
#[derive(Clone)]
pub struct App {
    /// The database.
    pub pool: PgPool,
    /// Company commands.
    pub companies: Arc<CommandExecutor<Company>>,
    /// Contract commands.
    pub contracts: Arc<CommandExecutor<Contract>>,
    /// Policy commands.
    pub policies: Arc<CommandExecutor<domain::policy::Policy>>,
    /// Client request commands.
    pub requests: Arc<CommandExecutor<domain::request::ClientRequest>>,
    /// News commands.
    pub news: Arc<CommandExecutor<domain::content::News>>,
    /// FAQ commands.
    pub faq: Arc<CommandExecutor<domain::content::FaqEntry>>,
    /// Terms-of-use commands.
    pub terms: Arc<CommandExecutor<domain::content::TermsOfUse>>,
    /// This process's fan-out of committed events to its subscriptions.
    pub live: Arc<crate::live::LiveFeed>,
    /// Working days to handle each kind of request.
    pub service_levels: Arc<std::collections::HashMap<domain::request::RequestKind, u32>>,
    /// Largest uploaded file, in bytes.
    pub upload_max_bytes: usize,
    /// The business clock.
    pub clock: Arc<CommandExecutor<BusinessClock>>,
    /// Working days (payment deadlines, buyout quotes).
    pub calendar: Arc<ProductionCalendar>,
    /// The inline projections (for rebuild/verify/status).
    pub inline: Arc<[Arc<dyn Projection>]>,
    /// The account flows (sign-in, recovery, staff actions).
    pub accounts: Arc<AccountService>,
    /// Where mails are written (the outbox) and how they leave (the transport).
    pub outbox: Outbox,
    /// How the outbox sender delivers.
    pub transport: Transport,
    /// Take the client address from X-Forwarded-For.
    pub trust_forwarded_for: bool,
    /// Document commands (exchange and signing).
    pub documents: Arc<CommandExecutor<domain::document::Document>>,
    /// ЭДО connection commands.
    pub edo: Arc<CommandExecutor<domain::edo::EdoConnection>>,
    /// The lessor on generated documents.
    pub lessor: Arc<crate::generate::Lessor>,
    /// The current ЭДО offer version.
    pub edo_offer_version: i32,
    /// Where file contents live.
    pub store: Arc<dyn crate::files::DocumentStore>,
}

impl App {
    /// Wires the executors over `pool`.
    ///
    /// # Errors
    /// The configured production calendar cannot be read.
    pub fn new(pool: PgPool, settings: &Settings) -> anyhow::Result<Self> {
        let inline = projections::inline_projections();
        let calendar = Arc::new(settings.production_calendar()?);
        let companies =
            projections::company_executor(pool.clone(), inline.clone(), settings.snapshot_every);
        let contracts = projections::contract_executor(
            pool.clone(),
            inline.clone(),
            settings.snapshot_every,
            calendar.clone(),
        );
        let clock =
            projections::clock_executor(pool.clone(), inline.clone(), settings.snapshot_every);
        let policies =
            projections::policy_executor(pool.clone(), inline.clone(), settings.snapshot_every);
        let requests =
            projections::request_executor(pool.clone(), inline.clone(), settings.snapshot_every);
        let snap = settings.snapshot_every;
        let news = projections::content_executor(pool.clone(), inline.clone(), snap);
        let faq = projections::content_executor(pool.clone(), inline.clone(), snap);
        let terms = projections::content_executor(pool.clone(), inline.clone(), snap);
        let documents = projections::content_executor(pool.clone(), inline.clone(), snap);
        let edo = projections::content_executor(pool.clone(), inline.clone(), snap);
        let lessor = crate::generate::Lessor {
            organisation: settings.lessor.organisation()?,
            signatory: settings.lessor.signatory.clone(),
        };
        let service_levels = domain::request::RequestKind::ALL
            .into_iter()
            .map(|k| (k, settings.service_level(k)))
            .collect();
        crate::auth::passwords::configure(settings.argon2);
        let mail_from: Mailbox = settings
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("mail_from: {e}"))?;
        let outbox = Outbox::new(mail_from, &settings.public_url);
        let transport =
            Transport::new(settings.smtp_url.as_deref(), settings.data_dir.join("mail"))?;
        let accounts = AccountService::new(
            pool.clone(),
            outbox.clone(),
            AccountSettings {
                sessions: SessionPolicy {
                    idle: chrono::Duration::hours(settings.session_idle_hours),
                    absolute: chrono::Duration::days(settings.session_max_days),
                },
                rate_per_minute: settings.auth_rate_per_minute,
                reset_answer_floor: Duration::from_millis(settings.reset_answer_floor_ms),
            },
        );
        let store = Arc::new(crate::files::PgDocumentStore::new(pool.clone()));
        Ok(Self {
            live: Arc::new(crate::live::LiveFeed::new(pool.clone())),
            pool,
            companies: Arc::new(companies),
            contracts: Arc::new(contracts),
            policies: Arc::new(policies),
            requests: Arc::new(requests),
            news: Arc::new(news),
            faq: Arc::new(faq),
            terms: Arc::new(terms),
            service_levels: Arc::new(service_levels),
            upload_max_bytes: settings.upload_max_bytes,
            clock: Arc::new(clock),
            calendar,
            inline,
            accounts: Arc::new(accounts),
            outbox,
            transport,
            trust_forwarded_for: settings.trust_forwarded_for,
            documents: Arc::new(documents),
            edo: Arc::new(edo),
            lessor: Arc::new(lessor),
            edo_offer_version: settings.edo_offer_version,
            store,
        })
    }

    /// The work that runs beside the API, each piece on one node at a time: the business-day,
    /// account-provisioning and request-effects process managers, the outbox sender, and, with `clock = auto`, the midnight
    /// clock. They stop when `shutdown` turns true.
    ///
    /// # Errors
    /// The configured time zone is unknown.
    pub fn start_background(
        &self,
        settings: &Settings,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
        let days: Arc<dyn Projection> =
            Arc::new(projections::days::BusinessDays::new(self.contracts.clone()));
        let provisioning: Arc<dyn Projection> = Arc::new(
            crate::auth::provisioning::Provisioning::new(self.outbox.clone()),
        );
        let effects: Arc<dyn Projection> =
            Arc::new(crate::effects::RequestEffects::new(self.clone()));
        let mailer: Arc<dyn Projection> = Arc::new(crate::notifications::NotificationMail::new(
            self.outbox.clone(),
        ));
        let poll = Duration::from_secs(5);
        let mut tasks = Vec::new();
        for projection in [days, provisioning, effects, mailer] {
            let pool = self.pool.clone();
            tasks.push(spawn_restarting(
                projection.name(),
                shutdown.clone(),
                move |stop| {
                    projections::runner::CatchUp::new(projection.clone(), 50).run(
                        pool.clone(),
                        poll,
                        stop,
                    )
                },
            ));
        }
        // Every node fans committed events out to its own subscribers.
        let live = self.live.clone();
        tasks.push(spawn_restarting(
            "live-feed",
            shutdown.clone(),
            move |stop| live.clone().run(stop),
        ));
        let (pool, transport, from) = (
            self.pool.clone(),
            self.transport.clone(),
            self.outbox.from.clone(),
        );
        tasks.push(spawn_restarting(
            "outbox-sender",
            shutdown.clone(),
            move |stop| {
                crate::mail::sender::run(pool.clone(), transport.clone(), from.clone(), poll, stop)
            },
        ));
        if settings.clock == crate::config::ClockMode::Auto {
            let tz = settings.tz()?;
            let clock = self.clock.clone();
            tasks.push(tokio::spawn(run_midnight_clock(clock, tz, shutdown)));
        }
        Ok(tasks)
    }
}

/// Runs a worker (`run`, given the shutdown signal) until it returns or `stop` turns true, starting it again
/// 2 s after a failure.
fn spawn_restarting<F, Fut, E>(
    name: &'static str,
    mut stop: tokio::sync::watch::Receiver<bool>,
    run: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(tokio::sync::watch::Receiver<bool>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        loop {
            match run(stop.clone()).await {
                Ok(()) => return,
                Err(e) => tracing::error!(worker = name, error = %e, "worker failed; restarting"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                _ = stop.changed() => return,
            }
        }
    })
}

/// The business day in `tz` at `now`, and when the next one starts (local midnight, as UTC).
pub fn business_day_at(
    now: chrono::DateTime<chrono::Utc>,
    tz: chrono_tz::Tz,
) -> (chrono::NaiveDate, Option<chrono::DateTime<chrono::Utc>>) {
    let today = now.with_timezone(&tz).date_naive();
    let next = (today + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .map(|t| t.with_timezone(&chrono::Utc));
    (today, next)
}

/// Starts each new business day at local midnight in `tz` (and, at start-up, today if the clock is behind).
async fn run_midnight_clock(
    clock: Arc<CommandExecutor<BusinessClock>>,
    tz: chrono_tz::Tz,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let (today, next_midnight) = business_day_at(chrono::Utc::now(), tz);
        let meta = projections::event::CommandMeta::system("clock");
        match clock
            .execute(CLOCK_ID, ClockCommand::AdvanceClock { to: today }, &meta)
            .await
        {
            Ok(o) if o.events > 0 => {
                tracing::info!(%today, days = o.events, "business day started")
            }
            Ok(_) => {}
            // An operator moved the clock ahead by hand: wait for the calendar to catch up.
            Err(projections::command::CommandError::Rejected(ClockError::Backwards {
                current,
            })) => {
                tracing::debug!(%current, "business clock is ahead of the wall clock")
            }
            Err(e) => tracing::error!(error = %e, "starting the business day failed"),
        }
        let wait = next_midnight
            .and_then(|t| (t - chrono::Utc::now()).to_std().ok())
            .unwrap_or(Duration::from_secs(60))
            // Wake at least hourly so a suspended machine or a clock change is noticed.
            .min(Duration::from_secs(3600));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
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
    sessions: SessionPolicy,
    trust_forwarded_for: bool,
    upload_max_bytes: usize,
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_owned)
}

/// The token of `Authorization: Bearer <token>`, when sent (GraphQL and downloads alike).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    header(headers, "authorization")
        .and_then(|v| v.strip_prefix("Bearer ").map(|t| t.trim().to_owned()))
}

/// Where a request came from: the peer address (or, behind a trusted proxy, the first X-Forwarded-For
/// entry) and the User-Agent.
fn client_of(headers: &HeaderMap, extensions: &Extensions, trust_forwarded_for: bool) -> Client {
    let forwarded = trust_forwarded_for
        .then(|| header(headers, "x-forwarded-for"))
        .flatten()
        .and_then(|v| v.split(',').next().map(|a| a.trim().to_owned()))
        .filter(|a| a.parse::<std::net::IpAddr>().is_ok());
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    Client {
        address: forwarded.or(peer),
        user_agent: header(headers, "user-agent"),
    }
}

/// Reads a GraphQL request: JSON, or multipart with files (the GraphQL multipart request spec), each file at
/// most `max_file` bytes and at most [`crate::files::MAX_FILES_PER_REQUEST`] of them.
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
        .max_num_files(crate::files::MAX_FILES_PER_REQUEST);
    async_graphql::http::receive_body(content_type, reader, opts)
        .await
        .map_err(|e| match e {
            async_graphql::ParseRequestError::PayloadTooLarge => ApiError::validation(
                "file",
                format!(
                    "a file is larger than {max_file} bytes, or the request carries more than {} files",
                    crate::files::MAX_FILES_PER_REQUEST
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

async fn graphql(
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
        client: client_of(&headers, &extensions, s.trust_forwarded_for),
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
async fn graphql_ws(
    State(s): State<HttpState>,
    protocol: async_graphql_axum::GraphQLProtocol,
    upgrade: axum::extract::WebSocketUpgrade,
    headers: HeaderMap,
    extensions: Extensions,
) -> axum::response::Response {
    let client = client_of(&headers, &extensions, s.trust_forwarded_for);
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
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .finish(),
    )
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

/// The HTTP routes: `POST /graphql` (JSON or multipart with files), `GET /graphql` (GraphiQL), `GET /graphql/ws`
/// (subscriptions), `GET /healthz`,
/// `GET /readyz`, `GET /metrics` (Prometheus text format), `GET /documents/{sha256}` (downloads).
pub fn router(app: App) -> Router {
    // Install the registry before the first request records anything.
    let _ = crate::telemetry::metrics();
    let state = HttpState {
        pool: app.pool.clone(),
        sessions: app.accounts.session_policy(),
        trust_forwarded_for: app.trust_forwarded_for,
        upload_max_bytes: app.upload_max_bytes,
        schema: build_schema(app.clone()),
    };
    let downloads = crate::files::DownloadState {
        store: app.store.clone(),
        pool: state.pool.clone(),
        sessions: state.sessions,
    };
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_endpoint))
        .with_state(state)
        .merge(
            Router::new()
                .route("/documents/{sha256}", get(crate::files::download))
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

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[test]
    fn the_client_address_is_the_peer_unless_a_trusted_proxy_forwards_it() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.7, 10.0.0.1".parse().unwrap());
        headers.insert("user-agent", "Firefox/140".parse().unwrap());
        let mut ext = Extensions::new();
        ext.insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 5555))));
        let direct = client_of(&headers, &ext, false);
        assert_eq!(direct.address.as_deref(), Some("10.0.0.1"));
        assert_eq!(direct.user_agent.as_deref(), Some("Firefox/140"));
        assert_eq!(
            client_of(&headers, &ext, true).address.as_deref(),
            Some("203.0.113.7")
        );
        headers.insert("x-forwarded-for", "not-an-address".parse().unwrap());
        assert_eq!(
            client_of(&headers, &ext, true).address.as_deref(),
            Some("10.0.0.1")
        );
        assert_eq!(client_of(&headers, &Extensions::new(), false).address, None);
    }

    #[test]
    fn a_business_day_starts_at_midnight_in_the_lessors_time_zone() {
        let moscow = chrono_tz::Europe::Moscow;
        let before = Utc.with_ymd_and_hms(2026, 3, 10, 20, 59, 59).unwrap();
        let (today, next) = business_day_at(before, moscow);
        assert_eq!(today.to_string(), "2026-03-10");
        assert_eq!(
            next,
            Some(Utc.with_ymd_and_hms(2026, 3, 10, 21, 0, 0).unwrap())
        );
        let (today, _) =
            business_day_at(Utc.with_ymd_and_hms(2026, 3, 10, 21, 0, 0).unwrap(), moscow);
        assert_eq!(today.to_string(), "2026-03-11");
        // Vladivostok (UTC+10) is already on the next day.
        let (today, _) = business_day_at(before, chrono_tz::Asia::Vladivostok);
        assert_eq!(today.to_string(), "2026-03-11");
    }
}
