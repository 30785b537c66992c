//! Workers in segments shared by real `cabinet serve` processes (issue 27, ADR 0028), on a private
//! PostgreSQL cluster of this test's own.
//!
//! Two nodes split each process manager's six segments three and three; a third node joins and they hold
//! two each. A business day over hundreds of contracts is closed by all three at once; one node is killed
//! with SIGKILL in the middle of it, and the two left take its segments and finish. Then the count changes
//! to three while the nodes run, and the next days close under the new count. Outcomes, not speed: every
//! contract gets its penalty for every day exactly once (nothing skipped, nothing doubled), every day is
//! recorded by every segment of its count, each segment is held by exactly one node, and `projections
//! verify` is clean. It prints the time a dead node's segments took to move (`SEGMENTS` line).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use projections::postgres::cluster::{Cluster, Tuning};
use serde_json::{json, Value};
use sqlx::PgPool;

mod support;

use support::{node_url, Server};

const PASSWORD: &str = "segments-password-123";

/// Contracts closed each day.
const CONTRACTS: usize = 600;

/// Segments at first, and after the change.
const SEGMENTS: i32 = 6;
const SEGMENTS_AFTER: i32 = 3;

/// Generous bound on anything that must happen by itself.
const BOUND: Duration = Duration::from_secs(180);

const WORKERS: [&str; 5] = [
    "business-days",
    "account-provisioning",
    "request-effects",
    "notification-mail",
    "bank-payments",
];

fn settings() -> String {
    format!(
        "clock = \"manual\"\n[workers]\nrestart_max_seconds = 2\nsegments = {SEGMENTS}\n[database]\nacquire_timeout_seconds = 5\n"
    )
}

async fn start_node(dir: &Path, url: &str, demo: bool) -> Server {
    support::start_node(dir, url, &settings(), demo.then_some(PASSWORD)).await
}

/// Which node holds each segment lease of `worker` under `segments`: segment → node names (more than one
/// would be a broken lease).
async fn holders(pool: &PgPool, worker: &str, segments: i32) -> BTreeMap<i32, Vec<String>> {
    let mut out = BTreeMap::new();
    for s in projections::engine::segments::Segment::all(segments) {
        let key = s.lock_key(worker);
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND l.classid::bigint = (($1::bigint >> 32) & 4294967295) AND l.objid::bigint = ($1::bigint & 4294967295)",
        )
        .bind(key)
        .fetch_all(pool)
        .await
        .unwrap();
        out.insert(s.index, names);
    }
    out
}

