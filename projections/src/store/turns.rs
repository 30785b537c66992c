//! Aggregates' turns across processes: before a command loads its aggregate, it takes a session advisory
//! lock keyed by the aggregate on a connection of a small pool of its own, and gives it back after its
//! commit. Commands on one aggregate then take turns on every node (inside a node they already queue on the
//! executor's stripes), so they no longer race to the same sequence number and none gives up with a
//! conflict however many nodes send them (ADR 0006, issue 20).
//!
//! The lock is never left behind: a turn that is not given back normally (its command failed, its future
//! was dropped mid-wait) closes its connection instead of returning it to the pool, and the server drops
//! the lock with the session.

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

/// The pool turns are taken on.
#[derive(Clone, Debug)]
pub struct Turns {
    pool: PgPool,
}

impl Turns {
    /// Turns held on connections of `pool` (its own small pool: a command holds one connection of it while
    /// it loads, decides and commits on the main pool). The wait for a busy aggregate is bounded by the
    /// connections' `lock_timeout`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Waits for the turn on (`aggregate_type`, `aggregate_id`).
    ///
    /// # Errors
    /// No connection within the pool's acquire timeout, or the lock not granted within `lock_timeout`.
    pub async fn take(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Turn, sqlx::Error> {
        let key = key(aggregate_type, aggregate_id);
        let mut turn = Turn {
            conn: Some(self.pool.acquire().await?),
            key,
        };
        // Dropped while waiting (the caller went away): `Turn::drop` closes the connection, so a lock
        // granted after all dies with it.
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(key)
            .execute(&mut **turn.conn.as_mut().expect("set above"))
            .await?;
        Ok(turn)
    }
}

/// One aggregate's turn, held until [`Turn::give_back`] or drop.
#[derive(Debug)]
pub struct Turn {
    conn: Option<PoolConnection<Postgres>>,
    key: i64,
}

impl Turn {
    /// Gives the turn back: unlocks and returns the connection to the pool, or closes it when unlocking
    /// fails.
    pub async fn give_back(mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let unlocked: Result<bool, sqlx::Error> =
            sqlx::query_scalar("SELECT pg_advisory_unlock($1)")
                .bind(self.key)
                .fetch_one(&mut *conn)
                .await;
        if !matches!(unlocked, Ok(true)) {
            // Unknown state: never hand a connection that may still hold the lock to anyone else.
            drop(conn.detach());
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Not given back normally: close the connection; the server releases the lock with the session.
            drop(conn.detach());
        }
    }
}

/// The advisory-lock key of an aggregate (a collision only makes two aggregates take turns together).
pub fn key(aggregate_type: &str, aggregate_id: &str) -> i64 {
    crate::postgres::db::lock_key(&format!(
        "cabinet-aggregate:{aggregate_type}:{aggregate_id}"
    ))
}
