//! Terms of use: ADMIN publishes numbered versions; a CLIENT accepts the current one before anything else
//! (the authorization layer enforces it), and each acceptance is kept with its time and address.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use domain::content::{TermsCommand, TermsOfUse, TERMS_ID};
use projections::store::command::{CommandExecutor, CommandOutcome};
use projections::store::event::CommandMeta;

use super::security::Client;
use crate::error::ApiError;

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

/// Publishes a new version through the TermsOfUse aggregate: its `TermsPublished` event and the
/// `terms_versions` row (written by the `terms` inline projection) commit together, and every client hears of
/// it through the notifications that follow from the event.
///
/// # Errors
/// VALIDATION on `text` when it is blank or too long; a store error.
pub async fn publish(
    executor: &CommandExecutor<TermsOfUse>,
    text: &str,
    meta: &CommandMeta,
) -> Result<(TermsRow, CommandOutcome), ApiError> {
    let out = executor
        .execute(
            TERMS_ID,
            TermsCommand::PublishTerms {
                text: text.to_owned(),
            },
            meta,
        )
        .await
        .map_err(|e| crate::error::content_command_error(e, ""))?;
    let row = current(executor.pool())
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("published terms not found")))?;
    Ok((row, out))
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
