//! Given events, when a command, then events or a typed error; and the matching rule over facts.

use cqrs_es::test::TestFramework;

use super::purpose::read;
use super::*;
use crate::testing::{d, m};

const CONTRACT: Uuid = Uuid::from_u128(1);
const OTHER: Uuid = Uuid::from_u128(2);
const COMPANY: Uuid = Uuid::from_u128(7);
const POLICY: Uuid = Uuid::from_u128(100);

fn framework() -> TestFramework<BankPayment> {
    TestFramework::with(())
}

fn incoming(amount: &str) -> Incoming {
    Incoming {
        reference: "п/п 51 от 12.03.2026 ИНН 7707083893".into(),
        number: "51".into(),
        date: d("2026-03-12"),
        credited_on: Some(d("2026-03-13")),
        amount: m(amount),
        payer: Payer {
            name: Personal::new("ООО «Ромашка»".into()),
            inn: Some("7707083893".into()),
            kpp: Some("773601001".into()),
            account: Some("40702810900000000002".into()),
            bank: Some("044525225".into()),
        },
        purpose: Personal::new("Лизинговый платеж по договору № ЛД-7".into()),
        uin: None,
        source: Source {
            import_id: Uuid::from_u128(9),
            sha256: "ab".repeat(32),
            format: "1c".into(),
            place: 11,
        },
    }
}

fn matched(amount: &str) -> Match {
    Match {
        contract_id: CONTRACT,
        company_id: COMPANY,
        parts: vec![Part {
            target: Target::Leasing,
            amount: m(amount),
            contract_id: None,
        }],
        rule: MatchRule::ContractNumber,
    }
}

fn received(amount: &str) -> BankPaymentEvent {
    BankPaymentEvent::BankPaymentReceived(Box::new(incoming(amount)))
}

#[test]
fn a_matched_line_is_received_and_matched_and_the_same_line_again_is_refused() {
    framework()
        .given_no_previous_events()
        .when(BankPaymentCommand::Receive(
            Box::new(incoming("1000")),
            Decision::Matched(matched("1000")),
        ))
        .then_expect_events(vec![
            received("1000"),
            BankPaymentEvent::BankPaymentMatched(matched("1000")),
        ]);
    framework()
        .given(vec![
            received("1000"),
            BankPaymentEvent::BankPaymentMatched(matched("1000")),
        ])
        .when(BankPaymentCommand::Receive(
            Box::new(incoming("1000")),
            Decision::Queued(QueueReason::NoMatch),
        ))
        .then_expect_error(BankPaymentError::AlreadyReceived);
}

#[test]
fn parts_must_add_up_to_the_amount() {
    framework()
        .given_no_previous_events()
        .when(BankPaymentCommand::Receive(
            Box::new(incoming("1000")),
            Decision::Matched(matched("999.99")),
        ))
        .then_expect_error(BankPaymentError::PartsDoNotAddUp { amount: m("1000") });
    framework()
        .given(vec![
            received("1000"),
            BankPaymentEvent::BankPaymentQueued(QueueReason::NoMatch),
        ])
        .when(BankPaymentCommand::Assign(Match {
            parts: vec![
                Part {
                    target: Target::Leasing,
                    amount: m("1200"),
                    contract_id: None,
                },
                Part {
                    target: Target::Penalty,
                    amount: m("-200"),
                    contract_id: None,
                },
            ],
            ..matched("1000")
        }))
        .then_expect_error(BankPaymentError::PartsDoNotAddUp { amount: m("1000") });
}

#[test]
fn staff_assign_or_return_a_queued_payment_once() {
    let queued = vec![
        received("1000"),
        BankPaymentEvent::BankPaymentQueued(QueueReason::NoMatch),
    ];
    framework()
        .given(queued.clone())
        .when(BankPaymentCommand::Assign(matched("1000")))
        .then_expect_events(vec![BankPaymentEvent::BankPaymentMatched(Match {
            rule: MatchRule::Staff,
            ..matched("1000")
        })]);
    framework()
        .given(queued.clone())
        .when(BankPaymentCommand::Return {
            reason: "  ".into(),
        })
        .then_expect_error(BankPaymentError::Empty { field: "reason" });
    framework()
        .given(queued.clone())
        .when(BankPaymentCommand::Return {
            reason: "Плательщик не лизингополучатель".into(),
        })
        .then_expect_events(vec![BankPaymentEvent::BankPaymentReturned {
            reason: "Плательщик не лизингополучатель".into(),
        }]);
    let mut returned = queued.clone();
    returned.push(BankPaymentEvent::BankPaymentReturned { reason: "x".into() });
    framework()
        .given(returned)
        .when(BankPaymentCommand::Assign(matched("1000")))
        .then_expect_error(BankPaymentError::WrongStatus(Status::Returned));
    framework()
        .given_no_previous_events()
        .when(BankPaymentCommand::Return { reason: "x".into() })
        .then_expect_error(BankPaymentError::NotReceived);
}

