//! The midnight clock (`clock = auto`): starts each business day at local midnight in the lessor's time zone.

use std::sync::Arc;
use std::time::Duration;

use domain::clock::{BusinessClock, ClockCommand, ClockError, CLOCK_ID};
use projections::store::command::{CommandError, CommandExecutor};
use projections::store::event::CommandMeta;

/// The business day in `tz` at `now`, and when the next one starts (local midnight, as UTC).
pub fn business_day_at(
    now: chrono::DateTime<chrono::Utc>,
    tz: chrono_tz::Tz,
) -> (chrono::NaiveDate, Option<chrono::DateTime<chrono::Utc>>) {
    let today = now.with_timezone(&tz).date_naive();
    let next = (today + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .map(|t| t.with_timezone(&chrono::Utc));
    (today, next)
}

/// Starts each new business day at local midnight in `tz` (and, at start-up, today if the clock is behind).
pub async fn run_midnight_clock(
    clock: Arc<CommandExecutor<BusinessClock>>,
    tz: chrono_tz::Tz,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let (today, next_midnight) = business_day_at(chrono::Utc::now(), tz);
        let meta = CommandMeta::system("clock");
        match clock
            .execute(CLOCK_ID, ClockCommand::AdvanceClock { to: today }, &meta)
            .await
        {
            Ok(o) if o.events > 0 => {
                tracing::info!(%today, days = o.events, "business day started")
            }
            Ok(_) => {}
            // An operator moved the clock ahead by hand: wait for the calendar to catch up.
            Err(CommandError::Rejected(ClockError::Backwards { current })) => {
                tracing::debug!(%current, "business clock is ahead of the wall clock")
            }
            Err(e) => tracing::error!(error = %e, "starting the business day failed"),
        }
        let wait = next_midnight
            .and_then(|t| (t - chrono::Utc::now()).to_std().ok())
            .unwrap_or(Duration::from_secs(60))
            // Wake at least hourly so a suspended machine or a clock change is noticed.
            .min(Duration::from_secs(3600));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}
#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[test]
    fn a_business_day_starts_at_midnight_in_the_lessors_time_zone() {
        let moscow = chrono_tz::Europe::Moscow;
        let before = Utc.with_ymd_and_hms(2026, 3, 10, 20, 59, 59).unwrap();
        let (today, next) = business_day_at(before, moscow);
        assert_eq!(today.to_string(), "2026-03-10");
        assert_eq!(
            next,
            Some(Utc.with_ymd_and_hms(2026, 3, 10, 21, 0, 0).unwrap())
        );
        let (today, _) =
            business_day_at(Utc.with_ymd_and_hms(2026, 3, 10, 21, 0, 0).unwrap(), moscow);
        assert_eq!(today.to_string(), "2026-03-11");
        // Vladivostok (UTC+10) is already on the next day.
        let (today, _) = business_day_at(before, chrono_tz::Asia::Vladivostok);
        assert_eq!(today.to_string(), "2026-03-11");
    }
}
