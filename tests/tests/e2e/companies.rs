//! Registering and changing companies through GraphQL, on a real PostgreSQL.

use crate::common::{company_input, error, TestApp};
use api::auth::Role;
use serde_json::json;

#[tokio::test]
async fn a_manager_registers_a_company_and_reads_it_back() {
    let t = TestApp::spawn().await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let r = t
        .register(&manager, company_input("7707083893", "773601001"))
        .await;
    let c = &r["data"]["registerCompany"];
    assert_eq!(c["company"]["inn"], "7707083893", "{r}");
    assert_eq!(c["company"]["kind"], "LEGAL_ENTITY");
    // The postal address defaults to the legal one.
    assert_eq!(c["company"]["postalAddress"], c["company"]["legalAddress"]);
    // The mutation's position is the place of the company's last event, as its read model says.
    assert!(c["position"].is_string(), "an opaque string: {r}");
    let id = c["company"]["id"].as_str().unwrap();
    let read = t
        .gql(
            Some(&manager),
            "query($id: UUID!) { company(id: $id) { position } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read["data"]["company"]["position"], c["position"], "{read}");
    let r = t
        .gql(
            Some(&manager),
            "query($id: UUID!) { company(id: $id) { shortName bank { bik settlementAccount } manager { name } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(r["data"]["company"]["shortName"], "ООО «Ромашка»");
    assert_eq!(r["data"]["company"]["bank"]["bik"], "044525225");
    assert!(r["data"]["company"]["manager"].is_null());
}

#[tokio::test]
async fn a_sole_proprietor_registers_without_kpp() {
    let t = TestApp::spawn().await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let mut input = company_input("500100732259", "");
    input["kpp"] = json!(null);
    input["ogrn"] = json!("304500116000157");
    let r = t.register(&manager, input).await;
    assert_eq!(
        r["data"]["registerCompany"]["company"]["kind"], "SOLE_PROPRIETOR",
        "{r}"
    );
    assert!(r["data"]["registerCompany"]["company"]["kpp"].is_null());
}

#[tokio::test]
async fn every_bad_identifier_is_rejected_naming_its_field_and_nothing_is_stored() {
    let t = TestApp::spawn().await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let cases: &[(&str, serde_json::Value, &str)] = &[
        ("/inn", json!("7707083894"), "input.inn"),
        ("/inn", json!("77070838"), "input.inn"),
        ("/kpp", json!("77360100"), "input.kpp"),
        ("/ogrn", json!("1027700132196"), "input.ogrn"),
        ("/ogrn", json!("304500116000157"), "input.ogrn"),
        ("/bank/bik", json!("344525225"), "input.bank.bik"),
        (
            "/bank/correspondentAccount",
            json!("30101810500000000225"),
            "input.bank.correspondentAccount",
        ),
        (
            "/bank/correspondentAccount",
            json!("40702810938000012345"),
            "input.bank.correspondentAccount",
        ),
        (
            "/bank/settlementAccount",
            json!("40702810038000012345"),
            "input.bank.settlementAccount",
        ),
        (
            "/bank/settlementAccount",
            json!("4070281093800001234"),
            "input.bank.settlementAccount",
        ),
        (
            "/contactEmail",
            json!("office@romashka"),
            "input.contactEmail",
        ),
        ("/contactPhone", json!("12345"), "input.contactPhone"),
        ("/shortName", json!("  "), "input.shortName"),
    ];
    for (pointer, value, field) in cases {
        let mut input = company_input("7707083893", "773601001");
        *input.pointer_mut(pointer).unwrap() = value.clone();
        let r = t.register(&manager, input).await;
        assert_eq!(
            error(&r),
            ("VALIDATION".to_owned(), Some((*field).to_owned())),
            "{pointer} = {value}: {r}"
        );
        assert!(r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with(field));
    }
    // A legal entity without КПП.
    let mut input = company_input("7707083893", "773601001");
    input["kpp"] = json!(null);
    assert_eq!(
        error(&t.register(&manager, input).await).1.as_deref(),
        Some("input.kpp")
    );
    assert_eq!(t.event_count().await, 0);
}

#[tokio::test]
async fn a_second_company_with_the_same_inn_and_kpp_is_rejected() {
    let t = TestApp::spawn().await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    t.company(&manager, company_input("7707083893", "773601001"))
        .await;
    let r = t
        .register(&manager, company_input("7707083893", "773601001"))
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".into(), Some("input.inn".into())),
        "{r}"
    );
    // Same ИНН, another КПП (a branch) is another company.
    t.company(&manager, company_input("7707083893", "773602001"))
        .await;
    assert_eq!(t.event_count().await, 2);
}

#[tokio::test]
async fn concurrent_registrations_of_the_same_inn_and_kpp_store_exactly_one() {
    // The aggregate's look-up cannot see a registration that has not committed yet; the read model's unique
    // constraint closes that race, and the loser gets the same VALIDATION error.
    let t = TestApp::spawn().await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let results = futures::future::join_all(
        (0..8).map(|_| t.register(&manager, company_input("7707083893", "773601001"))),
    )
    .await;
    let ok = results.iter().filter(|r| r["errors"].is_null()).count();
    assert_eq!(ok, 1, "{results:?}");
    for r in results.iter().filter(|r| !r["errors"].is_null()) {
        assert_eq!(error(r), ("VALIDATION".into(), Some("input.inn".into())));
    }
    assert_eq!(t.event_count().await, 1);
}

#[tokio::test]
async fn requisites_change_and_a_manager_is_assigned() {
    let t = TestApp::spawn().await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let id = t
        .company(&manager, company_input("7707083893", "773601001"))
        .await;
    let r = t
        .gql(
            Some(&manager),
            "mutation($i: ChangeCompanyRequisitesInput!) { changeCompanyRequisites(input: $i) { position company { kpp postalAddress shortName } } }",
            json!({"i": {"companyId": id, "kpp": "773602001", "postalAddress": "119021, Москва, ул. Тимура Фрунзе, 11"}}),
        )
        .await;
    let c = &r["data"]["changeCompanyRequisites"]["company"];
    assert_eq!(c["kpp"], "773602001", "{r}");
    assert_eq!(c["postalAddress"], "119021, Москва, ул. Тимура Фрунзе, 11");
    assert_eq!(c["shortName"], "ООО «Ромашка»");
    // A bad settlement account in a change: VALIDATION, nothing stored.
    let before = t.event_count().await;
    let r = t
        .gql(
            Some(&manager),
            "mutation($i: ChangeCompanyRequisitesInput!) { changeCompanyRequisites(input: $i) { position } }",
            json!({"i": {"companyId": id, "bank": {"bankName": "Банк", "bik": "044525225",
                "correspondentAccount": "30101810400000000225", "settlementAccount": "40702810300000000001"}}}),
        )
        .await;
    assert_eq!(
        error(&r),
        (
            "VALIDATION".into(),
            Some("input.bank.settlementAccount".into())
        )
    );
    assert_eq!(t.event_count().await, before);
    let r = t
        .gql(
            Some(&manager),
            "mutation($i: AssignManagerInput!) { assignManager(input: $i) { company { manager { name phone email } } } }",
            json!({"i": {"companyId": id, "name": "Петров Пётр", "phone": "8 (495) 111-22-33", "email": "Petrov@Lessor.ru"}}),
        )
        .await;
    assert_eq!(
        r["data"]["assignManager"]["company"]["manager"],
        json!({"name": "Петров Пётр", "phone": "+74951112233", "email": "petrov@lessor.ru"})
    );
    // Changing a company that does not exist.
    let r = t
        .gql(
            Some(&manager),
            "mutation($i: AssignManagerInput!) { assignManager(input: $i) { position } }",
            json!({"i": {"companyId": uuid::Uuid::now_v7(), "name": "x", "phone": "+74951112233", "email": "a@b.ru"}}),
        )
        .await;
    assert_eq!(error(&r).0, "NOT_FOUND");
    t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn a_mutation_retried_with_its_idempotency_key_registers_once_and_returns_the_first_result() {
    let t = TestApp::spawn().await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let q = "mutation($i: RegisterCompanyInput!, $k: String) { registerCompany(input: $i, idempotencyKey: $k) { position replayed company { id } } }";
    let vars = json!({"i": company_input("7707083893", "773601001"), "k": "req-42"});
    let first = t.gql(Some(&manager), q, vars.clone()).await;
    let second = t.gql(Some(&manager), q, vars.clone()).await;
    let a = &first["data"]["registerCompany"];
    let b = &second["data"]["registerCompany"];
    assert_eq!(a["company"]["id"], b["company"]["id"], "{first} {second}");
    assert_eq!(a["position"], b["position"]);
    assert_eq!(a["replayed"], false);
    assert_eq!(b["replayed"], true);
    assert_eq!(t.event_count().await, 1);
    // The same key for another kind of operation is refused.
    let r = t
        .gql(
            Some(&manager),
            "mutation($i: AssignManagerInput!, $k: String) { assignManager(input: $i, idempotencyKey: $k) { position } }",
            json!({"i": {"companyId": a["company"]["id"], "name": "x", "phone": "+74951112233", "email": "a@b.ru"}, "k": "req-42"}),
        )
        .await;
    // Same aggregate type (Company): the first result is returned, nothing is executed.
    assert_eq!(r["data"]["assignManager"]["position"], a["position"], "{r}");
    assert_eq!(t.event_count().await, 1);
}

#[tokio::test]
async fn companies_are_listed_as_a_relay_connection_and_searchable() {
    let t = TestApp::spawn().await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let inns = ["7707083893", "7712345671", "5263179847"];
    for (i, inn) in inns.iter().enumerate() {
        let mut input = company_input(inn, "773601001");
        input["shortName"] = json!(format!("Компания {i}"));
        t.company(&manager, input).await;
    }
    let q = "query($f: Int, $a: String, $s: String) { companies(first: $f, after: $a, search: $s) { edges { cursor node { inn shortName } } pageInfo { hasNextPage endCursor } } }";
    let p1 = t.gql(Some(&manager), q, json!({"f": 2})).await;
    let edges = p1["data"]["companies"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2, "{p1}");
    assert_eq!(p1["data"]["companies"]["pageInfo"]["hasNextPage"], true);
    let end = p1["data"]["companies"]["pageInfo"]["endCursor"].clone();
    let p2 = t.gql(Some(&manager), q, json!({"f": 2, "a": end})).await;
    let rest = p2["data"]["companies"]["edges"].as_array().unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["node"]["inn"], "5263179847");
    assert_eq!(p2["data"]["companies"]["pageInfo"]["hasNextPage"], false);
    let by_inn = t.gql(Some(&manager), q, json!({"s": "7712"})).await;
    assert_eq!(
        by_inn["data"]["companies"]["edges"][0]["node"]["inn"],
        "7712345671"
    );
    assert_eq!(
        by_inn["data"]["companies"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let by_name = t.gql(Some(&manager), q, json!({"s": "компания 2"})).await;
    assert_eq!(
        by_name["data"]["companies"]["edges"][0]["node"]["inn"], "5263179847",
        "{by_name}"
    );
    let bad = t.gql(Some(&manager), q, json!({"f": 1000})).await;
    assert_eq!(error(&bad), ("VALIDATION".into(), Some("first".into())));
}

#[tokio::test]
async fn a_refusal_names_its_reason_for_machines_and_speaks_the_callers_language() {
    let t = TestApp::spawn().await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let register =
        "mutation($i: RegisterCompanyInput!) { registerCompany(input: $i) { company { id } } }";
    // A check digit that does not match: CHECK_DIGIT, in Russian by default and in English when asked.
    let bad_inn = json!({"i": company_input("7707083894", "773601001")});
    let ru = t.gql(Some(&manager), register, bad_inn.clone()).await;
    let e = &ru["errors"][0];
    assert_eq!(e["extensions"]["code"], "VALIDATION", "{ru}");
    assert_eq!(e["extensions"]["field"], "input.inn");
    assert_eq!(e["extensions"]["reason"], "CHECK_DIGIT");
    assert_eq!(
        e["message"],
        "input.inn: ИНН: контрольное число не совпадает"
    );
    let en = t
        .gql_in("en-GB,en;q=0.9", Some(&manager), register, bad_inn)
        .await;
    assert_eq!(en["errors"][0]["extensions"]["reason"], "CHECK_DIGIT");
    assert_eq!(
        en["errors"][0]["message"],
        "input.inn: ИНН: check digit does not match"
    );
    // A length with its allowed values as parameters.
    let short = t
        .gql(
            Some(&manager),
            register,
            json!({"i": company_input("77070838", "773601001")}),
        )
        .await;
    let e = &short["errors"][0]["extensions"];
    assert_eq!(
        (&e["reason"], &e["params"]),
        (&json!("LENGTH"), &json!({"allowed": [10, 12]})),
        "{short}"
    );
    // A page size out of range carries its bounds.
    let r = t
        .gql(
            Some(&manager),
            "{ companies(first: 500) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let e = &r["errors"][0]["extensions"];
    assert_eq!(e["field"], "first", "{r}");
    assert_eq!(e["reason"], "OUT_OF_RANGE");
    assert_eq!(e["params"], json!({"min": 1, "max": 100}));
    assert_eq!(r["errors"][0]["message"], "first: должно быть от 1 до 100");
    // Nothing was stored.
    assert_eq!(t.event_count().await, 0);
}
