//! Read models: events turned into rows of the model's own tables. The same code runs inline (inside the
//! append transaction) and in catch-up (replay in global order), so a model can always be rebuilt from the
//! log and verified against it.
//!
//! Rules a read model follows, so that a rebuild gives the same tables as live operation:
//! - its SQL names its tables unqualified (rebuild and verify point `search_path` at a scratch schema);
//! - it reads nothing but its own tables and the event (no wall clock, no other tables);
//! - it is deterministic: the same events in the same order give the same rows;
//! - it never issues commands and has no effect outside its tables (that is a
//!   [`ProcessManager`](crate::engine::process_manager::ProcessManager)).

use async_trait::async_trait;
use sqlx::PgConnection;

use crate::engine::error::ProjectionError;
use crate::store::event::StoredEvent;

/// A read model fed by events.
#[async_trait]
pub trait ReadModel: Send + Sync {
    /// Stable name (used for checkpoints, `projections rebuild NAME`, status).
    fn name(&self) -> &'static str;

    /// Bumped when the model's logic changes in a way that needs a rebuild.
    fn version(&self) -> i32;

    /// The tables it owns (in `public`), rebuilt and verified as a unit. Never empty.
    fn tables(&self) -> &'static [&'static str];

    /// Whether a rebuild may replace its tables. A model whose rows other tables reference by foreign key
    /// (the published terms of use, which acceptances name) is verified like any other but never swapped:
    /// a rebuild refuses it.
    fn replaceable(&self) -> bool {
        true
    }

    /// The aggregate types whose events it reads (`None`: all). Replay and catch-up fetch only those, so a
    /// model never pays for decoding the rest of the log.
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        None
    }

    /// Applies one event. Events of other aggregates or types are ignored.
    ///
    /// # Errors
    /// A database error or a payload that does not decode.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError>;

    /// Applies consecutive events (in global order) with the same result as applying them one by one.
    /// Replays and the append transaction hand over whole batches: a model that folds them in memory and
    /// writes once per batch replays at a good fraction of the speed PostgreSQL scans the log. The default
    /// applies them one by one.
    ///
    /// # Errors
    /// As [`ReadModel::apply`].
    async fn apply_batch(
        &self,
        conn: &mut PgConnection,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        for e in events {
            self.apply(conn, e).await?;
        }
        Ok(())
    }
}
