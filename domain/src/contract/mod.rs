//! The Contract aggregate: a leasing contract from conclusion to completion or termination — its payment
//! schedule, the payments received and how they were allocated, overdue lines and penalties, traffic fines
//! re-billed to the lessee, early repayment and buyout.
//!
//! # Layout
//! - `aggregate.rs`: state, `handle` (the rules), `apply`, and the early-buyout quote;
//! - `commands.rs`, `events.rs`, `errors.rs`: what comes in, what is recorded, what is refused;
//! - `services.rs`: what a command needs from outside (company existence, the production calendar);
//! - `values.rs`: the vocabulary commands and events share (the leased subject, a payment's purpose).
//!
//! The arithmetic lives beside it, pure: [`crate::schedule`] and [`crate::penalty`].

mod aggregate;
mod commands;
mod errors;
mod events;
mod services;
mod values;

pub use aggregate::{BuyoutQuote, Contract};
pub use commands::{Advance, ContractCommand, ContractTerms};
pub use errors::ContractError;
pub use events::{Allocation, AllocationTarget, ContractEvent, ContractStatus};
pub use services::{CompanyDirectory, ContractServices};
pub use values::{LeasingSubject, PaymentPurpose};
