//! Crypto-shredding (issue 21, ADR 0016) on a real PostgreSQL: what reaches the tables is ciphertext, every
//! reader opens it, and once a subject's key is destroyed its values read as destroyed everywhere —
//! events, snapshots, read models rebuilt from them — while the aggregate keeps working.

use cqrs_es::EventStore;
use domain::company::{Company, CompanyCommand, ManagerDetails, RequisitesChange};
use domain::testing::sample_profile;
use domain::values::{Email, Phone};
use projections::personal::{self, MARK};
use projections::postgres::testing::fresh_database;
use projections::store::event::{load_aggregate_events, CommandMeta};
use projections::store::event_store::PgEventStore;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

async fn pool() -> PgPool {
    fresh_database().await.unwrap().pool(8).await.unwrap()
}

/// Every text the database holds for `sql`'s rows, as one string.
async fn dump(pool: &PgPool, sql: &str) -> String {
    let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(pool).await.unwrap();
    rows.join("\n")
}

/// Registers the sample company and assigns it a manager; returns its id.
async fn registered_with_manager(
    exec: &projections::store::command::CommandExecutor<Company>,
) -> Uuid {
    let id = Uuid::now_v7();
    let meta = CommandMeta::system("test");
    exec.execute(
        &id.to_string(),
        CompanyCommand::RegisterCompany {
            company_id: id,
            profile: Box::new(sample_profile("770701001")),
        },
        &meta,
    )
    .await
    .unwrap();
    exec.execute(
        &id.to_string(),
        CompanyCommand::AssignManager(ManagerDetails {
            account_id: None,
            name: "Петрова Анна Сергеевна".into(),
            phone: Phone::parse("+7 916 111-22-33").unwrap(),
            email: Email::parse("petrova@lessor.ru").unwrap(),
        }),
        &meta,
    )
    .await
    .unwrap();
    id
}

fn marker(role: &str, v: Value) -> Value {
    json!({ MARK: { "r": role, "v": v } })
}

