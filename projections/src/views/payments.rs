//! Incoming bank payments (`bank-payments`, an inline projection): one row of `bank_payments_view` per
//! payment of an imported statement, with where it stands — matched to a contract (the rule and the parts),
//! queued for staff (the reason), or returned — and the queries of the staff's queue and an import's lines.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::payments::{BankPaymentEvent, QueueReason};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::engine::error::ProjectionError;
use crate::engine::read_model::ReadModel;
use crate::store::event::StoredEvent;

/// The projection.
pub struct BankPaymentsProjection;

fn reason_detail(r: &QueueReason) -> Option<Value> {
    match r {
        QueueReason::SeveralContracts { numbers } => Some(json!({ "numbers": numbers })),
        QueueReason::PayerIsNotLessee { number }
        | QueueReason::ContractClosed { number }
        | QueueReason::ExceedsInvoice { number } => Some(json!({ "number": number })),
        QueueReason::PostingRefused { detail } => Some(json!({ "detail": detail })),
        QueueReason::NoMatch | QueueReason::PartsExceedAmount => None,
    }
}

#[async_trait]
impl ReadModel for BankPaymentsProjection {
    fn name(&self) -> &'static str {
        "bank-payments"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["bank_payments_view"]
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["BankPayment"])
    }

    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        let id = e.aggregate_uuid()?;
        let event: BankPaymentEvent = e.decode_event()?;
        match event {
            BankPaymentEvent::BankPaymentReceived(i) => {
                // Received with its decision in the same command: the row starts queued and the next
                // event (matched or queued) sets where it stands.
                sqlx::query(
                    "INSERT INTO bank_payments_view (payment_id, import_id, status, reference, number, \
                       payment_date, credited_on, amount, payer_name, payer_inn, payer_kpp, payer_account, \
                       payer_bank, purpose, uin, format, sha256, place, received_at, updated_at, position) \
                     VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                       $17, $18, $18, $19)",
                )
                .bind(id)
                .bind(i.source.import_id)
                .bind(&i.reference)
                .bind(&i.number)
                .bind(i.date)
                .bind(i.credited_on)
                .bind(i.amount.amount())
                .bind(i.payer.name.get().cloned())
                .bind(&i.payer.inn)
                .bind(&i.payer.kpp)
                .bind(&i.payer.account)
                .bind(&i.payer.bank)
                .bind(i.purpose.get().cloned())
                .bind(&i.uin)
                .bind(&i.source.format)
                .bind(&i.source.sha256)
                .bind(i.source.place as i32)
                .bind(e.recorded_at)
                .bind(e.position)
                .execute(&mut *conn)
                .await?;
            }
            BankPaymentEvent::BankPaymentMatched(m) => {
                let parts: Vec<Value> = m
                    .parts
                    .iter()
                    .map(|p| {
                        let mut v =
                            json!({ "kind": p.target.as_str(), "amount": p.amount.amount() });
                        if let domain::payments::Target::Insurance { policy_id } = p.target {
                            v["policy_id"] = json!(policy_id);
                        }
                        // Each part's contract (the match's unless the part names another).
                        v["contract_id"] = json!(p.contract_id.unwrap_or(m.contract_id));
                        v
                    })
                    .collect();
                sqlx::query(
                    "UPDATE bank_payments_view SET status = 'matched', contract_id = $2, company_id = $3, \
                       rule = $4, parts = $5, queue_reason = NULL, queue_detail = NULL, updated_at = $6, \
                       position = $7 WHERE payment_id = $1",
                )
                .bind(id)
                .bind(m.contract_id)
                .bind(m.company_id)
                .bind(m.rule.as_str())
                .bind(Value::Array(parts))
                .bind(e.recorded_at)
                .bind(e.position)
                .execute(&mut *conn)
                .await?;
            }
            BankPaymentEvent::BankPaymentQueued(r) => {
                // A payment queued again after a refused posting keeps the contract it was matched to,
                // for staff to see; its parts are no longer posted.
                sqlx::query(
                    "UPDATE bank_payments_view SET status = 'queued', queue_reason = $2, queue_detail = $3, \
                       updated_at = $4, position = $5 WHERE payment_id = $1",
                )
                .bind(id)
                .bind(r.as_str())
                .bind(reason_detail(&r))
                .bind(e.recorded_at)
                .bind(e.position)
                .execute(&mut *conn)
                .await?;
            }
            BankPaymentEvent::BankPaymentReturned { reason } => {
                sqlx::query(
                    "UPDATE bank_payments_view SET status = 'returned', return_reason = $2, updated_at = $3, \
                       position = $4 WHERE payment_id = $1",
                )
                .bind(id)
                .bind(reason)
                .bind(e.recorded_at)
                .bind(e.position)
                .execute(&mut *conn)
                .await?;
            }
        }
        Ok(())
    }
}

