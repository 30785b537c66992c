//! The `cabinet` command line against a real PostgreSQL (a fresh test database through DATABASE_URL).

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use api::app::App;
use api::config::Settings;
use domain::company::CompanyCommand;
use domain::testing::sample_profile;
use projections::store::event::CommandMeta;

fn cabinet(url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cabinet"))
        .args(args)
        .env("DATABASE_URL", url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// Registers the sample company and concludes the sample contract `number` for it; returns the contract.
async fn company_with_contract(app: &App, number: &str) -> uuid::Uuid {
    use domain::contract::ContractCommand;
    use domain::testing::sample_contract;
    let company = uuid::Uuid::now_v7();
    app.companies
        .execute(
            &company.to_string(),
            CompanyCommand::RegisterCompany {
                company_id: company,
                profile: Box::new(sample_profile("773601001")),
            },
            &CommandMeta::system("test"),
        )
        .await
        .unwrap();
    let contract = uuid::Uuid::now_v7();
    app.contracts
        .execute(
            &contract.to_string(),
            ContractCommand::ConcludeContract(Box::new(sample_contract(contract, company, number))),
            &CommandMeta::system("test"),
        )
        .await
        .unwrap();
    contract
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn accounts_projections_and_export_work_from_the_command_line() {
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let pool = db.pool(5).await.unwrap();
    let url = db.url.clone();
    let run = move |args: &'static [&'static str], stdin: Option<&'static str>| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || cabinet(&url, args, stdin))
    };

    // accounts create: password from standard input; the hash is argon2id, never the password.
    let o = run(
        &[
            "accounts",
            "create",
            "--email",
            "Staff@Lessor.ru",
            "--role",
            "manager",
        ],
        Some("a-long-enough-password\n"),
    )
    .await
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let (roles, hash): (Vec<String>, String) =
        sqlx::query_as("SELECT roles, password_hash FROM accounts WHERE email = 'staff@lessor.ru'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(roles, vec!["MANAGER"]);
    assert!(hash.starts_with("$argon2id$"));
    let o = run(
        &[
            "accounts",
            "create",
            "--email",
            "x@lessor.ru",
            "--role",
            "king",
        ],
        Some("a-long-enough-password"),
    )
    .await
    .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("--role"));
    let o = run(
        &[
            "accounts",
            "create",
            "--email",
            "y@lessor.ru",
            "--role",
            "admin",
        ],
        Some("short"),
    )
    .await
    .unwrap();
    assert!(!o.status.success(), "a short password is refused");

    // Some events to work on.
    let app = Arc::new(App::new(pool.clone(), &Settings::default()).unwrap());
    let id = uuid::Uuid::now_v7();
    app.companies
        .execute(
            &id.to_string(),
            CompanyCommand::RegisterCompany {
                company_id: id,
                profile: Box::new(sample_profile("773601001")),
            },
            &CommandMeta::system("test"),
        )
        .await
        .unwrap();

    let o = run(&["projections", "verify"], None).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    sqlx::query("UPDATE companies_view SET short_name = 'испорчено'")
        .execute(&pool)
        .await
        .unwrap();
    let o = run(&["projections", "verify"], None).await.unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("companies.companies_view"));
    let o = run(&["projections", "rebuild"], None).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["projections", "verify"], None).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["projections", "status"], None).await.unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("companies"));

    let o = run(&["events", "export"], None).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["event_type"], "CompanyRegistered");
    assert_eq!(lines[0]["aggregate_id"], id.to_string());
    for key in [
        "position",
        "sequence",
        "event_version",
        "payload",
        "metadata",
        "recorded_at",
    ] {
        assert!(!lines[0][key].is_null(), "{key}");
    }
    let o = run(&["events", "export", "--aggregate", "Company"], None)
        .await
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("TYPE:ID"));
}

