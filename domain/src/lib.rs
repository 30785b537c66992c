//! The pure leasing model: value objects, aggregates, commands, events and errors. Nothing here touches a
//! database, HTTP or GraphQL; the rules come from DOMAIN.md.
//!
//! # Layout
//! - [`values`]: validated value objects (ИНН, КПП, ОГРН/ОГРНИП, БИК, bank accounts, e-mail, phone, money, VIN);
//! - [`company`]: the Company aggregate.

pub mod company;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod values;
