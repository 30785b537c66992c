//! A private PostgreSQL cluster run from the machine's own PostgreSQL binaries.
//!
//! `cabinet serve` without `DATABASE_URL` and the test harness both use it. It finds `initdb`/`pg_ctl` on
//! `PATH` or under `/usr/lib/postgresql/*/bin`, creates the cluster once (`initdb`, scram password in a 0600
//! file), starts it on a free loopback port with its Unix socket in a directory of its own, and stops it on
//! request. PostgreSQL refuses to run as root: as root every PostgreSQL process runs as the `postgres` system
//! user, which owns the cluster directory. See docs/adr/0002-private-postgresql.md.

use std::fs;
use std::io;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Why a private cluster could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No server binaries on this machine.
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or under /usr/lib/postgresql/*/bin. \
         Install the `postgresql` package (Debian/Ubuntu: apt-get install postgresql), \
         or set DATABASE_URL to use an existing server"
    )]
    BinariesNotFound,
    /// Running as root but there is no `postgres` user to run the server as.
    #[error("running as root, and there is no `postgres` system user to run PostgreSQL as (PostgreSQL refuses to run as root); create one or run as an ordinary user")]
    NoPostgresUser,
    /// A PostgreSQL tool failed.
    #[error("{tool} failed: {detail}")]
    Tool {
        /// The tool (`initdb`, `pg_ctl start`, …).
        tool: String,
        /// Its output.
        detail: String,
    },
    /// A file-system or process error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> ClusterError {
    let context = context.into();
    move |source| ClusterError::Io { context, source }
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
#[derive(Debug, Clone)]
pub struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// Finds the server binaries: `PATH` first, then the newest `/usr/lib/postgresql/<version>/bin`.
    ///
    /// # Errors
    /// [`ClusterError::BinariesNotFound`] when neither has `initdb` and `pg_ctl`.
    pub fn find() -> Result<Self, ClusterError> {
        let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                if has_tools(&dir) {
                    // Resolve symlinks (Debian's /usr/local/bin/initdb → /usr/lib/postgresql/15/bin) so that
                    // `postgres` is found beside them.
                    let real = fs::canonicalize(dir.join("initdb"))
                        .ok()
                        .and_then(|p| p.parent().map(Path::to_path_buf))
                        .unwrap_or(dir);
                    return Ok(Self { dir: real });
                }
            }
        }
        let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let v: u32 = e.file_name().to_str()?.parse().ok()?;
                let bin = e.path().join("bin");
                has_tools(&bin).then_some((v, bin))
            })
            .collect();
        versions.sort();
        versions
            .pop()
            .map(|(_, dir)| Self { dir })
            .ok_or(ClusterError::BinariesNotFound)
    }

    /// The path of one tool.
    pub fn tool(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// The user PostgreSQL processes run as: ourselves, or `postgres` when we are root.
#[derive(Debug, Clone, Copy)]
pub struct RunAs {
    ids: Option<(u32, u32)>,
}

impl RunAs {
    /// Ourselves when not root; the `postgres` user's uid/gid when root.
    ///
    /// # Errors
    /// [`ClusterError::NoPostgresUser`] when root and there is no `postgres` user.
    pub fn detect() -> Result<Self, ClusterError> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        if !root {
            return Ok(Self { ids: None });
        }
        let passwd = fs::read_to_string("/etc/passwd").map_err(io_err("reading /etc/passwd"))?;
        passwd
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 3 && f[0] == "postgres")
                    .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                    .flatten()
            })
            .map(|ids| Self { ids: Some(ids) })
            .ok_or(ClusterError::NoPostgresUser)
    }

    /// Whether PostgreSQL runs as another user than us.
    pub fn switches_user(&self) -> bool {
        self.ids.is_some()
    }

    /// A command that runs as this user, in `cwd` (PostgreSQL tools fail in a directory they cannot read).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, cwd: &Path) -> Command {
        let mut c = Command::new(program);
        c.current_dir(cwd);
        if let Some((uid, gid)) = self.ids {
            c.uid(uid).gid(gid);
            c.env("HOME", cwd).env("USER", "postgres");
        }
        c
    }

    /// Gives a directory (not recursively) to this user.
    ///
    /// # Errors
    /// The chown error.
    pub fn give(&self, path: &Path) -> Result<(), ClusterError> {
        if let Some((uid, gid)) = self.ids {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(io_err(format!("giving {} to postgres", path.display())))?;
        }
        Ok(())
    }

    /// Whether this user can enter and write `dir`.
    pub fn can_use(&self, dir: &Path) -> bool {
        if !self.switches_user() {
            return true;
        }
        let parent = dir.parent().unwrap_or(dir);
        self.command("test", Path::new("/"))
            .arg("-x")
            .arg(parent)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

fn run(cmd: &mut Command, tool: &str) -> Result<Output, ClusterError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(format!("running {tool}")))?;
    if !out.status.success() {
        return Err(ClusterError::Tool {
            tool: tool.to_owned(),
            detail: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    Ok(out)
}

/// Settings of a cluster that differ between production-like and test use.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tuning {
    /// Turn off fsync and full-page writes: for throwaway test clusters only, never for `serve`.
    pub throwaway: bool,
    /// Serve TLS (`ssl = on`) with the certificate and key [`Cluster::install_tls`] put in place.
    pub tls: bool,
    /// Load `pg_stat_statements` (the benchmark's profile of what one command or screen costs PostgreSQL).
    pub statement_stats: bool,
}

/// A private cluster in a directory: `data/` (PGDATA), `socket/`, `password`, `postgres.log`.
#[derive(Debug)]
pub struct Cluster {
    base: PathBuf,
    bins: Binaries,
    run_as: RunAs,
    tuning: Tuning,
    port: Option<u16>,
    started_here: bool,
}

impl Cluster {
    /// Prepares (creating with `initdb` when new) the cluster in `base`. Does not start it.
    ///
    /// # Errors
    /// Missing binaries, no `postgres` user when root, or a failing `initdb`.
    pub fn open(base: &Path, tuning: Tuning) -> Result<Self, ClusterError> {
        let bins = Binaries::find()?;
        let run_as = RunAs::detect()?;
        fs::create_dir_all(base).map_err(io_err(format!("creating {}", base.display())))?;
        let base = fs::canonicalize(base).map_err(io_err("resolving the cluster directory"))?;
        run_as.give(&base)?;
        let cluster = Self {
            base,
            bins,
            run_as,
            tuning,
            port: None,
            started_here: false,
        };
        cluster.init_if_new()?;
        Ok(cluster)
    }

    /// Makes a streaming replica of the running `primary` in `base` (a base backup over the primary's Unix
    /// socket with `-R`: `standby.signal` and `primary_conninfo` written, WAL streamed during the copy), ready
    /// to [`Cluster::start`] as a hot standby on a port of its own. Only PostgreSQL's own tools: no home-made
    /// copying. A `base` that already holds a cluster is used as it is.
    ///
    /// # Errors
    /// The primary is not running, or `pg_basebackup` fails.
    pub fn replica_of(primary: &Cluster, base: &Path) -> Result<Self, ClusterError> {
        let port = primary.port.ok_or_else(|| ClusterError::Tool {
            tool: "pg_basebackup".into(),
            detail: "the primary is not running".into(),
        })?;
        fs::create_dir_all(base).map_err(io_err(format!("creating {}", base.display())))?;
        let base = fs::canonicalize(base).map_err(io_err("resolving the replica directory"))?;
        primary.run_as.give(&base)?;
        let replica = Self {
            base,
            bins: primary.bins.clone(),
            run_as: primary.run_as,
            tuning: primary.tuning,
            port: None,
            started_here: false,
        };
        if replica.data().join("PG_VERSION").is_file() {
            return Ok(replica);
        }
        let _ = fs::remove_dir_all(replica.data());
        // The same superuser (a physical copy): the same password.
        let pwfile = replica.base.join("password");
        fs::write(&pwfile, primary.password()?).map_err(io_err("writing the replica password"))?;
        fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600))
            .map_err(io_err("protecting the replica password"))?;
        primary.run_as.give(&pwfile)?;
        replica.ensure_socket_dir()?;
        run(
            replica
                .run_as
                .command(replica.bins.tool("pg_basebackup"), &replica.base)
                .arg("-D")
                .arg(replica.data())
                .arg("-h")
                .arg(primary.socket_dir())
                .args([
                    "-p",
                    &port.to_string(),
                    "-U",
                    "postgres",
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                ]),
            "pg_basebackup",
        )?;
        Ok(replica)
    }

    /// The directory the cluster lives in.
    pub fn base(&self) -> &Path {
        &self.base
    }

    fn data(&self) -> PathBuf {
        self.base.join("data")
    }

    /// The directory of the server's Unix socket (local connections as `postgres` need no password).
    pub fn socket_dir(&self) -> PathBuf {
        self.base.join("socket")
    }

    /// The path of a PostgreSQL tool (`pg_basebackup`, `psql`, …) of the binaries this cluster runs.
    pub fn tool(&self, name: &str) -> PathBuf {
        self.bins.tool(name)
    }

    /// The user the server runs as.
    pub fn run_as(&self) -> RunAs {
        self.run_as
    }

    /// Appends `lines` to the cluster's `postgresql.conf` (read at the next start), creating the cluster
    /// first when it is new.
    ///
    /// # Errors
    /// A failing `initdb`, or the file cannot be written.
    pub fn append_config(&self, lines: &str) -> Result<(), ClusterError> {
        use std::io::Write as _;
        self.init_if_new()?;
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(self.data().join("postgresql.conf"))
            .map_err(io_err("opening postgresql.conf"))?;
        writeln!(f, "\n{lines}").map_err(io_err("writing postgresql.conf"))?;
        Ok(())
    }

    fn password(&self) -> Result<String, ClusterError> {
        fs::read_to_string(self.base.join("password"))
            .map(|s| s.trim().to_owned())
            .map_err(io_err("reading the cluster password"))
    }

    fn init_if_new(&self) -> Result<(), ClusterError> {
        if self.data().join("PG_VERSION").is_file() {
            return Ok(());
        }
        // A half-made data directory from an interrupted initdb is useless: start over.
        let _ = fs::remove_dir_all(self.data());
        let pwfile = self.base.join("password");
        let password = random_password();
        fs::write(&pwfile, &password).map_err(io_err("writing the cluster password"))?;
        fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600))
            .map_err(io_err("protecting the cluster password"))?;
        self.run_as.give(&pwfile)?;
        self.ensure_socket_dir()?;
        run(
            self.run_as
                .command(self.bins.tool("initdb"), &self.base)
                .arg("-D")
                .arg(self.data())
                .args([
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ])
                .arg(format!("--pwfile={}", pwfile.display())),
            "initdb",
        )?;
        Ok(())
    }

    /// Whether a server is running on this cluster's data directory, and on which port.
    fn running_port(&self) -> Option<u16> {
        let status = self
            .run_as
            .command(self.bins.tool("pg_ctl"), &self.base)
            .arg("status")
            .arg("-D")
            .arg(self.data())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
        // postmaster.pid line 4 is the port.
        fs::read_to_string(self.data().join("postmaster.pid"))
            .ok()?
            .lines()
            .nth(3)?
            .trim()
            .parse()
            .ok()
    }

    /// Starts the server on a free loopback port, or adopts one already running on this data directory.
    /// Waits until it accepts connections.
    ///
    /// # Errors
    /// A failing `pg_ctl start` (its log is in `postgres.log` in the cluster directory).
    pub fn start(&mut self) -> Result<(), ClusterError> {
        if let Some(port) = self.running_port() {
            self.port = Some(port);
            return Ok(());
        }
        let mut last = None;
        // A port found free can be taken by someone else before the server binds it: try a few.
        for _ in 0..3 {
            let port = free_port()?;
            match self.start_at(port) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(ClusterError::BinariesNotFound))
    }

    /// Starts the server again on the port it last ran on (after [`Cluster::stop`]), so clients that know
    /// its address reconnect: a restart, as an operator's would be.
    ///
    /// # Errors
    /// It never ran, or a failing `pg_ctl start`.
    pub fn restart_stopped(&mut self) -> Result<(), ClusterError> {
        let port = self.port.ok_or(ClusterError::BinariesNotFound)?;
        self.start_at(port)
    }

    /// The socket directory, made when missing (a data directory restored from a backup comes without it).
    fn ensure_socket_dir(&self) -> Result<(), ClusterError> {
        let socket = self.socket_dir();
        if socket.is_dir() {
            return Ok(());
        }
        fs::create_dir_all(&socket).map_err(io_err("creating the socket directory"))?;
        fs::set_permissions(&socket, fs::Permissions::from_mode(0o700))
            .map_err(io_err("protecting the socket directory"))?;
        self.run_as.give(&socket)
    }

    fn start_at(&mut self, port: u16) -> Result<(), ClusterError> {
        self.ensure_socket_dir()?;
        {
            let mut opts = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
                self.socket_dir().display()
            );
            if self.tuning.throwaway {
                opts.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
            }
            if self.tuning.statement_stats {
                opts.push_str(
                    " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all",
                );
            }
            if self.tuning.tls {
                let tls = self.base.join("tls");
                opts.push_str(&format!(
                    " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                    tls.join("server.crt").display(),
                    tls.join("server.key").display()
                ));
            }
            let result = run(
                self.run_as
                    .command(self.bins.tool("pg_ctl"), &self.base)
                    .arg("start")
                    .arg("-D")
                    .arg(self.data())
                    .arg("-l")
                    .arg(self.base.join("postgres.log"))
                    .args(["-w", "-t", "120", "-o", &opts]),
                "pg_ctl start",
            );
            result?;
            self.port = Some(port);
            self.started_here = true;
            Ok(())
        }
    }

    /// Stops the server if this process started it (fast shutdown: sessions are ended, data is safe).
    ///
    /// # Errors
    /// A failing `pg_ctl stop`.
    pub fn stop(&mut self) -> Result<(), ClusterError> {
        if !self.started_here {
            return Ok(());
        }
        run(
            self.run_as
                .command(self.bins.tool("pg_ctl"), &self.base)
                .arg("stop")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "fast", "-w"]),
            "pg_ctl stop",
        )?;
        self.started_here = false;
        Ok(())
    }

    /// The connection URL of a database on the running server (password authentication over loopback TCP).
    ///
    /// # Errors
    /// The password file cannot be read. Panics never: a cluster that was not started yields port 0.
    pub fn url(&self, database: &str) -> Result<String, ClusterError> {
        Ok(format!(
            "postgres://postgres:{}@127.0.0.1:{}/{}",
            self.password()?,
            self.port.unwrap_or(0),
            database
        ))
    }

    /// Puts a server certificate (PEM, the chain) and its key (PEM) where a cluster with `tls` tuning
    /// serves them from, readable by the server's user only (PostgreSQL refuses a key others can read).
    ///
    /// # Errors
    /// The files cannot be written.
    pub fn install_tls(&self, cert_pem: &str, key_pem: &str) -> Result<(), ClusterError> {
        let dir = self.base.join("tls");
        fs::create_dir_all(&dir).map_err(io_err("creating the tls directory"))?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
            .map_err(io_err("protecting the tls directory"))?;
        self.run_as.give(&dir)?;
        for (name, content) in [("server.crt", cert_pem), ("server.key", key_pem)] {
            let path = dir.join(name);
            fs::write(&path, content).map_err(io_err(format!("writing {name}")))?;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
                .map_err(io_err(format!("protecting {name}")))?;
            self.run_as.give(&path)?;
        }
        Ok(())
    }

    /// The port the server listens on, once started.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The password of the `postgres` user.
    ///
    /// # Errors
    /// The password file cannot be read.
    pub fn superuser_password(&self) -> Result<String, ClusterError> {
        self.password()
    }

    /// The `pg_ctl` path and the user it must run as (for helpers such as the test-cluster reaper).
    pub fn control(&self) -> (PathBuf, RunAs) {
        (self.bins.tool("pg_ctl"), self.run_as)
    }
}

fn free_port() -> Result<u16, ClusterError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(io_err("finding a free port"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(io_err("finding a free port"))
}

fn random_password() -> String {
    // 32 hex characters from the kernel's random source, via uuid v4 (already a dependency).
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Where the cluster for a data directory lives: `<data-dir>/postgres` when the server's user can reach it,
/// otherwise (a checkout under a 0700 home directory, run as root) a postgres-owned directory under the system
/// temp directory keyed by the data directory's path.
///
/// # Errors
/// The data directory cannot be created or resolved, or the user cannot be determined.
pub fn cluster_dir_for(data_dir: &Path) -> Result<PathBuf, ClusterError> {
    fs::create_dir_all(data_dir).map_err(io_err(format!("creating {}", data_dir.display())))?;
    let data_dir = fs::canonicalize(data_dir).map_err(io_err("resolving the data directory"))?;
    let preferred = data_dir.join("postgres");
    let run_as = RunAs::detect()?;
    if run_as.can_use(&preferred) {
        return Ok(preferred);
    }
    Ok(std::env::temp_dir().join(format!(
        "cabinet-pg-{}",
        short_hash(&data_dir.to_string_lossy())
    )))
}

/// A short, stable hex digest of a string (directory and database names).
pub fn short_hash(s: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(s.as_bytes());
    d.iter().take(6).map(|b| format!("{b:02x}")).collect()
}
