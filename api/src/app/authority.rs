//! Signing authority in the cabinet: before a client signs, refuses or annuls a document, or submits a
//! request that commits its company, the person's role there and the company's powers of attorney in force
//! (read in the command's own view of the log: the inline `powers_of_attorney_view`) are put to the one
//! rule, `domain::company::authority`, on today's business date.

use domain::company::{authority, Act, Authority, AuthorityError};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::accounts::BUSINESS_TODAY;
use crate::auth::Actor;
use crate::error::ApiError;

/// On what ground `actor` may do `act` for `company`, naming the power of attorney `named` (the input
/// `field` that names it, for the refusal). Staff act for the lessor, not the company: they need none.
///
/// # Errors
/// FORBIDDEN `SIGNING_AUTHORITY_REQUIRED` without authority; VALIDATION on `field` when the power named
/// does not cover the act; a database error.
pub async fn check(
    pool: &PgPool,
    actor: &Actor,
    company: Uuid,
    act: Act,
    named: Option<Uuid>,
    field: &str,
) -> Result<Authority, ApiError> {
    if actor.is_staff() {
        return Ok(Authority::NotNeeded);
    }
    let role = actor
        .role_in(company)
        .ok_or_else(|| ApiError::forbidden("this company is not one of yours"))?;
    if let Act::Submit(kind) = act {
        if !kind.commits_company() && named.is_none() {
            return Ok(Authority::NotNeeded);
        }
    }
    let date: chrono::NaiveDate = sqlx::query_scalar(&format!("SELECT {BUSINESS_TODAY}"))
        .fetch_one(pool)
        .await?;
    let powers: Vec<_> = projections::views::companies::powers_of_attorney(pool, company, true)
        .await?
        .iter()
        .map(|p| p.power())
        .collect();
    authority(role, actor.account_id, act, date, &powers, named).map_err(|e| match e {
        AuthorityError::NoAuthority => ApiError::Forbidden {
            code: "SIGNING_AUTHORITY_REQUIRED",
            message: format!(
                "{e} (your role in the company: {}; business date {date})",
                role.as_str()
            ),
        },
        AuthorityError::PowerDoesNotCover { .. } => ApiError::validation(field, e.to_string()),
    })
}
