//! Two-factor sign-in (issue 26): required for administrators, optional for everyone; codes work once,
//! recovery codes once each, wrong codes count toward the lockout; the password and login flows ask for it.

use api::auth::Role;
use serde_json::{json, Value};

use crate::common::{company_input, error, TestApp, PASSWORD};

const LOGIN: &str = "mutation($e: String!, $p: String!, $c: String) { login(input: {email: $e, password: $p, totpCode: $c}) { token } }";

async fn login(t: &TestApp, email: &str, code: Option<&str>) -> Value {
    t.gql(None, LOGIN, json!({"e": email, "p": PASSWORD, "c": code}))
        .await
}

#[tokio::test]
async fn an_administrator_enrols_before_anything_else_and_then_signs_in_with_a_code_once() {
    let t = TestApp::spawn().await;
    let email = "root@lessor.ru";
    api::auth::accounts::create_account(
        &t.pool,
        &domain::values::Email::parse(email).unwrap(),
        PASSWORD,
        &[Role::Admin],
        false,
    )
    .await
    .unwrap();
    let admin = t.login(email, PASSWORD).await;
    let me = t
        .gql(
            Some(&admin),
            "{ me { totpEnrolmentRequired twoFactorEnabled } }",
            json!({}),
        )
        .await;
    assert_eq!(
        me["data"]["me"],
        json!({"totpEnrolmentRequired": true, "twoFactorEnabled": false}),
        "{me}"
    );
    let r = t
        .gql(
            Some(&admin),
            "{ companies { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(error(&r).0, "TOTP_ENROLMENT_REQUIRED", "{r}");

    // Enrolment: the password first, then a first code from the app.
    let start = "mutation($p: String!) { startTotpEnrolment(input: {currentPassword: $p}) { secret otpauthUrl } }";
    let r = t
        .gql(Some(&admin), start, json!({"p": "not-the-password"}))
        .await;
    assert_eq!(
        error(&r),
        (
            "VALIDATION".to_owned(),
            Some("input.currentPassword".to_owned())
        ),
        "{r}"
    );
    let r = t.gql(Some(&admin), start, json!({"p": PASSWORD})).await;
    let secret = r["data"]["startTotpEnrolment"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    let url = r["data"]["startTotpEnrolment"]["otpauthUrl"]
        .as_str()
        .unwrap();
    assert!(
        url.starts_with("otpauth://totp/") && url.contains(&format!("secret={secret}")),
        "{url}"
    );
    let confirm =
        "mutation($c: String!) { confirmTotpEnrolment(input: {code: $c}) { recoveryCodes } }";
    let r = t.gql(Some(&admin), confirm, json!({"c": "000000"})).await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.code".to_owned())),
        "{r}"
    );
    let first = api::auth::totp::current_code(&secret).unwrap();
    let r = t.gql(Some(&admin), confirm, json!({"c": first})).await;
    let recovery: Vec<String> = r["data"]["confirmTotpEnrolment"]["recoveryCodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    t.mail(email, "totp_changed").await;
    // The same session works now.
    let r = t
        .gql(
            Some(&admin),
            "{ companies { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");

    // Nothing readable is stored: no recovery code, no secret.
    let stored: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT code_hash FROM totp_recovery_codes UNION ALL SELECT secret_sealed FROM account_totp",
    )
    .fetch_all(&t.pool)
    .await
    .unwrap();
    assert_eq!(stored.len(), 11);
    for bytes in &stored {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(&secret) && !recovery.iter().any(|c| text.contains(c.as_str())));
    }

    // Signing in: the code is asked after the right password; a code works once.
    let r = login(&t, email, None).await;
    assert_eq!(error(&r).0, "TOTP_REQUIRED", "{r}");
    let r = login(&t, email, Some("123456")).await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.totpCode".to_owned())),
        "{r}"
    );
    let r = login(&t, email, Some(&first)).await;
    assert_eq!(
        error(&r).1.as_deref(),
        Some("input.totpCode"),
        "the enrolment's code again: {r}"
    );
    let r = login(&t, email, Some(&recovery[0].to_lowercase())).await;
    assert!(
        r["data"]["login"]["token"].is_string(),
        "a recovery code: {r}"
    );
    let r = login(&t, email, Some(&recovery[0])).await;
    assert_eq!(error(&r).1.as_deref(), Some("input.totpCode"), "used: {r}");
    let next = api::auth::totp::code_in(&secret, 30).unwrap();
    let r = login(&t, email, Some(&next)).await;
    let token = r["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("the app's next code: {r}"))
        .to_owned();
    let account = t.account_id(email).await;
    let kinds = t.security_kinds(&token, account).await;
    for kind in [
        "TOTP_ENABLED",
        "TOTP_FAILED",
        "RECOVERY_CODE_USED",
        "TOTP_USED",
    ] {
        assert!(kinds.contains(&kind.to_owned()), "{kind}: {kinds:?}");
    }

    // An administrator keeps it; the password change asks for it.
    let r = t
        .gql(
            Some(&token),
            "mutation($p: String!, $c: String!) { disableTotp(input: {currentPassword: $p, code: $c}) { me { id } } }",
            json!({"p": PASSWORD, "c": recovery[1]}),
        )
        .await;
    assert_eq!(error(&r).0, "TOTP_REQUIRED_FOR_ROLE", "{r}");
    let change = "mutation($c: String!, $n: String!, $t: String) { changePassword(input: {currentPassword: $c, newPassword: $n, totpCode: $t}) { me { id } } }";
    let r = t
        .gql(
            Some(&token),
            change,
            json!({"c": PASSWORD, "n": "Другой-пароль-2026", "t": null}),
        )
        .await;
    assert_eq!(error(&r).0, "TOTP_REQUIRED", "{r}");
    let r = t
        .gql(
            Some(&token),
            "mutation($e: String!, $p: String!) { requestLoginChange(input: {newEmail: $e, currentPassword: $p}) { accepted } }",
            json!({"e": "root2@lessor.ru", "p": PASSWORD}),
        )
        .await;
    assert_eq!(error(&r).0, "TOTP_REQUIRED", "{r}");

    // Wrong codes lock the login like wrong passwords: 5 in 15 minutes (a sign-in clears the count).
    for _ in 0..5 {
        let r = login(&t, email, Some("000000")).await;
        assert_eq!(error(&r).1.as_deref(), Some("input.totpCode"), "{r}");
    }
    let r = login(&t, email, Some(&recovery[2])).await;
    assert_eq!(error(&r).0, "ACCOUNT_LOCKED", "{r}");
}

