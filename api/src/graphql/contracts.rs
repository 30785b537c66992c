//! Contracts over GraphQL: the contract with its schedule, payments, penalties and fines; the company's debt;
//! the early-buyout quote; the business date; and the back office's contract mutations.
//!
//! Lists never cost a query per row: a page of contracts fetches the schedules and debts of all its rows in
//! one query each, and only when the request asks for them.

use std::collections::HashMap;

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::clock::{ClockCommand, CLOCK_ID};
use domain::contract::{self as dc, ContractCommand, ContractTerms};
use domain::penalty::PenaltyTerms as DomainPenaltyTerms;
use domain::schedule::{RecalculationMode as DomainMode, ScheduleKind as DomainKind};
use domain::values::{Email, Vin};
use projections::engine::asof::{AsOf, Selection};
use projections::store::command::CommandOutcome;
use projections::views::contracts::{
    self as views, ContractDebtView, ContractView, FineView, PaymentView, ScheduleLineView,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::context::{allow, app, idempotency_key, request};
use super::enums::unknown_stored;
use super::scalars::money;
use crate::auth::policy::{authorize, Operation};
use crate::error::{clock_command_error, contract_command_error, parse_field, ApiError};

// ---------------------------------------------------------------------------------------------------------
// Enums

/// Where a contract is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ContractStatus {
    /// Signed; the asset is not handed over yet.
    Concluded,
    /// The asset is with the lessee.
    Active,
    /// Everything paid; the asset passed to the lessee.
    Completed,
    /// Ended early.
    Terminated,
}

impl ContractStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Concluded => "concluded",
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Terminated => "terminated",
        }
    }

    fn from_view(s: &str) -> Result<Self, ApiError> {
        Ok(match s {
            "concluded" => Self::Concluded,
            "active" => Self::Active,
            "completed" => Self::Completed,
            "terminated" => Self::Terminated,
            other => return Err(unknown_stored("contracts_view.status", other)),
        })
    }
}

/// How the schedule's regular lines are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ScheduleKind {
    /// Equal payments.
    Annuity,
    /// Equal principal plus interest on the balance.
    Decreasing,
    /// Lines given by the back office.
    Explicit,
}

impl ScheduleKind {
    fn from_view(s: &str) -> Result<Self, ApiError> {
        Ok(match s {
            "annuity" => Self::Annuity,
            "decreasing" => Self::Decreasing,
            "explicit" => Self::Explicit,
            other => return Err(unknown_stored("contracts_view.schedule_kind", other)),
        })
    }
}

impl From<ScheduleKind> for DomainKind {
    fn from(k: ScheduleKind) -> Self {
        match k {
            ScheduleKind::Annuity => DomainKind::Annuity,
            ScheduleKind::Decreasing => DomainKind::Decreasing,
            ScheduleKind::Explicit => DomainKind::Explicit,
        }
    }
}

/// What a schedule line pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum LineKind {
    /// The advance (line 0).
    Advance,
    /// A monthly leasing payment.
    Regular,
    /// The redemption payment (last line).
    Redemption,
}

/// A schedule line's payment status as of the last business day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum LineStatus {
    /// Not due yet and nothing paid.
    Upcoming,
    /// Due (the due date arrived), nothing paid, deadline not passed.
    Due,
    /// Partly paid, not overdue.
    PartiallyPaid,
    /// Paid in full.
    Paid,
    /// Money owed after the payment deadline.
    Overdue,
    /// No longer owed (the contract was terminated before it fell due).
    Cancelled,
}

/// What a payer said a payment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum PaymentPurpose {
    /// Leasing payments: the oldest open lines first; beyond the last line, credit.
    LeasingPayment,
    /// Penalties.
    Penalty,
    /// Traffic fines, oldest first.
    Fine,
    /// Insurance.
    Insurance,
    /// Not stated: credit, used by the next lines as they fall due.
    Unallocated,
}

impl From<PaymentPurpose> for dc::PaymentPurpose {
    fn from(p: PaymentPurpose) -> Self {
        match p {
            PaymentPurpose::LeasingPayment => Self::LeasingPayment,
            PaymentPurpose::Penalty => Self::Penalty,
            PaymentPurpose::Fine => Self::Fine,
            PaymentPurpose::Insurance => Self::Insurance,
            PaymentPurpose::Unallocated => Self::Unallocated,
        }
    }
}

impl PaymentPurpose {
    fn from_view(s: &str) -> Result<Self, ApiError> {
        Ok(match s {
            "leasing_payment" => Self::LeasingPayment,
            "penalty" => Self::Penalty,
            "fine" => Self::Fine,
            "insurance" => Self::Insurance,
            "unallocated" => Self::Unallocated,
            other => return Err(unknown_stored("payments_view.purpose", other)),
        })
    }
}

/// What part of a payment covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum AllocationKind {
    /// A schedule line.
    Line,
    /// Penalties.
    Penalties,
    /// A traffic fine.
    Fine,
    /// Insurance.
    Insurance,
    /// The credit balance.
    Credit,
}

/// After a partial early repayment: the remaining lines get fewer or smaller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum RecalculationMode {
    /// Same payment, fewer lines.
    ShorterTerm,
    /// Same lines, smaller payments.
    SmallerPayments,
}

// ---------------------------------------------------------------------------------------------------------
// Output types

/// What is leased.
#[derive(Debug, Clone, SimpleObject)]
pub struct LeasingSubject {
    /// Kind of asset.
    pub kind: String,
    /// Make.
    pub make: String,
    /// Model.
    pub model: String,
    /// Year of manufacture.
    pub year: i32,
    /// VIN (vehicles).
    pub vin: Option<String>,
    /// Serial or factory number.
    pub serial_number: Option<String>,
    /// Registration plate.
    pub registration_plate: Option<String>,
}

/// A contract's penalty terms.
#[derive(Debug, Clone, SimpleObject)]
pub struct PenaltyTerms {
    /// Percent of the overdue base per day.
    pub rate_per_day: Decimal,
    /// Whether the base includes VAT.
    pub base_includes_vat: bool,
    /// Whether the payment day itself is a penalty day.
    pub payment_day_counts: bool,
}

