//! Commands of the Policy aggregate. They carry value objects, so what reaches the aggregate is
//! well-formed; the aggregate enforces the rules between values and against its state.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{InsuredEvent, PolicyKind, PremiumPayer};
use crate::values::{FileRef, Money};

/// Everything the back office gives to issue a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyTerms {
    /// The new policy's id.
    pub policy_id: Uuid,
    /// The insured contract (its lessee is the policy's company).
    pub contract_id: Uuid,
    /// Insurance company.
    pub insurer: String,
    /// Kind.
    pub kind: PolicyKind,
    /// Policy number.
    pub number: String,
    /// First day of cover.
    pub starts_on: NaiveDate,
    /// Last day of cover.
    pub ends_on: NaiveDate,
    /// Sum insured.
    pub sum_insured: Money,
    /// Premium.
    pub premium: Money,
    /// Installments (due date, amount); empty: the whole premium is due on the first day of cover.
    pub installments: Vec<(NaiveDate, Money)>,
    /// Who pays the insurer.
    pub payer: PremiumPayer,
    /// The policy form.
    pub form: Option<FileRef>,
}

/// A new period.
#[derive(Debug, Clone, PartialEq)]
pub struct Prolongation {
    /// Last day of the new period (it starts the day after the current end).
    pub ends_on: NaiveDate,
    /// The new period's premium.
    pub premium: Money,
    /// Installments; empty: all of it due on the new period's first day.
    pub installments: Vec<(NaiveDate, Money)>,
    /// A new policy number, if any.
    pub number: Option<String>,
    /// A new form, if any.
    pub form: Option<FileRef>,
}

/// A change of terms within the period.
#[derive(Debug, Clone, PartialEq)]
pub struct TermsChange {
    /// The new sum insured (unchanged when `None`).
    pub sum_insured: Option<Money>,
    /// An additional premium and its due date.
    pub additional_premium: Option<(NaiveDate, Money)>,
    /// What changed.
    pub description: String,
}

/// A command to a policy.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyCommand {
    /// Issue a policy.
    IssuePolicy(Box<PolicyTerms>),
    /// Store (or replace) the policy form.
    AttachPolicyForm {
        /// The form.
        form: FileRef,
    },
    /// Premium was paid (to the lessor for a re-billed premium, to the insurer otherwise).
    RecordPremiumPaid {
        /// Amount.
        amount: Money,
        /// Date.
        date: NaiveDate,
    },
    /// Prolong for a new period.
    ProlongPolicy(Box<Prolongation>),
    /// Change the terms within the period.
    ChangePolicyTerms(TermsChange),
    /// The lessee reports an insured event.
    ReportInsuredEvent(Box<InsuredEvent>),
    /// Cancel the policy.
    CancelPolicy {
        /// Cancellation date.
        date: NaiveDate,
        /// Why.
        reason: String,
    },
}
