//! The contract read models, one inline projection: `contracts_view` (the list), `schedule_view` (per
//! line), `contract_debt_view` and `company_debt_view` (what is owed), `payments_view`, `fines_view`, and
//! `business_day_view` (the current business day); and the insurance policies ([`crate::views::policies`]), whose
//! re-billed premiums are the debt's `insurance` column.
//!
//! A batch is folded in memory: the rows of the contracts it touches are read once, the events applied in
//! Rust, the derived columns (line status, debt, next payment) recomputed from the whole contract, and only
//! the rows that changed are written back. A company's debt row is recomputed from its contracts' rows in the
//! same transaction, under a per-company lock, so it always equals their sum — also when commands on two of
//! its contracts commit concurrently. A BusinessDayStarted event first writes what the batch
//! folded so far, then updates the day and the days overdue of overdue lines with one statement.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::clock::ClockEvent;
use domain::contract::{AllocationTarget, ContractEvent};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::engine::error::ProjectionError;
use crate::engine::read_model::ReadModel;
use crate::store::event::StoredEvent;

/// The projection.
pub struct ContractsProjection;

/// A row of `contracts_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct ContractView {
    /// Id.
    pub contract_id: Uuid,
    /// The lessee.
    pub company_id: Uuid,
    /// Contract number.
    pub number: String,
    /// Contract date.
    pub contract_date: NaiveDate,
    /// concluded, active, completed, terminated.
    pub status: String,
    /// Kind of asset.
    pub subject_kind: String,
    /// Make.
    pub subject_make: String,
    /// Model.
    pub subject_model: String,
    /// Year of manufacture.
    pub subject_year: i32,
    /// VIN.
    pub vin: Option<String>,
    /// Serial/factory number.
    pub serial_number: Option<String>,
    /// Registration plate.
    pub registration_plate: Option<String>,
    /// Price with VAT.
    pub price: Decimal,
    /// Advance.
    pub advance: Decimal,
    /// Advance in percent, when agreed that way.
    pub advance_percent: Option<Decimal>,
    /// Term in months.
    pub term_months: i32,
    /// Annual rate, percent.
    pub annual_rate: Decimal,
    /// Due date of line 1.
    pub first_due_date: NaiveDate,
    /// annuity, decreasing, explicit.
    pub schedule_kind: String,
    /// Redemption payment.
    pub redemption: Decimal,
    /// symbolic (after lines that repay everything) or residual (amortised down to, paid with the last line).
    pub redemption_kind: String,
    /// Penalty, percent per day.
    pub penalty_rate: Decimal,
    /// Whether the penalty base includes VAT.
    pub penalty_base_includes_vat: bool,
    /// Whether the payment day is a penalty day.
    pub penalty_payment_day_counts: bool,
    /// Handover date.
    pub activated_on: Option<NaiveDate>,
    /// Completion or termination date.
    pub closed_on: Option<NaiveDate>,
    /// Why it was terminated.
    pub termination_reason: Option<String>,
    /// The asset's book value, as the accounting system last reported it (`BookValueReported`).
    pub book_value: Option<Decimal>,
    /// The date that figure is for.
    pub book_value_as_of: Option<NaiveDate>,
    /// The next line to pay (not overdue).
    pub next_payment_date: Option<NaiveDate>,
    /// What is open on it.
    pub next_payment_amount: Option<Decimal>,
    /// Position of ContractConcluded.
    pub concluded_position: i64,
    /// Position of the last event applied.
    pub last_position: i64,
    /// Time of the last event applied.
    pub updated_at: DateTime<Utc>,
}

/// A row of `schedule_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct ScheduleLineView {
    /// Contract.
    pub contract_id: Uuid,
    /// Line number (0: advance).
    pub line_number: i32,
    /// The lessee.
    pub company_id: Uuid,
    /// advance, regular, redemption.
    pub kind: String,
    /// Due date.
    pub due_date: NaiveDate,
    /// Amount with VAT.
    pub amount: Decimal,
    /// VAT rate, percent.
    pub vat_rate: Decimal,
    /// VAT inside the amount.
    pub vat_amount: Decimal,
    /// Principal part.
    pub principal: Option<Decimal>,
    /// Interest part.
    pub interest: Option<Decimal>,
    /// Paid so far.
    pub paid: Decimal,
    /// upcoming, due, partially_paid, paid, overdue, cancelled.
    pub status: String,
    /// Whether the line fell due with money owed on it.
    pub fell_due: bool,
    /// Whether it was found overdue.
    pub was_overdue: bool,
    /// Payment deadline (due date moved to a working day), once known.
    pub deadline: Option<NaiveDate>,
    /// Days past the deadline as of the last business day (for a paid line: how late it was paid).
    pub days_overdue: i32,
    /// Penalty accrued on the line.
    pub penalty: Decimal,
    /// Penalty computed through this day.
    pub penalty_through: Option<NaiveDate>,
    /// Date of the last payment on the line.
    pub last_paid_on: Option<NaiveDate>,
}

