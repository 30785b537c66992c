//! `cabinet projections`: rebuild, verify and status of the read models.

use anyhow::bail;
use clap::Subcommand;

use crate::app::App;

#[derive(Subcommand)]
pub enum ProjectionsCommand {
    /// Replay the whole log into fresh tables and swap them in (all projections, or NAME).
    Rebuild {
        /// One projection's name.
        name: Option<String>,
    },
    /// Replay the log into a scratch schema and compare with the live tables; exits 1 on any difference, 2
    /// when it could not run.
    Verify,
    /// Each projection's position and lag.
    Status,
}

pub async fn projections_command(command: ProjectionsCommand, app: &App) -> anyhow::Result<i32> {
    match command {
        ProjectionsCommand::Rebuild { name } => {
            let chosen: Vec<_> = app
                .inline
                .iter()
                // All: every read model a rebuild may replace; by name: that one (refused when it is not).
                .filter(|p| name.as_deref().map_or(p.replaceable(), |n| n == p.name()))
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
            let reports = projections::engine::runner::rebuild_all(
                &app.pool,
                &chosen,
                5_000,
                projections::engine::runner::default_rebuild_parallelism(),
            )
            .await?;
            for r in reports {
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
            let diffs = projections::engine::runner::verify(&app.pool, &app.inline).await?;
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
            // Every process manager, a line per segment.
            let workers: Vec<&str> = crate::workers::process_managers(app)
                .iter()
                .map(|m| m.name())
                .collect();
            for s in projections::engine::segments::status(&app.pool, &app.inline, &workers).await?
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
