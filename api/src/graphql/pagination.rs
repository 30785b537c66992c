//! The one paging rule of every connection: `first` (20 by default, at most 100) and `after` (a cursor the
//! same connection gave), and the page built from `limit + 1` rows.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use uuid::Uuid;

use crate::error::ApiError;

/// Default and maximum page sizes of connections.
pub(crate) const DEFAULT_PAGE: i32 = 20;
/// The largest page a connection serves.
pub(crate) const MAX_PAGE: i32 = 100;

/// The page size `first` asks for: 20 when absent, 1 to 100.
///
/// # Errors
/// VALIDATION on `first` outside 1 to 100.
pub(crate) fn page_size(first: Option<i32>) -> Result<i64, ApiError> {
    match first.unwrap_or(DEFAULT_PAGE) {
        n if (1..=MAX_PAGE).contains(&n) => Ok(i64::from(n)),
        _ => Err(ApiError::invalid(
            "first",
            crate::error::Reason::OutOfRange {
                min: 1,
                max: i64::from(MAX_PAGE),
            },
            format!("must be between 1 and {MAX_PAGE}"),
        )),
    }
}

/// A position cursor of a connection paged by position.
///
/// # Errors
/// VALIDATION on `after` when it is not such a cursor.
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
    page_with(rows, limit, has_previous, EmptyFields, edge)
}

/// [`page`] with fields of the connection's own (`totalCount`).
pub(crate) fn page_with<R, N: async_graphql::OutputType, F: async_graphql::ObjectType>(
    rows: Vec<R>,
    limit: i64,
    has_previous: bool,
    fields: F,
    edge: impl FnMut(R) -> (String, N),
) -> Connection<String, N, F> {
    let has_next = rows.len() as i64 > limit;
    let mut conn = Connection::with_additional_fields(has_previous, has_next, fields);
    conn.edges.extend(
        rows.into_iter()
            .take(limit as usize)
            .map(edge)
            .map(|(cursor, node)| Edge::new(cursor, node)),
    );
    conn
}

/// How many items the whole list has (with its filters), not only the page.
#[derive(Debug, Clone, Copy, async_graphql::SimpleObject)]
pub struct Total {
    /// How many items the list has with these filters, over every page.
    pub total_count: i64,
}

/// The list's total from `count` when the query selects `totalCount` (one more query), else 0 (not
/// shown).
pub(crate) async fn total<F>(ctx: &async_graphql::Context<'_>, count: F) -> Result<Total, ApiError>
where
    F: std::future::Future<Output = Result<i64, sqlx::Error>>,
{
    let total_count = if ctx.look_ahead().field("totalCount").exists() {
        count.await?
    } else {
        0
    };
    Ok(Total { total_count })
}

/// Whether the page's nodes select any of `fields`, through `edges { node { … } }` or `nodes { … }`: what
/// they select is then read for the whole page in one query rather than node by node.
pub(crate) fn nodes_select(ctx: &async_graphql::Context<'_>, fields: &[&str]) -> bool {
    let page = ctx.look_ahead();
    let (edges, nodes) = (page.field("edges").field("node"), page.field("nodes"));
    fields
        .iter()
        .any(|f| edges.field(f).exists() || nodes.field(f).exists())
}

/// A connection over a list the parent object already holds (a request's history, loaded with its page in
/// one query): the same `first`/`after` rule, cursors are places in the list, `totalCount` its length.
///
/// # Errors
/// VALIDATION on `first` or `after`.
pub(crate) fn slice<N: async_graphql::OutputType + Clone>(
    items: &[N],
    first: Option<i32>,
    after: Option<String>,
) -> Result<Connection<String, N, Total>, ApiError> {
    let limit = page_size(first)?;
    let start = match cursor(after)? {
        Some(c) if c >= 0 && (c as usize) < items.len() => c as usize + 1,
        Some(_) => {
            return Err(ApiError::validation(
                "after",
                "not a cursor returned by this connection",
            ))
        }
        None => 0,
    };
    let total = Total {
        total_count: items.len() as i64,
    };
    let rest: Vec<(usize, N)> = items
        .iter()
        .cloned()
        .enumerate()
        .skip(start)
        .take(limit as usize + 1)
        .collect();
    Ok(page_with(rest, limit, start > 0, total, |(i, n)| {
        (i.to_string(), n)
    }))
}

/// [`page_with`] a `totalCount` of `count` (run only when the query selects it): every root list that
/// counts its pages.
///
/// # Errors
/// A database error of the count.
pub(crate) async fn counted<R, N, C>(
    ctx: &async_graphql::Context<'_>,
    rows: Vec<R>,
    limit: i64,
    has_previous: bool,
    count: C,
    edge: impl FnMut(R) -> (String, N),
) -> Result<Connection<String, N, Total>, ApiError>
where
    N: async_graphql::OutputType,
    C: std::future::Future<Output = Result<i64, sqlx::Error>>,
{
    let total = total(ctx, count).await?;
    Ok(page_with(rows, limit, has_previous, total, edge))
}