/// A row of `contract_debt_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct ContractDebtView {
    /// Contract.
    pub contract_id: Uuid,
    /// The lessee.
    pub company_id: Uuid,
    /// Leasing payments due and not paid (overdue included).
    pub leasing_due: Decimal,
    /// Of which overdue.
    pub overdue: Decimal,
    /// Penalties accrued.
    pub penalties_accrued: Decimal,
    /// Penalties paid.
    pub penalties_paid: Decimal,
    /// Penalties owed (accrued − paid).
    pub penalties: Decimal,
    /// Traffic fines unpaid.
    pub fines: Decimal,
    /// Insurance owed (0 until policies exist).
    pub insurance: Decimal,
    /// Credit balance.
    pub credit: Decimal,
    /// leasing_due + penalties + fines + insurance − credit.
    pub total: Decimal,
    /// Next payment date.
    pub next_payment_date: Option<NaiveDate>,
    /// Next payment amount.
    pub next_payment_amount: Option<Decimal>,
    /// Position of the last event applied.
    pub last_position: i64,
}

/// A row of `company_debt_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct CompanyDebtView {
    /// The company.
    pub company_id: Uuid,
    /// Number of contracts.
    pub contracts: i32,
    /// Sum over its contracts.
    pub leasing_due: Decimal,
    /// Sum over its contracts.
    pub overdue: Decimal,
    /// Sum over its contracts.
    pub penalties: Decimal,
    /// Sum over its contracts.
    pub fines: Decimal,
    /// Sum over its contracts.
    pub insurance: Decimal,
    /// Sum over its contracts.
    pub credit: Decimal,
    /// Sum over its contracts.
    pub total: Decimal,
    /// The earliest next payment date of its contracts.
    pub next_payment_date: Option<NaiveDate>,
    /// What is due on that date over all its contracts.
    pub next_payment_amount: Option<Decimal>,
}

/// A row of `payments_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct PaymentView {
    /// Contract.
    pub contract_id: Uuid,
    /// Bank reference.
    pub bank_reference: String,
    /// The lessee.
    pub company_id: Uuid,
    /// Payment date.
    pub paid_on: NaiveDate,
    /// Amount.
    pub amount: Decimal,
    /// Stated purpose.
    pub purpose: String,
    /// How it was allocated (JSON array of {target, amount}).
    pub allocations: serde_json::Value,
    /// Event position.
    pub position: i64,
    /// When recorded.
    pub recorded_at: DateTime<Utc>,
}

/// A row of `fines_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct FineView {
    /// Contract.
    pub contract_id: Uuid,
    /// Resolution number (УИН).
    pub resolution_number: String,
    /// The lessee.
    pub company_id: Uuid,
    /// Date of the resolution.
    pub issued_on: NaiveDate,
    /// Amount of the fine as imposed.
    pub amount: Decimal,
    /// Paid so far.
    pub paid: Decimal,
    /// Vehicle.
    pub vehicle: String,
    /// What it is for.
    pub description: String,
    /// When it was paid in full.
    pub paid_on: Option<NaiveDate>,
    /// The offence's article («ч. 2 ст. 12.9 КоАП РФ»), when known.
    pub article: Option<String>,
    /// What is owed for the fine within the discount period (half), when it has one.
    pub discounted_amount: Option<Decimal>,
    /// The discount period's last day.
    pub discount_until: Option<NaiveDate>,
    /// Whether the period ended with the fine unpaid (the whole amount is owed).
    pub discount_expired: bool,
    /// The lessor's fee for re-billing it.
    pub fee: Decimal,
    /// What is owed for it in all (before payments): the discounted amount while the discount lasts,
    /// else the amount; plus the fee.
    pub due: Decimal,
}

const CONTRACT_COLUMNS: &[&str] = &[
    "contract_id",
    "company_id",
    "number",
    "contract_date",
    "status",
    "subject_kind",
    "subject_make",
    "subject_model",
    "subject_year",
    "vin",
    "serial_number",
    "registration_plate",
    "price",
    "advance",
    "advance_percent",
    "term_months",
    "annual_rate",
    "first_due_date",
    "schedule_kind",
    "redemption",
    "redemption_kind",
    "penalty_rate",
    "penalty_base_includes_vat",
    "penalty_payment_day_counts",
    "activated_on",
    "closed_on",
    "termination_reason",
    "book_value",
    "book_value_as_of",
    "next_payment_date",
    "next_payment_amount",
    "concluded_position",
    "last_position",
    "updated_at",
];

const LINE_COLUMNS: &[&str] = &[
    "contract_id",
    "line_number",
    "company_id",
    "kind",
    "due_date",
    "amount",
    "vat_rate",
    "vat_amount",
    "principal",
    "interest",
    "paid",
    "status",
    "fell_due",
    "was_overdue",
    "deadline",
    "days_overdue",
    "penalty",
    "penalty_through",
    "last_paid_on",
];

const DEBT_COLUMNS: &[&str] = &[
    "contract_id",
    "company_id",
    "leasing_due",
    "overdue",
    "penalties_accrued",
    "penalties_paid",
    "penalties",
    "fines",
    "insurance",
    "credit",
    "total",
    "next_payment_date",
    "next_payment_amount",
    "last_position",
];

const COMPANY_DEBT_COLUMNS: &[&str] = &[
    "company_id",
    "contracts",
    "leasing_due",
    "overdue",
    "penalties",
    "fines",
    "insurance",
    "credit",
    "total",
    "next_payment_date",
    "next_payment_amount",
];

const PAYMENT_COLUMNS: &[&str] = &[
    "contract_id",
    "bank_reference",
    "company_id",
    "paid_on",
    "amount",
    "purpose",
    "allocations",
    "position",
    "recorded_at",
];

