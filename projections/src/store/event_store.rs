//! Our implementation of cqrs-es's `EventStore` trait on postgres-es's table layout.
//!
//! One transaction per command: it registers as an appender (ADR 0014), a single multi-row INSERT appends
//! the events (the transaction id is taken after the aggregate was loaded, so it orders the events after
//! every earlier event of the same aggregate), the idempotency key is recorded, the inline projections apply
//! the events, a snapshot is written every N events, a `NOTIFY` wakes the catch-up consumers, and it commits
//! — or none of it happens. See docs/adr/0001-event-store.md.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use cqrs_es::{
    Aggregate, AggregateContext, AggregateError, DomainEvent, EventEnvelope, EventStore,
};
use serde_json::Value;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use crate::engine::error::ProjectionError;
use crate::engine::read_model::ReadModel;
use crate::store::event::{load_aggregate_events_for_command, StoredEvent};

/// The channel the store notifies after every append; the payload is the last position.
pub const EVENTS_CHANNEL: &str = "cabinet_events";

/// A store failure that is not an optimistic-concurrency conflict.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint other than the events primary key (e.g. a read model's natural key).
    #[error("unique constraint {constraint} violated")]
    UniqueViolation {
        /// The constraint or unique index name.
        constraint: String,
    },
    /// The idempotency key was recorded by a concurrent command with the same key.
    #[error("idempotency key already used")]
    IdempotencyKeyUsed,
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The connection failed while COMMIT was under way: the transaction may or may not have committed.
    #[error("the commit's outcome is unknown: {0}")]
    CommitInDoubt(#[source] sqlx::Error),
    /// An inline projection failed for another reason than the database.
    #[error("projection {name} failed: {source}")]
    Projection {
        /// The projection.
        name: &'static str,
        /// The cause.
        #[source]
        source: ProjectionError,
    },
    /// An event or snapshot could not be (de)serialised.
    #[error("serialisation: {0}")]
    Serde(#[from] serde_json::Error),
    /// A personal value could not be sealed or opened (ADR 0016).
    #[error("personal data: {0}")]
    Personal(#[source] crate::personal::PersonalError),
}

/// What kind of failure a database error is.
enum Failure {
    Conflict,
    NoPartition,
    Other(StoreError),
}

/// The constraint name the stream-version trigger raises a conflict under (migration 0033).
pub const STREAM_VERSION: &str = "event_streams_version";

fn classify(e: sqlx::Error) -> Failure {
    if let sqlx::Error::Database(db) = &e {
        match db.code().as_deref() {
            // Only the stream's version (the trigger on `events`, migration 0033) is an optimistic-lock
            // conflict.
            Some("23505") if db.constraint() == Some(STREAM_VERSION) => return Failure::Conflict,
            // No partition for the position: the partitions ahead ran out (the maintenance that keeps them
            // is late). The store creates them and the command is retried like a conflict.
            Some("23514") if db.message().starts_with("no partition of relation") => {
                return Failure::NoPartition
            }
            Some("23505") if db.constraint() == Some("idempotency_keys_pkey") => {
                return Failure::Other(StoreError::IdempotencyKeyUsed)
            }
            Some("23505") => {
                return Failure::Other(StoreError::UniqueViolation {
                    constraint: db.constraint().unwrap_or_default().to_owned(),
                })
            }
            // Serialization failures and deadlocks between concurrent appends are retried like conflicts.
            Some("40001") | Some("40P01") => return Failure::Conflict,
            _ => {}
        }
    }
    Failure::Other(StoreError::Database(e))
}

fn to_aggregate_error<E: std::error::Error>(f: Failure) -> AggregateError<E> {
    match f {
        Failure::Conflict | Failure::NoPartition => AggregateError::AggregateConflict,
        Failure::Other(StoreError::Database(e)) => {
            AggregateError::DatabaseConnectionError(Box::new(e))
        }
        Failure::Other(e) => AggregateError::UnexpectedError(Box::new(e)),
    }
}

fn db_err<E: std::error::Error>(e: sqlx::Error) -> AggregateError<E> {
    to_aggregate_error(classify(e))
}

fn personal_err<E: std::error::Error>(e: crate::personal::PersonalError) -> AggregateError<E> {
    match e {
        crate::personal::PersonalError::Database(db) => db_err(db),
        other => AggregateError::UnexpectedError(Box::new(StoreError::Personal(other))),
    }
}

/// What the last commit in the current task appended (read by the command executor).
#[derive(Debug, Clone, Default)]
pub struct CommitReceipt {
    /// Position of the last appended event.
    pub last_position: Option<i64>,
    /// How many events were appended.
    pub events: usize,
}

tokio::task_local! {
    /// Set by the command executor around one command; the store fills it on commit.
    pub(crate) static RECEIPT: Mutex<Option<CommitReceipt>>;
}

/// The aggregate as loaded, with the sequence of its last event.
#[derive(Debug)]
pub struct PgAggregateContext<A> {
    /// The aggregate's id.
    pub aggregate_id: String,
    /// Its state. cqrs-es's `EventSink::write` applies new events to it during `handle`, so at commit time it
    /// already includes them: the snapshot is taken from it as it is, never by applying the events again.
    pub aggregate: A,
    /// Sequence of the last event loaded (0: new aggregate).
    pub current_sequence: i64,
    /// Sequence the loaded snapshot was taken at (0: none).
    pub snapshot_sequence: i64,
}

impl<A: Aggregate> AggregateContext<A> for PgAggregateContext<A> {
    fn aggregate(&mut self) -> &mut A {
        &mut self.aggregate
    }
}

/// The PostgreSQL event store for aggregate `A`.
pub struct PgEventStore<A> {
    pool: PgPool,
    inline: Arc<[Arc<dyn ReadModel>]>,
    snapshot_every: i64,
    _aggregate: PhantomData<fn() -> A>,
}

impl<A> Clone for PgEventStore<A> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            inline: self.inline.clone(),
            snapshot_every: self.snapshot_every,
            _aggregate: PhantomData,
        }
    }
}

