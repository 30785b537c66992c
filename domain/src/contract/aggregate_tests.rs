//! Given events, when a command, then events or a typed error.

use std::sync::Arc;

use async_trait::async_trait;
use cqrs_es::test::TestFramework;
use rust_decimal_macros::dec;

use super::*;
use crate::contract::{CompanyDirectory, LeasingSubject};
use crate::testing::{d, m};
use crate::values::{Email, Vin};

const COMPANY: Uuid = Uuid::from_u128(7);

/// Knows one company.
struct OneCompany;

#[async_trait]
impl CompanyDirectory for OneCompany {
    async fn company_exists(&self, company_id: Uuid) -> Result<bool, crate::failure::LookupFailed> {
        Ok(company_id == COMPANY)
    }
}

fn services() -> ContractServices {
    ContractServices::new(Arc::new(OneCompany), Arc::new(ProductionCalendar::russia()))
}

fn framework() -> TestFramework<Contract> {
    TestFramework::with(services())
}

const PENALTY: PenaltyTerms = PenaltyTerms {
    rate_per_day: dec!(0.1),
    base_includes_vat: true,
    payment_day_counts: true,
};

/// An explicit schedule so amounts are round: 150,000 on the 10th of March, April and May 2026.
fn terms() -> ContractTerms {
    ContractTerms {
        contract_id: Uuid::from_u128(1),
        company_id: COMPANY,
        number: "ЛД-2026-001".into(),
        date: d("2026-02-01"),
        contact_email: Email::parse("buh@romashka.ru").unwrap(),
        subject: LeasingSubject {
            kind: "легковой автомобиль".into(),
            make: "Lada".into(),
            model: "Vesta".into(),
            year: 2025,
            vin: Some(Vin::parse("XTA21800000000001").unwrap()),
            serial_number: None,
            registration_plate: None,
        },
        price: m("500000"),
        advance: Advance::Amount(Money::ZERO),
        term_months: 3,
        annual_rate: dec!(0),
        first_due_date: d("2026-03-10"),
        schedule_kind: ScheduleKind::Explicit,
        explicit_lines: vec![
            (d("2026-03-10"), m("150000")),
            (d("2026-04-10"), m("150000")),
            (d("2026-05-10"), m("150000")),
        ],
        redemption: m("1000"),
        redemption_kind: Some(RedemptionKind::Residual),
        penalty: PENALTY,
    }
}

/// The event ConcludeContract records for `t` (the schedule computed the same way).
fn concluded(t: ContractTerms) -> ContractEvent {
    let advance = match t.advance {
        Advance::Amount(a) => a,
        Advance::Percent(p) => Money::round(t.price.amount() * p / Decimal::ONE_HUNDRED),
    };
    let lines = build_schedule(&ScheduleTerms {
        contract_date: t.date,
        price: t.price,
        advance,
        term_months: t.term_months,
        annual_rate: t.annual_rate,
        first_due_date: t.first_due_date,
        redemption: t.redemption,
        redemption_kind: t.redemption_kind.unwrap_or(RedemptionKind::Symbolic),
        kind: t.schedule_kind,
        explicit: t.explicit_lines.clone(),
    })
    .unwrap();
    ContractEvent::ContractConcluded {
        contract_id: t.contract_id,
        company_id: t.company_id,
        number: t.number,
        date: t.date,
        contact_email: crate::values::Personal::new(t.contact_email),
        subject: t.subject,
        price: t.price,
        advance,
        advance_percent: match t.advance {
            Advance::Percent(p) => Some(p),
            Advance::Amount(_) => None,
        },
        term_months: t.term_months,
        annual_rate: t.annual_rate,
        first_due_date: t.first_due_date,
        schedule_kind: t.schedule_kind,
        redemption: t.redemption,
        redemption_kind: t.redemption_kind.unwrap_or(RedemptionKind::Symbolic),
        penalty: t.penalty,
        lines,
    }
}

fn paid(reference: &str, date: &str, amount: &str, line: u32) -> ContractEvent {
    ContractEvent::PaymentRecorded {
        bank_reference: reference.into(),
        date: d(date),
        amount: m(amount),
        purpose: PaymentPurpose::LeasingPayment,
        allocations: vec![Allocation {
            target: AllocationTarget::Line { number: line },
            amount: m(amount),
        }],
    }
}

fn pay(reference: &str, date: &str, amount: &str, purpose: PaymentPurpose) -> ContractCommand {
    ContractCommand::RecordPayment {
        amount: m(amount),
        date: d(date),
        bank_reference: reference.into(),
        purpose,
    }
}

fn accrue(day: &str) -> ContractCommand {
    ContractCommand::CloseBusinessDay { as_of: d(day) }
}

fn fell_due(line: u32, due: &str, amount: &str) -> ContractEvent {
    ContractEvent::PaymentFellDue {
        line,
        due_date: d(due),
        amount: m(amount),
    }
}

fn overdue(line: u32, deadline: &str, amount: &str, as_of: &str) -> ContractEvent {
    ContractEvent::PaymentOverdue {
        line,
        deadline: d(deadline),
        amount: m(amount),
        as_of: d(as_of),
    }
}

fn accrued(
    line: u32,
    deadline: &str,
    through: &str,
    days: i64,
    amount: &str,
    total: &str,
) -> ContractEvent {
    ContractEvent::PenaltyAccrued {
        line,
        deadline: d(deadline),
        through: d(through),
        days,
        amount: m(amount),
        total: m(total),
    }
}

async fn errors_with(given: Vec<ContractEvent>, command: ContractCommand, expected: ContractError) {
    framework()
        .given(given)
        .when_async(command)
        .await
        .then_expect_error(expected);
}

// --- Conclusion --------------------------------------------------------------------------------------------

#[tokio::test]
async fn concluding_a_contract_records_its_computed_schedule() {
    framework()
        .given_no_previous_events()
        .when_async(ContractCommand::ConcludeContract(Box::new(terms())))
        .await
        .then_expect_events(vec![concluded(terms())]);
}

