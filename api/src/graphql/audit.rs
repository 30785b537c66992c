//! Auditors: the event log by any filter, the story of one correlation id, and the cabinet's entities as of
//! any instant (rebuilt from the events recorded up to it, `projections::asof`).

use std::sync::Arc;

use async_graphql::connection::Connection;
use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use projections::asof::{AsOf, Selection};
use projections::audit::{self, EventFilter};
use projections::runner::RunnerError;
use uuid::Uuid;

use super::contracts::{Contract, ContractAsOf};
use super::query::{cursor, page, page_size};
use super::types::{Company, Event};
use super::{allow, app, request};
use crate::auth::policy::{authorize, Operation};
use crate::error::ApiError;

/// Which events to read; every field narrows.
#[derive(Debug, Clone, Default, InputObject)]
pub struct EventFilterInput {
    /// Aggregate type: Company, Contract, Policy, ClientRequest, Document, EdoConnection, BusinessClock,
    /// News, FaqEntry, TermsOfUse.
    pub aggregate_type: Option<String>,
    /// Aggregate id.
    pub aggregate_id: Option<String>,
    /// Any of these event types.
    pub event_types: Option<Vec<String>>,
    /// Who caused them: `account:<uuid>` or `system:<process>`.
    pub actor: Option<String>,
    /// One request's or process's events.
    pub correlation_id: Option<String>,
    /// The events of one company's aggregates (the company, its contracts, policies, requests, documents,
    /// ЭДО connection).
    pub company_id: Option<Uuid>,
    /// Recorded at or after.
    pub recorded_from: Option<DateTime<Utc>>,
    /// Recorded before.
    pub recorded_to: Option<DateTime<Utc>>,
    /// Position at least.
    pub position_from: Option<i64>,
    /// Position at most.
    pub position_to: Option<i64>,
}

impl EventFilterInput {
    fn into_filter(self) -> Result<EventFilter, ApiError> {
        let text = |v: Option<String>, field: &str| -> Result<Option<String>, ApiError> {
            match v {
                Some(s) if s.trim().is_empty() || s.len() > 200 => Err(ApiError::validation(
                    format!("filter.{field}"),
                    "must be 1 to 200 characters",
                )),
                other => Ok(other),
            }
        };
        if let (Some(a), Some(b)) = (self.recorded_from, self.recorded_to) {
            if b <= a {
                return Err(ApiError::validation(
                    "filter.recordedTo",
                    "must be after recordedFrom",
                ));
            }
        }
        if let (Some(a), Some(b)) = (self.position_from, self.position_to) {
            if b < a {
                return Err(ApiError::validation(
                    "filter.positionTo",
                    "must not be below positionFrom",
                ));
            }
        }
        let event_types = self.event_types.unwrap_or_default();
        if event_types.len() > 50 {
            return Err(ApiError::validation(
                "filter.eventTypes",
                "at most 50 types",
            ));
        }
        Ok(EventFilter {
            aggregate_type: text(self.aggregate_type, "aggregateType")?,
            aggregate_id: text(self.aggregate_id, "aggregateId")?,
            event_types,
            actor: text(self.actor, "actor")?,
            correlation_id: text(self.correlation_id, "correlationId")?,
            company_id: self.company_id,
            recorded_from: self.recorded_from,
            recorded_to: self.recorded_to,
            position_from: self.position_from,
            position_to: self.position_to,
        })
    }
}

/// A notification an event of the story produced.
#[derive(Debug, Clone, SimpleObject)]
pub struct StoryNotification {
    /// Notification id.
    pub id: Uuid,
    /// Position of the event that produced it.
    pub position: i64,
    /// CLIENT or STAFF audience, as stored (`client`, `staff`).
    pub audience: String,
    /// Its kind (PAYMENT_RECEIVED, …).
    pub kind: String,
    /// The company (null: every client).
    pub company_id: Option<Uuid>,
    /// Its title (Russian).
    pub title: String,
}

/// A mail of the story.
#[derive(Debug, Clone, SimpleObject)]
pub struct StoryMail {
    /// Message-ID.
    pub message_id: String,
    /// Template.
    pub template: String,
    /// Recipient.
    pub recipient: String,
    /// Position of the event that caused it.
    pub caused_by: Option<i64>,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Delivered (null: not yet).
    pub sent_at: Option<DateTime<Utc>>,
    /// Refused for good by the transport.
    pub failed_at: Option<DateTime<Utc>>,
    /// Delivery attempts so far.
    pub attempts: i32,
}