impl<A: Aggregate> PgEventStore<A> {
    /// A store whose commits run `inline` projections and snapshot every `snapshot_every` events (0: never).
    pub fn new(pool: PgPool, inline: Arc<[Arc<dyn ReadModel>]>, snapshot_every: i64) -> Self {
        Self {
            pool,
            inline,
            snapshot_every,
            _aggregate: PhantomData,
        }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn load_stored(
        &self,
        aggregate_id: &str,
        after: i64,
    ) -> Result<Vec<StoredEvent>, sqlx::Error> {
        load_aggregate_events_for_command(&self.pool, A::TYPE, aggregate_id, after).await
    }

    /// The snapshot, opened (its personal values sealed like the events').
    async fn load_snapshot(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<(i64, Value)>, crate::personal::PersonalError> {
        let mut conn = self.pool.acquire().await?;
        let snapshot: Option<(i64, Value)> = sqlx::query_as(
            "SELECT last_sequence, payload FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2",
        )
        .bind(A::TYPE)
        .bind(aggregate_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((seq, mut payload)) = snapshot else {
            return Ok(None);
        };
        crate::personal::open_for_command(&mut conn, &mut [&mut payload]).await?;
        Ok(Some((seq, payload)))
    }
}

fn metadata_map(v: &Value) -> HashMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn envelope<A: Aggregate>(e: &StoredEvent) -> Result<EventEnvelope<A>, AggregateError<A::Error>> {
    Ok(EventEnvelope {
        aggregate_id: e.aggregate_id.clone(),
        sequence: e.sequence as usize,
        payload: e
            .decode()
            .map_err(|err| AggregateError::DeserializationError(Box::new(err)))?,
        metadata: metadata_map(&e.metadata),
    })
}

impl<A> EventStore<A> for PgEventStore<A>
where
    A: Aggregate + 'static,
{
    type AC = PgAggregateContext<A>;

    async fn load_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        self.load_stored(aggregate_id, 0)
            .await
            .map_err(db_err)?
            .iter()
            .map(envelope)
            .collect()
    }

    #[tracing::instrument(name = "store.load", level = "debug", skip_all, fields(aggregate = A::TYPE, aggregate_id = %aggregate_id))]
    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<Self::AC, AggregateError<A::Error>> {
        let snapshot = self
            .load_snapshot(aggregate_id)
            .await
            .map_err(personal_err)?;
        // A snapshot that no longer deserialises (the aggregate's shape changed) is ignored: the events are
        // the truth, and the next snapshot replaces it.
        let (mut aggregate, mut sequence) = snapshot
            .and_then(|(seq, payload)| serde_json::from_value::<A>(payload).ok().map(|a| (a, seq)))
            .unwrap_or_else(|| (A::default(), 0));
        let snapshot_sequence = sequence;
        for e in self
            .load_stored(aggregate_id, sequence)
            .await
            .map_err(db_err)?
        {
            let event: A::Event = e
                .decode()
                .map_err(|err| AggregateError::DeserializationError(Box::new(err)))?;
            aggregate.apply(event);
            sequence = e.sequence;
        }
        Ok(PgAggregateContext {
            aggregate_id: aggregate_id.to_owned(),
            aggregate,
            current_sequence: sequence,
            snapshot_sequence,
        })
    }

    #[tracing::instrument(
        name = "store.append",
        level = "debug",
        skip_all,
        fields(aggregate = A::TYPE, aggregate_id = %context.aggregate_id, events = events.len())
    )]
    async fn commit(
        &self,
        events: Vec<A::Event>,
        context: Self::AC,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let stored = self.commit_many(vec![(events, context)], &metadata).await?;
        stored.iter().map(envelope).collect()
    }
}