#[test]
fn a_refused_posting_queues_a_matched_payment_again() {
    framework()
        .given(vec![
            received("1000"),
            BankPaymentEvent::BankPaymentMatched(matched("1000")),
        ])
        .when(BankPaymentCommand::Requeue {
            detail: "the contract is completed".into(),
        })
        .then_expect_events(vec![BankPaymentEvent::BankPaymentQueued(
            QueueReason::PostingRefused {
                detail: "the contract is completed".into(),
            },
        )]);
    framework()
        .given(vec![
            received("1000"),
            BankPaymentEvent::BankPaymentQueued(QueueReason::NoMatch),
        ])
        .when(BankPaymentCommand::Requeue { detail: "x".into() })
        .then_expect_error(BankPaymentError::WrongStatus(Status::Queued));
}

fn fact(id: Uuid, number: &str, inn: &str, open: bool) -> ContractFact {
    ContractFact {
        contract_id: id,
        company_id: COMPANY,
        company_inn: inn.into(),
        number: number.into(),
        open,
    }
}

fn parts(d: &Decision) -> Vec<(Target, Money)> {
    match d {
        Decision::Matched(m) => m.parts.iter().map(|p| (p.target, p.amount)).collect(),
        Decision::Queued(r) => panic!("queued: {r:?}"),
    }
}

#[test]
fn the_matching_rule_tells_contract_payer_uin_and_invoice_apart() {
    let lessee = "7707083893";
    let ld7 = fact(CONTRACT, "ЛД-7", lessee, true);
    let ld8 = fact(OTHER, "ЛД-8", lessee, true);
    let amount = m("10000");
    // The number in the purpose, paid by the lessee.
    let r = read("Лизинговый платеж по договору № ЛД-7");
    let named = Facts {
        named: vec![ld7.clone()],
        ..Facts::default()
    };
    let dec = decide(amount, Some(lessee), &r, &named);
    assert!(
        matches!(&dec, Decision::Matched(m) if m.rule == MatchRule::ContractNumber && m.contract_id == CONTRACT)
    );
    assert_eq!(parts(&dec), [(Target::Leasing, amount)]);
    // …by someone else: staff confirm.
    assert_eq!(
        decide(amount, Some("500100732259"), &r, &named),
        Decision::Queued(QueueReason::PayerIsNotLessee {
            number: "ЛД-7".into()
        })
    );
    // Two contracts named.
    let both = Facts {
        named: vec![ld7.clone(), ld8.clone()],
        ..Facts::default()
    };
    assert!(matches!(
        decide(
            amount,
            Some(lessee),
            &read("по дог. № ЛД-7 и № ЛД-8"),
            &both
        ),
        Decision::Queued(QueueReason::SeveralContracts { .. })
    ));
    // No number: the payer's only open contract; several: queued; none: queued.
    let payer = Facts {
        payer: vec![ld7.clone(), fact(OTHER, "ЛД-8", lessee, false)],
        ..Facts::default()
    };
    let dec = decide(amount, Some(lessee), &read("Оплата лизинга"), &payer);
    assert!(matches!(&dec, Decision::Matched(m) if m.rule == MatchRule::Payer));
    let payer2 = Facts {
        payer: vec![ld7.clone(), ld8.clone()],
        ..Facts::default()
    };
    assert!(matches!(
        decide(amount, Some(lessee), &read("Оплата"), &payer2),
        Decision::Queued(QueueReason::SeveralContracts { .. })
    ));
    assert_eq!(
        decide(amount, None, &read("Оплата"), &Facts::default()),
        Decision::Queued(QueueReason::NoMatch)
    );
    // A closed contract.
    let closed = Facts {
        named: vec![fact(CONTRACT, "ЛД-7", lessee, false)],
        ..Facts::default()
    };
    assert_eq!(
        decide(amount, Some(lessee), &r, &closed),
        Decision::Queued(QueueReason::ContractClosed {
            number: "ЛД-7".into()
        })
    );
    // A fine's УИН wins over the payer; the whole amount pays fines.
    let fine = Facts {
        fine: Some(ld8.clone()),
        payer: vec![ld7.clone()],
        ..Facts::default()
    };
    let dec = decide(m("500"), Some(lessee), &read("18810177260312345678"), &fine);
    assert!(
        matches!(&dec, Decision::Matched(m) if m.rule == MatchRule::Uin && m.contract_id == OTHER)
    );
    assert_eq!(parts(&dec), [(Target::Fine, m("500"))]);
    // An invoice for penalties.
    let inv = Facts {
        invoice: Some((ld7.clone(), Kind::Penalty)),
        ..Facts::default()
    };
    let dec = decide(
        m("300"),
        Some(lessee),
        &read("Оплата по счету № СЧ-2026-000017 от 12.03.2026"),
        &inv,
    );
    assert_eq!(parts(&dec), [(Target::Penalty, m("300"))]);
}

