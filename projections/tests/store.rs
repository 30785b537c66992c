//! The event store, projection engine and catch-up runner against a real PostgreSQL (a throwaway cluster
//! started from the machine's binaries, or TEST_DATABASE_URL).

use std::sync::Arc;

use async_trait::async_trait;
use cqrs_es::{
    event_sink::EventSink, Aggregate, AggregateContext, CqrsFramework, DomainEvent, EventStore,
};
use domain::company::{Company, CompanyCommand, CompanyServices, RequisitesChange};
use domain::testing::sample_profile;
use projections::engine::error::ProjectionError;
use projections::engine::read_model::ReadModel;
use projections::engine::runner::{self, CatchUp, Checkpoint};
use projections::postgres::testing::fresh_database;
use projections::store::command::{CommandError, CommandExecutor};
use projections::store::event::{CommandMeta, StoredEvent};
use projections::store::event_store::PgEventStore;
use projections::views::lookups::PgCompanyLookup;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

// A delta-style aggregate: `apply` adds, so applying an event twice shows as a wrong total.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Counter {
    total: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum CounterEvent {
    Added { n: i64 },
}

impl DomainEvent for CounterEvent {
    fn event_type(&self) -> String {
        "Added".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("refused")]
struct Refused;

impl domain::failure::Rejection for Refused {}

impl Aggregate for Counter {
    const TYPE: &'static str = "Counter";
    type Command = i64;
    type Event = CounterEvent;
    type Error = Refused;
    type Services = ();

    async fn handle(&mut self, n: i64, _: &(), sink: &EventSink<Self>) -> Result<(), Refused> {
        if n < 0 {
            return Err(Refused);
        }
        sink.write(CounterEvent::Added { n }, self).await;
        Ok(())
    }

    fn apply(&mut self, event: CounterEvent) {
        let CounterEvent::Added { n } = event;
        self.total += n;
    }
}

fn no_projections() -> Arc<[Arc<dyn ReadModel>]> {
    Arc::from(Vec::<Arc<dyn ReadModel>>::new())
}

/// The Company executor the application uses, on `pool`.
fn company_executor(pool: &PgPool, snapshot_every: i64) -> CommandExecutor<Company> {
    projections::executors::company_executor(
        pool.clone(),
        projections::executors::inline_projections(),
        snapshot_every,
    )
}

/// Registers the sample company with `kpp`; returns its id.
async fn register(exec: &CommandExecutor<Company>, kpp: &str) -> uuid::Uuid {
    let id = uuid::Uuid::now_v7();
    exec.execute(
        &id.to_string(),
        CompanyCommand::RegisterCompany {
            company_id: id,
            profile: Box::new(sample_profile(kpp)),
        },
        &CommandMeta::system("test"),
    )
    .await
    .unwrap();
    id
}

async fn pool() -> PgPool {
    fresh_database().await.unwrap().pool(20).await.unwrap()
}

#[tokio::test]
async fn three_add_commands_reload_as_three_with_snapshots_of_any_size() {
    let pool = pool().await;
    for snapshot_every in [0, 1, 2, 3] {
        let id = format!("counter-{snapshot_every}");
        let store = PgEventStore::<Counter>::new(pool.clone(), no_projections(), snapshot_every);
        let exec = CommandExecutor::new(store.clone(), ());
        for _ in 0..3 {
            exec.execute(&id, 1, &CommandMeta::system("test"))
                .await
                .unwrap();
        }
        let mut ctx = store.load_aggregate(&id).await.unwrap();
        assert_eq!(ctx.aggregate().total, 3, "snapshot every {snapshot_every}");
        assert_eq!(ctx.current_sequence, 3);
    }
    // A snapshot was really written (and used: it covers sequence 3 with size 1 and 3).
    let seq: i64 =
        sqlx::query_scalar("SELECT last_sequence FROM snapshots WHERE aggregate_id = 'counter-1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(seq, 3);
}

#[tokio::test]
async fn a_long_history_without_a_snapshot_gets_one_at_the_next_command() {
    // 250 events written by an earlier store that never snapshotted (or imported): the next command must
    // snapshot, so that the one after it loads the snapshot and at most N events, not the whole history.
    let pool = pool().await;
    let plain = CommandExecutor::new(
        PgEventStore::<Counter>::new(pool.clone(), no_projections(), 0),
        (),
    );
    for _ in 0..250 {
        plain
            .execute("long", 1, &CommandMeta::system("test"))
            .await
            .unwrap();
    }
    let store = PgEventStore::<Counter>::new(pool.clone(), no_projections(), 100);
    CommandExecutor::new(store.clone(), ())
        .execute("long", 1, &CommandMeta::system("test"))
        .await
        .unwrap();
    let seq: i64 =
        sqlx::query_scalar("SELECT last_sequence FROM snapshots WHERE aggregate_id = 'long'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(seq, 251);
    let mut ctx = store.load_aggregate("long").await.unwrap();
    assert_eq!(ctx.aggregate().total, 251);
    assert_eq!(ctx.snapshot_sequence, 251);
}

#[tokio::test]
async fn the_stock_postgres_es_snapshot_store_applies_events_twice() {
    // Evidence for docs/adr/0001-event-store.md: the same three Add(1) through postgres-es 0.5's snapshot
    // store reload as more than 3. If this ever reports 3, the stock store was fixed and the ADR is stale.
    let pool = pool().await;
    let repo = postgres_es::PostgresEventRepository::new(pool.clone());
    let cqrs = CqrsFramework::new(
        cqrs_es::persist::PersistedEventStore::<_, Counter>::new_snapshot_store(repo, 1),
        vec![],
        (),
    );
    for _ in 0..3 {
        cqrs.execute("stock", 1).await.unwrap();
    }
    let loader = cqrs_es::persist::PersistedEventStore::<_, Counter>::new_snapshot_store(
        postgres_es::PostgresEventRepository::new(pool.clone()),
        1,
    );
    let mut ctx = loader.load_aggregate("stock").await.unwrap();
    assert_eq!(ctx.aggregate().total, 6, "stock snapshot store total");
}

#[tokio::test]
async fn a_refused_command_stores_nothing() {
    let pool = pool().await;
    let exec = CommandExecutor::new(
        PgEventStore::<Counter>::new(pool.clone(), no_projections(), 0),
        (),
    );
    let err = exec
        .execute("c", -1, &CommandMeta::system("test"))
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::Rejected(Refused)));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn every_event_carries_its_metadata_and_the_outcome_names_its_position() {
    let pool = pool().await;
    let exec = CommandExecutor::new(
        PgEventStore::<Counter>::new(pool.clone(), no_projections(), 0),
        (),
    );
    let meta = CommandMeta {
        actor: "account:abc".into(),
        correlation_id: "corr-1".into(),
        causation_id: "cause-1".into(),
        request_id: "req-1".into(),
        idempotency_key: None,
    };
    let out = exec.execute("c", 5, &meta).await.unwrap();
    let (position, metadata): (i64, serde_json::Value) =
        sqlx::query_as("SELECT position, metadata FROM events WHERE aggregate_id = 'c'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(out.last_position, Some(position));
    assert_eq!(metadata["actor"], "account:abc");
    assert_eq!(metadata["correlation_id"], "corr-1");
    assert_eq!(metadata["causation_id"], "cause-1");
    assert_eq!(metadata["request_id"], "req-1");
}

#[tokio::test]
async fn a_command_retried_with_its_idempotency_key_has_one_effect_and_returns_the_first_result() {
    let pool = pool().await;
    let store = PgEventStore::<Counter>::new(pool.clone(), no_projections(), 0);
    let exec = Arc::new(CommandExecutor::new(store.clone(), ()));
    let mut meta = CommandMeta::system("test");
    meta.idempotency_key = Some("pay-2026-03-10".into());
    let first = exec.execute("c", 7, &meta).await.unwrap();
    // Sequential retries and a burst of concurrent ones.
    let again = exec.execute("c", 7, &meta).await.unwrap();
    let burst = futures::future::join_all((0..8).map(|_| {
        let exec = exec.clone();
        let meta = meta.clone();
        async move { exec.execute("c", 7, &meta).await.unwrap() }
    }))
    .await;
    assert!(!first.replayed);
    assert!(again.replayed);
    assert_eq!(again.last_position, first.last_position);
    assert!(burst.iter().all(|o| o.last_position == first.last_position));
    let mut ctx = store.load_aggregate("c").await.unwrap();
    assert_eq!(ctx.aggregate().total, 7);
    // Another actor's identical key is its own.
    let mut other = meta.clone();
    other.actor = "account:other".into();
    assert!(!exec.execute("c", 7, &other).await.unwrap().replayed);
}

#[tokio::test]
async fn an_event_stored_with_an_old_version_is_upcast_on_load_and_on_replay() {
    let pool = pool().await;
    let id = uuid::Uuid::now_v7();
    // A CompanyRegistered as version 1 wrote it: one `address`.
    let v1 = serde_json::json!({"CompanyRegistered": {
        "company_id": id, "kind": "LEGAL_ENTITY", "inn": "7707083893", "kpp": "773601001",
        "ogrn": "1027700132195", "full_name": "ООО «Старое»", "short_name": "Старое",
        "address": "Москва, ул. Старая, 1",
        "bank": {"bank_name": "ПАО Сбербанк", "bik": "044525225",
                 "correspondent_account": "30101810400000000225", "settlement_account": "40702810938000012345"},
        "contact_email": "old@example.ru", "contact_phone": "+74951234567"}});
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('Company', $1, 1, 'CompanyRegistered', '1', $2, '{}')",
    )
    .bind(id.to_string())
    .bind(&v1)
    .execute(&pool)
    .await
    .unwrap();
    // Load: the aggregate sees version 2 and accepts a command that depends on its state.
    let services = CompanyServices::new(Arc::new(PgCompanyLookup::new(pool.clone())));
    let store = PgEventStore::<Company>::new(
        pool.clone(),
        projections::executors::inline_projections(),
        0,
    );
    let envelopes = store.load_events(&id.to_string()).await.unwrap();
    match &envelopes[0].payload {
        domain::company::CompanyEvent::CompanyRegistered {
            legal_address,
            postal_address,
            ..
        } => {
            assert_eq!(legal_address, "Москва, ул. Старая, 1");
            assert_eq!(postal_address, "Москва, ул. Старая, 1");
        }
        other => panic!("unexpected {other:?}"),
    }
    // Replay: the rebuilt read model has both addresses, and verify agrees with it.
    runner::rebuild(
        &pool,
        &projections::views::companies::CompaniesProjection,
        1000,
    )
    .await
    .unwrap();
    let (legal, postal): (String, String) = sqlx::query_as(
        "SELECT legal_address, postal_address FROM companies_view WHERE company_id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (legal.as_str(), postal.as_str()),
        ("Москва, ул. Старая, 1", "Москва, ул. Старая, 1")
    );
    let exec = CommandExecutor::new(store, services);
    let change = RequisitesChange {
        postal_address: Some("Москва, ул. Новая, 2".into()),
        ..Default::default()
    };
    let out = exec
        .execute(
            &id.to_string(),
            CompanyCommand::ChangeCompanyRequisites(Box::new(change)),
            &CommandMeta::system("test"),
        )
        .await
        .unwrap();
    assert_eq!(out.events, 1);
    assert!(
        runner::verify(&pool, &projections::executors::inline_projections())
            .await
            .unwrap()
            .is_empty()
    );
}

/// A catch-up projection that records the order in which it sees events; with `slow`, it takes a second
/// over events of aggregates named `slow…`.
#[derive(Default)]
struct Seen {
    slow: bool,
    /// The aggregate types it reads (`None`: all).
    types: Option<&'static [&'static str]>,
}

#[async_trait]
impl ReadModel for Seen {
    fn name(&self) -> &'static str {
        "seen_test"
    }
    fn version(&self) -> i32 {
        1
    }
    fn tables(&self) -> &'static [&'static str] {
        &["seen_test"]
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        self.types
    }
    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        if self.slow && e.aggregate_id.starts_with("slow") {
            sqlx::query("SELECT pg_sleep(1)")
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query("INSERT INTO seen_test (aggregate_id) VALUES ($1)")
            .bind(&e.aggregate_id)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// Appends one event as the store does: inside a transaction registered as an appender (ADR 0014).
async fn insert_raw(conn: &mut PgConnection, id: &str) {
    projections::engine::horizon::register_appender(conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('Counter', $1, 1, 'Added', '1', '{\"Added\": {\"n\": 1}}', '{}')",
    )
    .bind(id)
    .execute(conn)
    .await
    .unwrap();
}

async fn catch_up_until(consumer: &CatchUp, conn: &mut PgConnection, pool: &PgPool, want: &[&str]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        consumer.step(conn).await.unwrap();
        let got = seen(pool).await;
        if got == want {
            return;
        }
        assert!(
            want.starts_with(&got.iter().map(String::as_str).collect::<Vec<_>>()),
            "out of order: {got:?}"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "not delivered in time: {got:?}"
        );
        tokio::task::yield_now().await;
    }
}

