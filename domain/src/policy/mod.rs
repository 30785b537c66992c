//! The Policy aggregate: an insurance policy on a leased asset — who insures it, for what period and sum,
//! the premium in installments and who pays it (the lessee directly, or the lessor, who re-bills the lessee:
//! those installments are the lessee's insurance debt), prolongations, changes of terms, insured events the
//! lessee reports, and cancellation. Expiry is not an event: a policy past its end date is expired, and the
//! read model marks it so as business days start.
//!
//! # Layout
//! - `aggregate.rs`: state, `handle` (the rules), `apply`;
//! - `commands.rs`, `events.rs`, `errors.rs`: what comes in, what is recorded, what is refused;
//! - `services.rs`: what a command needs from outside (the contract a policy insures).

mod aggregate;
mod commands;
mod errors;
mod events;
mod services;

pub use aggregate::Policy;
pub use commands::{PolicyCommand, PolicyTerms, Prolongation, TermsChange};
pub use errors::PolicyError;
pub use events::{Installment, InsuredEvent, PolicyEvent, PolicyKind, PremiumPayer};
pub use services::{ContractLookup, PolicyServices};