#[test]
fn stated_parts_and_insurance_are_split_and_what_exceeds_the_premium_is_credit() {
    let lessee = "7707083893";
    let facts = Facts {
        named: vec![fact(CONTRACT, "ЛД-7", lessee, true)],
        policies: vec![
            PolicyFact {
                policy_id: POLICY,
                contract_id: CONTRACT,
                unpaid: m("6000"),
            },
            PolicyFact {
                policy_id: Uuid::from_u128(101),
                contract_id: OTHER,
                unpaid: m("9000"),
            },
        ],
        ..Facts::default()
    };
    let dec = decide(
        m("10000"),
        Some(lessee),
        &read("Лизинговый платеж по договору № ЛД-7, в т.ч. пени 1 500,00"),
        &facts,
    );
    assert_eq!(
        parts(&dec),
        [(Target::Penalty, m("1500")), (Target::Leasing, m("8500"))]
    );
    let dec = decide(
        m("7000"),
        Some(lessee),
        &read("Страховая премия КАСКО по договору № ЛД-7"),
        &facts,
    );
    assert_eq!(
        parts(&dec),
        [
            (Target::Insurance { policy_id: POLICY }, m("6000")),
            (Target::Credit, m("1000"))
        ]
    );
    assert_eq!(
        decide(
            m("1000"),
            Some(lessee),
            &read("по договору № ЛД-7, в т.ч. пени 1500"),
            &facts
        ),
        Decision::Queued(QueueReason::PartsExceedAmount)
    );
}

#[test]
fn a_company_invoice_paid_at_once_is_split_back_into_its_contracts_in_the_invoices_order() {
    let lessee = "7707083893";
    let shares = vec![
        (fact(CONTRACT, "ЛД-7", lessee, true), m("300000")),
        (fact(OTHER, "ЛД-8", lessee, true), m("150000")),
    ];
    let facts = Facts {
        company_invoice: Some(("СЧ-2026-000018".into(), shares.clone())),
        // A contract the purpose names does not outrank the invoice.
        named: vec![fact(CONTRACT, "ЛД-7", lessee, true)],
        ..Facts::default()
    };
    let reading =
        read("Оплата по счету № СЧ-2026-000018 от 01.03.2026 по договорам лизинга № ЛД-7, № ЛД-8");
    let split = |amount: &str| -> Vec<(Option<Uuid>, Money)> {
        match decide(m(amount), Some(lessee), &reading, &facts) {
            Decision::Matched(x) => {
                assert_eq!(x.rule, MatchRule::Invoice);
                x.parts
                    .iter()
                    .inspect(|p| assert_eq!(p.target, Target::Leasing))
                    .map(|p| (p.contract_id, p.amount))
                    .collect()
            }
            Decision::Queued(r) => panic!("queued: {r:?}"),
        }
    };
    assert_eq!(
        split("450000"),
        vec![(Some(CONTRACT), m("300000")), (Some(OTHER), m("150000"))]
    );
    // Less than the invoice: its contracts in order, as far as the money goes.
    assert_eq!(
        split("320000"),
        vec![(Some(CONTRACT), m("300000")), (Some(OTHER), m("20000"))]
    );
    assert_eq!(split("1000"), vec![(Some(CONTRACT), m("1000"))]);
    // More: staff decide.
    assert_eq!(
        decide(m("450000.01"), Some(lessee), &reading, &facts),
        Decision::Queued(QueueReason::ExceedsInvoice {
            number: "СЧ-2026-000018".into()
        })
    );
    // A contract of it closed meanwhile: staff decide.
    let closed = Facts {
        company_invoice: Some((
            "СЧ-2026-000018".into(),
            vec![
                shares[0].clone(),
                (fact(OTHER, "ЛД-8", lessee, false), m("150000")),
            ],
        )),
        ..Facts::default()
    };
    assert_eq!(
        decide(m("450000"), Some(lessee), &reading, &closed),
        Decision::Queued(QueueReason::ContractClosed {
            number: "ЛД-8".into()
        })
    );
}
