//! Payment schedule arithmetic (docs/domain.md "Payment schedules"): pure functions from a contract's terms to
//! its lines, and the recalculation of the remaining lines after a partial early repayment.
//!
//! Every line is rounded to kopecks (half away from zero) and the last regular line takes the rounding
//! remainder, so the principal parts add up to the financed amount exactly.

use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::values::{vat_rate_on, Money};

/// How the regular lines are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// Equal payments: PMT = (P − FV/(1+r)^n)·r / (1 − (1+r)^−n).
    Annuity,
    /// Principal P/n each month plus interest on the outstanding balance.
    Decreasing,
    /// Lines given by the back office (imported from the lessor's own system).
    Explicit,
}

impl ScheduleKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Annuity => "annuity",
            Self::Decreasing => "decreasing",
            Self::Explicit => "explicit",
        }
    }
}

/// What the redemption payment (выкупной платёж) is, as the contract states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedemptionKind {
    /// The usual Russian contract: a small fixed amount (often 1,000 ₽) paid after the last regular line, on
    /// top of regular lines that repay the whole financed amount. Due a month after the last regular line.
    Symbolic,
    /// A real residual value: the regular lines repay the financed amount down to it (FV in the annuity
    /// formula) and it is paid with the last regular line, as a balloon.
    Residual,
}

impl RedemptionKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Symbolic => "symbolic",
            Self::Residual => "residual",
        }
    }

    /// What the regular lines leave unpaid of the financed amount (FV) for a redemption of `amount`.
    pub fn residual(self, amount: Money) -> Money {
        match self {
            Self::Symbolic => Money::ZERO,
            Self::Residual => amount,
        }
    }

    /// When the redemption is due, given the last regular line's due date.
    pub fn due_after(self, last_regular: NaiveDate) -> NaiveDate {
        match self {
            Self::Symbolic => nth_month(last_regular, 1),
            Self::Residual => last_regular,
        }
    }
}

/// What a line pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// The advance (аванс), due on the contract date; line 0.
    Advance,
    /// A monthly leasing payment; lines 1..n.
    Regular,
    /// The redemption payment (выкупной платёж), after the last regular line; line n+1 (see
    /// [`RedemptionKind`] for its date and for what the regular lines repay).
    Redemption,
}

impl LineKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Advance => "advance",
            Self::Regular => "regular",
            Self::Redemption => "redemption",
        }
    }
}

/// One line of a payment schedule. Amounts include VAT; the VAT rate is the one in force on the due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleLine {
    /// 0 for the advance, 1..n for the regular lines, n+1 for the redemption.
    pub number: u32,
    /// What the line pays for.
    pub kind: LineKind,
    /// The due date as agreed (a non-working day moves only the penalty start, not this date).
    pub due_date: NaiveDate,
    /// The amount with VAT.
    pub amount: Money,
    /// VAT rate in percent on the due date.
    pub vat_rate: Decimal,
    /// VAT inside the amount.
    pub vat: Money,
    /// The principal part (annuity and decreasing regular lines).
    pub principal: Option<Money>,
    /// The interest part (annuity and decreasing regular lines).
    pub interest: Option<Money>,
}

impl ScheduleLine {
    /// A line whose VAT follows its due date.
    pub fn new(
        number: u32,
        kind: LineKind,
        due_date: NaiveDate,
        amount: Money,
        parts: Option<(Money, Money)>,
    ) -> Self {
        let vat_rate = vat_rate_on(due_date);
        Self {
            number,
            kind,
            due_date,
            amount,
            vat_rate,
            vat: amount.vat_inside(vat_rate),
            principal: parts.map(|p| p.0),
            interest: parts.map(|p| p.1),
        }
    }
}

/// Why a schedule cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// An explicit schedule has no lines.
    #[error("an explicit schedule needs at least one line")]
    NoLines,
    /// Explicit lines must be in strictly increasing date order.
    #[error("line {index}: due dates must increase from line to line")]
    DatesNotIncreasing {
        /// 1-based index of the offending line.
        index: usize,
    },
    /// Explicit lines must be positive.
    #[error("line {index}: the amount must be positive")]
    NonPositiveAmount {
        /// 1-based index of the offending line.
        index: usize,
    },
    /// An explicit line falls before the contract date.
    #[error("line {index}: due before the contract date")]
    BeforeContractDate {
        /// 1-based index of the offending line.
        index: usize,
    },
    /// The payment would not even cover the interest: the balance never goes down.
    #[error("the payment does not cover the interest")]
    PaymentDoesNotCoverInterest,
}

