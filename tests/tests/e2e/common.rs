//! The end-to-end harness: a fresh migrated PostgreSQL database per test and the real router, driven
//! in-process through `tower::ServiceExt::oneshot`.

use api::app::App;
use api::auth::{accounts, CompanyRole, Role};
use api::config::Settings;
use api::http::router;
use axum::body::Body;
use axum::http::Request;
use axum::Router;
use domain::values::Email;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::path::PathBuf;
use tower::ServiceExt;
use uuid::Uuid;

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub app: App,
    pub router: Router,
    pub pool: PgPool,
    /// The data directory: mails are written under `mail/`.
    pub data_dir: PathBuf,
    /// The test database's URL (the end-of-test verification connects on its own).
    pub database_url: String,
    /// The HTTP settings the router was built with (and `serve_http` serves with).
    pub http: api::http::HttpConfig,
    /// Keeps the background work (process managers, outbox sender) running while the test runs.
    _stop: tokio::sync::watch::Sender<bool>,
}

/// The client address requests come from unless a test says otherwise (TEST-NET-1).
pub const ADDRESS: &str = "192.0.2.10";

/// The argon2 cost of tests: OWASP's minimum (19 MiB, 2 passes). The parameters change nothing but time,
/// and the shipped default is measured by `cabinet accounts hashing-time`.
pub const TEST_HASH_COST: api::auth::passwords::HashCost = api::auth::passwords::HashCost {
    memory_kib: 19 * 1024,
    iterations: 2,
    parallelism: 1,
};

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A test application whose settings `tune` adjusts.
    pub async fn spawn_with(tune: impl FnOnce(&mut Settings)) -> Self {
        let db = projections::postgres::testing::fresh_database()
            .await
            .expect("test database");
        Self::spawn_at(&db.url, tune).await
    }

    /// A test application on the migrated database at `database_url` (a cluster the test runs itself).
    pub async fn spawn_at(database_url: &str, tune: impl FnOnce(&mut Settings)) -> Self {
        let pool = projections::postgres::db::connect(database_url, 20)
            .await
            .expect("pool");
        let data_dir =
            std::env::temp_dir().join(format!("cabinet-test-{}", Uuid::new_v4().simple()));
        let mut settings = Settings {
            clock: api::config::ClockMode::Manual,
            data_dir: data_dir.clone(),
            argon2: TEST_HASH_COST,
            // Tests sign in often from one address; the rate-limit test lowers this.
            auth_rate_per_minute: 1_000,
            reset_answer_floor_ms: 50,
            // The demo's fictional lessor signs the tests' documents (a real install must configure it).
            demo: true,
            ..Settings::default()
        };
        tune(&mut settings);
        let app = App::new(pool.clone(), &settings).expect("app");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        api::workers::start(&app, &settings, stopped)
            .await
            .expect("background tasks");
        let http = api::http::HttpConfig::from(&settings);
        Self {
            router: router(app.clone(), &http),
            http,
            app,
            pool,
            data_dir,
            database_url: database_url.to_owned(),
            _stop: stop,
        }
    }

    /// Runs a GraphQL operation; returns the whole response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.gql_from(ADDRESS, "cabinet-tests/1.0", token, query, variables)
            .await
    }

    /// Runs a GraphQL operation from a client `address` with `user_agent`.
    pub async fn gql_from(
        &self,
        address: &str,
        user_agent: &str,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let body = self
            .post_graphql(
                address,
                &[("user-agent", user_agent)],
                token,
                query,
                variables,
            )
            .await;
        serde_json::from_slice(&body).unwrap()
    }

    /// Runs a GraphQL operation with extra request headers; returns the whole response body.
    pub async fn gql_headers(
        &self,
        headers: &[(&str, &str)],
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let body = self
            .post_graphql(ADDRESS, headers, token, query, variables)
            .await;
        serde_json::from_slice(&body).unwrap()
    }

    /// Runs a GraphQL operation with an `Accept-Language` header; returns the whole response body.
    pub async fn gql_in(
        &self,
        accept_language: &str,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let headers = [("accept-language", accept_language)];
        let body = self
            .post_graphql(ADDRESS, &headers, token, query, variables)
            .await;
        serde_json::from_slice(&body).unwrap()
    }

    /// Runs a GraphQL operation; returns the response body as the text the server wrote (the order of
    /// its keys included, which a parsed `Value` forgets).
    pub async fn gql_text(&self, token: Option<&str>, query: &str, variables: Value) -> String {
        let body = self
            .post_graphql(ADDRESS, &[], token, query, variables)
            .await;
        String::from_utf8(body).unwrap()
    }

    /// The position of the log's first event (read as `admin`, an ADMIN): `after` it, a subscription delivers
    /// everything since the start.
    pub async fn first_position(&self, admin: &str) -> Value {
        let r = self
            .gql(
                Some(admin),
                "{ events(first: 1) { edges { node { position } } } }",
                json!({}),
            )
            .await;
        let p = r["data"]["events"]["edges"][0]["node"]["position"].clone();
        assert!(p.is_string(), "{r}");
        p
    }

    /// `POST /graphql` from `address` with `headers` (and the bearer `token`); the response body.
    async fn post_graphql(
        &self,
        address: &str,
        headers: &[(&str, &str)],
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Vec<u8> {
        let mut req = Request::post("/graphql").header("content-type", "application/json");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let body = json!({ "query": query, "variables": variables }).to_string();
        let mut req = req.body(Body::from(body)).unwrap();
        let peer: std::net::SocketAddr = format!("{address}:40000").parse().unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let resp = self.router.clone().oneshot(req).await.unwrap();
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    /// Waits (with a deadline) until the outbox has sent a mail of `template` to `to`, and reads it back
    /// from the file transport. With several, the newest.
    pub async fn mail(&self, to: &str, template: &str) -> Mail {
        eventually(&format!("a {template} mail to {to} sent"), || async {
            let id: Option<String> = sqlx::query_scalar(
                "SELECT message_id FROM outbox WHERE recipient = $1 AND template = $2 AND sent_at IS NOT NULL \
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(to)
            .bind(template)
            .fetch_optional(&self.pool)
            .await
            .unwrap();
            // The file the transport wrote must be the row's mail: same Message-ID, recipient and template.
            id.and_then(|id| {
                self.mails().into_iter().find(|m| {
                    m.message_id == id && m.to.contains(to) && m.template == template
                })
            })
            .ok_or_else(|| "not in the outbox as sent, or not in the mail directory".to_owned())
        })
        .await
    }

    /// Every mail the file transport wrote.
    pub fn mails(&self) -> Vec<Mail> {
        let Ok(dir) = std::fs::read_dir(self.data_dir.join("mail")) else {
            return Vec::new();
        };
        dir.filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|raw| Mail::parse(&raw))
            .collect()
    }

    /// How many mails of `template` to `to` the outbox holds (sent or not).
    pub async fn outbox_count(&self, to: &str, template: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE recipient = $1 AND template = $2")
            .bind(to)
            .bind(template)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Creates an account with `role` (and company links, as the companies' director) and signs it in;
    /// returns the token.
    pub async fn sign_in(&self, role: Role, companies: &[Uuid]) -> String {
        self.sign_in_person(role, CompanyRole::Director, companies)
            .await
            .0
    }

    /// Creates an account with `role`, linked to `companies` with `company_role`, and signs it in; returns
    /// the token, the login and the account id.
    pub async fn sign_in_person(
        &self,
        role: Role,
        company_role: CompanyRole,
        companies: &[Uuid],
    ) -> (String, String, Uuid) {
        let email = format!(
            "{}-{}@test.local",
            role.as_str().to_lowercase(),
            Uuid::new_v4().simple()
        );
        let id = accounts::create_account(
            &self.pool,
            &Email::parse(&email).unwrap(),
            PASSWORD,
            &[role],
            false,
        )
        .await
        .unwrap();
        let mut conn = self.pool.acquire().await.unwrap();
        for c in companies {
            accounts::link_company(&mut conn, id, *c, company_role)
                .await
                .unwrap();
        }
        drop(conn);
        let token = self.login(&email, PASSWORD).await;
        if role == Role::Admin {
            // An administrator signs in with two factors (the default): enrol an app as a person would.
            self.enrol_totp(&token, PASSWORD).await;
        }
        (token, email, id)
    }

    /// Enrols an authenticator app for the session's account; returns the base32 secret and the recovery
    /// codes.
    pub async fn enrol_totp(&self, token: &str, password: &str) -> (String, Vec<String>) {
        let r = self
            .gql(
                Some(token),
                "mutation($p: String!) { startTotpEnrolment(input: {currentPassword: $p}) { secret otpauthUrl } }",
                json!({"p": password}),
            )
            .await;
        let secret = r["data"]["startTotpEnrolment"]["secret"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}"))
            .to_owned();
        let code = api::auth::totp::current_code(&secret).unwrap();
        let r = self
            .gql(
                Some(token),
                "mutation($c: String!) { confirmTotpEnrolment(input: {code: $c}) { recoveryCodes } }",
                json!({"c": code}),
            )
            .await;
        let codes = r["data"]["confirmTotpEnrolment"]["recoveryCodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{r}"))
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        (secret, codes)
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self.try_login(email, password).await;
        r["data"]["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login failed: {r}"))
            .to_owned()
    }

    /// A login's whole response.
    pub async fn try_login(&self, email: &str, password: &str) -> Value {
        self.gql(
            None,
            "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token } }",
            json!({"e": email, "p": password}),
        )
        .await
    }

    /// Registers a company as `token`; returns the response.
    pub async fn register(&self, token: &str, input: Value) -> Value {
        self.gql(
            Some(token),
            "mutation($i: RegisterCompanyInput!, $k: String) { registerCompany(input: $i, idempotencyKey: $k) { \
               position replayed company { id inn kpp shortName legalAddress postalAddress kind } } }",
            json!({"i": input, "k": null}),
        )
        .await
    }

    /// Registers a company and returns its id.
    pub async fn company(&self, token: &str, input: Value) -> Uuid {
        let r = self.register(token, input).await;
        r["data"]["registerCompany"]["company"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("registration failed: {r}"))
            .parse()
            .unwrap()
    }

    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// `cabinet projections verify`: every read model equals a replay of the log.
    pub async fn assert_read_models_equal_the_log(&self) {
        let diffs = projections::engine::runner::verify(&self.pool, &self.app.inline)
            .await
            .unwrap();
        assert!(
            diffs.is_empty(),
            "read models differ from the log: {diffs:?}"
        );
    }
}

/// A valid legal entity, with its ИНН and КПП.
pub fn company_input(inn: &str, kpp: &str) -> Value {
    json!({
        "inn": inn,
        "kpp": kpp,
        "ogrn": "1027700132195",
        "fullName": "Общество с ограниченной ответственностью «Ромашка»",
        "shortName": "ООО «Ромашка»",
        "legalAddress": "117997, Москва, ул. Вавилова, 19",
        "bank": {
            "bankName": "ПАО Сбербанк",
            "bik": "044525225",
            "correspondentAccount": "30101810400000000225",
            "settlementAccount": "40702810938000012345"
        },
        "contactEmail": "office@romashka.ru",
        "contactPhone": "+7 495 500-55-50"
    })
}

/// The first error's `extensions.code` and `extensions.field`.
pub fn error(r: &Value) -> (String, Option<String>) {
    let e = &r["errors"][0];
    (
        e["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error in {r}"))
            .to_owned(),
        e["extensions"]["field"].as_str().map(str::to_owned),
    )
}

