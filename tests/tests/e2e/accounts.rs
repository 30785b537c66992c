//! Client accounts end to end through GraphQL, with the mails read back from the file transport:
//! provisioning on contract, the temporary password and its forced change, recovery, lockout, terms of
//! use, several companies per person, login change, deletion, staff tools, sessions, rate limits.

use std::time::{Duration, Instant};

use crate::common::{company_input, conclude, error, TestApp, ADDRESS, PASSWORD};
use api::auth::Role;
use serde_json::{json, Value};
use uuid::Uuid;

const CHANGE_PASSWORD: &str = "mutation($c: String!, $n: String!) { changePassword(input: { currentPassword: $c, newPassword: $n }) { me { email mustChangePassword } } }";
const CONTRACTS: &str =
    "query($c: UUID!) { contracts(companyId: $c) { edges { node { number } } } }";
const RESET_REQUEST: &str =
    "mutation($i: String!, $e: String!) { requestPasswordReset(input: { inn: $i, email: $e }) { accepted } }";
const RESET: &str =
    "mutation($t: String!, $p: String!) { resetPassword(input: { token: $t, newPassword: $p }) { accepted } }";

const IVAN: &str = "ivan.petrov@romashka.ru";

struct World {
    t: TestApp,
    admin: String,
    company: Uuid,
}

impl World {
    async fn new() -> Self {
        Self::with(TestApp::spawn().await).await
    }

    async fn with(t: TestApp) -> Self {
        let admin = t.sign_in(Role::Admin, &[]).await;
        let company = t
            .company(&admin, company_input("7707083893", "773601001"))
            .await;
        Self { t, admin, company }
    }

    /// Ivan Petrov, the contact person of a contract of the company, with his temporary password changed to
    /// `Тихий-Дон-1928`; returns his token.
    async fn ivan(&self) -> String {
        self.t
            .provisioned_client(&self.admin, self.company, "ЛД-1", IVAN, "Тихий-Дон-1928")
            .await
    }

    async fn gql(&self, token: &str, q: &str, vars: Value) -> Value {
        self.t.gql(Some(token), q, vars).await
    }
}

