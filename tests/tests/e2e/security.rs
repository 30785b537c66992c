//! The security suite (issue 19): one test per class of attack a hostile client can make, each against the
//! real router (or a real server over TCP and WebSocket) and a real PostgreSQL. Each asserts that the attack
//! gets a clear error, that nothing is stored, and that the server keeps answering `/healthz` meanwhile.

use std::time::{Duration, Instant};

use api::auth::Role;
use axum::body::Body;
use axum::http::Request;
use futures::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;
use uuid::Uuid;

use crate::common::{company_input, conclude, error, eventually, TestApp, ADDRESS, PASSWORD};
use crate::http::{get, get_from};

/// A raw request through the router: status, headers and body.
async fn raw(
    t: &TestApp,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    body: Body,
) -> (u16, axum::http::HeaderMap, String) {
    let mut req = Request::post("/graphql");
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(body).unwrap();
    let peer: std::net::SocketAddr = format!("{ADDRESS}:40000").parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    let resp = t.router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// A CLIENT of no company, signed in: its token and login.
async fn signed_in_client(t: &TestApp) -> (String, String) {
    let token = t.sign_in(Role::Client, &[]).await;
    let r = t.gql(Some(&token), "{ me { email } }", json!({})).await;
    let email = r["data"]["me"]["email"].as_str().unwrap().to_owned();
    (token, email)
}

/// A CLIENT account with `email` and the test password, linked to `company` when given.
async fn client_account(t: &TestApp, email: &str, company: Option<Uuid>) -> Uuid {
    let id = api::auth::accounts::create_account(
        &t.pool,
        &domain::values::Email::parse(email).unwrap(),
        PASSWORD,
        &[Role::Client],
        false,
    )
    .await
    .unwrap();
    if let Some(c) = company {
        let mut conn = t.pool.acquire().await.unwrap();
        api::auth::accounts::link_company(&mut conn, id, c, api::auth::CompanyRole::Director)
            .await
            .unwrap();
    }
    id
}

async fn healthy(t: &TestApp) {
    assert_eq!(get(t, "/healthz").await, (200, "ok".to_owned()));
}

/// `/healthz` over real HTTP answers within a generous bound.
async fn healthy_over_http(base: &str) {
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        reqwest::get(format!("{base}/healthz")),
    )
    .await
    .expect("/healthz answered in time")
    .expect("/healthz");
    assert_eq!(r.status().as_u16(), 200);
}

// ---------------------------------------------------------------------------------------------------------
// Class 1: unbounded recursion while parsing (query text, variables, JSON values).

#[tokio::test]
async fn a_deeply_nested_anonymous_request_is_refused_before_parsing_and_the_server_keeps_answering(
) {
    // A few kilobytes of nesting used to overflow the parser's stack and abort the process (item 1). Each
    // shape of nesting the parser recurses on: lists, input objects, selections, and a mix.
    let t = TestApp::spawn().await;
    let deep_list = format!(
        "{{ companies(search: {}) {{ totalCount }} }}",
        "[".repeat(3000)
    );
    let deep_object = format!(
        "{{ companies(search: {}) {{ totalCount }} }}",
        "{a:".repeat(2000)
    );
    let deep_selection = format!("{}{}", "{ a ".repeat(3000), "}".repeat(3000));
    let mixed = format!("query {{ f(x: {}) }}", "[{a: ".repeat(1500));
    for (name, query) in [
        ("lists", deep_list),
        ("input objects", deep_object),
        ("selections", deep_selection),
        ("mixed", mixed),
    ] {
        let r = t.gql(None, &query, json!({})).await;
        assert_eq!(
            error(&r),
            ("VALIDATION".to_owned(), Some("query".to_owned())),
            "{name}: {r}"
        );
    }
    // Variables and JSON values nest in the body, which the JSON reader bounds (128 levels): refused as a
    // bad request naming the body, never recursed into.
    let deep_variables = format!(
        r#"{{"query":"query($x: JSON) {{ me {{ email }} }}","variables":{{"x":{}1{}}}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let (status, _, body) = raw(
        &t,
        Some("application/json"),
        &[],
        Body::from(deep_variables),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("request".to_owned()))
    );
    healthy(&t).await;
    // An ordinary request is unaffected.
    let admin = t.sign_in(Role::Admin, &[]).await;
    let r = t.gql(Some(&admin), "{ me { email } }", json!({})).await;
    assert!(r["errors"].is_null(), "{r}");
}

