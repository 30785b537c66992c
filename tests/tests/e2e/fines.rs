//! The traffic fines register end to end (issue 25): a register the test writes itself — resolutions matched
//! by VIN and by plate (written in Cyrillic, in Latin, with spaces), one under an article without the
//! discount, an ambiguous vehicle, an unknown vehicle, a duplicate, a malformed line and a discount the law
//! does not give — uploaded by staff; the fines re-billed with the discount for paying within twenty days
//! (ч. 1.3 ст. 32.2 КоАП РФ) and the contract's fee; the same register twice changing nothing; a fine paid
//! at half in time and one whose discount runs out at the close of its last day; the XML spelling; and a
//! file that is not a register refused with nothing stored.

use crate::common::{company_input, TestApp};
use api::auth::Role;
use serde_json::{json, Value};
use uuid::Uuid;

const REPORT: &str =
    "id kind format status lines matched queued duplicates rejected skipped amountMatched \
    rejections { place field reason } error";

async fn import(t: &TestApp, token: &str, name: &str, bytes: &[u8]) -> Value {
    let r = t
        .gql_upload(
            Some(token),
            &format!(
                "mutation($f: Upload!) {{ importFinesRegister(input: {{file: $f}}) {{ position report {{ {REPORT} }} }} }}"
            ),
            json!({ "f": null }),
            &[("f", name, "text/csv", bytes)],
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"]["importFinesRegister"].clone()
}

fn ok(r: &Value) -> Value {
    assert!(r["errors"].is_null(), "{r}");
    r["data"].clone()
}

/// Concludes a vehicle lease `number` of `company` with the VIN and plate given.
async fn lease(
    t: &TestApp,
    admin: &str,
    company: Uuid,
    number: &str,
    vin: Option<&str>,
    plate: &str,
) -> Uuid {
    let r = t
        .gql(
            Some(admin),
            "mutation($i: ConcludeContractInput!) { concludeContract(input: $i) { contract { id } } }",
            json!({"i": {
                "companyId": company, "number": number, "date": "2026-02-01", "contactEmail": "buh@romashka.ru",
                "subject": {"kind": "легковой автомобиль", "make": "LADA", "model": "Vesta", "year": 2025,
                            "vin": vin, "serialNumber": if vin.is_none() { Some("S-1") } else { None },
                            "registrationPlate": plate},
                "price": "1200000", "advance": {"amount": "0"}, "termMonths": 1, "annualRate": "0",
                "firstDueDate": "2026-06-10", "scheduleKind": "EXPLICIT",
                "lines": [{"dueDate": "2026-06-10", "amount": "1200000"}], "redemption": "0",
                "penalty": {"ratePerDay": "0.1", "baseIncludesVat": true, "paymentDayCounts": true}}}),
        )
        .await;
    ok(&r)["concludeContract"]["contract"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn fines(t: &TestApp, token: &str, contract: Uuid) -> (Vec<Value>, String) {
    let r = t
        .gql(
            Some(token),
            "query($c: UUID!) { contract(id: $c) { fines { resolutionNumber amount article discountedAmount \
               discountUntil discountExpired fee due paid outstanding isPaid vehicle } debt { fines } } }",
            json!({ "c": contract }),
        )
        .await;
    let d = ok(&r);
    (
        d["contract"]["fines"].as_array().cloned().unwrap(),
        d["contract"]["debt"]["fines"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn fine<'a>(list: &'a [Value], uin: &str) -> &'a Value {
    list.iter()
        .find(|f| f["resolutionNumber"] == uin)
        .unwrap_or_else(|| panic!("{uin} in {list:?}"))
}

const VIN: &str = "XTA210990Y2766389";

/// The register: 8 lines, 3 of them fines re-billed.
fn register() -> String {
    [
        "\u{feff}УИН;Дата постановления;Сумма;Скидка до;Статья;VIN;Госномер;СТС;Описание",
        // By VIN: the discount to 23.03.
        &format!("18810177260303000011;03.03.2026;500,00;;ч. 2 ст. 12.9;{VIN};;9912345678;Превышение скорости на 20–40 км/ч"),
        // By a plate written in lower-case Cyrillic with spaces; the contract's fee of 300.
        "18810177260304000012;04.03.2026;1500;;ч. 4 ст. 12.16;;в 777 ор 199;;\"Поворот; вопреки знаку\"",
        // By the other contract's plate written in Latin: an article without the discount.
        "18810177260305000013;05.03.2026;5000;;ч. 3 ст. 12.12;;A123BC77;;Повторный проезд на красный",
        // Two contracts in force lease this plate.
        "18810177260305000014;05.03.2026;800;;ч. 1 ст. 12.2;;Е001КХ77;;Нечитаемый номер",
        // No contract leases this vehicle.
        "18810177260305000015;05.03.2026;500;;;;О999ОО99;;Стоянка",
        // The first line again.
        &format!("18810177260303000011;03.03.2026;500,00;;ч. 2 ст. 12.9;{VIN};;9912345678;Превышение скорости на 20–40 км/ч"),
        // Not a УИН.
        "123;05.03.2026;500;;;;А123ВС77;;Стоянка",
        // The register states a discount ст. 12.8 does not have.
        &format!("18810177260305000016;05.03.2026;30000;01.04.2026;ч. 1 ст. 12.8;{VIN};;;Управление в состоянии опьянения"),
    ]
    .join("\r\n")
}

#[tokio::test]
async fn a_fines_register_is_matched_by_vehicle_discounted_charged_the_fee_and_imported_twice_changes_nothing(
) {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let staff = t.sign_in(Role::Accountant, &[]).await;
    t.advance_clock(&admin, "2026-03-10").await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let ld31 = lease(&t, &admin, company, "ЛД-31", Some(VIN), "А123ВС77").await;
    let ld32 = lease(&t, &admin, company, "ЛД-32", None, "В777ОР199").await;
    lease(&t, &admin, company, "ЛД-34", None, "Е001КХ77").await;
    lease(&t, &admin, company, "ЛД-35", None, "Е 001 КХ 77").await;
    ok(&t
        .gql(
            Some(&admin),
            "mutation($c: UUID!) { agreeFineFee(input: {contractId: $c, fee: \"300\"}) { position } }",
            json!({ "c": ld32 }),
        )
        .await);
    let client = t.sign_in(Role::Client, &[company]).await;

    let file = register();
    let first = import(&t, &staff, "fines-2026-03.csv", file.as_bytes()).await;
    let r = &first["report"];
    assert_eq!(
        (
            &r["kind"],
            &r["format"],
            &r["status"],
            &r["lines"],
            &r["matched"],
            &r["duplicates"],
            &r["rejected"]
        ),
        (
            &json!("FINES_REGISTER"),
            &json!("csv"),
            &json!("DONE"),
            &json!(8),
            &json!(3),
            &json!(1),
            &json!(4)
        ),
        "{r}"
    );
    assert_eq!(r["amountMatched"], "7000.00", "{r}");
    assert!(!first["position"].is_null());
    let rejected: Vec<(i64, &str, &str)> = r["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["place"].as_i64().unwrap(),
                x["field"].as_str().unwrap(),
                x["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(rejected.len(), 4, "{rejected:?}");
    assert!(
        rejected.iter().any(|(p, f, why)| *p == 5
            && *f == "Plate"
            && why.contains("№ ЛД-34")
            && why.contains("№ ЛД-35")),
        "the ambiguous plate names both contracts: {rejected:?}"
    );
    assert!(
        rejected
            .iter()
            .any(|(p, f, why)| *p == 6 && *f == "Plate" && why.contains("no contract")),
        "{rejected:?}"
    );
    assert!(
        rejected.iter().any(|(p, f, _)| *p == 8 && *f == "UIN"),
        "{rejected:?}"
    );
    assert!(
        rejected
            .iter()
            .any(|(p, f, why)| *p == 9 && *f == "DiscountUntil" && why.contains("32.2")),
        "{rejected:?}"
    );

    // The client sees each fine as re-billed: at half until its last day, the fee on top where agreed.
    let (list, debt) = fines(&t, &client, ld31).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let speeding = fine(&list, "18810177260303000011");
    assert_eq!(
        (
            &speeding["amount"],
            &speeding["article"],
            &speeding["discountedAmount"],
            &speeding["discountUntil"],
            &speeding["due"],
            &speeding["vehicle"]
        ),
        (
            &json!("500.00"),
            &json!("ч. 2 ст. 12.9 КоАП РФ"),
            &json!("250.00"),
            &json!("2026-03-23"),
            &json!("250.00"),
            &json!(VIN)
        ),
        "{speeding}"
    );
    let red_light = fine(&list, "18810177260305000013");
    assert_eq!(
        (&red_light["discountedAmount"], &red_light["due"]),
        (&Value::Null, &json!("5000.00")),
        "{red_light}"
    );
    assert_eq!(debt, "5250.00");
    let (list, debt) = fines(&t, &client, ld32).await;
    let turn = fine(&list, "18810177260304000012");
    assert_eq!(
        (
            &turn["discountedAmount"],
            &turn["fee"],
            &turn["due"],
            &turn["discountUntil"]
        ),
        (
            &json!("750.00"),
            &json!("300.00"),
            &json!("1050.00"),
            &json!("2026-03-24")
        ),
        "{turn}"
    );
    assert_eq!(debt, "1050.00");
    // Its invoice asks for what is owed: the half within the discount, and the fee on a line of its own.
    let r = t
        .gql(
            Some(&client),
            "mutation($k: UUID!) { requestInvoice(input: { contractId: $k, what: {fine: \"18810177260304000012\"} }) \
               { document { file { sha256 } } } }",
            json!({ "k": ld32 }),
        )
        .await;
    let sha = ok(&r)["requestInvoice"]["document"]["file"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, pdf) = t.download(Some(&client), &sha).await;
    assert_eq!(status, 200);
    let text = documents::inspect::text(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for needle in [
        "со скидкой 50 % при оплате до 24.03.2026 включительно",
        "Вознаграждение лизингодателя за перевыставление штрафа",
        "1 050,00",
    ] {
        assert!(text.contains(needle), "missing «{needle}» in {text}");
    }
    let codes = documents::inspect::qr_codes(&pdf);
    let fields = documents::qr::parse(&codes[0]).expect("a payment QR");
    assert_eq!(fields["Sum"], "105000");
    assert!(
        fields["Purpose"].starts_with("Возмещение штрафа по договору лизинга № ЛД-32"),
        "{}",
        fields["Purpose"]
    );
    // The notification tells the client the discount and its last day.
    let r = t
        .gql(
            Some(&client),
            "query($c: UUID) { notifications(companyId: $c, first: 50) { nodes { kind text } } }",
            json!({ "c": company }),
        )
        .await;
    let texts: Vec<String> = ok(&r)["notifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "FINE_REGISTERED")
        .map(|n| n["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(
        texts.iter().any(
            |t| t.contains("При оплате до 24.03.2026 включительно — 750,00 ₽")
                && t.contains("Вознаграждение лизингодателя по договору — 300,00 ₽")
        ),
        "{texts:?}"
    );

    // The same register again: nothing new in the log.
    let events = t.event_count().await;
    let again = import(&t, &staff, "fines-2026-03.csv", file.as_bytes()).await;
    let r = &again["report"];
    assert_eq!(
        (&r["lines"], &r["matched"], &r["duplicates"], &r["rejected"]),
        (&json!(8), &json!(0), &json!(4), &json!(4)),
        "{r}"
    );
    assert!(again["position"].is_null(), "{again}");
    let after = t.event_count().await;
    assert_eq!(after, events);
    // One file, one story.
    let r = t
        .gql(
            Some(&admin),
            "query($id: String!) { correlation(id: $id) { events(first: 100) { nodes { eventType } } } }",
            json!({ "id": format!("import:{}", first["report"]["id"].as_str().unwrap()) }),
        )
        .await;
    let story: Vec<String> = ok(&r)["correlation"]["events"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["eventType"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(story, vec!["TrafficFineRegistered"; 3], "{story:?}");

    // ЛД-32's fine paid at half (with the fee) in time; ЛД-31's speeding fine is not.
    t.advance_clock(&admin, "2026-03-20").await;
    ok(&t
        .gql(
            Some(&admin),
            "mutation($c: UUID!) { recordPayment(input: {contractId: $c, amount: \"1050\", date: \"2026-03-20\", \
               bankReference: \"п/п 501\", purpose: FINE}) { position } }",
            json!({ "c": ld32 }),
        )
        .await);
    // The close of 24.03 is the first after ЛД-31's last day (23.03) and ЛД-32's last day itself.
    t.advance_clock(&admin, "2026-03-24").await;
    let (list, debt) = fines(&t, &client, ld32).await;
    let turn = fine(&list, "18810177260304000012");
    assert_eq!(
        (
            &turn["isPaid"],
            &turn["discountExpired"],
            &turn["outstanding"]
        ),
        (&json!(true), &json!(false), &json!("0.00")),
        "{turn}"
    );
    assert_eq!(debt, "0.00");
    let (list, debt) = fines(&t, &client, ld31).await;
    let speeding = fine(&list, "18810177260303000011");
    assert_eq!(
        (
            &speeding["discountExpired"],
            &speeding["due"],
            &speeding["outstanding"]
        ),
        (&json!(true), &json!("500.00"), &json!("500.00")),
        "{speeding}"
    );
    assert_eq!(debt, "5500.00");
    // The analysts see the same.
    let (due, outstanding): (rust_decimal::Decimal, rust_decimal::Decimal) = sqlx::query_as(
        "SELECT due, outstanding FROM analytics.fines WHERE resolution_number = '18810177260303000011'",
    )
    .fetch_one(&t.pool)
    .await
    .unwrap();
    assert_eq!(
        (due.to_string(), outstanding.to_string()),
        ("500.00".into(), "500.00".into())
    );
}

#[tokio::test]
async fn the_xml_register_is_read_alike_and_a_file_that_is_not_a_register_stores_nothing() {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let staff = t.sign_in(Role::Accountant, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let contract = lease(&t, &admin, company, "ЛД-41", Some(VIN), "А123ВС77").await;
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<FinesRegister version="1">
  <Fine>
    <UIN>18810177260306000021</UIN>
    <ResolutionDate>2026-03-06</ResolutionDate>
    <Amount>1000.00</Amount>
    <DiscountUntil>2026-03-27</DiscountUntil>
    <Article>12.9.3</Article>
    <VIN>{VIN}</VIN>
    <Description>Превышение скорости на 40–60 км/ч &amp; более</Description>
  </Fine>
  <Fine><UIN>18810177260306000022</UIN><ResolutionDate>2026-03-06</ResolutionDate><Amount>abc</Amount><VIN>{VIN}</VIN></Fine>
</FinesRegister>"#
    );
    let r = import(&t, &staff, "fines.xml", xml.as_bytes()).await;
    let report = &r["report"];
    assert_eq!(
        (&report["format"], &report["matched"], &report["rejected"]),
        (&json!("xml"), &json!(1), &json!(1)),
        "{report}"
    );
    assert_eq!(report["rejections"][0]["field"], "Amount", "{report}");
    let (list, _) = fines(&t, &admin, contract).await;
    let f = fine(&list, "18810177260306000021");
    assert_eq!(
        (&f["article"], &f["discountedAmount"], &f["discountUntil"]),
        (
            &json!("ч. 3 ст. 12.9 КоАП РФ"),
            &json!("500.00"),
            &json!("2026-03-27")
        ),
        "{f}"
    );
    // A PDF, and a CSV without the columns a register needs: refused by name, no import row, no event.
    let events = t.event_count().await;
    let imports: i64 = sqlx::query_scalar("SELECT count(*) FROM imports")
        .fetch_one(&t.pool)
        .await
        .unwrap();
    let r = t
        .gql_upload(
            Some(&staff),
            "mutation($f: Upload!) { importFinesRegister(input: {file: $f}) { report { id } } }",
            json!({ "f": null }),
            &[("f", "x.pdf", "application/pdf", b"%PDF-1.7\n\x00\x01")],
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "VALIDATION", "{r}");
    assert_eq!(r["errors"][0]["extensions"]["field"], "input.file", "{r}");
    let r = t
        .gql_upload(
            Some(&staff),
            "mutation($f: Upload!) { importFinesRegister(input: {file: $f}) { report { status error } } }",
            json!({ "f": null }),
            &[("f", "x.csv", "text/csv", b"uin;amount\n1;2\n")],
        )
        .await;
    let report = &ok(&r)["importFinesRegister"]["report"];
    assert_eq!(report["status"], "FAILED", "{report}");
    assert!(
        report["error"].as_str().unwrap().contains("ResolutionDate"),
        "{report}"
    );
    let after = t.event_count().await;
    assert_eq!(after, events);
    let imports_after: i64 = sqlx::query_scalar("SELECT count(*) FROM imports")
        .fetch_one(&t.pool)
        .await
        .unwrap();
    // The header's refusal is reported (the file was a CSV), the PDF's is not (no import began).
    assert_eq!(imports_after, imports + 1);
    // Clients may not import.
    let client = t.sign_in(Role::Client, &[company]).await;
    let r = t
        .gql_upload(
            Some(&client),
            "mutation($f: Upload!) { importFinesRegister(input: {file: $f}) { report { id } } }",
            json!({ "f": null }),
            &[("f", "fines.xml", "text/xml", xml.as_bytes())],
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
}
