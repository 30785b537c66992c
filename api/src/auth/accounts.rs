//! Accounts: login e-mail, argon2id password hash, roles, company links. Never in the event log.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use domain::values::Email;
use rand::Rng;
use sqlx::PgPool;
use uuid::Uuid;

use super::Role;
use crate::error::ApiError;

/// The minimum password length.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Hashes a password with argon2id and a random salt.
///
/// # Errors
/// Only if hashing itself fails (a bug).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Checks a password against a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random password of 20 characters without look-alike characters.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Checks the password policy.
///
/// # Errors
/// VALIDATION on `field` when the password is too short.
pub fn check_password_policy(field: &str, password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ApiError::validation(
            field,
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

/// Creates an account, or — when `replace_password` and it exists — sets its password and roles.
/// Returns its id.
///
/// # Errors
/// A database error, or VALIDATION when the e-mail is taken and `replace_password` is false.
pub async fn create_account(
    pool: &PgPool,
    email: &Email,
    password: &str,
    roles: &[Role],
    replace_password: bool,
) -> Result<Uuid, ApiError> {
    check_password_policy("password", password)?;
    let hash = hash_password(password)?;
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let sql = if replace_password {
        "INSERT INTO accounts (account_id, email, password_hash, roles) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, roles = EXCLUDED.roles \
         RETURNING account_id"
    } else {
        "INSERT INTO accounts (account_id, email, password_hash, roles) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (email) DO NOTHING RETURNING account_id"
    };
    let id: Option<Uuid> = sqlx::query_scalar(sql)
        .bind(Uuid::now_v7())
        .bind(email.as_str())
        .bind(hash)
        .bind(&roles)
        .fetch_optional(pool)
        .await?;
    id.ok_or_else(|| ApiError::validation("email", "an account with this e-mail already exists"))
}

/// Links an account to a company (idempotent).
///
/// # Errors
/// A database error.
pub async fn link_company(
    pool: &PgPool,
    account_id: Uuid,
    company_id: Uuid,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO account_companies (account_id, company_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(account_id)
    .bind(company_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// The account id and password hash for a login, if the account exists and is enabled.
///
/// # Errors
/// A database error.
pub async fn find_login(pool: &PgPool, email: &str) -> Result<Option<(Uuid, String)>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT account_id, password_hash FROM accounts WHERE email = $1 AND disabled_at IS NULL",
    )
    .bind(email)
    .fetch_optional(pool)
    .await?)
}
