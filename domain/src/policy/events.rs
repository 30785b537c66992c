//! Events of the Policy aggregate. `event_type()` is the variant name and never changes; a field change
//! bumps `event_version()` and comes with an upcaster.

use chrono::NaiveDate;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::personal::Reporter;
use crate::values::Personal;
use crate::values::{FileRef, Money, Phone};

/// What a policy insures against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// ОСАГО: compulsory motor third-party liability.
    Osago,
    /// КАСКО: damage to and theft of the vehicle.
    Kasko,
    /// Property insurance (equipment, real estate).
    Property,
    /// Anything else.
    Other,
}

impl PolicyKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Osago => "osago",
            Self::Kasko => "kasko",
            Self::Property => "property",
            Self::Other => "other",
        }
    }
}

/// Who pays the insurer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PremiumPayer {
    /// The lessee pays the insurer itself; the lessor only records that it was paid.
    Lessee,
    /// The lessor pays the insurer and re-bills the lessee: each installment is owed to the lessor.
    Lessor,
}

impl PremiumPayer {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lessee => "lessee",
            Self::Lessor => "lessor",
        }
    }
}

/// A part of the premium, due on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installment {
    /// Its number within the policy (1, 2, … across prolongations and changes).
    pub number: u32,
    /// Due date.
    pub due_date: NaiveDate,
    /// Amount.
    pub amount: Money,
}

/// An insured event (страховой случай) as the lessee reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsuredEvent {
    /// Its id.
    pub event_id: Uuid,
    /// When it happened.
    pub date: NaiveDate,
    /// Where (free text: personal, the reporter's).
    pub place: Personal<String, Reporter>,
    /// What happened (free text: personal, the reporter's).
    pub description: Personal<String, Reporter>,
    /// Photos, reports, certificates.
    pub attachments: Vec<FileRef>,
    /// A phone to reach the reporting person (personal data).
    pub contact_phone: Personal<Phone, Reporter>,
}

/// What happened to a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PolicyEvent {
    /// A policy was issued on a contract's asset.
    PolicyIssued {
        /// The policy's id.
        policy_id: Uuid,
        /// The insured contract.
        contract_id: Uuid,
        /// The lessee.
        company_id: Uuid,
        /// Insurance company.
        insurer: String,
        /// Kind.
        kind: PolicyKind,
        /// Policy number (series and number as printed).
        number: String,
        /// First day of cover.
        starts_on: NaiveDate,
        /// Last day of cover.
        ends_on: NaiveDate,
        /// Sum insured.
        sum_insured: Money,
        /// The premium.
        premium: Money,
        /// The premium in installments; they add up to `premium`.
        installments: Vec<Installment>,
        /// Who pays the insurer.
        payer: PremiumPayer,
        /// The policy form, when uploaded with the issue.
        form: Option<FileRef>,
    },
    /// The policy form (scan or PDF) was stored or replaced.
    PolicyFormAttached {
        /// The form.
        form: FileRef,
    },
    /// Premium was paid; `allocations` lists the installments it covered.
    PremiumPaid {
        /// Payment date.
        date: NaiveDate,
        /// Amount.
        amount: Money,
        /// (installment number, amount) covered, oldest first.
        allocations: Vec<(u32, Money)>,
    },
    /// The policy was prolonged for a new period with a new premium.
    PolicyProlonged {
        /// First day of the new period.
        starts_on: NaiveDate,
        /// Last day of the new period.
        ends_on: NaiveDate,
        /// The new period's premium.
        premium: Money,
        /// Its installments (numbers continue the policy's).
        installments: Vec<Installment>,
        /// The new policy number, when the insurer issued one.
        number: Option<String>,
        /// The new form, when uploaded.
        form: Option<FileRef>,
    },
    /// Terms changed during the period (sum insured, an additional premium).
    PolicyTermsChanged {
        /// Sum insured after the change.
        sum_insured: Money,
        /// An additional premium installment, when the change costs more.
        additional_premium: Option<Installment>,
        /// What changed, as agreed with the insurer.
        description: String,
    },
    /// The lessee reported an insured event.
    InsuredEventReported(InsuredEvent),
    /// The policy was cancelled; installments due after the date and unpaid are no longer owed.
    PolicyCancelled {
        /// Cancellation date.
        date: NaiveDate,
        /// Why.
        reason: String,
        /// Installments no longer owed.
        cancelled_installments: Vec<u32>,
    },
}

impl DomainEvent for PolicyEvent {
    fn event_type(&self) -> String {
        match self {
            Self::PolicyIssued { .. } => "PolicyIssued",
            Self::PolicyFormAttached { .. } => "PolicyFormAttached",
            Self::PremiumPaid { .. } => "PremiumPaid",
            Self::PolicyProlonged { .. } => "PolicyProlonged",
            Self::PolicyTermsChanged { .. } => "PolicyTermsChanged",
            Self::InsuredEventReported(_) => "InsuredEventReported",
            Self::PolicyCancelled { .. } => "PolicyCancelled",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}