/// The terms a schedule is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleTerms {
    /// The contract date (the advance is due on it).
    pub contract_date: NaiveDate,
    /// Price of the asset with VAT.
    pub price: Money,
    /// The advance (already resolved to an amount).
    pub advance: Money,
    /// Number of regular lines.
    pub term_months: u32,
    /// Annual rate in percent (12 means 12% a year).
    pub annual_rate: Decimal,
    /// Due date of line 1; line i is due i−1 months later (clamped to the month's end).
    pub first_due_date: NaiveDate,
    /// The redemption payment.
    pub redemption: Money,
    /// Whether the redemption is symbolic (on top of a full repayment) or a residual value (FV).
    pub redemption_kind: RedemptionKind,
    /// How the regular lines are computed.
    pub kind: ScheduleKind,
    /// The lines of an explicit schedule: (due date, amount with VAT).
    pub explicit: Vec<(NaiveDate, Money)>,
}

/// The monthly rate r = annual / 12, from a percentage.
pub fn monthly_rate(annual_percent: Decimal) -> Decimal {
    annual_percent / Decimal::from(1200)
}

/// Line `i` (0-based) of a monthly sequence starting at `first`: always counted from `first`, so 31 January
/// gives 28/29 February and then 31 March, never drifting.
pub fn nth_month(first: NaiveDate, i: u32) -> NaiveDate {
    first.checked_add_months(Months::new(i)).unwrap_or(first)
}

fn pow(x: Decimal, n: u32) -> Decimal {
    let mut acc = Decimal::ONE;
    for _ in 0..n {
        acc *= x;
    }
    acc
}

/// The annuity payment PMT = (P − FV/(1+r)^n)·r / (1 − (1+r)^−n), rounded to kopecks; (P − FV)/n at r = 0.
pub fn annuity_payment(principal: Money, monthly_rate: Decimal, n: u32, fv: Money) -> Money {
    if n == 0 {
        return Money::ZERO;
    }
    let (p, fv) = (principal.amount(), fv.amount());
    if monthly_rate.is_zero() {
        return Money::round((p - fv) / Decimal::from(n));
    }
    // Multiplying numerator and denominator by q = (1+r)^n keeps the division exact to 28 digits.
    let q = pow(Decimal::ONE + monthly_rate, n);
    Money::round((p * q - fv) * monthly_rate / (q - Decimal::ONE))
}

/// How the balance is paid down, line by line.
#[derive(Debug, Clone, Copy)]
enum Amortization {
    /// The same total each line (annuity).
    Payment(Money),
    /// The same principal each line (decreasing).
    Principal(Money),
}

/// Regular lines paying `balance` down to `fv` on `dates`: a line that would take the balance to `fv` or
/// below, or the line on the last date, takes the remainder. With a payment computed for all the dates that
/// is the last date; with a kept payment after an early repayment, an earlier one (a shorter term).
fn amortize(
    balance: Money,
    fv: Money,
    r: Decimal,
    how: Amortization,
    dates: &[NaiveDate],
    first_number: u32,
) -> Result<Vec<ScheduleLine>, ScheduleError> {
    let mut lines = Vec::new();
    let mut b = balance;
    for (k, &due) in dates.iter().enumerate() {
        if b <= fv {
            break;
        }
        let interest = Money::round(b.amount() * r);
        let mut principal = match how {
            Amortization::Payment(pmt) => pmt - interest,
            Amortization::Principal(p) => p,
        };
        if principal.amount() <= Decimal::ZERO {
            return Err(ScheduleError::PaymentDoesNotCoverInterest);
        }
        let last_line = k + 1 == dates.len();
        if last_line || b - principal <= fv {
            // The last line takes the rounding remainder so the principal parts sum exactly.
            principal = b - fv;
        }
        b = b - principal;
        lines.push(ScheduleLine::new(
            first_number + k as u32,
            LineKind::Regular,
            due,
            principal + interest,
            Some((principal, interest)),
        ));
    }
    Ok(lines)
}

