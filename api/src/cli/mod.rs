//! The `cabinet` command line: parse it, load the settings, open the database, run the subcommand.
//!
//! # Layout
//! - this module: the command line, `serve` and `migrate`;
//! - [`accounts`], [`projections`], [`events`], [`analysts`], [`clock`]: one module per subcommand group.

pub mod accounts;
pub mod analysts;
pub mod clock;
pub mod events;
pub mod personal_data;
pub mod projections;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::App;
use crate::config::{LogFormat, Settings};
use crate::startup::Database;

/// The leasing client cabinet backend.
#[derive(Parser)]
#[command(name = "cabinet", version)]
pub struct Cli {
    /// Data directory: private PostgreSQL cluster, outgoing mail, documents.
    #[arg(long, global = true, env = "CABINET_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL; without it a private cluster is started under the data directory.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// SMTP relay for outgoing mail (`smtp://user:pass@host:587?tls=required`, `smtps://…`); without it
    /// mails are written as files under <data-dir>/mail. Overrides `smtp_url` of the settings file.
    #[arg(long, global = true, env = "SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// Settings file (TOML); default: <data-dir>/cabinet.toml when present.
    #[arg(long, global = true, env = "CABINET_CONFIG")]
    config: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, env = "CABINET_LOG_FORMAT")]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the GraphQL API.
    Serve {
        /// Listen address.
        #[arg(long, env = "CABINET_LISTEN")]
        listen: Option<std::net::SocketAddr>,
        /// Load a demo company and the accounts admin@demo.local and client@demo.local.
        #[arg(long)]
        demo: bool,
        /// Password of the demo accounts; when not given, a random one is written to
        /// `<data_dir>/demo-password` (readable by its owner only). Never printed.
        #[arg(long, env = "CABINET_DEMO_PASSWORD", hide_env_values = true)]
        demo_password: Option<String>,
        /// Who starts business days: auto (at local midnight) or manual (`cabinet clock advance`).
        #[arg(long, env = "CABINET_CLOCK")]
        clock: Option<crate::config::ClockMode>,
    },
    /// Apply database migrations and exit.
    Migrate,
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
    let mut settings = Settings::load(cli.config.as_deref(), cli.data_dir.as_deref())?;
    if cli.database_url.is_some() {
        settings.database_url = cli.database_url.clone();
    }
    if let Some(url) = cli.smtp_url.as_deref().filter(|u| !u.is_empty()) {
        settings.smtp_url = Some(url.to_owned());
    }
    if let Some(f) = cli.log_format {
        settings.log_format = f;
    }
    crate::telemetry::init(settings.log_format);
    run(cli.command, settings).await
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
    if let Command::Serve { listen, clock, .. } = &command {
        if let Some(l) = listen {
            settings.listen = *l;
        }
        if let Some(c) = clock {
            settings.clock = *c;
        }
    }
    if !matches!(command, Command::Serve { .. }) {
        // Maintenance commands (rebuild, verify, export, analysts' views) may read the whole log in one
        // statement: no statement timeout for them.
        settings.database = settings.database.without_statement_timeout();
    }
    let db = Database::open(&settings).await?;
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
        } => serve(settings, app, demo.then_some(demo_password)).await,
        Command::Migrate => {
            println!("migrations applied");
            Ok(0)
        }
        Command::Accounts { command } => accounts::accounts_command(command, settings, app).await,
        Command::Projections { command } => projections::projections_command(command, app).await,
        Command::Clock { command } => clock::clock_command(command, app).await,
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
    let tasks = crate::workers::start(app, settings, stopped)?;
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
