//! Executing commands: cqrs-es's framework over our store, with bounded retries on conflicts and idempotency
//! keys.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use cqrs_es::{Aggregate, AggregateError, CqrsFramework};
use domain::failure::Rejection;
use sqlx::PgPool;

use crate::postgres::db::is_outage;
use crate::store::event::CommandMeta;
use crate::store::event_store::{CommitReceipt, PgEventStore, StoreError, RECEIPT};
use crate::store::turns::Turns;

/// A database failure seen by the executor: an outage (nothing took effect) or another store error.
fn database<E>(e: sqlx::Error) -> CommandError<E> {
    if is_outage(&e) {
        CommandError::Unavailable {
            in_doubt: false,
            cause: Box::new(e),
        }
    } else {
        CommandError::Store(Box::new(e))
    }
}

/// What a successful command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// The aggregate the command acted on (for a replayed idempotent command: the first call's).
    pub aggregate_id: String,
    /// Global position of the aggregate's last event after the command.
    pub last_position: Option<i64>,
    /// Events appended by this call (0 for a no-op or a replay).
    pub events: usize,
    /// True when an idempotency key matched an earlier call and nothing was executed.
    pub replayed: bool,
}

/// Why a command did not take effect.
#[derive(Debug)]
pub enum CommandError<E> {
    /// The aggregate refused it (a business rule).
    Rejected(E),
    /// Concurrent commands kept winning the race; retrying later may succeed.
    Conflict {
        /// How many times it was tried.
        attempts: u32,
    },
    /// The idempotency key was used earlier for another kind of aggregate.
    IdempotencyKeyReused {
        /// The aggregate type the key was used for.
        aggregate_type: String,
    },
    /// A unique constraint of a read model (e.g. ИНН+КПП) refused the events.
    Unique {
        /// The constraint name.
        constraint: String,
    },
    /// A look-up the command needed failed (the database, not a business rule): nothing was stored.
    LookupFailed(domain::failure::LookupFailed),
    /// The database could not be reached or stopped answering. With `in_doubt` false the command did not
    /// take effect (retry it); with `in_doubt` true the connection was lost while the commit was under way,
    /// so it may or may not have taken effect: retrying with the same idempotency key tells which.
    Unavailable {
        /// The commit's outcome is unknown.
        in_doubt: bool,
        /// What failed.
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store failed.
    Store(Box<dyn std::error::Error + Send + Sync>),
}

impl<E: fmt::Display> fmt::Display for CommandError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(e) => write!(f, "{e}"),
            Self::Conflict { attempts } => write!(f, "conflict after {attempts} attempts"),
            Self::IdempotencyKeyReused { aggregate_type } => {
                write!(f, "idempotency key was used for a {aggregate_type} command")
            }
            Self::Unique { constraint } => write!(f, "unique constraint {constraint} violated"),
            Self::LookupFailed(e) => write!(f, "{e}"),
            Self::Unavailable { in_doubt, cause } => {
                let state = if *in_doubt { " (outcome unknown)" } else { "" };
                write!(f, "database unavailable{state}: {cause}")
            }
            Self::Store(e) => write!(f, "store error: {e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for CommandError<E> {}

/// Lock stripes per executor: enough that unrelated aggregates rarely share one.
const STRIPES: usize = 1024;

/// Runs commands of aggregate `A`.
pub struct CommandExecutor<A: Aggregate + 'static> {
    cqrs: CqrsFramework<A, PgEventStore<A>>,
    store: PgEventStore<A>,
    /// Commands on one aggregate take turns within this process (striped by the id's hash): they would
    /// otherwise race to the same sequence number and all but one would reload and retry. Across processes
    /// they take turns with [`Turns`] when the executor has them (the primary key decides in any case).
    stripes: Box<[tokio::sync::Mutex<()>]>,
    turns: Option<Turns>,
    pool: PgPool,
    max_attempts: u32,
    /// The aggregate's services for [`CommandExecutor::execute_many`] (which decides outside cqrs-es).
    batch_services: Option<A::Services>,
}

impl<A> CommandExecutor<A>
where
    A: Aggregate + 'static,
    A::Command: Clone,
    A::Error: Rejection,
{
    /// An executor over `store` with the aggregate's services.
    pub fn new(store: PgEventStore<A>, services: A::Services) -> Self {
        let pool = store.pool().clone();
        Self {
            cqrs: CqrsFramework::new(store.clone(), vec![], services),
            store,
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            turns: None,
            pool,
            max_attempts: 16,
            batch_services: None,
        }
    }

    /// Lets [`CommandExecutor::execute_many`] commit batches (it needs its own copy of the services).
    pub fn with_batches(mut self, services: A::Services) -> Self {
        self.batch_services = Some(services);
        self
    }

    /// The aggregate's current state (from its snapshot and the events after it), for answers computed from
    /// the state rather than stored (an early-buyout quote).
    ///
    /// # Errors
    /// A store failure.
    pub async fn load(&self, aggregate_id: &str) -> Result<A, CommandError<A::Error>> {
        use cqrs_es::{AggregateContext, EventStore};
        let mut context = self
            .store
            .load_aggregate(aggregate_id)
            .await
            .map_err(|e| CommandError::Store(format!("loading {aggregate_id}: {e}").into()))?;
        Ok(std::mem::take(context.aggregate()))
    }

    /// The database the executor writes to.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Commands take turns on each aggregate across processes too (a session advisory lock per aggregate
    /// on a connection of `turns`' pool, taken before loading).
    pub fn with_turns(mut self, turns: Turns) -> Self {
        self.turns = Some(turns);
        self
    }

    /// Overrides how often a conflicting command is retried.
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// The earlier outcome of the call `meta`'s idempotency key names, if there was one: a caller with work
    /// to do before the command (generating a numbered document) checks it first, so a retry does not do
    /// that work again.
    ///
    /// # Errors
    /// The key was used for another kind of aggregate; a store failure.
    pub async fn replay_of(
        &self,
        meta: &CommandMeta,
    ) -> Result<Option<CommandOutcome>, CommandError<A::Error>> {
        let Some(key) = &meta.idempotency_key else {
            return Ok(None);
        };
        let row: Option<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT aggregate_type, aggregate_id, last_position FROM idempotency_keys \
             WHERE actor = $1 AND idempotency_key = $2",
        )
        .bind(&meta.actor)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?;
        match row {
            None => Ok(None),
            Some((t, _, _)) if t != A::TYPE => {
                Err(CommandError::IdempotencyKeyReused { aggregate_type: t })
            }
            Some((_, aggregate_id, last_position)) => Ok(Some(CommandOutcome {
                aggregate_id,
                last_position,
                events: 0,
                replayed: true,
            })),
        }
    }

