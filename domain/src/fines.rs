//! Traffic fines and the discount for paying early: the one home of the rule (docs/domain.md "Traffic
//! fines").
//!
//! Ч. 1.3 ст. 32.2 КоАП РФ: a fine for an offence under chapter 12 (road traffic) paid no later than twenty
//! days from the day the resolution was issued may be paid at half its amount — except for the offences
//! the same part lists: ч. 1.1 ст. 12.1, ст. 12.8, ч. 6 and 7 ст. 12.9, ч. 3 ст. 12.12, ч. 5 ст. 12.15,
//! ч. 3.1 ст. 12.16, ст. 12.24, ст. 12.26 and ч. 3 ст. 12.27. The register the lessor receives states the
//! discount's last day; without it the last day is estimated as the resolution's date plus twenty days.

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::values::Money;

/// Days after the resolution in which the discount applies (ч. 1.3 ст. 32.2 КоАП РФ).
pub const DISCOUNT_DAYS: i64 = 20;

/// The share of the fine that is paid within the discount period.
pub const DISCOUNTED_SHARE: Decimal = Decimal::from_parts(5, 0, 0, false, 1);

/// Offences of chapter 12 without the discount: (article, part); no part means every part of the article.
const EXCLUDED: &[(&str, Option<&str>)] = &[
    ("12.1", Some("1.1")),
    ("12.8", None),
    ("12.9", Some("6")),
    ("12.9", Some("7")),
    ("12.12", Some("3")),
    ("12.15", Some("5")),
    ("12.16", Some("3.1")),
    ("12.24", None),
    ("12.26", None),
    ("12.27", Some("3")),
];

/// An article of the КоАП РФ and its part, as a resolution names the offence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    /// The article: "12.9".
    pub article: String,
    /// Its part: "2", "3.1" (none when the article has no parts or the text names none).
    pub part: Option<String>,
}

impl Article {
    /// Reads "ч. 2 ст. 12.9", "ст. 12.9 ч. 2 КоАП РФ", "12.9 ч.2", "12.9ч.2" or "12.8"; `None` when no
    /// article of the form `<chapter>.<number>` is named.
    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.to_lowercase();
        let mut article = None;
        let mut part = None;
        let chars: Vec<char> = lower.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            // "ч." / "ч" followed by a number: the part.
            if chars[i] == 'ч' && (i == 0 || !chars[i - 1].is_alphabetic()) {
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j] == '.' || chars[j] == ' ' || chars[j] == '\u{a0}')
                {
                    j += 1;
                }
                let (number, end) = number_at(&chars, j);
                if !number.is_empty() && part.is_none() {
                    part = Some(number);
                    i = end;
                    continue;
                }
            }
            if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_digit()) {
                let (number, end) = number_at(&chars, i);
                if number.contains('.') && article.is_none() {
                    article = Some(number);
                }
                i = end.max(i + 1);
                continue;
            }
            i += 1;
        }
        let article = article?;
        // "12.9.2": article 12.9, part 2 (the dotted code some registers use).
        let mut pieces = article.split('.');
        let (Some(chapter), Some(number)) = (pieces.next(), pieces.next()) else {
            return None;
        };
        let rest: Vec<&str> = pieces.collect();
        let (article, part) = if rest.is_empty() || part.is_some() {
            (format!("{chapter}.{number}"), part)
        } else {
            (format!("{chapter}.{number}"), Some(rest.join(".")))
        };
        Some(Self { article, part })
    }

    /// Whether the offence is one the discount applies to (ч. 1.3 ст. 32.2 КоАП РФ).
    pub fn admits_discount(&self) -> bool {
        if !self.article.starts_with("12.") {
            return false;
        }
        !EXCLUDED.iter().any(|(article, part)| {
            *article == self.article
                && part.is_none_or(|p| self.part.as_deref().is_some_and(|q| q == p))
        })
    }
}

impl std::fmt::Display for Article {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.part {
            Some(p) => write!(f, "ч. {p} ст. {} КоАП РФ", self.article),
            None => write!(f, "ст. {} КоАП РФ", self.article),
        }
    }
}

/// Digits and inner dots from `start` ("12.9", "3.1"); the number and where it ends.
fn number_at(chars: &[char], start: usize) -> (String, usize) {
    let mut end = start;
    while end < chars.len()
        && (chars[end].is_ascii_digit()
            || (chars[end] == '.'
                && end + 1 < chars.len()
                && chars[end + 1].is_ascii_digit()
                && end > start))
    {
        end += 1;
    }
    (chars[start..end].iter().collect(), end)
}

/// The discount a fine is paid with, while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    /// What is owed for the fine within the period (half of it).
    pub amount: Money,
    /// The period's last day.
    pub until: NaiveDate,
}

/// Why a fine's discount is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscountError {
    /// The text names no article.
    UnknownArticle,
    /// The register states a discount for an offence the law gives none.
    NotAdmitted,
    /// The stated last day is before the resolution.
    BeforeResolution,
}

/// The field a refusal is about and why, as a command's error carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The command's attribute.
    pub field: &'static str,
    /// Why.
    pub reason: &'static str,
}

impl DiscountError {
    /// The field at fault and why, for the error a command returns.
    pub fn refusal(self) -> Refusal {
        match self {
            Self::UnknownArticle => Refusal {
                field: "article",
                reason: "an article of the КоАП РФ such as «ч. 2 ст. 12.9» is expected",
            },
            Self::NotAdmitted => Refusal {
                field: "discountUntil",
                reason: "the offence's article admits no discount (ч. 1.3 ст. 32.2 КоАП РФ)",
            },
            Self::BeforeResolution => Refusal {
                field: "discountUntil",
                reason: "the discount's last day is before the resolution",
            },
        }
    }
}

