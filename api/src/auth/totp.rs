//! Two-factor sign-in: time-based one-time codes (TOTP, RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, one
//! step of clock skew either way) from an authenticator app, and single-use recovery codes.
//!
//! - The secret (160 random bits) is stored sealed (ChaCha20-Poly1305 under the installation's key, table
//!   `totp_key`, bound to the account id as associated data): a copy of the accounts table alone yields no
//!   secret. It is shown once, at enrolment, as base32 and an `otpauth://` URL for a QR code.
//! - Enrolment takes effect only when a first code from the app is confirmed; then 10 recovery codes are
//!   shown once and stored as SHA-256 (each ≈ 60 bits from the control-string alphabet, bound to the
//!   account).
//! - A code's time step is remembered: a code works once (a replayed code is refused even within its 30 s).
//! - Wrong codes count with wrong passwords toward the login's lockout (5 in 15 minutes).
//! - Required for ADMIN accounts (setting `admin_totp_required`): until one enrols, its sessions may only
//!   enrol (`TOTP_ENROLMENT_REQUIRED`); optional for everyone else.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use totp_rs::{Algorithm, Secret, TOTP};
use uuid::Uuid;

use super::security::{self, Client, Entry, SecurityEventKind as Kind};
use super::service::{refused, AccountService};
use super::{accounts, Actor, Role};
use crate::error::ApiError;
use crate::mail::templates;

/// Seconds per step.
const STEP: u64 = 30;
/// Recovery codes issued at once.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (from the control-string alphabet: 12 × log2(31) ≈ 59 bits).
const RECOVERY_LEN: usize = 12;
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// The issuer shown in authenticator apps.
const ISSUER: &str = "Кабинет лизингополучателя";

/// A code given with a request: from the app, or a recovery code.
fn canonical(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn totp(secret: &[u8]) -> Result<TOTP, ApiError> {
    TOTP::new(Algorithm::SHA1, 6, 0, STEP, secret.to_vec())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("TOTP secret: {e}")))
}

/// The time step of `code` for `secret` at `now` (Unix seconds), trying one step either way.
pub fn matching_step(secret: &[u8], code: &str, now: u64) -> Result<Option<u64>, ApiError> {
    let code = canonical(code);
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let t = totp(secret)?;
    let current = now / STEP;
    for step in [current, current.saturating_sub(1), current + 1] {
        if t.check(&code, step * STEP) {
            return Ok(Some(step));
        }
    }
    Ok(None)
}

/// The code for `secret` at `now` (what an authenticator app shows; tests and the CLI use it).
///
/// # Errors
/// A secret too short for TOTP.
pub fn code_at(secret: &[u8], now: u64) -> Result<String, ApiError> {
    Ok(totp(secret)?.generate(now))
}

/// What an authenticator app shows now for the base32 `secret` of an enrolment (tests and tools use it).
///
/// # Errors
/// INTERNAL when `secret` is not base32 of a long enough secret.
pub fn current_code(secret: &str) -> Result<String, ApiError> {
    code_in(secret, 0)
}

/// What the app will show `seconds` from now (negative: showed).
///
/// # Errors
/// As [`current_code`].
pub fn code_in(secret: &str, seconds: i64) -> Result<String, ApiError> {
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("not a base32 secret: {e:?}")))?;
    code_at(&bytes, now().saturating_add_signed(seconds))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn recovery_hash(account: Uuid, code: &str) -> Vec<u8> {
    Sha256::digest(format!("recovery:{account}:{}", canonical(code))).to_vec()
}

async fn key(conn: &mut PgConnection) -> Result<ChaCha20Poly1305, ApiError> {
    let key: Vec<u8> = sqlx::query_scalar("SELECT key FROM totp_key WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    ChaCha20Poly1305::new_from_slice(&key)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("totp_key: {e}")))
}

async fn seal(conn: &mut PgConnection, account: Uuid, secret: &[u8]) -> Result<Vec<u8>, ApiError> {
    let cipher = key(conn).await?;
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: secret,
                aad: account.as_bytes(),
            },
        )
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("sealing a TOTP secret: {e}")))?;
    Ok([nonce.as_slice(), &sealed].concat())
}

