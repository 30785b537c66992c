//! PostgreSQL over TLS (issue 19, item 10): a server started with `ssl = on` and a certificate made here
//! for the test, and the cabinet's own start-up connecting to it with `sslmode=verify-full` — and refusing
//! a server its CA did not sign.

use std::path::{Path, PathBuf};
use std::process::Command;

use projections::postgres::cluster::{Cluster, Tuning};

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (it comes with PostgreSQL's own packages: ssl-cert)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA named `name` in `dir`: `<name>.crt`, `<name>.key`.
fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
        ],
    );
}

/// A server certificate for localhost and 127.0.0.1 signed by CA `ca`: `server.crt`, `server.key`.
fn make_server_cert(dir: &Path, ca: &str) {
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ],
    );
}

/// Stops the cluster even when an assertion fails.
struct Running(Cluster);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.stop();
    }
}

#[tokio::test]
async fn the_cabinet_reaches_postgresql_over_tls_and_verifies_the_server() {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("cabinet-tls-{}", uuid::Uuid::new_v4().simple()));
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    make_ca(&certs, "ca");
    make_ca(&certs, "stranger");
    make_server_cert(&certs, "ca");
    let read = |f: &str| std::fs::read_to_string(certs.join(f)).unwrap();
    let (cert, key) = (read("server.crt"), read("server.key"));
    let cluster = tokio::task::spawn_blocking({
        let base = dir.join("pg");
        move || {
            let mut c = Cluster::open(
                &base,
                Tuning {
                    throwaway: true,
                    tls: true,
                    ..Tuning::default()
                },
            )
            .expect("cluster");
            c.install_tls(&cert, &key).expect("tls files");
            c.start().expect("PostgreSQL with ssl = on");
            c
        }
    })
    .await
    .unwrap();
    let cluster = Running(cluster);
    let port = cluster.0.port().unwrap();
    let password = cluster.0.superuser_password().unwrap();
    let url = |host: &str, mode: &str, ca: Option<&str>| {
        let mut u = format!("postgres://postgres:{password}@{host}:{port}/postgres?sslmode={mode}");
        if let Some(ca) = ca {
            u.push_str(&format!(
                "&sslrootcert={}",
                certs.join(format!("{ca}.crt")).display()
            ));
        }
        u
    };
    let encrypted = |pool: sqlx::PgPool| async move {
        let on: bool =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(&pool)
                .await
                .unwrap();
        pool.close().await;
        on
    };

    // The cabinet's own start-up (connect, create nothing, migrate) over verify-full, by name and by address.
    for host in ["localhost", "127.0.0.1"] {
        let settings = api::config::Settings {
            database_url: Some(url(host, "verify-full", Some("ca")).into()),
            data_dir: dir.join("data"),
            ..api::config::Settings::default()
        };
        let db = api::startup::Database::open(&settings)
            .await
            .unwrap_or_else(|e| panic!("verify-full to {host}: {e:#}"));
        assert!(encrypted(db.pool.clone()).await, "{host}: not encrypted");
        db.close().await;
    }
    for (mode, ca) in [("verify-ca", Some("ca")), ("require", None)] {
        let pool = projections::postgres::db::connect(&url("localhost", mode, ca), 1)
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e:#}"));
        assert!(encrypted(pool).await, "{mode}: not encrypted");
    }
    // A server the configured CA did not sign is refused, before a password crosses the wire.
    for mode in ["verify-ca", "verify-full"] {
        let refused =
            projections::postgres::db::connect(&url("localhost", mode, Some("stranger")), 1).await;
        assert!(
            refused.is_err(),
            "{mode} accepted a server signed by another CA"
        );
    }
    // Plaintext stays possible only when asked for: sslmode=disable says so, and PostgreSQL shows it.
    let plain = projections::postgres::db::connect(&url("127.0.0.1", "disable", None), 1)
        .await
        .unwrap();
    assert!(!encrypted(plain).await);
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
}
