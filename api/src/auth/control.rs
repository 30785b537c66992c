//! Single-use control strings, mailed for password recovery and login changes. Only their SHA-256 is
//! stored; issuing a new one for the same purpose retires the earlier ones.

use chrono::Duration;
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

/// Characters of a control string: capitals and digits without look-alikes (no 0/O, 1/I/L).
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Length: 24 characters of 31 ≈ 119 bits.
const LEN: usize = 24;

/// What a control string is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `resetPassword`: valid 1 hour.
    PasswordReset,
    /// `confirmLoginChange`: valid 24 hours.
    LoginChange,
}

impl Purpose {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::LoginChange => "login_change",
        }
    }

    /// How long a control string for this purpose stays valid.
    pub fn ttl(self) -> Duration {
        match self {
            Self::PasswordReset => Duration::hours(1),
            Self::LoginChange => Duration::hours(24),
        }
    }
}

/// A control string as mailed: groups of four, e.g. `K7QX-M2PA-…`.
pub(crate) fn generate() -> String {
    let mut rng = rand::rngs::OsRng;
    let raw: Vec<char> = (0..LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    raw.chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The stored form of what a person typed: separators and spaces dropped, capitals, hashed.
pub(crate) fn stored(typed: &str) -> Vec<u8> {
    let canonical: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Sha256::digest(format!("control:{canonical}")).to_vec()
}

/// Issues a control string for `account_id` (retiring its unused ones for the same purpose); returns it.
/// `new_email` is the address a login change confirms.
///
/// # Errors
/// A database error.
pub async fn issue(
    conn: &mut PgConnection,
    account_id: Uuid,
    purpose: Purpose,
    new_email: Option<&str>,
) -> Result<String, sqlx::Error> {
    sqlx::query(
        "UPDATE control_strings SET used_at = clock_timestamp() \
         WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL",
    )
    .bind(account_id)
    .bind(purpose.as_str())
    .execute(&mut *conn)
    .await?;
    let token = generate();
    sqlx::query(
        "INSERT INTO control_strings (token_hash, account_id, purpose, new_email, expires_at) \
         VALUES ($1, $2, $3, $4, clock_timestamp() + make_interval(secs => $5))",
    )
    .bind(stored(&token))
    .bind(account_id)
    .bind(purpose.as_str())
    .bind(new_email)
    .bind(purpose.ttl().num_seconds() as f64)
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// Uses a control string: on success returns its account and (for a login change) the new address. An
/// unknown, used, expired or other-purpose string gives `None`. Runs in the caller's transaction, so a
/// refusal later in it leaves the string unused.
///
/// # Errors
/// A database error.
pub async fn consume(
    conn: &mut PgConnection,
    typed: &str,
    purpose: Purpose,
) -> Result<Option<(Uuid, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE control_strings SET used_at = clock_timestamp() \
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > clock_timestamp() \
         RETURNING account_id, new_email",
    )
    .bind(stored(typed))
    .bind(purpose.as_str())
    .fetch_optional(&mut *conn)
    .await
}

/// Retires every unused control string of `account_id` (its login moved: a string mailed to the old
/// address must not work any more).
///
/// # Errors
/// A database error.
pub async fn retire_all(conn: &mut PgConnection, account_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE control_strings SET used_at = clock_timestamp() WHERE account_id = $1 AND used_at IS NULL",
    )
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_strings_are_grouped_and_typed_forms_match() {
        let t = generate();
        assert_eq!(t.len(), LEN + LEN / 4 - 1);
        assert!(t.split('-').all(|g| g.len() == 4));
        assert_eq!(stored(&t), stored(&t.to_lowercase().replace('-', " ")));
        assert_ne!(stored(&t), stored(&generate()));
    }
}
