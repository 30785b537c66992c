//! The reconciliation of a contract's settlements for a period (акт сверки взаиморасчётов), computed from
//! its events and those of its re-billed insurance policies: what the lessee was charged (debit) and what it
//! paid (credit), dated by business dates, with the balances before and after the period.
//!
//! What is charged, and when:
//! - a schedule line on its due date (lines cancelled by a buyout or termination are not; a redemption line
//!   settled by an early buyout is charged on the earlier of its due date and the buyout);
//! - penalties as they accrue (one operation per month, dated by the last day accrued that month);
//! - a traffic fine on the date of its resolution;
//! - principal repaid early (ScheduleRecalculated) and the outstanding principal of an early buyout, on their
//!   dates;
//! - a re-billed insurance installment on its due date.
//!
//! What is credited: every bank payment on its date, a fine the lessee paid to the authority directly, and
//! premium payments on re-billed installments.
//!
//! The balance is the lessee's debt (positive) or overpayment (negative). Money paid ahead for lines and
//! installments not yet due by the end of the period is [`Reconciliation::prepaid`]; the debt read model does
//! not count it (it is neither owed nor credit), so `closing + prepaid` equals the debt model's total for the
//! same business day.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::contract::{AllocationTarget, ContractEvent};
use crate::policy::{PolicyEvent, PremiumPayer};
use crate::schedule::{LineKind, ScheduleLine};

/// One operation of the act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operation {
    /// Business date.
    pub date: NaiveDate,
    /// The document it rests on (a schedule line, a bank payment's reference, a fine's resolution).
    pub document: String,
    /// What it is.
    pub description: String,
    /// Charged to the lessee.
    pub debit: Decimal,
    /// Paid by the lessee.
    pub credit: Decimal,
}

/// The act's numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period.
    pub to: NaiveDate,
    /// Balance before `from` (debt positive).
    pub opening: Decimal,
    /// Operations within the period, by date.
    pub operations: Vec<Operation>,
    /// Sum of debits in the period.
    pub debit_turnover: Decimal,
    /// Sum of credits in the period.
    pub credit_turnover: Decimal,
    /// Balance at the end of `to`.
    pub closing: Decimal,
    /// Paid ahead, by the end of `to`, on lines and installments falling due later.
    pub prepaid: Decimal,
}

impl Reconciliation {
    /// What is owed at the end of the period, as the debt read model counts it: the closing balance without
    /// the money paid ahead for later lines.
    pub fn debt(&self) -> Decimal {
        self.closing + self.prepaid
    }
}

struct Line {
    line: ScheduleLine,
    cancelled: bool,
    /// Charged on this date instead of the due date (a redemption line settled by a buyout).
    charged_on: Option<NaiveDate>,
    /// (date, amount) paid on the line directly by payments.
    paid: Vec<(NaiveDate, Decimal)>,
}

const MONTHS: [&str; 12] = [
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
];

