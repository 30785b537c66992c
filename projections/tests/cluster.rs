//! Where the private cluster lives, and what a machine without PostgreSQL is told.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use projections::postgres::cluster::{cluster_dir_for, ClusterError, RunAs};

fn scratch(mode: u32) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "cabinet-cluster-test-{}",
        uuid::Uuid::new_v4().simple()
    ));
    fs::create_dir_all(&d).unwrap();
    fs::set_permissions(&d, fs::Permissions::from_mode(mode)).unwrap();
    d
}

#[test]
fn the_cluster_lives_in_the_data_directory_when_the_server_user_can_reach_it() {
    let open = scratch(0o755);
    let dir = cluster_dir_for(&open.join("data")).unwrap();
    assert_eq!(
        dir,
        fs::canonicalize(open.join("data"))
            .unwrap()
            .join("postgres")
    );
    fs::remove_dir_all(open).unwrap();
}

#[test]
fn a_data_directory_the_server_user_cannot_reach_gets_its_cluster_in_the_temp_directory() {
    // A checkout under a 0700 home directory, run as root: `postgres` cannot enter it.
    let closed = scratch(0o700);
    let data = closed.join("data");
    let dir = cluster_dir_for(&data).unwrap();
    if RunAs::detect().unwrap().switches_user() {
        assert!(!dir.starts_with(&closed), "{}", dir.display());
        assert!(dir.starts_with(std::env::temp_dir()));
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("cabinet-pg-"), "{name}");
        // Keyed by the data directory: the same directory finds the same cluster again.
        assert_eq!(cluster_dir_for(&data).unwrap(), dir);
    } else {
        // Not root: PostgreSQL runs as ourselves and reaches whatever we reach.
        assert_eq!(dir, fs::canonicalize(&data).unwrap().join("postgres"));
    }
    fs::remove_dir_all(closed).unwrap();
}

#[test]
fn without_server_binaries_the_message_names_the_package_and_database_url() {
    let msg = ClusterError::BinariesNotFound.to_string();
    assert!(msg.contains("postgresql"), "{msg}");
    assert!(msg.contains("DATABASE_URL"), "{msg}");
}
