//! Sessions: a login issues an opaque random token; only its SHA-256 is stored. A session ends when it has
//! been idle too long (default 12 h), at its absolute expiry (default 30 days), on logout, on
//! `logoutEverywhere`, and when the password changes.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::security::Client;
use super::{Actor, Role};
use crate::error::ApiError;

/// How long sessions last.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, used or not.
    pub absolute: Duration,
    /// ADMIN accounts must enrol two-factor sign-in before anything else.
    pub admin_totp: bool,
}

/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// The stored form of a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Issues a session for `account_id`; returns the token (shown once) and its absolute expiry.
///
/// # Errors
/// A database error.
pub async fn issue(
    conn: &mut PgConnection,
    account_id: Uuid,
    policy: SessionPolicy,
    client: &Client,
) -> Result<(String, DateTime<Utc>), sqlx::Error> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let expires_at = Utc::now() + policy.absolute;
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, expires_at, client_address, user_agent) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(&token))
    .bind(account_id)
    .bind(expires_at)
    .bind(client.address.as_deref())
    .bind(client.user_agent.as_deref())
    .execute(&mut *conn)
    .await?;
    Ok((token, expires_at))
}

/// The channel a revocation is announced on (payload: the account id), to every node, in the revoking
/// transaction: open WebSockets of the account check their session again at once.
pub const REVOKED_CHANNEL: &str = "cabinet_sessions_revoked";

/// Revokes a session.
///
/// # Errors
/// A database error.
pub async fn revoke(pool: &PgPool, hash: &[u8]) -> Result<(), ApiError> {
    let mut tx = pool.begin().await?;
    let account: Option<Uuid> = sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = clock_timestamp() WHERE token_hash = $1 AND revoked_at IS NULL \
         RETURNING account_id",
    )
    .bind(hash)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(account) = account {
        announce(&mut tx, account).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Tells every node that sessions of `account` ended or its authority changed (delivered when the
/// transaction commits): sockets re-check their session, subscriptions their authorization.
pub(crate) async fn announce(conn: &mut PgConnection, account: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(REVOKED_CHANNEL)
        .bind(account.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// This node's feed of revocations: the accounts whose sessions some node just ended.
pub struct Revocations {
    accounts: tokio::sync::broadcast::Sender<Uuid>,
}

impl Default for Revocations {
    fn default() -> Self {
        Self {
            accounts: tokio::sync::broadcast::channel(256).0,
        }
    }
}

impl Revocations {
    /// The accounts announced from now on. A receiver that falls behind gets `Lagged`: it must then check
    /// its session as if its account had been announced.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Uuid> {
        self.accounts.subscribe()
    }

    /// Listens for announcements until `stop` turns true.
    ///
    /// # Errors
    /// A database error (the caller restarts the feed; sockets re-check their sessions on a timer too, so
    /// an announcement lost meanwhile is late, not lost).
    pub async fn run(
        self: std::sync::Arc<Self>,
        pool: PgPool,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), sqlx::Error> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
        listener.listen(REVOKED_CHANNEL).await?;
        loop {
            tokio::select! {
                n = listener.recv() => {
                    if let Ok(account) = n?.payload().parse::<Uuid>() {
                        let _ = self.accounts.send(account);
                    }
                }
                _ = stop.wait_for(|s| *s) => return Ok(()),
            }
        }
    }
}

/// Revokes every session of an account but `keep` (the caller's own, when it stays signed in); returns
/// how many ended.
///
/// # Errors
/// A database error.
pub async fn revoke_all(
    conn: &mut PgConnection,
    account_id: Uuid,
    keep: Option<&[u8]>,
) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE sessions SET revoked_at = clock_timestamp() \
         WHERE account_id = $1 AND revoked_at IS NULL AND ($2::bytea IS NULL OR token_hash <> $2)",
    )
    .bind(account_id)
    .bind(keep)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() > 0 {
        announce(conn, account_id).await?;
    }
    Ok(r.rows_affected())
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    account_id: Uuid,
    email: String,
    roles: Vec<String>,
    must_change_password: bool,
    terms_accepted_version: Option<i32>,
    terms_current: Option<i32>,
    stale: bool,
    companies: Vec<Uuid>,
    company_roles: Vec<String>,
    totp_enabled: bool,
}

