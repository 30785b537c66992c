//! Commands of the Contract aggregate. They carry value objects (money, VIN, e-mail), so what reaches the
//! aggregate is well-formed; the aggregate enforces the rules between values and against its state.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::values::{LeasingSubject, PaymentPurpose};
use crate::penalty::PenaltyTerms;
use crate::schedule::{RecalculationMode, RedemptionKind, ScheduleKind};
use crate::values::{Email, Money};

/// The advance, as agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// A fixed amount with VAT.
    Amount(Money),
    /// A percentage of the price.
    Percent(Decimal),
}

/// Everything the back office gives to conclude a contract.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractTerms {
    /// The new contract's id.
    pub contract_id: Uuid,
    /// The lessee.
    pub company_id: Uuid,
    /// Contract number (unique across the lessor's contracts).
    pub number: String,
    /// Contract date.
    pub date: NaiveDate,
    /// E-mail of the lessee's contact person (later: their cabinet login).
    pub contact_email: Email,
    /// What is leased.
    pub subject: LeasingSubject,
    /// Price of the asset with VAT.
    pub price: Money,
    /// The advance.
    pub advance: Advance,
    /// Term in months (number of regular lines).
    pub term_months: u32,
    /// Annual rate in percent.
    pub annual_rate: Decimal,
    /// Due date of the first regular line.
    pub first_due_date: NaiveDate,
    /// How the schedule is computed.
    pub schedule_kind: ScheduleKind,
    /// For an explicit schedule: its lines (due date, amount with VAT).
    pub explicit_lines: Vec<(NaiveDate, Money)>,
    /// The redemption payment.
    pub redemption: Money,
    /// Whether the redemption is symbolic or a residual value (`None`: not stated, allowed only for a zero
    /// redemption).
    pub redemption_kind: Option<RedemptionKind>,
    /// Penalty terms.
    pub penalty: PenaltyTerms,
}

/// A command to a contract.
#[derive(Debug, Clone, PartialEq)]
pub enum ContractCommand {
    /// Conclude a new contract; the schedule is computed from its terms.
    ConcludeContract(Box<ContractTerms>),
    /// The asset was handed over to the lessee.
    ActivateContract {
        /// Handover date.
        date: NaiveDate,
    },
    /// Money arrived from the bank.
    RecordPayment {
        /// Amount received.
        amount: Money,
        /// Date of the payment (bank statement date).
        date: NaiveDate,
        /// The bank's reference of the payment order; the same one is never counted twice.
        bank_reference: String,
        /// What the payer said it is for.
        purpose: PaymentPurpose,
    },
    /// Close the books for a business day: apply credit to lines that fell due, mark lines due and overdue,
    /// and accrue penalties through `as_of`. Running it twice for the same day records nothing new.
    CloseBusinessDay {
        /// The business day.
        as_of: NaiveDate,
    },
    /// A traffic fine on the leased vehicle, re-billed to the lessee.
    RegisterTrafficFine {
        /// Resolution number (УИН), 20 or 25 digits.
        resolution_number: String,
        /// Date of the resolution.
        date: NaiveDate,
        /// Amount of the fine.
        amount: Money,
        /// The vehicle (plate or VIN as written in the resolution).
        vehicle: String,
        /// What the fine is for.
        description: String,
        /// The offence's article as the resolution names it («ч. 2 ст. 12.9»), when known: it decides
        /// whether the fine may be paid at half (`fines::discount`).
        article: Option<String>,
        /// The discount's last day as the register states it (without it, estimated from the resolution).
        discount_until: Option<NaiveDate>,
    },
    /// Replace the schedule with the accounting system's (regular lines and the redemption; the advance
    /// stays): the lines that differ are replaced, which only lines not yet due or paid may be.
    ReplaceSchedule {
        /// The business day it is received.
        date: NaiveDate,
        /// The regular lines: (due date, amount with VAT), in order.
        lines: Vec<(NaiveDate, Money)>,
        /// The redemption payment (0: none).
        redemption: Money,
        /// Where the change comes from.
        source: String,
    },
    /// Record the asset's book (residual) value as the lessor's accounting system has it on a date.
    ReportBookValue {
        /// The date the figure is for.
        as_of: NaiveDate,
        /// The value, as the books have it.
        amount: Money,
        /// Where it comes from (`import:<id>`).
        source: String,
    },
    /// Agree the lessor's fee for re-billing each traffic fine (zero: none), for fines registered from now.
    AgreeFineFee {
        /// The fee per fine.
        fee: Money,
    },
    /// The fine was paid (by the lessee directly, or confirmed paid).
    RecordFinePaid {
        /// Resolution number (УИН).
        resolution_number: String,
        /// Date it was paid.
        date: NaiveDate,
    },
    /// After a partial early repayment: take `amount` from the contract's credit against the principal and
    /// recompute the remaining lines.
    RecalculateSchedule {
        /// Effective date: lines due after it and not yet paid are recomputed.
        date: NaiveDate,
        /// Principal repaid early (taken from the credit balance).
        amount: Money,
        /// Shorter term or smaller payments.
        mode: RecalculationMode,
    },
    /// Everything is paid, the redemption included: the asset passes to the lessee.
    CompleteContract {
        /// Completion date.
        date: NaiveDate,
    },
    /// Early buyout: the outstanding principal and the redemption are taken from the credit, the lines due
    /// after the date are no longer owed, and the asset passes to the lessee. Everything due by the date
    /// (lines, penalties, fines) must already be paid.
    BuyOutEarly {
        /// Buyout date.
        date: NaiveDate,
    },
    /// The contract ends early.
    TerminateContract {
        /// Termination date; lines due after it and not paid are cancelled.
        date: NaiveDate,
        /// Why.
        reason: String,
    },
}
