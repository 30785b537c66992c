//! Auditors: entities as of any instant, the event log by filters, the story of one correlation id.

use crate::common::{company_input, conclude, error, TestApp};
use api::auth::Role;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

const COMPANY: &str = "query($id: UUID!, $at: DateTime) { company(id: $id, asOf: $at) { inn shortName legalAddress } }";
const CONTRACT: &str = "query($id: UUID!, $at: DateTime) { contract(id: $id, asOf: $at) { \
    status activatedOn position nextPayment { date amount } \
    schedule { number status paid penalty daysOverdue deadline } penalties { line through days amount } \
    payments { bankReference amount allocations { kind line amount } } fines { resolutionNumber amount paid } \
    debt { leasingDue overdue penalties fines insurance credit total } } }";
const DEBT: &str = "query($id: UUID!, $at: DateTime) { debt(companyId: $id, asOf: $at) { \
    asOf leasingDue overdue penalties fines insurance credit total nextPayment { date amount } \
    contracts { number overdue penalties total } } }";
const POLICY: &str = "query($id: UUID!, $at: DateTime) { policy(id: $id, asOf: $at) { \
    status premiumPaid insuranceDebt installments { number amount paid rebilled cancelled } } }";
const REQUEST: &str = "query($id: UUID!, $at: DateTime) { request(id: $id, asOf: $at) { \
    status overdue dueOn closedAt history { nodes { change status } } } }";

async fn db_now(t: &TestApp) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(&t.pool)
        .await
        .unwrap()
}

fn ok<'a>(r: &'a Value, field: &str) -> &'a Value {
    assert!(r["errors"].is_null(), "{field}: {r}");
    &r["data"][field]
}

/// What the cabinet showed live right after one step of the script.
struct Seen {
    step: &'static str,
    at: DateTime<Utc>,
    answers: Vec<(&'static str, &'static str, Uuid, Value)>,
}

