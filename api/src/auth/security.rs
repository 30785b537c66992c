//! The security log, sign-in lockout and the clients an account signs in from.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Wrong passwords within [`FAILURE_WINDOW_MINUTES`] that lock a login.
pub const MAX_FAILURES: i64 = 5;
/// The window failures are counted in.
pub const FAILURE_WINDOW_MINUTES: i64 = 15;
/// How long a lock lasts.
pub const LOCK_MINUTES: i64 = 15;

/// Where a request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    /// The peer's IP address (or the first X-Forwarded-For entry behind a trusted proxy).
    pub address: Option<String>,
    /// The User-Agent header.
    pub user_agent: Option<String>,
}

impl Client {
    /// The address, or `unknown`.
    pub fn address_or_unknown(&self) -> &str {
        self.address.as_deref().unwrap_or("unknown")
    }

    /// The stored key of this client: SHA-256 of address and user agent.
    pub fn key(&self) -> Vec<u8> {
        Sha256::digest(format!(
            "{}\n{}",
            self.address.as_deref().unwrap_or_default(),
            self.user_agent.as_deref().unwrap_or_default()
        ))
        .to_vec()
    }
}

/// What happened to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityEventKind {
    /// Created for a contract's contact person, with a temporary password mailed.
    Provisioned,
    /// Linked to another company (a further contract names this login).
    CompanyLinked,
    /// Signed in.
    SignedIn,
    /// Signed in from a client (address and program) not seen before; the account was mailed.
    SignedInFromNewClient,
    /// A wrong password.
    SignInFailed,
    /// Sign-in locked after too many wrong passwords.
    Locked,
    /// The password was changed by its owner.
    PasswordChanged,
    /// A recovery control string was mailed.
    PasswordResetRequested,
    /// The password was set through a recovery control string.
    PasswordReset,
    /// Every session was ended.
    SignedOutEverywhere,
    /// Terms of use accepted.
    TermsAccepted,
    /// A login change was requested (a confirmation string mailed to the new address).
    LoginChangeRequested,
    /// The login e-mail changed.
    LoginChanged,
    /// Deactivated on its owner's request; personal data scheduled for destruction.
    Deleted,
    /// Consent to the processing of personal data withdrawn.
    ConsentWithdrawn,
    /// Blocked by staff.
    Blocked,
    /// Unblocked by staff.
    Unblocked,
    /// A new temporary password issued by staff.
    TemporaryPasswordIssued,
    /// Roles changed by staff.
    RolesChanged,
    /// Invited a colleague to one of its companies (the inviter's log).
    ColleagueInvited,
    /// Withdrew an invitation (the log of who withdrew it).
    InvitationRevoked,
    /// Joined a company by accepting an invitation.
    InvitationAccepted,
    /// Its role in a company changed.
    CompanyRoleChanged,
    /// Removed from a company's people.
    RemovedFromCompany,
    /// Two-factor sign-in turned on (an authenticator app enrolled).
    TotpEnabled,
    /// Two-factor sign-in turned off.
    TotpDisabled,
    /// A code from the authenticator app was accepted.
    TotpUsed,
    /// A recovery code was used (it works no more).
    RecoveryCodeUsed,
    /// A wrong two-factor code (counted toward the lockout).
    TotpFailed,
    /// New recovery codes were issued; the old ones stopped working.
    RecoveryCodesIssued,
    /// Its owner reported it compromised: blocked, every session ended, the lessor asked to help.
    CompromiseReported,
}

