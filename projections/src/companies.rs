//! The companies read model (`companies_view`): the profile the cabinet shows, listable and searchable by
//! ИНН or name. Inline projection: written in the append transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::company::{CompanyEvent, CompanyLookup};
use domain::values::{Inn, Kpp};
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::event::StoredEvent;
use crate::projection::{Projection, ProjectionError};

/// The projection.
pub struct CompaniesProjection;

#[async_trait]
impl Projection for CompaniesProjection {
    fn name(&self) -> &'static str {
        "companies"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["companies_view"]
    }

    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        if e.aggregate_type != "Company" {
            return Ok(());
        }
        let event: CompanyEvent = e.decode().map_err(|source| ProjectionError::Decode {
            position: e.position,
            source,
        })?;
        let id: Uuid = e
            .aggregate_id
            .parse()
            .map_err(|_| ProjectionError::Decode {
                position: e.position,
                source: serde::de::Error::custom("aggregate id is not a UUID"),
            })?;
        match event {
            CompanyEvent::CompanyRegistered {
                kind,
                inn,
                kpp,
                ogrn,
                full_name,
                short_name,
                legal_address,
                postal_address,
                bank,
                contact_email,
                contact_phone,
                ..
            } => {
                sqlx::query(
                    "INSERT INTO companies_view (company_id, kind, inn, kpp, ogrn, full_name, short_name, \
                     legal_address, postal_address, bank_name, bik, correspondent_account, settlement_account, \
                     contact_email, contact_phone, registered_at, registered_position, updated_at, last_position) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $16, $17)",
                )
                .bind(id)
                .bind(kind.as_str())
                .bind(inn.as_str())
                .bind(kpp.as_ref().map(Kpp::as_str))
                .bind(ogrn.as_str())
                .bind(full_name)
                .bind(short_name)
                .bind(legal_address)
                .bind(postal_address)
                .bind(bank.bank_name)
                .bind(bank.bik.as_str())
                .bind(bank.correspondent_account.as_str())
                .bind(bank.settlement_account.as_str())
                .bind(contact_email.as_str())
                .bind(contact_phone.as_str())
                .bind(e.recorded_at)
                .bind(e.position)
                .execute(&mut *conn)
                .await?;
            }
            CompanyEvent::CompanyRequisitesChanged {
                kpp,
                full_name,
                short_name,
                legal_address,
                postal_address,
                bank,
                contact_email,
                contact_phone,
            } => {
                sqlx::query(
                    "UPDATE companies_view SET kpp = $2, full_name = $3, short_name = $4, legal_address = $5, \
                     postal_address = $6, bank_name = $7, bik = $8, correspondent_account = $9, \
                     settlement_account = $10, contact_email = $11, contact_phone = $12, updated_at = $13, \
                     last_position = $14 WHERE company_id = $1",
                )
                .bind(id)
                .bind(kpp.as_ref().map(Kpp::as_str))
                .bind(full_name)
                .bind(short_name)
                .bind(legal_address)
                .bind(postal_address)
                .bind(bank.bank_name)
                .bind(bank.bik.as_str())
                .bind(bank.correspondent_account.as_str())
                .bind(bank.settlement_account.as_str())
                .bind(contact_email.as_str())
                .bind(contact_phone.as_str())
                .bind(e.recorded_at)
                .bind(e.position)
                .execute(&mut *conn)
                .await?;
            }
            CompanyEvent::ManagerAssigned { name, phone, email } => {
                sqlx::query(
                    "UPDATE companies_view SET manager_name = $2, manager_phone = $3, manager_email = $4, \
                     updated_at = $5, last_position = $6 WHERE company_id = $1",
                )
                .bind(id)
                .bind(name)
                .bind(phone.as_str())
                .bind(email.as_str())
                .bind(e.recorded_at)
                .bind(e.position)
                .execute(&mut *conn)
                .await?;
            }
        }
        Ok(())
    }
}

