//! Workers in segments (ADR 0028): N nodes share each process manager.
//!
//! A worker's share of the log is split into `segments` parts by a hash of the aggregate id
//! (`event_segment`, migration 0032): every event of one aggregate is in one segment, read in global order,
//! so each aggregate's order is kept; the order *between* aggregates of different segments is not (see
//! docs/scaling.md for what each worker relies on). Aggregate types a worker names in
//! [`ProcessManager::broadcast_types`] are read by every segment, which then acts on its own part (the
//! business day closes the contracts of its segment).
//!
//! Each segment has its own checkpoint (`<worker>#<i>/<n>`; with one segment, the worker's own name, as
//! before segments) and its own lease: a session advisory lock on the connection that does the segment's
//! work, so the lease is also the fence — once that session is gone none of its writes can land.
//!
//! **Sharing.** Every node holds a presence lock (an advisory lock per node slot, [`Presence`]); the nodes
//! alive are the presence locks held, as PostgreSQL sees them. A node holds at most `ceil(segments /
//! nodes)` segments of each worker, takes free ones up to that, and gives back what is over it when a node
//! joins; a node that dies loses its sessions, so its locks and presence go at once and the others take
//! its segments at their next look (every [`BALANCE_EVERY`]).
//!
//! **Changing the count.** `worker_segments` holds each worker's count, written by a starting node from
//! its settings. Every batch holds that row `FOR SHARE` and checks the count it runs under, so a change
//! (an UPDATE) waits for the batches in flight and no batch of the old count commits after it; the running
//! nodes then drop their segments and take the new ones. A new segment starts at the lowest checkpoint of
//! the worker under other counts (what lies between is done again: process managers are idempotent per
//! event).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgListener;
use sqlx::{Connection, PgConnection, PgPool};

use crate::engine::horizon;
use crate::engine::process_manager::ProcessManager;
pub use crate::engine::process_manager::Segment;
use crate::engine::read_model::ReadModel;
use crate::engine::runner::{self, Bound, Checkpoint, ProjectionStatus, RunnerError, Woken};
use crate::store::event_store::EVENTS_CHANNEL;

/// How often a node looks at who is alive and which segments are free.
pub const BALANCE_EVERY: Duration = Duration::from_secs(1);

/// The first key of the presence locks (the second is the node's slot).
const PRESENCE: i32 = 0x4341_4e44;

impl Segment {
    /// The key of its lease (with one segment, the worker's own leadership key).
    pub fn lock_key(self, worker: &str) -> i64 {
        runner::advisory_key(&self.checkpoint_name(worker))
    }
}

/// The number of segments `worker` runs in (1 when never set).
///
/// # Errors
/// A database error.
pub async fn count<'e, E>(executor: E, worker: &str) -> Result<i32, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    let n: Option<i32> =
        sqlx::query_scalar("SELECT segments FROM worker_segments WHERE worker = $1")
            .bind(worker)
            .fetch_optional(executor)
            .await?;
    Ok(n.unwrap_or(1))
}

/// Sets the number of segments of `worker` (a starting node does, from its settings); true when it
/// changed. Waits for the batches in flight under the old count (they hold the row `FOR SHARE`), and
/// forgets checkpoints an earlier use of the new count left behind (they would be taken as current).
///
/// # Errors
/// A database error.
pub async fn set_count(pool: &PgPool, worker: &str, segments: i32) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let old: Option<i32> =
        sqlx::query_scalar("SELECT segments FROM worker_segments WHERE worker = $1 FOR UPDATE")
            .bind(worker)
            .fetch_optional(&mut *tx)
            .await?;
    if old == Some(segments) {
        tx.commit().await?;
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO worker_segments (worker, segments) VALUES ($1, $2) \
         ON CONFLICT (worker) DO UPDATE SET segments = EXCLUDED.segments, changed_at = now()",
    )
    .bind(worker)
    .bind(segments)
    .execute(&mut *tx)
    .await?;
    // Before the first count the worker ran whole: its own checkpoint is current then, stale otherwise.
    if old.is_some() {
        sqlx::query(&format!(
            "DELETE FROM projection_checkpoints WHERE split_part(name, '#', 1) = $1 AND {SEGMENTS_OF_NAME} = $2"
        ))
        .bind(worker)
        .bind(segments)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    if old.is_some() {
        tracing::warn!(worker, from = old, to = segments, "worker segments changed");
    }
    Ok(true)
}

