//! Insurance policies, part of the `contracts` projection (re-billed premiums are the lessee's insurance
//! debt, so they are kept and rebuilt beside the debt rows): `policies_view`, `policy_installments_view`,
//! `insured_events_view`, and the `insurance` column of `contract_debt_view` (and through it
//! `company_debt_view`).
//!
//! Insurance debt of a contract = Σ (amount − paid) over installments that are re-billed (the lessor pays the
//! insurer), not cancelled, and fallen due (the business day reached their due date). A policy's status
//! follows the business day: expired after its end date, expiring within 30 days of it. Both move when a
//! BusinessDayStarted event is projected, so a replay gives the same rows.

use chrono::{DateTime, NaiveDate, Utc};
use domain::policy::{Installment, PolicyEvent, PremiumPayer};
use domain::values::Money;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::engine::error::ProjectionError;
use crate::store::event::StoredEvent;

/// Days before the end of cover a policy counts as expiring.
pub const EXPIRING_WITHIN_DAYS: i32 = 30;

/// The status SQL for a policy row, given the business day as `$bd` (NULL: no day yet → active).
fn status_sql(bd: &str) -> String {
    format!(
        "CASE WHEN status = 'cancelled' THEN 'cancelled' \
              WHEN {bd} IS NULL THEN 'active' \
              WHEN ends_on < {bd} THEN 'expired' \
              WHEN ends_on <= {bd} + {EXPIRING_WITHIN_DAYS} THEN 'expiring' \
              ELSE 'active' END"
    )
}

const DAY: &str = "(SELECT business_date FROM business_day_view)";

fn m(x: Money) -> Decimal {
    x.amount()
}

