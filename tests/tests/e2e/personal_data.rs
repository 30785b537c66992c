//! Personal data destroyed end to end (issue 21): a client with no obligations deletes the account, the
//! business clock passes the deadline, the destruction job runs — and a full `pg_dump`, the data
//! directory and an events export hold neither the person's e-mail, nor name, nor phone; the read models
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
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    out
}

#[tokio::test]
async fn a_deleted_client_without_obligations_is_destroyed_everywhere_and_the_log_still_verifies() {
    // Retention of zero years: once the contract ended and the account is gone nothing keeps the data.
    let t = TestApp::spawn_with(|s| {
        s.personal_data.client_retention_years = 0;
    })
    .await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let mut input = company_input("7707083893", "773601001");
    input["contactEmail"] = json!(EMAIL);
    input["contactPhone"] = json!(PHONE);
    let company = t.company(&admin, input).await;
    t.advance_clock(&admin, "2026-02-02").await;
    // The contract's contact gets a cabinet (provisioning mails a temporary password).
    let client = t
        .provisioned_client(&admin, company, "ЛД-77", EMAIL, "Vesna-2026-strong!")
        .await;
    let contract: uuid::Uuid =
        sqlx::query_scalar("SELECT contract_id FROM contracts_view WHERE number = 'ЛД-77'")
            .fetch_one(&t.pool)
            .await
            .unwrap();
    // A travel request naming her as the driver, then withdrawn.
    let r = t
        .gql(
            Some(&client),
            "mutation($i: SubmitRequestInput!) { submitRequest(input: $i) { id } }",
            json!({"i": {"companyId": company, "contractId": contract, "details": {"travelAbroad": {
                "countries": ["BY"], "from": "2026-06-01", "to": "2026-06-15",
                "drivers": [{"fullName": NAME, "licenceNumber": LICENCE}]}}}}),
        )
        .await;
    let request = r["data"]["submitRequest"]["id"].clone();
    assert!(request.is_string(), "{r}");
    let r = t
        .gql(
            Some(&client),
            "mutation($r: UUID!) { withdrawRequest(requestId: $r, reason: \"не нужно\") { status } }",
            json!({"r": request}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    // The contract ends before anything fell due: no obligation remains.
    let r = t
        .gql(
            Some(&admin),
            "mutation($i: TerminateContractInput!) { terminateContract(input: $i) { contract { status } } }",
            json!({"i": {"contractId": contract, "date": "2026-02-02", "reason": "по соглашению сторон"}}),
        )
        .await;
    assert_eq!(
        r["data"]["terminateContract"]["contract"]["status"], "TERMINATED",
        "{r}"
    );
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

    let r = t
        .gql(
            Some(&client),
            "mutation { requestAccountDeletion { destroyPersonalDataBy } }",
            json!({}),
        )
        .await;
    let by: chrono::DateTime<chrono::Utc> = r["data"]["requestAccountDeletion"]
        ["destroyPersonalDataBy"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .parse()
        .unwrap();
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
    // The account is a tombstone: it cannot sign in, and its login names nobody.
    assert_eq!(
        error(&t.try_login(EMAIL, "Vesna-2026-strong!").await).0,
        "UNAUTHENTICATED"
    );
    // The ledger holds ids only.
    let ledger = std::fs::read_to_string(t.data_dir.join("personal-data-ledger.jsonl")).unwrap();
    assert_eq!(ledger.lines().count(), 2, "{ledger}");
}