    async fn current_position(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<i64>, CommandError<A::Error>> {
        sqlx::query_scalar(
            "SELECT max(position) FROM event_log WHERE aggregate_type = $1 AND aggregate_id = $2",
        )
        .bind(A::TYPE)
        .bind(aggregate_id)
        .fetch_one(&self.pool)
        .await
        .map_err(database)
    }

    /// Executes `command` on `aggregate_id`, retrying on conflicts (reload and re-decide) up to the bound.
    /// Counts outcomes, conflict retries, appended events and durations in the metrics registry.
    ///
    /// # Errors
    /// [`CommandError`]: the aggregate's refusal, a conflict after every attempt, a reused key, a read-model
    /// unique constraint, or a store failure.
    #[tracing::instrument(
        name = "command",
        skip_all,
        fields(aggregate = A::TYPE, aggregate_id = %aggregate_id, correlation_id = %meta.correlation_id)
    )]
    pub async fn execute(
        &self,
        aggregate_id: &str,
        command: A::Command,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, CommandError<A::Error>> {
        let started = std::time::Instant::now();
        let stripe = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            aggregate_id.hash(&mut h);
            (h.finish() % STRIPES as u64) as usize
        };
        let turn = self.stripes[stripe].lock().await;
        let result = match &self.turns {
            None => self.execute_with_retries(aggregate_id, command, meta).await,
            Some(turns) => match turns.take(A::TYPE, aggregate_id).await {
                Ok(across) => {
                    let r = self.execute_with_retries(aggregate_id, command, meta).await;
                    across.give_back().await;
                    r
                }
                // The aggregate stayed busy on another node for the whole lock timeout: a conflict, which
                // the caller may retry.
                Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("55P03") => {
                    Err(CommandError::Conflict { attempts: 0 })
                }
                Err(e) => Err(database(e)),
            },
        };
        drop(turn);
        let outcome = match &result {
            Ok(o) if o.replayed => "replayed",
            Ok(_) => "ok",
            Err(CommandError::Rejected(_))
            | Err(CommandError::Unique { .. })
            | Err(CommandError::IdempotencyKeyReused { .. }) => "rejected",
            Err(CommandError::Conflict { .. }) => "conflict",
            Err(CommandError::Unavailable { .. }) => "unavailable",
            Err(CommandError::LookupFailed(_)) | Err(CommandError::Store(_)) => "error",
        };
        metrics::counter!("cabinet_commands_total", "aggregate" => A::TYPE, "outcome" => outcome)
            .increment(1);
        metrics::histogram!("cabinet_command_duration_seconds", "aggregate" => A::TYPE)
            .record(started.elapsed().as_secs_f64());
        if let Ok(o) = &result {
            metrics::counter!("cabinet_events_appended_total", "aggregate" => A::TYPE)
                .increment(o.events as u64);
        }
        result
    }

    /// Executes with retries; a refusal of a command with an idempotency key is checked against the key
    /// once more: a command with the same key that finished meanwhile (on this node or another) is what made
    /// the state refuse it (the company it registers now exists, the payment is recorded), and its answer
    /// is ours. Same key, same answer, in any interleaving.
    async fn execute_with_retries(
        &self,
        aggregate_id: &str,
        command: A::Command,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, CommandError<A::Error>> {
        let result = self.attempts(aggregate_id, command, meta).await;
        match result {
            Err(CommandError::Rejected(_))
            | Err(CommandError::Unique { .. })
            | Err(CommandError::Conflict { .. })
                if meta.idempotency_key.is_some() =>
            {
                match self.replay_of(meta).await? {
                    Some(done) => Ok(done),
                    None => result,
                }
            }
            other => other,
        }
    }

    async fn attempts(
        &self,
        aggregate_id: &str,
        command: A::Command,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, CommandError<A::Error>> {
        if let Some(done) = self.replay_of(meta).await? {
            return Ok(done);
        }
        let map = meta.to_map();
        for attempt in 1..=self.max_attempts {
            // A command with the same key may have finished meanwhile, on this node or another: its answer
            // is ours.
            if attempt > 1 {
                if let Some(done) = self.replay_of(meta).await? {
                    return Ok(done);
                }
            }
            let (result, receipt) = RECEIPT
                .scope(Mutex::new(None), async {
                    let r = self
                        .cqrs
                        .execute_with_metadata(aggregate_id, command.clone(), map.clone())
                        .await;
                    let receipt: Option<CommitReceipt> =
                        RECEIPT.with(|c| c.lock().ok().and_then(|mut g| g.take()));
                    (r, receipt)
                })
                .await;
            match result {
                Ok(()) => {
                    let receipt = receipt.unwrap_or_default();
                    let last_position = match receipt.last_position {
                        Some(p) => Some(p),
                        None => self.current_position(aggregate_id).await?,
                    };
                    return Ok(CommandOutcome {
                        aggregate_id: aggregate_id.to_owned(),
                        last_position,
                        events: receipt.events,
                        replayed: false,
                    });
                }
                Err(AggregateError::AggregateConflict) => {
                    metrics::counter!("cabinet_command_conflicts_total", "aggregate" => A::TYPE)
                        .increment(1);
                    // Jittered back-off so that racing commands spread out.
                    let ms = u64::from(rand_below(5 * attempt)) + 1;
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                Err(AggregateError::UserError(e)) => {
                    // A failed look-up is infrastructure, not a rule: reported as such.
                    return Err(match e.lookup_failed() {
                        Some(f) => CommandError::LookupFailed(f.clone()),
                        None => CommandError::Rejected(e),
                    });
                }
                Err(AggregateError::UnexpectedError(e)) => {
                    return Err(match e.downcast::<StoreError>() {
                        Ok(se) => match *se {
                            StoreError::IdempotencyKeyUsed => match self.replay_of(meta).await? {
                                Some(done) => return Ok(done),
                                None => {
                                    CommandError::Store(Box::new(StoreError::IdempotencyKeyUsed))
                                }
                            },
                            StoreError::UniqueViolation { constraint } => {
                                CommandError::Unique { constraint }
                            }
                            StoreError::CommitInDoubt(cause) => CommandError::Unavailable {
                                in_doubt: true,
                                cause: Box::new(cause),
                            },
                            StoreError::Database(e) => database(e),
                            other => CommandError::Store(Box::new(other)),
                        },
                        Err(e) => CommandError::Store(e),
                    })
                }
                Err(AggregateError::DatabaseConnectionError(e)) => {
                    return Err(match e.downcast::<sqlx::Error>() {
                        Ok(e) => database(*e),
                        Err(e) => CommandError::Store(e),
                    })
                }
                Err(AggregateError::DeserializationError(e)) => return Err(CommandError::Store(e)),
            }
        }
        Err(CommandError::Conflict {
            attempts: self.max_attempts,
        })
    }
}

/// What one command of a batch did: the events it appended, or the aggregate's refusal.
pub type BatchOutcome<E> = Result<usize, E>;

impl<A> CommandExecutor<A>
where
    A: Aggregate + 'static,
    A::Command: Clone,
    A::Error: Rejection,
{
    /// Executes commands on many aggregates (one command each) in one transaction: each aggregate is loaded
    /// and decides as alone, and the events of all are appended, projected and committed together
    /// ([`PgEventStore::commit_many`]) — the business day's closing over every contract, a bulk import.
    /// A refusal concerns its command only. When the batch cannot commit as a whole (another command
    /// changed one of the aggregates meanwhile, a read model's unique key), nothing of it is stored and each
    /// command is executed on its own instead, with the usual retries. Without
    /// [`CommandExecutor::with_batches`] the commands are executed one by one. Batches carry no idempotency
    /// key (each command must be harmless to repeat, as closing a day is).
    ///
    /// # Errors
    /// A store failure of a command executed on its own.
    pub async fn execute_many(
        &self,
        commands: Vec<(String, A::Command)>,
        meta: &CommandMeta,
    ) -> Result<Vec<(String, BatchOutcome<A::Error>)>, CommandError<A::Error>> {
        let mut meta = meta.clone();
        meta.idempotency_key = None;
        if let Some(services) = &self.batch_services {
            match self.try_batch(&commands, &meta, services).await {
                Ok(done) => return Ok(done),
                Err(e) => {
                    tracing::warn!(aggregate = A::TYPE, commands = commands.len(), error = %e,
                        "the batch could not commit as a whole; executing its commands one by one");
                }
            }
        }
        let mut out = Vec::with_capacity(commands.len());
        for (id, command) in commands {
            let r = match self.execute(&id, command, &meta).await {
                Ok(o) => Ok(o.events),
                Err(CommandError::Rejected(e)) => Err(e),
                Err(e) => return Err(e),
            };
            out.push((id, r));
        }
        Ok(out)
    }

    async fn try_batch(
        &self,
        commands: &[(String, A::Command)],
        meta: &CommandMeta,
        services: &A::Services,
    ) -> Result<Vec<(String, BatchOutcome<A::Error>)>, AggregateError<A::Error>> {
        use cqrs_es::EventStore;
        let started = std::time::Instant::now();
        let mut out = Vec::with_capacity(commands.len());
        let mut items = Vec::new();
        for (id, command) in commands {
            let mut context = self.store.load_aggregate(id).await?;
            // The sink applies each event to the state as it is written (cqrs-es), so the context is the
            // state after the command, as the snapshot wants it; a refused command's context is dropped.
            let sink = cqrs_es::event_sink::EventSink::default();
            let decided = context
                .aggregate
                .handle(command.clone(), services, &sink)
                .await;
            match decided {
                Ok(()) => {
                    let events = sink.collect().await;
                    out.push((id.clone(), Ok(events.len())));
                    items.push((events, context));
                }
                Err(e) => {
                    if let Some(f) = e.lookup_failed() {
                        return Err(AggregateError::UnexpectedError(Box::new(f.clone())));
                    }
                    out.push((id.clone(), Err(e)));
                }
            }
        }
        let appended = self.store.commit_many(items, &meta.to_map()).await?.len();
        metrics::counter!("cabinet_commands_total", "aggregate" => A::TYPE, "outcome" => "ok")
            .increment(out.iter().filter(|o| o.1.is_ok()).count() as u64);
        metrics::counter!("cabinet_commands_total", "aggregate" => A::TYPE, "outcome" => "rejected")
            .increment(out.iter().filter(|o| o.1.is_err()).count() as u64);
        metrics::counter!("cabinet_events_appended_total", "aggregate" => A::TYPE)
            .increment(appended as u64);
        metrics::histogram!("cabinet_command_batch_duration_seconds", "aggregate" => A::TYPE)
            .record(started.elapsed().as_secs_f64());
        Ok(out)
    }
}

fn rand_below(n: u32) -> u32 {
    // Jitter only; uuid v4 draws from the OS RNG.
    (uuid::Uuid::new_v4().as_u128() % u128::from(n.max(1))) as u32
}
