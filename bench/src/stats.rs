//! Latency samples and the figures computed from them.

use std::time::{Duration, Instant};

use serde::Serialize;

/// What one measured level did.
#[derive(Debug, Clone, Serialize)]
pub struct Level {
    /// Concurrent clients.
    pub clients: usize,
    /// Operations completed without error.
    pub ok: u64,
    /// Operations that failed.
    pub errors: u64,
    /// Successful operations per second.
    pub per_second: f64,
    /// Latency percentiles in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// The first error, when there were any (a benchmark whose operations fail measures nothing).
    pub first_error: Option<String>,
}

/// Runs `clients` workers for `duration`, each calling `op(worker, iteration)` in a loop; an `Err` counts
/// as an error.
pub async fn run_level<F, Fut>(clients: usize, duration: Duration, op: F) -> Level
where
    F: Fn(usize, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for w in 0..clients {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut i = 0u64;
            let mut first_error: Option<String> = None;
            while Instant::now() < deadline {
                let t = Instant::now();
                match op(w, i).await {
                    Ok(()) => lat.push(t.elapsed()),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
                i += 1;
            }
            (lat, errors, first_error)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for t in tasks {
        if let Ok((lat, e, first)) = t.await {
            all.extend(lat);
            errors += e;
            if first_error.is_none() {
                first_error = first;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(e) = &first_error {
        eprintln!("bench: {errors} operations failed, the first with: {e}");
    }
    Level {
        first_error,
        ..summarize(clients, all, errors, elapsed)
    }
}

/// Percentiles of `samples`.
pub fn summarize(clients: usize, mut samples: Vec<Duration>, errors: u64, seconds: f64) -> Level {
    samples.sort();
    let pct = |p: f64| -> f64 {
        if samples.is_empty() {
            return 0.0;
        }
        let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
        samples[i].as_secs_f64() * 1000.0
    };
    Level {
        clients,
        ok: samples.len() as u64,
        errors,
        per_second: samples.len() as f64 / seconds.max(1e-9),
        p50_ms: pct(0.50),
        p95_ms: pct(0.95),
        p99_ms: pct(0.99),
        first_error: None,
    }
}