async fn insert_installments(
    conn: &mut PgConnection,
    policy_id: Uuid,
    list: &[Installment],
) -> Result<(), ProjectionError> {
    let numbers: Vec<i32> = list.iter().map(|i| i.number as i32).collect();
    let dates: Vec<NaiveDate> = list.iter().map(|i| i.due_date).collect();
    let amounts: Vec<Decimal> = list.iter().map(|i| m(i.amount)).collect();
    sqlx::query(&format!(
        "INSERT INTO policy_installments_view \
           (policy_id, number, contract_id, company_id, due_date, amount, paid, rebilled, fell_due, cancelled) \
         SELECT p.policy_id, n, p.contract_id, p.company_id, d, a, 0, p.payer = 'lessor', \
                coalesce(d <= {DAY}, false), false \
         FROM policies_view p, unnest($2::int[], $3::date[], $4::numeric[]) AS x(n, d, a) \
         WHERE p.policy_id = $1"
    ))
    .bind(policy_id)
    .bind(&numbers)
    .bind(&dates)
    .bind(&amounts)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Applies one Policy event; returns the contract whose insurance debt may have changed.
///
/// # Errors
/// A database error or a payload that does not decode.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    e: &StoredEvent,
) -> Result<Option<Uuid>, ProjectionError> {
    let event: PolicyEvent = e.decode_event()?;
    let id = e.aggregate_uuid()?;
    let touch = |sql: &str| {
        format!(
            "UPDATE policies_view SET {sql}, last_position = $2, updated_at = $3 WHERE policy_id = $1 \
             RETURNING contract_id"
        )
    };
    let contract: Option<Uuid> = match event {
        PolicyEvent::PolicyIssued {
            contract_id,
            company_id,
            insurer,
            kind,
            number,
            starts_on,
            ends_on,
            sum_insured,
            premium,
            installments,
            payer,
            form,
            ..
        } => {
            sqlx::query(&format!(
                "INSERT INTO policies_view (policy_id, contract_id, company_id, insurer, kind, number, \
                   first_starts_on, starts_on, ends_on, sum_insured, premium, premium_paid, payer, status, \
                   form, insured_events, issued_position, last_position, updated_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, 0, $11, \
                        {}, $12, 0, $13, $13, $14 \
                 FROM (SELECT 'active' AS status, $8::date AS ends_on) s",
                status_sql(DAY)
            ))
            .bind(id)
            .bind(contract_id)
            .bind(company_id)
            .bind(&insurer)
            .bind(kind.as_str())
            .bind(&number)
            .bind(starts_on)
            .bind(ends_on)
            .bind(m(sum_insured))
            .bind(m(premium))
            .bind(payer.as_str())
            .bind(form.map(|f| serde_json::to_value(f).unwrap_or_default()))
            .bind(e.position)
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?;
            insert_installments(conn, id, &installments).await?;
            (payer == PremiumPayer::Lessor).then_some(contract_id)
        }
        PolicyEvent::PolicyFormAttached { form } => {
            sqlx::query(&touch("form = $4"))
                .bind(id)
                .bind(e.position)
                .bind(e.recorded_at)
                .bind(serde_json::to_value(form).unwrap_or_default())
                .fetch_optional(&mut *conn)
                .await?;
            None
        }
        PolicyEvent::PremiumPaid {
            date,
            amount,
            allocations,
        } => {
            let numbers: Vec<i32> = allocations.iter().map(|a| a.0 as i32).collect();
            let amounts: Vec<Decimal> = allocations.iter().map(|a| m(a.1)).collect();
            sqlx::query(
                "UPDATE policy_installments_view i SET paid = i.paid + x.a, last_paid_on = $4 \
                 FROM unnest($2::int[], $3::numeric[]) AS x(n, a) \
                 WHERE i.policy_id = $1 AND i.number = x.n",
            )
            .bind(id)
            .bind(&numbers)
            .bind(&amounts)
            .bind(date)
            .execute(&mut *conn)
            .await?;
            sqlx::query_scalar(&touch("premium_paid = premium_paid + $4"))
                .bind(id)
                .bind(e.position)
                .bind(e.recorded_at)
                .bind(m(amount))
                .fetch_optional(&mut *conn)
                .await?
        }
        PolicyEvent::PolicyProlonged {
            starts_on,
            ends_on,
            premium,
            installments,
            number,
            form,
        } => {
            let form = form.map(|f| serde_json::to_value(f).unwrap_or_default());
            let c: Option<Uuid> = sqlx::query_scalar(&touch(&format!(
                "starts_on = $4, ends_on = $5, premium = premium + $6, number = coalesce($7, number), \
                 form = coalesce($8, form), status = {}",
                status_sql(DAY).replace("ends_on", "$5::date")
            )))
            .bind(id)
            .bind(e.position)
            .bind(e.recorded_at)
            .bind(starts_on)
            .bind(ends_on)
            .bind(m(premium))
            .bind(number)
            .bind(form)
            .fetch_optional(&mut *conn)
            .await?;
            insert_installments(conn, id, &installments).await?;
            c
        }
        PolicyEvent::PolicyTermsChanged {
            sum_insured,
            additional_premium,
            ..
        } => {
            let extra = additional_premium
                .as_ref()
                .map_or(Decimal::ZERO, |i| m(i.amount));
            let c: Option<Uuid> =
                sqlx::query_scalar(&touch("sum_insured = $4, premium = premium + $5"))
                    .bind(id)
                    .bind(e.position)
                    .bind(e.recorded_at)
                    .bind(m(sum_insured))
                    .bind(extra)
                    .fetch_optional(&mut *conn)
                    .await?;
            if let Some(i) = additional_premium {
                insert_installments(conn, id, &[i]).await?;
            }
            c
        }
        PolicyEvent::InsuredEventReported(ev) => {
            sqlx::query(
                "INSERT INTO insured_events_view (policy_id, event_id, contract_id, company_id, occurred_on, \
                   place, description, contact_phone, attachments, reported_at) \
                 SELECT policy_id, $2, contract_id, company_id, $3, $4, $5, $6, $7, $8 \
                 FROM policies_view WHERE policy_id = $1",
            )
            .bind(id)
            .bind(ev.event_id)
            .bind(ev.date)
            .bind(ev.place.get())
            .bind(ev.description.get())
            .bind(ev.contact_phone.get().map(|p| p.as_str()))
            .bind(serde_json::to_value(&ev.attachments).unwrap_or_default())
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?;
            sqlx::query(&touch("insured_events = insured_events + 1"))
                .bind(id)
                .bind(e.position)
                .bind(e.recorded_at)
                .fetch_optional(&mut *conn)
                .await?;
            None
        }
        PolicyEvent::PolicyCancelled {
            date,
            reason,
            cancelled_installments,
        } => {
            let numbers: Vec<i32> = cancelled_installments.iter().map(|n| *n as i32).collect();
            sqlx::query(
                "UPDATE policy_installments_view SET cancelled = true \
                 WHERE policy_id = $1 AND number = ANY($2)",
            )
            .bind(id)
            .bind(&numbers)
            .execute(&mut *conn)
            .await?;
            sqlx::query_scalar(&touch(
                "status = 'cancelled', cancelled_on = $4, cancel_reason = $5",
            ))
            .bind(id)
            .bind(e.position)
            .bind(e.recorded_at)
            .bind(date)
            .bind(reason)
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    Ok(contract)
}

/// A business day started: installments reaching their due date become debt, and policy statuses move.
/// Returns the contracts whose insurance debt may have changed.
///
/// # Errors
/// A database error.
pub(crate) async fn apply_day(
    conn: &mut PgConnection,
    date: NaiveDate,
) -> Result<Vec<Uuid>, ProjectionError> {
    let contracts: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE policy_installments_view SET fell_due = true \
         WHERE NOT fell_due AND due_date <= $1 RETURNING contract_id",
    )
    .bind(date)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(&format!(
        "UPDATE policies_view SET status = s.new FROM \
           (SELECT policy_id, {} AS new FROM policies_view WHERE status IN ('active', 'expiring')) s \
         WHERE policies_view.policy_id = s.policy_id AND policies_view.status <> s.new",
        status_sql("$1::date")
    ))
    .bind(date)
    .execute(&mut *conn)
    .await?;
    Ok(contracts)
}

/// Recomputes the `insurance` (and `total`) of the contracts' debt rows; returns the companies whose rows
/// changed.
///
/// # Errors
/// A database error.
pub(crate) async fn recompute_insurance(
    conn: &mut PgConnection,
    contracts: &[Uuid],
) -> Result<Vec<Uuid>, ProjectionError> {
    if contracts.is_empty() {
        return Ok(Vec::new());
    }
    let companies: Vec<Uuid> = sqlx::query_scalar(
        "WITH s AS ( \
           SELECT c.id, coalesce(sum(i.amount - i.paid) \
                    FILTER (WHERE i.rebilled AND i.fell_due AND NOT i.cancelled), 0) AS due \
           FROM unnest($1::uuid[]) AS c(id) LEFT JOIN policy_installments_view i ON i.contract_id = c.id \
           GROUP BY c.id) \
         UPDATE contract_debt_view d SET insurance = s.due, \
                total = d.leasing_due + d.penalties + d.fines + s.due - d.credit \
         FROM s WHERE d.contract_id = s.id AND d.insurance <> s.due RETURNING d.company_id",
    )
    .bind(contracts)
    .fetch_all(&mut *conn)
    .await?;
    Ok(companies)
}

// ---------------------------------------------------------------------------------------------------------
// Typed reads

/// A row of `policies_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct PolicyView {
    /// Id.
    pub policy_id: Uuid,
    /// Insured contract.
    pub contract_id: Uuid,
    /// Lessee.
    pub company_id: Uuid,
    /// Insurer.
    pub insurer: String,
    /// osago, kasko, property, other.
    pub kind: String,
    /// Policy number.
    pub number: String,
    /// First day of the first period.
    pub first_starts_on: NaiveDate,
    /// First day of the current period.
    pub starts_on: NaiveDate,
    /// Last day of the current period.
    pub ends_on: NaiveDate,
    /// Sum insured.
    pub sum_insured: Decimal,
    /// Premium over all periods.
    pub premium: Decimal,
    /// Premium paid.
    pub premium_paid: Decimal,
    /// lessee or lessor.
    pub payer: String,
    /// active, expiring, expired, cancelled.
    pub status: String,
    /// Cancellation date.
    pub cancelled_on: Option<NaiveDate>,
    /// Cancellation reason.
    pub cancel_reason: Option<String>,
    /// The policy form (a FileRef as JSON).
    pub form: Option<serde_json::Value>,
    /// Insured events reported.
    pub insured_events: i32,
    /// Last event's position.
    pub last_position: i64,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

const POLICY_COLUMNS: &str = "policy_id, contract_id, company_id, insurer, kind, number, first_starts_on, \
    starts_on, ends_on, sum_insured, premium, premium_paid, payer, status, cancelled_on, cancel_reason, form, \
    insured_events, last_position, updated_at";

/// A row of `policy_installments_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct InstallmentView {
    /// Policy.
    pub policy_id: Uuid,
    /// Number.
    pub number: i32,
    /// Due date.
    pub due_date: NaiveDate,
    /// Amount.
    pub amount: Decimal,
    /// Paid.
    pub paid: Decimal,
    /// Re-billed by the lessor.
    pub rebilled: bool,
    /// The business day reached its due date.
    pub fell_due: bool,
    /// No longer owed.
    pub cancelled: bool,
}

