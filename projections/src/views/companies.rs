//! The companies read model (`companies_view`): the profile the cabinet shows, listable and searchable by
//! ИНН or name. Inline projection: written in the append transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::company::CompanyEvent;
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::engine::error::ProjectionError;
use crate::engine::read_model::ReadModel;
use crate::store::event::StoredEvent;

/// The projection.
pub struct CompaniesProjection;

#[async_trait]
impl ReadModel for CompaniesProjection {
    fn name(&self) -> &'static str {
        "companies"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["companies_view"]
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["Company"])
    }

    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        self.apply_batch(conn, std::slice::from_ref(e)).await
    }

    /// Reads the rows the batch touches (one query), folds the events into them in memory, and writes them
    /// back (one upsert): two statements per batch, however many events it holds.
    async fn apply_batch(
        &self,
        conn: &mut PgConnection,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let mut decoded = Vec::new();
        for e in events.iter().filter(|e| e.aggregate_type == "Company") {
            let event: CompanyEvent = e.decode_event()?;
            let id = e.aggregate_uuid()?;
            decoded.push((e, id, event));
        }
        if decoded.is_empty() {
            return Ok(());
        }
        let mut ids: Vec<Uuid> = decoded.iter().map(|(_, id, _)| *id).collect();
        ids.sort();
        ids.dedup();
        let existing: Vec<CompanyView> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM companies_view WHERE company_id = ANY($1)"
        ))
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
        let mut rows: HashMap<Uuid, CompanyView> =
            existing.into_iter().map(|r| (r.company_id, r)).collect();
        let mut touched: Vec<Uuid> = Vec::new();
        for (e, id, event) in decoded {
            if fold(&mut rows, e, id, event) {
                touched.push(id);
            }
        }
        touched.sort();
        touched.dedup();
        let changed: Vec<&CompanyView> = touched.iter().filter_map(|id| rows.get(id)).collect();
        if changed.is_empty() {
            return Ok(());
        }
        sqlx::query(UPSERT)
            .bind(serde_json::to_value(&changed).map_err(ProjectionError::Encode)?)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// Applies one event to the rows in memory; returns whether a row changed. The same rules as the SQL a
/// one-event-at-a-time projection would run: registration creates the row, the other events update it.
fn fold(
    rows: &mut HashMap<Uuid, CompanyView>,
    e: &StoredEvent,
    id: Uuid,
    event: CompanyEvent,
) -> bool {
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
            rows.insert(
                id,
                CompanyView {
                    company_id: id,
                    kind: kind.as_str().to_owned(),
                    inn: inn.as_str().to_owned(),
                    kpp: kpp.as_ref().map(|k| k.as_str().to_owned()),
                    ogrn: ogrn.as_str().to_owned(),
                    full_name,
                    short_name,
                    legal_address,
                    postal_address,
                    bank_name: bank.bank_name,
                    bik: bank.bik.as_str().to_owned(),
                    correspondent_account: bank.correspondent_account.as_str().to_owned(),
                    settlement_account: bank.settlement_account.as_str().to_owned(),
                    contact_email: contact_email.get().map(|v| v.as_str().to_owned()),
                    contact_phone: contact_phone.get().map(|v| v.as_str().to_owned()),
                    manager_name: None,
                    manager_phone: None,
                    manager_email: None,
                    manager_account_id: None,
                    manager_since: None,
                    registered_at: e.recorded_at,
                    registered_position: e.position,
                    updated_at: e.recorded_at,
                    last_position: e.position,
                },
            );
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
            let Some(r) = rows.get_mut(&id) else {
                return false;
            };
            r.kpp = kpp.as_ref().map(|k| k.as_str().to_owned());
            r.full_name = full_name;
            r.short_name = short_name;
            r.legal_address = legal_address;
            r.postal_address = postal_address;
            r.bank_name = bank.bank_name;
            r.bik = bank.bik.as_str().to_owned();
            r.correspondent_account = bank.correspondent_account.as_str().to_owned();
            r.settlement_account = bank.settlement_account.as_str().to_owned();
            r.contact_email = contact_email.get().map(|v| v.as_str().to_owned());
            r.contact_phone = contact_phone.get().map(|v| v.as_str().to_owned());
            r.updated_at = e.recorded_at;
            r.last_position = e.position;
        }
        CompanyEvent::ManagerAssigned {
            name,
            phone,
            email,
            account_id,
        } => {
            let Some(r) = rows.get_mut(&id) else {
                return false;
            };
            if r.manager_account_id != account_id {
                r.manager_since = account_id.map(|_| e.recorded_at);
            }
            r.manager_account_id = account_id;
            r.manager_name = name.into_inner();
            r.manager_phone = phone.get().map(|v| v.as_str().to_owned());
            r.manager_email = email.get().map(|v| v.as_str().to_owned());
            r.updated_at = e.recorded_at;
            r.last_position = e.position;
        }
        // Powers of attorney have their own read model.
        CompanyEvent::PowerOfAttorneyRegistered { .. }
        | CompanyEvent::PowerOfAttorneyRevoked { .. } => return false,
    }
    true
}

