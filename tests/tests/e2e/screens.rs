//! The cabinet's screens, committed as GraphQL operations in `screens/` (the client's in `screens/client`,
//! the back office's in `screens/staff`): each is one named operation, one request, valid against the
//! schema, and answers in full on the demo data — a client's screens for the client and for staff, the back
//! office's for staff. A frontend generates its code from these documents; a schema change that breaks one
//! fails here.

use std::path::Path;

use api::auth::Role;
use serde_json::{json, Value};

use crate::common::TestApp;

const PASSWORD: &str = "Экраны-Кабинета-2026";

/// `(name, text)` of every screen in `screens/<dir>`, by name.
fn screens(dir: &str) -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../screens")
        .join(dir);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "graphql"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// The screen is one query named after its file, using only the variables the suite knows.
fn check_document(name: &str, text: &str, known: &Value) {
    let doc = async_graphql::parser::parse_query(text)
        .unwrap_or_else(|e| panic!("{name}: does not parse: {e}"));
    let ops: Vec<_> = doc.operations.iter().collect();
    assert_eq!(ops.len(), 1, "{name}: a screen is one operation");
    let (named, op) = (ops[0].0.map(|n| n.to_string()), ops[0].1);
    assert_eq!(
        named.as_deref(),
        Some(name),
        "{name}: the operation is named after its file"
    );
    assert_eq!(
        op.node.ty,
        async_graphql::parser::types::OperationType::Query,
        "{name}: a screen reads"
    );
    for v in &op.node.variable_definitions {
        let var = v.node.name.node.as_str();
        assert!(known.get(var).is_some(), "{name}: unknown variable ${var}");
    }
}

/// Every list of connections directly under the answer's root fields has something in it, so each screen
/// is exercised on data rather than on empty pages.
fn assert_full(name: &str, who: &str, r: &Value) {
    assert!(r["errors"].is_null(), "{name} as {who}: {r}");
    let data = r["data"]
        .as_object()
        .unwrap_or_else(|| panic!("{name} as {who}: {r}"));
    for (field, value) in data {
        assert!(!value.is_null(), "{name} as {who}: {field} is null: {r}");
        if let Some(edges) = value.get("edges") {
            assert!(
                edges.as_array().is_some_and(|e| !e.is_empty()),
                "{name} as {who}: {field} is empty: {r}"
            );
        }
    }
}

#[tokio::test]
async fn every_screen_is_one_request_that_answers_in_full_for_its_users() {
    let t = TestApp::spawn().await;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
    let company = api::app::demo::load(&t.app, PASSWORD, today).await.unwrap();
    let admin = t.login(api::app::demo::ADMIN_EMAIL, PASSWORD).await;
    // The demo's administrator, as every administrator, enrols two-factor sign-in first.
    t.enrol_totp(&admin, PASSWORD).await;
    let client = t.login(api::app::demo::CLIENT_EMAIL, PASSWORD).await;
    // The demo company's responsible manager: the back office's person who sees its screens (and its
    // staff notifications, which reach the manager first).
    let manager = t.login(api::app::demo::MANAGER_EMAIL, PASSWORD).await;
    let auditor = t.sign_in(Role::Auditor, &[]).await;
    let first = |r: Value, list: &str| r["data"][list]["edges"][0]["node"]["id"].clone();
    let contract = first(
        t.gql(
            Some(&client),
            "query($c: UUID!) { contracts(companyId: $c) { edges { node { id } } } }",
            json!({ "c": company }),
        )
        .await,
        "contracts",
    );
    let request = first(
        t.gql(
            Some(&client),
            "query($c: UUID!) { requests(companyId: $c) { edges { node { id } } } }",
            json!({ "c": company }),
        )
        .await,
        "requests",
    );
    let me = t.gql(Some(&client), "{ me { id } }", json!({})).await;
    let vars = json!({
        "companyId": company, "contractId": contract, "requestId": request, "accountId": me["data"]["me"]["id"],
        "search": null, "after": null, "filter": null,
    });
    for id in ["companyId", "contractId", "requestId", "accountId"] {
        assert!(vars[id].is_string(), "{id}: {vars}");
    }

    let client_screens = screens("client");
    let names: Vec<&str> = client_screens.iter().map(|(n, _)| n.as_str()).collect();
    for required in [
        "Dashboard",
        "Contract",
        "Debt",
        "Insurance",
        "Requests",
        "Request",
        "Notifications",
        "Conversation",
        "Documents",
        "Account",
    ] {
        assert!(
            names.contains(&required),
            "screens/client/{required}.graphql"
        );
    }
    for (name, text) in &client_screens {
        check_document(name, text, &vars);
        // The account screen is the administrator's (another account's security log).
        let staff = if name == "Account" { &admin } else { &manager };
        for (who, token) in [("client", &client), ("staff", staff)] {
            assert_full(name, who, &t.gql(Some(token), text, vars.clone()).await);
        }
    }
    for (name, text) in &screens("staff") {
        check_document(name, text, &vars);
        let token = match name.as_str() {
            "AuditLog" => &auditor,
            // A manager's own inbox (the administrator manages no company).
            "Inbox" => &manager,
            _ => &admin,
        };
        assert_full(name, "staff", &t.gql(Some(token), text, vars.clone()).await);
    }
}
