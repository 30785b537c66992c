//! Sessions: a login issues an opaque random token; only its SHA-256 is stored, with an expiry; logout
//! revokes it.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Actor, Role};
use crate::error::ApiError;

/// The stored form of a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Issues a session for `account_id`, valid for `ttl`; returns the token (shown once) and its expiry.
///
/// # Errors
/// A database error.
pub async fn issue(
    pool: &PgPool,
    account_id: Uuid,
    ttl: Duration,
) -> Result<(String, DateTime<Utc>), ApiError> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let expires_at = Utc::now() + ttl;
    sqlx::query("INSERT INTO sessions (token_hash, account_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash(&token))
        .bind(account_id)
        .bind(expires_at)
        .execute(pool)
        .await?;
    Ok((token, expires_at))
}

/// Revokes a session.
///
/// # Errors
/// A database error.
pub async fn revoke(pool: &PgPool, hash: &[u8]) -> Result<(), ApiError> {
    sqlx::query("UPDATE sessions SET revoked_at = clock_timestamp() WHERE token_hash = $1 AND revoked_at IS NULL")
        .bind(hash)
        .execute(pool)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    account_id: Uuid,
    email: String,
    roles: Vec<String>,
    must_change_password: bool,
    companies: Vec<Uuid>,
}

/// Resolves a token into its actor: `None` when unknown, expired, revoked or the account is disabled.
///
/// # Errors
/// A database error.
pub async fn resolve(pool: &PgPool, token: &str) -> Result<Option<Actor>, ApiError> {
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT a.account_id, a.email, a.roles, a.must_change_password, \
                coalesce(array_agg(l.company_id ORDER BY l.company_id) FILTER (WHERE l.company_id IS NOT NULL), '{}') AS companies \
         FROM sessions s JOIN accounts a USING (account_id) \
         LEFT JOIN account_companies l ON l.account_id = a.account_id \
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > clock_timestamp() \
           AND a.disabled_at IS NULL \
         GROUP BY a.account_id",
    )
    .bind(token_hash(token))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Actor {
        account_id: r.account_id,
        email: r.email,
        roles: r.roles.iter().filter_map(|x| Role::parse(x)).collect(),
        companies: r.companies,
        must_change_password: r.must_change_password,
    }))
}
