//! Start-up: the database the process uses (a given server, or a private cluster it starts), and the
//! wiring of the application, its workers and its HTTP server.

use anyhow::Context as _;
use projections::postgres::cluster::{cluster_dir_for, Cluster, Tuning};
use sqlx::PgPool;

use crate::config::Settings;

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
        settings.personal_data.install()?;
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
                let admin = projections::postgres::db::connect(&cluster.url("postgres")?, 1)
                    .await
                    .context("connecting to the private PostgreSQL")?;
                projections::postgres::db::ensure_database(&admin, "cabinet").await?;
                admin.close().await;
                tracing::info!(dir = %cluster.base().display(), "private PostgreSQL cluster running");
                (cluster.url("cabinet")?, Some(cluster))
            }
        };
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
        let pool = projections::postgres::db::connect_limited(
            &url,
            settings.pool_size,
            &settings.database,
        )
        .await
        .context("connecting to PostgreSQL")?;
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
