//! Analysts: the `analytics` views give the expected numbers on a fixed data set, and a login with the
//! `cabinet_analyst` role reads them and nothing else — through a rebuild too.
//!
//! The data set is written straight into the read-model tables of a fresh database (the views are SQL over
//! those tables; the projections that fill them are tested elsewhere), so every expected number below is
//! worked out by hand from the rows.

use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::{PgPool, Row};
use uuid::Uuid;

const A: &str = "00000000-0000-7000-8000-00000000000a";
const B: &str = "00000000-0000-7000-8000-00000000000b";
const K1: &str = "00000000-0000-7000-8000-0000000000c1";
const K2: &str = "00000000-0000-7000-8000-0000000000c2";
const K3: &str = "00000000-0000-7000-8000-0000000000c3";

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sql).execute(pool).await.unwrap();
}

async fn fixed_data(pool: &PgPool) {
    exec(pool, &format!("
        INSERT INTO companies_view (company_id, kind, inn, kpp, ogrn, full_name, short_name, legal_address, postal_address,
            bank_name, bik, correspondent_account, settlement_account, contact_email, contact_phone, registered_at,
            registered_position, updated_at, last_position) VALUES
          ('{A}', 'LEGAL_ENTITY', '7707083893', '773601001', '1027700132195', 'ООО «Альфа»', 'Альфа', 'Москва', 'Москва',
           'Банк', '044525225', '30101810400000000225', '40702810938000012345', 'a@alfa.ru', '+74950000000', now(), 1, now(), 1),
          ('{B}', 'SOLE_PROPRIETOR', '500100732259', NULL, '304500116000157', 'ИП Иванов Иван Иванович', 'ИП Иванов И. И.',
           'Химки', 'Химки', 'Банк', '044525225', '30101810400000000225', '40802810938000012345', 'i@ivanov.ru', '+79160000000',
           now(), 2, now(), 2);
        INSERT INTO business_day_view (id, business_date, position) VALUES (true, '2026-05-15', 100);

        -- Overdue lines: A has 800 at 10 days, 500 at 45, 300 at 75, 900 at 120; B has 250 at 5. Paid and upcoming
        -- lines do not count.
        INSERT INTO schedule_view (contract_id, line_number, company_id, kind, due_date, amount, vat_rate, vat_amount,
            paid, status, fell_due, was_overdue, days_overdue, penalty) VALUES
          ('{K1}', 1, '{A}', 'regular', '2026-01-15', 1000, 22, 180.33, 100, 'overdue', true, true, 120, 0),
          ('{K1}', 2, '{A}', 'regular', '2026-02-15', 300, 22, 54.10, 0, 'overdue', true, true, 75, 0),
          ('{K1}', 3, '{A}', 'regular', '2026-03-31', 500, 22, 90.16, 0, 'overdue', true, true, 45, 0),
          ('{K2}', 1, '{A}', 'regular', '2026-05-05', 1000, 22, 180.33, 200, 'overdue', true, true, 10, 0),
          ('{K2}', 2, '{A}', 'regular', '2026-04-05', 700, 22, 126.23, 700, 'paid', true, true, 3, 0),
          ('{K2}', 3, '{A}', 'regular', '2026-06-05', 700, 22, 126.23, 0, 'upcoming', false, false, 0, 0),
          ('{K3}', 1, '{B}', 'regular', '2026-05-10', 250, 22, 45.08, 0, 'overdue', true, true, 5, 0);

        -- Payments: March — A pays 1000 (800 to a line, 200 to penalties) and 500 to a line; April — B pays 300 (250
        -- to a line, 50 left as credit).
        INSERT INTO payments_view (contract_id, bank_reference, company_id, paid_on, amount, purpose, allocations,
            position, recorded_at) VALUES
          ('{K1}', 'пп1', '{A}', '2026-03-03', 1000, 'leasing_payment',
           '[{{\"target\": {{\"kind\": \"line\", \"number\": 1}}, \"amount\": \"800.00\"}}, {{\"target\": {{\"kind\": \"penalties\"}}, \"amount\": \"200.00\"}}]', 10, now()),
          ('{K2}', 'пп2', '{A}', '2026-03-28', 500, 'leasing_payment',
           '[{{\"target\": {{\"kind\": \"line\", \"number\": 2}}, \"amount\": \"500.00\"}}]', 11, now()),
          ('{K3}', 'пп3', '{B}', '2026-04-02', 300, 'leasing_payment',
           '[{{\"target\": {{\"kind\": \"line\", \"number\": 1}}, \"amount\": \"250.00\"}}, {{\"target\": {{\"kind\": \"credit\"}}, \"amount\": \"50.00\"}}]', 12, now());

        -- Penalties: A's K1 accrued 150 and paid 50; A's K2 none; B's K3 accrued 30.
        INSERT INTO contract_debt_view (contract_id, company_id, leasing_due, overdue, penalties_accrued, penalties_paid,
            penalties, fines, insurance, credit, total, last_position) VALUES
          ('{K1}', '{A}', 1700, 1700, 150, 50, 100, 0, 0, 0, 1800, 20),
          ('{K2}', '{A}', 800, 800, 0, 0, 0, 0, 0, 0, 800, 21),
          ('{K3}', '{B}', 250, 250, 30, 0, 30, 0, 0, 50, 230, 22);

        -- Requests: three certificates (completed after 1 and 3 days, one open) and one rejected, overdue complaint.
        INSERT INTO requests_view (request_id, company_id, kind, status, details, submitted_by, submitted_on, due_on,
            overdue, effect, comments, attachments, submitted_at, closed_at, updated_at, last_position) VALUES
          ('{}', '{A}', 'certificate', 'completed', '{{}}', '{A}', '2026-05-04', '2026-05-08', false, 'applied', 0, 0,
           '2026-05-04T09:00:00Z', '2026-05-05T09:00:00Z', now(), 30),
          ('{}', '{A}', 'certificate', 'completed', '{{}}', '{A}', '2026-05-04', '2026-05-08', false, 'applied', 0, 0,
           '2026-05-04T09:00:00Z', '2026-05-07T09:00:00Z', now(), 31),
          ('{}', '{B}', 'certificate', 'in_review', '{{}}', '{B}', '2026-05-12', '2026-05-15', false, 'none', 0, 0,
           '2026-05-12T09:00:00Z', NULL, now(), 32),
          ('{}', '{B}', 'complaint', 'rejected', '{{}}', '{B}', '2026-04-01', '2026-04-10', true, 'none', 0, 0,
           '2026-04-01T09:00:00Z', '2026-04-20T09:00:00Z', now(), 33);

        -- Policies (business day 2026-05-15, so next month is June): two end in June, one ends in July, one June
        -- policy is cancelled, one ends in May.
        INSERT INTO policies_view (policy_id, contract_id, company_id, insurer, kind, number, first_starts_on, starts_on,
            ends_on, sum_insured, premium, premium_paid, payer, status, insured_events, issued_position, last_position,
            updated_at) VALUES
          ('{}', '{K1}', '{A}', 'ВСК', 'kasko', 'П-1', '2025-06-10', '2025-06-10', '2026-06-10', 1, 1, 1, 'lessee', 'expiring', 0, 40, 40, now()),
          ('{}', '{K2}', '{A}', 'ВСК', 'osago', 'П-2', '2025-07-01', '2025-07-01', '2026-06-30', 1, 1, 1, 'lessee', 'active', 0, 41, 41, now()),
          ('{}', '{K2}', '{A}', 'ВСК', 'osago', 'П-3', '2025-07-02', '2025-07-02', '2026-07-01', 1, 1, 1, 'lessee', 'active', 0, 42, 42, now()),
          ('{}', '{K3}', '{B}', 'ВСК', 'kasko', 'П-4', '2025-06-15', '2025-06-15', '2026-06-15', 1, 1, 1, 'lessee', 'cancelled', 0, 43, 43, now()),
          ('{}', '{K3}', '{B}', 'ВСК', 'kasko', 'П-5', '2025-05-31', '2025-05-31', '2026-05-31', 1, 1, 1, 'lessee', 'expiring', 0, 44, 44, now());
    ",
        Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(),
        Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()))
    .await;
}

