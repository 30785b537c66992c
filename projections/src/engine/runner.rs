//! Catch-up: replaying the log in global order for consumers outside the append transaction, for rebuilds
//! and for verification.
//!
//! Global order is `(transaction_id, position)` restricted to transaction ids below the commit horizon
//! ([`crate::engine::horizon`]): every appending transaction below it has finished, so an event whose
//! transaction commits late is delivered when it commits, after the events of earlier transactions, and is
//! never skipped.
//! Because the events INSERT is the first write of every append transaction, this order agrees with each
//! aggregate's own sequence order. It is the same order on every replay.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sqlx::postgres::PgListener;
use sqlx::{Acquire, PgConnection, PgPool};

use crate::engine::error::ProjectionError;
use crate::engine::horizon;
use crate::engine::process_manager::ProcessManager;
use crate::engine::read_model::ReadModel;
use crate::store::event::{StoredEvent, EVENT_COLUMNS};
use crate::store::event_store::EVENTS_CHANNEL;

/// A point in the global order: the last event applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Checkpoint {
    /// Transaction id of the last event applied.
    pub transaction_id: i64,
    /// Its position.
    pub position: i64,
}

/// The batch read after (`$1`, `$2`), `$3` at a time, in global order, of the aggregate types `$4` (NULL:
/// all); with `below_horizon_only`, `$5` is the commit horizon read just before and keeps it to finished
/// transactions. The type filter is applied while walking the commit-order index, so a projection never
/// decodes events it ignores.
///
/// With `segmented` (a segment's read, always below the horizon), `$6` is the segment, `$7` the count and
/// `$8` the aggregate types every segment reads: an event belongs to the segment of its aggregate id
/// (`event_segment`, migration 0032), so each aggregate's events stay in one segment, in order.
fn batch_sql(below_horizon_only: bool, segmented: bool) -> String {
    let horizon = if below_horizon_only {
        format!("AND {}", horizon::below("transaction_id", 5))
    } else {
        String::new()
    };
    let segment = if segmented {
        "AND (aggregate_type = ANY($8) OR event_segment(aggregate_id, $7) = $6)"
    } else {
        ""
    };
    format!(
        "SELECT {EVENT_COLUMNS} FROM event_log \
         WHERE (transaction_id, position) > ($1::bigint::text::xid8, $2) {horizon} \
           AND ($4::text[] IS NULL OR aggregate_type = ANY($4)) {segment} \
         ORDER BY transaction_id, position LIMIT $3"
    )
}

/// The catch-up read: the next `$3` events after (`$1`, `$2`) of the types `$4` below the horizon `$5`, in
/// global order.
pub fn catch_up_sql() -> String {
    batch_sql(true, false)
}

/// Which bound a batch read keeps to.
#[derive(Clone, Copy)]
pub(crate) enum Bound<'a> {
    /// None: verify's snapshot, or rebuild's swap under the tables' locks.
    Committed,
    /// The horizon, read now.
    Horizon,
    /// The horizon, from a read of the process's shared reader that started at or after the instant.
    SharedSince(&'a horizon::Shared, std::time::Instant),
}

async fn read_batch(
    conn: &mut PgConnection,
    bound: Bound<'_>,
    after: Checkpoint,
    limit: i64,
    types: Option<&[&str]>,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    Ok(read_segment_batch(conn, bound, after, limit, types, None)
        .await?
        .0)
}

