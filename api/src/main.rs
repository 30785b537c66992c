//! `cabinet`: parse the command line, load settings, run.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{bail, Context};
use api::auth::{accounts, Role};
use api::config::{LogFormat, Settings};
use api::startup::{App, Database};
use clap::{Parser, Subcommand};
use domain::values::Email;

/// The leasing client cabinet backend.
#[derive(Parser)]
#[command(name = "cabinet", version)]
struct Cli {
    /// Data directory: private PostgreSQL cluster, outgoing mail, documents.
    #[arg(long, global = true, env = "CABINET_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL; without it a private cluster is started under the data directory.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
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
enum Command {
    /// Serve the GraphQL API.
    Serve {
        /// Listen address.
        #[arg(long, env = "CABINET_LISTEN")]
        listen: Option<std::net::SocketAddr>,
        /// Load a demo company and the accounts admin@demo.local and client@demo.local.
        #[arg(long)]
        demo: bool,
        /// Password of the demo accounts.
        #[arg(long, default_value = "demo-password-123")]
        demo_password: String,
        /// Who starts business days: auto (at local midnight) or manual (`cabinet clock advance`).
        #[arg(long, env = "CABINET_CLOCK")]
        clock: Option<api::config::ClockMode>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Staff accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Read models.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// The event log.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// The business clock.
    Clock {
        #[command(subcommand)]
        command: ClockCommand,
    },
}

#[derive(Subcommand)]
enum ClockCommand {
    /// Start every business day up to DATE (never backwards), then close them (penalties, overdue lines)
    /// unless a running server is doing that.
    Advance {
        /// The last day to start, YYYY-MM-DD.
        #[arg(long)]
        to: chrono::NaiveDate,
    },
    /// The current business day and the last day closed.
    Show,
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// Create an account. The password is read from standard input when it is not a terminal; otherwise
    /// one is generated and printed once.
    Create {
        /// Login e-mail.
        #[arg(long)]
        email: String,
        /// Role: MANAGER, ACCOUNTANT, AUDITOR, ADMIN (or CLIENT with --company).
        #[arg(long)]
        role: String,
        /// For CLIENT: a company the account may act for (repeatable).
        #[arg(long)]
        company: Vec<uuid::Uuid>,
    },
    /// Time argon2id hashing with the configured cost on this machine (the number docs/security.md
    /// records), without touching the database.
    HashingTime {
        /// Hashes to time.
        #[arg(long, default_value_t = 10)]
        samples: u32,
    },
}

#[derive(Subcommand)]
enum ProjectionsCommand {
    /// Replay the whole log into fresh tables and swap them in (all projections, or NAME).
    Rebuild {
        /// One projection's name.
        name: Option<String>,
    },
    /// Replay the log into a scratch schema and compare with the live tables; exits 1 on any difference.
    Verify,
    /// Each projection's position and lag.
    Status,
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Write events as JSON lines to standard output, in global order.
    Export {
        /// Only one aggregate, as TYPE:ID.
        #[arg(long)]
        aggregate: Option<String>,
        /// Only events at or after this position.
        #[arg(long)]
        from: Option<i64>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = Settings::load(cli.config.as_deref(), cli.data_dir.as_deref())?;
    if cli.database_url.is_some() {
        settings.database_url = cli.database_url.clone();
    }
    if let Some(f) = cli.log_format {
        settings.log_format = f;
    }
    api::telemetry::init(settings.log_format);
    let code = run(cli.command, settings).await?;
    std::process::exit(code);
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
        command: AccountsCommand::HashingTime { samples },
    } = &command
    {
        api::auth::passwords::configure(settings.argon2);
        let mut times = api::auth::passwords::measure(*samples)?;
        times.sort();
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        let c = settings.argon2;
        println!(
            "argon2id m={} KiB t={} p={}: {} hashes, median {:.1} ms, min {:.1} ms, max {:.1} ms",
            c.memory_kib,
            c.iterations,
            c.parallelism,
            times.len(),
            ms(times[times.len() / 2]),
            ms(times[0]),
            ms(times[times.len() - 1])
        );
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
        } => {
            if demo {
                let today = chrono::Utc::now()
                    .with_timezone(&settings.tz()?)
                    .date_naive();
                let company = api::demo::load(app, &demo_password, today).await?;
                println!("demo company {company}");
                println!(
                    "demo accounts: {} (ADMIN) and {} (CLIENT), password: {demo_password}",
                    api::demo::ADMIN_EMAIL,
                    api::demo::CLIENT_EMAIL
                );
            }
            let listener = tokio::net::TcpListener::bind(settings.listen)
                .await
                .with_context(|| format!("binding {}", settings.listen))?;
            let addr = listener.local_addr()?;
            println!("cabinet listening on http://{addr}/graphql");
            tracing::info!(%addr, "serving");
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let tasks = app.start_background(settings, stopped)?;
            api::startup::serve(listener, app.clone(), shutdown_signal()).await?;
            let _ = stop.send(true);
            for t in tasks {
                let _ = t.await;
            }
            tracing::info!("stopped");
            Ok(0)
        }
        Command::Migrate => {
            println!("migrations applied");
            Ok(0)
        }
        Command::Accounts {
            command:
                AccountsCommand::Create {
                    email,
                    role,
                    company,
                },
        } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let Some(role) = Role::parse(&role) else {
                bail!("--role: expected one of CLIENT, MANAGER, ACCOUNTANT, AUDITOR, ADMIN");
            };
            if role == Role::Client && company.is_empty() {
                bail!("--company: a CLIENT account needs at least one company");
            }
            let (password, generated) = if std::io::stdin().is_terminal() {
                (api::auth::passwords::generate_temporary(), true)
            } else {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                (s.trim_end_matches(['\n', '\r']).to_owned(), false)
            };
            let id = accounts::create_account(&app.pool, &email, &password, &[role], false)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            if generated {
                // A password shown on a terminal is a temporary one: changed at the first sign-in.
                let mut conn = app.pool.acquire().await?;
                let hash: String =
                    sqlx::query_scalar("SELECT password_hash FROM accounts WHERE account_id = $1")
                        .bind(id)
                        .fetch_one(&mut *conn)
                        .await?;
                accounts::set_temporary_password(&mut conn, id, &hash).await?;
            }
            let mut conn = app.pool.acquire().await?;
            for c in company {
                accounts::link_company(&mut conn, id, c).await?;
            }
            drop(conn);
            println!("account {id} created for {email} ({})", role.as_str());
            if generated {
                println!("password (shown once): {password}");
            }
            Ok(0)
        }
        Command::Accounts {
            command: AccountsCommand::HashingTime { .. },
        } => unreachable!("handled before the database is opened"),
        Command::Projections { command } => projections_command(command, app).await,
        Command::Clock { command } => clock_command(command, app).await,
        Command::Events {
            command: EventsCommand::Export { aggregate, from },
        } => {
            let aggregate = aggregate
                .map(|a| match a.split_once(':') {
                    Some((t, id)) if !t.is_empty() && !id.is_empty() => {
                        Ok((t.to_owned(), id.to_owned()))
                    }
                    _ => Err(anyhow::anyhow!(
                        "--aggregate: expected TYPE:ID, e.g. Company:0190…"
                    )),
                })
                .transpose()?;
            let filter = projections::export::ExportFilter {
                aggregate,
                from_position: from,
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let n = projections::export::export(&app.pool, &filter, &mut out).await?;
            tracing::info!(events = n, "exported");
            Ok(0)
        }
    }
}

async fn clock_command(command: ClockCommand, app: &App) -> anyhow::Result<i32> {
    match command {
        ClockCommand::Advance { to } => {
            let meta = projections::event::CommandMeta::system("cli");
            let out = app
                .clock
                .execute(
                    domain::clock::CLOCK_ID,
                    domain::clock::ClockCommand::AdvanceClock { to },
                    &meta,
                )
                .await
                .map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            println!("business date {to} ({} days started)", out.events);
            let days =
                std::sync::Arc::new(projections::days::BusinessDays::new(app.contracts.clone()));
            let consumer = projections::runner::CatchUp::new(days, 50);
            // The new days are read once every older transaction on the server has ended (the global
            // order's horizon): retry for a while rather than report a day as not closed.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                match consumer.run_once(&app.pool).await? {
                    Some(_) => {
                        let (_, closed) =
                            projections::contracts::load_business_day(&app.pool).await?;
                        if closed < Some(to) && std::time::Instant::now() < deadline {
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                            continue;
                        }
                        println!(
                            "days closed through {}",
                            closed.map(|d| d.to_string()).unwrap_or_else(|| "-".into())
                        );
                    }
                    None => println!("a running server is closing the days"),
                }
                break;
            }
            Ok(0)
        }
        ClockCommand::Show => {
            let (date, closed) = projections::contracts::load_business_day(&app.pool).await?;
            let show = |d: Option<chrono::NaiveDate>| {
                d.map(|d| d.to_string()).unwrap_or_else(|| "-".into())
            };
            println!(
                "business date {}, closed through {}",
                show(date),
                show(closed)
            );
            Ok(0)
        }
    }
}

