//! ЭДО (electronic document exchange) participant identifiers (docs/domain.md "Identifiers and their checks").

use serde::{Deserialize, Serialize};

use super::{string_value, Rule, ValueError};

/// An ЭДО participant id: a 3-character operator code followed by the operator's tail, 4–46 characters of
/// `[A-Za-z0-9@.-]` in all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EdoParticipantId(String);
string_value!(EdoParticipantId);

/// Operator codes the lessor knows, with their names.
pub const EDO_OPERATORS: &[(&str, &str)] = &[
    ("2BE", "Тензор (СБИС)"),
    ("2BM", "Контур.Диадок"),
    ("2AE", "Калуга Астрал"),
    ("2AK", "ТаксНет"),
];

impl EdoParticipantId {
    /// Parses an id.
    ///
    /// # Errors
    /// [`ValueError`] on a length outside 4–46 or a character outside `[A-Za-z0-9@.-]`.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if !(4..=46).contains(&s.len()) {
            return Err(ValueError::new(
                "ЭДО id",
                Rule::LengthBetween { min: 4, max: 46 },
                "must be 4 to 46 characters",
            ));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'-'))
        {
            return Err(ValueError::new(
                "ЭДО id",
                Rule::Format,
                "may contain only Latin letters, digits, '@', '.' and '-'",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The operator's code (the first three characters).
    pub fn operator_code(&self) -> &str {
        &self.0[..3]
    }

    /// The operator's name, when the code is a known one.
    pub fn operator_name(&self) -> Option<&'static str> {
        EDO_OPERATORS
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(self.operator_code()))
            .map(|(_, n)| *n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edo_id_cases() {
        let id = EdoParticipantId::parse("2BE1234567890abc").unwrap();
        assert_eq!(id.operator_code(), "2BE");
        assert_eq!(id.operator_name(), Some("Тензор (СБИС)"));
        assert!(EdoParticipantId::parse("2BM-7707083893-2012052808").is_ok());
        assert!(EdoParticipantId::parse("2BE").is_err());
        assert!(EdoParticipantId::parse(&"2BE".repeat(16)).is_err());
        assert!(EdoParticipantId::parse("2BE 123").is_err());
        assert!(EdoParticipantId::parse("2ВЕ123").is_err());
    }
}
