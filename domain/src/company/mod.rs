//! The Company aggregate: a lessee company (юрлицо or ИП) registered by the back office.
//!
//! # Layout
//! - `aggregate.rs`: state, `handle` (the rules) and `apply`;
//! - `commands.rs`, `events.rs`, `errors.rs`: what comes in, what is recorded, what is refused;
//! - `authority.rs`: the roles of a company's people and the signing-authority rule (director or МЧД);
//! - `services.rs`: the look-ups a command needs outside this aggregate (ИНН+КПП uniqueness).

mod aggregate;
pub mod authority;
mod commands;
mod errors;
mod events;
mod power;
mod services;

pub use aggregate::Company;
pub use authority::{authority, Act, Authority, AuthorityError, CompanyRole};
pub use commands::{CompanyCommand, CompanyProfile, ManagerDetails, RequisitesChange};
pub use errors::CompanyError;
pub use events::{CompanyEvent, CompanyKind};
pub use power::PowerOfAttorney;
pub use services::{CompanyLookup, CompanyServices};