const FINE_COLUMNS: &[&str] = &[
    "contract_id",
    "resolution_number",
    "company_id",
    "issued_on",
    "amount",
    "paid",
    "vehicle",
    "description",
    "paid_on",
    "article",
    "discounted_amount",
    "discount_until",
    "discount_expired",
    "fee",
    "due",
];

fn columns(c: &[&str]) -> String {
    c.join(", ")
}

/// `INSERT … SELECT … FROM jsonb_populate_recordset … ON CONFLICT (key) DO UPDATE` of whole rows.
/// A column of a read-model row that another writer owns: an upsert keeps the stored value, and the column
/// `rebases` (a sum that includes it) is rebased on the stored value.
struct Kept {
    column: &'static str,
    rebases: Option<&'static str>,
}

/// `contract_debt_view.insurance` belongs to the policies ([`crate::views::policies`]): a policy command may
/// have changed it since a contract batch read the row, so the contract writer keeps it and rebases `total`.
const DEBT_KEPT: &[Kept] = &[Kept {
    column: "insurance",
    rebases: Some("total"),
}];

fn upsert_sql(table: &str, cols: &[&str], key: &[&str], kept: &[Kept]) -> String {
    let all = columns(cols);
    let value = |c: &str| {
        if let Some(k) = kept.iter().find(|k| k.column == c) {
            format!("{table}.{}", k.column)
        } else if let Some(k) = kept.iter().find(|k| k.rebases == Some(c)) {
            format!("EXCLUDED.{c} - EXCLUDED.{0} + {table}.{0}", k.column)
        } else {
            format!("EXCLUDED.{c}")
        }
    };
    let rest: Vec<&str> = cols.iter().copied().filter(|c| !key.contains(c)).collect();
    let set = if rest.len() == 1 {
        format!("{} = {}", rest[0], value(rest[0]))
    } else {
        format!(
            "({}) = ({})",
            rest.join(", "),
            rest.iter().map(|c| value(c)).collect::<Vec<_>>().join(", ")
        )
    };
    format!(
        "INSERT INTO {table} ({all}) SELECT {all} FROM jsonb_populate_recordset(NULL::{table}, $1) \
         ON CONFLICT ({}) DO UPDATE SET {set}",
        key.join(", ")
    )
}

/// The rows of `table` that belong to the contracts `ids`, in `order` (an ORDER BY clause, or empty).
async fn load_rows<'c, T>(
    db: impl sqlx::PgExecutor<'c>,
    table: &str,
    cols: &[&str],
    ids: &[Uuid],
    order: &str,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    sqlx::query_as(&format!(
        "SELECT {} FROM {table} WHERE contract_id = ANY($1) {order}",
        columns(cols)
    ))
    .bind(ids)
    .fetch_all(db)
    .await
}

async fn write_rows<T: Serialize>(
    conn: &mut PgConnection,
    sql: &str,
    rows: &[&T],
) -> Result<(), ProjectionError> {
    if rows.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_value(rows).map_err(ProjectionError::Encode)?;
    sqlx::query(sql).bind(json).execute(&mut *conn).await?;
    Ok(())
}

/// One contract's rows while a batch is folded.
#[derive(Debug, Clone)]
struct Folded {
    contract: ContractView,
    lines: BTreeMap<i32, ScheduleLineView>,
    debt: ContractDebtView,
    fines: Vec<FineView>,
    payments: Vec<PaymentView>,
    removed_lines: Vec<i32>,
    /// Whether `fines` holds all the contract's fines (else the debt row's total stands).
    fines_loaded: bool,
}

fn money(m: domain::values::Money) -> Decimal {
    m.amount()
}

fn line_row(
    contract_id: Uuid,
    company_id: Uuid,
    l: &domain::schedule::ScheduleLine,
) -> ScheduleLineView {
    ScheduleLineView {
        contract_id,
        line_number: l.number as i32,
        company_id,
        kind: l.kind.as_str().to_owned(),
        due_date: l.due_date,
        amount: money(l.amount),
        vat_rate: l.vat_rate,
        vat_amount: money(l.vat),
        principal: l.principal.map(money),
        interest: l.interest.map(money),
        paid: Decimal::ZERO,
        status: "upcoming".into(),
        fell_due: false,
        was_overdue: false,
        deadline: None,
        days_overdue: 0,
        penalty: Decimal::ZERO,
        penalty_through: None,
        last_paid_on: None,
    }
}

fn days_between(from: NaiveDate, to: NaiveDate) -> i32 {
    (to - from).num_days().max(0) as i32
}

