//! The Company aggregate: a lessee company (юрлицо or ИП) registered by the back office.
//!
//! # Layout
//! - `aggregate.rs`: state, `handle` (the rules) and `apply`;
//! - `commands.rs`, `events.rs`, `errors.rs`: what comes in, what is recorded, what is refused;
//! - `services.rs`: the look-ups a command needs outside this aggregate (ИНН+КПП uniqueness).

mod aggregate;
mod commands;
mod errors;
mod events;
mod services;

pub use aggregate::Company;
pub use commands::{CompanyCommand, CompanyProfile, ManagerDetails, RequisitesChange};
pub use errors::CompanyError;
pub use events::{CompanyEvent, CompanyKind};
pub use services::{CompanyLookup, CompanyServices};