/// [`read_batch`] of one segment (`None`: the whole log); also returns the horizon the read kept below.
pub(crate) async fn read_segment_batch(
    conn: &mut PgConnection,
    bound: Bound<'_>,
    after: Checkpoint,
    limit: i64,
    types: Option<&[&str]>,
    segment: Option<(crate::engine::process_manager::Segment, &[&str])>,
) -> Result<(Vec<StoredEvent>, Option<i64>), sqlx::Error> {
    // The horizon is read in a statement of its own, before the batch's (ADR 0014).
    let (below_horizon, bound) = match bound {
        Bound::Committed => (false, None),
        Bound::Horizon => (true, Some(horizon::read(&mut *conn).await?)),
        Bound::SharedSince(shared, since) => {
            (true, Some(shared.read_since(&mut *conn, since).await?))
        }
    };
    debug_assert!(
        segment.is_none() || below_horizon,
        "a segment reads below the horizon"
    );
    let sql = batch_sql(below_horizon, segment.is_some());
    let mut query = sqlx::query(&sql)
        .bind(after.transaction_id)
        .bind(after.position)
        .bind(limit)
        .bind(types.map(|t| t.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>()));
    if let Some(bound) = bound {
        query = query.bind(bound);
    }
    if let Some((segment, every)) = segment {
        query = query.bind(segment.index).bind(segment.count).bind(
            every
                .iter()
                .map(|s| (*s).to_owned())
                .collect::<Vec<String>>(),
        );
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let mut events = rows
        .iter()
        .map(StoredEvent::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    // Personal values opened for the read models and process managers (ADR 0016).
    crate::store::event::open_events(conn, &mut events).await?;
    Ok((events, bound))
}

/// Reads the next batch after `after` of the aggregate `types` (None: all), only from finished transactions
/// (below the commit horizon).
///
/// # Errors
/// A database error.
pub async fn fetch_batch(
    conn: &mut PgConnection,
    after: Checkpoint,
    limit: i64,
    types: Option<&[&str]>,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    read_batch(conn, Bound::Horizon, after, limit, types).await
}

/// Reads the next `limit` events after `after` that this statement's snapshot sees, without the xmin
/// horizon. Correct only where nothing earlier can still commit: inside verify's REPEATABLE READ snapshot
/// (compared with tables of the same snapshot), or while rebuild's swap holds the tables' locks.
async fn fetch_committed_after(
    conn: &mut PgConnection,
    after: Checkpoint,
    limit: i64,
    types: Option<&[&str]>,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    read_batch(conn, Bound::Committed, after, limit, types).await
}

/// Applies every event after `cp` that `fetch_committed_after` sees, a batch at a time; returns the new
/// checkpoint and how many events were applied.
async fn apply_committed_after(
    conn: &mut PgConnection,
    p: &dyn ReadModel,
    mut cp: Checkpoint,
    batch: i64,
) -> Result<(Checkpoint, u64), RunnerError> {
    let mut applied = 0u64;
    loop {
        let events = fetch_committed_after(conn, cp, batch, p.aggregate_types()).await?;
        let Some(last) = events.last() else {
            return Ok((cp, applied));
        };
        cp = Checkpoint {
            transaction_id: last.transaction_id,
            position: last.position,
        };
        apply_all(conn, p, &events).await?;
        applied += events.len() as u64;
    }
}

/// Loads a consumer's checkpoint (zero when it never ran).
///
/// # Errors
/// A database error.
pub async fn load_checkpoint(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Checkpoint, sqlx::Error> {
    Ok(find_checkpoint(conn, name).await?.unwrap_or_default())
}

/// A consumer's checkpoint, `None` when it never ran.
pub(crate) async fn find_checkpoint(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Option<Checkpoint>, sqlx::Error> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, position FROM projection_checkpoints WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(transaction_id, position)| Checkpoint {
        transaction_id,
        position,
    }))
}

pub(crate) async fn save_checkpoint(
    conn: &mut PgConnection,
    name: &str,
    cp: Checkpoint,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO projection_checkpoints (name, transaction_id, position) VALUES ($1, $2::bigint::text::xid8, $3) \
         ON CONFLICT (name) DO UPDATE SET transaction_id = EXCLUDED.transaction_id, position = EXCLUDED.position, \
         updated_at = clock_timestamp()",
    )
    .bind(name)
    .bind(cp.transaction_id)
    .bind(cp.position)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Why a catch-up step failed.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// A database error.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A read model whose tables other tables reference cannot be swapped by a rebuild.
    #[error(
        "read model {0} is referenced by other tables and is never rebuilt (verify checks it)"
    )]
    NotReplaceable(&'static str),
    /// The read model or process manager failed on an event.
    #[error("projection {name} failed at position {position}: {source}")]
    Projection {
        /// The projection.
        name: &'static str,
        /// The event's position.
        position: i64,
        /// The cause.
        #[source]
        source: ProjectionError,
    },
}

async fn apply_all(
    conn: &mut PgConnection,
    p: &dyn ReadModel,
    events: &[StoredEvent],
) -> Result<(), RunnerError> {
    if events.is_empty() {
        return Ok(());
    }
    p.apply_batch(conn, events)
        .await
        .map_err(|source| RunnerError::Projection {
            name: p.name(),
            position: events.first().map(|e| e.position).unwrap_or_default(),
            source,
        })
}

