//! Notifications over GraphQL: the list, the unread count, read marks and mail preferences.

use crate::graphql::scalars::Date;
use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use projections::views::notifications::NotificationKind as DomainKind;
use uuid::Uuid;

use super::context::{allow, app};
use super::enums::graphql_enum;
use super::pagination::page_size;
use crate::app::notifications::{self as service, NotificationRow, Position, Scope};
use crate::auth::policy::Operation;
use crate::auth::Actor;
use crate::error::ApiError;

graphql_enum!(NotificationKind, DomainKind, "What a notification is about.", {
    ContractConcluded => ContractConcluded, "A leasing contract was concluded.";
    ContractActivated => ContractActivated, "The asset was handed over; the contract is in force.";
    PaymentReceived => PaymentReceived, "A payment was received, with what it paid.";
    PaymentDueSoon => PaymentDueSoon, "A schedule payment is due in 5 days or less.";
    PaymentDueToday => PaymentDueToday, "A schedule payment is due today.";
    PaymentOverdue => PaymentOverdue, "A schedule payment was not received by its deadline (mailed by default).";
    PenaltyAccrued => PenaltyAccrued, "Penalties started accruing on an overdue payment.";
    FineRegistered => FineRegistered, "A traffic fine was re-billed.";
    PolicyExpiring => PolicyExpiring, "An insurance policy ends within 30 days.";
    PolicyExpired => PolicyExpired, "An insurance policy ended.";
    RequestStatusChanged => RequestStatusChanged, "A request was taken into review.";
    RequestDecided => RequestDecided, "A request was completed or rejected (mailed by default).";
    RequestQuestion => RequestQuestion, "Staff asked a question on a request (mailed by default).";
    RequestComment => RequestComment, "Staff commented on a request.";
    DocumentAvailable => DocumentAvailable, "A document is available to download.";
    EdoStatusChanged => EdoStatusChanged, "The state of the ЭДО connection changed (mailed by default).";
    TermsChanged => TermsChanged, "A new version of the terms of use was published.";
    NewsPublished => NewsPublished, "News was published.";
    RequestSubmitted => RequestSubmitted, "Staff: a client filed a request.";
    RequestClientReply => RequestClientReply, "Staff: a client commented or sent a file on a request.";
    RequestWithdrawn => RequestWithdrawn, "Staff: a client withdrew a request.";
    RequestEffectFailed => RequestEffectFailed, "Staff: a completed request's change was refused.";
    SignatureRequested => SignatureRequested, "The lessor took a signing step on a document: sent it to sign, received, signed, refused or annulled it (mailed by default).";
    DocumentFromClient => DocumentFromClient, "Staff: a client uploaded a document or took a signing step.";
    ConversationMessage => ConversationMessage, "The lessor wrote in the company's conversation (mailed by default).";
    ConversationMessageFromClient => ConversationMessageFromClient, "Staff: a client wrote in the company's conversation (the company's manager first; mailed by default).";
    NotificationEscalated => NotificationEscalated, "Staff: a notification the company's manager left unread was handed to the back office (mailed by default).";
});

pub use super::enums::Language;

/// What a notification links to.
#[derive(Debug, Clone, SimpleObject)]
pub struct NotificationLink {
    /// What kind of thing (and so what `id` is).
    pub entity_type: super::enums::EntityType,
    /// The entity's id.
    pub id: String,
}

/// Something the company (or the back office) should know.
#[derive(Debug, Clone)]
pub struct Notification(pub(crate) NotificationRow);

#[Object]
impl Notification {
    /// Its id (the same after `projections rebuild`).
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// The company it is about; null for a notification to every client.
    async fn company_id(&self) -> Option<Uuid> {
        self.0.company_id
    }

