//! The ClientRequest aggregate: a request (заявка) a lessee files in the cabinet — one of sixteen kinds,
//! each with its own typed details — and its workflow: Submitted → InReview → NeedsInformation ⇄ InReview →
//! Completed or Rejected, or Withdrawn by the client before completion; comments and attachments both
//! ways; a due date from the kind's service level. Completing some kinds has an effect on another aggregate
//! (a process manager applies it and records here whether it was applied).
//!
//! # Layout
//! - `details.rs`: the kinds and their details, with their validation;
//! - `aggregate.rs`: state, `handle` (the workflow), `apply`;
//! - `commands.rs`, `events.rs`, `errors.rs`: what comes in, what is recorded, what is refused;
//! - `status.rs`: where a request stands and which side acted.

mod aggregate;
mod commands;
mod details;
mod errors;
mod events;
mod status;

pub use aggregate::ClientRequest;
pub use commands::{Completion, RequestCommand, Submission};
pub use details::{
    AccountingDocument, CertificateKind, Delivery, Driver, RequestDetails, RequestKind,
    VehicleDocument,
};
pub use errors::RequestError;
pub use events::{NewPolicyTerms, ProlongationTerms, RequestEvent, TermsChangeTerms};
pub use status::{Party, RequestStatus};