/// What a catch-up consumer feeds: a read model (its tables) or a process manager (its effects).
#[derive(Clone)]
pub enum Consumer {
    /// A read model fed outside the append transaction.
    ReadModel(Arc<dyn ReadModel>),
    /// A process manager.
    ProcessManager(Arc<dyn ProcessManager>),
}

impl Consumer {
    /// The consumer's name (its checkpoint and its leadership lock).
    pub fn name(&self) -> &'static str {
        match self {
            Self::ReadModel(m) => m.name(),
            Self::ProcessManager(p) => p.name(),
        }
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        match self {
            Self::ReadModel(m) => m.aggregate_types(),
            Self::ProcessManager(p) => p.aggregate_types(),
        }
    }

    async fn consume(
        &self,
        conn: &mut PgConnection,
        events: &[StoredEvent],
    ) -> Result<(), RunnerError> {
        match self {
            Self::ReadModel(m) => apply_all(conn, m.as_ref(), events).await,
            Self::ProcessManager(p) => {
                p.handle_batch(conn, events)
                    .await
                    .map_err(|source| RunnerError::Projection {
                        name: p.name(),
                        position: events.first().map(|e| e.position).unwrap_or_default(),
                        source,
                    })
            }
        }
    }
}

/// A catch-up consumer: feeds one read model or process manager from the log in global order,
/// checkpointing in the same transaction as its effects.
pub struct CatchUp {
    consumer: Consumer,
    batch: i64,
    horizon: Option<Arc<horizon::Shared>>,
}

impl CatchUp {
    /// A consumer for `consumer`, reading `batch` events per transaction.
    pub fn new(consumer: Consumer, batch: i64) -> Self {
        Self {
            consumer,
            batch,
            horizon: None,
        }
    }

    /// Shares horizon reads with the other consumers of the process woken by the same notification
    /// ([`horizon::Shared`]; one per database).
    pub fn with_shared_horizon(mut self, shared: Arc<horizon::Shared>) -> Self {
        self.horizon = Some(shared);
        self
    }

    /// A read model fed by catch-up, `batch` events per transaction.
    pub fn read_model(model: Arc<dyn ReadModel>, batch: i64) -> Self {
        Self::new(Consumer::ReadModel(model), batch)
    }

    /// A catch-up process manager, `batch` events per transaction.
    pub fn process_manager(manager: Arc<dyn ProcessManager>, batch: i64) -> Self {
        Self::new(Consumer::ProcessManager(manager), batch)
    }

    /// Applies one batch; returns how many events it applied (0: caught up).
    ///
    /// # Errors
    /// A database or projection error; the batch's transaction is rolled back, checkpoint included.
    pub async fn step(&self, conn: &mut PgConnection) -> Result<usize, RunnerError> {
        Ok(self.step_since(conn, std::time::Instant::now()).await?.0)
    }

    /// [`CatchUp::step`], below a horizon read that started at or after `since` (shared with the other
    /// consumers woken at the same moment when the consumer has a shared reader).
    async fn step_since(
        &self,
        conn: &mut PgConnection,
        since: std::time::Instant,
    ) -> Result<(usize, Checkpoint), RunnerError> {
        let mut tx = conn.begin().await?;
        let name = self.consumer.name();
        let cp = load_checkpoint(&mut tx, name).await?;
        let bound = match &self.horizon {
            Some(shared) => Bound::SharedSince(shared, since),
            None => Bound::Horizon,
        };
        let events = read_batch(
            &mut tx,
            bound,
            cp,
            self.batch,
            self.consumer.aggregate_types(),
        )
        .await?;
        if let Some(last) = events.last() {
            use tracing::Instrument as _;
            // A trace of its own per batch (a worker runs for days; one span would never end).
            let span = tracing::info_span!(
                parent: None,
                "catch_up",
                consumer = name,
                events = events.len(),
                from_position = events.first().map(|e| e.position).unwrap_or_default(),
                correlation_id = events
                    .first()
                    .and_then(|e| e.metadata.get("correlation_id"))
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default(),
            );
            self.consumer
                .consume(&mut tx, &events)
                .instrument(span)
                .await?;
            save_checkpoint(
                &mut tx,
                name,
                Checkpoint {
                    transaction_id: last.transaction_id,
                    position: last.position,
                },
            )
            .await?;
        }
        tx.commit().await?;
        let reached = events.last().map_or(cp, |last| Checkpoint {
            transaction_id: last.transaction_id,
            position: last.position,
        });
        Ok((events.len(), reached))
    }

