//! Penalty arithmetic (docs/domain.md "Penalties"): penalty = rate × overdue base × days.
//!
//! Days start the day after the line's payment deadline (its due date moved to a working day); whether the
//! payment day itself counts and whether the base includes VAT are contract terms. A payment reduces the base
//! from its date. The result depends only on its inputs, so the same events give the same penalty whatever
//! day the computation runs.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::values::Money;

/// A contract's penalty terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PenaltyTerms {
    /// Percent of the base per day (0.1 means 0.1% a day).
    pub rate_per_day: Decimal,
    /// Whether the base is the overdue amount with VAT (`true`) or without it.
    pub base_includes_vat: bool,
    /// Whether the day the payment arrives is itself a penalty day.
    pub payment_day_counts: bool,
}

/// Money that reduced a line's unpaid amount on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// The payment's (or credit application's) date.
    pub date: NaiveDate,
    /// How much of the line it covered.
    pub amount: Money,
}

/// A line's penalty through a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinePenalty {
    /// The whole penalty from the first penalty day through the day asked for, rounded to kopecks once.
    pub amount: Money,
    /// Penalty days with a positive base.
    pub days: i64,
}

/// The penalty on one schedule line from the day after `deadline` through `through` (inclusive).
///
/// `amount` is the line's amount with VAT, `vat_rate` its VAT rate, `settlements` what paid it and when.
/// The base on a day is the amount minus the settlements that count by then: a settlement on day D counts
/// from D+1 when the payment day is a penalty day, from D itself when it is not.
pub fn line_penalty(
    amount: Money,
    vat_rate: Decimal,
    deadline: NaiveDate,
    settlements: &[Settlement],
    through: NaiveDate,
    terms: &PenaltyTerms,
) -> LinePenalty {
    let first_day = deadline + Days::new(1);
    if through < first_day {
        return LinePenalty {
            amount: Money::ZERO,
            days: 0,
        };
    }
    // (day from which the base is lower, by how much)
    let mut steps: Vec<(NaiveDate, Money)> = settlements
        .iter()
        .map(|s| {
            let from = if terms.payment_day_counts {
                s.date + Days::new(1)
            } else {
                s.date
            };
            (from, s.amount)
        })
        .collect();
    steps.sort_by_key(|s| s.0);
    let mut base = amount;
    let mut cursor = first_day;
    let mut total = Decimal::ZERO;
    let mut days = 0;
    let mut add = |base: Money, from: NaiveDate, to_exclusive: NaiveDate, total: &mut Decimal| {
        let n = (to_exclusive - from).num_days();
        if n > 0 && base > Money::ZERO {
            let b = if terms.base_includes_vat {
                base
            } else {
                base - base.vat_inside(vat_rate)
            };
            *total += b.amount() * Decimal::from(n);
            days += n;
        }
    };
    let end = through + Days::new(1);
    for (from, paid) in steps {
        let from = from.max(first_day).min(end);
        if from > cursor {
            add(base, cursor, from, &mut total);
            cursor = from;
        }
        base = base - paid;
    }
    add(base, cursor, end, &mut total);
    LinePenalty {
        amount: Money::round(total * terms.rate_per_day / Decimal::ONE_HUNDRED),
        days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{d, m};
    use rust_decimal_macros::dec;

    const TERMS: PenaltyTerms = PenaltyTerms {
        rate_per_day: dec!(0.1),
        base_includes_vat: true,
        payment_day_counts: true,
    };

    #[test]
    fn the_domain_md_example_gives_2550_rubles() {
        // 150,000 due 2026-03-10, paid 2026-03-27, 0.1% a day → 17 days → 2,550.00.
        let paid = [Settlement {
            date: d("2026-03-27"),
            amount: m("150000"),
        }];
        let p = line_penalty(
            m("150000"),
            dec!(22),
            d("2026-03-10"),
            &paid,
            d("2026-04-30"),
            &TERMS,
        );
        assert_eq!(p.amount, m("2550.00"));
        assert_eq!(p.days, 17);
    }

    #[test]
    fn without_the_payment_day_the_same_case_counts_16_days() {
        let terms = PenaltyTerms {
            payment_day_counts: false,
            ..TERMS
        };
        let paid = [Settlement {
            date: d("2026-03-27"),
            amount: m("150000"),
        }];
        let p = line_penalty(
            m("150000"),
            dec!(22),
            d("2026-03-10"),
            &paid,
            d("2026-04-30"),
            &terms,
        );
        assert_eq!(p.days, 16);
        assert_eq!(p.amount, m("2400.00"));
    }

    #[test]
    fn a_partial_payment_reduces_the_base_from_its_date() {
        // 150,000 overdue from 11 March; 100,000 paid on 15 March; the rest on 27 March.
        // 11–15 March: 5 days × 150,000; 16–27 March: 12 days × 50,000 → (750,000 + 600,000) × 0.1% = 1,350.
        let paid = [
            Settlement {
                date: d("2026-03-15"),
                amount: m("100000"),
            },
            Settlement {
                date: d("2026-03-27"),
                amount: m("50000"),
            },
        ];
        let p = line_penalty(
            m("150000"),
            dec!(22),
            d("2026-03-10"),
            &paid,
            d("2026-03-31"),
            &TERMS,
        );
        assert_eq!(p.amount, m("1350.00"));
        assert_eq!(p.days, 17);
    }

    #[test]
    fn an_unpaid_line_accrues_through_the_day_asked_for_and_nothing_before_its_deadline() {
        let p = line_penalty(
            m("150000"),
            dec!(22),
            d("2026-03-10"),
            &[],
            d("2026-03-12"),
            &TERMS,
        );
        assert_eq!(p.amount, m("300.00"));
        let p = line_penalty(
            m("150000"),
            dec!(22),
            d("2026-03-10"),
            &[],
            d("2026-03-10"),
            &TERMS,
        );
        assert_eq!(p.amount, Money::ZERO);
    }

    #[test]
    fn a_base_without_vat_excludes_the_vat_inside_the_amount() {
        let terms = PenaltyTerms {
            base_includes_vat: false,
            ..TERMS
        };
        // 122,000 with 22% VAT is 100,000 without; 10 days × 0.1% = 1,000.
        let p = line_penalty(
            m("122000"),
            dec!(22),
            d("2026-03-10"),
            &[],
            d("2026-03-20"),
            &terms,
        );
        assert_eq!(p.amount, m("1000.00"));
    }

    #[test]
    fn a_payment_before_the_deadline_leaves_no_penalty() {
        let paid = [Settlement {
            date: d("2026-03-01"),
            amount: m("150000"),
        }];
        let p = line_penalty(
            m("150000"),
            dec!(22),
            d("2026-03-10"),
            &paid,
            d("2026-04-30"),
            &TERMS,
        );
        assert_eq!(p.amount, Money::ZERO);
        assert_eq!(p.days, 0);
    }
}
