//! Contracts and schedules from the accounting system end to end (issue 25): a JSON Lines file the test writes
//! itself — a new contract, one for a lessee the cabinet does not know, a malformed line and a repeated one —
//! imported by staff; the same file again changing nothing; a changed schedule replacing the lines not yet
//! due or paid with `ScheduleReplaced`; a change to a paid line refused; each import's story under its
//! correlation id.

use crate::common::{company_input, TestApp};
use api::app::imports::contracts::contract_id;
use api::auth::Role;
use serde_json::{json, Value};

const REPORT: &str =
    "id kind format status lines matched changed duplicates rejected rejections { place field reason }";

async fn import(t: &TestApp, token: &str, bytes: &[u8]) -> Value {
    let r = t
        .gql_upload(
            Some(token),
            &format!(
                "mutation($f: Upload!) {{ importContracts(input: {{file: $f}}) {{ position report {{ {REPORT} }} }} }}"
            ),
            json!({ "f": null }),
            &[("f", "contracts.jsonl", "application/x-ndjson", bytes)],
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"]["importContracts"].clone()
}

fn ok(r: &Value) -> Value {
    assert!(r["errors"].is_null(), "{r}");
    r["data"].clone()
}

/// A contract line of the file with `schedule` (due date, amount) lines.
fn contract(external: &str, inn: &str, schedule: &[(&str, &str)]) -> String {
    let lines: Vec<Value> = schedule
        .iter()
        .map(|(d, a)| json!({"dueDate": d, "amount": a}))
        .collect();
    json!({
        "externalId": external, "number": format!("ЛД-{external}"), "date": "2026-02-01",
        "company": {"inn": inn, "kpp": "773601001"}, "contactEmail": "buh@romashka.ru",
        "subject": {"kind": "легковой автомобиль", "make": "LADA", "model": "Vesta", "year": 2025,
                    "vin": "XTA210990Y2766389", "registrationPlate": "А123ВС77"},
        "price": "900000.00", "redemption": "1000.00", "redemptionKind": "symbolic",
        "penalty": {"ratePerDay": "0.1", "baseIncludesVat": true, "paymentDayCounts": true},
        "schedule": lines, "fineFee": "300.00"
    })
    .to_string()
}

async fn schedule(t: &TestApp, token: &str, id: uuid::Uuid) -> Vec<(i64, String, String)> {
    let r = t
        .gql(
            Some(token),
            "query($c: UUID!) { contract(id: $c) { number schedule { number dueDate amount } } }",
            json!({ "c": id }),
        )
        .await;
    ok(&r)["contract"]["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["number"].as_i64().unwrap(),
                l["dueDate"].as_str().unwrap().to_owned(),
                l["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn story(t: &TestApp, admin: &str, import: &Value) -> Vec<String> {
    let r = t
        .gql(
            Some(admin),
            "query($id: String!) { correlation(id: $id) { events(first: 100) { nodes { eventType } } } }",
            json!({ "id": format!("import:{}", import["report"]["id"].as_str().unwrap()) }),
        )
        .await;
    ok(&r)["correlation"]["events"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["eventType"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn contracts_from_the_accounting_system_are_concluded_once_and_a_changed_schedule_replaces_the_open_lines(
) {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let staff = t.sign_in(Role::Accountant, &[]).await;
    t.advance_clock(&admin, "2026-03-01").await;
    t.company(&admin, company_input("7707083893", "773601001"))
        .await;
    let three = [
        ("2026-03-10", "300000.00"),
        ("2026-04-10", "300000.00"),
        ("2026-05-10", "300000.00"),
    ];
    let file = [
        contract("1C-1", "7707083893", &three),
        // A lessee the cabinet does not know.
        contract("1C-2", "7712345671", &three),
        // No number.
        contract("1C-3", "7707083893", &three).replace("\"number\":\"ЛД-1C-3\",", ""),
        // The first again.
        contract("1C-1", "7707083893", &three),
    ]
    .join("\n");
    let first = import(&t, &staff, file.as_bytes()).await;
    let r = &first["report"];
    assert_eq!(
        (
            &r["kind"],
            &r["format"],
            &r["status"],
            &r["lines"],
            &r["matched"],
            &r["changed"],
            &r["duplicates"],
            &r["rejected"]
        ),
        (
            &json!("CONTRACTS"),
            &json!("jsonl"),
            &json!("DONE"),
            &json!(4),
            &json!(1),
            &json!(0),
            &json!(1),
            &json!(2)
        ),
        "{r}"
    );
    let fields: Vec<(i64, &str)> = r["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["place"].as_i64().unwrap(), x["field"].as_str().unwrap()))
        .collect();
    assert_eq!(fields, vec![(3, "number"), (2, "company")], "{r}");
    let id = contract_id("1C-1");
    assert_eq!(
        schedule(&t, &admin, id).await,
        vec![
            (1, "2026-03-10".into(), "300000.00".into()),
            (2, "2026-04-10".into(), "300000.00".into()),
            (3, "2026-05-10".into(), "300000.00".into()),
            (4, "2026-06-10".into(), "1000.00".into()),
        ]
    );
    assert_eq!(
        story(&t, &admin, &first).await,
        vec!["ContractConcluded", "FineFeeAgreed"]
    );

    // The same file again: nothing new.
    let events = t.event_count().await;
    let again = import(&t, &staff, file.as_bytes()).await;
    let r = &again["report"];
    assert_eq!(
        (
            &r["matched"],
            &r["changed"],
            &r["duplicates"],
            &r["rejected"]
        ),
        (&json!(0), &json!(0), &json!(2), &json!(2)),
        "{r}"
    );
    assert!(again["position"].is_null(), "{again}");
    let after = t.event_count().await;
    assert_eq!(after, events);

    // Line 1 paid; the accounting system spreads the rest over four lines (a supplementary agreement).
    ok(&t
        .gql(
            Some(&admin),
            "mutation($c: UUID!) { recordPayment(input: {contractId: $c, amount: \"300000\", date: \"2026-03-01\", \
               bankReference: \"п/п 1\", purpose: LEASING_PAYMENT}) { position } }",
            json!({ "c": id }),
        )
        .await);
    let spread = contract(
        "1C-1",
        "7707083893",
        &[
            ("2026-03-10", "300000.00"),
            ("2026-04-10", "150000.00"),
            ("2026-05-10", "150000.00"),
            ("2026-06-10", "150000.00"),
            ("2026-07-10", "150000.00"),
        ],
    );
    let changed = import(&t, &staff, spread.as_bytes()).await;
    let r = &changed["report"];
    assert_eq!(
        (
            &r["matched"],
            &r["changed"],
            &r["duplicates"],
            &r["rejected"]
        ),
        (&json!(0), &json!(1), &json!(0), &json!(0)),
        "{r}"
    );
    assert_eq!(
        schedule(&t, &admin, id).await,
        vec![
            (1, "2026-03-10".into(), "300000.00".into()),
            (2, "2026-04-10".into(), "150000.00".into()),
            (3, "2026-05-10".into(), "150000.00".into()),
            (4, "2026-06-10".into(), "150000.00".into()),
            (5, "2026-07-10".into(), "150000.00".into()),
            (6, "2026-08-10".into(), "1000.00".into()),
        ]
    );
    assert_eq!(story(&t, &admin, &changed).await, vec!["ScheduleReplaced"]);
    let source: String = sqlx::query_scalar(
        "SELECT payload -> 'ScheduleReplaced' ->> 'source' FROM events WHERE event_type = 'ScheduleReplaced'",
    )
    .fetch_one(&t.pool)
    .await
    .unwrap();
    assert_eq!(
        source,
        format!("import:{}", changed["report"]["id"].as_str().unwrap())
    );

    // The paid line cannot change: refused, nothing stored.
    let paid_changed = contract(
        "1C-1",
        "7707083893",
        &[("2026-03-10", "250000.00"), ("2026-04-10", "650000.00")],
    );
    let refused = import(&t, &staff, paid_changed.as_bytes()).await;
    let r = &refused["report"];
    assert_eq!(
        (&r["changed"], &r["rejected"], &r["rejections"][0]["field"]),
        (&json!(0), &json!(1), &json!("schedule")),
        "{r}"
    );
    assert_eq!(schedule(&t, &admin, id).await.len(), 6);
    // Not a contracts file.
    let r = t
        .gql_upload(
            Some(&staff),
            "mutation($f: Upload!) { importContracts(input: {file: $f}) { report { id } } }",
            json!({ "f": null }),
            &[("f", "x.csv", "text/csv", b"uin;amount\n")],
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "input.file", "{r}");
}