#[tokio::test]
async fn the_clock_advances_and_closes_business_days_from_the_command_line() {
    use rust_decimal::Decimal;

    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let pool = db.pool(5).await.unwrap();
    let url = db.url.clone();
    let run = move |args: &'static [&'static str]| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || cabinet(&url, args, None))
    };
    let app = App::new(pool.clone(), &Settings::default()).unwrap();
    let contract = company_with_contract(&app, "ЛД-CLI").await;

    // No server runs: the command closes the days itself.
    let o = run(&["clock", "advance", "--to", "2026-03-12"])
        .await
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("days closed through 2026-03-12"),
        "{}",
        text(&o)
    );
    let (status, penalty): (String, Decimal) = sqlx::query_as(
        "SELECT status, penalty FROM schedule_view WHERE contract_id = $1 AND line_number = 1",
    )
    .bind(contract)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(status, "overdue");
    assert_eq!(
        penalty,
        Decimal::new(60000, 2),
        "11 and 12 March at 0.1% of 300,000"
    );
    let o = run(&["clock", "advance", "--to", "2026-03-01"])
        .await
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("never goes backwards"), "{}", text(&o));
    let o = run(&["clock", "show"]).await.unwrap();
    assert!(
        text(&o).contains("business date 2026-03-12, closed through 2026-03-12"),
        "{}",
        text(&o)
    );

    // Replay equals live for the contract read models too; a damaged row is found and rebuilt.
    let o = run(&["projections", "verify"]).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    sqlx::query("UPDATE contract_debt_view SET total = total + 1")
        .execute(&pool)
        .await
        .unwrap();
    let o = run(&["projections", "verify"]).await.unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("contracts.contract_debt_view"),
        "{}",
        text(&o)
    );
    let o = run(&["projections", "rebuild", "contracts"]).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["projections", "verify"]).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["projections", "status"]).await.unwrap();
    assert!(text(&o).contains("business-days"), "{}", text(&o));
}

fn cabinet_owned(url: &str, args: Vec<String>) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cabinet(url, &args, None)
}

fn lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn exports_filter_and_verify_and_analysts_get_their_role_from_the_command_line() {
    use domain::clock::{ClockCommand, CLOCK_ID};

    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let pool = db.pool(5).await.unwrap();
    let url = db.url.clone();
    let run = move |args: Vec<String>| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || cabinet_owned(&url, args))
    };
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
    let app = App::new(pool.clone(), &Settings::default()).unwrap();
    let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    for (id, kpp) in [(a, "773601001"), (b, "773601002")] {
        app.companies
            .execute(
                &id.to_string(),
                CompanyCommand::RegisterCompany {
                    company_id: id,
                    profile: Box::new(sample_profile(kpp)),
                },
                &CommandMeta::system("test"),
            )
            .await
            .unwrap();
    }
    let between: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(&pool)
        .await
        .unwrap();
    // Five business days: one aggregate with sequences 1..=5.
    app.clock
        .execute(
            CLOCK_ID,
            ClockCommand::AdvanceClock {
                to: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            },
            &CommandMeta::system("test"),
        )
        .await
        .unwrap();
    app.clock
        .execute(
            CLOCK_ID,
            ClockCommand::AdvanceClock {
                to: chrono::NaiveDate::from_ymd_opt(2026, 3, 6).unwrap(),
            },
            &CommandMeta::system("test"),
        )
        .await
        .unwrap();

    // The whole log, checked as it is written.
    let o = run(args(&["events", "export", "--verify"])).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let all = lines(&o);
    assert_eq!(all.len(), 7);
    assert!(String::from_utf8_lossy(&o.stderr).contains("verified: 7 events of 3 aggregates"));

    // Filters: company, type, time, position.
    let o = run(args(&["events", "export", "--company", &a.to_string()]))
        .await
        .unwrap();
    let of_a = lines(&o);
    assert_eq!(of_a.len(), 1);
    assert_eq!(of_a[0]["aggregate_id"], a.to_string());
    let o = run(args(&[
        "events",
        "export",
        "--type",
        "BusinessDayStarted",
        "--verify",
    ]))
    .await
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(lines(&o).len(), 5);
    let o = run(args(&[
        "events",
        "export",
        "--since",
        &between.to_rfc3339(),
    ]))
    .await
    .unwrap();
    assert!(lines(&o)
        .iter()
        .all(|l| l["aggregate_type"] == "BusinessClock"));
    let o = run(args(&[
        "events",
        "export",
        "--until",
        &between.to_rfc3339(),
        "--verify",
    ]))
    .await
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(lines(&o).iter().all(|l| l["aggregate_type"] == "Company"));
    let third = all[4]["position"].as_i64().unwrap().to_string();
    let o = run(args(&["events", "export", "--from", &third, "--verify"]))
        .await
        .unwrap();
    assert!(
        o.status.success(),
        "a window may start mid-aggregate: {}",
        text(&o)
    );
    assert_eq!(lines(&o).len(), 3);

    // Bad filters name their flag, and nothing is written.
    let o = run(args(&["events", "export", "--since", "yesterday"]))
        .await
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("--since"), "{}", text(&o));
    let o = run(args(&[
        "events",
        "export",
        "--since",
        &between.to_rfc3339(),
        "--until",
        "2020-01-01T00:00:00Z",
    ]))
    .await
    .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("--until"), "{}", text(&o));
    assert!(o.stdout.is_empty());

    // An export file checked later: complete, then with one event taken out.
    let dir =
        std::env::temp_dir().join(format!("cabinet-export-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("log.jsonl");
    let full: String = all.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, &full).unwrap();
    let path = file.to_string_lossy().into_owned();
    let o = run(args(&["events", "verify", &path, "--complete"]))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let gap: String = all
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(&file, gap).unwrap();
    let o = run(args(&["events", "verify", &path])).await.unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("jumps from sequence 2 to 4"),
        "{}",
        text(&o)
    );
    std::fs::remove_dir_all(&dir).unwrap();

    // Analysts: a login role gets the read-only role, can be listed and loses it again.
    let o = run(args(&["analysts", "grant", "--role", "no_such_role_here"]))
        .await
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("--role"), "{}", text(&o));
    let login = format!("cli_analyst_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!(
        "CREATE ROLE {login} LOGIN PASSWORD 'analyst-password-1'"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let o = run(args(&["analysts", "grant", "--role", &login]))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = run(args(&["analysts", "list"])).await.unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains(&login));
    let settings: Vec<String> = sqlx::query_scalar(
        "SELECT unnest(setconfig) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = $1",
    )
    .bind(&login)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        settings.contains(&"default_transaction_read_only=on".to_owned()),
        "{settings:?}"
    );
    let o = run(args(&["analysts", "revoke", "--role", &login]))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = run(args(&["analysts", "list"])).await.unwrap();
    assert!(!String::from_utf8_lossy(&o.stdout).contains(&login));
    sqlx::query(&format!("DROP ROLE {login}"))
        .execute(&pool)
        .await
        .unwrap();
}

