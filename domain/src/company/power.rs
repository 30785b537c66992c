//! A power of attorney (МЧД) a company registers for one of its people: the fact the signing-authority rule
//! (`authority.rs`) reads. Kept apart from the rule so that commands and events need nothing of requests.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::document::DocumentKind;

/// A power of attorney the company registered: to whom, for what, for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerOfAttorney {
    /// Its number in the ФНС's register of МЧД (a GUID).
    pub number: Uuid,
    /// The representative: an account of one of the company's people.
    pub representative: Uuid,
    /// The kinds of document the representative may sign (or refuse) for the company.
    pub document_kinds: Vec<DocumentKind>,
    /// Whether the representative may submit the requests that commit the company.
    pub requests: bool,
    /// First day it is valid.
    pub valid_from: NaiveDate,
    /// Last day it is valid.
    pub valid_until: NaiveDate,
}
