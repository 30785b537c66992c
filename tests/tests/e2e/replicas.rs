//! Reads from a real streaming replica (issue 27): the test starts its own primary and a hot standby made
//! from it with `pg_basebackup` (PostgreSQL's binaries, nothing home-made), points the screens' heavy reads
//! at the standby, and checks that a read naming the position of a write never misses that write, and that
//! a stopped replica is bypassed.

use api::auth::Role;
use projections::postgres::cluster::{Cluster, Tuning};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::common::{company_input, conclude, TestApp};

/// A primary with one streaming replica, stopped when dropped.
struct Pair {
    primary: Cluster,
    replica: Cluster,
    dir: std::path::PathBuf,
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = self.replica.stop();
        let _ = self.primary.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A primary with a migrated `cabinet` database and a hot standby streaming from it.
async fn pair() -> (Pair, String, String) {
    let dir = std::env::temp_dir().join(format!("cabinet-replica-{}", Uuid::new_v4().simple()));
    let tuning = Tuning {
        throwaway: true,
        ..Tuning::default()
    };
    let (primary, replica) = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            let mut primary = Cluster::open(&dir.join("primary"), tuning).expect("primary");
            primary.start().expect("primary start");
            (primary, dir)
        })
        .await
        .unwrap()
    };
    let admin = projections::postgres::db::connect(&primary.url("postgres").unwrap(), 2)
        .await
        .unwrap();
    sqlx::query("CREATE DATABASE cabinet")
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let url = primary.url("cabinet").unwrap();
    let pool = projections::postgres::db::connect(&url, 2).await.unwrap();
    projections::postgres::db::migrate(&pool).await.unwrap();
    pool.close().await;
    let (primary, replica) = tokio::task::spawn_blocking(move || {
        let mut standby =
            Cluster::replica_of(&primary, &replica.join("replica")).expect("base backup");
        standby.start().expect("replica start");
        (primary, standby)
    })
    .await
    .unwrap();
    let replica_url = replica.url("cabinet").unwrap();
    (
        Pair {
            primary,
            replica,
            dir,
        },
        url,
        replica_url,
    )
}

async fn in_recovery(pool: &sqlx::PgPool) -> bool {
    sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(pool)
        .await
        .unwrap()
}

const DEBT: &str = "query($c: UUID!) { debt(companyId: $c) { total contracts { number } } }";

#[tokio::test]
async fn a_read_naming_a_write_sees_it_on_the_replica_and_a_stopped_replica_is_bypassed() {
    let (mut pair, url, replica_url) = pair().await;
    let t = TestApp::spawn_at(&url, |s| {
        s.read_replica_urls = vec![replica_url.clone().into()];
        s.replica_wait_ms = 5_000;
    })
    .await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let client = t.sign_in(Role::Client, &[company]).await;
    // Each write followed at once by a read that names it: the read sees it, whichever server answers.
    for n in 1..=5 {
        let number = format!("ЛД-{n}");
        let contract = conclude(&t, &admin, company, &number, "buh@romashka.ru").await;
        let position: String =
            sqlx::query_scalar("SELECT max(position)::text FROM events WHERE aggregate_id = $1")
                .bind(contract.to_string())
                .fetch_one(&t.pool)
                .await
                .unwrap();
        let after = api_position(position.parse().unwrap());
        let r = t
            .gql_headers(
                &[("cabinet-read-after", after.as_str())],
                Some(&client),
                DEBT,
                json!({"c": company}),
            )
            .await;
        let numbers: Vec<&Value> = r["data"]["debt"]["contracts"]
            .as_array()
            .unwrap_or_else(|| panic!("{r}"))
            .iter()
            .map(|c| &c["number"])
            .collect();
        assert_eq!(
            numbers.len(),
            n,
            "the read after contract {n} misses it: {r}"
        );
        // And the routing sent it to the replica once it had replayed the write.
        let chosen = t
            .app
            .reads
            .pool_for(&t.pool, Some(position.parse().unwrap()))
            .await;
        assert!(
            in_recovery(&chosen).await,
            "a replica that replayed {position} serves it"
        );
    }
    // Without the header, the session's own last write is the floor: a staff member concludes a contract
    // and reads the debt at once.
    let sixth = conclude(&t, &admin, company, "ЛД-6", "buh@romashka.ru").await;
    let floor: Option<i64> =
        sqlx::query_scalar("SELECT max(read_floor) FROM sessions WHERE read_floor IS NOT NULL")
            .fetch_one(&t.pool)
            .await
            .unwrap();
    let written: i64 =
        sqlx::query_scalar("SELECT max(position) FROM events WHERE aggregate_id = $1")
            .bind(sixth.to_string())
            .fetch_one(&t.pool)
            .await
            .unwrap();
    assert!(floor.is_some_and(|f| f >= written), "{floor:?} < {written}");
    let r = t.gql(Some(&admin), DEBT, json!({"c": company})).await;
    assert_eq!(
        r["data"]["debt"]["contracts"].as_array().map(Vec::len),
        Some(6),
        "{r}"
    );
    // A position no replica has (yet) is answered by the primary after the bounded wait.
    let chosen = t.app.reads.pool_for(&t.pool, Some(i64::MAX)).await;
    assert!(!in_recovery(&chosen).await);
    // A bad header is refused by name.
    let r = t
        .gql_headers(
            &[("cabinet-read-after", "not-a-position")],
            Some(&client),
            DEBT,
            json!({"c": company}),
        )
        .await;
    assert_eq!(
        r["errors"][0]["extensions"]["field"], "Cabinet-Read-After",
        "{r}"
    );

    // The replica stops: reads go on, from the primary.
    let pair = tokio::task::spawn_blocking(move || {
        pair.replica.stop().expect("replica stop");
        pair
    })
    .await
    .unwrap();
    for _ in 0..3 {
        let r = t.gql(Some(&client), DEBT, json!({"c": company})).await;
        assert!(r["errors"].is_null(), "{r}");
        assert_eq!(
            r["data"]["debt"]["contracts"].as_array().map(Vec::len),
            Some(6)
        );
    }
    let chosen = t.app.reads.pool_for(&t.pool, None).await;
    assert!(
        !in_recovery(&chosen).await,
        "the stopped replica is bypassed"
    );
    // The end-of-test verification runs on the primary, which must outlive it.
    drop(t);
    drop(pair);
}

/// The API's text for the event at `position` (what a mutation's `position` field answers).
fn api_position(position: i64) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("1:{position}:-1"))
}