// ---------------------------------------------------------------------------------------------------------
// Class 2: work that explodes after fragment expansion.

#[tokio::test]
async fn fragments_that_double_each_other_are_refused_before_validation_walks_them() {
    // Thirty fragments each spreading the previous one twice: under a kilobyte that expands to 2^30 fields.
    // Validating the expansion took 13.5 s and 3.4 GiB (item 2); it is refused by its size now.
    let t = TestApp::spawn().await;
    let mut query = String::from("query { ...F29 } fragment F0 on QueryRoot { me { email } }");
    for i in 1..30 {
        query.push_str(&format!(
            " fragment F{i} on QueryRoot {{ ...F{j} ...F{j} }}",
            j = i - 1
        ));
    }
    assert!(query.len() < 2_000);
    let started = Instant::now();
    // Two at once, as in the finding: /healthz must not wait for them.
    let (a, b, h) = tokio::join!(
        t.gql(None, &query, json!({})),
        t.gql(None, &query, json!({})),
        async {
            let at = Instant::now();
            healthy(&t).await;
            at.elapsed()
        }
    );
    for r in [a, b] {
        assert_eq!(
            error(&r),
            ("VALIDATION".to_owned(), Some("query".to_owned())),
            "{r}"
        );
    }
    // Generous bounds: the refusal costs the parse, not the expansion.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(h < Duration::from_secs(5));
    // Fragments within the bound still work.
    let admin = t.sign_in(Role::Admin, &[]).await;
    let r = t
        .gql(
            Some(&admin),
            "query { ...A ...A } fragment A on QueryRoot { me { email } }",
            json!({}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
}

// ---------------------------------------------------------------------------------------------------------
// Class 3: the transport — bodies, slow clients, connections, WebSockets.

#[tokio::test]
async fn a_body_beyond_the_limit_is_refused_whether_declared_or_streamed() {
    let t = TestApp::spawn_with(|s| s.http.request_max_bytes = 64 * 1024).await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let big = json!({
        "query": "mutation($t: String!) { publishTerms(input: { text: $t }) { terms { version } } }",
        "variables": { "t": "x".repeat(1024 * 1024) },
    })
    .to_string();
    let bearer = format!("Bearer {admin}");
    // Declared: refused from the header, before a byte of the body is read.
    let (status, _, body) = raw(
        &t,
        Some("application/json"),
        &[
            ("authorization", bearer.as_str()),
            ("content-length", &big.len().to_string()),
        ],
        Body::from(big.clone()),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("request".to_owned()))
    );
    // Streamed without a length: refused once the limit is passed.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big
        .as_bytes()
        .chunks(16 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let (status, _, body) = raw(
        &t,
        Some("application/json"),
        &[("authorization", bearer.as_str())],
        Body::from_stream(futures::stream::iter(chunks)),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    // Nothing was published.
    let terms: i64 = sqlx::query_scalar("SELECT count(*) FROM terms_versions")
        .fetch_one(&t.pool)
        .await
        .unwrap();
    assert_eq!(terms, 0);
    healthy(&t).await;
    // Within the limit it works.
    let r = t
        .gql(
            Some(&admin),
            "mutation($t: String!) { publishTerms(input: { text: $t }) { terms { version } } }",
            json!({"t": "x".repeat(1000)}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
}

#[tokio::test]
async fn bodies_a_cross_site_form_can_send_do_not_run() {
    // text/plain, form and multipart bodies go across sites without a preflight (CSRF-simple requests).
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let bearer = format!("Bearer {admin}");
    let mutation =
        json!({"query": "mutation { publishTerms(input: { text: \"Условия\" }) { terms { version } } }"}).to_string();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let (status, _, body) = raw(
            &t,
            ct,
            &[("authorization", bearer.as_str())],
            Body::from(mutation.clone()),
        )
        .await;
        assert_eq!(status, 415, "{ct:?}: {body}");
        let r: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            error(&r),
            ("VALIDATION".to_owned(), Some("content-type".to_owned())),
            "{ct:?}"
        );
    }
    let terms: i64 = sqlx::query_scalar("SELECT count(*) FROM terms_versions")
        .fetch_one(&t.pool)
        .await
        .unwrap();
    assert_eq!(terms, 0, "a refused body ran");
    healthy(&t).await;
}

/// Reads from `stream` until the server closes it (or `within` passes, which fails the test); returns what
/// came.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, within: Duration) -> String {
    let mut got = Vec::new();
    let deadline = Instant::now() + within;
    loop {
        let mut buf = [0u8; 4096];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&got).into_owned(),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "the server kept the connection open for {within:?}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_others_are_served_meanwhile() {
    let t = TestApp::spawn_with(|s| {
        s.http.header_read_timeout_seconds = 1;
        s.http.request_timeout_seconds = 2;
    })
    .await;
    let base = t.serve_http().await;
    let addr = base.trim_start_matches("http://").to_owned();
    // Six slowloris connections: headers a piece at a time, then nothing.
    let mut slow = Vec::new();
    for _ in 0..6 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    healthy_over_http(&base).await;
    for s in &mut slow {
        read_until_closed(s, Duration::from_secs(15)).await;
    }
    // A body that never finishes: the request's time runs out and the answer says so.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"query\":",
    )
    .await
    .unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(15)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // An idle kept-alive connection does not stay forever either.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut idle, Duration::from_secs(15)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    healthy_over_http(&base).await;
}

#[tokio::test]
async fn connections_from_one_address_are_bounded() {
    let t = TestApp::spawn_with(|s| {
        s.http.max_connections_per_address = 3;
        s.http.header_read_timeout_seconds = 30;
    })
    .await;
    let base = t.serve_http().await;
    let addr = base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    // Give the server a moment to accept them, then the fourth is closed at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fourth = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _ = fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let answer = read_until_closed(&mut fourth, Duration::from_secs(10)).await;
    assert!(
        answer.is_empty(),
        "the fourth connection was served: {answer}"
    );
    // The router answers meanwhile, and once one connection goes, the address is served again.
    healthy(&t).await;
    drop(held.pop());
    eventually("a connection served after one closed", || async {
        match reqwest::get(format!("{base}/healthz")).await {
            Ok(r) if r.status().as_u16() == 200 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
}

/// A `graphql-transport-ws` connection, raw: what the tests of the socket's limits need.
type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(base: &str) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("{}/graphql/ws", base.replacen("http", "ws", 1))
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn send(ws: &mut Socket, v: Value) {
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next protocol message, or `{"type":"close","code":…}` when the server closed.
async fn next(ws: &mut Socket) -> Value {
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let m = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("a message within 20 s");
        match m {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "ping" {
                    send(ws, json!({"type": "pong"})).await;
                    continue;
                }
                return v;
            }
            Some(Ok(Message::Close(f))) => {
                return json!({"type": "close", "code": f.map(|f| u16::from(f.code))})
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return json!({"type": "close", "code": null}),
        }
    }
}

/// Waits for the server to close the socket (skipping what the operations before said); its close code.
async fn closed(ws: &mut Socket) -> Value {
    loop {
        let m = next(ws).await;
        if m["type"] == "close" {
            return m["code"].clone();
        }
    }
}

async fn init(ws: &mut Socket, token: &str) {
    send(
        ws,
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}),
    )
    .await;
    assert_eq!(next(ws).await["type"], "connection_ack");
}

/// Runs a query or mutation over the socket: its `next` payload, or its `error`.
async fn over_ws(ws: &mut Socket, id: &str, query: &str, variables: Value) -> Value {
    send(
        ws,
        json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}),
    )
    .await;
    loop {
        let m = next(ws).await;
        if m["type"] == "close" {
            return m;
        }
        if m["id"] == id && (m["type"] == "next" || m["type"] == "error") {
            return m;
        }
    }
}