#[tokio::test]
async fn an_annuity_contract_with_an_advance_in_percent_gets_line_0_and_36_lines() {
    let mut t = terms();
    t.schedule_kind = ScheduleKind::Annuity;
    t.explicit_lines = vec![];
    t.term_months = 36;
    t.annual_rate = dec!(18);
    t.price = m("3600000");
    t.advance = Advance::Percent(dec!(20));
    let result = framework()
        .given_no_previous_events()
        .when_async(ContractCommand::ConcludeContract(Box::new(t.clone())))
        .await
        .inspect_result()
        .unwrap();
    let [ContractEvent::ContractConcluded { advance, lines, .. }] = result.as_slice() else {
        panic!("expected one ContractConcluded, got {result:?}");
    };
    assert_eq!(*advance, m("720000"));
    assert_eq!(lines.len(), 38); // advance, 36 regular, redemption
    assert_eq!(lines[0].amount, m("720000"));
    assert_eq!(lines[37].kind, LineKind::Redemption);
}

#[tokio::test]
async fn an_advance_of_the_whole_price_is_refused() {
    let mut t = terms();
    t.advance = Advance::Amount(m("500000"));
    errors_with(
        vec![],
        ContractCommand::ConcludeContract(Box::new(t)),
        ContractError::AdvanceNotBelowPrice {
            advance: m("500000"),
            price: m("500000"),
        },
    )
    .await;
}

#[tokio::test]
async fn a_term_of_zero_months_is_refused() {
    let mut t = terms();
    t.schedule_kind = ScheduleKind::Annuity;
    t.explicit_lines = vec![];
    t.term_months = 0;
    errors_with(
        vec![],
        ContractCommand::ConcludeContract(Box::new(t)),
        ContractError::TermZero,
    )
    .await;
}

#[tokio::test]
async fn a_contract_for_a_company_that_does_not_exist_is_refused() {
    let mut t = terms();
    t.company_id = Uuid::from_u128(99);
    errors_with(
        vec![],
        ContractCommand::ConcludeContract(Box::new(t)),
        ContractError::CompanyNotFound,
    )
    .await;
}

#[tokio::test]
async fn a_subject_with_neither_vin_nor_serial_number_is_refused() {
    let mut t = terms();
    t.subject.vin = None;
    t.subject.serial_number = Some("  ".into());
    let e = framework()
        .given_no_previous_events()
        .when_async(ContractCommand::ConcludeContract(Box::new(t)))
        .await
        .inspect_result()
        .unwrap_err();
    assert_eq!(e, ContractError::SubjectNotIdentified);
}

#[tokio::test]
async fn concluding_twice_is_refused() {
    errors_with(
        vec![concluded(terms())],
        ContractCommand::ConcludeContract(Box::new(terms())),
        ContractError::AlreadyConcluded,
    )
    .await;
}

// --- Payments ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_leasing_payment_goes_to_the_oldest_open_lines_and_prepays_the_next() {
    framework()
        .given(vec![
            concluded(terms()),
            paid("p1", "2026-03-05", "100000", 1),
        ])
        .when_async(pay(
            "p2",
            "2026-03-09",
            "120000",
            PaymentPurpose::LeasingPayment,
        ))
        .await
        .then_expect_events(vec![ContractEvent::PaymentRecorded {
            bank_reference: "p2".into(),
            date: d("2026-03-09"),
            amount: m("120000"),
            purpose: PaymentPurpose::LeasingPayment,
            allocations: vec![
                Allocation {
                    target: AllocationTarget::Line { number: 1 },
                    amount: m("50000"),
                },
                Allocation {
                    target: AllocationTarget::Line { number: 2 },
                    amount: m("70000"),
                },
            ],
        }]);
}

#[tokio::test]
async fn paying_more_than_every_line_leaves_the_rest_as_credit() {
    framework()
        .given(vec![concluded(terms())])
        .when_async(pay(
            "p1",
            "2026-03-09",
            "500000",
            PaymentPurpose::LeasingPayment,
        ))
        .await
        .then_expect_events(vec![ContractEvent::PaymentRecorded {
            bank_reference: "p1".into(),
            date: d("2026-03-09"),
            amount: m("500000"),
            purpose: PaymentPurpose::LeasingPayment,
            allocations: vec![
                Allocation {
                    target: AllocationTarget::Line { number: 1 },
                    amount: m("150000"),
                },
                Allocation {
                    target: AllocationTarget::Line { number: 2 },
                    amount: m("150000"),
                },
                Allocation {
                    target: AllocationTarget::Line { number: 3 },
                    amount: m("150000"),
                },
                Allocation {
                    target: AllocationTarget::Line { number: 4 },
                    amount: m("1000"),
                },
                Allocation {
                    target: AllocationTarget::Credit,
                    amount: m("49000"),
                },
            ],
        }]);
}

#[tokio::test]
async fn a_payment_of_zero_is_refused_naming_the_amount() {
    let e = framework()
        .given(vec![concluded(terms())])
        .when_async(pay("p", "2026-03-05", "0", PaymentPurpose::LeasingPayment))
        .await
        .inspect_result()
        .unwrap_err();
    assert_eq!(e, ContractError::NotPositive { field: "amount" });
}

#[tokio::test]
async fn an_unallocated_payment_is_credit_that_pays_the_next_line_when_it_falls_due() {
    let unallocated = ContractEvent::PaymentRecorded {
        bank_reference: "u1".into(),
        date: d("2026-03-02"),
        amount: m("200000"),
        purpose: PaymentPurpose::Unallocated,
        allocations: vec![Allocation {
            target: AllocationTarget::Credit,
            amount: m("200000"),
        }],
    };
    framework()
        .given(vec![concluded(terms()), unallocated])
        .when_async(accrue("2026-03-10"))
        .await
        .then_expect_events(vec![ContractEvent::CreditApplied {
            line: 1,
            amount: m("150000"),
            date: d("2026-03-10"),
        }]);
}

// --- Business days and penalties ---------------------------------------------------------------------------