/// The next payment to make.
#[derive(Debug, Clone, SimpleObject)]
pub struct NextPayment {
    /// Due date.
    pub date: NaiveDate,
    /// Amount still open on it.
    pub amount: Decimal,
}

fn next_payment(date: Option<NaiveDate>, amount: Option<Decimal>) -> Option<NextPayment> {
    Some(NextPayment {
        date: date?,
        amount: m2(amount?),
    })
}

/// An amount as the API shows it: always with kopecks (PostgreSQL may hand back a zero without its scale).
fn m2(d: Decimal) -> Decimal {
    let mut d = d;
    d.rescale(2);
    d
}

/// One line of a payment schedule.
#[derive(Debug, Clone, SimpleObject)]
pub struct ScheduleLine {
    /// 0: advance; 1..n: monthly lines; last: redemption.
    pub number: i32,
    /// What it pays for.
    pub kind: LineKind,
    /// Due date as agreed.
    pub due_date: NaiveDate,
    /// Payment deadline: the due date moved to a working day (known once the line fell due late).
    pub deadline: Option<NaiveDate>,
    /// Amount with VAT.
    pub amount: Decimal,
    /// VAT rate in percent on the due date (20 through 2025, 22 from 2026).
    pub vat_rate: Decimal,
    /// VAT inside the amount.
    pub vat_amount: Decimal,
    /// Principal part (annuity and decreasing schedules).
    pub principal: Option<Decimal>,
    /// Interest part (annuity and decreasing schedules).
    pub interest: Option<Decimal>,
    /// Paid so far.
    pub paid: Decimal,
    /// Status as of the last business day.
    pub status: LineStatus,
    /// Days past the deadline (for a paid line: how late it was paid).
    pub days_overdue: i32,
    /// Penalty accrued on the line.
    pub penalty: Decimal,
}

impl TryFrom<ScheduleLineView> for ScheduleLine {
    type Error = ApiError;

    fn try_from(v: ScheduleLineView) -> Result<Self, ApiError> {
        Ok(Self {
            number: v.line_number,
            kind: match v.kind.as_str() {
                "regular" => LineKind::Regular,
                "advance" => LineKind::Advance,
                "redemption" => LineKind::Redemption,
                other => return Err(unknown_stored("schedule_view.kind", other)),
            },
            due_date: v.due_date,
            deadline: v.deadline,
            amount: m2(v.amount),
            vat_rate: v.vat_rate,
            vat_amount: m2(v.vat_amount),
            principal: v.principal.map(m2),
            interest: v.interest.map(m2),
            paid: m2(v.paid),
            status: match v.status.as_str() {
                "upcoming" => LineStatus::Upcoming,
                "due" => LineStatus::Due,
                "partially_paid" => LineStatus::PartiallyPaid,
                "paid" => LineStatus::Paid,
                "overdue" => LineStatus::Overdue,
                "cancelled" => LineStatus::Cancelled,
                other => return Err(unknown_stored("schedule_view.status", other)),
            },
            days_overdue: v.days_overdue,
            penalty: m2(v.penalty),
        })
    }
}

/// The penalty accrued on one line.
#[derive(Debug, Clone, SimpleObject)]
pub struct LinePenalty {
    /// The schedule line.
    pub line: i32,
    /// Its payment deadline; penalty days start the day after.
    pub deadline: Option<NaiveDate>,
    /// Penalty computed through this day.
    pub through: Option<NaiveDate>,
    /// Days past the deadline.
    pub days: i32,
    /// Penalty accrued.
    pub amount: Decimal,
}

/// A part of a payment and what it covered.
#[derive(Debug, Clone, SimpleObject)]
pub struct PaymentAllocation {
    /// What it covered.
    pub kind: AllocationKind,
    /// The schedule line (kind LINE).
    pub line: Option<i32>,
    /// The fine's resolution number (kind FINE).
    pub resolution_number: Option<String>,
    /// Amount.
    pub amount: Decimal,
}

/// A payment received from the bank.
#[derive(Debug, Clone, SimpleObject)]
pub struct Payment {
    /// The bank's reference.
    pub bank_reference: String,
    /// Payment date.
    pub date: NaiveDate,
    /// Amount.
    pub amount: Decimal,
    /// Stated purpose.
    pub purpose: PaymentPurpose,
    /// How it was allocated.
    pub allocations: Vec<PaymentAllocation>,
    /// Position of its event in the log.
    pub position: i64,
}

impl TryFrom<PaymentView> for Payment {
    type Error = ApiError;

    fn try_from(v: PaymentView) -> Result<Self, ApiError> {
        let parts: Vec<dc::Allocation> = serde_json::from_value(v.allocations).map_err(|e| {
            ApiError::Internal(anyhow::anyhow!(
                "payments_view.allocations does not decode: {e}"
            ))
        })?;
        Ok(Self {
            bank_reference: v.bank_reference,
            date: v.paid_on,
            amount: m2(v.amount),
            purpose: PaymentPurpose::from_view(&v.purpose)?,
            allocations: parts
                .into_iter()
                .map(|a| {
                    let (kind, line, resolution_number) = match a.target {
                        dc::AllocationTarget::Line { number } => {
                            (AllocationKind::Line, Some(number as i32), None)
                        }
                        dc::AllocationTarget::Penalties => (AllocationKind::Penalties, None, None),
                        dc::AllocationTarget::Fine { resolution_number } => {
                            (AllocationKind::Fine, None, Some(resolution_number))
                        }
                        dc::AllocationTarget::Insurance => (AllocationKind::Insurance, None, None),
                        dc::AllocationTarget::Credit => (AllocationKind::Credit, None, None),
                    };
                    PaymentAllocation {
                        kind,
                        line,
                        resolution_number,
                        amount: a.amount.amount(),
                    }
                })
                .collect(),
            position: v.position,
        })
    }
}

