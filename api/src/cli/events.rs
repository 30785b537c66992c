//! `cabinet events`: the log exported as JSON lines, and exports verified.

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
    }
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
