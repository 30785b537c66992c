//! Test databases: one throwaway cluster per test run, shared by every test process, and a fresh migrated
//! database per test, copied from a template database (fast: no migration per test).
//!
//! With `TEST_DATABASE_URL` set, that server is used instead and no cluster is started.
//!
//! The shared cluster lives in the system temp directory, keyed by the workspace path. Every test process
//! holds a shared `flock` on `users.lock` for its whole life; the process that starts the cluster also starts
//! a reaper (a tiny shell loop running as the cluster's user) that stops and deletes the cluster once no test
//! process has held the lock for a grace period. So `cargo test` or `cargo nextest run` leaves nothing running.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

use anyhow::{bail, Context};
use sqlx::PgPool;

use crate::postgres::cluster::{short_hash, Cluster, Tuning};
use crate::postgres::db;

/// A fresh, migrated database for one test.
#[derive(Debug, Clone)]
pub struct TestDb {
    /// Its connection URL.
    pub url: String,
    /// Its name.
    pub name: String,
    /// The server's administrative URL (database `postgres`).
    pub admin_url: String,
}

impl TestDb {
    /// A pool on the test database.
    ///
    /// # Errors
    /// The server cannot be reached.
    pub async fn pool(&self, max: u32) -> anyhow::Result<PgPool> {
        db::connect(&self.url, max)
            .await
            .with_context(|| format!("connecting to {}", self.name))
    }
}

struct Server {
    admin_url: String,
    template: String,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

fn flock(file: &File, op: libc::c_int) -> std::io::Result<()> {
    loop {
        // SAFETY: a valid open file descriptor; flock has no other preconditions.
        let r = unsafe { libc::flock(file.as_raw_fd(), op) };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn lock_file(path: &Path) -> anyhow::Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    // The reaper runs as the cluster's user and must be able to open it.
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o644));
    Ok(f)
}

fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Starts (or joins) the shared test cluster and returns its admin URL.
fn shared_cluster() -> anyhow::Result<String> {
    let base = std::env::temp_dir().join(format!(
        "cabinet-test-pg-{}",
        short_hash(&workspace_dir().to_string_lossy())
    ));
    fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    let _ = fs::set_permissions(&base, fs::Permissions::from_mode(0o755));
    // Held for the life of this process (the file stays open): while any test process holds it, the reaper
    // leaves the cluster alone.
    let users = lock_file(&base.join("users.lock"))?;
    flock(&users, libc::LOCK_SH).context("locking users.lock")?;
    std::mem::forget(users);
    let setup = lock_file(&base.join("setup.lock"))?;
    flock(&setup, libc::LOCK_EX).context("locking setup.lock")?;
    let mut cluster = Cluster::open(
        &base,
        Tuning {
            throwaway: true,
            tls: false,
            ..Tuning::default()
        },
    )?;
    // Starts the server, or adopts the one another test process started.
    cluster.start()?;
    if !reaper_alive(&base) {
        spawn_reaper(&cluster, &base)?;
    }
    let url = cluster.url("postgres")?;
    drop(setup);
    Ok(url)
}

fn reaper_alive(base: &Path) -> bool {
    fs::read_to_string(base.join("reaper.pid"))
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        // SAFETY: kill with signal 0 only checks that the process exists.
        .map(|pid| unsafe { libc::kill(pid, 0) } == 0)
        .unwrap_or(false)
}

fn spawn_reaper(cluster: &Cluster, base: &Path) -> anyhow::Result<()> {
    let (pg_ctl, run_as) = cluster.control();
    // Every 2 s: if no test process holds users.lock, wait a grace period (the next test binary may be
    // starting), check again, and then stop the server and delete its data while holding the lock
    // exclusively, so a test process that arrives meanwhile waits and then starts a fresh cluster.
    let script = r#"
exec 9<users.lock
while sleep 2; do
  if flock -n -x 9; then
    flock -u 9
    sleep 15
    if flock -n -x 9; then
      "$PG_CTL" stop -D data -m immediate -w >/dev/null 2>&1
      rm -rf data reaper.pid
      exit 0
    fi
  fi
done
"#;
    let child = run_as
        .command("sh", base)
        .arg("-c")
        .arg(script)
        .env("PG_CTL", pg_ctl)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("starting the test-cluster reaper")?;
    fs::write(base.join("reaper.pid"), child.id().to_string()).context("writing reaper.pid")?;
    Ok(())
}

async fn prepare_server() -> anyhow::Result<Server> {
    let admin_url = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => tokio::task::spawn_blocking(shared_cluster)
            .await
            .context("starting the test cluster")??,
    };
    let template = format!("cabinet_tpl_{}", db::migrations_digest());
    let admin = db::connect(&admin_url, 2)
        .await
        .with_context(|| "connecting to the test server".to_string())?;
    // Serialise template creation across test processes on this server.
    let mut conn = admin.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock(4242001)")
        .execute(&mut *conn)
        .await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&template)
            .fetch_one(&mut *conn)
            .await?;
    let result = if exists {
        Ok(())
    } else {
        build_template(&admin_url, &admin, &template).await
    };
    sqlx::query("SELECT pg_advisory_unlock(4242001)")
        .execute(&mut *conn)
        .await?;
    drop(conn);
    admin.close().await;
    result?;
    Ok(Server {
        admin_url,
        template,
    })
}

async fn build_template(admin_url: &str, admin: &PgPool, template: &str) -> anyhow::Result<()> {
    // Build under a temporary name and rename when complete: a crash mid-migration leaves no broken template.
    let tmp = format!("{template}_building");
    sqlx::query(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        db::quote_ident(&tmp)
    ))
    .execute(admin)
    .await?;
    sqlx::query(&format!("CREATE DATABASE {}", db::quote_ident(&tmp)))
        .execute(admin)
        .await?;
    let pool = db::connect(&db::with_database(admin_url, &tmp), 2).await?;
    db::migrate(&pool).await.context("migrating the template")?;
    pool.close().await;
    sqlx::query(&format!(
        "ALTER DATABASE {} RENAME TO {}",
        db::quote_ident(&tmp),
        db::quote_ident(template)
    ))
    .execute(admin)
    .await?;
    Ok(())
}

/// A fresh, migrated database for one test.
///
/// # Errors
/// PostgreSQL binaries are missing (the message says what to install), or the server refuses.
pub async fn fresh_database() -> anyhow::Result<TestDb> {
    database_from(true).await
}

/// A fresh database with no migration applied, for a test of a migration itself.
///
/// # Errors
/// As [`fresh_database`].
pub async fn empty_database() -> anyhow::Result<TestDb> {
    database_from(false).await
}

async fn database_from(migrated: bool) -> anyhow::Result<TestDb> {
    if SERVER.get().is_none() {
        let s = prepare_server().await.map_err(|e| format!("{e:#}"));
        let _ = SERVER.set(s);
    }
    let server = match SERVER.get() {
        Some(Ok(s)) => s,
        Some(Err(e)) => bail!("test PostgreSQL unavailable: {e}"),
        None => bail!("test PostgreSQL unavailable"),
    };
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let admin = db::connect(&server.admin_url, 1).await?;
    sqlx::query(&format!(
        "CREATE DATABASE {} TEMPLATE {}",
        db::quote_ident(&name),
        if migrated {
            db::quote_ident(&server.template)
        } else {
            "template0".to_owned()
        }
    ))
    .execute(&admin)
    .await
    .with_context(|| format!("creating {name}"))?;
    admin.close().await;
    Ok(TestDb {
        url: db::with_database(&server.admin_url, &name),
        name,
        admin_url: server.admin_url.clone(),
    })
}