#[tokio::test]
async fn a_websocket_is_held_to_its_limits() {
    let t = TestApp::spawn_with(|s| {
        s.http.ws_max_operations = 3;
        s.http.ws_init_timeout_seconds = 1;
    })
    .await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let client = t.sign_in(Role::Client, &[company]).await;
    let base = t.serve_http().await;

    // A socket that never says connection_init is closed (4408).
    let mut silent = socket(&base).await;
    let m = next(&mut silent).await;
    assert_eq!(m, json!({"type": "close", "code": 4408}));

    // Three subscriptions run; the fourth is refused on its own; the socket stays.
    let mut ws = socket(&base).await;
    init(&mut ws, &client).await;
    let sub =
        "subscription($c: UUID!) { notificationAdded(companyId: $c, after: \"MTowOi0x\") { id } }";
    for i in 0..3 {
        send(&mut ws, json!({"id": format!("s{i}"), "type": "subscribe", "payload": {"query": sub, "variables": {"c": company}}})).await;
    }
    send(&mut ws, json!({"id": "s3", "type": "subscribe", "payload": {"query": sub, "variables": {"c": company}}})).await;
    let m = loop {
        let m = next(&mut ws).await;
        if m["id"] == "s3" {
            break m;
        }
    };
    assert_eq!(m["type"], "error", "{m}");
    assert_eq!(
        m["payload"][0]["extensions"]["code"], "LIMIT_EXCEEDED",
        "{m}"
    );
    // Completing one frees its place.
    send(&mut ws, json!({"id": "s0", "type": "complete"})).await;
    let r = over_ws(&mut ws, "q", "{ me { email } }", json!({})).await;
    assert_eq!(r["type"], "next", "{r}");
    assert!(r["payload"]["errors"].is_null(), "{r}");
    healthy_over_http(&base).await;
}

