//! `GET /exports/{schedule|payments|reconciliation}.{xlsx|csv}?contractId=…` (or `?companyId=…` for every
//! contract of a company; the act takes `from` and `to`, YYYY-MM-DD) with `Authorization: Bearer …`:
//! spreadsheets for accountants (`app::exports`), authorized as the screens they mirror — the schedule and
//! payments as `contract`, the act as `reconciliation`. A contract or company the caller does not see is
//! NOT_FOUND, as an unknown one.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::NaiveDate;
use uuid::Uuid;

use super::downloads::{attachment, error_response};
use super::headers::bearer_token;
use crate::app::documents::DocumentService;
use crate::app::exports::{self, Format, Scope, What};
use crate::auth::policy::{authorize, sees_company, Operation};
use crate::auth::sessions::{self, SessionPolicy};
use crate::error::ApiError;

/// State of the export route.
#[derive(Clone)]
pub struct ExportState {
    /// Session expiry.
    pub sessions: SessionPolicy,
    /// The read models, events and the lessor.
    pub docs: DocumentService,
}

/// `GET /exports/{file}`.
pub async fn export(
    State(s): State<ExportState>,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match serve(&s, &file, &query, &headers).await {
        Ok(r) => r,
        Err(e) => error_response(e, "export"),
    }
}

fn uuid(query: &HashMap<String, String>, key: &str) -> Result<Option<Uuid>, ApiError> {
    query
        .get(key)
        .map(|v| {
            v.parse()
                .map_err(|_| ApiError::validation(key, "is not a UUID"))
        })
        .transpose()
}

fn date(query: &HashMap<String, String>, key: &str) -> Result<Option<NaiveDate>, ApiError> {
    query
        .get(key)
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| ApiError::validation(key, "is not a date (YYYY-MM-DD)"))
        })
        .transpose()
}

async fn serve(
    s: &ExportState,
    file: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let token = bearer_token(headers).ok_or_else(|| {
        ApiError::Unauthenticated("sign in: send Authorization: Bearer <token> from login".into())
    })?;
    let actor = sessions::resolve(&s.docs.pool, &token, s.sessions).await?;
    let (what, format) = match file.rsplit_once('.') {
        Some((w, f)) => {
            let what = match w {
                "schedule" => What::Schedule,
                "payments" => What::Payments,
                "reconciliation" => What::Reconciliation,
                _ => return Err(ApiError::NotFound(format!("no export {file}"))),
            };
            let format = match f {
                "xlsx" => Format::Xlsx,
                "csv" => Format::Csv,
                _ => return Err(ApiError::NotFound(format!("no export {file}"))),
            };
            (what, format)
        }
        None => return Err(ApiError::NotFound(format!("no export {file}"))),
    };
    let (scope, company) = match (uuid(query, "contractId")?, uuid(query, "companyId")?) {
        (Some(c), None) => {
            let company = projections::views::contracts::contract_company(&s.docs.pool, c)
                .await?
                .ok_or_else(|| ApiError::NotFound("contract not found".into()))?;
            (Scope::Contract(c), company)
        }
        (None, Some(company)) => (Scope::Company(company), company),
        _ => {
            return Err(ApiError::validation(
                "contractId",
                "give either contractId or companyId",
            ))
        }
    };
    if !actor.as_ref().is_some_and(|a| sees_company(a, company)) {
        return Err(ApiError::NotFound("not found".into()));
    }
    let op = match what {
        What::Reconciliation => Operation::ReadExchange(company),
        _ => Operation::ReadContracts(company),
    };
    authorize(actor.as_ref(), op)?;
    let period = match (date(query, "from")?, date(query, "to")?) {
        (Some(f), Some(t)) => Some((f, t)),
        (None, None) => None,
        _ => return Err(ApiError::validation("to", "give both from and to")),
    };
    let export = exports::export(&s.docs, what, scope, period, format).await?;
    Ok(attachment(export.content_type, &export.name, export.bytes))
}
