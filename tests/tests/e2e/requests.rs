//! Client requests and insurance policies end to end through GraphQL on PostgreSQL: every kind submitted
//! with valid and invalid details, the whole workflow, the cross-aggregate effects exactly once (also after
//! a rebuild and a replay of the effects consumer), insurance debt, policy expiry by the clock, uploads and
//! downloads.

use crate::common::{company_input, conclude, error, eventually, TestApp, PDF};
use api::auth::Role;
use serde_json::{json, Value};
use uuid::Uuid;

const REQUEST_FIELDS: &str = "id kind status dueOn submittedOn overdue question note effect effectDetail \
    rejectionReason withdrawalReason details { __typename } result { sha256 url } \
    history { totalCount nodes { party change status text actor { kind role displayName logName accountId } files { name } } } \
    comments { nodes { party text actor { displayName } } } attachments { nodes { name sha256 } }";

fn submit_query() -> String {
    format!(
        "mutation($i: SubmitRequestInput!) {{ submitRequest(input: $i) {{ request {{ {REQUEST_FIELDS} }} }} }}"
    )
}

const ISSUE: &str = "mutation($i: IssuePolicyInput!) { issuePolicy(input: $i) { policy { \
    id status endsOn insuranceDebt form { sha256 name } installments { number dueDate amount paid fellDue } } } }";

const POLICY: &str = "query($id: UUID!) { policy(id: $id) { id status number endsOn premium premiumPaid \
    insuranceDebt installments { number amount paid cancelled } insuredEvents { nodes { place attachments { name } } } } }";

const DEBT: &str =
    "query($c: UUID!) { debt(companyId: $c) { insurance total contracts { insurance } } }";

struct World {
    t: TestApp,
    admin: String,
    client: String,
    company: Uuid,
    contract: Uuid,
}

impl World {
    async fn new() -> Self {
        Self::with(TestApp::spawn().await).await
    }

    async fn with(t: TestApp) -> Self {
        let admin = t.sign_in(Role::Admin, &[]).await;
        let company = t
            .company(&admin, company_input("7707083893", "773601001"))
            .await;
        let contract = conclude(&t, &admin, company, "ЛД-1", "buh@romashka.ru").await;
        let client = t.sign_in(Role::Client, &[company]).await;
        let w = Self {
            t,
            admin,
            client,
            company,
            contract,
        };
        w.advance_to("2026-03-02").await;
        w
    }

    async fn gql(&self, token: &str, query: &str, vars: Value) -> Value {
        self.t.gql(Some(token), query, vars).await
    }

    async fn advance_to(&self, day: &str) {
        self.t.advance_clock(&self.admin, day).await
    }

    async fn issue_policy(&self, payer: &str, ends_on: &str, installments: Value) -> Value {
        let r = self
            .t
            .gql_upload(
                Some(&self.admin),
                ISSUE,
                json!({"i": {"contractId": self.contract, "insurer": "САО «РЕСО-Гарантия»", "kind": "KASKO",
                    "number": "SYS-1", "startsOn": "2026-03-01", "endsOn": ends_on, "sumInsured": "2500000",
                    "premium": "120000", "installments": installments, "payer": payer, "form": null}}),
                &[("i.form", "полис.pdf", "application/pdf", PDF)],
            )
            .await;
        assert!(r["errors"].is_null(), "{r}");
        r["data"]["issuePolicy"]["policy"].clone()
    }

    async fn submit(&self, token: &str, details: Value) -> Value {
        self.gql(
            token,
            &submit_query(),
            json!({"i": {"companyId": self.company, "contractId": self.contract, "details": details}}),
        )
        .await
    }

    async fn submitted(&self, details: Value) -> Uuid {
        let r = self.submit(&self.client, details).await;
        r["data"]["submitRequest"]["request"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}"))
            .parse()
            .unwrap()
    }

    async fn step(&self, token: &str, mutation: &str, vars: Value) -> Value {
        let r = self
            .gql(
                token,
                &format!(
                    "mutation($r: UUID!{}) {{ {mutation} {{ request {{ {REQUEST_FIELDS} }} }} }}",
                    if vars.get("x").is_some() {
                        ", $x: String"
                    } else {
                        ""
                    }
                ),
                vars,
            )
            .await;
        r
    }

    async fn review_and_complete(&self, request: Uuid, prolongation: Value) -> Value {
        let r = self
            .step(
                &self.admin,
                "takeRequestIntoReview(input: { requestId: $r })",
                json!({"r": request}),
            )
            .await;
        assert!(r["errors"].is_null(), "{r}");
        let r = self
            .gql(
                &self.admin,
                &format!("mutation($i: CompleteRequestInput!) {{ completeRequest(input: $i) {{ request {{ {REQUEST_FIELDS} }} }} }}"),
                json!({"i": {"requestId": request, "prolongation": prolongation}}),
            )
            .await;
        assert!(r["errors"].is_null(), "{r}");
        r["data"]["completeRequest"]["request"].clone()
    }

    async fn request(&self, token: &str, id: Uuid) -> Value {
        let r = self
            .gql(
                token,
                &format!("query($id: UUID!) {{ request(id: $id) {{ {REQUEST_FIELDS} }} }}"),
                json!({"id": id}),
            )
            .await;
        r["data"]["request"].clone()
    }

    /// Waits until the effects consumer has recorded the outcome of `request`.
    async fn effect(&self, request: Uuid) -> Value {
        self.t
            .wait_for_consumer_of("request-effects", "ClientRequest")
            .await;
        eventually("effect recorded", || async {
            let r = self.request(&self.admin, request).await;
            match r["effect"].as_str() {
                Some("APPLIED") | Some("FAILED") => Ok(r),
                _ => Err(r.to_string()),
            }
        })
        .await
    }

    async fn count(&self, event_type: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = $1")
            .bind(event_type)
            .fetch_one(&self.t.pool)
            .await
            .unwrap()
    }
}

fn valid_details(policy: &str) -> Vec<Value> {
    vec![
        json!({"vehiclePassport": {"document": "PAPER", "purpose": "регистрация", "delivery": "COURIER", "address": "Москва, ул. Вавилова, 19"}}),
        json!({"travelAbroad": {"countries": ["BY", "kz"], "from": "2026-06-01", "to": "2026-06-15",
            "drivers": [{"fullName": "Иванов Иван Иванович", "licenceNumber": "77 АВ 123456"}]}}),
        json!({"earlyBuyout": {"desiredDate": "2026-03-20"}}),
        json!({"partialRepayment": {"amount": "100000", "date": "2026-03-05", "mode": "SHORTER_TERM"}}),
        json!({"requisitesChange": {"shortName": "ООО «Ромашка-2»", "bank": {"bankName": "ПАО Сбербанк", "bik": "044525225",
            "correspondentAccount": "30101810400000000225", "settlementAccount": "40702810938000012345"}}}),
        json!({"certificate": {"certificate": "NO_DEBT", "asOf": "2026-03-01"}}),
        json!({"accountingDocuments": {"documents": ["RECONCILIATION_ACT", "INVOICE"], "from": "2026-01-01", "to": "2026-02-28", "email": "buh@romashka.ru"}}),
        json!({"insuranceProlongation": {"policyId": policy, "wishes": "тот же страховщик"}}),
        json!({"insuranceTermsChange": {"policyId": policy, "description": "добавить водителя"}}),
        json!({"vehicleInsurance": {"cover": "KASKO", "startsOn": "2026-03-10", "wishes": " без франшизы "}}),
        json!({"insuredEvent": {"policyId": policy, "date": "2026-03-01", "place": "МКАД 41 км", "description": "ДТП", "contactPhone": "+7 916 000-00-00"}}),
        json!({"complaint": {"subject": "Счёт", "text": "Счёт пришёл с ошибкой"}}),
        json!({"technicalSupport": {"subject": "Вход", "text": "Не приходит письмо"}}),
        json!({"consultation": {"subject": "Выкуп", "text": "Как выкупить досрочно?"}}),
        json!({"edoConnection": {"participantId": "2BM-7707083893-2012052808", "roaming": true}}),
        json!({"loginEmailChange": {"newEmail": "new@romashka.ru"}}),
        json!({"accountDeletion": {"reason": "больше не нужен"}}),
    ]
}