/// The table [`Seen`] writes.
async fn seen_table(pool: &PgPool) {
    sqlx::query("CREATE TABLE seen_test (n bigint GENERATED ALWAYS AS IDENTITY, aggregate_id text NOT NULL)")
        .execute(pool)
        .await
        .unwrap();
}

/// The table [`Seen`] writes, and an executor of counters on `pool` without read models.
async fn seen_table_and_counters(pool: &PgPool) -> CommandExecutor<Counter> {
    seen_table(pool).await;
    CommandExecutor::new(
        PgEventStore::<Counter>::new(pool.clone(), no_projections(), 0),
        (),
    )
}

async fn seen(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT aggregate_id FROM seen_test ORDER BY n")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_transaction_that_inserts_first_and_commits_last_is_never_skipped() {
    let pool = pool().await;
    seen_table(&pool).await;
    let consumer = CatchUp::read_model(Arc::new(Seen::default()), 100);
    let mut cconn = pool.acquire().await.unwrap();
    {
        let mut tx = pool.begin().await.unwrap();
        insert_raw(&mut tx, "before").await;
        tx.commit().await.unwrap();
    }
    // An appender of another test's database delays nothing here; wait with a deadline all the same.
    catch_up_until(&consumer, &mut cconn, &pool, &["before"]).await;

    // Writer A inserts first (smaller transaction id and position) and stays open.
    let mut a = pool.begin().await.unwrap();
    insert_raw(&mut a, "A").await;
    // Writer B inserts second and commits first.
    let mut b = pool.begin().await.unwrap();
    insert_raw(&mut b, "B").await;
    b.commit().await.unwrap();

    // B is committed but A, below it, is still in flight: the consumer must not move past A.
    assert_eq!(consumer.step(&mut cconn).await.unwrap(), 0);
    assert_eq!(seen(&pool).await, vec!["before"]);
    let cp = runner::load_checkpoint(&mut cconn, "seen_test")
        .await
        .unwrap();

    a.commit().await.unwrap();
    // Both delivered, once each, in (transaction_id, position) order, which the checkpoint follows.
    catch_up_until(&consumer, &mut cconn, &pool, &["before", "A", "B"]).await;
    let after = runner::load_checkpoint(&mut cconn, "seen_test")
        .await
        .unwrap();
    assert!(after > cp);
    let b_pos: i64 = sqlx::query_scalar("SELECT position FROM events WHERE aggregate_id = 'B'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(after.position, b_pos);
    assert_ne!(after, Checkpoint::default());
}

#[tokio::test]
async fn parallel_commands_on_one_aggregate_each_land_once_and_the_read_model_equals_a_rebuild() {
    let pool = pool().await;
    let exec = Arc::new(company_executor(&pool, 5));
    let id = register(&exec, "773601001").await;
    const N: usize = 24;
    let results = futures::future::join_all((0..N).map(|i| {
        let exec = exec.clone();
        let id = id.to_string();
        tokio::spawn(async move {
            let change = RequisitesChange {
                postal_address: Some(format!("Москва, ул. Параллельная, {i}")),
                ..Default::default()
            };
            exec.execute(
                &id,
                CompanyCommand::ChangeCompanyRequisites(Box::new(change)),
                &CommandMeta::system("t"),
            )
            .await
        })
    }))
    .await;
    let acknowledged: Vec<i64> = results
        .into_iter()
        .filter_map(|r| r.unwrap().ok())
        .filter_map(|o| o.last_position)
        .collect();
    assert!(
        acknowledged.len() >= N / 2,
        "most commands succeed: {}",
        acknowledged.len()
    );
    // Every acknowledged command's event is in the log exactly once; sequences have no gaps.
    let positions: Vec<i64> = sqlx::query_scalar(
        "SELECT position FROM events WHERE aggregate_id = $1 AND event_type = 'CompanyRequisitesChanged' ORDER BY sequence",
    )
    .bind(id.to_string())
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut ack = acknowledged.clone();
    ack.sort();
    assert_eq!(positions, ack);
    let seqs: Vec<i64> =
        sqlx::query_scalar("SELECT sequence FROM events WHERE aggregate_id = $1 ORDER BY sequence")
            .bind(id.to_string())
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    // The inline read model equals a replay of the log.
    let diffs = runner::verify(&pool, &projections::executors::inline_projections())
        .await
        .unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");
}

#[tokio::test]
async fn rebuild_swaps_in_fresh_tables_without_losing_events_committed_meanwhile() {
    let pool = pool().await;
    let exec = Arc::new(company_executor(&pool, 0));
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(register(&exec, &format!("77360{i}001")).await);
    }
    // Damage the live table: a rebuild must restore it from the log.
    sqlx::query("UPDATE companies_view SET short_name = 'испорчено'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        !runner::verify(&pool, &projections::executors::inline_projections())
            .await
            .unwrap()
            .is_empty()
    );
    // Writers keep going during the rebuild.
    let writer = {
        let exec = exec.clone();
        let ids = ids.clone();
        tokio::spawn(async move {
            for i in 0..20 {
                let change = RequisitesChange {
                    postal_address: Some(format!("Адрес {i}")),
                    ..Default::default()
                };
                exec.execute(
                    &ids[i % 3].to_string(),
                    CompanyCommand::ChangeCompanyRequisites(Box::new(change)),
                    &CommandMeta::system("t"),
                )
                .await
                .unwrap();
            }
        })
    };
    let report = runner::rebuild(
        &pool,
        &projections::views::companies::CompaniesProjection,
        2,
    )
    .await
    .unwrap();
    writer.await.unwrap();
    assert!(report.events >= 3);
    let diffs = runner::verify(&pool, &projections::executors::inline_projections())
        .await
        .unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");
    let names: Vec<String> = sqlx::query_scalar("SELECT short_name FROM companies_view")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(names.iter().all(|n| n != "испорчено"));
    // The swapped-in table kept its constraint names (errors are mapped by them).
    let cons: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE tablename = 'companies_view' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        cons,
        vec![
            "companies_view_inn_kpp_key",
            "companies_view_inn_no_kpp_key",
            "companies_view_manager_idx",
            "companies_view_name_idx",
            "companies_view_pkey",
            "companies_view_registered_position_idx"
        ]
    );
}

