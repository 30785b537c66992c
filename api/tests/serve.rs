//! The real `cabinet serve` binary over real HTTP: it provisions its own PostgreSQL, serves, stops the
//! cluster on SIGTERM, and finds its data again on the next start.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

mod support;

use support::{gql, login, stop, Server};

async fn start(data_dir: &Path) -> Server {
    support::start(
        data_dir,
        &["--demo", "--demo-password", "demo-password-123"],
        None,
    )
    .await
}

/// The server's `/metrics` (from the loopback interface, which may read it without a token).
async fn scrape(http: &reqwest::Client, graphql_url: &str) -> String {
    http.get(graphql_url.replace("/graphql", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Asks for the demo client's password reset (a mail to send).
async fn request_reset(http: &reqwest::Client, url: &str) {
    let r = gql(
        http,
        url,
        None,
        "mutation { requestPasswordReset(input: { inn: \"7707083893\", email: \"client@demo.local\" }) { accepted } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["requestPasswordReset"]["accepted"], true, "{r}");
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
            // A speeding fine of 1,500 issued twenty days ago: today is the last day of its discount.
            assert_eq!(debt["fines"], "750.00", "{d}");
            assert_eq!(debt["contracts"][0]["number"], "ДЛ-ДЕМО-0001", "{d}");
            // And a policy and two requests to look at.
            let more = gql(
                http,
                url,
                Some(token),
                "query($c: UUID!) { policies(companyId: $c) { edges { node { status premiumPaid } } }                    requests(companyId: $c) { edges { node { kind status } } } \
                   news(first: 5) { edges { node { title } } } faq { nodes { question } } \
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
                more["data"]["faq"]["nodes"].as_array().map(Vec::len),
                Some(3),
                "{more}"
            );
            // The demo company has a manager account: its staff notifications reach that manager, not
            // the administrator.
            assert_eq!(more["data"]["unreadNotificationCount"], 0, "{more}");
            let manager = gql(
                http,
                url,
                None,
                "mutation { login(input: { email: \"manager@demo.local\", password: \"demo-password-123\" }) { token } }",
                json!({}),
            )
            .await;
            let manager = manager["data"]["login"]["token"]
                .as_str()
                .unwrap_or_else(|| panic!("{manager}"));
            let count = gql(
                http,
                url,
                Some(manager),
                "query($c: UUID!) { unreadNotificationCount(companyId: $c) }",
                json!({ "c": company }),
            )
            .await;
            assert!(
                count["data"]["unreadNotificationCount"]
                    .as_i64()
                    .unwrap_or(0)
                    > 0,
                "{count}"
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
    request_reset(&http, &server.url).await;
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

fn cabinet() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_cabinet"));
    c.env_remove("DATABASE_URL").env_remove("SMTP_URL");
    c
}

#[test]
fn config_show_reads_the_process_environment_and_files_and_hides_secrets() {
    let dir = temp_dir();
    std::fs::write(
        dir.join("db"),
        "postgres://cabinet:hunter2@db:5432/cabinet\n",
    )
    .unwrap();
    let out = cabinet()
        .args([
            "--data-dir",
            dir.to_str().unwrap(),
            "config",
            "show",
            "--json",
        ])
        .env("DATABASE_URL_FILE", dir.join("db"))
        .env("CABINET_POOL_SIZE", "17")
        .env("CABINET_HTTP__WS_MAX_OPERATIONS", "5")
        .env("CABINET_TYPO_SETTING", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let row = |key: &str| rows.iter().find(|r| r["key"] == key).unwrap().clone();
    assert_eq!(row("pool_size")["value"], "17");
    assert_eq!(
        row("pool_size")["source"],
        "environment variable CABINET_POOL_SIZE"
    );
    assert_eq!(
        row("http.ws_max_operations")["variable"],
        "CABINET_HTTP__WS_MAX_OPERATIONS"
    );
    assert_eq!(
        row("database_url")["value"],
        "\"postgres://cabinet:***@db:5432/cabinet\""
    );
    assert_eq!(row("data_dir")["source"], "command line --data-dir");
    assert!(String::from_utf8_lossy(&out.stderr).contains("CABINET_TYPO_SETTING"));
    // A wrong value stops it with status 2, naming the key and the variable.
    let out = cabinet()
        .args(["config", "show"])
        .env("CABINET_SESSION_IDLE_HOURS", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("session_idle_hours") && err.contains("CABINET_SESSION_IDLE_HOURS"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = cabinet().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("personal-data") && text.contains("no-migrate"),
            "{shell}"
        );
    }
}

#[test]
fn serve_refuses_a_private_cluster_when_a_database_is_required() {
    // As in the container image: no DATABASE_URL must not mean an empty cluster inside the container.
    let dir = temp_dir();
    let out = cabinet()
        .args(["--data-dir", dir.to_str().unwrap(), "serve"])
        .env("CABINET_REQUIRE_DATABASE_URL", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("DATABASE_URL") && err.contains("--private-cluster"),
        "{err}"
    );
    assert!(!dir.join("postgres").exists(), "a cluster was initialised");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `url` with another user and password.
fn as_user(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (_, host) = rest.split_once('@').unwrap();
    format!("{scheme}://{user}:{password}@{host}")
}

#[tokio::test]
async fn a_runtime_role_with_only_its_grants_serves_and_cannot_rewrite_history() {
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let role = format!(
        "runtime_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let admin = projections::postgres::db::connect(&db.url, 1)
        .await
        .unwrap();
    sqlx::query(&format!(
        "CREATE ROLE {role} LOGIN PASSWORD 'runtime-pw-123'"
    ))
    .execute(&admin)
    .await
    .unwrap();
    let runtime_url = as_user(&db.url, &role, "runtime-pw-123");
    // Before the grant the runtime role cannot even read: serving needs `migrate --grant-runtime`.
    let out = cabinet()
        .args([
            "--database-url",
            &db.url,
            "migrate",
            "--grant-runtime",
            &role,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A superuser is refused as a runtime role.
    let out = cabinet()
        .args([
            "--database-url",
            &db.url,
            "migrate",
            "--grant-runtime",
            "postgres",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let dir = temp_dir();
    let server = support::start_with_env(
        &dir,
        &[
            "--demo",
            "--demo-password",
            "demo-password-123",
            "--no-migrate",
        ],
        Some(&runtime_url),
        &[],
    )
    .await;
    let http = reqwest::Client::new();
    let token = login(&http, &server.url).await;
    let debt = demo_debt(&http, &server.url, &token).await;
    assert!(debt["fines"].is_string(), "{debt}");
    request_reset(&http, &server.url).await;
    // The mail worker, running as the runtime role, sends it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(dir.join("mail")).map_or(0, |d| d.count()) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no mail was sent by the runtime role"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // No worker failed for want of a privilege.
    let metrics = scrape(&http, &server.url).await;
    assert!(
        !metrics
            .lines()
            .any(|l| l.starts_with("cabinet_worker_restarts_total") && !l.ends_with(" 0")),
        "a worker failed as the runtime role:\n{metrics}"
    );
    stop(server).await;
    // The runtime role appends to the log but cannot change or erase it, nor change the schema.
    let runtime = projections::postgres::db::connect(&runtime_url, 1)
        .await
        .unwrap();
    for statement in [
        "UPDATE events SET payload = payload",
        "DELETE FROM events",
        "TRUNCATE events",
        // Nor through a partition of it, nor in the archive, nor move a partition there.
        "UPDATE events_p0 SET payload = payload",
        "DELETE FROM events_p0",
        "TRUNCATE events_p0",
        "UPDATE archive.events SET payload = payload",
        "DELETE FROM archive.events",
        "SELECT event_partition_archive('events_p0')",
        "UPDATE event_partitioning SET ahead = 1",
        "DELETE FROM event_streams",
        "CREATE TABLE intruder (id int)",
        "ALTER TABLE accounts ADD COLUMN intruder int",
        "DELETE FROM _sqlx_migrations",
    ] {
        let e = sqlx::query(statement).execute(&runtime).await.unwrap_err();
        let code = e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.into_owned());
        assert!(matches!(code.as_deref(), Some("42501")), "{statement}: {e}");
    }
    runtime.close().await;
    // Serving without migrating refuses a database whose schema is behind.
    let empty = format!("empty_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    sqlx::query(&format!("CREATE DATABASE {empty}"))
        .execute(&admin)
        .await
        .unwrap();
    let (base, _) = db.url.rsplit_once('/').unwrap();
    let out = cabinet()
        .args([
            "--database-url",
            &format!("{base}/{empty}"),
            "serve",
            "--no-migrate",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cabinet migrate"));
    sqlx::query(&format!("DROP DATABASE {empty}"))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query(&format!("DROP OWNED BY {role}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_request_continues_the_callers_trace_and_its_spans_reach_an_otlp_collector() {
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let (port, received) = support::otlp_collector().await;
    let dir = temp_dir();
    let endpoint = format!("http://127.0.0.1:{port}");
    let server = support::start_with_env(
        &dir,
        &["--demo", "--demo-password", "demo-password-123"],
        Some(&db.url),
        &[
            ("CABINET_TRACING__OTLP_ENDPOINT", endpoint.as_str()),
            ("CABINET_TRACING__SERVICE_NAME", "cabinet-under-test"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let r = http
        .post(&server.url)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({
            "query": "mutation SignInForTrace($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token } }",
            "variables": {"e": "admin@demo.local", "p": "demo-password-123"},
        }))
        .send()
        .await
        .unwrap();
    // Trace context out: the same trace, this server's own span; the request id echoed.
    let tp = r.headers()["traceparent"].to_str().unwrap().to_owned();
    assert!(tp.starts_with(&format!("00-{trace_id}-")), "{tp}");
    assert!(
        !tp.contains("00f067aa0ba902b7") && tp.ends_with("-01"),
        "{tp}"
    );
    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&request_id).is_ok(), "{request_id}");
    let body: Value = r.json().await.unwrap();
    assert!(body["data"]["login"]["token"].is_string(), "{body}");
    // Without a caller's trace: a new one, and every route answers with both headers.
    let r = http
        .get(server.url.replace("/graphql", "/healthz"))
        .send()
        .await
        .unwrap();
    let fresh = r.headers()["traceparent"].to_str().unwrap();
    assert!(
        fresh.starts_with("00-") && !fresh.contains(trace_id),
        "{fresh}"
    );
    assert!(r.headers().contains_key("x-request-id"));
    // The spans are flushed when the server stops.
    stop(server).await;
    let bodies = received.lock().unwrap().clone();
    assert!(!bodies.is_empty(), "nothing reached the collector");
    let all: Vec<u8> = bodies.concat();
    let raw_trace: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&trace_id[i * 2..i * 2 + 2], 16).unwrap())
        .collect();
    assert!(
        contains(&all, &raw_trace),
        "the caller's trace id is not in the export"
    );
    for needle in [
        "cabinet-under-test",
        "SignInForTrace",
        &request_id,
        "POST /graphql",
        "command",
        "store.append",
        "projection.inline",
        "catch_up",
    ] {
        assert!(
            contains(&all, needle.as_bytes()),
            "«{needle}» is not in the export"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_metrics_the_alert_rules_use_are_exported_and_documented() {
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let dir = temp_dir();
    // The demo password from a file (a secret kept off the command line and the environment).
    let secret = dir.join("demo-password-secret");
    std::fs::write(&secret, "demo-password-123\n").unwrap();
    let server = support::start_with_env(
        &dir,
        &["--demo"],
        Some(&db.url),
        &[("CABINET_DEMO_PASSWORD_FILE", secret.to_str().unwrap())],
    )
    .await;
    let http = reqwest::Client::new();
    let token = login(&http, &server.url).await;
    demo_debt(&http, &server.url, &token).await;
    // Without an exporter the trace context still travels: continued in, returned out.
    let r = http
        .get(server.url.replace("/graphql", "/readyz"))
        .header(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .send()
        .await
        .unwrap();
    let tp = r.headers()["traceparent"].to_str().unwrap();
    assert!(
        tp.starts_with("00-0af7651916cd43dd8448eb211c80319c-") && !tp.contains("b7ad6b7169203331"),
        "{tp}"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let rules = std::fs::read_to_string(root.join("deploy/prometheus/alerts.yml")).unwrap();
    let docs = std::fs::read_to_string(root.join("docs/operations.md")).unwrap();
    let mut used: Vec<String> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("cabinet_") || w.starts_with("process_"))
        .map(|w| w.trim_end_matches("_bucket").to_owned())
        .collect();
    used.sort();
    used.dedup();
    assert!(used.len() >= 12, "{used:?}");
    // Gauges and the HTTP series exist from the start; other counters appear with their first event.
    let always: Vec<&String> = used
        .iter()
        .filter(|m| !m.ends_with("_total") || m.starts_with("cabinet_http_"))
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = scrape(&http, &server.url).await;
        let missing: Vec<&&String> = always
            .iter()
            .filter(|m| !text.lines().any(|l| l.starts_with(m.as_str())))
            .collect();
        if missing.is_empty() {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not exported: {missing:?}\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for m in &used {
        assert!(
            docs.contains(&format!("`{m}`")),
            "{m} is not documented in docs/operations.md"
        );
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("cabinet_http_requests_total{")
                && l.contains("route=\"/graphql\"")
                && l.contains("method=\"POST\"")
                && l.contains("status=\"200\"")),
        "{text}"
    );
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name) && !l.starts_with('#'))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in\n{text}"))
    };
    assert!(value("process_resident_memory_bytes") > 1e6);
    assert!(value("cabinet_db_pool_max_connections") >= 1.0);
    // The demo's business day is today: nothing behind.
    assert_eq!(value("cabinet_business_date_behind_days"), 0.0);
    stop(server).await;
    let _ = std::fs::remove_dir_all(&dir);
}
