//! The account flows. Each is one transaction that changes the account tables, writes its security-log
//! entries and queues its mails in the outbox, so a mail exists exactly when its change committed.
//!
//! What never leaves this module: passwords (hashed at once), tokens and control strings (returned to the
//! caller or written into a mail's body, stored only as SHA-256).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::values::{Email, Inn};
use sqlx::PgPool;
use uuid::Uuid;

use super::accounts::{self, AccountRow};
use super::control::{self, Purpose};
use super::passwords;
use super::ratelimit::RateLimiter;
use super::security::{self, Client, Entry, SecurityEventKind as Kind};
use super::sessions::{self, SessionPolicy};
use super::{terms, Actor, Role};
use crate::error::ApiError;
use crate::mail::templates::{self, Locale};
use crate::mail::Outbox;

/// Settings of the account flows.
#[derive(Debug, Clone, Copy)]
pub struct AccountSettings {
    /// Session lifetimes.
    pub sessions: SessionPolicy,
    /// Calls of each unauthenticated operation per client address per minute.
    pub rate_per_minute: u32,
    /// `requestPasswordReset` never answers sooner than this, found or not.
    pub reset_answer_floor: Duration,
    /// Mails of one kind one address may be sent per hour on callers' requests.
    pub mails_per_recipient_per_hour: u32,
    /// Login changes one account may start per day.
    pub login_changes_per_day: u32,
    /// Days from an account's deletion to the destruction of its personal data (`[personal_data]`).
    pub destroy_within_days: u32,
    /// Years a client company's data is kept after its last contract ended (`[personal_data]`).
    pub client_retention_years: u32,
}

/// What withdrawing consent does: what will be destroyed and when, or what a legal ground keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentWithdrawal {
    /// When consent was withdrawn (the first time, if withdrawn before).
    pub withdrawn_at: DateTime<Utc>,
    /// When the account's personal data will be destroyed; None while a ground keeps it.
    pub destroy_personal_data_by: Option<DateTime<Utc>>,
    /// The categories to be destroyed by then.
    pub destroyed: Vec<String>,
    /// What another legal ground keeps, per company.
    pub kept: Vec<KeptData>,
}

/// Personal data another legal ground keeps after consent was withdrawn.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptData {
    /// The company whose contract keeps it.
    pub company_id: Uuid,
    /// Its short name.
    pub company_name: Option<String>,
    /// The ground: `contract` (performing the leasing contract, 152-ФЗ art. 6 part 1 item 5).
    pub ground: String,
    /// What it keeps.
    pub categories: Vec<String>,
    /// Until when, at the earliest: the last scheduled payment plus the retention after the contract.
    pub until: Option<chrono::NaiveDate>,
    /// Why, in words.
    pub reason: String,
}

/// The mails a caller's request makes the cabinet send, each capped per recipient and hour
/// ([`AccountSettings::mails_per_recipient_per_hour`]): nobody can turn the cabinet into a mail cannon
/// against an address, its own or another's.
const CAPPED_TEMPLATES: &[&str] = &[
    "password_reset",
    "login_change_confirmation",
    "login_change_requested",
    "new_sign_in",
    "account_locked",
];

/// The account flows.
pub struct AccountService {
    pub(super) pool: PgPool,
    pub(super) outbox: Outbox,
    pub(super) settings: AccountSettings,
    pub(super) limiter: RateLimiter,
}

/// A successful sign-in.
#[derive(Debug)]
pub struct SignedIn {
    /// The bearer token (shown once).
    pub token: String,
    /// Its absolute expiry.
    pub expires_at: DateTime<Utc>,
    /// The account, as the authorization layer sees it.
    pub actor: Actor,
}

pub(super) fn locked(until: DateTime<Utc>) -> ApiError {
    refused(
        "ACCOUNT_LOCKED",
        format!(
            "too many failed sign-ins; try again after {} UTC",
            until.format("%H:%M")
        ),
    )
}

fn invalid_login() -> ApiError {
    ApiError::Unauthenticated("invalid e-mail or password".into())
}

pub(super) fn refused(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::Forbidden {
        code,
        message: message.into(),
    }
}

impl AccountService {
    /// The flows over `pool`, mailing through `outbox`.
    pub fn new(pool: PgPool, outbox: Outbox, settings: AccountSettings) -> Self {
        Self {
            pool,
            outbox,
            limiter: RateLimiter::new(settings.rate_per_minute),
            settings,
        }
    }

    /// Session lifetimes.
    pub fn session_policy(&self) -> SessionPolicy {
        self.settings.sessions
    }