#[tokio::test]
async fn every_entity_as_of_an_instant_is_what_the_cabinet_showed_then() {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let auditor = t.sign_in(Role::Auditor, &[]).await;
    let before_anything = db_now(&t).await;

    // The script; after each step, record the instant and what the live queries answer.
    let mut seen: Vec<Seen> = Vec::new();
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let mut ids: Vec<(&'static str, &'static str, Uuid)> = vec![("company", COMPANY, company)];
    let snapshot = |step: &'static str, ids: Vec<(&'static str, &'static str, Uuid)>| {
        let t = &t;
        let admin = admin.clone();
        async move {
            let mut answers = Vec::new();
            for (field, q, id) in ids {
                let r = t.gql(Some(&admin), q, json!({"id": id, "at": null})).await;
                answers.push((field, q, id, ok(&r, field).clone()));
            }
            let r = t
                .gql(Some(&admin), DEBT, json!({"id": company, "at": null}))
                .await;
            answers.push(("debt", DEBT, company, ok(&r, "debt").clone()));
            Seen {
                step,
                at: db_now(t).await,
                answers,
            }
        }
    };
    seen.push(snapshot("company registered", ids.clone()).await);

    let contract = conclude(&t, &admin, company, "АУД-1", "lessee@romashka.ru").await;
    ids.push(("contract", CONTRACT, contract));
    seen.push(snapshot("contract concluded", ids.clone()).await);

    let r = t
        .gql(
            Some(&admin),
            "mutation($c: UUID!) { activateContract(input: {contractId: $c, date: \"2026-02-02\"}) { position } }",
            json!({"c": contract}),
        )
        .await;
    ok(&r, "activateContract");
    seen.push(snapshot("contract activated", ids.clone()).await);

    let r = t
        .gql(
            Some(&admin),
            "mutation($c: UUID!) { issuePolicy(input: {contractId: $c, insurer: \"ВСК\", kind: KASKO, number: \"КАСКО-1\", \
               startsOn: \"2026-03-01\", endsOn: \"2027-02-28\", sumInsured: \"300000\", premium: \"12000\", payer: LESSOR}) { policy { id } } }",
            json!({"c": contract}),
        )
        .await;
    let policy: Uuid = ok(&r, "issuePolicy")["policy"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    ids.push(("policy", POLICY, policy));
    seen.push(snapshot("policy issued", ids.clone()).await);

    // The line (due 2026-03-10) goes overdue and penalties accrue; the premium is re-billed.
    t.advance_clock(&admin, "2026-03-13").await;
    seen.push(snapshot("days to 2026-03-13 closed", ids.clone()).await);

    let r = t
        .gql(
            Some(&admin),
            "mutation($c: UUID!) { recordPayment(input: {contractId: $c, amount: \"100000\", date: \"2026-03-12\", \
               bankReference: \"п/п 17\", purpose: LEASING_PAYMENT}) { position } }",
            json!({"c": contract}),
        )
        .await;
    ok(&r, "recordPayment");
    seen.push(snapshot("partial payment", ids.clone()).await);

    let r = t
        .gql(
            Some(&admin),
            "mutation($c: UUID!) { registerTrafficFine(input: {contractId: $c, resolutionNumber: \"18810177260303000009\", \
               date: \"2026-03-05\", amount: \"500\", vehicle: \"А001АА77\", description: \"скорость\"}) { position } }",
            json!({"c": contract}),
        )
        .await;
    ok(&r, "registerTrafficFine");
    seen.push(snapshot("fine re-billed", ids.clone()).await);

    let r = t
        .gql(
            Some(&admin),
            "mutation($c: UUID!) { changeCompanyRequisites(input: {companyId: $c, shortName: \"ООО «Ромашка-2»\"}) { position } }",
            json!({"c": company}),
        )
        .await;
    ok(&r, "changeCompanyRequisites");
    seen.push(snapshot("company renamed", ids.clone()).await);

    let r = t
        .gql(
            Some(&admin),
            "mutation($c: UUID!) { submitRequest(input: {companyId: $c, details: {complaint: {subject: \"Счёт\", text: \"Ошибка\"}}}) { request { id } } }",
            json!({"c": company}),
        )
        .await;
    let request: Uuid = ok(&r, "submitRequest")["request"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    ids.push(("request", REQUEST, request));
    seen.push(snapshot("request submitted", ids.clone()).await);
    for m in [
        "mutation($r: UUID!) { takeRequestIntoReview(input: { requestId: $r }) { request { status } } }",
        "mutation($r: UUID!) { completeRequest(input: {requestId: $r, note: \"Исправлено\"}) { request { status } } }",
    ] {
        let r = t.gql(Some(&admin), m, json!({"r": request})).await;
        assert!(r["errors"].is_null(), "{r}");
        seen.push(snapshot("request step", ids.clone()).await);
    }

    // Every instant: the reconstruction equals what was seen live then (so a change is visible after its
    // instant and not before it).
    for s in &seen {
        for (field, q, id, live) in &s.answers {
            let r = t
                .gql(
                    Some(&auditor),
                    q,
                    json!({"id": id, "at": s.at.to_rfc3339()}),
                )
                .await;
            assert_eq!(ok(&r, field), live, "{field} as of '{}' ({})", s.step, s.at);
        }
    }
    // The answers did change along the way (the comparison above is not of equal things).
    let contracts: Vec<&Value> = seen
        .iter()
        .flat_map(|s| s.answers.iter())
        .filter(|a| a.0 == "contract")
        .map(|a| &a.3)
        .collect();
    assert_eq!(contracts.first().unwrap()["status"], "CONCLUDED");
    assert_eq!(contracts[1]["status"], "ACTIVE");
    assert_ne!(
        contracts[2]["debt"], contracts[3]["debt"],
        "days changed the debt"
    );
    assert_ne!(contracts[3]["payments"], contracts[4]["payments"]);

    // Before anything existed: no company, no contract, no debt.
    let at = before_anything.to_rfc3339();
    let r = t
        .gql(Some(&auditor), COMPANY, json!({"id": company, "at": at}))
        .await;
    assert!(ok(&r, "company").is_null(), "{r}");
    let r = t
        .gql(Some(&auditor), CONTRACT, json!({"id": contract, "at": at}))
        .await;
    assert!(ok(&r, "contract").is_null(), "{r}");
    let r = t
        .gql(Some(&auditor), DEBT, json!({"id": company, "at": at}))
        .await;
    assert_eq!(ok(&r, "debt")["total"], "0.00", "{r}");
    assert_eq!(ok(&r, "debt")["contracts"], json!([]), "{r}");

    // An instant in the future is refused by field; a client may not reconstruct history.
    let r = t
        .gql(
            Some(&auditor),
            CONTRACT,
            json!({"id": contract, "at": (Utc::now() + chrono::Duration::days(1)).to_rfc3339()}),
        )
        .await;
    assert_eq!(error(&r), ("VALIDATION".into(), Some("asOf".into())));
    let client = t.sign_in(Role::Client, &[company]).await;
    let r = t
        .gql(
            Some(&client),
            CONTRACT,
            json!({"id": contract, "at": seen[3].at.to_rfc3339()}),
        )
        .await;
    assert_eq!(error(&r).0, "FORBIDDEN");
}

#[tokio::test]
async fn one_payment_is_one_story_from_the_payment_to_the_mail() {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let auditor = t.sign_in(Role::Auditor, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let client = t
        .provisioned_client(
            &admin,
            company,
            "ИСТ-1",
            "payer@romashka.ru",
            "a-strong-password-1",
        )
        .await;
    let contract: Uuid =
        sqlx::query_scalar("SELECT contract_id FROM contracts_view WHERE number = 'ИСТ-1'")
            .fetch_one(&t.pool)
            .await
            .unwrap();
    let r = t
        .gql(
            Some(&client),
            "mutation { setNotificationPreferences(input: { preferences: [{kind: PAYMENT_RECEIVED, email: true}] }) { preferences { kind } } }",
            json!({}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    t.gql(
        Some(&admin),
        "mutation($c: UUID!) { activateContract(input: {contractId: $c, date: \"2026-02-02\"}) { position } }",
        json!({"c": contract}),
    )
    .await;
    // Overdue since 2026-03-10; penalties accrued through 2026-03-20.
    t.advance_clock(&admin, "2026-03-20").await;

    // The payment, dated the 12th, lowers the penalty accrued through the 20th: one command, two events.
    let r = t
        .gql(
            Some(&admin),
            "mutation($c: UUID!) { recordPayment(input: {contractId: $c, amount: \"300000\", date: \"2026-03-12\", \
               bankReference: \"п/п 88\", purpose: LEASING_PAYMENT}) { position } }",
            json!({"c": contract}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = t
        .gql(
            Some(&auditor),
            "query($c: String!) { events(filter: {aggregateId: $c, eventTypes: [\"PaymentRecorded\"]}) { edges { node { position metadata { correlationId actor { logName } } } } } }",
            json!({"c": contract.to_string()}),
        )
        .await;
    let payment = &ok(&r, "events")["edges"][0]["node"];
    let correlation = payment["metadata"]["correlationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let payment_position = payment["position"].clone();
    // Earlier notifications (the overdue line) were mailed too: wait for this story's own mail to be sent.
    crate::common::eventually("the payment's notification mail sent", || async {
        let sent: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE correlation_id = $1 AND sent_at IS NOT NULL",
        )
        .bind(&correlation)
        .fetch_one(&t.pool)
        .await
        .unwrap();
        if sent > 0 {
            Ok(())
        } else {
            Err("not sent yet".to_owned())
        }
    })
    .await;

    let r = t
        .gql(
            Some(&auditor),
            "query($id: String!) { correlation(id: $id) { id truncated \
               events { nodes { position aggregateType aggregateId eventType metadata { correlationId causationId } } } \
               notifications { totalCount nodes { position kind audience } } mails { nodes { template recipient causedBy sentAt } } } }",
            json!({"id": correlation}),
        )
        .await;
    let story = ok(&r, "correlation");
    let events: Vec<&str> = story["events"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["PaymentRecorded", "PenaltyAccrued"], "{story}");
    assert!(story["events"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["metadata"]["correlationId"] == correlation.as_str()));
    let kinds: Vec<&str> = story["notifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"PAYMENT_RECEIVED"), "{story}");
    assert!(story["notifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["position"] == payment_position));
    let mails = story["mails"]["nodes"].as_array().unwrap();
    assert_eq!(mails.len(), 1, "{story}");
    assert_eq!(mails[0]["template"], "notification");
    assert_eq!(mails[0]["recipient"], "payer@romashka.ru");
    assert_eq!(mails[0]["causedBy"], payment_position);
    assert!(mails[0]["sentAt"].is_string());
    assert_eq!(story["truncated"], false);

    // Another story does not leak into this one: the business day has its own.
    let r = t
        .gql(
            Some(&auditor),
            "{ correlation(id: \"business-day:2026-03-20\") { events { nodes { eventType } } mails { nodes { template } } } }",
            json!({}),
        )
        .await;
    let day = ok(&r, "correlation");
    assert!(day["events"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["eventType"] != "PaymentRecorded"));
    // Auditors and admins only.
    let r = t
        .gql(
            Some(&client),
            "query($id: String!) { correlation(id: $id) { id } }",
            json!({"id": correlation}),
        )
        .await;
    assert_eq!(error(&r).0, "FORBIDDEN");
}

const EVENTS: &str = "query($f: EventFilterInput, $first: Int, $after: String) { events(filter: $f, first: $first, after: $after) { \
    pageInfo { hasNextPage } edges { cursor node { position aggregateType aggregateId sequence eventType eventVersion \
    storedVersion upcast recordedAt metadata { actor { logName } correlationId } payload } } } }";

fn nodes(r: &Value) -> Vec<Value> {
    ok(r, "events")["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn auditors_filter_the_log_by_every_field_and_see_upcast_payloads_with_their_stored_version()
{
    let t = TestApp::spawn().await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let auditor = t.sign_in(Role::Auditor, &[]).await;
    let a = t
        .company(&manager, company_input("7707083893", "773601001"))
        .await;
    let start_b = db_now(&t).await;
    let b = t
        .company(&manager, company_input("7728168971", "772801001"))
        .await;
    let contract = conclude(&t, &manager, b, "ФИЛЬТР-1", "x@romashka.ru").await;
    let end_b = db_now(&t).await;
    t.gql(
        Some(&manager),
        "mutation($c: UUID!) { changeCompanyRequisites(input: {companyId: $c, shortName: \"Новое имя\"}) { position } }",
        json!({"c": a}),
    )
    .await;
    let q = |f: Value| {
        let t = &t;
        let auditor = auditor.clone();
        async move {
            nodes(
                &t.gql(Some(&auditor), EVENTS, json!({"f": f, "first": 100}))
                    .await,
            )
        }
    };

    let all = q(json!(null)).await;
    assert!(all.len() >= 4);
    // In the log's order: each event is the only one from its position to itself.
    for e in all.iter().take(6) {
        let at = q(json!({"positionFrom": e["position"], "positionTo": e["position"]})).await;
        assert_eq!(at, vec![e.clone()]);
    }
    let from_second = q(json!({"positionFrom": all[1]["position"]})).await;
    assert_eq!(from_second, all[1..]);

    // By aggregate; by type; by company (its contracts too); by time; by position.
    let of_a = q(json!({"aggregateType": "Company", "aggregateId": a.to_string()})).await;
    assert_eq!(
        of_a.iter()
            .map(|e| e["sequence"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2]
    );
    let renames = q(json!({"eventTypes": ["CompanyRequisitesChanged"]})).await;
    assert_eq!(renames.len(), 1);
    assert_eq!(renames[0]["aggregateId"], a.to_string());
    let of_b = q(json!({"companyId": b})).await;
    let types: Vec<(&str, &str)> = of_b
        .iter()
        .map(|e| {
            (
                e["aggregateType"].as_str().unwrap(),
                e["eventType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("Company", "CompanyRegistered"),
            ("Contract", "ContractConcluded")
        ]
    );
    let window =
        q(json!({"recordedFrom": start_b.to_rfc3339(), "recordedTo": end_b.to_rfc3339()})).await;
    assert_eq!(
        window, of_b,
        "B's registration and contract are exactly what was recorded in the window"
    );
    let p = of_b[1]["position"].clone();
    let at = q(json!({"positionFrom": p, "positionTo": p})).await;
    assert_eq!(at.len(), 1);
    assert_eq!(at[0]["aggregateId"], contract.to_string());
    // By actor and by correlation.
    let actor = of_b[0]["metadata"]["actor"]["logName"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_actor = q(json!({"actor": actor})).await;
    assert_eq!(by_actor.len(), 4, "the manager did four things");
    let corr = of_b[1]["metadata"]["correlationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_corr = q(json!({"correlationId": corr})).await;
    assert_eq!(by_corr.len(), 1);
    assert_eq!(by_corr[0]["eventType"], "ContractConcluded");

    // Paging: one at a time, the cursor continues where the last page ended.
    let r = t
        .gql(
            Some(&auditor),
            EVENTS,
            json!({"f": {"companyId": b}, "first": 1}),
        )
        .await;
    assert_eq!(ok(&r, "events")["pageInfo"]["hasNextPage"], true);
    let cursor = ok(&r, "events")["edges"][0]["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = t
        .gql(
            Some(&auditor),
            EVENTS,
            json!({"f": {"companyId": b}, "first": 1, "after": cursor}),
        )
        .await;
    assert_eq!(nodes(&r), vec![of_b[1].clone()]);

    // Bad filters name their field.
    let r = t
        .gql(
            Some(&auditor),
            EVENTS,
            json!({"f": {"recordedFrom": end_b.to_rfc3339(), "recordedTo": start_b.to_rfc3339()}}),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".into(), Some("filter.recordedTo".into()))
    );
    let r = t
        .gql(
            Some(&auditor),
            EVENTS,
            json!({"f": {"positionFrom": all[2]["position"], "positionTo": all[1]["position"]}}),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".into(), Some("filter.positionTo".into()))
    );
    // A position is the opaque text the API gave, never a number or a made-up string.
    for bad in [json!(5), json!("5"), json!("MTo1OjA6MA")] {
        let r = t
            .gql(Some(&auditor), EVENTS, json!({"f": {"positionFrom": bad}}))
            .await;
        let message = r["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("Position") && r["data"].is_null(),
            "{bad}: {r}"
        );
    }

    // An event stored as version 1 (one `address`) is shown as version 2, naming the stored version.
    let old = Uuid::now_v7();
    let v1 = json!({"CompanyRegistered": {
        "company_id": old, "kind": "LEGAL_ENTITY", "inn": "7736050003", "kpp": "773601001",
        "ogrn": "1027700070518", "full_name": "ООО «Старое»", "short_name": "Старое",
        "address": "Москва, ул. Старая, 1",
        "bank": {"bank_name": "ПАО Сбербанк", "bik": "044525225",
                 "correspondent_account": "30101810400000000225", "settlement_account": "40702810938000012345"},
        "contact_email": "old@example.ru", "contact_phone": "+74951234567"}});
    let mut tx = t.pool.begin().await.unwrap();
    projections::engine::horizon::register_appender(&mut tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('Company', $1, 1, 'CompanyRegistered', '1', $2, '{\"actor\": \"system:migration\"}')",
    )
    .bind(old.to_string())
    .bind(&v1)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // (Its read model row comes from a rebuild, as after any import of old events.)
    projections::engine::runner::rebuild(
        &t.pool,
        &projections::views::companies::CompaniesProjection,
        1000,
    )
    .await
    .unwrap();
    let shown = q(json!({"aggregateId": old.to_string()})).await;
    assert_eq!(shown[0]["storedVersion"], "1");
    assert_eq!(shown[0]["eventVersion"], "2");
    assert_eq!(shown[0]["upcast"], true);
    let body = &shown[0]["payload"]["CompanyRegistered"];
    assert_eq!(body["legal_address"], "Москва, ул. Старая, 1");
    assert_eq!(body["postal_address"], "Москва, ул. Старая, 1");
    assert!(body.get("address").is_none());
    assert_eq!(of_a[0]["upcast"], false);
}
