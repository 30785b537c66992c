//! The horizon of the global commit order (ADR 0003, ADR 0014).
//!
//! Events are read in `(transaction_id, position)` order, and only below the commit horizon: every
//! transaction below it that appended events has finished, so an event whose transaction commits late is
//! delivered when it commits, after the events of earlier transactions, and is never skipped.
//!
//! The horizon is not the snapshot's xmin (which waits for every transaction of the cluster, a long report
//! or another database's work included) but the smallest transaction id of a running *appender*: every
//! transaction that appends events first calls [`register_appender`] in the statement that also takes its
//! transaction id, and `cabinet_commit_horizon()` (migration 0011) reads the appenders from the lock table.
//!
//! A reader reads the horizon with [`read`] in one statement and uses it, with [`below`], in a later one:
//! the later statement's snapshot is taken after the lock table was read, which is what makes it correct.
//! Every reader of the log (or of a table stamped with the appending transaction's id) in commit order goes
//! through this module, so the rule lives in one place.

use sqlx::PgConnection;

/// The advisory lock every append transaction holds (shared): `pg_advisory_xact_lock_shared(3243, 1)`.
/// `cabinet_commit_horizon()` names the same pair.
pub const APPENDER_LOCK: (i32, i32) = (3243, 1);

/// Registers the current transaction as an appender of events: takes the shared appender lock and the
/// transaction's id in one statement, before the transaction writes anything. Must be the first statement
/// of every transaction that inserts into `events`.
///
/// # Errors
/// A database error.
pub async fn register_appender(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock_shared($1, $2), pg_current_xact_id()")
        .bind(APPENDER_LOCK.0)
        .bind(APPENDER_LOCK.1)
        .execute(conn)
        .await?;
    Ok(())
}

/// The current commit horizon, as a bigint (the `xid8` of `cabinet_commit_horizon()`).
///
/// # Errors
/// A database error.
pub async fn read<'e, E>(executor: E) -> Result<i64, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    sqlx::query_scalar("SELECT cabinet_commit_horizon()::text::bigint")
        .fetch_one(executor)
        .await
}

/// The commit horizon, at least `floor`: a horizon read earlier stays valid forever (every appender below it
/// had finished, and later ids are larger), so a reader that was told of one (a subscription woken by the
/// live feed) never reads below it — the horizon it reads is then never lower than the one the wake came
/// from, even in the rare call where the function falls back to xmin.
///
/// # Errors
/// A database error.
pub async fn read_at_least<'e, E>(executor: E, floor: i64) -> Result<i64, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    Ok(read(executor).await?.max(floor))
}

/// The SQL condition that keeps rows whose `column` (a `xid8` transaction id) lies below the horizon bound
/// as parameter `$param` (a bigint read by [`read`] in an earlier statement).
pub fn below(column: &str, param: usize) -> String {
    format!("{column} < ${param}::bigint::text::xid8")
}

/// One horizon read shared by the consumers of a process that were woken by the same notification.
///
/// Reading the horizon scans the lock table (about a millisecond with a few hundred connection slots), and
/// every catch-up consumer of a node is woken by every append's `NOTIFY`: without sharing, each command cost
/// one scan per consumer (issue 24's profile: 3.2 scans and 2.8 ms of PostgreSQL per payment). A reader
/// asks for a horizon read that *started after* a moment it names (the moment its wake arrived, or now): a
/// notification is delivered after its transaction committed, so any read started after the wake arrived
/// covers that transaction, and a horizon once valid stays valid (ADR 0014). Readers woken together wait
/// for the one read in flight instead of each scanning.
///
/// One per database: the horizon of one cluster says nothing of another's.
#[derive(Debug, Default)]
pub struct Shared {
    last: tokio::sync::Mutex<Option<(std::time::Instant, i64)>>,
}

impl Shared {
    /// A horizon read that started at or after `since`: the last one when it qualifies, else a new read on
    /// `conn`.
    ///
    /// # Errors
    /// A database error.
    pub async fn read_since(
        &self,
        conn: &mut PgConnection,
        since: std::time::Instant,
    ) -> Result<i64, sqlx::Error> {
        let mut last = self.last.lock().await;
        if let Some((started, bound)) = *last {
            if started >= since {
                return Ok(bound);
            }
        }
        let started = std::time::Instant::now();
        let bound = read(&mut *conn).await?;
        // Bounds only grow; a fallback read (ADR 0014) never lowers what readers are given.
        let bound = last.map_or(bound, |(_, b)| b.max(bound));
        *last = Some((started, bound));
        Ok(bound)
    }
}
