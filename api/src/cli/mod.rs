//! The `cabinet` command line: parse it, load the settings, open the database, run the subcommand.
//!
//! # Layout
//! - this module: the command line, `serve` and `migrate`;
//! - [`accounts`], [`projections`], [`events`], [`analysts`], [`clock`], [`import`]: one module per subcommand
//!   group.

pub mod accounts;
pub mod analysts;
pub mod clock;
pub mod events;
pub mod import;
pub mod personal_data;
pub mod projections;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::App;
use crate::config::{Loaded, LogFormat, Settings, Sources};
use crate::startup::Database;

/// The leasing client cabinet backend.
#[derive(Parser)]
#[command(name = "cabinet", version)]
pub struct Cli {
    /// Data directory: private PostgreSQL cluster, outgoing mail, documents (setting `data_dir`,
    /// `CABINET_DATA_DIR`).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL; without it a private cluster is started under the data directory (setting
    /// `database_url`, `DATABASE_URL` or `DATABASE_URL_FILE`; prefer those: a flag shows in `ps`).
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// SMTP relay for outgoing mail (`smtp://user:pass@host:587?tls=required`, `smtps://…`); without it
    /// mails are written as files under <data-dir>/mail (setting `smtp_url`, `SMTP_URL`, `SMTP_URL_FILE`).
    #[arg(long, global = true)]
    smtp_url: Option<String>,
    /// Settings file (TOML); default: <data-dir>/cabinet.toml when present.
    #[arg(long, global = true, env = "CABINET_CONFIG")]
    config: Option<PathBuf>,
    /// Log format (setting `log_format`, `CABINET_LOG_FORMAT`).
    #[arg(long, global = true)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the GraphQL API.
    Serve {
        /// Listen address (setting `listen`, `CABINET_LISTEN`).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Load a demo company and the accounts admin@demo.local, manager@demo.local and client@demo.local.
        #[arg(long)]
        demo: bool,
        /// Password of the demo accounts (better: `CABINET_DEMO_PASSWORD` or `CABINET_DEMO_PASSWORD_FILE`, which
        /// `ps` does not show); when none is given, a random one is written to `<data_dir>/demo-password`
        /// (readable by its owner only). Never printed.
        #[arg(long, env = "CABINET_DEMO_PASSWORD", hide_env_values = true)]
        demo_password: Option<String>,
        /// Who starts business days: auto (at local midnight) or manual (`cabinet clock advance`) (setting
        /// `clock`, `CABINET_CLOCK`).
        #[arg(long)]
        clock: Option<crate::config::ClockMode>,
        /// Do not apply migrations: `cabinet migrate` did, once, with a role that may change the schema;
        /// this process may run as the runtime role (docs/operations.md, "Roles"). Refuses to serve when
        /// the schema is behind.
        #[arg(long)]
        no_migrate: bool,
        /// With no `database_url`, start a private PostgreSQL cluster under the data directory even where
        /// that is refused by default (`CABINET_REQUIRE_DATABASE_URL=true`, as in the container image).
        #[arg(long)]
        private_cluster: bool,
    },
    /// Apply database migrations and exit: the one step that changes the schema (run it as the schema's
    /// owner, then `serve --no-migrate` as the runtime role).
    Migrate {
        /// Then give this existing role the runtime privileges on every table (docs/operations.md, "Roles").
        #[arg(long, value_name = "ROLE")]
        grant_runtime: Option<String>,
    },
    /// The settings.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print a completion script for a shell (`cabinet completions bash > /etc/bash_completion.d/cabinet`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Staff accounts.
    Accounts {
        #[command(subcommand)]
        command: accounts::AccountsCommand,
    },
    /// Read models.
    Projections {
        #[command(subcommand)]
        command: projections::ProjectionsCommand,
    },
    /// The event log.
    Events {
        #[command(subcommand)]
        command: events::EventsCommand,
    },
    /// Analysts' read-only access to the read models.
    Analysts {
        #[command(subcommand)]
        command: analysts::AnalystsCommand,
    },
    /// Personal data: destruction, acts, the ledger after a restore, master keys.
    PersonalData {
        #[command(subcommand)]
        command: personal_data::PersonalDataCommand,
    },
    /// The business clock.
    Clock {
        #[command(subcommand)]
        command: clock::ClockCommand,
    },
    /// Files from the back office: bank statements, the traffic fines register, contracts.
    Import {
        #[command(subcommand)]
        command: import::ImportCommand,
    },
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print the effective settings, one `key = value` a line with where the value came from; secrets are
    /// redacted. Needs no database.
    Show {
        /// One JSON object per key (`key`, `value`, `source`, `variable`) instead.
        #[arg(long)]
        json: bool,
    },
}

