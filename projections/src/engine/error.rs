//! Why a read model or a process manager could not handle an event.

use crate::store::event::DecodeError;

/// Why a read model could not apply an event, or a process manager could not act on one.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The database refused (a unique violation is reported with its constraint name by the store).
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The payload does not decode as the aggregate's event type.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A value read back from the model's own table that no variant has (the table and the code disagree).
    #[error("unknown stored value {value:?} in {column}")]
    UnknownStored {
        /// Table and column.
        column: &'static str,
        /// The value.
        value: String,
    },
    /// Rows a read model batches into one statement do not encode as JSON.
    #[error("rows do not encode: {0}")]
    Encode(#[source] serde_json::Error),
    /// A process manager's effect failed outside the database (a command refused for a reason it cannot
    /// handle, a file that cannot be read, a mail that cannot be built); the batch is retried.
    #[error("{0}")]
    Effect(String),
}
