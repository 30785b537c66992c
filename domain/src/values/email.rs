//! E-mail addresses, normalised for use as a login.

use serde::{Deserialize, Serialize};

use super::{string_value, Rule, ValueError};

/// An e-mail address, trimmed and lower-cased (logins compare case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);
string_value!(Email);

impl Email {
    /// Parses an address: one `@`, a non-empty local part, a domain with a dot and no empty labels, no spaces,
    /// at most 254 characters. Deliverability is proven by sending, not by parsing.
    ///
    /// # Errors
    /// [`ValueError`] describing the first rule broken.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim().to_lowercase();
        let err = |r: &str| Err(ValueError::new("e-mail", Rule::Format, r));
        if s.is_empty() {
            return Err(ValueError::new(
                "e-mail",
                Rule::Required,
                "must not be empty",
            ));
        }
        if s.chars().count() > 254 {
            return Err(ValueError::new(
                "e-mail",
                Rule::LengthBetween { min: 3, max: 254 },
                "must be at most 254 characters",
            ));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return err("must not contain spaces");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return err("must contain @");
        };
        if local.is_empty() || domain.contains('@') {
            return err("must have exactly one @ with a name before it");
        }
        if !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return err("must have a domain such as example.ru");
        }
        Ok(Self(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn email_cases() {
        for (s, ok) in [
            ("ivanov@example.ru", true),
            ("  Ivanov@Example.RU ", true),
            ("a.b+c@mail.co.uk", true),
            ("ivanov@localhost", false),
            ("ivanov@example..ru", false),
            ("@example.ru", false),
            ("ivanov@@example.ru", false),
            ("iva nov@example.ru", false),
            ("", false),
            ("ivanov.example.ru", false),
        ] {
            assert_eq!(Email::parse(s).is_ok(), ok, "e-mail {s:?}");
        }
        assert_eq!(
            Email::parse(" Ivanov@Example.RU").unwrap().as_str(),
            "ivanov@example.ru"
        );
    }

    proptest! {
        #[test]
        fn parsed_emails_are_normalised_and_reparse_to_themselves(local in "[a-zA-Z0-9._+-]{1,20}", dom in "[a-zA-Z0-9-]{1,10}") {
            let e = Email::parse(&format!("{local}@{dom}.ru")).unwrap();
            prop_assert_eq!(e.as_str(), e.as_str().to_lowercase());
            prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e);
        }
    }
}
