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
    /// Analysts' read-only access to the read models.
    Analysts {
        #[command(subcommand)]
        command: AnalystsCommand,
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
    /// Write events as JSON lines to standard output, in global commit order.
    Export {
        /// Only one aggregate, as TYPE:ID.
        #[arg(long)]
        aggregate: Option<String>,
        /// Only these event types (repeatable).
        #[arg(long = "type", value_name = "EVENT_TYPE")]
        event_types: Vec<String>,
        /// Only the aggregates of this company (the company, its contracts, policies, requests, documents).
        #[arg(long)]
        company: Option<uuid::Uuid>,
        /// Only events recorded at or after this instant (RFC 3339, e.g. 2026-03-01T00:00:00+03:00).
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// Only events recorded before this instant (RFC 3339).
        #[arg(long)]
        until: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// Only events at or after this position.
        #[arg(long, alias = "from-position")]
        from: Option<i64>,
        /// Only events at or before this position.
        #[arg(long, alias = "to-position")]
        to: Option<i64>,
        /// Check the export as it is written: global order, unique positions, gap-free sequences per
        /// aggregate. The report goes to standard error; exit status 1 on any problem.
        #[arg(long)]
        verify: bool,
    },
    /// Check an export (a file, or standard input): global order, unique positions, and per aggregate
    /// increasing positions and gap-free sequences. Exit status 1 on any problem.
    Verify {
        /// The export; standard input when absent.
        file: Option<PathBuf>,
        /// The export holds every event of its aggregates: sequences must start at 1.
        #[arg(long)]
        complete: bool,
    },
}

#[derive(Subcommand)]
enum AnalystsCommand {
    /// Give the existing PostgreSQL login role NAME read access to the `analytics` schema (and nothing else):
    /// grants `cabinet_analyst` to it, makes its sessions read-only and puts `analytics` on its search path.
    Grant {
        /// The login role (create it first: CREATE ROLE name LOGIN PASSWORD '…').
        #[arg(long)]
        role: String,
    },
    /// Take `cabinet_analyst` away from NAME.
    Revoke {
        /// The login role.
        #[arg(long)]
        role: String,
    },
    /// The login roles that hold `cabinet_analyst`.
    List,
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
        Command::Events { command } => events_command(command, app).await,
        Command::Analysts { command } => analysts_command(command, app).await,
    }
}

async fn events_command(command: EventsCommand, app: &App) -> anyhow::Result<i32> {
    use projections::export::{Coverage, ExportCheck};
    let report = |r: projections::export::CheckReport| {
        for s in &r.samples {
            eprintln!("  {s}");
        }
        if r.problems == 0 {
            eprintln!(
                "verified: {} events of {} aggregates, in global order, positions unique, sequences gap-free",
                r.events, r.aggregates
            );
            0
        } else {
            eprintln!(
                "{} problems in {} events of {} aggregates",
                r.problems, r.events, r.aggregates
            );
            1
        }
    };
    match command {
        EventsCommand::Export {
            aggregate,
            event_types,
            company,
            since,
            until,
            from,
            to,
            verify,
        } => {
            let (aggregate_type, aggregate_id) = match aggregate {
                None => (None, None),
                Some(a) => match a.split_once(':') {
                    Some((t, id)) if !t.is_empty() && !id.is_empty() => {
                        (Some(t.to_owned()), Some(id.to_owned()))
                    }
                    _ => bail!("--aggregate: expected TYPE:ID, e.g. Company:0190…"),
                },
            };
            if let (Some(a), Some(b)) = (since, until) {
                if b <= a {
                    bail!("--until: must be after --since");
                }
            }
            if let (Some(a), Some(b)) = (from, to) {
                if b < a {
                    bail!("--to: must not be below --from");
                }
            }
            let filter = projections::audit::EventFilter {
                aggregate_type,
                aggregate_id,
                event_types,
                company_id: company,
                recorded_from: since.map(|t| t.with_timezone(&chrono::Utc)),
                recorded_to: until.map(|t| t.with_timezone(&chrono::Utc)),
                position_from: from,
                position_to: to,
                ..Default::default()
            };
            let mut check = verify.then(|| ExportCheck::new(Coverage::of(&filter)));
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let n =
                projections::export::export(&app.pool, &filter, &mut out, check.as_mut()).await?;
            tracing::info!(events = n, "exported");
            Ok(check.map_or(0, |c| report(c.report())))
        }
        EventsCommand::Verify { file, complete } => {
            use std::io::BufRead;
            let input: Box<dyn BufRead> = match &file {
                Some(f) => Box::new(std::io::BufReader::new(
                    std::fs::File::open(f).with_context(|| format!("opening {}", f.display()))?,
                )),
                None => Box::new(std::io::stdin().lock()),
            };
            let mut check = ExportCheck::new(if complete {
                Coverage::Complete
            } else {
                Coverage::Window
            });
            for l in input.lines() {
                let l = l?;
                if l.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<serde_json::Value>(&l) {
                    Ok(v) => check.push(&v),
                    Err(e) => check.unreadable(&e.to_string()),
                }
            }
            Ok(report(check.report()))
        }
    }
}

async fn analysts_command(command: AnalystsCommand, app: &App) -> anyhow::Result<i32> {
    use projections::analysts;
    match command {
        AnalystsCommand::Grant { role } => {
            analysts::grant(&app.pool, &role).await?;
            println!(
                "{role} now holds {}: it reads the `analytics` schema only, in read-only sessions",
                analysts::ROLE
            );
            Ok(0)
        }
        AnalystsCommand::Revoke { role } => {
            analysts::revoke(&app.pool, &role).await?;
            println!("{role} no longer holds {}", analysts::ROLE);
            Ok(0)
        }
        AnalystsCommand::List => {
            for r in analysts::list(&app.pool).await? {
                println!("{r}");
            }
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
