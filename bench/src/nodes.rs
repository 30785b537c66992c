//! The multi-node mode (`cabinet-bench [--quick] nodes`, issue 27): one primary and one streaming replica
//! on this machine, and one, two and then three server processes sharing the workers in segments and
//! reading from the replica. For each node count it measures payments over HTTP spread over the nodes,
//! `debt` reads spread over the nodes (answered by the replica), the close of a business day over every
//! seeded contract (the segments shared by the nodes), each process's CPU per operation, and the replica's
//! lag under the write load; with three nodes it kills one (SIGKILL) and times how long its segments take to
//! move. On two cores absolute figures cannot grow with nodes: the report gives ratios to one node and the
//! CPU per operation, which is what the capacity model in docs/scaling.md is built from.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::http::{Http, PAY};
use crate::process::{cpu_seconds, level_json, start_server_with, Server};
use crate::seed;
use crate::stats::run_level;

/// Segments each worker runs in.
const SEGMENTS: u32 = 6;

/// Workers that run in segments.
const WORKERS: usize = 5;

const DEBT: &str =
    "query($c: UUID!) { debt(companyId: $c) { total overdue contracts { contractId total } } }";

/// Segment leases held in the database (every worker's, every node's).
async fn leases_held(pool: &PgPool) -> anyhow::Result<i64> {
    let mut keys = Vec::new();
    for worker in [
        "business-days",
        "account-provisioning",
        "request-effects",
        "notification-mail",
        "bank-payments",
    ] {
        for s in projections::engine::segments::Segment::all(SEGMENTS as i32) {
            keys.push(s.lock_key(worker));
        }
    }
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted \
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND ((classid::bigint << 32) | objid::bigint) = ANY($1)",
    )
    .bind(&keys)
    .fetch_one(pool)
    .await?)
}

