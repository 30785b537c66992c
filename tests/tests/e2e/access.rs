//! Authentication and the authorization layer (the tenant-isolation suite is tests/isolation.rs).

use crate::common::{company_input, error, TestApp, PASSWORD};
use api::auth::Role;
use serde_json::json;

#[tokio::test]
async fn without_a_valid_token_everything_but_login_is_unauthenticated() {
    let t = TestApp::spawn().await;
    for token in [None, Some("not-a-token")] {
        for q in [
            "{ me { email } }",
            "{ companies { edges { cursor } } }",
            "mutation { logout { ended } }",
        ] {
            let r = t.gql(token, q, json!({})).await;
            assert_eq!(error(&r).0, "UNAUTHENTICATED", "{q}: {r}");
        }
        let r = t
            .register(
                token.unwrap_or(""),
                company_input("7707083893", "773601001"),
            )
            .await;
        assert_eq!(error(&r).0, "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let t = TestApp::spawn().await;
    t.sign_in(Role::Manager, &[]).await;
    let q = "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token } }";
    let a = t
        .gql(None, q, json!({"e": "nobody@test.local", "p": PASSWORD}))
        .await;
    let email: String = sqlx::query_scalar("SELECT email FROM accounts LIMIT 1")
        .fetch_one(&t.pool)
        .await
        .unwrap();
    let b = t
        .gql(None, q, json!({"e": email, "p": "wrong-password-1"}))
        .await;
    assert_eq!(error(&a).0, "UNAUTHENTICATED");
    assert_eq!(a["errors"][0]["message"], b["errors"][0]["message"]);
}

#[tokio::test]
async fn logout_revokes_the_token_and_no_secret_reaches_the_event_log() {
    let t = TestApp::spawn().await;
    let token = t.sign_in(Role::Manager, &[]).await;
    t.company(&token, company_input("7707083893", "773601001"))
        .await;
    assert_eq!(
        t.gql(Some(&token), "{ me { roles } }", json!({})).await["data"]["me"]["roles"],
        json!(["MANAGER"])
    );
    assert_eq!(
        t.gql(Some(&token), "mutation { logout { ended } }", json!({}))
            .await["data"]["logout"]["ended"],
        1
    );
    assert_eq!(
        error(&t.gql(Some(&token), "{ me { roles } }", json!({})).await).0,
        "UNAUTHENTICATED"
    );
    let log: String =
        sqlx::query_scalar("SELECT string_agg(payload::text || metadata::text, ' ') FROM events")
            .fetch_one(&t.pool)
            .await
            .unwrap();
    assert!(!log.contains(&token));
    assert!(!log.contains(PASSWORD));
    assert!(!log.contains("argon2"));
    // The actor is in every event's metadata.
    let actor: String = sqlx::query_scalar("SELECT metadata->>'actor' FROM events LIMIT 1")
        .fetch_one(&t.pool)
        .await
        .unwrap();
    assert!(actor.starts_with("account:"));
}

#[tokio::test]
async fn a_person_linked_to_two_companies_sees_both() {
    let t = TestApp::spawn().await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let a = t
        .company(&manager, company_input("7707083893", "773601001"))
        .await;
    let b = t
        .company(&manager, company_input("7712345671", "773601001"))
        .await;
    t.company(&manager, company_input("5263179847", "773601001"))
        .await;
    let client = t.sign_in(Role::Client, &[a, b]).await;
    let r = t
        .gql(
            Some(&client),
            "{ me { companyIds } companies { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        r["data"]["companies"]["edges"].as_array().unwrap().len(),
        2,
        "{r}"
    );
    assert_eq!(r["data"]["me"]["companyIds"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn auditors_read_the_event_history_and_change_nothing() {
    let t = TestApp::spawn().await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let id = t
        .company(&manager, company_input("7707083893", "773601001"))
        .await;
    t.gql(
        Some(&manager),
        "mutation($i: ChangeCompanyRequisitesInput!) { changeCompanyRequisites(input: $i) { position } }",
        json!({"i": {"companyId": id, "shortName": "ООО «Ромашка-2»"}}),
    )
    .await;
    let auditor = t.sign_in(Role::Auditor, &[]).await;
    let q = "query($id: String!) { events(filter: {aggregateType: \"Company\", aggregateId: $id}) { edges { node { sequence eventType eventVersion storedVersion metadata { actor { logName } correlationId causationId requestId } payload } } } }";
    let r = t
        .gql(Some(&auditor), q, json!({"id": id.to_string()}))
        .await;
    let edges = r["data"]["events"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2, "{r}");
    assert_eq!(edges[0]["node"]["eventType"], "CompanyRegistered");
    assert_eq!(edges[1]["node"]["eventType"], "CompanyRequisitesChanged");
    assert_eq!(
        edges[1]["node"]["payload"]["CompanyRequisitesChanged"]["short_name"],
        "ООО «Ромашка-2»"
    );
    for key in ["correlationId", "causationId", "requestId"] {
        assert!(edges[0]["node"]["metadata"][key].is_string(), "{key}");
    }
    assert!(edges[0]["node"]["metadata"]["actor"]["logName"]
        .as_str()
        .is_some_and(|a| a.starts_with("account:")));
    // A manager may not read the history; an auditor may not register.
    assert_eq!(
        error(
            &t.gql(Some(&manager), q, json!({"id": id.to_string()}))
                .await
        )
        .0,
        "FORBIDDEN"
    );
    assert_eq!(
        error(
            &t.register(&auditor, company_input("7712345671", "773601001"))
                .await
        )
        .0,
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn a_temporary_password_allows_only_me_logout_and_password_change() {
    let t = TestApp::spawn().await;
    let token = t.sign_in(Role::Manager, &[]).await;
    sqlx::query("UPDATE accounts SET must_change_password = true")
        .execute(&t.pool)
        .await
        .unwrap();
    let r = t
        .gql(
            Some(&token),
            "{ companies { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(error(&r).0, "PASSWORD_CHANGE_REQUIRED");
    let r = t
        .gql(Some(&token), "{ me { mustChangePassword } }", json!({}))
        .await;
    assert_eq!(r["data"]["me"]["mustChangePassword"], true);
}

#[tokio::test]
async fn overly_deep_queries_are_refused() {
    let t = TestApp::spawn().await;
    let token = t.sign_in(Role::Manager, &[]).await;
    // 14 levels of `ofType`: deeper than MAX_DEPTH (12).
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType {".repeat(14),
        "}".repeat(14)
    );
    let r = t.gql(Some(&token), &deep, json!({})).await;
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("nested too deep"),
        "{r}"
    );
}

/// Each role against one probe per kind of operation, over HTTP: FORBIDDEN exactly where the policy table
/// (docs/security.md's role matrix) says so.
#[tokio::test]
async fn the_role_matrix_holds_over_http() {
    use api::auth::policy::{authorize, Operation};
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let contract = crate::common::conclude(&t, &admin, company, "ЛД-1", "a@romashka.ru").await;
    use api::auth::CompanyRole;
    // A client once per role in the company; staff hold no company role.
    let columns = [
        (Role::Client, CompanyRole::Director),
        (Role::Client, CompanyRole::Accountant),
        (Role::Client, CompanyRole::Viewer),
        (Role::Manager, CompanyRole::Viewer),
        (Role::Accountant, CompanyRole::Viewer),
        (Role::Auditor, CompanyRole::Viewer),
        (Role::Admin, CompanyRole::Viewer),
    ];
    for (n, (role, company_role)) in columns.into_iter().enumerate() {
        let companies = if role == Role::Client {
            vec![company]
        } else {
            vec![]
        };
        let (token, _, _) = t.sign_in_person(role, company_role, &companies).await;
        let me = t.gql(Some(&token), "{ me { id } }", json!({})).await;
        let me_id: uuid::Uuid = me["data"]["me"]["id"].as_str().unwrap().parse().unwrap();
        let probes: Vec<(&str, serde_json::Value, Operation)> = vec![
            ("query($c: UUID!) { contract(id: $c) { number } }", json!({"c": contract}), Operation::ReadContracts(company)),
            ("query($c: String!) { events(filter: {aggregateType: \"Company\", aggregateId: $c}) { edges { cursor } } }", json!({"c": company.to_string()}), Operation::ReadEvents),
            ("mutation($c: UUID!, $r: String!) { recordPayment(input: {contractId: $c, amount: \"1\", date: \"2026-02-01\", bankReference: $r, purpose: LEASING_PAYMENT}) { position } }", json!({"c": contract, "r": format!("p-{n}")}), Operation::ChangeContract(company)),
            ("mutation($i: RegisterCompanyInput!) { registerCompany(input: $i) { position } }", json!({"i": company_input("5263179847", &format!("77360100{n}"))}), Operation::RegisterCompany),
            ("{ accounts { edges { cursor } } }", json!({}), Operation::ManageAccounts),
            ("query($a: UUID!) { securityLog(accountId: $a) { edges { cursor } } }", json!({"a": me_id}), Operation::ReadSecurityLog(me_id)),
            ("mutation { requestAccountDeletion { deactivatedAt } }", json!({}), Operation::RequestAccountDeletion),
            ("mutation { advanceClock(input: { to: \"2026-02-01\" }) { businessDate } }", json!({}), Operation::AdvanceClock),
            ("mutation { publishTerms(input: { text: \"Условия\" }) { terms { version } } }", json!({}), Operation::PublishTerms),
            ("query($c: UUID!) { companyPeople(companyId: $c) { people { role } } }", json!({"c": company}), Operation::ReadPeople(company)),
            ("mutation($c: UUID!, $e: String!) { inviteColleague(input: {companyId: $c, email: $e, role: VIEWER}) { invitation { id } } }", json!({"c": company, "e": format!("colleague-{n}@romashka.ru")}), Operation::ManagePeople(company)),
            ("mutation($c: UUID!) { submitRequest(input: {companyId: $c, details: {consultation: {subject: \"Вопрос\", text: \"Как дела?\"}}}) { request { id } } }", json!({"c": company}), Operation::SubmitRequest(company)),
            ("mutation($c: UUID!) { registerPowerOfAttorney(input: {companyId: $c, number: \"00000000-0000-0000-0000-000000000000\", representativeId: \"00000000-0000-0000-0000-000000000000\", documentKinds: [UPD], validFrom: \"2026-01-01\", validUntil: \"2026-12-31\"}) { position } }", json!({"c": company}), Operation::ManagePowersOfAttorney(company)),
            ("query($c: UUID!) { conversations(companyId: $c) { id unread } }", json!({"c": company}), Operation::ReadConversation(company)),
            ("mutation($c: UUID!, $t: String!) { postMessage(input: {companyId: $c, text: $t}) { message { id } } }", json!({"c": company, "t": format!("сообщение {n}")}), Operation::WriteConversation(company)),
            ("mutation { updateStaffProfile(input: {name: \"Иванова Мария\", phone: \"+74957770001\"}) { profile { name } } }", json!({}), Operation::UpdateStaffProfile),
        ];
        let actor = api::auth::Actor {
            account_id: me_id,
            email: String::new(),
            roles: vec![role],
            memberships: companies
                .iter()
                .map(|&company_id| api::auth::Membership {
                    company_id,
                    role: company_role,
                })
                .collect(),
            must_change_password: false,
            terms_required: None,
            totp_enrolment_required: false,
        };
        for (q, vars, op) in probes {
            let r = t.gql(Some(&token), q, vars).await;
            let code = &r["errors"][0]["extensions"]["code"];
            let forbidden = code == "FORBIDDEN" || code == "COMPANY_ROLE";
            let expected = authorize(Some(&actor), op).is_err();
            assert_eq!(forbidden, expected, "{role:?}/{company_role:?} {q}: {r}");
        }
    }
}