#[tokio::test]
async fn a_client_may_turn_it_on_and_off_and_a_mailed_recovery_string_alone_does_not_reset_the_password(
) {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let email = "boss@romashka.ru";
    let client = t
        .provisioned_client(&admin, company, "ЛД-1", email, PASSWORD)
        .await;
    let me = t
        .gql(
            Some(&client),
            "{ me { totpEnrolmentRequired twoFactorEnabled } }",
            json!({}),
        )
        .await;
    assert_eq!(
        me["data"]["me"],
        json!({"totpEnrolmentRequired": false, "twoFactorEnabled": false}),
        "optional for a client: {me}"
    );
    let (secret, recovery) = t.enrol_totp(&client, PASSWORD).await;
    let r = login(&t, email, None).await;
    assert_eq!(error(&r).0, "TOTP_REQUIRED", "{r}");

    // Recovery by the mailed control string also asks for the second factor; without it the string stays
    // good.
    let r = t
        .gql(
            None,
            "mutation($i: String!, $e: String!) { requestPasswordReset(input: {inn: $i, email: $e}) { accepted } }",
            json!({"i": "7707083893", "e": email}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let control = t.mail(email, "password_reset").await.code();
    let reset = "mutation($t: String!, $n: String!, $c: String) { resetPassword(input: {token: $t, newPassword: $n, totpCode: $c}) { accepted } }";
    let r = t
        .gql(
            None,
            reset,
            json!({"t": control, "n": "Новый-пароль-2026", "c": null}),
        )
        .await;
    assert_eq!(error(&r).0, "TOTP_REQUIRED", "{r}");
    let r = t
        .gql(
            None,
            reset,
            json!({"t": control, "n": "Новый-пароль-2026", "c": recovery[0]}),
        )
        .await;
    assert_eq!(r["data"]["resetPassword"]["accepted"], true, "{r}");

    // Off again, with the password and a code.
    let r = t
        .gql(
            None,
            LOGIN,
            json!({"e": email, "p": "Новый-пароль-2026", "c": api::auth::totp::code_in(&secret, 30).unwrap()}),
        )
        .await;
    let token = r["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    let r = t
        .gql(
            Some(&token),
            "mutation($p: String!, $c: String!) { disableTotp(input: {currentPassword: $p, code: $c}) { me { twoFactorEnabled } } }",
            json!({"p": "Новый-пароль-2026", "c": recovery[1]}),
        )
        .await;
    assert_eq!(
        r["data"]["disableTotp"]["me"]["twoFactorEnabled"], false,
        "{r}"
    );
    let r = t
        .gql(
            None,
            LOGIN,
            json!({"e": email, "p": "Новый-пароль-2026", "c": null}),
        )
        .await;
    assert!(r["data"]["login"]["token"].is_string(), "{r}");
    let account = t.account_id(email).await;
    assert!(t
        .security_kinds(&token, account)
        .await
        .contains(&"TOTP_DISABLED".to_owned()));
}

#[tokio::test]
async fn a_client_reports_its_account_compromised_and_staff_give_it_back_whole() {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let email = "boss@romashka.ru";
    let client = t
        .provisioned_client(&admin, company, "ЛД-1", email, PASSWORD)
        .await;
    let other = t.sign_in(Role::Client, &[company]).await;
    // Somebody who took the session over enrolled an authenticator of their own.
    t.enrol_totp(&client, PASSWORD).await;

    let r = t
        .gql(
            Some(&client),
            "mutation { reportAccountCompromised { blockedAt requestIds } }",
            json!({}),
        )
        .await;
    let ids = r["data"]["reportAccountCompromised"]["requestIds"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .clone();
    assert_eq!(ids.len(), 1, "one recovery request per company: {r}");
    let r = t.gql(Some(&client), "{ me { id } }", json!({})).await;
    assert_eq!(error(&r).0, "UNAUTHENTICATED", "every session ended: {r}");
    let r = login(&t, email, None).await;
    assert_eq!(error(&r).0, "ACCOUNT_BLOCKED", "{r}");
    t.mail(email, "account_compromised").await;
    let account = t.account_id(email).await;
    assert!(t
        .security_kinds(&admin, account)
        .await
        .contains(&"COMPROMISE_REPORTED".to_owned()));
    // The lessor has it in its queue; a colleague of the company sees the request too.
    let r = t
        .gql(
            Some(&admin),
            "query($r: UUID!) { request(id: $r) { kind status } }",
            json!({"r": ids[0]}),
        )
        .await;
    assert_eq!(
        r["data"]["request"],
        json!({"kind": "TECHNICAL_SUPPORT", "status": "SUBMITTED"}),
        "{r}"
    );
    let r = t
        .gql(
            Some(&other),
            "query($r: UUID!) { request(id: $r) { kind } }",
            json!({"r": ids[0]}),
        )
        .await;
    assert_eq!(r["data"]["request"]["kind"], "TECHNICAL_SUPPORT", "{r}");

    // Staff check the person, unblock and reset: the intruder's authenticator goes with the password.
    let r = t
        .gql(
            Some(&admin),
            "mutation($a: UUID!) { unblockAccount(input: { accountId: $a }) { account { blockedAt } } }",
            json!({"a": account}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = t
        .gql(
            Some(&admin),
            "mutation($a: UUID!) { resetAccountPassword(input: { accountId: $a }) { account { mustChangePassword } } }",
            json!({"a": account}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let temporary = t.mail(email, "temporary_password_reset").await.code();
    let r = t
        .gql(None, LOGIN, json!({"e": email, "p": temporary, "c": null}))
        .await;
    assert!(
        r["data"]["login"]["token"].is_string(),
        "signed in without the intruder's code: {r}"
    );
}
