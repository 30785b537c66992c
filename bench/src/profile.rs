//! Profiles of one operation: what it costs PostgreSQL statement by statement (`pg_stat_statements`, loaded
//! by the benchmark's private cluster) and where the server spends its CPU (`perf record` of the server
//! process, summarised by `perf report`). Both are optional: without the extension or `perf` the report says
//! so and the run goes on.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use sqlx::PgPool;

/// One statement's share of the profiled operations.
#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    /// The normalised statement, shortened.
    pub query: String,
    /// Executions per operation.
    pub calls_per_op: f64,
    /// PostgreSQL execution time per operation, in ms.
    pub ms_per_op: f64,
}

/// What PostgreSQL did for `ops` operations.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Statements {
    /// Operations profiled.
    pub ops: u64,
    /// Statements executed per operation (every statement, `BEGIN`/`COMMIT` included).
    pub statements_per_op: f64,
    /// Execution time per operation, in ms (planning excluded).
    pub exec_ms_per_op: f64,
    /// The costliest statements, by total time.
    pub top: Vec<Statement>,
    /// Why there is no profile, when there is none.
    pub unavailable: Option<String>,
}

/// Empties the statement statistics (call before the profiled operations).
pub async fn reset(pool: &PgPool) -> Result<(), String> {
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(pool)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query("SELECT pg_stat_statements_reset()")
        .execute(pool)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The statements run since [`reset`] in the benchmark's database, per operation.
pub async fn statements(pool: &PgPool, ops: u64) -> Statements {
    let rows: Result<Vec<(String, i64, f64)>, _> = sqlx::query_as(
        "SELECT query, calls, total_exec_time FROM pg_stat_statements s \
         JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() \
           AND query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC",
    )
    .fetch_all(pool)
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => {
            return Statements {
                unavailable: Some(e.to_string()),
                ..Statements::default()
            }
        }
    };
    let n = ops.max(1) as f64;
    let calls: i64 = rows.iter().map(|r| r.1).sum();
    let time: f64 = rows.iter().map(|r| r.2).sum();
    Statements {
        ops,
        statements_per_op: calls as f64 / n,
        exec_ms_per_op: time / n,
        top: rows
            .iter()
            .take(40)
            .map(|(q, c, t)| Statement {
                query: shorten(q, 140),
                calls_per_op: *c as f64 / n,
                ms_per_op: t / n,
            })
            .collect(),
        unavailable: None,
    }
}

fn shorten(q: &str, n: usize) -> String {
    let one: String = q.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= n {
        one
    } else {
        format!("{}…", one.chars().take(n).collect::<String>())
    }
}

/// Samples the process `pid` with `perf record` for `seconds`; returns the handle to wait on.
pub fn start_perf(pid: u32, seconds: f64, out: &Path) -> Option<std::process::Child> {
    std::process::Command::new("perf")
        .args(["record", "-F", "499", "-g", "-o"])
        .arg(out)
        .args(["-p", &pid.to_string(), "--", "sleep", &format!("{seconds}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()
}

/// The hottest functions of a `perf record` (self time, as `perf report --no-children` gives them).
pub fn perf_summary(mut child: std::process::Child, data: &Path) -> Vec<(f64, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let Ok(out) = std::process::Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "-g",
            "none",
            "--percent-limit",
            "0.7",
            "-i",
        ])
        .arg(data)
        .stderr(std::process::Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('%'))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let pct = parts.next()?.trim_end_matches('%').parse::<f64>().ok()?;
            let symbol = l.rsplit_once("] ").map(|x| x.1).unwrap_or(l).trim();
            Some((pct, shorten(symbol, 110)))
        })
        .take(25)
        .collect()
}