// ---------------------------------------------------------------------------------------------------------
// Class 4: a session's state over a long-lived connection.

#[tokio::test]
async fn every_operation_on_a_websocket_sees_its_session_now_and_revocation_closes_it() {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let (email, password) = ("victim@test.local", PASSWORD);
    let id = client_account(&t, email, Some(company)).await;
    let base = t.serve_http().await;

    // New terms: the next operation on an open socket is gated, as a POST would be.
    let first = t.login(email, password).await;
    let mut ws = socket(&base).await;
    init(&mut ws, &first).await;
    let me = "{ me { email } companies(first: 1) { edges { node { id } } } }";
    let r = over_ws(&mut ws, "a", me, json!({})).await;
    assert!(r["payload"]["errors"].is_null(), "{r}");
    let r = t
        .gql(
            Some(&admin),
            "mutation { publishTerms(input: { text: \"Условия v1\" }) { terms { version } } }",
            json!({}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let r = over_ws(&mut ws, "b", me, json!({})).await;
    assert_eq!(
        r["payload"]["errors"][0]["extensions"]["code"], "TERMS_ACCEPTANCE_REQUIRED",
        "{r}"
    );
    let r = over_ws(
        &mut ws,
        "c",
        "mutation { acceptTerms(input: { version: 1 }) { me { email } } }",
        json!({}),
    )
    .await;
    assert!(r["payload"]["errors"].is_null(), "{r}");
    assert!(over_ws(&mut ws, "d", me, json!({})).await["payload"]["errors"].is_null());

    // Logout elsewhere (the same token over POST): the socket closes at once.
    let r = t
        .gql(Some(&first), "mutation { logout { ended } }", json!({}))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(closed(&mut ws).await, 4401);

    // The victim changes the password from one session: the attacker's other socket closes; the
    // victim's own session (and socket) stays.
    let attacker = t.login(email, password).await;
    let victim = t.login(email, password).await;
    let mut stolen = socket(&base).await;
    init(&mut stolen, &attacker).await;
    let mut own = socket(&base).await;
    init(&mut own, &victim).await;
    let r = t
        .gql(
            Some(&victim),
            "mutation($c: String!, $n: String!) { changePassword(input: { currentPassword: $c, newPassword: $n }) { me { email } } }",
            json!({"c": password, "n": "another-long-passphrase"}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(closed(&mut stolen).await, 4401);
    assert!(over_ws(&mut own, "e", me, json!({})).await["payload"]["errors"].is_null());
    // The old socket cannot move the login to the attacker's address: it is gone, and a login change needs
    // the password anyway.

    // Blocking the account closes every socket of it.
    let r = t
        .gql(
            Some(&admin),
            "mutation($a: UUID!) { blockAccount(input: { accountId: $a, reason: \"проверка\" }) { account { blockedAt } } }",
            json!({"a": id}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(closed(&mut own).await, 4401);
    healthy_over_http(&base).await;
}

// ---------------------------------------------------------------------------------------------------------
// Class 5: guessing passwords, and starving the hashing queue.

#[tokio::test]
async fn a_password_checked_from_a_session_is_locked_and_limited_like_a_sign_in() {
    let t = TestApp::spawn().await;
    let (token, email) = signed_in_client(&t).await;
    let change = "mutation($c: String!, $n: String!) { changePassword(input: { currentPassword: $c, newPassword: $n }) { me { email } } }";
    let hash_before: String =
        sqlx::query_scalar("SELECT password_hash FROM accounts WHERE email = $1")
            .bind(&email)
            .fetch_one(&t.pool)
            .await
            .unwrap();
    // Aliases do not multiply the guesses: one password check per request.
    let aliased = "mutation { a: changePassword(input: { currentPassword: \"guess-number-1\", newPassword: \"n-e-w-password-1\" }) { me { email } } \
                   b: changePassword(input: { currentPassword: \"guess-number-2\", newPassword: \"n-e-w-password-1\" }) { me { email } } }";
    let r = t.gql(Some(&token), aliased, json!({})).await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("query".to_owned())),
        "{r}"
    );
    // Five wrong guesses lock the login; then even the right password is refused, here and at sign-in.
    for i in 0..5 {
        let r = t
            .gql(
                Some(&token),
                change,
                json!({"c": format!("wrong-guess-{i}"), "n": "n-e-w-password-1"}),
            )
            .await;
        assert_eq!(
            error(&r),
            (
                "VALIDATION".to_owned(),
                Some("input.currentPassword".to_owned())
            ),
            "{r}"
        );
    }
    let r = t
        .gql(
            Some(&token),
            change,
            json!({"c": PASSWORD, "n": "n-e-w-password-1"}),
        )
        .await;
    assert_eq!(error(&r).0, "ACCOUNT_LOCKED", "{r}");
    assert_eq!(
        error(&t.try_login(&email, PASSWORD).await).0,
        "ACCOUNT_LOCKED"
    );
    let hash_after: String =
        sqlx::query_scalar("SELECT password_hash FROM accounts WHERE email = $1")
            .bind(&email)
            .fetch_one(&t.pool)
            .await
            .unwrap();
    assert_eq!(hash_before, hash_after, "the password changed while locked");
    healthy(&t).await;

    // And a per-account rate limit, before the lockout.
    let t = TestApp::spawn_with(|s| s.auth_rate_per_minute = 3).await;
    let token = t.sign_in(Role::Client, &[]).await;
    let mut codes = Vec::new();
    for i in 0..4 {
        let r = t
            .gql(
                Some(&token),
                change,
                json!({"c": format!("wrong-guess-{i}"), "n": "n-e-w-password-1"}),
            )
            .await;
        codes.push(error(&r).0);
    }
    assert_eq!(
        codes,
        ["VALIDATION", "VALIDATION", "VALIDATION", "RATE_LIMITED"]
    );
}

#[tokio::test]
async fn one_caller_cannot_starve_everyone_else_s_password_hashing() {
    // One caller sends many sign-ins at once (from one address); another signs in meanwhile and is served
    // after one hash, not after the attacker's queue.
    let t = TestApp::spawn().await;
    let victim = format!("victim-{}@test.local", Uuid::new_v4().simple());
    client_account(&t, &victim, None).await;
    let login = "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token } }";
    let started = Instant::now();
    let flood: Vec<_> = (0..24)
        .map(|i| {
            let t = &t;
            async move {
                t.gql_from(
                    "203.0.113.66",
                    "flood/1.0",
                    None,
                    login,
                    json!({"e": format!("nobody-{i}@test.local"), "p": "some-guess-123"}),
                )
                .await;
                started.elapsed()
            }
        })
        .collect();
    let honest = async {
        // Let the flood queue up first.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let at = Instant::now();
        let r = t.try_login(&victim, PASSWORD).await;
        assert!(r["errors"].is_null(), "{r}");
        (at.elapsed(), started.elapsed())
    };
    let (flood_done, (honest_took, honest_done)) =
        tokio::join!(futures::future::join_all(flood), honest);
    let last_flood = flood_done.into_iter().max().unwrap();
    // The flood runs one hash at a time; the honest sign-in is done long before the flood is.
    assert!(
        honest_done < last_flood,
        "the honest sign-in ({honest_took:?}) waited for the flood ({last_flood:?})"
    );
    healthy(&t).await;
}

// ---------------------------------------------------------------------------------------------------------
// Classes 6 and 7: mail floods, and handing the account over with only a session.

#[tokio::test]
async fn a_login_change_needs_the_password_tells_the_old_address_and_is_capped() {
    let t = TestApp::spawn().await;
    let (token, email) = signed_in_client(&t).await;
    let ask = "mutation($e: String!, $p: String!) { requestLoginChange(input: { newEmail: $e, currentPassword: $p }) { accepted } }";
    let outbox = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox")
            .fetch_one(&t.pool)
            .await
            .unwrap()
    };
    let before = outbox().await;
    // Without the password: refused by the schema; with a wrong one: refused, counted; nothing is mailed.
    let r = t
        .gql(
            Some(&token),
            "mutation { requestLoginChange(input: { newEmail: \"thief@evil.example\" }) { accepted } }",
            json!({}),
        )
        .await;
    assert!(!r["errors"].is_null(), "{r}");
    let r = t
        .gql(
            Some(&token),
            ask,
            json!({"e": "thief@evil.example", "p": "not-the-password"}),
        )
        .await;
    assert_eq!(
        error(&r),
        (
            "VALIDATION".to_owned(),
            Some("input.currentPassword".to_owned())
        ),
        "{r}"
    );
    // 300 aliases in one request: refused whole.
    let aliases: String = (0..300)
        .map(|i| format!("a{i}: requestLoginChange(input: {{ newEmail: \"v{i}@evil.example\", currentPassword: \"{PASSWORD}\" }}) {{ accepted }} "))
        .collect();
    let r = t
        .gql(
            Some(&token),
            &format!("mutation {{ {aliases} }}"),
            json!({}),
        )
        .await;
    assert_eq!(
        error(&r),
        ("VALIDATION".to_owned(), Some("query".to_owned())),
        "{r}"
    );
    assert_eq!(
        outbox().await,
        before,
        "a refused login change mailed something"
    );
    // With the password: the new address gets the control string, the old one is told.
    let r = t
        .gql(
            Some(&token),
            ask,
            json!({"e": "new-1@test.local", "p": PASSWORD}),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(
        t.outbox_count("new-1@test.local", "login_change_confirmation")
            .await,
        1
    );
    let notice = t.mail(&email, "login_change_requested").await;
    assert!(
        notice.text.contains("n***@test.local") || notice.text.contains("test.local"),
        "{}",
        notice.text
    );
    // At most five a day per account.
    for i in 2..=5 {
        let r = t
            .gql(
                Some(&token),
                ask,
                json!({"e": format!("new-{i}@test.local"), "p": PASSWORD}),
            )
            .await;
        assert!(r["errors"].is_null(), "{i}: {r}");
    }
    let r = t
        .gql(
            Some(&token),
            ask,
            json!({"e": "new-6@test.local", "p": PASSWORD}),
        )
        .await;
    assert_eq!(error(&r).0, "RATE_LIMITED", "{r}");
    assert_eq!(
        t.outbox_count("new-6@test.local", "login_change_confirmation")
            .await,
        0
    );
    healthy(&t).await;
}

#[tokio::test]
async fn one_address_receives_a_bounded_number_of_mails_whoever_asks() {
    // Password recovery for one account asked again and again from many addresses: the address gets at most
    // the hourly cap; every caller gets the same answer.
    let t = TestApp::spawn_with(|s| s.mail_caps.per_recipient_per_hour = 4).await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let email = format!("buh-{}@test.local", Uuid::new_v4().simple());
    client_account(&t, &email, Some(company)).await;
    for i in 0..10 {
        let r = t
            .gql_from(
                &format!("198.51.100.{i}"),
                "flood/1.0",
                None,
                "mutation($i: String!, $e: String!) { requestPasswordReset(input: { inn: $i, email: $e }) { accepted } }",
                json!({"i": "7707083893", "e": email}),
            )
            .await;
        assert_eq!(r["data"]["requestPasswordReset"]["accepted"], true, "{r}");
    }
    assert_eq!(t.outbox_count(&email, "password_reset").await, 4);
    healthy(&t).await;
}

// ---------------------------------------------------------------------------------------------------------
// Class 9: the smaller ones.

#[tokio::test]
async fn another_company_s_ids_answer_exactly_as_unknown_ones() {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let a = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let b = t
        .company(&admin, company_input("7712345671", "773601001"))
        .await;
    let theirs = conclude(&t, &admin, b, "ЛД-Б", "b@b.example").await;
    let client = t.sign_in(Role::Client, &[a]).await;
    let q = "query($id: UUID!) { contract(id: $id) { number } }";
    let other = t.gql(Some(&client), q, json!({"id": theirs})).await;
    let unknown = t.gql(Some(&client), q, json!({"id": Uuid::new_v4()})).await;
    // A lookup answers null for both (nullable lookups), and nothing else tells them apart.
    assert!(other["errors"].is_null(), "{other}");
    assert!(other["data"]["contract"].is_null(), "{other}");
    assert_eq!(other, unknown);
    // Other look-ups by a contract's id answer alike too.
    let reconcile = "query($c: UUID!) { reconciliation(contractId: $c, from: \"2026-01-01\", to: \"2026-02-01\") { contractId } }";
    let other = t.gql(Some(&client), reconcile, json!({"c": theirs})).await;
    let unknown = t
        .gql(Some(&client), reconcile, json!({"c": Uuid::new_v4()}))
        .await;
    assert_eq!(error(&other).0, "NOT_FOUND", "{other}");
    assert_eq!(error(&other).0, error(&unknown).0, "{other} vs {unknown}");
}

#[tokio::test]
async fn a_client_cannot_write_itself_into_someone_else_s_story() {
    // Correlation and request ids tie events together (a business day, an import): a client's are ignored;
    // staff's are kept.
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let headers = |token: &str, corr: &str| {
        vec![
            ("authorization".to_owned(), format!("Bearer {token}")),
            ("x-correlation-id".to_owned(), corr.to_owned()),
            ("x-request-id".to_owned(), format!("{corr}-request")),
        ]
    };
    let register = |token: String, inn: &'static str, corr: &'static str| {
        let t = &t;
        async move {
            let body = json!({
                "query": "mutation($i: RegisterCompanyInput!) { registerCompany(input: $i) { company { id } } }",
                "variables": {"i": company_input(inn, "773601001")},
            })
            .to_string();
            let h = headers(&token, corr);
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let (status, response_headers, body) =
                raw(t, Some("application/json"), &h, Body::from(body)).await;
            (status, response_headers, body)
        }
    };
    let (status, response_headers, body) = register(admin.clone(), "7707083893", "import-42").await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("\"errors\""), "{body}");
    assert_eq!(response_headers["x-request-id"], "import-42-request");
    let kept: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE metadata->>'correlation_id' = 'import-42'",
    )
    .fetch_one(&t.pool)
    .await
    .unwrap();
    assert!(kept > 0, "staff's correlation id was not kept");
    // A client's request (an account that is only a client) with forged ids: its events carry its own.
    let company: Uuid = serde_json::from_str::<Value>(&body).unwrap()["data"]["registerCompany"]
        ["company"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let contract = conclude(&t, &admin, company, "ЛД-1", "buh@romashka.ru").await;
    let client = t.sign_in(Role::Client, &[company]).await;
    let body = json!({
        "query": "mutation($i: SubmitRequestInput!) { submitRequest(input: $i) { request { id } } }",
        "variables": {"i": {"companyId": company, "contractId": contract, "details": {"consultation": {"subject": "Вопрос", "text": "Как?"}}}},
    })
    .to_string();
    let h = headers(&client, "business-day-2026-03-01");
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, response_headers, body) =
        raw(&t, Some("application/json"), &h, Body::from(body)).await;
    assert_eq!(status, 200);
    assert!(!body.contains("\"errors\""), "{body}");
    assert_ne!(
        response_headers["x-request-id"],
        "business-day-2026-03-01-request"
    );
    let forged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE metadata->>'correlation_id' = 'business-day-2026-03-01' \
            OR metadata->>'request_id' = 'business-day-2026-03-01-request'",
    )
    .fetch_one(&t.pool)
    .await
    .unwrap();
    assert_eq!(forged, 0, "a client's ids entered the log");
}

#[tokio::test]
async fn strangers_do_not_learn_the_schema_and_every_answer_carries_the_security_headers() {
    let t = TestApp::spawn_with(|s| s.metrics_token = Some("metrics-secret".into())).await;
    let introspect = "{ __schema { queryType { name } } }";
    let r = t.gql(None, introspect, json!({})).await;
    assert!(
        r["data"]["__schema"].is_null(),
        "anonymous introspection answered: {r}"
    );
    let r = t
        .gql(
            None,
            "{ __type(name: \"QueryRoot\") { fields { name } } }",
            json!({}),
        )
        .await;
    assert!(
        r["data"]["__type"].is_null(),
        "anonymous introspection answered: {r}"
    );
    let token = t.sign_in(Role::Client, &[]).await;
    let r = t.gql(Some(&token), introspect, json!({})).await;
    assert_eq!(
        r["data"]["__schema"]["queryType"]["name"], "QueryRoot",
        "{r}"
    );
    // No "did you mean" spelling the schema out.
    let r = t.gql(None, "{ mee { email } }", json!({})).await;
    let message = r["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(!message.contains("Did you mean"), "{message}");
    // Metrics: the token, from anywhere; nothing without it.
    assert_eq!(
        get_from(&t, "/metrics", Some("127.0.0.1:5000"), &[])
            .await
            .0,
        403
    );
    assert_eq!(
        get_from(
            &t,
            "/metrics",
            Some("192.0.2.77:5000"),
            &[("authorization", "Bearer metrics-secret")]
        )
        .await
        .0,
        200
    );
    // GraphiQL comes from this server only, and its page says so.
    let resp = t
        .router
        .clone()
        .oneshot(Request::get("/graphql").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    for asset in [
        "/graphiql/graphiql.min.js",
        "/graphiql/react.production.min.js",
        "/graphiql/react-dom.production.min.js",
        "/graphiql/graphiql.min.css",
        "/graphiql/init.js",
    ] {
        assert!(html.contains(asset), "{asset} not on the page");
        assert_eq!(get(&t, asset).await.0, 200, "{asset}");
    }
    // Every answer: nosniff, no framing, no referrer, a content security policy.
    let (_, headers, _) = raw(
        &t,
        Some("application/json"),
        &[],
        Body::from(json!({"query": "{ __typename }"}).to_string()),
    )
    .await;
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(headers[name], value, "{name}");
    }
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
}