#[test]
fn a_check_that_cannot_run_exits_2_and_says_why() {
    // 0 clean, 1 differences (tested above), 2 could not run: no database answers; no such file (a file
    // check needs no database).
    let o = cabinet(
        "postgres://nobody@127.0.0.1:1/none?connect_timeout=2",
        &["projections", "verify"],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("error:"), "{}", text(&o));
    let o = cabinet(
        "postgres://nobody@127.0.0.1:1/none?connect_timeout=2",
        &["events", "verify", "/nonexistent/export.jsonl"],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[tokio::test]
async fn a_bank_statement_is_imported_and_posted_from_the_command_line_and_a_second_run_changes_nothing(
) {
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let pool = db.pool(5).await.unwrap();
    let app = App::new(pool.clone(), &Settings::default()).unwrap();
    let contract = company_with_contract(&app, "ЛД-CLI").await;
    let dir = std::env::temp_dir().join(format!("cabinet-import-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let statement = dir.join("2026-03-12.txt");
    std::fs::write(
        &statement,
        "1CClientBankExchange\nВерсияФормата=1.03\nКодировка=UTF-8\nРасчСчет=40701810000000000001\n\
         СекцияДокумент=Платежное поручение\nНомер=7\nДата=12.03.2026\nСумма=15000.00\n\
         ПлательщикСчет=40702810900000000002\nПлательщикИНН=7707083893\nПлательщикКПП=773601001\n\
         ПолучательСчет=40701810000000000001\nНазначениеПлатежа=Лизинговый платеж по договору № ЛД-CLI\n\
         КонецДокумента\nКонецФайла\n",
    )
    .unwrap();
    let path = statement.to_string_lossy().into_owned();
    let url = db.url.clone();
    let run = move |args: Vec<String>| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || cabinet_owned(&url, args))
    };
    let args = vec![
        "import".into(),
        "statement".into(),
        path.clone(),
        "--json".into(),
    ];
    let o = run(args.clone()).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["matched"], 1, "{report}");
    assert_eq!(report["status"], "done");
    // No server runs: the command posted the payment itself.
    let posted: Vec<(String, rust_decimal::Decimal)> =
        sqlx::query_as("SELECT bank_reference, amount FROM payments_view WHERE contract_id = $1")
            .bind(contract)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0].1, rust_decimal::Decimal::new(1500000, 2));
    assert!(posted[0].0.starts_with("п/п 7 от 12.03.2026"), "{posted:?}");
    // Again: a duplicate, nothing new.
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    let o = run(args).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (report["duplicates"].as_i64(), report["matched"].as_i64()),
        (Some(1), Some(0))
    );
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(after, events);
    // A file cut short inside its XML: exit status 1 with the reason; not a statement at all: refused.
    let cut = dir.join("cut.xml");
    std::fs::write(&cut, "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt><Stmt><Ntry><Amt").unwrap();
    let o = run(vec![
        "import".into(),
        "statement".into(),
        cut.to_string_lossy().into_owned(),
    ])
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("failed"), "{}", text(&o));
    let pdf = dir.join("x.pdf");
    std::fs::write(&pdf, "%PDF-1.4").unwrap();
    let o = run(vec![
        "import".into(),
        "statement".into(),
        pdf.to_string_lossy().into_owned(),
    ])
    .await
    .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o).contains("VALIDATION: file:") && text(&o).contains("1CClientBankExchange"),
        "{}",
        text(&o)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_fines_register_is_imported_from_the_command_line_and_a_second_run_changes_nothing() {
    use domain::contract::ContractCommand;
    use domain::testing::sample_contract;
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let pool = db.pool(5).await.unwrap();
    let app = App::new(pool.clone(), &Settings::default()).unwrap();
    let first = company_with_contract(&app, "ЛД-CLI").await;
    let company: uuid::Uuid =
        sqlx::query_scalar("SELECT company_id FROM contracts_view WHERE contract_id = $1")
            .bind(first)
            .fetch_one(&pool)
            .await
            .unwrap();
    // A car leased with its plate.
    let car = uuid::Uuid::now_v7();
    let mut terms = sample_contract(car, company, "ЛД-CAR");
    terms.subject.kind = "легковой автомобиль".into();
    terms.subject.registration_plate = Some("А123ВС77".into());
    app.contracts
        .execute(
            &car.to_string(),
            ContractCommand::ConcludeContract(Box::new(terms)),
            &CommandMeta::system("test"),
        )
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("cabinet-fines-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let register = dir.join("fines.csv");
    std::fs::write(
        &register,
        "uin,resolution_date,amount,article,plate\n\
         18810177260303000031,03.03.2026,500.00,ч. 2 ст. 12.9,A123BC77\n\
         18810177260303000032,03.03.2026,500.00,,Х000ХХ00\n",
    )
    .unwrap();
    let url = db.url.clone();
    let run = move |args: Vec<String>| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || cabinet_owned(&url, args))
    };
    let args = vec![
        "import".into(),
        "fines".into(),
        register.to_string_lossy().into_owned(),
        "--json".into(),
    ];
    let o = run(args.clone()).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (
            report["kind"].as_str(),
            report["matched"].as_i64(),
            report["rejected"].as_i64()
        ),
        (Some("fines_register"), Some(1), Some(1)),
        "{report}"
    );
    let due: rust_decimal::Decimal =
        sqlx::query_scalar("SELECT due FROM fines_view WHERE contract_id = $1")
            .bind(car)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(due, rust_decimal::Decimal::new(25000, 2));
    // Again, as text: a duplicate, nothing new.
    let o = run(args[..3].to_vec()).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("registered 0") && text(&o).contains("duplicates 1"),
        "{}",
        text(&o)
    );
    let pdf = dir.join("x.pdf");
    std::fs::write(&pdf, b"%PDF-1.4\n\x00").unwrap();
    let o = run(vec![
        "import".into(),
        "fines".into(),
        pdf.to_string_lossy().into_owned(),
    ])
    .await
    .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o).contains("VALIDATION: file:") && text(&o).contains("реестр штрафов"),
        "{}",
        text(&o)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn accounting_documents_are_imported_from_a_directory_on_the_command_line_and_a_second_run_changes_nothing(
) {
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let pool = db.pool(5).await.unwrap();
    let app = App::new(pool.clone(), &Settings::default()).unwrap();
    let first = company_with_contract(&app, "ЛД-CLI").await;
    let (company, inn): (uuid::Uuid, String) = sqlx::query_as(
        "SELECT c.company_id, co.inn FROM contracts_view c JOIN companies_view co USING (company_id) \
         WHERE c.contract_id = $1",
    )
    .bind(first)
    .fetch_one(&pool)
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("cabinet-documents-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(dir.join("pdf")).unwrap();
    let contracts = dir.join("contracts.jsonl");
    std::fs::write(
        &contracts,
        serde_json::json!({
            "externalId": "1C-CLI", "number": "ЛД-1C-CLI", "date": "2026-02-01", "company": {"inn": inn},
            "contactEmail": "buh@romashka.ru",
            "subject": {"kind": "экскаватор", "make": "JCB", "model": "3CX", "year": 2024, "serialNumber": "JCB3CX0001"},
            "price": "600000.00", "penalty": {"ratePerDay": "0.1", "baseIncludesVat": true, "paymentDayCounts": true},
            "schedule": [{"dueDate": "2026-03-10", "amount": "300000.00"}, {"dueDate": "2026-04-10", "amount": "300000.00"}]
        })
        .to_string(),
    )
    .unwrap();
    let url = db.url.clone();
    let run = move |args: Vec<String>| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || cabinet_owned(&url, args))
    };
    let o = run(vec![
        "import".into(),
        "contracts".into(),
        contracts.to_string_lossy().into_owned(),
    ])
    .await
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let package = dir.join("package");
    std::fs::create_dir_all(package.join("pdf")).unwrap();
    std::fs::write(package.join("pdf/5.pdf"), b"%PDF-1.7\n\x00\x01").unwrap();
    std::fs::write(
        package.join("documents.jsonl"),
        serde_json::json!({
            "externalId": "ACT-5", "kind": "act", "contract": "1C-CLI", "number": "5", "date": "2026-03-31",
            "periodFrom": "2026-03-01", "periodTo": "2026-03-31", "amount": "300000.00", "vat": "50000.00",
            "pdf": "pdf/5.pdf"
        })
        .to_string(),
    )
    .unwrap();
    let args = vec![
        "import".into(),
        "documents".into(),
        package.to_string_lossy().into_owned(),
        "--json".into(),
    ];
    let o = run(args.clone()).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (
            report["kind"].as_str(),
            report["matched"].as_i64(),
            report["rejected"].as_i64()
        ),
        (Some("accounting_documents"), Some(1), Some(0)),
        "{report}"
    );
    // The act is the company's document, of its contract, for March.
    let (kind, period): (String, chrono::NaiveDate) = sqlx::query_as(
        "SELECT kind, period_from FROM exchange_documents_view WHERE company_id = $1 AND external_id = 'ACT-5'",
    )
    .bind(company)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (kind.as_str(), period.to_string().as_str()),
        ("act", "2026-03-01")
    );
    // Again, as text: unchanged.
    let o = run(args[..3].to_vec()).await.unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("imported 0") && text(&o).contains("unchanged 1"),
        "{}",
        text(&o)
    );
    // A directory without a manifest is not a package: nothing stored.
    let o = run(vec![
        "import".into(),
        "documents".into(),
        dir.join("pdf").to_string_lossy().into_owned(),
    ])
    .await
    .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o).contains("VALIDATION: file:") && text(&o).contains("documents.jsonl"),
        "{}",
        text(&o)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_log_partitions_are_listed_sized_and_archived_from_the_command_line() {
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let pool = db.pool(2).await.unwrap();
    let o = cabinet(&db.url, &["events", "partitions"], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("new partitions: 1000000 positions each, 2 kept ahead"),
        "{}",
        text(&o)
    );
    // Bad values are refused, naming the option, and nothing changes.
    for (args, option) in [
        (&["events", "partitions", "--size", "0"][..], "--size"),
        (&["events", "partitions", "--ahead", "101"][..], "--ahead"),
        (&["events", "archive", "--keep", "0"][..], "--keep"),
    ] {
        let o = cabinet(&db.url, args, None);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(option), "{}", text(&o));
    }
    // A partition still being written is not archived.
    let o = cabinet(
        &db.url,
        &["events", "archive", "--partition", "events_p0"],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("events_p0 is not full"), "{}", text(&o));
    // Small partitions from the end of the last one on: the three big ones are then full, and all but the
    // one the last position fell in are archived.
    sqlx::query(
        "SELECT setval('events_position_seq', (SELECT max(to_position) - 1 FROM event_partitions))",
    )
    .execute(&pool)
    .await
    .unwrap();
    let o = cabinet(&db.url, &["events", "partitions", "--size", "10"], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("new partitions: 10 positions each, 2 kept ahead"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("events_p3000010"), "{}", text(&o));
    let o = cabinet(&db.url, &["events", "archive", "--keep", "1"], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for name in ["events_p0", "events_p1000000"] {
        assert!(
            text(&o).contains(&format!("archived {name}: 0 events")),
            "{}",
            text(&o)
        );
    }
    let archived: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM event_partitions WHERE archived ORDER BY from_position",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(archived, vec!["events_p0", "events_p1000000"]);
    // An archived partition dropped: the listing says the history is incomplete and exits 1.
    sqlx::query("DROP TABLE archive.events_p1000000")
        .execute(&pool)
        .await
        .unwrap();
    let o = cabinet(&db.url, &["events", "partitions"], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("positions 1000000..1999999"),
        "{}",
        text(&o)
    );
}
