//! Personal data destroyed end to end (issue 21): a client with no obligations deletes the account, the
//! business clock passes the deadline, the destruction job runs — and a full `pg_dump`, the data
//! directory, the server's log and an events export hold neither the person's e-mail, nor name, nor phone; the read models
//! still equal a replay of the log; the act and its event name nobody.

use api::auth::Role;
use serde_json::json;

use crate::common::*;

const EMAIL: &str = "anna.smirnova@client-co.ru";
const NAME: &str = "Смирнова Анна Павловна";
const PHONE: &str = "+7 916 123-45-67";
/// How the phone is stored (E.164 digits).
const PHONE_DIGITS: &str = "9161234567";
const LICENCE: &str = "77АВ654321";

fn hits(text: &str) -> Vec<&'static str> {
    [EMAIL, NAME, "Смирнова", PHONE_DIGITS, LICENCE]
        .into_iter()
        .filter(|s| text.contains(s))
        .collect()
}

/// Every file under `dir`, as text.
fn files_text(dir: &std::path::Path) -> String {
    let mut out = String::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push_str(&files_text(&p));
            } else if let Ok(bytes) = std::fs::read(&p) {
                let raw = String::from_utf8_lossy(&bytes);
                // Mail bodies are base64: searched decoded too.
                if let Some(m) = Mail::parse(&raw) {
                    out.push_str(&m.text);
                    out.push_str(&m.html);
                }
                out.push_str(&raw);
            }
        }
    }
    out
}

