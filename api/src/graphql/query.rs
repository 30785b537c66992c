//! Queries.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};
use projections::companies::{list_companies, load_company, CompanyFilter};
use uuid::Uuid;

use super::types::{Company, Me};
use super::{allow, app};
use crate::auth::policy::Operation;
use crate::error::ApiError;

/// Default and maximum page sizes of connections.
const DEFAULT_PAGE: i32 = 20;
const MAX_PAGE: i32 = 100;

pub(crate) fn page_size(first: Option<i32>) -> Result<i64, ApiError> {
    match first.unwrap_or(DEFAULT_PAGE) {
        n if (1..=MAX_PAGE).contains(&n) => Ok(i64::from(n)),
        _ => Err(ApiError::validation(
            "first",
            format!("must be between 1 and {MAX_PAGE}"),
        )),
    }
}

pub(crate) fn cursor(after: Option<String>) -> Result<Option<i64>, ApiError> {
    after
        .map(|a| {
            a.parse::<i64>().map_err(|_| {
                ApiError::validation("after", "not a cursor returned by this connection")
            })
        })
        .transpose()
}

/// A `<sort key>|<id>` cursor of a keyset-paged list.
pub(crate) fn pair_cursor<T: std::str::FromStr>(
    after: Option<String>,
) -> Result<Option<(T, Uuid)>, ApiError> {
    after
        .map(|a| {
            a.split_once('|')
                .and_then(|(k, id)| Some((k.parse().ok()?, id.parse().ok()?)))
                .ok_or_else(|| ApiError::validation("after", "not a cursor from this list"))
        })
        .transpose()
}

/// A page of a connection from `rows` fetched with `limit + 1`: the extra row only says there is a next
/// page. `edge` gives each kept row's cursor and node.
pub(crate) fn page<R, N: async_graphql::OutputType>(
    rows: Vec<R>,
    limit: i64,
    has_previous: bool,
    edge: impl FnMut(R) -> (String, N),
) -> Connection<String, N> {
    let has_next = rows.len() as i64 > limit;
    let mut conn = Connection::new(has_previous, has_next);
    conn.edges.extend(
        rows.into_iter()
            .take(limit as usize)
            .map(edge)
            .map(|(cursor, node)| Edge::new(cursor, node)),
    );
    conn
}

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
            return Ok(super::audit::company_as_of(ctx, id, at).await?);
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
    ) -> Result<Connection<String, Company>> {
        let (actor, _) = allow(ctx, Operation::ListCompanies)?;
        let limit = page_size(first)?;
        let after = cursor(after)?;
        let filter = CompanyFilter {
            only: (!actor.is_staff()).then(|| actor.companies.clone()),
            search,
            after,
        };
        let rows = list_companies(&app(ctx).pool, &filter, limit + 1)
            .await
            .map_err(ApiError::from)?;
        Ok(page(rows, limit, after.is_some(), |v| {
            (v.registered_position.to_string(), Company::from(v))
        }))
    }
}
