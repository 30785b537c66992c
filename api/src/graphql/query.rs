//! Queries.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};
use projections::engine::asof::{AsOf, Selection};
use projections::views::companies::{list_companies, load_company, CompanyFilter};
use uuid::Uuid;

use super::context::{allow, app};
use super::pagination::{cursor, page_size};
use super::types::{Company, Me};
use crate::auth::policy::Operation;
use crate::error::ApiError;

/// Read access to the cabinet.
#[derive(Default)]
pub struct CoreQuery;

#[Object]
impl CoreQuery {
    /// The signed-in account.
    async fn me(&self, ctx: &Context<'_>) -> Result<Me> {
        let (actor, _) = allow(ctx, Operation::Me)?;
        Ok(Me::from(actor))
    }

    /// One company; `null` when it does not exist. A client may read only its own companies. With `asOf`
    /// (staff): as it was at that instant, from the events recorded up to it (`null` before registration).
    async fn company(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        as_of: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Option<Company>> {
        if let Some(at) = as_of {
            return Ok(company_as_of(ctx, id, at).await?);
        }
        allow(ctx, Operation::ReadCompany(id))?;
        Ok(load_company(&app(ctx).pool, id)
            .await
            .map_err(ApiError::from)?
            .map(Company::from))
    }

    /// Companies in registration order. Staff see all; a client sees the companies it is linked to.
    /// `search`: an ИНН prefix (digits) or part of the name (case-insensitive).
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn companies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
    ) -> Result<Connection<String, Company, super::pagination::Total>> {
        let (actor, _) = allow(ctx, Operation::ListCompanies)?;
        let limit = page_size(first)?;
        let after = cursor(after)?;
        let filter = CompanyFilter {
            only: (!actor.is_staff()).then(|| actor.companies()),
            search,
            after,
        };
        let rows = list_companies(&app(ctx).pool, &filter, limit + 1)
            .await
            .map_err(ApiError::from)?;
        Ok(super::pagination::counted(
            ctx,
            rows,
            limit,
            after.is_some(),
            projections::views::companies::count_companies(&app(ctx).pool, &filter),
            |v| (v.registered_position.to_string(), Company::from(v)),
        )
        .await?)
    }
}

/// The company as of `at` (`None`: not registered yet).
pub(crate) async fn company_as_of(
    ctx: &Context<'_>,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<Company>, ApiError> {
    let at = super::history::history_allowed(ctx, at)?;
    let mut a = AsOf::begin(&app(ctx).pool, at).await?;
    a.replay(
        &projections::views::companies::CompaniesProjection,
        &Selection::of("Company", [id.to_string()]),
    )
    .await
    .map_err(super::history::replay_error)?;
    Ok(projections::views::companies::load_company(a.conn(), id)
        .await?
        .map(Company::from))
}