/// Runs `sql` and returns its rows as JSON objects.
async fn rows(pool: &PgPool, sql: &str) -> Vec<serde_json::Value> {
    sqlx::query(&format!("SELECT to_jsonb(x) FROM ({sql}) x"))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn the_analyst_views_answer_the_usual_questions_on_a_fixed_data_set() {
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let pool = db.pool(2).await.unwrap();
    fixed_data(&pool).await;

    assert_eq!(
        rows(&pool, "SELECT company_id, lines, contracts, days_1_30, days_31_60, days_61_90, days_over_90, total, oldest_days \
                     FROM analytics.overdue_aging ORDER BY company_id").await,
        vec![
            json!({"company_id": A, "lines": 4, "contracts": 2, "days_1_30": 800.00, "days_31_60": 500.00,
                   "days_61_90": 300.00, "days_over_90": 900.00, "total": 2500.00, "oldest_days": 120}),
            json!({"company_id": B, "lines": 1, "contracts": 1, "days_1_30": 250.00, "days_31_60": 0,
                   "days_61_90": 0, "days_over_90": 0, "total": 250.00, "oldest_days": 5}),
        ]
    );
    assert_eq!(
        rows(&pool, "SELECT month, payments, companies, contracts, amount, leasing, penalties, fines, insurance, credit \
                     FROM analytics.payments_by_month ORDER BY month").await,
        vec![
            json!({"month": "2026-03-01", "payments": 2, "companies": 1, "contracts": 2, "amount": 1500.00,
                   "leasing": 1300.00, "penalties": 200.00, "fines": 0, "insurance": 0, "credit": 0}),
            json!({"month": "2026-04-01", "payments": 1, "companies": 1, "contracts": 1, "amount": 300.00,
                   "leasing": 250.00, "penalties": 0, "fines": 0, "insurance": 0, "credit": 50.00}),
        ]
    );
    assert_eq!(
        rows(
            &pool,
            "SELECT company_id, short_name, contracts, accrued, paid, outstanding \
                     FROM analytics.penalties_by_company ORDER BY company_id"
        )
        .await,
        vec![
            json!({"company_id": A, "short_name": "Альфа", "contracts": 1, "accrued": 150.00, "paid": 50.00, "outstanding": 100.00}),
            // An ИП's name is personal data: not shown.
            json!({"company_id": B, "short_name": null, "contracts": 1, "accrued": 30.00, "paid": 0.00, "outstanding": 30.00}),
        ]
    );
    assert_eq!(
        rows(&pool, "SELECT kind, submitted, open, completed, rejected, withdrawn, overdue, avg_days_to_complete, \
                            median_days_to_complete, max_days_to_complete FROM analytics.requests_by_kind ORDER BY kind").await,
        vec![
            json!({"kind": "certificate", "submitted": 3, "open": 1, "completed": 2, "rejected": 0, "withdrawn": 0,
                   "overdue": 0, "avg_days_to_complete": 2.00, "median_days_to_complete": 2.00, "max_days_to_complete": 3.00}),
            json!({"kind": "complaint", "submitted": 1, "open": 0, "completed": 0, "rejected": 1, "withdrawn": 0,
                   "overdue": 1, "avg_days_to_complete": null, "median_days_to_complete": null, "max_days_to_complete": null}),
        ]
    );
    assert_eq!(
        rows(&pool, "SELECT number, ends_on, days_left FROM analytics.policies_expiring_next_month ORDER BY ends_on").await,
        vec![
            json!({"number": "П-1", "ends_on": "2026-06-10", "days_left": 26}),
            json!({"number": "П-2", "ends_on": "2026-06-30", "days_left": 46}),
        ]
    );
    // No personal data in the analysts' company list.
    assert_eq!(
        rows(
            &pool,
            "SELECT inn, full_name FROM analytics.companies ORDER BY company_id"
        )
        .await,
        vec![
            json!({"inn": "7707083893", "full_name": "ООО «Альфа»"}),
            json!({"inn": null, "full_name": null}),
        ]
    );
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'analytics'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for personal in [
        "contact_email",
        "contact_phone",
        "manager_name",
        "signer_name",
        "place",
        "description",
        "details",
    ] {
        assert!(
            !columns.iter().any(|c| c == personal),
            "{personal} in analytics"
        );
    }
}

fn refused(e: sqlx::Error) -> String {
    e.as_database_error()
        .and_then(|d| d.code().map(|c| c.into_owned()))
        .unwrap_or_else(|| format!("not a database error: {e}"))
}

#[tokio::test]
async fn an_analyst_login_reads_the_read_models_and_is_refused_everything_else() {
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let pool = db.pool(2).await.unwrap();
    fixed_data(&pool).await;
    let login = format!("analyst_{}", Uuid::new_v4().simple());
    sqlx::query(&format!(
        "CREATE ROLE {login} LOGIN PASSWORD 'analyst-password-1'"
    ))
    .execute(&pool)
    .await
    .unwrap();
    projections::postgres::analysts::grant(&pool, &login)
        .await
        .unwrap();
    let options: PgConnectOptions = db.url.parse().unwrap();
    let analyst = PgPool::connect_with(options.username(&login).password("analyst-password-1"))
        .await
        .unwrap();

    // The read models: through the analytics schema, which is on the analyst's search path.
    let contracts: i64 = sqlx::query_scalar("SELECT count(*) FROM schedule_lines")
        .fetch_one(&analyst)
        .await
        .unwrap();
    assert_eq!(contracts, 7);
    let total: rust_decimal::Decimal = sqlx::query_scalar("SELECT sum(total) FROM overdue_aging")
        .fetch_one(&analyst)
        .await
        .unwrap();
    assert_eq!(total, rust_decimal::Decimal::from(2750));

    // Everything else: permission denied (42501), and no writes (a read-only session: 25006).
    for table in [
        "accounts",
        "sessions",
        "outbox",
        "events",
        "snapshots",
        "contracts_view",
        "companies_view",
        "stored_files",
    ] {
        let e = sqlx::query(&format!("SELECT * FROM public.{table} LIMIT 1"))
            .fetch_all(&analyst)
            .await
            .expect_err(table);
        assert_eq!(refused(e), "42501", "{table}");
    }
    let e = sqlx::query("UPDATE analytics.business_day SET business_date = '2030-01-01'")
        .execute(&analyst)
        .await
        .unwrap_err();
    assert!(["25006", "42501"].contains(&refused(e).as_str()));
    let e = sqlx::query("CREATE TABLE public.mine (x int)")
        .execute(&analyst)
        .await
        .unwrap_err();
    assert!(["25006", "42501"].contains(&refused(e).as_str()));

    // A rebuild swaps the tables under the views; the views and their grants come along.
    projections::engine::runner::rebuild(
        &pool,
        &projections::views::contracts::ContractsProjection,
        1000,
    )
    .await
    .unwrap();
    let lines: i64 = sqlx::query_scalar("SELECT count(*) FROM schedule_lines")
        .fetch_one(&analyst)
        .await
        .unwrap();
    assert_eq!(
        lines, 0,
        "the rebuilt tables hold what the (empty) log says"
    );
    let aging: i64 = sqlx::query_scalar("SELECT count(*) FROM analytics.overdue_aging")
        .fetch_one(&analyst)
        .await
        .unwrap();
    assert_eq!(aging, 0);
    let e = sqlx::query("SELECT * FROM public.schedule_view LIMIT 1")
        .fetch_all(&analyst)
        .await
        .unwrap_err();
    assert_eq!(
        refused(e),
        "42501",
        "the new table is as closed as the old one"
    );

    analyst.close().await;
    projections::postgres::analysts::revoke(&pool, &login)
        .await
        .unwrap();
    sqlx::query(&format!("DROP ROLE {login}"))
        .execute(&pool)
        .await
        .unwrap();
}
