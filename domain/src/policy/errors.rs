//! Why a policy command is refused.

use crate::values::Money;

/// A broken business rule of the Policy aggregate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// IssuePolicy on an id that already has a policy.
    #[error("the policy is already issued")]
    AlreadyIssued,
    /// Any other command on an id without a policy.
    #[error("there is no such policy")]
    NotIssued,
    /// The contract does not exist.
    #[error("there is no such contract")]
    ContractNotFound,
    /// A required text is empty (or too long).
    #[error("{field} must be 1 to {max} characters")]
    BadText {
        /// The attribute of the command the rule is about (the API maps it to its input field).
        field: &'static str,
        /// The longest allowed.
        max: usize,
    },
    /// An amount that must be above zero is not.
    #[error("{field} must be greater than zero")]
    NotPositive {
        /// The attribute of the command the rule is about (the API maps it to its input field).
        field: &'static str,
    },
    /// The period ends before it starts.
    #[error("{field} must be after the first day of cover")]
    PeriodNotAfterStart {
        /// The attribute of the command the rule is about (the API maps it to its input field).
        field: &'static str,
    },
    /// The installments do not add up to the premium.
    #[error("the installments add up to {sum}, not the premium {premium}")]
    InstallmentsDoNotAddUp {
        /// Their sum.
        sum: Money,
        /// The premium.
        premium: Money,
    },
    /// An installment falls after the end of cover.
    #[error("installment {0} is due after the end of cover")]
    InstallmentAfterCover(usize),
    /// The payment is more than what is unpaid.
    #[error("the payment exceeds the unpaid premium ({unpaid})")]
    PaymentExceedsPremium {
        /// What is unpaid.
        unpaid: Money,
    },
    /// The policy is cancelled.
    #[error("the policy is cancelled")]
    Cancelled,
    /// The insured event's date is outside every period of cover.
    #[error("the date is outside the period of cover")]
    OutsideCover,
    /// The same insured event reported twice.
    #[error("this insured event is already reported")]
    EventAlreadyReported,
    /// A date before the policy's first day of cover.
    #[error("{field} is before the first day of cover")]
    BeforeCover {
        /// The attribute of the command the rule is about (the API maps it to its input field).
        field: &'static str,
    },
    /// A look-up the command needed failed (a store error, not a business rule); the executor reports it
    /// as such.
    #[error(transparent)]
    LookupFailed(crate::failure::LookupFailed),
}

impl crate::failure::Rejection for PolicyError {
    fn lookup_failed(&self) -> Option<&crate::failure::LookupFailed> {
        match self {
            Self::LookupFailed(f) => Some(f),
            _ => None,
        }
    }
}