/// A row of `insured_events_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct InsuredEventView {
    /// Policy.
    pub policy_id: Uuid,
    /// Event id.
    pub event_id: Uuid,
    /// When it happened.
    pub occurred_on: NaiveDate,
    /// Where (None: destroyed personal data).
    pub place: Option<String>,
    /// What (None: destroyed personal data).
    pub description: Option<String>,
    /// Contact phone (None: destroyed personal data).
    pub contact_phone: Option<String>,
    /// Attachments (FileRefs as JSON).
    pub attachments: serde_json::Value,
    /// When it was reported.
    pub reported_at: DateTime<Utc>,
}

/// Loads one policy.
///
/// # Errors
/// A database error.
pub async fn load_policy(
    pool: impl sqlx::PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<PolicyView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {POLICY_COLUMNS} FROM policies_view WHERE policy_id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// A company's policies (optionally of one contract, optionally in one status), newest end first, after the
/// cursor `(ends_on, policy_id)`.
///
/// # Errors
/// A database error.
pub async fn list_policies(
    pool: &PgPool,
    company_id: Uuid,
    contract_id: Option<Uuid>,
    status: Option<&str>,
    after: Option<(NaiveDate, Uuid)>,
    limit: i64,
) -> Result<Vec<PolicyView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {POLICY_COLUMNS} FROM policies_view WHERE {POLICY_FILTER} \
           AND ($4::date IS NULL OR (ends_on, policy_id) < ($4, $5)) \
         ORDER BY ends_on DESC, policy_id DESC LIMIT $6"
    ))
    .bind(company_id)
    .bind(contract_id)
    .bind(status)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The condition of `list_policies`: `$1` the company, `$2` a contract, `$3` a status.