    /// Signs in. Unknown e-mail and wrong password answer alike and take alike (a decoy hash is checked);
    /// 5 wrong passwords in 15 minutes lock the login for 15 minutes, known or not.
    ///
    /// # Errors
    /// RATE_LIMITED, ACCOUNT_LOCKED, UNAUTHENTICATED (wrong e-mail or password), ACCOUNT_BLOCKED and
    /// TEMPORARY_PASSWORD_EXPIRED (the last two only with the right password).
    pub async fn login(
        &self,
        email: &str,
        password: String,
        second_factor: Option<&str>,
        client: &Client,
    ) -> Result<SignedIn, ApiError> {
        self.limiter.check("login", client.address_or_unknown())?;
        let login = email.trim().to_lowercase();
        let key = security::login_key(&login);
        if let Some(until) = security::locked_until(&self.pool, &key).await? {
            return Err(locked(until));
        }
        let found = match Email::parse(&login) {
            Ok(e) => accounts::find_login(&self.pool, e.as_str()).await?,
            Err(_) => None,
        };
        let stored = found
            .as_ref()
            .map(|f| f.password_hash.clone())
            .unwrap_or_else(|| passwords::decoy_hash().to_owned());
        let caller = passwords::caller_address(client.address_or_unknown());
        let verified = passwords::verify_async(&caller, password.clone(), stored).await?;
        let mut tx = self.pool.begin().await?;
        let account = match found {
            Some(f) if verified.ok => f,
            found => {
                let known = found
                    .as_ref()
                    .map(|f| (f.account_id, login.as_str(), Locale::parse(&f.locale)));
                self.failed_password(&mut tx, &key, known, client).await?;
                tx.commit().await?;
                return Err(invalid_login());
            }
        };
        if account.blocked {
            return Err(refused(
                "ACCOUNT_BLOCKED",
                "this account is blocked; contact your manager",
            ));
        }
        if account.temporary_expired {
            return Err(refused(
                "TEMPORARY_PASSWORD_EXPIRED",
                "the temporary password has expired; recover the password with your company's ИНН and this e-mail",
            ));
        }
        // Two-factor sign-in: the app's code or a recovery code, after the right password.
        self.second_factor_if_on(
            &mut tx,
            account.account_id,
            &login,
            second_factor,
            "totpCode",
            client,
        )
        .await?;
        security::clear_failures(&mut tx, &key).await?;
        if verified.needs_rehash {
            let hash = passwords::hash_async(&caller, password).await?;
            sqlx::query("UPDATE accounts SET password_hash = $2 WHERE account_id = $1")
                .bind(account.account_id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        let (token, expires_at) =
            sessions::issue(&mut tx, account.account_id, self.settings.sessions, client).await?;
        let new_client = security::note_client(&mut tx, account.account_id, client).await?;
        let kind = if new_client {
            Kind::SignedInFromNewClient
        } else {
            Kind::SignedIn
        };
        security::record(&mut tx, Entry::new(account.account_id, kind, Some(client))).await?;
        if new_client {
            let letter = templates::new_sign_in(
                Locale::parse(&account.locale),
                &self.outbox.site,
                Utc::now(),
                client.address_or_unknown(),
                client.user_agent.as_deref().unwrap_or("unknown"),
            );
            self.enqueue_capped(&mut tx, &login, letter).await?;
        }
        tx.commit().await?;
        let actor = sessions::resolve(&self.pool, &token, self.settings.sessions)
            .await?
            .ok_or_else(invalid_login)?;
        Ok(SignedIn {
            token,
            expires_at,
            actor,
        })
    }

    /// Changes the signed-in account's password. Every other session ends; the account is mailed.
    ///
    /// # Errors
    /// RATE_LIMITED, ACCOUNT_LOCKED, VALIDATION on `currentPassword` (wrong; counted like a failed sign-in)
    /// or `newPassword` (the policy, or unchanged).
    pub async fn change_password(
        &self,
        actor: &Actor,
        current_session: Option<&[u8]>,
        current: String,
        new: String,
        second_factor: Option<&str>,
        client: &Client,
    ) -> Result<(), ApiError> {
        passwords::check_field("newPassword", &new, &actor.email)?;
        if new == current {
            return Err(ApiError::validation(
                "newPassword",
                "must differ from the current password",
            ));
        }
        self.check_current_password(actor, current, "currentPassword", client)
            .await?;
        let hash = passwords::hash_async(&passwords::caller_account(actor.account_id), new).await?;
        let mut tx = self.pool.begin().await?;
        self.second_factor_if_on(
            &mut tx,
            actor.account_id,
            &actor.email,
            second_factor,
            "totpCode",
            client,
        )
        .await?;
        accounts::set_password(&mut tx, actor.account_id, &hash).await?;
        sessions::revoke_all(&mut tx, actor.account_id, current_session).await?;
        security::record(
            &mut tx,
            Entry::new(actor.account_id, Kind::PasswordChanged, Some(client)),
        )
        .await?;
        let letter = templates::password_changed(
            accounts::locale(&mut *tx, actor.account_id).await?,
            &self.outbox.site,
            Utc::now(),
        );
        self.outbox.enqueue(&mut tx, &actor.email, letter).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Password recovery, step 1: when an active account with this login is linked to a company with this
    /// ИНН, mails it a control string valid 1 hour. Answers the same, and no sooner than the configured
    /// floor, either way.
    ///
    /// # Errors
    /// RATE_LIMITED; VALIDATION on `inn` or `email` when they are not an ИНН or an e-mail at all.
    pub async fn request_password_reset(
        &self,
        inn: &str,
        email: &str,
        client: &Client,
    ) -> Result<(), ApiError> {
        self.limiter
            .check("requestPasswordReset", client.address_or_unknown())?;
        let started = Instant::now();
        let inn = Inn::parse(inn).map_err(|e| ApiError::validation("inn", e.to_string()))?;
        let email =
            Email::parse(email).map_err(|e| ApiError::validation("email", e.to_string()))?;
        let outcome = self.mail_reset(&inn, &email, client).await;
        // The same answer, at the same time, found or not; an internal error is still logged.
        tokio::time::sleep_until((started + self.settings.reset_answer_floor).into()).await;
        if let Err(e) = outcome {
            tracing::error!(
                error = format!("{:#}", anyhow::Error::from(e)),
                "password reset request failed"
            );
        }
        Ok(())
    }

    async fn mail_reset(
        &self,
        inn: &Inn,
        email: &Email,
        client: &Client,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let account: Option<(Uuid, String)> = sqlx::query_as(
            "SELECT a.account_id, a.locale FROM accounts a \
             WHERE a.email = $1 AND a.deleted_at IS NULL AND a.blocked_at IS NULL \
               AND EXISTS (SELECT 1 FROM account_companies l JOIN companies_view c USING (company_id) \
                           WHERE l.account_id = a.account_id AND c.inn = $2) \
             FOR UPDATE",
        )
        .bind(email.as_str())
        .bind(inn.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((account_id, locale)) = account else {
            return Ok(());
        };
        let control = control::issue(&mut tx, account_id, Purpose::PasswordReset, None).await?;
        let letter = templates::password_reset(
            Locale::parse(&locale),
            &self.outbox.site,
            &control,
            Purpose::PasswordReset.ttl().num_minutes(),
        );
        if !self.enqueue_capped(&mut tx, email.as_str(), letter).await? {
            // Over the cap: nothing is sent, and the answer is the same as ever.
            return Ok(());
        }
        security::record(
            &mut tx,
            Entry::new(account_id, Kind::PasswordResetRequested, Some(client)),
        )
        .await?;
        tx.commit().await
    }

    /// Password recovery, step 2: uses the control string, sets the new password, ends every session and
    /// lifts a lockout. A refused password leaves the control string unused.
    ///
    /// # Errors
    /// RATE_LIMITED; VALIDATION on `token` (unknown, used or expired) or `newPassword` (the policy).
    pub async fn reset_password(
        &self,
        token: &str,
        new: String,
        second_factor: Option<&str>,
        client: &Client,
    ) -> Result<(), ApiError> {
        self.limiter
            .check("resetPassword", client.address_or_unknown())?;
        let mut tx = self.pool.begin().await?;
        let Some((account_id, _)) =
            control::consume(&mut tx, token, Purpose::PasswordReset).await?
        else {
            return Err(ApiError::validation(
                "token",
                "the control string is unknown, already used or expired; request a new one",
            ));
        };
        let (email, locale): (String, String) =
            sqlx::query_as("SELECT email, locale FROM accounts WHERE account_id = $1 FOR UPDATE")
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?;
        passwords::check_field("newPassword", &new, &email)?;
        // The mailbox alone does not reset the password of an account with two factors.
        self.second_factor_if_on(
            &mut tx,
            account_id,
            &email,
            second_factor,
            "totpCode",
            client,
        )
        .await?;
        let hash =
            passwords::hash_async(&passwords::caller_address(client.address_or_unknown()), new)
                .await?;
        accounts::set_password(&mut tx, account_id, &hash).await?;
        sessions::revoke_all(&mut tx, account_id, None).await?;
        security::clear_failures(&mut tx, &security::login_key(&email)).await?;
        security::record(
            &mut tx,
            Entry::new(account_id, Kind::PasswordReset, Some(client)),
        )
        .await?;
        let letter =
            templates::password_changed(Locale::parse(&locale), &self.outbox.site, Utc::now());
        self.outbox.enqueue(&mut tx, &email, letter).await?;
        tx.commit().await?;
        Ok(())
    }

    /// "My account was compromised": blocks the login at once (its owner's own report), ends every session
    /// and tells the owner; returns when it was blocked. The lessor's side of the recovery (a request to
    /// the back office per company) is `app::compromise`.
    ///
    /// # Errors
    /// A database error.
    pub async fn report_compromised(
        &self,
        actor: &Actor,
        client: &Client,
    ) -> Result<DateTime<Utc>, ApiError> {
        let mut tx = self.pool.begin().await?;
        let blocked_at: DateTime<Utc> = sqlx::query_scalar(
            "UPDATE accounts SET blocked_at = coalesce(blocked_at, clock_timestamp()), \
               blocked_reason = 'compromised: reported by its owner' \
             WHERE account_id = $1 RETURNING blocked_at",
        )
        .bind(actor.account_id)
        .fetch_one(&mut *tx)
        .await?;
        sessions::revoke_all(&mut tx, actor.account_id, None).await?;
        security::record(
            &mut tx,
            Entry::new(actor.account_id, Kind::CompromiseReported, Some(client)),
        )
        .await?;
        let locale = accounts::locale(&mut *tx, actor.account_id).await?;
        self.outbox
            .enqueue(
                &mut tx,
                &actor.email,
                templates::account_compromised(locale, &self.outbox.site),
            )
            .await?;
        tx.commit().await?;
        Ok(blocked_at)
    }

    /// Ends every session of the signed-in account, this one included.
    ///
    /// # Errors
    /// A database error.
    pub async fn logout_everywhere(&self, actor: &Actor, client: &Client) -> Result<u64, ApiError> {
        let mut tx = self.pool.begin().await?;
        let n = sessions::revoke_all(&mut tx, actor.account_id, None).await?;
        security::record(
            &mut tx,
            Entry::new(actor.account_id, Kind::SignedOutEverywhere, Some(client)),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Accepts the current terms of use.
    ///
    /// # Errors
    /// VALIDATION on `version` when it is not the current one.
    pub async fn accept_terms(
        &self,
        actor: &Actor,
        version: i32,
        client: &Client,
    ) -> Result<(), ApiError> {
        let mut tx = self.pool.begin().await?;
        terms::accept(&mut tx, actor.account_id, version, client).await?;
        let mut e = Entry::new(actor.account_id, Kind::TermsAccepted, Some(client));
        let detail = format!("version {version}");
        e.detail = Some(&detail);
        security::record(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Starts a login change: with the current password, mails a control string (valid 24 hours) to the new
    /// address, and tells the current one (with what to do when it was not the owner). Whoever holds only a
    /// session cannot hand the account to an address of theirs.
    ///
    /// # Errors
    /// VALIDATION on `newEmail` (not an e-mail, or the current login) or `currentPassword` (wrong; counted
    /// like a failed sign-in); ACCOUNT_LOCKED; RATE_LIMITED (too many login changes today, too many mails
    /// to the address this hour, or too many password checks).
    pub async fn request_login_change(
        &self,
        actor: &Actor,
        new_email: &str,
        current_password: String,
        second_factor: Option<&str>,
        client: &Client,
    ) -> Result<(), ApiError> {
        let new =
            Email::parse(new_email).map_err(|e| ApiError::validation("newEmail", e.to_string()))?;
        if new.as_str() == actor.email {
            return Err(ApiError::validation("newEmail", "is already your login"));
        }
        self.check_current_password(actor, current_password, "currentPassword", client)
            .await?;
        let mut tx = self.pool.begin().await?;
        self.second_factor_if_on(
            &mut tx,
            actor.account_id,
            &actor.email,
            second_factor,
            "totpCode",
            client,
        )
        .await?;
        let started_today: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM control_strings WHERE account_id = $1 AND purpose = $2 \
               AND created_at > clock_timestamp() - interval '1 day'",
        )
        .bind(actor.account_id)
        .bind(Purpose::LoginChange.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if started_today >= i64::from(self.settings.login_changes_per_day) {
            metrics::counter!("cabinet_mail_capped_total", "cap" => "login_changes").increment(1);
            return Err(refused(
                "RATE_LIMITED",
                format!(
                    "at most {} login changes a day; try again tomorrow",
                    self.settings.login_changes_per_day
                ),
            ));
        }
        let control = control::issue(
            &mut tx,
            actor.account_id,
            Purpose::LoginChange,
            Some(new.as_str()),
        )
        .await?;
        let locale = accounts::locale(&mut *tx, actor.account_id).await?;
        let letter = templates::login_change_confirmation(
            locale,
            &self.outbox.site,
            new.as_str(),
            &control,
            Purpose::LoginChange.ttl().num_hours(),
        );
        if !self.enqueue_capped(&mut tx, new.as_str(), letter).await? {
            return Err(refused(
                "RATE_LIMITED",
                "too many mails to this address in the last hour; try again later",
            ));
        }
        let notice = templates::login_change_requested(
            locale,
            &self.outbox.site,
            &templates::mask_email(new.as_str()),
            client.address_or_unknown(),
        );
        self.enqueue_capped(&mut tx, &actor.email, notice).await?;
        security::record(
            &mut tx,
            Entry::new(actor.account_id, Kind::LoginChangeRequested, Some(client)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Confirms a login change with the control string mailed to the new address; the old address is told.
    ///
    /// # Errors
    /// VALIDATION on `token` (unknown, used, expired or another account's) or when the new address became
    /// another account's login meanwhile.
    pub async fn confirm_login_change(
        &self,
        actor: &Actor,
        token: &str,
        client: &Client,
    ) -> Result<(), ApiError> {
        let bad = || {
            ApiError::validation(
                "token",
                "the control string is unknown, already used or expired",
            )
        };
        let mut tx = self.pool.begin().await?;
        let (account_id, new_email) = control::consume(&mut tx, token, Purpose::LoginChange)
            .await?
            .ok_or_else(bad)?;
        let Some(new_email) = new_email.filter(|_| account_id == actor.account_id) else {
            return Err(bad());
        };
        let taken: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1 AND account_id <> $2)",
        )
        .bind(&new_email)
        .bind(account_id)
        .fetch_one(&mut *tx)
        .await?;
        if taken {
            return Err(ApiError::validation(
                "token",
                "the new address is already another account's login",
            ));
        }
        sqlx::query("UPDATE accounts SET email = $2 WHERE account_id = $1")
            .bind(account_id)
            .bind(&new_email)
            .execute(&mut *tx)
            .await?;
        let masked = templates::mask_email(&new_email);
        let mut e = Entry::new(account_id, Kind::LoginChanged, Some(client));
        e.detail = Some(&masked);
        security::record(&mut tx, e).await?;
        let letter = templates::login_changed(
            accounts::locale(&mut *tx, account_id).await?,
            &self.outbox.site,
            &masked,
        );
        self.outbox.enqueue(&mut tx, &actor.email, letter).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves a login to `new_email` for a person who lost the mailbox, after staff checked the person's
    /// identity and completed the login-change request (the request-effects worker calls it once). Every
    /// session ends; the old address is told where the login went (masked) and the new one that it is the
    /// login now. `Ok(Err(why))` when it cannot be done (deleted account, address taken).
    ///
    /// # Errors
    /// A database error.
    pub async fn move_login(
        &self,
        account_id: Uuid,
        new_email: &Email,
    ) -> Result<Result<String, String>, ApiError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<(String, bool, String)> = sqlx::query_as(
            "SELECT email, deleted_at IS NOT NULL, locale FROM accounts WHERE account_id = $1 FOR UPDATE",
        )
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((old, deleted, locale)) = row else {
            return Ok(Err("the account no longer exists".into()));
        };
        if deleted {
            return Ok(Err("the account was deleted".into()));
        }
        if old == new_email.as_str() {
            return Ok(Ok("the address is the login already".into()));
        }
        let taken: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1 AND account_id <> $2)",
        )
        .bind(new_email.as_str())
        .bind(account_id)
        .fetch_one(&mut *tx)
        .await?;
        if taken {
            return Ok(Err(
                "the new address is already another account's login".into()
            ));
        }
        sqlx::query("UPDATE accounts SET email = $2 WHERE account_id = $1")
            .bind(account_id)
            .bind(new_email.as_str())
            .execute(&mut *tx)
            .await?;
        sessions::revoke_all(&mut tx, account_id, None).await?;
        control::retire_all(&mut tx, account_id).await?;
        let masked = templates::mask_email(new_email.as_str());
        let detail = format!("moved by staff after an identity check to {masked}");
        let mut e = Entry::new(account_id, Kind::LoginChanged, None);
        e.detail = Some(&detail);
        security::record(&mut tx, e).await?;
        let locale = Locale::parse(&locale);
        let site = &self.outbox.site;
        self.outbox
            .enqueue(
                &mut tx,
                &old,
                templates::login_changed(locale, site, &masked),
            )
            .await?;
        self.outbox
            .enqueue(
                &mut tx,
                new_email.as_str(),
                templates::login_moved(locale, site, new_email.as_str()),
            )
            .await?;
        tx.commit().await?;
        Ok(Ok(format!("the login was moved to {masked}")))
    }

    /// Withdraws the signed-in CLIENT's consent to the processing of personal data. With no obligation
    /// left the account is deactivated and its data is due for destruction as after a deletion; while a
    /// linked company has a contract in force or a debt, the contract keeps the account and the contact
    /// data (the answer says which and until when), and the destruction job destroys them once it ends.
    ///
    /// # Errors
    /// A database error.
    pub async fn withdraw_consent(
        &self,
        actor: &Actor,
        client: &Client,
    ) -> Result<ConsentWithdrawal, ApiError> {
        let mut tx = self.pool.begin().await?;
        let withdrawn_at: DateTime<Utc> = sqlx::query_scalar(
            "UPDATE accounts SET consent_withdrawn_at = coalesce(consent_withdrawn_at, clock_timestamp()) \
             WHERE account_id = $1 RETURNING consent_withdrawn_at",
        )
        .bind(actor.account_id)
        .fetch_one(&mut *tx)
        .await?;
        security::record(
            &mut tx,
            Entry::new(actor.account_id, Kind::ConsentWithdrawn, Some(client)),
        )
        .await?;
        let open = accounts::obligations(&mut tx, actor.account_id).await?;
        let destroyed = vec![
            "account login".to_owned(),
            "sign-in addresses and devices".to_owned(),
            "mails to the account".to_owned(),
        ];
        if open.is_empty() {
            let (_, destroy_by) = accounts::schedule_destruction(
                &mut tx,
                actor.account_id,
                self.settings.destroy_within_days,
            )
            .await?;
            tx.commit().await?;
            return Ok(ConsentWithdrawal {
                withdrawn_at,
                destroy_personal_data_by: Some(destroy_by),
                destroyed,
                kept: Vec::new(),
            });
        }
        let mut kept = Vec::new();
        for o in open {
            let last_due: Option<chrono::NaiveDate> = sqlx::query_scalar(
                "SELECT max(s.due_date) FROM schedule_view s JOIN contracts_view c USING (contract_id) \
                 WHERE c.company_id = $1 AND c.status IN ('concluded', 'active')",
            )
            .bind(o.company_id)
            .fetch_one(&mut *tx)
            .await?;
            let years = self.settings.client_retention_years;
            kept.push(KeptData {
                company_id: o.company_id,
                company_name: o.name.clone(),
                ground: "contract".into(),
                categories: vec![
                    "account login (the contract's channel)".into(),
                    "contact details in contracts and requests".into(),
                ],
                until: last_due
                    .and_then(|d| d.checked_add_months(chrono::Months::new(12 * years))),
                reason: format!(
                    "{} contract(s) in force, debt RUB {}: kept while the contracts are performed and \
                     {years} years after they end",
                    o.active_contracts,
                    domain::values::Money::written(o.debt, ',', '.')
                ),
            });
        }
        tx.commit().await?;
        Ok(ConsentWithdrawal {
            withdrawn_at,
            destroy_personal_data_by: None,
            destroyed: Vec::new(),
            kept,
        })
    }

    /// Deletes the signed-in CLIENT account on its request: refused while a linked company has an active
    /// contract or unpaid debt; otherwise deactivated at once (every session ends) with its personal data
    /// due for destruction within 30 days.
    ///
    /// # Errors
    /// OBLIGATIONS_REMAIN, naming each company and what it still owes.
    pub async fn request_deletion(
        &self,
        actor: &Actor,
        client: &Client,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
        let mut tx = self.pool.begin().await?;
        // Serialises with provisioning and staff actions on this account.
        sqlx::query("SELECT 1 FROM accounts WHERE account_id = $1 FOR UPDATE")
            .bind(actor.account_id)
            .execute(&mut *tx)
            .await?;
        let open = accounts::obligations(&mut tx, actor.account_id).await?;
        if !open.is_empty() {
            let rub = |d| domain::values::Money::written(d, ',', '.');
            let reasons: Vec<String> = open
                .iter()
                .map(|o| {
                    let name = o.name.clone().unwrap_or_else(|| o.company_id.to_string());
                    match (o.active_contracts, o.debt.is_zero()) {
                        (0, _) => format!("{name}: unpaid debt RUB {}", rub(o.debt)),
                        (n, true) => format!("{name}: {n} active contract(s)"),
                        (n, false) => format!(
                            "{name}: {n} active contract(s), unpaid debt RUB {}",
                            rub(o.debt)
                        ),
                    }
                })
                .collect();
            return Err(refused(
                "OBLIGATIONS_REMAIN",
                format!(
                    "the account cannot be deleted while obligations remain — {}",
                    reasons.join("; ")
                ),
            ));
        }
        let (deleted_at, destroy_by) = accounts::schedule_destruction(
            &mut tx,
            actor.account_id,
            self.settings.destroy_within_days,
        )
        .await?;
        security::record(
            &mut tx,
            Entry::new(actor.account_id, Kind::Deleted, Some(client)),
        )
        .await?;
        let letter = templates::account_deleted(
            accounts::locale(&mut *tx, actor.account_id).await?,
            destroy_by,
        );
        self.outbox.enqueue(&mut tx, &actor.email, letter).await?;
        tx.commit().await?;
        Ok((deleted_at, destroy_by))
    }

    // -----------------------------------------------------------------------------------------------------
    // Staff actions (ADMIN)

    async fn lock_account(tx: &mut sqlx::PgConnection, id: Uuid) -> Result<AccountRow, ApiError> {
        sqlx::query("SELECT 1 FROM accounts WHERE account_id = $1 FOR UPDATE")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        accounts::load(tx, id)
            .await?
            .ok_or_else(|| ApiError::NotFound("account not found".into()))
    }

    /// Blocks an account: it cannot sign in, and its sessions end.
    ///
    /// # Errors
    /// NOT_FOUND; VALIDATION when an administrator blocks itself or the reason is blank.
    pub async fn block(
        &self,
        admin: &Actor,
        id: Uuid,
        reason: &str,
        client: &Client,
    ) -> Result<AccountRow, ApiError> {
        if id == admin.account_id {
            return Err(ApiError::validation(
                "accountId",
                "you cannot block yourself",
            ));
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(ApiError::validation(
                "reason",
                "must be 1 to 500 characters",
            ));
        }
        let mut tx = self.pool.begin().await?;
        Self::lock_account(&mut tx, id).await?;
        sqlx::query(
            "UPDATE accounts SET blocked_at = coalesce(blocked_at, clock_timestamp()), blocked_reason = $2 \
             WHERE account_id = $1",
        )
        .bind(id)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        sessions::revoke_all(&mut tx, id, None).await?;
        self.staff_entry(&mut tx, id, Kind::Blocked, admin, client, Some(reason))
            .await?;
        Self::commit_and_read(tx, id).await
    }

    /// Unblocks an account and lifts a sign-in lockout.
    ///
    /// # Errors
    /// NOT_FOUND.
    pub async fn unblock(
        &self,
        admin: &Actor,
        id: Uuid,
        client: &Client,
    ) -> Result<AccountRow, ApiError> {
        let mut tx = self.pool.begin().await?;
        let before = Self::lock_account(&mut tx, id).await?;
        sqlx::query(
            "UPDATE accounts SET blocked_at = NULL, blocked_reason = NULL WHERE account_id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        security::clear_failures(&mut tx, &security::login_key(&before.email)).await?;
        self.staff_entry(&mut tx, id, Kind::Unblocked, admin, client, None)
            .await?;
        Self::commit_and_read(tx, id).await
    }

    /// Issues a new temporary password (mailed; valid 10 days; to be changed at sign-in), ends every
    /// session and lifts a lockout.
    ///
    /// # Errors
    /// NOT_FOUND (also for a deleted account).
    pub async fn reset_account_password(
        &self,
        admin: &Actor,
        id: Uuid,
        client: &Client,
    ) -> Result<AccountRow, ApiError> {
        let password = passwords::generate_temporary();
        let hash = passwords::hash_async(
            &passwords::caller_account(admin.account_id),
            password.clone(),
        )
        .await?;
        let mut tx = self.pool.begin().await?;
        let before = Self::lock_account(&mut tx, id).await?;
        if before.deleted_at.is_some() {
            return Err(ApiError::NotFound("account not found".into()));
        }
        let expires = accounts::set_temporary_password(&mut tx, id, &hash).await?;
        sessions::revoke_all(&mut tx, id, None).await?;
        security::clear_failures(&mut tx, &security::login_key(&before.email)).await?;
        // Staff who checked the person's identity give the account back whole: an authenticator somebody
        // else enrolled (a taken-over account) goes with the password; the person enrols again.
        let second_factor = sqlx::query("DELETE FROM account_totp WHERE account_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        sqlx::query("DELETE FROM totp_recovery_codes WHERE account_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.staff_entry(
            &mut tx,
            id,
            Kind::TemporaryPasswordIssued,
            admin,
            client,
            second_factor.then_some("two-factor sign-in removed"),
        )
        .await?;
        let letter = templates::temporary_password_reset(
            Locale::parse(&before.locale),
            &self.outbox.site,
            &before.email,
            &password,
            expires,
        );
        self.outbox.enqueue(&mut tx, &before.email, letter).await?;
        Self::commit_and_read(tx, id).await
    }

    /// Replaces an account's roles.
    ///
    /// # Errors
    /// NOT_FOUND; VALIDATION on `roles` when empty, or when an administrator changes its own.
    pub async fn change_roles(
        &self,
        admin: &Actor,
        id: Uuid,
        roles: &[Role],
        client: &Client,
    ) -> Result<AccountRow, ApiError> {
        if roles.is_empty() {
            return Err(ApiError::validation("roles", "give at least one role"));
        }
        if id == admin.account_id {
            return Err(ApiError::validation(
                "accountId",
                "another administrator must change your roles",
            ));
        }
        let mut names = accounts::role_names(roles);
        names.sort_unstable();
        names.dedup();
        let mut tx = self.pool.begin().await?;
        Self::lock_account(&mut tx, id).await?;
        sqlx::query("UPDATE accounts SET roles = $2 WHERE account_id = $1")
            .bind(id)
            .bind(&names)
            .execute(&mut *tx)
            .await?;
        let detail = names.join(",");
        self.staff_entry(
            &mut tx,
            id,
            Kind::RolesChanged,
            admin,
            client,
            Some(&detail),
        )
        .await?;
        Self::commit_and_read(tx, id).await
    }

    /// Reads the account as the staff action left it, and commits.
    async fn commit_and_read(
        mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
        id: Uuid,
    ) -> Result<AccountRow, ApiError> {
        let row = accounts::load(&mut tx, id).await?;
        tx.commit().await?;
        row.ok_or_else(|| ApiError::NotFound("account not found".into()))
    }

    /// Checks the signed-in account's password for a change that needs it, held to the same rules as a
    /// sign-in: a per-account rate limit, the lockout (a locked login cannot be guessed from a session
    /// either), a failure counted toward it, and the caller's own place in the hashing queue.
    ///
    /// # Errors
    /// RATE_LIMITED, ACCOUNT_LOCKED, VALIDATION on `field`.
    pub(super) async fn check_current_password(
        &self,
        actor: &Actor,
        password: String,
        field: &'static str,
        client: &Client,
    ) -> Result<(), ApiError> {
        let caller = passwords::caller_account(actor.account_id);
        self.limiter.check("passwordCheck", &caller)?;
        let key = security::login_key(&actor.email);
        if let Some(until) = security::locked_until(&self.pool, &key).await? {
            return Err(locked(until));
        }
        let stored: String =
            sqlx::query_scalar("SELECT password_hash FROM accounts WHERE account_id = $1")
                .bind(actor.account_id)
                .fetch_one(&self.pool)
                .await?;
        if passwords::verify_async(&caller, password, stored).await?.ok {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        let locale = accounts::locale(&mut *tx, actor.account_id).await?;
        self.failed_password(
            &mut tx,
            &key,
            Some((actor.account_id, &actor.email, locale)),
            client,
        )
        .await?;
        tx.commit().await?;
        Err(ApiError::validation(field, "is not your current password"))
    }

    /// Records a wrong password for `key` (and, for a known account, in its security log); at the limit
    /// the login locks and the account is told.
    pub(super) async fn failed_password(
        &self,
        tx: &mut sqlx::PgConnection,
        key: &[u8],
        account: Option<(Uuid, &str, Locale)>,
        client: &Client,
    ) -> Result<(), ApiError> {
        let locked = security::record_failure(&mut *tx, key).await?;
        let Some((account_id, login, locale)) = account else {
            return Ok(());
        };
        security::record(
            &mut *tx,
            Entry::new(account_id, Kind::SignInFailed, Some(client)),
        )
        .await?;
        if let Some(until) = locked {
            security::record(&mut *tx, Entry::new(account_id, Kind::Locked, Some(client))).await?;
            let letter = templates::account_locked(locale, &self.outbox.site, until);
            self.enqueue_capped(&mut *tx, login, letter).await?;
        }
        Ok(())
    }

    /// Queues a mail a caller's request asked for, unless its recipient has had
    /// [`AccountSettings::mails_per_recipient_per_hour`] of its kind in the last hour; returns whether it
    /// was queued.
    async fn enqueue_capped(
        &self,
        tx: &mut sqlx::PgConnection,
        recipient: &str,
        letter: templates::Letter,
    ) -> Result<bool, sqlx::Error> {
        debug_assert!(CAPPED_TEMPLATES.contains(&letter.template));
        let sent: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE recipient = $1 AND template = $2 \
               AND created_at > clock_timestamp() - interval '1 hour'",
        )
        .bind(recipient)
        .bind(letter.template)
        .fetch_one(&mut *tx)
        .await?;
        if sent >= i64::from(self.settings.mails_per_recipient_per_hour) {
            metrics::counter!("cabinet_mail_capped_total", "cap" => letter.template).increment(1);
            tracing::warn!(
                template = letter.template,
                "mail not queued: the recipient's hourly cap is reached"
            );
            return Ok(false);
        }
        self.outbox.enqueue(tx, recipient, letter).await?;
        Ok(true)
    }

    async fn staff_entry(
        &self,
        tx: &mut sqlx::PgConnection,
        id: Uuid,
        kind: Kind,
        admin: &Actor,
        client: &Client,
        detail: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let mut e = Entry::new(id, kind, Some(client));
        e.actor = Some(admin.account_id);
        e.detail = detail;
        security::record(tx, e).await
    }
}