    /// Runs until `shutdown` resolves: waits to become the leader (a session advisory lock keyed by the
    /// consumer's name on a connection of its own, so one node at a time runs it and any node takes over
    /// when the leader's connection dies), then applies batches on that connection whenever `NOTIFY` says
    /// there is news, and at least every `poll`. Any error ends the run and closes the connection (the lock
    /// goes with it); the caller restarts it.
    ///
    /// # Errors
    /// A database error that persists (the caller logs it and may restart the consumer).
    pub async fn run(
        self,
        pool: PgPool,
        poll: Duration,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), RunnerError> {
        let mut shutdown = shutdown;
        let Some(mut leader) = Leadership::acquire(
            &pool,
            self.consumer.name(),
            EVENTS_CHANNEL,
            poll,
            &mut shutdown,
        )
        .await?
        else {
            return Ok(());
        };
        let mut woke = std::time::Instant::now();
        // The latest notified event of the consumer's types not applied yet (the horizon held it back).
        let mut pending: Option<Checkpoint> = None;
        loop {
            // A short batch means caught up to the horizon: no further read until the next wake (an
            // appender that held the horizon back notifies when it commits, and `poll` bounds the rest).
            let mut since = woke;
            let reached = loop {
                let (applied, reached) = self.step_since(leader.conn(), since).await?;
                if (applied as i64) < self.batch {
                    break reached;
                }
                since = std::time::Instant::now();
            };
            if pending.is_some_and(|p| reached >= p) {
                pending = None;
            }
            match leader
                .wait_for(
                    &mut shutdown,
                    self.consumer.aggregate_types(),
                    COALESCE,
                    pending.is_some(),
                )
                .await?
            {
                Woken::Stop => break,
                Woken::Poll | Woken::Notified(None) => {}
                Woken::Notified(Some(at)) => pending = pending.max(Some(at)),
            }
            woke = std::time::Instant::now();
        }
        leader.release().await;
        Ok(())
    }

    /// Catches up once, now, if no other node is running this consumer: takes its advisory lock without
    /// waiting, applies batches until none is left, and releases the lock. Returns the events applied, or
    /// `None` when another node holds the consumer (it will do the work).
    ///
    /// # Errors
    /// A database or projection error.
    pub async fn run_once(&self, pool: &PgPool) -> Result<Option<usize>, RunnerError> {
        // A connection of its own: closed however this ends, it takes the lock with it.
        let mut conn = pool.acquire().await?.detach();
        let key = advisory_key(self.consumer.name());
        if !try_lead(&mut conn, key).await? {
            return Ok(None);
        }
        let mut total = 0;
        let result = loop {
            match self.step(&mut conn).await {
                Ok(0) => break Ok(Some(total)),
                Ok(n) => total += n,
                Err(e) => break Err(e),
            }
        };
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(key)
            .execute(&mut conn)
            .await?;
        result
    }
}

/// The leadership of a named worker across nodes: a session advisory lock keyed by the name, held on a
/// connection of its own (never a pooled one), with a LISTEN on the worker's channel to wake it.
///
/// The connection is the fence: the leader does its work through [`Leadership::conn`], so once its session
/// is gone (terminated, the server restarted) none of its writes can land, and the worker fails and is
/// restarted. Dropping a `Leadership` — on any error, or when its task is cancelled — closes the connection,
/// and the server releases the lock with the session, so another node (or this one, restarted) takes over;
/// a lock is never left behind on a connection that lives on in a pool.
pub struct Leadership {
    conn: PgConnection,
    listener: PgListener,
    key: i64,
    poll: Duration,
}