/// Applies one event to a contract's rows (None: the contract row does not exist yet).
fn fold(rows: &mut HashMap<Uuid, Folded>, e: &StoredEvent, id: Uuid, event: ContractEvent) {
    if let ContractEvent::ContractConcluded {
        company_id,
        number,
        date,
        subject,
        price,
        advance,
        advance_percent,
        term_months,
        annual_rate,
        first_due_date,
        schedule_kind,
        redemption,
        redemption_kind,
        penalty,
        lines,
        ..
    } = event
    {
        let contract = ContractView {
            contract_id: id,
            company_id,
            number,
            contract_date: date,
            status: "concluded".into(),
            subject_kind: subject.kind,
            subject_make: subject.make,
            subject_model: subject.model,
            subject_year: subject.year,
            vin: subject.vin.map(|v| v.as_str().to_owned()),
            serial_number: subject.serial_number,
            registration_plate: subject.registration_plate,
            price: money(price),
            advance: money(advance),
            advance_percent,
            term_months: term_months as i32,
            annual_rate,
            first_due_date,
            schedule_kind: schedule_kind.as_str().to_owned(),
            redemption: money(redemption),
            redemption_kind: redemption_kind.as_str().to_owned(),
            penalty_rate: penalty.rate_per_day,
            penalty_base_includes_vat: penalty.base_includes_vat,
            penalty_payment_day_counts: penalty.payment_day_counts,
            activated_on: None,
            closed_on: None,
            termination_reason: None,
            book_value: None,
            book_value_as_of: None,
            next_payment_date: None,
            next_payment_amount: None,
            concluded_position: e.position,
            last_position: e.position,
            updated_at: e.recorded_at,
        };
        let zero = Decimal::ZERO;
        rows.insert(
            id,
            Folded {
                lines: lines
                    .iter()
                    .map(|l| (l.number as i32, line_row(id, company_id, l)))
                    .collect(),
                debt: ContractDebtView {
                    contract_id: id,
                    company_id,
                    leasing_due: zero,
                    overdue: zero,
                    penalties_accrued: zero,
                    penalties_paid: zero,
                    penalties: zero,
                    fines: zero,
                    insurance: zero,
                    credit: zero,
                    total: zero,
                    next_payment_date: None,
                    next_payment_amount: None,
                    last_position: e.position,
                },
                contract,
                fines: Vec::new(),
                payments: Vec::new(),
                removed_lines: Vec::new(),
                fines_loaded: true,
            },
        );
        return;
    }
    let Some(f) = rows.get_mut(&id) else {
        return;
    };
    f.contract.last_position = e.position;
    f.contract.updated_at = e.recorded_at;
    f.debt.last_position = e.position;
    let company_id = f.contract.company_id;
    match event {
        ContractEvent::ContractConcluded { .. } => {}
        ContractEvent::ContractActivated { date } => {
            f.contract.status = "active".into();
            f.contract.activated_on = Some(date);
        }
        ContractEvent::PaymentRecorded {
            bank_reference,
            date,
            amount,
            purpose,
            allocations,
        } => {
            for a in &allocations {
                match &a.target {
                    AllocationTarget::Line { number } => {
                        if let Some(l) = f.lines.get_mut(&(*number as i32)) {
                            l.paid += money(a.amount);
                            l.last_paid_on = Some(date);
                        }
                    }
                    AllocationTarget::Penalties => f.debt.penalties_paid += money(a.amount),
                    AllocationTarget::Fine { resolution_number } => {
                        if let Some(fine) = f
                            .fines
                            .iter_mut()
                            .find(|x| &x.resolution_number == resolution_number)
                        {
                            fine.paid += money(a.amount);
                            if fine.paid >= fine.due {
                                fine.paid_on = Some(date);
                            }
                        }
                    }
                    AllocationTarget::Insurance => {}
                    AllocationTarget::Credit => f.debt.credit += money(a.amount),
                }
            }
            f.payments.push(PaymentView {
                contract_id: id,
                bank_reference,
                company_id,
                paid_on: date,
                amount: money(amount),
                purpose: purpose.as_str().to_owned(),
                allocations: serde_json::to_value(&allocations).unwrap_or_default(),
                position: e.position,
                recorded_at: e.recorded_at,
            });
        }
        ContractEvent::CreditApplied { line, amount, date } => {
            f.debt.credit -= money(amount);
            if let Some(l) = f.lines.get_mut(&(line as i32)) {
                l.paid += money(amount);
                l.last_paid_on = Some(date);
            }
        }
        ContractEvent::PaymentFellDue { line, .. } => {
            if let Some(l) = f.lines.get_mut(&(line as i32)) {
                l.fell_due = true;
            }
        }
        ContractEvent::PaymentOverdue {
            line,
            deadline,
            as_of,
            ..
        } => {
            if let Some(l) = f.lines.get_mut(&(line as i32)) {
                l.fell_due = true;
                l.was_overdue = true;
                l.deadline = Some(deadline);
                l.days_overdue = days_between(deadline, as_of);
            }
        }
        ContractEvent::PenaltyAccrued {
            line,
            deadline,
            days,
            total,
            ..
        } => {
            if let Some(l) = f.lines.get_mut(&(line as i32)) {
                // The penalty's days are the event's: a line paid late (or a payment recorded after the day
                // with an earlier value date) stops counting on the day it was paid, not on the day the
                // penalty was recomputed (`through`).
                l.deadline = Some(deadline);
                l.penalty = money(total);
                l.days_overdue = i32::try_from(days.max(0)).unwrap_or(i32::MAX);
                l.penalty_through = Some(deadline + chrono::Duration::days(days.max(0)));
            }
        }
        ContractEvent::TrafficFineRegistered {
            resolution_number,
            date,
            amount,
            vehicle,
            description,
            article,
            discount,
            fee,
        } => f.fines.push(FineView {
            contract_id: id,
            resolution_number,
            company_id,
            issued_on: date,
            amount: money(amount),
            paid: Decimal::ZERO,
            vehicle,
            description,
            paid_on: None,
            article,
            discounted_amount: discount.map(|d| money(d.amount)),
            discount_until: discount.map(|d| d.until),
            discount_expired: false,
            fee: money(fee),
            due: money(discount.map_or(amount, |d| d.amount) + fee),
        }),
        ContractEvent::TrafficFineDiscountExpired {
            resolution_number,
            amount,
            ..
        } => {
            if let Some(fine) = f
                .fines
                .iter_mut()
                .find(|x| x.resolution_number == resolution_number)
            {
                fine.due += money(amount);
                fine.discount_expired = true;
            }
        }
        ContractEvent::FineFeeAgreed { .. } => {}
        ContractEvent::BookValueReported { as_of, amount, .. } => {
            f.contract.book_value = Some(money(amount));
            f.contract.book_value_as_of = Some(as_of);
        }
        ContractEvent::TrafficFinePaid {
            resolution_number,
            date,
            amount,
        } => {
            if let Some(fine) = f
                .fines
                .iter_mut()
                .find(|x| x.resolution_number == resolution_number)
            {
                fine.paid += money(amount);
                fine.paid_on = Some(date);
            }
        }
        ContractEvent::ScheduleRecalculated {
            amount,
            replaced,
            lines,
            ..
        } => {
            f.debt.credit -= money(amount);
            for n in replaced {
                f.lines.remove(&(n as i32));
                f.removed_lines.push(n as i32);
            }
            for l in &lines {
                let n = l.number as i32;
                f.removed_lines.retain(|r| *r != n);
                f.lines.insert(n, line_row(id, company_id, l));
            }
        }
        ContractEvent::ScheduleReplaced {
            replaced, lines, ..
        } => {
            for n in replaced {
                f.lines.remove(&(n as i32));
                f.removed_lines.push(n as i32);
            }
            for l in &lines {
                let n = l.number as i32;
                f.removed_lines.retain(|r| *r != n);
                f.lines.insert(n, line_row(id, company_id, l));
            }
        }
        ContractEvent::ContractCompleted { date } => {
            f.contract.status = "completed".into();
            f.contract.closed_on = Some(date);
        }
        ContractEvent::ContractBoughtOut {
            date,
            amount,
            cancelled_lines,
            redemption_line,
        } => {
            f.contract.status = "completed".into();
            f.contract.closed_on = Some(date);
            f.debt.credit -= money(amount);
            for n in cancelled_lines {
                if let Some(l) = f.lines.get_mut(&(n as i32)) {
                    l.status = "cancelled".into();
                }
            }
            if let Some((n, paid)) = redemption_line {
                if let Some(l) = f.lines.get_mut(&(n as i32)) {
                    l.paid += money(paid);
                    l.last_paid_on = Some(date);
                }
            }
        }
        ContractEvent::ContractTerminated {
            date,
            reason,
            cancelled_lines,
        } => {
            f.contract.status = "terminated".into();
            f.contract.closed_on = Some(date);
            f.contract.termination_reason = Some(reason);
            for n in cancelled_lines {
                if let Some(l) = f.lines.get_mut(&(n as i32)) {
                    l.status = "cancelled".into();
                }
            }
        }
    }
}

