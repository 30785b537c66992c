//! The write side's storage and the read side's engine, over PostgreSQL.
//!
//! # Layout
//! - [`store`]: the write side — our implementation of cqrs-es's `EventStore` ([`store::event_store`]:
//!   append, inline read models, snapshots, idempotency keys, NOTIFY in one transaction), the command
//!   executor with its retries ([`store::command`]), the stored event and command metadata
//!   ([`store::event`]) and event schema evolution ([`store::upcast`]);
//! - [`engine`]: the read side's machinery — the read-model and process-manager traits, the global-order
//!   horizon, catch-up consumers and their leadership, rebuild, verify and status, the views that depend on
//!   read models across a rebuild, and reconstruction as of an instant;
//! - [`views`]: one module per read model (companies, contracts with schedules and debt, policies,
//!   requests, documents, ЭДО, notifications, content), each with its writer and its typed reads;
//! - [`log`]: reading the log for auditors ([`log::audit`]) and exporting it ([`log::export`]);
//! - [`postgres`]: PostgreSQL itself — the private cluster, connections and migrations, the analysts' role,
//!   and (with the `testing` feature) throwaway test databases;
//! - [`executors`]: the inline read models in order, and one command executor per aggregate;
//! - [`personal`]: keys per data subject and the sealing of personal values in payloads (issue 21, first
//!   part; not yet wired into the store).

pub mod engine;
pub mod executors;
pub mod log;
pub mod personal;
pub mod postgres;
pub mod store;
pub mod views;