/// Computes the act for `from..=to` from a contract's events (in order) and its policies' events (each
/// policy's in order).
pub fn reconcile(
    contract: &[ContractEvent],
    policies: &[Vec<PolicyEvent>],
    from: NaiveDate,
    to: NaiveDate,
) -> Reconciliation {
    let mut ops: Vec<Operation> = Vec::new();
    let mut lines: BTreeMap<u32, Line> = BTreeMap::new();
    // Penalties per (year, month): (last day accrued, amount).
    let mut penalties: BTreeMap<(i32, u32), (NaiveDate, Decimal)> = BTreeMap::new();
    let op = |date, document: String, description: String, debit, credit| Operation {
        date,
        document,
        description,
        debit,
        credit,
    };
    let add_lines = |lines: &mut BTreeMap<u32, Line>, new: &[ScheduleLine]| {
        for l in new {
            lines.insert(
                l.number,
                Line {
                    line: l.clone(),
                    cancelled: false,
                    charged_on: None,
                    paid: Vec::new(),
                },
            );
        }
    };
    for e in contract {
        match e {
            ContractEvent::ContractConcluded { lines: l, .. } => add_lines(&mut lines, l),
            ContractEvent::PaymentRecorded {
                bank_reference,
                date,
                amount,
                allocations,
                ..
            } => {
                ops.push(op(
                    *date,
                    format!("платёжное поручение {bank_reference}"),
                    "Оплата".into(),
                    Decimal::ZERO,
                    amount.amount(),
                ));
                for a in allocations {
                    if let AllocationTarget::Line { number } = a.target {
                        if let Some(l) = lines.get_mut(&number) {
                            l.paid.push((*date, a.amount.amount()));
                        }
                    }
                }
            }
            ContractEvent::PenaltyAccrued {
                through, amount, ..
            } => {
                let entry = penalties
                    .entry((through.year(), through.month()))
                    .or_insert((*through, Decimal::ZERO));
                entry.0 = entry.0.max(*through);
                entry.1 += amount.amount();
            }
            ContractEvent::TrafficFineRegistered {
                resolution_number,
                date,
                amount,
                description,
                discount,
                fee,
                ..
            } => {
                // What is owed at first: the discounted amount while the discount lasts; the lessor's fee
                // on its own line.
                let owed = discount.map_or(*amount, |d| d.amount);
                ops.push(op(
                    *date,
                    format!("постановление {resolution_number}"),
                    match discount {
                        Some(d) => format!(
                            "Штраф: {description} (со скидкой 50 % до {})",
                            d.until.format("%d.%m.%Y")
                        ),
                        None => format!("Штраф: {description}"),
                    },
                    owed.amount(),
                    Decimal::ZERO,
                ));
                if *fee > crate::values::Money::ZERO {
                    ops.push(op(
                        *date,
                        format!("постановление {resolution_number}"),
                        "Вознаграждение лизингодателя за перевыставление штрафа".into(),
                        fee.amount(),
                        Decimal::ZERO,
                    ));
                }
            }
            ContractEvent::TrafficFineDiscountExpired {
                resolution_number,
                date,
                amount,
            } => ops.push(op(
                *date,
                format!("постановление {resolution_number}"),
                "Срок оплаты штрафа со скидкой истёк: доначислена вторая половина".into(),
                amount.amount(),
                Decimal::ZERO,
            )),
            ContractEvent::FineFeeAgreed { .. } | ContractEvent::BookValueReported { .. } => {}
            ContractEvent::TrafficFinePaid {
                resolution_number,
                date,
                amount,
            } => ops.push(op(
                *date,
                format!("постановление {resolution_number}"),
                "Штраф оплачен лизингополучателем напрямую".into(),
                Decimal::ZERO,
                amount.amount(),
            )),
            ContractEvent::ScheduleRecalculated {
                date,
                amount,
                replaced,
                lines: new,
                ..
            } => {
                ops.push(op(
                    *date,
                    "дополнительное соглашение (пересчёт графика)".into(),
                    "Частичное досрочное погашение".into(),
                    amount.amount(),
                    Decimal::ZERO,
                ));
                for n in replaced {
                    lines.remove(n);
                }
                add_lines(&mut lines, new);
            }
            ContractEvent::ScheduleReplaced {
                replaced,
                lines: new,
                ..
            } => {
                for n in replaced {
                    lines.remove(n);
                }
                add_lines(&mut lines, new);
            }
            ContractEvent::ContractBoughtOut {
                date,
                amount,
                cancelled_lines,
                redemption_line,
            } => {
                let redemption = redemption_line.map_or(Decimal::ZERO, |(_, m)| m.amount());
                ops.push(op(
                    *date,
                    "досрочный выкуп".into(),
                    "Досрочный выкуп: невозмещённая стоимость предмета лизинга".into(),
                    amount.amount() - redemption,
                    Decimal::ZERO,
                ));
                for n in cancelled_lines {
                    if let Some(l) = lines.get_mut(n) {
                        l.cancelled = true;
                    }
                }
                if let Some((n, _)) = redemption_line {
                    if let Some(l) = lines.get_mut(n) {
                        l.charged_on = Some(l.line.due_date.min(*date));
                    }
                }
            }
            ContractEvent::ContractTerminated {
                cancelled_lines, ..
            } => {
                for n in cancelled_lines {
                    if let Some(l) = lines.get_mut(n) {
                        l.cancelled = true;
                    }
                }
            }
            ContractEvent::ContractActivated { .. }
            | ContractEvent::CreditApplied { .. }
            | ContractEvent::PaymentFellDue { .. }
            | ContractEvent::PaymentOverdue { .. }
            | ContractEvent::ContractCompleted { .. } => {}
        }
    }
    let mut prepaid = Decimal::ZERO;
    for l in lines.values().filter(|l| !l.cancelled) {
        let charged = l.charged_on.unwrap_or(l.line.due_date);
        if charged <= to {
            let what = match l.line.kind {
                LineKind::Advance => "Авансовый платеж".to_owned(),
                LineKind::Regular => format!("Лизинговый платеж № {}", l.line.number),
                LineKind::Redemption => "Выкупной платеж".to_owned(),
            };
            ops.push(op(
                charged,
                format!("график платежей, строка {}", l.line.number),
                format!("{what}, срок {}", date_text(l.line.due_date)),
                l.line.amount.amount(),
                Decimal::ZERO,
            ));
        } else {
            prepaid += l
                .paid
                .iter()
                .filter(|(d, _)| *d <= to)
                .map(|(_, a)| *a)
                .sum::<Decimal>();
        }
    }
    for ((y, m), (last, amount)) in penalties {
        if !amount.is_zero() {
            ops.push(op(
                last,
                "расчёт пеней".into(),
                format!("Пени за {} {y}", MONTHS[m as usize - 1]),
                amount,
                Decimal::ZERO,
            ));
        }
    }
    for events in policies {
        prepaid += insurance(events, to, &mut ops);
    }
    // Debits before credits on the same day, then by document.
    ops.sort_by(|a, b| {
        (a.date, a.credit > Decimal::ZERO, &a.document).cmp(&(
            b.date,
            b.credit > Decimal::ZERO,
            &b.document,
        ))
    });
    let balance = |o: &Operation| o.debit - o.credit;
    let opening: Decimal = ops.iter().filter(|o| o.date < from).map(balance).sum();
    let operations: Vec<Operation> = ops
        .into_iter()
        .filter(|o| o.date >= from && o.date <= to)
        .collect();
    let debit_turnover: Decimal = operations.iter().map(|o| o.debit).sum();
    let credit_turnover: Decimal = operations.iter().map(|o| o.credit).sum();
    Reconciliation {
        from,
        to,
        opening,
        closing: opening + debit_turnover - credit_turnover,
        operations,
        debit_turnover,
        credit_turnover,
        prepaid,
    }
}

