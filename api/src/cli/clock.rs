//! `cabinet clock`: the business clock moved by hand, and shown.

use clap::Subcommand;

use crate::app::App;

#[derive(Subcommand)]
pub enum ClockCommand {
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

pub async fn clock_command(command: ClockCommand, app: &App) -> anyhow::Result<i32> {
    match command {
        ClockCommand::Advance { to } => {
            let meta = projections::store::event::CommandMeta::system("cli");
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
            let days = std::sync::Arc::new(crate::workers::days::BusinessDays::new(
                app.contracts.clone(),
            ));
            let consumer =
                projections::engine::segments::Segmented::new(days, 50, std::sync::Arc::default());
            // The new days are read once every older transaction on the server has ended (the global
            // order's horizon): retry for a while rather than report a day as not closed.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                match consumer.run_once(&app.pool).await? {
                    Some(_) => {
                        let (_, closed) =
                            projections::views::contracts::load_business_day(&app.pool).await?;
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
            let (date, closed) =
                projections::views::contracts::load_business_day(&app.pool).await?;
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
