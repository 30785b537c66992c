//! The partitioned log (`cabinet-bench [--quick] log`, issue 27, ADR 0029): what moving an existing log into
//! partitions costs, what the stream-version check costs an append, what archiving costs while appends go
//! on, and what archived partitions cost the readers.
//!
//! On a database of its own: the schema as it was before migration 0033, the data set written into the old
//! single-table log, single-event appends timed; then migration 0033 with partitions of a tenth of the log
//! (`cabinet.partition_size`), timed, and the log compared before and after; the same appends timed again;
//! then every partition but the newest two archived while a writer appends, each move timed and the
//! writer's worst wait reported; and the readers (a catch-up batch at the head, an aggregate load, the whole
//! export) timed with every partition live and with all but two archived.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::seed;

/// The log, dumped in commit order and hashed: equal before and after the migration, or the move lost
/// or changed something.
async fn log_hash(pool: &PgPool, source: &str) -> anyhow::Result<(i64, String)> {
    Ok(sqlx::query_as(&format!(
        "SELECT count(*), md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', position, transaction_id, \
           recorded_at, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata), \
           E'\\n' ORDER BY transaction_id, position)) FROM {source}"
    ))
    .fetch_one(pool)
    .await?)
}

/// `n` single-event appends (streams of ten events, so both the first event of a stream and the next
/// one are timed), each in its own transaction registered as an appender like the store's; the mean and
/// the 99th percentile in milliseconds.
async fn appends(pool: &PgPool, tag: &str, n: usize) -> anyhow::Result<Value> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        append_one(pool, &format!("{tag}-{}", i / 10), (i % 10) as i64 + 1).await?;
        samples.push(t.elapsed());
    }
    Ok(summary(samples))
}

async fn append_one(pool: &PgPool, stream: &str, sequence: i64) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    projections::engine::horizon::register_appender(&mut tx).await?;
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('Bench', $1, $2, 'Appended', '1', '{\"Appended\": {}}', '{}')",
    )
    .bind(stream)
    .bind(sequence)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

fn summary(mut samples: Vec<Duration>) -> Value {
    samples.sort();
    let n = samples.len().max(1);
    let mean = samples.iter().map(Duration::as_secs_f64).sum::<f64>() / n as f64;
    let p99 = samples
        .get((n * 99 / 100).min(n - 1))
        .copied()
        .unwrap_or_default();
    let max = samples.last().copied().unwrap_or_default();
    json!({
        "count": samples.len(),
        "mean_ms": (mean * 1e5).round() / 100.0,
        "p99_ms": (p99.as_secs_f64() * 1e5).round() / 100.0,
        "max_ms": (max.as_secs_f64() * 1e5).round() / 100.0,
    })
}

/// The readers: a catch-up batch of 1,000 at the head, the load of a seeded contract (its events where the
/// seed put them), and the whole export; each `rounds` times but the export.
async fn readers(pool: &PgPool, contract: uuid::Uuid, rounds: usize) -> anyhow::Result<Value> {
    let (tx, pos): (i64, i64) = sqlx::query_as(
        "SELECT transaction_id::text::bigint, position FROM event_log \
         ORDER BY transaction_id DESC, position DESC OFFSET 1000 LIMIT 1",
    )
    .fetch_one(pool)
    .await?;
    let sql = projections::engine::runner::catch_up_sql();
    let mut batch = Vec::new();
    for _ in 0..rounds {
        let bound = projections::engine::horizon::read(pool).await?;
        let t = Instant::now();
        let rows = sqlx::query(&sql)
            .bind(tx)
            .bind(pos)
            .bind(1000i64)
            .bind(None::<Vec<String>>)
            .bind(bound)
            .fetch_all(pool)
            .await?;
        batch.push(t.elapsed());
        anyhow::ensure!(rows.len() == 1000, "a catch-up batch read {}", rows.len());
    }
    let mut load = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let events = projections::store::event::load_aggregate_events(
            pool,
            "Contract",
            &contract.to_string(),
            0,
            None,
        )
        .await?;
        load.push(t.elapsed());
        anyhow::ensure!(!events.is_empty(), "the contract loaded no events");
    }
    let t = Instant::now();
    let exported =
        projections::log::export::export(pool, &Default::default(), &mut std::io::sink(), None)
            .await?;
    let seconds = t.elapsed().as_secs_f64();
    Ok(json!({
        "catch_up_batch_of_1000": summary(batch),
        "contract_load": summary(load),
        "export_events_per_second": (exported as f64 / seconds).round(),
    }))
}