/// Parses the command line, runs it and exits with its status: 0 done (or clean), 1 a check found
/// differences or problems (`projections verify`, `events verify`, `events export --verify`), 2 the command
/// could not run (bad settings, no database, any other error; also clap's usage errors).
///
/// # Errors
/// None returned: every error becomes exit status 2 with its message on standard error.
#[tokio::main]
pub async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let code = match start(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}

async fn start(cli: Cli) -> anyhow::Result<i32> {
    if let Command::Completions { shell } = &cli.command {
        use clap::CommandFactory;
        clap_complete::generate(
            *shell,
            &mut Cli::command(),
            "cabinet",
            &mut std::io::stdout(),
        );
        return Ok(0);
    }
    let mut sources = Sources::from_process();
    sources.config_file.clone_from(&cli.config);
    sources.flag(
        "--data-dir",
        "data_dir",
        cli.data_dir.as_ref().map(|d| d.display().to_string()),
    );
    sources.flag("--database-url", "database_url", cli.database_url.clone());
    sources.flag(
        "--smtp-url",
        "smtp_url",
        cli.smtp_url.clone().filter(|u| !u.is_empty()),
    );
    sources.flag(
        "--log-format",
        "log_format",
        cli.log_format.map(|f| enum_text(&f)),
    );
    if let Command::Serve { listen, clock, .. } = &cli.command {
        sources.flag("--listen", "listen", listen.map(|l| l.to_string()));
        sources.flag("--clock", "clock", clock.map(|c| enum_text(&c)));
    }
    let loaded = Loaded::load(sources)?;
    if let Command::Config {
        command: ConfigCommand::Show { json },
    } = &cli.command
    {
        config_show(&loaded, *json);
        return Ok(0);
    }
    let telemetry = crate::telemetry::init(loaded.settings.log_format, &loaded.settings.tracing)?;
    for name in &loaded.ignored {
        tracing::warn!(variable = %name, "an environment variable starting with CABINET_ names no setting; ignored");
    }
    let result = run(cli.command, loaded.settings).await;
    telemetry.shutdown();
    result
}

/// How a settings enum is written (`json`, `manual`).
fn enum_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `cabinet config show`.
fn config_show(loaded: &Loaded, json: bool) {
    for (key, value, source) in loaded.show() {
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "key": key, "value": value, "source": source,
                    "variable": crate::config::variable_for(&key),
                })
            );
        } else {
            println!("{key} = {value}  # {source}");
        }
    }
    for name in &loaded.ignored {
        eprintln!("warning: {name} names no setting; ignored");
    }
}

/// The demo password from the file `CABINET_DEMO_PASSWORD_FILE` names (a secret kept off the command line
/// and the environment), one trailing newline dropped.
fn demo_password_file() -> anyhow::Result<Option<String>> {
    std::env::var("CABINET_DEMO_PASSWORD_FILE")
        .ok()
        .map(|path| crate::config::read_secret_file("CABINET_DEMO_PASSWORD_FILE", &path))
        .transpose()
}

