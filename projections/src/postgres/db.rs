//! Connecting and migrating.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

/// The project's migrations (`migrations/` at the workspace root), embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Opens a pool on `url` with at most `max` connections.
///
/// # Errors
/// The URL is malformed or the server cannot be reached.
pub async fn connect(url: &str, max: u32) -> Result<PgPool, sqlx::Error> {
    let opts: PgConnectOptions = url.parse()?;
    let opts = opts.log_statements(tracing::log::LevelFilter::Trace);
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(opts)
        .await
}

/// Applies every pending migration.
///
/// # Errors
/// A migration fails or an applied one was edited.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
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