#[tokio::test]
async fn a_signed_contract_opens_a_cabinet_whose_mailed_temporary_password_must_be_changed_first() {
    let w = World::new().await;
    let t = &w.t;
    let email = "ivan.petrov@romashka.ru";
    conclude(t, &w.admin, w.company, "ЛД-1", email).await;

    let mail = t.mail(email, "temporary_password").await;
    let temporary = mail.code();
    assert!(temporary.chars().count() >= 12, "{temporary}");
    assert!(mail.text.contains("ООО «Ромашка»"), "{}", mail.text);
    assert!(mail.text.contains("Временный пароль"), "Russian by default");
    assert!(mail.text.contains(email));
    assert!(mail.html.contains(&temporary));
    assert!(mail.message_id.starts_with('<') && mail.message_id.ends_with('>'));

    let token = t.login(email, &temporary).await;
    let r = w
        .gql(
            &token,
            "{ me { mustChangePassword roles companies { id inn } } }",
            json!({}),
        )
        .await;
    assert_eq!(r["data"]["me"]["mustChangePassword"], true, "{r}");
    assert_eq!(r["data"]["me"]["roles"], json!(["CLIENT"]));
    assert_eq!(r["data"]["me"]["companies"][0]["inn"], "7707083893");
    let r = w.gql(&token, CONTRACTS, json!({"c": w.company})).await;
    assert_eq!(error(&r).0, "PASSWORD_CHANGE_REQUIRED", "{r}");

    // The policy: the current password, length, not the login, not a common password.
    for (current, new, field) in [
        ("wrong-temporary", "Тихий-Дон-1928", "currentPassword"),
        (temporary.as_str(), "short-pw", "newPassword"),
        (temporary.as_str(), email, "newPassword"),
        (temporary.as_str(), "IVAN.PETROV", "newPassword"),
        (temporary.as_str(), "1q2w3e4r5t", "newPassword"),
        (temporary.as_str(), temporary.as_str(), "newPassword"),
    ] {
        let r = w
            .gql(&token, CHANGE_PASSWORD, json!({"c": current, "n": new}))
            .await;
        assert_eq!(
            error(&r),
            ("VALIDATION".to_owned(), Some(format!("input.{field}"))),
            "{new}: {r}"
        );
    }
    let r = w
        .gql(
            &token,
            CHANGE_PASSWORD,
            json!({"c": temporary, "n": "Тихий-Дон-1928"}),
        )
        .await;
    assert_eq!(
        r["data"]["changePassword"]["me"]["mustChangePassword"], false,
        "{r}"
    );
    let r = w.gql(&token, CONTRACTS, json!({"c": w.company})).await;
    assert_eq!(
        r["data"]["contracts"]["edges"][0]["node"]["number"], "ЛД-1",
        "{r}"
    );
    assert_eq!(
        error(&t.try_login(email, &temporary).await).0,
        "UNAUTHENTICATED"
    );
    t.login(email, "Тихий-Дон-1928").await;
    t.mail(email, "password_changed").await;

    // A second contract of the same company for the same person provisions nothing more.
    conclude(t, &w.admin, w.company, "ЛД-2", email).await;
    t.wait_for_consumer("account-provisioning").await;
    assert_eq!(t.outbox_count(email, "temporary_password").await, 1);
    assert_eq!(t.outbox_count(email, "company_linked").await, 0);
    let id = t.account_id(email).await;
    let kinds = t.security_kinds(&token, id).await;
    assert_eq!(kinds[0], "PROVISIONED", "{kinds:?}");
    assert!(kinds.contains(&"SIGN_IN_FAILED".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"PASSWORD_CHANGED".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn one_person_serves_several_companies_and_switches_between_them() {
    let w = World::new().await;
    let t = &w.t;
    let second = t
        .company(&w.admin, company_input("7712345671", "773601001"))
        .await;
    let stranger = t
        .company(&w.admin, company_input("5263179847", "773601001"))
        .await;
    let email = "buh@romashka.ru";
    let token = t
        .provisioned_client(&w.admin, w.company, "ЛД-А", email, "Бухгалтерия-2026")
        .await;
    let b_contract = conclude(t, &w.admin, second, "ЛД-Б", email).await;
    conclude(t, &w.admin, stranger, "ЛД-В", "other@elsewhere.ru").await;
    let linked = t.mail(email, "company_linked").await;
    assert!(linked.text.contains("ООО «Ромашка»"), "{}", linked.text);
    assert_eq!(t.outbox_count(email, "temporary_password").await, 1);

    let r = w
        .gql(&token, "{ me { companyIds companies { id } } }", json!({}))
        .await;
    let mut ids: Vec<Uuid> = r["data"]["me"]["companyIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().parse().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![w.company, second];
    expected.sort();
    assert_eq!(ids, expected, "{r}");
    assert_eq!(r["data"]["me"]["companies"].as_array().unwrap().len(), 2);
    // Each company's data is reachable by its id; a third company's is not.
    for company in [w.company, second] {
        let r = w.gql(&token, CONTRACTS, json!({"c": company})).await;
        assert_eq!(
            r["data"]["contracts"]["edges"].as_array().unwrap().len(),
            1,
            "{r}"
        );
    }
    let r = w
        .gql(
            &token,
            "query($c: UUID!) { contract(id: $c) { number } }",
            json!({"c": b_contract}),
        )
        .await;
    assert_eq!(r["data"]["contract"]["number"], "ЛД-Б", "{r}");
    let r = w.gql(&token, CONTRACTS, json!({"c": stranger})).await;
    assert_eq!(error(&r).0, "FORBIDDEN");
}

#[tokio::test]
async fn recovery_by_inn_and_email_mails_a_single_use_control_string_that_ends_every_session() {
    let w = World::new().await;
    let t = &w.t;
    let (email, old_session) = (IVAN, w.ivan().await);

    // The same answer whether or not the account exists; a mail only when it does.
    for (inn, mail) in [("7712345671", email), ("7707083893", "nobody@romashka.ru")] {
        let started = Instant::now();
        let r = t
            .gql(None, RESET_REQUEST, json!({"i": inn, "e": mail}))
            .await;
        assert_eq!(r["data"]["requestPasswordReset"]["accepted"], true, "{r}");
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
    assert_eq!(t.outbox_count(email, "password_reset").await, 0);
    let r = t
        .gql(None, RESET_REQUEST, json!({"i": "7707083894", "e": email}))
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.inn".to_owned()))
    );

    let started = Instant::now();
    let r = t
        .gql(None, RESET_REQUEST, json!({"i": "7707083893", "e": email}))
        .await;
    assert_eq!(r["data"]["requestPasswordReset"]["accepted"], true, "{r}");
    assert!(started.elapsed() >= Duration::from_millis(50));
    let control = t.mail(email, "password_reset").await.code();

    // A refused password leaves the control string usable.
    let r = t
        .gql(None, RESET, json!({"t": control, "p": "1234567890"}))
        .await;
    assert_eq!(
        error(&r),
        (
            "VALIDATION".to_owned(),
            Some("input.newPassword".to_owned())
        )
    );
    let r = t
        .gql(None, RESET, json!({"t": control, "p": "Новый-пароль-2026"}))
        .await;
    assert_eq!(r["data"]["resetPassword"]["accepted"], true, "{r}");
    let r = t
        .gql(Some(&old_session), "{ me { email } }", json!({}))
        .await;
    assert_eq!(error(&r).0, "UNAUTHENTICATED", "sessions end on reset: {r}");
    t.login(email, "Новый-пароль-2026").await;
    assert_eq!(
        error(&t.try_login(email, "Тихий-Дон-1928").await).0,
        "UNAUTHENTICATED"
    );

    // A second use fails.
    let r = t
        .gql(None, RESET, json!({"t": control, "p": "Ещё-один-пароль-1"}))
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.token".to_owned()))
    );

    // An expired one fails.
    t.gql(None, RESET_REQUEST, json!({"i": "7707083893", "e": email}))
        .await;
    t.wait_mail_count(email, "password_reset", 2).await;
    let expired = t.mail(email, "password_reset").await.code();
    assert_ne!(expired, control);
    sqlx::query("UPDATE control_strings SET expires_at = clock_timestamp() - interval '1 second' WHERE used_at IS NULL")
        .execute(&t.pool)
        .await
        .unwrap();
    let r = t
        .gql(None, RESET, json!({"t": expired, "p": "Ещё-один-пароль-1"}))
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.token".to_owned()))
    );
    let kinds = t.security_kinds(&w.admin, t.account_id(email).await).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "PASSWORD_RESET").count(),
        1,
        "{kinds:?}"
    );
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_login_for_known_and_unknown_emails_alike() {
    let w = World::new().await;
    let t = &w.t;
    let email = IVAN;
    w.ivan().await;
    for login in [email, "nobody@romashka.ru"] {
        for _ in 0..5 {
            let r = t.try_login(login, "wrong-password-1").await;
            assert_eq!(error(&r).0, "UNAUTHENTICATED", "{r}");
        }
        // Now even the right password is refused, and the answer is the same for an unknown e-mail.
        let r = t.try_login(login, "Тихий-Дон-1928").await;
        assert_eq!(error(&r).0, "ACCOUNT_LOCKED", "{login}: {r}");
    }
    t.mail(email, "account_locked").await;
    let id = t.account_id(email).await;
    let kinds = t.security_kinds(&w.admin, id).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "SIGN_IN_FAILED").count(),
        5,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"LOCKED".to_owned()), "{kinds:?}");
    // The lock lasts 15 minutes.
    let until: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT max(locked_until) FROM login_locks")
            .fetch_one(&t.pool)
            .await
            .unwrap();
    let minutes = (until - chrono::Utc::now()).num_minutes();
    assert!((14..=15).contains(&minutes), "{minutes}");
    // When it ends, the right password works again.
    sqlx::query("UPDATE login_locks SET locked_until = clock_timestamp() - interval '1 second'")
        .execute(&t.pool)
        .await
        .unwrap();
    t.login(email, "Тихий-Дон-1928").await;
}

