//! Process managers: catch-up consumers with effects outside their own tables — commands to aggregates,
//! mails in the outbox, accounts. Each runs in segments ([`crate::engine::segments`]): a segment reads its
//! share of the log (the events of the aggregates hashed to it, plus the [`ProcessManager::broadcast_types`]
//! every segment reads) in global order on one node at a time, its effects committed in the same
//! transaction as its checkpoint. Unlike a read model, a process manager is never rebuilt or
//! verified (replaying it would act again): the runner's rebuild and verify take read models only, so the
//! type system refuses a process manager there.

use async_trait::async_trait;
use sqlx::PgConnection;

use crate::engine::error::ProjectionError;
use crate::store::event::StoredEvent;

/// A consumer of the log that acts on what happened.
#[async_trait]
pub trait ProcessManager: Send + Sync {
    /// Stable name (its checkpoint, its leadership lock, status).
    fn name(&self) -> &'static str;

    /// The aggregate types whose events it reads (`None`: all).
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        None
    }

    /// Events read per transaction (a business day, acting on many contracts, is read one at a time).
    fn batch(&self) -> i64 {
        50
    }

    /// Aggregate types whose events every segment reads (a business day concerns every segment's
    /// contracts); the manager then acts in [`ProcessManager::handle_in_segment`] on its segment's part.
    fn broadcast_types(&self) -> &'static [&'static str] {
        &[]
    }

    /// Acts on consecutive events of `segment`'s share of the log. A manager with
    /// [`ProcessManager::broadcast_types`] overrides it to act on the segment's part of such an event; the
    /// others act on the events as they would unsegmented.
    ///
    /// # Errors
    /// As [`ProcessManager::handle`].
    async fn handle_in_segment(
        &self,
        conn: &mut PgConnection,
        events: &[StoredEvent],
        segment: Segment,
    ) -> Result<(), ProjectionError> {
        let _ = segment;
        self.handle_batch(conn, events).await
    }

    /// Acts on one event inside `conn`'s transaction, which also saves the checkpoint past it. It must be
    /// idempotent for the event (a command with an idempotency key derived from the event, a mail queued
    /// once per cause): a batch that fails is retried whole.
    ///
    /// # Errors
    /// A database error, a payload that does not decode, or an effect that failed.
    async fn handle(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError>;

    /// Acts on consecutive events (in global order) with the same effects as handling them one by one; a
    /// manager that can act on a whole batch with one statement overrides it.
    ///
    /// # Errors
    /// As [`ProcessManager::handle`].
    async fn handle_batch(
        &self,
        conn: &mut PgConnection,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        for e in events {
            self.handle(conn, e).await?;
        }
        Ok(())
    }
}

/// One part of a worker's share of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segment {
    /// Which part, from 0.
    pub index: i32,
    /// Of how many.
    pub count: i32,
}

impl Segment {
    /// The whole log, one segment.
    pub const WHOLE: Self = Self { index: 0, count: 1 };

    /// Every segment of a count.
    pub fn all(count: i32) -> impl Iterator<Item = Self> {
        (0..count).map(move |index| Self { index, count })
    }

    /// The name of its checkpoint (with one segment, the worker's own name).
    pub fn checkpoint_name(self, worker: &str) -> String {
        if self.count == 1 {
            worker.to_owned()
        } else {
            format!("{worker}#{}/{}", self.index, self.count)
        }
    }
}