async fn open(conn: &mut PgConnection, account: Uuid, sealed: &[u8]) -> Result<Vec<u8>, ApiError> {
    let cipher = key(conn).await?;
    if sealed.len() < 12 {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "a sealed TOTP secret is too short"
        )));
    }
    let (nonce, body) = sealed.split_at(12);
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: account.as_bytes(),
            },
        )
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("opening a TOTP secret: {e}")))
}

/// Whether the account has two-factor sign-in on.
///
/// # Errors
/// A database error.
pub async fn enabled(conn: &mut PgConnection, account: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM account_totp WHERE account_id = $1 AND enabled_at IS NOT NULL)",
    )
    .bind(account)
    .fetch_one(&mut *conn)
    .await
}

/// How a second factor was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// A code from the app.
    App,
    /// A recovery code (now used up).
    RecoveryCode,
}

/// Checks `code` for an account with two-factor sign-in on, on `conn` (the caller's transaction, which
/// keeps the step or the recovery code used when it commits): `Ok(None)` when it is wrong.
///
/// # Errors
/// A database error.
pub async fn verify(
    conn: &mut PgConnection,
    account: Uuid,
    code: &str,
) -> Result<Option<Factor>, ApiError> {
    let row: Option<(Vec<u8>, i64)> = sqlx::query_as(
        "SELECT secret_sealed, last_step FROM account_totp \
         WHERE account_id = $1 AND enabled_at IS NOT NULL FOR UPDATE",
    )
    .bind(account)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((sealed, last_step)) = row else {
        return Ok(None);
    };
    let secret = open(conn, account, &sealed).await?;
    if let Some(step) = matching_step(&secret, code, now())? {
        // A code works once: its step, or an earlier one, was used already.
        if step as i64 <= last_step {
            return Ok(None);
        }
        sqlx::query("UPDATE account_totp SET last_step = $2 WHERE account_id = $1")
            .bind(account)
            .bind(step as i64)
            .execute(&mut *conn)
            .await?;
        return Ok(Some(Factor::App));
    }
    let used = sqlx::query(
        "UPDATE totp_recovery_codes SET used_at = clock_timestamp() \
         WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(account)
    .bind(recovery_hash(account, code))
    .execute(&mut *conn)
    .await?;
    Ok((used.rows_affected() == 1).then_some(Factor::RecoveryCode))
}

/// A pending enrolment: what the app needs.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret in base32 (typed into an app by hand).
    pub secret: String,
    /// The `otpauth://totp/…` URL (shown as a QR code).
    pub url: String,
}

fn recovery_codes() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw: String = (0..RECOVERY_LEN)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect();
            format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..12])
        })
        .collect()
}

