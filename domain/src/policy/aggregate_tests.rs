//! Given events, when a command, then events or a typed error.

use std::sync::Arc;

use async_trait::async_trait;
use cqrs_es::test::TestFramework;

use super::*;
use crate::policy::{ContractLookup, PolicyKind};
use crate::testing::{d, m};
use crate::values::Personal;
use crate::values::{FileRef, Phone};

const COMPANY: Uuid = Uuid::from_u128(7);
const CONTRACT: Uuid = Uuid::from_u128(1);

/// Knows one contract.
struct OneContract;

#[async_trait]
impl ContractLookup for OneContract {
    async fn contract_company(
        &self,
        contract_id: Uuid,
    ) -> Result<Option<Uuid>, crate::failure::LookupFailed> {
        Ok((contract_id == CONTRACT).then_some(COMPANY))
    }
}

fn framework() -> TestFramework<Policy> {
    TestFramework::with(PolicyServices::new(Arc::new(OneContract)))
}

fn terms() -> PolicyTerms {
    PolicyTerms {
        policy_id: Uuid::from_u128(100),
        contract_id: CONTRACT,
        insurer: "САО «РЕСО-Гарантия»".into(),
        kind: PolicyKind::Kasko,
        number: "SYS2026-001".into(),
        starts_on: d("2026-03-01"),
        ends_on: d("2027-02-28"),
        sum_insured: m("2500000"),
        premium: m("120000"),
        installments: vec![(d("2026-03-01"), m("60000")), (d("2026-09-01"), m("60000"))],
        payer: PremiumPayer::Lessor,
        form: None,
    }
}

fn issued() -> PolicyEvent {
    PolicyEvent::PolicyIssued {
        policy_id: Uuid::from_u128(100),
        contract_id: CONTRACT,
        company_id: COMPANY,
        insurer: "САО «РЕСО-Гарантия»".into(),
        kind: PolicyKind::Kasko,
        number: "SYS2026-001".into(),
        starts_on: d("2026-03-01"),
        ends_on: d("2027-02-28"),
        sum_insured: m("2500000"),
        premium: m("120000"),
        installments: vec![
            Installment {
                number: 1,
                due_date: d("2026-03-01"),
                amount: m("60000"),
            },
            Installment {
                number: 2,
                due_date: d("2026-09-01"),
                amount: m("60000"),
            },
        ],
        payer: PremiumPayer::Lessor,
        form: None,
    }
}

async fn errors_with(given: Vec<PolicyEvent>, when: PolicyCommand, want: PolicyError) {
    framework()
        .given(given)
        .when_async(when)
        .await
        .then_expect_error(want);
}

#[tokio::test]
async fn issuing_a_policy_numbers_its_installments_and_takes_the_company_from_the_contract() {
    framework()
        .given_no_previous_events()
        .when_async(PolicyCommand::IssuePolicy(Box::new(terms())))
        .await
        .then_expect_events(vec![issued()]);
}

#[tokio::test]
async fn a_policy_is_refused_for_an_unknown_contract_a_bad_period_or_installments_off_the_premium()
{
    let mut t = terms();
    t.contract_id = Uuid::from_u128(2);
    errors_with(
        vec![],
        PolicyCommand::IssuePolicy(Box::new(t)),
        PolicyError::ContractNotFound,
    )
    .await;
    let mut t = terms();
    t.ends_on = t.starts_on;
    errors_with(
        vec![],
        PolicyCommand::IssuePolicy(Box::new(t)),
        PolicyError::PeriodNotAfterStart { field: "endsOn" },
    )
    .await;
    let mut t = terms();
    t.installments.pop();
    errors_with(
        vec![],
        PolicyCommand::IssuePolicy(Box::new(t)),
        PolicyError::InstallmentsDoNotAddUp {
            sum: m("60000"),
            premium: m("120000"),
        },
    )
    .await;
    let mut t = terms();
    t.insurer = "  ".into();
    errors_with(
        vec![],
        PolicyCommand::IssuePolicy(Box::new(t)),
        PolicyError::BadText {
            field: "insurer",
            max: 300,
        },
    )
    .await;
}

#[tokio::test]
async fn premium_paid_covers_the_oldest_installments_and_never_more_than_is_unpaid() {
    framework()
        .given(vec![issued()])
        .when_async(PolicyCommand::RecordPremiumPaid {
            amount: m("70000"),
            date: d("2026-03-05"),
        })
        .await
        .then_expect_events(vec![PolicyEvent::PremiumPaid {
            date: d("2026-03-05"),
            amount: m("70000"),
            allocations: vec![(1, m("60000")), (2, m("10000"))],
        }]);
    errors_with(
        vec![issued()],
        PolicyCommand::RecordPremiumPaid {
            amount: m("120000.01"),
            date: d("2026-03-05"),
        },
        PolicyError::PaymentExceedsPremium {
            unpaid: m("120000"),
        },
    )
    .await;
}

