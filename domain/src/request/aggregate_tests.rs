//! Given events, when a command, then events or a typed error.

use cqrs_es::test::TestFramework;

use super::*;
use crate::company::RequisitesChange;
use crate::request::{
    AccountingDocument, CertificateKind, Delivery, Driver, NewPolicyTerms, Party,
    ProlongationTerms, TermsChangeTerms, VehicleDocument,
};
use crate::schedule::RecalculationMode;
use crate::testing::{d, m};
use crate::values::{EdoParticipantId, Email, FileRef, Kpp};

const COMPANY: Uuid = Uuid::from_u128(7);
const CONTRACT: Uuid = Uuid::from_u128(1);
const POLICY: Uuid = Uuid::from_u128(100);
const CLIENT: Uuid = Uuid::from_u128(9);
const TODAY: &str = "2026-05-04";

fn framework() -> TestFramework<ClientRequest> {
    TestFramework::with(())
}

fn text(subject: &str, body: &str) -> (String, String) {
    (subject.into(), body.into())
}

/// One valid example of every kind.
fn valid_details() -> Vec<RequestDetails> {
    let (subject, t) = text("Вопрос", "Как получить ПТС?");
    vec![
        RequestDetails::VehiclePassport {
            document: VehicleDocument::Paper,
            purpose: "регистрация в ГИБДД".into(),
            delivery: Delivery::Courier,
            address: Some("Москва, ул. Вавилова, 19".into()),
        },
        RequestDetails::TravelAbroad {
            countries: vec!["by".into(), "KZ".into()],
            from: d("2026-06-01"),
            to: d("2026-06-15"),
            drivers: vec![Driver {
                full_name: "Иванов Иван Иванович".into(),
                licence_number: "77 АВ 123456".into(),
            }],
        },
        RequestDetails::EarlyBuyout {
            desired_date: d("2026-05-20"),
            quote: None,
        },
        RequestDetails::PartialRepayment {
            amount: m("100000"),
            date: d("2026-05-10"),
            mode: RecalculationMode::SmallerPayments,
        },
        RequestDetails::RequisitesChange {
            change: RequisitesChange {
                kpp: Some(Kpp::parse("773601001").unwrap()),
                ..RequisitesChange::default()
            },
        },
        RequestDetails::Certificate {
            certificate: CertificateKind::NoDebt,
            as_of: d("2026-05-01"),
        },
        RequestDetails::AccountingDocuments {
            documents: vec![AccountingDocument::ReconciliationAct],
            from: d("2026-01-01"),
            to: d("2026-03-31"),
            email: Email::parse("buh@romashka.ru").unwrap().into(),
        },
        RequestDetails::InsuranceProlongation {
            policy_id: POLICY,
            wishes: None,
        },
        RequestDetails::InsuranceTermsChange {
            policy_id: POLICY,
            description: "добавить водителя".into(),
        },
        RequestDetails::VehicleInsurance {
            cover: crate::policy::PolicyKind::Kasko,
            starts_on: d(TODAY),
            wishes: None,
        },
        RequestDetails::InsuredEvent {
            policy_id: POLICY,
            event_id: Uuid::from_u128(500),
            date: d("2026-05-01"),
            place: "МКАД".into(),
            description: "ДТП".into(),
        },
        RequestDetails::Complaint {
            subject: subject.clone(),
            text: t.clone(),
        },
        RequestDetails::TechnicalSupport {
            subject: subject.clone(),
            text: t.clone(),
        },
        RequestDetails::Consultation { subject, text: t },
        RequestDetails::EdoConnection {
            participant_id: Some(EdoParticipantId::parse("2BM-7707083893").unwrap()),
            roaming: true,
        },
        RequestDetails::LoginEmailChange {
            new_email: Email::parse("new@romashka.ru").unwrap().into(),
        },
        RequestDetails::AccountDeletion { reason: None },
    ]
}

