//! Authentication and the authorization layer, tried with every operation.

mod common;

use api::auth::Role;
use common::{company_input, error, TestApp, PASSWORD};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn without_a_valid_token_everything_but_login_is_unauthenticated() {
    let t = TestApp::spawn().await;
    for token in [None, Some("not-a-token")] {
        for q in [
            "{ me { email } }",
            "{ companies { edges { cursor } } }",
            "mutation { logout }",
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
    let q = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
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
        t.gql(Some(&token), "mutation { logout }", json!({})).await["data"]["logout"],
        true
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
async fn a_client_touching_another_company_is_forbidden_for_every_operation() {
    let t = TestApp::spawn().await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let mine = t
        .company(&manager, company_input("7707083893", "773601001"))
        .await;
    let theirs = t
        .company(&manager, company_input("7712345671", "773601001"))
        .await;
    let client = t.sign_in(Role::Client, &[mine]).await;

    // Reads of the own company work.
    let r = t
        .gql(
            Some(&client),
            "query($id: UUID!) { company(id: $id) { inn } }",
            json!({"id": mine}),
        )
        .await;
    assert_eq!(r["data"]["company"]["inn"], "7707083893", "{r}");

    // Every operation with the other company's id is FORBIDDEN, and changes nothing.
    let before = t.event_count().await;
    let ops: Vec<(&str, serde_json::Value)> = vec![
        ("query($id: UUID!) { company(id: $id) { inn } }", json!({"id": theirs})),
        (
            "mutation($i: ChangeCompanyRequisitesInput!) { changeCompanyRequisites(input: $i) { position } }",
            json!({"i": {"companyId": theirs, "shortName": "взлом"}}),
        ),
        (
            "mutation($i: AssignManagerInput!) { assignManager(input: $i) { position } }",
            json!({"i": {"companyId": theirs, "name": "x", "phone": "+74951112233", "email": "a@b.ru"}}),
        ),
        (
            "query($id: String!) { events(aggregateType: \"Company\", aggregateId: $id) { edges { cursor } } }",
            json!({"id": theirs.to_string()}),
        ),
    ];
    for (q, vars) in &ops {
        let r = t.gql(Some(&client), q, vars.clone()).await;
        assert_eq!(error(&r).0, "FORBIDDEN", "{q}: {r}");
    }
    // Staff-only operations on the client's own company are FORBIDDEN too.
    for (q, vars) in &ops[1..] {
        let vars = serde_json::from_str(
            &vars
                .to_string()
                .replace(&theirs.to_string(), &mine.to_string()),
        )
        .unwrap();
        assert_eq!(
            error(&t.gql(Some(&client), q, vars).await).0,
            "FORBIDDEN",
            "{q}"
        );
    }
    let r = t
        .register(&client, company_input("5263179847", "773601001"))
        .await;
    assert_eq!(error(&r).0, "FORBIDDEN");
    assert_eq!(t.event_count().await, before);

    // The list shows only the client's company, whatever it searches for.
    for search in [json!(null), json!("7712"), json!("Ромашка")] {
        let r = t
            .gql(
                Some(&client),
                "query($s: String) { companies(search: $s) { edges { node { id } } } }",
                json!({"s": search}),
            )
            .await;
        let ids: Vec<Uuid> = r["data"]["companies"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(ids.iter().all(|id| *id == mine), "{search}: {r}");
    }
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
    let q = "query($id: String!) { events(aggregateType: \"Company\", aggregateId: $id) { edges { node { sequence eventType eventVersion storedVersion metadata payload } } } }";
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
    for key in ["actor", "correlation_id", "causation_id", "request_id"] {
        assert!(edges[0]["node"]["metadata"][key].is_string(), "{key}");
    }
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

/// A contract for `company` (explicit schedule), concluded by `token`; returns its id.
async fn contract(t: &TestApp, token: &str, company: Uuid, number: &str) -> Uuid {
    let r = t
        .gql(
            Some(token),
            "mutation($i: ConcludeContractInput!) { concludeContract(input: $i) { contract { id } } }",
            json!({"i": {
                "companyId": company, "number": number, "date": "2026-02-01", "contactEmail": "a@b.ru",
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

#[tokio::test]
async fn every_contract_operation_on_another_companys_contract_is_forbidden_to_a_client() {
    let t = TestApp::spawn().await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let mine = t
        .company(&manager, company_input("7707083893", "773601001"))
        .await;
    let theirs = t
        .company(&manager, company_input("7712345671", "773601001"))
        .await;
    let my_contract = contract(&t, &manager, mine, "ЛД-МОЙ").await;
    let their_contract = contract(&t, &manager, theirs, "ЛД-ЧУЖОЙ").await;
    let client = t.sign_in(Role::Client, &[mine]).await;
    let c = their_contract;
    let reads: Vec<(&str, serde_json::Value)> = vec![
        (
            "query($c: UUID!) { contract(id: $c) { number } }",
            json!({"c": c}),
        ),
        (
            "query($c: UUID!) { contracts(companyId: $c) { edges { cursor } } }",
            json!({"c": theirs}),
        ),
        (
            "query($c: UUID!) { debt(companyId: $c) { total } }",
            json!({"c": theirs}),
        ),
        (
            "query($c: UUID!) { earlyBuyoutQuote(contractId: $c, asOf: \"2026-03-01\") { total } }",
            json!({"c": c}),
        ),
    ];
    let changes: Vec<(&str, serde_json::Value)> = vec![
        (
            "mutation($i: ConcludeContractInput!) { concludeContract(input: $i) { position } }",
            json!({"i": {
                "companyId": theirs, "number": "ЛД-ВЗЛОМ", "date": "2026-02-01", "contactEmail": "a@b.ru",
                "subject": {"kind": "станок", "make": "DMG", "model": "CTX", "year": 2025, "serialNumber": "1"},
                "price": "300000", "advance": {"amount": "0"}, "termMonths": 1, "annualRate": "0",
                "firstDueDate": "2026-03-10", "scheduleKind": "EXPLICIT",
                "lines": [{"dueDate": "2026-03-10", "amount": "300000"}], "redemption": "0",
                "penalty": {"ratePerDay": "0.1", "baseIncludesVat": true, "paymentDayCounts": true}}}),
        ),
        (
            "mutation($i: ActivateContractInput!) { activateContract(input: $i) { position } }",
            json!({"i": {"contractId": c, "date": "2026-02-02"}}),
        ),
        (
            "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { position } }",
            json!({"i": {"contractId": c, "amount": "1", "date": "2026-02-02", "bankReference": "x",
                         "purpose": "LEASING_PAYMENT"}}),
        ),
        (
            "mutation($i: RegisterTrafficFineInput!) { registerTrafficFine(input: $i) { position } }",
            json!({"i": {"contractId": c, "resolutionNumber": "18810177260303000009", "date": "2026-02-02",
                         "amount": "500", "vehicle": "x", "description": "x"}}),
        ),
        (
            "mutation($i: RecordFinePaidInput!) { recordFinePaid(input: $i) { position } }",
            json!({"i": {"contractId": c, "resolutionNumber": "18810177260303000009", "date": "2026-02-02"}}),
        ),
        (
            "mutation($i: RecalculateScheduleInput!) { recalculateSchedule(input: $i) { position } }",
            json!({"i": {"contractId": c, "date": "2026-02-02", "amount": "1", "mode": "SHORTER_TERM"}}),
        ),
        (
            "mutation($i: CompleteContractInput!) { completeContract(input: $i) { position } }",
            json!({"i": {"contractId": c, "date": "2026-02-02"}}),
        ),
        (
            "mutation($i: TerminateContractInput!) { terminateContract(input: $i) { position } }",
            json!({"i": {"contractId": c, "date": "2026-02-02", "reason": "x"}}),
        ),
        ("mutation { advanceClock(to: \"2026-02-02\") { businessDate } }", json!({})),
    ];
    let before = t.event_count().await;
    for (q, vars) in reads.iter().chain(changes.iter()) {
        let r = t.gql(Some(&client), q, vars.clone()).await;
        assert_eq!(error(&r).0, "FORBIDDEN", "{q}: {r}");
        let r = t.gql(None, q, vars.clone()).await;
        assert_eq!(error(&r).0, "UNAUTHENTICATED", "{q}: {r}");
    }
    // The back office's changes are forbidden to a client on its own contract too.
    for (q, vars) in &changes {
        let vars: serde_json::Value = serde_json::from_str(
            &vars
                .to_string()
                .replace(&c.to_string(), &my_contract.to_string())
                .replace(&theirs.to_string(), &mine.to_string()),
        )
        .unwrap();
        assert_eq!(
            error(&t.gql(Some(&client), q, vars).await).0,
            "FORBIDDEN",
            "{q}"
        );
    }
    assert_eq!(t.event_count().await, before);
    // Its own reads work.
    for (q, vars) in &reads {
        let vars: serde_json::Value = serde_json::from_str(
            &vars
                .to_string()
                .replace(&c.to_string(), &my_contract.to_string())
                .replace(&theirs.to_string(), &mine.to_string()),
        )
        .unwrap();
        let r = t.gql(Some(&client), q, vars).await;
        assert!(r["errors"].is_null(), "{q}: {r}");
    }
}