/// Recomputes the derived columns of a contract from its rows: each line's status, the debt, and the next
/// payment (on the contract and the debt rows).
fn derive(f: &mut Folded) {
    let mut leasing_due = Decimal::ZERO;
    let mut overdue = Decimal::ZERO;
    let mut penalties = Decimal::ZERO;
    let mut next: Option<(NaiveDate, Decimal)> = None;
    for l in f.lines.values_mut() {
        penalties += l.penalty;
        if l.status == "cancelled" {
            continue;
        }
        let open = l.amount - l.paid;
        l.status = if open <= Decimal::ZERO {
            "paid"
        } else if l.was_overdue {
            "overdue"
        } else if l.paid > Decimal::ZERO {
            "partially_paid"
        } else if l.fell_due {
            "due"
        } else {
            "upcoming"
        }
        .to_owned();
        if open > Decimal::ZERO {
            if l.fell_due || l.was_overdue {
                leasing_due += open;
            }
            if l.was_overdue {
                overdue += open;
            } else if next.is_none_or(|(d, _)| l.due_date < d) {
                next = Some((l.due_date, open));
            }
        }
    }
    if f.contract.status == "completed" {
        next = None;
    }
    let fines = if f.fines_loaded {
        f.fines.iter().map(|x| x.due - x.paid).sum::<Decimal>()
    } else {
        f.debt.fines
    };
    let d = &mut f.debt;
    d.leasing_due = leasing_due;
    d.overdue = overdue;
    d.penalties_accrued = penalties;
    d.penalties = penalties - d.penalties_paid;
    d.fines = fines;
    d.total = d.leasing_due + d.penalties + d.fines + d.insurance - d.credit;
    d.next_payment_date = next.map(|n| n.0);
    d.next_payment_amount = next.map(|n| n.1);
    f.contract.next_payment_date = d.next_payment_date;
    f.contract.next_payment_amount = d.next_payment_amount;
}