/// The segment count a checkpoint's name belongs to (`<worker>#<i>/<n>`, or 1 for the worker's own name).
const SEGMENTS_OF_NAME: &str =
    "(CASE WHEN strpos(name, '#') = 0 THEN 1 ELSE split_part(name, '/', 2)::integer END)";

/// Where a segment without a checkpoint starts: the lowest checkpoint of the worker under another count
/// (the start of the log when there is none).
async fn initial_checkpoint(
    conn: &mut PgConnection,
    worker: &str,
    segments: i32,
) -> Result<Checkpoint, sqlx::Error> {
    let row: Option<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT transaction_id::text::bigint, position FROM projection_checkpoints \
         WHERE split_part(name, '#', 1) = $1 AND {SEGMENTS_OF_NAME} <> $2 \
         ORDER BY transaction_id, position LIMIT 1"
    ))
    .bind(worker)
    .bind(segments)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map_or(Checkpoint::default(), |(t, p)| Checkpoint {
        transaction_id: t,
        position: p,
    }))
}

/// Where `segment` of `worker` stands: its checkpoint, or where it will start.
///
/// # Errors
/// A database error.
pub async fn position(
    pool: &PgPool,
    worker: &str,
    segment: Segment,
) -> Result<Checkpoint, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    match runner::find_checkpoint(&mut conn, &segment.checkpoint_name(worker)).await? {
        Some(cp) => Ok(cp),
        None => initial_checkpoint(&mut conn, worker, segment.count).await,
    }
}

/// This node's presence among the nodes sharing the workers: an advisory lock on a connection of its
/// own, one slot per node. PostgreSQL drops it with the session, so a node that dies is gone at once.
pub struct Presence {
    conn: tokio::sync::Mutex<Option<PgConnection>>,
    pool: PgPool,
    slot: std::sync::atomic::AtomicI32,
}

impl Presence {
    /// Joins: takes the first free node slot.
    ///
    /// # Errors
    /// A database error.
    pub async fn join(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let presence = Self {
            conn: tokio::sync::Mutex::new(None),
            pool: pool.clone(),
            slot: std::sync::atomic::AtomicI32::new(0),
        };
        presence.live_nodes().await?;
        Ok(presence)
    }

    /// This node's slot (spreads where the nodes start looking for free segments).
    pub fn slot(&self) -> i32 {
        self.slot.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many nodes are present (this one included), asked on the presence connection itself: when that
    /// session is gone, the node joins again first.
    ///
    /// # Errors
    /// A database error.
    pub async fn live_nodes(&self) -> Result<usize, sqlx::Error> {
        let mut conn = self.conn.lock().await;
        if let Some(c) = conn.as_mut() {
            match nodes_present(c).await {
                Ok(n) => return Ok(n),
                Err(e) => {
                    tracing::warn!(error = %e, "node presence lost; joining again");
                    *conn = None;
                }
            }
        }
        let mut c = PgConnection::connect_with(&self.pool.connect_options()).await?;
        let mut slot = 0;
        loop {
            let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
                .bind(PRESENCE)
                .bind(slot)
                .fetch_one(&mut c)
                .await?;
            if taken {
                break;
            }
            slot += 1;
        }
        self.slot.store(slot, std::sync::atomic::Ordering::Relaxed);
        let n = nodes_present(&mut c).await?;
        *conn = Some(c);
        Ok(n)
    }
}

/// The presence locks held in this database.
async fn nodes_present(conn: &mut PgConnection) -> Result<usize, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted \
           AND classid::bigint = $1 \
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(i64::from(PRESENCE))
    .fetch_one(conn)
    .await?;
    Ok(usize::try_from(n).unwrap_or(1).max(1))
}

