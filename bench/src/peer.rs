//! The stock peer: what a user of cqrs-es would otherwise pick — `CqrsFramework` over postgres-es's
//! `PostgresEventRepository` (event store, no snapshots, as `postgres_cqrs` builds it) with a `GenericQuery`
//! over a `PostgresViewRepository` debt view. A `recordPayment`-shaped command: load the contract's events,
//! decide, append one event; the view is updated after the commit, as the stock query does.

use std::sync::Arc;

use cqrs_es::persist::{GenericQuery, PersistedEventStore};
use cqrs_es::{Aggregate, CqrsFramework, DomainEvent, EventEnvelope, View};
use postgres_es::{PostgresEventRepository, PostgresViewRepository};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// A contract reduced to what a payment needs.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PeerContract {
    paid: Decimal,
    payments: u64,
}

/// The command.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordPayment {
    /// Amount.
    pub amount: Decimal,
    /// Bank reference.
    pub bank_reference: String,
}

/// The event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PeerEvent {
    /// A payment was recorded.
    PaymentRecorded {
        /// Amount.
        amount: Decimal,
        /// Bank reference.
        bank_reference: String,
    },
}

impl DomainEvent for PeerEvent {
    fn event_type(&self) -> String {
        "PaymentRecorded".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

/// Refusal (never happens for positive amounts).
#[derive(Debug)]
pub struct PeerError(String);

impl std::error::Error for PeerError {}

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Aggregate for PeerContract {
    const TYPE: &'static str = "PeerContract";
    type Command = RecordPayment;
    type Event = PeerEvent;
    type Error = PeerError;
    type Services = ();

    async fn handle(
        &mut self,
        c: Self::Command,
        _: &Self::Services,
        sink: &cqrs_es::event_sink::EventSink<Self>,
    ) -> Result<(), Self::Error> {
        if c.amount <= Decimal::ZERO {
            return Err(PeerError("amount must be positive".into()));
        }
        sink.write(
            PeerEvent::PaymentRecorded {
                amount: c.amount,
                bank_reference: c.bank_reference,
            },
            self,
        )
        .await;
        Ok(())
    }

    fn apply(&mut self, e: Self::Event) {
        let PeerEvent::PaymentRecorded { amount, .. } = e;
        self.paid += amount;
        self.payments += 1;
    }
}

/// The debt view the stock query keeps.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PeerDebtView {
    /// Paid so far.
    pub paid: Decimal,
    /// Payments counted.
    pub payments: u64,
}

impl View<PeerContract> for PeerDebtView {
    fn update(&mut self, event: &EventEnvelope<PeerContract>) {
        let PeerEvent::PaymentRecorded { amount, .. } = &event.payload;
        self.paid += *amount;
        self.payments += 1;
    }
}

/// The stock framework.
pub type Peer =
    CqrsFramework<PeerContract, PersistedEventStore<PostgresEventRepository, PeerContract>>;

/// Creates the peer's tables (postgres-es's own layout, under `peer_` names) and the framework.
///
/// # Errors
/// A database error.
pub async fn peer(pool: &PgPool) -> anyhow::Result<Arc<Peer>> {
    for ddl in [
        "CREATE TABLE IF NOT EXISTS peer_events (aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
         sequence bigint CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL, event_version text NOT NULL, \
         payload json NOT NULL, metadata json NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, sequence))",
        "CREATE TABLE IF NOT EXISTS peer_snapshots (aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
         last_sequence bigint NOT NULL, current_snapshot bigint NOT NULL, payload json NOT NULL, \
         PRIMARY KEY (aggregate_type, aggregate_id, last_sequence))",
        "CREATE TABLE IF NOT EXISTS peer_debt_view (view_id text NOT NULL PRIMARY KEY, \
         version bigint CHECK (version >= 0) NOT NULL, payload json NOT NULL)",
    ] {
        sqlx::query(ddl).execute(pool).await?;
    }
    let repo =
        PostgresEventRepository::new(pool.clone()).with_tables("peer_events", "peer_snapshots");
    let view = Arc::new(PostgresViewRepository::<PeerDebtView, PeerContract>::new(
        "peer_debt_view",
        pool.clone(),
    ));
    let query = GenericQuery::new(view);
    Ok(Arc::new(CqrsFramework::new(
        PersistedEventStore::new_event_store(repo),
        vec![Box::new(query)],
        (),
    )))
}

/// Payments in the peer's log and payments its view counted: the difference is lost view updates.
///
/// # Errors
/// A database error.
pub async fn lost_view_updates(pool: &PgPool) -> anyhow::Result<(i64, i64)> {
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM peer_events")
        .fetch_one(pool)
        .await?;
    let counted: Option<i64> = sqlx::query_scalar(
        "SELECT sum((payload->>'payments')::bigint)::bigint FROM peer_debt_view",
    )
    .fetch_one(pool)
    .await?;
    Ok((events, counted.unwrap_or(0)))
}
