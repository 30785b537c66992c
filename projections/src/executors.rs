//! The inline read models in the order they run, and a command executor per aggregate wired with the
//! read-model look-ups its domain services need.

use std::sync::Arc;

use crate::engine::read_model::ReadModel;
use crate::store::command::CommandExecutor;
use crate::store::event_store::PgEventStore;
use crate::views;
use domain::calendar::ProductionCalendar;
use domain::clock::BusinessClock;
use domain::company::{Company, CompanyServices};
use domain::contract::{Contract, ContractServices};
use domain::policy::{Policy, PolicyServices};
use domain::request::ClientRequest;
use sqlx::PgPool;

/// Every inline projection, in the order they run in the append transaction.
pub fn inline_projections() -> Arc<[Arc<dyn ReadModel>]> {
    Arc::from(vec![
        Arc::new(views::companies::CompaniesProjection) as Arc<dyn ReadModel>,
        Arc::new(views::companies::PowersOfAttorneyProjection),
        Arc::new(views::contracts::ContractsProjection),
        Arc::new(views::requests::RequestsProjection),
        Arc::new(views::conversations::ConversationsProjection),
        Arc::new(views::documents::DocumentsProjection),
        Arc::new(views::edo::EdoProjection),
        Arc::new(views::edo::EdoOperatorsProjection),
        Arc::new(views::notifications::NotificationsProjection),
        Arc::new(views::content::ContentProjection),
        Arc::new(views::content::TermsProjection),
        Arc::new(views::content::ContactsProjection),
        Arc::new(views::payments::BankPaymentsProjection),
    ])
}

/// The Company command executor: our store running `inline` projections and snapshotting every
/// `snapshot_every` events, with the ИНН+КПП look-up over the companies read model.
pub fn company_executor(
    pool: PgPool,
    inline: Arc<[Arc<dyn ReadModel>]>,
    snapshot_every: i64,
) -> CommandExecutor<Company> {
    let services =
        CompanyServices::new(Arc::new(views::lookups::PgCompanyLookup::new(pool.clone())));
    CommandExecutor::new(PgEventStore::new(pool, inline, snapshot_every), services)
}

/// The Contract command executor, with company existence over the companies read model and `calendar` for
/// payment deadlines.
pub fn contract_executor(
    pool: PgPool,
    inline: Arc<[Arc<dyn ReadModel>]>,
    snapshot_every: i64,
    calendar: Arc<ProductionCalendar>,
) -> CommandExecutor<Contract> {
    let services = ContractServices::new(
        Arc::new(views::lookups::PgCompanyDirectory::new(pool.clone())),
        calendar,
    );
    CommandExecutor::new(
        PgEventStore::new(pool, inline, snapshot_every),
        services.clone(),
    )
    .with_batches(services)
}

/// The business clock's command executor.
pub fn clock_executor(
    pool: PgPool,
    inline: Arc<[Arc<dyn ReadModel>]>,
    snapshot_every: i64,
) -> CommandExecutor<BusinessClock> {
    CommandExecutor::new(PgEventStore::new(pool, inline, snapshot_every), ())
}

/// The Policy command executor, with contract → company over the contracts read model.
pub fn policy_executor(
    pool: PgPool,
    inline: Arc<[Arc<dyn ReadModel>]>,
    snapshot_every: i64,
) -> CommandExecutor<Policy> {
    let services = PolicyServices::new(Arc::new(views::lookups::PgContractLookup::new(
        pool.clone(),
    )));
    // Batches: the contracts file's policies.
    CommandExecutor::new(
        PgEventStore::new(pool, inline, snapshot_every),
        services.clone(),
    )
    .with_batches(services)
}

/// The ClientRequest command executor.
pub fn request_executor(
    pool: PgPool,
    inline: Arc<[Arc<dyn ReadModel>]>,
    snapshot_every: i64,
) -> CommandExecutor<ClientRequest> {
    CommandExecutor::new(PgEventStore::new(pool, inline, snapshot_every), ())
}

/// The executor of a content aggregate (News, FaqEntry, TermsOfUse): no services.
pub fn content_executor<A>(
    pool: PgPool,
    inline: Arc<[Arc<dyn ReadModel>]>,
    snapshot_every: i64,
) -> CommandExecutor<A>
where
    A: cqrs_es::Aggregate<Services = ()>,
    A::Command: Clone,
    A::Error: domain::failure::Rejection,
{
    CommandExecutor::new(PgEventStore::new(pool, inline, snapshot_every), ())
}
