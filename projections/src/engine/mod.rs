//! The read side's machinery.
//!
//! # Layout
//! - [`read_model`]: the [`read_model::ReadModel`] trait (own tables, replayable, inline or catch-up,
//!   rebuilt and verified);
//! - [`process_manager`]: the [`process_manager::ProcessManager`] trait (effects and commands,
//!   checkpointed with its effects, never rebuilt);
//! - [`error`]: why either could not handle an event;
//! - [`horizon`]: the global commit order's horizon, the one rule every reader of the log in commit order
//!   follows;
//! - [`runner`]: checkpoints, catch-up consumers and their leadership, rebuild and verify;
//! - [`segments`]: process managers in segments shared by the nodes, each with its checkpoint and lease,
//!   and the catch-up consumers' status;
//! - [`dependents`]: the views, grants and comments that follow a read model's tables across a rebuild;
//! - [`asof`]: a read model as it was at an instant, replayed into temporary tables.

pub mod asof;
pub mod dependents;
pub mod error;
pub mod horizon;
pub mod process_manager;
pub mod read_model;
pub mod runner;
pub mod segments;