impl SecurityEventKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioned => "PROVISIONED",
            Self::CompanyLinked => "COMPANY_LINKED",
            Self::SignedIn => "SIGNED_IN",
            Self::SignedInFromNewClient => "SIGNED_IN_FROM_NEW_CLIENT",
            Self::SignInFailed => "SIGN_IN_FAILED",
            Self::Locked => "LOCKED",
            Self::PasswordChanged => "PASSWORD_CHANGED",
            Self::PasswordResetRequested => "PASSWORD_RESET_REQUESTED",
            Self::PasswordReset => "PASSWORD_RESET",
            Self::SignedOutEverywhere => "SIGNED_OUT_EVERYWHERE",
            Self::TermsAccepted => "TERMS_ACCEPTED",
            Self::LoginChangeRequested => "LOGIN_CHANGE_REQUESTED",
            Self::LoginChanged => "LOGIN_CHANGED",
            Self::Deleted => "DELETED",
            Self::ConsentWithdrawn => "CONSENT_WITHDRAWN",
            Self::Blocked => "BLOCKED",
            Self::Unblocked => "UNBLOCKED",
            Self::TemporaryPasswordIssued => "TEMPORARY_PASSWORD_ISSUED",
            Self::RolesChanged => "ROLES_CHANGED",
            Self::ColleagueInvited => "COLLEAGUE_INVITED",
            Self::InvitationRevoked => "INVITATION_REVOKED",
            Self::InvitationAccepted => "INVITATION_ACCEPTED",
            Self::CompanyRoleChanged => "COMPANY_ROLE_CHANGED",
            Self::RemovedFromCompany => "REMOVED_FROM_COMPANY",
            Self::TotpEnabled => "TOTP_ENABLED",
            Self::TotpDisabled => "TOTP_DISABLED",
            Self::TotpUsed => "TOTP_USED",
            Self::RecoveryCodeUsed => "RECOVERY_CODE_USED",
            Self::TotpFailed => "TOTP_FAILED",
            Self::RecoveryCodesIssued => "RECOVERY_CODES_ISSUED",
            Self::CompromiseReported => "COMPROMISE_REPORTED",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        ALL_KINDS.iter().copied().find(|k| k.as_str() == s)
    }
}

const ALL_KINDS: &[SecurityEventKind] = &[
    SecurityEventKind::Provisioned,
    SecurityEventKind::CompanyLinked,
    SecurityEventKind::SignedIn,
    SecurityEventKind::SignedInFromNewClient,
    SecurityEventKind::SignInFailed,
    SecurityEventKind::Locked,
    SecurityEventKind::PasswordChanged,
    SecurityEventKind::PasswordResetRequested,
    SecurityEventKind::PasswordReset,
    SecurityEventKind::SignedOutEverywhere,
    SecurityEventKind::TermsAccepted,
    SecurityEventKind::LoginChangeRequested,
    SecurityEventKind::LoginChanged,
    SecurityEventKind::Deleted,
    SecurityEventKind::ConsentWithdrawn,
    SecurityEventKind::Blocked,
    SecurityEventKind::Unblocked,
    SecurityEventKind::TemporaryPasswordIssued,
    SecurityEventKind::RolesChanged,
    SecurityEventKind::ColleagueInvited,
    SecurityEventKind::InvitationRevoked,
    SecurityEventKind::InvitationAccepted,
    SecurityEventKind::CompanyRoleChanged,
    SecurityEventKind::RemovedFromCompany,
    SecurityEventKind::TotpEnabled,
    SecurityEventKind::TotpDisabled,
    SecurityEventKind::TotpUsed,
    SecurityEventKind::RecoveryCodeUsed,
    SecurityEventKind::TotpFailed,
    SecurityEventKind::RecoveryCodesIssued,
    SecurityEventKind::CompromiseReported,
];

/// One entry to record.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The account it is about.
    pub account_id: Uuid,
    /// What happened.
    pub kind: SecurityEventKind,
    /// Where the request came from, when a request caused it.
    pub client: Option<&'a Client>,
    /// The staff account that acted, for staff actions.
    pub actor: Option<Uuid>,
    /// A short note (never a secret).
    pub detail: Option<&'a str>,
}

impl<'a> Entry<'a> {
    /// An entry of `kind` about `account_id` from `client`.
    pub fn new(account_id: Uuid, kind: SecurityEventKind, client: Option<&'a Client>) -> Self {
        Self {
            account_id,
            kind,
            client,
            actor: None,
            detail: None,
        }
    }
}

