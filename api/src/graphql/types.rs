//! Output types.

use crate::graphql::scalars::Date;
use async_graphql::{Enum, Json, SimpleObject};
use chrono::{DateTime, Utc};
use projections::store::event::StoredEvent;
use projections::views::companies::CompanyView;
use uuid::Uuid;

use super::enums::{Language, Role, SecurityEventKind};
use super::position::Position;

/// Legal form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum CompanyKind {
    /// Юридическое лицо: 10-digit ИНН, КПП, ОГРН.
    LegalEntity,
    /// Индивидуальный предприниматель: 12-digit ИНН, no КПП, ОГРНИП.
    SoleProprietor,
}

/// A bank and the holder's settlement account.
#[derive(Debug, Clone, SimpleObject, serde::Deserialize)]
pub struct BankRequisites {
    /// Bank name.
    pub bank_name: String,
    /// БИК (9 digits).
    pub bik: String,
    /// The bank's correspondent account (20 digits, starts with 301).
    pub correspondent_account: String,
    /// The holder's settlement account (20 digits).
    pub settlement_account: String,
}

/// The lessor's manager responsible for a company.
#[derive(Debug, Clone, SimpleObject)]
pub struct Manager {
    /// Full name.
    pub name: String,
    /// Phone (E.164).
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// The manager's staff account, when the manager is one: a message in the company's conversation
    /// reaches them first.
    pub account_id: Option<Uuid>,
}

/// A lessee company.
#[derive(Debug, Clone, SimpleObject)]
pub struct Company {
    /// Id.
    pub id: Uuid,
    /// Legal form.
    pub kind: CompanyKind,
    /// ИНН (10 digits for a legal entity, 12 for an ИП).
    pub inn: String,
    /// КПП (legal entities only).
    pub kpp: Option<String>,
    /// ОГРН (13 digits) or ОГРНИП (15 digits).
    pub ogrn: String,
    /// Full name.
    pub full_name: String,
    /// Short name.
    pub short_name: String,
    /// Legal address.
    pub legal_address: String,
    /// Postal address.
    pub postal_address: String,
    /// Bank requisites.
    pub bank: BankRequisites,
    /// Contact e-mail; null once the contact's personal data was destroyed.
    pub contact_email: Option<String>,
    /// Contact phone (E.164); null once the contact's personal data was destroyed.
    pub contact_phone: Option<String>,
    /// The responsible manager, once assigned.
    pub manager: Option<Manager>,
    /// When the company was registered.
    pub registered_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The place of the last event applied to it.
    pub position: Position,
}

impl From<CompanyView> for Company {
    fn from(v: CompanyView) -> Self {
        let manager = match (v.manager_name, v.manager_phone, v.manager_email) {
            (Some(name), Some(phone), Some(email)) => Some(Manager {
                name,
                phone,
                email,
                account_id: v.manager_account_id,
            }),
            _ => None,
        };
        Self {
            id: v.company_id,
            kind: if v.kind == "SOLE_PROPRIETOR" {
                CompanyKind::SoleProprietor
            } else {
                CompanyKind::LegalEntity
            },
            inn: v.inn,
            kpp: v.kpp,
            ogrn: v.ogrn,
            full_name: v.full_name,
            short_name: v.short_name,
            legal_address: v.legal_address,
            postal_address: v.postal_address,
            bank: BankRequisites {
                bank_name: v.bank_name,
                bik: v.bik,
                correspondent_account: v.correspondent_account,
                settlement_account: v.settlement_account,
            },
            contact_email: v.contact_email,
            contact_phone: v.contact_phone,
            manager,
            registered_at: v.registered_at,
            updated_at: v.updated_at,
            position: Position::event(v.last_position),
        }
    }
}

/// The result of a company mutation.
#[derive(Debug, Clone, SimpleObject)]
pub struct CompanyPayload {
    /// The company after the change (its read model is committed with the events: read your writes).
    pub company: Company,
    /// The place of the company's last event: give it as `after` to resume a subscription.
    pub position: Option<Position>,
    /// True when an idempotency key matched an earlier call: nothing was executed again.
    pub replayed: bool,
}