#[tokio::test]
async fn one_catch_up_consumer_leads_at_a_time_and_another_takes_over_without_duplicates() {
    let pool = pool().await;
    let exec = seen_table_and_counters(&pool).await;
    let poll = std::time::Duration::from_millis(50);
    let (stop1, rx1) = tokio::sync::watch::channel(false);
    let (stop2, rx2) = tokio::sync::watch::channel(false);
    let r1 = tokio::spawn(CatchUp::read_model(Arc::new(Seen::default()), 100).run(
        pool.clone(),
        poll,
        rx1,
    ));
    let r2 = tokio::spawn(CatchUp::read_model(Arc::new(Seen::default()), 100).run(
        pool.clone(),
        poll,
        rx2,
    ));

    exec.execute("x", 1, &CommandMeta::system("t"))
        .await
        .unwrap();
    wait_for_seen(&pool, &["x"]).await;
    let leaders: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(leaders, 1);

    // Stop the first runner (leader or standby): the other one delivers what follows.
    stop1.send(true).unwrap();
    r1.await.unwrap().unwrap();
    exec.execute("y", 1, &CommandMeta::system("t"))
        .await
        .unwrap();
    wait_for_seen(&pool, &["x", "y"]).await;
    stop2.send(true).unwrap();
    r2.await.unwrap().unwrap();
    assert_eq!(seen(&pool).await, vec!["x", "y"]);
}

