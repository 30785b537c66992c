//! The partitioned log (migration 0033, ADR 0029): `events` is partitioned by range of position; full
//! partitions can be moved whole to the `archive` schema, where `event_log` (the whole history) still reads
//! them. The SQL functions are the one home of the rules; this module calls them.

use sqlx::{PgPool, Postgres};

/// The view of the whole history, live and archived: what replay, verify, export, as-of and the audit read.
pub const EVENT_LOG: &str = "event_log";

/// One partition of the log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Partition {
    /// Its table's name (`events_p<from>`), in `public` when live, in `archive` when archived.
    pub name: String,
    /// Moved to the archive.
    pub archived: bool,
    /// The first position it holds.
    pub from_position: i64,
    /// The position after its last.
    pub to_position: i64,
    /// How many events it holds.
    pub events: i64,
    /// Its size on disk with its indexes, in bytes.
    pub bytes: i64,
}

/// Every partition, oldest first.
///
/// # Errors
/// A database error.
pub async fn list(pool: &PgPool) -> Result<Vec<Partition>, sqlx::Error> {
    let names: Vec<(String, bool, i64, i64)> = sqlx::query_as(
        "SELECT name, archived, from_position, to_position FROM event_partitions ORDER BY from_position",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(names.len());
    for (name, archived, from_position, to_position) in names {
        let schema = if archived { "archive" } else { "public" };
        let table = format!("{schema}.{}", crate::postgres::db::quote_ident(&name));
        let (events, bytes): (i64, i64) = sqlx::query_as(&format!(
            "SELECT (SELECT count(*) FROM {table}), pg_total_relation_size('{table}')"
        ))
        .fetch_one(pool)
        .await?;
        out.push(Partition {
            name,
            archived,
            from_position,
            to_position,
            events,
            bytes,
        });
    }
    Ok(out)
}

/// Creates the partitions that keep the configured number of empty ones ahead of the last position handed
/// out; returns how many it created. Every node calls it at start and then periodically, and the store
/// calls it when an append finds no partition for its position; it runs as the schema's owner (`SECURITY
/// DEFINER`), so the runtime role may call it.
///
/// # Errors
/// A database error.
pub async fn ensure<'e, E>(executor: E) -> Result<i32, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    sqlx::query_scalar("SELECT event_partitions_ensure()")
        .fetch_one(executor)
        .await
}

/// How many empty live partitions follow the last position handed out.
///
/// # Errors
/// A database error.
pub async fn empty_ahead(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM event_partitions WHERE NOT archived AND from_position > event_last_position()",
    )
    .fetch_one(pool)
    .await
}

/// Moves one full live partition to the archive in one transaction (the newest full one is never the one
/// still written to). `lock_timeout` bounds the wait for the log's lock (appends and reads queue behind
/// a waiting detach): on timeout nothing changed and the caller may try again. Returns the events moved.
///
/// # Errors
/// Not a live full partition (named in the message), the lock wait timed out, or a database error.
pub async fn archive(
    pool: &PgPool,
    name: &str,
    lock_timeout: std::time::Duration,
) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(&format!(
        "SET LOCAL lock_timeout = {}",
        lock_timeout.as_millis().max(1)
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query("SELECT event_partition_archive($1)")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // After the commit, which releases the log's lock: appends wait for none of this.
    let table = format!("archive.{}", crate::postgres::db::quote_ident(name));
    // Frozen once, an archived partition is skipped by every later vacuum.
    sqlx::query(&format!("VACUUM (FREEZE, ANALYZE) {table}"))
        .execute(pool)
        .await?;
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
}

/// The live partitions that may be archived while the newest `keep` partitions holding events stay live.
///
/// # Errors
/// A database error.
pub async fn archivable(pool: &PgPool, keep: usize) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH full_ones AS (SELECT name, from_position FROM event_partitions \
                            WHERE NOT archived AND to_position <= event_last_position()), \
              holding AS (SELECT from_position FROM event_partitions \
                          WHERE NOT archived AND from_position <= event_last_position() \
                          ORDER BY from_position DESC LIMIT $1) \
         SELECT name FROM full_ones \
         WHERE from_position < coalesce((SELECT min(from_position) FROM holding), 0) \
         ORDER BY from_position",
    )
    .bind(i64::try_from(keep).unwrap_or(i64::MAX).max(1))
    .fetch_all(pool)
    .await
}

/// The positions missing from the history (archived partitions that were dropped), as `[from, to)` ranges;
/// empty when the whole history is present.
///
/// # Errors
/// A database error.
pub async fn history_gaps<'e, E>(executor: E) -> Result<Vec<(i64, i64)>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    sqlx::query_as("SELECT from_position, to_position FROM event_history_gaps() ORDER BY 1")
        .fetch_all(executor)
        .await
}

/// Why a reader of the whole history refuses to run.
#[derive(Debug, thiserror::Error)]
#[error(
    "the event history is incomplete: positions {} are in archived partitions that are not present; \
     restore them (pg_restore of their dump re-attaches them to archive.events) before reading the whole history",
    .0.iter().map(|(a, b)| format!("{a}..{}", b - 1)).collect::<Vec<_>>().join(", ")
)]
pub struct HistoryIncomplete(pub Vec<(i64, i64)>);

/// Fails when the history lacks a range: replay, verify and a whole-log export need all of it.
///
/// # Errors
/// [`HistoryIncomplete`] (as a database error's protocol error), or a database error.
pub async fn require_whole_history<'e, E>(executor: E) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    let gaps = history_gaps(executor).await?;
    if gaps.is_empty() {
        Ok(())
    } else {
        Err(sqlx::Error::Protocol(HistoryIncomplete(gaps).to_string()))
    }
}

/// The size of the partitions created from now on, and how many empty ones are kept ahead.
///
/// # Errors
/// A database error.
pub async fn settings(pool: &PgPool) -> Result<(i64, i32), sqlx::Error> {
    sqlx::query_as("SELECT partition_size, ahead FROM event_partitioning")
        .fetch_one(pool)
        .await
}

/// Sets the size of the partitions created from now on (positions per partition) and how many empty ones
/// are kept ahead (each left as it is when `None`); the existing ones keep theirs. Returns both as they now
/// are.
///
/// # Errors
/// A size below 1 or an `ahead` outside 1..=100 (the table's checks), or a database error.
pub async fn configure(
    pool: &PgPool,
    size: Option<i64>,
    ahead: Option<i32>,
) -> Result<(i64, i32), sqlx::Error> {
    sqlx::query_as(
        "UPDATE event_partitioning SET partition_size = coalesce($1, partition_size), \
         ahead = coalesce($2, ahead) RETURNING partition_size, ahead",
    )
    .bind(size)
    .bind(ahead)
    .fetch_one(pool)
    .await
}