impl Leadership {
    /// Waits until this node leads `name` (trying every `poll`); `None` when `shutdown` turns true first.
    ///
    /// # Errors
    /// A database error.
    pub async fn acquire(
        pool: &PgPool,
        name: &str,
        channel: &str,
        poll: Duration,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<Option<Self>, sqlx::Error> {
        use sqlx::Connection;
        let mut conn = PgConnection::connect_with(&pool.connect_options()).await?;
        let key = advisory_key(name);
        while !try_lead(&mut conn, key).await? {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => return Ok(None),
            }
        }
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(channel).await?;
        tracing::info!(name, "leading");
        Ok(Some(Self {
            conn,
            listener,
            key,
            poll,
        }))
    }

    /// The connection holding the lock: the leader's effects go through it.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    /// Waits for a notification on the channel or `poll`; false when `shutdown` turned true.
    ///
    /// # Errors
    /// The LISTEN connection failed (the worker restarts and listens again).
    pub async fn wait(
        &mut self,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<bool, sqlx::Error> {
        Ok(self.wait_for(shutdown, None, Duration::ZERO, true).await? != Woken::Stop)
    }

    /// [`Leadership::wait`] for appends of the aggregate `types` only (`None`: any): a notification of the
    /// events channel names the appended transaction, position and aggregate type
    /// (`<transaction id>/<position>:<type>`), and appends of other types are let pass — unless `any`: the
    /// consumer still waits for a notified event of its own that the horizon held back, and whichever append
    /// comes next may be the one that lets it through. After a wake it lets `coalesce` pass, so that appends
    /// following closely are taken in the same batch (under load a consumer then reads the horizon once for
    /// many commands instead of once for each), and takes the notifications that came meanwhile: the step
    /// after the wake reads past them.
    ///
    /// # Errors
    /// The LISTEN connection failed (the worker restarts and listens again).
    pub async fn wait_for(
        &mut self,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
        types: Option<&[&str]>,
        coalesce: Duration,
        any: bool,
    ) -> Result<Woken, sqlx::Error> {
        let deadline = tokio::time::Instant::now() + self.poll;
        wait_notified(&mut self.listener, shutdown, types, coalesce, any, deadline).await
    }

    /// Gives the leadership up (closing the connection releases the lock even if the unlock fails).
    pub async fn release(mut self) {
        use sqlx::Connection;
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.key)
            .execute(&mut self.conn)
            .await;
        let _ = self.conn.close().await;
    }
}

/// [`Leadership::wait_for`] on `listener` until `deadline`: shared by the leaders and the segments
/// ([`crate::engine::segments`]).
pub(crate) async fn wait_notified(
    listener: &mut PgListener,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
    types: Option<&[&str]>,
    coalesce: Duration,
    any: bool,
    deadline: tokio::time::Instant,
) -> Result<Woken, sqlx::Error> {
    let mut notified = loop {
        tokio::select! {
            r = listener.recv() => {
                let n = r?;
                let (concerns, at) = notice(n.payload(), types);
                if concerns || any {
                    break at.filter(|_| concerns);
                }
            }
            _ = tokio::time::sleep_until(deadline) => return Ok(Woken::Poll),
            _ = shutdown.changed() => return Ok(Woken::Stop),
        }
    };
    if !coalesce.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(coalesce) => {}
            _ = shutdown.changed() => return Ok(Woken::Stop),
        }
    }
    while let Some(n) = listener.next_buffered() {
        if let (true, Some(at)) = notice(n.payload(), types) {
            notified = notified.max(Some(at));
        }
    }
    Ok(Woken::Notified(notified))
}

/// Whether a notification of the events channel (`<transaction id>/<position>:<type>`) concerns a
/// consumer of `types`, and the appended event's place; one in another shape always concerns it.
fn notice(payload: &str, types: Option<&[&str]>) -> (bool, Option<Checkpoint>) {
    let Some((at, appended)) = payload.split_once(':') else {
        return (true, None);
    };
    let at = at.split_once('/').and_then(|(t, p)| {
        Some(Checkpoint {
            transaction_id: t.parse().ok()?,
            position: p.parse().ok()?,
        })
    });
    (types.is_none_or(|types| types.contains(&appended)), at)
}

/// Why a leader's wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// Shutdown.
    Stop,
    /// The poll interval passed.
    Poll,
    /// A notification; with the place of the latest notified event of the consumer's types, when known.
    Notified(Option<Checkpoint>),
}

/// How long a catch-up consumer lets pass after a wake before it reads (see [`Leadership::wait_for`]).
pub const COALESCE: Duration = Duration::from_millis(20);

