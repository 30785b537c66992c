//! The one projection abstraction. A projection turns stored events into rows of its own tables; the same
//! code runs inline (inside the append transaction) and in catch-up (replay in global order).
//!
//! Rules a projection follows, so that a rebuild gives the same tables as live operation:
//! - its SQL names its tables unqualified (rebuild and verify point `search_path` at a scratch schema);
//! - it reads nothing but its own tables and the event (no wall clock, no other tables);
//! - it is deterministic: the same events in the same order give the same rows.

use async_trait::async_trait;
use sqlx::PgConnection;

use crate::event::StoredEvent;

/// Why a projection could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The database refused (a unique violation is reported with its constraint name by the store).
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The payload does not decode as the aggregate's event type.
    #[error("event {position} does not decode: {source}")]
    Decode {
        /// The event's position.
        position: i64,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

/// A read model fed by events.
#[async_trait]
pub trait Projection: Send + Sync {
    /// Stable name (used for checkpoints, `projections rebuild NAME`, status).
    fn name(&self) -> &'static str;

    /// Bumped when the projection's logic changes in a way that needs a rebuild.
    fn version(&self) -> i32;

    /// The tables it owns (in `public`), rebuilt and verified as a unit.
    fn tables(&self) -> &'static [&'static str];

    /// The aggregate types whose events it reads (`None`: all). Replay and catch-up fetch only those, so a
    /// projection never pays for decoding the rest of the log.
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
    /// Replays and the append transaction hand over whole batches: a projection that folds them in memory and
    /// writes once per batch replays at a good fraction of the speed PostgreSQL scans the log. The default
    /// applies them one by one.
    ///
    /// # Errors
    /// As [`Projection::apply`].
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
