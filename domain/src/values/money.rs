//! Money: rubles with kopecks.

use std::fmt;
use std::ops::{Add, Neg, Sub};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::{Rule, ValueError};

/// An amount in rubles with exactly two decimals (kopecks). Arithmetic never uses floats; every rounding
/// step rounds half away from zero (docs/domain.md "Money and VAT").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(Decimal);

impl Money {
    /// Zero rubles.
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Rounds a computed amount to kopecks, half away from zero.
    pub fn round(amount: Decimal) -> Self {
        let mut d = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        d.rescale(2);
        Self(d)
    }

    /// An amount as people read it: rounded to kopecks (half away from zero, as every step), the rubles
    /// grouped by three with `group`, `decimal` before the kopecks — «106 618,55» with (' ', ','),
    /// «106,618.55» with (',', '.'). Documents and notifications write money only through this.
    pub fn written(amount: Decimal, group: char, decimal: char) -> String {
        let a = Self::round(amount).0;
        let negative = a.is_sign_negative() && !a.is_zero();
        let s = format!("{:.2}", a.abs());
        let (whole, frac) = s.split_once('.').unwrap_or((&s, "00"));
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(group);
            }
            grouped.push(c);
        }
        format!(
            "{}{grouped}{decimal}{frac}",
            if negative { "-" } else { "" }
        )
    }

    /// Parses an amount given by a person or another system: at most two decimals (a third decimal is an
    /// error, not something to round silently).
    ///
    /// # Errors
    /// [`ValueError`] when it is not a number or has more than two decimals.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let d: Decimal = s.trim().replace(',', ".").parse().map_err(|_| {
            ValueError::new("amount", Rule::Format, "must be a number such as 1500.00")
        })?;
        Self::from_decimal(d)
    }

    /// Takes an exact amount.
    ///
    /// # Errors
    /// [`ValueError`] when it has more than two significant decimals.
    pub fn from_decimal(d: Decimal) -> Result<Self, ValueError> {
        if d.normalize().scale() > 2 {
            return Err(ValueError::new(
                "amount",
                Rule::Decimals { max: 2 },
                "must have at most two decimals (kopecks)",
            ));
        }
        Ok(Self::round(d))
    }

    /// The amount as a decimal with scale 2.
    pub fn amount(self) -> Decimal {
        self.0
    }

    /// The amount in kopecks (for payment QR codes).
    pub fn kopecks(self) -> i64 {
        use rust_decimal::prelude::ToPrimitive;
        // A scale-2 amount times 100 is a whole number; i64 holds any realistic amount of kopecks.
        (self.0 * Decimal::ONE_HUNDRED)
            .trunc()
            .to_i64()
            .unwrap_or(i64::MAX)
    }

    /// Whether the amount is below zero.
    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// The VAT inside a gross amount: gross × rate / (100 + rate), rounded to kopecks.
    pub fn vat_inside(self, rate_percent: Decimal) -> Money {
        Money::round(self.0 * rate_percent / (Decimal::ONE_HUNDRED + rate_percent))
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money::round(self.0 + rhs.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money::round(self.0 - rhs.0)
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money::round(-self.0)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn money_cases() {
        assert_eq!(Money::parse("1500").unwrap().to_string(), "1500.00");
        assert_eq!(Money::parse("1500,5").unwrap().to_string(), "1500.50");
        assert_eq!(Money::parse("0.10").unwrap().to_string(), "0.10");
        assert!(Money::parse("1.005").is_err());
        assert!(Money::parse("abc").is_err());
        assert_eq!(Money::parse("1.000").unwrap().to_string(), "1.00");
        assert_eq!(Money::round(dec!(2.675)).to_string(), "2.68");
        assert_eq!(Money::round(dec!(-2.675)).to_string(), "-2.68");
        assert_eq!(Money::round(dec!(2.665)).to_string(), "2.67");
        assert_eq!(Money::parse("1234.56").unwrap().kopecks(), 123_456);
    }

    #[test]
    fn amounts_are_written_grouped_and_rounded_half_away_from_zero() {
        assert_eq!(Money::written(dec!(106618.55), ' ', ','), "106 618,55");
        assert_eq!(Money::written(dec!(1234567.5), ',', '.'), "1,234,567.50");
        assert_eq!(Money::written(dec!(999), ' ', ','), "999,00");
        assert_eq!(Money::written(dec!(2.675), ' ', ','), "2,68");
        assert_eq!(Money::written(dec!(2.665), ' ', ','), "2,67");
        assert_eq!(Money::written(dec!(-1000.005), ' ', ','), "-1 000,01");
        assert_eq!(Money::written(dec!(-0.001), ' ', ','), "0,00");
    }

    #[test]
    fn vat_inside_a_gross_amount_follows_the_rate() {
        // 22% from 2026-01-01, 20% before (docs/domain.md).
        assert_eq!(
            Money::parse("122.00").unwrap().vat_inside(dec!(22)),
            Money::parse("22.00").unwrap()
        );
        assert_eq!(
            Money::parse("106618.55").unwrap().vat_inside(dec!(20)),
            Money::parse("17769.76").unwrap()
        );
    }

    proptest! {
        #[test]
        fn addition_of_kopeck_amounts_is_exact(a in -1_000_000_000_i64..1_000_000_000, b in -1_000_000_000_i64..1_000_000_000) {
            let x = Money::from_decimal(Decimal::new(a, 2)).unwrap();
            let y = Money::from_decimal(Decimal::new(b, 2)).unwrap();
            prop_assert_eq!((x + y).amount(), Decimal::new(a + b, 2));
            prop_assert_eq!(x + y - y, x);
            prop_assert_eq!((x + y).kopecks(), a + b);
        }
    }
}
