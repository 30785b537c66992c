//! The auditors' reads of the log: events by any combination of aggregate, type, actor, correlation, company,
//! recorded time and position; and the whole story of one correlation id — its events, the notifications
//! they produced and the mails they caused.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::store::event::{StoredEvent, EVENT_COLUMNS};

/// Which events to read. Every field narrows; an empty filter is the whole log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Aggregate type (`Contract`, …).
    pub aggregate_type: Option<String>,
    /// Aggregate id.
    pub aggregate_id: Option<String>,
    /// Any of these event types (empty: all).
    pub event_types: Vec<String>,
    /// `metadata.actor` (`account:<uuid>`, `system:<process>`).
    pub actor: Option<String>,
    /// `metadata.correlation_id`.
    pub correlation_id: Option<String>,
    /// Events of the aggregates of one company (the company, its contracts, policies, requests, documents,
    /// ЭДО connection), as the read models know them.
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

impl EventFilter {
    /// Appends ` WHERE …` (always a WHERE: `TRUE` when nothing narrows) for this filter to `q`. Only the
    /// given conditions are in the statement, so each one can use its index.
    pub fn push_where(&self, q: &mut QueryBuilder<'_, Postgres>) {
        q.push(" WHERE TRUE");
        if let Some(t) = &self.aggregate_type {
            q.push(" AND aggregate_type = ").push_bind(t.clone());
        }
        if let Some(id) = &self.aggregate_id {
            q.push(" AND aggregate_id = ").push_bind(id.clone());
        }
        if !self.event_types.is_empty() {
            q.push(" AND event_type = ANY(")
                .push_bind(self.event_types.clone())
                .push(")");
        }
        if let Some(a) = &self.actor {
            q.push(" AND metadata ->> 'actor' = ").push_bind(a.clone());
        }
        if let Some(c) = &self.correlation_id {
            q.push(" AND metadata ->> 'correlation_id' = ")
                .push_bind(c.clone());
        }
        if let Some(c) = self.company_id {
            q.push(
                " AND (aggregate_type, aggregate_id) IN \
                 (SELECT aggregate_type, aggregate_id FROM aggregate_companies WHERE company_id = ",
            )
            .push_bind(c)
            .push(")");
        }
        if let Some(t) = self.recorded_from {
            q.push(" AND recorded_at >= ").push_bind(t);
        }
        if let Some(t) = self.recorded_to {
            q.push(" AND recorded_at < ").push_bind(t);
        }
        if let Some(p) = self.position_from {
            q.push(" AND position >= ").push_bind(p);
        }
        if let Some(p) = self.position_to {
            q.push(" AND position <= ").push_bind(p);
        }
    }
}

/// Up to `limit` events matching `f` with a position above `after`, in position order.
///
/// # Errors
/// A database error.
pub async fn list_events(
    pool: &PgPool,
    f: &EventFilter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let mut q = QueryBuilder::new(format!("SELECT {EVENT_COLUMNS} FROM event_log"));
    f.push_where(&mut q);
    if let Some(a) = after {
        q.push(" AND position > ").push_bind(a);
    }
    q.push(" ORDER BY position LIMIT ").push_bind(limit);
    let rows = q.build().fetch_all(pool).await?;
    crate::store::event::from_rows_opened(pool, &rows, false).await
}

/// A notification produced by an event of a story.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoryNotification {
    /// Notification id.
    pub id: Uuid,
    /// Position of the event that produced it.
    pub position: i64,
    /// `client` or `staff`.
    pub audience: String,
    /// Its kind.
    pub kind: String,
    /// The company (NULL: every client).
    pub company_id: Option<Uuid>,
    /// Russian title.
    pub title: String,
}

/// A mail of a story.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoryMail {
    /// Message-ID.
    pub message_id: String,
    /// Template.
    pub template: String,
    /// Recipient.
    pub recipient: String,
    /// The event that caused it, when one did.
    pub caused_by: Option<i64>,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Delivered.
    pub sent_at: Option<DateTime<Utc>>,
    /// Refused for good by the transport.
    pub failed_at: Option<DateTime<Utc>>,
    /// Delivery attempts so far.
    pub attempts: i32,
}

/// Everything one request or process caused.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    /// Its events across aggregates, in commit order.
    pub events: Vec<StoredEvent>,
    /// The notifications those events produced, in the same order.
    pub notifications: Vec<StoryNotification>,
    /// The mails queued for them, in the order they were queued.
    pub mails: Vec<StoryMail>,
}

/// The story of `correlation_id`: at most `limit` events (commit order), their notifications and mails.
///
/// # Errors
/// A database error.
pub async fn story(pool: &PgPool, correlation_id: &str, limit: i64) -> Result<Story, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM event_log WHERE metadata ->> 'correlation_id' = $1 \
         ORDER BY transaction_id, position LIMIT $2"
    ))
    .bind(correlation_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let events = crate::store::event::from_rows_opened(pool, &rows, false).await?;
    let positions: Vec<i64> = events.iter().map(|e| e.position).collect();
    let notifications = sqlx::query_as(
        "SELECT id, position, audience, kind, company_id, title_ru AS title FROM notifications \
         WHERE position = ANY($1) ORDER BY transaction_id, position, ordinal",
    )
    .bind(&positions)
    .fetch_all(pool)
    .await?;
    let mails = sqlx::query_as(
        "SELECT message_id, template, recipient, caused_by, created_at, sent_at, failed_at, attempts \
         FROM outbox WHERE correlation_id = $1 ORDER BY id",
    )
    .bind(correlation_id)
    .fetch_all(pool)
    .await?;
    Ok(Story {
        events,
        notifications,
        mails,
    })
}
