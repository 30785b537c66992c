//! Validated value objects. Each type can only be built through its `parse` (or a checked constructor), so a
//! value that exists is valid; the rules are docs/domain.md's "Identifiers and their checks" and "Money and VAT".
//!
//! Deserialisation trusts stored data (events already passed validation when they were recorded); a rule
//! tightened later must never make history unreadable.

mod bank;
mod edo;
mod email;
mod file;
mod identifiers;
mod money;
pub mod personal;
mod phone;
mod vat;
mod vin;

pub use bank::{BankAccount, BankField, BankRequisites, Bik};
pub use edo::{EdoParticipantId, EDO_OPERATORS};
pub use email::Email;
pub use file::FileRef;
pub use identifiers::{Inn, Kpp, Ogrn, Ogrnip, RegistrationNumber};
pub use money::Money;
pub use personal::Personal;
pub use phone::Phone;
pub use vat::vat_rate_on;
pub use vin::Vin;

/// Why a value was rejected. The API layer adds the name of the input field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct ValueError {
    /// What kind of value was being parsed ("ИНН", "БИК", …).
    pub what: &'static str,
    /// Human-readable reason.
    pub reason: String,
}

impl ValueError {
    pub(crate) fn new(what: &'static str, reason: impl Into<String>) -> Self {
        Self {
            what,
            reason: reason.into(),
        }
    }
}

/// Digits of an all-digit string, or `None` when any character is not an ASCII digit.
pub(crate) fn digits(s: &str) -> Option<Vec<u32>> {
    s.chars().map(|c| c.to_digit(10)).collect()
}

/// Checks "exactly `len` ASCII digits", returning the digits.
pub(crate) fn exact_digits(
    what: &'static str,
    s: &str,
    len: usize,
) -> Result<Vec<u32>, ValueError> {
    let d = digits(s).ok_or_else(|| ValueError::new(what, "must contain digits only"))?;
    if d.len() != len {
        return Err(ValueError::new(
            what,
            format!("must be {len} digits, got {}", d.len()),
        ));
    }
    Ok(d)
}

/// Implements `Display`, `AsRef<str>`, `as_str()` and transparent serde for a `String` newtype.
macro_rules! string_value {
    ($t:ident) => {
        impl $t {
            /// The canonical text form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}
pub(crate) use string_value;
