//! Events as stored: the row of the `events` table with its payload already upcast to the current version.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::store::upcast;

/// A stored event whose payload (or aggregate id) does not decode as the reader expects.
#[derive(Debug, thiserror::Error)]
#[error("event {position} does not decode: {source}")]
pub struct DecodeError {
    /// The event's position.
    pub position: i64,
    /// The cause.
    #[source]
    pub source: serde_json::Error,
}

/// One stored event, as projections, exports and auditors see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Global position (insertion order, unique).
    pub position: i64,
    /// The inserting transaction's id (`xid8` as a number). Readers order by (transaction_id, position).
    pub transaction_id: i64,
    /// Aggregate type (`Company`, …).
    pub aggregate_type: String,
    /// Aggregate id.
    pub aggregate_id: String,
    /// Sequence within the aggregate, from 1.
    pub sequence: i64,
    /// Event type (the variant name).
    pub event_type: String,
    /// The version of `payload` (after upcasting: the current one).
    pub event_version: String,
    /// The version the event was stored with.
    pub stored_version: String,
    /// The payload (cqrs-es's externally tagged JSON: `{"CompanyRegistered": {...}}`).
    pub payload: Value,
    /// Metadata: actor, correlation_id, causation_id, request_id (and idempotency_key when given).
    pub metadata: Value,
    /// When the event was recorded (database clock).
    pub recorded_at: DateTime<Utc>,
}

/// The columns `StoredEvent::from_row` expects, in a form that can be put in a SELECT list.
///
/// The transaction id is selected as `txid`, never under its own name: an output column named
/// `transaction_id` would capture `ORDER BY transaction_id` (PostgreSQL resolves ORDER BY names against the
/// SELECT list first), sorting by the cast instead of using the `(transaction_id, position)` index — a full
/// sort of the log for every batch.
pub const EVENT_COLUMNS: &str = "position, transaction_id::text::bigint AS txid, aggregate_type, \
     aggregate_id, sequence, event_type, event_version, payload, metadata, recorded_at";

impl StoredEvent {
    /// Builds a stored event from a row selected with [`EVENT_COLUMNS`], upcasting the payload.
    ///
    /// # Errors
    /// A missing column or a wrong type.
    pub fn from_row(row: &PgRow) -> Result<Self, sqlx::Error> {
        let aggregate_type: String = row.try_get("aggregate_type")?;
        let event_type: String = row.try_get("event_type")?;
        let stored_version: String = row.try_get("event_version")?;
        let payload: Value = row.try_get("payload")?;
        let (event_version, payload) =
            upcast::upcast(&aggregate_type, &event_type, &stored_version, payload);
        Ok(Self {
            position: row.try_get("position")?,
            transaction_id: row.try_get("txid")?,
            aggregate_id: row.try_get("aggregate_id")?,
            sequence: row.try_get("sequence")?,
            metadata: row.try_get("metadata")?,
            recorded_at: row.try_get("recorded_at")?,
            aggregate_type,
            event_type,
            event_version,
            stored_version,
            payload,
        })
    }

    /// Decodes the payload as an aggregate's event enum.
    ///
    /// # Errors
    /// The payload does not match the type.
    pub fn decode<E: DeserializeOwned>(&self) -> Result<E, serde_json::Error> {
        // Deserialises from the borrowed tree: no copy of the payload.
        E::deserialize(&self.payload)
    }

    /// The payload as `E`, for a read model or a process manager: a payload that does not decode is a
    /// [`DecodeError`] at this event's position.
    ///
    /// # Errors
    /// The payload does not decode as `E`.
    pub fn decode_event<E: DeserializeOwned>(&self) -> Result<E, DecodeError> {
        self.decode().map_err(|source| DecodeError {
            position: self.position,
            source,
        })
    }

    /// The aggregate id as a UUID (every aggregate but the business clock is keyed by one).
    ///
    /// # Errors
    /// [`DecodeError`] when the id is not a UUID.
    pub fn aggregate_uuid(&self) -> Result<uuid::Uuid, DecodeError> {
        self.aggregate_id.parse().map_err(|_| DecodeError {
            position: self.position,
            source: serde::de::Error::custom("aggregate id is not a UUID"),
        })
    }

    /// Whether the payload may hold a personal value (sealed or not): a cheap test before opening.
    pub fn has_personal(&self) -> bool {
        crate::personal::is_marked(&self.payload)
    }

    /// A metadata field as text.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).and_then(Value::as_str)
    }
}

/// Opens the personal values in the payloads of `events` (ADR 0016; see [`crate::personal::open`]).
///
/// # Errors
/// A database error, a master key that is not configured, or a value that does not authenticate.
pub async fn open_events(
    conn: &mut sqlx::PgConnection,
    events: &mut [StoredEvent],
) -> Result<(), crate::personal::PersonalError> {
    let mut values: Vec<&mut Value> = events.iter_mut().map(|e| &mut e.payload).collect();
    crate::personal::open(conn, &mut values).await
}