/// One event of the log, as auditors read it.
#[derive(Debug, Clone, SimpleObject)]
pub struct Event {
    /// Its place in the log (insertion order; within an aggregate it follows the sequence).
    pub position: Position,
    /// The transaction that recorded it: events of one transaction committed together. Readers replay in
    /// (transactionId, position) order — commit order.
    pub transaction_id: String,
    /// Aggregate type (Company, Contract, Policy, ClientRequest, Document, EdoConnection, BusinessClock, …).
    pub aggregate_type: String,
    /// Aggregate id.
    pub aggregate_id: String,
    /// Sequence within the aggregate, from 1.
    pub sequence: i64,
    /// Event type.
    pub event_type: String,
    /// Version of `payload` as shown (the current one, after upcasting).
    pub event_version: String,
    /// Version the event was stored with.
    pub stored_version: String,
    /// The stored payload was upcast to show it (`storedVersion` differs from `eventVersion`).
    pub upcast: bool,
    /// The payload (externally tagged: `{"PaymentRecorded": {...}}`), in the current version.
    pub payload: Json<serde_json::Value>,
    /// Who and what caused it.
    pub metadata: EventMetadata,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// Who and what caused an event.
#[derive(Debug, Clone, SimpleObject)]
pub struct EventMetadata {
    /// Who caused it (filter by it with `EventFilterInput.actor`: `account:<uuid>` or `system:<process>`).
    pub actor: Option<super::actor::Actor>,
    /// Groups every event one request or process caused, across aggregates (`correlation(id)`).
    pub correlation_id: Option<String>,
    /// The direct cause: the HTTP request id, or `event:<position>` for a process manager's command.
    pub causation_id: Option<String>,
    /// The HTTP request id.
    pub request_id: Option<String>,
    /// The idempotency key the command was given.
    pub idempotency_key: Option<String>,
}

impl From<StoredEvent> for Event {
    fn from(e: StoredEvent) -> Self {
        let meta = |k: &str| e.meta(k).map(str::to_owned);
        let metadata = EventMetadata {
            actor: meta("actor").map(super::actor::Actor),
            correlation_id: meta("correlation_id"),
            causation_id: meta("causation_id"),
            request_id: meta("request_id"),
            idempotency_key: meta("idempotency_key"),
        };
        Self {
            position: Position::event(e.position),
            transaction_id: e.transaction_id.to_string(),
            upcast: e.event_version != e.stored_version,
            aggregate_type: e.aggregate_type,
            aggregate_id: e.aggregate_id,
            sequence: e.sequence,
            event_type: e.event_type,
            event_version: e.event_version,
            stored_version: e.stored_version,
            payload: Json(e.payload),
            metadata,
            recorded_at: e.recorded_at,
        }
    }
}

/// A successful login.
#[derive(Debug, Clone, SimpleObject)]
pub struct LoginPayload {
    /// The bearer token: send `Authorization: Bearer <token>`. Shown once.
    pub token: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// The signed-in account.
    pub me: Me,
    /// Always `null`: a session writes no event to the log.
    pub position: Option<Position>,
    /// Always false: every sign-in is a new session.
    pub replayed: bool,
}

/// A person's role in one of its companies.
#[derive(Debug, Clone, SimpleObject)]
pub struct CompanyMembership {
    /// The company.
    pub company_id: Uuid,
    /// The role there.
    pub role: super::enums::CompanyRole,
}

/// The signed-in account.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Me {
    /// Account id.
    pub id: Uuid,
    /// Login e-mail.
    pub email: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// For a client: the companies it may act for (every company-scoped query takes one of them).
    pub company_ids: Vec<Uuid>,
    /// For a client: its role in each of its companies.
    pub memberships: Vec<CompanyMembership>,
    /// A temporary password must be changed before anything else is allowed.
    pub must_change_password: bool,
    /// The terms-of-use version to accept (`acceptTerms`) before anything else is allowed; `null` when
    /// nothing is pending.
    pub terms_acceptance_required: Option<i32>,
    /// An administrator must enrol two-factor sign-in (`startTotpEnrolment`) before anything else.
    pub totp_enrolment_required: bool,
}

