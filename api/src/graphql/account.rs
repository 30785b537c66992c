//! Accounts and security: sign-in and sessions, passwords and recovery, terms of use, login change,
//! deletion, and the administrators' account tools. The flows live in `auth::service`; this is their
//! GraphQL face.

use crate::graphql::scalars::Date;
use async_graphql::connection::Connection;
use async_graphql::{Context, InputObject, Object, Result};
use uuid::Uuid;

use super::context::{allow, app, request};
use super::enums::{Language, Role};
use super::pagination::{cursor, page, page_size};
use super::payload::{payload, AcceptedPayload, Done};
use super::types::{
    Account, AccountDeletionPayload, ConsentWithdrawalPayload, KeptPersonalData, LoginPayload, Me,
    SecurityEvent, Terms,
};
use crate::auth::policy::Operation;
use crate::auth::security::SecurityEventKind;
use crate::auth::{accounts, security, sessions, terms};
use crate::error::ApiError;
use crate::mail::templates::Locale;

/// Account queries.
#[derive(Default)]
pub struct AccountQuery;

/// Account mutations.
#[derive(Default)]
pub struct AccountMutation;

/// The caller as it is now, after a change to its own account.
async fn me_now(ctx: &Context<'_>) -> Result<Me, ApiError> {
    let app = app(ctx);
    let hash = request(ctx)?
        .token_hash
        .clone()
        .ok_or_else(|| ApiError::Unauthenticated("sign in first".into()))?;
    sessions::resolve_hash(&app.pool, &hash, app.accounts.session_policy())
        .await?
        .map(|a| Me::from(&a))
        .ok_or_else(|| ApiError::Unauthenticated("the session has ended; sign in again".into()))
}

#[Object]
impl AccountQuery {
    /// The current terms of use (`null` until an administrator publishes some). Readable before they are
    /// accepted.
    async fn terms(&self, ctx: &Context<'_>) -> Result<Option<Terms>> {
        allow(ctx, Operation::ReadTerms)?;
        Ok(terms::current(&app(ctx).pool)
            .await
            .map_err(ApiError::from)?
            .map(Terms::from))
    }