/// Every member of the `RequestDetails` union with every field (aliases where two members' fields of one
/// name differ in nullability).
const DETAILS: &str = "details { __typename \
    ... on VehiclePassportDetails { document purpose delivery address } \
    ... on TravelAbroadDetails { countries from to drivers { fullName licenceNumber } } \
    ... on EarlyBuyoutDetails { desiredDate quote { total } } \
    ... on PartialRepaymentDetails { amount date mode } \
    ... on RequisitesChangeDetails { kpp fullName shortName legalAddress postalAddress \
        bank { bankName bik correspondentAccount settlementAccount } contactEmail contactPhone } \
    ... on CertificateDetails { certificate asOf } \
    ... on AccountingDocumentsDetails { documents from to email } \
    ... on InsuranceProlongationDetails { policyId wishes } \
    ... on InsuranceTermsChangeDetails { policyId description } \
    ... on VehicleInsuranceDetails { cover startsOn wishes } \
    ... on InsuredEventDetails { policyId eventId date place eventDescription: description } \
    ... on MessageDetails { subject text } \
    ... on EdoConnectionDetails { participantId roaming } \
    ... on LoginEmailChangeDetails { newEmail } \
    ... on AccountDeletionDetails { reason } }";

/// What `valid_details` reads back as.
fn expected_details(policy: &str) -> Vec<Value> {
    vec![
        json!({"__typename": "VehiclePassportDetails", "document": "PAPER", "purpose": "регистрация", "delivery": "COURIER", "address": "Москва, ул. Вавилова, 19"}),
        json!({"__typename": "TravelAbroadDetails", "countries": ["BY", "KZ"], "from": "2026-06-01", "to": "2026-06-15",
            "drivers": [{"fullName": "Иванов Иван Иванович", "licenceNumber": "77АВ123456"}]}),
        json!({"__typename": "EarlyBuyoutDetails", "desiredDate": "2026-03-20"}),
        json!({"__typename": "PartialRepaymentDetails", "amount": "100000.00", "date": "2026-03-05", "mode": "SHORTER_TERM"}),
        json!({"__typename": "RequisitesChangeDetails", "kpp": null, "fullName": null, "shortName": "ООО «Ромашка-2»", "legalAddress": null,
            "postalAddress": null, "bank": {"bankName": "ПАО Сбербанк", "bik": "044525225",
            "correspondentAccount": "30101810400000000225", "settlementAccount": "40702810938000012345"}, "contactEmail": null, "contactPhone": null}),
        json!({"__typename": "CertificateDetails", "certificate": "NO_DEBT", "asOf": "2026-03-01"}),
        json!({"__typename": "AccountingDocumentsDetails", "documents": ["RECONCILIATION_ACT", "INVOICE"], "from": "2026-01-01", "to": "2026-02-28", "email": "buh@romashka.ru"}),
        json!({"__typename": "InsuranceProlongationDetails", "policyId": policy, "wishes": "тот же страховщик"}),
        json!({"__typename": "InsuranceTermsChangeDetails", "policyId": policy, "description": "добавить водителя"}),
        json!({"__typename": "VehicleInsuranceDetails", "cover": "KASKO", "startsOn": "2026-03-10", "wishes": "без франшизы"}),
        json!({"__typename": "InsuredEventDetails", "policyId": policy, "date": "2026-03-01", "place": "МКАД 41 км", "eventDescription": "ДТП"}),
        json!({"__typename": "MessageDetails", "subject": "Счёт", "text": "Счёт пришёл с ошибкой"}),
        json!({"__typename": "MessageDetails", "subject": "Вход", "text": "Не приходит письмо"}),
        json!({"__typename": "MessageDetails", "subject": "Выкуп", "text": "Как выкупить досрочно?"}),
        json!({"__typename": "EdoConnectionDetails", "participantId": "2BM-7707083893-2012052808", "roaming": true}),
        json!({"__typename": "LoginEmailChangeDetails", "newEmail": "new@romashka.ru"}),
        json!({"__typename": "AccountDeletionDetails", "reason": "больше не нужен"}),
    ]
}

fn invalid_details() -> Vec<(Value, &'static str)> {
    let random = Uuid::new_v4();
    vec![
        (
            json!({"vehiclePassport": {"document": "ELECTRONIC", "purpose": "продажа", "delivery": "POST"}}),
            "vehiclePassport.address",
        ),
        (
            json!({"travelAbroad": {"countries": ["Belarus"], "from": "2026-06-01", "to": "2026-06-15", "drivers": []}}),
            "travelAbroad.countries",
        ),
        (
            json!({"earlyBuyout": {"desiredDate": "2026-01-01"}}),
            "earlyBuyout.desiredDate",
        ),
        (
            json!({"partialRepayment": {"amount": "0", "date": "2026-03-05", "mode": "SHORTER_TERM"}}),
            "partialRepayment.amount",
        ),
        (json!({"requisitesChange": {}}), "requisitesChange.change"),
        (
            json!({"certificate": {"certificate": "BOOK_VALUE", "asOf": "2026-12-01"}}),
            "certificate.asOf",
        ),
        (
            json!({"accountingDocuments": {"documents": ["INVOICE"], "from": "2026-01-01", "to": "2026-02-28", "email": "не почта"}}),
            "accountingDocuments.email",
        ),
        (
            json!({"insuranceProlongation": {"policyId": random}}),
            "insuranceProlongation.policyId",
        ),
        (
            json!({"insuranceTermsChange": {"policyId": random, "description": "x"}}),
            "insuranceTermsChange.policyId",
        ),
        (
            json!({"insuredEvent": {"policyId": random, "date": "2026-03-01", "place": "x", "description": "x", "contactPhone": "звоните"}}),
            "insuredEvent.contactPhone",
        ),
        (
            json!({"vehicleInsurance": {"cover": "PROPERTY", "startsOn": "2026-03-10"}}),
            "vehicleInsurance.cover",
        ),
        (
            json!({"vehicleInsurance": {"cover": "OSAGO", "startsOn": "2026-03-01"}}),
            "vehicleInsurance.startsOn",
        ),
        (
            json!({"complaint": {"subject": " ", "text": "x"}}),
            "complaint.subject",
        ),
        (
            json!({"technicalSupport": {"subject": "x", "text": ""}}),
            "technicalSupport.text",
        ),
        (
            json!({"consultation": {"subject": "x".repeat(201), "text": "x"}}),
            "consultation.subject",
        ),
        (
            json!({"edoConnection": {"roaming": true}}),
            "edoConnection.participantId",
        ),
        (
            json!({"loginEmailChange": {"newEmail": "x"}}),
            "loginEmailChange.newEmail",
        ),
        (
            json!({"accountDeletion": {"reason": "x".repeat(1001)}}),
            "accountDeletion.reason",
        ),
    ]
}