/// A consumer is woken only by appends of the aggregate types it reads — but when an event of its own was
/// notified while an earlier appender held the horizon back, the next append of any type wakes it, so the
/// event arrives then and not only at the next poll (here two minutes: longer than the test's bound).
#[tokio::test]
async fn a_consumer_held_back_by_another_types_appender_is_woken_when_that_appender_commits() {
    let pool = pool().await;
    let exec = seen_table_and_counters(&pool).await;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(
        CatchUp::read_model(
            Arc::new(Seen {
                types: Some(&["Counter"]),
                ..Seen::default()
            }),
            100,
        )
        .run(pool.clone(), std::time::Duration::from_secs(120), rx),
    );
    exec.execute("first", 1, &CommandMeta::system("t"))
        .await
        .unwrap();
    wait_for_seen(&pool, &["first"]).await;

    // An appender of another type takes its transaction id first and stays open.
    let mut other = pool.begin().await.unwrap();
    projections::engine::horizon::register_appender(&mut other)
        .await
        .unwrap();
    let (txid, position): (i64, i64) = sqlx::query_as(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('Other', 'o', 1, 'Happened', '1', '{}', '{}') \
         RETURNING transaction_id::text::bigint, position",
    )
    .fetch_one(&mut *other)
    .await
    .unwrap();
    // A counter commits after it: notified, but below the horizon only once the other one ends.
    exec.execute("held", 1, &CommandMeta::system("t"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(seen(&pool).await, vec!["first"]);
    // The other appender commits with the store's notification, naming its own type.
    sqlx::query("SELECT pg_notify('cabinet_events', $1)")
        .bind(format!("{txid}/{position}:Other"))
        .execute(&mut *other)
        .await
        .unwrap();
    other.commit().await.unwrap();
    wait_for_seen(&pool, &["first", "held"]).await;
    stop.send(true).unwrap();
    runner.await.unwrap().unwrap();
}

async fn wait_for_seen(pool: &PgPool, want: &[&str]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let got = seen(pool).await;
        if got == want {
            return;
        }
        assert!(
            want.starts_with(&got.iter().map(String::as_str).collect::<Vec<_>>()),
            "unexpected {got:?}"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "not delivered in time: {got:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_batched_replay_equals_the_live_read_model_even_when_a_kpp_moves_between_companies() {
    // Company A leaves КПП 773601001 and company B (same ИНН, a new branch) registers with it. Replayed in one
    // batch, the upsert writes both final rows in one statement: the deferrable ИНН+КПП constraint sees only
    // the final state.
    let pool = pool().await;
    let exec = company_executor(&pool, 0);
    let meta = CommandMeta::system("test");
    let a = register(&exec, "773601001").await;
    let moved = RequisitesChange {
        kpp: Some(domain::values::Kpp::parse("773602001").unwrap()),
        ..Default::default()
    };
    exec.execute(
        &a.to_string(),
        CompanyCommand::ChangeCompanyRequisites(Box::new(moved)),
        &meta,
    )
    .await
    .unwrap();
    let b = register(&exec, "773601001").await;
    let report = runner::rebuild(
        &pool,
        &projections::views::companies::CompaniesProjection,
        10_000,
    )
    .await
    .unwrap();
    assert_eq!(report.events, 3);
    let diffs = runner::verify(&pool, &projections::executors::inline_projections())
        .await
        .unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");
    let kpps: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT company_id, kpp FROM companies_view ORDER BY kpp")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        kpps,
        vec![(b, "773601001".to_owned()), (a, "773602001".to_owned())]
    );
}

#[tokio::test]
async fn the_catch_up_read_walks_the_commit_order_index_without_sorting() {
    // Regression: an output column named `transaction_id` once captured `ORDER BY transaction_id`, so every
    // batch sorted the whole log (1.1 s per 5,000 events on 1,000,000). The plan must read the index in order.
    let pool = pool().await;
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await
        .unwrap();
    // With sorts priced out, only an ORDER BY the index can serve avoids a Sort node.
    sqlx::query("SET LOCAL enable_sort = off")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("SET LOCAL plan_cache_mode = force_generic_plan")
        .execute(&mut *tx)
        .await
        .unwrap();
    let sql = runner::catch_up_sql()
        .replace("$1", "0")
        .replace("$2", "0")
        .replace("$3", "5000")
        .replace("$4", "ARRAY['Contract']")
        .replace("$5", "1000000");
    let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {sql}"))
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    let plan = plan.join("\n");
    // Every live partition is read by its commit-order index and the scans are merged in order (ADR
    // 0029); nothing is sorted (a Merge Append's "Sort Key" names the order it keeps, it is not a sort).
    let partitions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM event_partitions WHERE NOT archived")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert!(partitions >= 2, "{partitions}");
    let ordered_scans = plan
        .lines()
        .filter(|l| l.contains("Index Scan using") && l.contains("_transaction_id_position_idx"))
        .count();
    assert_eq!(ordered_scans as i64, partitions, "{plan}");
    assert!(
        !plan.lines().any(|l| l
            .trim_start()
            .trim_start_matches("->")
            .trim_start()
            .starts_with("Sort  (")),
        "{plan}"
    );
}

#[tokio::test]
async fn rebuild_applies_in_its_swap_what_a_long_transaction_kept_below_the_horizon() {
    let pool = pool().await;
    let exec = company_executor(&pool, 0);
    // An appender with an id, left open: the horizon cannot pass it.
    let mut long = pool.begin().await.unwrap();
    projections::engine::horizon::register_appender(&mut long)
        .await
        .unwrap();
    for i in 0..7 {
        register(&exec, &format!("77360{i}001")).await;
    }
    sqlx::query("UPDATE companies_view SET short_name = 'испорчено'")
        .execute(&pool)
        .await
        .unwrap();
    // Batches of 3: the swap applies all seven in bounded batches.
    let report = runner::rebuild(
        &pool,
        &projections::views::companies::CompaniesProjection,
        3,
    )
    .await
    .unwrap();
    assert_eq!(report.events, 7);
    long.rollback().await.unwrap();
    let diffs = runner::verify(&pool, &projections::executors::inline_projections())
        .await
        .unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");
}

/// A look-up that always fails, as a database that refuses would.
struct FailingLookup;

#[async_trait]
impl domain::company::CompanyLookup for FailingLookup {
    async fn find_by_inn_kpp(
        &self,
        _: &domain::values::Inn,
        _: Option<&domain::values::Kpp>,
    ) -> Result<Option<uuid::Uuid>, domain::failure::LookupFailed> {
        Err(domain::failure::LookupFailed {
            what: "company by ИНН and КПП",
            cause: "connection refused".into(),
        })
    }
}

#[tokio::test]
async fn a_failed_look_up_is_reported_as_infrastructure_not_as_a_broken_rule_and_stores_nothing() {
    let pool = pool().await;
    let exec = CommandExecutor::new(
        PgEventStore::<Company>::new(
            pool.clone(),
            projections::executors::inline_projections(),
            0,
        ),
        CompanyServices::new(Arc::new(FailingLookup)),
    );
    let id = uuid::Uuid::now_v7();
    let r = exec
        .execute(
            &id.to_string(),
            CompanyCommand::RegisterCompany {
                company_id: id,
                profile: Box::new(sample_profile("773601001")),
            },
            &CommandMeta::system("test"),
        )
        .await;
    match r {
        Err(CommandError::LookupFailed(f)) => assert_eq!(f.cause, "connection refused"),
        Err(other) => panic!("expected a failed look-up, got {other}"),
        Ok(_) => panic!("a command whose look-up failed was accepted"),
    }
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, 0);
}

// ---------------------------------------------------------------------------------------------------------
// Issue 20: faults around the log.

#[tokio::test]
async fn a_long_transaction_that_appends_nothing_holds_no_consumer_back_in_this_database_or_another(
) {
    let db = fresh_database().await.unwrap();
    let pool = db.pool(10).await.unwrap();
    seen_table(&pool).await;
    // A writing transaction left open here, and one in another database of the cluster.
    let mut here = pool.begin().await.unwrap();
    sqlx::query("CREATE TEMPORARY TABLE report_scratch (n int)")
        .execute(&mut *here)
        .await
        .unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *here)
        .await
        .unwrap();
    let admin = projections::postgres::db::connect(&db.admin_url, 1)
        .await
        .unwrap();
    let mut elsewhere = admin.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *elsewhere)
        .await
        .unwrap();

    let exec = CommandExecutor::new(
        PgEventStore::<Counter>::new(pool.clone(), no_projections(), 0),
        (),
    );
    exec.execute("after", 1, &CommandMeta::system("t"))
        .await
        .unwrap();
    // Delivered at once: the horizon waits only for appenders (ADR 0014), not for xmin.
    let consumer = CatchUp::read_model(Arc::new(Seen::default()), 100);
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(consumer.step(&mut conn).await.unwrap(), 1);
    assert_eq!(seen(&pool).await, vec!["after"]);
    // And the horizon stands above both open transactions.
    let h = projections::engine::horizon::read(&pool).await.unwrap();
    let open: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint")
        .fetch_one(&mut *here)
        .await
        .unwrap();
    assert!(
        h > open,
        "horizon {h} not above the open transaction {open}"
    );
    here.rollback().await.unwrap();
    elsewhere.rollback().await.unwrap();
}

