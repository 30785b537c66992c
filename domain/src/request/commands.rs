//! Commands of the ClientRequest aggregate.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{Party, ProlongationTerms, RequestDetails};
use crate::values::FileRef;

/// A new request, as the API hands it over (the due date already computed from the service level).
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// The new request's id.
    pub request_id: Uuid,
    /// The company.
    pub company_id: Uuid,
    /// The contract (required for kinds about a contract).
    pub contract_id: Option<Uuid>,
    /// The filing account.
    pub submitted_by: Uuid,
    /// The business day.
    pub submitted_on: NaiveDate,
    /// Due date.
    pub due_on: NaiveDate,
    /// The kind and details.
    pub details: RequestDetails,
    /// Files.
    pub attachments: Vec<FileRef>,
    /// The power of attorney the filing person acted under, for a request that commits the company and was
    /// not filed by its director (checked by the caller against the company's powers).
    pub power_of_attorney: Option<Uuid>,
}

/// Staff's completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The business day.
    pub completed_on: NaiveDate,
    /// A note to the client.
    pub note: Option<String>,
    /// The result document.
    pub result: Option<FileRef>,
    /// For an insurance prolongation.
    pub prolongation: Option<ProlongationTerms>,
    /// For a change of insurance terms: what the insurer agreed (the description is the request's).
    pub terms_change: Option<super::TermsChangeTerms>,
    /// For a vehicle-insurance request: the policy arranged.
    pub new_policy: Option<super::NewPolicyTerms>,
}

/// A command to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestCommand {
    /// File a request.
    SubmitRequest(Box<Submission>),
    /// Staff takes it into review.
    TakeIntoReview,
    /// Staff asks the client for information.
    AskForInformation {
        /// The question.
        question: String,
    },
    /// A comment from either side.
    Comment {
        /// Its id.
        comment_id: Uuid,
        /// Who.
        party: Party,
        /// Text.
        text: String,
    },
    /// A file from either side.
    Attach {
        /// Who.
        party: Party,
        /// The file.
        file: FileRef,
    },
    /// Staff completes it.
    Complete(Box<Completion>),
    /// Staff rejects it.
    Reject {
        /// Why.
        reason: String,
    },
    /// The client withdraws it.
    Withdraw {
        /// Why.
        reason: Option<String>,
    },
    /// The process manager records the completion's effect (once; a repeat records nothing).
    RecordEffect {
        /// `Ok(detail)` when applied, `Err(reason)` when refused.
        outcome: Result<String, String>,
        /// The imported documents delivered with it (when applied).
        documents: Vec<uuid::Uuid>,
    },
}
