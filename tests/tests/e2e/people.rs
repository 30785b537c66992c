//! People inside a lessee company (issue 26): roles per company, invitations, role changes and removals,
//! and signing authority — a director, or a power of attorney (МЧД) valid on the business date.

use api::auth::{CompanyRole, Role};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::common::{company_input, conclude, error, TestApp, PASSWORD};

const INVITE: &str = "mutation($c: UUID!, $e: String!, $r: CompanyRole!) { inviteColleague(input: {companyId: $c, email: $e, role: $r}) { invitation { id email role status } } }";
const ACCEPT: &str =
    "mutation($t: String!) { acceptInvitation(input: {token: $t}) { companyId role accountCreated } }";

async fn role_of(t: &TestApp, company: Uuid, email: &str) -> Option<String> {
    sqlx::query_scalar(
        "SELECT l.role FROM account_companies l JOIN accounts a USING (account_id) \
         WHERE l.company_id = $1 AND a.email = $2",
    )
    .bind(company)
    .bind(email)
    .fetch_optional(&t.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_director_invites_colleagues_who_join_with_their_role_and_are_changed_and_removed() {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    // The first contract's contact becomes the director; a later contract's contact only a viewer.
    let director = t
        .provisioned_client(&admin, company, "ЛД-1", "boss@romashka.ru", PASSWORD)
        .await;
    conclude(&t, &admin, company, "ЛД-2", "clerk@romashka.ru").await;
    t.wait_for_consumer("account-provisioning").await;
    assert_eq!(
        role_of(&t, company, "boss@romashka.ru").await.as_deref(),
        Some("director")
    );
    assert_eq!(
        role_of(&t, company, "clerk@romashka.ru").await.as_deref(),
        Some("viewer")
    );

    // A new person: invited, accepts with the mailed string, gets a temporary password, signs in.
    let r = t
        .gql(
            Some(&director),
            INVITE,
            json!({"c": company, "e": "Buh@Romashka.ru", "r": "ACCOUNTANT"}),
        )
        .await;
    let invitation = &r["data"]["inviteColleague"]["invitation"];
    assert_eq!(invitation["status"], "OPEN", "{r}");
    assert_eq!(invitation["email"], "buh@romashka.ru");
    let control = t.mail("buh@romashka.ru", "invitation").await.code();
    let r = t
        .gql(None, ACCEPT, json!({"t": control.to_lowercase()}))
        .await;
    assert_eq!(r["data"]["acceptInvitation"]["role"], "ACCOUNTANT", "{r}");
    assert_eq!(r["data"]["acceptInvitation"]["accountCreated"], true);
    let r = t.gql(None, ACCEPT, json!({"t": control})).await;
    assert_eq!(error(&r).0, "INVITATION_INVALID", "used once: {r}");
    let temporary = t.mail("buh@romashka.ru", "temporary_password").await.code();
    let accountant = t.login("buh@romashka.ru", &temporary).await;
    t.gql(
        Some(&accountant),
        "mutation($c: String!, $n: String!) { changePassword(input: { currentPassword: $c, newPassword: $n }) { me { id } } }",
        json!({"c": temporary, "n": PASSWORD}),
    )
    .await;
    let accountant = t.login("buh@romashka.ru", PASSWORD).await;
    let me = t
        .gql(
            Some(&accountant),
            "{ me { memberships { companyId role } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        me["data"]["me"]["memberships"],
        json!([{"companyId": company, "role": "ACCOUNTANT"}]),
        "{me}"
    );
    let buh = t.account_id("buh@romashka.ru").await;
    let kinds = t.security_kinds(&accountant, buh).await;
    assert!(
        kinds.contains(&"INVITATION_ACCEPTED".to_owned()),
        "{kinds:?}"
    );

    // An accountant may not manage people; the invitation list is the director's.
    let r = t
        .gql(
            Some(&accountant),
            INVITE,
            json!({"c": company, "e": "x@romashka.ru", "r": "VIEWER"}),
        )
        .await;
    assert_eq!(error(&r).0, "COMPANY_ROLE", "{r}");
    let r = t
        .gql(
            Some(&accountant),
            "query($c: UUID!) { companyPeople(companyId: $c) { people { email role } invitations { id } } }",
            json!({"c": company}),
        )
        .await;
    assert_eq!(error(&r).0, "COMPANY_ROLE", "{r}");
    assert_eq!(
        r["data"]["companyPeople"]["people"][0],
        json!({"email": "boss@romashka.ru", "role": "DIRECTOR"}),
        "people are listed to every person, directors first: {r}"
    );

    // Revoked and expired invitations do not work; the revoked address is told.
    let r = t
        .gql(
            Some(&director),
            INVITE,
            json!({"c": company, "e": "gone@romashka.ru", "r": "VIEWER"}),
        )
        .await;
    let gone: Uuid = r["data"]["inviteColleague"]["invitation"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let gone_code = t.mail("gone@romashka.ru", "invitation").await.code();
    let r = t
        .gql(
            Some(&director),
            "mutation($i: UUID!) { revokeInvitation(input: {invitationId: $i}) { invitation { status } } }",
            json!({"i": gone}),
        )
        .await;
    assert_eq!(
        r["data"]["revokeInvitation"]["invitation"]["status"], "REVOKED",
        "{r}"
    );
    t.mail("gone@romashka.ru", "invitation_revoked").await;
    let r = t.gql(None, ACCEPT, json!({"t": gone_code})).await;
    assert_eq!(error(&r).0, "INVITATION_INVALID", "revoked: {r}");
    // Another company's director cannot revoke it (it is not one of its invitations).
    let other = t
        .company(&admin, company_input("5263179847", "526301001"))
        .await;
    let stranger = t.sign_in(Role::Client, &[other]).await;
    let r = t
        .gql(
            Some(&stranger),
            "mutation($i: UUID!) { revokeInvitation(input: {invitationId: $i}) { invitation { status } } }",
            json!({"i": gone}),
        )
        .await;
    assert_eq!(error(&r).0, "NOT_FOUND", "{r}");
    t.gql(
        Some(&director),
        INVITE,
        json!({"c": company, "e": "late@romashka.ru", "r": "VIEWER"}),
    )
    .await;
    let late_code = t.mail("late@romashka.ru", "invitation").await.code();
    sqlx::query("UPDATE invitations SET expires_at = clock_timestamp() - interval '1 minute' WHERE email = 'late@romashka.ru'")
        .execute(&t.pool)
        .await
        .unwrap();
    let r = t.gql(None, ACCEPT, json!({"t": late_code})).await;
    assert_eq!(error(&r).0, "INVITATION_INVALID", "expired: {r}");
    let r = t
        .gql(
            Some(&director),
            "query($c: UUID!) { companyPeople(companyId: $c) { invitations { email status } } }",
            json!({"c": company}),
        )
        .await;
    let statuses: Vec<(String, String)> = r["data"]["companyPeople"]["invitations"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|i| {
            (
                i["email"].as_str().unwrap().to_owned(),
                i["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("late@romashka.ru", "EXPIRED"),
        ("gone@romashka.ru", "REVOKED"),
        ("buh@romashka.ru", "ACCEPTED"),
    ] {
        assert!(
            statuses.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{statuses:?}"
        );
    }

    // A person of another company joins this one too, keeping its account.
    let (_, other_login, _) = t
        .sign_in_person(Role::Client, CompanyRole::Director, &[other])
        .await;
    t.gql(
        Some(&director),
        INVITE,
        json!({"c": company, "e": other_login, "r": "VIEWER"}),
    )
    .await;
    let code = t.mail(&other_login, "invitation").await.code();
    let r = t.gql(None, ACCEPT, json!({"t": code})).await;
    assert_eq!(
        r["data"]["acceptInvitation"]["accountCreated"], false,
        "{r}"
    );
    t.mail(&other_login, "company_role_changed").await;

    // Role changes and removals: the person is told and it shows at once.
    let change = "mutation($c: UUID!, $a: UUID!, $r: CompanyRole!) { changeColleagueRole(input: {companyId: $c, accountId: $a, role: $r}) { person { role } } }";
    let r = t
        .gql(
            Some(&director),
            change,
            json!({"c": company, "a": buh, "r": "VIEWER"}),
        )
        .await;
    assert_eq!(
        r["data"]["changeColleagueRole"]["person"]["role"], "VIEWER",
        "{r}"
    );
    t.mail("buh@romashka.ru", "company_role_changed").await;
    let r = t
        .gql(
            Some(&accountant),
            "mutation($c: UUID!) { submitRequest(input: {companyId: $c, details: {consultation: {subject: \"a\", text: \"b\"}}}) { request { id } } }",
            json!({"c": company}),
        )
        .await;
    assert_eq!(error(&r).0, "COMPANY_ROLE", "a viewer only reads: {r}");
    assert!(t
        .security_kinds(&accountant, buh)
        .await
        .contains(&"COMPANY_ROLE_CHANGED".to_owned()));

    // The last director can be neither demoted nor removed; with a second director, the first may go.
    let boss = t.account_id("boss@romashka.ru").await;
    let remove = "mutation($c: UUID!, $a: UUID!) { removeColleague(input: {companyId: $c, accountId: $a}) { people { people { email } } } }";
    let r = t
        .gql(Some(&director), remove, json!({"c": company, "a": boss}))
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.accountId".to_owned())),
        "{r}"
    );
    assert_eq!(r["errors"][0]["extensions"]["reason"], "LAST_DIRECTOR");
    let r = t
        .gql(
            Some(&director),
            change,
            json!({"c": company, "a": boss, "r": "ACCOUNTANT"}),
        )
        .await;
    assert_eq!(
        r["errors"][0]["extensions"]["reason"], "LAST_DIRECTOR",
        "{r}"
    );
    let r = t
        .gql(Some(&director), remove, json!({"c": company, "a": buh}))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    t.mail("buh@romashka.ru", "removed_from_company").await;
    let r = t
        .gql(
            Some(&accountant),
            "query($c: UUID!) { contracts(companyId: $c) { edges { cursor } } }",
            json!({"c": company}),
        )
        .await;
    assert_eq!(error(&r).0, "FORBIDDEN", "removed at once: {r}");
    // Staff manage a company's people too.
    let manager = t.sign_in(Role::Manager, &[]).await;
    let r = t
        .gql(
            Some(&manager),
            INVITE,
            json!({"c": company, "e": "new-boss@romashka.ru", "r": "DIRECTOR"}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
}

async fn upload_sent(t: &TestApp, admin: &str, company: Uuid, n: u8) -> Uuid {
    let pdf = [crate::common::PDF, &[n]].concat();
    let r = t
        .gql_upload(
            Some(admin),
            "mutation($c: UUID!, $f: Upload!) { uploadDocument(input: { companyId: $c, title: \"Дополнительное соглашение\", file: $f }) { document { id } } }",
            json!({"c": company, "f": null}),
            &[("f", "agreement.pdf", "application/pdf", &pdf)],
        )
        .await;
    let doc: Uuid = r["data"]["uploadDocument"]["document"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .parse()
        .unwrap();
    let r = t
        .gql_upload(
            Some(admin),
            SEND,
            json!({"d": doc, "s": signature(json!(null)), "f": null}),
            &[("f", "a.sig", "application/pkcs7-signature", &sig(n))],
        )
        .await;
    assert_eq!(
        r["data"]["sendDocumentForSignature"]["document"]["status"], "SENT",
        "{r}"
    );
    doc
}

const SEND: &str = "mutation($d: UUID!, $s: SignatureInput!, $f: Upload!) { sendDocumentForSignature(input: { documentId: $d, signature: $s, signatureFile: $f }) { document { status } } }";
const SIGN: &str = "mutation($d: UUID!, $s: SignatureInput!, $f: Upload!) { signDocument(input: { documentId: $d, signature: $s, signatureFile: $f }) { document { status signatures { party powerOfAttorney } } } }";

fn sig(n: u8) -> Vec<u8> {
    [&[0x30u8, 0x82, 0x01, 0x00][..], &[n; 256]].concat()
}

fn signature(poa: Value) -> Value {
    json!({"signerName": "Бухгалтерова Б. Б.", "signerPosition": "Главный бухгалтер", "thumbprint": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "signedAt": "2026-03-02T10:00:00Z", "powerOfAttorney": poa})
}

#[tokio::test]
async fn signing_and_committing_need_a_director_or_a_power_of_attorney_valid_on_the_date() {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    t.advance_clock(&admin, "2026-03-02").await;
    let director = t.sign_in(Role::Client, &[company]).await;
    let (accountant, _, accountant_id) = t
        .sign_in_person(Role::Client, CompanyRole::Accountant, &[company])
        .await;
    let (viewer, _, viewer_id) = t
        .sign_in_person(Role::Client, CompanyRole::Viewer, &[company])
        .await;
    let doc = upload_sent(&t, &admin, company, 1).await;
    let sign = |token: String, poa: Value, n: u8| {
        let t = &t;
        async move {
            t.gql_upload(
                Some(&token),
                SIGN,
                json!({"d": doc, "s": signature(poa), "f": null}),
                &[("f", "b.sig", "application/pkcs7-signature", &sig(n))],
            )
            .await
        }
    };
    let events = t.event_count().await;
    let r = sign(viewer.clone(), json!(null), 2).await;
    assert_eq!(error(&r).0, "COMPANY_ROLE", "{r}");
    let r = sign(accountant.clone(), json!(null), 3).await;
    assert_eq!(error(&r).0, "SIGNING_AUTHORITY_REQUIRED", "{r}");
    assert_eq!(t.event_count().await, events, "nothing stored");

    // Powers of attorney: one that starts later, one for another kind, one for a viewer.
    let register = "mutation($i: RegisterPowerOfAttorneyInput!) { registerPowerOfAttorney(input: $i) { powerOfAttorney { number documentKinds requests revokedAt } } }";
    let power = |number: &str, who: Uuid, kinds: Value, requests: bool, from: &str| {
        json!({"i": {"companyId": company, "number": number, "representativeId": who, "documentKinds": kinds,
            "requests": requests, "validFrom": from, "validUntil": "2026-12-31"}})
    };
    let later = "11111111-1111-4111-8111-111111111111";
    let acts = "22222222-2222-4222-8222-222222222222";
    let good = "33333333-3333-4333-8333-333333333333";
    for (vars, who) in [
        (
            power(
                later,
                accountant_id,
                json!(["UPLOADED"]),
                true,
                "2026-04-01",
            ),
            "director",
        ),
        (
            power(acts, accountant_id, json!(["ACT"]), false, "2026-01-01"),
            "director",
        ),
    ] {
        let r = t.gql(Some(&director), register, vars).await;
        assert!(r["errors"].is_null(), "{who}: {r}");
    }
    let r = t
        .gql(
            Some(&accountant),
            register,
            power(good, accountant_id, json!(["UPLOADED"]), true, "2026-01-01"),
        )
        .await;
    assert_eq!(
        error(&r).0,
        "COMPANY_ROLE",
        "an accountant cannot empower itself: {r}"
    );
    let r = t
        .gql(
            Some(&director),
            register,
            power(
                good,
                Uuid::from_u128(7),
                json!(["UPLOADED"]),
                true,
                "2026-01-01",
            ),
        )
        .await;
    assert_eq!(
        error(&r),
        (
            "VALIDATION".to_owned(),
            Some("input.representativeId".to_owned())
        ),
        "{r}"
    );
    let r = t
        .gql(
            Some(&director),
            register,
            power(
                later,
                accountant_id,
                json!(["UPLOADED"]),
                true,
                "2026-01-01",
            ),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.number".to_owned())),
        "a number once: {r}"
    );
    let r = sign(accountant.clone(), json!(null), 4).await;
    assert_eq!(
        error(&r).0,
        "SIGNING_AUTHORITY_REQUIRED",
        "neither power covers an uploaded document today: {r}"
    );
    let r = sign(accountant.clone(), json!(later), 5).await;
    assert_eq!(
        error(&r),
        (
            "VALIDATION".to_owned(),
            Some("input.signature.powerOfAttorney".to_owned())
        ),
        "{r}"
    );
    // A viewer holding a power still only reads.
    let r = t
        .gql(
            Some(&director),
            register,
            power(good, viewer_id, json!(["UPLOADED"]), true, "2026-01-01"),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = sign(viewer.clone(), json!(good), 6).await;
    assert_eq!(error(&r).0, "COMPANY_ROLE", "{r}");
    let r = sign(accountant.clone(), json!(good), 7).await;
    assert_eq!(
        error(&r).1.as_deref(),
        Some("input.signature.powerOfAttorney"),
        "another person's power: {r}"
    );

    // A power valid today for this kind: the signature records it.
    let valid = "44444444-4444-4444-8444-444444444444";
    let r = t
        .gql(
            Some(&director),
            register,
            power(
                valid,
                accountant_id,
                json!(["UPLOADED", "UPD"]),
                false,
                "2026-03-01",
            ),
        )
        .await;
    assert_eq!(
        r["data"]["registerPowerOfAttorney"]["powerOfAttorney"]["documentKinds"],
        json!(["UPD", "UPLOADED"]),
        "{r}"
    );
    let r = sign(accountant.clone(), json!(null), 8).await;
    let signed = &r["data"]["signDocument"]["document"];
    assert_eq!(signed["status"], "SIGNED", "{r}");
    assert_eq!(signed["signatures"][1]["powerOfAttorney"], valid);

    // Revoked, it covers nothing: refusing the next document is the director's again.
    let r = t
        .gql(
            Some(&director),
            "mutation($c: UUID!, $n: UUID!) { revokePowerOfAttorney(input: {companyId: $c, number: $n, reason: \"уволена\"}) { powerOfAttorney { revokedAt revokedReason } } }",
            json!({"c": company, "n": valid}),
        )
        .await;
    assert_eq!(
        r["data"]["revokePowerOfAttorney"]["powerOfAttorney"]["revokedReason"], "уволена",
        "{r}"
    );
    let next = upload_sent(&t, &admin, company, 9).await;
    let reject = "mutation($d: UUID!) { rejectDocumentSignature(input: { documentId: $d, reason: \"не согласны\" }) { document { status } } }";
    let r = t.gql(Some(&accountant), reject, json!({"d": next})).await;
    assert_eq!(error(&r).0, "SIGNING_AUTHORITY_REQUIRED", "{r}");
    let r = t.gql(Some(&director), reject, json!({"d": next})).await;
    assert_eq!(
        r["data"]["rejectDocumentSignature"]["document"]["status"], "REJECTED",
        "{r}"
    );

    // Requests that commit the company: the director, or a power for requests; others need none.
    let submit = |details: Value| json!({"c": company, "d": details});
    let q = "mutation($c: UUID!, $d: RequestDetailsInput!) { submitRequest(input: {companyId: $c, details: $d}) { request { status powerOfAttorney } } }";
    let requisites = json!({"requisitesChange": {"shortName": "ООО «Ромашка-2»"}});
    let r = t
        .gql(Some(&accountant), q, submit(requisites.clone()))
        .await;
    assert_eq!(error(&r).0, "SIGNING_AUTHORITY_REQUIRED", "{r}");
    let r = t
        .gql(
            Some(&accountant),
            q,
            submit(json!({"consultation": {"subject": "Выкуп", "text": "Когда можно выкупить?"}})),
        )
        .await;
    assert!(r["errors"].is_null(), "a consultation commits nothing: {r}");
    let r = t.gql(Some(&director), q, submit(requisites.clone())).await;
    assert!(r["errors"].is_null(), "{r}");
    // A director's request rests on no power of attorney.
    assert_eq!(
        r["data"]["submitRequest"]["request"]["powerOfAttorney"],
        Value::Null,
        "{r}"
    );
    let requests_power = "55555555-5555-4555-8555-555555555555";
    let r = t
        .gql(
            Some(&director),
            register,
            power(requests_power, accountant_id, json!([]), true, "2026-03-02"),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = t
        .gql(Some(&accountant), q, submit(requisites.clone()))
        .await;
    assert!(r["errors"].is_null(), "under a power for requests: {r}");
    // The power it was filed under is recorded with it (and named by the auditors' event).
    assert_eq!(
        r["data"]["submitRequest"]["request"]["powerOfAttorney"], requests_power,
        "{r}"
    );
    // Naming a power that does not cover requests is refused by field.
    let r = t
        .gql(
            Some(&accountant),
            "mutation($c: UUID!, $d: RequestDetailsInput!, $p: UUID!) { submitRequest(input: {companyId: $c, details: $d, powerOfAttorney: $p}) { request { status } } }",
            json!({"c": company, "d": requisites, "p": valid}),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".into(), Some("input.powerOfAttorney".into())),
        "{r}"
    );
    let r = t
        .gql(
            Some(&viewer),
            "query($c: UUID!) { powersOfAttorney(companyId: $c) { number revokedAt } }",
            json!({"c": company}),
        )
        .await;
    assert_eq!(
        r["data"]["powersOfAttorney"].as_array().map(Vec::len),
        Some(5),
        "{r}"
    );
    t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn the_lessors_contacts_are_published_by_staff_and_read_by_every_person() {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let (viewer, _, _) = t
        .sign_in_person(Role::Client, CompanyRole::Viewer, &[company])
        .await;
    let read = "{ contacts { offices { name city phone email hours } channels { kind value purpose hours } publishedAt } }";
    let r = t.gql(Some(&viewer), read, json!({})).await;
    assert!(
        r["data"]["contacts"].is_null(),
        "nothing published yet: {r}"
    );
    let publish = "mutation($i: PublishContactsInput!) { publishContacts(input: $i) { contacts { channels { value } } position } }";
    let page = json!({"i": {
        "offices": [{"name": "Головной офис", "city": "Москва", "address": "ул. Тверская, 1",
                     "phone": "8 (495) 111-22-33", "email": "Info@Lessor.ru", "hours": "пн–пт 9:00–18:00"}],
        "channels": [{"kind": "TELEGRAM", "value": "@lessor_help", "purpose": "Поддержка кабинета"},
                     {"kind": "PHONE", "value": "8 800 555-35-35", "purpose": "Страховые случаи", "hours": "круглосуточно"}]}});
    let r = t.gql(Some(&viewer), publish, page.clone()).await;
    assert_eq!(error(&r).0, "FORBIDDEN", "{r}");
    let events = t.event_count().await;
    let bad = json!({"i": {"channels": [{"kind": "WEB", "value": "http://lessor.ru", "purpose": "Сайт"}]}});
    let r = t.gql(Some(&admin), publish, bad).await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.channels".to_owned())),
        "{r}"
    );
    assert_eq!(t.event_count().await, events, "nothing stored");
    let r = t.gql(Some(&admin), publish, page.clone()).await;
    assert!(r["data"]["publishContacts"]["position"].is_string(), "{r}");
    let events = t.event_count().await;
    let r = t.gql(Some(&admin), publish, page).await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(
        t.event_count().await,
        events,
        "the same page again records nothing"
    );
    let r = t.gql(Some(&viewer), read, json!({})).await;
    let c = &r["data"]["contacts"];
    assert_eq!(c["offices"][0]["phone"], "+74951112233", "{r}");
    assert_eq!(c["offices"][0]["email"], "info@lessor.ru");
    assert_eq!(c["channels"][0]["value"], "https://t.me/lessor_help");
    assert_eq!(c["channels"][1]["hours"], "круглосуточно");
    t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn an_administrator_invites_staff_by_mail_who_join_with_a_temporary_password() {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let manager = t.sign_in(Role::Manager, &[]).await;
    let invite = "mutation($e: String!, $r: Role!) { inviteStaff(input: {email: $e, role: $r}) { invitationId } }";
    let r = t
        .gql(
            Some(&manager),
            invite,
            json!({"e": "new.manager@lessor.ru", "r": "MANAGER"}),
        )
        .await;
    assert_eq!(error(&r).0, "FORBIDDEN", "an ADMIN's act: {r}");
    let r = t
        .gql(
            Some(&admin),
            invite,
            json!({"e": "someone@lessor.ru", "r": "CLIENT"}),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.role".to_owned())),
        "{r}"
    );
    let r = t
        .gql(
            Some(&admin),
            invite,
            json!({"e": "New.Manager@Lessor.ru", "r": "MANAGER"}),
        )
        .await;
    assert!(r["data"]["inviteStaff"]["invitationId"].is_string(), "{r}");
    let control = t
        .mail("new.manager@lessor.ru", "staff_invitation")
        .await
        .code();
    // A company's acceptance does not take a staff string, and the other way round.
    let r = t.gql(None, ACCEPT, json!({"t": control})).await;
    assert_eq!(error(&r).0, "INVITATION_INVALID", "{r}");
    let accept =
        "mutation($t: String!) { acceptStaffInvitation(input: {token: $t}) { accountId role } }";
    let r = t.gql(None, accept, json!({"t": control})).await;
    assert_eq!(r["data"]["acceptStaffInvitation"]["role"], "MANAGER", "{r}");
    let r = t.gql(None, accept, json!({"t": control})).await;
    assert_eq!(error(&r).0, "INVITATION_INVALID", "once: {r}");
    let temporary = t
        .mail("new.manager@lessor.ru", "temporary_password")
        .await
        .code();
    let token = t.login("new.manager@lessor.ru", &temporary).await;
    let me = t
        .gql(
            Some(&token),
            "{ me { roles mustChangePassword } }",
            json!({}),
        )
        .await;
    assert_eq!(
        me["data"]["me"],
        json!({"roles": ["MANAGER"], "mustChangePassword": true}),
        "{me}"
    );
    // An address that is a login already is not invited (its roles are changed instead).
    let r = t
        .gql(
            Some(&admin),
            invite,
            json!({"e": "new.manager@lessor.ru", "r": "ADMIN"}),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("input.email".to_owned())),
        "{r}"
    );
}