/// A traffic fine re-billed to the lessee.
#[derive(Debug, Clone, SimpleObject)]
pub struct TrafficFine {
    /// Resolution number (УИН).
    pub resolution_number: String,
    /// Date of the resolution.
    pub date: NaiveDate,
    /// Amount.
    pub amount: Decimal,
    /// Paid so far.
    pub paid: Decimal,
    /// Whether it is paid in full.
    pub is_paid: bool,
    /// When it was paid in full.
    pub paid_on: Option<NaiveDate>,
    /// The vehicle.
    pub vehicle: String,
    /// What it is for.
    pub description: String,
}

impl From<FineView> for TrafficFine {
    fn from(v: FineView) -> Self {
        Self {
            is_paid: v.paid >= v.amount,
            resolution_number: v.resolution_number,
            date: v.issued_on,
            amount: m2(v.amount),
            paid: m2(v.paid),
            paid_on: v.paid_on,
            vehicle: v.vehicle,
            description: v.description,
        }
    }
}

/// What is owed on one contract.
#[derive(Debug, Clone, SimpleObject)]
pub struct ContractDebt {
    /// The contract.
    pub contract_id: Uuid,
    /// Its number (in a company's breakdown).
    pub number: Option<String>,
    /// Leasing payments due and not paid (overdue included).
    pub leasing_due: Decimal,
    /// Of which overdue.
    pub overdue: Decimal,
    /// Penalties accrued and not paid.
    pub penalties: Decimal,
    /// Traffic fines not paid.
    pub fines: Decimal,
    /// Insurance owed.
    pub insurance: Decimal,
    /// Credit balance (paid in advance, not yet used).
    pub credit: Decimal,
    /// leasingDue + penalties + fines + insurance − credit (negative: the lessor owes the client).
    pub total: Decimal,
    /// The next payment.
    pub next_payment: Option<NextPayment>,
}

impl From<ContractDebtView> for ContractDebt {
    fn from(v: ContractDebtView) -> Self {
        Self {
            contract_id: v.contract_id,
            number: None,
            leasing_due: m2(v.leasing_due),
            overdue: m2(v.overdue),
            penalties: m2(v.penalties),
            fines: m2(v.fines),
            insurance: m2(v.insurance),
            credit: m2(v.credit),
            total: m2(v.total),
            next_payment: next_payment(v.next_payment_date, v.next_payment_amount),
        }
    }
}

/// What a company owes, in total and per contract. The totals always equal the sum of the contracts.
#[derive(Debug, Clone, SimpleObject)]
pub struct CompanyDebt {
    /// The company.
    pub company_id: Uuid,
    /// The business day the amounts are as of.
    pub as_of: Option<NaiveDate>,
    /// Leasing payments due and not paid.
    pub leasing_due: Decimal,
    /// Of which overdue.
    pub overdue: Decimal,
    /// Penalties accrued and not paid.
    pub penalties: Decimal,
    /// Traffic fines not paid.
    pub fines: Decimal,
    /// Insurance owed.
    pub insurance: Decimal,
    /// Credit balance.
    pub credit: Decimal,
    /// Total to pay.
    pub total: Decimal,
    /// The earliest next payment over all contracts, with what is due that day.
    pub next_payment: Option<NextPayment>,
    /// Per contract.
    pub contracts: Vec<ContractDebt>,
}

/// What buying the asset out on a date costs. Computed from the contract's events, not stored.
#[derive(Debug, Clone, SimpleObject)]
pub struct BuyoutQuote {
    /// The contract.
    pub contract_id: Uuid,
    /// The quote date.
    pub as_of: NaiveDate,
    /// Principal of the lines due after the date.
    pub outstanding_principal: Decimal,
    /// Lines due by the date and not paid.
    pub unpaid_due: Decimal,
    /// Penalties through the date, less what was paid.
    pub penalties: Decimal,
    /// Unpaid traffic fines.
    pub fines: Decimal,
    /// The redemption payment.
    pub redemption: Decimal,
    /// Credit deducted.
    pub credit: Decimal,
    /// What to pay.
    pub total: Decimal,
}

/// The business clock.
#[derive(Debug, Clone, SimpleObject)]
pub struct BusinessDate {
    /// The current business day (none before the clock first started).
    pub date: Option<NaiveDate>,
    /// The last day whose closing (penalties, overdue lines) is done.
    pub closed_through: Option<NaiveDate>,
}

/// A leasing contract.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Contract {
    /// Id.
    pub id: Uuid,
    /// The lessee company.
    pub company_id: Uuid,
    /// Contract number.
    pub number: String,
    /// Contract date.
    pub date: NaiveDate,
    /// Status.
    pub status: ContractStatus,
    /// What is leased.
    pub subject: LeasingSubject,
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
    /// How the schedule was computed.
    pub schedule_kind: ScheduleKind,
    /// Redemption payment.
    pub redemption: Decimal,
    /// Penalty terms.
    pub penalty_terms: PenaltyTerms,
    /// Handover date.
    pub activated_on: Option<NaiveDate>,
    /// Completion or termination date.
    pub closed_on: Option<NaiveDate>,
    /// Why it was terminated.
    pub termination_reason: Option<String>,
    /// The next payment (the earliest open line that is not overdue).
    pub next_payment: Option<NextPayment>,
    /// Position of the last event applied.
    pub position: i64,
    #[graphql(skip)]
    prefetched_schedule: Option<Vec<ScheduleLineView>>,
    #[graphql(skip)]
    prefetched_debt: Option<ContractDebtView>,
    /// Everything below the contract, as of an instant (its children are never read from the live tables).
    #[graphql(skip)]
    pub(crate) as_of: Option<std::sync::Arc<ContractAsOf>>,
}

/// A contract's rows as reconstructed at an instant.
#[derive(Debug, Clone)]
pub(crate) struct ContractAsOf {
    pub schedule: Vec<ScheduleLineView>,
    pub payments: Vec<PaymentView>,
    pub fines: Vec<FineView>,
    pub debt: Option<ContractDebtView>,
}

impl TryFrom<ContractView> for Contract {
    type Error = ApiError;