#[tokio::test]
async fn terms_of_use_are_accepted_again_after_every_change() {
    let w = World::new().await;
    let t = &w.t;
    let client = t.sign_in(Role::Client, &[w.company]).await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let publish =
        "mutation($x: String!) { publishTerms(input: { text: $x }) { terms { version } } }";
    let r = w.gql(&client, publish, json!({"x": "Условия"})).await;
    assert_eq!(error(&r).0, "FORBIDDEN");
    let r = w.gql(&w.admin, publish, json!({"x": "  "})).await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.text".to_owned()))
    );
    let r = w
        .gql(
            &w.admin,
            publish,
            json!({"x": "Условия использования, редакция 1"}),
        )
        .await;
    assert_eq!(r["data"]["publishTerms"]["terms"]["version"], 1, "{r}");

    let r = w.gql(&client, CONTRACTS, json!({"c": w.company})).await;
    assert_eq!(error(&r).0, "TERMS_ACCEPTANCE_REQUIRED", "{r}");
    let r = w
        .gql(
            &client,
            "{ me { termsAcceptanceRequired } terms { version text } }",
            json!({}),
        )
        .await;
    assert_eq!(r["data"]["me"]["termsAcceptanceRequired"], 1, "{r}");
    assert_eq!(
        r["data"]["terms"]["text"],
        "Условия использования, редакция 1"
    );
    let accept = "mutation($v: Int!) { acceptTerms(input: { version: $v }) { me { termsAcceptanceRequired } } }";
    let r = w.gql(&client, accept, json!({"v": 2})).await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.version".to_owned()))
    );
    let r = w.gql(&client, accept, json!({"v": 1})).await;
    assert!(
        r["data"]["acceptTerms"]["me"]["termsAcceptanceRequired"].is_null(),
        "{r}"
    );
    let r = w.gql(&client, CONTRACTS, json!({"c": w.company})).await;
    assert!(r["errors"].is_null(), "{r}");

    // A new version: accepted again before anything else; staff are not bound.
    w.gql(&w.admin, publish, json!({"x": "Редакция 2"})).await;
    let r = w.gql(&client, CONTRACTS, json!({"c": w.company})).await;
    assert_eq!(error(&r).0, "TERMS_ACCEPTANCE_REQUIRED", "{r}");
    let r = w.gql(&manager, CONTRACTS, json!({"c": w.company})).await;
    assert!(r["errors"].is_null(), "{r}");
    w.gql(&client, accept, json!({"v": 2})).await;
    let r = w.gql(&client, CONTRACTS, json!({"c": w.company})).await;
    assert!(r["errors"].is_null(), "{r}");
    let rows: Vec<(i32, Option<String>)> =
        sqlx::query_as("SELECT version, client_address FROM terms_acceptances ORDER BY version")
            .fetch_all(&t.pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![(1, Some(ADDRESS.to_owned())), (2, Some(ADDRESS.to_owned()))]
    );
}

