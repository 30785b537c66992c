//! The cabinet's day beyond single payments: its screens, sign-in, requests, notifications, a subscription
//! fanned out to many subscribers, the payment command without HTTP, and the close of a business day over
//! the whole data set. Each returns its figures as JSON; `main.rs` renders them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::http::Http;
use crate::profile;
use crate::stats::{run_level, summarize, Level};

/// What every scenario is given.
pub struct Ctx {
    pub http: Http,
    pub pool: PgPool,
    pub secs: Duration,
    pub companies: Arc<Vec<Uuid>>,
    pub contracts: Arc<Vec<Uuid>>,
    pub nonce: String,
    pub server_pid: Option<u32>,
    pub data_dir: std::path::PathBuf,
    pub quick: bool,
}

fn level_row(name: &str, l: &Level, extra: Value) -> Value {
    let mut v = json!({ "what": name, "level": l });
    if let (Some(o), Value::Object(x)) = (v.as_object_mut(), extra) {
        o.extend(x);
    }
    v
}

/// The committed screens (`screens/client`, `screens/staff`), each at 8 clients: screens/s, latency, and
/// what one screen costs PostgreSQL (statements and execution time, from `pg_stat_statements`). The
/// Contract screen is also profiled on the server side.
pub async fn screens(c: &Ctx, request: Option<Uuid>, account: Uuid) -> anyhow::Result<Value> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../screens");
    // A company and one of its contracts, chosen per call; read once, before any screen's statements are
    // counted.
    let pairs: Arc<Vec<(Uuid, Uuid)>> = Arc::new(
        sqlx::query_as(
            "SELECT company_id, contract_id FROM contracts_view WHERE contract_id = ANY($1)",
        )
        .bind(&c.contracts[..c.contracts.len().min(2_000)])
        .fetch_all(&c.pool)
        .await?,
    );
    let mut out = Vec::new();
    let mut profiles = Vec::new();
    for dir in ["client", "staff"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "graphql"))
            .collect();
        files.sort();
        for path in files {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            if name == "Request" && request.is_none() {
                continue;
            }
            let text = Arc::new(std::fs::read_to_string(&path)?);
            let _ = profile::reset(&c.pool).await;
            let perf_data = c.data_dir.join("perf-screen.data");
            let perf = if name == "Contract" {
                c.server_pid
                    .and_then(|pid| profile::start_perf(pid, c.secs.as_secs_f64(), &perf_data))
            } else {
                None
            };
            let (h, pairs) = (c.http.clone(), pairs.clone());
            let level = run_level(8, c.secs, move |w, i| {
                let (h, text, pairs) = (h.clone(), text.clone(), pairs.clone());
                async move {
                    let (company, contract) = pairs[(w * 7919 + i as usize * 31) % pairs.len()];
                    let vars = json!({ "companyId": company, "contractId": contract,
                        "requestId": request, "accountId": account });
                    h.gql(&text, vars).await.map(|_| ())
                }
            })
            .await;
            let statements = profile::statements(&c.pool, level.ok + level.errors).await;
            if let Some(p) = perf {
                let hot = profile::perf_summary(p, &perf_data);
                profiles.push(json!({ "operation": format!("screen {dir}/{name}, 8 clients"),
                    "level": level, "statements": statements.clone(), "server_hot_functions": hot }));
            }
            eprintln!(
                "bench: screen {dir}/{name}: {:.0}/s p99 {:.1} ms, {:.1} statements, {:.2} ms in PostgreSQL",
                level.per_second, level.p99_ms, statements.statements_per_op, statements.exec_ms_per_op
            );
            out.push(level_row(
                &format!("{dir}/{name}"),
                &level,
                json!({ "statements_per_screen": statements.statements_per_op,
                        "postgres_ms_per_screen": statements.exec_ms_per_op }),
            ));
        }
    }
    Ok(json!({ "screens": out, "profiles": profiles }))
}