/// Takes the consumer's leadership (a session advisory lock) if no other node holds it.
pub(crate) async fn try_lead(conn: &mut PgConnection, key: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(&mut *conn)
        .await
}

/// The advisory-lock key of a consumer.
pub fn advisory_key(name: &str) -> i64 {
    crate::postgres::db::lock_key(&format!("cabinet-consumer:{name}"))
}

// ---------------------------------------------------------------------------------------------------------
// Rebuild and verify

async fn set_search_path(conn: &mut PgConnection, schema: &str) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "SET search_path = {}, public",
        crate::postgres::db::quote_ident(schema)
    ))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Creates `schema.table` shaped like `public.table`: columns, defaults, checks, and every constraint and
/// index under its original name (so constraint names mapped to errors keep working after a swap).
async fn create_scratch_table(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
) -> Result<(), sqlx::Error> {
    let q = crate::postgres::db::quote_ident;
    sqlx::query(&format!(
        "CREATE TABLE {}.{} (LIKE public.{} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING IDENTITY)",
        q(schema),
        q(table),
        q(table)
    ))
    .execute(&mut *conn)
    .await?;
    // Definitions fully qualified: read them with an empty search_path.
    sqlx::query("SET LOCAL search_path = pg_catalog")
        .execute(&mut *conn)
        .await?;
    let constraints: Vec<(String, String)> = sqlx::query_as(
        "SELECT conname::text, pg_get_constraintdef(c.oid) FROM pg_constraint c \
         WHERE conrelid = ('public.' || quote_ident($1))::regclass AND contype IN ('p', 'u', 'x') ORDER BY conname",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i \
         WHERE i.indrelid = ('public.' || quote_ident($1))::regclass \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("SET LOCAL search_path = public")
        .execute(&mut *conn)
        .await?;
    for (name, def) in constraints {
        sqlx::query(&format!(
            "ALTER TABLE {}.{} ADD CONSTRAINT {} {}",
            q(schema),
            q(table),
            q(&name),
            def
        ))
        .execute(&mut *conn)
        .await?;
    }
    let from = format!(" ON public.{table} ");
    let to = format!(" ON {}.{} ", q(schema), q(table));
    for def in indexes {
        sqlx::query(&def.replacen(&from, &to, 1))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// What a rebuild did.
#[derive(Debug, Clone, Serialize)]
pub struct RebuildReport {
    /// Projection name.
    pub projection: &'static str,
    /// Events replayed in the bulk phase and during the swap.
    pub events: u64,
    /// Seconds taken.
    pub seconds: f64,
}

/// How long the swap waits for the live tables' lock at a time, and how often it asks.
const SWAP_LOCK_TIMEOUT: Duration = Duration::from_secs(2);
const SWAP_ATTEMPTS: u32 = 15;

/// Replays the whole log into fresh copies of the projection's tables and swaps them in.
///
/// The bulk of the log is replayed without blocking writers. Then, in one transaction, the live tables are
/// locked (writers that touch them wait), the events committed meanwhile are applied to the copies, the live
/// tables are dropped and the copies moved into `public`. A writer that was waiting then writes into the new
/// tables; no event committed during the rebuild is lost.
///
/// # Errors
/// A database or projection error; the live tables are untouched unless the final transaction commits.
pub async fn rebuild(
    pool: &PgPool,
    p: &dyn ReadModel,
    batch: i64,
) -> Result<RebuildReport, RunnerError> {
    rebuild_swapping_alone(pool, p, batch, &tokio::sync::Mutex::new(())).await
}

/// [`rebuild`], whose swap waits for `swaps`: rebuilds run side by side swap one at a time (a swap drops
/// and restores the views over the live tables, and views such as the analysts' span several read models:
/// two swaps at once could lock them in opposite orders).
async fn rebuild_swapping_alone(
    pool: &PgPool,
    p: &dyn ReadModel,
    batch: i64,
    swaps: &tokio::sync::Mutex<()>,
) -> Result<RebuildReport, RunnerError> {
    let started = std::time::Instant::now();
    if !p.replaceable() {
        return Err(RunnerError::NotReplaceable(p.name()));
    }
    // A replay needs the whole history (archived partitions included, ADR 0029).
    crate::store::partitions::require_whole_history(pool).await?;
    let schema = format!("rebuild_{}", p.name());
    let q = crate::postgres::db::quote_ident;
    // Detached: the connection's search_path points at the scratch schema; on any error it is closed rather
    // than returned to the pool.
    let mut conn = pool.acquire().await?.detach();
    // A rebuild reads the whole log: no statement timeout on its own connection.
    sqlx::query("SET statement_timeout = 0")
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", q(&schema)))
        .execute(&mut conn)
        .await?;
    {
        let mut tx = conn.begin().await?;
        sqlx::query(&format!("CREATE SCHEMA {}", q(&schema)))
            .execute(&mut *tx)
            .await?;
        for t in p.tables() {
            create_scratch_table(&mut tx, &schema, t).await?;
        }
        tx.commit().await?;
    }
    set_search_path(&mut conn, &schema).await?;
    let mut cp = Checkpoint::default();
    let mut events = 0u64;
    loop {
        let mut tx = conn.begin().await?;
        let batch_events = fetch_batch(&mut tx, cp, batch, p.aggregate_types()).await?;
        let Some(last) = batch_events.last() else {
            tx.commit().await?;
            break;
        };
        cp = Checkpoint {
            transaction_id: last.transaction_id,
            position: last.position,
        };
        apply_all(&mut tx, p, &batch_events).await?;
        events += batch_events.len() as u64;
        tx.commit().await?;
    }
    let _alone = swaps.lock().await;
    // Swap. The live tables' lock is asked for with a short lock timeout, and asked again after a pause
    // when it times out: a long reader of the live tables delays the swap, while writers never queue for
    // long behind a waiting ACCESS EXCLUSIVE request.
    let mut attempt = 0;
    let mut tx = loop {
        attempt += 1;
        let mut tx = conn.begin().await?;
        sqlx::query(&format!(
            "SET LOCAL lock_timeout = '{}ms'",
            SWAP_LOCK_TIMEOUT.as_millis()
        ))
        .execute(&mut *tx)
        .await?;
        let live: Vec<String> = p
            .tables()
            .iter()
            .map(|t| format!("public.{}", q(t)))
            .collect();
        match sqlx::query(&format!(
            "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            live.join(", ")
        ))
        .execute(&mut *tx)
        .await
        {
            Ok(_) => break tx,
            Err(sqlx::Error::Database(db))
                if db.code().as_deref() == Some("55P03") && attempt < SWAP_ATTEMPTS =>
            {
                tx.rollback().await?;
                tracing::warn!(
                    projection = p.name(),
                    attempt,
                    "the live tables are busy; the swap waits"
                );
                tokio::time::sleep(SWAP_LOCK_TIMEOUT * attempt).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    // Everything committed since the bulk phase (a long transaction elsewhere may have held the horizon
    // back), in bounded batches.
    let (_, rest) = apply_committed_after(&mut tx, p, cp, batch).await?;
    events += rest;
    // Views on the live tables (the analysts' schema) and the tables' grants and comments move over.
    let dependents = crate::engine::dependents::Dependents::read(&mut tx, p.tables()).await?;
    dependents.drop_views(&mut tx).await?;
    for t in p.tables() {
        sqlx::query(&format!("DROP TABLE public.{}", q(t)))
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "ALTER TABLE {}.{} SET SCHEMA public",
            q(&schema),
            q(t)
        ))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(&format!("DROP SCHEMA {} CASCADE", q(&schema)))
        .execute(&mut *tx)
        .await?;
    dependents.restore(&mut tx).await?;
    tx.commit().await?;
    Ok(RebuildReport {
        projection: p.name(),
        events,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Rebuilds several read models, `parallel` at a time (each on its own connection, reading the log for its
/// own aggregate types; read models share no tables, so their rebuilds are independent). Reports come in
/// the order given; the first failure is returned after the others finish.
///
/// # Errors
/// As [`rebuild`].
pub async fn rebuild_all(
    pool: &PgPool,
    models: &[Arc<dyn ReadModel>],
    batch: i64,
    parallel: usize,
) -> Result<Vec<RebuildReport>, RunnerError> {
    use futures::StreamExt;
    let swaps = tokio::sync::Mutex::new(());
    let results: Vec<(usize, Result<RebuildReport, RunnerError>)> =
        futures::stream::iter(models.iter().cloned().enumerate())
            .map(|(i, m)| {
                let swaps = &swaps;
                async move {
                    (
                        i,
                        rebuild_swapping_alone(pool, m.as_ref(), batch, swaps).await,
                    )
                }
            })
            .buffer_unordered(parallel.max(1))
            .collect()
            .await;
    let mut results = results;
    results.sort_by_key(|r| r.0);
    results.into_iter().map(|r| r.1).collect()
}

/// How many rebuilds run at once by default: one per core, at most four.
pub fn default_rebuild_parallelism() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
}

const VERIFY_BATCH: i64 = 5_000;

/// A difference between a live table and its replay.
#[derive(Debug, Clone, Serialize)]
pub struct TableDiff {
    /// Projection.
    pub projection: &'static str,
    /// Table.
    pub table: String,
    /// Rows in the live table that the replay does not produce.
    pub only_live: i64,
    /// Rows the replay produces that the live table lacks.
    pub only_replayed: i64,
    /// Up to five differing rows of each side, as JSON.
    pub samples: Vec<serde_json::Value>,
}

/// Replays the log into a scratch schema inside one REPEATABLE READ transaction and compares every table
/// with the live one as of the same snapshot (inline projections commit with their events, so the two must
/// be equal). Rolls back: nothing is left behind.
///
/// # Errors
/// A database or projection error.
pub async fn verify(
    pool: &PgPool,
    projections: &[Arc<dyn ReadModel>],
) -> Result<Vec<TableDiff>, RunnerError> {
    let q = crate::postgres::db::quote_ident;
    crate::store::partitions::require_whole_history(pool).await?;
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *tx)
        .await?;
    // It replays the whole log: no statement timeout. It holds no appender lock, so the commit horizon
    // (and with it every consumer) does not wait for it (ADR 0014).
    crate::postgres::db::no_statement_timeout(&mut tx).await?;
    let schema = format!("verify_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {}", q(&schema)))
        .execute(&mut *tx)
        .await?;
    let mut diffs = Vec::new();
    for p in projections {
        for t in p.tables() {
            create_scratch_table(&mut tx, &schema, t).await?;
        }
        sqlx::query(&format!("SET LOCAL search_path = {}, public", q(&schema)))
            .execute(&mut *tx)
            .await?;
        // Every event visible in this snapshot, in global order, a batch at a time.
        apply_committed_after(&mut tx, p.as_ref(), Checkpoint::default(), VERIFY_BATCH).await?;
        sqlx::query("SET LOCAL search_path = public")
            .execute(&mut *tx)
            .await?;
        for t in p.tables() {
            let live = format!("public.{}", q(t));
            let replay = format!("{}.{}", q(&schema), q(t));
            let count = |a: &str, b: &str| {
                format!("SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b}) d")
            };
            let only_live: i64 = sqlx::query_scalar(&count(&live, &replay))
                .fetch_one(&mut *tx)
                .await?;
            let only_replayed: i64 = sqlx::query_scalar(&count(&replay, &live))
                .fetch_one(&mut *tx)
                .await?;
            if only_live + only_replayed > 0 {
                let sample = |a: &str, b: &str, side: &str| {
                    format!(
                        "SELECT jsonb_build_object('side', '{side}', 'row', to_jsonb(d)) FROM \
                         (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b} LIMIT 5) d"
                    )
                };
                let mut samples: Vec<serde_json::Value> =
                    sqlx::query_scalar(&sample(&live, &replay, "live"))
                        .fetch_all(&mut *tx)
                        .await?;
                samples.extend(
                    sqlx::query_scalar::<_, serde_json::Value>(&sample(&replay, &live, "replayed"))
                        .fetch_all(&mut *tx)
                        .await?,
                );
                diffs.push(TableDiff {
                    projection: p.name(),
                    table: (*t).to_owned(),
                    only_live,
                    only_replayed,
                    samples,
                });
            }
        }
    }
    tx.rollback().await?;
    Ok(diffs)
}

/// One line of `projections status`.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectionStatus {
    /// Name.
    pub name: String,
    /// `inline` or `catch-up`.
    pub driver: &'static str,
    /// Position of the last event applied (inline: the log's head, by construction).
    pub position: i64,
    /// Events in the log after that position.
    pub lag: i64,
}
