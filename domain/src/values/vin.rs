//! Vehicle identification numbers.

use serde::{Deserialize, Serialize};

use super::{string_value, Rule, ValueError};

/// A VIN: 17 characters of `[A-HJ-NPR-Z0-9]` (no I, O, Q). The North-American check digit is deliberately
/// not enforced: European VINs such as WVWZZZ1JZ3W386752 fail it and are valid (docs/domain.md).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Vin(String);
string_value!(Vin);

impl Vin {
    /// Parses a VIN, upper-casing it first.
    ///
    /// # Errors
    /// [`ValueError`] on a length other than 17 or a character outside the VIN alphabet (I, O and Q included).
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim().to_uppercase();
        if s.chars().count() != 17 {
            return Err(ValueError::new(
                "VIN",
                Rule::Length(vec![17]),
                "must be 17 characters",
            ));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_digit() || (c.is_ascii_uppercase() && !"IOQ".contains(*c))))
        {
            return Err(ValueError::new(
                "VIN",
                Rule::Format,
                format!(
                    "character {c:?} is not allowed (Latin letters except I, O, Q, and digits)"
                ),
            ));
        }
        Ok(Self(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vin_cases() {
        for (s, ok) in [
            ("WVWZZZ1JZ3W386752", true),
            ("1HGCM82633A004352", true),
            ("wvwzzz1jz3w386752", true),
            ("WVWZZZ1JZ3W38675", false),
            ("WVWZZZ1JZ3W3867522", false),
            ("WVWZZZ1JZ3I386752", false),
            ("WVWZZZ1JZ3O386752", false),
            ("WVWZZZ1JZ3Q386752", false),
            ("WVWZZZ1JZ3Ж386752", false),
        ] {
            assert_eq!(Vin::parse(s).is_ok(), ok, "VIN {s:?}");
        }
    }

    proptest! {
        #[test]
        fn every_string_of_the_vin_alphabet_parses(s in "[A-HJ-NPR-Z0-9]{17}") {
            prop_assert!(Vin::parse(&s).is_ok());
        }

        #[test]
        fn a_forbidden_letter_anywhere_is_rejected(s in "[A-HJ-NPR-Z0-9]{16}", pos in 0usize..17, c in "[IOQ]") {
            let mut v = s.clone();
            v.insert_str(pos, &c);
            prop_assert!(Vin::parse(&v).is_err());
        }
    }
}