/// A row of `companies_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct CompanyView {
    /// Id.
    pub company_id: Uuid,
    /// LEGAL_ENTITY or SOLE_PROPRIETOR.
    pub kind: String,
    /// ИНН.
    pub inn: String,
    /// КПП (legal entities).
    pub kpp: Option<String>,
    /// ОГРН / ОГРНИП.
    pub ogrn: String,
    /// Full name.
    pub full_name: String,
    /// Short name.
    pub short_name: String,
    /// Legal address.
    pub legal_address: String,
    /// Postal address.
    pub postal_address: String,
    /// Bank name.
    pub bank_name: String,
    /// БИК.
    pub bik: String,
    /// Correspondent account.
    pub correspondent_account: String,
    /// Settlement account.
    pub settlement_account: String,
    /// Contact e-mail.
    pub contact_email: String,
    /// Contact phone.
    pub contact_phone: String,
    /// Manager's name.
    pub manager_name: Option<String>,
    /// Manager's phone.
    pub manager_phone: Option<String>,
    /// Manager's e-mail.
    pub manager_email: Option<String>,
    /// When registered.
    pub registered_at: DateTime<Utc>,
    /// Position of the registration event (the list's stable order and cursor).
    pub registered_position: i64,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
    /// Position of the last event applied.
    pub last_position: i64,
}

const COLUMNS: &str = "company_id, kind, inn, kpp, ogrn, full_name, short_name, legal_address, postal_address, \
    bank_name, bik, correspondent_account, settlement_account, contact_email, contact_phone, manager_name, \
    manager_phone, manager_email, registered_at, registered_position, updated_at, last_position";

/// Loads one company.
///
/// # Errors
/// A database error.
pub async fn load_company(pool: &PgPool, id: Uuid) -> Result<Option<CompanyView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM companies_view WHERE company_id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Which companies to list.
#[derive(Debug, Clone, Default)]
pub struct CompanyFilter {
    /// Only these companies (a CLIENT's links); `None`: all.
    pub only: Option<Vec<Uuid>>,
    /// ИНН prefix (digits) or a case-insensitive part of the name.
    pub search: Option<String>,
    /// Start after this registered_position (cursor).
    pub after: Option<i64>,
}

/// Lists companies in registration order, `limit` at a time.
///
/// # Errors
/// A database error.
pub async fn list_companies(
    pool: &PgPool,
    f: &CompanyFilter,
    limit: i64,
) -> Result<Vec<CompanyView>, sqlx::Error> {
    let search = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let (inn_prefix, name_part) = match search {
        Some(s) if s.chars().all(|c| c.is_ascii_digit()) => (Some(format!("{s}%")), None),
        Some(s) => (
            None,
            Some(format!(
                "%{}%",
                s.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )),
        ),
        None => (None, None),
    };
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM companies_view \
         WHERE ($1::uuid[] IS NULL OR company_id = ANY($1)) \
           AND ($2::text IS NULL OR inn LIKE $2) \
           AND ($3::text IS NULL OR short_name ILIKE $3 OR full_name ILIKE $3) \
           AND ($4::bigint IS NULL OR registered_position > $4) \
         ORDER BY registered_position LIMIT $5"
    ))
    .bind(f.only.as_deref())
    .bind(inn_prefix)
    .bind(name_part)
    .bind(f.after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The ИНН+КПП look-up over the read model, for the Company aggregate's uniqueness rule.
pub struct PgCompanyLookup {
    pool: PgPool,
}

impl PgCompanyLookup {
    /// A look-up on `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl CompanyLookup for PgCompanyLookup {
    async fn find_by_inn_kpp(&self, inn: &Inn, kpp: Option<&Kpp>) -> Result<Option<Uuid>, String> {
        sqlx::query_scalar(
            "SELECT company_id FROM companies_view WHERE inn = $1 AND kpp IS NOT DISTINCT FROM $2",
        )
        .bind(inn.as_str())
        .bind(kpp.map(Kpp::as_str))
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| e.to_string())
    }
}
