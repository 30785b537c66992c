//! The real `cabinet serve` binary over real HTTP: it provisions its own PostgreSQL, serves, stops the
//! cluster on SIGTERM, and finds its data again on the next start.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

mod support;

use support::{gql, stop, Server};

async fn start(data_dir: &Path) -> Server {
    support::start(
        data_dir,
        &["--demo", "--demo-password", "demo-password-123"],
        None,
    )
    .await
}

async fn login(http: &reqwest::Client, url: &str) -> String {
    let r = gql(
        http,
        url,
        None,
        "mutation { login(email: \"admin@demo.local\", password: \"demo-password-123\") { token } }",
        json!({}),
    )
    .await;
    r["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned()
}

/// The demo company's debt once the business-day process has closed today: waits with a deadline.
async fn demo_debt(http: &reqwest::Client, url: &str, token: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let r = gql(
            http,
            url,
            Some(token),
            "{ businessDate { date closedThrough } companies(search: \"Демо\") { edges { node { id } } } }",
            json!({}),
        )
        .await;
        let day = &r["data"]["businessDate"];
        if !day["date"].is_null() && day["date"] == day["closedThrough"] {
            let company = r["data"]["companies"]["edges"][0]["node"]["id"].clone();
            let d = gql(
                http,
                url,
                Some(token),
                "query($c: UUID!) { debt(companyId: $c) { overdue penalties fines total \
                   contracts { number overdue penalties } } }",
                json!({ "c": company }),
            )
            .await;
            let debt = d["data"]["debt"].clone();
            // The demo shows what the debt screen is for: an overdue line with penalties, and a fine.
            let positive = |v: &Value| {
                v.as_str()
                    .and_then(|s| s.parse::<rust_decimal::Decimal>().ok())
                    .is_some_and(|x| x > rust_decimal::Decimal::ZERO)
            };
            assert!(positive(&debt["overdue"]), "{d}");
            assert!(positive(&debt["penalties"]), "{d}");
            assert_eq!(debt["fines"], "1500.00", "{d}");
            assert_eq!(debt["contracts"][0]["number"], "ДЛ-ДЕМО-0001", "{d}");
            // And a policy and two requests to look at.
            let more = gql(
                http,
                url,
                Some(token),
                "query($c: UUID!) { policies(companyId: $c) { edges { node { status premiumPaid } } }                    requests(companyId: $c) { edges { node { kind status } } } \
                   news(first: 5) { edges { node { title } } } faq { question } \
                   unreadNotificationCount(companyId: $c) \
                   documents(companyId: $c) { edges { node { kind title file { url } } } } }",
                json!({ "c": company }),
            )
            .await;
            // The demo invoice, as a person downloads it: a PDF.
            let invoice = &more["data"]["documents"]["edges"][0]["node"];
            assert_eq!(invoice["kind"], "INVOICE", "{more}");
            let pdf = http
                .get(url.replace("/graphql", invoice["file"]["url"].as_str().unwrap()))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(pdf.status(), 200);
            assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
            assert_eq!(
                more["data"]["policies"]["edges"][0]["node"]["status"], "ACTIVE",
                "{more}"
            );
            assert_eq!(
                more["data"]["requests"]["edges"].as_array().map(Vec::len),
                Some(2),
                "{more}"
            );
            // News and FAQ, and the notifications the history produced.
            assert_eq!(
                more["data"]["news"]["edges"].as_array().map(Vec::len),
                Some(1),
                "{more}"
            );
            assert_eq!(
                more["data"]["faq"].as_array().map(Vec::len),
                Some(3),
                "{more}"
            );
            assert!(
                more["data"]["unreadNotificationCount"]
                    .as_i64()
                    .unwrap_or(0)
                    > 0,
                "{more}"
            );
            return debt;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the demo day was not closed: {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "cabinet-serve-test-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn data_survives_a_restart_of_serve_and_the_cluster_stops_with_it() {
    let dir = temp_dir();
    let http = reqwest::Client::new();

    let s = start(&dir).await;
    assert_eq!(
        http.get(s.url.replace("/graphql", "/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let token = login(&http, &s.url).await;
    let demo = demo_debt(&http, &s.url, &token).await;
    let r = gql(
        &http,
        &s.url,
        Some(&token),
        "mutation($i: RegisterCompanyInput!) { registerCompany(input: $i) { company { id } } }",
        json!({"i": {
            "inn": "7712345671", "kpp": "773601001", "ogrn": "1127746000018",
            "fullName": "ООО «Пережившая перезапуск»", "shortName": "Пережившая", "legalAddress": "Москва",
            "bank": {"bankName": "ПАО Сбербанк", "bik": "044525225",
                     "correspondentAccount": "30101810400000000225", "settlementAccount": "40702810200000000001"},
            "contactEmail": "a@b.ru", "contactPhone": "+74951234567"}}),
    )
    .await;
    let id = r["data"]["registerCompany"]["company"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    stop(s).await;
    let pidfile = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("data/postmaster.pid"))
        .find(|p| p.parent().is_some_and(|d| d.is_dir()))
        .expect("the cluster lives under the data directory");
    assert!(
        !pidfile.exists(),
        "PostgreSQL still running after serve stopped"
    );

    let s = start(&dir).await;
    let token = login(&http, &s.url).await;
    let r = gql(
        &http,
        &s.url,
        Some(&token),
        "query($id: UUID!) { company(id: $id) { shortName } companies { edges { node { inn } } } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(r["data"]["company"]["shortName"], "Пережившая", "{r}");
    // The demo company is not registered twice on the second start, nor its contract or payments.
    assert_eq!(
        r["data"]["companies"]["edges"].as_array().unwrap().len(),
        2,
        "{r}"
    );
    let again = demo_debt(&http, &s.url, &token).await;
    assert_eq!(again["contracts"].as_array().unwrap().len(), 1, "{again}");
    assert_eq!(again["fines"], demo["fines"]);
    stop(s).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn smtp_url_from_the_environment_sends_mail_through_the_relay() {
    // The documented variable must take effect: mails go to the relay, none is written as a file.
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let (port, received) = support::smtp_server("250 OK").await;
    let dir = std::env::temp_dir().join(format!("cabinet-smtp-{}", uuid::Uuid::new_v4().simple()));
    let relay = format!("smtp://127.0.0.1:{port}");
    let server = support::start_with_env(
        &dir,
        &["--demo", "--demo-password", "demo-password-123"],
        Some(&db.url),
        &[("SMTP_URL", relay.as_str())],
    )
    .await;
    let http = reqwest::Client::new();
    let r = gql(
        &http,
        &server.url,
        None,
        "mutation { requestPasswordReset(inn: \"7707083893\", email: \"client@demo.local\") }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["requestPasswordReset"], true, "{r}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if received
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.contains("client@demo.local"))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no mail reached the relay set by SMTP_URL"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let files = std::fs::read_dir(dir.join("mail"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(files, 0, "a mail was written as a file despite SMTP_URL");
    stop(server).await;
    let _ = std::fs::remove_dir_all(&dir);
}