#[tokio::test]
async fn the_same_idempotency_key_sent_through_two_nodes_at_once_gives_one_answer() {
    // Two executors are two nodes: separate stripes, one database. Each node makes its own company id for
    // the request (as the API does), so without the fix the read model's ИНН+КПП key fired on one of them.
    let pool = pool().await;
    let node1 = Arc::new(company_executor(&pool, 0));
    let node2 = Arc::new(company_executor(&pool, 0));
    for trial in 0..8 {
        let kpp = format!("7736{:02}001", 10 + trial);
        let meta = CommandMeta {
            idempotency_key: Some(format!("same-key-{trial}")),
            ..CommandMeta::system("test")
        };
        let send = |node: Arc<CommandExecutor<Company>>, meta: CommandMeta, kpp: String| async move {
            let id = uuid::Uuid::now_v7();
            node.execute(
                &id.to_string(),
                CompanyCommand::RegisterCompany {
                    company_id: id,
                    profile: Box::new(sample_profile(&kpp)),
                },
                &meta,
            )
            .await
        };
        let (a, b) = tokio::join!(
            send(node1.clone(), meta.clone(), kpp.clone()),
            send(node2.clone(), meta.clone(), kpp.clone())
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.aggregate_id, b.aggregate_id, "trial {trial}");
        assert_eq!(a.last_position, b.last_position, "trial {trial}");
        assert!(a.replayed != b.replayed, "trial {trial}: {a:?} {b:?}");
    }
    let registered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'CompanyRegistered'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(registered, 8);
}

#[tokio::test]
async fn commands_on_one_aggregate_from_many_nodes_take_turns_and_none_gives_up() {
    let db = fresh_database().await.unwrap();
    let pool = db.pool(20).await.unwrap();
    // Four nodes, each refusing to retry a conflict at all: any race would fail a command.
    let nodes: Vec<Arc<CommandExecutor<Counter>>> = (0..4)
        .map(|_| {
            let turns = projections::store::turns::Turns::new(
                projections::postgres::db::side_pool(&pool, 4, &Default::default()),
            );
            Arc::new(
                CommandExecutor::new(
                    PgEventStore::<Counter>::new(pool.clone(), no_projections(), 0),
                    (),
                )
                .with_max_attempts(1)
                .with_turns(turns),
            )
        })
        .collect();
    let mut tasks = Vec::new();
    for node in &nodes {
        for _ in 0..15 {
            let node = node.clone();
            tasks.push(tokio::spawn(async move {
                node.execute("shared", 1, &CommandMeta::system("t")).await
            }));
        }
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let total = nodes[0].load("shared").await.unwrap().total;
    assert_eq!(total, 60);
    // Every turn was given back.
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(held, 0);
}

#[tokio::test]
async fn a_turn_dropped_while_held_or_while_waiting_leaves_no_lock_behind() {
    let pool = pool().await;
    let turns = projections::store::turns::Turns::new(projections::postgres::db::side_pool(
        &pool,
        2,
        &Default::default(),
    ));
    let held = turns.take("Counter", "x").await.unwrap();
    // A second caller waits, and goes away while waiting (its request was cancelled).
    let waiting = {
        let turns = turns.clone();
        tokio::spawn(async move { turns.take("Counter", "x").await.map(|_| ()) })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    waiting.abort();
    // The holder fails without giving its turn back.
    drop(held);
    // The turn is free again at once, on a pool that still works.
    let again = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        turns.take("Counter", "x"),
    )
    .await
    .expect("the turn comes free")
    .unwrap();
    again.give_back().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0);
}

/// The backend holding `name`'s leadership lock, once one does.
async fn leader_pid(pool: &PgPool, name: &str) -> i32 {
    let key = runner::advisory_key(name);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND classid::bigint = (($1::bigint >> 32) & 4294967295) AND objid::bigint = ($1::bigint & 4294967295)",
        )
        .bind(key)
        .fetch_optional(pool)
        .await
        .unwrap();
        if let Some(pid) = pid {
            return pid;
        }
        assert!(std::time::Instant::now() < deadline, "nobody leads {name}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_consumer_whose_statement_is_cancelled_or_whose_session_ends_lets_go_and_is_taken_over() {
    let pool = pool().await;
    let exec = seen_table_and_counters(&pool).await;
    let poll = std::time::Duration::from_millis(50);
    let bound = std::time::Duration::from_secs(20);
    for (round, how) in ["pg_cancel_backend", "pg_terminate_backend"]
        .iter()
        .enumerate()
    {
        let (stop, rx) = tokio::sync::watch::channel(false);
        let first = tokio::spawn(
            CatchUp::read_model(
                Arc::new(Seen {
                    slow: true,
                    ..Seen::default()
                }),
                100,
            )
            .run(pool.clone(), poll, rx),
        );
        let pid = leader_pid(&pool, "seen_test").await;
        exec.execute(&format!("slow{round}"), 1, &CommandMeta::system("t"))
            .await
            .unwrap();
        // Cancel its statement (or end its session) until its run ends: a cancel that arrives while the
        // backend is idle does nothing (a fixed pause before one cancel raced the consumer's start on a busy
        // machine), one that arrives during the slow statement fails the batch.
        let deadline = std::time::Instant::now() + bound;
        let mut first = first;
        let ended = loop {
            sqlx::query(&format!("SELECT {how}($1)"))
                .bind(pid)
                .execute(&pool)
                .await
                .unwrap();
            match tokio::time::timeout(std::time::Duration::from_millis(100), &mut first).await {
                Ok(ended) => break ended,
                Err(_) => assert!(
                    std::time::Instant::now() < deadline,
                    "{how}: the run never ended"
                ),
            }
        };
        // The run fails (the caller restarts it) and its lock goes with its connection.
        assert!(ended.unwrap().is_err(), "{how}: the run should fail");
        // Another node takes over and delivers, once.
        let (stop2, rx2) = tokio::sync::watch::channel(false);
        let second = tokio::spawn(
            CatchUp::read_model(
                Arc::new(Seen {
                    slow: true,
                    ..Seen::default()
                }),
                100,
            )
            .run(pool.clone(), poll, rx2),
        );
        let want: Vec<String> = (0..=round).map(|r| format!("slow{r}")).collect();
        let want: Vec<&str> = want.iter().map(String::as_str).collect();
        wait_for_seen(&pool, &want).await;
        stop2.send(true).unwrap();
        second.await.unwrap().unwrap();
        drop(stop);
    }
}