#[tokio::test]
async fn every_kind_is_submitted_with_valid_details_and_refused_naming_the_field_with_invalid_ones()
{
    let w = World::new().await;
    let policy = w.issue_policy("LESSEE", "2027-02-28", json!([])).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (details, field) in invalid_details() {
        let events = w.t.event_count().await;
        let r = w.submit(&w.client, details).await;
        assert_eq!(
            error(&r),
            (
                "VALIDATION".to_owned(),
                Some(format!("input.details.{field}"))
            ),
            "{r}"
        );
        assert_eq!(w.t.event_count().await, events, "{field}: nothing stored");
    }
    let mut kinds = Vec::new();
    for details in valid_details(&policy) {
        let r = w.submit(&w.client, details.clone()).await;
        let req = &r["data"]["submitRequest"]["request"];
        assert_eq!(req["status"], "SUBMITTED", "{details}: {r}");
        assert!(req["dueOn"].as_str().unwrap() > "2026-03-02", "{r}");
        kinds.push(req["kind"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds.len(), 17);
    kinds.dedup();
    assert_eq!(kinds.len(), 17, "every kind once: {kinds:?}");
    // Each kind's details read back typed, field for field as filed (normalized as the domain keeps them).
    let r = w
        .gql(
            &w.client,
            &format!("query($c: UUID!) {{ requests(companyId: $c, first: 20, order: OLDEST_FIRST) {{ nodes {{ kind {DETAILS} }} }} }}"),
            json!({"c": w.company}),
        )
        .await;
    let read: Vec<Value> = r["data"]["requests"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|n| n["details"].clone())
        .collect();
    let expected = expected_details(&policy);
    assert_eq!(read.len(), expected.len(), "{r}");
    for (got, want) in read.iter().zip(&expected) {
        let mut got = got.clone();
        // Computed by the server: checked below (the quote) or an id (the insured event's).
        if let Some(o) = got.as_object_mut() {
            o.remove("quote");
            assert!(o.remove("eventId").is_none_or(|e| e.is_string()));
        }
        assert_eq!(&got, want);
    }
    // Every personal field of every kind (drivers, e-mails, the insured event's phone, place and
    // description), of the company, its contract and policy, is stored sealed.
    w.t.assert_no_clear_personal_data_in_the_log(&["Иванов", "77АВ123456", "МКАД"])
        .await;
    // The buyout request carries the quote for its date; the insured event is on the policy as well.
    let r = w
        .gql(
            &w.client,
            "query($c: UUID!) { requests(companyId: $c, kind: EARLY_BUYOUT) { edges { node { details { ... on EarlyBuyoutDetails { quote { total contractId } } } } } } }",
            json!({"c": w.company}),
        )
        .await;
    let quote = &r["data"]["requests"]["edges"][0]["node"]["details"]["quote"];
    // 300,000 due on 10 March, unpaid by the 20th: 10 days of 0.1% on top.
    assert_eq!(quote["total"], "303000.00", "{r}");
    let p = w.gql(&w.client, POLICY, json!({"id": policy})).await;
    assert_eq!(
        p["data"]["policy"]["insuredEvents"]["nodes"][0]["place"], "МКАД 41 км",
        "{p}"
    );
    // A technical-support request is due the next working day after Monday 2 March: Tuesday.
    let r = w
        .gql(
            &w.client,
            "query($c: UUID!) { requests(companyId: $c, kind: TECHNICAL_SUPPORT) { edges { node { dueOn } } } }",
            json!({"c": w.company}),
        )
        .await;
    assert_eq!(
        r["data"]["requests"]["edges"][0]["node"]["dueOn"],
        "2026-03-03"
    );
    w.t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn a_request_goes_through_review_a_question_an_answer_and_completion_with_its_history() {
    let w = World::new().await;
    let id = w
        .submitted(json!({"complaint": {"subject": "Счёт", "text": "ошибка в сумме"}}))
        .await;
    let r = w
        .step(
            &w.client,
            "takeRequestIntoReview(input: { requestId: $r })",
            json!({"r": id}),
        )
        .await;
    assert_eq!(error(&r).0, "FORBIDDEN", "the client does not review: {r}");
    w.step(
        &w.admin,
        "takeRequestIntoReview(input: { requestId: $r })",
        json!({"r": id}),
    )
    .await;
    let r = w
        .step(
            &w.admin,
            "askForInformation(input: { requestId: $r, question: $x })",
            json!({"r": id, "x": "Приложите платёжку"}),
        )
        .await;
    assert_eq!(
        r["data"]["askForInformation"]["request"]["status"], "NEEDS_INFORMATION",
        "{r}"
    );
    assert_eq!(
        r["data"]["askForInformation"]["request"]["question"],
        "Приложите платёжку"
    );
    let r = w
        .t
        .gql_upload(
            Some(&w.client),
            "mutation($r: UUID!, $f: Upload!) { attachToRequest(input: { requestId: $r, file: $f }) { request { status attachments { nodes { name sha256 } } } } }",
            json!({"r": id, "f": null}),
            &[("f", "платёжка.pdf", "application/pdf", PDF)],
        )
        .await;
    assert_eq!(
        r["data"]["attachToRequest"]["request"]["status"], "IN_REVIEW",
        "the answer returns it: {r}"
    );
    let sha = r["data"]["attachToRequest"]["request"]["attachments"]["nodes"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = w
        .step(
            &w.admin,
            "commentRequest(input: { requestId: $r, text: $x })",
            json!({"r": id, "x": "Спасибо, проверяем"}),
        )
        .await;
    assert_eq!(
        r["data"]["commentRequest"]["request"]["comments"]["nodes"][0]["party"], "STAFF",
        "{r}"
    );
    let r = w
        .t
        .gql_upload(
            Some(&w.admin),
            &format!("mutation($i: CompleteRequestInput!) {{ completeRequest(input: $i) {{ request {{ {REQUEST_FIELDS} }} }} }}"),
            json!({"i": {"requestId": id, "note": "Счёт исправлен", "result": null}}),
            &[("i.result", "счёт.pdf", "application/pdf", b"%PDF-1.4 corrected")],
        )
        .await;
    let done = &r["data"]["completeRequest"]["request"];
    assert_eq!(done["status"], "COMPLETED", "{r}");
    assert_eq!(done["note"], "Счёт исправлен");
    let changes: Vec<(&str, &str)> = done["history"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["change"].as_str().unwrap(), h["party"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changes,
        [
            ("REQUEST_SUBMITTED", "CLIENT"),
            ("REQUEST_TAKEN_INTO_REVIEW", "STAFF"),
            ("INFORMATION_REQUESTED", "STAFF"),
            ("ATTACHMENT_ADDED", "CLIENT"),
            ("INFORMATION_PROVIDED", "CLIENT"),
            ("COMMENT_ADDED", "STAFF"),
            ("REQUEST_COMPLETED", "STAFF"),
        ]
    );
    // Staff sees who acted by e-mail and role; the client sees the lessor, and itself.
    let staff_seen = &done["history"]["nodes"][1]["actor"];
    assert_eq!(staff_seen["kind"], "ACCOUNT", "{staff_seen}");
    assert_eq!(staff_seen["role"], "ADMIN", "{staff_seen}");
    assert!(staff_seen["logName"]
        .as_str()
        .unwrap()
        .starts_with("account:"));
    assert!(
        staff_seen["displayName"].as_str().unwrap().contains('@'),
        "{staff_seen}"
    );
    let seen = w
        .gql(
            &w.client,
            &format!("query($r: UUID!) {{ request(id: $r) {{ {REQUEST_FIELDS} }} }}"),
            json!({"r": id}),
        )
        .await;
    let history = &seen["data"]["request"]["history"]["nodes"];
    let lessor = &history[1]["actor"];
    assert_eq!(lessor["displayName"], "Лизинговая компания", "{seen}");
    assert!(
        lessor["logName"].is_null() && lessor["accountId"].is_null(),
        "{lessor}"
    );
    let me = &history[0]["actor"];
    assert!(me["displayName"].as_str().unwrap().contains('@'), "{me}");
    assert_eq!(me["role"], "CLIENT");
    assert!(me["accountId"].is_string(), "{me}");
    assert_eq!(
        seen["data"]["request"]["comments"]["nodes"][0]["actor"]["displayName"],
        "Лизинговая компания"
    );
    // Both files download for the client; nothing more happens to a completed request.
    let result = done["result"]["sha256"].as_str().unwrap();
    assert_eq!(
        w.t.download(Some(&w.client), result).await,
        (200, b"%PDF-1.4 corrected".to_vec())
    );
    assert_eq!(w.t.download(Some(&w.client), &sha).await.0, 200);
    assert_eq!(w.t.download(None, &sha).await.0, 401);
    let r = w
        .step(
            &w.client,
            "withdrawRequest(input: { requestId: $r, reason: $x })",
            json!({"r": id, "x": "поздно"}),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.requestId".to_owned())),
        "{r}"
    );
}

#[tokio::test]
async fn the_client_withdraws_and_staff_rejects_with_a_reason() {
    let w = World::new().await;
    let a = w
        .submitted(json!({"consultation": {"subject": "Выкуп", "text": "Как?"}}))
        .await;
    let r = w
        .step(
            &w.client,
            "withdrawRequest(input: { requestId: $r, reason: $x })",
            json!({"r": a, "x": "разобрались"}),
        )
        .await;
    assert_eq!(
        r["data"]["withdrawRequest"]["request"]["status"], "WITHDRAWN",
        "{r}"
    );
    assert_eq!(
        r["data"]["withdrawRequest"]["request"]["withdrawalReason"],
        "разобрались"
    );
    let b = w
        .submitted(json!({"vehiclePassport": {"document": "PAPER", "purpose": "продажа", "delivery": "OFFICE"}}))
        .await;
    let r = w
        .step(
            &w.admin,
            "rejectRequest(input: { requestId: $r, reason: $x })",
            json!({"r": b, "x": " "}),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.reason".to_owned())),
        "{r}"
    );
    let r = w
        .step(
            &w.admin,
            "rejectRequest(input: { requestId: $r, reason: $x })",
            json!({"r": b, "x": "ПТС выдаётся после выкупа"}),
        )
        .await;
    assert_eq!(
        r["data"]["rejectRequest"]["request"]["status"], "REJECTED",
        "{r}"
    );
    assert_eq!(
        r["data"]["rejectRequest"]["request"]["rejectionReason"],
        "ПТС выдаётся после выкупа"
    );
    let r = w
        .gql(
            &w.client,
            "query($c: UUID!) { requests(companyId: $c, status: REJECTED) { edges { node { id } } } }",
            json!({"c": w.company}),
        )
        .await;
    assert_eq!(
        r["data"]["requests"]["edges"].as_array().unwrap().len(),
        1,
        "{r}"
    );
    // The due date passes for the open… none is open; a new one missed by the clock is overdue.
    let c = w
        .submitted(json!({"technicalSupport": {"subject": "x", "text": "y"}}))
        .await;
    w.advance_to("2026-03-05").await;
    assert_eq!(w.request(&w.client, c).await["overdue"], true);
    assert_eq!(w.request(&w.client, a).await["overdue"], false);
}

const ANNUITY: fn(Uuid) -> Value = |company| {
    json!({
        "companyId": company, "number": "ЛД-А", "date": "2026-02-01", "contactEmail": "buh@romashka.ru",
        "subject": {"kind": "экскаватор", "make": "JCB", "model": "3CX", "year": 2024, "serialNumber": "S-1"},
        "price": "1200000", "advance": {"percent": "0"}, "termMonths": 12, "annualRate": "12",
        "firstDueDate": "2026-03-10", "scheduleKind": "ANNUITY", "redemption": "0",
        "penalty": {"ratePerDay": "0.1", "baseIncludesVat": true, "paymentDayCounts": true}
    })
};

async fn pay(w: &World, contract: Uuid, amount: &str, reference: &str) {
    let r = w
        .gql(
            &w.admin,
            "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { position } }",
            json!({"i": {"contractId": contract, "amount": amount, "date": "2026-03-02",
                         "bankReference": reference, "purpose": "UNALLOCATED"}}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
}

#[tokio::test]
async fn completing_requests_changes_the_company_contracts_policy_and_account_exactly_once() {
    let w = World::new().await;
    // Change of requisites → the company.
    let req = w
        .submitted(json!({"requisitesChange": {"shortName": "ООО «Ромашка-2»"}}))
        .await;
    w.review_and_complete(req, json!(null)).await;
    assert_eq!(w.effect(req).await["effect"], "APPLIED");
    let c = w
        .gql(
            &w.client,
            "query($c: UUID!) { company(id: $c) { shortName } }",
            json!({"c": w.company}),
        )
        .await;
    assert_eq!(c["data"]["company"]["shortName"], "ООО «Ромашка-2»", "{c}");

    // Partial early repayment → the annuity contract's schedule.
    let r = w
        .gql(&w.admin, "mutation($i: ConcludeContractInput!) { concludeContract(input: $i) { contract { id } } }", json!({"i": ANNUITY(w.company)}))
        .await;
    let annuity: Uuid = r["data"]["concludeContract"]["contract"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    pay(&w, annuity, "200000", "pp-1").await;
    let r = w
        .gql(
            &w.client,
            &submit_query(),
            json!({"i": {"companyId": w.company, "contractId": annuity,
                "details": {"partialRepayment": {"amount": "100000", "date": "2026-03-05", "mode": "SMALLER_PAYMENTS"}}}}),
        )
        .await;
    let repayment: Uuid = r["data"]["submitRequest"]["request"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .parse()
        .unwrap();
    w.review_and_complete(repayment, json!(null)).await;
    assert_eq!(w.effect(repayment).await["effect"], "APPLIED");

    // Early buyout → the explicit contract completes.
    pay(&w, w.contract, "300000", "pp-2").await;
    let buyout = w
        .submitted(json!({"earlyBuyout": {"desiredDate": "2026-03-05"}}))
        .await;
    w.review_and_complete(buyout, json!(null)).await;
    assert_eq!(w.effect(buyout).await["effect"], "APPLIED");
    let c = w
        .gql(
            &w.client,
            "query($c: UUID!) { contract(id: $c) { status } }",
            json!({"c": w.contract}),
        )
        .await;
    assert_eq!(c["data"]["contract"]["status"], "COMPLETED", "{c}");

    // Insurance prolongation → the policy; completing without the terms is refused.
    let policy = w.issue_policy("LESSEE", "2027-02-28", json!([])).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let prolong = w
        .submitted(json!({"insuranceProlongation": {"policyId": policy}}))
        .await;
    w.step(
        &w.admin,
        "takeRequestIntoReview(input: { requestId: $r })",
        json!({"r": prolong}),
    )
    .await;
    let r = w
        .gql(
            &w.admin,
            "mutation($i: CompleteRequestInput!) { completeRequest(input: $i) { request { status } } }",
            json!({"i": {"requestId": prolong}}),
        )
        .await;
    assert_eq!(
        error(&r),
        (
            "VALIDATION".to_owned(),
            Some("input.prolongation".to_owned())
        ),
        "{r}"
    );
    let r = w
        .gql(&w.admin, "mutation($i: CompleteRequestInput!) { completeRequest(input: $i) { request { status } } }",
            json!({"i": {"requestId": prolong, "prolongation": {"endsOn": "2028-02-29", "premium": "110000"}}}))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(w.effect(prolong).await["effect"], "APPLIED");
    let p = w.gql(&w.client, POLICY, json!({"id": policy})).await;
    assert_eq!(p["data"]["policy"]["endsOn"], "2028-02-29", "{p}");

    // A change of insurance terms → the policy, with what the insurer agreed and the request's description.
    let change = w
        .submitted(json!({"insuranceTermsChange": {"policyId": policy, "description": "добавить водителя"}}))
        .await;
    w.step(
        &w.admin,
        "takeRequestIntoReview(input: { requestId: $r })",
        json!({"r": change}),
    )
    .await;
    let premium_before: rust_decimal::Decimal = p["data"]["policy"]["premium"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let r = w
        .gql(&w.admin, "mutation($i: CompleteRequestInput!) { completeRequest(input: $i) { request { status } } }",
            json!({"i": {"requestId": change, "termsChange": {"sumInsured": "2500000",
                "additionalPremium": {"dueDate": "2026-06-01", "amount": "12000"}}}}))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(w.effect(change).await["effect"], "APPLIED");
    let p = w
        .gql(
            &w.client,
            "query($id: UUID!) { policy(id: $id) { sumInsured premium } }",
            json!({"id": policy}),
        )
        .await;
    assert_eq!(p["data"]["policy"]["sumInsured"], "2500000.00", "{p}");
    let premium_after: rust_decimal::Decimal = p["data"]["policy"]["premium"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        premium_after - premium_before,
        rust_decimal::Decimal::from(12000)
    );

    // Insuring the vehicle → a policy on the request's contract, once; completing without it is refused.
    let insure = w
        .submitted(json!({"vehicleInsurance": {"cover": "OSAGO", "startsOn": "2026-03-10"}}))
        .await;
    w.step(
        &w.admin,
        "takeRequestIntoReview(input: { requestId: $r })",
        json!({"r": insure}),
    )
    .await;
    let r = w
        .gql(
            &w.admin,
            "mutation($i: CompleteRequestInput!) { completeRequest(input: $i) { request { status } } }",
            json!({"i": {"requestId": insure}}),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.newPolicy".to_owned())),
        "{r}"
    );
    let r = w
        .t
        .gql_upload(
            Some(&w.admin),
            "mutation($i: CompleteRequestInput!) { completeRequest(input: $i) { request { status } } }",
            json!({"i": {"requestId": insure, "result": null, "newPolicy": {"insurer": "АО «АльфаСтрахование»",
                "number": "ХХХ 0123456789", "startsOn": "2026-03-10", "endsOn": "2027-03-09", "sumInsured": "400000",
                "premium": "9800", "payer": "LESSOR"}}}),
            &[("i.result", "осаго.pdf", "application/pdf", PDF)],
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let done = w.effect(insure).await;
    assert_eq!(done["effect"], "APPLIED", "{done}");
    let issued: Vec<(String, Value)> = sqlx::query_as(
        "SELECT aggregate_id, payload FROM events WHERE event_type = 'PolicyIssued' \
         AND payload -> 'PolicyIssued' ->> 'number' = 'ХХХ 0123456789'",
    )
    .fetch_all(&w.t.pool)
    .await
    .unwrap();
    assert_eq!(issued.len(), 1, "one policy: {issued:?}");
    let p = w
        .gql(
            &w.client,
            "query($id: UUID!) { policy(id: $id) { number kind insurer contractId premium status form { name } } }",
            json!({"id": issued[0].0}),
        )
        .await;
    assert_eq!(
        p["data"]["policy"],
        json!({"number": "ХХХ 0123456789", "kind": "OSAGO", "insurer": "АО «АльфаСтрахование»",
            "contractId": w.contract, "premium": "9800.00", "status": "ACTIVE", "form": {"name": "осаго.pdf"}}),
        "{p}"
    );
    // The effect is not applied twice however often the worker is asked (a restart, another node).
    api::workers::effects::RequestEffects::new(w.t.app.clone())
        .apply_effect(
            insure,
            &api::mail::Cause {
                correlation_id: "test".into(),
                event: None,
            },
        )
        .await
        .unwrap();
    let again: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE event_type = 'PolicyIssued' \
         AND payload -> 'PolicyIssued' ->> 'number' = 'ХХХ 0123456789'",
    )
    .fetch_one(&w.t.pool)
    .await
    .unwrap();
    assert_eq!(again, 1);

    // Account deletion while the annuity contract is open → refused, recorded for staff.
    let deletion = w.submitted(json!({"accountDeletion": {}})).await;
    w.review_and_complete(deletion, json!(null)).await;
    let d = w.effect(deletion).await;
    assert_eq!(d["effect"], "FAILED", "{d}");
    assert!(
        d["effectDetail"]
            .as_str()
            .unwrap()
            .contains("obligations remain"),
        "{d}"
    );

    let effects = [
        "CompanyRequisitesChanged",
        "ScheduleRecalculated",
        "ContractBoughtOut",
        "PolicyProlonged",
        "PolicyTermsChanged",
        "PolicyIssued",
        "EffectApplied",
        "EffectFailed",
    ];
    let mut before = Vec::new();
    for e in effects {
        before.push(w.count(e).await);
    }
    // Two policies issued: one by staff above, one by the vehicle-insurance request.
    assert_eq!(before, [1, 1, 1, 1, 1, 2, 6, 1]);
    // A rebuild of every read model, then the effects consumer replaying the whole log from scratch:
    // nothing is applied again.
    for p in w.t.app.inline.iter().filter(|p| p.replaceable()) {
        projections::engine::runner::rebuild(&w.t.pool, p.as_ref(), 1000)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM projection_checkpoints WHERE name = 'request-effects'")
        .execute(&w.t.pool)
        .await
        .unwrap();
    let effects_pm = api::workers::effects::RequestEffects::new(w.t.app.clone());
    for id in [req, repayment, buyout, prolong, change, insure, deletion] {
        let cause = api::mail::Cause {
            correlation_id: "test-replay".into(),
            event: None,
        };
        effects_pm.apply_effect(id, &cause).await.unwrap();
    }
    w.t.wait_for_consumer_of("request-effects", "ClientRequest")
        .await;
    let mut after = Vec::new();
    for e in effects {
        after.push(w.count(e).await);
    }
    assert_eq!(after, before, "effects applied once");
    w.t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn re_billed_premiums_are_insurance_debt_as_they_fall_due_and_policies_expire_by_the_clock() {
    let w = World::new().await;
    let p = w
        .issue_policy(
            "LESSOR",
            "2026-04-30",
            json!([{"dueDate": "2026-03-01", "amount": "60000"}, {"dueDate": "2026-04-01", "amount": "60000"}]),
        )
        .await;
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(
        p["insuranceDebt"], "60000.00",
        "the first installment fell due: {p}"
    );
    assert_eq!(
        p["status"], "ACTIVE",
        "30 April is more than 30 days after 2 March: {p}"
    );
    let debt = w.gql(&w.client, DEBT, json!({"c": w.company})).await;
    assert_eq!(debt["data"]["debt"]["insurance"], "60000.00", "{debt}");
    assert_eq!(
        debt["data"]["debt"]["contracts"][0]["insurance"],
        "60000.00"
    );
    // A lessee-paid policy owes the lessor nothing.
    w.issue_policy("LESSEE", "2027-02-28", json!([])).await;
    let debt = w.gql(&w.client, DEBT, json!({"c": w.company})).await;
    assert_eq!(debt["data"]["debt"]["insurance"], "60000.00", "{debt}");
    let r = w
        .gql(&w.admin, "mutation($i: RecordPremiumPaidInput!) { recordPremiumPaid(input: $i) { policy { insuranceDebt premiumPaid } } }",
            json!({"i": {"policyId": id, "amount": "60000", "date": "2026-03-03"}}))
        .await;
    assert_eq!(
        r["data"]["recordPremiumPaid"]["policy"]["insuranceDebt"], "0.00",
        "{r}"
    );
    let debt = w.gql(&w.client, DEBT, json!({"c": w.company})).await;
    assert_eq!(debt["data"]["debt"]["insurance"], "0.00", "{debt}");
    w.advance_to("2026-04-01").await;
    let debt = w.gql(&w.client, DEBT, json!({"c": w.company})).await;
    assert_eq!(
        debt["data"]["debt"]["insurance"], "60000.00",
        "the second fell due: {debt}"
    );
    let s = w.gql(&w.client, POLICY, json!({"id": id})).await;
    assert_eq!(s["data"]["policy"]["status"], "EXPIRING", "{s}");
    w.advance_to("2026-05-01").await;
    let s = w.gql(&w.client, POLICY, json!({"id": id})).await;
    assert_eq!(s["data"]["policy"]["status"], "EXPIRED", "{s}");
    let r = w
        .gql(&w.client, "query($c: UUID!) { policies(companyId: $c, status: EXPIRED) { edges { node { id } } } }", json!({"c": w.company}))
        .await;
    assert_eq!(
        r["data"]["policies"]["edges"][0]["node"]["id"],
        json!(id),
        "{r}"
    );
    w.t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn a_cancelled_policy_drops_its_later_installments_and_its_form_downloads_only_for_its_company(
) {
    let w = World::new().await;
    let p = w
        .issue_policy(
            "LESSOR",
            "2027-02-28",
            json!([{"dueDate": "2026-03-01", "amount": "60000"}, {"dueDate": "2026-09-01", "amount": "60000"}]),
        )
        .await;
    let id = p["id"].as_str().unwrap().to_owned();
    let form = p["form"]["sha256"].as_str().unwrap().to_owned();
    let r = w
        .gql(&w.admin, "mutation($i: CancelPolicyInput!) { cancelPolicy(input: $i) { policy { status cancelReason installments { number cancelled } insuranceDebt } } }",
            json!({"i": {"policyId": id, "date": "2026-03-02", "reason": "продажа предмета лизинга"}}))
        .await;
    let c = &r["data"]["cancelPolicy"]["policy"];
    assert_eq!(c["status"], "CANCELLED", "{r}");
    assert_eq!(c["installments"][1]["cancelled"], true);
    assert_eq!(
        c["insuranceDebt"], "60000.00",
        "the installment due before stays owed"
    );
    assert_eq!(
        w.t.download(Some(&w.client), &form).await,
        (200, PDF.to_vec())
    );
    let other_company =
        w.t.company(&w.admin, company_input("7712345671", "773601001"))
            .await;
    let stranger = w.t.sign_in(Role::Client, &[other_company]).await;
    assert_eq!(w.t.download(Some(&stranger), &form).await.0, 404);
    assert_eq!(w.t.download(Some(&w.admin), &form).await.0, 200);
}

#[tokio::test]
async fn uploads_over_the_limit_of_a_refused_type_or_unlike_their_type_are_refused_and_nothing_is_stored(
) {
    let t = TestApp::spawn_with(|s| s.upload_max_bytes = 1_000).await;
    let w = World::with(t).await;
    let id = w
        .submitted(json!({"complaint": {"subject": "x", "text": "y"}}))
        .await;
    let attach = "mutation($r: UUID!, $f: Upload!) { attachToRequest(input: { requestId: $r, file: $f }) { request { attachmentCount } } }";
    let big = vec![b'%'; 2_000];
    let cases: [(&str, &str, &[u8]); 4] = [
        ("big.pdf", "application/pdf", &big),
        ("virus.exe", "application/x-msdownload", b"MZ\x90\x00"),
        ("fake.pdf", "application/pdf", b"MZ\x90\x00"),
        ("empty.txt", "text/plain", b""),
    ];
    let events = w.t.event_count().await;
    let files: i64 = sqlx::query_scalar("SELECT count(*) FROM stored_files")
        .fetch_one(&w.t.pool)
        .await
        .unwrap();
    for (name, content_type, bytes) in cases {
        let r =
            w.t.gql_upload(
                Some(&w.client),
                attach,
                json!({"r": id, "f": null}),
                &[("f", name, content_type, bytes)],
            )
            .await;
        // The size limit is checked while the request is read, before any field: it names "file".
        let field = if name == "big.pdf" {
            "file"
        } else {
            "input.file"
        };
        assert_eq!(
            error(&r),
            ("VALIDATION".to_owned(), Some(field.to_owned())),
            "{name}: {r}"
        );
    }
    assert_eq!(w.t.event_count().await, events);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM stored_files")
        .fetch_one(&w.t.pool)
        .await
        .unwrap();
    assert_eq!(after, files);
    let r =
        w.t.gql_upload(
            Some(&w.client),
            attach,
            json!({"r": id, "f": null}),
            &[("f", "ok.pdf", "application/pdf", PDF)],
        )
        .await;
    assert_eq!(
        r["data"]["attachToRequest"]["request"]["attachmentCount"], 1,
        "{r}"
    );
}

#[tokio::test]
async fn an_upload_whose_command_is_refused_leaves_no_file_behind_and_a_shared_one_stays() {
    // The file is stored before the command runs; when the command is refused, nothing may be left behind
    // (issue 19, item 9) — unless a document of someone else's holds the same bytes.
    let w = World::new().await;
    let id = w
        .submitted(json!({"consultation": {"subject": "Выкуп", "text": "Как?"}}))
        .await;
    let r = w
        .step(
            &w.client,
            "withdrawRequest(input: { requestId: $r, reason: $x })",
            json!({"r": id, "x": "разобрались"}),
        )
        .await;
    assert_eq!(
        r["data"]["withdrawRequest"]["request"]["status"], "WITHDRAWN",
        "{r}"
    );
    let attach = "mutation($r: UUID!, $f: Upload!) { attachToRequest(input: { requestId: $r, file: $f }) { request { attachmentCount } } }";
    let stored = |bytes: &'static [u8]| {
        let pool = w.t.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM stored_files WHERE content = $1")
                .bind(bytes)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    const LONE: &[u8] = b"%PDF-1.4 only for a withdrawn request";
    let r =
        w.t.gql_upload(
            Some(&w.client),
            attach,
            json!({"r": id, "f": null}),
            &[("f", "поздно.pdf", "application/pdf", LONE)],
        )
        .await;
    assert!(
        !r["errors"].is_null(),
        "a withdrawn request took a file: {r}"
    );
    assert_eq!(stored(LONE).await, 0, "the refused upload stayed stored");

    // The same bytes, attached to an open request first: a refused upload of them keeps the stored file.
    const SHARED: &[u8] = b"%PDF-1.4 shared between two requests";
    let open = w
        .submitted(json!({"complaint": {"subject": "x", "text": "y"}}))
        .await;
    let r =
        w.t.gql_upload(
            Some(&w.client),
            attach,
            json!({"r": open, "f": null}),
            &[("f", "платёжка.pdf", "application/pdf", SHARED)],
        )
        .await;
    assert_eq!(
        r["data"]["attachToRequest"]["request"]["attachmentCount"], 1,
        "{r}"
    );
    let r =
        w.t.gql_upload(
            Some(&w.client),
            attach,
            json!({"r": id, "f": null}),
            &[("f", "копия.pdf", "application/pdf", SHARED)],
        )
        .await;
    assert!(!r["errors"].is_null(), "{r}");
    assert_eq!(
        stored(SHARED).await,
        1,
        "a file a document refers to was discarded"
    );
}

#[tokio::test]
async fn a_download_shows_the_name_the_caller_s_company_gave_the_file() {
    // Files are stored by content: two companies may upload the same bytes. Each sees its own name for
    // them, never the other's.
    let w = World::new().await;
    let other =
        w.t.company(&w.admin, company_input("7712345671", "773601001"))
            .await;
    let other_contract = conclude(&w.t, &w.admin, other, "ЛД-Б-1", "b@vasilek.ru").await;
    let other_client = w.t.sign_in(Role::Client, &[other]).await;
    const SAME: &[u8] = b"%PDF-1.4 the same bytes in two companies";
    let attach = "mutation($r: UUID!, $f: Upload!) { attachToRequest(input: { requestId: $r, file: $f }) { request { attachments { nodes { sha256 } } } } }";
    let mine = w
        .submitted(json!({"complaint": {"subject": "x", "text": "y"}}))
        .await;
    let r =
        w.t.gql_upload(
            Some(&w.client),
            attach,
            json!({"r": mine, "f": null}),
            &[("f", "секретный-план-слияния.pdf", "application/pdf", SAME)],
        )
        .await;
    let sha = r["data"]["attachToRequest"]["request"]["attachments"]["nodes"][0]["sha256"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    let r =
        w.t.gql(
            Some(&other_client),
            &submit_query(),
            json!({"i": {"companyId": other, "contractId": other_contract,
                          "details": {"complaint": {"subject": "x", "text": "y"}}}}),
        )
        .await;
    let theirs = r["data"]["submitRequest"]["request"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    let r =
        w.t.gql_upload(
            Some(&other_client),
            attach,
            json!({"r": theirs, "f": null}),
            &[("f", "акт.pdf", "application/pdf", SAME)],
        )
        .await;
    assert_eq!(
        r["data"]["attachToRequest"]["request"]["attachments"]["nodes"][0]["sha256"],
        sha.as_str()
    );
    let name = |token: String| {
        let t = &w.t;
        let sha = sha.clone();
        async move {
            let (status, disposition) = t.download_disposition(&token, &sha).await;
            assert_eq!(status, 200);
            disposition
        }
    };
    let theirs_name = name(other_client.clone()).await;
    assert!(
        theirs_name.contains("filename=\"___.pdf\"")
            || theirs_name.contains("%D0%B0%D0%BA%D1%82.pdf"),
        "{theirs_name}"
    );
    assert!(
        !theirs_name.contains("%D1%81%D0%B5%D0%BA%D1%80%D0%B5%D1%82"),
        "another company's name shown: {theirs_name}"
    );
    let mine_name = name(w.client.clone()).await;
    assert!(
        mine_name.contains("%D1%81%D0%B5%D0%BA%D1%80%D0%B5%D1%82"),
        "{mine_name}"
    );
}

#[tokio::test]
async fn a_request_list_counts_every_page_with_its_filters() {
    let w = World::new().await;
    for subject in ["Выкуп", "Сверка", "ПТС"] {
        w.submitted(json!({"consultation": {"subject": subject, "text": "Вопрос"}}))
            .await;
    }
    let count = |status: Value| {
        w.t.gql(
            Some(&w.client),
            "query($c: UUID!, $s: RequestStatus) { requests(companyId: $c, status: $s, first: 1) { \
               totalCount nodes { id } pageInfo { hasNextPage } } }",
            json!({ "c": w.company, "s": status }),
        )
    };
    let all = count(json!(null)).await;
    assert_eq!(all["data"]["requests"]["totalCount"], 3, "{all}");
    assert_eq!(
        all["data"]["requests"]["nodes"].as_array().unwrap().len(),
        1
    );
    assert_eq!(all["data"]["requests"]["pageInfo"]["hasNextPage"], true);
    let done = count(json!("COMPLETED")).await;
    assert_eq!(done["data"]["requests"]["totalCount"], 0, "{done}");
}

/// A request's history, comments and attachments are connections: pages of `first` after a cursor, with
/// `totalCount` — and policies, notifications, companies and accounts count every page with their filters.
#[tokio::test]
async fn lists_inside_a_request_page_like_every_connection_and_lists_count_their_pages() {
    let w = World::new().await;
    let id = w
        .submitted(json!({"consultation": {"subject": "Выкуп", "text": "Вопрос"}}))
        .await;
    for text in ["первый", "второй", "третий"] {
        let r = w
            .step(
                &w.client,
                "commentRequest(input: { requestId: $r, text: $x })",
                json!({"r": id, "x": text}),
            )
            .await;
        assert!(r["errors"].is_null(), "{r}");
    }
    let q = "query($r: UUID!, $a: String) { request(id: $r) { \
        comments(first: 2, after: $a) { totalCount nodes { text } edges { cursor } pageInfo { hasNextPage hasPreviousPage } } \
        history(first: 1) { totalCount nodes { change } pageInfo { hasNextPage } } } }";
    let page1 = w.gql(&w.client, q, json!({"r": id, "a": null})).await;
    let c = &page1["data"]["request"]["comments"];
    assert_eq!(c["totalCount"], 3, "{page1}");
    assert_eq!(c["nodes"], json!([{"text": "первый"}, {"text": "второй"}]));
    assert_eq!(
        c["pageInfo"],
        json!({"hasNextPage": true, "hasPreviousPage": false})
    );
    let h = &page1["data"]["request"]["history"];
    assert_eq!(h["totalCount"], 4, "submitted and three comments: {page1}");
    assert_eq!(h["nodes"], json!([{"change": "REQUEST_SUBMITTED"}]));
    let cursor = c["edges"][1]["cursor"].clone();
    let page2 = w.gql(&w.client, q, json!({"r": id, "a": cursor})).await;
    let c = &page2["data"]["request"]["comments"];
    assert_eq!(c["nodes"], json!([{"text": "третий"}]), "{page2}");
    assert_eq!(
        c["pageInfo"],
        json!({"hasNextPage": false, "hasPreviousPage": true})
    );
    // A cursor this list never gave is refused, naming `after`.
    let bad = w.gql(&w.client, q, json!({"r": id, "a": "99"})).await;
    assert_eq!(
        error(&bad),
        ("VALIDATION".to_owned(), Some("after".to_owned()))
    );

    // Totals of the other lists a screen counts.
    w.issue_policy("LESSEE", "2027-03-01", json!([])).await;
    let r = w
        .gql(
            &w.admin,
            "query($c: UUID!) { policies(companyId: $c, first: 1) { totalCount } \
               notifications(first: 1) { totalCount nodes { id } } \
               companies(first: 1) { totalCount } accounts(first: 1) { totalCount } \
               clients: accounts(first: 1, role: CLIENT) { totalCount } }",
            json!({"c": w.company}),
        )
        .await;
    let d = &r["data"];
    assert_eq!(d["policies"]["totalCount"], 1, "{r}");
    let staff_notes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notifications WHERE audience = 'staff'")
            .fetch_one(&w.t.pool)
            .await
            .unwrap();
    assert!(staff_notes > 1);
    assert_eq!(d["notifications"]["totalCount"], staff_notes, "{r}");
    let companies: i64 = sqlx::query_scalar("SELECT count(*) FROM companies_view")
        .fetch_one(&w.t.pool)
        .await
        .unwrap();
    assert_eq!(d["companies"]["totalCount"], companies, "{r}");
    let (accounts, clients): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE 'CLIENT' = ANY (roles)) FROM accounts",
    )
    .fetch_one(&w.t.pool)
    .await
    .unwrap();
    assert_eq!(d["accounts"]["totalCount"], accounts, "{r}");
    assert_eq!(d["clients"]["totalCount"], clients, "{r}");
    assert!(clients < accounts);
}

/// The text of the company's only document of `kind` (white space squashed).
async fn document_text(w: &World, kind: &str) -> String {
    let r = w
        .gql(
            &w.client,
            "query($c: UUID!) { documents(companyId: $c) { edges { node { kind file { sha256 } } } } }",
            json!({"c": w.company}),
        )
        .await;
    let of_kind: Vec<&Value> = r["data"]["documents"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .filter(|e| e["node"]["kind"] == kind)
        .collect();
    assert_eq!(of_kind.len(), 1, "{kind}: {r}");
    let (status, pdf) =
        w.t.download(
            Some(&w.client),
            of_kind[0]["node"]["file"]["sha256"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, 200);
    documents::inspect::text(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn each_certificate_request_completes_into_its_pdf_and_a_completed_contract_gets_its_os1() {
    let w = World::new().await;
    // A certificate is about a contract: without one the request is refused at once, not at completion.
    let r = w
        .gql(
            &w.client,
            &submit_query(),
            json!({"i": {"companyId": w.company, "details": {"certificate": {"certificate": "NO_DEBT", "asOf": "2026-03-02"}}}}),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.contractId".to_owned())),
        "{r}"
    );
    // The person reads English: the documents come with an English letter.
    let r = w
        .gql(
            &w.client,
            "mutation { setMailLanguage(input: { language: EN }) { me { email } } }",
            json!({}),
        )
        .await;
    let email = r["data"]["setMailLanguage"]["me"]["email"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    // Business day 02.03.2026; the contract's one line (300 000) is due 10.03: no debt yet.
    for (kind, document, needles) in [
        ("NO_DEBT", "NO_DEBT_CERTIFICATE", vec!["ЛД-1", "02.03.2026"]),
        (
            "CONTRACT_IN_FORCE",
            "CONTRACT_IN_FORCE_CERTIFICATE",
            vec!["Справка о действии договора лизинга", "действует"],
        ),
        (
            "BOOK_VALUE",
            "BOOK_VALUE_CERTIFICATE",
            vec![
                "300 000,00",
                "расчётная оценка по графику платежей (не данные бухгалтерского учёта)",
            ],
        ),
    ] {
        let id = w
            .submitted(json!({"certificate": {"certificate": kind, "asOf": "2026-03-02"}}))
            .await;
        let done = w.review_and_complete(id, Value::Null).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        let effect = w.effect(id).await;
        assert_eq!(effect["effect"], "APPLIED", "{kind}: {effect}");
        let text = document_text(&w, document).await;
        for needle in needles {
            assert!(
                text.contains(needle),
                "{kind}: missing «{needle}» in {text}"
            );
        }
    }
    let mail = w.t.mail(&email, "request_documents").await;
    assert!(
        mail.text
            .contains("The documents for your request are attached"),
        "{}",
        mail.text
    );
    // The ОС-1 act once everything is paid and the contract completed.
    let pay = w
        .gql(
            &w.admin,
            "mutation($c: UUID!) { recordPayment(input: {contractId: $c, amount: \"300000\", date: \"2026-03-02\", \
               bankReference: \"п/п 77\", purpose: LEASING_PAYMENT}) { position } }",
            json!({"c": w.contract}),
        )
        .await;
    assert!(pay["errors"].is_null(), "{pay}");
    let r = w
        .gql(
            &w.admin,
            "mutation($c: UUID!) { completeContract(input: {contractId: $c, date: \"2026-03-02\"}) { position } }",
            json!({"c": w.contract}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = w
        .gql(
            &w.admin,
            "mutation($k: UUID!) { issueOs1(input: { contractId: $k }) { document { kind } } }",
            json!({"k": w.contract}),
        )
        .await;
    assert_eq!(r["data"]["issueOs1"]["document"]["kind"], "OS_1", "{r}");
    let text = document_text(&w, "OS_1").await;
    for needle in ["Унифицированная форма № ОС-1", "ОКУД 0306001", "ЛД-1"]
    {
        assert!(text.contains(needle), "missing «{needle}» in {text}");
    }
}

#[tokio::test]
async fn a_login_change_request_moves_the_login_once_staff_complete_it_and_both_addresses_are_told()
{
    let w = World::new().await;
    let me = w.gql(&w.client, "{ me { id email } }", json!({})).await;
    let old = me["data"]["me"]["email"].as_str().unwrap().to_owned();
    let id = w
        .submitted(json!({"loginEmailChange": {"newEmail": "New.Boss@Romashka.ru"}}))
        .await;
    let done = w.review_and_complete(id, Value::Null).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let effect = w.effect(id).await;
    assert_eq!(effect["effect"], "APPLIED", "{effect}");
    // The old sessions ended; the new address signs in with the same password.
    let r = w.gql(&w.client, "{ me { id } }", json!({})).await;
    assert_eq!(error(&r).0, "UNAUTHENTICATED", "{r}");
    let token =
        w.t.login("new.boss@romashka.ru", crate::common::PASSWORD)
            .await;
    let r = w.gql(&token, "{ me { id email } }", json!({})).await;
    assert_eq!(r["data"]["me"]["id"], me["data"]["me"]["id"], "{r}");
    let told = w.t.mail(&old, "login_changed").await;
    assert!(told.text.contains("ne***@romashka.ru"), "{}", told.text);
    w.t.mail("new.boss@romashka.ru", "login_moved").await;
    // The effect ran once: a replay of the consumer changes nothing more.
    let effects_pm = api::workers::effects::RequestEffects::new(w.t.app.clone());
    let cause = api::mail::Cause {
        correlation_id: "test-replay".into(),
        event: None,
    };
    effects_pm.apply_effect(id, &cause).await.unwrap();
    assert_eq!(
        w.t.outbox_count("new.boss@romashka.ru", "login_moved")
            .await,
        1
    );
}

#[tokio::test]
async fn an_edo_connection_request_drives_the_connection_once() {
    let w = World::new().await;
    // Through the lessor's operator the client's own acts are missing: the effect says what is.
    let direct = w
        .submitted(json!({"edoConnection": {"roaming": false}}))
        .await;
    w.review_and_complete(direct, json!(null)).await;
    let d = w.effect(direct).await;
    assert_eq!(d["effect"], "FAILED", "{d}");
    assert!(
        d["effectDetail"]
            .as_str()
            .unwrap()
            .contains("questionnaire"),
        "{d}"
    );
    // Roaming through the client's own operator: requested and activated by the completion.
    let roaming = w
        .submitted(json!({"edoConnection": {"participantId": "2BM-7707083893-2012052808", "roaming": true}}))
        .await;
    w.review_and_complete(roaming, json!(null)).await;
    let d = w.effect(roaming).await;
    assert_eq!(d["effect"], "APPLIED", "{d}");
    let r = w
        .gql(
            &w.client,
            "query($c: UUID!) { edoStatus(companyId: $c) { status participantId } }",
            json!({"c": w.company}),
        )
        .await;
    assert_eq!(
        r["data"]["edoStatus"],
        json!({"status": "ROAMING_ACTIVE", "participantId": "2BM-7707083893-2012052808"}),
        "{r}"
    );
    // Asked again (a restart, another node): nothing twice.
    let effects = api::workers::effects::RequestEffects::new(w.t.app.clone());
    for id in [direct, roaming] {
        effects
            .apply_effect(
                id,
                &api::mail::Cause {
                    correlation_id: "again".into(),
                    event: None,
                },
            )
            .await
            .unwrap();
    }
    for event in ["EdoRoamingRequested", "EdoRoamingActivated"] {
        assert_eq!(w.count(event).await, 1, "{event}");
    }
    w.t.assert_read_models_equal_the_log().await;
}