/// A segment this node holds: the connection holding its lease, through which all its work goes.
struct Lease {
    segment: Segment,
    conn: PgConnection,
    /// The horizon the last read kept below.
    bound: Option<i64>,
}

impl Lease {
    async fn release(mut self, worker: &str) {
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.segment.lock_key(worker))
            .execute(&mut self.conn)
            .await;
        let _ = self.conn.close().await;
    }
}

/// What one step of a segment did.
enum Step {
    /// Applied this many events.
    Applied(usize),
    /// The worker's count changed: the segment is no longer one.
    Resegmented,
}

/// A process manager run in segments by this node (see the module).
pub struct Segmented {
    manager: Arc<dyn ProcessManager>,
    batch: i64,
    horizon: Arc<horizon::Shared>,
}

impl Segmented {
    /// `manager`, reading `batch` events per transaction, sharing horizon reads through `horizon`.
    pub fn new(
        manager: Arc<dyn ProcessManager>,
        batch: i64,
        horizon: Arc<horizon::Shared>,
    ) -> Self {
        Self {
            manager,
            batch,
            horizon,
        }
    }

    /// One batch of the leased segment, in a transaction holding the worker's count `FOR SHARE`.
    async fn step(&self, lease: &mut Lease, since: Instant) -> Result<Step, RunnerError> {
        let worker = self.manager.name();
        let segment = lease.segment;
        let mut tx = sqlx::Connection::begin(&mut lease.conn).await?;
        let count: Option<i32> =
            sqlx::query_scalar("SELECT segments FROM worker_segments WHERE worker = $1 FOR SHARE")
                .bind(worker)
                .fetch_optional(&mut *tx)
                .await?;
        if count.unwrap_or(1) != segment.count {
            return Ok(Step::Resegmented);
        }
        let name = segment.checkpoint_name(worker);
        let (cp, fresh) = match runner::find_checkpoint(&mut tx, &name).await? {
            Some(cp) => (cp, false),
            None => (
                initial_checkpoint(&mut tx, worker, segment.count).await?,
                true,
            ),
        };
        let (events, bound) = runner::read_segment_batch(
            &mut tx,
            Bound::SharedSince(&self.horizon, since),
            cp,
            self.batch,
            self.manager.aggregate_types(),
            Some((segment, self.manager.broadcast_types())),
        )
        .await?;
        lease.bound = bound;
        let reached = match events.last() {
            Some(last) => {
                use tracing::Instrument as _;
                let span = tracing::info_span!(
                    parent: None,
                    "catch_up",
                    consumer = worker,
                    segment = segment.index,
                    segments = segment.count,
                    events = events.len(),
                    from_position = events.first().map(|e| e.position).unwrap_or_default(),
                );
                self.manager
                    .handle_in_segment(&mut tx, &events, segment)
                    .instrument(span)
                    .await
                    .map_err(|source| RunnerError::Projection {
                        name: worker,
                        position: events.first().map(|e| e.position).unwrap_or_default(),
                        source,
                    })?;
                Some(Checkpoint {
                    transaction_id: last.transaction_id,
                    position: last.position,
                })
            }
            // A new segment's start is kept, so that it does not move with the other counts' checkpoints.
            None => fresh.then_some(cp),
        };
        if let Some(reached) = reached {
            runner::save_checkpoint(&mut tx, &name, reached).await?;
        }
        tx.commit().await?;
        Ok(Step::Applied(events.len()))
    }

