//! `cabinet events`: the log exported as JSON lines, exports verified, the log's partitions listed and archived.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use clap::Subcommand;

use crate::app::App;

#[derive(Subcommand)]
pub enum EventsCommand {
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
    /// The log's partitions (ADR 0029), oldest first: range, live or archived, events, size. With `--size`
    /// or `--ahead`, first sets those of the partitions created from now on.
    Partitions {
        /// Positions per partition created from now on.
        #[arg(long)]
        size: Option<i64>,
        /// How many empty partitions to keep ahead of the last position (1–100).
        #[arg(long)]
        ahead: Option<i32>,
    },
    /// Move full partitions of the log to the `archive` schema: still read by replay, verify, export and
    /// as-of, no longer indexed, vacuumed or locked with the live log. Each move is one short transaction.
    Archive {
        /// Keep this many of the newest partitions holding events live (at least 1).
        #[arg(long, default_value_t = 2)]
        keep: usize,
        /// Archive only this partition (it must be full).
        #[arg(long)]
        partition: Option<String>,
        /// How long one move may wait for the log's lock before it gives up and tries again (appends and
        /// reads queue behind a waiting move), in milliseconds.
        #[arg(long, default_value_t = 2000)]
        lock_timeout_ms: u64,
    },
    /// Check an export (a file, or standard input): global order, unique positions, and per aggregate
    /// increasing positions and gap-free sequences. Exit status 1 on any problem, 2 when it could not run.
    Verify {
        /// The export; standard input when absent.
        file: Option<PathBuf>,
        /// The export holds every event of its aggregates: sequences must start at 1.
        #[arg(long)]
        complete: bool,
    },
}

/// Prints a check's report to standard error; its exit status (0 clean, 1 problems).
fn report(r: projections::log::export::CheckReport) -> i32 {
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
}

pub async fn events_command(command: EventsCommand, app: &App) -> anyhow::Result<i32> {
    use projections::log::export::{Coverage, ExportCheck};
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
            let filter = projections::log::audit::EventFilter {
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
            let n = projections::log::export::export(&app.pool, &filter, &mut out, check.as_mut())
                .await?;
            tracing::info!(events = n, "exported");
            Ok(check.map_or(0, |c| report(c.report())))
        }
        EventsCommand::Verify { file, complete } => verify_file(file.as_deref(), complete),
        EventsCommand::Partitions { size, ahead } => partitions(app, size, ahead).await,
        EventsCommand::Archive {
            keep,
            partition,
            lock_timeout_ms,
        } => archive(app, keep, partition, lock_timeout_ms).await,
    }
}

async fn partitions(app: &App, size: Option<i64>, ahead: Option<i32>) -> anyhow::Result<i32> {
    use projections::store::partitions;
    if size.is_some_and(|s| s < 1) {
        bail!("--size: must be at least 1 position");
    }
    if ahead.is_some_and(|a| !(1..=100).contains(&a)) {
        bail!("--ahead: must be between 1 and 100");
    }
    let (size, ahead) = if size.is_some() || ahead.is_some() {
        let now = partitions::configure(&app.pool, size, ahead).await?;
        partitions::ensure(&app.pool).await?;
        now
    } else {
        partitions::settings(&app.pool).await?
    };
    println!("new partitions: {size} positions each, {ahead} kept ahead");
    println!(
        "{:<24} {:>8} {:>14} {:>14} {:>10} {:>12}",
        "partition", "state", "from", "to", "events", "bytes"
    );
    for p in partitions::list(&app.pool).await? {
        println!(
            "{:<24} {:>8} {:>14} {:>14} {:>10} {:>12}",
            p.name,
            if p.archived { "archived" } else { "live" },
            p.from_position,
            p.to_position - 1,
            p.events,
            p.bytes
        );
    }
    let gaps = partitions::history_gaps(&app.pool).await?;
    if !gaps.is_empty() {
        eprintln!("{}", partitions::HistoryIncomplete(gaps));
        return Ok(1);
    }
    Ok(0)
}

async fn archive(
    app: &App,
    keep: usize,
    partition: Option<String>,
    lock_timeout_ms: u64,
) -> anyhow::Result<i32> {
    use projections::store::partitions;
    if keep < 1 {
        bail!("--keep: at least the newest partition holding events stays live");
    }
    let names = match partition {
        Some(p) => vec![p],
        None => partitions::archivable(&app.pool, keep).await?,
    };
    if names.is_empty() {
        eprintln!(
            "nothing to archive: no full partition older than the newest {keep} holding events"
        );
    }
    let timeout = std::time::Duration::from_millis(lock_timeout_ms.max(1));
    for name in names {
        let mut attempt = 0;
        let moved = loop {
            attempt += 1;
            match partitions::archive(&app.pool, &name, timeout).await {
                Ok(n) => break n,
                // lock_not_available: the log was busy; nothing changed.
                Err(sqlx::Error::Database(e))
                    if e.code().as_deref() == Some("55P03") && attempt < 10 =>
                {
                    tracing::info!(partition = %name, attempt, "the log was busy; trying again");
                    tokio::time::sleep(timeout).await;
                }
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("22023") => {
                    bail!("{}", e.message())
                }
                Err(e) => return Err(e).with_context(|| format!("archiving {name}")),
            }
        };
        println!("archived {name}: {moved} events");
    }
    Ok(0)
}

/// `cabinet events verify [FILE]`: checks an export without a database; 0 clean, 1 problems found.
///
/// # Errors
/// The file cannot be opened or read.
pub fn verify_file(file: Option<&std::path::Path>, complete: bool) -> anyhow::Result<i32> {
    use projections::log::export::{Coverage, ExportCheck};
    use std::io::BufRead;
    let input: Box<dyn BufRead> = match file {
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