impl Drop for TestApp {
    /// Every end-to-end scenario ends with `cabinet projections verify` on its database: whatever the test
    /// did, every read model must equal a replay of its log. (Not after a failed test: its own failure is
    /// the news.)
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if std::thread::panicking() {
            return;
        }
        let url = self.database_url.clone();
        // The test's runtime is in the middle of dropping this value: verify on a runtime of its own.
        let diffs = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let pool = projections::postgres::db::connect(&url, 1)
                    .await
                    .expect("connect");
                let diffs = projections::engine::runner::verify(
                    &pool,
                    &projections::executors::inline_projections(),
                )
                .await
                .expect("projections verify");
                pool.close().await;
                diffs
            })
        })
        .join()
        .expect("verification thread");
        assert!(
            diffs.is_empty(),
            "projections verify after the scenario: read models differ from the log: {diffs:?}"
        );
    }
}

/// A mail read back from the file transport.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub message_id: String,
    pub template: String,
    /// The decoded text/plain part.
    pub text: String,
    /// The decoded text/html part.
    pub html: String,
}

impl Mail {
    /// Parses what lettre wrote: headers, then a multipart/alternative body with base64 text and HTML.
    pub fn parse(raw: &str) -> Option<Self> {
        use base64::Engine;
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n")?;
        // Unfold continuation lines.
        let head = head.replace("\n ", " ").replace("\n\t", " ");
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .map(str::trim)
                .map(str::to_owned)
        };
        let part = |content_type: &str| -> Option<String> {
            let start = body.find(&format!("Content-Type: {content_type}"))?;
            let rest = &body[start..];
            let (_, encoded) = rest.split_once("\n\n")?;
            let encoded: String = encoded
                .lines()
                .take_while(|l| !l.starts_with("--"))
                .collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()?;
            String::from_utf8(bytes).ok()
        };
        Some(Self {
            to: header("To")?,
            message_id: header("Message-ID")?,
            template: header("X-Cabinet-Template")?,
            text: part("text/plain")?,
            html: part("text/html")?,
        })
    }

    /// The value shown on its own line (a password or control string).
    pub fn code(&self) -> String {
        self.text
            .lines()
            .find_map(|l| l.strip_prefix("    "))
            .unwrap_or_else(|| panic!("no code in {}", self.text))
            .trim()
            .to_owned()
    }
}