    /// What it is about.
    async fn kind(&self) -> Result<NotificationKind> {
        DomainKind::parse(&self.0.kind)
            .map(Into::into)
            .ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("unknown kind {}", self.0.kind)).into()
            })
    }

    /// The title, in Russian unless asked otherwise.
    async fn title(&self, #[graphql(default)] language: Language) -> &str {
        match language {
            Language::Ru => &self.0.title_ru,
            Language::En => &self.0.title_en,
        }
    }

    /// The text, in Russian unless asked otherwise.
    async fn text(&self, #[graphql(default)] language: Language) -> &str {
        match language {
            Language::Ru => &self.0.text_ru,
            Language::En => &self.0.text_en,
        }
    }

    /// The values the text is made of (amounts in rubles as strings, dates, numbers), for a frontend that
    /// lays them out itself.
    async fn params(&self) -> Result<super::notification_params::NotificationParams> {
        Ok(super::notification_params::NotificationParams::from_stored(
            &self.0.params,
            &self.0.entity_type,
        )?)
    }

    /// What it links to.
    async fn link(&self) -> Result<NotificationLink> {
        Ok(NotificationLink {
            entity_type: super::enums::EntityType::from_stored(&self.0.entity_type)?,
            id: self.0.entity_id.clone(),
        })
    }

    /// The business day it arose on.
    async fn business_date(&self) -> Option<Date> {
        self.0.business_date.map(Date)
    }

    /// When the event behind it was recorded.
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.recorded_at
    }

    /// Whether the caller marked it read.
    async fn read(&self) -> bool {
        self.0.read
    }

    /// Its place in the log: give it as `after` to `notificationAdded` to resume after it.
    async fn position(&self) -> super::position::Position {
        super::position::Position::notification(self.0.place())
    }
}

/// What marking changed. The read state is the caller's own and writes no event, so `position` is
/// always `null`; marking again is harmless, so there is no idempotency key.
#[derive(Debug, Clone, SimpleObject)]
pub struct MarkNotificationsReadPayload {
    /// Notifications newly marked read.
    pub marked: i64,
    /// Unread notifications left in the same scope.
    pub unread: i64,
    /// Always `null`: the read state writes no event.
    pub position: Option<super::position::Position>,
    /// Always false.
    pub replayed: bool,
}

/// Notifications to mark read.
#[derive(Debug, Clone, InputObject)]
pub struct MarkNotificationsReadInput {
    /// Their ids; every one must be one the caller sees.
    pub ids: Vec<Uuid>,
}

/// Every notification of a company to mark read.
#[derive(Debug, Clone, InputObject)]
pub struct MarkAllNotificationsReadInput {
    /// The company.
    pub company_id: Uuid,
}

/// Which kinds are also mailed.
#[derive(Debug, Clone, InputObject)]
pub struct SetNotificationPreferencesInput {
    /// The choices; kinds left out keep theirs.
    pub preferences: Vec<NotificationPreferenceInput>,
}

super::payload::payload! {
    /// The caller's mail choices after a change (they write no event: `position` is `null`).
    NotificationPreferencesPayload {
        /// Every kind with the choice.
        preferences: Vec<NotificationPreference>
    }
}

/// Whether a kind is also mailed.
#[derive(Debug, Clone, SimpleObject)]
pub struct NotificationPreference {
    /// The kind.
    pub kind: NotificationKind,
    /// Mailed to this account.
    pub email: bool,
    /// Mailed unless the account chooses otherwise.
    pub email_by_default: bool,
}

/// A choice of whether a kind is mailed.
#[derive(Debug, Clone, InputObject)]
pub struct NotificationPreferenceInput {
    /// The kind.
    pub kind: NotificationKind,
    /// Mail it.
    pub email: bool,
}

/// Authorizes reading `company`'s notifications (or the caller's own when none) and gives the scope.
pub(crate) fn scope<'a>(
    ctx: &Context<'a>,
    company_id: Option<Uuid>,
) -> Result<(&'a Actor, Scope), ApiError> {
    let (actor, _) = allow(ctx, reading(company_id))?;
    Ok((actor, Scope::of(actor, company_id)))
}

/// Reading the notifications of `company_id`, or without it the caller's own (every company it sees).
pub(crate) fn reading(company_id: Option<Uuid>) -> Operation {
    match company_id {
        Some(c) => Operation::ReadNotifications(c),
        None => Operation::ReadOwnNotifications,
    }
}

