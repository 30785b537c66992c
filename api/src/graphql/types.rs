//! Output types.

use async_graphql::{Enum, Json, SimpleObject};
use chrono::{DateTime, Utc};
use projections::companies::CompanyView;
use projections::event::StoredEvent;
use uuid::Uuid;

use crate::auth::Role;

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
#[derive(Debug, Clone, SimpleObject)]
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
    /// Contact e-mail.
    pub contact_email: String,
    /// Contact phone (E.164).
    pub contact_phone: String,
    /// The responsible manager, once assigned.
    pub manager: Option<Manager>,
    /// When the company was registered.
    pub registered_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Global position of the last event applied to this view.
    pub last_position: i64,
}

impl From<CompanyView> for Company {
    fn from(v: CompanyView) -> Self {
        let manager = match (v.manager_name, v.manager_phone, v.manager_email) {
            (Some(name), Some(phone), Some(email)) => Some(Manager { name, phone, email }),
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
            last_position: v.last_position,
        }
    }
}

/// The result of a company mutation.
#[derive(Debug, Clone, SimpleObject)]
pub struct CompanyPayload {
    /// The company after the change (its read model is committed with the events: read your writes).
    pub company: Company,
    /// Global position of the company's last event: a subscriber or a catch-up reader that has seen this
    /// position has seen the change.
    pub position: Option<i64>,
    /// True when an idempotency key matched an earlier call: nothing was executed again.
    pub replayed: bool,
}

/// One event of the log, as auditors read it.
#[derive(Debug, Clone, SimpleObject)]
pub struct Event {
    /// Global position.
    pub position: i64,
    /// Aggregate type (Company, Contract, Policy, ClientRequest).
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
    /// The payload.
    pub payload: Json<serde_json::Value>,
    /// Metadata: actor, correlation_id, causation_id, request_id.
    pub metadata: Json<serde_json::Value>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

impl From<StoredEvent> for Event {
    fn from(e: StoredEvent) -> Self {
        Self {
            position: e.position,
            aggregate_type: e.aggregate_type,
            aggregate_id: e.aggregate_id,
            sequence: e.sequence,
            event_type: e.event_type,
            event_version: e.event_version,
            stored_version: e.stored_version,
            payload: Json(e.payload),
            metadata: Json(e.metadata),
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
}

/// The signed-in account.
#[derive(Debug, Clone, SimpleObject)]
pub struct Me {
    /// Account id.
    pub id: Uuid,
    /// Login e-mail.
    pub email: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// For a client: the companies it may act for.
    pub company_ids: Vec<Uuid>,
    /// A temporary password must be changed before anything else is allowed.
    pub must_change_password: bool,
}

impl From<&crate::auth::Actor> for Me {
    fn from(a: &crate::auth::Actor) -> Self {
        Self {
            id: a.account_id,
            email: a.email.clone(),
            roles: a.roles.clone(),
            company_ids: a.companies.clone(),
            must_change_password: a.must_change_password,
        }
    }
}
