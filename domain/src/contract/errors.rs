//! Why a contract command is refused.

use rust_decimal::Decimal;

use super::ContractStatus;
use crate::schedule::ScheduleError;
use crate::values::Money;

/// A broken business rule of the Contract aggregate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContractError {
    /// ConcludeContract on an id that already has a contract.
    #[error("the contract is already concluded")]
    AlreadyConcluded,
    /// Any other command on an id without a contract.
    #[error("there is no such contract")]
    NotConcluded,
    /// The lessee is not a registered company.
    #[error("no registered company has this id")]
    CompanyNotFound,
    /// A required text is empty.
    #[error("{field} must not be empty")]
    Empty {
        /// The attribute of the command the rule is about (the API maps it to its input field).
        field: &'static str,
    },
    /// An amount that must be above zero is not.
    #[error("{field} must be greater than zero")]
    NotPositive {
        /// The attribute of the command the rule is about (the API maps it to its input field).
        field: &'static str,
    },
    /// A number outside what the contract allows.
    #[error("{field}: {reason}")]
    OutOfRange {
        /// The attribute of the command the rule is about (the API maps it to its input field).
        field: &'static str,
        /// What the range is.
        reason: &'static str,
    },
    /// The advance is the whole price or more: nothing would be leased on credit.
    #[error("the advance ({advance}) must be less than the price ({price})")]
    AdvanceNotBelowPrice {
        /// The advance.
        advance: Money,
        /// The price.
        price: Money,
    },
    /// The term is zero months.
    #[error("the term must be at least one month")]
    TermZero,
    /// Neither a VIN nor a serial number identifies the subject.
    #[error("the subject needs a VIN or a serial/factory number")]
    SubjectNotIdentified,
    /// The explicit schedule cannot be a schedule.
    #[error("schedule: {0}")]
    Schedule(ScheduleError),
    /// A date before the contract date.
    #[error("{field} is before the contract date")]
    BeforeContractDate {
        /// The attribute of the command the rule is about (the API maps it to its input field).
        field: &'static str,
    },
    /// A fine with this resolution number is already registered on the contract.
    #[error("fine {0} is already registered")]
    DuplicateFine(String),
    /// No fine with this resolution number on the contract.
    #[error("there is no fine {0} on this contract")]
    FineNotFound(String),
    /// The fine is already paid.
    #[error("fine {0} is already paid")]
    FineAlreadyPaid(String),
    /// The command does not apply in the contract's status.
    #[error("the contract is {}", .0.as_str())]
    WrongStatus(ContractStatus),
    /// Recalculation needs money on the credit balance.
    #[error("the credit balance ({available}) is less than the early repayment")]
    InsufficientCredit {
        /// The credit balance.
        available: Money,
    },
    /// The early repayment exceeds the principal of the remaining lines.
    #[error("the early repayment exceeds the remaining principal ({outstanding})")]
    RepaymentExceedsPrincipal {
        /// Principal of the lines that would be recomputed.
        outstanding: Money,
    },
    /// No unpaid lines after the date.
    #[error("no unpaid lines are due after the date")]
    NothingToRecalculate,
    /// An explicit schedule has no principal parts to recompute.
    #[error("an explicit schedule cannot be recalculated; import the new schedule instead")]
    ExplicitScheduleNotRecalculated,
    /// CompleteContract while money is owed.
    #[error("{amount} is still owed on the contract")]
    OutstandingDebt {
        /// What is owed (lines, penalties, fines).
        amount: Money,
    },
    /// Early buyout while the credit does not cover the buyout price.
    #[error("the credit balance ({available}) is less than the buyout price ({price})")]
    BuyoutNotCovered {
        /// The credit balance.
        available: Money,
        /// Outstanding principal + redemption.
        price: Money,
    },
    /// A look-up the command needed failed (a store error, not a business rule); the executor reports it
    /// as such.
    #[error(transparent)]
    LookupFailed(crate::failure::LookupFailed),
}

/// Checks `0 ≤ value ≤ max`.
pub(crate) fn in_range(
    field: &'static str,
    value: Decimal,
    max: Decimal,
    reason: &'static str,
) -> Result<(), ContractError> {
    if value < Decimal::ZERO || value > max {
        return Err(ContractError::OutOfRange { field, reason });
    }
    Ok(())
}

impl crate::failure::Rejection for ContractError {
    fn lookup_failed(&self) -> Option<&crate::failure::LookupFailed> {
        match self {
            Self::LookupFailed(f) => Some(f),
            _ => None,
        }
    }
}
