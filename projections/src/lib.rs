//! Event store wiring, the projection engine and the read models.
//!
//! # Layout
//! - [`store`]: our implementation of cqrs-es's `EventStore` (append, inline projections, snapshots,
//!   idempotency keys, NOTIFY — one transaction); [`command`]: executing commands with retries;
//! - [`event`]: the stored event and command metadata; [`upcast`]: event schema evolution;
//! - [`projection`]: the one `Projection` abstraction; [`runner`]: catch-up in global order, rebuild,
//!   verify, status;
//! - [`companies`]: the companies read model; [`contracts`]: contracts, schedules, debt, payments, fines
//!   and the business day, with [`policies`] (insurance policies and insurance debt); [`requests`]: client
//!   requests and their history; [`documents`]: the files each company sees; [`days`]: the business-day
//!   process manager;
//! - [`export`]: the log as JSON lines;
//! - [`cluster`], [`db`], [`testing`]: PostgreSQL provisioning, connections and migrations, test databases.

pub mod analysts;
pub mod asof;
pub mod audit;
pub mod cluster;
pub mod command;
pub mod companies;
pub mod content;
pub mod contracts;
pub mod days;
pub mod db;
pub mod dependents;
pub mod documents;
pub mod edo;
pub mod event;
pub mod export;
pub mod notifications;
pub mod policies;
pub mod projection;
pub mod requests;
pub mod runner;
pub mod store;
pub mod testing;
pub mod upcast;

use std::sync::Arc;

use domain::calendar::ProductionCalendar;
use domain::clock::BusinessClock;
use domain::company::{Company, CompanyServices};
use domain::contract::{Contract, ContractServices};
use domain::policy::{Policy, PolicyServices};
use domain::request::ClientRequest;
use projection::Projection;
use sqlx::PgPool;

/// Every inline projection, in the order they run in the append transaction.
pub fn inline_projections() -> Arc<[Arc<dyn Projection>]> {
    Arc::from(vec![
        Arc::new(companies::CompaniesProjection) as Arc<dyn Projection>,
        Arc::new(contracts::ContractsProjection),
        Arc::new(requests::RequestsProjection),
        Arc::new(documents::DocumentsProjection),
        Arc::new(edo::EdoProjection),
        Arc::new(notifications::NotificationsProjection),
        Arc::new(content::ContentProjection),
        Arc::new(content::TermsProjection),
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

/// The Contract command executor, with company existence over the companies read model and `calendar` for
/// payment deadlines.
pub fn contract_executor(
    pool: PgPool,
    inline: Arc<[Arc<dyn Projection>]>,
    snapshot_every: i64,
    calendar: Arc<ProductionCalendar>,
) -> command::CommandExecutor<Contract> {
    let services = ContractServices::new(
        Arc::new(contracts::PgCompanyDirectory::new(pool.clone())),
        calendar,
    );
    command::CommandExecutor::new(
        store::PgEventStore::new(pool, inline, snapshot_every),
        services,
    )
}

/// The business clock's command executor.
pub fn clock_executor(
    pool: PgPool,
    inline: Arc<[Arc<dyn Projection>]>,
    snapshot_every: i64,
) -> command::CommandExecutor<BusinessClock> {
    command::CommandExecutor::new(store::PgEventStore::new(pool, inline, snapshot_every), ())
}

/// The Policy command executor, with contract → company over the contracts read model.
pub fn policy_executor(
    pool: PgPool,
    inline: Arc<[Arc<dyn Projection>]>,
    snapshot_every: i64,
) -> command::CommandExecutor<Policy> {
    let services = PolicyServices::new(Arc::new(policies::PgContractLookup::new(pool.clone())));
    command::CommandExecutor::new(
        store::PgEventStore::new(pool, inline, snapshot_every),
        services,
    )
}

/// The ClientRequest command executor.
pub fn request_executor(
    pool: PgPool,
    inline: Arc<[Arc<dyn Projection>]>,
    snapshot_every: i64,
) -> command::CommandExecutor<ClientRequest> {
    command::CommandExecutor::new(store::PgEventStore::new(pool, inline, snapshot_every), ())
}

/// The executor of a content aggregate (News, FaqEntry, TermsOfUse): no services.
pub fn content_executor<A>(
    pool: PgPool,
    inline: Arc<[Arc<dyn Projection>]>,
    snapshot_every: i64,
) -> command::CommandExecutor<A>
where
    A: cqrs_es::Aggregate<Services = ()>,
    A::Command: Clone,
{
    command::CommandExecutor::new(store::PgEventStore::new(pool, inline, snapshot_every), ())
}
