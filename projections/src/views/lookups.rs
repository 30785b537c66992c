//! The read-model look-ups the aggregates' domain services need on the write side: a company by ИНН+КПП,
//! whether a company exists, a contract's lessee. They read the read models but are no part of them (a
//! read model never serves the write side), and the write side never writes through them.

use async_trait::async_trait;
use domain::company::CompanyLookup;
use domain::contract::CompanyDirectory;
use domain::failure::LookupFailed;
use domain::values::{Inn, Kpp};
use sqlx::PgPool;
use uuid::Uuid;

/// The ИНН+КПП look-up over the read model, for the Company aggregate's uniqueness rule.
pub struct PgCompanyLookup {
    pool: PgPool,
}

impl PgCompanyLookup {
    /// A look-up on `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl CompanyLookup for PgCompanyLookup {
    async fn find_by_inn_kpp(
        &self,
        inn: &Inn,
        kpp: Option<&Kpp>,
    ) -> Result<Option<Uuid>, LookupFailed> {
        sqlx::query_scalar(
            "SELECT company_id FROM companies_view WHERE inn = $1 AND kpp IS NOT DISTINCT FROM $2",
        )
        .bind(inn.as_str())
        .bind(kpp.map(Kpp::as_str))
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| LookupFailed {
            what: "company by ИНН and КПП",
            cause: e.to_string(),
        })
    }
}

/// Company existence over the companies read model, for the Contract aggregate.
pub struct PgCompanyDirectory {
    pool: PgPool,
}

impl PgCompanyDirectory {
    /// A directory on `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl CompanyDirectory for PgCompanyDirectory {
    async fn company_exists(&self, company_id: Uuid) -> Result<bool, LookupFailed> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM companies_view WHERE company_id = $1)")
            .bind(company_id)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| LookupFailed {
                what: "company",
                cause: e.to_string(),
            })
    }
}

/// The lessee of a contract, over `contracts_view` (the Policy aggregate's look-up).
pub struct PgContractLookup {
    pool: PgPool,
}

impl PgContractLookup {
    /// Over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl domain::policy::ContractLookup for PgContractLookup {
    async fn contract_company(&self, contract_id: Uuid) -> Result<Option<Uuid>, LookupFailed> {
        crate::views::contracts::contract_company(&self.pool, contract_id)
            .await
            .map_err(|e| LookupFailed {
                what: "contract's lessee",
                cause: e.to_string(),
            })
    }
}
