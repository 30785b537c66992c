//! Bank statements imported end to end (issue 25): statement files the test writes itself — a
//! 1CClientBankExchange file in Windows-1251 with matched, ambiguous, foreign, duplicate, malformed and
//! outgoing lines, and a camt.053 — uploaded by staff, matched and posted to contracts, policies and fines,
//! queued payments assigned or returned, the same file twice changing nothing, each import's story under
//! its correlation id, and the read models equal to the log after each step.

use crate::common::{company_input, conclude, TestApp};
use api::auth::Role;
use serde_json::{json, Value};
use uuid::Uuid;

/// The lessor's account the statements are of.
const LESSOR_ACCOUNT: &str = "40701810000000000001";

/// A payment document of a 1C statement.
pub struct Doc<'a> {
    pub number: &'a str,
    pub date: &'a str,
    pub amount: &'a str,
    pub payer_inn: &'a str,
    pub payer_kpp: &'a str,
    pub payer_name: &'a str,
    pub payer_account: &'a str,
    pub payee_account: &'a str,
    pub code: &'a str,
    pub purpose: &'a str,
}

impl Default for Doc<'_> {
    fn default() -> Self {
        Doc {
            number: "1",
            date: "12.03.2026",
            amount: "1000.00",
            payer_inn: "7707083893",
            payer_kpp: "773601001",
            payer_name: "ООО \"Ромашка\"",
            payer_account: "40702810900000000002",
            payee_account: LESSOR_ACCOUNT,
            code: "0",
            purpose: "Оплата",
        }
    }
}