    /// Accounts in creation order (ADMIN). `search`: part of the login; `role`: only accounts with it.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
        role: Option<Role>,
    ) -> Result<Connection<String, Account, super::pagination::Total>> {
        allow(ctx, Operation::ManageAccounts)?;
        let limit = page_size(first)?;
        let after_id = after
            .as_deref()
            .map(|a| {
                a.parse::<Uuid>().map_err(|_| {
                    ApiError::validation("after", "not a cursor returned by this connection")
                })
            })
            .transpose()?;
        let rows = accounts::list(
            &app(ctx).pool,
            after_id,
            search.as_deref(),
            role.map(Into::into),
            limit + 1,
        )
        .await
        .map_err(ApiError::from)?;
        Ok(super::pagination::counted(
            ctx,
            rows,
            limit,
            after.is_some(),
            accounts::count(&app(ctx).pool, search.as_deref(), role.map(Into::into)),
            |r| (r.account_id.to_string(), Account::from(r)),
        )
        .await?)
    }

    /// One account (ADMIN); `null` when unknown.
    async fn account(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Account>> {
        allow(ctx, Operation::ManageAccounts)?;
        let mut conn = app(ctx).pool.acquire().await.map_err(ApiError::from)?;
        Ok(accounts::load(&mut conn, id)
            .await
            .map_err(ApiError::from)?
            .map(Account::from))
    }

    /// An account's security log, newest first: sign-ins (and from which new clients), failures,
    /// lockouts, password changes and resets, staff actions. ADMIN for any account; everyone for their own.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn security_log(
        &self,
        ctx: &Context<'_>,
        account_id: Uuid,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, SecurityEvent>> {
        allow(ctx, Operation::ReadSecurityLog(account_id))?;
        let limit = page_size(first)?;
        let before = cursor(after.clone())?;
        let rows = security::load(&app(ctx).pool, account_id, before, limit + 1)
            .await
            .map_err(ApiError::from)?;
        let rows = rows
            .into_iter()
            .map(|r| match SecurityEventKind::parse(&r.kind) {
                Some(kind) => Ok((super::enums::SecurityEventKind::from(kind), r)),
                None => Err(ApiError::Internal(anyhow::anyhow!(
                    "unknown security log kind {}",
                    r.kind
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page(rows, limit, after.is_some(), |(kind, r)| {
            let event = SecurityEvent {
                kind,
                at: r.at,
                client_address: r.client_address,
                user_agent: r.user_agent,
                actor_id: r.actor_id,
                detail: r.detail,
            };
            (r.id.to_string(), event)
        }))
    }
}

payload! {
    /// The signed-in account after a change to it. An account's changes write no event to the log:
    /// `position` is `null` and `replayed` false.
    MePayload {
        /// The signed-in account as it is now.
        me: Me
    }
}

payload! {
    /// An account after an administrator's change (no event: `position` is `null`).
    AccountPayload {
        /// The account as it is now.
        account: Account
    }
}

payload! {
    /// The terms of use after a new version was published.
    TermsPayload {
        /// The current terms.
        terms: Terms
    }
}

payload! {
    /// Sessions ended (no event: `position` is `null`).
    SessionsEndedPayload {
        /// How many sessions ended.
        ended: i32
    }
}

/// Sign-in.
#[derive(Debug, Clone, InputObject)]
pub struct LoginInput {
    /// The login e-mail.
    pub email: String,
    /// The password.
    #[graphql(secret)]
    pub password: String,
    /// With two-factor sign-in on: the authenticator app's current code, or an unused recovery code.
    #[graphql(secret)]
    pub totp_code: Option<String>,
}

/// A new password, with the current one.
#[derive(Debug, Clone, InputObject)]
pub struct ChangePasswordInput {
    /// The current password.
    #[graphql(secret)]
    pub current_password: String,
    /// The new one.
    #[graphql(secret)]
    pub new_password: String,
    /// With two-factor sign-in on: the authenticator app's current code, or an unused recovery code.
    #[graphql(secret)]
    pub totp_code: Option<String>,
}

/// Password recovery, step 1.
#[derive(Debug, Clone, InputObject)]
pub struct RequestPasswordResetInput {
    /// The company's ИНН.
    pub inn: String,
    /// The login e-mail.
    pub email: String,
}

/// Password recovery, step 2.
#[derive(Debug, Clone, InputObject)]
pub struct ResetPasswordInput {
    /// The mailed control string.
    #[graphql(secret)]
    pub token: String,
    /// The new password.
    #[graphql(secret)]
    pub new_password: String,
    /// With two-factor sign-in on: the authenticator app's current code, or an unused recovery code.
    #[graphql(secret)]
    pub totp_code: Option<String>,
}

/// The terms of use accepted.
#[derive(Debug, Clone, InputObject)]
pub struct AcceptTermsInput {
    /// The current version.
    pub version: i32,
}

/// The language of this account's mails.
#[derive(Debug, Clone, InputObject)]
pub struct SetMailLanguageInput {
    /// The language.
    pub language: Language,
}

/// A new version of the terms of use.
#[derive(Debug, Clone, InputObject)]
pub struct PublishTermsInput {
    /// Its text.
    pub text: String,
}

/// A change of the login e-mail asked for.
#[derive(Debug, Clone, InputObject)]
pub struct RequestLoginChangeInput {
    /// The new e-mail.
    pub new_email: String,
    /// The current password.
    #[graphql(secret)]
    pub current_password: String,
    /// With two-factor sign-in on: the authenticator app's current code, or an unused recovery code.
    #[graphql(secret)]
    pub totp_code: Option<String>,
}

/// What reporting a compromised account did.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub struct AccountCompromisedPayload {
    /// When the login was blocked (every session, this one included, has ended).
    pub blocked_at: chrono::DateTime<chrono::Utc>,
    /// The recovery requests opened for the lessor, one per company.
    pub request_ids: Vec<uuid::Uuid>,
    /// Always `null`: the block writes no event (the requests do).
    pub position: Option<super::position::Position>,
    /// Always false.
    pub replayed: bool,
}

/// Invite a person to the lessor's staff.
#[derive(Debug, Clone, InputObject)]
pub struct InviteStaffInput {
    /// The person's e-mail (the login it will have).
    pub email: String,
    /// The staff role offered.
    pub role: Role,
}

/// A staff invitation mailed.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub struct StaffInvitationPayload {
    /// The invitation.
    pub invitation_id: uuid::Uuid,
    /// Always `null`: no event.
    pub position: Option<super::position::Position>,
    /// Always false.
    pub replayed: bool,
}

impl RecoveryCodesPayload {
    /// The codes, shown this once.
    fn shown(recovery_codes: Vec<String>) -> Self {
        Self {
            recovery_codes,
            position: None,
            replayed: false,
        }
    }
}

/// Accept a staff invitation.
#[derive(Debug, Clone, InputObject)]
pub struct AcceptStaffInvitationInput {
    /// The control string from the invitation mail.
    #[graphql(secret)]
    pub token: String,
}

/// A staff account made from an invitation: its temporary password was mailed.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub struct StaffAccountPayload {
    /// The new account.
    pub account_id: uuid::Uuid,
    /// Its role.
    pub role: Role,
    /// Always `null`: no event.
    pub position: Option<super::position::Position>,
    /// Always false.
    pub replayed: bool,
}

/// Start enrolling an authenticator app.
#[derive(Debug, Clone, InputObject)]
pub struct StartTotpEnrolmentInput {
    /// The current password.
    #[graphql(secret)]
    pub current_password: String,
}

/// A code from the authenticator app (or, where said, a recovery code).
#[derive(Debug, Clone, InputObject)]
pub struct TotpCodeInput {
    /// The code.
    #[graphql(secret)]
    pub code: String,
}

/// Turn two-factor sign-in off.
#[derive(Debug, Clone, InputObject)]
pub struct DisableTotpInput {
    /// The current password.
    #[graphql(secret)]
    pub current_password: String,
    /// The app's current code or an unused recovery code.
    #[graphql(secret)]
    pub code: String,
}

/// An enrolment started: what the authenticator app needs. Shown once.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub struct TotpEnrolmentPayload {
    /// The secret in base32, to type into the app by hand.
    pub secret: String,
    /// The `otpauth://totp/…` URL, to show as a QR code.
    pub otpauth_url: String,
    /// Always `null`: no event.
    pub position: Option<super::position::Position>,
    /// Always false.
    pub replayed: bool,
}