async fn projections_command(command: ProjectionsCommand, app: &App) -> anyhow::Result<i32> {
    match command {
        ProjectionsCommand::Rebuild { name } => {
            let chosen: Vec<_> = app
                .inline
                .iter()
                .filter(|p| name.as_deref().is_none_or(|n| n == p.name()))
                .cloned()
                .collect();
            if chosen.is_empty() {
                let known: Vec<_> = app.inline.iter().map(|p| p.name()).collect();
                bail!(
                    "unknown projection {:?}; known: {}",
                    name.unwrap_or_default(),
                    known.join(", ")
                );
            }
            for p in chosen {
                let r = projections::runner::rebuild(&app.pool, p.as_ref(), 5_000).await?;
                println!(
                    "rebuilt {}: {} events in {:.2} s ({:.0} events/s)",
                    r.projection,
                    r.events,
                    r.seconds,
                    r.events as f64 / r.seconds.max(1e-9)
                );
            }
            Ok(0)
        }
        ProjectionsCommand::Verify => {
            let diffs = projections::runner::verify(&app.pool, &app.inline).await?;
            if diffs.is_empty() {
                println!("verified: every read model equals a replay of the log");
                return Ok(0);
            }
            for d in &diffs {
                println!(
                    "{}.{}: {} rows only in the live table, {} only in the replay",
                    d.projection, d.table, d.only_live, d.only_replayed
                );
                for s in &d.samples {
                    println!("  {s}");
                }
            }
            Ok(1)
        }
        ProjectionsCommand::Status => {
            for s in projections::runner::status(&app.pool, &app.inline, &["business-days"]).await?
            {
                println!(
                    "{:<24} {:<8} position {:>10} lag {}",
                    s.name, s.driver, s.position, s.lag
                );
            }
            Ok(0)
        }
    }
}