#[tokio::test]
async fn a_rebuild_waits_for_a_busy_live_table_in_short_tries_and_then_swaps() {
    let pool = pool().await;
    let exec = company_executor(&pool, 0);
    register(&exec, "773601001").await;
    // A reader holds the live table for three seconds (longer than one 2 s try of the swap's lock).
    let mut reader = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE companies_view IN ACCESS SHARE MODE")
        .execute(&mut *reader)
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        reader.rollback().await.unwrap();
    });
    // Meanwhile writers are not stuck behind the waiting swap for longer than its short tries.
    let report = runner::rebuild(
        &pool,
        &projections::views::companies::CompaniesProjection,
        100,
    )
    .await
    .unwrap();
    release.await.unwrap();
    assert_eq!(report.events, 1);
    assert!(
        runner::verify(&pool, &projections::executors::inline_projections())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn transaction_ids_from_the_lock_table_are_widened_next_to_the_snapshot_on_either_side() {
    // Regression: an appender that took its id after the reference snapshot (an id above its xmax) was
    // widened into the previous epoch, made the horizon negative and failed every reader for a moment.
    let pool = pool().await;
    for (x, reference, want) in [
        (10_i64, 8_i64, 10_i64),
        (5, 8, 5),
        (2, 4_294_967_296 + 5, 4_294_967_296 + 2),
        (4_294_967_290, 4_294_967_296 + 5, 4_294_967_290),
        (7, 4_294_967_296 + 4_294_967_290, 2 * 4_294_967_296 + 7),
        (
            4_294_967_295,
            4_294_967_296 + 4_294_967_290,
            4_294_967_296 + 4_294_967_295,
        ),
    ] {
        let got: i64 =
            sqlx::query_scalar("SELECT cabinet_widen_xid($1::text::xid, $2::text::xid8)")
                .bind(x.to_string())
                .bind(reference.to_string())
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(got, want, "x {x} next to {reference}");
    }
    // And the horizon stays at or above the snapshot's xmin with appenders starting all the while.
    let exec = Arc::new(CommandExecutor::new(
        PgEventStore::<Counter>::new(pool.clone(), no_projections(), 0),
        (),
    ));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let exec = exec.clone();
            tokio::spawn(async move {
                for i in 0..50 {
                    exec.execute(&format!("w{w}-{i}"), 1, &CommandMeta::system("t"))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let mut reads = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        let (h, xmin): (i64, i64) = sqlx::query_as(
            "SELECT cabinet_commit_horizon()::text::bigint, pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(h >= xmin, "horizon {h} below xmin {xmin}");
        reads += 1;
    }
    for w in writers {
        w.await.unwrap();
    }
    assert!(reads > 0);
}

/// A batch (`execute_many`) decides each aggregate as alone and commits all of them in one transaction with
/// the inline read models over every event; a refusal concerns its command only; a batch that cannot commit
/// as a whole (an append raced it) stores nothing and each command then runs on its own, once.
#[tokio::test]
async fn a_batch_commits_many_aggregates_at_once_refuses_alone_and_falls_back_when_raced() {
    let pool = pool().await;
    seen_table(&pool).await;
    let inline: Arc<[Arc<dyn ReadModel>]> =
        Arc::from(vec![Arc::new(Seen::default()) as Arc<dyn ReadModel>]);
    let exec = CommandExecutor::new(PgEventStore::<Counter>::new(pool.clone(), inline, 2), ())
        .with_batches(());
    let meta = CommandMeta::system("t");
    exec.execute("a", 1, &meta).await.unwrap();
    let out = exec
        .execute_many(
            vec![
                ("a".into(), 2),
                ("b".into(), 3),
                ("c".into(), -1),
                ("d".into(), 4),
            ],
            &meta,
        )
        .await
        .unwrap();
    let outcomes: Vec<(String, Option<usize>)> =
        out.into_iter().map(|(id, r)| (id, r.ok())).collect();
    assert_eq!(
        outcomes,
        vec![
            ("a".to_owned(), Some(1)),
            ("b".to_owned(), Some(1)),
            ("c".to_owned(), None),
            ("d".to_owned(), Some(1))
        ]
    );
    let transactions: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT transaction_id) FROM events WHERE aggregate_id IN ('b', 'd') \
            OR (aggregate_id = 'a' AND sequence = 2)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(transactions, 1);
    assert_eq!(seen(&pool).await, vec!["a", "a", "b", "d"]);
    // The state after the batch, from the snapshot it wrote (every 2 events) and from the events alike.
    assert_eq!(exec.load("a").await.unwrap().total, 3);
    let snapshot: i64 = sqlx::query_scalar(
        "SELECT last_sequence FROM snapshots WHERE aggregate_type = 'Counter' AND aggregate_id = 'a'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(snapshot, 2);

    // Another appender holds e's first sequence: the batch's insert waits for it, fails when it commits,
    // and the commands then run one by one (e after the other's event, f as before).
    let mut other = pool.begin().await.unwrap();
    projections::engine::horizon::register_appender(&mut other)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('Counter', 'e', 1, 'Added', '1', '{\"Added\": {\"n\": 10}}', '{}')",
    )
    .execute(&mut *other)
    .await
    .unwrap();
    let batch = {
        let (exec, meta) = (Arc::new(exec), meta.clone());
        let e2 = exec.clone();
        (
            tokio::spawn(async move {
                e2.execute_many(vec![("e".into(), 5), ("f".into(), 6)], &meta)
                    .await
                    .unwrap()
            }),
            exec,
        )
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    other.commit().await.unwrap();
    let out = batch.0.await.unwrap();
    assert!(out.iter().all(|(_, r)| r.as_ref().is_ok_and(|n| *n == 1)));
    assert_eq!(batch.1.load("e").await.unwrap().total, 15);
    assert_eq!(batch.1.load("f").await.unwrap().total, 6);
    let events: Vec<(String, i64)> = sqlx::query_as(
        "SELECT aggregate_id, sequence FROM events WHERE aggregate_id IN ('e', 'f') ORDER BY aggregate_id, sequence",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        vec![
            ("e".to_owned(), 1),
            ("e".to_owned(), 2),
            ("f".to_owned(), 1)
        ]
    );
    assert_eq!(seen(&pool).await, vec!["a", "a", "b", "d", "e", "f"]);
}

/// A process manager that records which segment handled each event, in the order it handled them.
struct Recorder;

#[async_trait]
impl projections::engine::process_manager::ProcessManager for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["Counter"])
    }

    async fn handle(&self, _: &mut PgConnection, _: &StoredEvent) -> Result<(), ProjectionError> {
        unreachable!("run in segments")
    }

    async fn handle_in_segment(
        &self,
        conn: &mut PgConnection,
        events: &[StoredEvent],
        segment: projections::engine::segments::Segment,
    ) -> Result<(), ProjectionError> {
        for e in events {
            sqlx::query(
                "INSERT INTO recorded_test (aggregate_id, sequence, segment, segments) VALUES ($1, $2, $3, $4)",
            )
            .bind(&e.aggregate_id)
            .bind(e.sequence)
            .bind(segment.index)
            .bind(segment.count)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

/// Segments split a worker's events by aggregate: every event handled once, by the segment of its
/// aggregate, each aggregate's events in order; after the count changes, nothing of what follows is missed.
#[tokio::test]
async fn segments_handle_every_event_once_by_its_aggregate_in_order() {
    use projections::engine::segments::{self, Segmented};
    let pool = pool().await;
    sqlx::query(
        "CREATE TABLE recorded_test (n bigserial PRIMARY KEY, aggregate_id text, sequence bigint, \
         segment integer, segments integer)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let exec = CommandExecutor::new(
        PgEventStore::<Counter>::new(pool.clone(), no_projections(), 0),
        (),
    );
    let ids: Vec<String> = (0..24).map(|i| format!("agg-{i}")).collect();
    for round in 0..4 {
        for id in &ids {
            exec.execute(id, round + 1, &CommandMeta::system("t"))
                .await
                .unwrap();
        }
    }
    let manager: Arc<dyn projections::engine::process_manager::ProcessManager> = Arc::new(Recorder);
    assert!(segments::set_count(&pool, "recorder", 4).await.unwrap());
    let runner = Segmented::new(manager.clone(), 7, Arc::default());
    assert_eq!(runner.run_once(&pool).await.unwrap(), Some(96));
    // Once each, by the segment the SQL rule gives its aggregate, in sequence order per aggregate.
    let rows: Vec<(String, i64, i32, i32)> = sqlx::query_as(
        "SELECT aggregate_id, sequence, segment, event_segment(aggregate_id, 4) FROM recorded_test ORDER BY n",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 96);
    let mut last: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    let mut used = std::collections::BTreeSet::new();
    for (id, seq, segment, rule) in &rows {
        assert_eq!(
            segment, rule,
            "{id} handled by segment {segment}, its segment is {rule}"
        );
        let before = last.insert(id.as_str(), *seq).unwrap_or(0);
        assert_eq!(*seq, before + 1, "{id}: {seq} after {before}");
        used.insert(*segment);
    }
    assert!(
        used.len() > 1,
        "the aggregates fell in one segment: {used:?}"
    );
    // Caught up: nothing more.
    assert_eq!(runner.run_once(&pool).await.unwrap(), Some(0));
    // A segment's lease held elsewhere leaves the work to its holder.
    let mut holder = pool.acquire().await.unwrap();
    let key = projections::engine::segments::Segment { index: 2, count: 4 }.lock_key("recorder");
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(key)
        .execute(&mut *holder)
        .await
        .unwrap();
    assert_eq!(runner.run_once(&pool).await.unwrap(), None);
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(key)
        .execute(&mut *holder)
        .await
        .unwrap();

    // Two segments from now on: what follows is handled, each by its new segment, none missed.
    assert!(segments::set_count(&pool, "recorder", 2).await.unwrap());
    for id in &ids {
        exec.execute(id, 10, &CommandMeta::system("t"))
            .await
            .unwrap();
    }
    runner.run_once(&pool).await.unwrap().expect("not held");
    let fifth: Vec<(String, i32, i32, i64)> = sqlx::query_as(
        "SELECT aggregate_id, min(segment), max(segment), count(*) FROM recorded_test \
         WHERE sequence = 5 AND segments = 2 GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        fifth.len(),
        ids.len(),
        "every aggregate's fifth event handled"
    );
    for (id, lo, hi, n) in &fifth {
        let rule: i32 = sqlx::query_scalar("SELECT event_segment($1, 2)")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!((*lo, *hi, *n), (rule, rule, 1), "{id}");
    }
}

// ---- The partitioned log (migration 0033, ADR 0029) ----

/// Partitions of `size` positions from the next position on. The existing ones keep their size (1,000,000):
/// the position sequence is moved to the end of the last, so the next append lands in the first small one.
/// Returns that first position.
async fn small_partitions(pool: &PgPool, size: i64) -> i64 {
    use projections::store::partitions;
    let top: i64 = sqlx::query_scalar("SELECT max(to_position) FROM event_partitions")
        .fetch_one(pool)
        .await
        .unwrap();
    sqlx::query("SELECT setval('events_position_seq', $1)")
        .bind(top - 1)
        .execute(pool)
        .await
        .unwrap();
    partitions::configure(pool, Some(size), Some(2))
        .await
        .unwrap();
    assert!(partitions::ensure(pool).await.unwrap() >= 1);
    top
}

/// The unique violation's constraint, if `e` is one.
fn violated(e: &sqlx::Error) -> Option<String> {
    let db = e.as_database_error()?;
    (db.code().as_deref() == Some("23505")).then(|| db.constraint().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn the_log_spans_partitions_in_one_order_with_one_version_per_stream() {
    let pool = pool().await;
    let first = small_partitions(&pool, 10).await;
    let store = PgEventStore::<Counter>::new(pool.clone(), no_projections(), 0);
    let exec = CommandExecutor::new(store.clone(), ());
    // 25 appends: three partitions of 10, and only two were made ahead, so one append finds no partition
    // for its position; the store creates them and the command is retried.
    for n in 1..=25 {
        exec.execute("spanning", n, &CommandMeta::system("test"))
            .await
            .unwrap();
    }
    let ctx = store.load_aggregate("spanning").await.unwrap();
    assert_eq!((ctx.aggregate.total, ctx.current_sequence), (325, 25));
    let (positions, partitions_used): (Vec<i64>, i64) = sqlx::query_as(
        "SELECT array_agg(position ORDER BY sequence), count(DISTINCT tableoid) FROM events \
         WHERE aggregate_id = 'spanning'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    // The append that found no partition took position first + 20 and rolled back: the hole says the
    // retry happened.
    assert_eq!(
        positions,
        (first..first + 26)
            .filter(|p| *p != first + 20)
            .collect::<Vec<_>>()
    );
    assert_eq!(partitions_used, 3);
    let version: i64 = sqlx::query_scalar(
        "SELECT version FROM event_streams WHERE aggregate_type = 'Counter' AND aggregate_id = 'spanning'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(version, 25);

    // Two appends of the same sequence whose positions fall in two partitions: the first takes the last
    // position of one, the second the first of the next; the second is the conflict, whatever the partition.
    projections::store::partitions::ensure(&pool).await.unwrap();
    let end: i64 = sqlx::query_scalar(
        "SELECT to_position FROM event_partitions \
         WHERE from_position <= event_last_position() + 1 AND event_last_position() + 1 < to_position",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("SELECT setval('events_position_seq', $1)")
        .bind(end - 2)
        .execute(&pool)
        .await
        .unwrap();
    let append = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
                  VALUES ('Counter', 'spanning', $1, 'Added', '1', '{\"Added\": {\"n\": 1}}', '{}') RETURNING position";
    let mut one = pool.begin().await.unwrap();
    let p1: i64 = sqlx::query_scalar(append)
        .bind(26i64)
        .fetch_one(&mut *one)
        .await
        .unwrap();
    assert_eq!(p1, end - 1);
    let second = {
        let pool = pool.clone();
        tokio::spawn(async move {
            sqlx::query_scalar::<_, i64>(append)
                .bind(26i64)
                .fetch_one(&pool)
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    one.commit().await.unwrap();
    let e = second.await.unwrap().unwrap_err();
    assert_eq!(
        violated(&e).as_deref(),
        Some("event_streams_version"),
        "{e}"
    );
    // A sequence that skips, and a second first event, are refused the same way; nothing was stored.
    for seq in [28i64, 1] {
        let e = sqlx::query(append)
            .bind(seq)
            .execute(&pool)
            .await
            .unwrap_err();
        assert_eq!(
            violated(&e).as_deref(),
            Some("event_streams_version"),
            "{e}"
        );
    }
    // The store reads that as an optimistic-lock conflict: two commands on one loaded state, one wins.
    let a = store.load_aggregate("spanning").await.unwrap();
    let b = store.load_aggregate("spanning").await.unwrap();
    store
        .commit(vec![CounterEvent::Added { n: 1 }], a, Default::default())
        .await
        .unwrap();
    let lost = store
        .commit(vec![CounterEvent::Added { n: 1 }], b, Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(lost, cqrs_es::AggregateError::AggregateConflict),
        "{lost:?}"
    );
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = 'spanning'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(rows, 27);
}

/// The whole log exported, checked as complete.
async fn exported(pool: &PgPool) -> anyhow::Result<Vec<u8>> {
    use projections::log::export::{export, Coverage, ExportCheck};
    let mut out = Vec::new();
    let mut check = ExportCheck::new(Coverage::Complete);
    export(pool, &Default::default(), &mut out, Some(&mut check)).await?;
    let report = check.report();
    assert_eq!(report.problems, 0, "{:?}", report.samples);
    Ok(out)
}

#[tokio::test]
async fn archived_partitions_are_read_by_every_reader_and_a_missing_one_is_named() {
    use projections::store::partitions;
    let pool = pool().await;
    small_partitions(&pool, 10).await;
    // Companies (with their inline read models) and counters, one with snapshots, across a few partitions.
    let companies = company_executor(&pool, 0);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(register(&companies, &format!("77360{i}001")).await);
    }
    let plain = CommandExecutor::new(
        PgEventStore::<Counter>::new(pool.clone(), no_projections(), 0),
        (),
    );
    let snapshotted = CommandExecutor::new(
        PgEventStore::<Counter>::new(pool.clone(), no_projections(), 7),
        (),
    );
    for n in 1..=20 {
        plain
            .execute("plain", n, &CommandMeta::system("t"))
            .await
            .unwrap();
        snapshotted
            .execute("snapshotted", n, &CommandMeta::system("t"))
            .await
            .unwrap();
    }
    let before = exported(&pool).await.unwrap();
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();

    // A partition still written to is refused, by name; then everything but the newest partition holding
    // events moves to the archive.
    let newest: String = sqlx::query_scalar(
        "SELECT name FROM event_partitions WHERE from_position <= event_last_position() \
         ORDER BY from_position DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let e = partitions::archive(&pool, &newest, std::time::Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is not full"), "{e}");
    let names = partitions::archivable(&pool, 1).await.unwrap();
    assert!(names.len() >= 5, "{names:?}");
    let mut moved = 0;
    for name in &names {
        moved += partitions::archive(&pool, name, std::time::Duration::from_secs(5))
            .await
            .unwrap();
    }
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(live + moved, all);
    assert!(live < 10, "{live}");
    let archived: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM event_partitions WHERE archived ORDER BY from_position",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(&archived, &names);

    // Every reader of the history reads the archive: the export is byte for byte the same, a replay of
    // every inline read model matches the live tables, a rebuild restores a damaged one, and aggregates
    // whose events are archived load whole — with and without a snapshot — and take new commands.
    assert_eq!(exported(&pool).await.unwrap(), before);
    assert!(
        runner::verify(&pool, &projections::executors::inline_projections())
            .await
            .unwrap()
            .is_empty()
    );
    sqlx::query("UPDATE companies_view SET short_name = 'испорчено'")
        .execute(&pool)
        .await
        .unwrap();
    runner::rebuild(
        &pool,
        &projections::views::companies::CompaniesProjection,
        2,
    )
    .await
    .unwrap();
    let damaged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM companies_view WHERE short_name = 'испорчено'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(damaged, 0);
    let out = plain
        .execute("plain", 1, &CommandMeta::system("t"))
        .await
        .unwrap();
    assert!(out.last_position.is_some());
    let store = PgEventStore::<Counter>::new(pool.clone(), no_projections(), 7);
    for (id, total, sequence) in [("plain", 211, 21), ("snapshotted", 210, 20)] {
        let ctx = store.load_aggregate(id).await.unwrap();
        assert_eq!(
            (ctx.aggregate.total, ctx.current_sequence),
            (total, sequence),
            "{id}"
        );
    }
    let change = RequisitesChange {
        postal_address: Some("Москва, ул. Архивная, 1".into()),
        ..Default::default()
    };
    companies
        .execute(
            &ids[0].to_string(),
            CompanyCommand::ChangeCompanyRequisites(Box::new(change)),
            &CommandMeta::system("t"),
        )
        .await
        .unwrap();

    // An archived partition dropped (dumped elsewhere): the gap is named by the export, the replay, the
    // rebuild and the load of an aggregate that needs it — nothing reads a partial history as whole.
    let oldest_with_events: (String, i64, i64) = sqlx::query_as(
        "SELECT p.name, p.from_position, p.to_position FROM event_partitions p \
         WHERE archived AND EXISTS (SELECT 1 FROM archive.events e \
                                    WHERE e.aggregate_id = 'plain' AND e.position >= p.from_position \
                                      AND e.position < p.to_position) \
         ORDER BY from_position LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query(&format!("DROP TABLE archive.{}", oldest_with_events.0))
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        partitions::history_gaps(&pool).await.unwrap(),
        vec![(oldest_with_events.1, oldest_with_events.2)]
    );
    let range = format!("{}..{}", oldest_with_events.1, oldest_with_events.2 - 1);
    let e = exported(&pool).await.unwrap_err();
    assert!(e.to_string().contains(&range), "{e}");
    let e = runner::verify(&pool, &projections::executors::inline_projections())
        .await
        .unwrap_err();
    assert!(e.to_string().contains(&range), "{e}");
    let e = runner::rebuild(
        &pool,
        &projections::views::companies::CompaniesProjection,
        2,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains(&range), "{e}");
    let e = PgEventStore::<Counter>::new(pool.clone(), no_projections(), 0)
        .load_aggregate("plain")
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains(&range), "{e:?}");
}

#[tokio::test]
async fn the_migration_moves_an_existing_log_into_partitions_unchanged() {
    let db = projections::postgres::testing::empty_database()
        .await
        .unwrap();
    let pool = db.pool(4).await.unwrap();
    // The schema as it was before the partitioned log, with events appended by the store of that time
    // (what an INSERT into the old table did), interleaved over streams, and a gap in the positions.
    projections::postgres::db::migrator_before(33)
        .run(&pool)
        .await
        .unwrap();
    for round in 1..=40i64 {
        for stream in ["a", "b", "c"] {
            sqlx::query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
                 VALUES ('Counter', $1, $2, 'Added', '1', jsonb_build_object('Added', jsonb_build_object('n', $2)), '{}')",
            )
            .bind(stream)
            .bind(round)
            .execute(&pool)
            .await
            .unwrap();
        }
        if round == 20 {
            // A rolled-back append leaves a hole in the positions.
            let mut tx = pool.begin().await.unwrap();
            sqlx::query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
                 VALUES ('Counter', 'd', 1, 'Added', '1', '{}', '{}')",
            )
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.rollback().await.unwrap();
        }
    }
    let dump = "SELECT string_agg(format('%s %s %s %s %s %s %s %s %s %s', position, transaction_id, recorded_at, \
                aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata), E'\\n' \
                ORDER BY transaction_id, position) FROM events";
    let old: String = sqlx::query_scalar(dump).fetch_one(&pool).await.unwrap();
    projections::postgres::db::migrate(&pool).await.unwrap();

    let partitioned: bool = sqlx::query_scalar(
        "SELECT relkind = 'p' FROM pg_class WHERE oid = 'public.events'::regclass",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(partitioned);
    let new: String = sqlx::query_scalar(dump).fetch_one(&pool).await.unwrap();
    assert_eq!(new, old);
    let whole: String = sqlx::query_scalar(&dump.replace("FROM events", "FROM event_log"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(whole, old);
    // The streams' versions came along, positions go on after the old ones (never reused), and the
    // export of the moved log checks as complete.
    let streams: Vec<(String, i64)> =
        sqlx::query_as("SELECT aggregate_id, version FROM event_streams ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        streams,
        vec![("a".into(), 40), ("b".into(), 40), ("c".into(), 40)]
    );
    exported(&pool).await.unwrap();
    let store = PgEventStore::<Counter>::new(pool.clone(), no_projections(), 0);
    let exec = CommandExecutor::new(store.clone(), ());
    let out = exec
        .execute("a", 1, &CommandMeta::system("t"))
        .await
        .unwrap();
    assert_eq!(out.last_position, Some(122));
    let ctx = store.load_aggregate("a").await.unwrap();
    assert_eq!((ctx.aggregate.total, ctx.current_sequence), (821, 41));
    assert!(projections::store::partitions::history_gaps(&pool)
        .await
        .unwrap()
        .is_empty());
}
