//! The one rewrite of the log (ADR 0016): events recorded before personal data was sealed hold it in
//! clear. Once, at start-up after the migrations, each such event is decoded with its aggregate's current
//! type (which reads a bare personal value as present), the personal values the type marks are sealed, and
//! they replace the clear ones at the same place in the stored payload — nothing else of the row changes.
//! Snapshots are dropped (a cache; the next commands write sealed ones). A row in `personal_data_rewrite`
//! records that it was done, so it never runs again: every event written since is sealed by the store.

use cqrs_es::Aggregate;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgPool, Row};

use crate::personal::{self, PersonalError, MARK};
use crate::store::upcast;

/// The aggregate types whose events carry personal values.
pub const PERSONAL_AGGREGATES: &[&str] = &[
    domain::company::Company::TYPE,
    domain::contract::Contract::TYPE,
    domain::policy::Policy::TYPE,
    domain::request::ClientRequest::TYPE,
    domain::edo::EdoConnection::TYPE,
    domain::document::Document::TYPE,
    domain::payments::BankPayment::TYPE,
];

/// Whether the one-time rewrite has run on this database.
///
/// # Errors
/// A database error.
pub async fn rewrite_done(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM personal_data_rewrite)")
        .fetch_one(pool)
        .await
}

/// What the rewrite did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rewritten {
    /// Events of those types read.
    pub events: i64,
    /// Events in which clear values were sealed.
    pub sealed: i64,
    /// Whether it ran now (false: done before).
    pub ran: bool,
}

fn marked_form<E: DeserializeOwned + Serialize>(payload: &Value) -> Option<Value> {
    let event: E = E::deserialize(payload).ok()?;
    serde_json::to_value(event).ok()
}

/// The payload re-encoded by its type: personal values in their markers.
fn remarked(aggregate_type: &str, payload: &Value) -> Option<Value> {
    match aggregate_type {
        "Company" => marked_form::<domain::company::CompanyEvent>(payload),
        "Contract" => marked_form::<domain::contract::ContractEvent>(payload),
        "Policy" => marked_form::<domain::policy::PolicyEvent>(payload),
        "ClientRequest" => marked_form::<domain::request::RequestEvent>(payload),
        "EdoConnection" => marked_form::<domain::edo::EdoEvent>(payload),
        "Document" => marked_form::<domain::document::DocumentEvent>(payload),
        "BankPayment" => marked_form::<domain::payments::BankPaymentEvent>(payload),
        _ => None,
    }
}

/// Puts every marker of `marked` whose place in `stored` holds a bare value there; returns how many.
fn graft(stored: &mut Value, marked: &Value) -> usize {
    match (stored, marked) {
        (s, Value::Object(m)) if m.len() == 1 && m.contains_key(MARK) => {
            let already = s.as_object().is_some_and(|o| o.contains_key(MARK));
            if already || s.is_null() {
                return 0;
            }
            *s = Value::Object(m.clone());
            1
        }
        (Value::Object(s), Value::Object(m)) => m
            .iter()
            .map(|(k, v)| s.get_mut(k).map_or(0, |sv| graft(sv, v)))
            .sum(),
        (Value::Array(s), Value::Array(m)) => {
            s.iter_mut().zip(m).map(|(sv, mv)| graft(sv, mv)).sum()
        }
        _ => 0,
    }
}

/// Seals the clear personal values of events recorded before sealing existed, once.
///
/// # Errors
/// A database error, or a key that does not unwrap.
pub async fn seal_clear_log(pool: &PgPool) -> Result<Rewritten, PersonalError> {
    let mut tx = pool.begin().await?;
    // One node at a time; the others wait and then find it done.
    sqlx::query("LOCK TABLE personal_data_rewrite IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let done: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM personal_data_rewrite)")
        .fetch_one(&mut *tx)
        .await?;
    if done {
        return Ok(Rewritten::default());
    }
    let mut out = Rewritten {
        ran: true,
        ..Rewritten::default()
    };
    let mut after = 0i64;
    loop {
        let rows = sqlx::query(
            "SELECT position, aggregate_type, aggregate_id, event_type, event_version, payload FROM event_log \
             WHERE aggregate_type = ANY($1) AND position > $2 ORDER BY position LIMIT 1000",
        )
        .bind(PERSONAL_AGGREGATES)
        .bind(after)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("position")?;
        for row in &rows {
            out.events += 1;
            let (position, aggregate_type, aggregate_id, event_type, version): (
                i64,
                String,
                String,
                String,
                String,
            ) = (
                row.try_get("position")?,
                row.try_get("aggregate_type")?,
                row.try_get("aggregate_id")?,
                row.try_get("event_type")?,
                row.try_get("event_version")?,
            );
            let mut stored: Value = row.try_get("payload")?;
            let (_, current) =
                upcast::upcast(&aggregate_type, &event_type, &version, stored.clone());
            let Some(marked) = remarked(&aggregate_type, &current) else {
                continue;
            };
            if graft(&mut stored, &marked) == 0 {
                continue;
            }
            personal::seal(&mut tx, &aggregate_type, &aggregate_id, &mut [&mut stored]).await?;
            // In the live log, or in an archived partition (ADR 0029).
            let live = sqlx::query("UPDATE events SET payload = $2 WHERE position = $1")
                .bind(position)
                .bind(&stored)
                .execute(&mut *tx)
                .await?;
            if live.rows_affected() == 0 {
                sqlx::query("UPDATE archive.events SET payload = $2 WHERE position = $1")
                    .bind(position)
                    .bind(&stored)
                    .execute(&mut *tx)
                    .await?;
            }
            out.sealed += 1;
        }
    }
    if out.sealed > 0 {
        sqlx::query("DELETE FROM snapshots")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("INSERT INTO personal_data_rewrite (events, sealed) VALUES ($1, $2)")
        .bind(out.events)
        .bind(out.sealed)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(out)
}