/// One invalid example of every kind, with the field the error names.
fn invalid_details() -> Vec<(RequestDetails, &'static str)> {
    vec![
        (
            RequestDetails::VehiclePassport {
                document: VehicleDocument::Electronic,
                purpose: "продажа".into(),
                delivery: Delivery::Post,
                address: None,
            },
            "address",
        ),
        (
            RequestDetails::TravelAbroad {
                countries: vec!["Belarus".into()],
                from: d("2026-06-01"),
                to: d("2026-06-15"),
                drivers: vec![],
            },
            "countries",
        ),
        (
            RequestDetails::EarlyBuyout {
                desired_date: d("2026-05-01"),
                quote: None,
            },
            "desiredDate",
        ),
        (
            RequestDetails::PartialRepayment {
                amount: m("0"),
                date: d("2026-05-10"),
                mode: RecalculationMode::ShorterTerm,
            },
            "amount",
        ),
        (
            RequestDetails::RequisitesChange {
                change: RequisitesChange::default(),
            },
            "change",
        ),
        (
            RequestDetails::Certificate {
                certificate: CertificateKind::BookValue,
                as_of: d("2026-06-01"),
            },
            "asOf",
        ),
        (
            RequestDetails::AccountingDocuments {
                documents: vec![AccountingDocument::Invoice, AccountingDocument::Os1],
                from: d("2026-03-31"),
                to: d("2026-01-01"),
                email: Email::parse("buh@romashka.ru").unwrap().into(),
            },
            "to",
        ),
        (
            RequestDetails::InsuranceProlongation {
                policy_id: POLICY,
                wishes: Some("x".repeat(2001)),
            },
            "wishes",
        ),
        (
            RequestDetails::InsuranceTermsChange {
                policy_id: POLICY,
                description: " ".into(),
            },
            "description",
        ),
        (
            RequestDetails::InsuredEvent {
                policy_id: POLICY,
                event_id: Uuid::from_u128(500),
                date: d("2026-05-05"),
                place: "МКАД".into(),
                description: "ДТП".into(),
            },
            "date",
        ),
        (
            RequestDetails::Complaint {
                subject: "".into(),
                text: "x".into(),
            },
            "subject",
        ),
        (
            RequestDetails::TechnicalSupport {
                subject: "x".into(),
                text: "".into(),
            },
            "text",
        ),
        (
            RequestDetails::Consultation {
                subject: "x".repeat(201),
                text: "x".into(),
            },
            "subject",
        ),
        (
            RequestDetails::EdoConnection {
                participant_id: None,
                roaming: true,
            },
            "participantId",
        ),
        (
            RequestDetails::AccountDeletion {
                reason: Some("x".repeat(1001)),
            },
            "reason",
        ),
    ]
}

fn submission(details: RequestDetails) -> Submission {
    Submission {
        request_id: Uuid::from_u128(1000),
        company_id: COMPANY,
        contract_id: details.kind().needs_contract().then_some(CONTRACT),
        submitted_by: CLIENT,
        submitted_on: d(TODAY),
        due_on: d("2026-05-08"),
        details,
        attachments: vec![],
        power_of_attorney: None,
    }
}

fn submitted(details: RequestDetails) -> RequestEvent {
    let s = submission(details);
    RequestEvent::RequestSubmitted {
        request_id: s.request_id,
        company_id: s.company_id,
        contract_id: s.contract_id,
        submitted_by: s.submitted_by,
        submitted_on: s.submitted_on,
        due_on: s.due_on,
        details: s.details,
        attachments: s.attachments,
        power_of_attorney: s.power_of_attorney,
    }
}

/// Completing today with nothing but the day: each test sets what its kind needs.
fn completion() -> Completion {
    Completion {
        completed_on: d(TODAY),
        note: None,
        result: None,
        prolongation: None,
        terms_change: None,
        new_policy: None,
    }
}

fn complaint() -> RequestDetails {
    RequestDetails::Complaint {
        subject: "Счёт".into(),
        text: "Счёт пришёл с ошибкой".into(),
    }
}

#[tokio::test]
async fn every_kind_is_submitted_with_valid_details() {
    let all = valid_details();
    let kinds: Vec<RequestKind> = all.iter().map(RequestDetails::kind).collect();
    assert_eq!(kinds, RequestKind::ALL.to_vec(), "one example per kind");
    for details in all {
        let mut r = ClientRequest::default();
        let events = r
            .decide(RequestCommand::SubmitRequest(Box::new(submission(
                details.clone(),
            ))))
            .unwrap_or_else(|e| panic!("{:?}: {e}", details.kind()));
        assert_eq!(events.len(), 1);
        r.apply(events[0].clone());
        assert_eq!(r.status(), Some(RequestStatus::Submitted));
    }
}

