//! The watch over the workers, on every node: how far each catch-up consumer is behind the log (events and
//! seconds) and how much mail is due, as gauges in `/metrics`, and a warning in the log when one has not
//! advanced while work waits for longer than `stall_seconds`.

use std::collections::HashMap;
use std::time::Duration;

use projections::engine::process_manager::ProcessManager;
use projections::engine::segments::{self, Segment};
use sqlx::PgPool;

/// One consumer's distance behind the log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lag {
    /// Events it has still to handle (counted up to 100,000).
    pub events: i64,
    /// Age of the oldest of them, seconds (0 when none).
    pub seconds: f64,
}

/// How far the worker `name` (reading the aggregate `types`, None: all; `broadcast` in every segment) is
/// behind: the events its segments have still to handle, summed, and the oldest of them.
///
/// # Errors
/// A database error.
pub async fn lag(
    pool: &PgPool,
    name: &str,
    types: Option<&[&str]>,
    broadcast: &[&str],
) -> Result<Lag, sqlx::Error> {
    let count = segments::count(pool, name).await?;
    let mut total = Lag {
        events: 0,
        seconds: 0.0,
    };
    for segment in Segment::all(count) {
        let cp = segments::position(pool, name, segment).await?;
        let (events, seconds): (i64, Option<f64>) = sqlx::query_as(
            "WITH behind AS (SELECT e.recorded_at FROM event_log e \
                             WHERE (e.transaction_id, e.position) > ($1::bigint::text::xid8, $2) \
                               AND ($3::text[] IS NULL OR e.aggregate_type = ANY($3)) \
                               AND (e.aggregate_type = ANY($4) OR event_segment(e.aggregate_id, $5) = $6) \
                             ORDER BY e.transaction_id, e.position LIMIT 100000) \
             SELECT count(*), extract(epoch FROM clock_timestamp() - min(recorded_at))::float8 FROM behind",
        )
        .bind(cp.transaction_id)
        .bind(cp.position)
        .bind(types.map(|t| t.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>()))
        .bind(broadcast.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>())
        .bind(segment.count)
        .bind(segment.index)
        .fetch_one(pool)
        .await?;
        total.events += events;
        total.seconds = total.seconds.max(seconds.unwrap_or(0.0).max(0.0));
    }
    Ok(total)
}

/// The mail due and not yet sent: (how many, age of the oldest in seconds).
///
/// # Errors
/// A database error.
pub async fn mail_due(pool: &PgPool) -> Result<(i64, f64), sqlx::Error> {
    let (n, age): (i64, Option<f64>) = sqlx::query_as(
        "SELECT count(*), extract(epoch FROM clock_timestamp() - min(next_attempt_at))::float8 FROM outbox \
         WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= clock_timestamp()",
    )
    .fetch_one(pool)
    .await?;
    Ok((n, age.unwrap_or(0.0).max(0.0)))
}

/// Calendar days from the open business day to today's date in the lessor's time zone (0: the clock is
/// current; `None` before the first day). A clock in manual mode is behind by design.
///
/// # Errors
/// A database error.
pub async fn business_days_behind(
    pool: &PgPool,
    time_zone: chrono_tz::Tz,
) -> Result<Option<i64>, sqlx::Error> {
    let (open, _) = projections::views::contracts::load_business_day(pool).await?;
    let today = chrono::Utc::now().with_timezone(&time_zone).date_naive();
    Ok(open.map(|d| (today - d).num_days()))
}

/// Samples every `every` until `stop` turns true.
pub async fn run(
    pool: PgPool,
    time_zone: chrono_tz::Tz,
    consumers: Vec<std::sync::Arc<dyn ProcessManager>>,
    stall: Duration,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), sqlx::Error> {
    let mut stalled: HashMap<&'static str, bool> = HashMap::new();
    loop {
        let mut report = |name: &'static str, events: i64, seconds: f64| {
            metrics::gauge!("cabinet_consumer_lag_events", "consumer" => name).set(events as f64);
            metrics::gauge!("cabinet_consumer_lag_seconds", "consumer" => name).set(seconds);
            let now = events > 0 && seconds > stall.as_secs_f64();
            metrics::gauge!("cabinet_worker_stalled", "worker" => name).set(if now {
                1.0
            } else {
                0.0
            });
            let before = stalled.insert(name, now).unwrap_or(false);
            if now && !before {
                tracing::warn!(
                    worker = name,
                    behind_events = events,
                    behind_seconds = seconds as u64,
                    "worker stalled: work waits and it has not advanced"
                );
            } else if before && !now {
                tracing::info!(worker = name, "worker advancing again");
            }
        };
        for c in &consumers {
            let l = lag(&pool, c.name(), c.aggregate_types(), c.broadcast_types()).await?;
            report(c.name(), l.events, l.seconds);
        }
        let (due, age) = mail_due(&pool).await?;
        metrics::gauge!("cabinet_outbox_due").set(due as f64);
        metrics::gauge!("cabinet_outbox_oldest_due_seconds").set(age);
        let pool_size = f64::from(pool.size());
        let idle = pool.num_idle() as f64;
        metrics::gauge!("cabinet_db_pool_connections", "state" => "in_use").set(pool_size - idle);
        metrics::gauge!("cabinet_db_pool_connections", "state" => "idle").set(idle);
        metrics::gauge!("cabinet_db_pool_max_connections")
            .set(f64::from(pool.options().get_max_connections()));
        if let Some(behind) = business_days_behind(&pool, time_zone).await? {
            metrics::gauge!("cabinet_business_date_behind_days").set(behind as f64);
        }
        report("outbox-sender", due, age);
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return Ok(()),
        }
    }
}
