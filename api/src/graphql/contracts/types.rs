//! The contract feature's output types: the contract, its schedule lines, payments, fines, debts, quotes
//! and payloads.

use crate::graphql::scalars::Date;
use async_graphql::{ComplexObject, Context, Result, SimpleObject};

use domain::contract as dc;
use projections::views::contracts::{
    self as views, ContractDebtView, ContractView, FineView, PaymentView, ScheduleLineView,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::enums::*;
use crate::error::ApiError;
use crate::graphql::context::app;
use crate::graphql::enums::unknown_stored;
use crate::graphql::position::Position;

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
    pub date: Date,
    /// Amount still open on it.
    pub amount: Decimal,
}

pub(super) fn next_payment(date: Option<Date>, amount: Option<Decimal>) -> Option<NextPayment> {
    Some(NextPayment {
        date: date?,
        amount: m2(amount?),
    })
}

/// An amount as the API shows it: always with kopecks (PostgreSQL may hand back a zero without its scale).
pub(super) fn m2(d: Decimal) -> Decimal {
    let mut d = d;
    d.rescale(2);
    d
}

/// One line of a payment schedule.
#[derive(Debug, Clone, SimpleObject)]
pub struct ScheduleLine {
    /// The contract (with `number`, the line's identity for a client cache).
    pub contract_id: Uuid,
    /// 0: advance; 1..n: monthly lines; last: redemption.
    pub number: i32,
    /// What it pays for.
    pub kind: LineKind,
    /// Due date as agreed.
    pub due_date: Date,
    /// Payment deadline: the due date moved to a working day (known once the line fell due late).
    pub deadline: Option<Date>,
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
            contract_id: v.contract_id,
            number: v.line_number,
            kind: match v.kind.as_str() {
                "regular" => LineKind::Regular,
                "advance" => LineKind::Advance,
                "redemption" => LineKind::Redemption,
                other => return Err(unknown_stored("schedule_view.kind", other)),
            },
            due_date: v.due_date.into(),
            deadline: v.deadline.map(Date),
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
    pub deadline: Option<Date>,
    /// Penalty computed through this day.
    pub through: Option<Date>,
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
    /// The contract (with `bankReference`, the payment's identity for a client cache).
    pub contract_id: Uuid,
    /// The bank's reference.
    pub bank_reference: String,
    /// Payment date.
    pub date: Date,
    /// Amount.
    pub amount: Decimal,
    /// Stated purpose.
    pub purpose: PaymentPurpose,
    /// How it was allocated.
    pub allocations: Vec<PaymentAllocation>,
    /// Its event's place in the log.
    pub position: Position,
}

impl TryFrom<PaymentView> for Payment {
    type Error = ApiError;

    fn try_from(v: PaymentView) -> Result<Self, ApiError> {
        Ok(Self {
            contract_id: v.contract_id,
            bank_reference: v.bank_reference,
            date: v.paid_on.into(),
            amount: m2(v.amount),
            purpose: PaymentPurpose::from_view(&v.purpose)?,
            allocations: PaymentAllocation::list(v.allocations, "payments_view.allocations")?,
            position: Position::event(v.position),
        })
    }
}

impl PaymentAllocation {
    /// A payment's allocations from their stored JSON (`where_`: what held it, for the error).
    ///
    /// # Errors
    /// INTERNAL when the JSON is not a list of allocations.
    pub(crate) fn list(value: serde_json::Value, where_: &str) -> Result<Vec<Self>, ApiError> {
        let parts: Vec<dc::Allocation> = serde_json::from_value(value)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("{where_} does not decode: {e}")))?;
        Ok(parts
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
            .collect())
    }
}

/// A traffic fine re-billed to the lessee.
#[derive(Debug, Clone, SimpleObject)]
pub struct TrafficFine {
    /// The contract it is re-billed on.
    pub contract_id: Uuid,
    /// Resolution number (УИН; unique across the lessor: the fine's identity for a client cache).
    pub resolution_number: String,
    /// Date of the resolution.
    pub date: Date,
    /// Amount of the fine as imposed.
    pub amount: Decimal,
    /// The offence's article («ч. 2 ст. 12.9 КоАП РФ»), when known.
    pub article: Option<String>,
    /// What is owed for the fine when paid by `discountUntil` (half of it; ч. 1.3 ст. 32.2 КоАП РФ), when
    /// the fine has the discount.
    pub discounted_amount: Option<Decimal>,
    /// The discount's last day.
    pub discount_until: Option<Date>,
    /// Whether the discount ran out with the fine unpaid: the whole amount is owed.
    pub discount_expired: bool,
    /// The lessor's fee for re-billing it (as the contract's terms say).
    pub fee: Decimal,
    /// What is owed for it in all: the discounted amount while the discount lasts, else the amount; plus
    /// the fee.
    pub due: Decimal,
    /// Still to pay: `due` less `paid`.
    pub outstanding: Decimal,
    /// Paid so far.
    pub paid: Decimal,
    /// Whether it is paid in full.
    pub is_paid: bool,
    /// When it was paid in full.
    pub paid_on: Option<Date>,
    /// The vehicle.
    pub vehicle: String,
    /// What it is for.
    pub description: String,
}