/// Waits until every segment of every worker is held by exactly one node and the nodes `expected` hold
/// them `shares` each (in any order); returns how long it took.
async fn wait_shared(
    pool: &PgPool,
    segments: i32,
    expected: &[&str],
    shares: &[usize],
) -> Duration {
    let started = Instant::now();
    let mut want: Vec<usize> = shares.to_vec();
    want.sort_unstable();
    loop {
        let mut ok = true;
        let mut last = String::new();
        for worker in WORKERS {
            let h = holders(pool, worker, segments).await;
            let mut per: BTreeMap<String, usize> = BTreeMap::new();
            for names in h.values() {
                if names.len() != 1 {
                    ok = false;
                }
                for n in names {
                    *per.entry(n.clone()).or_default() += 1;
                }
            }
            let nodes: BTreeSet<&str> = per.keys().map(String::as_str).collect();
            let mut got: Vec<usize> = per.values().copied().collect();
            got.sort_unstable();
            if got != want || nodes != expected.iter().copied().collect() {
                ok = false;
            }
            last = format!("{worker}: {h:?}");
        }
        if ok {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < BOUND,
            "segments not shared as {expected:?} {shares:?} within {BOUND:?}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct World {
    cluster: Cluster,
    url: String,
    pool: PgPool,
    http: reqwest::Client,
    base: PathBuf,
    nodes: Vec<Option<Server>>,
    token: String,
}

impl World {
    fn cli(&self, args: &[&str]) -> (i32, String, String) {
        support::cli(&self.url, &self.base.join("cli"), args)
    }

    fn url_of(&self, i: usize) -> String {
        self.nodes[i].as_ref().expect("running").url.clone()
    }

    async fn advance(&self, to: chrono::NaiveDate) {
        let r = support::gql(
            &self.http,
            &self.url_of(0),
            Some(&self.token),
            "mutation($to: Date!) { advanceClock(input: { to: $to }) { businessDate } }",
            json!({ "to": to.to_string() }),
        )
        .await;
        assert!(r["errors"].is_null(), "{r}");
    }

    /// Waits until `closedThrough` reaches `day`.
    async fn wait_closed(&self, day: chrono::NaiveDate) -> Duration {
        let started = Instant::now();
        loop {
            let closed: Option<chrono::NaiveDate> =
                sqlx::query_scalar("SELECT max(business_date) FROM business_days_closed")
                    .fetch_one(&self.pool)
                    .await
                    .unwrap();
            if closed >= Some(day) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < BOUND,
                "{day} not closed within {BOUND:?} (closed through {closed:?})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every imported contract has exactly one penalty accrual through each day some contract has one
    /// for (nothing skipped, nothing doubled), and the last of them is `last`.
    async fn check_penalties(&self, last: chrono::NaiveDate) -> usize {
        let rows: Vec<(String, chrono::NaiveDate, i64)> = sqlx::query_as(
            "SELECT e.aggregate_id, (e.payload->'PenaltyAccrued'->>'through')::date, count(*) \
             FROM events e JOIN contracts_view c ON c.contract_id::text = e.aggregate_id \
             WHERE e.event_type = 'PenaltyAccrued' AND c.number LIKE 'SEG-%' GROUP BY 1, 2",
        )
        .fetch_all(&self.pool)
        .await
        .unwrap();
        let doubled: Vec<_> = rows.iter().filter(|r| r.2 != 1).collect();
        assert!(doubled.is_empty(), "penalties accrued twice: {doubled:?}");
        let days: BTreeSet<chrono::NaiveDate> = rows.iter().map(|r| r.1).collect();
        assert_eq!(days.last(), Some(&last), "the last day accrued");
        let mut per: BTreeMap<&str, BTreeSet<chrono::NaiveDate>> = BTreeMap::new();
        for (id, day, _) in &rows {
            per.entry(id.as_str()).or_default().insert(*day);
        }
        assert_eq!(per.len(), CONTRACTS, "contracts with penalties");
        let skipped: Vec<_> = per.iter().filter(|(_, d)| **d != days).collect();
        assert!(
            skipped.is_empty(),
            "{} contracts miss days of {days:?}, e.g. {:?}",
            skipped.len(),
            skipped.first()
        );
        days.len()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.cluster.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_share_the_workers_by_segments() {
    let base = std::env::temp_dir().join(format!("cabinet-segments-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&base).unwrap();
    let mut cluster = Cluster::open(&base.join("pg"), Tuning::default()).unwrap();
    cluster.start().unwrap();
    let admin = projections::postgres::db::connect(&cluster.url("postgres").unwrap(), 1)
        .await
        .unwrap();
    projections::postgres::db::ensure_database(&admin, "cabinet")
        .await
        .unwrap();
    admin.close().await;
    let url = cluster.url("cabinet").unwrap();
    let pool = projections::postgres::db::connect(&url, 4).await.unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    // Two nodes: three segments each.
    let first = start_node(&base.join("node0"), &node_url(&url, 0), true).await;
    let second = start_node(&base.join("node1"), &node_url(&url, 1), false).await;
    let token = support::gql(
        &http,
        &first.url,
        None,
        "mutation($p: String!) { login(input: { email: \"admin@demo.local\", password: $p }) { token } }",
        json!({ "p": PASSWORD }),
    )
    .await["data"]["login"]["token"]
        .as_str()
        .expect("admin signs in")
        .to_owned();
    let mut world = World {
        cluster,
        url: url.clone(),
        pool: pool.clone(),
        http,
        base: base.clone(),
        nodes: vec![Some(first), Some(second), None],
        token,
    };
    wait_shared(&pool, SEGMENTS, &["node0", "node1"], &[3, 3]).await;

    // A third joins: two each.
    world.nodes[2] = Some(start_node(&base.join("node2"), &node_url(&url, 2), false).await);
    let joined = wait_shared(&pool, SEGMENTS, &["node0", "node1", "node2"], &[2, 2, 2]).await;

    // Contracts of the demo company, each with a line due tomorrow and left unpaid.
    let today: chrono::NaiveDate =
        sqlx::query_scalar("SELECT business_date FROM business_day_view")
            .fetch_one(&pool)
            .await
            .unwrap();
    let (inn, kpp): (String, Option<String>) =
        sqlx::query_as("SELECT inn, kpp FROM companies_view ORDER BY short_name LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    let file = base.join("contracts.jsonl");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        for i in 0..CONTRACTS {
            let line = |days: i64, amount: &str| json!({ "dueDate": (today + chrono::Duration::days(days)).to_string(), "amount": amount });
            writeln!(
                w,
                "{}",
                json!({
                    "externalId": format!("SEG-{i}"), "number": format!("SEG-{i:05}"),
                    "date": (today - chrono::Duration::days(30)).to_string(),
                    "company": {"inn": inn, "kpp": kpp},
                    "contactEmail": "segments@demo.local",
                    "subject": {"kind": "станок", "make": "DMG", "model": "CTX", "year": 2026,
                                "serialNumber": format!("SEG-SN-{i}")},
                    "price": "100000.00",
                    "penalty": {"ratePerDay": "0.1", "baseIncludesVat": true, "paymentDayCounts": true},
                    "schedule": [line(1, "50000.00"), line(90, "50000.00")]
                })
            )
            .unwrap();
        }
        w.flush().unwrap();
    }
    let (code, out, err) = world.cli(&["import", "contracts", file.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "import: {out} {err}");
    let report: Value = serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("{out}"));
    assert_eq!(report["matched"], json!(CONTRACTS), "{report}");

    // Eight days closed by the three nodes together; one is killed in the middle.
    let last = today + chrono::Duration::days(8);
    world.advance(last).await;
    let started = Instant::now();
    loop {
        let accrued: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events WHERE event_type IN ('PaymentFellDue', 'PenaltyAccrued')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if accrued >= (CONTRACTS / 2) as i64 {
            break;
        }
        assert!(started.elapsed() < BOUND, "the days did not start closing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let closed_before: Option<chrono::NaiveDate> =
        sqlx::query_scalar("SELECT max(business_date) FROM business_days_closed")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        closed_before < Some(last),
        "the kill should land while the days close (closed through {closed_before:?})"
    );
    let killed = world.nodes[1].take().expect("running");
    // SAFETY: our own child.
    unsafe { libc::kill(killed.child.id().unwrap() as i32, libc::SIGKILL) };
    drop(killed);
    let moved = wait_shared(&pool, SEGMENTS, &["node0", "node2"], &[3, 3]).await;
    let closing = world.wait_closed(last).await;
    let days = world.check_penalties(last).await;
    let per_day: Vec<(chrono::NaiveDate, i64)> = sqlx::query_as(
        "SELECT business_date, count(*) FROM business_day_segments WHERE business_date > $1 AND segments = $2 \
         GROUP BY 1 ORDER BY 1",
    )
    .bind(today)
    .bind(SEGMENTS)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(per_day.len(), 8, "{per_day:?}");
    assert!(
        per_day.iter().all(|(_, n)| *n == i64::from(SEGMENTS)),
        "{per_day:?}"
    );
    // The day's total is every segment's contracts together.
    let total: i32 =
        sqlx::query_scalar("SELECT contracts FROM business_days_closed WHERE business_date = $1")
            .bind(last)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        total >= CONTRACTS as i32,
        "{total} contracts closed on {last}"
    );

    // The killed node comes back: two each again.
    world.nodes[1] = Some(start_node(&base.join("node1"), &node_url(&url, 1), false).await);
    let rejoined = wait_shared(&pool, SEGMENTS, &["node0", "node1", "node2"], &[2, 2, 2]).await;

    // The count changes while the nodes run: they follow it, and the next days close under it.
    for worker in WORKERS {
        projections::engine::segments::set_count(&pool, worker, SEGMENTS_AFTER)
            .await
            .unwrap();
    }
    wait_shared(
        &pool,
        SEGMENTS_AFTER,
        &["node0", "node1", "node2"],
        &[1, 1, 1],
    )
    .await;
    let later = last + chrono::Duration::days(2);
    world.advance(later).await;
    world.wait_closed(later).await;
    let days_after = world.check_penalties(later).await;
    assert!(
        days_after > days,
        "{days_after} days after the change, {days} before"
    );
    let new_count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM business_day_segments WHERE business_date = $1 AND segments = $2",
    )
    .bind(later)
    .bind(SEGMENTS_AFTER)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(new_count, i64::from(SEGMENTS_AFTER));

    // The work done twice would show in the read models' replay.
    let (code, out, err) = world.cli(&["projections", "verify"]);
    assert_eq!(code, 0, "projections verify: {out} {err}");
    println!(
        "SEGMENTS joined in {:.1} s; a killed node's segments moved in {:.1} s; {CONTRACTS} contracts × {days} \
         penalty days closed {:.1} s after the kill; the node back in {:.1} s",
        joined.as_secs_f64(),
        moved.as_secs_f64(),
        closing.as_secs_f64(),
        rejoined.as_secs_f64()
    );
    for s in world.nodes.iter_mut().filter_map(Option::take) {
        support::stop(s).await;
    }
}