    fn try_from(v: ContractView) -> Result<Self, ApiError> {
        Ok(Self {
            id: v.contract_id,
            company_id: v.company_id,
            number: v.number,
            date: v.contract_date,
            status: ContractStatus::from_view(&v.status)?,
            subject: LeasingSubject {
                kind: v.subject_kind,
                make: v.subject_make,
                model: v.subject_model,
                year: v.subject_year,
                vin: v.vin,
                serial_number: v.serial_number,
                registration_plate: v.registration_plate,
            },
            price: m2(v.price),
            advance: m2(v.advance),
            advance_percent: v.advance_percent,
            term_months: v.term_months,
            annual_rate: v.annual_rate,
            first_due_date: v.first_due_date,
            schedule_kind: ScheduleKind::from_view(&v.schedule_kind)?,
            redemption: m2(v.redemption),
            penalty_terms: PenaltyTerms {
                rate_per_day: v.penalty_rate,
                base_includes_vat: v.penalty_base_includes_vat,
                payment_day_counts: v.penalty_payment_day_counts,
            },
            activated_on: v.activated_on,
            closed_on: v.closed_on,
            termination_reason: v.termination_reason,
            next_payment: next_payment(v.next_payment_date, v.next_payment_amount),
            position: v.last_position,
            prefetched_schedule: None,
            prefetched_debt: None,
            as_of: None,
        })
    }
}

impl Contract {
    async fn schedule_rows(&self, ctx: &Context<'_>) -> Result<Vec<ScheduleLineView>, ApiError> {
        if let Some(a) = &self.as_of {
            return Ok(a.schedule.clone());
        }
        match &self.prefetched_schedule {
            Some(rows) => Ok(rows.clone()),
            None => Ok(views::load_schedules(&app(ctx).pool, &[self.id]).await?),
        }
    }
}