impl From<FineView> for TrafficFine {
    fn from(v: FineView) -> Self {
        Self {
            contract_id: v.contract_id,
            is_paid: v.paid >= v.due,
            resolution_number: v.resolution_number,
            date: v.issued_on.into(),
            amount: m2(v.amount),
            article: v.article,
            discounted_amount: v.discounted_amount.map(m2),
            discount_until: v.discount_until.map(Date),
            discount_expired: v.discount_expired,
            fee: m2(v.fee),
            due: m2(v.due),
            outstanding: m2((v.due - v.paid).max(Decimal::ZERO)),
            paid: m2(v.paid),
            paid_on: v.paid_on.map(Date),
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
            next_payment: next_payment(v.next_payment_date.map(Date), v.next_payment_amount),
        }
    }
}

/// What a company owes, in total and per contract. The totals always equal the sum of the contracts.
#[derive(Debug, Clone, SimpleObject)]
pub struct CompanyDebt {
    /// The company.
    pub company_id: Uuid,
    /// The business day the amounts are as of.
    pub as_of: Option<Date>,
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
    pub as_of: Date,
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
    pub date: Option<Date>,
    /// The last day whose closing (penalties, overdue lines) is done.
    pub closed_through: Option<Date>,
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
    pub date: Date,
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
    pub first_due_date: Date,
    /// How the schedule was computed.
    pub schedule_kind: ScheduleKind,
    /// Redemption payment.
    pub redemption: Decimal,
    /// What the redemption is: symbolic (after lines that repay everything) or a residual value.
    pub redemption_kind: RedemptionKind,
    /// Penalty terms.
    pub penalty_terms: PenaltyTerms,
    /// Handover date.
    pub activated_on: Option<Date>,
    /// Completion or termination date.
    pub closed_on: Option<Date>,
    /// Why it was terminated.
    pub termination_reason: Option<String>,
    /// The asset's book (residual) value as the lessor's accounting system last reported it; null until it
    /// does (the book-value certificate then gives an estimate and says so).
    pub book_value: Option<BookValue>,
    /// The next payment (the earliest open line that is not overdue).
    pub next_payment: Option<NextPayment>,
    /// The place of the last event applied to it.
    pub position: Position,
    #[graphql(skip)]
    pub(super) prefetched_schedule: Option<Vec<ScheduleLineView>>,
    #[graphql(skip)]
    pub(super) prefetched_debt: Option<ContractDebtView>,
    /// Everything below the contract, as of an instant (its children are never read from the live tables).
    #[graphql(skip)]
    pub(crate) as_of: Option<std::sync::Arc<ContractAsOf>>,
}

/// The asset's book value on a date, from the accounting system.
#[derive(Debug, Clone, SimpleObject)]
pub struct BookValue {
    /// The date the figure is for.
    pub as_of: Date,
    /// The value, rubles.
    pub amount: Decimal,
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
            date: v.contract_date.into(),
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
            first_due_date: v.first_due_date.into(),
            schedule_kind: ScheduleKind::from_view(&v.schedule_kind)?,
            redemption: m2(v.redemption),
            redemption_kind: RedemptionKind::from_view(&v.redemption_kind)?,
            penalty_terms: PenaltyTerms {
                rate_per_day: v.penalty_rate,
                base_includes_vat: v.penalty_base_includes_vat,
                payment_day_counts: v.penalty_payment_day_counts,
            },
            activated_on: v.activated_on.map(Date),
            closed_on: v.closed_on.map(Date),
            termination_reason: v.termination_reason,
            book_value: match (v.book_value_as_of, v.book_value) {
                (Some(as_of), Some(amount)) => Some(BookValue {
                    as_of: Date(as_of),
                    amount,
                }),
                _ => None,
            },
            next_payment: next_payment(v.next_payment_date.map(Date), v.next_payment_amount),
            position: Position::event(v.last_position),
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
                deadline: l.deadline.map(Date),
                through: l.penalty_through.map(Date),
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
    /// The place of the contract's last event (read models include it): give it as `after` to resume a
    /// subscription.
    pub position: Option<Position>,
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
    /// The place of the contract's last event.
    pub position: Option<Position>,
    /// True when an idempotency key matched an earlier call.
    pub replayed: bool,
}

/// The business clock after `advanceClock`.
#[derive(Debug, Clone, SimpleObject)]
pub struct ClockPayload {
    /// The business date now.
    pub business_date: Date,
    /// How many days were started.
    pub days_started: i32,
    /// The place of the last BusinessDayStarted.
    pub position: Option<Position>,
    /// True when an idempotency key matched an earlier call (then `daysStarted` is 0).
    pub replayed: bool,
}
