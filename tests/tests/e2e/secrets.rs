//! No password, password hash, bearer token or control string appears in the event log, in any read
//! model or other table outside the account tables, in a sent mail's stored row, or in any log line. The
//! test runs every flow that handles one, at debug level, collects every secret it saw, and greps for them.

use crate::common::{company_input, conclude, TestApp};
use api::auth::Role;
use serde_json::json;

/// Tables that hold secrets by design (hashed, or a mail body until it is sent); everything else is
/// searched.
const SECRET_TABLES: &[&str] = &["accounts", "sessions", "control_strings"];

#[tokio::test]
async fn no_secret_reaches_the_event_log_a_read_model_or_a_log_line() {
    let logs = crate::common::captured_logs();

    let t = TestApp::spawn().await;
    let mut secrets: Vec<String> = vec![crate::common::PASSWORD.to_owned()];
    let admin = t.sign_in(Role::Admin, &[]).await;
    secrets.push(admin.clone());
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let email = "ivan.petrov@romashka.ru";
    conclude(&t, &admin, company, "ЛД-1", email).await;
    let temporary = t.mail(email, "temporary_password").await.code();
    let token = t.login(email, &temporary).await;
    let q = "mutation($c: String!, $n: String!) { changePassword(input: { currentPassword: $c, newPassword: $n }) { me { email } } }";
    t.gql(
        Some(&token),
        q,
        json!({"c": temporary, "n": "Тихий-Дон-1928"}),
    )
    .await;
    secrets.extend([temporary, token, "Тихий-Дон-1928".to_owned()]);

    t.gql(
        None,
        "mutation { requestPasswordReset(input: { inn: \"7707083893\", email: \"ivan.petrov@romashka.ru\" }) { accepted } }",
        json!({}),
    )
    .await;
    let control = t.mail(email, "password_reset").await.code();
    let r = t
        .gql(
            None,
            "mutation($t: String!) { resetPassword(input: { token: $t, newPassword: \"Новый-пароль-2026\" }) { accepted } }",
            json!({"t": control}),
        )
        .await;
    assert_eq!(r["data"]["resetPassword"]["accepted"], true, "{r}");
    let token = t.login(email, "Новый-пароль-2026").await;
    secrets.extend([control, "Новый-пароль-2026".to_owned(), token.clone()]);

    t.gql(
        Some(&token),
        "mutation { requestLoginChange(input: { newEmail: \"i.petrov@romashka-group.ru\", currentPassword: \"Новый-пароль-2026\" }) { accepted } }",
        json!({}),
    )
    .await;
    let login_control = t
        .mail("i.petrov@romashka-group.ru", "login_change_confirmation")
        .await
        .code();
    secrets.push(login_control);
    let id = t.account_id(email).await;
    t.gql(
        Some(&admin),
        "mutation($a: UUID!) { resetAccountPassword(input: { accountId: $a }) { account { id } } }",
        json!({"a": id}),
    )
    .await;
    secrets.push(t.mail(email, "temporary_password_reset").await.code());
    let hashes: Vec<String> = sqlx::query_scalar("SELECT password_hash FROM accounts")
        .fetch_all(&t.pool)
        .await
        .unwrap();
    secrets.extend(hashes);
    // Every mail is out, so the outbox holds no bodies.
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE body_text IS NOT NULL")
            .fetch_one(&t.pool)
            .await
            .unwrap();
    assert_eq!(pending, 0);

    // Everything stored outside the account tables, as text.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> ALL ($1)",
    )
    .bind(SECRET_TABLES)
    .fetch_all(&t.pool)
    .await
    .unwrap();
    assert!(tables.contains(&"events".to_owned()) && tables.contains(&"security_log".to_owned()));
    let mut stored = String::new();
    for table in &tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM {table} t"))
            .fetch_all(&t.pool)
            .await
            .unwrap();
        stored.push_str(&rows.join("\n"));
    }
    let logged = logs.text();
    assert!(logged.contains("mail sent"), "the logs were captured");
    for secret in &secrets {
        assert!(
            !stored.contains(secret.as_str()),
            "a secret is stored outside the account tables"
        );
        assert!(!logged.contains(secret.as_str()), "a secret was logged");
    }
}