/// Recovery codes, shown once: each signs in once in place of the app's code. Keep them apart from the
/// phone.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub struct RecoveryCodesPayload {
    /// The codes.
    pub recovery_codes: Vec<String>,
    /// Always `null`: no event.
    pub position: Option<super::position::Position>,
    /// Always false.
    pub replayed: bool,
}

/// A login change confirmed.
#[derive(Debug, Clone, InputObject)]
pub struct ConfirmLoginChangeInput {
    /// The control string mailed to the new address.
    #[graphql(secret)]
    pub token: String,
}

/// An account to block.
#[derive(Debug, Clone, InputObject)]
pub struct BlockAccountInput {
    /// The account.
    pub account_id: Uuid,
    /// Why (kept in the security log).
    pub reason: String,
}

/// An account an administrator acts on.
#[derive(Debug, Clone, InputObject)]
pub struct AccountInput {
    /// The account.
    pub account_id: Uuid,
}

/// An account's new roles.
#[derive(Debug, Clone, InputObject)]
pub struct ChangeAccountRolesInput {
    /// The account (not your own).
    pub account_id: Uuid,
    /// Its roles.
    pub roles: Vec<Role>,
}

#[Object]
impl AccountMutation {
    /// Signs in with e-mail and password; returns a bearer token. An unknown e-mail and a wrong password
    /// get the same answer in the same time. After 5 wrong passwords in 15 minutes the login is locked for
    /// 15 minutes (`ACCOUNT_LOCKED`, for unknown e-mails too). Limited per client address (`RATE_LIMITED`).
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<LoginPayload> {
        let req = request(ctx)?;
        let signed = app(ctx)
            .accounts
            .login(
                &input.email,
                input.password,
                input.totp_code.as_deref(),
                &req.client,
            )
            .await
            .map_err(ApiError::in_input)?;
        Ok(LoginPayload {
            token: signed.token,
            expires_at: signed.expires_at,
            me: Me::from(&signed.actor),
            position: None,
            replayed: false,
        })
    }

    /// Ends the current session: its token stops working at once.
    async fn logout(&self, ctx: &Context<'_>) -> Result<SessionsEndedPayload> {
        allow(ctx, Operation::Logout)?;
        let mut ended = 0;
        if let Some(hash) = &request(ctx)?.token_hash {
            sessions::revoke(&app(ctx).pool, hash).await?;
            ended = 1;
        }
        Ok(SessionsEndedPayload::new(ended, Done::NO_EVENT))
    }

