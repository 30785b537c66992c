//! The server under test as a child process of the benchmark, and what `/proc` says of the processes: CPU
//! seconds and peak memory.

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::stats::Level;

/// A server child.
pub struct Server {
    /// The process.
    pub child: tokio::process::Child,
    /// Its GraphQL endpoint.
    pub url: String,
}

pub async fn start_server(url: &str) -> anyhow::Result<Server> {
    start_server_with(url, &[]).await
}

/// [`start_server`] with more arguments of the server child (`--segments`, `--replica`).
pub async fn start_server_with(url: &str, args: &[String]) -> anyhow::Result<Server> {
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["server", "--url", url])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting the server child")?;
    let mut lines = BufReader::new(child.stdout.take().context("server stdout")?).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(u) = line.strip_prefix("listening on ") {
                return Some(u.to_owned());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .context("the server did not start")?;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Server { child, url })
}

/// CPU seconds used so far by the server child, by every `postgres` process, and by this process
/// (user + system, from /proc). Sampled around a level, the differences show who spent the machine's time.
pub fn cpu_seconds(server: Option<u32>) -> (f64, f64, f64) {
    let ticks = 100.0; // USER_HZ on Linux
    let stat = |pid: &str| -> Option<(String, f64)> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (head, rest) = s.rsplit_once(") ")?;
        let comm = head.split_once(" (")?.1.to_owned();
        let f: Vec<&str> = rest.split_whitespace().collect();
        let used = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
        Some((comm, used / ticks))
    };
    let server_cpu = server
        .and_then(|p| stat(&p.to_string()))
        .map(|x| x.1)
        .unwrap_or(0.0);
    let me = stat("self").map(|x| x.1).unwrap_or(0.0);
    let mut pg = 0.0;
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.chars().all(|c| c.is_ascii_digit()) {
                if let Some((comm, used)) = stat(&name) {
                    if comm == "postgres" {
                        pg += used;
                    }
                }
            }
        }
    }
    (server_cpu, pg, me)
}

pub fn peak_rss_mb(pid: Option<u32>) -> f64 {
    let Some(pid) = pid else { return 0.0 };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// A level as JSON.
pub fn level_json(l: &Level) -> Value {
    serde_json::to_value(l).unwrap_or_default()
}

/// The benchmark's administrator: its e-mail and password.
pub const ADMIN: (&str, &str) = ("bench@lessor.local", "bench-password-123");

/// Creates the benchmark's administrator ([`ADMIN`]) in `pool`'s database.
///
/// # Errors
/// A database error.
pub async fn create_admin(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let email = domain::values::Email::parse(ADMIN.0)?;
    api::auth::accounts::create_account(pool, &email, ADMIN.1, &[api::auth::Role::Admin], true)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    Ok(())
}

/// Signs the administrator in at the server `url`; its session token.
///
/// # Errors
/// The server does not answer, or refuses.
pub async fn sign_in_admin(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let login: Value = client
        .post(url)
        .json(&serde_json::json!({ "query": "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { token } }",
                                   "variables": { "e": ADMIN.0, "p": ADMIN.1 } }))
        .send()
        .await?
        .json()
        .await?;
    Ok(login["data"]["login"]["token"]
        .as_str()
        .context("login")?
        .to_owned())
}