/// Everything one request or process caused, across aggregates: its events in commit order, the
/// notifications they produced, the mails they caused.
#[derive(Debug, Clone, SimpleObject)]
pub struct Correlation {
    /// The correlation id.
    pub id: String,
    /// Its events, in commit order (at most 1,000).
    pub events: Vec<Event>,
    /// More events exist than `events` holds.
    pub truncated: bool,
    /// Notifications produced by those events.
    pub notifications: Vec<StoryNotification>,
    /// Mails caused by them, in the order they were queued.
    pub mails: Vec<StoryMail>,
}

const STORY_LIMIT: i64 = 1_000;

/// The auditors' queries.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Events of the log by any combination of filters, in position order (auditors and admins). Payloads
    /// stored with an older version are shown upcast to the current one; `storedVersion` names the stored
    /// one.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EventFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Event>> {
        allow(ctx, Operation::ReadEvents)?;
        let limit = page_size(first)?;
        let after = cursor(after)?;
        let filter = filter.unwrap_or_default().into_filter()?;
        let events = audit::list_events(&app(ctx).pool, &filter, after, limit + 1)
            .await
            .map_err(ApiError::from)?;
        Ok(page(events, limit, after.is_some(), |e| {
            (e.position.to_string(), Event::from(e))
        }))
    }

    /// The story of one correlation id (an HTTP request's `X-Correlation-Id` or request id, a business day
    /// `business-day:YYYY-MM-DD`): every event it caused across aggregates in commit order, the
    /// notifications those events produced and the mails they caused (auditors and admins).
    async fn correlation(&self, ctx: &Context<'_>, id: String) -> Result<Correlation> {
        allow(ctx, Operation::ReadEvents)?;
        if id.trim().is_empty() || id.len() > 200 {
            return Err(ApiError::validation("id", "must be 1 to 200 characters").into());
        }
        let mut s = audit::story(&app(ctx).pool, &id, STORY_LIMIT + 1)
            .await
            .map_err(ApiError::from)?;
        let truncated = s.events.len() as i64 > STORY_LIMIT;
        s.events.truncate(STORY_LIMIT as usize);
        Ok(Correlation {
            id,
            events: s.events.into_iter().map(Event::from).collect(),
            truncated,
            notifications: s
                .notifications
                .into_iter()
                .map(|n| StoryNotification {
                    id: n.id,
                    position: n.position,
                    audience: n.audience,
                    kind: n.kind,
                    company_id: n.company_id,
                    title: n.title,
                })
                .collect(),
            mails: s
                .mails
                .into_iter()
                .map(|m| StoryMail {
                    message_id: m.message_id,
                    template: m.template,
                    recipient: m.recipient,
                    caused_by: m.caused_by,
                    created_at: m.created_at,
                    sent_at: m.sent_at,
                    failed_at: m.failed_at,
                    attempts: m.attempts,
                })
                .collect(),
        })
    }
}

// ---------------------------------------------------------------------------------------------------------
// As of an instant

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

fn replay_error(e: RunnerError) -> ApiError {
    ApiError::Internal(anyhow::Error::new(e).context("as-of reconstruction"))
}

fn not_at(what: &str, id: Uuid, at: DateTime<Utc>) -> ApiError {
    ApiError::NotFound(format!("{what} {id} did not exist at {}", at.to_rfc3339()))
}

async fn ids(pool: &sqlx::PgPool, sql: &str, key: Uuid) -> Result<Vec<String>, ApiError> {
    Ok(sqlx::query_scalar(sql).bind(key).fetch_all(pool).await?)
}

/// The contract as of `at`: its rows, schedule, payments, fines and debt from its events (and its policies'
/// and the business days') recorded up to `at`.
pub(crate) async fn contract_as_of(
    ctx: &Context<'_>,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<Contract, ApiError> {
    let at = history_allowed(ctx, at)?;
    let pool = &app(ctx).pool;
    let policies = ids(
        pool,
        "SELECT policy_id::text FROM policies_view WHERE contract_id = $1",
        id,
    )
    .await?;
    let mut a = AsOf::begin(pool, at).await?;
    a.replay(
        &projections::contracts::ContractsProjection,
        &Selection::of("Contract", [id.to_string()])
            .and("Policy", policies)
            .with_business_days(),
    )
    .await
    .map_err(replay_error)?;
    let conn = a.conn();
    let view = projections::contracts::load_contract(&mut *conn, id)
        .await?
        .ok_or_else(|| not_at("contract", id, at))?;
    let rows = ContractAsOf {
        schedule: projections::contracts::load_schedules(&mut *conn, &[id]).await?,
        payments: projections::contracts::load_payments(&mut *conn, id).await?,
        fines: projections::contracts::load_fines(&mut *conn, id).await?,
        debt: projections::contracts::load_contract_debts(&mut *conn, &[id])
            .await?
            .into_iter()
            .next(),
    };
    let mut c = Contract::from(view);
    c.as_of = Some(Arc::new(rows));
    Ok(c)
}