/// Requests filed (a complaint, the lightest kind) and listed, at 8 clients. Returns the figures and one
/// request's id for the Request screen.
pub async fn requests(c: &Ctx) -> (Value, Option<Uuid>) {
    const SUBMIT: &str = "mutation($i: SubmitRequestInput!, $k: String) { submitRequest(input: $i, idempotencyKey: $k) { request { id } } }";
    const LIST: &str = "query($c: UUID!) { requests(companyId: $c, first: 20) { totalCount edges { node { id kind status submittedAt } } } }";
    let first: Arc<Mutex<Option<Uuid>>> = Arc::default();
    let (h, cs, n, f) = (
        c.http.clone(),
        c.companies.clone(),
        c.nonce.clone(),
        first.clone(),
    );
    let submitted = run_level(8, c.secs, move |w, i| {
        let (h, cs, n, f) = (h.clone(), cs.clone(), n.clone(), f.clone());
        async move {
            let company = cs[(w * 13 + i as usize) % cs.len().min(64)];
            let r = h
                .gql(SUBMIT, json!({ "k": format!("{n}-rq-{w}-{i}"), "i": { "companyId": company,
                    "details": { "complaint": { "subject": "Сверка", "text": "Прошу проверить платёж." } } } }))
                .await?;
            if let Some(id) = r["data"]["submitRequest"]["request"]["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
            {
                if let Ok(mut g) = f.lock() {
                    g.get_or_insert(id);
                }
            }
            Ok(())
        }
    })
    .await;
    let (h, cs) = (c.http.clone(), c.companies.clone());
    let listed = run_level(8, c.secs, move |w, i| {
        let (h, cs) = (h.clone(), cs.clone());
        async move {
            let company = cs[(w * 13 + i as usize) % cs.len().min(64)];
            h.gql(LIST, json!({ "c": company })).await.map(|_| ())
        }
    })
    .await;
    eprintln!(
        "bench: requests filed {:.0}/s, listed {:.0}/s",
        submitted.per_second, listed.per_second
    );
    let id = first.lock().ok().and_then(|g| *g);
    (
        json!([
            level_row("submitRequest (complaint)", &submitted, json!({})),
            level_row("requests list, 20 a page", &listed, json!({}))
        ]),
        id,
    )
}

/// The notification list and the unread count, at 8 clients, over the companies with payments.
pub async fn notifications(c: &Ctx) -> Value {
    const LIST: &str = "query($c: UUID!) { notifications(companyId: $c, first: 20) { totalCount edges { node { id kind title text recordedAt read } } } }";
    const UNREAD: &str = "query($c: UUID!) { unreadNotificationCount(companyId: $c) }";
    let mut rows = Vec::new();
    for (name, q) in [
        ("notifications list, 20 a page", LIST),
        ("unread count", UNREAD),
    ] {
        let (h, cs) = (c.http.clone(), c.companies.clone());
        let l = run_level(8, c.secs, move |w, i| {
            let (h, cs) = (h.clone(), cs.clone());
            async move {
                let company = cs[(w * 7919 + i as usize * 31) % cs.len()];
                h.gql(q, json!({ "c": company })).await.map(|_| ())
            }
        })
        .await;
        eprintln!(
            "bench: {name}: {:.0}/s p99 {:.1} ms",
            l.per_second, l.p99_ms
        );
        rows.push(level_row(name, &l, json!({})));
    }
    Value::Array(rows)
}

/// Sign-in at 1 and 4 clients: bounded by argon2, whose cost is measured alone in this process.
pub async fn sign_in(c: &Ctx, email: &str, password: &str) -> Value {
    const LOGIN: &str = "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token } }";
    let mut rows = Vec::new();
    for clients in [1, 4] {
        let (h, e, p) = (c.http.clone(), email.to_owned(), password.to_owned());
        let l = run_level(clients, c.secs, move |_, _| {
            let (h, e, p) = (h.clone(), e.clone(), p.clone());
            async move { h.gql(LOGIN, json!({ "e": e, "p": p })).await.map(|_| ()) }
        })
        .await;
        eprintln!(
            "bench: sign-in x{clients}: {:.1}/s p50 {:.0} ms",
            l.per_second, l.p50_ms
        );
        rows.push(level_row(
            &format!("login, {clients} clients"),
            &l,
            json!({}),
        ));
    }
    // One argon2 verification alone, in this process, with the server's parameters.
    let hash = api::auth::passwords::hash_async("bench", password.to_owned())
        .await
        .unwrap_or_default();
    let t = Instant::now();
    let n = 5;
    for _ in 0..n {
        let _ = api::auth::passwords::verify(password, &hash);
    }
    let argon2_ms = t.elapsed().as_secs_f64() * 1000.0 / n as f64;
    eprintln!("bench: argon2 verification alone {argon2_ms:.0} ms");
    json!({ "levels": rows, "argon2_verify_ms": argon2_ms })
}

/// `notificationAdded` for one company fanned out to `n` WebSocket subscribers while payments arrive on
/// its contracts: messages delivered per second and the latency from the payment's request to delivery.
pub async fn fan_out(c: &Ctx, subscribers: usize, payments: usize) -> anyhow::Result<Value> {
    const SUB: &str = "subscription($c: UUID) { notificationAdded(companyId: $c) { kind params { bankReference } } }";
    const PAY: &str = crate::http::PAY;
    let (company, contracts): (Uuid, Vec<Uuid>) = {
        let company: Uuid =
            sqlx::query_scalar("SELECT company_id FROM contracts_view WHERE contract_id = $1")
                .bind(c.contracts[1])
                .fetch_one(&c.pool)
                .await?;
        let ks: Vec<Uuid> = sqlx::query_scalar(
            "SELECT contract_id FROM contracts_view WHERE company_id = $1 ORDER BY contract_id",
        )
        .bind(company)
        .fetch_all(&c.pool)
        .await?;
        (company, ks)
    };
    // The subscribers are the company's own people (payment notifications are the client's).
    let token = client_token(c, company).await?;
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let prefix = format!("{}-fan", c.nonce);
    let mut listeners = Vec::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(subscribers);
    for s in 0..subscribers {
        let (url, token) = (c.http.url.clone(), token.clone());
        let (sent, prefix, ready) = (sent.clone(), prefix.clone(), ready_tx.clone());
        listeners.push(tokio::spawn(async move {
            let mut ws = cabinet_tests::Subscriptions::connect(&url, Some(&token))
                .await
                .map_err(|e| anyhow::anyhow!("subscriber {s}: {e}"))?;
            ws.subscribe("n", SUB, json!({ "c": company })).await;
            // The subscription is live once the server has answered a ping-free round: give it a moment.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let _ = ready.send(()).await;
            let mut lat = Vec::new();
            while lat.len() < payments {
                let m = tokio::time::timeout(Duration::from_secs(60), ws.next()).await?;
                let reference = m["payload"]["data"]["notificationAdded"]["params"]
                    ["bankReference"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                if !reference.starts_with(&prefix) {
                    continue;
                }
                let at = sent.lock().ok().and_then(|g| g.get(&reference).copied());
                if let Some(at) = at {
                    lat.push(at.elapsed());
                }
            }
            anyhow::Ok((lat, Instant::now()))
        }));
    }
    drop(ready_tx);
    for _ in 0..subscribers {
        ready_rx.recv().await;
    }
    let started = Instant::now();
    // Four payers, each payment on one of the company's contracts.
    let mut payers = Vec::new();
    for p in 0..4 {
        let (h, ks, sent, prefix) = (
            c.http.clone(),
            contracts.clone(),
            sent.clone(),
            prefix.clone(),
        );
        payers.push(tokio::spawn(async move {
            for i in (p..payments).step_by(4) {
                let reference = format!("{prefix}-{i}");
                if let Ok(mut g) = sent.lock() {
                    g.insert(reference.clone(), Instant::now());
                }
                let _ = h
                    .gql(PAY, json!({ "i": { "contractId": ks[i % ks.len()], "amount": "1.00",
                        "date": "2030-12-31", "bankReference": reference, "purpose": "LEASING_PAYMENT" } }))
                    .await;
            }
        }));
    }
    for p in payers {
        p.await?;
    }
    let mut all = Vec::new();
    let mut last = started;
    for l in listeners {
        let (lat, done) = l.await??;
        all.extend(lat);
        last = last.max(done);
    }
    let seconds = (last - started).as_secs_f64();
    let delivered = all.len();
    let level = summarize(subscribers, all, 0, seconds);
    let per_second = delivered as f64 / seconds.max(1e-9);
    eprintln!(
        "bench: fan-out to {subscribers}: {per_second:.0} messages/s, p50 {:.1} ms, p99 {:.1} ms",
        level.p50_ms, level.p99_ms
    );
    Ok(
        json!({ "subscribers": subscribers, "payments": payments, "delivered": delivered,
               "messages_per_second": per_second, "latency": level }),
    )
}

/// A signed-in CLIENT of `company` (created for the benchmark, terms of use accepted).
async fn client_token(c: &Ctx, company: Uuid) -> anyhow::Result<String> {
    const LOGIN: &str = "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token me { termsAcceptanceRequired } } }";
    let email = domain::values::Email::parse(&format!("client-{}@bench.local", c.nonce))?;
    let password = "client-password-123";
    let id = api::auth::accounts::create_account(
        &c.pool,
        &email,
        password,
        &[api::auth::Role::Client],
        true,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let mut conn = c.pool.acquire().await?;
    api::auth::accounts::link_company(&mut conn, id, company, api::auth::CompanyRole::Director)
        .await?;
    let anonymous = Http {
        token: String::new(),
        ..c.http.clone()
    };
    let r = anonymous
        .gql(LOGIN, json!({ "e": email.as_str(), "p": password }))
        .await
        .map_err(anyhow::Error::msg)?;
    let token = r["data"]["login"]["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("client login: {r}"))?
        .to_owned();
    if let Some(version) = r["data"]["login"]["me"]["termsAcceptanceRequired"].as_i64() {
        Http {
            token: token.clone(),
            ..c.http.clone()
        }
        .gql(
            "mutation($v: Int!) { acceptTerms(input: { version: $v }) { me { id } } }",
            json!({ "v": version }),
        )
        .await
        .map_err(anyhow::Error::msg)?;
    }
    Ok(token)
}

/// The payment command through the application's executor in this process (no HTTP, no GraphQL): the
/// store's cost alone, beside the stock peer's in-process figure.
pub async fn in_process(c: &Ctx, levels: &[usize]) -> anyhow::Result<Vec<(String, Level)>> {
    let settings = api::config::Settings {
        clock: api::config::ClockMode::Manual,
        ..api::config::Settings::default()
    };
    let app = api::app::App::new(c.pool.clone(), &settings)?;
    let contracts = app.contracts.clone();
    let mut out = Vec::new();
    for (mode, spread) in [("spread", true), ("one contract", false)] {
        for &clients in levels {
            let (ex, ks, n) = (contracts.clone(), c.contracts.clone(), c.nonce.clone());
            let level = run_level(clients, c.secs, move |w, i| {
                let (ex, ks, n) = (ex.clone(), ks.clone(), n.clone());
                async move {
                    let id = if spread {
                        ks[(w + i as usize * clients) % ks.len()]
                    } else {
                        ks[2]
                    };
                    let command = domain::contract::ContractCommand::RecordPayment {
                        amount: domain::values::Money::from_decimal(rust_decimal::Decimal::ONE)
                            .map_err(|e| e.to_string())?,
                        date: chrono::NaiveDate::from_ymd_opt(2030, 12, 31).unwrap_or_default(),
                        bank_reference: format!("{n}-inproc-{spread}-{clients}-{w}-{i}"),
                        purpose: domain::contract::PaymentPurpose::LeasingPayment,
                    };
                    ex.execute(
                        &id.to_string(),
                        command,
                        &projections::store::event::CommandMeta::system("bench"),
                    )
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
                }
            })
            .await;
            eprintln!(
                "bench: in-process executor {mode} x{clients}: {:.0}/s",
                level.per_second
            );
            out.push((mode.to_owned(), level));
        }
    }
    Ok(out)
}

/// Closes [`crate::seed::CLOSE_DAY`], the day every seeded contract has a line falling due: the clock
/// first starts the day before (nothing is due then), and the measured day's closing — every contract's
/// `CloseBusinessDay`, its events and read models — is timed until `businessDate.closedThrough` reaches it.
pub async fn day_close(c: &Ctx) -> anyhow::Result<Value> {
    const DATE: &str = "{ businessDate { date closedThrough } }";
    const ADVANCE: &str = "mutation($d: Date!) { advanceClock(input: { to: $d }) { daysStarted } }";
    let day: chrono::NaiveDate = crate::seed::CLOSE_DAY.parse()?;
    let limit = Duration::from_secs(if c.quick { 120 } else { 1_200 });
    let mut seconds = 0.0;
    for date in [day - chrono::Days::new(1), day] {
        let t = Instant::now();
        c.http
            .gql(ADVANCE, json!({ "d": date }))
            .await
            .map_err(anyhow::Error::msg)?;
        loop {
            let r = c
                .http
                .gql(DATE, json!({}))
                .await
                .map_err(anyhow::Error::msg)?;
            if r["data"]["businessDate"]["closedThrough"].as_str() == Some(&date.to_string()) {
                break;
            }
            anyhow::ensure!(t.elapsed() < limit, "{date} did not close within {limit:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        seconds = t.elapsed().as_secs_f64();
    }
    let contracts: i32 =
        sqlx::query_scalar("SELECT contracts FROM business_days_closed WHERE business_date = $1")
            .bind(day)
            .fetch_one(&c.pool)
            .await?;
    let rate = f64::from(contracts) / seconds;
    eprintln!("bench: day close {day}: {contracts} contracts in {seconds:.1} s ({rate:.0}/s)");
    Ok(
        json!({ "date": day, "contracts": contracts, "seconds": seconds, "contracts_per_second": rate }),
    )
}

/// Runs the importer of `kind` on `file` in a child process, as `cabinet import` does while the server runs
/// (its peak memory is the import's), and reads back its report, seconds and peak RSS.
async fn child_import(kind: &str, url: &str, file: &std::path::Path) -> anyhow::Result<Value> {
    let out = tokio::process::Command::new(std::env::current_exe()?)
        .args(["import", "--kind", kind, "--url", url, "--file"])
        .arg(file)
        .output()
        .await?;
    anyhow::ensure!(
        out.status.success(),
        "the {kind} import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(
        out.stdout
            .split(|b| *b == b'\n')
            .rfind(|l| l.starts_with(b"{"))
            .unwrap_or_default(),
    )?)
}

/// A bank statement of 100,000 payments (10,000 in a quick run) imported as `cabinet import statement`
/// does, in a child process while the server runs: each names a seeded contract by its number and comes
/// from its lessee. Reports the import's lines/s (read, matched, received), the payments posted per second
/// until the server's `bank-payments` worker has posted every part (end to end), and the importing
/// process's peak RSS — what "bounded memory" means for a file this size.
pub async fn statement_import(c: &Ctx, url: &str) -> anyhow::Result<Value> {
    let lines = if c.quick { 10_000 } else { 100_000 };
    let contracts: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.number, co.inn FROM contracts_view c JOIN companies_view co USING (company_id) \
         WHERE c.status IN ('concluded', 'active') ORDER BY c.contract_id LIMIT 5000",
    )
    .fetch_all(&c.pool)
    .await?;
    anyhow::ensure!(!contracts.is_empty(), "no open contract to pay");
    let account = "40701810000000000001";
    let file = c.data_dir.join("statement.txt");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        write!(
            w,
            "1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=UTF-8\r\nРасчСчет={account}\r\n"
        )?;
        for i in 0..lines {
            let (number, inn) = &contracts[i % contracts.len()];
            write!(
                w,
                "СекцияДокумент=Платежное поручение\r\nНомер={n}\r\nДата=14.06.2027\r\nСумма=100.00\r\n\
                 ПлательщикСчет=40702810900000000002\r\nПлательщикИНН={inn}\r\nПлательщик1=ООО Плательщик\r\n\
                 ПолучательСчет={account}\r\nКод=0\r\nНазначениеПлатежа=Лизинговый платеж по договору лизинга \
                 № {number}, НДС не облагается\r\nКонецДокумента\r\n",
                n = 900_000 + i,
            )?;
        }
        write!(w, "КонецФайла\r\n")?;
        w.flush()?;
    }
    let bytes = std::fs::metadata(&file)?.len();
    let started = Instant::now();
    let child = child_import("statement", url, &file).await?;
    // The server's worker posts every part: wait until it has passed the last payment received.
    let limit = Duration::from_secs(if c.quick { 300 } else { 3_600 });
    loop {
        let done: bool = sqlx::query_scalar(
            "SELECT coalesce((SELECT position FROM projection_checkpoints WHERE name = 'bank-payments'), 0) \
             >= coalesce((SELECT max(position) FROM events WHERE aggregate_type = 'BankPayment'), 0)",
        )
        .fetch_one(&c.pool)
        .await?;
        if done {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < limit,
            "posting did not finish within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let end_to_end = started.elapsed().as_secs_f64();
    let seconds = child["seconds"].as_f64().unwrap_or(f64::NAN);
    let matched = child["report"]["matched"].as_f64().unwrap_or(0.0);
    let _ = std::fs::remove_file(&file);
    Ok(json!({
        "lines": lines,
        "file_bytes": bytes,
        "import_seconds": seconds,
        "lines_per_second": lines as f64 / seconds,
        "end_to_end_seconds": end_to_end,
        "payments_posted_per_second": matched / end_to_end,
        "importer_peak_rss_mb": child["peak_rss_mb"],
        "report": child["report"],
    }))
}

/// A traffic fines register of 100,000 resolutions (10,000 in a quick run), CSV, on the seeded contracts'
/// plates (several fines per contract: they go in waves of distinct contracts), imported as `cabinet import
/// fines` does in a child process while the server runs. Reports fines re-billed per second and the
/// importer's peak RSS.
pub async fn fines_import(c: &Ctx, url: &str) -> anyhow::Result<Value> {
    let lines = if c.quick { 10_000 } else { 100_000 };
    let plates: Vec<String> = sqlx::query_scalar(
        "SELECT registration_plate FROM contracts_view \
         WHERE status IN ('concluded', 'active') AND registration_plate IS NOT NULL \
         ORDER BY contract_id LIMIT 20000",
    )
    .fetch_all(&c.pool)
    .await?;
    anyhow::ensure!(!plates.is_empty(), "no leased vehicle with a plate");
    let file = c.data_dir.join("fines.csv");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        writeln!(w, "УИН;Дата постановления;Сумма;Статья;Госномер;Описание")?;
        for i in 0..lines {
            writeln!(
                w,
                "1881{i:016};01.06.2027;500,00;ч. 2 ст. 12.9;{};Превышение скорости на 20–40 км/ч",
                plates[i % plates.len()]
            )?;
        }
        w.flush()?;
    }
    let bytes = std::fs::metadata(&file)?.len();
    let child = child_import("fines", url, &file).await?;
    let seconds = child["seconds"].as_f64().unwrap_or(f64::NAN);
    let registered = child["report"]["matched"].as_f64().unwrap_or(0.0);
    anyhow::ensure!(
        registered as usize == lines,
        "{registered} of {lines} fines registered: {}",
        child["report"]
    );
    let _ = std::fs::remove_file(&file);
    eprintln!(
        "bench: fines import: {lines} in {seconds:.1} s ({:.0}/s)",
        registered / seconds
    );
    Ok(json!({
        "lines": lines,
        "file_bytes": bytes,
        "import_seconds": seconds,
        "fines_per_second": registered / seconds,
        "importer_peak_rss_mb": child["peak_rss_mb"],
        "report": child["report"],
    }))
}

/// The accounting system's files: a contracts file of 20,000 contracts (2,000 in a quick run) of the seeded
/// companies, each with twelve schedule lines and a policy, imported as `cabinet import contracts` does; then
/// a package (a directory) of one УПД per contract — a PDF and its ФНС XML, each checked against its line —
/// as `cabinet import documents` does. Reports contracts and documents per second and each importer's peak
/// RSS.
pub async fn accounting_import(c: &Ctx, url: &str) -> anyhow::Result<Value> {
    use std::io::Write;
    let count = if c.quick { 2_000 } else { 20_000 };
    // The lessee by ИНН and КПП (the seeded companies share ИНН).
    let companies: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT inn, kpp FROM companies_view ORDER BY company_id LIMIT 2000")
            .fetch_all(&c.pool)
            .await?;
    anyhow::ensure!(!companies.is_empty(), "no company to import contracts for");
    let file = c.data_dir.join("contracts.jsonl");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        for i in 0..count {
            let schedule: Vec<Value> = (1..=12)
                .map(|m| json!({"dueDate": format!("2028-{m:02}-10"), "amount": "50000.00"}))
                .collect();
            writeln!(
                w,
                "{}",
                json!({
                    "externalId": format!("BENCH-{i}"), "number": format!("1С-{i:06}"), "date": "2027-06-01",
                    "company": {"inn": companies[i % companies.len()].0, "kpp": companies[i % companies.len()].1},
                    "contactEmail": "buh@bench.example",
                    "subject": {"kind": "станок", "make": "DMG", "model": "CTX", "year": 2026,
                                "serialNumber": format!("SN-{i}")},
                    "price": "600000.00",
                    "penalty": {"ratePerDay": "0.1", "baseIncludesVat": true, "paymentDayCounts": true},
                    "schedule": schedule,
                    "policies": [{"externalId": format!("BENCH-P-{i}"), "kind": "property", "insurer": "ВСК",
                                  "number": format!("ИМ-{i}"), "startsOn": "2027-06-01", "endsOn": "2028-05-31",
                                  "sumInsured": "600000.00", "premium": "6000.00", "payer": "lessor"}]
                })
            )?;
        }
        w.flush()?;
    }
    let contracts_bytes = std::fs::metadata(&file)?.len();
    let child = child_import("contracts", url, &file).await?;
    let contracts_seconds = child["seconds"].as_f64().unwrap_or(f64::NAN);
    let created = child["report"]["matched"].as_f64().unwrap_or(0.0);
    anyhow::ensure!(
        created as usize == count,
        "{created} of {count} contracts created: {}",
        child["report"]
    );
    let contracts_rss = child["peak_rss_mb"].clone();
    let _ = std::fs::remove_file(&file);
    eprintln!(
        "bench: contracts import: {count} in {contracts_seconds:.1} s ({:.0}/s)",
        created / contracts_seconds
    );

    // One УПД per contract, for its lessee.
    let package = c.data_dir.join("documents");
    std::fs::create_dir_all(package.join("files"))?;
    {
        let mut w =
            std::io::BufWriter::new(std::fs::File::create(package.join("documents.jsonl"))?);
        for i in 0..count {
            let inn = &companies[i % companies.len()].0;
            let pdf = format!("files/{i}.pdf");
            let xml = format!("files/{i}.xml");
            std::fs::write(package.join(&pdf), format!("%PDF-1.7\n% УПД {i}\n%%EOF\n"))?;
            std::fs::write(
                package.join(&xml),
                format!(
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?><Файл ИдФайл=\"ON_NSCHFDOPPR_{i}\" ВерсФорм=\"5.03\">\
                     <Документ КНД=\"1115131\" Функция=\"СЧФДОП\"><СвСчФакт НомерДок=\"{i}\" ДатаДок=\"30.06.2027\">\
                     <СвПокуп><ИдСв><СвЮЛУч ИННЮЛ=\"{inn}\"/></ИдСв></СвПокуп></СвСчФакт><ТаблСчФакт>\
                     <ВсегоОпл СтТовУчНалВсего=\"50000.00\"><СумНалВсего><СумНал>9016.39</СумНал></СумНалВсего>\
                     </ВсегоОпл></ТаблСчФакт></Документ></Файл>"
                ),
            )?;
            writeln!(
                w,
                "{}",
                json!({
                    "externalId": format!("BENCH-UPD-{i}"), "kind": "upd", "contract": format!("BENCH-{i}"),
                    "number": i.to_string(), "date": "2027-06-30", "periodFrom": "2027-06-01",
                    "periodTo": "2027-06-30", "amount": "50000.00", "vat": "9016.39", "pdf": pdf, "xml": xml
                })
            )?;
        }
        w.flush()?;
    }
    let child = child_import("documents", url, &package).await?;
    let documents_seconds = child["seconds"].as_f64().unwrap_or(f64::NAN);
    let imported = child["report"]["matched"].as_f64().unwrap_or(0.0);
    anyhow::ensure!(
        imported as usize == count,
        "{imported} of {count} documents imported: {}",
        child["report"]
    );
    let _ = std::fs::remove_dir_all(&package);
    eprintln!(
        "bench: documents import: {count} in {documents_seconds:.1} s ({:.0}/s)",
        imported / documents_seconds
    );
    Ok(json!({
        "contracts": count,
        "contracts_file_bytes": contracts_bytes,
        "contracts_seconds": contracts_seconds,
        "contracts_per_second": created / contracts_seconds,
        "contracts_importer_peak_rss_mb": contracts_rss,
        "documents": count,
        "documents_seconds": documents_seconds,
        "documents_per_second": imported / documents_seconds,
        "documents_importer_peak_rss_mb": child["peak_rss_mb"],
    }))
}
