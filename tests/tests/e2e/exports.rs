//! Exports for accountants end to end (issue 25): a contract's schedule, payments and act of reconciliation,
//! and the act across all of a company's contracts, as XLSX (read back with a spreadsheet reader) and CSV,
//! over `GET /exports/…` with the caller's token — and refused to a stranger and to nobody.

use std::io::Cursor;

use axum::body::Body;
use axum::http::Request;
use calamine::{Data, Reader, Xlsx};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

use crate::common::{company_input, conclude, TestApp};
use api::auth::Role;

async fn get(t: &TestApp, token: Option<&str>, path: &str) -> (u16, String, Vec<u8>) {
    let mut req = Request::get(path);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let resp = t
        .router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let disposition = resp
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, disposition, bytes.to_vec())
}

/// The first sheet as rows of text (every number with two decimals, dates as DD.MM.YYYY).
fn sheet(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("an XLSX file");
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).expect("the sheet");
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::Float(f) => format!("{f:.2}"),
                    Data::Int(i) => i.to_string(),
                    // An Excel serial date: days since 30.12.1899.
                    Data::DateTime(d) => (chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()
                        + chrono::Days::new(d.as_f64() as u64))
                    .format("%d.%m.%Y")
                    .to_string(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn schedule_payments_and_acts_export_as_xlsx_and_csv_to_those_who_see_them() {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let ld7 = conclude(&t, &admin, company, "ЛД-7", "buh@romashka.ru").await;
    let ld8 = conclude(&t, &admin, company, "ЛД-8", "buh@romashka.ru").await;
    t.advance_clock(&admin, "2026-03-12").await;
    let r = t
        .gql(
            Some(&admin),
            "mutation($c: UUID!) { recordPayment(input: {contractId: $c, amount: \"100000\", \
               date: \"2026-03-05\", bankReference: \"п/п 1\", purpose: LEASING_PAYMENT}) { position } }",
            json!({ "c": ld7 }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    // A bank reference a spreadsheet would run as a formula.
    let r = t
        .gql(
            Some(&admin),
            "mutation($c: UUID!) { recordPayment(input: {contractId: $c, amount: \"5000\", \
               date: \"2026-03-06\", bankReference: \"=HYPERLINK(\\\"http://x\\\")\", purpose: PENALTY}) { position } }",
            json!({ "c": ld8 }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let client = t.sign_in(Role::Client, &[company]).await;

    // The schedule as XLSX: the title, the header, the line with its amounts as numbers.
    let (status, disposition, bytes) = get(
        &t,
        Some(&client),
        &format!("/exports/schedule.xlsx?contractId={ld7}"),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert!(disposition.contains(".xlsx"), "{disposition}");
    let rows = sheet(&bytes);
    assert_eq!(rows[0][0], "График платежей по договору ЛД-7");
    let header = rows.iter().position(|r| r[0] == "№").expect("a header row");
    let line = &rows[header + 1];
    assert_eq!(
        [&line[0], &line[1], &line[2], &line[5], &line[6]],
        ["1.00", "10.03.2026", "300000.00", "100000.00", "200000.00"],
        "{rows:?}"
    );
    // The same as CSV.
    let (status, _, bytes) = get(
        &t,
        Some(&client),
        &format!("/exports/schedule.csv?contractId={ld7}"),
    )
    .await;
    assert_eq!(status, 200);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with('\u{feff}'));
    assert!(text.contains("\r\n1;10.03.2026;300000,00;"), "{text}");

    // Payments of every contract of the company, the formula-like reference made harmless.
    let (status, _, bytes) = get(
        &t,
        Some(&client),
        &format!("/exports/payments.csv?companyId={company}"),
    )
    .await;
    assert_eq!(status, 200);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("Договор;Дата;Сумма"), "{text}");
    assert!(
        text.contains("ЛД-7;05.03.2026;100000,00;лизинговый платёж;п/п 1;"),
        "{text}"
    );
    assert!(
        text.contains(";\"'=HYPERLINK(\"\"http://x\"\")\";"),
        "{text}"
    );
    let (_, _, bytes) = get(
        &t,
        Some(&client),
        &format!("/exports/payments.xlsx?companyId={company}"),
    )
    .await;
    let rows = sheet(&bytes);
    assert!(
        rows.iter()
            .any(|r| r.contains(&"=HYPERLINK(\"http://x\")".to_owned())),
        "stored as text: {rows:?}"
    );

    // The act of reconciliation: one contract, then all of them; the company's closing is the sum.
    let act = |scope: String| {
        let t = &t;
        let client = client.clone();
        async move {
            let (status, _, bytes) = get(
                t,
                Some(&client),
                &format!("/exports/reconciliation.xlsx?{scope}&from=2026-02-01&to=2026-03-12"),
            )
            .await;
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
            sheet(&bytes)
        }
    };
    let closing = |rows: &[Vec<String>]| -> f64 {
        let last = rows.last().unwrap();
        let n = last.len();
        last[n - 2].parse::<f64>().unwrap_or(0.0) - last[n - 1].parse::<f64>().unwrap_or(0.0)
    };
    let one = act(format!("contractId={ld7}")).await;
    let other = act(format!("contractId={ld8}")).await;
    let all = act(format!("companyId={company}")).await;
    assert!(
        all.last()
            .unwrap()
            .iter()
            .any(|c| c == "Сальдо на 12.03.2026"),
        "{all:?}"
    );
    assert_eq!(closing(&all), closing(&one) + closing(&other), "{all:?}");
    let r = t
        .gql(
            Some(&client),
            "query($k: UUID!) { reconciliation(contractId: $k, from: \"2026-02-01\", to: \"2026-03-12\") { closing } }",
            json!({ "k": ld7 }),
        )
        .await;
    let api_closing: f64 = r["data"]["reconciliation"]["closing"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        closing(&one),
        api_closing,
        "the export says what the screen says"
    );

    // Refusals: nobody, a stranger (as an unknown id), a malformed request.
    let (status, _, _) = get(
        &t,
        None,
        &format!("/exports/schedule.xlsx?contractId={ld7}"),
    )
    .await;
    assert_eq!(status, 401);
    let other_company = t
        .company(&admin, company_input("7712345671", "773601001"))
        .await;
    let stranger = t.sign_in(Role::Client, &[other_company]).await;
    for path in [
        format!("/exports/schedule.xlsx?contractId={ld7}"),
        format!("/exports/payments.csv?companyId={company}"),
        format!("/exports/reconciliation.csv?companyId={company}&from=2026-02-01&to=2026-03-12"),
    ] {
        let (status, _, body) = get(&t, Some(&stranger), &path).await;
        assert_eq!(status, 404, "{path}: {}", String::from_utf8_lossy(&body));
    }
    let (status, _, body) = get(
        &t,
        Some(&client),
        &format!("/exports/reconciliation.csv?contractId={ld7}"),
    )
    .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).starts_with("from:"));
    let (status, _, _) = get(
        &t,
        Some(&client),
        &format!("/exports/x.pdf?contractId={ld7}"),
    )
    .await;
    assert_eq!(status, 404);
}
