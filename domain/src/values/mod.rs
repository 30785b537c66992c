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

/// Which rule a value broke, for machines: the API's `extensions.reason` and its parameters, and the
/// message in the caller's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Empty where a value is required.
    Required,
    /// Only digits are allowed.
    DigitsOnly,
    /// Must have one of these lengths (characters, or digits for numbers).
    Length(Vec<usize>),
    /// Must have `min` to `max` characters (or digits).
    LengthBetween {
        /// At least.
        min: usize,
        /// At most.
        max: usize,
    },
    /// A check digit or control key does not match the rest.
    CheckDigit,
    /// Not in the expected form (the English reason says which).
    Format,
    /// More decimals than allowed.
    Decimals {
        /// At most.
        max: u32,
    },
}

/// Why a value was rejected. The API layer adds the name of the input field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct ValueError {
    /// What kind of value was being parsed ("ИНН", "БИК", …).
    pub what: &'static str,
    /// Human-readable reason (English).
    pub reason: String,
    /// The rule broken.
    pub rule: Rule,
}

impl ValueError {
    pub(crate) fn new(what: &'static str, rule: Rule, reason: impl Into<String>) -> Self {
        Self {
            what,
            reason: reason.into(),
            rule,
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
    let d = digits(s)
        .ok_or_else(|| ValueError::new(what, Rule::DigitsOnly, "must contain digits only"))?;
    if d.len() != len {
        return Err(ValueError::new(
            what,
            Rule::Length(vec![len]),
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
