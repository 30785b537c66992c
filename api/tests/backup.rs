//! Backups, tested as an operator would run them: a base backup and a WAL archive taken with PostgreSQL's own
//! tools by the scripts in deploy/backup, then a point-in-time restore drill — back up, run commands, restore
//! to a moment between them; the restored log verifies, the read models verify, and what came after the
//! moment is absent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use projections::postgres::cluster::{Cluster, Tuning};
use serde_json::{json, Value};

mod support;

use support::{gql, stop};

fn company(inn: &str) -> Value {
    json!({
        "inn": inn, "kpp": "773601001", "ogrn": "1027700132195",
        "fullName": format!("Общество с ограниченной ответственностью «Тест {inn}»"),
        "shortName": format!("ООО «Тест {inn}»"),
        "legalAddress": "117997, Москва, ул. Вавилова, 19",
        "bank": {"bankName": "ПАО Сбербанк", "bik": "044525225",
                 "correspondentAccount": "30101810400000000225", "settlementAccount": "40702810938000012345"},
        "contactEmail": "office@example.ru", "contactPhone": "+7 495 500-55-50"
    })
}

async fn register(http: &reqwest::Client, url: &str, token: &str, inn: &str) -> String {
    let r = gql(
        http,
        url,
        Some(token),
        "mutation($i: RegisterCompanyInput!) { registerCompany(input: $i) { company { id } } }",
        json!({"i": company(inn)}),
    )
    .await;
    r["data"]["registerCompany"]["company"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned()
}

/// Runs a script of deploy/backup as the server's user (copied beside the data: the checkout may be closed
/// to that user), returning its standard output.
fn script(
    cluster: &Cluster,
    dir: &Path,
    name: &str,
    args: &[&Path],
    env: &[(&str, String)],
) -> String {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/backup")
        .join(name);
    let copy = dir.join(name);
    std::fs::copy(&source, &copy).unwrap();
    let out = cluster
        .run_as()
        .command("sh", dir)
        .arg(&copy)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn cabinet(url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cabinet"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

fn dir_for(root: &Path, name: &str, cluster_user: &Cluster) -> PathBuf {
    let d = root.join(name);
    std::fs::create_dir_all(&d).unwrap();
    cluster_user.run_as().give(&d).unwrap();
    d
}

#[tokio::test]
async fn a_point_in_time_restore_brings_back_the_log_up_to_the_moment_and_nothing_after() {
    let root = std::env::temp_dir().join(format!("cabinet-pitr-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&root).unwrap();
    let mut primary = Cluster::open(&root.join("primary"), Tuning::default()).unwrap();
    primary.run_as().give(&root).unwrap();
    let archive = dir_for(&root, "wal", &primary);
    let backups = dir_for(&root, "backups", &primary);
    // The server archives every finished WAL segment (docs/operations.md, "Backups").
    primary
        .append_config(&format!(
            "wal_level = replica\narchive_mode = on\narchive_command = 'test ! -f {0}/%f && cp %p {0}/%f'",
            archive.display()
        ))
        .unwrap();
    primary.start().unwrap();
    let admin = projections::postgres::db::connect(&primary.url("postgres").unwrap(), 1)
        .await
        .unwrap();
    projections::postgres::db::ensure_database(&admin, "cabinet")
        .await
        .unwrap();
    let url = primary.url("cabinet").unwrap();
    let server = support::start_with_env(
        &root.join("data"),
        &["--demo", "--demo-password", "demo-password-123"],
        Some(&url),
        &[],
    )
    .await;
    let http = reqwest::Client::new();
    let token = support::login(&http, &server.url).await;

    // 1. The base backup, with the script, as the server's user over its socket.
    let pg_bin = primary
        .tool("pg_basebackup")
        .parent()
        .unwrap()
        .display()
        .to_string();
    let base = script(
        &primary,
        &root,
        "base-backup.sh",
        &[&backups],
        &[
            ("PGHOST", primary.socket_dir().display().to_string()),
            ("PGPORT", primary.port().unwrap().to_string()),
            ("PGUSER", "postgres".into()),
            ("PG_BIN", pg_bin),
        ],
    );
    let base = PathBuf::from(base.trim());
    assert!(base.join("PG_VERSION").is_file(), "{}", base.display());

    // 2. Commands after the backup, a moment, commands after the moment.
    let kept = register(&http, &server.url, &token, "7736050003").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let moment: String = sqlx::query_scalar("SELECT now()::text")
        .fetch_one(&admin)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let lost = register(&http, &server.url, &token, "7702070139").await;
    stop(server).await;
    // Everything up to now reaches the archive (a finished segment is archived; finish the current one).
    let segment: String = sqlx::query_scalar("SELECT pg_walfile_name(pg_switch_wal())")
        .fetch_one(&admin)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !archive.join(&segment).is_file() {
        assert!(
            std::time::Instant::now() < deadline,
            "{segment} was not archived"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    admin.close().await;
    // The primary is lost.
    primary.stop().unwrap();

    // 3. The restore, with the script, to the moment.
    let restored_base = dir_for(&root, "restored", &primary);
    let pgdata = restored_base.join("data");
    let out = script(
        &primary,
        &root,
        "restore.sh",
        &[&base, &archive, Path::new(&moment), &pgdata],
        &[],
    );
    assert!(out.contains("ready"), "{out}");
    // Our cluster wrapper starts it (its password file comes with the primary's superuser).
    std::fs::copy(
        root.join("primary/password"),
        restored_base.join("password"),
    )
    .unwrap();
    primary
        .run_as()
        .give(&restored_base.join("password"))
        .unwrap();
    let mut restored = Cluster::open(&restored_base, Tuning::default()).unwrap();
    restored.start().unwrap();
    let restored_url = restored.url("cabinet").unwrap();
    let pool = projections::postgres::db::connect(&restored_url, 1)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let recovering: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
            .fetch_one(&pool)
            .await
            .unwrap();
        if !recovering {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "recovery did not finish"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 4. What came before the moment is there, what came after is not, and both checks pass.
    let count = |id: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events WHERE aggregate_id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert!(
        count(kept).await > 0,
        "the commands before the moment are missing"
    );
    assert_eq!(
        count(lost).await,
        0,
        "the commands after the moment came back"
    );
    pool.close().await;
    let export = cabinet(&restored_url, &["events", "export", "--verify"]);
    assert_eq!(
        export.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    assert!(!export.stdout.is_empty());
    let verify = cabinet(&restored_url, &["projections", "verify"]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    restored.stop().unwrap();
    let _ = std::fs::remove_dir_all(&root);
}
