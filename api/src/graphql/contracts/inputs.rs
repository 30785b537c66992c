//! The contract feature's inputs, each turned into its domain command with every field checked.

use crate::graphql::scalars::Date;
use async_graphql::{InputObject, Result};

use domain::contract::{self as dc, ContractTerms};
use domain::penalty::PenaltyTerms as DomainPenaltyTerms;
use domain::values::{Email, Vin};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::enums::*;
use crate::error::{parse_field, ApiError};
use crate::graphql::scalars::money;

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
    pub due_date: Date,
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
    pub date: Date,
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
    pub first_due_date: Date,
    /// How the schedule is computed.
    pub schedule_kind: ScheduleKind,
    /// The lines, for an explicit schedule only.
    pub lines: Option<Vec<ExplicitLineInput>>,
    /// Redemption payment (0 when none).
    pub redemption: Decimal,
    /// What the redemption is; required when it is above zero (the regular lines depend on it).
    pub redemption_kind: Option<RedemptionKind>,
    /// Penalty terms.
    pub penalty: PenaltyTermsInput,
}

impl ConcludeContractInput {
    pub(super) fn parse(self, contract_id: Uuid) -> Result<ContractTerms, ApiError> {
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
                    l.due_date.0,
                    money(&format!("input.lines.{i}.amount"), l.amount)?,
                ))
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(ContractTerms {
            contract_id,
            company_id: self.company_id,
            number: self.number,
            date: self.date.0,
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
            first_due_date: self.first_due_date.0,
            schedule_kind: self.schedule_kind.into(),
            explicit_lines,
            redemption: money("input.redemption", self.redemption)?,
            redemption_kind: self.redemption_kind.map(Into::into),
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
    pub date: Date,
}

/// A payment received from the bank.
#[derive(Debug, Clone, InputObject)]
pub struct RecordPaymentInput {
    /// The contract.
    pub contract_id: Uuid,
    /// Amount.
    pub amount: Decimal,
    /// Payment date (bank statement).
    pub date: Date,
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
    pub date: Date,
    /// Amount.
    pub amount: Decimal,
    /// The vehicle as in the resolution.
    pub vehicle: String,
    /// What it is for.
    pub description: String,
    /// The offence's article as the resolution names it («ч. 2 ст. 12.9»): it decides whether the fine
    /// may be paid at half within twenty days (ч. 1.3 ст. 32.2 КоАП РФ).
    pub article: Option<String>,
    /// The discount's last day as the register states it (without it, twenty days after the resolution
    /// when the article admits the discount).
    pub discount_until: Option<Date>,
}

/// The contract's terms for re-billing traffic fines.
#[derive(Debug, Clone, InputObject)]
pub struct AgreeFineFeeInput {
    /// The contract.
    pub contract_id: Uuid,
    /// The lessor's fee added to each fine registered from now on (0: none).
    pub fee: Decimal,
}

/// A fine paid outside the contract's payments.
#[derive(Debug, Clone, InputObject)]
pub struct RecordFinePaidInput {
    /// The contract.
    pub contract_id: Uuid,
    /// Resolution number (УИН).
    pub resolution_number: String,
    /// Date it was paid.
    pub date: Date,
}

/// Recalculation after a partial early repayment.
#[derive(Debug, Clone, InputObject)]
pub struct RecalculateScheduleInput {
    /// The contract.
    pub contract_id: Uuid,
    /// Effective date: unpaid lines due after it are recomputed.
    pub date: Date,
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
    pub date: Date,
}

/// Early termination.
#[derive(Debug, Clone, InputObject)]
pub struct TerminateContractInput {
    /// The contract.
    pub contract_id: Uuid,
    /// Termination date; unpaid lines due after it are cancelled.
    pub date: Date,
    /// Why.
    pub reason: String,
}
