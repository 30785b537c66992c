//! The business-day process manager (`business-days`): a catch-up consumer of the clock's
//! BusinessDayStarted events. For each day, in order, it sends CloseBusinessDay to every contract with an
//! open line due by that day (credit applied, lines marked due and overdue, penalties accrued) or an unpaid
//! fine whose discount ran out before it, then records the day as closed in the same transaction as its
//! checkpoint.
//!
//! In segments (ADR 0028) every segment reads every day (the clock is a broadcast type) and closes the
//! contracts of its own segment, so the nodes holding the segments close one day together; the day counts
//! as closed (`business_days_closed`, `closedThrough`) once every segment of the count has closed it.
//!
//! Its effects are commands, each idempotent for a given day (a second run records nothing), so a crash
//! between the commands and the checkpoint only repeats harmless work. Replaying the log never runs it
//! again: the events it caused are in the log.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use domain::clock::{BusinessClock, ClockEvent};
use domain::contract::{Contract, ContractCommand};
use futures::StreamExt;
use sqlx::PgConnection;
use uuid::Uuid;

use projections::engine::error::ProjectionError;
use projections::engine::process_manager::ProcessManager;
use projections::engine::segments::Segment;
use projections::store::command::CommandExecutor;
use projections::store::event::{CommandMeta, StoredEvent};

/// Batches of contracts closed in parallel for one day.
const PARALLEL: usize = 2;

/// Contracts closed in one transaction.
const BATCH: usize = 100;

/// The consumer.
pub struct BusinessDays {
    contracts: Arc<CommandExecutor<Contract>>,
}

impl BusinessDays {
    /// A process manager sending its commands through `contracts`.
    pub fn new(contracts: Arc<CommandExecutor<Contract>>) -> Self {
        Self { contracts }
    }

    /// Closes `date` for every contract of `segment` that needs it; returns how many contracts it sent the
    /// command to.
    ///
    /// # Errors
    /// A database error, or a store error from a command (the day is retried).
    pub async fn close_day(
        &self,
        conn: &mut PgConnection,
        date: NaiveDate,
        causation: &str,
        segment: Segment,
    ) -> Result<usize, ProjectionError> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT contract_id FROM ( \
               SELECT contract_id FROM schedule_view \
               WHERE due_date <= $1 AND status IN ('upcoming', 'due', 'partially_paid', 'overdue') \
               UNION \
               SELECT contract_id FROM fines_view \
               WHERE discount_until < $1 AND NOT discount_expired AND paid < due) open \
             WHERE event_segment(contract_id::text, $2) = $3 \
             ORDER BY contract_id",
        )
        .bind(date)
        .bind(segment.count)
        .bind(segment.index)
        .fetch_all(&mut *conn)
        .await?;
        let mut meta = CommandMeta::system("business-days");
        meta.causation_id = causation.to_owned();
        meta.correlation_id = format!("business-day:{date}");
        // Contracts are closed in batches, each one transaction (`execute_many`: every contract decides as
        // alone, the events of the batch are appended and projected together), two batches at a time.
        let contracts = self.contracts.clone();
        let batches: Vec<Vec<(String, ContractCommand)>> = ids
            .chunks(BATCH)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|id| {
                        (
                            id.to_string(),
                            ContractCommand::CloseBusinessDay { as_of: date },
                        )
                    })
                    .collect()
            })
            .collect();
        let results: Vec<Result<(), ProjectionError>> = futures::stream::iter(batches)
            .map(move |batch| {
                let meta = meta.clone();
                let contracts = contracts.clone();
                async move {
                    let done = contracts.execute_many(batch, &meta).await.map_err(|e| {
                        ProjectionError::Effect(format!("closing {date}: {e}"))
                    })?;
                    for (id, outcome) in done {
                        // A refusal is a fact about that contract (say, it was just completed), not a
                        // reason to stop closing the day for the others.
                        if let Err(e) = outcome {
                            tracing::warn!(contract = %id, %date, error = %e, "day closing refused");
                        }
                    }
                    Ok(())
                }
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        sqlx::query(
            "INSERT INTO business_day_segments (business_date, segment, segments, contracts) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (business_date, segments, segment) DO UPDATE SET contracts = EXCLUDED.contracts, \
               closed_at = now()",
        )
        .bind(date)
        .bind(segment.index)
        .bind(segment.count)
        .bind(ids.len() as i32)
        .execute(&mut *conn)
        .await?;
        // The segments finishing last meet here one at a time: the one that sees every segment's row (its
        // statement after the lock reads what the others committed) records the day as closed.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(projections::postgres::db::lock_key(
                "cabinet-business-day-closed",
            ))
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO business_days_closed (business_date, contracts) \
             SELECT $1, sum(contracts)::integer FROM business_day_segments \
             WHERE business_date = $1 AND segments = $2 HAVING count(*) = $2 \
             ON CONFLICT (business_date) DO UPDATE SET contracts = EXCLUDED.contracts, closed_at = now()",
        )
        .bind(date)
        .bind(segment.count)
        .execute(&mut *conn)
        .await?;
        Ok(ids.len())
    }
}

#[async_trait]
impl ProcessManager for BusinessDays {
    fn name(&self) -> &'static str {
        "business-days"
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["BusinessClock"])
    }

    fn batch(&self) -> i64 {
        1
    }

    fn broadcast_types(&self) -> &'static [&'static str] {
        &["BusinessClock"]
    }

    async fn handle(
        &self,
        conn: &mut PgConnection,
        e: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        self.handle_in_segment(conn, std::slice::from_ref(e), Segment::WHOLE)
            .await
    }

    async fn handle_in_segment(
        &self,
        conn: &mut PgConnection,
        events: &[StoredEvent],
        segment: Segment,
    ) -> Result<(), ProjectionError> {
        for e in events {
            if e.aggregate_type != <BusinessClock as cqrs_es::Aggregate>::TYPE {
                continue;
            }
            let ClockEvent::BusinessDayStarted { date } = e.decode_event()?;
            let n = self
                .close_day(conn, date, &format!("event:{}", e.position), segment)
                .await?;
            tracing::info!(%date, contracts = n, segment = segment.index, segments = segment.count, "business day closed");
        }
        Ok(())
    }
}