    /// Looks at the count, the nodes present and the free segments: drops segments of an old count, gives
    /// back what is over this node's share, takes free segments up to it. True when it took one.
    async fn balance(
        &self,
        pool: &PgPool,
        presence: &Presence,
        leases: &mut Vec<Lease>,
        spare: &mut Option<PgConnection>,
    ) -> Result<bool, RunnerError> {
        let worker = self.manager.name();
        let segments = count(pool, worker).await?;
        if leases.iter().any(|l| l.segment.count != segments) {
            for lease in leases.drain(..) {
                lease.release(worker).await;
            }
        }
        let nodes = presence.live_nodes().await?;
        let share = usize::try_from(segments).unwrap_or(1).div_ceil(nodes);
        while leases.len() > share {
            if let Some(lease) = leases.pop() {
                tracing::info!(
                    worker,
                    segment = lease.segment.index,
                    "giving a segment back"
                );
                lease.release(worker).await;
            }
        }
        let mut took = false;
        if leases.len() < share {
            let start = usize::try_from(presence.slot()).unwrap_or(0) * share;
            for i in 0..segments {
                let index = ((start + usize::try_from(i).unwrap_or(0))
                    % usize::try_from(segments).unwrap_or(1)) as i32;
                let segment = Segment {
                    index,
                    count: segments,
                };
                if leases.iter().any(|l| l.segment == segment) {
                    continue;
                }
                let mut conn = match spare.take() {
                    Some(c) => c,
                    None => PgConnection::connect_with(&pool.connect_options()).await?,
                };
                if runner::try_lead(&mut conn, segment.lock_key(worker)).await? {
                    tracing::info!(worker, segment = index, segments, "leading a segment");
                    leases.push(Lease {
                        segment,
                        conn,
                        bound: None,
                    });
                    took = true;
                    if leases.len() >= share {
                        break;
                    }
                } else {
                    *spare = Some(conn);
                }
            }
        }
        metrics::gauge!("cabinet_worker_segments_held", "worker" => worker)
            .set(leases.len() as f64);
        metrics::gauge!("cabinet_worker_segments", "worker" => worker).set(f64::from(segments));
        Ok(took)
    }

    /// Runs until `shutdown` turns true: keeps this node's share of the segments, and catches each up
    /// whenever `NOTIFY` says there is news of the worker's types, and at least every `poll`. Any error ends
    /// the run and closes every connection (the leases go with them); the caller restarts it.
    ///
    /// # Errors
    /// A database or projection error.
    pub async fn run(
        self,
        pool: PgPool,
        presence: Arc<Presence>,
        poll: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), RunnerError> {
        let worker = self.manager.name();
        let types = self.manager.aggregate_types();
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(EVENTS_CHANNEL).await?;
        let mut leases: Vec<Lease> = Vec::new();
        let mut spare: Option<PgConnection> = None;
        let mut next_balance = Instant::now();
        let mut last_step = Instant::now();
        let mut due = true;
        let mut woke = Instant::now();
        // The latest notified transaction of the worker's types that a read's horizon has not yet passed:
        // any append may be the one that lets it through, so every notification wakes the worker.
        let mut held_back: Option<i64> = None;
        let result = loop {
            if Instant::now() >= next_balance {
                match self
                    .balance(&pool, &presence, &mut leases, &mut spare)
                    .await
                {
                    Ok(took) => due |= took,
                    Err(e) => break Err(e),
                }
                next_balance = Instant::now() + BALANCE_EVERY;
            }
            if due || last_step.elapsed() >= poll {
                // One batch of each segment at a time, so that the node looks at the others between them
                // (a business day is a long batch): a full batch means more is waiting.
                let since = woke;
                let steps = futures::future::join_all(
                    leases.iter_mut().map(|lease| self.step(lease, since)),
                )
                .await;
                let mut resegmented = false;
                let mut more = false;
                let mut failed = None;
                for step in steps {
                    match step {
                        Ok(Step::Resegmented) => resegmented = true,
                        Ok(Step::Applied(n)) => more |= n as i64 >= self.batch,
                        Err(e) => failed = Some(e),
                    }
                }
                if let Some(e) = failed {
                    break Err(e);
                }
                if resegmented {
                    for lease in leases.drain(..) {
                        lease.release(worker).await;
                    }
                    next_balance = Instant::now();
                    continue;
                }
                if more {
                    woke = Instant::now();
                    continue;
                }
                let lowest = leases.iter().filter_map(|l| l.bound).min();
                if held_back.is_some_and(|t| lowest.is_some_and(|b| t < b)) {
                    held_back = None;
                }
                last_step = Instant::now();
                due = false;
            }
            let until = next_balance.min(last_step + poll);
            // Appends following closely are taken in the same batch (`COALESCE`).
            match runner::wait_notified(
                &mut listener,
                &mut shutdown,
                types,
                runner::COALESCE,
                held_back.is_some(),
                until.into(),
            )
            .await
            {
                Err(e) => break Err(e.into()),
                Ok(Woken::Stop) => break Ok(()),
                Ok(Woken::Poll) => {}
                Ok(Woken::Notified(at)) => {
                    due = true;
                    if let Some(at) = at {
                        held_back = held_back.max(Some(at.transaction_id));
                    }
                    woke = Instant::now();
                }
            }
        };
        for lease in leases.drain(..) {
            lease.release(worker).await;
        }
        if let Some(c) = spare {
            let _ = c.close().await;
        }
        result
    }

