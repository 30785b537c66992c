//! Managers as accounts and the conversation with the lessor (issue 26): a company's manager is a staff
//! account whose profile the client sees; the company's thread and its requests' threads with unread
//! counts, live on both sides; staff notifications reach the manager first and the back office when the
//! manager leaves them unread.

use api::auth::{CompanyRole, Role};
use cabinet_tests::Subscriptions;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::common::{company_input, error, TestApp, PDF};

const ASSIGN: &str = "mutation($i: AssignManagerInput!) { assignManager(input: $i) { company { manager { name phone email accountId } } } }";
const POST: &str = "mutation($c: UUID!, $t: String!) { postMessage(input: {companyId: $c, text: $t}) { message { id threadId side text authorId files { name } position } position } }";
const THREADS: &str = "query($c: UUID) { conversations(companyId: $c) { id companyId requestId requestKind messages unread } }";
const MESSAGES: &str = "query($t: UUID!) { conversationMessages(threadId: $t) { id side text files { name sha256 } } }";
const LIVE: &str = "subscription($c: UUID) { conversationMessageAdded(companyId: $c) { id companyId threadId side text files { name } } }";
const NOTES: &str =
    "query { notifications(first: 50) { edges { node { id kind link { entityType id } } } } }";

struct World {
    t: TestApp,
    admin: String,
    company: Uuid,
    manager: String,
    manager_email: String,
    manager_id: Uuid,
    /// Another MANAGER: the back office.
    colleague: String,
    colleague_email: String,
    client: String,
    client_email: String,
}

