//! Events of the Contract aggregate. `event_type()` is the variant name and never changes; a field change
//! bumps `event_version()` and comes with an upcaster (projections/src/upcast.rs).

use chrono::NaiveDate;
use cqrs_es::DomainEvent;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::values::{LeasingSubject, PaymentPurpose};
use crate::penalty::PenaltyTerms;
use crate::schedule::{RecalculationMode, RedemptionKind, ScheduleKind, ScheduleLine};
use crate::values::{Email, Money};

/// Where a contract is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    /// Signed; the asset is not handed over yet (the advance is usually paid now).
    Concluded,
    /// The asset is with the lessee.
    Active,
    /// Everything paid; the asset passed to the lessee.
    Completed,
    /// Ended early.
    Terminated,
}

impl ContractStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Concluded => "concluded",
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Terminated => "terminated",
        }
    }
}

/// What part of a payment covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AllocationTarget {
    /// A schedule line.
    Line {
        /// Its number.
        number: u32,
    },
    /// Accrued penalties.
    Penalties,
    /// A traffic fine.
    Fine {
        /// Its resolution number.
        resolution_number: String,
    },
    /// Insurance debt.
    Insurance,
    /// The contract's credit balance.
    Credit,
}

/// A part of a payment and what it covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// What it covered.
    pub target: AllocationTarget,
    /// How much.
    pub amount: Money,
}

/// What happened to a contract.
// ContractConcluded carries the whole schedule; boxing it would change no stored byte (serde is transparent
// over a Box) but every match on the event, for a value that lives only while it is written or applied.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ContractEvent {
    /// A contract was concluded and its schedule computed.
    ContractConcluded {
        /// The contract's id.
        contract_id: Uuid,
        /// The lessee.
        company_id: Uuid,
        /// Contract number.
        number: String,
        /// Contract date.
        date: NaiveDate,
        /// The lessee's contact person's e-mail (personal data).
        contact_email: crate::values::Personal<Email, crate::values::personal::Contact>,
        /// What is leased.
        subject: LeasingSubject,
        /// Price with VAT.
        price: Money,
        /// The advance, as an amount.
        advance: Money,
        /// The advance as agreed in percent, when it was agreed that way.
        advance_percent: Option<Decimal>,
        /// Number of regular lines.
        term_months: u32,
        /// Annual rate, percent.
        annual_rate: Decimal,
        /// Due date of line 1.
        first_due_date: NaiveDate,
        /// How the schedule was computed.
        schedule_kind: ScheduleKind,
        /// The redemption payment.
        redemption: Money,
        /// What the redemption is (version 2; version 1 contracts were all computed as a residual value,
        /// and the upcaster reads them so).
        redemption_kind: RedemptionKind,
        /// Penalty terms.
        penalty: PenaltyTerms,
        /// The schedule.
        lines: Vec<ScheduleLine>,
    },
    /// The asset was handed over.
    ContractActivated {
        /// Handover date.
        date: NaiveDate,
    },
    /// A payment was received and allocated.
    PaymentRecorded {
        /// The bank's reference.
        bank_reference: String,
        /// Payment date.
        date: NaiveDate,
        /// Amount received.
        amount: Money,
        /// Stated purpose.
        purpose: PaymentPurpose,
        /// How it was allocated; the parts add up to `amount`.
        allocations: Vec<Allocation>,
    },
    /// Credit was used to pay a line that fell due.
    CreditApplied {
        /// The line.
        line: u32,
        /// Amount taken from the credit.
        amount: Money,
        /// Effective date (the line's due date, or the date the credit arrived if later).
        date: NaiveDate,
    },
    /// A line's due date arrived with money still owed on it.
    PaymentFellDue {
        /// The line.
        line: u32,
        /// Its due date.
        due_date: NaiveDate,
        /// What is still owed on it.
        amount: Money,
    },
    /// A line's payment deadline passed with money still owed on it.
    PaymentOverdue {
        /// The line.
        line: u32,
        /// Its payment deadline (the due date moved to a working day).
        deadline: NaiveDate,
        /// What is owed on it.
        amount: Money,
        /// The business day on which it was found overdue.
        as_of: NaiveDate,
    },
    /// Penalty on a line, recomputed through a day; `amount` is the change since the previous accrual
    /// (negative when a payment recorded late, with an earlier date, lowered it).
    PenaltyAccrued {
        /// The line.
        line: u32,
        /// Its payment deadline; penalty days start the day after.
        deadline: NaiveDate,
        /// Accrued through this day (inclusive).
        through: NaiveDate,
        /// Penalty days so far.
        days: i64,
        /// Change in the line's penalty.
        amount: Money,
        /// The line's whole penalty through `through`.
        total: Money,
    },
    /// A traffic fine was re-billed to the lessee (version 2 added `article`, `discount` and `fee`; the
    /// upcaster reads a version 1 fine as one without them).
    TrafficFineRegistered {
        /// Resolution number (УИН).
        resolution_number: String,
        /// Date of the resolution.
        date: NaiveDate,
        /// Amount of the fine as imposed.
        amount: Money,
        /// The vehicle.
        vehicle: String,
        /// What it is for.
        description: String,
        /// The offence's article, as `fines::Article` writes it («ч. 2 ст. 12.9 КоАП РФ»), when known.
        article: Option<String>,
        /// The discount for paying early (ч. 1.3 ст. 32.2 КоАП РФ): what is owed for the fine until its last
        /// day. Afterwards (`TrafficFineDiscountExpired`) the whole amount is.
        discount: Option<crate::fines::Discount>,
        /// The lessor's fee for re-billing it, as the contract's terms say (`FineFeeAgreed`); zero without.
        fee: Money,
    },
    /// A fine's discount period ended with the fine not paid: the whole amount is owed from now.
    TrafficFineDiscountExpired {
        /// Resolution number (УИН).
        resolution_number: String,
        /// The business day it was found expired (the day after the discount's last day, or later).
        date: NaiveDate,
        /// What the fine's owed amount grows by (the amount less the discounted amount).
        amount: Money,
    },
    /// The asset's book (residual) value as the lessor's accounting system has it on a date: what the
    /// book-value certificate states from then on (instead of the cabinet's estimate).
    BookValueReported {
        /// The date the figure is for.
        as_of: NaiveDate,
        /// The value, as the books have it.
        amount: Money,
        /// Where it comes from (`import:<id>`).
        source: String,
    },
    /// The contract's terms for re-billing traffic fines: the lessor's fee added to each fine registered
    /// from now on (zero: none).
    FineFeeAgreed {
        /// The fee per fine.
        fee: Money,
    },
    /// A fine was paid outside the contract's payments (or confirmed paid); what was still owed is cleared.
    TrafficFinePaid {
        /// Resolution number (УИН).
        resolution_number: String,
        /// Date it was paid.
        date: NaiveDate,
        /// What was still owed and is now cleared.
        amount: Money,
    },
    /// The remaining lines were recomputed after a partial early repayment taken from the credit.
    ScheduleRecalculated {
        /// Effective date.
        date: NaiveDate,
        /// Principal repaid early (taken from the credit).
        amount: Money,
        /// Shorter term or smaller payments.
        mode: RecalculationMode,
        /// Numbers of the lines replaced (removed) — the redemption line included when it moved.
        replaced: Vec<u32>,
        /// The new lines.
        lines: Vec<ScheduleLine>,
    },
    /// The lessor's accounting system changed the schedule (a supplementary agreement it holds): the lines
    /// not yet due or paid that differ are replaced by its lines.
    ScheduleReplaced {
        /// The business day the change was received.
        date: NaiveDate,
        /// Numbers of the lines replaced (removed): none of them was due or paid.
        replaced: Vec<u32>,
        /// The new lines (changed and added), numbered as the accounting system's schedule.
        lines: Vec<ScheduleLine>,
        /// Where the change came from («import:<id>» for an imported file).
        source: String,
    },
    /// Everything was paid; the contract is complete.
    ContractCompleted {
        /// Completion date.
        date: NaiveDate,
    },
    /// The lessee bought the asset out early: `amount` (outstanding principal + redemption) was taken from
    /// the credit; the lines due after the date are cancelled and the redemption line is settled.
    ContractBoughtOut {
        /// Buyout date.
        date: NaiveDate,
        /// Taken from the credit.
        amount: Money,
        /// Lines due after the date, no longer owed.
        cancelled_lines: Vec<u32>,
        /// The redemption line and what settled it, when it was open.
        redemption_line: Option<(u32, Money)>,
    },
    /// The contract ended early.
    ContractTerminated {
        /// Termination date.
        date: NaiveDate,
        /// Why.
        reason: String,
        /// Unpaid lines due after the date, no longer owed.
        cancelled_lines: Vec<u32>,
    },
}

