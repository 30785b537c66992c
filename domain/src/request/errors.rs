//! Why a request command is refused.

use super::status::RequestStatus;

/// A broken business rule of the ClientRequest aggregate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    /// SubmitRequest on an id that already has a request.
    #[error("the request is already submitted")]
    AlreadySubmitted,
    /// Any other command on an id without a request.
    #[error("there is no such request")]
    NotSubmitted,
    /// A detail of the request's kind is wrong.
    #[error("{field}: {reason}")]
    Detail {
        /// The field within the kind's details, as the command names it.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The kind is about a contract and none is named.
    #[error("this kind of request must name a contract")]
    ContractRequired,
    /// The due date is before the submission day.
    #[error("the due date is before the day of the request")]
    DueBeforeSubmission,
    /// A text (comment, question, reason) is empty or too long.
    #[error("{field} must be 1 to {max} characters")]
    BadText {
        /// The attribute of the command the rule is about (the API maps it to its input field).
        field: &'static str,
        /// The longest allowed.
        max: usize,
    },
    /// The step does not apply in the request's status.
    #[error("the request is {}", .0.as_str())]
    WrongStatus(RequestStatus),
    /// Completing an insurance prolongation needs the new period and premium.
    #[error("completing an insurance prolongation needs the new period and premium")]
    ProlongationTermsRequired,
    /// Completing a vehicle-insurance request needs the policy arranged.
    #[error("completing a vehicle-insurance request needs the policy arranged")]
    PolicyTermsRequired,
    /// Too many attachments on one request.
    #[error("a request holds at most {0} attachments")]
    TooManyAttachments(usize),
}

impl crate::failure::Rejection for RequestError {}

impl RequestError {
    pub(crate) fn detail(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Detail {
            field,
            reason: reason.into(),
        }
    }
}
