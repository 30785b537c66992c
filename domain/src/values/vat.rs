//! VAT rates by the date of the supply (docs/domain.md "Money and VAT").

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// (first day, rate in percent), newest last. 22% from 2026-01-01: Federal law 425-ФЗ of 28.11.2025.
const RATES: &[((i32, u32, u32), i64)] = &[((2019, 1, 1), 20), ((2026, 1, 1), 22)];

/// The VAT rate, in percent, for a supply on `date` (a schedule line's due date): 20% through 2025-12-31,
/// 22% from 2026-01-01.
pub fn vat_rate_on(date: NaiveDate) -> Decimal {
    let mut rate = Decimal::from(RATES[0].1);
    for &((y, m, d), r) in RATES {
        if NaiveDate::from_ymd_opt(y, m, d).is_some_and(|from| date >= from) {
            rate = Decimal::from(r);
        }
    }
    rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_changes_from_20_to_22_percent_on_1_january_2026() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(vat_rate_on(d("2025-12-31")), Decimal::from(20));
        assert_eq!(vat_rate_on(d("2026-01-01")), Decimal::from(22));
        assert_eq!(vat_rate_on(d("2027-06-30")), Decimal::from(22));
        assert_eq!(vat_rate_on(d("2024-03-01")), Decimal::from(20));
    }
}
