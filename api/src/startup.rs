//! Start-up: the database the process uses (a given server, or a private cluster it starts), and the
//! wiring of the application, its workers and its HTTP server.

use anyhow::Context as _;
use projections::postgres::cluster::{cluster_dir_for, Cluster, Tuning};
use sqlx::PgPool;

use crate::config::Settings;

/// Whether opening the database changes its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrations {
    /// Apply pending migrations (and the one-time sealing), as `cabinet migrate` does.
    Apply,
    /// Only check that none is pending (`serve --no-migrate`, with a runtime role that may not change the
    /// schema).
    Check,
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
        Self::open_with(settings, Migrations::Apply).await
    }

    /// As [`Database::open`], applying migrations or only checking that they were applied.
    ///
    /// # Errors
    /// As [`Database::open`]; with [`Migrations::Check`], a schema behind this binary.
    pub async fn open_with(settings: &Settings, migrations: Migrations) -> anyhow::Result<Self> {
        settings.personal_data.install()?;
        let (url, cluster) = match &settings.database_url {
            Some(url) if !url.expose().is_empty() => (url.expose().to_owned(), None),
            _ if settings.require_database_url => anyhow::bail!(
                "database_url: not set, and require_database_url is on (as in the container image): set \
                 DATABASE_URL (or DATABASE_URL_FILE), or pass `serve --private-cluster` to start a private \
                 PostgreSQL under {}",
                settings.data_dir.display()
            ),
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
                let admin = projections::postgres::db::connect(&cluster.url("postgres")?, 1)
                    .await
                    .context("connecting to the private PostgreSQL")?;
                projections::postgres::db::ensure_database(&admin, "cabinet").await?;
                admin.close().await;
                tracing::info!(dir = %cluster.base().display(), "private PostgreSQL cluster running");
                (cluster.url("cabinet")?, Some(cluster))
            }
        };
        if migrations == Migrations::Check {
            let pool = request_pool(&url, settings).await?;
            let pending = projections::postgres::db::pending_migrations(&pool)
                .await
                .context("reading the applied migrations")?;
            if !pending.is_empty() {
                anyhow::bail!(
                    "--no-migrate: the database's schema is behind this binary (migrations {pending:?} not \
                     applied): run `cabinet migrate` with the schema owner's DATABASE_URL first"
                );
            }
            if !projections::store::sealing::rewrite_done(&pool).await? {
                anyhow::bail!("--no-migrate: the one-time sealing of personal data has not run: run `cabinet migrate` first");
            }
            return Ok(Self { pool, cluster });
        }
        // Migrations may run long: on a connection of their own without the statement timeout.
        let migrating = projections::postgres::db::connect_limited(
            &url,
            1,
            &settings.database.without_statement_timeout(),
        )
        .await
        .context("connecting to PostgreSQL")?;
        projections::postgres::db::migrate(&migrating)
            .await
            .context("applying migrations")?;
        // The one rewrite that seals personal data recorded in clear before issue 21 (ADR 0016).
        let rewritten = projections::store::sealing::seal_clear_log(&migrating)
            .await
            .context("sealing personal data recorded in clear")?;
        if rewritten.ran {
            tracing::info!(
                events = rewritten.events,
                sealed = rewritten.sealed,
                "personal data recorded in clear sealed (once)"
            );
        }
        if !projections::personal::configured() {
            tracing::warn!(
                "personal_data.master_keys is not configured: personal data is sealed under a key kept in \
                 the database, so destruction is final but a copy of the database opens live values"
            );
        }
        migrating.close().await;
        let pool = request_pool(&url, settings).await?;
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

/// The pool requests and workers use: `pool_size` connections carrying the `[database]` limits.
async fn request_pool(url: &str, settings: &Settings) -> anyhow::Result<PgPool> {
    projections::postgres::db::connect_limited(url, settings.pool_size, &settings.database)
        .await
        .context("connecting to PostgreSQL")
}