#[async_graphql::ComplexObject]
impl Me {
    /// The language of this account's mails.
    async fn mail_language(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Language> {
        Ok(
            crate::auth::accounts::locale(&super::context::app(ctx).pool, self.id)
                .await
                .map_err(crate::error::ApiError::from)?
                .into(),
        )
    }

    /// Whether two-factor sign-in is on for this account.
    async fn two_factor_enabled(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<bool> {
        let mut conn = super::context::app(ctx)
            .pool
            .acquire()
            .await
            .map_err(crate::error::ApiError::from)?;
        Ok(crate::auth::totp::enabled(&mut conn, self.id)
            .await
            .map_err(crate::error::ApiError::from)?)
    }

    /// The companies this person may act for, to switch between (a client's; empty for staff, who see
    /// every company through `companies`).
    async fn companies(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Vec<Company>> {
        if self.company_ids.is_empty() {
            return Ok(Vec::new());
        }
        let filter = projections::views::companies::CompanyFilter {
            only: Some(self.company_ids.clone()),
            search: None,
            after: None,
        };
        let rows = projections::views::companies::list_companies(
            &super::context::app(ctx).pool,
            &filter,
            self.company_ids.len() as i64,
        )
        .await
        .map_err(crate::error::ApiError::from)?;
        Ok(rows.into_iter().map(Company::from).collect())
    }
}

impl From<&crate::auth::Actor> for Me {
    fn from(a: &crate::auth::Actor) -> Self {
        Self {
            id: a.account_id,
            email: a.email.clone(),
            roles: a.roles.iter().map(|&r| r.into()).collect(),
            company_ids: a.companies(),
            memberships: a
                .memberships
                .iter()
                .map(|m| CompanyMembership {
                    company_id: m.company_id,
                    role: m.role.into(),
                })
                .collect(),
            must_change_password: a.must_change_password,
            terms_acceptance_required: a.terms_required,
            totp_enrolment_required: a.totp_enrolment_required,
        }
    }
}

/// An account, as an administrator sees it.
#[derive(Debug, Clone, SimpleObject)]
pub struct Account {
    /// Id.
    pub id: Uuid,
    /// Login e-mail.
    pub email: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Companies it acts for (clients).
    pub company_ids: Vec<Uuid>,
    /// A temporary password is pending.
    pub must_change_password: bool,
    /// When the pending temporary password stops working.
    pub temporary_password_expires_at: Option<DateTime<Utc>>,
    /// Blocked by staff since.
    pub blocked_at: Option<DateTime<Utc>>,
    /// Why it was blocked.
    pub blocked_reason: Option<String>,
    /// Deleted on its owner's request at.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Its personal data is destroyed by then.
    pub destroy_personal_data_by: Option<DateTime<Utc>>,
    /// The last terms-of-use version it accepted.
    pub terms_accepted_version: Option<i32>,
    /// The language of its mails.
    pub mail_language: Language,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last password change by its owner.
    pub password_changed_at: Option<DateTime<Utc>>,
}

impl From<crate::auth::accounts::AccountRow> for Account {
    fn from(r: crate::auth::accounts::AccountRow) -> Self {
        Self {
            id: r.account_id,
            email: r.email,
            roles: r
                .roles
                .iter()
                .filter_map(|x| crate::auth::Role::parse(x))
                .map(Role::from)
                .collect(),
            company_ids: r.companies,
            must_change_password: r.must_change_password,
            temporary_password_expires_at: r.temporary_password_expires_at,
            blocked_at: r.blocked_at,
            blocked_reason: r.blocked_reason,
            deleted_at: r.deleted_at,
            destroy_personal_data_by: r.destroy_personal_data_by,
            terms_accepted_version: r.terms_accepted_version,
            mail_language: crate::mail::templates::Locale::parse(&r.locale).into(),
            created_at: r.created_at,
            password_changed_at: r.password_changed_at,
        }
    }
}

/// An entry of an account's security log.
#[derive(Debug, Clone, SimpleObject)]
pub struct SecurityEvent {
    /// What happened.
    pub kind: SecurityEventKind,
    /// When.
    pub at: DateTime<Utc>,
    /// The client address of the request that caused it.
    pub client_address: Option<String>,
    /// Its User-Agent.
    pub user_agent: Option<String>,
    /// The staff account that acted, for staff actions.
    pub actor_id: Option<Uuid>,
    /// A note (a contract number, a reason, a terms version, new roles).
    pub detail: Option<String>,
}

/// A version of the terms of use.
#[derive(Debug, Clone, SimpleObject)]
pub struct Terms {
    /// Version number, from 1.
    pub version: i32,
    /// The text.
    pub text: String,
    /// When it was published.
    pub published_at: DateTime<Utc>,
}

impl From<crate::auth::terms::TermsRow> for Terms {
    fn from(r: crate::auth::terms::TermsRow) -> Self {
        Self {
            version: r.version,
            text: r.text,
            published_at: r.published_at,
        }
    }
}

/// What withdrawing consent to the processing of personal data does.
#[derive(Debug, Clone, SimpleObject)]
pub struct ConsentWithdrawalPayload {
    /// When consent was withdrawn.
    pub withdrawn_at: DateTime<Utc>,
    /// The account's personal data is destroyed by then (business day); null while a contract keeps it.
    pub destroy_personal_data_by: Option<DateTime<Utc>>,
    /// What will be destroyed by then.
    pub destroyed: Vec<String>,
    /// What a legal ground keeps, and until when.
    pub kept: Vec<KeptPersonalData>,
    /// Always `null`: an account's changes write no event to the log.
    pub position: Option<Position>,
    /// Always false: withdrawing again answers with the same dates.
    pub replayed: bool,
}

/// Personal data another legal ground keeps after consent was withdrawn.
#[derive(Debug, Clone, SimpleObject)]
pub struct KeptPersonalData {
    /// The company whose contract keeps it.
    pub company_id: Uuid,
    /// Its short name.
    pub company_name: Option<String>,
    /// The ground: `contract` (performing the leasing contract, 152-ФЗ art. 6 part 1 item 5).
    pub ground: String,
    /// What it keeps.
    pub categories: Vec<String>,
    /// Until when at the earliest (the last scheduled payment plus the retention after the contract).
    pub until: Option<Date>,
    /// Why.
    pub reason: String,
}

/// A deleted account.
#[derive(Debug, Clone, SimpleObject)]
pub struct AccountDeletionPayload {
    /// When it was deactivated (now).
    pub deactivated_at: DateTime<Utc>,
    /// Personal data that no law requires to keep is destroyed by then (a business day,
    /// `[personal_data] account_destroy_days` after today's; at most 30 days).
    pub destroy_personal_data_by: DateTime<Utc>,
    /// Always `null`: an account's changes write no event to the log.
    pub position: Option<Position>,
    /// Always false.
    pub replayed: bool,
}