/// A 1C exchange file of `docs` (UTF-8 text; encode it as the test needs).
pub fn one_c(docs: &[Doc<'_>]) -> String {
    let mut s = String::from(
        "1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\nОтправитель=Бухгалтерия\r\n\
         ДатаСоздания=13.03.2026\r\nДатаНачала=12.03.2026\r\nДатаКонца=12.03.2026\r\n",
    );
    s.push_str(&format!(
        "РасчСчет={LESSOR_ACCOUNT}\r\nСекцияРасчСчет\r\nРасчСчет={LESSOR_ACCOUNT}\r\nКонецРасчСчет\r\n"
    ));
    for d in docs {
        s.push_str(&format!(
            "СекцияДокумент=Платежное поручение\r\nНомер={}\r\nДата={}\r\nСумма={}\r\n\
             ПлательщикСчет={}\r\nПлательщик=ИНН {} {}\r\nПлательщикИНН={}\r\nПлательщикКПП={}\r\n\
             Плательщик1={}\r\nПолучательСчет={}\r\nПолучательИНН=7701000001\r\nДатаПоступило={}\r\n\
             Код={}\r\nНазначениеПлатежа={}\r\nКонецДокумента\r\n",
            d.number,
            d.date,
            d.amount,
            d.payer_account,
            d.payer_inn,
            d.payer_name,
            d.payer_inn,
            d.payer_kpp,
            d.payer_name,
            d.payee_account,
            d.date,
            d.code,
            d.purpose
        ));
    }
    s.push_str("КонецФайла\r\n");
    s
}

pub fn cp1251(text: &str) -> Vec<u8> {
    encoding_rs::WINDOWS_1251.encode(text).0.into_owned()
}

const REPORT: &str =
    "id format fileName status accounts lines matched queued duplicates rejected skipped \
    amountMatched amountQueued rejections { place field reason } error";

pub async fn import(t: &TestApp, token: &str, name: &str, bytes: &[u8]) -> Value {
    let r = t
        .gql_upload(
            Some(token),
            &format!(
                "mutation($f: Upload!) {{ importBankStatement(input: {{file: $f}}) {{ report {{ {REPORT} }} }} }}"
            ),
            json!({ "f": null }),
            &[("f", name, "application/octet-stream", bytes)],
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"]["importBankStatement"]["report"].clone()
}

fn ok(r: &Value) -> Value {
    assert!(r["errors"].is_null(), "{r}");
    r["data"].clone()
}

async fn payments(t: &TestApp, token: &str, contract: Uuid) -> Vec<Value> {
    let r = t
        .gql(
            Some(token),
            "query($c: UUID!) { contract(id: $c) { payments { bankReference amount purpose date \
               allocations { kind amount } } fines { resolutionNumber paid } } }",
            json!({ "c": contract }),
        )
        .await;
    ok(&r)["contract"]["payments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

struct World {
    t: TestApp,
    staff: String,
    romashka: Uuid,
    ld7: Uuid,
    vasilek: Uuid,
    ld21: Uuid,
    ld22: Uuid,
    policy: Uuid,
}

impl World {
    async fn new() -> Self {
        let t = TestApp::spawn().await;
        let staff = t.sign_in(Role::Accountant, &[]).await;
        let admin = t.sign_in(Role::Admin, &[]).await;
        let romashka = t
            .company(&admin, company_input("7707083893", "773601001"))
            .await;
        let ld7 = conclude(&t, &admin, romashka, "ЛД-7", "buh@romashka.ru").await;
        let vasilek = t
            .company(&admin, company_input("7712345671", "773601001"))
            .await;
        let ld21 = conclude(&t, &admin, vasilek, "ЛД-21", "buh@vasilek.ru").await;
        let ld22 = conclude(&t, &admin, vasilek, "ЛД-22", "buh@vasilek.ru").await;
        let r = t
            .gql(
                Some(&admin),
                "mutation($c: UUID!) { issuePolicy(input: {contractId: $c, insurer: \"ВСК\", kind: KASKO, \
                   number: \"КАСКО-7\", startsOn: \"2026-03-01\", endsOn: \"2027-02-28\", sumInsured: \"300000\", \
                   premium: \"12000\", payer: LESSOR}) { policy { id } } }",
                json!({ "c": ld7 }),
            )
            .await;
        let policy = ok(&r)["issuePolicy"]["policy"]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let r = t
            .gql(
                Some(&admin),
                "mutation($c: UUID!) { registerTrafficFine(input: {contractId: $c, \
                   resolutionNumber: \"18810177260312345678\", date: \"2026-03-05\", amount: \"1500\", \
                   vehicle: \"А123АА77\", description: \"Превышение скорости\"}) { contract { id } } }",
                json!({ "c": ld7 }),
            )
            .await;
        ok(&r);
        Self {
            t,
            staff,
            romashka,
            ld7,
            vasilek,
            ld21,
            ld22,
            policy,
        }
    }

    async fn posted(&self) {
        self.t
            .wait_for_consumer_of("bank-payments", "BankPayment")
            .await;
    }

    async fn queue(&self) -> Vec<Value> {
        let r = self
            .t
            .gql(
                Some(&self.staff),
                "{ bankPayments(status: QUEUED, first: 100) { totalCount nodes { id number amount payerInn \
                   queueReason candidateNumbers queueDetail contractId } } }",
                json!({}),
            )
            .await;
        ok(&r)["bankPayments"]["nodes"].as_array().cloned().unwrap()
    }
}

fn statement() -> String {
    one_c(&[
        // 1. The contract's number, paid by its lessee, with penalties stated as a part.
        Doc {
            number: "101",
            amount: "10000.00",
            purpose:
                "Лизинговый платеж по договору лизинга № ЛД-7 от 01.02.2026, в т.ч. пени 100,00, \
                      НДС не облагается",
            ..Doc::default()
        },
        // 2. No number: the payer has one open contract.
        Doc {
            number: "102",
            amount: "2000.00",
            purpose: "Оплата лизинга за март 2026",
            ..Doc::default()
        },
        // 3. A lessee with two contracts names none: queued.
        Doc {
            number: "103",
            amount: "3000.00",
            payer_inn: "7712345671",
            payer_name: "ООО \"Василёк\"",
            payer_account: "40702810900000000003",
            purpose: "Оплата по договору лизинга",
            ..Doc::default()
        },
        // 4. Nobody the lessor knows: queued.
        Doc {
            number: "104",
            amount: "4000.00",
            payer_inn: "500100732259",
            payer_kpp: "",
            payer_name: "ИП Иванов Иван Иванович",
            payer_account: "40802810900000000004",
            purpose: "Оплата по счету",
            ..Doc::default()
        },
        // 5. Romashka pays Vasilek's contract: staff confirm.
        Doc {
            number: "105",
            amount: "5000.00",
            purpose: "Лизинговый платеж по договору № ЛД-21",
            ..Doc::default()
        },
        // 6. Malformed: no such date.
        Doc {
            number: "106",
            date: "31.02.2026",
            ..Doc::default()
        },
        // 7. Outgoing: the lessor pays someone.
        Doc {
            number: "107",
            payer_inn: "7701000001",
            payer_account: LESSOR_ACCOUNT,
            payee_account: "40702810900000000009",
            purpose: "Оплата поставщику",
            ..Doc::default()
        },
        // 8. Line 1 again in the same file.
        Doc {
            number: "101",
            amount: "10000.00",
            purpose:
                "Лизинговый платеж по договору лизинга № ЛД-7 от 01.02.2026, в т.ч. пени 100,00, \
                      НДС не облагается",
            ..Doc::default()
        },
        // 9. Re-billed insurance: pays the policy, the excess is credit.
        Doc {
            number: "109",
            amount: "13000.00",
            purpose: "Страховая премия КАСКО по договору лизинга № ЛД-7",
            ..Doc::default()
        },
        // 10. A fine by its УИН (in the payment's code).
        Doc {
            number: "110",
            amount: "1500.00",
            code: "18810177260312345678",
            purpose: "Возмещение штрафа ГИБДД",
            ..Doc::default()
        },
    ])
}

#[tokio::test]
async fn a_statement_is_matched_posted_queued_and_imported_twice_changes_nothing() {
    let w = World::new().await;
    let file = cp1251(&statement());
    let report = import(&w.t, &w.staff, "выписка.txt", &file).await;
    assert_eq!(report["format"], "1c");
    assert_eq!(report["status"], "DONE");
    assert_eq!(report["accounts"], json!([LESSOR_ACCOUNT]));
    assert_eq!(
        [
            &report["lines"],
            &report["matched"],
            &report["queued"],
            &report["duplicates"],
            &report["rejected"],
            &report["skipped"]
        ],
        [
            &json!(10),
            &json!(4),
            &json!(3),
            &json!(1),
            &json!(1),
            &json!(1)
        ],
        "{report}"
    );
    assert_eq!(report["amountMatched"], "26500.00", "{report}");
    assert_eq!(report["amountQueued"], "12000.00", "{report}");
    let rejection = &report["rejections"][0];
    assert_eq!(rejection["field"], "Дата", "{report}");
    assert!(rejection["place"].as_i64().unwrap() > 1);
    w.posted().await;

    // What each matched line paid.
    let ld7 = payments(&w.t, &w.staff, w.ld7).await;
    let refs: Vec<&str> = ld7
        .iter()
        .map(|p| p["bankReference"].as_str().unwrap())
        .collect();
    let line1_leasing = ld7
        .iter()
        .find(|p| {
            p["bankReference"].as_str().unwrap().starts_with("п/п 101")
                && p["purpose"] == "LEASING_PAYMENT"
        })
        .unwrap_or_else(|| panic!("{refs:?}"));
    assert_eq!(line1_leasing["amount"], "9900.00");
    let line1_penalty = ld7
        .iter()
        .find(|p| {
            p["bankReference"].as_str().unwrap().starts_with("п/п 101") && p["purpose"] == "PENALTY"
        })
        .unwrap_or_else(|| panic!("{refs:?}"));
    assert_eq!(line1_penalty["amount"], "100.00");
    assert!(
        ld7.iter().any(
            |p| p["bankReference"].as_str().unwrap().starts_with("п/п 102")
                && p["amount"] == "2000.00"
        ),
        "{refs:?}"
    );
    // Insurance: 12,000 of premium to the policy, the rest credit on the contract.
    let r =
        w.t.gql(
            Some(&w.staff),
            "query($p: UUID!) { policy(id: $p) { premiumPaid } }",
            json!({ "p": w.policy }),
        )
        .await;
    assert_eq!(ok(&r)["policy"]["premiumPaid"], "12000.00", "{r}");
    let credit = ld7
        .iter()
        .find(|p| p["bankReference"].as_str().unwrap().starts_with("п/п 109"))
        .unwrap_or_else(|| panic!("{refs:?}"));
    assert_eq!(credit["amount"], "1000.00");
    assert_eq!(credit["purpose"], "UNALLOCATED");
    // The fine by its УИН.
    let fine = ld7
        .iter()
        .find(|p| p["bankReference"].as_str().unwrap().starts_with("п/п 110"))
        .unwrap_or_else(|| panic!("{refs:?}"));
    assert_eq!(fine["purpose"], "FINE");
    assert_eq!(fine["allocations"][0]["kind"], "FINE", "{fine}");

    // The queue: reasons staff can act on.
    let queue = w.queue().await;
    let reason = |number: &str| {
        queue
            .iter()
            .find(|p| p["number"] == number)
            .unwrap_or_else(|| panic!("{queue:?}"))
            .clone()
    };
    assert_eq!(reason("103")["queueReason"], "SEVERAL_CONTRACTS");
    assert_eq!(reason("103")["candidateNumbers"], json!(["ЛД-21", "ЛД-22"]));
    assert_eq!(reason("104")["queueReason"], "NO_MATCH");
    assert_eq!(reason("105")["queueReason"], "PAYER_IS_NOT_LESSEE");
    assert_eq!(reason("105")["candidateNumbers"], json!(["ЛД-21"]));
    w.t.assert_read_models_equal_the_log().await;

    // The same file again: nothing new in the log, everything a duplicate.
    let events = w.t.event_count().await;
    let again = import(&w.t, &w.staff, "выписка (копия).txt", &file).await;
    assert_eq!(again["duplicates"], 8, "{again}");
    assert_eq!(
        (again["matched"].as_i64(), again["queued"].as_i64()),
        (Some(0), Some(0))
    );
    w.posted().await;
    assert_eq!(w.t.event_count().await, events);
    assert_eq!(payments(&w.t, &w.staff, w.ld7).await.len(), ld7.len());

    // Staff decide: one to a contract, one back to the payer; each decision once.
    let several = reason("103")["id"].as_str().unwrap().to_owned();
    let r = w
        .t
        .gql(
            Some(&w.staff),
            "mutation($p: UUID!, $c: UUID!) { assignBankPayment(input: {paymentId: $p, contractId: $c, \
               parts: [{kind: LEASING, amount: \"2500\"}, {kind: CREDIT, amount: \"500\"}]}) { \
               bankPayment { status matchedBy contractId parts { kind amount } } position } }",
            json!({ "p": several, "c": w.ld22 }),
        )
        .await;
    let assigned = ok(&r)["assignBankPayment"].clone();
    assert_eq!(assigned["bankPayment"]["status"], "MATCHED");
    assert_eq!(assigned["bankPayment"]["matchedBy"], "STAFF");
    assert!(assigned["position"].is_string());
    let unknown = reason("104")["id"].as_str().unwrap().to_owned();
    let r = w
        .t
        .gql(
            Some(&w.staff),
            "mutation($p: UUID!) { returnBankPayment(input: {paymentId: $p, reason: \"Плательщик не является \
               лизингополучателем\"}) { bankPayment { status returnReason } } }",
            json!({ "p": unknown }),
        )
        .await;
    assert_eq!(
        ok(&r)["returnBankPayment"]["bankPayment"]["status"],
        "RETURNED"
    );
    // A decided payment is not decided again; parts must add up.
    let r = w
        .t
        .gql(
            Some(&w.staff),
            "mutation($p: UUID!, $c: UUID!) { assignBankPayment(input: {paymentId: $p, contractId: $c}) { \
               bankPayment { status } } }",
            json!({ "p": unknown, "c": w.ld21 }),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "VALIDATION", "{r}");
    assert_eq!(
        r["errors"][0]["extensions"]["reason"], "WRONG_STATUS",
        "{r}"
    );
    let foreign = reason("105")["id"].as_str().unwrap().to_owned();
    let r = w
        .t
        .gql(
            Some(&w.staff),
            "mutation($p: UUID!, $c: UUID!) { assignBankPayment(input: {paymentId: $p, contractId: $c, \
               parts: [{kind: LEASING, amount: \"4000\"}]}) { bankPayment { status } } }",
            json!({ "p": foreign, "c": w.ld21 }),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "input.parts", "{r}");
    assert_eq!(r["errors"][0]["extensions"]["reason"], "PARTS_SUM", "{r}");
    w.posted().await;
    let ld22 = payments(&w.t, &w.staff, w.ld22).await;
    let mut got: Vec<(String, String)> = ld22
        .iter()
        .map(|p| {
            (
                p["purpose"].as_str().unwrap().to_owned(),
                p["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("LEASING_PAYMENT".to_owned(), "2500.00".to_owned()),
            ("UNALLOCATED".to_owned(), "500.00".to_owned())
        ]
    );
    assert!(payments(&w.t, &w.staff, w.ld21).await.is_empty());
    assert_eq!(w.queue().await.len(), 1);

    // The file's story.
    let id = report["id"].as_str().unwrap();
    let r = w
        .t
        .gql(
            Some(&w.t.sign_in(Role::Auditor, &[]).await),
            "query($id: String!) { correlation(id: $id) { events(first: 100) { nodes { aggregateType eventType } } } }",
            json!({ "id": format!("import:{id}") }),
        )
        .await;
    let story: Vec<(String, String)> = ok(&r)["correlation"]["events"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["aggregateType"].as_str().unwrap().to_owned(),
                e["eventType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let count = |t: &str, e: &str| story.iter().filter(|(a, b)| a == t && b == e).count();
    assert_eq!(count("BankPayment", "BankPaymentReceived"), 7, "{story:?}");
    assert_eq!(count("BankPayment", "BankPaymentMatched"), 4, "{story:?}");
    assert_eq!(count("Contract", "PaymentRecorded"), 5, "{story:?}");
    assert_eq!(count("Policy", "PremiumPaid"), 1, "{story:?}");
    // The report and the payments are staff's: a client is refused.
    let client = w.t.sign_in(Role::Client, &[w.romashka]).await;
    let r =
        w.t.gql(Some(&client), "{ imports { id } }", json!({}))
            .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    let manager = w.t.sign_in(Role::Manager, &[]).await;
    for token in [&client, &manager] {
        for (m, vars) in [
            (
                "mutation($p: UUID!, $c: UUID!) { assignBankPayment(input: {paymentId: $p, contractId: $c}) { \
                   bankPayment { id } } }",
                json!({ "p": foreign, "c": w.ld7 }),
            ),
            (
                "mutation($p: UUID!) { returnBankPayment(input: {paymentId: $p, reason: \"x\"}) { \
                   bankPayment { id } } }",
                json!({ "p": foreign }),
            ),
        ] {
            let r = w.t.gql(Some(token), m, vars).await;
            assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
        }
    }
    assert_eq!(
        w.queue().await.len(),
        1,
        "nothing was decided by those refused"
    );
    let _ = w.vasilek;
    w.t.assert_read_models_equal_the_log().await;
    // Payer names and purposes are sealed in the log.
    w.t.assert_no_clear_personal_data_in_the_log(&["Иванов Иван"])
        .await;
}

#[tokio::test]
async fn a_camt053_statement_and_files_that_are_not_statements() {
    let w = World::new().await;
    let camt = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
<Acct><Id><Othr><Id>{LESSOR_ACCOUNT}</Id></Othr></Id></Acct>
<Ntry><Amt Ccy="RUB">7000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-03-12</Dt></BookgDt>
<AcctSvcrRef>SBER-0001</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>77</EndToEndId></Refs>
<RltdPties><Dbtr><Nm>ООО Ромашка</Nm><Id><OrgId><Othr><Id>7707083893</Id><SchmeNm><Prtry>INN</Prtry></SchmeNm></Othr></OrgId></Id></Dbtr></RltdPties>
<RmtInf><Ustrd>Оплата по договору лизинга № ЛД-7</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="RUB">100.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-03-12</Dt></BookgDt><AcctSvcrRef>SBER-0002</AcctSvcrRef></Ntry>
<Ntry><Amt Ccy="EUR">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-03-12</Dt></BookgDt><AcctSvcrRef>SBER-0003</AcctSvcrRef></Ntry>
</Stmt></BkToCstmrStmt></Document>"#
    );
    let report = import(&w.t, &w.staff, "camt.xml", camt.as_bytes()).await;
    assert_eq!(report["format"], "camt053");
    assert_eq!(
        (
            report["lines"].as_i64(),
            report["matched"].as_i64(),
            report["skipped"].as_i64(),
            report["rejected"].as_i64()
        ),
        (Some(3), Some(1), Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(report["rejections"][0]["field"], "Amt");
    w.posted().await;
    let ld7 = payments(&w.t, &w.staff, w.ld7).await;
    assert_eq!(ld7.len(), 1, "{ld7:?}");
    assert_eq!(ld7[0]["bankReference"], "SBER-0001");
    assert_eq!(ld7[0]["amount"], "7000.00");

    // A part the contract refuses when posted (paid before the contract's date) puts the payment back in
    // the queue with the refusal; the other payment of the same batch is posted.
    let statement = one_c(&[
        Doc {
            number: "301",
            date: "15.01.2026",
            amount: "700.00",
            purpose: "Лизинговый платеж по договору № ЛД-7",
            ..Doc::default()
        },
        Doc {
            number: "302",
            amount: "800.00",
            payer_inn: "7712345671",
            payer_account: "40702810900000000003",
            purpose: "Лизинговый платеж по договору № ЛД-21",
            ..Doc::default()
        },
    ]);
    let report = import(&w.t, &w.staff, "early.txt", &cp1251(&statement)).await;
    assert_eq!(report["matched"], 2, "{report}");
    w.posted().await;
    let refused = w.queue().await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["number"], "301");
    assert_eq!(refused[0]["queueReason"], "POSTING_REFUSED");
    assert!(
        refused[0]["queueDetail"]
            .as_str()
            .is_some_and(|d| d.starts_with("leasing:")),
        "{refused:?}"
    );
    assert_eq!(refused[0]["contractId"], w.ld7.to_string());
    let ld21 = payments(&w.t, &w.staff, w.ld21).await;
    assert_eq!(ld21.len(), 1, "{ld21:?}");
    assert_eq!(ld21[0]["amount"], "800.00");

    // Not a statement: refused naming the field, and nothing is stored.
    let events = w.t.event_count().await;
    let r =
        w.t.gql_upload(
            Some(&w.staff),
            "mutation($f: Upload!) { importBankStatement(input: {file: $f}) { report { id } } }",
            json!({ "f": null }),
            &[("f", "x.pdf", "application/pdf", crate::common::PDF)],
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "input.file", "{r}");
    assert_eq!(r["errors"][0]["extensions"]["reason"], "FILE_FORMAT", "{r}");
    // A file broken off inside an entry: failed, with what came before kept.
    let cut = &camt[..camt.find("<Ntry><Amt Ccy=\"RUB\">100.00").unwrap() + 30];
    let report = import(&w.t, &w.staff, "cut.xml", cut.as_bytes()).await;
    assert_eq!(report["status"], "FAILED", "{report}");
    assert!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("Document") || e.starts_with("Ntry")),
        "{report}"
    );
    assert_eq!(report["duplicates"], 1, "{report}");
    assert_eq!(w.t.event_count().await, events);
    // A client cannot import.
    let client = w.t.sign_in(Role::Client, &[w.romashka]).await;
    let r =
        w.t.gql_upload(
            Some(&client),
            "mutation($f: Upload!) { importBankStatement(input: {file: $f}) { report { id } } }",
            json!({ "f": null }),
            &[("f", "camt.xml", "application/xml", camt.as_bytes())],
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    let _ = (w.vasilek, w.ld22, w.policy);
    w.t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn an_import_the_database_fails_midway_is_reported_failed_not_left_running() {
    let w = World::new().await;
    // The payments' read model is gone (an operator's mistake, a failed migration): receiving fails.
    sqlx::query("ALTER TABLE bank_payments_view RENAME TO bank_payments_view_away")
        .execute(&w.t.pool)
        .await
        .unwrap();
    let file = cp1251(&statement());
    let r =
        w.t.gql_upload(
            Some(&w.staff),
            "mutation($f: Upload!) { importBankStatement(input: {file: $f}) { report { id } } }",
            json!({ "f": null }),
            &[("f", "выписка.txt", "text/plain", &file)],
        )
        .await;
    assert!(r["errors"][0]["extensions"]["code"].is_string(), "{r}");
    let (status, error): (String, Option<String>) =
        sqlx::query_as("SELECT status, error FROM imports ORDER BY started_at DESC LIMIT 1")
            .fetch_one(&w.t.pool)
            .await
            .unwrap();
    assert_eq!(status, "failed");
    assert!(
        error.as_deref().is_some_and(|e| e.starts_with("stopped:")),
        "{error:?}"
    );
    // Back in place, the same file imports completely.
    sqlx::query("ALTER TABLE bank_payments_view_away RENAME TO bank_payments_view")
        .execute(&w.t.pool)
        .await
        .unwrap();
    let report = import(&w.t, &w.staff, "выписка.txt", &file).await;
    assert_eq!(report["status"], "DONE", "{report}");
    assert_eq!(report["matched"], 4, "{report}");
    w.posted().await;
    w.t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn one_invoice_of_all_a_companys_contracts_is_paid_as_printed_and_split_back_into_each_contract(
) {
    use documents::{inspect, qr};
    let w = World::new().await;
    let admin = w.t.sign_in(Role::Admin, &[]).await;
    w.t.advance_clock(&admin, "2026-03-01").await;
    let client = w.t.sign_in(Role::Client, &[w.vasilek]).await;
    let request = "mutation($c: UUID!) { requestCompanyInvoice(input: {companyId: $c, what: {nextPayment: true}}) \
                   { document { number title contractId file { sha256 } } } }";
    let r =
        w.t.gql(Some(&client), request, json!({ "c": w.vasilek }))
            .await;
    let doc = ok(&r)["requestCompanyInvoice"]["document"].clone();
    let number = doc["number"].as_str().unwrap().to_owned();
    assert!(doc["contractId"].is_null(), "{doc}");
    assert!(
        doc["title"]
            .as_str()
            .unwrap()
            .ends_with("по всем договорам лизинга"),
        "{doc}"
    );
    let (status, pdf) =
        w.t.download(Some(&client), doc["file"]["sha256"].as_str().unwrap())
            .await;
    assert_eq!(status, 200);
    let text = inspect::text(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for needle in [
        "по договору лизинга № ЛД-21",
        "по договору лизинга № ЛД-22",
        "600 000,00",
    ] {
        assert!(text.contains(needle), "missing «{needle}» in {text}");
    }
    let codes = inspect::qr_codes(&pdf);
    let fields = qr::parse(&codes[0]).expect("a ГОСТ Р 56042-2014 payload");
    assert_eq!(fields["Sum"], "60000000");
    let purpose = fields["Purpose"].to_string();
    assert!(
        purpose.contains(&number) && purpose.contains("№ ЛД-21, № ЛД-22"),
        "{purpose}"
    );
    // Another company's client cannot ask for it.
    let stranger = w.t.sign_in(Role::Client, &[w.romashka]).await;
    let r =
        w.t.gql(Some(&stranger), request, json!({ "c": w.vasilek }))
            .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND", "{r}");

    // Paid as printed: one payment, split back into each contract's share.
    let paid = one_c(&[Doc {
        number: "501",
        amount: "600000.00",
        payer_inn: "7712345671",
        payer_name: "ООО \"Василёк\"",
        purpose: &purpose,
        ..Doc::default()
    }]);
    let report = import(&w.t, &w.staff, "company.txt", &cp1251(&paid)).await;
    assert_eq!(
        (&report["matched"], &report["queued"]),
        (&json!(1), &json!(0)),
        "{report}"
    );
    w.posted().await;
    for contract in [w.ld21, w.ld22] {
        let p = payments(&w.t, &w.staff, contract).await;
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0]["amount"], "300000.00", "{p:?}");
    }
    let r = w
        .t
        .gql(
            Some(&w.staff),
            "{ bankPayments(status: MATCHED, first: 10) { nodes { number matchedBy parts { kind amount contractId } } } }",
            json!({}),
        )
        .await;
    let node = ok(&r)["bankPayments"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["number"] == "501")
        .cloned()
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(node["matchedBy"], "INVOICE", "{node}");
    let mut parts: Vec<(String, String)> = node["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["contractId"].as_str().unwrap().to_owned(),
                p["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    parts.sort();
    let mut expected = vec![
        (w.ld21.to_string(), "300000.00".to_owned()),
        (w.ld22.to_string(), "300000.00".to_owned()),
    ];
    expected.sort();
    assert_eq!(parts, expected);

    // More than the invoice: where the rest goes is staff's decision.
    let more = one_c(&[Doc {
        number: "502",
        amount: "700000.00",
        payer_inn: "7712345671",
        payer_name: "ООО \"Василёк\"",
        purpose: &purpose,
        ..Doc::default()
    }]);
    let report = import(&w.t, &w.staff, "more.txt", &cp1251(&more)).await;
    assert_eq!(report["queued"], 1, "{report}");
    let queued = w.queue().await;
    let q = queued.iter().find(|q| q["number"] == "502").unwrap();
    assert_eq!(q["queueReason"], "EXCEEDS_INVOICE", "{queued:?}");
    // Nothing of the subject on any contract: refused by its field, nothing stored.
    let events = w.t.event_count().await;
    let r = w
        .t
        .gql(
            Some(&client),
            "mutation($c: UUID!) { requestCompanyInvoice(input: {companyId: $c, what: {overdue: true}}) { document { id } } }",
            json!({ "c": w.vasilek }),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "input.what", "{r}");
    assert_eq!(w.t.event_count().await, events);
    w.t.assert_read_models_equal_the_log().await;
}