#[tokio::test]
async fn every_kind_refuses_invalid_details_naming_the_field() {
    for (details, field) in invalid_details() {
        let kind = details.kind();
        let err = ClientRequest::default()
            .decide(RequestCommand::SubmitRequest(Box::new(submission(details))))
            .expect_err(kind.as_str());
        let named = match &err {
            RequestError::Detail { field, .. } | RequestError::BadText { field, .. } => {
                Some(*field)
            }
            _ => None,
        };
        assert_eq!(named, Some(field), "{kind:?}: {err}");
    }
}

#[tokio::test]
async fn submission_normalises_details_and_a_contract_kind_must_name_a_contract() {
    let mut s = submission(valid_details().remove(1));
    let events = ClientRequest::default()
        .decide(RequestCommand::SubmitRequest(Box::new(s.clone())))
        .unwrap();
    let RequestEvent::RequestSubmitted {
        details: RequestDetails::TravelAbroad {
            countries, drivers, ..
        },
        ..
    } = &events[0]
    else {
        panic!("travel abroad expected");
    };
    assert_eq!(countries, &["BY", "KZ"]);
    assert_eq!(drivers[0].licence_number.get().unwrap(), "77АВ123456");
    s.contract_id = None;
    framework()
        .given_no_previous_events()
        .when_async(RequestCommand::SubmitRequest(Box::new(s)))
        .await
        .then_expect_error(RequestError::ContractRequired);
}

#[test]
fn the_whole_workflow_runs_from_submission_through_a_question_to_completion() {
    let file = FileRef::new(&"b".repeat(64), "выписка.pdf", "application/pdf", 10).unwrap();
    framework()
        .given(vec![submitted(complaint())])
        .when(RequestCommand::TakeIntoReview)
        .then_expect_events(vec![RequestEvent::RequestTakenIntoReview]);
    framework()
        .given(vec![
            submitted(complaint()),
            RequestEvent::RequestTakenIntoReview,
        ])
        .when(RequestCommand::AskForInformation {
            question: "Приложите выписку".into(),
        })
        .then_expect_events(vec![RequestEvent::InformationRequested {
            question: "Приложите выписку".into(),
        }]);
    framework()
        .given(vec![
            submitted(complaint()),
            RequestEvent::RequestTakenIntoReview,
            RequestEvent::InformationRequested {
                question: "Приложите выписку".into(),
            },
        ])
        .when(RequestCommand::Attach {
            party: Party::Client,
            file: file.clone(),
        })
        .then_expect_events(vec![
            RequestEvent::AttachmentAdded {
                party: Party::Client,
                file,
            },
            RequestEvent::InformationProvided,
        ]);
    framework()
        .given(vec![
            submitted(complaint()),
            RequestEvent::RequestTakenIntoReview,
        ])
        .when(RequestCommand::Complete(Box::new(Completion {
            completed_on: d("2026-05-06"),
            note: Some(" Исправили ".into()),
            result: None,
            prolongation: None,
            terms_change: None,
            new_policy: None,
        })))
        .then_expect_events(vec![RequestEvent::RequestCompleted {
            completed_on: d("2026-05-06"),
            note: Some("Исправили".into()),
            result: None,
            prolongation: None,
            terms_change: None,
            new_policy: None,
        }]);
}

#[test]
fn a_request_is_completed_only_from_review_and_nothing_happens_after_it_closes() {
    framework()
        .given(vec![submitted(complaint())])
        .when(RequestCommand::Complete(Box::new(completion())))
        .then_expect_error(RequestError::WrongStatus(RequestStatus::Submitted));
    for closed in [
        RequestEvent::RequestRejected { reason: "x".into() },
        RequestEvent::RequestWithdrawn { reason: None },
    ] {
        let status = if matches!(closed, RequestEvent::RequestRejected { .. }) {
            RequestStatus::Rejected
        } else {
            RequestStatus::Withdrawn
        };
        framework()
            .given(vec![submitted(complaint()), closed])
            .when(RequestCommand::Comment {
                comment_id: Uuid::from_u128(1),
                party: Party::Client,
                text: "ещё".into(),
            })
            .then_expect_error(RequestError::WrongStatus(status));
    }
}

