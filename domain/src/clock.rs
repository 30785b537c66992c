//! The business clock: business time enters the system only as events (DESIGN.md "Time"). One system
//! stream records that each business day started; penalties, overdue status and reminders follow from those
//! events, so replaying the log gives the same results on any day.

use chrono::{Days, NaiveDate};
use cqrs_es::{event_sink::EventSink, Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

/// The one clock stream's aggregate id.
pub const CLOCK_ID: &str = "business-clock";

/// At most this many days are started by one command (a typo in a year must not append a century).
pub const MAX_DAYS_PER_ADVANCE: i64 = 3660;

/// The business clock. `Default` is "never started".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BusinessClock {
    date: Option<NaiveDate>,
}

impl BusinessClock {
    /// The current business day, once the clock started.
    pub fn date(&self) -> Option<NaiveDate> {
        self.date
    }
}

/// A command to the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClockCommand {
    /// Start every day after the current one up to and including `to` (only `to` when the clock never
    /// started). Advancing to the current day records nothing.
    AdvanceClock {
        /// The last day to start.
        to: NaiveDate,
    },
}

/// What happened on the clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClockEvent {
    /// A business day started.
    BusinessDayStarted {
        /// The day.
        date: NaiveDate,
    },
}

impl DomainEvent for ClockEvent {
    fn event_type(&self) -> String {
        "BusinessDayStarted".to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

/// Why the clock refused to move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// The clock never goes backwards.
    #[error("the business date is already {current}; the clock never goes backwards")]
    Backwards {
        /// The current business day.
        current: NaiveDate,
    },
    /// Too many days at once.
    #[error("at most {MAX_DAYS_PER_ADVANCE} days can be started at once")]
    TooFar,
}

impl crate::failure::Rejection for ClockError {}

impl Aggregate for BusinessClock {
    // Never renamed: it links every stored clock event.
    const TYPE: &'static str = "BusinessClock";
    type Command = ClockCommand;
    type Event = ClockEvent;
    type Error = ClockError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let ClockCommand::AdvanceClock { to } = command;
        let first = match self.date {
            None => to,
            Some(current) if to < current => return Err(ClockError::Backwards { current }),
            Some(current) => current + Days::new(1),
        };
        if (to - first).num_days() >= MAX_DAYS_PER_ADVANCE {
            return Err(ClockError::TooFar);
        }
        let mut day = first;
        while day <= to {
            sink.write(ClockEvent::BusinessDayStarted { date: day }, self)
                .await;
            day = day + Days::new(1);
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let ClockEvent::BusinessDayStarted { date } = event;
        self.date = Some(date);
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;
    use crate::testing::d;

    fn started(s: &str) -> ClockEvent {
        ClockEvent::BusinessDayStarted { date: d(s) }
    }

    #[tokio::test]
    async fn a_new_clock_starts_on_the_day_it_is_advanced_to() {
        TestFramework::<BusinessClock>::with(())
            .given_no_previous_events()
            .when_async(ClockCommand::AdvanceClock {
                to: d("2026-03-01"),
            })
            .await
            .then_expect_events(vec![started("2026-03-01")]);
    }

    #[tokio::test]
    async fn advancing_starts_every_day_in_between() {
        TestFramework::<BusinessClock>::with(())
            .given(vec![started("2026-02-27")])
            .when_async(ClockCommand::AdvanceClock {
                to: d("2026-03-02"),
            })
            .await
            .then_expect_events(vec![
                started("2026-02-28"),
                started("2026-03-01"),
                started("2026-03-02"),
            ]);
    }

    #[tokio::test]
    async fn advancing_to_the_current_day_records_nothing() {
        TestFramework::<BusinessClock>::with(())
            .given(vec![started("2026-03-01")])
            .when_async(ClockCommand::AdvanceClock {
                to: d("2026-03-01"),
            })
            .await
            .then_expect_events(vec![]);
    }

    #[tokio::test]
    async fn the_clock_never_goes_backwards() {
        TestFramework::<BusinessClock>::with(())
            .given(vec![started("2026-03-01")])
            .when_async(ClockCommand::AdvanceClock {
                to: d("2026-02-28"),
            })
            .await
            .then_expect_error(ClockError::Backwards {
                current: d("2026-03-01"),
            });
    }

    #[tokio::test]
    async fn a_decade_at_once_is_refused() {
        TestFramework::<BusinessClock>::with(())
            .given(vec![started("2026-03-01")])
            .when_async(ClockCommand::AdvanceClock {
                to: d("2040-01-01"),
            })
            .await
            .then_expect_error(ClockError::TooFar);
    }
}