#[ComplexObject]
impl Contract {
    /// The payment schedule, line by line.
    async fn schedule(&self, ctx: &Context<'_>) -> Result<Vec<ScheduleLine>> {
        Ok(self
            .schedule_rows(ctx)
            .await?
            .into_iter()
            .map(ScheduleLine::try_from)
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// Penalties accrued, per line.
    async fn penalties(&self, ctx: &Context<'_>) -> Result<Vec<LinePenalty>> {
        Ok(self
            .schedule_rows(ctx)
            .await?
            .into_iter()
            .filter(|l| !l.penalty.is_zero())
            .map(|l| LinePenalty {
                line: l.line_number,
                deadline: l.deadline,
                through: l.penalty_through,
                days: l.days_overdue,
                amount: m2(l.penalty),
            })
            .collect())
    }

    /// Payments received, oldest first.
    async fn payments(&self, ctx: &Context<'_>) -> Result<Vec<Payment>> {
        let rows = match &self.as_of {
            Some(a) => a.payments.clone(),
            None => views::load_payments(&app(ctx).pool, self.id)
                .await
                .map_err(ApiError::from)?,
        };
        Ok(rows
            .into_iter()
            .map(Payment::try_from)
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// Traffic fines re-billed on this contract.
    async fn fines(&self, ctx: &Context<'_>) -> Result<Vec<TrafficFine>> {
        let rows = match &self.as_of {
            Some(a) => a.fines.clone(),
            None => views::load_fines(&app(ctx).pool, self.id)
                .await
                .map_err(ApiError::from)?,
        };
        Ok(rows.into_iter().map(TrafficFine::from).collect())
    }

    /// What is owed on the contract.
    async fn debt(&self, ctx: &Context<'_>) -> Result<Option<ContractDebt>> {
        let row = match (&self.as_of, &self.prefetched_debt) {
            (Some(a), _) => a.debt.clone(),
            (None, Some(d)) => Some(d.clone()),
            (None, None) => views::load_contract_debts(&app(ctx).pool, &[self.id])
                .await
                .map_err(ApiError::from)?
                .into_iter()
                .next(),
        };
        Ok(row.map(|d| ContractDebt {
            number: Some(self.number.clone()),
            ..ContractDebt::from(d)
        }))
    }
}

/// A contract as committed by a mutation.
#[derive(Debug, Clone, SimpleObject)]
pub struct ContractPayload {
    /// The contract.
    pub contract: Contract,
    /// Position of the last event of the contract (read models include it).
    pub position: Option<i64>,
    /// True when an idempotency key matched an earlier call: nothing new was recorded.
    pub replayed: bool,
}

/// A payment as committed, with the debt it left.
#[derive(Debug, Clone, SimpleObject)]
pub struct PaymentPayload {
    /// The contract.
    pub contract: Contract,
    /// What is owed on it now.
    pub debt: ContractDebt,
    /// Position of the last event of the contract.
    pub position: Option<i64>,
    /// True when an idempotency key matched an earlier call.
    pub replayed: bool,
}

/// The business clock after `advanceClock`.
#[derive(Debug, Clone, SimpleObject)]
pub struct ClockPayload {
    /// The business date now.
    pub business_date: NaiveDate,
    /// How many days were started.
    pub days_started: i32,
    /// Position of the last BusinessDayStarted.
    pub position: Option<i64>,
}

// ---------------------------------------------------------------------------------------------------------
// Inputs

/// What is leased.
#[derive(Debug, Clone, InputObject)]
pub struct LeasingSubjectInput {
    /// Kind of asset, e.g. «легковой автомобиль», «экскаватор».
    pub kind: String,
    /// Make.
    pub make: String,
    /// Model.
    pub model: String,
    /// Year of manufacture.
    pub year: i32,
    /// VIN: 17 characters, no I, O or Q (optional for equipment).
    pub vin: Option<String>,
    /// Serial or factory number (required when there is no VIN).
    pub serial_number: Option<String>,
    /// Registration plate.
    pub registration_plate: Option<String>,
}

/// The advance: exactly one of an amount or a percentage of the price.
#[derive(Debug, Clone, InputObject)]
pub struct AdvanceInput {
    /// Amount with VAT.
    pub amount: Option<Decimal>,
    /// Percent of the price.
    pub percent: Option<Decimal>,
}

/// Penalty terms of the contract.
#[derive(Debug, Clone, InputObject)]
pub struct PenaltyTermsInput {
    /// Percent of the overdue base per day, e.g. 0.1.
    pub rate_per_day: Decimal,
    /// Whether the base includes VAT.
    pub base_includes_vat: bool,
    /// Whether the day the payment arrives is a penalty day.
    pub payment_day_counts: bool,
}

/// A line of an explicit schedule.
#[derive(Debug, Clone, InputObject)]
pub struct ExplicitLineInput {
    /// Due date.
    pub due_date: NaiveDate,
    /// Amount with VAT.
    pub amount: Decimal,
}

/// A new leasing contract.
#[derive(Debug, Clone, InputObject)]
pub struct ConcludeContractInput {
    /// The lessee (a registered company).
    pub company_id: Uuid,
    /// Contract number, unique.
    pub number: String,
    /// Contract date.
    pub date: NaiveDate,
    /// E-mail of the lessee's contact person.
    pub contact_email: String,
    /// What is leased.
    pub subject: LeasingSubjectInput,
    /// Price with VAT.
    pub price: Decimal,
    /// The advance.
    pub advance: AdvanceInput,
    /// Term in months (for an explicit schedule: the number of lines).
    pub term_months: i32,
    /// Annual rate, percent.
    pub annual_rate: Decimal,
    /// Due date of the first monthly line.
    pub first_due_date: NaiveDate,
    /// How the schedule is computed.
    pub schedule_kind: ScheduleKind,
    /// The lines, for an explicit schedule only.
    pub lines: Option<Vec<ExplicitLineInput>>,
    /// Redemption payment (0 when none).
    pub redemption: Decimal,
    /// Penalty terms.
    pub penalty: PenaltyTermsInput,
}

impl ConcludeContractInput {
    fn parse(self, contract_id: Uuid) -> Result<ContractTerms, ApiError> {
        let s = self.subject;
        let vin = s
            .vin
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| parse_field("input.subject.vin", Vin::parse(v)))
            .transpose()?;
        let advance = match (self.advance.amount, self.advance.percent) {
            (Some(a), None) => dc::Advance::Amount(money("input.advance.amount", a)?),
            (None, Some(p)) => dc::Advance::Percent(p),
            _ => {
                return Err(ApiError::validation(
                    "input.advance",
                    "give exactly one of amount or percent",
                ))
            }
        };
        let term_months = u32::try_from(self.term_months)
            .map_err(|_| ApiError::validation("input.termMonths", "must not be negative"))?;
        let explicit_lines = self
            .lines
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                Ok((
                    l.due_date,
                    money(&format!("input.lines.{i}.amount"), l.amount)?,
                ))
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(ContractTerms {
            contract_id,
            company_id: self.company_id,
            number: self.number,
            date: self.date,
            contact_email: parse_field("input.contactEmail", Email::parse(&self.contact_email))?,
            subject: dc::LeasingSubject {
                kind: s.kind,
                make: s.make,
                model: s.model,
                year: s.year,
                vin,
                serial_number: s.serial_number,
                registration_plate: s.registration_plate,
            },
            price: money("input.price", self.price)?,
            advance,
            term_months,
            annual_rate: self.annual_rate,
            first_due_date: self.first_due_date,
            schedule_kind: self.schedule_kind.into(),
            explicit_lines,
            redemption: money("input.redemption", self.redemption)?,
            penalty: DomainPenaltyTerms {
                rate_per_day: self.penalty.rate_per_day,
                base_includes_vat: self.penalty.base_includes_vat,
                payment_day_counts: self.penalty.payment_day_counts,
            },
        })
    }
}

/// Handover of the asset.
#[derive(Debug, Clone, InputObject)]
pub struct ActivateContractInput {
    /// The contract.
    pub contract_id: Uuid,
    /// Handover date.
    pub date: NaiveDate,
}

/// A payment received from the bank.
#[derive(Debug, Clone, InputObject)]
pub struct RecordPaymentInput {
    /// The contract.
    pub contract_id: Uuid,
    /// Amount.
    pub amount: Decimal,
    /// Payment date (bank statement).
    pub date: NaiveDate,
    /// The bank's reference of the payment order; the same reference is never counted twice.
    pub bank_reference: String,
    /// What the payer said it is for.
    pub purpose: PaymentPurpose,
}

/// A traffic fine to re-bill.
#[derive(Debug, Clone, InputObject)]
pub struct RegisterTrafficFineInput {
    /// The contract.
    pub contract_id: Uuid,
    /// Resolution number (УИН): 20 or 25 digits, unique.
    pub resolution_number: String,
    /// Date of the resolution.
    pub date: NaiveDate,
    /// Amount.
    pub amount: Decimal,
    /// The vehicle as in the resolution.
    pub vehicle: String,
    /// What it is for.
    pub description: String,
}

/// A fine paid outside the contract's payments.
#[derive(Debug, Clone, InputObject)]
pub struct RecordFinePaidInput {
    /// The contract.
    pub contract_id: Uuid,
    /// Resolution number (УИН).
    pub resolution_number: String,
    /// Date it was paid.
    pub date: NaiveDate,
}

/// Recalculation after a partial early repayment.
#[derive(Debug, Clone, InputObject)]
pub struct RecalculateScheduleInput {
    /// The contract.
    pub contract_id: Uuid,
    /// Effective date: unpaid lines due after it are recomputed.
    pub date: NaiveDate,
    /// Principal repaid early, taken from the contract's credit balance.
    pub amount: Decimal,
    /// Shorter term or smaller payments.
    pub mode: RecalculationMode,
}

/// Completion of a fully paid contract.
#[derive(Debug, Clone, InputObject)]
pub struct CompleteContractInput {
    /// The contract.
    pub contract_id: Uuid,
    /// Completion date.
    pub date: NaiveDate,
}

/// Early termination.
#[derive(Debug, Clone, InputObject)]
pub struct TerminateContractInput {
    /// The contract.
    pub contract_id: Uuid,
    /// Termination date; unpaid lines due after it are cancelled.
    pub date: NaiveDate,
    /// Why.
    pub reason: String,
}

// ---------------------------------------------------------------------------------------------------------
// Resolvers

/// Loads a contract (with the business date, in the same query) and checks the caller may perform `op` on
/// its company. UNAUTHENTICATED comes before NOT_FOUND, so an anonymous caller learns nothing.
async fn authorized_contract(
    ctx: &Context<'_>,
    id: Uuid,
    op: fn(Uuid) -> Operation,
) -> Result<(ContractView, Option<NaiveDate>), ApiError> {
    let req = request(ctx)?;
    if req.actor.is_none() {
        authorize(None, op(Uuid::nil()))?;
    }
    let (view, today) = views::load_contract_and_day(&app(ctx).pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("contract not found".into()))?;
    allow(ctx, op(view.company_id))?;
    Ok((view, today))
}

async fn contract_payload(
    ctx: &Context<'_>,
    out: CommandOutcome,
) -> Result<ContractPayload, ApiError> {
    let id: Uuid = out.aggregate_id.parse().map_err(|_| {
        ApiError::Internal(anyhow::anyhow!(
            "contract id {} is not a UUID",
            out.aggregate_id
        ))
    })?;
    let view = views::load_contract(&app(ctx).pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("contract not found".into()))?;
    Ok(ContractPayload {
        contract: view.try_into()?,
        position: out.last_position,
        replayed: out.replayed,
    })
}

/// The path of every mutation on an existing contract: load it, authorize ChangeContract on its company,
/// check the key, build the command, execute.
async fn change_contract(
    ctx: &Context<'_>,
    contract_id: Uuid,
    key: Option<String>,
    build: impl FnOnce(Option<NaiveDate>) -> Result<ContractCommand, ApiError>,
) -> Result<CommandOutcome, ApiError> {
    let (_, today) = authorized_contract(ctx, contract_id, Operation::ChangeContract).await?;
    let (actor, req) = allow(ctx, Operation::Me)?;
    let key = idempotency_key(key)?;
    let command = build(today)?;
    app(ctx)
        .contracts
        .execute(&contract_id.to_string(), command, &req.meta(actor, key))
        .await
        .map_err(contract_command_error)
}

/// Money cannot arrive on a day that has not started: a payment dated after the business date is a typo
/// (once the clock runs).
fn not_after_business_date(
    today: Option<NaiveDate>,
    field: &str,
    date: NaiveDate,
) -> Result<(), ApiError> {
    match today {
        Some(today) if date > today => Err(ApiError::validation(
            field,
            format!("is after the business date {today}"),
        )),
        _ => Ok(()),
    }
}

/// [`change_contract`], answering with the contract as committed.
async fn changed(
    ctx: &Context<'_>,
    contract_id: Uuid,
    key: Option<String>,
    build: impl FnOnce(Option<NaiveDate>) -> Result<ContractCommand, ApiError>,
) -> Result<ContractPayload, ApiError> {
    let out = change_contract(ctx, contract_id, key, build).await?;
    contract_payload(ctx, out).await
}

fn parse_cursor(after: Option<String>) -> Result<Option<(NaiveDate, Uuid)>, ApiError> {
    super::pagination::pair_cursor(after)
}

/// Contract queries.
#[derive(Default)]
pub struct ContractQuery;

#[Object]
impl ContractQuery {
    /// One contract (a CLIENT only of its own companies). With `asOf` (staff): the contract as it was at
    /// that instant — schedule, payments, fines and debt rebuilt from the events recorded up to it
    /// (NOT_FOUND when it did not exist yet).
    async fn contract(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Contract> {
        if let Some(at) = as_of {
            return Ok(contract_as_of(ctx, id, at).await?);
        }
        Ok(Contract::try_from(
            authorized_contract(ctx, id, Operation::ReadContracts)
                .await?
                .0,
        )?)
    }

    /// A company's contracts, newest first, optionally by status.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn contracts(
        &self,
        ctx: &Context<'_>,
        company_id: Uuid,
        status: Option<ContractStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Contract>> {
        allow(ctx, Operation::ReadContracts(company_id))?;
        let limit = super::pagination::page_size(first)?;
        let cursor = parse_cursor(after)?;
        let pool = &app(ctx).pool;
        let rows = views::list_contracts(
            pool,
            company_id,
            status.map(ContractStatus::as_str),
            cursor,
            limit + 1,
        )
        .await
        .map_err(ApiError::from)?;
        let has_next = rows.len() as i64 > limit;
        let rows: Vec<ContractView> = rows.into_iter().take(limit as usize).collect();
        let ids: Vec<Uuid> = rows.iter().map(|r| r.contract_id).collect();
        // Set-based: what the page's nodes ask for is read for all of them at once.
        let node = ctx.look_ahead().field("edges").field("node");
        let mut schedules: HashMap<Uuid, Vec<ScheduleLineView>> = HashMap::new();
        if node.field("schedule").exists() || node.field("penalties").exists() {
            for l in views::load_schedules(pool, &ids)
                .await
                .map_err(ApiError::from)?
            {
                schedules.entry(l.contract_id).or_default().push(l);
            }
        }
        let mut debts: HashMap<Uuid, ContractDebtView> = HashMap::new();
        if node.field("debt").exists() {
            for d in views::load_contract_debts(pool, &ids)
                .await
                .map_err(ApiError::from)?
            {
                debts.insert(d.contract_id, d);
            }
        }
        let mut conn = Connection::new(cursor.is_some(), has_next);
        for r in rows {
            let cursor = format!("{}|{}", r.contract_date, r.contract_id);
            let id = r.contract_id;
            let mut c = Contract::try_from(r)?;
            if node.field("schedule").exists() || node.field("penalties").exists() {
                c.prefetched_schedule = Some(schedules.remove(&id).unwrap_or_default());
            }
            c.prefetched_debt = debts.remove(&id);
            conn.edges.push(Edge::new(cursor, c));
        }
        Ok(conn)
    }

    /// What a company owes: totals and the per-contract breakdown, as of the last business day. With
    /// `asOf` (staff): as it was at that instant, from the events and business days recorded up to it.
    async fn debt(
        &self,
        ctx: &Context<'_>,
        company_id: Uuid,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<CompanyDebt> {
        if let Some(at) = as_of {
            return Ok(debt_as_of(ctx, company_id, at).await?);
        }
        allow(ctx, Operation::ReadContracts(company_id))?;
        Ok(company_debt(&app(ctx).pool, company_id).await?)
    }

    /// What buying the asset out costs on `asOf` (default: the business date): outstanding principal, unpaid
    /// due amounts, penalties through the date, fines and the redemption, less credit. Computed from the
    /// contract's events; nothing is stored.
    async fn early_buyout_quote(
        &self,
        ctx: &Context<'_>,
        contract_id: Uuid,
        as_of: Option<NaiveDate>,
    ) -> Result<BuyoutQuote> {
        let (_, today) = authorized_contract(ctx, contract_id, Operation::ReadContracts).await?;
        let app = app(ctx);
        let as_of = as_of.or(today).ok_or_else(|| {
            ApiError::validation("asOf", "the business clock has not started; give asOf")
        })?;
        let contract = app
            .contracts
            .load(&contract_id.to_string())
            .await
            .map_err(contract_command_error)?;
        let q = contract
            .early_buyout_quote(as_of, &app.calendar)
            .map_err(|e| ApiError::validation("contractId", e.to_string()))?;
        Ok(BuyoutQuote {
            contract_id,
            as_of: q.as_of,
            outstanding_principal: q.outstanding_principal.amount(),
            unpaid_due: q.unpaid_due.amount(),
            penalties: q.penalties.amount(),
            fines: q.fines.amount(),
            redemption: q.redemption.amount(),
            credit: q.credit.amount(),
            total: q.total.amount(),
        })
    }

    /// The business date, and the last day whose closing is done.
    async fn business_date(&self, ctx: &Context<'_>) -> Result<BusinessDate> {
        allow(ctx, Operation::ReadBusinessDate)?;
        let (date, closed_through) = views::load_business_day(&app(ctx).pool)
            .await
            .map_err(ApiError::from)?;
        Ok(BusinessDate {
            date,
            closed_through,
        })
    }
}

/// Contract mutations (MANAGER, ACCOUNTANT, ADMIN; `advanceClock`: ADMIN). Each takes an optional
/// `idempotencyKey`: a retry with the same key has one effect and returns the first result.
#[derive(Default)]
pub struct ContractMutation;

#[Object]
impl ContractMutation {
    /// Concludes a contract for a registered company; the schedule is computed from the terms. A duplicate
    /// number, an advance not below the price, a zero term or a VIN with I, O or Q is refused, naming the
    /// field.
    async fn conclude_contract(
        &self,
        ctx: &Context<'_>,
        input: ConcludeContractInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        let (actor, req) = allow(ctx, Operation::ConcludeContract(input.company_id))?;
        let key = self::idempotency_key(idempotency_key)?;
        let contract_id = Uuid::now_v7();
        let terms = input.parse(contract_id)?;
        let out = app(ctx)
            .contracts
            .execute(
                &contract_id.to_string(),
                ContractCommand::ConcludeContract(Box::new(terms)),
                &req.meta(actor, key),
            )
            .await
            .map_err(contract_command_error)?;
        Ok(contract_payload(ctx, out).await?)
    }

    /// Records the handover of the asset: the contract becomes ACTIVE.
    async fn activate_contract(
        &self,
        ctx: &Context<'_>,
        input: ActivateContractInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        Ok(changed(ctx, input.contract_id, idempotency_key, |_| {
            Ok(ContractCommand::ActivateContract { date: input.date })
        })
        .await?)
    }

    /// Records a bank payment and allocates it; returns the debt it left. A bank reference already recorded
    /// on the contract is refused (the same statement imported twice never counts twice).
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        input: RecordPaymentInput,
        idempotency_key: Option<String>,
    ) -> Result<PaymentPayload> {
        let amount = money("input.amount", input.amount)?;
        let payload = changed(ctx, input.contract_id, idempotency_key, |today| {
            not_after_business_date(today, "input.date", input.date)?;
            Ok(ContractCommand::RecordPayment {
                amount,
                date: input.date,
                bank_reference: input.bank_reference,
                purpose: input.purpose.into(),
            })
        })
        .await?;
        let debt = views::load_contract_debts(&app(ctx).pool, &[input.contract_id])
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::NotFound("contract not found".into()))?;
        Ok(PaymentPayload {
            debt: ContractDebt {
                number: Some(payload.contract.number.clone()),
                ..ContractDebt::from(debt)
            },
            contract: payload.contract,
            position: payload.position,
            replayed: payload.replayed,
        })
    }

    /// Re-bills a traffic fine to the lessee. A resolution number is registered once.
    async fn register_traffic_fine(
        &self,
        ctx: &Context<'_>,
        input: RegisterTrafficFineInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        let amount = money("input.amount", input.amount)?;
        Ok(changed(ctx, input.contract_id, idempotency_key, |_| {
            Ok(ContractCommand::RegisterTrafficFine {
                resolution_number: input.resolution_number,
                date: input.date,
                amount,
                vehicle: input.vehicle,
                description: input.description,
            })
        })
        .await?)
    }

    /// Records that a fine was paid outside the contract's payments (for example, straight to the traffic
    /// police); what was owed on it is cleared.
    async fn record_fine_paid(
        &self,
        ctx: &Context<'_>,
        input: RecordFinePaidInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        Ok(changed(ctx, input.contract_id, idempotency_key, |_| {
            Ok(ContractCommand::RecordFinePaid {
                resolution_number: input.resolution_number,
                date: input.date,
            })
        })
        .await?)
    }

    /// After a partial early repayment (money on the credit balance): recomputes the unpaid lines after the
    /// date — fewer lines or smaller ones.
    async fn recalculate_schedule(
        &self,
        ctx: &Context<'_>,
        input: RecalculateScheduleInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        let amount = money("input.amount", input.amount)?;
        Ok(changed(ctx, input.contract_id, idempotency_key, |_| {
            Ok(ContractCommand::RecalculateSchedule {
                date: input.date,
                amount,
                mode: match input.mode {
                    RecalculationMode::ShorterTerm => DomainMode::ShorterTerm,
                    RecalculationMode::SmallerPayments => DomainMode::SmallerPayments,
                },
            })
        })
        .await?)
    }

    /// Completes a contract whose lines, redemption, penalties and fines are all paid.
    async fn complete_contract(
        &self,
        ctx: &Context<'_>,
        input: CompleteContractInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        Ok(changed(ctx, input.contract_id, idempotency_key, |_| {
            Ok(ContractCommand::CompleteContract { date: input.date })
        })
        .await?)
    }

    /// Terminates a contract early; unpaid lines due after the date are cancelled, debts already due stay.
    async fn terminate_contract(
        &self,
        ctx: &Context<'_>,
        input: TerminateContractInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        Ok(changed(ctx, input.contract_id, idempotency_key, |_| {
            Ok(ContractCommand::TerminateContract {
                date: input.date,
                reason: input.reason,
            })
        })
        .await?)
    }

    /// Starts every business day up to `to` (ADMIN; never backwards). Each day's closing — credit applied,
    /// lines due and overdue, penalties — follows in the background; `businessDate.closedThrough` shows
    /// how far it got.
    async fn advance_clock(&self, ctx: &Context<'_>, to: NaiveDate) -> Result<ClockPayload> {
        let (actor, req) = allow(ctx, Operation::AdvanceClock)?;
        let out = app(ctx)
            .clock
            .execute(
                CLOCK_ID,
                ClockCommand::AdvanceClock { to },
                &req.meta(actor, None),
            )
            .await
            .map_err(clock_command_error)?;
        Ok(ClockPayload {
            business_date: to,
            days_started: out.events as i32,
            position: out.last_position,
        })
    }
}

/// A company's debt as `debt` answers it (also what `debtChanged` sends); no authorization here.
///
/// # Errors
/// A database error.
pub(crate) async fn company_debt(
    pool: &sqlx::PgPool,
    company_id: Uuid,
) -> Result<CompanyDebt, ApiError> {
    let mut conn = pool.acquire().await?;
    let d = views::load_company_debt(&mut conn, company_id)
        .await
        .map_err(ApiError::from)?;
    Ok(company_debt_from(company_id, d))
}

/// The GraphQL form of a company's debt rows.
pub(crate) fn company_debt_from(company_id: Uuid, d: views::CompanyDebt) -> CompanyDebt {
    let zero = m2(Decimal::ZERO);
    let contracts = d
        .contracts
        .into_iter()
        .map(|r| ContractDebt {
            number: Some(r.number),
            ..ContractDebt::from(r.debt)
        })
        .collect();
    match d.total {
        Some(t) => CompanyDebt {
            company_id,
            as_of: d.business_date,
            leasing_due: m2(t.leasing_due),
            overdue: m2(t.overdue),
            penalties: m2(t.penalties),
            fines: m2(t.fines),
            insurance: m2(t.insurance),
            credit: m2(t.credit),
            total: m2(t.total),
            next_payment: next_payment(t.next_payment_date, t.next_payment_amount),
            contracts,
        },
        None => CompanyDebt {
            company_id,
            as_of: d.business_date,
            leasing_due: zero,
            overdue: zero,
            penalties: zero,
            fines: zero,
            insurance: zero,
            credit: zero,
            total: zero,
            next_payment: None,
            contracts,
        },
    }
}

/// The contract as of `at`: its rows, schedule, payments, fines and debt from its events (and its policies'
/// and the business days') recorded up to `at`.
pub(crate) async fn contract_as_of(
    ctx: &Context<'_>,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<Contract, ApiError> {
    let at = super::history::history_allowed(ctx, at)?;
    let pool = &app(ctx).pool;
    let policies = super::history::ids(
        pool,
        "SELECT policy_id::text FROM policies_view WHERE contract_id = $1",
        id,
    )
    .await?;
    let mut a = AsOf::begin(pool, at).await?;
    a.replay(
        &projections::views::contracts::ContractsProjection,
        &Selection::of("Contract", [id.to_string()])
            .and("Policy", policies)
            .with_business_days(),
    )
    .await
    .map_err(super::history::replay_error)?;
    let conn = a.conn();
    let view = projections::views::contracts::load_contract(&mut *conn, id)
        .await?
        .ok_or_else(|| super::history::not_at("contract", id, at))?;
    let rows = ContractAsOf {
        schedule: projections::views::contracts::load_schedules(&mut *conn, &[id]).await?,
        payments: projections::views::contracts::load_payments(&mut *conn, id).await?,
        fines: projections::views::contracts::load_fines(&mut *conn, id).await?,
        debt: projections::views::contracts::load_contract_debts(&mut *conn, &[id])
            .await?
            .into_iter()
            .next(),
    };
    let mut c = Contract::try_from(view)?;
    c.as_of = Some(Arc::new(rows));
    Ok(c)
}

/// A company's debt as of `at`: every contract and policy of the company replayed up to `at`.
pub(crate) async fn debt_as_of(
    ctx: &Context<'_>,
    company_id: Uuid,
    at: DateTime<Utc>,
) -> Result<CompanyDebt, ApiError> {
    let at = super::history::history_allowed(ctx, at)?;
    let pool = &app(ctx).pool;
    let contracts = super::history::ids(
        pool,
        "SELECT contract_id::text FROM contracts_view WHERE company_id = $1",
        company_id,
    )
    .await?;
    let policies = super::history::ids(
        pool,
        "SELECT policy_id::text FROM policies_view WHERE company_id = $1",
        company_id,
    )
    .await?;
    let mut a = AsOf::begin(pool, at).await?;
    a.replay(
        &projections::views::contracts::ContractsProjection,
        &Selection::of("Contract", contracts)
            .and("Policy", policies)
            .with_business_days(),
    )
    .await
    .map_err(super::history::replay_error)?;
    let d = projections::views::contracts::load_company_debt(a.conn(), company_id).await?;
    Ok(company_debt_from(company_id, d))
}
