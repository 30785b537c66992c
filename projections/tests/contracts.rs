//! The contracts projection against PostgreSQL: concurrency rules that only a real database shows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::calendar::ProductionCalendar;
use domain::company::CompanyCommand;
use domain::contract::{
    Allocation, AllocationTarget, ContractCommand, ContractEvent, PaymentPurpose,
};
use domain::testing::{d, m, sample_contract, sample_profile};
use projections::engine::read_model::ReadModel;
use projections::postgres::testing::fresh_database;
use projections::store::event::{CommandMeta, StoredEvent};
use projections::views::contracts::ContractsProjection;
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

async fn conclude(pool: &PgPool, company: Uuid, number: &str) -> Uuid {
    let exec = projections::executors::contract_executor(
        pool.clone(),
        projections::executors::inline_projections(),
        100,
        Arc::new(ProductionCalendar::russia()),
    );
    let id = Uuid::now_v7();
    exec.execute(
        &id.to_string(),
        ContractCommand::ConcludeContract(Box::new(sample_contract(id, company, number))),
        &CommandMeta::system("test"),
    )
    .await
    .unwrap();
    id
}

/// A PaymentRecorded of 1,000 on line 1, as the store would hand it to the projection.
fn payment(contract: Uuid, position: i64) -> StoredEvent {
    let event = ContractEvent::PaymentRecorded {
        bank_reference: format!("PP-{position}"),
        date: d("2026-03-01"),
        amount: m("1000"),
        purpose: PaymentPurpose::LeasingPayment,
        allocations: vec![Allocation {
            target: AllocationTarget::Line { number: 1 },
            amount: m("1000"),
        }],
    };
    StoredEvent {
        position,
        transaction_id: position,
        aggregate_type: "Contract".into(),
        aggregate_id: contract.to_string(),
        sequence: 2,
        event_type: "PaymentRecorded".into(),
        event_version: "1".into(),
        stored_version: "1".into(),
        payload: serde_json::to_value(&event).unwrap(),
        metadata: serde_json::json!({}),
        recorded_at: Utc::now(),
    }
}

#[tokio::test]
async fn two_transactions_on_two_contracts_of_a_company_leave_its_total_equal_to_their_sum() {
    let db = fresh_database().await.unwrap();
    let pool = db.pool(5).await.unwrap();
    let company = Uuid::now_v7();
    projections::executors::company_executor(
        pool.clone(),
        projections::executors::inline_projections(),
        100,
    )
    .execute(
        &company.to_string(),
        CompanyCommand::RegisterCompany {
            company_id: company,
            profile: Box::new(sample_profile("773601001")),
        },
        &CommandMeta::system("test"),
    )
    .await
    .unwrap();
    let a = conclude(&pool, company, "ЛД-A").await;
    let b = conclude(&pool, company, "ЛД-B").await;

    // T1 applies a payment on A and stays open; T2 applies one on B meanwhile.
    let mut t1 = pool.begin().await.unwrap();
    ContractsProjection
        .apply_batch(&mut t1, &[payment(a, 1_000_001)])
        .await
        .unwrap();
    let p2 = pool.clone();
    let t2 = tokio::spawn(async move {
        let mut t2 = p2.begin().await.unwrap();
        ContractsProjection
            .apply_batch(&mut t2, &[payment(b, 1_000_002)])
            .await
            .unwrap();
        t2.commit().await.unwrap();
    });
    // T2 must be waiting on T1 before T1 commits (on the company lock, or — without it — on the row).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "T2 never waited for T1");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    t1.commit().await.unwrap();
    t2.await.unwrap();

    let (company_total, sum): (Decimal, Decimal) = sqlx::query_as(
        "SELECT c.total, (SELECT sum(total) FROM contract_debt_view WHERE company_id = c.company_id) \
         FROM company_debt_view c WHERE c.company_id = $1",
    )
    .bind(company)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(company_total, sum);
    assert_eq!(
        sum,
        Decimal::ZERO,
        "nothing due yet: payments only prepay line 1"
    );
    let next: Decimal = sqlx::query_scalar(
        "SELECT next_payment_amount FROM company_debt_view WHERE company_id = $1",
    )
    .bind(company)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(next, Decimal::from(598_000), "2 × (300,000 − 1,000)");
}
