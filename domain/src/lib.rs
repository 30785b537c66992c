//! The pure leasing model: value objects, aggregates, commands, events and errors, and the schedule and
//! penalty arithmetic. Nothing here touches a database, HTTP or GraphQL; the rules come from DOMAIN.md.
//!
//! # Layout
//! - [`values`]: validated value objects (ИНН, КПП, ОГРН/ОГРНИП, БИК, bank accounts, e-mail, phone, money,
//!   VAT rates, VIN);
//! - [`company`]: the Company aggregate; [`content`]: news, FAQ and the terms of use; [`contract`]: the Contract aggregate; [`clock`]: the business clock;
//! - [`schedule`]: payment schedule arithmetic; [`penalty`]: penalty arithmetic; [`calendar`]: the
//!   production calendar (working days).

pub mod calendar;
pub mod clock;
pub mod company;
pub mod content;
pub mod contract;
pub mod document;
pub mod edo;
pub mod penalty;
pub mod policy;
pub mod reconciliation;
pub mod request;
pub mod schedule;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod values;