/// Recomputes `company_debt_view` for `companies` from their contracts' debt rows.
async fn recompute_company_debt(
    conn: &mut PgConnection,
    mut companies: Vec<Uuid>,
) -> Result<(), ProjectionError> {
    companies.sort();
    companies.dedup();
    if !companies.is_empty() {
        // Commands on two contracts of one company run concurrently. The recomputation below reads the
        // company's contract rows with its statement's snapshot; without this lock, the transaction that
        // commits second would write totals that miss the first one's contract. With it, the second
        // waits for the first to commit, and its recomputation (a new statement, a new snapshot) sees
        // both. Companies are locked in id order, so two batches never deadlock.
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtextextended('company-debt:' || id::text, 0)) \
             FROM unnest($1::uuid[]) AS id ORDER BY id",
        )
        .bind(&companies)
        .execute(&mut *conn)
        .await?;
        let all = columns(COMPANY_DEBT_COLUMNS);
        let rest = &COMPANY_DEBT_COLUMNS[1..];
        sqlx::query(&format!(
            "WITH d AS (SELECT * FROM contract_debt_view WHERE company_id = ANY($1)), \
                  n AS (SELECT company_id, min(next_payment_date) AS first_date FROM d GROUP BY company_id) \
             INSERT INTO company_debt_view ({all}) \
             SELECT d.company_id, count(*), sum(d.leasing_due), sum(d.overdue), sum(d.penalties), \
                    sum(d.fines), sum(d.insurance), sum(d.credit), sum(d.total), n.first_date, \
                    sum(d.next_payment_amount) FILTER (WHERE d.next_payment_date = n.first_date) \
             FROM d JOIN n USING (company_id) GROUP BY d.company_id, n.first_date \
             ON CONFLICT (company_id) DO UPDATE SET ({}) = ({})",
            rest.join(", "),
            rest.iter()
                .map(|c| format!("EXCLUDED.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind(&companies)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl ContractsProjection {
    /// Reads the touched contracts, folds `segment` into them and writes back what changed.
    async fn flush(
        &self,
        conn: &mut PgConnection,
        segment: &mut Vec<(&StoredEvent, Uuid, ContractEvent)>,
    ) -> Result<(), ProjectionError> {
        if segment.is_empty() {
            return Ok(());
        }
        let mut ids: Vec<Uuid> = segment.iter().map(|s| s.1).collect();
        ids.sort();
        ids.dedup();
        let contracts: Vec<ContractView> =
            load_rows(&mut *conn, "contracts_view", CONTRACT_COLUMNS, &ids, "").await?;
        let lines: Vec<ScheduleLineView> =
            load_rows(&mut *conn, "schedule_view", LINE_COLUMNS, &ids, "").await?;
        let debts: Vec<ContractDebtView> =
            load_rows(&mut *conn, "contract_debt_view", DEBT_COLUMNS, &ids, "").await?;
        // Fines change only with fine events (or a payment allocated to a fine); otherwise the debt row
        // already holds their total, and the round trip is saved.
        let touches_fines = segment.iter().any(|(_, _, e)| match e {
            ContractEvent::TrafficFineRegistered { .. }
            | ContractEvent::TrafficFinePaid { .. }
            | ContractEvent::TrafficFineDiscountExpired { .. } => true,
            ContractEvent::PaymentRecorded { allocations, .. } => allocations
                .iter()
                .any(|a| matches!(a.target, AllocationTarget::Fine { .. })),
            _ => false,
        });
        let fines: Vec<FineView> = if touches_fines {
            load_rows(
                &mut *conn,
                "fines_view",
                FINE_COLUMNS,
                &ids,
                "ORDER BY issued_on, resolution_number",
            )
            .await?
        } else {
            Vec::new()
        };
        let mut debts: HashMap<Uuid, ContractDebtView> =
            debts.into_iter().map(|d| (d.contract_id, d)).collect();
        let mut rows: HashMap<Uuid, Folded> = HashMap::new();
        for c in contracts {
            let Some(debt) = debts.remove(&c.contract_id) else {
                continue;
            };
            rows.insert(
                c.contract_id,
                Folded {
                    contract: c,
                    lines: BTreeMap::new(),
                    debt,
                    fines: Vec::new(),
                    payments: Vec::new(),
                    removed_lines: Vec::new(),
                    fines_loaded: touches_fines,
                },
            );
        }
        for l in lines {
            if let Some(f) = rows.get_mut(&l.contract_id) {
                f.lines.insert(l.line_number, l);
            }
        }
        for x in fines {
            if let Some(f) = rows.get_mut(&x.contract_id) {
                f.fines.push(x);
            }
        }
        let before = rows.clone();
        for (e, id, event) in segment.drain(..) {
            fold(&mut rows, e, id, event);
        }
        let mut contracts_out = Vec::new();
        let mut lines_out = Vec::new();
        let mut removed: (Vec<Uuid>, Vec<i32>) = (Vec::new(), Vec::new());
        let mut debts_out = Vec::new();
        let mut fines_out = Vec::new();
        let mut payments_out = Vec::new();
        let mut companies: Vec<Uuid> = Vec::new();
        for f in rows.values_mut() {
            derive(f);
        }
        for (id, f) in &rows {
            let old = before.get(id);
            if old.map(|o| &o.contract) != Some(&f.contract) {
                contracts_out.push(&f.contract);
            }
            for (n, l) in &f.lines {
                if old.and_then(|o| o.lines.get(n)) != Some(l) {
                    lines_out.push(l);
                }
            }
            for n in &f.removed_lines {
                if !f.lines.contains_key(n) {
                    removed.0.push(*id);
                    removed.1.push(*n);
                }
            }
            if old.map(|o| &o.debt) != Some(&f.debt) {
                debts_out.push(&f.debt);
                companies.push(f.contract.company_id);
            }
            for x in &f.fines {
                let unchanged = old.is_some_and(|o| o.fines.iter().any(|y| y == x));
                if !unchanged {
                    fines_out.push(x);
                }
            }
            payments_out.extend(f.payments.iter());
        }
        write_rows(
            conn,
            &upsert_sql("contracts_view", CONTRACT_COLUMNS, &["contract_id"], &[]),
            &contracts_out,
        )
        .await?;
        if !removed.0.is_empty() {
            sqlx::query(
                "DELETE FROM schedule_view s USING unnest($1::uuid[], $2::int[]) AS r(contract_id, line_number) \
                 WHERE s.contract_id = r.contract_id AND s.line_number = r.line_number",
            )
            .bind(&removed.0)
            .bind(&removed.1)
            .execute(&mut *conn)
            .await?;
        }
        write_rows(
            conn,
            &upsert_sql(
                "schedule_view",
                LINE_COLUMNS,
                &["contract_id", "line_number"],
                &[],
            ),
            &lines_out,
        )
        .await?;
        let debt_upsert = upsert_sql(
            "contract_debt_view",
            DEBT_COLUMNS,
            &["contract_id"],
            DEBT_KEPT,
        );
        write_rows(conn, &debt_upsert, &debts_out).await?;
        write_rows(
            conn,
            &upsert_sql(
                "fines_view",
                FINE_COLUMNS,
                &["contract_id", "resolution_number"],
                &[],
            ),
            &fines_out,
        )
        .await?;
        if !payments_out.is_empty() {
            let all = columns(PAYMENT_COLUMNS);
            write_rows(
                conn,
                &format!(
                    "INSERT INTO payments_view ({all}) SELECT {all} FROM jsonb_populate_recordset(NULL::payments_view, $1)"
                ),
                &payments_out,
            )
            .await?;
        }
        recompute_company_debt(conn, companies).await
    }

    async fn apply_day(
        &self,
        conn: &mut PgConnection,
        e: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let ClockEvent::BusinessDayStarted { date } = e.decode_event()?;
        sqlx::query(
            "INSERT INTO business_day_view (id, business_date, position) VALUES (true, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET business_date = EXCLUDED.business_date, position = EXCLUDED.position",
        )
        .bind(date)
        .bind(e.position)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE schedule_view SET days_overdue = $1 - deadline \
             WHERE status = 'overdue' AND deadline IS NOT NULL AND days_overdue < $1 - deadline",
        )
        .bind(date)
        .execute(&mut *conn)
        .await?;
        let contracts = crate::views::policies::apply_day(conn, date).await?;
        let companies = crate::views::policies::recompute_insurance(conn, &contracts).await?;
        recompute_company_debt(conn, companies).await
    }
}

#[async_trait]
impl ReadModel for ContractsProjection {
    fn name(&self) -> &'static str {
        "contracts"
    }

    fn version(&self) -> i32 {
        // 2: a line's days overdue and penalty end from the penalty's own days (issue 23).
        2
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "contracts_view",
            "schedule_view",
            "contract_debt_view",
            "company_debt_view",
            "payments_view",
            "fines_view",
            "business_day_view",
            "policies_view",
            "policy_installments_view",
            "insured_events_view",
        ]
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["Contract", "BusinessClock", "Policy"])
    }

    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        self.apply_batch(conn, std::slice::from_ref(e)).await
    }

    async fn apply_batch(
        &self,
        conn: &mut PgConnection,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let mut segment = Vec::new();
        for e in events {
            match e.aggregate_type.as_str() {
                "Contract" => {
                    let event: ContractEvent = e.decode_event()?;
                    let id = e.aggregate_uuid()?;
                    segment.push((e, id, event));
                }
                "BusinessClock" => {
                    self.flush(conn, &mut segment).await?;
                    self.apply_day(conn, e).await?;
                }
                "Policy" => {
                    self.flush(conn, &mut segment).await?;
                    if let Some(contract) = crate::views::policies::apply(conn, e).await? {
                        let companies =
                            crate::views::policies::recompute_insurance(conn, &[contract]).await?;
                        recompute_company_debt(conn, companies).await?;
                    }
                }
                _ => {}
            }
        }
        self.flush(conn, &mut segment).await
    }
}

