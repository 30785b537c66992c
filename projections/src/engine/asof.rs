//! As-of reconstruction: any read model as it was at an instant, rebuilt from the events recorded up to that
//! instant — no history table.
//!
//! An [`AsOf`] is one database transaction. In it, each projection asked for gets temporary tables named like
//! its live ones (PostgreSQL searches the session's temporary schema first, so the projection's unqualified
//! SQL and the ordinary loaders read and write them), and the selected aggregates' events recorded up to
//! the instant are replayed into them by the projection's own code, in global commit order, together with
//! the business days started by then. Reads go through [`AsOf::conn`]; dropping the value rolls everything
//! back.
//!
//! A run of consecutive BusinessDayStarted events with nothing between them is replayed as its last day
//! only: the day rules (days overdue, installments falling due, policy and request statuses) depend on the
//! latest day, not on the days in between, so a contract years old costs its own events plus one day per
//! change — not one per calendar day. The end-to-end suite compares an as-of "now" with the live tables.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Transaction};

use crate::engine::read_model::ReadModel;
use crate::engine::runner::RunnerError;
use crate::store::event::{StoredEvent, EVENT_COLUMNS};

/// The aggregates whose events a projection replays.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// (aggregate type, ids).
    pub aggregates: Vec<(&'static str, Vec<String>)>,
    /// Replay the business days as well (projections with day rules).
    pub business_days: bool,
}

impl Selection {
    /// The events of these aggregates of one type.
    pub fn of(aggregate_type: &'static str, ids: impl IntoIterator<Item = String>) -> Self {
        Self::default().and(aggregate_type, ids)
    }

    /// And the events of these aggregates.
    pub fn and(
        mut self,
        aggregate_type: &'static str,
        ids: impl IntoIterator<Item = String>,
    ) -> Self {
        let ids: Vec<String> = ids.into_iter().collect();
        if !ids.is_empty() {
            self.aggregates.push((aggregate_type, ids));
        }
        self
    }

    /// And the business days.
    pub fn with_business_days(mut self) -> Self {
        self.business_days = true;
        self
    }
}

/// Read models as of an instant, in a transaction that is rolled back when dropped.
pub struct AsOf {
    tx: Transaction<'static, Postgres>,
    at: DateTime<Utc>,
}

impl AsOf {
    /// Starts a reconstruction as of `at`.
    ///
    /// # Errors
    /// A database error.
    pub async fn begin(pool: &PgPool, at: DateTime<Utc>) -> Result<Self, sqlx::Error> {
        let mut tx = pool.begin().await?;
        // One snapshot for the events read and the live rows any loader still reads (tables of other
        // projections, such as business_days_closed).
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ WRITE")
            .execute(&mut *tx)
            .await?;
        Ok(Self { tx, at })
    }

    /// Replays `selection` into temporary copies of `projection`'s tables.
    ///
    /// # Errors
    /// A database or projection error.
    pub async fn replay(
        &mut self,
        projection: &dyn ReadModel,
        selection: &Selection,
    ) -> Result<(), RunnerError> {
        for t in projection.tables() {
            let q = crate::postgres::db::quote_ident(t);
            sqlx::query(&format!(
                "CREATE TEMPORARY TABLE IF NOT EXISTS {q} (LIKE public.{q} INCLUDING DEFAULTS \
                 INCLUDING CONSTRAINTS INCLUDING INDEXES INCLUDING GENERATED INCLUDING IDENTITY) ON COMMIT DROP"
            ))
            .execute(&mut *self.tx)
            .await?;
        }
        if selection.aggregates.is_empty() {
            return Ok(());
        }
        let mut q = QueryBuilder::new(format!(
            "SELECT {EVENT_COLUMNS} FROM event_log WHERE recorded_at <= "
        ));
        q.push_bind(self.at).push(" AND (FALSE");
        for (t, ids) in &selection.aggregates {
            q.push(" OR (aggregate_type = ")
                .push_bind(*t)
                .push(" AND aggregate_id = ANY(")
                .push_bind(ids.clone())
                .push("))");
        }
        if selection.business_days {
            q.push(" OR aggregate_type = 'BusinessClock'");
        }
        q.push(") ORDER BY transaction_id, position");
        // Rows become events as they arrive (the payloads are held once, not also as rows).
        let mut all: Vec<StoredEvent> = Vec::new();
        {
            let mut rows = q.build().fetch(&mut *self.tx);
            while let Some(row) = futures::TryStreamExt::try_next(&mut rows).await? {
                all.push(StoredEvent::from_row(&row)?);
            }
        }
        crate::store::event::open_events(&mut self.tx, &mut all)
            .await
            .map_err(sqlx::Error::from)?;
        let is_day = |e: &StoredEvent| e.aggregate_type == "BusinessClock";
        // Before the first event of the selected aggregates only the day it happened on matters; a run of
        // days with nothing between them is its last day.
        let start = all
            .iter()
            .position(|e| !is_day(e))
            .map_or(all.len(), |i| i.saturating_sub(1));
        let keep: Vec<bool> = (0..all.len())
            .map(|i| i >= start && !(is_day(&all[i]) && all.get(i + 1).is_some_and(is_day)))
            .collect();
        let events: Vec<StoredEvent> = all
            .into_iter()
            .zip(keep)
            .filter_map(|(e, k)| k.then_some(e))
            .collect();
        for chunk in events.chunks(2_000) {
            projection
                .apply_batch(&mut self.tx, chunk)
                .await
                .map_err(|source| RunnerError::Projection {
                    name: projection.name(),
                    position: chunk.first().map_or(0, |e| e.position),
                    source,
                })?;
        }
        Ok(())
    }

    /// The connection to read the reconstructed tables with (the ordinary loaders work on it).
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}
