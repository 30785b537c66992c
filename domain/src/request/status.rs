//! Where a request is in its workflow, and which side acted: the vocabulary of its events, errors and read
//! models.

use serde::{Deserialize, Serialize};

/// Where a request is in its workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Filed, nobody has taken it yet.
    Submitted,
    /// The lessor works on it.
    InReview,
    /// The lessor asked the client for more information.
    NeedsInformation,
    /// Done.
    Completed,
    /// Refused, with a reason.
    Rejected,
    /// The client withdrew it.
    Withdrawn,
}

impl RequestStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::InReview => "in_review",
            Self::NeedsInformation => "needs_information",
            Self::Completed => "completed",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// From the stored name; `None` for a name no status has (a read model must treat that as an error).
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Submitted,
            Self::InReview,
            Self::NeedsInformation,
            Self::Completed,
            Self::Rejected,
            Self::Withdrawn,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether work on it is over.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Completed | Self::Rejected | Self::Withdrawn)
    }
}

/// Which side acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The lessee.
    Client,
    /// The lessor's staff.
    Staff,
}

impl Party {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Staff => "staff",
        }
    }
}