// ---------------------------------------------------------------------------------------------------------
// Typed reads

/// Loads one contract.
///
/// # Errors
/// A database error.
pub async fn load_contract(
    pool: impl sqlx::PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<ContractView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM contracts_view WHERE contract_id = $1",
        columns(CONTRACT_COLUMNS)
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// A page of a company's contracts, newest contract date first; `after` is the last row's
/// (contract_date, contract_id).
///
/// # Errors
/// A database error.
pub async fn list_contracts(
    pool: &PgPool,
    company_id: Uuid,
    status: Option<&str>,
    after: Option<(NaiveDate, Uuid)>,
    limit: i64,
) -> Result<Vec<ContractView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM contracts_view WHERE company_id = $1 AND ($2::text IS NULL OR status = $2) \
           AND ($3::date IS NULL OR (contract_date, contract_id) < ($3, $4)) \
         ORDER BY contract_date DESC, contract_id DESC LIMIT $5",
        columns(CONTRACT_COLUMNS)
    ))
    .bind(company_id)
    .bind(status)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// How many contracts of `company_id` (in `status`) there are (every page of [`list_contracts`]).
///
/// # Errors
/// A database error.
pub async fn count_contracts(
    pool: &PgPool,
    company_id: Uuid,
    status: Option<&str>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM contracts_view WHERE company_id = $1 AND ($2::text IS NULL OR status = $2)",
    )
    .bind(company_id)
    .bind(status)
    .fetch_one(pool)
    .await
}