#[tokio::test]
async fn a_login_change_takes_effect_when_the_new_address_confirms_it() {
    let w = World::new().await;
    let t = &w.t;
    let old = "ivan.petrov@romashka.ru";
    let new = "i.petrov@romashka-group.ru";
    let token = t
        .provisioned_client(&w.admin, w.company, "ЛД-1", old, "Тихий-Дон-1928")
        .await;
    let request = "mutation($e: String!, $p: String = \"Тихий-Дон-1928\") { requestLoginChange(input: { newEmail: $e, currentPassword: $p }) { accepted } }";
    let confirm =
        "mutation($t: String!) { confirmLoginChange(input: { token: $t }) { me { email } } }";
    let r = w.gql(&token, request, json!({"e": "not-an-email"})).await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.newEmail".to_owned()))
    );
    // This person reads mails in English.
    let r = w
        .gql(
            &token,
            "mutation { setMailLanguage(input: { language: EN }) { me { mailLanguage } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        r["data"]["setMailLanguage"]["me"]["mailLanguage"], "EN",
        "{r}"
    );
    let r = w.gql(&token, request, json!({"e": new})).await;
    assert_eq!(r["data"]["requestLoginChange"]["accepted"], true, "{r}");
    let confirmation = t.mail(new, "login_change_confirmation").await;
    assert!(
        confirmation
            .text
            .contains("To confirm, enter this control string"),
        "{}",
        confirmation.text
    );
    let control = confirmation.code();
    // Nothing changes before the confirmation.
    t.login(old, "Тихий-Дон-1928").await;
    let r = w.gql(&token, confirm, json!({"t": "AAAA-BBBB-CCCC"})).await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.token".to_owned()))
    );
    let r = w.gql(&token, confirm, json!({"t": control})).await;
    assert_eq!(r["data"]["confirmLoginChange"]["me"]["email"], new, "{r}");
    let told = t.mail(old, "login_changed").await;
    assert!(
        told.text.contains("i.***@romashka-group.ru"),
        "{}",
        told.text
    );
    t.login(new, "Тихий-Дон-1928").await;
    assert_eq!(
        error(&t.try_login(old, "Тихий-Дон-1928").await).0,
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn an_account_is_deleted_only_when_no_obligations_remain() {
    let w = World::new().await;
    let t = &w.t;
    let (email, bound) = (IVAN, w.ivan().await);
    let delete = "mutation { requestAccountDeletion { deactivatedAt destroyPersonalDataBy } }";
    let r = w.gql(&bound, delete, json!({})).await;
    assert_eq!(error(&r).0, "OBLIGATIONS_REMAIN", "{r}");
    let message = r["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("ООО «Ромашка»") && message.contains("1 active contract"),
        "{message}"
    );
    let r = w.gql(&bound, "{ me { email } }", json!({})).await;
    assert_eq!(
        r["data"]["me"]["email"], email,
        "the refused account still works: {r}"
    );

    // A person whose companies owe nothing is deactivated at once.
    let free_company = t
        .company(&w.admin, company_input("7712345671", "773601001"))
        .await;
    let free = t.sign_in(Role::Client, &[free_company]).await;
    let free_email = t.gql(Some(&free), "{ me { email id } }", json!({})).await;
    let (free_email, free_id) = (
        free_email["data"]["me"]["email"]
            .as_str()
            .unwrap()
            .to_owned(),
        free_email["data"]["me"]["id"].as_str().unwrap().to_owned(),
    );
    let r = w.gql(&free, delete, json!({})).await;
    let d = &r["data"]["requestAccountDeletion"];
    let at: chrono::DateTime<chrono::Utc> = d["deactivatedAt"].as_str().unwrap().parse().unwrap();
    let by: chrono::DateTime<chrono::Utc> = d["destroyPersonalDataBy"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // Due on the business clock: the business day `account_destroy_days` after today's.
    let today: chrono::NaiveDate = sqlx::query_scalar(
        "SELECT coalesce((SELECT business_date FROM business_day_view), current_date)",
    )
    .fetch_one(&t.pool)
    .await
    .unwrap();
    assert_eq!(by.date_naive(), today + chrono::Days::new(14), "{r}");
    assert!(at <= chrono::Utc::now(), "{r}");
    assert_eq!(
        error(&w.gql(&free, "{ me { email } }", json!({})).await).0,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        error(&t.try_login(&free_email, PASSWORD).await).0,
        "UNAUTHENTICATED"
    );
    t.mail(&free_email, "account_deleted").await;
    let r = w
        .gql(
            &w.admin,
            "query($id: UUID!) { account(id: $id) { deletedAt destroyPersonalDataBy } }",
            json!({"id": free_id}),
        )
        .await;
    assert_eq!(
        r["data"]["account"]["destroyPersonalDataBy"], d["destroyPersonalDataBy"],
        "{r}"
    );

    // Staff accounts are not deleted this way.
    let manager = t.sign_in(Role::Manager, &[]).await;
    assert_eq!(
        error(&w.gql(&manager, delete, json!({})).await).0,
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn administrators_block_unblock_reset_and_change_roles() {
    let w = World::new().await;
    let t = &w.t;
    let (email, client) = (IVAN, w.ivan().await);
    let id = t.account_id(email).await;
    let list = "query($s: String) { accounts(search: $s) { edges { node { id email roles companyIds } } } }";
    let r = w.gql(&client, list, json!({"s": null})).await;
    assert_eq!(error(&r).0, "FORBIDDEN");
    let r = w.gql(&w.admin, list, json!({"s": "PETROV"})).await;
    let edges = r["data"]["accounts"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1, "{r}");
    assert_eq!(edges[0]["node"]["companyIds"], json!([w.company]));

    let block = "mutation($a: UUID!, $r: String!) { blockAccount(input: { accountId: $a, reason: $r }) { account { blockedAt blockedReason } } }";
    let admin_id =
        t.gql(Some(&w.admin), "{ me { id } }", json!({})).await["data"]["me"]["id"].clone();
    let r = w
        .gql(&w.admin, block, json!({"a": admin_id, "r": "x"}))
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.accountId".to_owned()))
    );
    let r = w
        .gql(
            &w.admin,
            block,
            json!({"a": id, "r": "подозрительные входы"}),
        )
        .await;
    assert_eq!(
        r["data"]["blockAccount"]["account"]["blockedReason"], "подозрительные входы",
        "{r}"
    );
    assert_eq!(
        error(&w.gql(&client, "{ me { email } }", json!({})).await).0,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        error(&t.try_login(email, "Тихий-Дон-1928").await).0,
        "ACCOUNT_BLOCKED"
    );
    let r = w
        .gql(
            &w.admin,
            "mutation($a: UUID!) { unblockAccount(input: { accountId: $a }) { account { blockedAt } } }",
            json!({"a": id}),
        )
        .await;
    assert!(
        r["data"]["unblockAccount"]["account"]["blockedAt"].is_null(),
        "{r}"
    );
    t.login(email, "Тихий-Дон-1928").await;

    let r = w
        .gql(&w.admin, "mutation($a: UUID!) { resetAccountPassword(input: { accountId: $a }) { account { mustChangePassword temporaryPasswordExpiresAt } } }", json!({"a": id}))
        .await;
    assert_eq!(
        r["data"]["resetAccountPassword"]["account"]["mustChangePassword"], true,
        "{r}"
    );
    let temporary = t.mail(email, "temporary_password_reset").await.code();
    assert_eq!(
        error(&t.try_login(email, "Тихий-Дон-1928").await).0,
        "UNAUTHENTICATED"
    );
    let token = t.login(email, &temporary).await;
    let r = w.gql(&token, CONTRACTS, json!({"c": w.company})).await;
    assert_eq!(error(&r).0, "PASSWORD_CHANGE_REQUIRED");
    // A temporary password unused for 10 days stops working.
    sqlx::query("UPDATE accounts SET temporary_password_expires_at = clock_timestamp() - interval '1 second'")
        .execute(&t.pool)
        .await
        .unwrap();
    assert_eq!(
        error(&t.try_login(email, &temporary).await).0,
        "TEMPORARY_PASSWORD_EXPIRED"
    );

    let r = w
        .gql(&w.admin, "mutation($a: UUID!, $r: [Role!]!) { changeAccountRoles(input: { accountId: $a, roles: $r }) { account { roles } } }", json!({"a": id, "r": ["ACCOUNTANT"]}))
        .await;
    assert_eq!(
        r["data"]["changeAccountRoles"]["account"]["roles"],
        json!(["ACCOUNTANT"]),
        "{r}"
    );
    let r = w.gql(&token, "{ me { roles } }", json!({})).await;
    assert_eq!(r["data"]["me"]["roles"], json!(["ACCOUNTANT"]));
    let kinds = t.security_kinds(&w.admin, id).await;
    for k in [
        "BLOCKED",
        "UNBLOCKED",
        "TEMPORARY_PASSWORD_ISSUED",
        "ROLES_CHANGED",
    ] {
        assert!(kinds.contains(&k.to_owned()), "{k}: {kinds:?}");
    }
}

#[tokio::test]
async fn sessions_end_everywhere_on_request_and_when_idle_and_a_new_client_is_reported() {
    let w = World::new().await;
    let t = &w.t;
    let (email, first) = (IVAN, w.ivan().await);
    let second = t.login(email, "Тихий-Дон-1928").await;
    let r = w
        .gql(
            &second,
            "mutation { logoutEverywhere { ended } }",
            json!({}),
        )
        .await;
    assert!(
        r["data"]["logoutEverywhere"]["ended"].as_i64().unwrap() >= 2,
        "{r}"
    );
    for token in [&first, &second] {
        assert_eq!(
            error(&w.gql(token, "{ me { email } }", json!({})).await).0,
            "UNAUTHENTICATED"
        );
    }

    // A sign-in from another address and program is logged and mailed.
    let q = "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token } }";
    let r = t
        .gql_from(
            "198.51.100.7",
            "Firefox/140",
            None,
            q,
            json!({"e": email, "p": "Тихий-Дон-1928"}),
        )
        .await;
    let token = r["data"]["login"]["token"].as_str().unwrap().to_owned();
    let notice = t.mail(email, "new_sign_in").await;
    assert!(
        notice.text.contains("198.51.100.7") && notice.text.contains("Firefox/140"),
        "{}",
        notice.text
    );
    let kinds = t.security_kinds(&token, t.account_id(email).await).await;
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("SIGNED_IN_FROM_NEW_CLIENT"),
        "{kinds:?}"
    );
    // Another person's log is not the client's to read.
    let other = t.gql(Some(&w.admin), "{ me { id } }", json!({})).await["data"]["me"]["id"].clone();
    let r = w
        .gql(
            &token,
            "query($a: UUID!) { securityLog(accountId: $a) { edges { cursor } } }",
            json!({"a": other}),
        )
        .await;
    assert_eq!(error(&r).0, "FORBIDDEN");

    // 12 hours idle end a session; so does its absolute expiry.
    assert!(w.gql(&token, "{ me { email } }", json!({})).await["errors"].is_null());
    sqlx::query(
        "UPDATE sessions SET last_seen_at = clock_timestamp() - interval '12 hours 1 minute'",
    )
    .execute(&t.pool)
    .await
    .unwrap();
    assert_eq!(
        error(&w.gql(&token, "{ me { email } }", json!({})).await).0,
        "UNAUTHENTICATED"
    );
    let token = t.login(email, "Тихий-Дон-1928").await;
    let expires: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT max(expires_at) FROM sessions WHERE revoked_at IS NULL")
            .fetch_one(&t.pool)
            .await
            .unwrap();
    assert_eq!((expires - chrono::Utc::now()).num_days(), 29);
    sqlx::query("UPDATE sessions SET expires_at = clock_timestamp() - interval '1 second'")
        .execute(&t.pool)
        .await
        .unwrap();
    assert_eq!(
        error(&w.gql(&token, "{ me { email } }", json!({})).await).0,
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn sign_in_and_recovery_are_rate_limited_per_client_address() {
    let w = World::with(TestApp::spawn_with(|s| s.auth_rate_per_minute = 3).await).await;
    let t = &w.t;
    // World::with signed in twice from ADDRESS already (admin via sign_in = one login).
    let attempt = |address: &'static str| async move {
        t.gql_from(
            address,
            "x",
            None,
            RESET,
            json!({"t": "NOPE", "p": "Новый-пароль-2026"}),
        )
        .await
    };
    for _ in 0..3 {
        assert_eq!(error(&attempt("203.0.113.5").await).0, "VALIDATION");
    }
    assert_eq!(error(&attempt("203.0.113.5").await).0, "RATE_LIMITED");
    assert_eq!(error(&attempt("203.0.113.6").await).0, "VALIDATION");
    let q = "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token } }";
    let mut codes = Vec::new();
    for _ in 0..4 {
        let r = t
            .gql_from(
                "203.0.113.9",
                "x",
                None,
                q,
                json!({"e": "a@b.ru", "p": "wrong-password"}),
            )
            .await;
        codes.push(error(&r).0);
    }
    assert_eq!(
        codes,
        [
            "UNAUTHENTICATED",
            "UNAUTHENTICATED",
            "UNAUTHENTICATED",
            "RATE_LIMITED"
        ]
    );
}