async fn store_recovery_codes(
    conn: &mut PgConnection,
    account: Uuid,
) -> Result<Vec<String>, ApiError> {
    sqlx::query("DELETE FROM totp_recovery_codes WHERE account_id = $1")
        .bind(account)
        .execute(&mut *conn)
        .await?;
    let codes = recovery_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| recovery_hash(account, c)).collect();
    sqlx::query(
        "INSERT INTO totp_recovery_codes (account_id, code_hash) SELECT $1, h FROM unnest($2::bytea[]) AS h",
    )
    .bind(account)
    .bind(&hashes)
    .execute(&mut *conn)
    .await?;
    Ok(codes)
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl AccountService {
    /// Starts (or restarts) enrolment: a new secret, pending until a first code confirms it. The current
    /// password is asked, so that a stolen session cannot bind the account to somebody else's phone.
    ///
    /// # Errors
    /// VALIDATION on `currentPassword` (counted like a failed sign-in), CONFLICT when two-factor sign-in is
    /// on already (turn it off first); a database error.
    pub async fn start_totp(
        &self,
        actor: &Actor,
        current_password: String,
        client: &Client,
    ) -> Result<Enrolment, ApiError> {
        self.check_current_password(actor, current_password, "input.currentPassword", client)
            .await?;
        let mut tx = self.pool.begin().await?;
        if enabled(&mut tx, actor.account_id).await? {
            return Err(ApiError::Conflict(
                "two-factor sign-in is on already; turn it off first to enrol another app".into(),
            ));
        }
        let mut secret = [0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let sealed = seal(&mut tx, actor.account_id, &secret).await?;
        sqlx::query(
            "INSERT INTO account_totp (account_id, secret_sealed) VALUES ($1, $2) \
             ON CONFLICT (account_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, \
               enabled_at = NULL, last_step = 0, created_at = clock_timestamp()",
        )
        .bind(actor.account_id)
        .bind(&sealed)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let encoded = Secret::Raw(secret.to_vec()).to_encoded().to_string();
        let url = format!(
            "otpauth://totp/{}:{}?secret={encoded}&issuer={}&algorithm=SHA1&digits=6&period=30",
            url_encode(ISSUER),
            url_encode(&actor.email),
            url_encode(ISSUER),
        );
        Ok(Enrolment {
            secret: encoded,
            url,
        })
    }

    /// Confirms enrolment with a first code from the app: two-factor sign-in is on from now; returns the
    /// recovery codes (shown once). Logged and mailed.
    ///
    /// # Errors
    /// VALIDATION on `input.code` (wrong, or no enrolment started); a database error.
    pub async fn confirm_totp(
        &self,
        actor: &Actor,
        code: &str,
        client: &Client,
    ) -> Result<Vec<String>, ApiError> {
        self.limiter.check(
            "totpCheck",
            &super::passwords::caller_account(actor.account_id),
        )?;
        let mut tx = self.pool.begin().await?;
        let row: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT secret_sealed FROM account_totp WHERE account_id = $1 AND enabled_at IS NULL FOR UPDATE",
        )
        .bind(actor.account_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(sealed) = row else {
            return Err(ApiError::validation(
                "input.code",
                "no enrolment is waiting for a code; start one first",
            ));
        };
        let secret = open(&mut tx, actor.account_id, &sealed).await?;
        let Some(step) = matching_step(&secret, code, now())? else {
            return Err(ApiError::validation(
                "input.code",
                "is not the code the app shows now",
            ));
        };
        sqlx::query(
            "UPDATE account_totp SET enabled_at = clock_timestamp(), last_step = $2 WHERE account_id = $1",
        )
        .bind(actor.account_id)
        .bind(step as i64)
        .execute(&mut *tx)
        .await?;
        let codes = store_recovery_codes(&mut tx, actor.account_id).await?;
        security::record(
            &mut tx,
            Entry::new(actor.account_id, Kind::TotpEnabled, Some(client)),
        )
        .await?;
        let locale = accounts::locale(&mut *tx, actor.account_id).await?;
        self.outbox
            .enqueue(
                &mut tx,
                &actor.email,
                templates::totp_changed(locale, &self.outbox.site, true),
            )
            .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Turns two-factor sign-in off, with the password and a code (or a recovery code). An ADMIN cannot
    /// while it is required.
    ///
    /// # Errors
    /// FORBIDDEN `TOTP_REQUIRED_FOR_ROLE`; VALIDATION on `input.currentPassword` or `input.code`; a
    /// database error.
    pub async fn disable_totp(
        &self,
        actor: &Actor,
        current_password: String,
        code: &str,
        client: &Client,
    ) -> Result<(), ApiError> {
        if self.settings.sessions.admin_totp && actor.has(Role::Admin) {
            return Err(refused(
                "TOTP_REQUIRED_FOR_ROLE",
                "an administrator's account must keep two-factor sign-in",
            ));
        }
        self.check_current_password(actor, current_password, "input.currentPassword", client)
            .await?;
        let mut tx = self.pool.begin().await?;
        self.second_factor(&mut tx, actor, code, "input.code", client)
            .await?;
        sqlx::query("DELETE FROM account_totp WHERE account_id = $1")
            .bind(actor.account_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM totp_recovery_codes WHERE account_id = $1")
            .bind(actor.account_id)
            .execute(&mut *tx)
            .await?;
        security::record(
            &mut tx,
            Entry::new(actor.account_id, Kind::TotpDisabled, Some(client)),
        )
        .await?;
        let locale = accounts::locale(&mut *tx, actor.account_id).await?;
        self.outbox
            .enqueue(
                &mut tx,
                &actor.email,
                templates::totp_changed(locale, &self.outbox.site, false),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// New recovery codes (the old ones stop working), with a code from the app.
    ///
    /// # Errors
    /// VALIDATION on `input.code`; a database error.
    pub async fn regenerate_recovery_codes(
        &self,
        actor: &Actor,
        code: &str,
        client: &Client,
    ) -> Result<Vec<String>, ApiError> {
        let mut tx = self.pool.begin().await?;
        self.second_factor(&mut tx, actor, code, "input.code", client)
            .await?;
        let codes = store_recovery_codes(&mut tx, actor.account_id).await?;
        security::record(
            &mut tx,
            Entry::new(actor.account_id, Kind::RecoveryCodesIssued, Some(client)),
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Asks an account with two-factor sign-in on for its second factor, on `tx`: nothing when it is off;
    /// `TOTP_REQUIRED` when `code` is missing; a wrong code is counted toward the lockout (in its own
    /// transaction, so that the caller's rollback keeps it) and refused on `field`.
    ///
    /// # Errors
    /// FORBIDDEN `TOTP_REQUIRED`; VALIDATION on `field`; ACCOUNT_LOCKED; a database error.
    pub(super) async fn second_factor_if_on(
        &self,
        tx: &mut PgConnection,
        account: Uuid,
        email: &str,
        code: Option<&str>,
        field: &'static str,
        client: &Client,
    ) -> Result<Option<Factor>, ApiError> {
        if !enabled(tx, account).await? {
            return Ok(None);
        }
        let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
            return Err(refused(
                "TOTP_REQUIRED",
                format!(
                    "two-factor sign-in is on: give {field} (the app's code or a recovery code)"
                ),
            ));
        };
        let key = security::login_key(email);
        if let Some(until) = security::locked_until(&self.pool, &key).await? {
            return Err(super::service::locked(until));
        }
        if let Some(factor) = verify(tx, account, code).await? {
            let kind = match factor {
                Factor::App => Kind::TotpUsed,
                Factor::RecoveryCode => Kind::RecoveryCodeUsed,
            };
            security::record(tx, Entry::new(account, kind, Some(client))).await?;
            return Ok(Some(factor));
        }
        let mut own = self.pool.begin().await?;
        let locale = accounts::locale(&mut *own, account).await?;
        security::record(
            &mut own,
            Entry::new(account, Kind::TotpFailed, Some(client)),
        )
        .await?;
        self.failed_password(&mut own, &key, Some((account, email, locale)), client)
            .await?;
        own.commit().await?;
        Err(ApiError::validation(
            field,
            "is neither the app's current code nor an unused recovery code",
        ))
    }

    async fn second_factor(
        &self,
        tx: &mut PgConnection,
        actor: &Actor,
        code: &str,
        field: &'static str,
        client: &Client,
    ) -> Result<Factor, ApiError> {
        self.second_factor_if_on(
            tx,
            actor.account_id,
            &actor.email,
            Some(code),
            field,
            client,
        )
        .await?
        .ok_or_else(|| ApiError::validation(field, "two-factor sign-in is not on"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_6238_sha1_vectors_hold_and_a_step_either_way_is_accepted() {
        // RFC 6238, appendix B: the SHA1 seed "12345678901234567890", 8 digits there; the last 6 here.
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59u64, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(secret, t).unwrap(), code, "at {t}");
            assert_eq!(matching_step(secret, code, t).unwrap(), Some(t / 30));
        }
        let code = code_at(secret, 1_000_000_000).unwrap();
        assert_eq!(
            matching_step(secret, &code, 1_000_000_000 + 30).unwrap(),
            Some(1_000_000_000 / 30),
            "the previous step is accepted"
        );
        assert_eq!(
            matching_step(secret, &code, 1_000_000_000 + 90).unwrap(),
            None,
            "three steps later it is not"
        );
        assert_eq!(matching_step(secret, "12a456", 59).unwrap(), None);
        assert_eq!(
            matching_step(secret, " 287 082 ", 59).unwrap(),
            Some(1),
            "spaces do not matter"
        );
    }

    #[test]
    fn recovery_codes_are_ten_distinct_grouped_codes_hashed_per_account() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        assert!(codes
            .iter()
            .all(|c| c.len() == 14 && c.matches('-').count() == 2));
        let a = Uuid::from_u128(1);
        assert_eq!(
            recovery_hash(a, &codes[0]),
            recovery_hash(a, &codes[0].to_lowercase().replace('-', " "))
        );
        assert_ne!(
            recovery_hash(a, &codes[0]),
            recovery_hash(Uuid::from_u128(2), &codes[0])
        );
    }
}
