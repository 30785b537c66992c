//! Input scalars shared by several features: money amounts, checked once.

use domain::values::Money;
use rust_decimal::Decimal;

use crate::error::{parse_field, ApiError};

/// An amount of money from an input `field`: rubles with at most two decimals, not negative.
///
/// # Errors
/// VALIDATION naming `field`.
pub(crate) fn money(field: &str, d: Decimal) -> Result<Money, ApiError> {
    parse_field(field, Money::from_decimal(d))
}

/// A calendar date without a time zone, `YYYY-MM-DD` (RFC 3339's full-date): due dates, payment dates,
/// business days. Replaces async-graphql's `NaiveDate`, whose name told a frontend about our Rust library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(transparent)]
pub struct Date(pub chrono::NaiveDate);

/// A calendar date without a time zone, `YYYY-MM-DD` (RFC 3339's full-date): due dates, payment dates,
/// business days.
#[async_graphql::Scalar(
    name = "Date",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
)]
impl async_graphql::ScalarType for Date {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(s) => {
                // Exactly YYYY-MM-DD: chrono alone would also take a year of any width.
                let well_formed = s.len() == 10
                    && s.bytes().enumerate().all(|(i, b)| {
                        if i == 4 || i == 7 {
                            b == b'-'
                        } else {
                            b.is_ascii_digit()
                        }
                    });
                well_formed
                    .then(|| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                    .flatten()
                    .map(Date)
                    .ok_or_else(|| {
                        async_graphql::InputValueError::custom(
                            "not a calendar date YYYY-MM-DD (e.g. 2026-03-10)",
                        )
                    })
            }
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<chrono::NaiveDate> for Date {
    fn from(d: chrono::NaiveDate) -> Self {
        Self(d)
    }
}

impl From<Date> for chrono::NaiveDate {
    fn from(d: Date) -> Self {
        d.0
    }
}

impl std::ops::Deref for Date {
    type Target = chrono::NaiveDate;
    fn deref(&self) -> &chrono::NaiveDate {
        &self.0
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{ScalarType, Value};

    use super::Date;

    #[test]
    fn a_date_is_exactly_yyyy_mm_dd_and_reads_back_as_written() {
        let d = Date::parse(Value::String("2026-03-10".into())).unwrap();
        assert_eq!(d.to_value(), Value::String("2026-03-10".into()));
        for bad in [
            "2026-3-10",
            "2026-02-30",
            "26-03-10",
            "+2026-03-10",
            "2026-03-10T00:00:00Z",
            "",
        ] {
            assert!(Date::parse(Value::String(bad.into())).is_err(), "{bad}");
        }
        assert!(Date::parse(Value::Number(20260310.into())).is_err());
    }
}
