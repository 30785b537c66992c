//! The pure leasing model: value objects, aggregates, commands, events and errors, and the schedule and
//! penalty arithmetic. Nothing here touches a database, HTTP or GraphQL; the rules come from docs/domain.md.
//!
//! # Layout
//! - [`values`]: validated value objects (ИНН, КПП, ОГРН/ОГРНИП, БИК, bank accounts, e-mail, phone, money
//!   with its one formatter, VAT rates, VIN, ЭДО participant ids, file references);
//! - aggregates, each with its commands, events, errors (and services where a command needs the outside):
//!   [`company`], [`contract`], [`policy`], [`request`] (client requests), [`document`] (exchanged and
//!   signed documents), [`edo`] (the ЭДО connection), [`content`] (news, FAQ, terms of use), [`clock`] (the
//!   business clock), [`payments`] (incoming bank payments, the purpose reader and the matching rule);
//! - arithmetic, pure: [`schedule`] (payment schedules), [`penalty`] (penalties), [`reconciliation`] (the
//!   act of reconciliation from a contract's events), [`calendar`] (the production calendar);
//! - [`failure`]: a broken rule or a failed look-up, as the command executor tells them apart;
//! - `testing` (tests and the `testing` feature): sample profiles, terms and dates.

pub mod calendar;
pub mod clock;
pub mod company;
pub mod content;
pub mod contract;
pub mod conversation;
pub mod document;
pub mod edo;
pub mod failure;
pub mod fines;
pub mod inbox;
pub mod payments;
pub mod penalty;
pub mod policy;
pub mod reconciliation;
pub mod request;
pub mod schedule;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod values;
