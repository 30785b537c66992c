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

/// Uploads `bytes` as `name` to the import mutation `mutation` (its input is `{file}`) and returns its
/// payload (`position`, `report`).
async fn upload(t: &TestApp, token: &str, mutation: &str, name: &str, bytes: &[u8]) -> Value {
    let r = t
        .gql_upload(
            Some(token),
            &format!(
                "mutation($f: Upload!) {{ {mutation}(input: {{file: $f}}) {{ position report {{ {REPORT} }} }} }}"
            ),
            json!({ "f": null }),
            &[("f", name, "application/octet-stream", bytes)],
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"][mutation].clone()
}

async fn import(t: &TestApp, token: &str, bytes: &[u8]) -> Value {
    upload(t, token, "importContracts", "contracts.jsonl", bytes).await
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

/// A ФНС XML УПД (format 5.03, Windows-1251) as the accounting system writes it.
fn upd_xml(
    function: &str,
    number: &str,
    date: &str,
    buyer_inn: &str,
    total: &str,
    vat: &str,
) -> Vec<u8> {
    let text = format!(
        r#"<?xml version="1.0" encoding="windows-1251"?>
<Файл ИдФайл="ON_NSCHFDOPPR_{number}" ВерсФорм="5.03" ВерсПрог="1С:Бухгалтерия 3.0">
 <Документ КНД="1115131" Функция="{function}" ДатаИнфПр="{date}">
  <СвСчФакт НомерДок="{number}" ДатаДок="{date}">
   <СвПрод><ИдСв><СвЮЛУч НаимОрг="ООО Лизинг" ИННЮЛ="7702070139" КПП="770201001"/></ИдСв></СвПрод>
   <СвПокуп><ИдСв><СвЮЛУч НаимОрг="ООО Ромашка" ИННЮЛ="{buyer_inn}" КПП="773601001"/></ИдСв></СвПокуп>
  </СвСчФакт>
  <ТаблСчФакт><ВсегоОпл СтТовУчНалВсего="{total}"><СумНалВсего><СумНал>{vat}</СумНал></СумНалВсего></ВсегоОпл></ТаблСчФакт>
 </Документ>
</Файл>"#
    );
    encoding_rs::WINDOWS_1251.encode(&text).0.into_owned()
}

/// A ZIP archive of `files` (name, content).
fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    for (name, bytes) in files {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
    out.into_inner()
}

async fn import_documents(t: &TestApp, token: &str, zip: &[u8]) -> Value {
    upload(t, token, "importAccountingDocuments", "documents.zip", zip).await
}

#[tokio::test]
async fn accounting_documents_are_imported_once_checked_against_their_fns_xml_listed_and_delivered_on_a_request(
) {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let staff = t.sign_in(Role::Accountant, &[]).await;
    t.advance_clock(&admin, "2026-03-01").await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let client = t.sign_in(Role::Client, &[company]).await;
    let three = [
        ("2026-03-10", "300000.00"),
        ("2026-04-10", "300000.00"),
        ("2026-05-10", "300000.00"),
    ];
    import(
        &t,
        &staff,
        contract("1C-1", "7707083893", &three).as_bytes(),
    )
    .await;
    let pdf = |n: u8| [&b"%PDF-1.7\n"[..], &[n; 64]].concat();
    let sig: Vec<u8> = [&[0x30u8, 0x82, 0x01, 0x00][..], &[7u8; 256]].concat();
    let line = |id: &str, kind: &str, number: &str, from: &str, to: &str, extra: Value| {
        let mut v = json!({
            "externalId": id, "kind": kind, "contract": "1C-1", "number": number, "date": to,
            "periodFrom": from, "periodTo": to, "amount": "300000.00", "vat": "50000.00",
            "pdf": format!("pdf/{number}.pdf")
        });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v.to_string()
    };
    let manifest = [
        // A УПД for February with its ФНС XML and the lessor's signature.
        line(
            "BP-1",
            "upd",
            "17",
            "2026-02-01",
            "2026-02-28",
            json!({"xml": "xml/17.xml", "signature": {"file": "sig/17.sig", "signerName": "Петров П. П.",
                   "signerPosition": "Главный бухгалтер", "thumbprint": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
                   "signedAt": "2026-02-28T12:00:00Z"}}),
        ),
        // A paper счёт-фактура for March.
        line("BP-2", "invoice", "18", "2026-03-01", "2026-03-31", json!({})),
        // An act whose XML names another buyer.
        line("BP-3", "act", "19", "2026-02-01", "2026-02-28", json!({"xml": "xml/19.xml"})),
        // A contract the cabinet does not have.
        line("BP-4", "upd", "20", "2026-02-01", "2026-02-28", json!({})).replace("\"1C-1\"", "\"1C-9\""),
        // A path outside the package.
        line("BP-5", "upd", "21", "2026-02-01", "2026-02-28", json!({})).replace("pdf/21.pdf", "../21.pdf"),
        // The first again.
        line("BP-1", "upd", "17", "2026-02-01", "2026-02-28", json!({"xml": "xml/17.xml"})),
    ]
    .join("\n");
    let xml17 = upd_xml(
        "СЧФДОП",
        "17",
        "28.02.2026",
        "7707083893",
        "300000.00",
        "50000.00",
    );
    let package = zip_of(&[
        ("documents.jsonl", manifest.into_bytes()),
        ("pdf/17.pdf", pdf(17)),
        ("pdf/18.pdf", pdf(18)),
        ("pdf/19.pdf", pdf(19)),
        ("pdf/20.pdf", pdf(20)),
        ("xml/17.xml", xml17.clone()),
        (
            "xml/19.xml",
            upd_xml(
                "ДОП",
                "19",
                "28.02.2026",
                "7712345671",
                "300000.00",
                "50000.00",
            ),
        ),
        ("sig/17.sig", sig.clone()),
    ]);
    let first = import_documents(&t, &staff, &package).await;
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
            &json!("ACCOUNTING_DOCUMENTS"),
            &json!("package"),
            &json!("DONE"),
            &json!(6),
            &json!(2),
            &json!(1),
            &json!(3)
        ),
        "{r}"
    );
    let mut rejected: Vec<(i64, String, String)> = r["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["place"].as_i64().unwrap(),
                x["field"].as_str().unwrap().to_owned(),
                x["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rejected.sort();
    assert_eq!(
        rejected
            .iter()
            .map(|(p, f, _)| (*p, f.as_str()))
            .collect::<Vec<_>>(),
        vec![(3, "xml"), (4, "contract"), (5, "pdf")],
        "{r}"
    );
    assert!(
        rejected[0].2.contains("buyer's ИНН is 7712345671"),
        "{rejected:?}"
    );
    assert_eq!(
        story(&t, &admin, &first).await,
        vec![
            "DocumentIssued",
            "DocumentIssued",
            "DocumentSentForSignature"
        ]
    );

    // The same package again: nothing new.
    let events = t.event_count().await;
    let again = import_documents(&t, &staff, &package).await;
    let r = &again["report"];
    assert_eq!(
        (&r["matched"], &r["duplicates"], &r["rejected"]),
        (&json!(0), &json!(3), &json!(3)),
        "{r}"
    );
    assert_eq!(t.event_count().await, events);
    // The same id with other files is refused: a correction is a document of its own.
    let changed = zip_of(&[
        (
            "documents.jsonl",
            line(
                "BP-2",
                "invoice",
                "18",
                "2026-03-01",
                "2026-03-31",
                json!({}),
            )
            .into_bytes(),
        ),
        ("pdf/18.pdf", pdf(99)),
    ]);
    let r = import_documents(&t, &staff, &changed).await;
    assert_eq!(r["report"]["rejections"][0]["field"], "externalId", "{r}");
    // A line the Document refuses (a title of 301 characters): rejected, and its file not kept.
    let long = zip_of(&[
        (
            "documents.jsonl",
            line(
                "BP-6",
                "act",
                "22",
                "2026-02-01",
                "2026-02-28",
                json!({"title": "Я".repeat(301)}),
            )
            .into_bytes(),
        ),
        ("pdf/22.pdf", pdf(22)),
    ]);
    let r = import_documents(&t, &staff, &long).await;
    assert_eq!(
        (
            &r["report"]["rejected"],
            &r["report"]["rejections"][0]["field"]
        ),
        (&json!(1), &json!("document")),
        "{r}"
    );
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM stored_files WHERE content = $1")
        .bind(pdf(22))
        .fetch_one(&t.pool)
        .await
        .unwrap();
    assert_eq!(kept, 0, "the refused document's PDF was kept");
    // Not a package.
    let r = t
        .gql_upload(
            Some(&staff),
            "mutation($f: Upload!) { importAccountingDocuments(input: {file: $f}) { report { id } } }",
            json!({ "f": null }),
            &[("f", "x.csv", "text/csv", b"uin;amount\n")],
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "input.file", "{r}");
    // A client may not import.
    let r = t
        .gql_upload(
            Some(&client),
            "mutation($f: Upload!) { importAccountingDocuments(input: {file: $f}) { report { id } } }",
            json!({ "f": null }),
            &[("f", "documents.zip", "application/zip", &package)],
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");

    // The client sees both among its documents, with the period, sums and the ФНС file.
    let r = t
        .gql(
            Some(&client),
            "query($c: UUID!) { documents(companyId: $c) { nodes { id kind number status title accounting { externalId periodFrom periodTo amount vat formalFile { sha256 name } } } } }",
            json!({ "c": company }),
        )
        .await;
    let nodes = ok(&r)["documents"]["nodes"].as_array().unwrap().clone();
    let upd = nodes
        .iter()
        .find(|n| n["kind"] == "UPD")
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(
        (
            &upd["status"],
            &upd["title"],
            &upd["accounting"]["periodFrom"],
            &upd["accounting"]["amount"],
            &upd["accounting"]["vat"]
        ),
        (
            &json!("SENT"),
            &json!("УПД № 17 от 28.02.2026"),
            &json!("2026-02-01"),
            &json!("300000.00"),
            &json!("50000.00")
        ),
        "{upd}"
    );
    let invoice = nodes
        .iter()
        .find(|n| n["kind"] == "TAX_INVOICE")
        .unwrap_or_else(|| panic!("{r}"));
    assert!(invoice["accounting"]["formalFile"].is_null(), "{invoice}");
    let (code, bytes) = t
        .download(
            Some(&client),
            upd["accounting"]["formalFile"]["sha256"].as_str().unwrap(),
        )
        .await;
    assert_eq!((code, bytes), (200, xml17));
    // Another company's client cannot.
    let other = t
        .company(&admin, company_input("7712345671", "771201001"))
        .await;
    let stranger = t.sign_in(Role::Client, &[other]).await;
    let (code, _) = t
        .download(
            Some(&stranger),
            upd["accounting"]["formalFile"]["sha256"].as_str().unwrap(),
        )
        .await;
    assert_ne!(code, 200);
    // The lessee signs the УПД in the cabinet.
    let r = t
        .gql_upload(
            Some(&client),
            "mutation($d: UUID!, $s: SignatureInput!, $f: Upload!) { signDocument(input: { documentId: $d, signature: $s, signatureFile: $f }) { document { status } } }",
            json!({"d": upd["id"], "s": {"signerName": "Иванов И. И.", "signerPosition": "Директор", "thumbprint": "b1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "signedAt": "2026-03-01T10:00:00Z"}, "f": null}),
            &[("f", "buyer.sig", "application/pkcs7-signature", &[&sig[..], b"b"].concat())],
        )
        .await;
    assert_eq!(
        ok(&r)["signDocument"]["document"]["status"],
        "SIGNED",
        "{r}"
    );

    // An accounting-documents request for February delivers the УПД (as a счёт-фактура and as an act) and
    // not March's счёт-фактура.
    let r = t.gql(Some(&client), "mutation($c: UUID!, $k: UUID!) { submitRequest(input: {companyId: $c, contractId: $k, details: {accountingDocuments: {documents: [INVOICE, ACT], from: \"2026-02-01\", to: \"2026-02-28\", email: \"buh@romashka.ru\"}}}) { request { id } } }", json!({"c": company, "k": contract_id("1C-1")})).await;
    let request = ok(&r)["submitRequest"]["request"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for m in ["takeRequestIntoReview", "completeRequest"] {
        ok(&t
            .gql(
                Some(&admin),
                &format!("mutation($r: UUID!) {{ {m}(input: {{ requestId: $r }}) {{ request {{ status }} }} }}"),
                json!({"r": request}),
            )
            .await);
    }
    let r = t.effect_recorded(&client, &request).await;
    let docs = r["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 1, "{r}");
    assert_eq!(
        (&docs[0]["id"], &docs[0]["kind"]),
        (&upd["id"], &json!("UPD")),
        "{r}"
    );
    let mail = t.mail("buh@romashka.ru", "request_documents").await;
    assert!(
        mail.text.contains("УПД № 17 от 28.02.2026"),
        "{}",
        mail.text
    );
    let raw = t.raw_mail(&mail.message_id);
    assert!(raw.contains("17.pdf") && raw.contains("17.xml"), "{raw}");
    // The delivery is a fact of the request's history.
    let delivered: Value = sqlx::query_scalar(
        "SELECT payload -> 'EffectApplied' -> 'documents' FROM events WHERE event_type = 'EffectApplied'",
    )
    .fetch_one(&t.pool)
    .await
    .unwrap();
    assert_eq!(delivered, json!([upd["id"]]));
    // The signer's name is personal data: sealed in the log.
    t.assert_no_clear_personal_data_in_the_log(&["Петров П. П.", "Главный бухгалтер"])
        .await;
}

/// The text of a certificate issued as of `as_of`, whitespace squashed.
async fn book_value_certificate(
    t: &TestApp,
    admin: &str,
    contract: uuid::Uuid,
    as_of: &str,
) -> String {
    let r = t
        .gql(
            Some(admin),
            "mutation($k: UUID!, $d: Date!) { issueCertificate(input: { contractId: $k, kind: BOOK_VALUE, asOf: $d }) { document { file { sha256 } } } }",
            json!({ "k": contract, "d": as_of }),
        )
        .await;
    let sha = ok(&r)["issueCertificate"]["document"]["file"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, pdf) = t.download(Some(admin), &sha).await;
    assert_eq!(status, 200);
    documents::inspect::text(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn the_book_value_comes_from_the_accounting_system_and_the_certificate_states_it_as_of_its_date(
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
    let with_value = |on: &str, amount: &str| {
        let mut v: Value = serde_json::from_str(&contract("1C-1", "7707083893", &three)).unwrap();
        v["bookValue"] = json!({"asOf": on, "amount": amount});
        v.to_string()
    };
    let id = contract_id("1C-1");
    // Before any figure: the estimate, labelled.
    import(
        &t,
        &staff,
        contract("1C-1", "7707083893", &three).as_bytes(),
    )
    .await;
    let text = book_value_certificate(&t, &admin, id, "2026-03-01").await;
    assert!(
        text.contains("расчётная оценка по графику платежей"),
        "{text}"
    );
    let r = import(&t, &staff, with_value("2026-02-28", "612345.67").as_bytes()).await;
    assert_eq!(
        (&r["report"]["changed"], &r["report"]["rejected"]),
        (&json!(1), &json!(0)),
        "{r}"
    );
    assert_eq!(story(&t, &admin, &r).await, vec!["BookValueReported"]);
    let shown = t
        .gql(
            Some(&admin),
            "query($c: UUID!) { contract(id: $c) { bookValue { asOf amount } } }",
            json!({ "c": id }),
        )
        .await;
    assert_eq!(
        ok(&shown)["contract"]["bookValue"],
        json!({"asOf": "2026-02-28", "amount": "612345.67"})
    );
    let text = book_value_certificate(&t, &admin, id, "2026-03-01").await;
    for needle in [
        "данные бухгалтерского учёта лизингодателя на 28.02.2026",
        "612 345,67",
    ] {
        assert!(text.contains(needle), "missing «{needle}» in {text}");
    }
    assert!(!text.contains("расчётная оценка"), "{text}");
    // As of a day before the books' figure: the estimate again.
    let text = book_value_certificate(&t, &admin, id, "2026-02-15").await;
    assert!(
        text.contains("расчётная оценка по графику платежей"),
        "{text}"
    );
    // The same figure again changes nothing; a malformed one is refused by its field.
    let r = import(&t, &staff, with_value("2026-02-28", "612345.67").as_bytes()).await;
    assert_eq!(r["report"]["duplicates"], json!(1), "{r}");
    let r = import(&t, &staff, with_value("2026-02-28", "много").as_bytes()).await;
    assert_eq!(
        r["report"]["rejections"][0]["field"], "bookValue.amount",
        "{r}"
    );
}

#[tokio::test]
async fn the_contracts_file_brings_the_contracts_policies_and_a_later_period_prolongs_one() {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let staff = t.sign_in(Role::Accountant, &[]).await;
    t.advance_clock(&admin, "2026-03-01").await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let three = [
        ("2026-03-10", "300000.00"),
        ("2026-04-10", "300000.00"),
        ("2026-05-10", "300000.00"),
    ];
    let with_policies = |policies: Value| {
        let mut v: Value = serde_json::from_str(&contract("1C-1", "7707083893", &three)).unwrap();
        v["policies"] = policies;
        v.to_string()
    };
    let kasko = |ends: &str, premium: &str| {
        json!({"externalId": "POL-1", "kind": "kasko", "insurer": "ВСК", "number": "КАСКО-1",
               "startsOn": "2026-02-01", "endsOn": ends, "sumInsured": "900000.00", "premium": premium,
               "installments": [{"dueDate": "2026-02-01", "amount": "6000.00"}, {"dueDate": "2026-08-01", "amount": "6000.00"}],
               "payer": "lessor"})
    };
    let r = import(
        &t,
        &staff,
        with_policies(json!([kasko("2027-01-31", "12000.00")])).as_bytes(),
    )
    .await;
    assert_eq!(
        (&r["report"]["matched"], &r["report"]["rejected"]),
        (&json!(1), &json!(0)),
        "{r}"
    );
    assert_eq!(
        story(&t, &admin, &r).await,
        vec!["ContractConcluded", "FineFeeAgreed", "PolicyIssued"]
    );
    assert_eq!(
        policies(&t, &admin, company).await,
        json!([{"number": "КАСКО-1", "kind": "KASKO", "endsOn": "2027-01-31", "premium": "12000.00"}])
    );
    // Again: unchanged.
    let r = import(
        &t,
        &staff,
        with_policies(json!([kasko("2027-01-31", "12000.00")])).as_bytes(),
    )
    .await;
    assert_eq!(
        (&r["report"]["duplicates"], &r["report"]["changed"]),
        (&json!(1), &json!(0)),
        "{r}"
    );
    // A change within the period is the cabinet's, not the file's: refused by its field.
    let r = import(
        &t,
        &staff,
        with_policies(json!([kasko("2027-01-31", "13000.00")])).as_bytes(),
    )
    .await;
    assert_eq!(
        r["report"]["rejections"][0]["field"], "policies[0].premium",
        "{r}"
    );
    let mut bad = kasko("2027-01-31", "12000.00");
    bad["kind"] = json!("жизнь");
    let r = import(&t, &staff, with_policies(json!([bad])).as_bytes()).await;
    assert_eq!(
        r["report"]["rejections"][0]["field"], "policies[0].kind",
        "{r}"
    );
    // The next period: the policy is prolonged.
    let mut next = kasko("2028-01-31", "14000.00");
    next["installments"] = json!([{"dueDate": "2027-02-01", "amount": "14000.00"}]);
    let r = import(&t, &staff, with_policies(json!([next.clone()])).as_bytes()).await;
    assert_eq!(r["report"]["changed"], json!(1), "{r}");
    assert_eq!(story(&t, &admin, &r).await, vec!["PolicyProlonged"]);
    // `premium` totals every period's.
    assert_eq!(
        policies(&t, &admin, company).await,
        json!([{"number": "КАСКО-1", "kind": "KASKO", "endsOn": "2028-01-31", "premium": "26000.00"}])
    );
    // The new period's file again: unchanged.
    let r = import(&t, &staff, with_policies(json!([next])).as_bytes()).await;
    assert_eq!(
        (&r["report"]["duplicates"], &r["report"]["rejected"]),
        (&json!(1), &json!(0)),
        "{r}"
    );
}

async fn policies(t: &TestApp, admin: &str, company: uuid::Uuid) -> Value {
    let r = t
        .gql(
            Some(admin),
            "query($c: UUID!) { policies(companyId: $c) { nodes { number kind endsOn premium } } }",
            json!({ "c": company }),
        )
        .await;
    ok(&r)["policies"]["nodes"].clone()
}