    /// Ends every session of the signed-in account, this one included.
    async fn logout_everywhere(&self, ctx: &Context<'_>) -> Result<SessionsEndedPayload> {
        let (actor, req) = allow(ctx, Operation::LogoutEverywhere)?;
        let n = app(ctx)
            .accounts
            .logout_everywhere(actor, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(SessionsEndedPayload::new(
            i32::try_from(n).unwrap_or(i32::MAX),
            Done::NO_EVENT,
        ))
    }

    /// Changes the password (also the way out of a temporary one). The new password: at least 10
    /// characters, not the e-mail, not a common password. Every other session ends; the account is mailed.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> Result<MePayload> {
        let (actor, req) = allow(ctx, Operation::ChangePassword)?;
        app(ctx)
            .accounts
            .change_password(
                actor,
                req.token_hash.as_deref(),
                input.current_password,
                input.new_password,
                input.totp_code.as_deref(),
                &req.client,
            )
            .await
            .map_err(ApiError::in_input)?;
        Ok(MePayload::new(me_now(ctx).await?, Done::NO_EVENT))
    }

    /// Password recovery, step 1: with the company's ИНН and the login e-mail. When such an account exists,
    /// a single-use control string valid 1 hour is mailed to it. The answer is `accepted: true` and takes
    /// the same time whether or not the account exists.
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        input: RequestPasswordResetInput,
    ) -> Result<AcceptedPayload> {
        let req = request(ctx)?;
        app(ctx)
            .accounts
            .request_password_reset(&input.inn, &input.email, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(AcceptedPayload::new(Done::NO_EVENT))
    }

    /// Password recovery, step 2: the mailed control string and a new password. Every session of the
    /// account ends. A control string works once.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        input: ResetPasswordInput,
    ) -> Result<AcceptedPayload> {
        let req = request(ctx)?;
        app(ctx)
            .accounts
            .reset_password(
                &input.token,
                input.new_password,
                input.totp_code.as_deref(),
                &req.client,
            )
            .await
            .map_err(ApiError::in_input)?;
        Ok(AcceptedPayload::new(Done::NO_EVENT))
    }

    /// Invites a person to the lessor's staff by mail (ADMIN): a control string valid 7 days; the account is
    /// made, with a temporary password, when the person accepts (`acceptStaffInvitation`).
    async fn invite_staff(
        &self,
        ctx: &Context<'_>,
        input: InviteStaffInput,
    ) -> Result<StaffInvitationPayload> {
        let (actor, req) = allow(ctx, Operation::ManageAccounts)?;
        let id = app(ctx)
            .accounts
            .invite_staff(actor, &input.email, input.role.into(), &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(StaffInvitationPayload {
            invitation_id: id,
            position: None,
            replayed: false,
        })
    }

    /// Accepts a staff invitation with the mailed control string (no sign-in): the account is made with the
    /// role offered and a temporary password mailed. Unknown, used, revoked and expired strings answer alike.
    async fn accept_staff_invitation(
        &self,
        ctx: &Context<'_>,
        input: AcceptStaffInvitationInput,
    ) -> Result<StaffAccountPayload> {
        let req = request(ctx)?;
        let a = app(ctx)
            .accounts
            .accept_staff_invitation(&input.token, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(StaffAccountPayload {
            account_id: a.account_id,
            role: a.role.into(),
            position: None,
            replayed: false,
        })
    }

    /// "My account was compromised" (a client): blocks this login at once, ends every session (this one
    /// too), mails the owner and opens a recovery request to the lessor for each company. Staff check the
    /// person's identity, unblock the account and issue a temporary password.
    async fn report_account_compromised(
        &self,
        ctx: &Context<'_>,
    ) -> Result<AccountCompromisedPayload> {
        let (actor, req) = allow(ctx, Operation::ReportCompromise)?;
        let r = crate::app::compromise::report(app(ctx), actor, &req.client).await?;
        Ok(AccountCompromisedPayload {
            blocked_at: r.blocked_at,
            request_ids: r.requests,
            position: None,
            replayed: false,
        })
    }

    /// Starts enrolling an authenticator app for two-factor sign-in (with the current password): a new
    /// secret, shown once, on only when `confirmTotpEnrolment` gets a first code from the app. Required for
    /// administrators, optional for everyone else.
    async fn start_totp_enrolment(
        &self,
        ctx: &Context<'_>,
        input: StartTotpEnrolmentInput,
    ) -> Result<TotpEnrolmentPayload> {
        let (actor, req) = allow(ctx, Operation::ManageTwoFactor)?;
        let e = app(ctx)
            .accounts
            .start_totp(actor, input.current_password, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(TotpEnrolmentPayload {
            secret: e.secret,
            otpauth_url: e.url,
            position: None,
            replayed: false,
        })
    }

    /// Confirms the enrolment with the app's current code: two-factor sign-in is on from now (logged and
    /// mailed). Returns the recovery codes, shown once.
    async fn confirm_totp_enrolment(
        &self,
        ctx: &Context<'_>,
        input: TotpCodeInput,
    ) -> Result<RecoveryCodesPayload> {
        let (actor, req) = allow(ctx, Operation::ManageTwoFactor)?;
        let codes = app(ctx)
            .accounts
            .confirm_totp(actor, &input.code, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(RecoveryCodesPayload::shown(codes))
    }

    /// Turns two-factor sign-in off (not for an administrator while it is required).
    async fn disable_totp(&self, ctx: &Context<'_>, input: DisableTotpInput) -> Result<MePayload> {
        let (actor, req) = allow(ctx, Operation::ManageTwoFactor)?;
        app(ctx)
            .accounts
            .disable_totp(actor, input.current_password, &input.code, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(MePayload::new(me_now(ctx).await?, Done::NO_EVENT))
    }

    /// New recovery codes (the old ones stop working), with the app's current code; shown once.
    async fn regenerate_recovery_codes(
        &self,
        ctx: &Context<'_>,
        input: TotpCodeInput,
    ) -> Result<RecoveryCodesPayload> {
        let (actor, req) = allow(ctx, Operation::ManageTwoFactor)?;
        let codes = app(ctx)
            .accounts
            .regenerate_recovery_codes(actor, &input.code, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(RecoveryCodesPayload::shown(codes))
    }

    /// Accepts the current terms of use (`version` must be the current one).
    async fn accept_terms(&self, ctx: &Context<'_>, input: AcceptTermsInput) -> Result<MePayload> {
        let (actor, req) = allow(ctx, Operation::AcceptTerms)?;
        app(ctx)
            .accounts
            .accept_terms(actor, input.version, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(MePayload::new(me_now(ctx).await?, Done::NO_EVENT))
    }

    /// Chooses the language of this account's mails (Russian by default).
    async fn set_mail_language(
        &self,
        ctx: &Context<'_>,
        input: SetMailLanguageInput,
    ) -> Result<MePayload> {
        let language = Locale::from(input.language);
        let (actor, _) = allow(ctx, Operation::SetMailLanguage)?;
        sqlx::query("UPDATE accounts SET locale = $2 WHERE account_id = $1")
            .bind(actor.account_id)
            .bind(language.code())
            .execute(&app(ctx).pool)
            .await
            .map_err(ApiError::from)?;
        Ok(MePayload::new(me_now(ctx).await?, Done::NO_EVENT))
    }

    /// Publishes a new version of the terms of use (ADMIN): every client accepts it before going on.
    async fn publish_terms(
        &self,
        ctx: &Context<'_>,
        input: PublishTermsInput,
        idempotency_key: Option<String>,
    ) -> Result<TermsPayload> {
        let (actor, req) = allow(ctx, Operation::PublishTerms)?;
        let key = super::context::idempotency_key(idempotency_key)?;
        let (terms, out) = terms::publish(&app(ctx).terms, &input.text, &req.meta(actor, key))
            .await
            .map_err(ApiError::in_input)?;
        Ok(TermsPayload::new(terms.into(), Done::from(&out)))
    }

    /// Asks to change the login e-mail, with the current password: a control string (valid 24 hours) is
    /// mailed to the new address and the current one is told; nothing changes until `confirmLoginChange`.
    /// At most 5 a day (a setting).
    async fn request_login_change(
        &self,
        ctx: &Context<'_>,
        input: RequestLoginChangeInput,
    ) -> Result<AcceptedPayload> {
        let (actor, req) = allow(ctx, Operation::ChangeLogin)?;
        app(ctx)
            .accounts
            .request_login_change(
                actor,
                &input.new_email,
                input.current_password,
                input.totp_code.as_deref(),
                &req.client,
            )
            .await
            .map_err(ApiError::in_input)?;
        Ok(AcceptedPayload::new(Done::NO_EVENT))
    }

    /// Confirms a login change with the control string mailed to the new address. The old address is
    /// told.
    async fn confirm_login_change(
        &self,
        ctx: &Context<'_>,
        input: ConfirmLoginChangeInput,
    ) -> Result<MePayload> {
        let (actor, req) = allow(ctx, Operation::ChangeLogin)?;
        app(ctx)
            .accounts
            .confirm_login_change(actor, &input.token, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(MePayload::new(me_now(ctx).await?, Done::NO_EVENT))
    }

    /// Deletes the signed-in client's account. Refused (`OBLIGATIONS_REMAIN`, naming the companies) while
    /// a linked company has an active contract or unpaid debt; otherwise the account is deactivated at once
    /// and its personal data is destroyed within 30 days.
    async fn request_account_deletion(&self, ctx: &Context<'_>) -> Result<AccountDeletionPayload> {
        let (actor, req) = allow(ctx, Operation::RequestAccountDeletion)?;
        let (deactivated_at, destroy_personal_data_by) = app(ctx)
            .accounts
            .request_deletion(actor, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(AccountDeletionPayload {
            deactivated_at,
            destroy_personal_data_by,
            position: None,
            replayed: false,
        })
    }

    /// Withdraws the signed-in client's consent to the processing of personal data (given with the terms
    /// of use). The answer says what will be destroyed and by when — or, while a company's contract is in
    /// force or owes, which data that contract keeps and until when (then it is destroyed without another
    /// request). With nothing kept the account is deactivated at once.
    async fn withdraw_consent(&self, ctx: &Context<'_>) -> Result<ConsentWithdrawalPayload> {
        let (actor, req) = allow(ctx, Operation::WithdrawConsent)?;
        let w = app(ctx)
            .accounts
            .withdraw_consent(actor, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(ConsentWithdrawalPayload {
            withdrawn_at: w.withdrawn_at,
            destroy_personal_data_by: w.destroy_personal_data_by,
            destroyed: w.destroyed,
            kept: w
                .kept
                .into_iter()
                .map(|k| KeptPersonalData {
                    company_id: k.company_id,
                    company_name: k.company_name,
                    ground: k.ground,
                    categories: k.categories,
                    until: k.until.map(Date),
                    reason: k.reason,
                })
                .collect(),
            position: None,
            replayed: false,
        })
    }

    /// Blocks an account (ADMIN): it cannot sign in and its sessions end.
    async fn block_account(
        &self,
        ctx: &Context<'_>,
        input: BlockAccountInput,
    ) -> Result<AccountPayload> {
        let (actor, req) = allow(ctx, Operation::ManageAccounts)?;
        let account = app(ctx)
            .accounts
            .block(actor, input.account_id, &input.reason, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(AccountPayload::new(account.into(), Done::NO_EVENT))
    }

    /// Unblocks an account (ADMIN) and lifts a sign-in lockout.
    async fn unblock_account(
        &self,
        ctx: &Context<'_>,
        input: AccountInput,
    ) -> Result<AccountPayload> {
        let (actor, req) = allow(ctx, Operation::ManageAccounts)?;
        let account = app(ctx)
            .accounts
            .unblock(actor, input.account_id, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(AccountPayload::new(account.into(), Done::NO_EVENT))
    }

    /// Mails a new temporary password (ADMIN); the old one stops working and every session ends.
    async fn reset_account_password(
        &self,
        ctx: &Context<'_>,
        input: AccountInput,
    ) -> Result<AccountPayload> {
        let (actor, req) = allow(ctx, Operation::ManageAccounts)?;
        let account = app(ctx)
            .accounts
            .reset_account_password(actor, input.account_id, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(AccountPayload::new(account.into(), Done::NO_EVENT))
    }

    /// Replaces an account's roles (ADMIN; not your own).
    async fn change_account_roles(
        &self,
        ctx: &Context<'_>,
        input: ChangeAccountRolesInput,
    ) -> Result<AccountPayload> {
        let (actor, req) = allow(ctx, Operation::ManageAccounts)?;
        let roles: Vec<_> = input.roles.into_iter().map(Into::into).collect();
        let account = app(ctx)
            .accounts
            .change_roles(actor, input.account_id, &roles, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(AccountPayload::new(account.into(), Done::NO_EVENT))
    }
}
