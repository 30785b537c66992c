//! Why an input was refused, for machines and people: `extensions.reason` (a stable code), its
//! `extensions.params`, and the message in the caller's language (Russian by default, English when the
//! request's `Accept-Language` prefers it). A reason not yet classified is `INVALID`, its message the
//! English text it was written with.

use domain::values::Rule;
use serde_json::{json, Value};

use crate::mail::templates::Locale;

/// A machine-readable reason with its parameters: a rule of a domain value, or one the API checks itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// Not classified yet: the message says why (in English).
    Invalid,
    /// A rule of a domain value (an identifier, an account, an amount, …), or the same kind of rule the API
    /// checks itself (a length, a format).
    Rule(Rule),
    /// A number outside `min..=max`.
    OutOfRange {
        /// At least.
        min: i64,
        /// At most.
        max: i64,
    },
    /// A business rule of an aggregate or a check of the API (error::explain), boxed to keep errors small.
    Domain(Box<Refusal>),
}

/// A refusal by a rule with a code of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The `extensions.reason`.
    pub code: &'static str,
    /// The `extensions.params`.
    pub params: Option<Value>,
    /// The message in Russian.
    pub ru: String,
}

impl Reason {
    /// A refusal with its code, parameters and Russian text.
    pub fn domain(code: &'static str, params: Option<Value>, ru: impl Into<String>) -> Self {
        Self::Domain(Box::new(Refusal {
            code,
            params,
            ru: ru.into(),
        }))
    }
}

impl From<&Rule> for Reason {
    fn from(r: &Rule) -> Self {
        Self::Rule(r.clone())
    }
}

impl Reason {
    /// The `extensions.reason`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid => "INVALID",
            Self::OutOfRange { .. } => "OUT_OF_RANGE",
            Self::Domain(r) => r.code,
            Self::Rule(r) => match r {
                Rule::Required => "REQUIRED",
                Rule::DigitsOnly => "DIGITS_ONLY",
                Rule::Length(_) => "LENGTH",
                Rule::LengthBetween { .. } => "LENGTH_BETWEEN",
                Rule::CheckDigit => "CHECK_DIGIT",
                Rule::Format => "FORMAT",
                Rule::Decimals { .. } => "DECIMALS",
            },
        }
    }

    /// The `extensions.params` (none for a reason without parameters).
    pub fn params(&self) -> Option<Value> {
        match self {
            Self::Rule(Rule::Length(allowed)) => Some(json!({ "allowed": allowed })),
            Self::Rule(Rule::LengthBetween { min, max }) => Some(json!({ "min": min, "max": max })),
            Self::Rule(Rule::Decimals { max }) => Some(json!({ "max": max })),
            Self::OutOfRange { min, max } => Some(json!({ "min": min, "max": max })),
            Self::Domain(r) => r.params.clone(),
            _ => None,
        }
    }

    /// The message in Russian, when this reason has one of its own (`what`: the kind of value, e.g. ИНН).
    fn russian(&self, what: Option<&str>) -> Option<String> {
        let text = match self {
            Self::Invalid => return None,
            Self::Rule(Rule::Format) => "неверный формат".to_owned(),
            Self::Rule(Rule::Required) => "не заполнено".to_owned(),
            Self::Rule(Rule::DigitsOnly) => "допустимы только цифры".to_owned(),
            Self::Rule(Rule::Length(allowed)) => {
                let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
                format!("должно быть {} символов", list.join(" или "))
            }
            Self::Rule(Rule::LengthBetween { min, max }) => {
                format!("должно быть от {min} до {max} символов")
            }
            Self::Rule(Rule::CheckDigit) => "контрольное число не совпадает".to_owned(),
            Self::Rule(Rule::Decimals { max }) => format!("не более {max} знаков после запятой"),
            Self::OutOfRange { min, max } => format!("должно быть от {min} до {max}"),
            Self::Domain(r) => r.ru.clone(),
        };
        Some(match what {
            Some(w) => format!("{}: {text}", russian_name(w)),
            None => text,
        })
    }

    /// The message for `field` in `locale`: Russian from the reason when it has a text of its own, else the
    /// English `english` (`what`: the kind of value the reason is about, named in the Russian text).
    pub fn message(
        &self,
        locale: Locale,
        field: &str,
        what: Option<&str>,
        english: &str,
    ) -> String {
        match (locale, self.russian(what)) {
            (Locale::Ru, Some(ru)) => format!("{field}: {ru}"),
            _ => format!("{field}: {english}"),
        }
    }
}