#[tokio::test]
async fn a_line_falls_due_on_its_date_and_is_overdue_the_day_after() {
    framework()
        .given(vec![concluded(terms())])
        .when_async(accrue("2026-03-10"))
        .await
        .then_expect_events(vec![fell_due(1, "2026-03-10", "150000")]);
    framework()
        .given(vec![
            concluded(terms()),
            fell_due(1, "2026-03-10", "150000"),
        ])
        .when_async(accrue("2026-03-11"))
        .await
        .then_expect_events(vec![
            overdue(1, "2026-03-10", "150000", "2026-03-11"),
            accrued(1, "2026-03-10", "2026-03-11", 1, "150.00", "150.00"),
        ]);
}

#[tokio::test]
async fn the_domain_md_penalty_example_accrues_2550_rubles() {
    // 150,000 due 2026-03-10, paid 2026-03-27, 0.1% a day → 17 days → 2,550.00: the payment settles the
    // line's penalty through its date.
    framework()
        .given(vec![
            concluded(terms()),
            fell_due(1, "2026-03-10", "150000"),
            overdue(1, "2026-03-10", "150000", "2026-03-11"),
            accrued(1, "2026-03-10", "2026-03-26", 16, "2400.00", "2400.00"),
        ])
        .when_async(pay(
            "p1",
            "2026-03-27",
            "150000",
            PaymentPurpose::LeasingPayment,
        ))
        .await
        .then_expect_events(vec![
            paid("p1", "2026-03-27", "150000", 1),
            accrued(1, "2026-03-10", "2026-03-27", 17, "150.00", "2550.00"),
        ]);
    // The day's closing afterwards finds nothing more to charge.
    framework()
        .given(vec![
            concluded(terms()),
            fell_due(1, "2026-03-10", "150000"),
            overdue(1, "2026-03-10", "150000", "2026-03-11"),
            accrued(1, "2026-03-10", "2026-03-26", 16, "2400.00", "2400.00"),
            paid("p1", "2026-03-27", "150000", 1),
            accrued(1, "2026-03-10", "2026-03-27", 17, "150.00", "2550.00"),
        ])
        .when_async(accrue("2026-03-31"))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn a_payment_recorded_late_with_an_earlier_date_lowers_the_penalty_already_accrued() {
    framework()
        .given(vec![
            concluded(terms()),
            overdue(1, "2026-03-10", "150000", "2026-03-11"),
            accrued(1, "2026-03-10", "2026-03-20", 10, "1500.00", "1500.00"),
        ])
        .when_async(pay(
            "p1",
            "2026-03-15",
            "150000",
            PaymentPurpose::LeasingPayment,
        ))
        .await
        .then_expect_events(vec![
            paid("p1", "2026-03-15", "150000", 1),
            accrued(1, "2026-03-10", "2026-03-20", 5, "-750.00", "750.00"),
        ]);
}

#[tokio::test]
async fn accruing_twice_for_the_same_day_records_nothing() {
    framework()
        .given(vec![
            concluded(terms()),
            fell_due(1, "2026-03-10", "150000"),
            overdue(1, "2026-03-10", "150000", "2026-03-11"),
            accrued(1, "2026-03-10", "2026-03-12", 2, "300.00", "300.00"),
        ])
        .when_async(accrue("2026-03-12"))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn a_due_date_on_a_saturday_moves_the_deadline_to_monday() {
    // 2026-04-11 is a Saturday: the deadline is Monday 13 April; the 13th is not overdue, the 14th is.
    let mut t = terms();
    t.explicit_lines = vec![
        (d("2026-04-11"), m("150000")),
        (d("2026-05-11"), m("150000")),
        (d("2026-06-11"), m("150000")),
    ];
    let given = vec![concluded(t), fell_due(1, "2026-04-11", "150000")];
    framework()
        .given(given.clone())
        .when_async(accrue("2026-04-13"))
        .await
        .then_expect_events(vec![]);
    framework()
        .given(given)
        .when_async(accrue("2026-04-14"))
        .await
        .then_expect_events(vec![
            overdue(1, "2026-04-13", "150000", "2026-04-14"),
            accrued(1, "2026-04-13", "2026-04-14", 1, "150.00", "150.00"),
        ]);
}

#[tokio::test]
async fn a_due_date_on_a_public_holiday_moves_the_deadline_past_it() {
    // 12 June 2026 (Russia Day) is a Friday: the deadline is Monday 15 June.
    let mut t = terms();
    t.explicit_lines = vec![
        (d("2026-04-10"), m("150000")),
        (d("2026-05-10"), m("150000")),
        (d("2026-06-12"), m("150000")),
    ];
    let given = vec![
        concluded(t),
        paid("p1", "2026-04-01", "150000", 1),
        paid("p2", "2026-05-01", "150000", 2),
        fell_due(3, "2026-06-12", "150000"),
        fell_due(4, "2026-06-12", "1000"),
    ];
    framework()
        .given(given.clone())
        .when_async(accrue("2026-06-15"))
        .await
        .then_expect_events(vec![]);
    framework()
        .given(given)
        .when_async(accrue("2026-06-17"))
        .await
        .then_expect_events(vec![
            overdue(3, "2026-06-15", "150000", "2026-06-17"),
            accrued(3, "2026-06-15", "2026-06-17", 2, "300.00", "300.00"),
            overdue(4, "2026-06-15", "1000", "2026-06-17"),
            accrued(4, "2026-06-15", "2026-06-17", 2, "2.00", "2.00"),
        ]);
}

#[tokio::test]
async fn closing_an_earlier_day_after_a_late_payment_takes_no_penalty_back_and_still_marks_other_lines(
) {
    // The line was paid on 27 March (penalty settled through that day) before the clock closed 11 April;
    // closing 11 April charges line 2 without touching line 1, and closing 12 March again changes nothing.
    let given = vec![
        concluded(terms()),
        paid("p1", "2026-03-27", "150000", 1),
        accrued(1, "2026-03-10", "2026-03-27", 17, "2550.00", "2550.00"),
    ];
    framework()
        .given(given.clone())
        .when_async(accrue("2026-03-12"))
        .await
        .then_expect_events(vec![]);
    framework()
        .given(given)
        .when_async(accrue("2026-04-14"))
        .await
        .then_expect_events(vec![
            fell_due(2, "2026-04-10", "150000"),
            overdue(2, "2026-04-10", "150000", "2026-04-14"),
            accrued(2, "2026-04-10", "2026-04-14", 4, "600.00", "600.00"),
        ]);
}

#[tokio::test]
async fn a_partial_payment_reduces_the_penalty_base_from_its_date() {
    // 100,000 of 150,000 paid on 15 March: 5 days on 150,000 then 5 days on 50,000 through 20 March.
    framework()
        .given(vec![
            concluded(terms()),
            fell_due(1, "2026-03-10", "150000"),
            overdue(1, "2026-03-10", "150000", "2026-03-11"),
            paid("p1", "2026-03-15", "100000", 1),
        ])
        .when_async(accrue("2026-03-20"))
        .await
        .then_expect_events(vec![accrued(
            1,
            "2026-03-10",
            "2026-03-20",
            10,
            "1000.00",
            "1000.00",
        )]);
}

#[tokio::test]
async fn a_late_processed_day_still_charges_a_line_paid_after_its_deadline() {
    // The clock was behind: the line was paid on 27 March before any day after its due date was processed.
    framework()
        .given(vec![
            concluded(terms()),
            paid("p1", "2026-03-27", "150000", 1),
        ])
        .when_async(accrue("2026-03-27"))
        .await
        .then_expect_events(vec![accrued(
            1,
            "2026-03-10",
            "2026-03-27",
            17,
            "2550.00",
            "2550.00",
        )]);
}

#[tokio::test]
async fn paying_penalties_reduces_the_penalty_debt_and_the_rest_is_credit() {
    framework()
        .given(vec![
            concluded(terms()),
            overdue(1, "2026-03-10", "150000", "2026-03-11"),
            accrued(1, "2026-03-10", "2026-03-12", 2, "300.00", "300.00"),
        ])
        .when_async(pay("pen", "2026-03-12", "500", PaymentPurpose::Penalty))
        .await
        .then_expect_events(vec![ContractEvent::PaymentRecorded {
            bank_reference: "pen".into(),
            date: d("2026-03-12"),
            amount: m("500"),
            purpose: PaymentPurpose::Penalty,
            allocations: vec![
                Allocation {
                    target: AllocationTarget::Penalties,
                    amount: m("300"),
                },
                Allocation {
                    target: AllocationTarget::Credit,
                    amount: m("200"),
                },
            ],
        }]);
}

// --- Fines -------------------------------------------------------------------------------------------------

fn fine(number: &str, amount: &str) -> ContractEvent {
    ContractEvent::TrafficFineRegistered {
        resolution_number: number.into(),
        date: d("2026-03-03"),
        amount: m(amount),
        vehicle: "А123ВС77".into(),
        description: "превышение скорости".into(),
        article: None,
        discount: None,
        fee: Money::ZERO,
    }
}

const UIN: &str = "18810177260303000001";

#[tokio::test]
async fn a_fine_is_registered_once_per_resolution_number() {
    let register = ContractCommand::RegisterTrafficFine {
        resolution_number: UIN.into(),
        date: d("2026-03-03"),
        amount: m("500"),
        vehicle: "А123ВС77".into(),
        description: "превышение скорости".into(),
        article: None,
        discount_until: None,
    };
    framework()
        .given(vec![concluded(terms())])
        .when_async(register.clone())
        .await
        .then_expect_events(vec![fine(UIN, "500")]);
    errors_with(
        vec![concluded(terms()), fine(UIN, "500")],
        register,
        ContractError::DuplicateFine(UIN.into()),
    )
    .await;
}

#[tokio::test]
async fn a_resolution_number_that_is_not_20_or_25_digits_is_refused() {
    let e = framework()
        .given(vec![concluded(terms())])
        .when_async(ContractCommand::RegisterTrafficFine {
            resolution_number: "12345".into(),
            date: d("2026-03-03"),
            amount: m("500"),
            vehicle: "А123ВС77".into(),
            description: "парковка".into(),
            article: None,
            discount_until: None,
        })
        .await
        .inspect_result()
        .unwrap_err();
    assert!(
        matches!(
            e,
            ContractError::OutOfRange {
                field: "resolutionNumber",
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_fine_payment_covers_the_oldest_fine_and_a_fine_paid_outside_is_cleared() {
    framework()
        .given(vec![concluded(terms()), fine(UIN, "500")])
        .when_async(pay("f1", "2026-03-05", "500", PaymentPurpose::Fine))
        .await
        .then_expect_events(vec![ContractEvent::PaymentRecorded {
            bank_reference: "f1".into(),
            date: d("2026-03-05"),
            amount: m("500"),
            purpose: PaymentPurpose::Fine,
            allocations: vec![Allocation {
                target: AllocationTarget::Fine {
                    resolution_number: UIN.into(),
                },
                amount: m("500"),
            }],
        }]);
    framework()
        .given(vec![concluded(terms()), fine(UIN, "500")])
        .when_async(ContractCommand::RecordFinePaid {
            resolution_number: UIN.into(),
            date: d("2026-03-06"),
        })
        .await
        .then_expect_events(vec![ContractEvent::TrafficFinePaid {
            resolution_number: UIN.into(),
            date: d("2026-03-06"),
            amount: m("500"),
        }]);
    errors_with(
        vec![concluded(terms())],
        ContractCommand::RecordFinePaid {
            resolution_number: UIN.into(),
            date: d("2026-03-06"),
        },
        ContractError::FineNotFound(UIN.into()),
    )
    .await;
}

/// A speeding fine of 500 under ч. 2 ст. 12.9 of 03.03.2026, registered with the fee `fee`: 250 (+ fee)
/// until 23.03.2026.
fn discounted_fine(fee: &str) -> ContractEvent {
    ContractEvent::TrafficFineRegistered {
        resolution_number: UIN.into(),
        date: d("2026-03-03"),
        amount: m("500"),
        vehicle: "А123ВС77".into(),
        description: "превышение скорости".into(),
        article: Some("ч. 2 ст. 12.9 КоАП РФ".into()),
        discount: Some(crate::fines::Discount {
            amount: m("250"),
            until: d("2026-03-23"),
        }),
        fee: m(fee),
    }
}

fn register_speeding(article: &str, until: Option<&str>) -> ContractCommand {
    ContractCommand::RegisterTrafficFine {
        resolution_number: UIN.into(),
        date: d("2026-03-03"),
        amount: m("500"),
        vehicle: "А123ВС77".into(),
        description: "превышение скорости".into(),
        article: Some(article.into()),
        discount_until: until.map(d),
    }
}

fn discount_expiries(events: &[ContractEvent]) -> Vec<ContractEvent> {
    events
        .iter()
        .filter(|e| matches!(e, ContractEvent::TrafficFineDiscountExpired { .. }))
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_fine_under_an_article_with_the_discount_is_owed_at_half_for_twenty_days_with_the_agreed_fee(
) {
    framework()
        .given(vec![
            concluded(terms()),
            ContractEvent::FineFeeAgreed { fee: m("300") },
        ])
        .when_async(register_speeding("12.9 ч.2", None))
        .await
        .then_expect_events(vec![discounted_fine("300")]);
    // Paid at half (and the fee) within the period: cleared, and its discount never expires.
    framework()
        .given(vec![concluded(terms()), discounted_fine("300")])
        .when_async(pay("f1", "2026-03-20", "550", PaymentPurpose::Fine))
        .await
        .then_expect_events(vec![ContractEvent::PaymentRecorded {
            bank_reference: "f1".into(),
            date: d("2026-03-20"),
            amount: m("550"),
            purpose: PaymentPurpose::Fine,
            allocations: vec![Allocation {
                target: AllocationTarget::Fine {
                    resolution_number: UIN.into(),
                },
                amount: m("550"),
            }],
        }]);
    let paid_in_time = framework()
        .given(vec![
            concluded(terms()),
            discounted_fine("300"),
            pay_event_fine("f1", "2026-03-20", "550"),
        ])
        .when_async(ContractCommand::CloseBusinessDay {
            as_of: d("2026-03-24"),
        })
        .await
        .inspect_result()
        .unwrap();
    assert_eq!(discount_expiries(&paid_in_time), vec![]);
}

fn pay_event_fine(reference: &str, date: &str, amount: &str) -> ContractEvent {
    ContractEvent::PaymentRecorded {
        bank_reference: reference.into(),
        date: d(date),
        amount: m(amount),
        purpose: PaymentPurpose::Fine,
        allocations: vec![Allocation {
            target: AllocationTarget::Fine {
                resolution_number: UIN.into(),
            },
            amount: m(amount),
        }],
    }
}

#[tokio::test]
async fn a_discount_not_used_by_its_last_day_expires_and_the_whole_fine_is_owed() {
    let on = |day: &str| ContractCommand::CloseBusinessDay { as_of: d(day) };
    // The last day itself: still at half.
    let last_day = framework()
        .given(vec![concluded(terms()), discounted_fine("0")])
        .when_async(on("2026-03-23"))
        .await
        .inspect_result()
        .unwrap();
    assert_eq!(discount_expiries(&last_day), vec![]);
    let expired = ContractEvent::TrafficFineDiscountExpired {
        resolution_number: UIN.into(),
        date: d("2026-03-24"),
        amount: m("250"),
    };
    let after = framework()
        .given(vec![concluded(terms()), discounted_fine("0")])
        .when_async(on("2026-03-24"))
        .await
        .inspect_result()
        .unwrap();
    assert_eq!(discount_expiries(&after), vec![expired.clone()]);
    // Half paid, late: the other half is still owed; and a day closed again expires nothing twice.
    let again = framework()
        .given(vec![
            concluded(terms()),
            discounted_fine("0"),
            expired.clone(),
        ])
        .when_async(on("2026-03-25"))
        .await
        .inspect_result()
        .unwrap();
    assert_eq!(discount_expiries(&again), vec![]);
    framework()
        .given(vec![concluded(terms()), discounted_fine("0"), expired])
        .when_async(pay("f2", "2026-03-26", "600", PaymentPurpose::Fine))
        .await
        .then_expect_events(vec![ContractEvent::PaymentRecorded {
            bank_reference: "f2".into(),
            date: d("2026-03-26"),
            amount: m("600"),
            purpose: PaymentPurpose::Fine,
            allocations: vec![
                Allocation {
                    target: AllocationTarget::Fine {
                        resolution_number: UIN.into(),
                    },
                    amount: m("500"),
                },
                Allocation {
                    target: AllocationTarget::Credit,
                    amount: m("100"),
                },
            ],
        }]);
}

#[tokio::test]
async fn a_discount_the_law_does_not_give_is_refused_and_the_fee_is_never_negative() {
    // ч. 1 ст. 12.26 (refusing the medical examination) has no discount: none is computed...
    let events = framework()
        .given(vec![concluded(terms())])
        .when_async(register_speeding("ч. 1 ст. 12.26", None))
        .await
        .inspect_result()
        .unwrap();
    assert!(
        matches!(&events[..], [ContractEvent::TrafficFineRegistered { discount: None, article: Some(a), .. }] if a == "ч. 1 ст. 12.26 КоАП РФ"),
        "{events:?}"
    );
    // ...and a register that states one is wrong.
    errors_with(
        vec![concluded(terms())],
        register_speeding("ч. 1 ст. 12.26", Some("2026-03-23")),
        ContractError::OutOfRange {
            field: "discountUntil",
            reason: "the offence's article admits no discount (ч. 1.3 ст. 32.2 КоАП РФ)",
        },
    )
    .await;
    errors_with(
        vec![concluded(terms())],
        register_speeding("стоянка", None),
        ContractError::OutOfRange {
            field: "article",
            reason: "an article of the КоАП РФ such as «ч. 2 ст. 12.9» is expected",
        },
    )
    .await;
    errors_with(
        vec![concluded(terms())],
        ContractCommand::AgreeFineFee { fee: m("-1") },
        ContractError::OutOfRange {
            field: "fee",
            reason: "a fee is zero or more",
        },
    )
    .await;
    framework()
        .given(vec![
            concluded(terms()),
            ContractEvent::FineFeeAgreed { fee: m("300") },
        ])
        .when_async(ContractCommand::AgreeFineFee { fee: m("300") })
        .await
        .then_expect_events(vec![]);
}

// --- The book value from the accounting system ------------------------------------------------------------

#[tokio::test]
async fn the_book_value_is_recorded_once_and_never_replaced_by_an_older_one() {
    let report = |on: &str, amount: &str| ContractCommand::ReportBookValue {
        as_of: d(on),
        amount: m(amount),
        source: "import:1".into(),
    };
    let reported = |on: &str, amount: &str| ContractEvent::BookValueReported {
        as_of: d(on),
        amount: m(amount),
        source: "import:1".into(),
    };
    framework()
        .given(vec![concluded(terms())])
        .when_async(report("2026-02-28", "750000"))
        .await
        .then_expect_events(vec![reported("2026-02-28", "750000")]);
    let after = vec![concluded(terms()), reported("2026-02-28", "750000")];
    // The same figure again, and an older one: nothing.
    for (on, amount) in [("2026-02-28", "750000"), ("2026-02-15", "800000")] {
        framework()
            .given(after.clone())
            .when_async(report(on, amount))
            .await
            .then_expect_events(vec![]);
    }
    // A corrected figure for the same date, and a later one: recorded.
    for (on, amount) in [("2026-02-28", "749000"), ("2026-03-31", "700000")] {
        framework()
            .given(after.clone())
            .when_async(report(on, amount))
            .await
            .then_expect_events(vec![reported(on, amount)]);
    }
    errors_with(
        vec![concluded(terms())],
        report("2026-02-28", "-1"),
        ContractError::OutOfRange {
            field: "bookValue.amount",
            reason: "a book value is zero or more",
        },
    )
    .await;
    errors_with(
        vec![concluded(terms())],
        report("2020-01-01", "1"),
        ContractError::OutOfRange {
            field: "bookValue.asOf",
            reason: "not before the contract date",
        },
    )
    .await;
}

// --- A schedule replaced by the accounting system ----------------------------------------------------------

fn replace(lines: &[(&str, &str)], redemption: &str) -> ContractCommand {
    ContractCommand::ReplaceSchedule {
        date: d("2026-03-15"),
        lines: lines
            .iter()
            .map(|(day, amount)| (d(day), m(amount)))
            .collect(),
        redemption: m(redemption),
        source: "import:test".into(),
    }
}

#[tokio::test]
async fn the_accounting_systems_schedule_replaces_the_lines_that_differ_and_not_yet_due() {
    use crate::schedule::{LineKind, ScheduleLine};
    // Line 1 paid; the accounting system spreads the rest over three smaller lines.
    let spread = replace(
        &[
            ("2026-03-10", "150000"),
            ("2026-04-10", "100000"),
            ("2026-05-10", "100000"),
            ("2026-06-10", "100000"),
        ],
        "1000",
    );
    framework()
        .given(vec![
            concluded(terms()),
            paid("p1", "2026-03-10", "150000", 1),
        ])
        .when_async(spread.clone())
        .await
        .then_expect_events(vec![ContractEvent::ScheduleReplaced {
            date: d("2026-03-15"),
            replaced: vec![2, 3, 4],
            lines: vec![
                ScheduleLine::new(2, LineKind::Regular, d("2026-04-10"), m("100000"), None),
                ScheduleLine::new(3, LineKind::Regular, d("2026-05-10"), m("100000"), None),
                ScheduleLine::new(4, LineKind::Regular, d("2026-06-10"), m("100000"), None),
                // The residual redemption moves with the last regular line.
                ScheduleLine::new(5, LineKind::Redemption, d("2026-06-10"), m("1000"), None),
            ],
            source: "import:test".into(),
        }]);
    // The same schedule again: nothing.
    framework()
        .given(vec![concluded(terms())])
        .when_async(replace(
            &[
                ("2026-03-10", "150000"),
                ("2026-04-10", "150000"),
                ("2026-05-10", "150000"),
            ],
            "1000",
        ))
        .await
        .then_expect_events(vec![]);
    // A paid line cannot change.
    errors_with(
        vec![concluded(terms()), paid("p1", "2026-03-10", "150000", 1)],
        replace(
            &[
                ("2026-03-10", "140000"),
                ("2026-04-10", "160000"),
                ("2026-05-10", "150000"),
            ],
            "1000",
        ),
        ContractError::OutOfRange {
            field: "schedule",
            reason: "a line already due or paid cannot change",
        },
    )
    .await;
    // Nor a line that fell due, paid or not.
    errors_with(
        vec![
            concluded(terms()),
            ContractEvent::PaymentFellDue {
                line: 1,
                due_date: d("2026-03-10"),
                amount: m("150000"),
            },
        ],
        replace(&[("2026-03-11", "150000")], "0"),
        ContractError::OutOfRange {
            field: "schedule",
            reason: "a line already due or paid cannot change",
        },
    )
    .await;
}

// --- Recalculation, completion, termination ----------------------------------------------------------------

/// 300,000 received on 2026-03-01 without a purpose: credit for an early repayment.
fn early_credit() -> ContractEvent {
    ContractEvent::PaymentRecorded {
        bank_reference: "early".into(),
        date: d("2026-03-01"),
        amount: m("300000"),
        purpose: PaymentPurpose::Unallocated,
        allocations: vec![Allocation {
            target: AllocationTarget::Credit,
            amount: m("300000"),
        }],
    }
}

fn annuity_terms() -> ContractTerms {
    let mut t = terms();
    t.schedule_kind = ScheduleKind::Annuity;
    t.explicit_lines = vec![];
    t.term_months = 12;
    t.annual_rate = dec!(12);
    t.price = m("1200000");
    t.redemption = Money::ZERO;
    t
}

#[tokio::test]
async fn a_partial_early_repayment_from_credit_recomputes_the_remaining_lines() {
    let credit = early_credit();
    let result = framework()
        .given(vec![concluded(annuity_terms()), credit])
        .when_async(ContractCommand::RecalculateSchedule {
            date: d("2026-03-01"),
            amount: m("300000"),
            mode: RecalculationMode::ShorterTerm,
        })
        .await
        .inspect_result()
        .unwrap();
    let [ContractEvent::ScheduleRecalculated {
        replaced,
        lines,
        amount,
        ..
    }] = result.as_slice()
    else {
        panic!("expected ScheduleRecalculated, got {result:?}");
    };
    assert_eq!(*amount, m("300000"));
    assert_eq!(replaced.len(), 12);
    assert!(lines.len() < 12);
    let principal = lines
        .iter()
        .fold(Money::ZERO, |a, l| a + l.principal.unwrap());
    assert_eq!(principal, m("900000"));
}

#[tokio::test]
async fn a_redemption_above_zero_must_say_whether_it_is_symbolic_or_residual() {
    let mut t = annuity_terms();
    t.redemption = m("1000");
    t.redemption_kind = None;
    errors_with(
        vec![],
        ContractCommand::ConcludeContract(Box::new(t.clone())),
        ContractError::OutOfRange {
            field: "redemptionKind",
            reason: "must be stated (SYMBOLIC or RESIDUAL) when the redemption is above zero",
        },
    )
    .await;
    // Without a redemption there is nothing to state.
    t.redemption = Money::ZERO;
    framework()
        .given_no_previous_events()
        .when_async(ContractCommand::ConcludeContract(Box::new(t.clone())))
        .await
        .then_expect_events(vec![concluded(t)]);
}

#[tokio::test]
async fn a_symbolic_redemption_is_paid_after_lines_that_repay_the_whole_financed_amount() {
    let mut t = annuity_terms();
    t.redemption = m("1000");
    t.redemption_kind = Some(RedemptionKind::Symbolic);
    let result = framework()
        .given_no_previous_events()
        .when_async(ContractCommand::ConcludeContract(Box::new(t.clone())))
        .await
        .inspect_result()
        .unwrap();
    let [ContractEvent::ContractConcluded {
        lines,
        redemption_kind,
        ..
    }] = result.as_slice()
    else {
        panic!("expected one ContractConcluded, got {result:?}");
    };
    assert_eq!(*redemption_kind, RedemptionKind::Symbolic);
    let principal = lines
        .iter()
        .fold(Money::ZERO, |a, l| a + l.principal.unwrap_or(Money::ZERO));
    assert_eq!(
        principal,
        m("1200000"),
        "the regular lines repay everything"
    );
    // 1,200,000 at 12% over 12 months: docs/domain.md's 106,618.55, not the residual's smaller payment.
    assert_eq!(lines[0].amount, m("106618.55"));
    let last = &lines[12];
    assert_eq!((last.kind, last.amount), (LineKind::Redemption, m("1000")));
    assert_eq!(
        last.due_date,
        d("2027-03-10"),
        "a month after the last line"
    );

    // A residual value of the same amount is amortised: the lines leave it outstanding, due with the last.
    t.redemption_kind = Some(RedemptionKind::Residual);
    let result = framework()
        .given_no_previous_events()
        .when_async(ContractCommand::ConcludeContract(Box::new(t)))
        .await
        .inspect_result()
        .unwrap();
    let [ContractEvent::ContractConcluded { lines, .. }] = result.as_slice() else {
        panic!("expected one ContractConcluded, got {result:?}");
    };
    let principal = lines
        .iter()
        .fold(Money::ZERO, |a, l| a + l.principal.unwrap_or(Money::ZERO));
    assert_eq!(principal, m("1199000"));
    assert_eq!(lines[12].due_date, lines[11].due_date);
}

#[tokio::test]
async fn recalculating_a_symbolic_contract_repays_everything_and_keeps_the_redemption_after_it() {
    let mut t = annuity_terms();
    t.redemption = m("1000");
    t.redemption_kind = Some(RedemptionKind::Symbolic);
    let credit = early_credit();
    let result = framework()
        .given(vec![concluded(t), credit])
        .when_async(ContractCommand::RecalculateSchedule {
            date: d("2026-03-01"),
            amount: m("300000"),
            mode: RecalculationMode::ShorterTerm,
        })
        .await
        .inspect_result()
        .unwrap();
    let [ContractEvent::ScheduleRecalculated {
        replaced, lines, ..
    }] = result.as_slice()
    else {
        panic!("expected ScheduleRecalculated, got {result:?}");
    };
    assert_eq!(replaced.len(), 13, "12 lines and the redemption");
    let (redemption, regular) = lines.split_last().unwrap();
    let principal = regular
        .iter()
        .fold(Money::ZERO, |a, l| a + l.principal.unwrap());
    assert_eq!(
        principal,
        m("900000"),
        "all of what is left, nothing held back"
    );
    assert_eq!(redemption.kind, LineKind::Redemption);
    assert_eq!(redemption.amount, m("1000"));
    assert_eq!(
        redemption.due_date,
        crate::schedule::nth_month(regular.last().unwrap().due_date, 1)
    );
}

#[tokio::test]
async fn recalculation_needs_the_money_on_the_credit_balance() {
    errors_with(
        vec![concluded(annuity_terms())],
        ContractCommand::RecalculateSchedule {
            date: d("2026-03-01"),
            amount: m("1000"),
            mode: RecalculationMode::SmallerPayments,
        },
        ContractError::InsufficientCredit {
            available: Money::ZERO,
        },
    )
    .await;
}

#[tokio::test]
async fn completing_while_money_is_owed_is_refused_and_succeeds_once_all_is_paid() {
    errors_with(
        vec![concluded(terms()), paid("p1", "2026-03-05", "150000", 1)],
        ContractCommand::CompleteContract {
            date: d("2026-06-01"),
        },
        ContractError::OutstandingDebt {
            amount: m("301000"),
        },
    )
    .await;
    framework()
        .given(vec![
            concluded(terms()),
            paid("p1", "2026-03-05", "150000", 1),
            paid("p2", "2026-04-05", "150000", 2),
            paid("p3", "2026-05-05", "150000", 3),
            paid("p4", "2026-05-05", "1000", 4),
        ])
        .when_async(ContractCommand::CompleteContract {
            date: d("2026-06-01"),
        })
        .await
        .then_expect_events(vec![ContractEvent::ContractCompleted {
            date: d("2026-06-01"),
        }]);
}

#[tokio::test]
async fn termination_cancels_the_unpaid_lines_due_after_it() {
    framework()
        .given(vec![
            concluded(terms()),
            paid("p1", "2026-03-05", "150000", 1),
        ])
        .when_async(ContractCommand::TerminateContract {
            date: d("2026-04-01"),
            reason: "нарушение условий".into(),
        })
        .await
        .then_expect_events(vec![ContractEvent::ContractTerminated {
            date: d("2026-04-01"),
            reason: "нарушение условий".into(),
            cancelled_lines: vec![2, 3, 4],
        }]);
}

fn credited(reference: &str, date: &str, amount: &str) -> ContractEvent {
    ContractEvent::PaymentRecorded {
        bank_reference: reference.into(),
        date: d(date),
        amount: m(amount),
        purpose: PaymentPurpose::Unallocated,
        allocations: vec![Allocation {
            target: AllocationTarget::Credit,
            amount: m(amount),
        }],
    }
}

#[tokio::test]
async fn an_early_buyout_takes_principal_and_redemption_from_the_credit_and_cancels_later_lines() {
    framework()
        .given(vec![
            concluded(terms()),
            paid("p1", "2026-03-05", "150000", 1),
            credited("p2", "2026-03-20", "301000"),
        ])
        .when_async(ContractCommand::BuyOutEarly {
            date: d("2026-03-25"),
        })
        .await
        .then_expect_events(vec![ContractEvent::ContractBoughtOut {
            date: d("2026-03-25"),
            amount: m("301000"),
            cancelled_lines: vec![2, 3],
            redemption_line: Some((4, m("1000"))),
        }]);
}

#[tokio::test]
async fn an_early_buyout_is_refused_while_credit_falls_short_or_a_due_line_is_unpaid() {
    errors_with(
        vec![
            concluded(terms()),
            paid("p1", "2026-03-05", "150000", 1),
            credited("p2", "2026-03-20", "300000"),
        ],
        ContractCommand::BuyOutEarly {
            date: d("2026-03-25"),
        },
        ContractError::BuyoutNotCovered {
            available: m("300000"),
            price: m("301000"),
        },
    )
    .await;
    errors_with(
        // Line 1 (150,000) unpaid since 10 March: 15 days of 0.1% → 2,250 penalty on top.
        vec![concluded(terms()), credited("p2", "2026-03-01", "500000")],
        ContractCommand::BuyOutEarly {
            date: d("2026-03-25"),
        },
        ContractError::OutstandingDebt {
            amount: m("152250"),
        },
    )
    .await;
}

#[tokio::test]
async fn a_completed_contract_takes_no_payments() {
    errors_with(
        vec![
            concluded(terms()),
            ContractEvent::ContractCompleted {
                date: d("2026-06-01"),
            },
        ],
        pay("late", "2026-06-02", "10", PaymentPurpose::LeasingPayment),
        ContractError::WrongStatus(ContractStatus::Completed),
    )
    .await;
}

// --- Quote and snapshots -----------------------------------------------------------------------------------

fn contract_from(events: Vec<ContractEvent>) -> Contract {
    let mut c = Contract::default();
    for e in events {
        c.apply(e);
    }
    c
}

#[test]
fn the_early_buyout_quote_adds_principal_unpaid_lines_penalties_fines_and_redemption() {
    let c = contract_from(vec![
        concluded(terms()),
        fine(UIN, "500"),
        paid("p1", "2026-03-05", "100000", 1),
    ]);
    let q = c
        .early_buyout_quote(d("2026-03-20"), &ProductionCalendar::russia())
        .unwrap();
    // Line 1: 50,000 unpaid, overdue 10 days on 50,000 → 500 penalty. Lines 2–3 are explicit: 300,000 open.
    assert_eq!(q.unpaid_due, m("50000"));
    assert_eq!(q.outstanding_principal, m("300000"));
    assert_eq!(q.penalties, m("500"));
    assert_eq!(q.fines, m("500"));
    assert_eq!(q.redemption, m("1000"));
    assert_eq!(q.total, m("352000"));
}

#[test]
fn many_payments_on_one_day_keep_one_settlement_per_line() {
    let mut events = vec![concluded(terms())];
    for i in 0..1000 {
        events.push(paid(&format!("p{i}"), "2026-03-05", "100", 1));
    }
    let c = contract_from(events);
    let line = &c.state.as_ref().unwrap().lines[0];
    assert_eq!(line.settlements.len(), 1);
    assert_eq!(line.paid, m("100000"));
    assert!(serde_json::to_string(&c).unwrap().len() < 4_000);
}

#[test]
fn a_snapshot_of_a_contract_reloads_to_the_same_state() {
    let c = contract_from(vec![
        concluded(terms()),
        fine(UIN, "500"),
        paid("p1", "2026-03-05", "100000", 1),
        overdue(1, "2026-03-10", "50000", "2026-03-11"),
        accrued(1, "2026-03-10", "2026-03-11", 1, "50.00", "50.00"),
    ]);
    let json = serde_json::to_value(&c).unwrap();
    let back: Contract = serde_json::from_value(json).unwrap();
    assert_eq!(back, c);
}