const POLICY_FILTER: &str = "company_id = $1 AND ($2::uuid IS NULL OR contract_id = $2) \
    AND ($3::text IS NULL OR status = $3)";

/// How many policies `list_policies` finds over every page.
///
/// # Errors
/// A database error.
pub async fn count_policies(
    pool: &PgPool,
    company_id: Uuid,
    contract_id: Option<Uuid>,
    status: Option<&str>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM policies_view WHERE {POLICY_FILTER}"
    ))
    .bind(company_id)
    .bind(contract_id)
    .bind(status)
    .fetch_one(pool)
    .await
}

/// The installments of several policies, in number order.
///
/// # Errors
/// A database error.
pub async fn load_installments(
    pool: impl sqlx::PgExecutor<'_>,
    ids: &[Uuid],
) -> Result<Vec<InstallmentView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT policy_id, number, due_date, amount, paid, rebilled, fell_due, cancelled \
         FROM policy_installments_view WHERE policy_id = ANY($1) ORDER BY policy_id, number",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
}

/// The insured events of several policies, by date.
///
/// # Errors
/// A database error.
pub async fn load_insured_events(
    pool: impl sqlx::PgExecutor<'_>,
    ids: &[Uuid],
) -> Result<Vec<InsuredEventView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT policy_id, event_id, occurred_on, place, description, contact_phone, attachments, reported_at \
         FROM insured_events_view WHERE policy_id = ANY($1) ORDER BY policy_id, occurred_on, event_id",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
}