/// The powers of attorney (МЧД) companies registered (`powers_of_attorney_view`): what the signing check
/// reads in the same transaction as the commands that change them. Inline.
pub struct PowersOfAttorneyProjection;

#[async_trait]
impl ReadModel for PowersOfAttorneyProjection {
    fn name(&self) -> &'static str {
        "powers-of-attorney"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["powers_of_attorney_view"]
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["Company"])
    }

    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        if e.aggregate_type != "Company" {
            return Ok(());
        }
        match e.decode_event::<CompanyEvent>()? {
            CompanyEvent::PowerOfAttorneyRegistered { power } => {
                let kinds: Vec<&str> = power.document_kinds.iter().map(|k| k.as_str()).collect();
                sqlx::query(
                    "INSERT INTO powers_of_attorney_view (company_id, number, representative, document_kinds, \
                       requests, valid_from, valid_until, registered_at, last_position) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                )
                .bind(e.aggregate_uuid()?)
                .bind(power.number)
                .bind(power.representative)
                .bind(&kinds)
                .bind(power.requests)
                .bind(power.valid_from)
                .bind(power.valid_until)
                .bind(e.recorded_at)
                .bind(e.position)
                .execute(&mut *conn)
                .await?;
            }
            CompanyEvent::PowerOfAttorneyRevoked { number, reason } => {
                sqlx::query(
                    "UPDATE powers_of_attorney_view SET revoked_at = $3, revoked_reason = $4, last_position = $5 \
                     WHERE company_id = $1 AND number = $2",
                )
                .bind(e.aggregate_uuid()?)
                .bind(number)
                .bind(e.recorded_at)
                .bind(reason)
                .bind(e.position)
                .execute(&mut *conn)
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// A row of `powers_of_attorney_view`.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct PowerOfAttorneyView {
    /// The company.
    pub company_id: Uuid,
    /// The МЧД's number.
    pub number: Uuid,
    /// The representative's account.
    pub representative: Uuid,
    /// Document kinds it extends to.
    pub document_kinds: Vec<String>,
    /// Whether it extends to requests that commit the company.
    pub requests: bool,
    /// First valid day.
    pub valid_from: chrono::NaiveDate,
    /// Last valid day.
    pub valid_until: chrono::NaiveDate,
    /// Registered at.
    pub registered_at: DateTime<Utc>,
    /// Revoked at.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why revoked.
    pub revoked_reason: Option<String>,
}

impl PowerOfAttorneyView {
    /// The power as the signing rule reads it.
    pub fn power(&self) -> domain::company::PowerOfAttorney {
        domain::company::PowerOfAttorney {
            number: self.number,
            representative: self.representative,
            document_kinds: self
                .document_kinds
                .iter()
                .filter_map(|k| domain::document::DocumentKind::parse(k))
                .collect(),
            requests: self.requests,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
        }
    }
}

/// A company's powers of attorney, newest first; `in_force_only` leaves out the revoked ones.
///
/// # Errors
/// A database error.
pub async fn powers_of_attorney(
    db: impl sqlx::PgExecutor<'_>,
    company_id: Uuid,
    in_force_only: bool,
) -> Result<Vec<PowerOfAttorneyView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT company_id, number, representative, document_kinds, requests, valid_from, valid_until, \
                registered_at, revoked_at, revoked_reason \
         FROM powers_of_attorney_view WHERE company_id = $1 AND (NOT $2 OR revoked_at IS NULL) \
         ORDER BY registered_at DESC, number",
    )
    .bind(company_id)
    .bind(in_force_only)
    .fetch_all(db)
    .await
}

