//! Connecting and migrating.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

/// The project's migrations (`migrations/` at the workspace root), embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// How long the project's own database connections may wait and hold (`[database]` in the settings file).
/// Every pooled connection carries them as session defaults; the long maintenance work (migrations, rebuild,
/// verify, export) lifts `statement_timeout` on its own connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbLimits {
    /// Seconds a caller waits for a pooled connection (connecting included) before the database counts as
    /// unavailable.
    pub acquire_timeout_seconds: u64,
    /// Seconds one statement may run (0: no limit).
    pub statement_timeout_seconds: u64,
    /// Seconds a statement waits for a lock (0: no limit).
    pub lock_timeout_seconds: u64,
    /// Seconds a session may sit idle inside an open transaction before the server ends it (0: no limit).
    pub idle_in_transaction_timeout_seconds: u64,
    /// Connections of the pool that holds aggregates' turns across nodes (one per command on a distinct
    /// aggregate in flight on this node).
    pub command_connections: u32,
}

impl Default for DbLimits {
    fn default() -> Self {
        Self {
            acquire_timeout_seconds: 5,
            statement_timeout_seconds: 30,
            lock_timeout_seconds: 10,
            idle_in_transaction_timeout_seconds: 60,
            command_connections: 8,
        }
    }
}

impl DbLimits {
    /// The same limits without a statement timeout (maintenance commands).
    pub fn without_statement_timeout(self) -> Self {
        Self {
            statement_timeout_seconds: 0,
            ..self
        }
    }

    /// `opts` carrying the limits as session defaults.
    pub fn apply(&self, opts: PgConnectOptions) -> PgConnectOptions {
        let ms = |s: u64| format!("{}", s * 1000);
        opts.options([
            ("statement_timeout", ms(self.statement_timeout_seconds)),
            ("lock_timeout", ms(self.lock_timeout_seconds)),
            (
                "idle_in_transaction_session_timeout",
                ms(self.idle_in_transaction_timeout_seconds),
            ),
        ])
    }
}

/// Opens a pool on `url` with at most `max` connections and the default [`DbLimits`].
///
/// # Errors
/// The URL is malformed or the server cannot be reached.
pub async fn connect(url: &str, max: u32) -> Result<PgPool, sqlx::Error> {
    connect_limited(url, max, &DbLimits::default()).await
}

/// Opens a pool on `url` with at most `max` connections, each carrying `limits`.
///
/// # Errors
/// The URL is malformed or the server cannot be reached.
pub async fn connect_limited(
    url: &str,
    max: u32,
    limits: &DbLimits,
) -> Result<PgPool, sqlx::Error> {
    let opts: PgConnectOptions = url.parse()?;
    let opts = limits
        .apply(opts)
        .log_statements(tracing::log::LevelFilter::Trace);
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(limits.acquire_timeout_seconds.max(1)))
        .connect_with(opts)
        .await
}

/// A small pool of its own on the same server as `pool`, connecting lazily: for the work that must not
/// wait behind the main pool (aggregates' turns).
pub fn side_pool(pool: &PgPool, max: u32, limits: &DbLimits) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max.max(1))
        .acquire_timeout(Duration::from_secs(limits.acquire_timeout_seconds.max(1)))
        .connect_lazy_with((*pool.connect_options()).clone())
}

/// Lifts the statement timeout for the rest of the current transaction (long maintenance work).
///
/// # Errors
/// A database error.
pub async fn no_statement_timeout(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(conn)
        .await?;
    Ok(())
}

/// A session advisory-lock key for `name`: the first 8 bytes of its SHA-256 (a collision only makes two
/// holders wait for each other).
pub fn lock_key(name: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(name.as_bytes());
    i64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// Whether `e` means the database could not be reached or stopped answering (an outage: the caller may
/// retry), rather than a refusal of the statement itself.
pub fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or_default();
            // Class 08: connection exception; 57P01-03: the server shutting down or starting; 53300: too
            // many connections; 57014: a statement cancelled (statement_timeout); 55P03: lock_timeout;
            // 25P03: idle-in-transaction timeout; 40001/40P01: serialization failure and deadlock.
            code.starts_with("08")
                || matches!(
                    code,
                    "57P01"
                        | "57P02"
                        | "57P03"
                        | "53300"
                        | "57014"
                        | "55P03"
                        | "25P03"
                        | "40001"
                        | "40P01"
                )
        }
        _ => false,
    }
}

/// Applies every pending migration.
///
/// # Errors
/// A migration fails or an applied one was edited.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// The migrations before `version`: a test or benchmark of a migration builds the schema as it was, writes
/// into it, then runs [`migrate`].
pub fn migrator_before(version: i64) -> Migrator {
    Migrator {
        migrations: std::borrow::Cow::Owned(
            MIGRATOR
                .iter()
                .filter(|m| m.version < version)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    }
}

/// What grants can make of a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleStanding {
    /// There is no role of that name.
    Missing,
    /// A superuser or a role that bypasses row security: no grant can limit it.
    Unlimited,
    /// An ordinary role: its privileges are what it is granted.
    Limitable,
}

/// Whether `role` exists and whether grants can limit it (the analysts' and the runtime role's check).
///
/// # Errors
/// A database error.
pub async fn role_standing(pool: &PgPool, role: &str) -> Result<RoleStanding, sqlx::Error> {
    let found: Option<(bool, bool)> =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1")
            .bind(role)
            .fetch_optional(pool)
            .await?;
    Ok(match found {
        None => RoleStanding::Missing,
        Some((true, _) | (_, true)) => RoleStanding::Unlimited,
        Some(_) => RoleStanding::Limitable,
    })
}

/// The migrations of this binary the database has not applied (their versions), for a process that must not
/// migrate (`serve --no-migrate`).
///
/// # Errors
/// A database error other than a database never migrated.
pub async fn pending_migrations(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let applied: Vec<i64> =
        match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
        {
            Ok(v) => v,
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Vec::new(),
            Err(e) => return Err(e),
        };
    Ok(MIGRATOR
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect())
}

/// A digest of the migrations' checksums: names the test template database, so a changed migration gets a
/// fresh template.
pub fn migrations_digest() -> String {
    let all: String = MIGRATOR
        .iter()
        .map(|m| format!("{}:{:x?};", m.version, &m.checksum[..]))
        .collect();
    crate::postgres::cluster::short_hash(&all)
}

/// Creates `name` on the server of `admin_url` when it does not exist.
///
/// # Errors
/// The server refuses.
pub async fn ensure_database(admin: &PgPool, name: &str) -> Result<(), sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(admin)
            .await?;
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {}", quote_ident(name)))
            .execute(admin)
            .await?;
    }
    Ok(())
}

/// Quotes an SQL identifier.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    // postgres://user:pw@host:port/db — the database is after the first '/' following the authority.
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path_start], db);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://u:p@127.0.0.1:5432/postgres", "x"),
            "postgres://u:p@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h:1?sslmode=disable", "x"),
            "postgres://u@h:1/x?sslmode=disable"
        );
    }
}
