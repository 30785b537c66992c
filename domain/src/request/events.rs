//! Events of the ClientRequest aggregate. `event_type()` is the variant name and never changes; a field
//! change bumps `event_version()` and comes with an upcaster. Who did it and when is in each event's
//! metadata (actor, recorded time), so the history needs no fields of its own for that.

use chrono::NaiveDate;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::status::Party;
use super::RequestDetails;
use crate::values::{FileRef, Money};

/// The new period and premium a completed insurance prolongation applies to the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProlongationTerms {
    /// Last day of the new period.
    pub ends_on: NaiveDate,
    /// Premium of the new period.
    pub premium: Money,
    /// Installments (due date, amount); empty: all on the first day.
    pub installments: Vec<(NaiveDate, Money)>,
    /// New policy number, if the insurer issued one.
    pub number: Option<String>,
}

/// What staff agreed with the insurer on a completed change of insurance terms, applied to the policy with
/// the request's description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsChangeTerms {
    /// The new sum insured (unchanged when absent).
    pub sum_insured: Option<Money>,
    /// An additional premium (due date, amount) when the change costs more.
    pub additional_premium: Option<(NaiveDate, Money)>,
}

/// The policy staff arranged on a completed vehicle-insurance request: issued on the request's contract with
/// the request's kind (ОСАГО/КАСКО), the completion's result file as its form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPolicyTerms {
    /// Insurance company.
    pub insurer: String,
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
    /// Installments (due date, amount); empty: all on the first day.
    pub installments: Vec<(NaiveDate, Money)>,
    /// Who pays the insurer.
    pub payer: crate::policy::PremiumPayer,
}

/// What happened to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RequestEvent {
    /// The client filed a request.
    RequestSubmitted {
        /// The request's id.
        request_id: Uuid,
        /// The company it is filed for.
        company_id: Uuid,
        /// The contract it is about, if any.
        contract_id: Option<Uuid>,
        /// The account that filed it.
        submitted_by: Uuid,
        /// The business day it was filed.
        submitted_on: NaiveDate,
        /// When it is due, from the kind's service level.
        due_on: NaiveDate,
        /// The kind and its details.
        details: RequestDetails,
        /// Files given with it.
        attachments: Vec<FileRef>,
        /// The power of attorney (МЧД number) it was filed under, when the person was not the company's
        /// director (issue 26; absent: a director, staff, or a kind that commits nothing).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        power_of_attorney: Option<Uuid>,
    },
    /// Staff took it into review.
    RequestTakenIntoReview,
    /// Staff asked the client for information.
    InformationRequested {
        /// The question.
        question: String,
    },
    /// The client answered (a comment or a file while information was requested); back in review.
    InformationProvided,
    /// A comment.
    CommentAdded {
        /// Its id.
        comment_id: Uuid,
        /// Who wrote it.
        party: Party,
        /// The text.
        text: String,
    },
    /// A file was attached.
    AttachmentAdded {
        /// Who attached it.
        party: Party,
        /// The file.
        file: FileRef,
    },
    /// Staff completed it.
    RequestCompleted {
        /// The business day.
        completed_on: NaiveDate,
        /// A note to the client.
        note: Option<String>,
        /// The result document (certificate, ПТС scan, documents).
        result: Option<FileRef>,
        /// For an insurance prolongation: the new period and premium.
        prolongation: Option<ProlongationTerms>,
        /// For a change of insurance terms: the new sum insured and an additional premium, if any
        /// (issue 26; absent: none, and for other kinds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        terms_change: Option<TermsChangeTerms>,
        /// For a vehicle-insurance request: the policy arranged (issue 26; absent for other kinds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        new_policy: Option<NewPolicyTerms>,
    },
    /// Staff rejected it.
    RequestRejected {
        /// Why.
        reason: String,
    },
    /// The client withdrew it.
    RequestWithdrawn {
        /// Why, if the client said.
        reason: Option<String>,
    },
    /// The completion's effect on another aggregate was applied (recorded by the process manager).
    EffectApplied {
        /// What was done.
        detail: String,
        /// Documents the accounting system issued that were delivered on the request (an
        /// accounting-documents request's счета-фактуры, УПД and acts; absent before issue 25).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        documents: Vec<uuid::Uuid>,
    },
    /// The completion's effect could not be applied; staff must act.
    EffectFailed {
        /// Why.
        reason: String,
    },
}

impl DomainEvent for RequestEvent {
    fn event_type(&self) -> String {
        match self {
            Self::RequestSubmitted { .. } => "RequestSubmitted",
            Self::RequestTakenIntoReview => "RequestTakenIntoReview",
            Self::InformationRequested { .. } => "InformationRequested",
            Self::InformationProvided => "InformationProvided",
            Self::CommentAdded { .. } => "CommentAdded",
            Self::AttachmentAdded { .. } => "AttachmentAdded",
            Self::RequestCompleted { .. } => "RequestCompleted",
            Self::RequestRejected { .. } => "RequestRejected",
            Self::RequestWithdrawn { .. } => "RequestWithdrawn",
            Self::EffectApplied { .. } => "EffectApplied",
            Self::EffectFailed { .. } => "EffectFailed",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}