/// Writes `content` to a new file only its owner may read.
fn write_private(path: &std::path::Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    writeln!(f, "{content}")?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn run(command: Command, mut settings: Settings) -> anyhow::Result<i32> {
    if let Command::Accounts {
        command: accounts::AccountsCommand::HashingTime { samples },
    } = &command
    {
        // Needs no database.
        return accounts::hashing_time(&settings, *samples);
    }
    if let Command::Events {
        command: events::EventsCommand::Verify { file, complete },
    } = &command
    {
        // A file check: no database.
        return events::verify_file(file.as_deref(), *complete);
    }
    if let Command::PersonalData {
        command: personal_data::PersonalDataCommand::NewKey,
    } = &command
    {
        // Needs no database either.
        println!("{}", ::projections::personal::MasterKeys::generate());
        return Ok(0);
    }
    if let Command::Serve {
        private_cluster,
        demo,
        ..
    } = &command
    {
        if *private_cluster {
            settings.require_database_url = false;
        }
        settings.demo = *demo;
        if !settings.demo && !settings.lessor.is_set() {
            tracing::warn!(
                "[lessor] is not configured: documents (invoices, acts, certificates, ОС-1) are refused \
                 with LESSOR_NOT_CONFIGURED until the lessor's requisites are set (docs/operations.md, Settings)"
            );
        }
    }
    if !matches!(command, Command::Serve { .. }) {
        // Maintenance commands (rebuild, verify, export, analysts' views) may read the whole log in one
        // statement: no statement timeout for them.
        settings.database = settings.database.without_statement_timeout();
    }
    let migrations = match &command {
        Command::Serve {
            no_migrate: true, ..
        } => crate::startup::Migrations::Check,
        _ => crate::startup::Migrations::Apply,
    };
    let db = Database::open_with(&settings, migrations).await?;
    let app = App::new(db.pool.clone(), &settings)?;
    let result = run_with(command, &settings, &app).await;
    db.close().await;
    result
}

async fn run_with(command: Command, settings: &Settings, app: &App) -> anyhow::Result<i32> {
    match command {
        Command::Serve {
            demo,
            demo_password,
            ..
        } => {
            let demo_password = match demo_password {
                Some(p) => Some(p),
                None => demo_password_file()?,
            };
            serve(settings, app, demo.then_some(demo_password)).await
        }
        Command::Migrate { grant_runtime } => {
            println!("migrations applied");
            if let Some(role) = grant_runtime {
                ::projections::postgres::runtime::grant(&app.pool, &role).await?;
                println!("runtime privileges given to {role}");
            }
            Ok(0)
        }
        Command::Config { .. } | Command::Completions { .. } => Ok(0),
        Command::Accounts { command } => accounts::accounts_command(command, settings, app).await,
        Command::Projections { command } => projections::projections_command(command, app).await,
        Command::Clock { command } => clock::clock_command(command, app).await,
        Command::Import { command } => import::import_command(command, app).await,
        Command::PersonalData { command } => {
            personal_data::personal_data_command(command, app).await
        }
        Command::Events { command } => events::events_command(command, app).await,
        Command::Analysts { command } => analysts::analysts_command(command, app).await,
    }
}

/// `cabinet serve`: the demo data when asked, then the workers and the HTTP server until a signal.
async fn serve(
    settings: &Settings,
    app: &App,
    demo_password: Option<Option<String>>,
) -> anyhow::Result<i32> {
    if let Some(given) = demo_password {
        let today = chrono::Utc::now()
            .with_timezone(&settings.tz()?)
            .date_naive();
        let (demo_password, told) = match given {
            Some(p) => (p, "the password given".to_owned()),
            None => {
                let file = settings.data_dir.join("demo-password");
                let p = match std::fs::read_to_string(&file) {
                    Ok(p) if !p.trim().is_empty() => p.trim().to_owned(),
                    _ => {
                        let p = crate::auth::passwords::generate_temporary();
                        write_private(&file, &p)?;
                        p
                    }
                };
                (p, format!("the password in {}", file.display()))
            }
        };
        let company = crate::app::demo::load(app, &demo_password, today).await?;
        println!("demo company {company}");
        // The password itself never goes to the output or the log.
        println!(
            "demo accounts: {} (ADMIN) and {} (CLIENT), with {told}",
            crate::app::demo::ADMIN_EMAIL,
            crate::app::demo::CLIENT_EMAIL
        );
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    let addr = listener.local_addr()?;
    println!("cabinet listening on http://{addr}/graphql");
    tracing::info!(%addr, "serving");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let tasks = crate::workers::start(app, settings, stopped).await?;
    crate::http::serve(
        listener,
        app.clone(),
        &crate::http::HttpConfig::from(settings),
        shutdown_signal(),
    )
    .await?;
    let _ = stop.send(true);
    for t in tasks {
        let _ = t.await;
    }
    tracing::info!("stopped");
    Ok(0)
}