#[test]
fn the_client_may_withdraw_until_completion_and_a_rejection_needs_a_reason() {
    framework()
        .given(vec![
            submitted(complaint()),
            RequestEvent::RequestTakenIntoReview,
        ])
        .when(RequestCommand::Withdraw {
            reason: Some("решили сами".into()),
        })
        .then_expect_events(vec![RequestEvent::RequestWithdrawn {
            reason: Some("решили сами".into()),
        }]);
    framework()
        .given(vec![
            submitted(complaint()),
            RequestEvent::RequestTakenIntoReview,
            RequestEvent::RequestCompleted {
                completed_on: d(TODAY),
                note: None,
                result: None,
                prolongation: None,
                terms_change: None,
                new_policy: None,
            },
        ])
        .when(RequestCommand::Withdraw { reason: None })
        .then_expect_error(RequestError::WrongStatus(RequestStatus::Completed));
    framework()
        .given(vec![submitted(complaint())])
        .when(RequestCommand::Reject { reason: " ".into() })
        .then_expect_error(RequestError::BadText {
            field: "reason",
            max: 2000,
        });
}

#[test]
fn completing_a_prolongation_needs_its_terms_and_the_effect_is_recorded_once() {
    let prolongation = RequestDetails::InsuranceProlongation {
        policy_id: POLICY,
        wishes: None,
    };
    framework()
        .given(vec![
            submitted(prolongation.clone()),
            RequestEvent::RequestTakenIntoReview,
        ])
        .when(RequestCommand::Complete(Box::new(completion())))
        .then_expect_error(RequestError::ProlongationTermsRequired);
    let completed = RequestEvent::RequestCompleted {
        completed_on: d(TODAY),
        note: None,
        result: None,
        prolongation: Some(ProlongationTerms {
            ends_on: d("2028-02-29"),
            premium: m("100000"),
            installments: vec![],
            number: None,
        }),
        terms_change: None,
        new_policy: None,
    };
    let given = vec![
        submitted(prolongation),
        RequestEvent::RequestTakenIntoReview,
        completed,
    ];
    framework()
        .given(given.clone())
        .when(RequestCommand::RecordEffect {
            outcome: Ok("prolonged".into()),
            documents: vec![],
        })
        .then_expect_events(vec![RequestEvent::EffectApplied {
            detail: "prolonged".into(),
            documents: vec![],
        }]);
    // The documents delivered with the effect are part of its record.
    let delivered = vec![uuid::Uuid::from_u128(7)];
    framework()
        .given(given.clone())
        .when(RequestCommand::RecordEffect {
            outcome: Ok("documents: УПД № 17".into()),
            documents: delivered.clone(),
        })
        .then_expect_events(vec![RequestEvent::EffectApplied {
            detail: "documents: УПД № 17".into(),
            documents: delivered,
        }]);
    let mut applied = given;
    applied.push(RequestEvent::EffectApplied {
        detail: "prolonged".into(),
        documents: vec![],
    });
    framework()
        .given(applied)
        .when(RequestCommand::RecordEffect {
            outcome: Ok("prolonged".into()),
            documents: vec![],
        })
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn a_certificate_request_without_a_contract_is_refused_at_submission() {
    for certificate in [
        CertificateKind::NoDebt,
        CertificateKind::ContractInForce,
        CertificateKind::BookValue,
    ] {
        let mut s = submission(RequestDetails::Certificate {
            certificate,
            as_of: d(TODAY),
        });
        assert_eq!(
            s.contract_id,
            Some(CONTRACT),
            "every certificate names a contract"
        );
        s.contract_id = None;
        framework()
            .given_no_previous_events()
            .when_async(RequestCommand::SubmitRequest(Box::new(s)))
            .await
            .then_expect_error(RequestError::ContractRequired);
    }
}

#[test]
fn a_change_of_insurance_terms_completes_with_what_the_insurer_agreed_and_other_kinds_drop_it() {
    let change = RequestDetails::InsuranceTermsChange {
        policy_id: Uuid::from_u128(77),
        description: "добавить водителя".into(),
    };
    let agreed = TermsChangeTerms {
        sum_insured: Some(m("2500000")),
        additional_premium: Some((d("2026-06-01"), m("12000"))),
    };
    let complete = |terms: Option<TermsChangeTerms>| {
        RequestCommand::Complete(Box::new(Completion {
            terms_change: terms,
            ..completion()
        }))
    };
    framework()
        .given(vec![
            submitted(change),
            RequestEvent::RequestTakenIntoReview,
        ])
        .when(complete(Some(agreed.clone())))
        .then_expect_events(vec![RequestEvent::RequestCompleted {
            completed_on: d(TODAY),
            note: None,
            result: None,
            prolongation: None,
            terms_change: Some(agreed.clone()),
            new_policy: None,
        }]);
    framework()
        .given(vec![
            submitted(complaint()),
            RequestEvent::RequestTakenIntoReview,
        ])
        .when(complete(Some(agreed)))
        .then_expect_events(vec![RequestEvent::RequestCompleted {
            completed_on: d(TODAY),
            note: None,
            result: None,
            prolongation: None,
            terms_change: None,
            new_policy: None,
        }]);
    assert!(RequestKind::InsuranceTermsChange.has_effect());
}

#[test]
fn a_vehicle_is_insured_under_osago_or_kasko_from_today_and_completed_with_the_policy_arranged() {
    use crate::policy::{PolicyKind, PremiumPayer};
    let insure = |cover, starts_on: &str| RequestDetails::VehicleInsurance {
        cover,
        starts_on: d(starts_on),
        wishes: Some("  без франшизы ".into()),
    };
    // Property insurance is not a vehicle's; a start in the past is refused.
    for (details, field) in [
        (insure(PolicyKind::Property, TODAY), "cover"),
        (insure(PolicyKind::Kasko, "2026-01-01"), "startsOn"),
    ] {
        let r = details.validate(d(TODAY));
        assert!(
            matches!(&r, Err(RequestError::Detail { field: f, .. }) if *f == field),
            "{r:?}"
        );
    }
    let details = insure(PolicyKind::Osago, TODAY).validate(d(TODAY)).unwrap();
    assert!(
        matches!(&details, RequestDetails::VehicleInsurance { wishes: Some(w), .. } if w == "без франшизы")
    );
    assert!(RequestKind::VehicleInsurance.needs_contract());
    assert!(RequestKind::VehicleInsurance.has_effect());
    assert!(RequestKind::VehicleInsurance.commits_company());
    let policy = NewPolicyTerms {
        insurer: "АО «АльфаСтрахование»".into(),
        number: "ХХХ 0123456789".into(),
        starts_on: d(TODAY),
        ends_on: d("2027-04-30"),
        sum_insured: m("400000"),
        premium: m("9800"),
        installments: vec![],
        payer: PremiumPayer::Lessor,
    };
    let complete = |new_policy: Option<NewPolicyTerms>| {
        RequestCommand::Complete(Box::new(Completion {
            new_policy,
            ..completion()
        }))
    };
    let given = vec![submitted(details), RequestEvent::RequestTakenIntoReview];
    framework()
        .given(given.clone())
        .when(complete(None))
        .then_expect_error(RequestError::PolicyTermsRequired);
    framework()
        .given(given)
        .when(complete(Some(policy.clone())))
        .then_expect_events(vec![RequestEvent::RequestCompleted {
            completed_on: d(TODAY),
            note: None,
            result: None,
            prolongation: None,
            terms_change: None,
            new_policy: Some(policy.clone()),
        }]);
    // Another kind drops a policy given by mistake.
    framework()
        .given(vec![
            submitted(complaint()),
            RequestEvent::RequestTakenIntoReview,
        ])
        .when(complete(Some(policy)))
        .then_expect_events(vec![RequestEvent::RequestCompleted {
            completed_on: d(TODAY),
            note: None,
            result: None,
            prolongation: None,
            terms_change: None,
            new_policy: None,
        }]);
}
