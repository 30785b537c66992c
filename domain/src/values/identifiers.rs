//! ИНН, КПП, ОГРН and ОГРНИП with their check digits (docs/domain.md).

use serde::{Deserialize, Serialize};

use super::{exact_digits, string_value, Rule, ValueError};

/// ИНН: 10 digits for an organisation, 12 for a person (ИП). Digits 3–4 are not decoded into a region
/// (since 2026 they are an index, not a tax office).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Inn(String);
string_value!(Inn);

const INN10_WEIGHTS: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_WEIGHTS_11: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_WEIGHTS_12: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

fn weighted_check(digits: &[u32], weights: &[u32]) -> u32 {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    sum % 11 % 10
}

impl Inn {
    /// Parses an ИНН of 10 (organisation) or 12 (person) digits and verifies its check digit(s).
    ///
    /// # Errors
    /// [`ValueError`] when the length, characters or check digits are wrong.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let len = s.chars().count();
        let d = match len {
            10 => exact_digits("ИНН", s, 10)?,
            12 => exact_digits("ИНН", s, 12)?,
            _ => {
                return Err(ValueError::new(
                    "ИНН",
                    Rule::Length(vec![10, 12]),
                    format!("must be 10 digits (organisation) or 12 digits (person), got {len}"),
                ))
            }
        };
        let ok = if len == 10 {
            weighted_check(&d[..9], &INN10_WEIGHTS) == d[9]
        } else {
            weighted_check(&d[..10], &INN12_WEIGHTS_11) == d[10]
                && weighted_check(&d[..11], &INN12_WEIGHTS_12) == d[11]
        };
        if !ok {
            return Err(ValueError::new(
                "ИНН",
                Rule::CheckDigit,
                "check digit does not match",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// An organisation's ИНН (10 digits); otherwise it is a person's (an ИП).
    pub fn is_organisation(&self) -> bool {
        self.0.len() == 10
    }
}

/// КПП: `^\d{4}[0-9A-Z]{2}\d{3}$`, no check digit. An attribute of a company (it changes when the company
/// moves), never a key on its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Kpp(String);
string_value!(Kpp);

impl Kpp {
    /// Parses a КПП.
    ///
    /// # Errors
    /// [`ValueError`] when it does not match `^\d{4}[0-9A-Z]{2}\d{3}$`.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let b = s.as_bytes();
        let ok = b.len() == 9
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4..6]
                .iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            && b[6..].iter().all(u8::is_ascii_digit);
        if !ok {
            return Err(ValueError::new(
                "КПП",
                Rule::Format,
                "must be 9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// ОГРН of a legal entity: 13 digits, check = (first 12 digits mod 11) mod 10.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ogrn(String);
string_value!(Ogrn);

/// ОГРНИП of a sole proprietor: 15 digits, check = (first 14 digits mod 13) mod 10.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ogrnip(String);
string_value!(Ogrnip);

fn number_check(s: &str, modulus: u64) -> u64 {
    // At most 14 digits: fits u64 comfortably.
    let n: u64 = s.parse().unwrap_or(0);
    n % modulus % 10
}

impl Ogrn {
    /// Parses an ОГРН.
    ///
    /// # Errors
    /// [`ValueError`] on a wrong length, a non-digit or a wrong check digit.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let d = exact_digits("ОГРН", s, 13)?;
        if number_check(&s[..12], 11) != u64::from(d[12]) {
            return Err(ValueError::new(
                "ОГРН",
                Rule::CheckDigit,
                "check digit does not match",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl Ogrnip {
    /// Parses an ОГРНИП. A remainder of 10–12 gives check digit 0–2.
    ///
    /// # Errors
    /// [`ValueError`] on a wrong length, a non-digit or a wrong check digit.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let d = exact_digits("ОГРНИП", s, 15)?;
        if number_check(&s[..14], 13) != u64::from(d[14]) {
            return Err(ValueError::new(
                "ОГРНИП",
                Rule::CheckDigit,
                "check digit does not match",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// The state registration number: ОГРН for an organisation, ОГРНИП for a sole proprietor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RegistrationNumber {
    /// 13 digits, a legal entity.
    Ogrn(Ogrn),
    /// 15 digits, a sole proprietor.
    Ogrnip(Ogrnip),
}

impl RegistrationNumber {
    /// Parses a 13-digit ОГРН or a 15-digit ОГРНИП, chosen by length.
    ///
    /// # Errors
    /// [`ValueError`] when it is neither.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        match s.trim().chars().count() {
            15 => Ogrnip::parse(s).map(Self::Ogrnip),
            13 => Ogrn::parse(s).map(Self::Ogrn),
            n => Err(ValueError::new(
                "ОГРН",
                Rule::Length(vec![13, 15]),
                format!("must be 13 digits (ОГРН) or 15 digits (ОГРНИП), got {n}"),
            )),
        }
    }

    /// The digits as text.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Ogrn(o) => o.as_str(),
            Self::Ogrnip(o) => o.as_str(),
        }
    }

    /// Whether this is a sole proprietor's ОГРНИП.
    pub fn is_ogrnip(&self) -> bool {
        matches!(self, Self::Ogrnip(_))
    }
}

impl Serialize for RegistrationNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RegistrationNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Stored data is trusted: classify by length only.
        let s = String::deserialize(d)?;
        Ok(if s.len() == 15 {
            Self::Ogrnip(Ogrnip(s))
        } else {
            Self::Ogrn(Ogrn(s))
        })
    }
}

impl std::fmt::Display for RegistrationNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn inn_cases() {
        let cases: &[(&str, bool)] = &[
            ("7707083893", true),
            ("7707083894", false),
            ("7712345671", true),
            ("5263179847", true),
            ("500100732259", true),
            ("500100732258", false),
            ("500100732269", false),
            (" 7707083893 ", true),
            ("770708389", false),
            ("77070838930", false),
            ("77070838a3", false),
            ("", false),
        ];
        for (s, ok) in cases {
            assert_eq!(Inn::parse(s).is_ok(), *ok, "ИНН {s:?}");
        }
        assert!(Inn::parse("7707083893").unwrap().is_organisation());
        assert!(!Inn::parse("500100732259").unwrap().is_organisation());
    }

    #[test]
    fn kpp_cases() {
        let cases: &[(&str, bool)] = &[
            ("773601001", true),
            ("7736AB001", true),
            ("7736ab001", false),
            ("77360100", false),
            ("7736010010", false),
            ("A73601001", false),
            ("77360100Z", false),
        ];
        for (s, ok) in cases {
            assert_eq!(Kpp::parse(s).is_ok(), *ok, "КПП {s:?}");
        }
    }

    #[test]
    fn ogrn_and_ogrnip_cases() {
        assert!(Ogrn::parse("1027700132195").is_ok());
        assert!(Ogrn::parse("1127746000018").is_ok());
        assert!(Ogrn::parse("1027700132196").is_err());
        assert!(Ogrn::parse("102770013219").is_err());
        assert!(Ogrnip::parse("304500116000157").is_ok());
        assert!(Ogrnip::parse("304500116000158").is_err());
        assert!(RegistrationNumber::parse("304500116000157")
            .unwrap()
            .is_ogrnip());
        assert!(!RegistrationNumber::parse("1027700132195")
            .unwrap()
            .is_ogrnip());
        assert!(RegistrationNumber::parse("10277001321").is_err());
    }

    fn inn10_with_check(first9: &[u32]) -> String {
        let c = weighted_check(first9, &INN10_WEIGHTS);
        first9
            .iter()
            .chain([c].iter())
            .map(|d| d.to_string())
            .collect()
    }

    proptest! {
        #[test]
        fn any_inn10_with_its_check_digit_parses_and_any_other_digit_fails(
            first9 in proptest::collection::vec(0u32..10, 9),
            other in 0u32..10,
        ) {
            let good = inn10_with_check(&first9);
            prop_assert!(Inn::parse(&good).is_ok());
            let check = good.as_bytes()[9] - b'0';
            if u32::from(check) != other {
                let bad = format!("{}{}", &good[..9], other);
                prop_assert!(Inn::parse(&bad).is_err());
            }
        }

        #[test]
        fn ogrn_check_digit_is_the_only_one_that_parses(first12 in 100_000_000_000u64..999_999_999_999u64, d in 0u64..10) {
            let s = format!("{first12}{d}");
            prop_assert_eq!(Ogrn::parse(&s).is_ok(), first12 % 11 % 10 == d);
        }

        #[test]
        fn ogrnip_check_digit_is_the_only_one_that_parses(first14 in 10_000_000_000_000u64..99_999_999_999_999u64, d in 0u64..10) {
            let s = format!("{first14}{d}");
            prop_assert_eq!(Ogrnip::parse(&s).is_ok(), first14 % 13 % 10 == d);
        }

        #[test]
        fn inn_parsing_never_panics(s in "\\PC{0,20}") {
            let _ = Inn::parse(&s);
            let _ = Kpp::parse(&s);
            let _ = RegistrationNumber::parse(&s);
        }
    }
}