impl DomainEvent for ContractEvent {
    fn event_type(&self) -> String {
        match self {
            Self::ContractConcluded { .. } => "ContractConcluded",
            Self::ContractActivated { .. } => "ContractActivated",
            Self::PaymentRecorded { .. } => "PaymentRecorded",
            Self::CreditApplied { .. } => "CreditApplied",
            Self::PaymentFellDue { .. } => "PaymentFellDue",
            Self::PaymentOverdue { .. } => "PaymentOverdue",
            Self::PenaltyAccrued { .. } => "PenaltyAccrued",
            Self::TrafficFineRegistered { .. } => "TrafficFineRegistered",
            Self::TrafficFinePaid { .. } => "TrafficFinePaid",
            Self::TrafficFineDiscountExpired { .. } => "TrafficFineDiscountExpired",
            Self::FineFeeAgreed { .. } => "FineFeeAgreed",
            Self::BookValueReported { .. } => "BookValueReported",
            Self::ScheduleRecalculated { .. } => "ScheduleRecalculated",
            Self::ScheduleReplaced { .. } => "ScheduleReplaced",
            Self::ContractCompleted { .. } => "ContractCompleted",
            Self::ContractBoughtOut { .. } => "ContractBoughtOut",
            Self::ContractTerminated { .. } => "ContractTerminated",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            Self::ContractConcluded { .. } | Self::TrafficFineRegistered { .. } => "2",
            _ => "1",
        }
        .to_owned()
    }
}
