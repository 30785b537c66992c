//! Process managers: catch-up consumers with effects outside their own tables — commands to aggregates,
//! mails in the outbox, accounts. They run in global order on one node at a time, their effects committed
//! in the same transaction as their checkpoint. Unlike a read model, a process manager is never rebuilt or
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