/// What an [`Actor`] is read from, over `accounts a` (the terms in force and the account's companies).
const ACTOR_COLUMNS: &str =
    "a.account_id, a.email, a.roles, a.must_change_password, a.terms_accepted_version, \
     (SELECT max(version) FROM terms_versions) AS terms_current, \
     coalesce((SELECT array_agg(l.company_id ORDER BY l.company_id) FROM account_companies l \
               WHERE l.account_id = a.account_id), '{}') AS companies, \
     coalesce((SELECT array_agg(l.role ORDER BY l.company_id) FROM account_companies l \
               WHERE l.account_id = a.account_id), '{}') AS company_roles, \
     EXISTS (SELECT 1 FROM account_totp t WHERE t.account_id = a.account_id AND t.enabled_at IS NOT NULL) \
       AS totp_enabled";

/// An account that may act: neither blocked nor deleted.
const USABLE: &str = "a.blocked_at IS NULL AND a.deleted_at IS NULL";

/// Resolves a token into its actor: `None` when unknown, idle too long, past its expiry, revoked, or the
/// account is blocked or deleted. Marks the session used.
///
/// # Errors
/// A database error.
pub async fn resolve(
    pool: &PgPool,
    token: &str,
    policy: SessionPolicy,
) -> Result<Option<Actor>, ApiError> {
    resolve_hash(pool, &token_hash(token), policy).await
}

/// [`resolve`] by the stored form of the token (to re-read the caller after a change).
///
/// # Errors
/// A database error.
pub async fn resolve_hash(
    pool: &PgPool,
    hash: &[u8],
    policy: SessionPolicy,
) -> Result<Option<Actor>, ApiError> {
    let row: Option<SessionRow> = sqlx::query_as(&format!(
        "SELECT {ACTOR_COLUMNS}, s.last_seen_at < clock_timestamp() - make_interval(secs => $3) AS stale \
         FROM sessions s JOIN accounts a USING (account_id) \
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > clock_timestamp() \
           AND s.last_seen_at > clock_timestamp() - make_interval(secs => $2) AND {USABLE}"
    ))
    .bind(hash)
    .bind(policy.idle.num_seconds() as f64)
    .bind(TOUCH_EVERY_SECONDS as f64)
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    if r.stale {
        sqlx::query("UPDATE sessions SET last_seen_at = clock_timestamp() WHERE token_hash = $1")
            .bind(hash)
            .execute(pool)
            .await?;
    }
    Ok(Some(actor_of(r, policy.admin_totp)))
}

/// The actor of `account` outside any session (a signed download link names its account): `None` when the
/// account is unknown, blocked or deleted.
///
/// # Errors
/// A database error.
pub async fn actor_of_account(pool: &PgPool, account: Uuid) -> Result<Option<Actor>, ApiError> {
    let row: Option<SessionRow> = sqlx::query_as(&format!(
        "SELECT {ACTOR_COLUMNS}, false AS stale FROM accounts a WHERE a.account_id = $1 AND {USABLE}"
    ))
    .bind(account)
    .fetch_optional(pool)
    .await?;
    // A signed link was made by a session allowed to make it; the link itself asks no second factor.
    Ok(row.map(|r| actor_of(r, false)))
}

fn actor_of(r: SessionRow, admin_totp: bool) -> Actor {
    let totp_enrolment_required =
        admin_totp && r.roles.iter().any(|x| x == Role::Admin.as_str()) && !r.totp_enabled;
    let roles: Vec<Role> = r.roles.iter().filter_map(|x| Role::parse(x)).collect();
    // Terms of use bind the lessee's people; staff work under their employment contracts.
    let terms_required = match (roles.contains(&Role::Client), r.terms_current) {
        (true, Some(current)) if r.terms_accepted_version != Some(current) => Some(current),
        _ => None,
    };
    Actor {
        account_id: r.account_id,
        email: r.email,
        roles,
        memberships: r
            .companies
            .iter()
            .zip(&r.company_roles)
            .filter_map(|(&company_id, role)| {
                Some(super::Membership {
                    company_id,
                    role: super::CompanyRole::parse(role)?,
                })
            })
            .collect(),
        must_change_password: r.must_change_password,
        terms_required,
        totp_enrolment_required,
    }
}

/// Raises the session's read floor to the log's head: its later reads from a replica wait until the replica
/// shows that event (issue 27; only with read replicas configured).
///
/// # Errors
/// A database error.
pub async fn raise_read_floor(pool: &PgPool, token_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sessions SET read_floor = greatest(read_floor, \
           (SELECT coalesce(max(position), 0) FROM events)) WHERE token_hash = $1",
    )
    .bind(token_hash)
    .execute(pool)
    .await?;
    Ok(())
}

/// The session's read floor (see [`raise_read_floor`]).
///
/// # Errors
/// A database error.
pub async fn read_floor(pool: &PgPool, token_hash: &[u8]) -> Result<Option<i64>, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, Option<i64>>(
        "SELECT read_floor FROM sessions WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?
    .flatten())
}
