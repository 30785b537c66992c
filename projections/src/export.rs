//! `cabinet events export`: the log as JSON lines in global order.

use std::io::Write;

use futures::TryStreamExt;
use serde_json::json;
use sqlx::PgPool;

use crate::event::{StoredEvent, EVENT_COLUMNS};

/// Which events to export.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Only this aggregate: (type, id).
    pub aggregate: Option<(String, String)>,
    /// Only positions greater than or equal to this.
    pub from_position: Option<i64>,
}

/// Writes every matching event as one JSON object per line, in (transaction_id, position) order: position,
/// aggregate, sequence, type, version (current and stored), payload (upcast), metadata, recorded_at.
///
/// # Errors
/// A database or write error.
pub async fn export(pool: &PgPool, f: &ExportFilter, out: &mut impl Write) -> anyhow::Result<u64> {
    let (t, id) = match &f.aggregate {
        Some((t, id)) => (Some(t.as_str()), Some(id.as_str())),
        None => (None, None),
    };
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE ($1::text IS NULL OR aggregate_type = $1) \
         AND ($2::text IS NULL OR aggregate_id = $2) AND ($3::bigint IS NULL OR position >= $3) \
         ORDER BY transaction_id, position"
    );
    let mut rows = sqlx::query(&sql)
        .bind(t)
        .bind(id)
        .bind(f.from_position)
        .fetch(pool);
    let mut n = 0;
    while let Some(row) = rows.try_next().await? {
        let e = StoredEvent::from_row(&row)?;
        serde_json::to_writer(&mut *out, &line(&e))?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

/// The exported form of one event.
pub fn line(e: &StoredEvent) -> serde_json::Value {
    json!({
        "position": e.position,
        "transaction_id": e.transaction_id,
        "aggregate_type": e.aggregate_type,
        "aggregate_id": e.aggregate_id,
        "sequence": e.sequence,
        "event_type": e.event_type,
        "event_version": e.event_version,
        "stored_version": e.stored_version,
        "payload": e.payload,
        "metadata": e.metadata,
        "recorded_at": e.recorded_at,
    })
}