/// The whole schedule of a new contract: the advance (line 0, when there is one), the regular lines, and the
/// redemption (line n+1, when there is one).
///
/// # Errors
/// [`ScheduleError`] for explicit lines that cannot be a schedule.
pub fn build_schedule(t: &ScheduleTerms) -> Result<Vec<ScheduleLine>, ScheduleError> {
    let mut lines = Vec::new();
    if t.advance > Money::ZERO {
        lines.push(ScheduleLine::new(
            0,
            LineKind::Advance,
            t.contract_date,
            t.advance,
            None,
        ));
    }
    let financed = t.price - t.advance;
    let fv = t.redemption_kind.residual(t.redemption);
    let r = monthly_rate(t.annual_rate);
    let regular = match t.kind {
        ScheduleKind::Explicit => explicit_lines(t)?,
        ScheduleKind::Annuity | ScheduleKind::Decreasing => {
            let dates: Vec<NaiveDate> = (0..t.term_months)
                .map(|i| nth_month(t.first_due_date, i))
                .collect();
            let how = if t.kind == ScheduleKind::Annuity {
                Amortization::Payment(annuity_payment(financed, r, t.term_months, fv))
            } else {
                Amortization::Principal(Money::round(
                    (financed - fv).amount() / Decimal::from(t.term_months.max(1)),
                ))
            };
            amortize(financed, fv, r, how, &dates, 1)?
        }
    };
    let last_due = regular
        .last()
        .map(|l| l.due_date)
        .unwrap_or(t.first_due_date);
    let next_number = regular.last().map(|l| l.number + 1).unwrap_or(1);
    lines.extend(regular);
    if t.redemption > Money::ZERO {
        lines.push(ScheduleLine::new(
            next_number,
            LineKind::Redemption,
            t.redemption_kind.due_after(last_due),
            t.redemption,
            None,
        ));
    }
    Ok(lines)
}

fn explicit_lines(t: &ScheduleTerms) -> Result<Vec<ScheduleLine>, ScheduleError> {
    if t.explicit.is_empty() {
        return Err(ScheduleError::NoLines);
    }
    let mut previous: Option<NaiveDate> = None;
    let mut lines = Vec::with_capacity(t.explicit.len());
    for (i, &(due, amount)) in t.explicit.iter().enumerate() {
        let index = i + 1;
        if amount.amount() <= Decimal::ZERO {
            return Err(ScheduleError::NonPositiveAmount { index });
        }
        if due < t.contract_date {
            return Err(ScheduleError::BeforeContractDate { index });
        }
        if previous.is_some_and(|p| due <= p) {
            return Err(ScheduleError::DatesNotIncreasing { index });
        }
        previous = Some(due);
        lines.push(ScheduleLine::new(
            index as u32,
            LineKind::Regular,
            due,
            amount,
            None,
        ));
    }
    Ok(lines)
}

/// After a partial early repayment: fewer lines of the same size, or the same number of smaller lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecalculationMode {
    /// Keep the payment (annuity) or the principal share (decreasing); the term gets shorter.
    ShorterTerm,
    /// Keep the term; each remaining line gets smaller.
    SmallerPayments,
}

impl RecalculationMode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ShorterTerm => "shorter_term",
            Self::SmallerPayments => "smaller_payments",
        }
    }
}