/// Notification queries.
#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// The caller's notifications, newest first: a client's for `companyId` (or all of its companies, and
    /// those for every client); staff's back-office notifications (of `companyId`, or all).
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        company_id: Option<Uuid>,
        #[graphql(default)] unread_only: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Notification, super::pagination::Total>> {
        let (_, scope) = scope(ctx, company_id)?;
        let limit = page_size(first)?;
        let before = after
            .as_deref()
            .map(|a| Position::parse(a, "after"))
            .transpose()?;
        let pool = super::context::read_pool(ctx).await?;
        let rows = service::list(&pool, &scope, unread_only, before, limit + 1)
            .await
            .map_err(ApiError::from)?;
        Ok(super::pagination::counted(
            ctx,
            rows,
            limit,
            before.is_some(),
            service::count(&pool, &scope, unread_only),
            |r| (r.place().to_string(), Notification(r)),
        )
        .await?)
    }

    /// How many of those the caller has not read.
    async fn unread_notification_count(
        &self,
        ctx: &Context<'_>,
        company_id: Option<Uuid>,
    ) -> Result<i64> {
        let (_, scope) = scope(ctx, company_id)?;
        let pool = super::context::read_pool(ctx).await?;
        Ok(service::unread_count(&pool, &scope)
            .await
            .map_err(ApiError::from)?)
    }

    /// Which kinds the caller also receives by mail.
    async fn notification_preferences(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<NotificationPreference>> {
        let (actor, _) = allow(ctx, Operation::ReadOwnNotifications)?;
        let prefs = service::preferences(&app(ctx).pool, actor.account_id, actor.is_staff())
            .await
            .map_err(ApiError::from)?;
        Ok(prefs
            .into_iter()
            .map(|(kind, email, default)| NotificationPreference {
                kind: kind.into(),
                email,
                email_by_default: default,
            })
            .collect())
    }
}

/// Notification mutations.
#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Marks notifications read for the caller. Every id must be one the caller sees (else NOT_FOUND and
    /// nothing is marked).
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        input: MarkNotificationsReadInput,
    ) -> Result<MarkNotificationsReadPayload> {
        let ids = input.ids;
        let (_, scope) = scope(ctx, None)?;
        let pool = &app(ctx).pool;
        let marked = service::mark_read(pool, &scope, &ids).await?;
        let unread = service::unread_count(pool, &scope)
            .await
            .map_err(ApiError::from)?;
        Ok(MarkNotificationsReadPayload {
            marked,
            unread,
            position: None,
            replayed: false,
        })
    }

    /// Marks every notification of `companyId` (and those for every client) read for the caller.
    async fn mark_all_notifications_read(
        &self,
        ctx: &Context<'_>,
        input: MarkAllNotificationsReadInput,
    ) -> Result<MarkNotificationsReadPayload> {
        let company_id = input.company_id;
        let (_, scope) = scope(ctx, Some(company_id))?;
        let pool = &app(ctx).pool;
        let marked = service::mark_all(pool, &scope)
            .await
            .map_err(ApiError::from)?;
        let unread = service::unread_count(pool, &scope)
            .await
            .map_err(ApiError::from)?;
        Ok(MarkNotificationsReadPayload {
            marked,
            unread,
            position: None,
            replayed: false,
        })
    }

    /// Chooses which kinds are also mailed to the caller; returns every kind with the choice.
    async fn set_notification_preferences(
        &self,
        ctx: &Context<'_>,
        input: SetNotificationPreferencesInput,
    ) -> Result<NotificationPreferencesPayload> {
        let (actor, _) = allow(ctx, Operation::ReadOwnNotifications)?;
        let choices: Vec<(DomainKind, bool)> = input
            .preferences
            .into_iter()
            .map(|p| (p.kind.into(), p.email))
            .collect();
        let pool = &app(ctx).pool;
        service::set_preferences(pool, actor.account_id, &choices)
            .await
            .map_err(ApiError::from)?;
        Ok(NotificationPreferencesPayload::new(
            NotificationQuery.notification_preferences(ctx).await?,
            super::payload::Done::NO_EVENT,
        ))
    }
}
