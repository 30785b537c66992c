//! Terms of use: ADMIN publishes numbered versions; a CLIENT accepts the current one before anything else
//! (the authorization layer enforces it), and each acceptance is kept with its time and address.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::security::Client;
use crate::error::ApiError;

/// The longest text accepted (a generous 200,000 characters).
pub const MAX_TEXT: usize = 200_000;

/// A published version.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TermsRow {
    /// Version number, from 1.
    pub version: i32,
    /// The text.
    pub text: String,
    /// When it was published.
    pub published_at: DateTime<Utc>,
}

/// The current version, if any was published.
///
/// # Errors
/// A database error.
pub async fn current(pool: &PgPool) -> Result<Option<TermsRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT version, text, published_at FROM terms_versions ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}

/// Publishes a new version.
///
/// # Errors
/// VALIDATION on `text` when it is blank or too long; a database error.
pub async fn publish(pool: &PgPool, text: &str, by: Uuid) -> Result<TermsRow, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::validation("text", "must not be empty"));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(ApiError::validation(
            "text",
            format!("must be at most {MAX_TEXT} characters"),
        ));
    }
    let mut tx = pool.begin().await?;
    // Versions are consecutive: one publisher at a time.
    sqlx::query("LOCK TABLE terms_versions IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let row: TermsRow = sqlx::query_as(
        "INSERT INTO terms_versions (version, text, published_by) \
         SELECT coalesce(max(version), 0) + 1, $1, $2 FROM terms_versions \
         RETURNING version, text, published_at",
    )
    .bind(text)
    .bind(by)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Records that `account_id` accepted `version`, which must be the current one.
///
/// # Errors
/// VALIDATION on `version` when it is not the current version; a database error.
pub async fn accept(
    conn: &mut PgConnection,
    account_id: Uuid,
    version: i32,
    client: &Client,
) -> Result<(), ApiError> {
    let current: Option<i32> = sqlx::query_scalar("SELECT max(version) FROM terms_versions")
        .fetch_one(&mut *conn)
        .await?;
    match current {
        Some(c) if c == version => {}
        Some(c) => {
            return Err(ApiError::validation(
                "version",
                format!("the current terms of use are version {c}"),
            ))
        }
        None => {
            return Err(ApiError::validation(
                "version",
                "no terms of use are published",
            ))
        }
    }
    sqlx::query(
        "INSERT INTO terms_acceptances (account_id, version, client_address) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id, version) DO NOTHING",
    )
    .bind(account_id)
    .bind(version)
    .bind(client.address.as_deref())
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE accounts SET terms_accepted_version = $2 WHERE account_id = $1")
        .bind(account_id)
        .bind(version)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