/// Concludes a one-line contract (explicit schedule) for `company` naming `contact` as its contact e-mail;
/// returns the contract id.
pub async fn conclude(
    t: &TestApp,
    token: &str,
    company: Uuid,
    number: &str,
    contact: &str,
) -> Uuid {
    let r = t
        .gql(
            Some(token),
            "mutation($i: ConcludeContractInput!) { concludeContract(input: $i) { contract { id } } }",
            json!({"i": {
                "companyId": company, "number": number, "date": "2026-02-01", "contactEmail": contact,
                "subject": {"kind": "станок", "make": "DMG", "model": "CTX", "year": 2025, "serialNumber": "1"},
                "price": "300000", "advance": {"amount": "0"}, "termMonths": 1, "annualRate": "0",
                "firstDueDate": "2026-03-10", "scheduleKind": "EXPLICIT",
                "lines": [{"dueDate": "2026-03-10", "amount": "300000"}], "redemption": "0",
                "penalty": {"ratePerDay": "0.1", "baseIncludesVat": true, "paymentDayCounts": true}}}),
        )
        .await;
    r["data"]["concludeContract"]["contract"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .parse()
        .unwrap()
}

impl TestApp {
    /// Waits (with a deadline) until the request-effects worker has recorded the effect of `request`, and
    /// returns the request as `token` sees it (`effectDetail`, `documents { id kind requestId }`). The mail
    /// of a documents request is queued before the effect is recorded.
    pub async fn effect_recorded(&self, token: &str, request: &str) -> Value {
        eventually("the request's effect recorded", || async {
            let r = self
                .gql(
                    Some(token),
                    "query($r: UUID!) { request(id: $r) { effectDetail documents { id kind requestId } } }",
                    json!({ "r": request }),
                )
                .await;
            if r["data"]["request"]["effectDetail"].is_string() {
                Ok(r["data"]["request"].clone())
            } else {
                Err(r.to_string())
            }
        })
        .await
    }

    /// The whole file of the mail `message_id` in the file transport (headers, parts, attachments).
    pub fn raw_mail(&self, message_id: &str) -> String {
        std::fs::read_dir(self.data_dir.join("mail"))
            .expect("the mail directory")
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .find(|m| m.contains(message_id))
            .expect("the mail file")
    }

    /// Waits (with a deadline) until the catch-up consumer `name` has passed every contract event.
    pub async fn wait_for_consumer(&self, name: &str) {
        self.wait_for_consumer_of(name, "Contract").await
    }

    /// Provisions `email` through a contract of `company`, signs in with the mailed temporary password and
    /// changes it to `password`; returns a token of the finished account.
    pub async fn provisioned_client(
        &self,
        staff: &str,
        company: Uuid,
        number: &str,
        email: &str,
        password: &str,
    ) -> String {
        conclude(self, staff, company, number, email).await;
        let temporary = self.mail(email, "temporary_password").await.code();
        let token = self.login(email, &temporary).await;
        let r = self
            .gql(
                Some(&token),
                "mutation($c: String!, $n: String!) { changePassword(input: { currentPassword: $c, newPassword: $n }) { me { mustChangePassword } } }",
                json!({"c": temporary, "n": password}),
            )
            .await;
        assert_eq!(
            r["data"]["changePassword"]["me"]["mustChangePassword"], false,
            "{r}"
        );
        token
    }

    /// The kinds in an account's security log, oldest first, read by `token`.
    pub async fn security_kinds(&self, token: &str, account: Uuid) -> Vec<String> {
        let r = self
            .gql(
                Some(token),
                "query($a: UUID!) { securityLog(accountId: $a, first: 100) { edges { node { kind } } } }",
                json!({"a": account}),
            )
            .await;
        let mut kinds: Vec<String> = r["data"]["securityLog"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{r}"))
            .iter()
            .map(|e| e["node"]["kind"].as_str().unwrap().to_owned())
            .collect();
        kinds.reverse();
        kinds
    }

    /// The account id of a login.
    pub async fn account_id(&self, email: &str) -> Uuid {
        sqlx::query_scalar("SELECT account_id FROM accounts WHERE email = $1")
            .bind(email)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

impl TestApp {
    /// Waits (with a deadline) until `n` mails of `template` to `to` have been sent.
    pub async fn wait_mail_count(&self, to: &str, template: &str, n: i64) {
        eventually(&format!("{n} {template} mails to {to} sent"), || async {
            let sent: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM outbox WHERE recipient = $1 AND template = $2 AND sent_at IS NOT NULL",
            )
            .bind(to)
            .bind(template)
            .fetch_one(&self.pool)
            .await
            .unwrap();
            if sent >= n {
                Ok(())
            } else {
                Err(format!("{sent} sent"))
            }
        })
        .await
    }
}

/// Polls `check` every 20 ms until it succeeds and returns its value; fails the test after 30 s, saying
/// `what` was expected and the last state `check` reported. Tests wait for results this way, never by
/// sleeping a fixed time.
pub async fn eventually<T, Fut>(what: &str, mut check: impl FnMut() -> Fut) -> T
where
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) => assert!(
                std::time::Instant::now() < deadline,
                "expected {what} in time; last: {last}"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A small valid PDF for upload tests.
pub const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

impl TestApp {
    /// Runs a GraphQL operation with files, as the GraphQL multipart request spec sends them: each file
    /// `(variable path, name, content type, bytes)` fills a `null` in `variables`.
    pub async fn gql_upload(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        files: &[(&str, &str, &str, &[u8])],
    ) -> Value {
        let boundary = "cabinet-test-boundary-7f3a";
        let mut body: Vec<u8> = Vec::new();
        let mut part = |headers: String, content: &[u8]| {
            body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        };
        let operations = json!({ "query": query, "variables": variables }).to_string();
        part(
            "Content-Disposition: form-data; name=\"operations\"".into(),
            operations.as_bytes(),
        );
        let map: serde_json::Map<String, Value> = files
            .iter()
            .enumerate()
            .map(|(i, (path, ..))| (i.to_string(), json!([format!("variables.{path}")])))
            .collect();
        part(
            "Content-Disposition: form-data; name=\"map\"".into(),
            Value::Object(map).to_string().as_bytes(),
        );
        for (i, (_, name, content_type, bytes)) in files.iter().enumerate() {
            part(
                format!(
                    "Content-Disposition: form-data; name=\"{i}\"; filename=\"{name}\"\r\nContent-Type: {content_type}"
                ),
                bytes,
            );
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut req = Request::post("/graphql")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            // What upload links send so that a cross-site form cannot pass for them.
            .header("apollo-require-preflight", "true")
            .header("user-agent", "cabinet-tests/1.0");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let mut req = req.body(Body::from(body)).unwrap();
        let peer: std::net::SocketAddr = format!("{ADDRESS}:40000").parse().unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!({ "raw": String::from_utf8_lossy(&bytes) }))
    }

    /// `GET /documents/{sha256}` with `token`: the status and the body.
    pub async fn download(&self, token: Option<&str>, sha256: &str) -> (u16, Vec<u8>) {
        let mut req = Request::get(format!("/documents/{sha256}"));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, bytes.to_vec())
    }

    /// `GET path` (a link the API handed out) without any header: the status and the body.
    pub async fn open_link(&self, path: &str) -> (u16, Vec<u8>) {
        let resp = self
            .router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, bytes.to_vec())
    }

    /// `GET /documents/{sha256}` with `token`: the status and the Content-Disposition offered.
    pub async fn download_disposition(&self, token: &str, sha256: &str) -> (u16, String) {
        let req = Request::get(format!("/documents/{sha256}"))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let disposition = resp
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (resp.status().as_u16(), disposition)
    }

    /// Waits (with a deadline) until the catch-up consumer `name` has passed every event of
    /// `aggregate_type`.
    pub async fn wait_for_consumer_of(&self, name: &str, aggregate_type: &str) {
        eventually(&format!("consumer {name} caught up"), || async {
            let done: bool = sqlx::query_scalar(
                "SELECT coalesce((SELECT position FROM projection_checkpoints WHERE name = $1), 0) \
                 >= coalesce((SELECT max(position) FROM events WHERE aggregate_type = $2), 0)",
            )
            .bind(name)
            .bind(aggregate_type)
            .fetch_one(&self.pool)
            .await
            .unwrap();
            if done {
                Ok(())
            } else {
                Err(format!("behind the last {aggregate_type} event"))
            }
        })
        .await
    }
}

impl TestApp {
    /// Serves the application over real HTTP (and WebSocket) on a free local port until the test ends;
    /// returns its base URL.
    pub async fn serve_http(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = self.app.clone();
        let http = self.http.clone();
        tokio::spawn(async move {
            api::http::serve(listener, app, &http, std::future::pending::<()>()).await
        });
        format!("http://{addr}")
    }
}

impl TestApp {
    /// Advances the business clock to `day` as `admin` and waits (with a deadline) until the business-day
    /// process has closed it.
    pub async fn advance_clock(&self, admin: &str, day: &str) {
        let r = self
            .gql(
                Some(admin),
                "mutation($d: Date!) { advanceClock(input: { to: $d }) { businessDate daysStarted } }",
                json!({ "d": day }),
            )
            .await;
        assert!(r["errors"].is_null(), "advanceClock failed: {r}");
        eventually(&format!("day {day} closed"), || async {
            let r = self
                .gql(Some(admin), "{ businessDate { closedThrough } }", json!({}))
                .await;
            if r["data"]["businessDate"]["closedThrough"].as_str() == Some(day) {
                Ok(())
            } else {
                Err(r.to_string())
            }
        })
        .await
    }
}

impl TestApp {
    /// The personal-data catalogue's check (issue 21): no string in `events` or `snapshots` as stored is an
    /// e-mail, a phone number or one of `also` (names, licences) — every personal field of every event the
    /// test produced is sealed. A new field carrying such a value outside `Personal` fails here.
    pub async fn assert_no_clear_personal_data_in_the_log(&self, also: &[&str]) {
        fn leaves<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
            match v {
                Value::String(s) => out.push(s),
                Value::Array(a) => a.iter().for_each(|x| leaves(x, out)),
                Value::Object(o) => o.values().for_each(|x| leaves(x, out)),
                _ => {}
            }
        }
        let rows: Vec<(String, Value)> = sqlx::query_as(
            "SELECT aggregate_type || ' ' || event_type, payload FROM events \
             UNION ALL SELECT 'snapshot ' || aggregate_type, payload FROM snapshots",
        )
        .fetch_all(&self.pool)
        .await
        .unwrap();
        assert!(!rows.is_empty());
        for (what, payload) in &rows {
            let mut strings = Vec::new();
            leaves(payload, &mut strings);
            for s in strings {
                let email = s
                    .split_once('@')
                    .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !s.contains(' '));
                let phone = s.len() == 12
                    && s.starts_with("+7")
                    && s[1..].chars().all(|c| c.is_ascii_digit());
                assert!(!email && !phone, "{what} stores {s:?} in clear");
                for a in also {
                    assert!(!s.contains(a), "{what} stores {a:?} in clear");
                }
            }
        }
    }
}

/// Every log line of this test process, at debug level: one subscriber for the whole process (tracing
/// has one global default), installed by the first test that asks. Tests search it for what must never be
/// logged; all tests' lines are in it, so what is searched must be a value no test may log.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// The process's log so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The process's captured log (installing the subscriber on first use).
pub fn captured_logs() -> CapturedLogs {
    static LOGS: std::sync::OnceLock<CapturedLogs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        logs
    })
    .clone()
}

impl TestApp {
    /// Subscribes on `ws` and waits until this server has started the subscription (fixed where it starts):
    /// a subscription without `after` starts at the log as committed then, and the graphql-transport-ws
    /// protocol acknowledges nothing, so a test that commits right after subscribing waits for this first.
    pub async fn subscribe(
        &self,
        ws: &mut cabinet_tests::Subscriptions,
        id: &str,
        query: &str,
        variables: Value,
    ) {
        let before = self.app.live.started();
        ws.subscribe(id, query, variables).await;
        eventually(&format!("subscription {id} started"), || async {
            if self.app.live.started() > before {
                Ok(())
            } else {
                Err("not yet".to_owned())
            }
        })
        .await;
    }
}