impl<A> PgEventStore<A>
where
    A: Aggregate + 'static,
{
    /// Appends the new events of several aggregates of this type in one transaction — one appender
    /// registration, one INSERT, the inline projections over all of them at once, the snapshots that are due,
    /// one `NOTIFY` — or none of it. Each item is an aggregate as loaded (its context, whose state already
    /// includes the new events) and its new events. A command with an idempotency key commits alone.
    /// Returns the stored events of all items, in the global order (by position).
    ///
    /// # Errors
    /// A conflict on any aggregate's sequence (`AggregateConflict`: nothing was stored), or a store failure.
    pub async fn commit_many(
        &self,
        items: Vec<(Vec<A::Event>, PgAggregateContext<A>)>,
        metadata: &HashMap<String, String>,
    ) -> Result<Vec<StoredEvent>, AggregateError<A::Error>> {
        let items: Vec<_> = items.into_iter().filter(|(e, _)| !e.is_empty()).collect();
        if items.is_empty() {
            return Ok(Vec::new());
        }
        if items.len() > 1 && metadata.contains_key("idempotency_key") {
            return Err(AggregateError::UnexpectedError(
                "a batch of commands carries no idempotency key".into(),
            ));
        }
        let meta_json = serde_json::to_value(metadata)
            .map_err(|e| AggregateError::UnexpectedError(Box::new(StoreError::Serde(e))))?;
        // (item, sequence, type, version, payload) of every new event, in item order.
        let mut rows = Vec::new();
        for (k, (events, context)) in items.iter().enumerate() {
            for (i, e) in events.iter().enumerate() {
                let payload = serde_json::to_value(e)
                    .map_err(|e| AggregateError::UnexpectedError(Box::new(StoreError::Serde(e))))?;
                rows.push((
                    k,
                    context.current_sequence + 1 + i as i64,
                    e.event_type(),
                    e.event_version(),
                    payload,
                ));
            }
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // 0. Registered as an appender (and given its transaction id) before any write: the commit horizon
        // waits for this transaction and for no transaction that does not append (ADR 0014).
        crate::engine::horizon::register_appender(&mut tx)
            .await
            .map_err(db_err)?;

        // Personal values are sealed before anything is written (ADR 0016): the rows get the ciphertext, the
        // inline projections and the caller the clear values.
        let mut sealed: Vec<Value> = rows.iter().map(|r| r.4.clone()).collect();
        for (k, (_, context)) in items.iter().enumerate() {
            let mut refs: Vec<&mut Value> = sealed
                .iter_mut()
                .zip(&rows)
                .filter(|(_, r)| r.0 == k)
                .map(|(v, _)| v)
                .collect();
            let destroyed =
                crate::personal::seal(&mut tx, A::TYPE, &context.aggregate_id, &mut refs)
                    .await
                    .map_err(personal_err)?;
            // A subject destroyed since the aggregate was loaded: its values read as destroyed for the
            // inline projections and the caller too, not as the stale clear copy.
            for row in rows.iter_mut().filter(|r| r.0 == k) {
                crate::personal::blank_roles(&mut row.4, &destroyed);
            }
        }

        // 1. Append: one multi-row statement, the first data write of the transaction. It also queues the NOTIFY
        // that wakes catch-up consumers and subscription fan-out: PostgreSQL delivers it only if the
        // transaction commits, and folds the identical notifications of the rows into one.
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
            "WITH ins AS (INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) ",
        );
        qb.push_values(
            rows.iter().zip(&sealed),
            |mut b, ((k, seq, et, ev, _), payload)| {
                b.push_bind(A::TYPE)
                    .push_bind(&items[*k].1.aggregate_id)
                    .push_bind(*seq)
                    .push_bind(et)
                    .push_bind(ev)
                    .push_bind(payload)
                    .push_bind(&meta_json);
            },
        );
        qb.push(" RETURNING position, transaction_id::text::bigint AS transaction_id, recorded_at, aggregate_id, sequence) ");
        // The payload names the transaction, the last position and the aggregate type
        // (`<transaction id>/<position>:<type>`): a consumer of other types is not woken
        // (`runner::Leadership::wait_for`).
        qb.push("SELECT ins.*, pg_notify(");
        qb.push_bind(EVENTS_CHANNEL);
        qb.push(", (SELECT max(transaction_id)::text || '/' || max(position)::text FROM ins) || ':' || ");
        qb.push_bind(A::TYPE);
        qb.push(")::text AS notified FROM ins");
        let returned = match qb.build().fetch_all(&mut *tx).await {
            Ok(rows) => rows,
            Err(e) => {
                let failure = classify(e);
                if matches!(failure, Failure::NoPartition) {
                    drop(tx);
                    tracing::warn!(
                        "no partition of the event log for the next position: creating them"
                    );
                    crate::store::partitions::ensure(&self.pool)
                        .await
                        .map_err(db_err)?;
                }
                return Err(to_aggregate_error(failure));
            }
        };
        let mut placed: HashMap<(String, i64), &sqlx::postgres::PgRow> =
            HashMap::with_capacity(returned.len());
        for r in &returned {
            let id: String = r.try_get("aggregate_id").map_err(db_err)?;
            let seq: i64 = r.try_get("sequence").map_err(db_err)?;
            placed.insert((id, seq), r);
        }
        let mut all: Vec<StoredEvent> = Vec::with_capacity(rows.len());
        for (k, seq, et, ev, payload) in rows {
            let id = &items[k].1.aggregate_id;
            let r = placed.get(&(id.clone(), seq)).ok_or_else(|| {
                AggregateError::UnexpectedError("an appended row was not returned".into())
            })?;
            all.push(StoredEvent {
                position: r.try_get("position").map_err(db_err)?,
                transaction_id: r.try_get("transaction_id").map_err(db_err)?,
                recorded_at: r.try_get("recorded_at").map_err(db_err)?,
                aggregate_type: A::TYPE.to_owned(),
                aggregate_id: id.clone(),
                sequence: seq,
                event_type: et,
                stored_version: ev.clone(),
                event_version: ev,
                payload,
                metadata: meta_json.clone(),
            });
        }
        // Global order within the transaction is by position.
        all.sort_by_key(|e| e.position);

        // 2. The idempotency key, before any read model: a concurrent command with the same key (on this node
        // or another) waits here for this transaction and then fails on the key's primary key, and replays
        // this result, rather than tripping over a read model's unique key first.
        let last_position = all.last().map(|e| e.position);
        if let Some(key) = metadata.get("idempotency_key") {
            sqlx::query(
                "INSERT INTO idempotency_keys (idempotency_key, actor, aggregate_type, aggregate_id, last_position) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(key)
            .bind(metadata.get("actor").map(String::as_str).unwrap_or("system"))
            .bind(A::TYPE)
            .bind(&items[0].1.aggregate_id)
            .bind(last_position)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }

        // 3. Inline projections: the read models commit with the events (read your writes). A commit holds
        // one aggregate type's events, so a projection that reads other aggregate types is not called at
        // all, as replay and catch-up do not fetch those events for it.
        for p in self.inline.iter() {
            if p.aggregate_types()
                .is_some_and(|types| !types.contains(&A::TYPE))
            {
                continue;
            }
            use tracing::Instrument as _;
            p.apply_batch(&mut tx, &all)
                .instrument(tracing::debug_span!(
                    "projection.inline",
                    projection = p.name()
                ))
                .await
                .map_err(|err| match err {
                    ProjectionError::Database(db) => db_err(db),
                    other => AggregateError::UnexpectedError(Box::new(StoreError::Projection {
                        name: p.name(),
                        source: other,
                    })),
                })?;
        }

        // 4. Snapshot once N events have been appended since the loaded snapshot — so loading never replays
        // more than N events, whether they came from commands or from an import.
        for (events, context) in &items {
            let last_sequence = context.current_sequence + events.len() as i64;
            if self.snapshot_every > 0
                && last_sequence - context.snapshot_sequence >= self.snapshot_every
            {
                let mut payload = serde_json::to_value(&context.aggregate)
                    .map_err(|e| AggregateError::UnexpectedError(Box::new(StoreError::Serde(e))))?;
                crate::personal::seal(&mut tx, A::TYPE, &context.aggregate_id, &mut [&mut payload])
                    .await
                    .map_err(personal_err)?;
                sqlx::query(
                    "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload) \
                     VALUES ($1, $2, $3, 1, $4) \
                     ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET last_sequence = EXCLUDED.last_sequence, \
                     current_snapshot = snapshots.current_snapshot + 1, payload = EXCLUDED.payload, \
                     recorded_at = clock_timestamp()",
                )
                .bind(A::TYPE)
                .bind(&context.aggregate_id)
                .bind(last_sequence)
                .bind(payload)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
        }

        tx.commit().await.map_err(|e| match e {
            // The server answered: it refused the commit (a deferred constraint); nothing was stored.
            e @ sqlx::Error::Database(_) => db_err(e),
            // No answer: the commit may have happened.
            e => AggregateError::UnexpectedError(Box::new(StoreError::CommitInDoubt(e))),
        })?;

        let _ = RECEIPT.try_with(|r| {
            if let Ok(mut r) = r.lock() {
                *r = Some(CommitReceipt {
                    last_position,
                    events: all.len(),
                });
            }
        });
        Ok(all)
    }
}
