//! Notifications, live updates, news and FAQ end to end on PostgreSQL: every kind produced by a scripted
//! history and seen over GraphQL and over a subscription, the same notifications after a rebuild, read marks
//! and unread counts, mail preferences, a resumed subscription, a refused subscription to another company,
//! and Russian full-text search in the FAQ.

use std::collections::BTreeSet;

use crate::common::{company_input, conclude, error, TestApp, PDF};
use api::auth::Role;
use cabinet_tests::Subscriptions;
use projections::views::notifications::{Audience, NotificationKind};
use serde_json::{json, Value};
use uuid::Uuid;

const LIST: &str = "query($c: UUID, $u: Boolean! = false, $a: String) { notifications(companyId: $c, unreadOnly: $u, first: 100, after: $a) { \
    edges { cursor node { id kind companyId title text titleEn: title(language: EN) textEn: text(language: EN) \
    params { number date price amount bankReference allocations { kind line resolutionNumber amount } line dueDate \
    deadline days through resolutionNumber vehicle requestKind requestStatus dueOn question comment note reason fileName \
    sha256 edoStatus policyKind endsOn documentKind title signingStep version messageId files escalatedFrom \
    managerId waitedMinutes } \
    link { entityType id } businessDate recordedAt read position } } pageInfo { hasNextPage } } }";

const ADDED: &str =
    "subscription($c: UUID!, $a: Position) { notificationAdded(companyId: $c, after: $a) { \
    id kind title position } }";

struct World {
    t: TestApp,
    admin: String,
    client: String,
    company: Uuid,
    contract: Uuid,
}

impl World {
    async fn new() -> Self {
        let t = TestApp::spawn().await;
        let admin = t.sign_in(Role::Admin, &[]).await;
        let company = t
            .company(&admin, company_input("7707083893", "773601001"))
            .await;
        let contract = conclude(&t, &admin, company, "ЛД-7", "buh@romashka.ru").await;
        let client = t.sign_in(Role::Client, &[company]).await;
        Self {
            t,
            admin,
            client,
            company,
            contract,
        }
    }

    async fn ok(&self, token: &str, query: &str, vars: Value) -> Value {
        let r = self.t.gql(Some(token), query, vars).await;
        assert!(r["errors"].is_null(), "{query}: {r}");
        r["data"].clone()
    }

    async fn advance_to(&self, day: &str) {
        self.t.advance_clock(&self.admin, day).await
    }