#[tokio::test]
async fn a_deleted_client_without_obligations_is_destroyed_everywhere_and_the_log_still_verifies() {
    // The server's log, at debug level.
    let logs = captured_logs();
    // Retention of zero years: once the contract ended and the account is gone nothing keeps the data.
    let t = TestApp::spawn_with(|s| {
        s.personal_data.client_retention_years = 0;
    })
    .await;
    let (admin, client, company, contract) = client_with_contract(&t, "ЛД-77").await;
    // A travel request naming her as the driver, with a scan of her licence, then withdrawn.
    let scan = format!("%PDF-1.4 водительское удостоверение {NAME} {LICENCE}");
    let r = t
        .gql_upload(
            Some(&client),
            "mutation($i: SubmitRequestInput!) { submitRequest(input: $i) { request { id attachments { nodes { sha256 } } } } }",
            json!({"i": {"companyId": company, "contractId": contract, "details": {"travelAbroad": {
                "countries": ["BY"], "from": "2026-06-01", "to": "2026-06-15",
                "drivers": [{"fullName": NAME, "licenceNumber": LICENCE}]}}, "attachments": [null]}}),
            &[("i.attachments.0", "права.pdf", "application/pdf", scan.as_bytes())],
        )
        .await;
    let request = r["data"]["submitRequest"]["request"]["id"].clone();
    assert!(request.is_string(), "{r}");
    let scan_sha = r["data"]["submitRequest"]["request"]["attachments"]["nodes"][0]["sha256"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    let before_destruction = chrono::Utc::now();
    let r = t
        .gql(
            Some(&client),
            "mutation($r: UUID!) { withdrawRequest(input: { requestId: $r, reason: \"не нужно\" }) { request { status } } }",
            json!({"r": request}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    // A bank statement names her as the payer's signatory: the payer's name and purpose are sealed, and
    // go with the company's data.
    let statement = crate::imports::one_c(&[crate::imports::Doc {
        number: "901",
        date: "02.02.2026",
        amount: "1.00",
        payer_name: NAME,
        purpose: &format!("Оплата по договору лизинга № ЛД-77, плательщик {NAME}"),
        ..crate::imports::Doc::default()
    }]);
    let accountant = t.sign_in(Role::Accountant, &[]).await;
    let report = crate::imports::import(
        &t,
        &accountant,
        "st.txt",
        &crate::imports::cp1251(&statement),
    )
    .await;
    assert_eq!(report["matched"], 1, "{report}");
    t.wait_for_consumer_of("bank-payments", "BankPayment").await;
    // The contract ends before anything fell due: no obligation remains.
    terminate(&t, &admin, contract).await;
    // Before: the values are in the read models and the mails, and nowhere in clear in the log.
    let before = files_text(&t.data_dir.join("mail"));
    assert!(before.contains(EMAIL));
    let log: Vec<String> = sqlx::query_scalar("SELECT payload::text FROM events")
        .fetch_all(&t.pool)
        .await
        .unwrap();
    assert!(
        hits(&log.join("\n")).is_empty(),
        "clear personal data in the log"
    );

    let by = delete_account(&t, &client).await;
    t.mail(EMAIL, "account_deleted").await;
    // Not due yet: the job destroys nothing.
    assert!(t.app.destroy_due_personal_data().await.unwrap().is_empty());
    // The business clock passes the deadline; the job runs.
    let day = by.date_naive().to_string();
    t.advance_clock(&admin, &day).await;
    let acts = t.app.destroy_due_personal_data().await.unwrap();
    assert_eq!(acts.len(), 2, "the account, then its company: {acts:?}");
    assert_eq!(acts[0].ground, "account_deleted");
    assert!(acts[1].subjects.len() >= 3, "{acts:?}");
    // Running again finds nothing more.
    assert!(t.app.destroy_due_personal_data().await.unwrap().is_empty());

    // A full dump of the database.
    let bins = projections::postgres::cluster::Binaries::find().unwrap();
    let dump = std::process::Command::new(bins.tool("pg_dump"))
        .arg("--dbname")
        .arg(&t.database_url)
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.contains("PersonalDataDestroyed"),
        "the event is in the dump"
    );
    assert_eq!(hits(&dump), Vec::<&str>::new(), "in pg_dump");
    // The data directory: mails, ledger, anything else.
    assert_eq!(
        hits(&files_text(&t.data_dir)),
        Vec::<&str>::new(),
        "in the data directory"
    );
    // An export of the log shows the fields as destroyed.
    let mut export = Vec::new();
    projections::log::export::export(
        &t.pool,
        &projections::log::audit::EventFilter::default(),
        &mut export,
        None,
    )
    .await
    .unwrap();
    let export = String::from_utf8(export).unwrap();
    assert_eq!(hits(&export), Vec::<&str>::new(), "in the export");
    assert!(
        export.contains(r#""x":true"#),
        "destroyed fields are shown as such"
    );

    // Read models equal a replay; the company reads as destroyed, as of today and as of before.
    t.assert_read_models_equal_the_log().await;
    let r = t
        .gql(
            Some(&admin),
            "query($id: UUID!) { company(id: $id) { contactEmail contactPhone shortName } }",
            json!({"id": company}),
        )
        .await;
    assert_eq!(
        r["data"]["company"],
        json!({"contactEmail": null, "contactPhone": null, "shortName": "ООО «Ромашка»"}),
        "{r}"
    );
    // As of before the destruction, the company's contact reads as destroyed too.
    let r = t
        .gql(
            Some(&admin),
            "query($id: UUID!, $at: DateTime) { company(id: $id, asOf: $at) { contactEmail shortName } }",
            json!({"id": company, "at": before_destruction}),
        )
        .await;
    assert_eq!(
        r["data"]["company"],
        json!({"contactEmail": null, "shortName": "ООО «Ромашка»"}),
        "{r}"
    );
    // The scan of her licence is gone.
    assert_eq!(t.download(Some(&admin), &scan_sha).await.0, 404);
    // The account is a tombstone: it cannot sign in, and its login names nobody.
    assert_eq!(
        error(&t.try_login(EMAIL, "Vesna-2026-strong!").await).0,
        "UNAUTHENTICATED"
    );
    // Auditors and admins list the acts and read them back from their PDFs; clients may not.
    let list =
        "{ personalDataDestructions { id ground categories subjects position actPdfBase64 } }";
    let auditor = t.sign_in(Role::Auditor, &[]).await;
    let r = t.gql(Some(&auditor), list, json!({})).await;
    let listed = r["data"]["personalDataDestructions"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(listed.len(), 2, "{r}");
    for a in listed {
        use base64::Engine as _;
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(a["actPdfBase64"].as_str().unwrap())
            .unwrap();
        let text = documents::inspect::text(&pdf);
        assert!(
            text.contains("Акт об уничтожении персональных данных"),
            "{text}"
        );
        assert!(text.contains(a["id"].as_str().unwrap()), "{text}");
        // The act names its event by the log's number (the API's position is opaque).
        let number: Option<i64> = sqlx::query_scalar(
            "SELECT position FROM personal_data_destructions WHERE destruction_id::text = $1",
        )
        .bind(a["id"].as_str().unwrap())
        .fetch_one(&t.pool)
        .await
        .unwrap();
        assert!(a["position"].is_string(), "{a}");
        assert!(text.contains(&number.unwrap().to_string()), "{text}");
        assert_eq!(hits(&text), Vec::<&str>::new(), "in the act");
    }
    let other = t.sign_in(Role::Client, &[]).await;
    assert_eq!(
        error(&t.gql(Some(&other), list, json!({})).await).0,
        "FORBIDDEN"
    );
    // The server log.
    let logged = logs.text();
    assert!(
        logged.contains("personal data destroyed"),
        "the log was captured: {} bytes: {}",
        logged.len(),
        &logged[..logged.len().min(2000)]
    );
    assert_eq!(hits(&logged), Vec::<&str>::new(), "in the server log");
    // The ledger holds ids only.
    let ledger = std::fs::read_to_string(t.data_dir.join("personal-data-ledger.jsonl")).unwrap();
    assert_eq!(ledger.lines().count(), 2, "{ledger}");
}

/// A company with the test person as its contact and a provisioned cabinet through contract `number`;
/// returns (admin, client token, company, contract).
async fn client_with_contract(
    t: &TestApp,
    number: &str,
) -> (String, String, uuid::Uuid, uuid::Uuid) {
    let admin = t.sign_in(Role::Admin, &[]).await;
    let mut input = company_input("7707083893", "773601001");
    input["contactEmail"] = json!(EMAIL);
    input["contactPhone"] = json!(PHONE);
    let company = t.company(&admin, input).await;
    t.advance_clock(&admin, "2026-02-02").await;
    let client = t
        .provisioned_client(&admin, company, number, EMAIL, "Vesna-2026-strong!")
        .await;
    let contract: uuid::Uuid =
        sqlx::query_scalar("SELECT contract_id FROM contracts_view WHERE number = $1")
            .bind(number)
            .fetch_one(&t.pool)
            .await
            .unwrap();
    (admin, client, company, contract)
}

async fn terminate(t: &TestApp, admin: &str, contract: uuid::Uuid) {
    let r = t
        .gql(
            Some(admin),
            "mutation($i: TerminateContractInput!) { terminateContract(input: $i) { contract { status } } }",
            json!({"i": {"contractId": contract, "date": "2026-02-02", "reason": "по соглашению сторон"}}),
        )
        .await;
    assert_eq!(
        r["data"]["terminateContract"]["contract"]["status"], "TERMINATED",
        "{r}"
    );
}

/// The client deletes its account; returns the destruction deadline.
async fn delete_account(t: &TestApp, client: &str) -> chrono::DateTime<chrono::Utc> {
    let r = t
        .gql(
            Some(client),
            "mutation { requestAccountDeletion { destroyPersonalDataBy } }",
            json!({}),
        )
        .await;
    r["data"]["requestAccountDeletion"]["destroyPersonalDataBy"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .parse()
        .unwrap()
}

const WITHDRAW: &str = "mutation { withdrawConsent { withdrawnAt destroyPersonalDataBy destroyed \
    kept { companyId companyName ground categories until reason } } }";

#[tokio::test]
async fn withdrawing_consent_with_an_active_contract_keeps_the_data_until_the_contract_ends() {
    let t = TestApp::spawn().await;
    let (admin, client, company, contract) = client_with_contract(&t, "ЛД-78").await;
    let r = t.gql(Some(&client), WITHDRAW, json!({})).await;
    let w = &r["data"]["withdrawConsent"];
    assert!(w["destroyPersonalDataBy"].is_null(), "{r}");
    let kept = w["kept"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(kept.len(), 1, "{r}");
    assert_eq!(kept[0]["companyId"], json!(company));
    assert_eq!(kept[0]["ground"], "contract");
    // The last scheduled payment (2026-03-10) plus five years.
    assert_eq!(kept[0]["until"], "2031-03-10", "{r}");
    // The contract keeps its channel: the account still works.
    assert!(t.gql(Some(&client), "{ me { email } }", json!({})).await["errors"].is_null());
    assert!(t.app.destroy_due_personal_data().await.unwrap().is_empty());
    assert!(t
        .security_kinds(&admin, t.account_id(EMAIL).await)
        .await
        .contains(&"CONSENT_WITHDRAWN".to_owned()));

    // The contract ends: the job deactivates the account and schedules it; past the deadline it is
    // destroyed on the ground of the withdrawn consent, while the company's data is kept (retention).
    terminate(&t, &admin, contract).await;
    assert!(t.app.destroy_due_personal_data().await.unwrap().is_empty());
    assert_eq!(
        error(&t.gql(Some(&client), "{ me { email } }", json!({})).await).0,
        "UNAUTHENTICATED"
    );
    let by: chrono::NaiveDate = sqlx::query_scalar(
        "SELECT (destroy_personal_data_by AT TIME ZONE 'UTC')::date FROM accounts WHERE email = $1",
    )
    .bind(EMAIL)
    .fetch_one(&t.pool)
    .await
    .unwrap();
    t.advance_clock(&admin, &by.to_string()).await;
    let acts = t.app.destroy_due_personal_data().await.unwrap();
    assert_eq!(acts.len(), 1, "{acts:?}");
    assert_eq!(acts[0].ground, "consent_withdrawn");
    let contact: Option<String> =
        sqlx::query_scalar("SELECT contact_email FROM companies_view WHERE company_id = $1")
            .bind(company)
            .fetch_one(&t.pool)
            .await
            .unwrap();
    assert_eq!(
        contact.as_deref(),
        Some(EMAIL),
        "kept for the retention after the contract"
    );
    t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn withdrawing_consent_without_obligations_schedules_destruction_at_once() {
    let t = TestApp::spawn().await;
    let (admin, client, _company, contract) = client_with_contract(&t, "ЛД-79").await;
    terminate(&t, &admin, contract).await;
    let r = t.gql(Some(&client), WITHDRAW, json!({})).await;
    let w = &r["data"]["withdrawConsent"];
    assert_eq!(w["kept"], json!([]), "{r}");
    assert!(
        w["destroyed"].as_array().is_some_and(|d| !d.is_empty()),
        "{r}"
    );
    let by: chrono::DateTime<chrono::Utc> = w["destroyPersonalDataBy"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .parse()
        .unwrap();
    assert_eq!(
        error(&t.gql(Some(&client), "{ me { email } }", json!({})).await).0,
        "UNAUTHENTICATED"
    );
    t.advance_clock(&admin, &by.date_naive().to_string()).await;
    let acts = t.app.destroy_due_personal_data().await.unwrap();
    assert_eq!(
        acts.len(),
        1,
        "the account only; the company is kept: {acts:?}"
    );
    assert_eq!(acts[0].ground, "consent_withdrawn");
    let email: String = sqlx::query_scalar("SELECT email FROM accounts WHERE account_id = $1")
        .bind(acts[0].account_id.unwrap())
        .fetch_one(&t.pool)
        .await
        .unwrap();
    assert_eq!(
        email,
        api::app::personal_data::tombstone(acts[0].account_id.unwrap())
    );
}

#[tokio::test]
async fn retention_runs_out_on_the_business_clock() {
    let t = TestApp::spawn_with(|s| s.personal_data.client_retention_years = 1).await;
    let (admin, client, company, contract) = client_with_contract(&t, "ЛД-80").await;
    terminate(&t, &admin, contract).await;
    delete_account(&t, &client).await;
    t.advance_clock(&admin, "2026-03-01").await;
    let acts = t.app.destroy_due_personal_data().await.unwrap();
    assert_eq!(
        acts.len(),
        1,
        "the account; the company is kept a year: {acts:?}"
    );
    // A day before the year is out nothing more is due; on the day, the company's persons are.
    t.advance_clock(&admin, "2027-02-01").await;
    assert!(t.app.destroy_due_personal_data().await.unwrap().is_empty());
    t.advance_clock(&admin, "2027-02-02").await;
    let acts = t.app.destroy_due_personal_data().await.unwrap();
    assert_eq!(acts.len(), 1, "{acts:?}");
    assert_eq!(acts[0].ground, "retention_expired");
    assert_eq!(acts[0].company_id, Some(company));
    t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn a_restored_older_backup_is_destroyed_again_by_the_ledger() {
    let t = TestApp::spawn_with(|s| s.personal_data.client_retention_years = 0).await;
    let (admin, client, _company, contract) = client_with_contract(&t, "ЛД-81").await;
    terminate(&t, &admin, contract).await;
    let by = delete_account(&t, &client).await;
    // The backup, taken before the destruction.
    let bins = projections::postgres::cluster::Binaries::find().unwrap();
    let backup = std::process::Command::new(bins.tool("pg_dump"))
        .args(["--no-owner", "--dbname"])
        .arg(&t.database_url)
        .output()
        .unwrap();
    assert!(backup.status.success());
    assert!(
        !hits(&String::from_utf8_lossy(&backup.stdout)).is_empty(),
        "the backup holds her data"
    );
    // Destruction.
    t.advance_clock(&admin, &by.date_naive().to_string()).await;
    assert_eq!(t.app.destroy_due_personal_data().await.unwrap().len(), 2);
    // The drill: the older backup restored into a fresh database, then the documented procedure.
    let name = format!("restored_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&t.pool)
        .await
        .unwrap();
    let (base, _) = t.database_url.rsplit_once('/').unwrap();
    let query = t
        .database_url
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    let url = format!("{base}/{name}{query}");
    let dump_file = t.data_dir.join("backup.sql");
    std::fs::write(&dump_file, &backup.stdout).unwrap();
    let restored = std::process::Command::new(bins.tool("psql"))
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&dump_file)
        .arg(&url)
        .output()
        .unwrap();
    std::fs::remove_file(&dump_file).unwrap();
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let pool = projections::postgres::db::connect(&url, 4).await.unwrap();
    let n = api::app::personal_data::reapply(
        &pool,
        Some(&t.data_dir.join("mail")),
        &t.data_dir.join("personal-data-ledger.jsonl"),
    )
    .await
    .unwrap();
    assert_eq!(n, 2);
    let after = std::process::Command::new(bins.tool("pg_dump"))
        .args(["--no-owner", "--dbname"])
        .arg(&url)
        .output()
        .unwrap();
    assert!(after.status.success());
    assert_eq!(
        hits(&String::from_utf8_lossy(&after.stdout)),
        Vec::<&str>::new(),
        "in the restored database after the procedure"
    );
    let diffs = projections::engine::runner::verify(&pool, &t.app.inline)
        .await
        .unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");
    pool.close().await;
}

#[tokio::test]
async fn a_company_registered_without_a_contract_or_an_account_is_not_destroyed() {
    let t = TestApp::spawn_with(|s| s.personal_data.client_retention_years = 0).await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    t.advance_clock(&admin, "2027-03-01").await;
    assert!(t.app.destroy_due_personal_data().await.unwrap().is_empty());
    let contact: Option<String> =
        sqlx::query_scalar("SELECT contact_email FROM companies_view WHERE company_id = $1")
            .bind(company)
            .fetch_one(&t.pool)
            .await
            .unwrap();
    assert_eq!(contact.as_deref(), Some("office@romashka.ru"));
}
