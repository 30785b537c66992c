//! The horizon of the global commit order (ADR 0003).
//!
//! Events are read in `(transaction_id, position)` order, and only from transactions below the current
//! snapshot's xmin: every transaction below it has finished, so an event whose transaction commits late is
//! delivered when it commits, after the events of earlier transactions, and is never skipped. Every reader
//! of the log (or of a table stamped with the appending transaction's id) in commit order builds its
//! condition with [`below_horizon`], so the rule lives in one place.

/// The SQL condition that keeps rows whose `column` (a `xid8` transaction id) belongs to a transaction
/// that has finished for every snapshot to come.
pub fn below_horizon(column: &str) -> String {
    format!("{column} < pg_snapshot_xmin(pg_current_snapshot())")
}