    /// Catches every segment up once, now, unless a node runs the worker: takes every segment's lease
    /// without waiting, applies batches until none is left, and gives them back. Returns the events applied,
    /// or `None` when a node holds a segment (it will do the work).
    ///
    /// # Errors
    /// A database or projection error.
    pub async fn run_once(&self, pool: &PgPool) -> Result<Option<usize>, RunnerError> {
        let worker = self.manager.name();
        let segments = count(pool, worker).await?;
        let mut leases = Vec::new();
        for segment in Segment::all(segments) {
            let mut conn = PgConnection::connect_with(&pool.connect_options()).await?;
            if !runner::try_lead(&mut conn, segment.lock_key(worker)).await? {
                let _ = conn.close().await;
                for lease in leases {
                    Lease::release(lease, worker).await;
                }
                return Ok(None);
            }
            leases.push(Lease {
                segment,
                conn,
                bound: None,
            });
        }
        let mut total = 0;
        let mut result = Ok(());
        'segments: for lease in &mut leases {
            loop {
                match self.step(lease, Instant::now()).await {
                    Ok(Step::Applied(0)) => break,
                    Ok(Step::Applied(n)) => total += n,
                    Ok(Step::Resegmented) => break 'segments,
                    Err(e) => {
                        result = Err(e);
                        break 'segments;
                    }
                }
            }
        }
        for lease in leases {
            lease.release(worker).await;
        }
        result.map(|()| Some(total))
    }
}

/// Position and lag of each projection: inline ones are current by construction; catch-up ones by their
/// checkpoint.
///
/// # Errors
/// A database error.
pub async fn status(
    pool: &PgPool,
    inline: &[Arc<dyn ReadModel>],
    catch_up: &[&str],
) -> Result<Vec<ProjectionStatus>, sqlx::Error> {
    let head: i64 = sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
        .fetch_one(pool)
        .await?;
    let mut out: Vec<ProjectionStatus> = inline
        .iter()
        .map(|p| ProjectionStatus {
            name: p.name().to_owned(),
            driver: "inline",
            position: head,
            lag: 0,
        })
        .collect();
    for name in catch_up {
        // A worker in segments has a line per segment (`<worker>#<i>/<n>`).
        let count = count(pool, name).await?;
        for segment in Segment::all(count) {
            let cp = position(pool, name, segment).await?;
            let lag: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM event_log WHERE (transaction_id, position) > ($1::bigint::text::xid8, $2)",
            )
            .bind(cp.transaction_id)
            .bind(cp.position)
            .fetch_one(pool)
            .await?;
            out.push(ProjectionStatus {
                name: segment.checkpoint_name(name),
                driver: "catch-up",
                position: cp.position,
                lag,
            });
        }
    }
    Ok(out)
}
