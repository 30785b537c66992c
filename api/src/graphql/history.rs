//! History: reconstructing an entity as of an instant (`projections::engine::asof`) is for staff, never
//! for an instant in the future; what each feature shares to do it.

use async_graphql::Context;
use chrono::{DateTime, Utc};
use projections::engine::runner::RunnerError;
use uuid::Uuid;

use super::context::request;
use crate::auth::policy::{authorize, Operation};
use crate::error::ApiError;

/// Checks the caller may reconstruct history (staff) and that `at` is not in the future. UNAUTHENTICATED
/// and FORBIDDEN come before any look-up.
pub(crate) fn history_allowed(
    ctx: &Context<'_>,
    at: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    let req = request(ctx)?;
    authorize(req.actor.as_ref(), Operation::ReadHistory)?;
    if at > Utc::now() {
        return Err(ApiError::validation("asOf", "is in the future"));
    }
    Ok(at)
}

pub(crate) fn replay_error(e: RunnerError) -> ApiError {
    ApiError::Internal(anyhow::Error::new(e).context("as-of reconstruction"))
}

pub(crate) fn not_at(what: &str, id: Uuid, at: DateTime<Utc>) -> ApiError {
    ApiError::NotFound(format!("{what} {id} did not exist at {}", at.to_rfc3339()))
}

pub(crate) async fn ids(
    pool: &sqlx::PgPool,
    sql: &str,
    key: Uuid,
) -> Result<Vec<String>, ApiError> {
    Ok(sqlx::query_scalar(sql).bind(key).fetch_all(pool).await?)
}