/// Records an entry on `conn` (the caller's transaction).
///
/// # Errors
/// A database error.
pub async fn record(conn: &mut PgConnection, e: Entry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO security_log (account_id, kind, client_address, user_agent, actor_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(e.account_id)
    .bind(e.kind.as_str())
    .bind(e.client.and_then(|c| c.address.as_deref()))
    .bind(e.client.and_then(|c| c.user_agent.as_deref()))
    .bind(e.actor)
    .bind(e.detail)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A logged entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LogRow {
    /// Its id (the cursor).
    pub id: i64,
    /// The account.
    pub account_id: Uuid,
    /// What happened (stored name).
    pub kind: String,
    /// When.
    pub at: DateTime<Utc>,
    /// From where.
    pub client_address: Option<String>,
    /// With what program.
    pub user_agent: Option<String>,
    /// The staff account that acted.
    pub actor_id: Option<Uuid>,
    /// A note.
    pub detail: Option<String>,
}

/// An account's log, newest first, below `before` (an id), at most `limit` rows.
///
/// # Errors
/// A database error.
pub async fn load(
    pool: &PgPool,
    account_id: Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<LogRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, account_id, kind, at, client_address, user_agent, actor_id, detail FROM security_log \
         WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(account_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The lockout key of a login: SHA-256 of the normalised e-mail (unknown e-mails are counted too, and never
/// stored in clear).
pub fn login_key(email: &str) -> Vec<u8> {
    Sha256::digest(format!("login:{}", email.trim().to_lowercase())).to_vec()
}

/// When the login's lock ends, if it is locked now.
///
/// # Errors
/// A database error.
pub async fn locked_until(pool: &PgPool, key: &[u8]) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT locked_until FROM login_locks WHERE login_key = $1 AND locked_until > clock_timestamp()",
    )
    .bind(key)
    .fetch_optional(pool)
    .await
}

/// Counts a wrong password; returns the lock's end when this failure locked the login.
///
/// # Errors
/// A database error.
pub async fn record_failure(
    conn: &mut PgConnection,
    key: &[u8],
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    // One counter per login at a time: parallel failures cannot slip past the threshold.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended(encode($1, 'hex'), 7))")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "DELETE FROM login_failures WHERE login_key = $1 \
         AND failed_at < clock_timestamp() - make_interval(mins => $2::int)",
    )
    .bind(key)
    .bind(FAILURE_WINDOW_MINUTES as i32)
    .execute(&mut *conn)
    .await?;
    let failures: i64 = sqlx::query_scalar(
        "WITH ins AS (INSERT INTO login_failures (login_key) VALUES ($1) RETURNING 1) \
         SELECT (SELECT count(*) FROM login_failures WHERE login_key = $1) + (SELECT count(*) FROM ins)",
    )
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    if failures < MAX_FAILURES {
        return Ok(None);
    }
    let until: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO login_locks (login_key, locked_until) \
         VALUES ($1, clock_timestamp() + make_interval(mins => $2::int)) \
         ON CONFLICT (login_key) DO UPDATE SET locked_until = EXCLUDED.locked_until RETURNING locked_until",
    )
    .bind(key)
    .bind(LOCK_MINUTES as i32)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM login_failures WHERE login_key = $1")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(Some(until))
}

/// Forgets a login's failures and lock (a successful sign-in, a reset, staff unblocking).
///
/// # Errors
/// A database error.
pub async fn clear_failures(conn: &mut PgConnection, key: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE login_key = $1")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM login_locks WHERE login_key = $1")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Notes a sign-in from `client`; true when the account has signed in before, but never from it.
///
/// # Errors
/// A database error.
pub async fn note_client(
    conn: &mut PgConnection,
    account_id: Uuid,
    client: &Client,
) -> Result<bool, sqlx::Error> {
    let (inserted, others): (bool, i64) = sqlx::query_as(
        "WITH up AS ( \
           INSERT INTO account_clients (account_id, client_key) VALUES ($1, $2) \
           ON CONFLICT (account_id, client_key) DO UPDATE SET last_seen_at = clock_timestamp() \
           RETURNING (xmax = 0) AS inserted) \
         SELECT (SELECT inserted FROM up), \
                (SELECT count(*) FROM account_clients WHERE account_id = $1 AND client_key <> $2)",
    )
    .bind(account_id)
    .bind(client.key())
    .fetch_one(&mut *conn)
    .await?;
    Ok(inserted && others > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_stored_name() {
        for k in ALL_KINDS {
            assert_eq!(SecurityEventKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(SecurityEventKind::parse("NOPE"), None);
    }

    #[test]
    fn login_keys_ignore_case_and_spaces() {
        assert_eq!(login_key(" A@B.ru "), login_key("a@b.ru"));
        assert_ne!(login_key("a@b.ru"), login_key("a@c.ru"));
    }
}
