//! Auditors: the event log by any filter, the story of one correlation id, and the cabinet's entities as of
//! any instant (rebuilt from the events recorded up to it, `projections::engine::asof`).

use crate::graphql::scalars::Date;
use async_graphql::connection::Connection;
use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use projections::log::audit::{self, EventFilter};
use uuid::Uuid;

use super::context::{allow, app};
use super::pagination::{cursor, page, page_size};
use super::position::Position;
use super::types::Event;
use crate::auth::policy::Operation;
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
    /// At this event's position or after it.
    pub position_from: Option<Position>,
    /// At this event's position or before it.
    pub position_to: Option<Position>,
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
            position_from: self.position_from.map(|p| p.event),
            position_to: self.position_to.map(|p| p.event),
        })
    }
}

/// A notification an event of the story produced.
#[derive(Debug, Clone, SimpleObject)]
pub struct StoryNotification {
    /// Notification id.
    pub id: Uuid,
    /// The place of the event that produced it.
    pub position: Position,
    /// Who it is for.
    pub audience: super::enums::Audience,
    /// What it is about.
    pub kind: super::notifications::NotificationKind,
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
    /// The place of the event that caused it.
    pub caused_by: Option<Position>,
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
#[graphql(complex)]
pub struct Correlation {
    /// The correlation id.
    pub id: String,
    /// More than 1,000 events have this id: `notifications` and `mails` are those of the first 1,000
    /// (`events` pages through all of them).
    pub truncated: bool,
    #[graphql(skip)]
    pub(crate) notifications: Vec<StoryNotification>,
    #[graphql(skip)]
    pub(crate) mails: Vec<StoryMail>,
}

#[async_graphql::ComplexObject]
impl Correlation {
    /// Its events, in commit order, page by page (as `events(filter: { correlationId })`).
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Event>> {
        let limit = page_size(first)?;
        let after = cursor(after)?;
        let filter = EventFilter {
            correlation_id: Some(self.id.clone()),
            ..EventFilterInput::default().into_filter()?
        };
        let events = audit::list_events(&app(ctx).pool, &filter, after, limit + 1)
            .await
            .map_err(ApiError::from)?;
        Ok(page(events, limit, after.is_some(), |e| {
            (e.position.to_string(), Event::from(e))
        }))
    }

    /// Notifications produced by its events, in the order they were produced.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn notifications(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, StoryNotification, super::pagination::Total>> {
        Ok(super::pagination::slice(&self.notifications, first, after)?)
    }

    /// Mails caused by them, in the order they were queued.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn mails(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, StoryMail, super::pagination::Total>> {
        Ok(super::pagination::slice(&self.mails, first, after)?)
    }
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
            truncated,
            notifications: s
                .notifications
                .into_iter()
                .map(|n| {
                    Ok(StoryNotification {
                        id: n.id,
                        position: Position::event(n.position),
                        audience: super::enums::Audience::from_stored(&n.audience)?,
                        kind: projections::views::notifications::NotificationKind::parse(&n.kind)
                            .map(Into::into)
                            .ok_or_else(|| {
                                crate::graphql::enums::unknown_stored("notifications.kind", &n.kind)
                            })?,
                        company_id: n.company_id,
                        title: n.title,
                    })
                })
                .collect::<Result<_, ApiError>>()?,
            mails: s
                .mails
                .into_iter()
                .map(|m| StoryMail {
                    message_id: m.message_id,
                    template: m.template,
                    recipient: m.recipient,
                    caused_by: m.caused_by.map(Position::event),
                    created_at: m.created_at,
                    sent_at: m.sent_at,
                    failed_at: m.failed_at,
                    attempts: m.attempts,
                })
                .collect(),
        })
    }
    /// The acts of destruction of personal data, newest first (auditors and admins): ground, categories,
    /// account and company ids, the destroyed subjects' ids, what was removed, dates, the log position of
    /// the `PersonalDataDestroyed` event — never a personal value — and the act as a PDF.
    async fn personal_data_destructions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> Result<Vec<PersonalDataDestruction>> {
        allow(ctx, Operation::ReadEvents)?;
        let limit = page_size(first)?;
        let acts = crate::app::personal_data::acts(&app(ctx).pool, limit)
            .await
            .map_err(ApiError::from)?;
        Ok(acts.into_iter().map(PersonalDataDestruction).collect())
    }
}

/// An act of destruction of personal data.
pub struct PersonalDataDestruction(crate::app::personal_data::Act);

#[Object]
impl PersonalDataDestruction {
    /// The destruction's id (the act's number).
    async fn id(&self) -> Uuid {
        self.0.destruction_id
    }
    /// Why: `account_deleted`, `retention_expired`, `consent_withdrawn`.
    async fn ground(&self) -> &str {
        &self.0.ground
    }
    /// Categories of data destroyed.
    async fn categories(&self) -> &[String] {
        &self.0.categories
    }
    /// The account destroyed, if any.
    async fn account_id(&self) -> Option<Uuid> {
        self.0.account_id
    }
    /// The company whose persons' data was destroyed, if any.
    async fn company_id(&self) -> Option<Uuid> {
        self.0.company_id
    }
    /// The data subjects whose keys were destroyed (identifiers that reveal nothing).
    async fn subjects(&self) -> &[Uuid] {
        &self.0.subjects
    }
    /// What was removed or blanked, by place (counts).
    async fn removed(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.0.removed.clone())
    }
    /// The business date it was done on.
    async fn business_date(&self) -> Date {
        self.0.business_date.into()
    }
    /// When.
    async fn destroyed_at(&self) -> DateTime<Utc> {
        self.0.destroyed_at
    }
    /// The deadline it met, if any.
    async fn due_by(&self) -> Option<DateTime<Utc>> {
        self.0.due_by
    }
    /// The position of its `PersonalDataDestroyed` event in the log.
    async fn position(&self) -> Option<Position> {
        self.0.position.map(Position::event)
    }
    /// The act (акт об уничтожении персональных данных) as a PDF, base64.
    async fn act_pdf_base64(&self, ctx: &Context<'_>) -> String {
        use base64::Engine as _;
        let lessor = &app(ctx).document_service.lessor;
        base64::engine::general_purpose::STANDARD.encode(crate::app::personal_data::act_pdf(
            &self.0,
            &lessor.organisation,
            &lessor.signatory,
        ))
    }
}
