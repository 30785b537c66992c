//! The real `cabinet` binary as a child process, for the tests that run it.

#![allow(dead_code)]

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// A running `cabinet serve`.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Its GraphQL endpoint (`http://127.0.0.1:<port>/graphql`).
    pub url: String,
}

/// The `cabinet` binary the tests run: this build's, or `CABINET_BIN` (the fault suite measuring another
/// build).
pub fn binary() -> std::ffi::OsString {
    std::env::var_os("CABINET_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_cabinet").into())
}

/// Starts `cabinet serve --listen 127.0.0.1:0 --data-dir <data_dir> <args>` with `DATABASE_URL` set to
/// `database_url` (or removed: the server then provisions its own PostgreSQL) and waits until it listens.
pub async fn start(data_dir: &Path, args: &[&str], database_url: Option<&str>) -> Server {
    start_with_env(data_dir, args, database_url, &[]).await
}

/// One node of a several-node test: writes `settings` as its `cabinet.toml` in `dir` and starts it on `url`,
/// with the demo data (signed in with `demo_password`) when given.
pub async fn start_node(
    dir: &Path,
    url: &str,
    settings: &str,
    demo_password: Option<&str>,
) -> Server {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("cabinet.toml"), settings).unwrap();
    match demo_password {
        Some(p) => start(dir, &["--demo", "--demo-password", p], Some(url)).await,
        None => start(dir, &[], Some(url)).await,
    }
}

/// The database URL node `i` uses: its connections carry `application_name = node<i>`, so a test can tell
/// which node a backend belongs to.
pub fn node_url(url: &str, i: usize) -> String {
    format!("{url}?application_name=node{i}")
}

/// As [`start`], with more environment variables.
pub async fn start_with_env(
    data_dir: &Path,
    args: &[&str],
    database_url: Option<&str>,
    env: &[(&str, &str)],
) -> Server {
    let mut command = Command::new(binary());
    // These servers' administrators work at once: two-factor sign-in has its own tests (tests/e2e/totp.rs),
    // which keep the setting's default.
    command.env("CABINET_ADMIN_TOTP_REQUIRED", "false");
    command.envs(env.iter().copied());
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    let mut child = command.spawn().expect("cabinet starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.strip_prefix("cabinet listening on ") {
                return rest.to_owned();
            }
        }
        panic!("cabinet exited before listening");
    })
    .await
    .expect("cabinet listens within the deadline");
    Server { child, url }
}

/// `cabinet <args> --data-dir <data_dir>` against the database `url`: (exit code, stdout, stderr).
pub fn cli(url: &str, data_dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(binary())
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Stops it with SIGTERM and checks it exits cleanly.
pub async fn stop(mut s: Server) {
    let pid = s.child.id().unwrap() as i32;
    // SAFETY: sending SIGTERM to our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = tokio::time::timeout(Duration::from_secs(60), s.child.wait())
        .await
        .expect("cabinet stops within the deadline")
        .unwrap();
    assert!(status.success(), "cabinet exit status {status}");
}

/// A GraphQL request over real HTTP; the whole response body.
pub async fn gql(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    vars: Value,
) -> Value {
    let mut req = http
        .post(url)
        .json(&json!({"query": query, "variables": vars}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

/// A minimal SMTP server: answers RCPT TO with `rcpt_reply` and keeps every accepted DATA.
pub async fn smtp_server(rcpt_reply: &'static str) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (r, mut w) = socket.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 test ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        "250-test\r\n250 8BITMIME\r\n".to_owned()
                    } else if upper.starts_with("RCPT") {
                        format!("{rcpt_reply}\r\n")
                    } else if upper.starts_with("DATA") {
                        w.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        store.lock().unwrap().push(data);
                        "250 queued\r\n".to_owned()
                    } else if upper.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        "250 OK\r\n".to_owned()
                    };
                    if w.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, received)
}

/// An OTLP/HTTP collector in the test: keeps the body of every `POST /v1/traces` (protobuf) and answers 200.
#[allow(dead_code)]
pub async fn otlp_collector() -> (u16, Arc<Mutex<Vec<Vec<u8>>>>) {
    let bodies: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let kept = bodies.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(body.to_vec());
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port, bodies)
}

/// Signs in as the demo's administrator (password `demo-password-123`) and returns the token.
#[allow(dead_code)]
pub async fn login(http: &reqwest::Client, url: &str) -> String {
    let r = gql(
        http,
        url,
        None,
        "mutation { login(input: { email: \"admin@demo.local\", password: \"demo-password-123\" }) { token } }",
        json!({}),
    )
    .await;
    r["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned()
}
