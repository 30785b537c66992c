//! Phone numbers in international form.

use serde::{Deserialize, Serialize};

use super::{string_value, Rule, ValueError};

/// A phone number normalised to `+` and 10–15 digits (E.164). A Russian number written with a leading 8
/// (`8 495 …`) becomes `+7 …`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);
string_value!(Phone);

impl Phone {
    /// Parses a phone number, ignoring spaces, dashes, dots and parentheses.
    ///
    /// # Errors
    /// [`ValueError`] on other characters or a digit count outside 10–15.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let plus = s.starts_with('+');
        let body = if plus { &s[1..] } else { s };
        let mut digits = String::new();
        for c in body.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => {
                    return Err(ValueError::new(
                        "phone",
                        Rule::Format,
                        "may contain only digits, spaces, dashes and parentheses",
                    ))
                }
            }
        }
        if !plus && digits.len() == 11 && digits.starts_with('8') {
            digits.replace_range(0..1, "7");
        }
        if !(10..=15).contains(&digits.len()) {
            return Err(ValueError::new(
                "phone",
                Rule::LengthBetween { min: 10, max: 15 },
                "must have 10 to 15 digits with the country code",
            ));
        }
        Ok(Self(format!("+{digits}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_cases() {
        for (s, want) in [
            ("+7 (495) 123-45-67", Some("+74951234567")),
            ("8 495 123 45 67", Some("+74951234567")),
            ("74951234567", Some("+74951234567")),
            ("+7 495", None),
            ("+7 495 123 45 67 ext 2", None),
            ("", None),
        ] {
            assert_eq!(
                Phone::parse(s).ok().map(|p| p.as_str().to_owned()),
                want.map(str::to_owned),
                "phone {s:?}"
            );
        }
    }
}
