//! Event store wiring, the projection engine and the read models.
//!
//! # Layout
//! - [`store`]: our implementation of cqrs-es's `EventStore` (append, inline projections, snapshots,
//!   idempotency keys, NOTIFY — one transaction); [`command`]: executing commands with retries;
//! - [`event`]: the stored event and command metadata; [`upcast`]: event schema evolution;
//! - [`projection`]: the one `Projection` abstraction; [`runner`]: catch-up in global order, rebuild,
//!   verify, status;
//! - [`companies`]: the companies read model;
//! - [`export`]: the log as JSON lines;
//! - [`cluster`], [`db`], [`testing`]: PostgreSQL provisioning, connections and migrations, test databases.

pub mod cluster;
pub mod command;
pub mod companies;
pub mod db;
pub mod event;
pub mod export;
pub mod projection;
pub mod runner;
pub mod store;
pub mod testing;
pub mod upcast;

use std::sync::Arc;

use domain::company::{Company, CompanyServices};
use projection::Projection;
use sqlx::PgPool;

/// Every inline projection, in the order they run in the append transaction.
pub fn inline_projections() -> Arc<[Arc<dyn Projection>]> {
    Arc::from(vec![
        Arc::new(companies::CompaniesProjection) as Arc<dyn Projection>
    ])
}

/// The Company command executor: our store running `inline` projections and snapshotting every
/// `snapshot_every` events, with the ИНН+КПП look-up over the companies read model.
pub fn company_executor(
    pool: PgPool,
    inline: Arc<[Arc<dyn Projection>]>,
    snapshot_every: i64,
) -> command::CommandExecutor<Company> {
    let services = CompanyServices::new(Arc::new(companies::PgCompanyLookup::new(pool.clone())));
    command::CommandExecutor::new(
        store::PgEventStore::new(pool, inline, snapshot_every),
        services,
    )
}
