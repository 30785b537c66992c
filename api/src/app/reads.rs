//! Reads from PostgreSQL streaming replicas (issue 27). Commands, the live feed and everything that must see
//! its own writes use the primary; the screens' heavy reads (debt, contracts, notifications) may go to a
//! replica. Read-your-writes: a request that names a position (the `Cabinet-Read-After` header, with the
//! `position` a mutation answered) is answered by a replica only once that replica shows the event at that
//! position — an event is visible on a standby only after its commit was replayed, and the inline read models
//! commit with it — otherwise, after a bounded wait, by the primary. A replica that fails or falls behind
//! is bypassed until it answers again; its lag is a metric.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::sync::watch;

/// How often the replicas' health and lag are looked at.
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// How often a read waiting for a replica to replay its position looks again.
const POLL: Duration = Duration::from_millis(10);

struct Replica {
    /// For metrics and logs: `replica-1`, `replica-2`, … in the settings' order (never the URL).
    name: String,
    pool: PgPool,
    healthy: AtomicBool,
}

/// The configured replicas (none: every read goes to the primary).
pub struct Replicas {
    list: Vec<Replica>,
    wait: Duration,
    next: AtomicUsize,
}

/// Where a read went, for the metric `cabinet_reads_total{target}`.
fn count(target: &'static str) {
    metrics::counter!("cabinet_reads_total", "target" => target).increment(1);
}

impl Replicas {
    /// No replicas.
    pub fn none() -> Self {
        Self {
            list: Vec::new(),
            wait: Duration::ZERO,
            next: AtomicUsize::new(0),
        }
    }

    /// Pools over `urls` (connected lazily: a replica that is down at start is bypassed until it answers),
    /// with at most `max` connections each; a read waits at most `wait` for a replica to replay its position.
    ///
    /// # Errors
    /// A URL that does not parse.
    pub fn connect(urls: &[String], max: u32, wait: Duration) -> Result<Self, sqlx::Error> {
        let list = urls
            .iter()
            .enumerate()
            .map(|(i, url)| {
                Ok(Replica {
                    name: format!("replica-{}", i + 1),
                    pool: PgPoolOptions::new()
                        .max_connections(max)
                        .acquire_timeout(Duration::from_secs(2))
                        .connect_lazy(url)?,
                    // Believed healthy until a look says otherwise.
                    healthy: AtomicBool::new(true),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Self {
            list,
            wait,
            next: AtomicUsize::new(0),
        })
    }

    /// Whether any replica is configured.
    pub fn any(&self) -> bool {
        !self.list.is_empty()
    }

    /// The pool a read should use: a healthy replica (in turn), one that has replayed the event at `after`
    /// when given (waiting at most the configured time), else `primary`.
    pub async fn pool_for(&self, primary: &PgPool, after: Option<i64>) -> PgPool {
        if self.list.is_empty() {
            return primary.clone();
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + self.wait;
        for i in 0..self.list.len() {
            let r = &self.list[(start + i) % self.list.len()];
            if !r.healthy.load(Ordering::Relaxed) {
                continue;
            }
            match after {
                None | Some(0) => {
                    // One round trip: a replica stopped since the last look is not chosen.
                    if answers(r).await {
                        count("replica");
                        return r.pool.clone();
                    }
                }
                Some(position) => {
                    if replayed(r, position, deadline).await {
                        count("replica");
                        return r.pool.clone();
                    }
                }
            }
        }
        count("primary");
        primary.clone()
    }

    /// Looks at every replica each second until `stop`: whether it answers as a standby, and how far behind
    /// the primary it is (`cabinet_replica_lag_bytes`, `cabinet_replica_up`).
    ///
    /// # Errors
    /// Never (a failing replica is marked and looked at again).
    pub async fn watch(
        self: Arc<Self>,
        primary: PgPool,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), sqlx::Error> {
        if self.list.is_empty() {
            return Ok(());
        }
        loop {
            for r in &self.list {
                let look = tokio::time::timeout(Duration::from_secs(2), async {
                    let (standby, replayed): (bool, Option<String>) = sqlx::query_as(
                        "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text",
                    )
                    .fetch_one(&r.pool)
                    .await?;
                    let lag: Option<f64> =
                        match &replayed {
                            Some(lsn) => sqlx::query_scalar(
                                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8",
                            )
                            .bind(lsn)
                            .fetch_one(&primary)
                            .await?,
                            None => None,
                        };
                    Ok::<_, sqlx::Error>((standby, lag))
                })
                .await;
                let up = match look {
                    Ok(Ok((true, lag))) => {
                        metrics::gauge!("cabinet_replica_lag_bytes", "replica" => r.name.clone())
                            .set(lag.unwrap_or(0.0).max(0.0));
                        true
                    }
                    Ok(Ok((false, _))) => {
                        tracing::warn!(replica = %r.name, "a configured replica is not a standby; not reading from it");
                        false
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(replica = %r.name, error = %e, "replica unreachable; reading from the primary");
                        false
                    }
                    Err(_) => false,
                };
                r.healthy.store(up, Ordering::Relaxed);
                metrics::gauge!("cabinet_replica_up", "replica" => r.name.clone()).set(if up {
                    1.0
                } else {
                    0.0
                });
            }
            tokio::select! {
                _ = tokio::time::sleep(WATCH_EVERY) => {}
                _ = stop.changed() => return Ok(()),
            }
        }
    }
}

/// Whether replica `r` answers at all within a moment (a failure marks it unhealthy).
async fn answers(r: &Replica) -> bool {
    let ok = matches!(
        tokio::time::timeout(
            Duration::from_millis(500),
            sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&r.pool)
        )
        .await,
        Ok(Ok(1))
    );
    if !ok {
        r.healthy.store(false, Ordering::Relaxed);
    }
    ok
}

/// Whether replica `r` shows the event at `position` by `deadline` (a failure marks it unhealthy).
async fn replayed(r: &Replica, position: i64, deadline: Instant) -> bool {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let seen = tokio::time::timeout(
            left.max(POLL),
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM event_log WHERE position = $1)",
            )
            .bind(position)
            .fetch_one(&r.pool),
        )
        .await;
        match seen {
            Ok(Ok(true)) => return true,
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                tracing::warn!(replica = %r.name, error = %e, "replica unreachable; reading from the primary");
                r.healthy.store(false, Ordering::Relaxed);
                return false;
            }
            Err(_) => return false,
        }
        if Instant::now() >= deadline {
            metrics::counter!("cabinet_replica_behind_total", "replica" => r.name.clone())
                .increment(1);
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}