/// The company as of `at` (`None`: not registered yet).
pub(crate) async fn company_as_of(
    ctx: &Context<'_>,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<Company>, ApiError> {
    let at = history_allowed(ctx, at)?;
    let mut a = AsOf::begin(&app(ctx).pool, at).await?;
    a.replay(
        &projections::companies::CompaniesProjection,
        &Selection::of("Company", [id.to_string()]),
    )
    .await
    .map_err(replay_error)?;
    Ok(projections::companies::load_company(a.conn(), id)
        .await?
        .map(Company::from))
}

/// A company's debt as of `at`: every contract and policy of the company replayed up to `at`.
pub(crate) async fn debt_as_of(
    ctx: &Context<'_>,
    company_id: Uuid,
    at: DateTime<Utc>,
) -> Result<super::contracts::CompanyDebt, ApiError> {
    let at = history_allowed(ctx, at)?;
    let pool = &app(ctx).pool;
    let contracts = ids(
        pool,
        "SELECT contract_id::text FROM contracts_view WHERE company_id = $1",
        company_id,
    )
    .await?;
    let policies = ids(
        pool,
        "SELECT policy_id::text FROM policies_view WHERE company_id = $1",
        company_id,
    )
    .await?;
    let mut a = AsOf::begin(pool, at).await?;
    a.replay(
        &projections::contracts::ContractsProjection,
        &Selection::of("Contract", contracts)
            .and("Policy", policies)
            .with_business_days(),
    )
    .await
    .map_err(replay_error)?;
    let d = projections::contracts::load_company_debt(a.conn(), company_id).await?;
    Ok(super::contracts::company_debt_from(company_id, d))
}

/// The policy as of `at`, with its installments and insured events.
pub(crate) async fn policy_as_of(
    ctx: &Context<'_>,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<super::insurance::Policy, ApiError> {
    let at = history_allowed(ctx, at)?;
    let mut a = AsOf::begin(&app(ctx).pool, at).await?;
    a.replay(
        &projections::contracts::ContractsProjection,
        &Selection::of("Policy", [id.to_string()]).with_business_days(),
    )
    .await
    .map_err(replay_error)?;
    let conn = a.conn();
    let view = projections::policies::load_policy(&mut *conn, id)
        .await?
        .ok_or_else(|| not_at("policy", id, at))?;
    super::insurance::with_children_on(conn, vec![view])
        .await?
        .pop()
        .ok_or_else(|| not_at("policy", id, at))
}

/// The request as of `at`, with its history and the documents issued for it by then.
pub(crate) async fn request_as_of(
    ctx: &Context<'_>,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<super::requests::Request, ApiError> {
    let at = history_allowed(ctx, at)?;
    let pool = &app(ctx).pool;
    let documents = ids(
        pool,
        "SELECT document_id::text FROM exchange_documents_view WHERE request_id = $1",
        id,
    )
    .await?;
    let mut a = AsOf::begin(pool, at).await?;
    a.replay(
        &projections::requests::RequestsProjection,
        &Selection::of("ClientRequest", [id.to_string()]).with_business_days(),
    )
    .await
    .map_err(replay_error)?;
    a.replay(
        &projections::documents::DocumentsProjection,
        &Selection::of("ClientRequest", [id.to_string()]).and("Document", documents),
    )
    .await
    .map_err(replay_error)?;
    let conn = a.conn();
    let view = projections::requests::load_request(&mut *conn, id)
        .await?
        .ok_or_else(|| not_at("request", id, at))?;
    let history = projections::requests::load_history(&mut *conn, &[id]).await?;
    let docs = projections::documents::request_documents(&mut *conn, id).await?;
    let mut r = super::requests::Request::with_rows(view, history);
    r.as_of_documents = Some(docs);
    Ok(r)
}
