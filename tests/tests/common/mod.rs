//! The end-to-end harness: a fresh migrated PostgreSQL database per test and the real router, driven
//! in-process through `tower::ServiceExt::oneshot`.

#![allow(dead_code)]

use api::auth::{accounts, Role};
use api::config::Settings;
use api::startup::{router, App};
use axum::body::Body;
use axum::http::Request;
use axum::Router;
use domain::values::Email;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub app: App,
    pub router: Router,
    pub pool: PgPool,
    /// Keeps the background consumers (the business-day process manager) running while the test runs.
    _stop: tokio::sync::watch::Sender<bool>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        let db = projections::testing::fresh_database()
            .await
            .expect("test database");
        let pool = db.pool(10).await.expect("pool");
        let settings = Settings {
            clock: api::config::ClockMode::Manual,
            ..Settings::default()
        };
        let app = App::new(pool.clone(), &settings).expect("app");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        app.start_background(&settings, stopped)
            .expect("background tasks");
        Self {
            router: router(app.clone()),
            app,
            pool,
            _stop: stop,
        }
    }

    /// Runs a GraphQL operation; returns the whole response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = Request::post("/graphql").header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let body = json!({ "query": query, "variables": variables }).to_string();
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// Creates an account with `role` (and company links) and signs it in; returns the token.
    pub async fn sign_in(&self, role: Role, companies: &[Uuid]) -> String {
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
        for c in companies {
            accounts::link_company(&self.pool, id, *c).await.unwrap();
        }
        self.login(&email, PASSWORD).await
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .gql(
                None,
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
                json!({"e": email, "p": password}),
            )
            .await;
        r["data"]["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login failed: {r}"))
            .to_owned()
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
        let diffs = projections::runner::verify(&self.pool, &self.app.inline)
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
