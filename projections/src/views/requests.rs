//! The client requests read models, one inline projection (`requests`): `requests_view` (the list, with
//! status, due date and overdue flag, the pending question, the outcome and the state of the completion's
//! effect) and `request_history_view` (one row per event: who, when, what, the status after it, and the
//! comment, question, reason or file it carried). A BusinessDayStarted marks the open requests whose due date
//! it passed as overdue; the projection keeps its own copy of the business day (`requests_business_day`).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::clock::ClockEvent;
use domain::request::RequestEvent;
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::engine::error::ProjectionError;
use crate::engine::read_model::ReadModel;
use crate::store::event::StoredEvent;

/// The projection.
pub struct RequestsProjection;

fn json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

impl RequestsProjection {
    async fn apply_request(
        &self,
        conn: &mut PgConnection,
        e: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let event: RequestEvent = e.decode_event()?;
        let id = e.aggregate_uuid()?;
        let mut text: Option<String> = None;
        let mut file: Option<serde_json::Value> = None;
        // (SET clause, party)
        let (set, party): (String, &str) = match &event {
            RequestEvent::RequestSubmitted {
                company_id,
                contract_id,
                submitted_by,
                submitted_on,
                due_on,
                details,
                attachments,
                power_of_attorney,
                ..
            } => {
                let kind = details.kind();
                sqlx::query(
                    "INSERT INTO requests_view (request_id, company_id, contract_id, policy_id, kind, status, \
                       details, submitted_by, submitted_on, due_on, overdue, effect, comments, attachments, \
                       submitted_at, updated_at, last_position, power_of_attorney) \
                     VALUES ($1, $2, $3, $4, $5, 'submitted', $6, $7, $8, $9, \
                       coalesce($9 < (SELECT business_date FROM requests_business_day), false), \
                       $10, 0, $11, $12, $12, $13, $14)",
                )
                .bind(id)
                .bind(company_id)
                .bind(contract_id)
                .bind(details.policy_id())
                .bind(kind.as_str())
                .bind(json(details))
                .bind(submitted_by)
                .bind(submitted_on)
                .bind(due_on)
                .bind(if kind.has_effect() { "pending" } else { "none" })
                .bind(attachments.len() as i32)
                .bind(e.recorded_at)
                .bind(e.position)
                .bind(power_of_attorney)
                .execute(&mut *conn)
                .await?;
                if !attachments.is_empty() {
                    file = Some(json(attachments));
                }
                (String::new(), "client")
            }
            RequestEvent::RequestTakenIntoReview => {
                ("status = 'in_review', question = NULL".into(), "staff")
            }
            RequestEvent::InformationRequested { question } => {
                text = Some(question.clone());
                (
                    "status = 'needs_information', question = $4".into(),
                    "staff",
                )
            }
            RequestEvent::InformationProvided => {
                ("status = 'in_review', question = NULL".into(), "client")
            }
            RequestEvent::CommentAdded { party, text: t, .. } => {
                text = Some(t.clone());
                ("comments = comments + 1".into(), party.as_str())
            }
            RequestEvent::AttachmentAdded { party, file: f } => {
                file = Some(json(f));
                ("attachments = attachments + 1".into(), party.as_str())
            }
            RequestEvent::RequestCompleted { note, result, .. } => {
                text = note.clone();
                file = result.as_ref().map(json);
                (
                    "status = 'completed', note = $4, result = $5, closed_at = $3, question = NULL"
                        .into(),
                    "staff",
                )
            }
            RequestEvent::RequestRejected { reason } => {
                text = Some(reason.clone());
                (
                    "status = 'rejected', rejection_reason = $4, closed_at = $3, question = NULL, \
                     effect = CASE WHEN effect = 'pending' THEN 'none' ELSE effect END"
                        .into(),
                    "staff",
                )
            }
            RequestEvent::RequestWithdrawn { reason } => {
                text = reason.clone();
                (
                    "status = 'withdrawn', withdrawal_reason = $4, closed_at = $3, question = NULL, \
                     effect = CASE WHEN effect = 'pending' THEN 'none' ELSE effect END"
                        .into(),
                    "client",
                )
            }
            RequestEvent::EffectApplied { detail, .. } => {
                text = Some(detail.clone());
                ("effect = 'applied', effect_detail = $4".into(), "system")
            }
            RequestEvent::EffectFailed { reason } => {
                text = Some(reason.clone());
                ("effect = 'failed', effect_detail = $4".into(), "system")
            }
        };
        if !set.is_empty() {
            sqlx::query(&format!(
                "UPDATE requests_view SET {set}, updated_at = $3, last_position = $2 WHERE request_id = $1"
            ))
            .bind(id)
            .bind(e.position)
            .bind(e.recorded_at)
            .bind(&text)
            .bind(&file)
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query(
            "INSERT INTO request_history_view (request_id, position, company_id, recorded_at, actor, party, \
               change, status, text, file) \
             SELECT request_id, $2, company_id, $3, $4, $5, $6, status, $7, $8 \
             FROM requests_view WHERE request_id = $1",
        )
        .bind(id)
        .bind(e.position)
        .bind(e.recorded_at)
        .bind(e.meta("actor").unwrap_or("unknown"))
        .bind(party)
        .bind(&e.event_type)
        .bind(&text)
        .bind(&file)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn apply_day(
        &self,
        conn: &mut PgConnection,
        e: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let ClockEvent::BusinessDayStarted { date } = e.decode_event()?;
        sqlx::query(
            "INSERT INTO requests_business_day (id, business_date) VALUES (true, $1) \
             ON CONFLICT (id) DO UPDATE SET business_date = EXCLUDED.business_date",
        )
        .bind(date)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE requests_view SET overdue = true \
             WHERE status IN ('submitted', 'in_review', 'needs_information') AND NOT overdue AND due_on < $1",
        )
        .bind(date)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl ReadModel for RequestsProjection {
    fn name(&self) -> &'static str {
        "requests"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "requests_view",
            "request_history_view",
            "requests_business_day",
        ]
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["ClientRequest", "BusinessClock"])
    }

    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        match e.aggregate_type.as_str() {
            "ClientRequest" => self.apply_request(conn, e).await,
            "BusinessClock" => self.apply_day(conn, e).await,
            _ => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Typed reads

/// A row of `requests_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct RequestView {
    /// Id.
    pub request_id: Uuid,
    /// Company.
    pub company_id: Uuid,
    /// Contract, if any.
    pub contract_id: Option<Uuid>,
    /// Policy, for insurance kinds.
    pub policy_id: Option<Uuid>,
    /// Kind (stored name).
    pub kind: String,
    /// Status (stored name).
    pub status: String,
    /// The details as recorded (JSON, tagged by kind).
    pub details: serde_json::Value,
    /// Filing account.
    pub submitted_by: Uuid,
    /// The power of attorney it was filed under (not the director).
    pub power_of_attorney: Option<Uuid>,
    /// Business day of filing.
    pub submitted_on: NaiveDate,
    /// Due date.
    pub due_on: NaiveDate,
    /// Missed its due date.
    pub overdue: bool,
    /// The open question to the client.
    pub question: Option<String>,
    /// Completion note.
    pub note: Option<String>,
    /// Result document (FileRef JSON).
    pub result: Option<serde_json::Value>,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// Why it was withdrawn.
    pub withdrawal_reason: Option<String>,
    /// none, pending, applied, failed.
    pub effect: String,
    /// What the effect did, or why it failed.
    pub effect_detail: Option<String>,
    /// Comments.
    pub comments: i32,
    /// Attachments.
    pub attachments: i32,
    /// When it was filed.
    pub submitted_at: DateTime<Utc>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

const REQUEST_COLUMNS: &str = "request_id, company_id, contract_id, policy_id, kind, status, details, \
    submitted_by, submitted_on, due_on, overdue, question, note, result, rejection_reason, withdrawal_reason, \
    effect, effect_detail, comments, attachments, submitted_at, closed_at, updated_at, power_of_attorney";

/// A row of `request_history_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct HistoryView {
    /// Request.
    pub request_id: Uuid,
    /// The event's position.
    pub position: i64,
    /// When.
    pub recorded_at: DateTime<Utc>,
    /// Who (`account:<id>` or `system:<process>`).
    pub actor: String,
    /// client, staff, system.
    pub party: String,
    /// The event type.
    pub change: String,
    /// Status after it.
    pub status: String,
    /// Comment, question, reason, note or effect detail.
    pub text: Option<String>,
    /// File(s) it carried.
    pub file: Option<serde_json::Value>,
}

/// Filters of the request list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this contract.
    pub contract_id: Option<Uuid>,
    /// Oldest first (default newest first).
    pub oldest_first: bool,
}