/// The events of one aggregate after `after_sequence`, in sequence order, upcast and opened (personal
/// values decrypted, ADR 0016); at most `limit` when given.
///
/// # Errors
/// A database error.
pub async fn load_aggregate_events(
    pool: &PgPool,
    aggregate_type: &str,
    aggregate_id: &str,
    after_sequence: i64,
    limit: Option<i64>,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    load_aggregate_events_with(
        pool,
        aggregate_type,
        aggregate_id,
        after_sequence,
        limit,
        false,
    )
    .await
}

/// As [`load_aggregate_events`], to handle a command: keys from the cache of
/// [`crate::personal::open_for_command`].
///
/// # Errors
/// A database error, or a personal value that does not open.
pub async fn load_aggregate_events_for_command(
    pool: &PgPool,
    aggregate_type: &str,
    aggregate_id: &str,
    after_sequence: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    load_aggregate_events_with(
        pool,
        aggregate_type,
        aggregate_id,
        after_sequence,
        None,
        true,
    )
    .await
}

async fn load_aggregate_events_with(
    pool: &PgPool,
    aggregate_type: &str,
    aggregate_id: &str,
    after_sequence: i64,
    limit: Option<i64>,
    cached: bool,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    // The live partitions first: a stream's recent events are there. Older ones may have been archived
    // (ADR 0029): when the live rows do not start right after `after_sequence` — or there are none while
    // the stream is past it — the whole history is read instead.
    let stream_sql = |source: &str| {
        format!(
            "SELECT {EVENT_COLUMNS} FROM {source} \
             WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3 ORDER BY sequence LIMIT $4"
        )
    };
    let read = |sql: String| async move {
        sqlx::query(&sql)
            .bind(aggregate_type)
            .bind(aggregate_id)
            .bind(after_sequence)
            .bind(limit)
            .fetch_all(pool)
            .await
    };
    let mut rows = read(stream_sql("events")).await?;
    let first: Option<i64> = match rows.first() {
        Some(r) => Some(r.try_get("sequence")?),
        None => None,
    };
    let archived = match first {
        Some(s) => s != after_sequence + 1,
        None => {
            let version: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM event_streams WHERE aggregate_type = $1 AND aggregate_id = $2",
            )
            .bind(aggregate_type)
            .bind(aggregate_id)
            .fetch_optional(pool)
            .await?;
            version.is_some_and(|v| v > after_sequence)
        }
    };
    if archived {
        rows = read(stream_sql(crate::store::partitions::EVENT_LOG)).await?;
        let first: Option<i64> = match rows.first() {
            Some(r) => Some(r.try_get("sequence")?),
            None => None,
        };
        if first != Some(after_sequence + 1) {
            return Err(sqlx::Error::Protocol(format!(
                "{aggregate_type} {aggregate_id}: events after sequence {after_sequence} are in an archived \
                 partition that is not present ({})",
                crate::store::partitions::HistoryIncomplete(
                    crate::store::partitions::history_gaps(pool).await?
                )
            )));
        }
    }
    from_rows_opened(pool, &rows, cached).await
}

/// Rows selected with [`EVENT_COLUMNS`] as events, upcast, their personal values opened on a connection of
/// `pool` (with the command key cache when `for_command`; see [`crate::personal::open_for_command`]).
///
/// # Errors
/// A database error, or a personal value that does not open.
pub async fn from_rows_opened(
    pool: &PgPool,
    rows: &[PgRow],
    for_command: bool,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let mut events = rows
        .iter()
        .map(StoredEvent::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    if events.iter().any(StoredEvent::has_personal) {
        let mut conn = pool.acquire().await?;
        let mut values: Vec<&mut Value> = events.iter_mut().map(|e| &mut e.payload).collect();
        if for_command {
            crate::personal::open_for_command(&mut conn, &mut values).await?;
        } else {
            crate::personal::open(&mut conn, &mut values).await?;
        }
    }
    Ok(events)
}

/// Who caused a command and in which request: recorded on every event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandMeta {
    /// `account:<uuid>` or `system` (or `system:<process>`).
    pub actor: String,
    /// Groups every event one request or process caused, across aggregates.
    pub correlation_id: String,
    /// The event or request that directly caused this command.
    pub causation_id: String,
    /// The HTTP request id.
    pub request_id: String,
    /// When given, the command has one effect however often it is retried.
    pub idempotency_key: Option<String>,
}

impl CommandMeta {
    /// Metadata for a command issued by the system itself (demo data, process managers without a cause).
    pub fn system(process: &str) -> Self {
        let id = uuid::Uuid::now_v7().to_string();
        Self {
            actor: format!("system:{process}"),
            correlation_id: id.clone(),
            causation_id: id.clone(),
            request_id: id,
            idempotency_key: None,
        }
    }

    /// As cqrs-es's metadata map.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut m = HashMap::from([
            ("actor".to_owned(), self.actor.clone()),
            ("correlation_id".to_owned(), self.correlation_id.clone()),
            ("causation_id".to_owned(), self.causation_id.clone()),
            ("request_id".to_owned(), self.request_id.clone()),
        ]);
        if let Some(k) = &self.idempotency_key {
            m.insert("idempotency_key".to_owned(), k.clone());
        }
        m
    }
}