#[tokio::test]
async fn a_prolongation_starts_the_day_after_the_current_end_and_continues_the_numbering() {
    framework()
        .given(vec![issued()])
        .when_async(PolicyCommand::ProlongPolicy(Box::new(Prolongation {
            ends_on: d("2028-02-29"),
            premium: m("110000"),
            installments: vec![],
            number: Some("SYS2027-001".into()),
            form: None,
        })))
        .await
        .then_expect_events(vec![PolicyEvent::PolicyProlonged {
            starts_on: d("2027-03-01"),
            ends_on: d("2028-02-29"),
            premium: m("110000"),
            installments: vec![Installment {
                number: 3,
                due_date: d("2027-03-01"),
                amount: m("110000"),
            }],
            number: Some("SYS2027-001".into()),
            form: None,
        }]);
}

fn insured_event(date: &str) -> InsuredEvent {
    InsuredEvent {
        event_id: Uuid::from_u128(500),
        date: d(date),
        place: Personal::new("Москва, МКАД 41 км".into()),
        description: Personal::new("ДТП, повреждён передний бампер".into()),
        attachments: vec![FileRef::new(&"a".repeat(64), "фото.jpg", "image/jpeg", 1000).unwrap()],
        contact_phone: Personal::new(Phone::parse("+7 916 000-00-00").unwrap()),
    }
}

#[tokio::test]
async fn an_insured_event_must_fall_within_cover_and_is_reported_once() {
    framework()
        .given(vec![issued()])
        .when_async(PolicyCommand::ReportInsuredEvent(Box::new(insured_event(
            "2026-05-01",
        ))))
        .await
        .then_expect_events(vec![PolicyEvent::InsuredEventReported(insured_event(
            "2026-05-01",
        ))]);
    errors_with(
        vec![issued()],
        PolicyCommand::ReportInsuredEvent(Box::new(insured_event("2027-03-01"))),
        PolicyError::OutsideCover,
    )
    .await;
    errors_with(
        vec![
            issued(),
            PolicyEvent::InsuredEventReported(insured_event("2026-05-01")),
        ],
        PolicyCommand::ReportInsuredEvent(Box::new(insured_event("2026-05-01"))),
        PolicyError::EventAlreadyReported,
    )
    .await;
}

#[tokio::test]
async fn cancelling_drops_the_unpaid_installments_due_later_and_ends_changes() {
    let cancelled = PolicyEvent::PolicyCancelled {
        date: d("2026-06-01"),
        reason: "продажа предмета лизинга".into(),
        cancelled_installments: vec![2],
    };
    framework()
        .given(vec![issued()])
        .when_async(PolicyCommand::CancelPolicy {
            date: d("2026-06-01"),
            reason: "продажа предмета лизинга".into(),
        })
        .await
        .then_expect_events(vec![cancelled.clone()]);
    errors_with(
        vec![issued(), cancelled.clone()],
        PolicyCommand::ChangePolicyTerms(TermsChange {
            sum_insured: Some(m("1")),
            additional_premium: None,
            description: "x".into(),
        }),
        PolicyError::Cancelled,
    )
    .await;
    // Installment 1 stays owed after the cancellation: 60,000, no more.
    errors_with(
        vec![issued(), cancelled],
        PolicyCommand::RecordPremiumPaid {
            amount: m("60000.01"),
            date: d("2026-06-02"),
        },
        PolicyError::PaymentExceedsPremium { unpaid: m("60000") },
    )
    .await;
}

#[tokio::test]
async fn a_change_of_terms_adds_the_extra_premium_as_an_installment() {
    framework()
        .given(vec![issued()])
        .when_async(PolicyCommand::ChangePolicyTerms(TermsChange {
            sum_insured: Some(m("2700000")),
            additional_premium: Some((d("2026-07-01"), m("5000"))),
            description: "дополнительное оборудование".into(),
        }))
        .await
        .then_expect_events(vec![PolicyEvent::PolicyTermsChanged {
            sum_insured: m("2700000"),
            additional_premium: Some(Installment {
                number: 3,
                due_date: d("2026-07-01"),
                amount: m("5000"),
            }),
            description: "дополнительное оборудование".into(),
        }]);
}