/// The new regular lines replacing `remaining` (untouched regular lines, in order) after `repaid` of principal
/// is paid early. Dates are the remaining lines' own dates (a shorter term uses the first of them); numbers
/// start at the first remaining line's number. `fv` (the residual value, zero for a symbolic redemption)
/// stays the balance left after the last line.
///
/// # Errors
/// [`ScheduleError::PaymentDoesNotCoverInterest`] when the kept payment no longer covers the interest.
pub fn recalculate_remaining(
    kind: ScheduleKind,
    remaining: &[ScheduleLine],
    fv: Money,
    annual_rate: Decimal,
    repaid: Money,
    mode: RecalculationMode,
) -> Result<Vec<ScheduleLine>, ScheduleError> {
    let Some(first) = remaining.first() else {
        return Ok(Vec::new());
    };
    let outstanding = remaining.iter().fold(Money::ZERO, |acc, l| {
        acc + l.principal.unwrap_or(Money::ZERO)
    });
    let balance = outstanding + fv - repaid;
    let r = monthly_rate(annual_rate);
    let dates: Vec<NaiveDate> = remaining.iter().map(|l| l.due_date).collect();
    let n = remaining.len() as u32;
    let how = match (kind, mode) {
        (ScheduleKind::Annuity, RecalculationMode::SmallerPayments) => {
            Amortization::Payment(annuity_payment(balance, r, n, fv))
        }
        (ScheduleKind::Annuity, RecalculationMode::ShorterTerm) => {
            Amortization::Payment(first.amount)
        }
        (_, RecalculationMode::SmallerPayments) => {
            Amortization::Principal(Money::round((balance - fv).amount() / Decimal::from(n)))
        }
        (_, RecalculationMode::ShorterTerm) => {
            Amortization::Principal(first.principal.unwrap_or(first.amount))
        }
    };
    amortize(balance, fv, r, how, &dates, first.number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{d, m};
    use rust_decimal_macros::dec;

    fn terms(
        kind: ScheduleKind,
        price: &str,
        advance: &str,
        n: u32,
        rate: Decimal,
    ) -> ScheduleTerms {
        ScheduleTerms {
            contract_date: d("2025-10-15"),
            price: m(price),
            advance: m(advance),
            term_months: n,
            annual_rate: rate,
            first_due_date: d("2025-11-10"),
            redemption: Money::ZERO,
            redemption_kind: RedemptionKind::Residual,
            kind,
            explicit: vec![],
        }
    }

    fn sum(lines: &[ScheduleLine], f: impl Fn(&ScheduleLine) -> Option<Money>) -> Money {
        lines.iter().filter_map(f).fold(Money::ZERO, |a, b| a + b)
    }

    #[test]
    fn the_annuity_payment_matches_domain_md() {
        // docs/domain.md: P = 1,200,000, 12 months, 12% a year → 106,618.55.
        assert_eq!(
            annuity_payment(m("1200000"), monthly_rate(dec!(12)), 12, Money::ZERO),
            m("106618.55")
        );
    }

    #[test]
    fn an_annuity_schedule_sums_exactly_and_the_last_line_takes_the_remainder() {
        let lines =
            build_schedule(&terms(ScheduleKind::Annuity, "1200000", "0", 12, dec!(12))).unwrap();
        assert_eq!(lines.len(), 12);
        assert!(lines[..11].iter().all(|l| l.amount == m("106618.55")));
        assert_eq!(sum(&lines, |l| l.principal), m("1200000"));
        // Interest: 1% of each month's opening balance, rounded; the last line absorbs the rounding.
        assert_eq!(lines[0].interest, Some(m("12000.00")));
        assert_eq!(lines[0].principal, Some(m("94618.55")));
        let total = sum(&lines, |l| Some(l.amount));
        assert_eq!(
            total,
            sum(&lines, |l| l.principal) + sum(&lines, |l| l.interest)
        );
        assert!((lines[11].amount - m("106618.55")).amount().abs() < dec!(0.10));
    }

    #[test]
    fn an_annuity_with_a_residual_pays_it_as_the_redemption_line() {
        let mut t = terms(ScheduleKind::Annuity, "1200000", "0", 12, dec!(12));
        t.redemption = m("100000");
        let lines = build_schedule(&t).unwrap();
        let pmt = annuity_payment(m("1200000"), monthly_rate(dec!(12)), 12, m("100000"));
        // (1,200,000 − 100,000/1.01^12)·0.01 / (1 − 1.01^−12) = 98,733.67.
        assert_eq!(pmt, m("98733.67"));
        assert_eq!(lines.len(), 13);
        assert_eq!(lines[12].kind, LineKind::Redemption);
        assert_eq!(lines[12].number, 13);
        assert_eq!(lines[12].due_date, lines[11].due_date);
        assert_eq!(sum(&lines, |l| l.principal), m("1100000"));
    }

    #[test]
    fn a_symbolic_redemption_comes_a_month_after_a_schedule_that_repays_everything() {
        for kind in [ScheduleKind::Annuity, ScheduleKind::Decreasing] {
            let mut t = terms(kind, "1200000", "0", 12, dec!(12));
            let without = build_schedule(&t).unwrap();
            t.redemption = m("1000");
            t.redemption_kind = RedemptionKind::Symbolic;
            let lines = build_schedule(&t).unwrap();
            // The regular lines are those of the same contract without a redemption: they repay all of it.
            assert_eq!(lines[..12], without[..], "{kind:?}");
            assert_eq!(sum(&lines, |l| l.principal), m("1200000"));
            let r = &lines[12];
            assert_eq!(
                (r.kind, r.number, r.amount),
                (LineKind::Redemption, 13, m("1000"))
            );
            assert_eq!(r.due_date, d("2026-11-10"), "a month after 2026-10-10");
            assert_eq!(r.principal, None);
        }
        // The explicit schedule's redemption follows its last line the same way.
        let mut t = terms(ScheduleKind::Explicit, "1000000", "0", 2, dec!(0));
        t.explicit = vec![
            (d("2025-11-30"), m("500000")),
            (d("2025-12-31"), m("500000")),
        ];
        t.redemption = m("1000");
        t.redemption_kind = RedemptionKind::Symbolic;
        assert_eq!(build_schedule(&t).unwrap()[2].due_date, d("2026-01-31"));
        t.redemption_kind = RedemptionKind::Residual;
        assert_eq!(build_schedule(&t).unwrap()[2].due_date, d("2025-12-31"));
    }

    #[test]
    fn recalculating_a_symbolic_contract_repays_the_whole_balance_and_a_residual_one_down_to_it() {
        let mut t = terms(ScheduleKind::Annuity, "1200000", "0", 12, dec!(12));
        t.redemption = m("100000");
        for kind in [RedemptionKind::Symbolic, RedemptionKind::Residual] {
            t.redemption_kind = kind;
            let lines = build_schedule(&t).unwrap();
            let remaining = &lines[6..12];
            let fv = kind.residual(t.redemption);
            let new = recalculate_remaining(
                ScheduleKind::Annuity,
                remaining,
                fv,
                dec!(12),
                m("50000"),
                RecalculationMode::SmallerPayments,
            )
            .unwrap();
            assert_eq!(
                sum(&new, |l| l.principal),
                sum(remaining, |l| l.principal) - m("50000"),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn a_decreasing_schedule_pays_equal_principal_and_interest_on_the_balance() {
        let lines = build_schedule(&terms(
            ScheduleKind::Decreasing,
            "1000000",
            "100000",
            36,
            dec!(15),
        ))
        .unwrap();
        // Line 0 is the advance, then 36 regular lines.
        assert_eq!(lines.len(), 37);
        assert_eq!(lines[0].kind, LineKind::Advance);
        assert_eq!(lines[0].amount, m("100000"));
        // 900,000 / 36 = 25,000 principal; first interest 900,000 × 1.25% = 11,250.
        assert_eq!(lines[1].principal, Some(m("25000")));
        assert_eq!(lines[1].interest, Some(m("11250")));
        assert_eq!(lines[1].amount, m("36250"));
        assert_eq!(lines[2].interest, Some(m("10937.50")));
        assert_eq!(sum(&lines, |l| l.principal), m("900000"));
        assert!(lines.windows(2).skip(1).all(|w| w[1].amount < w[0].amount));
    }

    #[test]
    fn a_principal_share_that_does_not_divide_evenly_leaves_the_remainder_on_the_last_line() {
        let lines =
            build_schedule(&terms(ScheduleKind::Decreasing, "1000000", "0", 3, dec!(0))).unwrap();
        let p: Vec<Money> = lines.iter().map(|l| l.principal.unwrap()).collect();
        assert_eq!(p, vec![m("333333.33"), m("333333.33"), m("333333.34")]);
    }

    #[test]
    fn the_vat_rate_follows_each_lines_date_across_1_january_2026() {
        let lines =
            build_schedule(&terms(ScheduleKind::Annuity, "1200000", "0", 12, dec!(12))).unwrap();
        // Lines due 2025-11-10 and 2025-12-10 charge 20%; from 2026-01-10 on, 22%.
        assert_eq!(lines[0].vat_rate, dec!(20));
        assert_eq!(lines[1].vat_rate, dec!(20));
        assert_eq!(lines[2].vat_rate, dec!(22));
        // 106,618.55 × 20/120 = 17,769.758… → 17,769.76; × 22/122 = 19,226.295… → 19,226.30.
        assert_eq!(lines[0].vat, m("17769.76"));
        assert_eq!(lines[2].vat, m("19226.30"));
    }

    #[test]
    fn monthly_due_dates_never_drift_after_a_short_month() {
        let first = d("2026-01-31");
        assert_eq!(nth_month(first, 1), d("2026-02-28"));
        assert_eq!(nth_month(first, 2), d("2026-03-31"));
    }

    #[test]
    fn explicit_lines_are_checked() {
        let mut t = terms(ScheduleKind::Explicit, "1000000", "0", 0, dec!(0));
        assert_eq!(build_schedule(&t), Err(ScheduleError::NoLines));
        t.explicit = vec![
            (d("2025-11-10"), m("500000")),
            (d("2025-11-10"), m("500000")),
        ];
        assert_eq!(
            build_schedule(&t),
            Err(ScheduleError::DatesNotIncreasing { index: 2 })
        );
        t.explicit = vec![(d("2025-11-10"), m("0"))];
        assert_eq!(
            build_schedule(&t),
            Err(ScheduleError::NonPositiveAmount { index: 1 })
        );
        t.explicit = vec![
            (d("2025-11-10"), m("600000")),
            (d("2025-12-10"), m("500000")),
        ];
        let lines = build_schedule(&t).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].principal, None);
    }

    #[test]
    fn recalculating_with_smaller_payments_keeps_the_dates_and_lowers_the_payment() {
        let lines =
            build_schedule(&terms(ScheduleKind::Annuity, "1200000", "0", 12, dec!(12))).unwrap();
        let remaining = &lines[6..];
        let new = recalculate_remaining(
            ScheduleKind::Annuity,
            remaining,
            Money::ZERO,
            dec!(12),
            m("100000"),
            RecalculationMode::SmallerPayments,
        )
        .unwrap();
        assert_eq!(new.len(), 6);
        assert_eq!(new[0].number, 7);
        assert_eq!(new[0].due_date, remaining[0].due_date);
        let before = sum(remaining, |l| l.principal);
        assert_eq!(sum(&new, |l| l.principal), before - m("100000"));
        assert!(new[0].amount < remaining[0].amount);
    }

    #[test]
    fn recalculating_with_a_shorter_term_keeps_the_payment_and_drops_lines() {
        let lines =
            build_schedule(&terms(ScheduleKind::Annuity, "1200000", "0", 12, dec!(12))).unwrap();
        let remaining = &lines[6..];
        let new = recalculate_remaining(
            ScheduleKind::Annuity,
            remaining,
            Money::ZERO,
            dec!(12),
            m("200000"),
            RecalculationMode::ShorterTerm,
        )
        .unwrap();
        assert!(new.len() < 6);
        assert!(new[..new.len() - 1]
            .iter()
            .all(|l| l.amount == remaining[0].amount));
        assert_eq!(
            sum(&new, |l| l.principal),
            sum(remaining, |l| l.principal) - m("200000")
        );
    }

    proptest::proptest! {
        #[test]
        fn principal_parts_always_sum_to_the_financed_amount(
            price in 100_000i64..50_000_000,
            advance_pct in 0i64..49,
            n in 1u32..84,
            rate in 0i64..40,
            fv in 0i64..1000,
            decreasing in proptest::bool::ANY,
        ) {
            let price = Money::round(Decimal::from(price));
            let advance = Money::round(price.amount() * Decimal::from(advance_pct) / Decimal::ONE_HUNDRED);
            let mut t = terms(
                if decreasing { ScheduleKind::Decreasing } else { ScheduleKind::Annuity },
                "0", "0", n, Decimal::from(rate),
            );
            t.price = price;
            t.advance = advance;
            t.redemption = Money::round(Decimal::from(fv));
            let lines = build_schedule(&t).unwrap();
            proptest::prop_assert_eq!(sum(&lines, |l| l.principal), price - advance - t.redemption);
            proptest::prop_assert!(lines.iter().all(|l| l.amount > Money::ZERO));
            for l in &lines {
                proptest::prop_assert_eq!(l.vat, l.amount.vat_inside(l.vat_rate));
                if let (Some(p), Some(i)) = (l.principal, l.interest) {
                    proptest::prop_assert_eq!(p + i, l.amount);
                }
            }
        }
    }
}