#[tokio::test]
async fn sealed_values_open_for_their_subject_only_and_read_as_destroyed_once_shredded() {
    let pool = pool().await;
    let mut conn = pool.acquire().await.unwrap();
    let clear = json!({"ContractConcluded": {
        "number": "ДЛ-1",
        "contact_email": marker("contact", json!("buh@romashka.ru")),
        "drivers": [{ "full_name": marker("driver", json!("Иванов Иван")) }]
    }});
    let mut sealed = clear.clone();
    personal::seal(&mut conn, "Contract", "c-1", &mut [&mut sealed])
        .await
        .unwrap();
    let text = sealed.to_string();
    for secret in ["buh@romashka.ru", "Иванов"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(sealed["ContractConcluded"]["number"], "ДЛ-1");
    // One key per role of the aggregate, wrapped by the generated database master key.
    let keys: Vec<(String, String)> = sqlx::query_as(
        "SELECT role, master_key_id FROM subject_keys WHERE scope_id = 'c-1' ORDER BY role",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        keys,
        [
            ("contact".into(), personal::DATABASE_KEY_ID.into()),
            ("driver".into(), personal::DATABASE_KEY_ID.into())
        ]
    );

    let mut opened = sealed.clone();
    personal::open(&mut conn, &mut [&mut opened]).await.unwrap();
    assert_eq!(opened, clear);

    // A ciphertext moved to another subject does not open.
    let mut moved = sealed.clone();
    let driver = sealed["ContractConcluded"]["drivers"][0]["full_name"][MARK].clone();
    moved["ContractConcluded"]["contact_email"][MARK]["c"] = driver["c"].clone();
    moved["ContractConcluded"]["contact_email"][MARK]["n"] = driver["n"].clone();
    assert!(personal::open(&mut conn, &mut [&mut moved]).await.is_err());

    // The aggregate's keys destroyed: both read as destroyed, and a new value is written destroyed.
    let gone = personal::destroy(&mut conn, "Contract", &["c-1".into()])
        .await
        .unwrap();
    assert_eq!(gone.len(), 2);
    let mut after = sealed.clone();
    personal::open(&mut conn, &mut [&mut after]).await.unwrap();
    assert_eq!(
        after["ContractConcluded"]["contact_email"],
        json!({ MARK: { "r": "contact", "x": true } })
    );
    let mut again = clear.clone();
    personal::seal(&mut conn, "Contract", "c-1", &mut [&mut again])
        .await
        .unwrap();
    assert!(!again.to_string().contains("romashka"));
    personal::open(&mut conn, &mut [&mut again]).await.unwrap();
    assert_eq!(again, after);
    // Destroying again destroys nothing new.
    assert!(personal::destroy(&mut conn, "Contract", &["c-1".into()])
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_store_writes_ciphertext_reads_clear_and_keeps_working_after_destruction() {
    let pool = pool().await;
    // Snapshots every event: the snapshot must be sealed too.
    let exec = projections::executors::company_executor(
        pool.clone(),
        projections::executors::inline_projections(),
        1,
    );
    let meta = CommandMeta::system("test");
    let id = registered_with_manager(&exec).await;
    let secrets = [
        "office@romashka.ru",
        "74955005550",
        "Петрова",
        "petrova@lessor.ru",
    ];
    let raw = dump(
        &pool,
        "SELECT payload::text FROM events UNION ALL SELECT payload::text FROM snapshots",
    )
    .await;
    for s in secrets {
        assert!(!raw.contains(s), "{s} stored in clear");
    }
    // The read model (inline) has the clear values; loading opens events and the snapshot.
    let (email, manager): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT contact_email, manager_name FROM companies_view WHERE company_id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(email.as_deref(), Some("office@romashka.ru"));
    assert_eq!(manager.as_deref(), Some("Петрова Анна Сергеевна"));
    let events = load_aggregate_events(&pool, "Company", &id.to_string(), 0, None)
        .await
        .unwrap();
    assert_eq!(
        events[1].payload["ManagerAssigned"]["name"],
        marker("manager", json!("Петрова Анна Сергеевна"))
    );

    // Destroy the company's subjects: events and snapshot open as destroyed, the aggregate still loads
    // and still takes commands (a requisites change with a new contact is sealed under a destroyed key:
    // nothing personal can be written for the subject again).
    let mut conn = pool.acquire().await.unwrap();
    personal::destroy(&mut conn, "Company", &[id.to_string()])
        .await
        .unwrap();
    drop(conn);
    let events = load_aggregate_events(&pool, "Company", &id.to_string(), 0, None)
        .await
        .unwrap();
    assert_eq!(
        events[0].payload["CompanyRegistered"]["contact_email"],
        json!({ MARK: { "r": "contact", "x": true } })
    );
    let store = PgEventStore::<Company>::new(
        pool.clone(),
        projections::executors::inline_projections(),
        1,
    );
    let ctx = store.load_aggregate(&id.to_string()).await.unwrap();
    assert_eq!(ctx.current_sequence, 2);
    exec.execute(
        &id.to_string(),
        CompanyCommand::ChangeCompanyRequisites(Box::new(RequisitesChange {
            short_name: Some("ООО «Ромашка-2»".into()),
            contact_email: Some(Email::parse("new@romashka.ru").unwrap()),
            ..RequisitesChange::default()
        })),
        &meta,
    )
    .await
    .unwrap();
    let raw = dump(
        &pool,
        "SELECT payload::text FROM events UNION ALL SELECT payload::text FROM snapshots",
    )
    .await;
    assert!(!raw.contains("new@romashka.ru"));
}

#[tokio::test]
async fn rotation_rewraps_keys_without_touching_events_and_flatten_shows_values_or_null() {
    let pool = pool().await;
    let mut conn = pool.acquire().await.unwrap();
    let mut v = json!({"email": marker("contact", json!("a@b.ru")), "n": 1});
    personal::seal(&mut conn, "ClientRequest", "r-1", &mut [&mut v])
        .await
        .unwrap();
    // Every key is wrapped by the current master key after rewrap (none to move here: the database key is
    // current), and the value still opens.
    assert_eq!(personal::rewrap_all(&mut conn).await.unwrap(), 0);
    let mut opened = v.clone();
    personal::open(&mut conn, &mut [&mut opened]).await.unwrap();
    assert_eq!(
        personal::flatten(opened.clone()),
        json!({"email": "a@b.ru", "n": 1})
    );
    let mut blanked = opened;
    personal::blank(&mut blanked);
    assert_eq!(personal::flatten(blanked), json!({"email": null, "n": 1}));
    // A configured key set must name its current key and hold 32-byte keys.
    assert!(personal::MasterKeys::new("k2", &[("k1", &personal::MasterKeys::generate())]).is_err());
    assert!(personal::MasterKeys::new("k1", &[("k1", "c2hvcnQ")]).is_err());
}

#[tokio::test]
async fn events_recorded_in_clear_before_sealing_are_sealed_once_and_still_load() {
    let pool = pool().await;
    let id = Uuid::now_v7();
    // A ContractConcluded-like Company event recorded before issue 21: the bare e-mail and phone.
    let exec = projections::executors::company_executor(
        pool.clone(),
        projections::executors::inline_projections(),
        0,
    );
    exec.execute(
        &id.to_string(),
        CompanyCommand::RegisterCompany {
            company_id: id,
            profile: Box::new(sample_profile("770701001")),
        },
        &CommandMeta::system("test"),
    )
    .await
    .unwrap();
    // Make it look as it was stored before: the markers replaced by the bare values.
    sqlx::query(
        "UPDATE events SET payload = jsonb_set(jsonb_set(payload, '{CompanyRegistered,contact_email}', \
           '\"office@romashka.ru\"'), '{CompanyRegistered,contact_phone}', '\"+74955005550\"') \
         WHERE aggregate_id = $1",
    )
    .bind(id.to_string())
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM personal_data_rewrite")
        .execute(&pool)
        .await
        .unwrap();
    let done = projections::store::sealing::seal_clear_log(&pool)
        .await
        .unwrap();
    assert!(done.ran && done.sealed == 1, "{done:?}");
    let raw = dump(&pool, "SELECT payload::text FROM events").await;
    assert!(
        !raw.contains("office@romashka.ru") && !raw.contains("74955005550"),
        "{raw}"
    );
    let events = load_aggregate_events(&pool, "Company", &id.to_string(), 0, None)
        .await
        .unwrap();
    assert_eq!(
        events[0].payload["CompanyRegistered"]["contact_email"],
        marker("contact", json!("office@romashka.ru"))
    );
    // Once only.
    assert!(
        !projections::store::sealing::seal_clear_log(&pool)
            .await
            .unwrap()
            .ran
    );
}

#[tokio::test]
async fn a_command_racing_a_destruction_writes_no_destroyed_value_back() {
    let pool = pool().await;
    let exec = projections::executors::company_executor(
        pool.clone(),
        projections::executors::inline_projections(),
        0,
    );
    // The second command (the manager) loaded the company: its contact's key is now in this process's
    // command cache.
    let meta = CommandMeta::system("test");
    let id = registered_with_manager(&exec).await;
    // The company's persons are destroyed (keys, and the read model blanked).
    let mut conn = pool.acquire().await.unwrap();
    personal::destroy(&mut conn, "Company", &[id.to_string()])
        .await
        .unwrap();
    sqlx::query(
        "UPDATE companies_view SET contact_email = NULL, contact_phone = NULL, manager_name = NULL, \
           manager_phone = NULL, manager_email = NULL WHERE company_id = $1",
    )
    .bind(id)
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    // A change that copies the (cached, stale) contact into its event: stored and projected as destroyed.
    exec.execute(
        &id.to_string(),
        CompanyCommand::ChangeCompanyRequisites(Box::new(RequisitesChange {
            short_name: Some("ООО «Ромашка-3»".into()),
            ..RequisitesChange::default()
        })),
        &meta,
    )
    .await
    .unwrap();
    let (email, name): (Option<String>, String) = sqlx::query_as(
        "SELECT contact_email, short_name FROM companies_view WHERE company_id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(name, "ООО «Ромашка-3»");
    assert_eq!(
        email, None,
        "the destroyed contact came back into the read model"
    );
    let raw = dump(&pool, "SELECT payload::text FROM events").await;
    assert!(!raw.contains("office@romashka.ru"));
    let diffs =
        projections::engine::runner::verify(&pool, &projections::executors::inline_projections())
            .await
            .unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");
}