async fn world(t: TestApp) -> World {
    let admin = t.sign_in(Role::Admin, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let (manager, manager_email, manager_id) = t
        .sign_in_person(Role::Manager, CompanyRole::Director, &[])
        .await;
    let (colleague, colleague_email, _) = t
        .sign_in_person(Role::Manager, CompanyRole::Director, &[])
        .await;
    let (client, client_email, _) = t
        .sign_in_person(Role::Client, CompanyRole::Director, &[company])
        .await;
    let r = t
        .gql(
            Some(&manager),
            "mutation { updateStaffProfile(input: {name: \" Петрова Анна \", phone: \"8 (495) 111-22-33\"}) { profile { accountId name phone email } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        r["data"]["updateStaffProfile"]["profile"],
        json!({"accountId": manager_id, "name": "Петрова Анна", "phone": "+74951112233", "email": manager_email}),
        "{r}"
    );
    let r = t
        .gql(
            Some(&admin),
            ASSIGN,
            json!({"i": {"companyId": company, "accountId": manager_id}}),
        )
        .await;
    assert_eq!(
        r["data"]["assignManager"]["company"]["manager"],
        json!({"name": "Петрова Анна", "phone": "+74951112233", "email": manager_email, "accountId": manager_id}),
        "{r}"
    );
    World {
        t,
        admin,
        company,
        manager,
        manager_email,
        manager_id,
        colleague,
        colleague_email,
        client,
        client_email,
    }
}

async fn kinds_seen(t: &TestApp, token: &str) -> Vec<(String, Value)> {
    let r = t.gql(Some(token), NOTES, json!({})).await;
    r["data"]["notifications"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|e| {
            (
                e["node"]["kind"].as_str().unwrap().to_owned(),
                e["node"].clone(),
            )
        })
        .collect()
}

fn has(seen: &[(String, Value)], kind: &str) -> bool {
    seen.iter().any(|(k, _)| k == kind)
}

#[tokio::test]
async fn a_manager_is_a_staff_account_with_a_profile_and_only_such_an_account_can_be_one() {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let (_, _, bare) = t
        .sign_in_person(Role::Manager, CompanyRole::Director, &[])
        .await;
    let (_, _, client) = t
        .sign_in_person(Role::Client, CompanyRole::Director, &[company])
        .await;
    let before = t.event_count().await;
    // A manager without a profile: the name is asked for.
    let r = t
        .gql(
            Some(&admin),
            ASSIGN,
            json!({"i": {"companyId": company, "accountId": bare}}),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".into(), Some("input.name".into())),
        "{r}"
    );
    // A client's account (or one that does not exist) is not a manager.
    for account in [client, Uuid::now_v7()] {
        let r = t
            .gql(
                Some(&admin),
                ASSIGN,
                json!({"i": {"companyId": company, "accountId": account, "name": "x", "phone": "+74951112233"}}),
            )
            .await;
        assert_eq!(
            error(&r),
            ("VALIDATION".into(), Some("input.accountId".into())),
            "{r}"
        );
    }
    // Without an account, name, phone and e-mail are all needed.
    let r = t
        .gql(
            Some(&admin),
            ASSIGN,
            json!({"i": {"companyId": company, "name": "Иванов"}}),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".into(), Some("input.phone".into())),
        "{r}"
    );
    assert_eq!(t.event_count().await, before, "nothing was recorded");
    // The profile given in the input wins over an empty one; a bad phone is named.
    let r = t
        .gql(
            Some(&admin),
            ASSIGN,
            json!({"i": {"companyId": company, "accountId": bare, "name": "Сидоров", "phone": "12"}}),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".into(), Some("input.phone".into())),
        "{r}"
    );
    let r = t
        .gql(
            Some(&admin),
            ASSIGN,
            json!({"i": {"companyId": company, "accountId": bare, "name": "Сидоров", "phone": "+74951112244"}}),
        )
        .await;
    assert_eq!(
        r["data"]["assignManager"]["company"]["manager"]["accountId"],
        json!(bare),
        "{r}"
    );
    // A client may not set a staff profile.
    let client_token = t
        .login(
            &sqlx::query_scalar::<_, String>("SELECT email FROM accounts WHERE account_id = $1")
                .bind(client)
                .fetch_one(&t.pool)
                .await
                .unwrap(),
            crate::common::PASSWORD,
        )
        .await;
    let r = t
        .gql(
            Some(&client_token),
            "mutation { updateStaffProfile(input: {name: \"x\", phone: \"+74951112233\"}) { profile { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(error(&r).0, "FORBIDDEN", "{r}");
    t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn a_conversation_is_seen_live_by_both_sides_with_unread_counts_notifications_and_mail() {
    let w = world(TestApp::spawn().await).await;
    let t = &w.t;
    let base = t.serve_http().await;
    let mut client_ws = Subscriptions::connect(&base, Some(&w.client))
        .await
        .unwrap();
    t.subscribe(&mut client_ws, "c", LIVE, json!({"c": w.company}))
        .await;
    // The manager follows every company they manage (no company named).
    let mut manager_ws = Subscriptions::connect(&base, Some(&w.manager))
        .await
        .unwrap();
    t.subscribe(&mut manager_ws, "m", LIVE, json!({"c": null}))
        .await;

    // Before the first message the company's thread is there, empty.
    let r = t
        .gql(Some(&w.client), THREADS, json!({"c": w.company}))
        .await;
    assert_eq!(
        r["data"]["conversations"],
        json!([{"id": w.company, "companyId": w.company, "requestId": null, "requestKind": null, "messages": 0, "unread": 0}]),
        "{r}"
    );

    let r = t
        .gql(
            Some(&w.client),
            POST,
            json!({"c": w.company, "t": "  Добрый день! Когда придёт акт сверки?  "}),
        )
        .await;
    let asked = &r["data"]["postMessage"]["message"];
    assert_eq!(
        asked["text"], "Добрый день! Когда придёт акт сверки?",
        "{r}"
    );
    assert_eq!(asked["side"], "CLIENT");
    assert_eq!(asked["threadId"], json!(w.company));
    for (ws, id) in [(&mut client_ws, "c"), (&mut manager_ws, "m")] {
        let got = ws.collect_until(id, |g| !g.is_empty()).await;
        assert_eq!(
            got[0]["conversationMessageAdded"]["id"], asked["id"],
            "{got:?}"
        );
        assert_eq!(got[0]["conversationMessageAdded"]["side"], "CLIENT");
    }

    // The manager answers with a file.
    let r = t
        .gql_upload(
            Some(&w.manager),
            "mutation($c: UUID!, $f: [Upload!]!) { postMessage(input: {companyId: $c, text: \"Акт во вложении\", files: $f}) { message { id side files { name } } } }",
            json!({"c": w.company, "f": [null]}),
            &[("f.0", "акт сверки.pdf", "application/pdf", PDF)],
        )
        .await;
    let answer = &r["data"]["postMessage"]["message"];
    assert_eq!(answer["side"], "STAFF", "{r}");
    assert_eq!(answer["files"], json!([{"name": "акт сверки.pdf"}]));
    for (ws, id) in [(&mut client_ws, "c"), (&mut manager_ws, "m")] {
        let got = ws.collect_until(id, |g| !g.is_empty()).await;
        assert_eq!(
            got[0]["conversationMessageAdded"]["id"], answer["id"],
            "{got:?}"
        );
        assert_eq!(
            got[0]["conversationMessageAdded"]["files"][0]["name"],
            "акт сверки.pdf"
        );
    }

    // Unread counts: each side has one message of the other side unread.
    let thread = |r: &Value| r["data"]["conversations"][0].clone();
    let r = t
        .gql(Some(&w.client), THREADS, json!({"c": w.company}))
        .await;
    assert_eq!(
        (thread(&r)["messages"].clone(), thread(&r)["unread"].clone()),
        (json!(2), json!(1)),
        "{r}"
    );
    let r = t.gql(Some(&w.manager), THREADS, json!({"c": null})).await;
    assert_eq!(thread(&r)["id"], json!(w.company), "{r}");
    assert_eq!(thread(&r)["unread"], json!(1), "{r}");
    // The back office's other manager manages no company: no threads of its own.
    let r = t.gql(Some(&w.colleague), THREADS, json!({"c": null})).await;
    assert_eq!(r["data"]["conversations"], json!([]), "{r}");
    let r = t
        .gql(
            Some(&w.client),
            "mutation($t: UUID!) { markConversationRead(input: {threadId: $t}) { marked } }",
            json!({"t": w.company}),
        )
        .await;
    assert_eq!(r["data"]["markConversationRead"]["marked"], json!(1), "{r}");
    let r = t
        .gql(Some(&w.client), THREADS, json!({"c": w.company}))
        .await;
    assert_eq!(thread(&r)["unread"], json!(0), "{r}");

    // The messages, oldest first, with the file to download.
    let r = t
        .gql(Some(&w.client), MESSAGES, json!({"t": w.company}))
        .await;
    let messages = r["data"]["conversationMessages"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["id"], asked["id"]);
    let sha = messages[1]["files"][0]["sha256"].as_str().unwrap();
    let (status, body) = t.download(Some(&w.client), sha).await;
    assert_eq!((status, body.as_slice()), (200, PDF));

    // Notifications: the client hears of the answer, the manager of the question, the rest of the back
    // office of neither.
    let client_seen = kinds_seen(t, &w.client).await;
    assert!(has(&client_seen, "CONVERSATION_MESSAGE"), "{client_seen:?}");
    let manager_seen = kinds_seen(t, &w.manager).await;
    assert!(
        has(&manager_seen, "CONVERSATION_MESSAGE_FROM_CLIENT"),
        "{manager_seen:?}"
    );
    for token in [&w.colleague, &w.admin] {
        let seen = kinds_seen(t, token).await;
        assert!(!has(&seen, "CONVERSATION_MESSAGE_FROM_CLIENT"), "{seen:?}");
    }
    // And by mail (both kinds are mailed by default): the manager, not the rest of the back office.
    t.wait_for_consumer_of("notification-mail", "Conversation")
        .await;
    assert_eq!(t.outbox_count(&w.client_email, "notification").await, 1);
    assert_eq!(t.outbox_count(&w.manager_email, "notification").await, 1);
    assert_eq!(t.outbox_count(&w.colleague_email, "notification").await, 0);
    t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn a_requests_thread_is_its_comments_and_who_may_write_or_read_is_checked() {
    let w = world(TestApp::spawn().await).await;
    let t = &w.t;
    let r = t
        .gql(
            Some(&w.client),
            "mutation($c: UUID!) { submitRequest(input: {companyId: $c, details: {technicalSupport: {subject: \"Вход\", text: \"Не приходит письмо\"}}}) { request { id } } }",
            json!({"c": w.company}),
        )
        .await;
    let request: Uuid = r["data"]["submitRequest"]["request"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .parse()
        .unwrap();
    // A request without messages has no thread in the list yet.
    let r = t
        .gql(Some(&w.client), THREADS, json!({"c": w.company}))
        .await;
    assert_eq!(
        r["data"]["conversations"].as_array().map(Vec::len),
        Some(1),
        "{r}"
    );
    let r = t
        .gql(
            Some(&w.manager),
            "mutation($r: UUID!) { commentRequest(input: {requestId: $r, text: \"Проверьте папку «Спам»\"}) { request { id } } }",
            json!({"r": request}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = t
        .gql(Some(&w.client), THREADS, json!({"c": w.company}))
        .await;
    let threads = r["data"]["conversations"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(threads[0]["id"], json!(request), "the latest first: {r}");
    assert_eq!(threads[0]["requestKind"], "TECHNICAL_SUPPORT");
    assert_eq!(threads[0]["unread"], 1);
    let r = t
        .gql(Some(&w.client), MESSAGES, json!({"t": request}))
        .await;
    assert_eq!(
        r["data"]["conversationMessages"][0]["text"], "Проверьте папку «Спам»",
        "{r}"
    );

    // A viewer reads but does not write; an empty message is refused by field; another company's client
    // is told the thread does not exist.
    let (viewer, _, _) = t
        .sign_in_person(Role::Client, CompanyRole::Viewer, &[w.company])
        .await;
    let r = t
        .gql(Some(&viewer), MESSAGES, json!({"t": w.company}))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = t
        .gql(Some(&viewer), POST, json!({"c": w.company, "t": "можно?"}))
        .await;
    assert_eq!(error(&r).0, "COMPANY_ROLE", "{r}");
    let r = t
        .gql(Some(&w.client), POST, json!({"c": w.company, "t": "   "}))
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".into(), Some("input.text".into())),
        "{r}"
    );
    let other = t
        .company(&w.admin, company_input("7736207543", "773601001"))
        .await;
    let stranger = t.sign_in(Role::Client, &[other]).await;
    for thread in [w.company, request] {
        let r = t.gql(Some(&stranger), MESSAGES, json!({"t": thread})).await;
        assert_eq!(error(&r).0, "NOT_FOUND", "{r}");
        let r = t
            .gql(
                Some(&stranger),
                "mutation($t: UUID!) { markConversationRead(input: {threadId: $t}) { marked } }",
                json!({"t": thread}),
            )
            .await;
        assert_eq!(error(&r).0, "NOT_FOUND", "{r}");
    }
    let r = t
        .gql(Some(&stranger), POST, json!({"c": w.company, "t": "x"}))
        .await;
    assert_eq!(error(&r).0, "FORBIDDEN", "{r}");
    t.assert_read_models_equal_the_log().await;
}

#[tokio::test]
async fn staff_notifications_reach_the_manager_first_and_the_back_office_when_left_unread() {
    // The routing process waits ten hours here; the test looks "later" by calling it with a later cutoff.
    let w = world(TestApp::spawn_with(|s| s.manager_first_minutes = 600).await).await;
    let t = &w.t;
    let submit = "mutation($c: UUID!) { submitRequest(input: {companyId: $c, details: {technicalSupport: {subject: \"Счёт\", text: \"Нужен счёт\"}}}) { request { id } } }";
    let r = t
        .gql(Some(&w.client), submit, json!({"c": w.company}))
        .await;
    let request = r["data"]["submitRequest"]["request"]["id"].clone();
    assert!(request.is_string(), "{r}");
    // A company without a manager account: everything reaches the whole back office at once.
    let other = t
        .company(&w.admin, company_input("7736207543", "773601001"))
        .await;
    let other_client = t.sign_in(Role::Client, &[other]).await;
    let r = t
        .gql(Some(&other_client), submit, json!({"c": other}))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    // And a message the manager reads at once.
    let r = t
        .gql(
            Some(&w.client),
            POST,
            json!({"c": w.company, "t": "Срочно"}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");

    let manager_seen = kinds_seen(t, &w.manager).await;
    let colleague_seen = kinds_seen(t, &w.colleague).await;
    let submitted = |seen: &[(String, Value)]| {
        seen.iter()
            .filter(|(k, _)| k == "REQUEST_SUBMITTED")
            .count()
    };
    assert_eq!(
        submitted(&manager_seen),
        2,
        "the manager sees both companies' requests"
    );
    assert_eq!(
        submitted(&colleague_seen),
        1,
        "the back office only the unmanaged company's"
    );
    let message_note = manager_seen
        .iter()
        .find(|(k, _)| k == "CONVERSATION_MESSAGE_FROM_CLIENT")
        .map(|(_, n)| n["id"].clone())
        .unwrap_or_else(|| panic!("{manager_seen:?}"));
    let r = t
        .gql(
            Some(&w.manager),
            "mutation($i: [UUID!]!) { markNotificationsRead(input: {ids: $i}) { marked } }",
            json!({"i": [message_note]}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    // Another staff member cannot mark (or see) the manager's notification.
    let r = t
        .gql(
            Some(&w.colleague),
            "mutation($i: [UUID!]!) { markNotificationsRead(input: {ids: $i}) { marked } }",
            json!({"i": [message_note]}),
        )
        .await;
    assert_eq!(error(&r).0, "NOT_FOUND", "{r}");

    // Not yet due: nothing moves.
    let now = chrono::Utc::now();
    assert_eq!(
        api::app::notifications::escalate(&t.app, now - chrono::Duration::minutes(600))
            .await
            .unwrap(),
        0
    );
    // Looked at more than a week after its time (a routing process stopped that long), it is stale.
    assert_eq!(
        api::app::notifications::escalate(&t.app, now + chrono::Duration::days(8))
            .await
            .unwrap(),
        0
    );
    // Past due: the unread request notification goes up, the read message does not.
    let later = now + chrono::Duration::minutes(1);
    assert_eq!(
        api::app::notifications::escalate(&t.app, later)
            .await
            .unwrap(),
        1
    );
    // Looking again (a second node, the next round) hands up nothing twice.
    assert_eq!(
        api::app::notifications::escalate(&t.app, later)
            .await
            .unwrap(),
        0
    );
    let colleague_seen = kinds_seen(t, &w.colleague).await;
    let escalated: Vec<&Value> = colleague_seen
        .iter()
        .filter(|(k, _)| k == "NOTIFICATION_ESCALATED")
        .map(|(_, n)| n)
        .collect();
    assert_eq!(escalated.len(), 1, "{colleague_seen:?}");
    assert_eq!(
        escalated[0]["link"],
        json!({"entityType": "REQUEST", "id": request})
    );
    // The manager sees the escalation too.
    assert!(has(
        &kinds_seen(t, &w.manager).await,
        "NOTIFICATION_ESCALATED"
    ));
    // It is an event an auditor sees, naming the manager.
    let recorded: Value = sqlx::query_scalar(
        "SELECT payload FROM events WHERE aggregate_type = 'StaffInbox' AND aggregate_id = $1",
    )
    .bind(w.company.to_string())
    .fetch_one(&t.pool)
    .await
    .unwrap();
    assert_eq!(
        recorded["NotificationsEscalated"]["manager"],
        json!(w.manager_id),
        "{recorded}"
    );
    assert_eq!(
        recorded["NotificationsEscalated"]["waited_minutes"],
        json!(600)
    );
    // The escalation is mailed to the back office (mailed by default).
    t.wait_for_consumer_of("notification-mail", "StaffInbox")
        .await;
    assert_eq!(t.outbox_count(&w.colleague_email, "notification").await, 1);

    // A blocked manager's inbox is the back office's at once.
    let r = t
        .gql(
            Some(&w.admin),
            "mutation($a: UUID!) { blockAccount(input: {accountId: $a, reason: \"уволен\"}) { account { id } } }",
            json!({"a": w.manager_id}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(submitted(&kinds_seen(t, &w.colleague).await), 2);
    t.assert_read_models_equal_the_log().await;
}