/// Waits until every segment of every worker is held; the time it took.
async fn wait_all_held(pool: &PgPool, limit: Duration) -> anyhow::Result<Duration> {
    let t = Instant::now();
    loop {
        if leases_held(pool).await? >= i64::from(SEGMENTS) * WORKERS as i64 {
            return Ok(t.elapsed());
        }
        anyhow::ensure!(
            t.elapsed() < limit,
            "segments not all held within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The replica's lag behind the primary, bytes of WAL not yet replayed.
async fn replica_lag_bytes(pool: &PgPool) -> f64 {
    sqlx::query_scalar::<_, Option<f64>>(
        "SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn))::float8 FROM pg_stat_replication",
    )
    .fetch_one(pool)
    .await
    .ok()
    .flatten()
    .unwrap_or(0.0)
}

/// Reads the nodes sent to the replica so far.
async fn replica_reads_total(nodes: &[Http]) -> f64 {
    let mut sum = 0.0;
    for h in nodes {
        sum += h.metric("cabinet_reads_total{target=\"replica\"").await;
    }
    sum
}

/// CPU milliseconds per operation between two samples: the servers' together, and PostgreSQL's.
fn per_op(before: &[f64], pg_before: f64, after: &[f64], pg_after: f64, ops: f64) -> (f64, f64) {
    let servers: f64 = after.iter().zip(before).map(|(a, b)| a - b).sum();
    (
        servers * 1000.0 / ops,
        (pg_after - pg_before) * 1000.0 / ops,
    )
}

/// CPU seconds of each server process and of PostgreSQL.
fn cpu(servers: &[Server]) -> (Vec<f64>, f64) {
    let per: Vec<f64> = servers
        .iter()
        .map(|s| cpu_seconds(s.child.id()).0)
        .collect();
    (per, cpu_seconds(None).1)
}

/// Runs the mode on the fresh database `pool` (`url`) of the private `cluster`, writing the report under
/// `data_dir`.
pub async fn run(
    data_dir: &std::path::Path,
    quick: bool,
    pool: PgPool,
    url: String,
    cluster: Option<projections::postgres::cluster::Cluster>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let secs = Duration::from_secs_f64(if quick { 2.0 } else { 8.0 });
    let cluster = cluster
        .context("the multi-node mode starts its own primary and replica: unset DATABASE_URL")?;

    // The data set, and its read models.
    let seeded = seed::seed(&pool, if quick { 30_000 } else { 300_000 }, 5).await?;
    sqlx::query("VACUUM ANALYZE events").execute(&pool).await?;
    let inline: Vec<_> = projections::executors::inline_projections()
        .iter()
        .filter(|p| p.replaceable())
        .cloned()
        .collect();
    projections::engine::runner::rebuild_all(
        &pool,
        &inline,
        5_000,
        projections::engine::runner::default_rebuild_parallelism(),
    )
    .await?;
    crate::process::create_admin(&pool).await?;
    eprintln!(
        "bench nodes: seeded {} events, {} contracts",
        seeded.events,
        seeded.contracts.len()
    );

    // The replica: a base backup of the primary, streaming.
    let replica_dir = data_dir.join("replica");
    let _ = std::fs::remove_dir_all(&replica_dir);
    let replica = {
        let primary = &cluster;
        let mut r = projections::postgres::cluster::Cluster::replica_of(primary, &replica_dir)?;
        r.start()?;
        r
    };
    let replica_url = replica.url("cabinet_bench")?;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .pool_idle_timeout(Duration::from_secs(5))
        .build()?;
    let companies = Arc::new(seeded.companies.clone());
    let contracts = Arc::new(seeded.contracts.clone());
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let close_day: chrono::NaiveDate = seed::CLOSE_DAY.parse()?;
    let mut day = close_day - chrono::Days::new(1);
    let mut rows = Vec::new();
    let mut failover = Value::Null;
    for n in 1..=3usize {
        let mut servers = Vec::new();
        for i in 0..n {
            let node_url = format!("{url}?application_name=bench-node{i}");
            servers.push(
                start_server_with(
                    &node_url,
                    &[
                        "--segments".into(),
                        SEGMENTS.to_string(),
                        "--replica".into(),
                        replica_url.clone(),
                    ],
                )
                .await?,
            );
        }
        wait_all_held(&pool, Duration::from_secs(60)).await?;
        let token = crate::process::sign_in_admin(&client, &servers[0].url).await?;
        let https: Arc<Vec<Http>> = Arc::new(
            servers
                .iter()
                .map(|s| Http {
                    client: client.clone(),
                    url: s.url.clone(),
                    token: token.clone(),
                })
                .collect(),
        );
        let clients = 16usize;

        // Payments, spread over the contracts and the nodes; the replica's lag sampled meanwhile.
        let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = {
            let (pool, sampling) = (pool.clone(), sampling.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                    samples.push(replica_lag_bytes(&pool).await);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                samples
            })
        };
        let (cpu_before, pg_before) = cpu(&servers);
        let (h, cs, nonce_w) = (https.clone(), contracts.clone(), nonce.clone());
        let writes = run_level(clients, secs, move |w, i| {
            let (h, cs, nonce_w) = (h.clone(), cs.clone(), nonce_w.clone());
            async move {
                let node = &h[(w + i as usize) % h.len()];
                let c = cs[(w + i as usize * clients) % cs.len()];
                node.gql(PAY, json!({ "i": { "contractId": c, "amount": "1.00", "date": "2027-06-01",
                    "bankReference": format!("{nonce_w}-n{}-{w}-{i}", h.len()), "purpose": "LEASING_PAYMENT" } }))
                    .await
                    .map(|_| ())
            }
        })
        .await;
        let (cpu_after, pg_after) = cpu(&servers);
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        let lag = sampler.await.unwrap_or_default();
        let lag_max = lag.iter().copied().fold(0.0, f64::max);
        let lag_mean = lag.iter().sum::<f64>() / lag.len().max(1) as f64;
        let ops = (writes.ok + writes.errors).max(1) as f64;
        let (server_ms_per_write, pg_ms_per_write) =
            per_op(&cpu_before, pg_before, &cpu_after, pg_after, ops);

        // Reads of a company's debt, spread over the nodes (the replica answers them).
        let reads_before = replica_reads_total(&https).await;
        let (cpu_before, pg_before) = cpu(&servers);
        let (h, cs) = (https.clone(), companies.clone());
        let reads = run_level(clients * 2, secs, move |w, i| {
            let (h, cs) = (h.clone(), cs.clone());
            async move {
                let node = &h[(w + i as usize) % h.len()];
                let c = cs[(w * 7919 + i as usize * 31) % cs.len()];
                node.gql(DEBT, json!({ "c": c })).await.map(|_| ())
            }
        })
        .await;
        let (cpu_after, pg_after) = cpu(&servers);
        let replica_reads = replica_reads_total(&https).await - reads_before;
        let rops = (reads.ok + reads.errors).max(1) as f64;
        let (server_ms_per_read, pg_ms_per_read) =
            per_op(&cpu_before, pg_before, &cpu_after, pg_after, rops);

        // A business day over every seeded contract, closed by the nodes' segments together.
        if day < close_day {
            close(&https[0], day).await?;
        }
        day = day + chrono::Days::new(1);
        let t = Instant::now();
        close(&https[0], day).await?;
        let close_seconds = t.elapsed().as_secs_f64();
        let closed: i32 = sqlx::query_scalar(
            "SELECT contracts FROM business_days_closed WHERE business_date = $1",
        )
        .bind(day)
        .fetch_one(&pool)
        .await?;
        let row = json!({
            "nodes": n,
            "writes": level_json(&writes),
            "server_cpu_ms_per_write": server_ms_per_write,
            "postgres_cpu_ms_per_write": pg_ms_per_write,
            "replica_lag_bytes_max": lag_max,
            "replica_lag_bytes_mean": lag_mean,
            "reads": level_json(&reads),
            "reads_from_replica": replica_reads,
            "server_cpu_ms_per_read": server_ms_per_read,
            "postgres_cpu_ms_per_read": pg_ms_per_read,
            "day_close": { "date": day, "contracts": closed, "seconds": close_seconds,
                           "contracts_per_second": f64::from(closed) / close_seconds },
        });
        eprintln!(
            "bench nodes: {n} node(s): {:.0} payments/s, {:.0} debt reads/s ({replica_reads:.0} from the replica), \
             day close {:.0} contracts/s, replica lag ≤ {:.0} KiB",
            writes.per_second,
            reads.per_second,
            f64::from(closed) / close_seconds,
            lag_max / 1024.0
        );
        rows.push(row);

        if n == 3 {
            // A node killed: how long until the others hold its segments.
            let victim = servers.remove(1);
            let mut child = victim.child;
            let t = Instant::now();
            child.start_kill()?;
            let _ = child.wait().await;
            let moved = wait_all_held(&pool, Duration::from_secs(60)).await?;
            failover = json!({ "nodes_before": 3, "segments": SEGMENTS, "workers": WORKERS,
                               "seconds_to_move": t.elapsed().as_secs_f64(), "after_exit_seconds": moved.as_secs_f64() });
            eprintln!(
                "bench nodes: a killed node's segments moved in {:.2} s",
                t.elapsed().as_secs_f64()
            );
        }
        for s in servers {
            let mut child = s.child;
            drop(child.stdin.take());
            let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
        }
    }
    let one = &rows[0];
    let ratio = |row: &Value, path: &[&str]| {
        let get = |v: &Value| {
            path.iter()
                .fold(v.clone(), |v, k| v[*k].clone())
                .as_f64()
                .unwrap_or(0.0)
        };
        let base = get(one);
        if base > 0.0 {
            get(row) / base
        } else {
            0.0
        }
    };
    let ratios: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({ "nodes": r["nodes"],
                    "writes": ratio(r, &["writes", "per_second"]),
                    "reads": ratio(r, &["reads", "per_second"]),
                    "day_close": ratio(r, &["day_close", "contracts_per_second"]) })
        })
        .collect();
    let report = json!({
        "mode": if quick { "quick" } else { "full" },
        "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
        "events": seeded.events,
        "contracts": seeded.contracts.len(),
        "segments": SEGMENTS,
        "by_nodes": rows,
        "ratios_to_one_node": ratios,
        "failover": failover,
        "seconds": started.elapsed().as_secs_f64(),
    });
    let path = data_dir.join("bench-nodes.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    eprintln!("bench nodes: report written to {}", path.display());
    let mut replica = replica;
    let _ = replica.stop();
    let mut cluster = cluster;
    let _ = cluster.stop();
    Ok(())
}

/// Starts the business days through `day` and waits until they are closed.
async fn close(http: &Http, day: chrono::NaiveDate) -> anyhow::Result<()> {
    http.gql(
        "mutation($d: Date!) { advanceClock(input: { to: $d }) { daysStarted } }",
        json!({ "d": day }),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let t = Instant::now();
    loop {
        let r = http
            .gql("{ businessDate { closedThrough } }", json!({}))
            .await
            .map_err(anyhow::Error::msg)?;
        if r["data"]["businessDate"]["closedThrough"].as_str() == Some(&day.to_string()) {
            return Ok(());
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(1_200),
            "{day} did not close"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