    async fn submit(&self, details: Value) -> Uuid {
        let d = self
            .ok(
                &self.client,
                "mutation($i: SubmitRequestInput!) { submitRequest(input: $i) { request { id } } }",
                json!({"i": {"companyId": self.company, "contractId": self.contract, "details": details}}),
            )
            .await;
        d["submitRequest"]["request"]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    async fn step(&self, token: &str, mutation: &str, request: Uuid) {
        self.ok(
            token,
            &format!("mutation($r: UUID!) {{ {mutation} {{ request {{ status }} }} }}"),
            json!({ "r": request }),
        )
        .await;
    }

    async fn list(&self, token: &str, company: Option<Uuid>, unread_only: bool) -> Vec<Value> {
        let d = self
            .ok(
                token,
                LIST,
                json!({ "c": company, "u": unread_only, "a": null }),
            )
            .await;
        d["notifications"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect()
    }

    async fn unread(&self, token: &str, company: Option<Uuid>) -> i64 {
        let d = self
            .ok(
                token,
                "query($c: UUID) { unreadNotificationCount(companyId: $c) }",
                json!({ "c": company }),
            )
            .await;
        d["unreadNotificationCount"].as_i64().unwrap()
    }
}

fn kinds(list: &[Value]) -> BTreeSet<String> {
    list.iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn of_kind<'a>(list: &'a [Value], kind: &str) -> &'a Value {
    list.iter()
        .find(|n| n["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {list:?}"))
}

fn set<S: AsRef<str>>(items: &[S]) -> BTreeSet<String> {
    items.iter().map(|s| s.as_ref().to_owned()).collect()
}

/// Every kind of one audience, as GraphQL names it, taken from the code's own list: a kind added later is in
/// the scripted history or this test fails.
fn every_kind(audience: Audience) -> Vec<String> {
    NotificationKind::ALL
        .iter()
        .filter(|k| k.audience() == audience)
        .map(|k| k.as_str().to_uppercase())
        .collect()
}

/// The scripted history: every kind of notification, in business-day order.
async fn history(w: &World) {
    w.ok(
        &w.admin,
        "mutation($c: UUID!) { activateContract(input: {contractId: $c, date: \"2026-02-02\"}) { position } }",
        json!({ "c": w.contract }),
    )
    .await;
    w.advance_to("2026-03-02").await;
    // A policy ending within 30 days of the next business day, issued with its form.
    let r = w
        .t
        .gql_upload(
            Some(&w.admin),
            "mutation($i: IssuePolicyInput!) { issuePolicy(input: $i) { policy { id } } }",
            json!({"i": {"contractId": w.contract, "insurer": "САО «РЕСО-Гарантия»", "kind": "KASKO",
                "number": "SYS-7", "startsOn": "2025-03-21", "endsOn": "2026-03-20", "sumInsured": "2500000",
                "premium": "120000", "installments": [], "payer": "LESSEE", "form": null}}),
            &[("i.form", "полис.pdf", "application/pdf", PDF)],
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    w.advance_to("2026-03-05").await; // line 1 (10 March) is due in 5 days; the policy ends within 30
    w.advance_to("2026-03-10").await; // due today
    w.advance_to("2026-03-12").await; // overdue, penalties start
    w.ok(
        &w.admin,
        "mutation($c: UUID!) { recordPayment(input: {contractId: $c, amount: \"100000\", date: \"2026-03-12\", \
           bankReference: \"п/п 41\", purpose: LEASING_PAYMENT}) { position } }",
        json!({ "c": w.contract }),
    )
    .await;
    w.ok(
        &w.admin,
        "mutation($c: UUID!) { registerTrafficFine(input: {contractId: $c, resolutionNumber: \"18810177260303000009\", \
           date: \"2026-03-11\", amount: \"1500\", vehicle: \"А123ВС77\", description: \"превышение скорости\"}) { position } }",
        json!({ "c": w.contract }),
    )
    .await;
    w.advance_to("2026-03-21").await; // the policy ended on 20 March

    // A request through its whole workflow.
    let consultation = w
        .submit(json!({"consultation": {"subject": "Выкуп", "text": "Как выкупить досрочно?"}}))
        .await;
    w.step(
        &w.admin,
        "takeRequestIntoReview(input: { requestId: $r })",
        consultation,
    )
    .await;
    w.step(
        &w.admin,
        "askForInformation(input: { requestId: $r, question: \"Какую дату выкупа вы планируете?\" })",
        consultation,
    )
    .await;
    w.step(
        &w.client,
        "commentRequest(input: { requestId: $r, text: \"В апреле\" })",
        consultation,
    )
    .await;
    w.step(
        &w.admin,
        "commentRequest(input: { requestId: $r, text: \"Подготовим расчёт\" })",
        consultation,
    )
    .await;
    let r = w
        .t
        .gql_upload(
            Some(&w.admin),
            "mutation($i: CompleteRequestInput!) { completeRequest(input: $i) { request { status } } }",
            json!({"i": {"requestId": consultation, "note": "Расчёт во вложении", "result": null}}),
            &[("i.result", "расчёт.pdf", "application/pdf", PDF)],
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    // Withdrawn by the client.
    let complaint = w
        .submit(json!({"complaint": {"subject": "Счёт", "text": "Счёт пришёл с ошибкой"}}))
        .await;
    w.step(
        &w.client,
        "withdrawRequest(input: { requestId: $r })",
        complaint,
    )
    .await;
    // ЭДО connection in review.
    let edo = w
        .submit(json!({"edoConnection": {"participantId": "2BM-7707083893-2012052808", "roaming": true}}))
        .await;
    w.step(
        &w.admin,
        "takeRequestIntoReview(input: { requestId: $r })",
        edo,
    )
    .await;
    // An early buyout completed while payments are still overdue: its effect is refused.
    let buyout = w
        .submit(json!({"earlyBuyout": {"desiredDate": "2026-03-25"}}))
        .await;
    w.step(
        &w.admin,
        "takeRequestIntoReview(input: { requestId: $r })",
        buyout,
    )
    .await;
    w.ok(
        &w.admin,
        "mutation($r: UUID!) { completeRequest(input: {requestId: $r}) { request { status } } }",
        json!({ "r": buyout }),
    )
    .await;
    w.t.wait_for_consumer_of("request-effects", "ClientRequest")
        .await;
    // A document from the client, sent with its signature; the lessor acknowledges it.
    let r = w
        .t
        .gql_upload(
            Some(&w.client),
            "mutation($c: UUID!, $f: Upload!) { uploadDocument(input: { companyId: $c, title: \"Акт\", file: $f }) { document { id } } }",
            json!({"c": w.company, "f": null}),
            &[("f", "act.pdf", "application/pdf", b"%PDF-1.4 the client's act")],
        )
        .await;
    let doc = r["data"]["uploadDocument"]["document"]["id"].clone();
    assert!(doc.is_string(), "{r}");
    let sig: Vec<u8> = [&[0x30u8, 0x82, 0x01, 0x00][..], &[7u8; 256]].concat();
    let r = w
        .t
        .gql_upload(
            Some(&w.client),
            "mutation($d: UUID!, $s: SignatureInput!, $f: Upload!) { sendDocumentForSignature(input: { documentId: $d, signature: $s, signatureFile: $f }) { document { status } } }",
            json!({"d": doc, "f": null, "s": {"signerName": "Петров П. П.", "signerPosition": "Директор",
                   "thumbprint": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "signedAt": "2026-03-20T10:00:00Z"}}),
            &[("f", "a.sig", "application/pkcs7-signature", &sig)],
        )
        .await;
    assert_eq!(
        r["data"]["sendDocumentForSignature"]["document"]["status"], "SENT",
        "{r}"
    );
    w.ok(
        &w.admin,
        "mutation($d: UUID!) { acknowledgeDocument(input: { documentId: $d }) { document { status } } }",
        json!({ "d": doc }),
    )
    .await;
    // Content.
    w.ok(
        &w.admin,
        "mutation { publishNews(input: {title: \"Новый офис в Казани\", text: \"Мы открыли офис.\", date: \"2026-03-21\"}) { news { id } } }",
        json!({}),
    )
    .await;
    w.ok(
        &w.admin,
        "mutation { publishTerms(input: { text: \"Условия использования, редакция 1\" }) { terms { version } } }",
        json!({}),
    )
    .await;
    // The client accepts them to go on.
    w.ok(
        &w.client,
        "mutation { acceptTerms(input: { version: 1 }) { me { id } } }",
        json!({}),
    )
    .await;
    // The conversation: the client writes, the lessor answers.
    let post = "mutation($c: UUID!, $t: String!) { postMessage(input: {companyId: $c, text: $t}) { message { id } } }";
    w.ok(
        &w.client,
        post,
        json!({"c": w.company, "t": "Когда придёт акт?"}),
    )
    .await;
    w.ok(&w.admin, post, json!({"c": w.company, "t": "Завтра"}))
        .await;
    // A manager account takes the company; what reaches it and stays unread is handed to the back office.
    let (manager, _, manager_id) =
        w.t.sign_in_person(Role::Manager, api::auth::CompanyRole::Director, &[])
            .await;
    w.ok(
        &manager,
        "mutation { updateStaffProfile(input: {name: \"Петрова Анна\", phone: \"+74951112233\"}) { profile { name } } }",
        json!({}),
    )
    .await;
    w.ok(
        &w.admin,
        "mutation($c: UUID!, $a: UUID!) { assignManager(input: {companyId: $c, accountId: $a}) { position } }",
        json!({"c": w.company, "a": manager_id}),
    )
    .await;
    w.ok(
        &w.client,
        post,
        json!({"c": w.company, "t": "Акт не пришёл"}),
    )
    .await;
    let later = chrono::Utc::now()
        + chrono::Duration::minutes(i64::from(w.t.app.manager_first_minutes) + 1);
    assert_eq!(
        api::app::notifications::escalate(&w.t.app, later)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn every_kind_is_produced_seen_over_graphql_and_a_subscription_and_is_the_same_after_a_rebuild(
) {
    let w = World::new().await;
    let base = w.t.serve_http().await;
    // A live subscriber for the client's company, from the contract's conclusion (its first notification)
    // on: what it has already seen is not sent again however quickly the history starts.
    let seen = w.list(&w.client, Some(w.company), false).await;
    assert_eq!(kinds(&seen), set(&["CONTRACT_CONCLUDED"]));
    let mut live = Subscriptions::connect(&base, Some(&w.client))
        .await
        .unwrap();
    w.t.subscribe(
        &mut live,
        "n",
        ADDED,
        json!({ "c": w.company, "a": seen[0]["position"] }),
    )
    .await;

    history(&w).await;

    let client = w.list(&w.client, Some(w.company), false).await;
    assert_eq!(
        kinds(&client),
        set(&every_kind(Audience::Client)),
        "{client:?}"
    );
    let staff = w.list(&w.admin, None, false).await;
    assert_eq!(
        kinds(&staff),
        set(&every_kind(Audience::Staff)),
        "{staff:?}"
    );

    // What they say.
    let due = of_kind(&client, "PAYMENT_DUE_SOON");
    assert_eq!(due["businessDate"], "2026-03-05", "{due}");
    assert!(
        due["text"].as_str().unwrap().contains("300 000,00 ₽")
            && due["text"].as_str().unwrap().contains("10.03.2026"),
        "{due}"
    );
    assert!(
        due["textEn"].as_str().unwrap().contains("RUB 300,000.00"),
        "{due}"
    );
    assert_eq!(
        due["link"],
        json!({"entityType": "CONTRACT", "id": w.contract.to_string()})
    );
    assert_eq!(due["params"]["dueDate"], "2026-03-10", "{due}");
    assert_eq!(due["params"]["amount"], "300000.00", "{due}");
    assert!(due["params"]["number"].is_string(), "{due}");
    // Every notification of every kind carries typed values, and the ones its kind is about.
    for n in client.iter().chain(&staff) {
        let set = n["params"]
            .as_object()
            .unwrap()
            .values()
            .filter(|v| !v.is_null() && *v != &json!([]))
            .count();
        assert!(set > 0, "no values: {n}");
        let p = &n["params"];
        match n["kind"].as_str().unwrap() {
            "REQUEST_SUBMITTED" => {
                assert!(
                    p["requestKind"].is_string() && p["dueOn"].is_string(),
                    "{n}"
                )
            }
            "REQUEST_STATUS_CHANGED"
            | "REQUEST_DECIDED"
            | "REQUEST_QUESTION"
            | "REQUEST_WITHDRAWN" => {
                assert!(
                    p["requestKind"].is_string() && p["requestStatus"].is_string(),
                    "{n}"
                )
            }
            "REQUEST_COMMENT" | "REQUEST_CLIENT_REPLY" => {
                assert!(
                    p["requestKind"].is_string() && p["requestStatus"].is_null(),
                    "{n}"
                )
            }
            "POLICY_EXPIRING" | "POLICY_EXPIRED" => {
                assert!(
                    p["policyKind"].is_string() && p["endsOn"].is_string(),
                    "{n}"
                )
            }
            // A document of the exchange has its kind; a file (a policy form, a request's result) its name.
            "DOCUMENT_AVAILABLE" => {
                assert!(
                    p["documentKind"].is_string() || p["fileName"].is_string(),
                    "{n}"
                )
            }
            "SIGNATURE_REQUESTED" => assert!(p["signingStep"].is_string(), "{n}"),
            "TERMS_CHANGED" => assert!(p["version"].is_number(), "{n}"),
            "PAYMENT_OVERDUE" => assert!(p["deadline"].is_string(), "{n}"),
            "PENALTY_ACCRUED" => assert!(p["days"].is_number() && p["through"].is_string(), "{n}"),
            "FINE_REGISTERED" => assert!(p["resolutionNumber"].is_string(), "{n}"),
            _ => {}
        }
    }
    let paid = of_kind(&client, "PAYMENT_RECEIVED");
    assert_eq!(
        paid["params"]["allocations"][0],
        json!({"kind": "LINE", "line": 1, "resolutionNumber": null, "amount": "100000.00"}),
        "{paid}"
    );
    assert!(
        paid["text"]
            .as_str()
            .unwrap()
            .contains("платёж № 1 — 100 000,00 ₽"),
        "{paid}"
    );
    assert_eq!(
        of_kind(&client, "POLICY_EXPIRED")["businessDate"],
        "2026-03-21"
    );
    assert_eq!(of_kind(&client, "TERMS_CHANGED")["companyId"], Value::Null);
    let doc = client
        .iter()
        .filter(|n| n["kind"] == "DOCUMENT_AVAILABLE")
        .count();
    assert_eq!(doc, 2, "the policy form and the request's result");
    let failed = of_kind(&staff, "REQUEST_EFFECT_FAILED");
    assert_eq!(failed["companyId"], w.company.to_string());

    // Each one after the contract's conclusion came over the subscription, in commit order, once.
    let expected: Vec<Value> = client
        .iter()
        .rev()
        .filter(|n| n["kind"] != "CONTRACT_CONCLUDED")
        .map(|n| n["id"].clone())
        .collect();
    let got = live
        .collect_until("n", |got| got.len() >= expected.len())
        .await;
    let ids: Vec<Value> = got
        .iter()
        .map(|d| d["notificationAdded"]["id"].clone())
        .collect();
    assert_eq!(ids, expected, "delivered in the global order, once each");
    let live_kinds: BTreeSet<String> = got
        .iter()
        .map(|d| d["notificationAdded"]["kind"].as_str().unwrap().to_owned())
        .chain(["CONTRACT_CONCLUDED".to_owned()])
        .collect();
    assert_eq!(live_kinds, set(&every_kind(Audience::Client)));
    // Staff kinds over a subscription of the back office, resumed from the very start.
    let mut back_office = Subscriptions::connect(&base, Some(&w.admin)).await.unwrap();
    w.t.subscribe(
        &mut back_office,
        "s",
        ADDED,
        json!({ "c": w.company, "a": w.t.first_position(&w.admin).await }),
    )
    .await;
    let got = back_office
        .collect_until("s", |got| got.len() >= staff.len())
        .await;
    let staff_live: BTreeSet<String> = got
        .iter()
        .map(|d| d["notificationAdded"]["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(staff_live, set(&every_kind(Audience::Staff)));

    // Read marks and unread counts.
    assert_eq!(
        w.unread(&w.client, Some(w.company)).await,
        client.len() as i64
    );
    let two: Vec<&Value> = client.iter().take(2).map(|n| &n["id"]).collect();
    let d = w
        .ok(
            &w.client,
            "mutation($ids: [UUID!]!) { markNotificationsRead(input: { ids: $ids }) { marked unread } }",
            json!({ "ids": two }),
        )
        .await;
    assert_eq!(
        d["markNotificationsRead"],
        json!({"marked": 2, "unread": client.len() as i64 - 2})
    );
    assert_eq!(
        w.list(&w.client, Some(w.company), true).await.len(),
        client.len() - 2
    );
    // Marking again marks nothing new; staff's list is apart.
    let d = w
        .ok(
            &w.client,
            "mutation($ids: [UUID!]!) { markNotificationsRead(input: { ids: $ids }) { marked unread } }",
            json!({ "ids": two }),
        )
        .await;
    assert_eq!(d["markNotificationsRead"]["marked"], 0);
    assert_eq!(w.unread(&w.admin, None).await, staff.len() as i64);

    // A rebuild from the log gives the same notifications with the same ids, and the marks still apply.
    let before: Vec<(Value, Value, Value)> = client
        .iter()
        .map(|n| (n["id"].clone(), n["kind"].clone(), n["text"].clone()))
        .collect();
    projections::engine::runner::rebuild(
        &w.t.pool,
        &projections::views::notifications::NotificationsProjection,
        500,
    )
    .await
    .unwrap();
    let after = w.list(&w.client, Some(w.company), false).await;
    let after: Vec<(Value, Value, Value)> = after
        .iter()
        .map(|n| (n["id"].clone(), n["kind"].clone(), n["text"].clone()))
        .collect();
    assert_eq!(before, after);
    assert_eq!(
        w.unread(&w.client, Some(w.company)).await,
        client.len() as i64 - 2
    );
    let d = w
        .ok(
            &w.client,
            "mutation($c: UUID!) { markAllNotificationsRead(input: { companyId: $c }) { marked unread } }",
            json!({ "c": w.company }),
        )
        .await;
    assert_eq!(
        d["markAllNotificationsRead"],
        json!({"marked": client.len() as i64 - 2, "unread": 0})
    );
    w.t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn marks_are_refused_for_notifications_of_another_company_and_nothing_is_marked() {
    let w = World::new().await;
    let other =
        w.t.company(&w.admin, company_input("7736207543", "773601001"))
            .await;
    conclude(&w.t, &w.admin, other, "ЛД-8", "buh@vostok.ru").await;
    let stranger = w.t.sign_in(Role::Client, &[other]).await;
    let theirs = w.list(&stranger, Some(other), false).await;
    assert_eq!(kinds(&theirs), set(&["CONTRACT_CONCLUDED"]));
    let mine = w.list(&w.client, None, false).await;
    assert_eq!(mine.len(), 1);
    let r =
        w.t.gql(
            Some(&w.client),
            "mutation($ids: [UUID!]!) { markNotificationsRead(input: { ids: $ids }) { marked } }",
            json!({ "ids": [mine[0]["id"], theirs[0]["id"]] }),
        )
        .await;
    assert_eq!(error(&r).0, "NOT_FOUND", "{r}");
    assert_eq!(w.unread(&w.client, None).await, 1);
    assert_eq!(w.unread(&stranger, Some(other)).await, 1);
    let r =
        w.t.gql(Some(&w.client), LIST, json!({ "c": other, "u": false }))
            .await;
    assert_eq!(error(&r).0, "FORBIDDEN", "{r}");
}

#[tokio::test]
async fn overdue_and_decisions_are_mailed_by_default_and_each_account_chooses_its_kinds() {
    let w = World::new().await;
    let email: String = sqlx::query_scalar(
        "SELECT a.email FROM accounts a JOIN account_companies l USING (account_id) \
         WHERE l.company_id = $1 AND 'CLIENT' = ANY(a.roles) AND a.email LIKE 'client-%'",
    )
    .bind(w.company)
    .fetch_one(&w.t.pool)
    .await
    .unwrap();
    let d = w
        .ok(
            &w.client,
            "{ notificationPreferences { kind email emailByDefault } }",
            json!({}),
        )
        .await;
    let prefs = d["notificationPreferences"].as_array().unwrap();
    let mailed: BTreeSet<String> = prefs
        .iter()
        .filter(|p| p["email"] == true)
        .map(|p| p["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        mailed,
        set(&[
            "PAYMENT_OVERDUE",
            "REQUEST_DECIDED",
            "REQUEST_QUESTION",
            "EDO_STATUS_CHANGED",
            "SIGNATURE_REQUESTED",
            "CONVERSATION_MESSAGE"
        ])
    );
    // The client also wants payments by mail, and no decisions.
    w.ok(
        &w.client,
        "mutation { setNotificationPreferences(input: { preferences: [{kind: PAYMENT_RECEIVED, email: true}, \
           {kind: REQUEST_DECIDED, email: false}] }) { preferences { kind email } } }",
        json!({}),
    )
    .await;
    w.advance_to("2026-03-12").await;
    w.ok(
        &w.admin,
        "mutation($c: UUID!) { recordPayment(input: {contractId: $c, amount: \"1000\", date: \"2026-03-12\", \
           bankReference: \"п/п 42\", purpose: LEASING_PAYMENT}) { position } }",
        json!({ "c": w.contract }),
    )
    .await;
    let request = w
        .submit(json!({"consultation": {"subject": "Выкуп", "text": "Как выкупить?"}}))
        .await;
    w.step(
        &w.admin,
        "rejectRequest(input: { requestId: $r, reason: \"Не по договору\" })",
        request,
    )
    .await;
    w.t.wait_for_consumer_of("notification-mail", "ClientRequest")
        .await;
    let subjects = |t: &TestApp| {
        let email = email.clone();
        let pool = t.pool.clone();
        async move {
            let s: Vec<String> = sqlx::query_scalar(
                "SELECT subject FROM outbox WHERE recipient = $1 AND template = 'notification' ORDER BY id",
            )
            .bind(&email)
            .fetch_all(&pool)
            .await
            .unwrap();
            s
        }
    };
    assert_eq!(
        subjects(&w.t).await,
        vec!["Платёж просрочен".to_owned(), "Платёж получен".to_owned()]
    );
    // The mail itself, delivered through the file transport.
    w.t.wait_mail_count(&email, "notification", 2).await;
    let m = w.t.mail(&email, "notification").await;
    assert!(m.text.contains("по договору № ЛД-7"), "{}", m.text);
}

#[tokio::test]
async fn a_subscription_to_another_company_is_refused_and_a_dropped_one_resumes_without_loss() {
    let w = World::new().await;
    let base = w.t.serve_http().await;
    let other =
        w.t.company(&w.admin, company_input("7736207543", "773601001"))
            .await;
    // Another company: an error, no data, for each subscription.
    let mut ws = Subscriptions::connect(&base, Some(&w.client))
        .await
        .unwrap();
    for (id, q) in [
        ("a", ADDED),
        (
            "b",
            "subscription($c: UUID!) { requestUpdated(companyId: $c) { requestId } }",
        ),
        (
            "c",
            "subscription($c: UUID!) { debtChanged(companyId: $c) { debt { total } } }",
        ),
    ] {
        ws.subscribe(id, q, json!({ "c": other })).await;
        let mut m = ws.next().await;
        while m["type"] == "complete" {
            m = ws.next().await;
        }
        assert_eq!(m["id"], id, "{m}");
        let errors = if m["type"] == "error" {
            m["payload"].clone()
        } else {
            m["payload"]["errors"].clone()
        };
        assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN", "{m}");
        assert!(
            m["payload"]["data"].is_null() || m["payload"]["data"][id].is_null(),
            "{m}"
        );
    }
    // No token or a wrong one: the connection is refused.
    assert!(Subscriptions::connect(&base, None).await.is_err());
    assert!(Subscriptions::connect(&base, Some("not-a-token"))
        .await
        .is_err());

    // Requests: a live update, then the connection drops; what happened meanwhile comes on resume.
    w.t.subscribe(&mut ws,
        "r",
        "subscription($c: UUID!, $a: Position) { requestUpdated(companyId: $c, after: $a) { position requestId request { status } } }",
        // From the start of the log (the company has no request yet), so the subscription's own start cannot
        // race the submission.
        json!({ "c": w.company, "a": w.t.first_position(&w.admin).await }),
    )
    .await;
    let request = w
        .submit(json!({"consultation": {"subject": "Выкуп", "text": "Как выкупить?"}}))
        .await;
    let got = ws.collect_until("r", |g| !g.is_empty()).await;
    assert_eq!(got[0]["requestUpdated"]["request"]["status"], "SUBMITTED");
    let seen_request = got[0]["requestUpdated"]["position"].clone();
    drop(ws);
    // While nobody listens: review, a question and a payment.
    w.step(
        &w.admin,
        "takeRequestIntoReview(input: { requestId: $r })",
        request,
    )
    .await;
    w.step(
        &w.admin,
        "askForInformation(input: { requestId: $r, question: \"Дата?\" })",
        request,
    )
    .await;
    let mut ws = Subscriptions::connect(&base, Some(&w.client))
        .await
        .unwrap();
    w.t.subscribe(&mut ws,
        "r",
        "subscription($c: UUID!, $a: Position) { requestUpdated(companyId: $c, after: $a) { requestId request { status } } }",
        json!({ "c": w.company, "a": seen_request }),
    )
    .await;
    let got = ws.collect_until("r", |g| !g.is_empty()).await;
    assert_eq!(
        got[0]["requestUpdated"],
        json!({"requestId": request.to_string(), "request": {"status": "NEEDS_INFORMATION"}})
    );
    // Notifications missed while away: everything after the last one seen, in order, once.
    let all = w.list(&w.client, Some(w.company), false).await;
    let oldest_first: Vec<&Value> = all.iter().rev().collect();
    let first_seen = oldest_first[0]["position"].as_str().unwrap();
    w.t.subscribe(
        &mut ws,
        "n",
        ADDED,
        json!({ "c": w.company, "a": first_seen }),
    )
    .await;
    let got = ws
        .collect_until("n", |g| g.len() >= oldest_first.len() - 1)
        .await;
    let ids: Vec<&Value> = got.iter().map(|d| &d["notificationAdded"]["id"]).collect();
    let expected: Vec<&Value> = oldest_first[1..].iter().map(|n| &n["id"]).collect();
    assert_eq!(ids, expected);
    // Debt: a payment changes it, and the subscriber gets the new figure, as `debt` tells it.
    const DEBT: &str = "leasingDue credit total nextPayment { date amount }";
    w.t.subscribe(&mut ws,
        "d",
        &format!(
            "subscription($c: UUID!, $a: Position) {{ debtChanged(companyId: $c, after: $a) {{ debt {{ {DEBT} }} }} }}"
        ),
        json!({ "c": w.company, "a": w.t.first_position(&w.admin).await }),
    )
    .await;
    let before = w
        .ok(
            &w.client,
            &format!("query($c: UUID!) {{ debt(companyId: $c) {{ {DEBT} }} }}"),
            json!({ "c": w.company }),
        )
        .await;
    w.ok(
        &w.admin,
        "mutation($c: UUID!) { recordPayment(input: {contractId: $c, amount: \"500\", date: \"2026-02-20\", \
           bankReference: \"п/п 43\", purpose: LEASING_PAYMENT}) { position } }",
        json!({ "c": w.contract }),
    )
    .await;
    let after = w
        .ok(
            &w.client,
            &format!("query($c: UUID!) {{ debt(companyId: $c) {{ {DEBT} }} }}"),
            json!({ "c": w.company }),
        )
        .await;
    assert_ne!(before, after);
    // With `after`, the debt as it was when the subscription started comes first; then the new one.
    let got = ws
        .collect_until("d", |g| {
            g.last()
                .is_some_and(|d| d["debtChanged"]["debt"] == after["debt"])
        })
        .await;
    assert!(got.len() <= 2, "{got:?}");
}

#[tokio::test]
async fn admin_publishes_edits_and_unpublishes_news_and_the_faq_is_searched_in_russian() {
    let w = World::new().await;
    let other =
        w.t.company(&w.admin, company_input("7736207543", "773601001"))
            .await;
    let stranger = w.t.sign_in(Role::Client, &[other]).await;
    // Targeted news reaches only its company, as news and as a notification.
    let d = w
        .ok(
            &w.admin,
            "mutation($c: UUID!) { publishNews(input: {title: \"Изменение реквизитов\", text: \"С 1 апреля — новый счёт.\", \
               date: \"2026-03-20\", companies: [$c]}) { news { id companies published } } }",
            json!({ "c": w.company }),
        )
        .await;
    let news = d["publishNews"]["news"]["id"].clone();
    let titles = |token: String| {
        let t = &w.t;
        async move {
            let r = t
                .gql(
                    Some(&token),
                    "{ news(first: 10) { edges { node { title companies } } } }",
                    json!({}),
                )
                .await;
            r["data"]["news"]["edges"]
                .as_array()
                .unwrap_or_else(|| panic!("{r}"))
                .iter()
                .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
                .collect::<Vec<String>>()
        }
    };
    assert_eq!(titles(w.client.clone()).await, vec!["Изменение реквизитов"]);
    assert!(titles(stranger.clone()).await.is_empty());
    assert_eq!(
        kinds(&w.list(&stranger, None, false).await),
        BTreeSet::new()
    );
    // Edited: the notification follows the new title.
    w.ok(
        &w.admin,
        "mutation($id: UUID!, $c: UUID!) { editNews(input: {id: $id, title: \"Новые реквизиты\", text: \"С 1 апреля.\", \
           date: \"2026-03-20\", companies: [$c]}) { news { id } } }",
        json!({ "id": news, "c": w.company }),
    )
    .await;
    let mine = w.list(&w.client, Some(w.company), false).await;
    assert_eq!(of_kind(&mine, "NEWS_PUBLISHED")["title"], "Новые реквизиты");
    // Unpublished: gone from news and from notifications.
    w.ok(
        &w.admin,
        "mutation($id: UUID!) { unpublishNews(input: { id: $id }) { news { published } } }",
        json!({ "id": news }),
    )
    .await;
    assert!(titles(w.client.clone()).await.is_empty());
    assert!(!kinds(&w.list(&w.client, Some(w.company), false).await).contains("NEWS_PUBLISHED"));
    // Bad input names the field and stores nothing.
    let events = w.t.event_count().await;
    let r = w
        .t
        .gql(
            Some(&w.admin),
            "mutation { publishNews(input: {title: \" \", text: \"x\", date: \"2026-03-20\"}) { news { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".into(), Some("input.title".into())),
        "{r}"
    );
    let r = w
        .t
        .gql(
            Some(&w.admin),
            "mutation($c: UUID!) { publishNews(input: {title: \"x\", text: \"x\", date: \"2026-03-20\", companies: [$c]}) { news { id } } }",
            json!({ "c": Uuid::new_v4() }),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".into(), Some("input.companies".into())),
        "{r}"
    );
    let r = w
        .t
        .gql(
            Some(&w.client),
            "mutation { publishNews(input: {title: \"x\", text: \"x\", date: \"2026-03-20\"}) { news { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(error(&r).0, "FORBIDDEN", "{r}");
    assert_eq!(w.t.event_count().await, events);

    // FAQ: word forms match (russian stemming), sections order the full list.
    for (q, a, s, o) in [
        (
            "Как оплатить лизинговый платёж?",
            "Платёжным поручением по реквизитам из счёта.",
            "Оплата",
            1,
        ),
        (
            "Где взять акт сверки?",
            "Закажите акт сверки в разделе «Документы».",
            "Документы",
            1,
        ),
        (
            "Можно ли выкупить автомобиль досрочно?",
            "Да, подайте заявку на досрочный выкуп.",
            "Выкуп",
            1,
        ),
    ] {
        w.ok(
            &w.admin,
            "mutation($i: FaqInput!) { addFaqEntry(input: $i) { faqEntry { id } } }",
            json!({"i": {"question": q, "answer": a, "section": s, "order": o}}),
        )
        .await;
    }
    let faq = |search: Option<&str>| {
        let t = &w.t;
        let client = w.client.clone();
        let search = search.map(str::to_owned);
        async move {
            let r = t
                .gql(
                    Some(&client),
                    "query($s: String) { faq(search: $s) { totalCount nodes { question section } } }",
                    json!({ "s": search }),
                )
                .await;
            r["data"]["faq"]["nodes"]
                .as_array()
                .unwrap_or_else(|| panic!("{r}"))
                .iter()
                .map(|e| e["section"].as_str().unwrap().to_owned())
                .collect::<Vec<String>>()
        }
    };
    assert_eq!(faq(None).await, vec!["Выкуп", "Документы", "Оплата"]);
    assert_eq!(faq(Some("платежи")).await, vec!["Оплата"]);
    assert_eq!(faq(Some("выкупа автомобиля")).await, vec!["Выкуп"]);
    assert_eq!(faq(Some("сверка")).await, vec!["Документы"]);
    assert!(faq(Some("страховка")).await.is_empty());
    w.t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn the_position_a_mutation_returns_resumes_every_subscription() {
    // One position format everywhere: a mutation's `position` is what `after` takes, and resuming after it
    // delivers the mutation's own notification (an event comes before its notifications) and then what
    // came later, nothing earlier.
    let w = World::new().await;
    let base = w.t.serve_http().await;
    w.advance_to("2026-03-12").await;
    let pay = |amount: &'static str, reference: &'static str| {
        w.ok(
            &w.admin,
            "mutation($c: UUID!, $a: Decimal!, $r: String!) { recordPayment(input: {contractId: $c, \
               amount: $a, date: \"2026-03-12\", bankReference: $r, purpose: LEASING_PAYMENT}) { position } }",
            json!({ "c": w.contract, "a": amount, "r": reference }),
        )
    };
    let first = pay("1000", "п/п 51").await["recordPayment"]["position"].clone();
    assert!(first.is_string(), "{first}");
    pay("2000", "п/п 52").await;
    let mut ws = Subscriptions::connect(&base, Some(&w.client))
        .await
        .unwrap();
    w.t.subscribe(&mut ws, "n", ADDED, json!({ "c": w.company, "a": first }))
        .await;
    let got = ws.collect_until("n", |g| g.len() >= 2).await;
    let kinds: Vec<&str> = got
        .iter()
        .map(|d| d["notificationAdded"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["PAYMENT_RECEIVED", "PAYMENT_RECEIVED"], "{got:?}");
    // The notification's own position resumes after it: only the second payment's.
    w.t.subscribe(
        &mut ws,
        "m",
        ADDED,
        json!({ "c": w.company, "a": got[0]["notificationAdded"]["position"] }),
    )
    .await;
    let again = ws.collect_until("m", |g| !g.is_empty()).await;
    assert_eq!(
        again[0]["notificationAdded"]["id"],
        got[1]["notificationAdded"]["id"]
    );
    // The debt feed takes the same position.
    w.t.subscribe(&mut ws,
        "d",
        "subscription($c: UUID!, $a: Position) { debtChanged(companyId: $c, after: $a) { position debt { credit } } }",
        json!({ "c": w.company, "a": first }),
    )
    .await;
    let debt = ws.collect_until("d", |g| !g.is_empty()).await;
    assert!(debt[0]["debtChanged"]["position"].is_string(), "{debt:?}");
    // A position this API never gave is refused naming the type.
    ws.subscribe("x", ADDED, json!({ "c": w.company, "a": "1.2.3" }))
        .await;
    let m = ws.next().await;
    assert!(
        m["payload"]["errors"][0]["message"]
            .as_str()
            .is_some_and(|s| s.contains("Position")),
        "{m}"
    );
}

#[tokio::test]
async fn a_subscription_without_a_position_starts_after_what_was_committed_before_it() {
    // The live feed reads one coalescing window after a commit's NOTIFY; a subscription taken inside that
    // window started at the feed's position and so began with notifications committed before it (the
    // day's PAYMENT_DUE_TODAY reached a subscription opened after the day was closed). "From now" is now
    // the log as committed when the subscription starts, for every subscription over the live feed.
    let w = World::new().await;
    let base = w.t.serve_http().await;
    w.advance_to("2026-03-12").await;
    let pay = |reference: &'static str| {
        w.ok(
            &w.admin,
            "mutation($c: UUID!, $r: String!) { recordPayment(input: {contractId: $c, amount: \"1000\", \
               date: \"2026-03-12\", bankReference: $r, purpose: LEASING_PAYMENT}) { position } }",
            json!({ "c": w.contract, "r": reference }),
        )
    };
    let q = "subscription($c: UUID) { notificationAdded(companyId: $c) { kind params { bankReference } } }";
    for round in 0..3 {
        let before = format!("п/п 8{round}0").leak();
        let after = format!("п/п 8{round}1").leak();
        // Connected before the commit, subscribed at once after it: with and without a company.
        let mut one = Subscriptions::connect(&base, Some(&w.client))
            .await
            .unwrap();
        let mut all = Subscriptions::connect(&base, Some(&w.client))
            .await
            .unwrap();
        pay(before).await;
        w.t.subscribe(&mut one, "n", q, json!({ "c": w.company }))
            .await;
        w.t.subscribe(&mut all, "n", q, json!({ "c": null })).await;
        pay(after).await;
        for (name, ws) in [("one", &mut one), ("all", &mut all)] {
            let got = ws.collect_until("n", |g| !g.is_empty()).await;
            assert_eq!(
                got[0]["notificationAdded"]["params"]["bankReference"], *after,
                "round {round}: the subscription {name} began with a notification committed before it: {got:?}"
            );
        }
    }
}

#[tokio::test]
async fn what_is_committed_while_a_subscription_waits_for_the_feed_is_not_skipped() {
    // A subscription "from now" waits until the feed has passed the log's head as it was when the
    // subscription began. The feed, once it moves, may have read past commits made during that wait; the
    // subscription started at the feed's new position then and never saw them (a CI run lost a payment's
    // notification so). It starts at the head it read instead.
    let w = World::new().await;
    let feed = std::sync::Arc::new(api::app::live::LiveFeed::new(w.t.pool.clone()));
    // Not running yet: the subscription reads the head and waits for the feed to start.
    let waiting = tokio::spawn({
        let feed = feed.clone();
        async move { feed.subscribe().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "the subscription waits for the feed"
    );
    w.ok(
        &w.admin,
        "mutation($c: UUID!) { recordPayment(input: {contractId: $c, amount: \"1000\", \
           date: \"2026-03-02\", bankReference: \"п/п 90\", purpose: LEASING_PAYMENT}) { position } }",
        json!({ "c": w.contract }),
    )
    .await;
    let paid: i64 = sqlx::query_scalar(
        "SELECT max(position) FROM events WHERE aggregate_type = 'Contract' AND event_type = 'PaymentRecorded'",
    )
    .fetch_one(&w.t.pool)
    .await
    .unwrap();
    // The feed starts at the head, which is past the payment.
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(feed.clone().run(stop));
    let (_rx, from) = tokio::time::timeout(std::time::Duration::from_secs(30), waiting)
        .await
        .expect("the subscription starts once the feed runs")
        .unwrap();
    assert!(
        from.position < paid,
        "the subscription starts before the payment committed while it waited ({from:?}, payment at {paid})"
    );
    stop_tx.send(true).unwrap();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn without_a_company_a_subscription_follows_every_company_the_caller_sees_and_no_other() {
    let w = World::new().await;
    let base = w.t.serve_http().await;
    w.advance_to("2026-03-12").await;
    let mut ws = Subscriptions::connect(&base, Some(&w.client))
        .await
        .unwrap();
    w.t.subscribe(
        &mut ws,
        "all",
        "subscription { notificationAdded { kind companyId } }",
        json!({}),
    )
    .await;
    // Another company's contract and payment: nothing of it reaches this client.
    let other =
        w.t.company(&w.admin, company_input("7712345671", "773601001"))
            .await;
    let theirs = conclude(&w.t, &w.admin, other, "ЛД-Чужой", "other@example.ru").await;
    let pay = |contract: Uuid, reference: &'static str| {
        w.ok(
            &w.admin,
            "mutation($c: UUID!, $r: String!) { recordPayment(input: {contractId: $c, amount: \"1000\", \
               date: \"2026-03-12\", bankReference: $r, purpose: LEASING_PAYMENT}) { position } }",
            json!({ "c": contract, "r": reference }),
        )
    };
    pay(theirs, "п/п 61").await;
    pay(w.contract, "п/п 62").await;
    let got = ws.collect_until("all", |g| !g.is_empty()).await;
    assert_eq!(
        got[0]["notificationAdded"],
        json!({"kind": "PAYMENT_RECEIVED", "companyId": w.company.to_string()}),
        "the first to arrive is this company's payment, not the other's contract or payment: {got:?}"
    );
    // Requests the same way: a client without companyId gets its own company's, staff every company's.
    let mut mine = Subscriptions::connect(&base, Some(&w.client))
        .await
        .unwrap();
    let mut staff = Subscriptions::connect(&base, Some(&w.admin)).await.unwrap();
    let q = "subscription { requestUpdated { requestId request { companyId } } }";
    w.t.subscribe(&mut mine, "r", q, json!({})).await;
    w.t.subscribe(&mut staff, "r", q, json!({})).await;
    let file = |company: Uuid| {
        w.ok(
            &w.admin,
            "mutation($c: UUID!) { submitRequest(input: {companyId: $c, details: {consultation: {subject: \"Вопрос\", text: \"Текст\"}}}) { request { id } } }",
            json!({ "c": company }),
        )
    };
    file(other).await;
    file(w.company).await;
    let got = mine.collect_until("r", |g| !g.is_empty()).await;
    assert_eq!(
        got[0]["requestUpdated"]["request"]["companyId"],
        w.company.to_string(),
        "the client's first update is its own company's request: {got:?}"
    );
    let got = staff.collect_until("r", |g| g.len() >= 2).await;
    let companies: BTreeSet<String> = got
        .iter()
        .map(|g| {
            g["requestUpdated"]["request"]["companyId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        companies,
        BTreeSet::from([other.to_string(), w.company.to_string()])
    );
}

#[tokio::test]
async fn the_unread_count_streams_when_notifications_arrive_and_when_another_device_reads_them() {
    let w = World::new().await;
    let base = w.t.serve_http().await;
    w.advance_to("2026-03-12").await;
    let mut phone = Subscriptions::connect(&base, Some(&w.client))
        .await
        .unwrap();
    w.t.subscribe(
        &mut phone,
        "u",
        "subscription($c: UUID!) { unreadNotificationCount(companyId: $c) }",
        json!({ "c": w.company }),
    )
    .await;
    let now = w.unread(&w.client, Some(w.company)).await;
    let first = phone.collect_until("u", |g| !g.is_empty()).await;
    assert_eq!(
        first[0]["unreadNotificationCount"], now,
        "the count now comes first"
    );
    w.ok(
        &w.admin,
        "mutation($c: UUID!) { recordPayment(input: {contractId: $c, amount: \"1000\", date: \"2026-03-12\", \
           bankReference: \"п/п 71\", purpose: LEASING_PAYMENT}) { position } }",
        json!({ "c": w.contract }),
    )
    .await;
    let more = phone.collect_until("u", |g| !g.is_empty()).await;
    assert_eq!(more[0]["unreadNotificationCount"], now + 1, "{more:?}");
    // Read on another device (an HTTP call with the same session): the phone hears of it.
    w.ok(
        &w.client,
        "mutation($c: UUID!) { markAllNotificationsRead(input: { companyId: $c }) { marked unread } }",
        json!({ "c": w.company }),
    )
    .await;
    let read = phone.collect_until("u", |g| !g.is_empty()).await;
    assert_eq!(read[0]["unreadNotificationCount"], 0, "{read:?}");
}