fn date_text(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// An installment: due date, amount, cancelled, payments (date, amount).
type Installment = (NaiveDate, Decimal, bool, Vec<(NaiveDate, Decimal)>);

/// Adds a re-billed policy's charges and payments; returns what was paid ahead on installments falling due
/// after `to`.
fn insurance(events: &[PolicyEvent], to: NaiveDate, ops: &mut Vec<Operation>) -> Decimal {
    let mut number = String::new();
    let mut rebilled = false;
    // number → (due date, amount, cancelled, payments)
    let mut installments: BTreeMap<u32, Installment> = BTreeMap::new();
    let add = |list: &mut BTreeMap<_, _>, i: &crate::policy::Installment| {
        list.insert(i.number, (i.due_date, i.amount.amount(), false, Vec::new()));
    };
    for e in events {
        match e {
            PolicyEvent::PolicyIssued {
                number: n,
                payer,
                installments: list,
                ..
            } => {
                number = n.clone();
                rebilled = *payer == PremiumPayer::Lessor;
                for i in list {
                    add(&mut installments, i);
                }
            }
            PolicyEvent::PolicyProlonged {
                installments: list,
                number: n,
                ..
            } => {
                if let Some(n) = n {
                    number = n.clone();
                }
                for i in list {
                    add(&mut installments, i);
                }
            }
            PolicyEvent::PolicyTermsChanged {
                additional_premium: Some(i),
                ..
            } => add(&mut installments, i),
            PolicyEvent::PremiumPaid {
                date, allocations, ..
            } => {
                for (n, amount) in allocations {
                    if let Some(i) = installments.get_mut(n) {
                        i.3.push((*date, amount.amount()));
                    }
                }
            }
            PolicyEvent::PolicyCancelled {
                cancelled_installments,
                ..
            } => {
                for n in cancelled_installments {
                    if let Some(i) = installments.get_mut(n) {
                        i.2 = true;
                    }
                }
            }
            _ => {}
        }
    }
    if !rebilled {
        return Decimal::ZERO;
    }
    let mut prepaid = Decimal::ZERO;
    for (n, (due, amount, cancelled, paid)) in installments {
        if cancelled {
            continue;
        }
        if due <= to {
            ops.push(Operation {
                date: due,
                document: format!("полис {number}, взнос {n}"),
                description: "Страховая премия (возмещение)".into(),
                debit: amount,
                credit: Decimal::ZERO,
            });
        } else {
            prepaid += paid
                .iter()
                .filter(|(d, _)| *d <= to)
                .map(|(_, a)| *a)
                .sum::<Decimal>();
        }
        for (d, a) in paid {
            ops.push(Operation {
                date: d,
                document: format!("полис {number}, взнос {n}"),
                description: "Оплата страховой премии".into(),
                debit: Decimal::ZERO,
                credit: a,
            });
        }
    }
    prepaid
}
