//! Two real `cabinet serve` processes on one database: a payment recorded through one reaches a subscriber
//! connected to the other, through PostgreSQL `LISTEN/NOTIFY`, within a bounded wait.

mod support;

use std::time::Instant;

use api::auth::{accounts, Role};
use cabinet_tests::Subscriptions;
use domain::values::Email;
use serde_json::{json, Value};

const PASSWORD: &str = "a-long-enough-password";

/// A GraphQL request that must succeed; its data.
async fn gql(url: &str, token: Option<&str>, query: &str, vars: Value) -> Value {
    let r = support::gql(&reqwest::Client::new(), url, token, query, vars).await;
    assert!(r["errors"].is_null(), "{query}: {r}");
    r["data"].clone()
}

async fn login(url: &str, email: &str) -> String {
    let d = gql(
        url,
        None,
        "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token } }",
        json!({"e": email, "p": PASSWORD}),
    )
    .await;
    d["login"]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_payment_recorded_through_one_process_reaches_a_subscriber_of_another() {
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let pool = db.pool(5).await.unwrap();
    let dir = std::env::temp_dir().join(format!("cabinet-live-{}", uuid::Uuid::new_v4().simple()));
    let args = ["--clock", "manual"];
    let a = support::start(&dir.join("a"), &args, Some(&db.url)).await;
    let b = support::start(&dir.join("b"), &args, Some(&db.url)).await;
    let (url_a, url_b) = (a.url.clone(), b.url.clone());

    accounts::create_account(
        &pool,
        &Email::parse("admin@lessor.ru").unwrap(),
        PASSWORD,
        &[Role::Admin],
        false,
    )
    .await
    .unwrap();
    let admin = login(&url_a, "admin@lessor.ru").await;
    let d = gql(
        &url_a,
        Some(&admin),
        "mutation($i: RegisterCompanyInput!) { registerCompany(input: $i) { company { id } } }",
        json!({"i": {"inn": "7707083893", "kpp": "773601001", "ogrn": "1027700132195",
            "fullName": "Общество с ограниченной ответственностью «Ромашка»", "shortName": "ООО «Ромашка»",
            "legalAddress": "117997, Москва, ул. Вавилова, 19",
            "bank": {"bankName": "ПАО Сбербанк", "bik": "044525225",
                     "correspondentAccount": "30101810400000000225", "settlementAccount": "40702810938000012345"},
            "contactEmail": "office@romashka.ru", "contactPhone": "+7 495 500-55-50"}}),
    )
    .await;
    let company: uuid::Uuid = d["registerCompany"]["company"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let d = gql(
        &url_a,
        Some(&admin),
        "mutation($i: ConcludeContractInput!) { concludeContract(input: $i) { contract { id } } }",
        json!({"i": {
            "companyId": company, "number": "ЛД-2П", "date": "2026-02-01", "contactEmail": "buh@romashka.ru",
            "subject": {"kind": "станок", "make": "DMG", "model": "CTX", "year": 2025, "serialNumber": "1"},
            "price": "300000", "advance": {"amount": "0"}, "termMonths": 1, "annualRate": "0",
            "firstDueDate": "2026-03-10", "scheduleKind": "EXPLICIT",
            "lines": [{"dueDate": "2026-03-10", "amount": "300000"}], "redemption": "0",
            "penalty": {"ratePerDay": "0.1", "baseIncludesVat": true, "paymentDayCounts": true}}}),
    )
    .await;
    let contract = d["concludeContract"]["contract"]["id"].clone();
    let client_id = accounts::create_account(
        &pool,
        &Email::parse("director@romashka.ru").unwrap(),
        PASSWORD,
        &[Role::Client],
        false,
    )
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    accounts::link_company(
        &mut conn,
        client_id,
        company,
        api::auth::CompanyRole::Director,
    )
    .await
    .unwrap();
    drop(conn);

    // The client listens on B, from the last notification it has seen (so the subscription's own start
    // cannot race the payment).
    let client = login(&url_b, "director@romashka.ru").await;
    let d = gql(
        &url_b,
        Some(&client),
        "{ notifications(first: 1) { edges { node { kind position } } } }",
        json!({}),
    )
    .await;
    let seen = d["notifications"]["edges"][0]["node"].clone();
    assert_eq!(seen["kind"], "CONTRACT_CONCLUDED", "{seen}");
    let mut ws = Subscriptions::connect(&url_b, Some(&client)).await.unwrap();
    ws.subscribe(
        "n",
        "subscription($c: UUID!, $a: Position) { notificationAdded(companyId: $c, after: $a) { kind text } }",
        json!({ "c": company, "a": seen["position"] }),
    )
    .await;
    ws.subscribe(
        "d",
        "subscription($c: UUID!) { debtChanged(companyId: $c, after: \"MTowOi0x\") { debt { nextPayment { amount } } } }",
        json!({ "c": company }),
    )
    .await;

    // The payment goes through A.
    let sent = Instant::now();
    gql(
        &url_a,
        Some(&admin),
        "mutation($c: UUID!) { recordPayment(input: {contractId: $c, amount: \"1000\", date: \"2026-02-20\", \
           bankReference: \"п/п 7\", purpose: LEASING_PAYMENT}) { position } }",
        json!({ "c": contract }),
    )
    .await;
    let mut notified = None;
    let mut debt = None;
    while notified.is_none() || debt.is_none() {
        let m = ws.next().await;
        assert_eq!(m["type"], "next", "{m}");
        match m["id"].as_str() {
            Some("n") => notified = Some(m["payload"]["data"]["notificationAdded"].clone()),
            // The current debt comes first; then the one after the payment.
            Some("d") => {
                let d = m["payload"]["data"]["debtChanged"].clone();
                if d["debt"]["nextPayment"]["amount"] == "299000.00" {
                    debt = Some(d);
                }
            }
            _ => {}
        }
    }
    let waited = sent.elapsed();
    eprintln!("payment through A seen on B after {waited:?}");
    assert!(waited < cabinet_tests::WAIT);
    let n = notified.unwrap();
    assert_eq!(n["kind"], "PAYMENT_RECEIVED", "{n}");
    assert!(n["text"].as_str().unwrap().contains("1 000,00 ₽"), "{n}");

    support::stop(a).await;
    support::stop(b).await;
    let _ = std::fs::remove_dir_all(&dir);
}