/// A row of `bank_payments_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct BankPaymentView {
    /// The payment.
    pub payment_id: Uuid,
    /// The import it came with.
    pub import_id: Uuid,
    /// matched, queued, returned.
    pub status: String,
    /// The reference recorded on the contract.
    pub reference: String,
    /// Payment document number.
    pub number: String,
    /// Its date.
    pub payment_date: NaiveDate,
    /// When it was credited.
    pub credited_on: Option<NaiveDate>,
    /// Amount.
    pub amount: Decimal,
    /// Payer's name (NULL once destroyed).
    pub payer_name: Option<String>,
    /// Payer's ИНН.
    pub payer_inn: Option<String>,
    /// Payer's КПП.
    pub payer_kpp: Option<String>,
    /// Payer's account.
    pub payer_account: Option<String>,
    /// Payer's bank.
    pub payer_bank: Option<String>,
    /// The purpose (NULL once destroyed).
    pub purpose: Option<String>,
    /// УИН.
    pub uin: Option<String>,
    /// Statement format.
    pub format: String,
    /// Statement file.
    pub sha256: String,
    /// Line or entry in the file.
    pub place: i32,
    /// Contract (matched).
    pub contract_id: Option<Uuid>,
    /// Its lessee.
    pub company_id: Option<Uuid>,
    /// How it was matched.
    pub rule: Option<String>,
    /// The parts.
    pub parts: Value,
    /// Why it is queued.
    pub queue_reason: Option<String>,
    /// The reason's particulars.
    pub queue_detail: Option<Value>,
    /// Why it was returned.
    pub return_reason: Option<String>,
    /// Received.
    pub received_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Last change's place in the log (the list's order).
    pub position: i64,
}

const COLUMNS: &str = "payment_id, import_id, status, reference, number, payment_date, credited_on, amount, \
    payer_name, payer_inn, payer_kpp, payer_account, payer_bank, purpose, uin, format, sha256, place, contract_id, \
    company_id, rule, parts, queue_reason, queue_detail, return_reason, received_at, updated_at, position";

/// One payment.
///
/// # Errors
/// A database error.
pub async fn load_bank_payment(
    pool: &PgPool,
    id: Uuid,
) -> Result<Option<BankPaymentView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM bank_payments_view WHERE payment_id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Payments by status (`None`: all) and import (`None`: any), oldest change first, `limit` after the
/// `after` position.
///
/// # Errors
/// A database error.
pub async fn list_bank_payments(
    pool: &PgPool,
    status: Option<&str>,
    import_id: Option<Uuid>,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<BankPaymentView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM bank_payments_view \
         WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR import_id = $2) \
           AND position > coalesce($3, 0) \
         ORDER BY position LIMIT $4"
    ))
    .bind(status)
    .bind(import_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// How many payments there are by status and import.
///
/// # Errors
/// A database error.
pub async fn count_bank_payments(
    pool: &PgPool,
    status: Option<&str>,
    import_id: Option<Uuid>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM bank_payments_view \
         WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR import_id = $2)",
    )
    .bind(status)
    .bind(import_id)
    .fetch_one(pool)
    .await
}