/// Writes whole rows: the batch's final state of every company it touched.
const UPSERT: &str = "INSERT INTO companies_view SELECT * FROM jsonb_populate_recordset(NULL::companies_view, $1) \
    ON CONFLICT (company_id) DO UPDATE SET (kind, inn, kpp, ogrn, full_name, short_name, legal_address, \
    postal_address, bank_name, bik, correspondent_account, settlement_account, contact_email, contact_phone, \
    manager_name, manager_phone, manager_email, registered_at, registered_position, updated_at, last_position, \
    manager_account_id, manager_since) = \
    (EXCLUDED.kind, EXCLUDED.inn, EXCLUDED.kpp, EXCLUDED.ogrn, EXCLUDED.full_name, EXCLUDED.short_name, \
    EXCLUDED.legal_address, EXCLUDED.postal_address, EXCLUDED.bank_name, EXCLUDED.bik, \
    EXCLUDED.correspondent_account, EXCLUDED.settlement_account, EXCLUDED.contact_email, EXCLUDED.contact_phone, \
    EXCLUDED.manager_name, EXCLUDED.manager_phone, EXCLUDED.manager_email, EXCLUDED.registered_at, \
    EXCLUDED.registered_position, EXCLUDED.updated_at, EXCLUDED.last_position, EXCLUDED.manager_account_id, \
    EXCLUDED.manager_since)";

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
    /// Contact e-mail (None: destroyed personal data).
    pub contact_email: Option<String>,
    /// Contact phone (None: destroyed personal data).
    pub contact_phone: Option<String>,
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
    /// The manager's staff account (None: none assigned, or a name and phone only).
    pub manager_account_id: Option<Uuid>,
    /// When that account became the manager.
    pub manager_since: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "company_id, kind, inn, kpp, ogrn, full_name, short_name, legal_address, postal_address, \
    bank_name, bik, correspondent_account, settlement_account, contact_email, contact_phone, manager_name, \
    manager_phone, manager_email, registered_at, registered_position, updated_at, last_position, \
    manager_account_id, manager_since";

/// Loads one company.
///
/// # Errors
/// A database error.
pub async fn load_company(
    pool: impl sqlx::PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<CompanyView>, sqlx::Error> {
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
    let (inn_prefix, name_part) = f.search_terms();
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM companies_view WHERE {COMPANY_FILTER} \
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

/// How many companies the filter finds over every page (`after` is ignored).
///
/// # Errors
/// A database error.
pub async fn count_companies(pool: &PgPool, f: &CompanyFilter) -> Result<i64, sqlx::Error> {
    let (inn_prefix, name_part) = f.search_terms();
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM companies_view WHERE {COMPANY_FILTER}"
    ))
    .bind(f.only.as_deref())
    .bind(inn_prefix)
    .bind(name_part)
    .fetch_one(pool)
    .await
}

/// The filter's condition on `companies_view`: `$1` the companies a client may see, `$2` an ИНН prefix,
/// `$3` a part of the name.
const COMPANY_FILTER: &str = "($1::uuid[] IS NULL OR company_id = ANY($1)) \
    AND ($2::text IS NULL OR inn LIKE $2) \
    AND ($3::text IS NULL OR short_name ILIKE $3 OR full_name ILIKE $3)";

impl CompanyFilter {
    /// The search as an ИНН prefix (digits) or a part of the name, with LIKE's wildcards escaped.
    fn search_terms(&self) -> (Option<String>, Option<String>) {
        match self
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
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
        }
    }
}