/// The Russian name of a kind of value the domain names in English (identifiers keep their own names).
fn russian_name(what: &str) -> &str {
    match what {
        "file" => "файл",
        "phone" => "телефон",
        "amount" => "сумма",
        "bank name" => "наименование банка",
        "correspondent account" => "корреспондентский счёт",
        "settlement account" => "расчётный счёт",
        "bank account" => "банковский счёт",
        "ЭДО id" => "идентификатор ЭДО",
        other => other,
    }
}

tokio::task_local! {
    /// The language of the current request's messages (set by the HTTP and WebSocket handlers).
    pub static LANGUAGE: Locale;
}

/// The language the caller prefers from an `Accept-Language` header: English when an `en` range comes
/// before any `ru` one by quality, Russian otherwise.
pub fn from_accept_language(header: Option<&str>) -> Locale {
    let Some(h) = header else {
        return Locale::Ru;
    };
    let mut best: Option<(f32, Locale)> = None;
    for part in h.split(',') {
        let mut it = part.trim().split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let locale = if tag == "en" || tag.starts_with("en-") {
            Locale::En
        } else if tag == "ru" || tag.starts_with("ru-") {
            Locale::Ru
        } else {
            continue;
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, locale));
        }
    }
    best.map_or(Locale::Ru, |(_, l)| l)
}

/// The current request's language (Russian outside a request).
pub fn current() -> Locale {
    LANGUAGE.try_with(|l| *l).unwrap_or(Locale::Ru)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_chooses_english_only_when_it_is_preferred() {
        for (h, want) in [
            (None, Locale::Ru),
            (Some("en"), Locale::En),
            (Some("en-GB,en;q=0.9"), Locale::En),
            (Some("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"), Locale::Ru),
            (Some("de-DE,en;q=0.5"), Locale::En),
            (Some("de-DE"), Locale::Ru),
            (Some("en;q=0.3, ru;q=0.8"), Locale::Ru),
            (Some("*"), Locale::Ru),
        ] {
            assert_eq!(from_accept_language(h), want, "{h:?}");
        }
    }

    #[test]
    fn every_reason_has_a_code_and_those_with_limits_carry_them() {
        let all = [
            (Reason::Invalid, "INVALID", None),
            (Reason::Rule(Rule::Required), "REQUIRED", None),
            (Reason::Rule(Rule::DigitsOnly), "DIGITS_ONLY", None),
            (
                Reason::Rule(Rule::Length(vec![10, 12])),
                "LENGTH",
                Some(json!({"allowed": [10, 12]})),
            ),
            (
                Reason::Rule(Rule::LengthBetween { min: 1, max: 200 }),
                "LENGTH_BETWEEN",
                Some(json!({"min": 1, "max": 200})),
            ),
            (Reason::Rule(Rule::CheckDigit), "CHECK_DIGIT", None),
            (Reason::Rule(Rule::Format), "FORMAT", None),
            (
                Reason::Rule(Rule::Decimals { max: 2 }),
                "DECIMALS",
                Some(json!({"max": 2})),
            ),
            (
                Reason::OutOfRange { min: 1, max: 100 },
                "OUT_OF_RANGE",
                Some(json!({"min": 1, "max": 100})),
            ),
        ];
        for (r, code, params) in all {
            assert_eq!((r.code(), r.params()), (code, params));
        }
        assert_eq!(
            Reason::Rule(Rule::CheckDigit).message(
                Locale::Ru,
                "input.inn",
                Some("ИНН"),
                "ИНН: check digit does not match"
            ),
            "input.inn: ИНН: контрольное число не совпадает"
        );
        assert_eq!(
            Reason::Rule(Rule::CheckDigit).message(
                Locale::En,
                "input.inn",
                Some("ИНН"),
                "ИНН: check digit does not match"
            ),
            "input.inn: ИНН: check digit does not match"
        );
        // Unclassified reasons keep the English text they were written with.
        assert_eq!(
            Reason::Invalid.message(Locale::Ru, "input", None, "no such line"),
            "input: no such line"
        );
    }
}
