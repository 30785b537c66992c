//! The ЭДО connection of each company (`edo`, an inline projection): one row of `edo_connections_view` per
//! company that started connecting, with its status, participant id, accepted offer version and the reason
//! of a rejection. No row: not connected.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::edo::EdoEvent;
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::engine::error::ProjectionError;
use crate::engine::read_model::ReadModel;
use crate::store::event::StoredEvent;

/// The projection.
pub struct EdoProjection;

#[async_trait]
impl ReadModel for EdoProjection {
    fn name(&self) -> &'static str {
        "edo"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["edo_connections_view"]
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["EdoConnection"])
    }

    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        let company = e.aggregate_uuid()?;
        let event: EdoEvent = e.decode_event()?;
        let status = event.status().as_str();
        // (participant id, operator code, offer version, reason): None keeps the stored value, except that
        // starting again clears what the previous attempt left.
        let (participant, version, reason, restart) = match &event {
            EdoEvent::EdoQuestionnaireSubmitted { .. } => (None, None, None, true),
            EdoEvent::EdoRoamingRequested { participant_id, .. } => {
                (Some(participant_id.as_str().to_owned()), None, None, true)
            }
            EdoEvent::EdoOfferAccepted { version } => (None, Some(*version), None, false),
            EdoEvent::EdoConnected { participant_id } => {
                (Some(participant_id.as_str().to_owned()), None, None, false)
            }
            EdoEvent::EdoRoamingActivated => (None, None, None, false),
            EdoEvent::EdoConnectionRejected { reason } => (None, None, Some(reason.clone()), false),
        };
        let operator = participant.as_ref().map(|p| p[..3].to_ascii_uppercase());
        sqlx::query(
            "INSERT INTO edo_connections_view (company_id, status, participant_id, operator_code, offer_version, \
               reason, updated_at, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (company_id) DO UPDATE SET status = EXCLUDED.status, \
               participant_id = CASE WHEN $9 THEN EXCLUDED.participant_id \
                 ELSE coalesce(EXCLUDED.participant_id, edo_connections_view.participant_id) END, \
               operator_code = CASE WHEN $9 THEN EXCLUDED.operator_code \
                 ELSE coalesce(EXCLUDED.operator_code, edo_connections_view.operator_code) END, \
               offer_version = CASE WHEN $9 THEN NULL \
                 ELSE coalesce(EXCLUDED.offer_version, edo_connections_view.offer_version) END, \
               reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at, position = EXCLUDED.position",
        )
        .bind(company)
        .bind(status)
        .bind(participant)
        .bind(operator)
        .bind(version)
        .bind(reason)
        .bind(e.recorded_at)
        .bind(e.position)
        .bind(restart)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// A row of `edo_connections_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct EdoConnectionView {
    /// Company.
    pub company_id: Uuid,
    /// Status.
    pub status: String,
    /// Participant id.
    pub participant_id: Option<String>,
    /// Operator code.
    pub operator_code: Option<String>,
    /// Accepted offer version.
    pub offer_version: Option<i32>,
    /// Reason of a rejection.
    pub reason: Option<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A company's connection (None: not connected).
///
/// # Errors
/// A database error.
pub async fn load_edo(
    pool: &PgPool,
    company: Uuid,
) -> Result<Option<EdoConnectionView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT company_id, status, participant_id, operator_code, offer_version, reason, updated_at \
         FROM edo_connections_view WHERE company_id = $1",
    )
    .bind(company)
    .fetch_optional(pool)
    .await
}

/// The ЭДО operators roaming works with (`edo-operators`, an inline projection): `edo_operators_view`
/// holds the list staff published last, in its order. No rows: none published, and the defaults apply
/// ([`load_edo_operators`]).
pub struct EdoOperatorsProjection;

#[async_trait]
impl ReadModel for EdoOperatorsProjection {
    fn name(&self) -> &'static str {
        "edo-operators"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["edo_operators_view"]
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["EdoOperatorList"])
    }

    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        let domain::edo::EdoOperatorsEvent::EdoOperatorsPublished { operators } =
            e.decode_event()?;
        sqlx::query("DELETE FROM edo_operators_view")
            .execute(&mut *conn)
            .await?;
        let codes: Vec<&str> = operators.iter().map(|o| o.code.as_str()).collect();
        let names: Vec<&str> = operators.iter().map(|o| o.name.as_str()).collect();
        sqlx::query(
            "INSERT INTO edo_operators_view (code, name, ordinal, published_at) \
             SELECT code, name, ordinal::int, $3 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS o(code, name, ordinal)",
        )
        .bind(&codes)
        .bind(&names)
        .bind(e.recorded_at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// The operators in force: the list staff published last, or the defaults before any.
///
/// # Errors
/// A database error.
pub async fn load_edo_operators(
    pool: impl sqlx::PgExecutor<'_>,
) -> Result<Vec<domain::edo::EdoOperator>, sqlx::Error> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT code, name FROM edo_operators_view ORDER BY ordinal")
            .fetch_all(pool)
            .await?;
    Ok(if rows.is_empty() {
        domain::edo::EdoOperator::defaults()
    } else {
        rows.into_iter()
            .map(|(code, name)| domain::edo::EdoOperator { code, name })
            .collect()
    })
}