/// The log mode: prints the report and writes `bench-log.json` under `data_dir`.
///
/// # Errors
/// The database refuses, or a check fails (the log changed in the move, a batch came back short).
pub async fn run(data_dir: &std::path::Path, quick: bool, url: &str) -> anyhow::Result<()> {
    let target: u64 = if quick { 100_000 } else { 1_000_000 };
    let appends_n = if quick { 2_000 } else { 10_000 };
    let rounds = if quick { 50 } else { 200 };
    let size = (target / 10) as i64;
    let admin = projections::postgres::db::connect(url, 1).await?;
    sqlx::query("DROP DATABASE IF EXISTS cabinet_bench_log WITH (FORCE)")
        .execute(&admin)
        .await?;
    sqlx::query("CREATE DATABASE cabinet_bench_log")
        .execute(&admin)
        .await?;
    sqlx::query(&format!(
        "ALTER DATABASE cabinet_bench_log SET cabinet.partition_size = {size}"
    ))
    .execute(&admin)
    .await?;
    admin.close().await;
    let url = projections::postgres::db::with_database(url, "cabinet_bench_log");
    let pool = projections::postgres::db::connect(&url, 8).await?;

    // The schema before the partitioned log, and the data set in its single table.
    projections::postgres::db::migrator_before(33)
        .run(&pool)
        .await?;
    let seeded = seed::seed(&pool, target, 20).await?;
    println!(
        "seeded {} events into the single-table log in {:.1} s",
        seeded.events, seeded.seconds
    );
    sqlx::query("VACUUM ANALYZE events").execute(&pool).await?;
    let appends_before = appends(&pool, "before", appends_n).await?;
    let hash_before = log_hash(&pool, "events").await?;

    // Migration 0033: the log moved into partitions.
    let t = Instant::now();
    projections::postgres::db::migrate(&pool).await?;
    let migrate_seconds = t.elapsed().as_secs_f64();
    let hash_after = log_hash(&pool, "event_log").await?;
    anyhow::ensure!(
        hash_after == hash_before,
        "the log changed in the move: {hash_before:?} → {hash_after:?}"
    );
    let partitions_after_migration = projections::store::partitions::list(&pool).await?.len();
    println!(
        "migrated {} events into {} partitions in {:.1} s; the log is identical",
        hash_before.0, partitions_after_migration, migrate_seconds
    );
    sqlx::query("ANALYZE events").execute(&pool).await?;
    let appends_after = appends(&pool, "after", appends_n).await?;
    let readers_live = readers(&pool, seeded.contracts[0], rounds).await?;

    // Archiving while a writer appends.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (pool, stop) = (pool.clone(), stop.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                append_one(&pool, &format!("during-{}", i / 10), (i % 10) as i64 + 1).await?;
                samples.push(t.elapsed());
                i += 1;
            }
            Ok::<_, anyhow::Error>(samples)
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let names = projections::store::partitions::archivable(&pool, 2).await?;
    let mut moves = Vec::new();
    let mut moved_events = 0i64;
    for name in &names {
        let t = Instant::now();
        moved_events +=
            projections::store::partitions::archive(&pool, name, Duration::from_secs(2)).await?;
        moves.push(t.elapsed());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let during = writer.await??;
    let readers_archived = readers(&pool, seeded.contracts[0], rounds).await?;
    let hash_archived = log_hash(&pool, "event_log").await?;
    anyhow::ensure!(
        hash_archived.0 >= hash_before.0,
        "events went missing in the archive"
    );
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await?;

    let report = json!({
        "mode": if quick { "quick" } else { "full" },
        "events": hash_before.0,
        "partition_size": size,
        "migration": {
            "seconds": (migrate_seconds * 100.0).round() / 100.0,
            "events_per_second": (hash_before.0 as f64 / migrate_seconds).round(),
            "partitions": partitions_after_migration,
            "log_identical": true,
        },
        "append_single_table": appends_before,
        "append_partitioned": appends_after,
        "archive": {
            "partitions": names.len(),
            "events_moved": moved_events,
            "events_left_live": live,
            "each_move": summary(moves),
            "appends_meanwhile": summary(during),
        },
        "readers_partitioned": readers_live,
        "readers_with_archive": readers_archived,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    std::fs::write(
        data_dir.join("bench-log.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    pool.close().await;
    Ok(())
}