/// Loads one request.
///
/// # Errors
/// A database error.
pub async fn load_request(
    pool: impl sqlx::PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<RequestView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM requests_view WHERE request_id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// A company's requests, filtered, by filing time, after the cursor `(submitted_at, request_id)`.
///
/// # Errors
/// A database error.
pub async fn list_requests(
    pool: &PgPool,
    company_id: Uuid,
    f: &RequestFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<RequestView>, sqlx::Error> {
    let (cmp, dir) = if f.oldest_first {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM requests_view \
         WHERE company_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR kind = $3) \
           AND ($4::uuid IS NULL OR contract_id = $4) \
           AND ($5::timestamptz IS NULL OR (submitted_at, request_id) {cmp} ($5, $6)) \
         ORDER BY submitted_at {dir}, request_id {dir} LIMIT $7"
    ))
    .bind(company_id)
    .bind(&f.status)
    .bind(&f.kind)
    .bind(f.contract_id)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// How many requests of `company_id` pass `f` (every page of [`list_requests`]).
///
/// # Errors
/// A database error.
pub async fn count_requests(
    pool: &PgPool,
    company_id: Uuid,
    f: &RequestFilter,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM requests_view \
         WHERE company_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR kind = $3) \
           AND ($4::uuid IS NULL OR contract_id = $4)",
    )
    .bind(company_id)
    .bind(&f.status)
    .bind(&f.kind)
    .bind(f.contract_id)
    .fetch_one(pool)
    .await
}

/// The history of several requests, in order.
///
/// # Errors
/// A database error.
pub async fn load_history(
    pool: impl sqlx::PgExecutor<'_>,
    ids: &[Uuid],
) -> Result<Vec<HistoryView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT request_id, position, recorded_at, actor, party, change, status, text, file \
         FROM request_history_view WHERE request_id = ANY($1) ORDER BY request_id, position",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
}