/// The discount of a fine of `amount` under resolution of `date` for the offence `article` (as written),
/// the register stating its last day as `stated_until` (when it does).
///
/// An offence the law gives the discount: half the amount, until the stated day (or the estimate). One it
/// excludes: none (and a stated day is an error in the register). No article: the register's word — a
/// stated day means the discount.
///
/// # Errors
/// [`DiscountError`].
pub fn discount(
    amount: Money,
    date: NaiveDate,
    article: Option<&str>,
    stated_until: Option<NaiveDate>,
) -> Result<Option<Discount>, DiscountError> {
    let admitted = match article.map(str::trim).filter(|a| !a.is_empty()) {
        Some(text) => {
            let a = Article::parse(text).ok_or(DiscountError::UnknownArticle)?;
            if !a.admits_discount() {
                return match stated_until {
                    Some(_) => Err(DiscountError::NotAdmitted),
                    None => Ok(None),
                };
            }
            true
        }
        None => stated_until.is_some(),
    };
    if !admitted {
        return Ok(None);
    }
    let until = stated_until.unwrap_or(date + Duration::days(DISCOUNT_DAYS));
    if until < date {
        return Err(DiscountError::BeforeResolution);
    }
    Ok(Some(Discount {
        amount: Money::round(amount.amount() * DISCOUNTED_SHARE),
        until,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(text: &str) -> Article {
        Article::parse(text).unwrap_or_else(|| panic!("{text} is read"))
    }

    #[test]
    fn articles_are_read_as_resolutions_and_registers_write_them() {
        for text in [
            "ч. 2 ст. 12.9",
            "ст. 12.9 ч. 2 КоАП РФ",
            "12.9 ч.2",
            "12.9ч.2",
            "12.9.2",
            "Ч.2 СТ.12.9",
        ] {
            assert_eq!(
                a(text),
                Article {
                    article: "12.9".into(),
                    part: Some("2".into())
                },
                "{text}"
            );
        }
        assert_eq!(
            a("ч. 3.1 ст. 12.16"),
            Article {
                article: "12.16".into(),
                part: Some("3.1".into())
            }
        );
        assert_eq!(
            a("ст. 12.8"),
            Article {
                article: "12.8".into(),
                part: None
            }
        );
        assert_eq!(Article::parse("превышение скорости"), None);
        assert_eq!(a("ч. 2 ст. 12.9").to_string(), "ч. 2 ст. 12.9 КоАП РФ");
    }

    #[test]
    fn the_discount_is_for_chapter_12_except_the_offences_the_law_lists() {
        // Every exception of ч. 1.3 ст. 32.2, and their neighbours that keep the discount.
        for (text, admits) in [
            ("ч. 2 ст. 12.9", true),
            ("ч. 6 ст. 12.9", false),
            ("ч. 7 ст. 12.9", false),
            ("ч. 1 ст. 12.1", true),
            ("ч. 1.1 ст. 12.1", false),
            ("ч. 1 ст. 12.8", false),
            ("ст. 12.8", false),
            ("ч. 2 ст. 12.12", true),
            ("ч. 3 ст. 12.12", false),
            ("ч. 4 ст. 12.15", true),
            ("ч. 5 ст. 12.15", false),
            ("ч. 3 ст. 12.16", true),
            ("ч. 3.1 ст. 12.16", false),
            ("ч. 1 ст. 12.24", false),
            ("ч. 1 ст. 12.26", false),
            ("ч. 2 ст. 12.27", true),
            ("ч. 3 ст. 12.27", false),
            ("ч. 1 ст. 12.2", true),
            // Not chapter 12.
            ("ч. 1 ст. 20.25", false),
            ("ч. 2 ст. 11.23", false),
        ] {
            assert_eq!(a(text).admits_discount(), admits, "{text}");
        }
    }

    #[test]
    fn a_discount_is_half_until_the_stated_day_or_twenty_days_after_the_resolution() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let m = |s: &str| Money::parse(s).unwrap();
        assert_eq!(
            discount(m("500"), d("2026-03-12"), Some("ч. 2 ст. 12.9"), None),
            Ok(Some(Discount {
                amount: m("250"),
                until: d("2026-04-01")
            }))
        );
        assert_eq!(
            discount(
                m("1500"),
                d("2026-03-12"),
                Some("12.16.4"),
                Some(d("2026-04-03"))
            ),
            Ok(Some(Discount {
                amount: m("750"),
                until: d("2026-04-03")
            }))
        );
        // Odd kopecks round half away from zero.
        assert_eq!(
            discount(m("0.01"), d("2026-03-12"), Some("ч. 2 ст. 12.9"), None)
                .unwrap()
                .unwrap()
                .amount,
            m("0.01")
        );
        assert_eq!(
            discount(m("5000"), d("2026-03-12"), Some("ч. 1 ст. 12.26"), None),
            Ok(None)
        );
        assert_eq!(
            discount(
                m("5000"),
                d("2026-03-12"),
                Some("ч. 1 ст. 12.26"),
                Some(d("2026-04-01"))
            ),
            Err(DiscountError::NotAdmitted)
        );
        assert_eq!(discount(m("500"), d("2026-03-12"), None, None), Ok(None));
        assert_eq!(
            discount(m("500"), d("2026-03-12"), None, Some(d("2026-04-01")))
                .unwrap()
                .unwrap()
                .amount,
            m("250")
        );
        assert_eq!(
            discount(m("500"), d("2026-03-12"), Some("парковка"), None),
            Err(DiscountError::UnknownArticle)
        );
        assert_eq!(
            discount(
                m("500"),
                d("2026-03-12"),
                Some("ч. 2 ст. 12.9"),
                Some(d("2026-03-01"))
            ),
            Err(DiscountError::BeforeResolution)
        );
    }
}