/// The schedules of several contracts, line by line (one query).
///
/// # Errors
/// A database error.
pub async fn load_schedules(
    pool: impl sqlx::PgExecutor<'_>,
    ids: &[Uuid],
) -> Result<Vec<ScheduleLineView>, sqlx::Error> {
    load_rows(
        pool,
        "schedule_view",
        LINE_COLUMNS,
        ids,
        "ORDER BY contract_id, line_number",
    )
    .await
}

/// A contract's payments, oldest first.
///
/// # Errors
/// A database error.
pub async fn load_payments(
    pool: impl sqlx::PgExecutor<'_>,
    id: Uuid,
) -> Result<Vec<PaymentView>, sqlx::Error> {
    load_rows(
        pool,
        "payments_view",
        PAYMENT_COLUMNS,
        &[id],
        "ORDER BY position",
    )
    .await
}

/// A contract's fines, oldest first.
///
/// # Errors
/// A database error.
pub async fn load_fines(
    pool: impl sqlx::PgExecutor<'_>,
    id: Uuid,
) -> Result<Vec<FineView>, sqlx::Error> {
    load_rows(
        pool,
        "fines_view",
        FINE_COLUMNS,
        &[id],
        "ORDER BY issued_on, resolution_number",
    )
    .await
}

/// The debt rows of several contracts (one query).
///
/// # Errors
/// A database error.
pub async fn load_contract_debts(
    pool: impl sqlx::PgExecutor<'_>,
    ids: &[Uuid],
) -> Result<Vec<ContractDebtView>, sqlx::Error> {
    load_rows(pool, "contract_debt_view", DEBT_COLUMNS, ids, "").await
}

/// A company's debt as the cabinet shows it.
#[derive(Debug, Clone)]
pub struct CompanyDebt {
    /// The totals (none while the company has no contract).
    pub total: Option<CompanyDebtView>,
    /// Its contracts' rows with their numbers, the nearest payment first.
    pub contracts: Vec<ContractDebtRow>,
    /// The business day the amounts are as of.
    pub business_date: Option<NaiveDate>,
}

/// A contract's debt row with the contract's number.
#[derive(Debug, Clone, FromRow)]
pub struct ContractDebtRow {
    /// The debt.
    #[sqlx(flatten)]
    pub debt: ContractDebtView,
    /// The contract's number.
    pub number: String,
}

#[derive(FromRow)]
struct CompanyDebtWithDay {
    #[sqlx(flatten)]
    total: CompanyDebtView,
    business_date: Option<NaiveDate>,
}

/// A company's debt in two queries: its totals with the business date, and its contracts' rows with their
/// numbers.
///
/// # Errors
/// A database error.
pub async fn load_company_debt(
    conn: &mut PgConnection,
    company_id: Uuid,
) -> Result<CompanyDebt, sqlx::Error> {
    let total: Option<CompanyDebtWithDay> = sqlx::query_as(&format!(
        "SELECT {}, (SELECT business_date FROM business_day_view) AS business_date \
         FROM company_debt_view WHERE company_id = $1",
        columns(COMPANY_DEBT_COLUMNS)
    ))
    .bind(company_id)
    .fetch_optional(&mut *conn)
    .await?;
    let business_date = match &total {
        Some(t) => t.business_date,
        None => load_business_day(&mut *conn).await?.0,
    };
    let debt_columns: Vec<String> = DEBT_COLUMNS.iter().map(|c| format!("d.{c}")).collect();
    let contracts = sqlx::query_as(&format!(
        "SELECT {}, c.number FROM contract_debt_view d JOIN contracts_view c USING (contract_id) \
         WHERE d.company_id = $1 ORDER BY d.next_payment_date NULLS LAST, d.contract_id",
        debt_columns.join(", ")
    ))
    .bind(company_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(CompanyDebt {
        total: total.map(|t| t.total),
        contracts,
        business_date,
    })
}

/// A contract with the current business day, in one query (a payment is checked against the day).
///
/// # Errors
/// A database error.
pub async fn load_contract_and_day(
    pool: &PgPool,
    id: Uuid,
) -> Result<Option<(ContractView, Option<NaiveDate>)>, sqlx::Error> {
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        contract: ContractView,
        business_date: Option<NaiveDate>,
    }
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {}, (SELECT business_date FROM business_day_view) AS business_date \
         FROM contracts_view WHERE contract_id = $1",
        columns(CONTRACT_COLUMNS)
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.contract, r.business_date)))
}

/// The current business day and the last day the business-day process closed.
///
/// # Errors
/// A database error.
pub async fn load_business_day(
    pool: impl sqlx::PgExecutor<'_>,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT business_date FROM business_day_view), \
                (SELECT max(business_date) FROM business_days_closed)",
    )
    .fetch_one(pool)
    .await
}

/// The lessee of a contract, `None` when there is no such contract.
///
/// # Errors
/// A database error.
pub async fn contract_company(
    pool: &PgPool,
    contract_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT company_id FROM contracts_view WHERE contract_id = $1")
        .bind(contract_id)
        .fetch_optional(pool)
        .await
}
