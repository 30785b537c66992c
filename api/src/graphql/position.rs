//! `Position`: one opaque string for every place in the log the API names — a mutation's last event, a
//! read model's last event, an audited event, a notification, a subscription's update — and the one thing
//! every `after` takes. The position a mutation returns resumes any subscription: `after: P` delivers what
//! was committed after P (an event's own notifications come after the event itself).
//!
//! Inside, a position is the event's global position and, for a notification, its ordinal among that
//! event's notifications (-1 for the event itself); the commit order (transaction id, position) is looked
//! up from the log when a subscription or a list resumes. Clients must treat the text as opaque: the
//! encoding (URL-safe base64 of a versioned text) may gain parts, never lose them.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use base64::Engine as _;
use projections::engine::runner::Checkpoint;
use sqlx::PgPool;

use crate::app::notifications::Position as NotificationPlace;
use crate::error::ApiError;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A place in the log (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The event's global position (0: before the first event).
    pub event: i64,
    /// The notification's ordinal among the event's, or -1 for the event itself.
    pub ordinal: i32,
}

impl Position {
    /// The place of the event at global position `event`.
    pub fn event(event: i64) -> Self {
        Self { event, ordinal: -1 }
    }

    /// A notification's place.
    pub fn notification(p: NotificationPlace) -> Self {
        Self {
            event: p.position,
            ordinal: p.ordinal,
        }
    }

    fn encode(self) -> String {
        B64.encode(format!("1:{}:{}", self.event, self.ordinal))
    }

    /// The position a `Cabinet-Read-After` header names (the text a `position` field gives).
    pub fn parse_text(s: &str) -> Option<Self> {
        Self::decode(s)
    }

    fn decode(s: &str) -> Option<Self> {
        let text = String::from_utf8(B64.decode(s.trim()).ok()?).ok()?;
        let mut parts = text.split(':');
        let (Some("1"), Some(event), Some(ordinal), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let (event, ordinal) = (event.parse().ok()?, ordinal.parse().ok()?);
        (event >= 0 && ordinal >= -1).then_some(Self { event, ordinal })
    }

    /// The transaction that committed the event (0 for position 0), for resuming in commit order.
    ///
    /// # Errors
    /// VALIDATION on `field` when no event has this position (a position from another installation, or
    /// one whose event was never committed); a database failure.
    async fn transaction(self, pool: &PgPool, field: &str) -> Result<i64, ApiError> {
        if self.event == 0 {
            return Ok(0);
        }
        crate::app::live::transaction_of(pool, self.event)
            .await?
            .ok_or_else(|| ApiError::validation(field, "no event has this position"))
    }

    /// The commit-order place after which everything is new to the holder of this position (its event
    /// seen).
    ///
    /// # Errors
    /// As [`Position::transaction`].
    pub async fn checkpoint(self, pool: &PgPool, field: &str) -> Result<Checkpoint, ApiError> {
        Ok(Checkpoint {
            transaction_id: self.transaction(pool, field).await?,
            position: self.event,
        })
    }

    /// The notification-feed place after which everything is new to the holder of this position: an
    /// event's position comes before the event's own notifications.
    ///
    /// # Errors
    /// As [`Position::transaction`].
    pub async fn notification_place(
        self,
        pool: &PgPool,
        field: &str,
    ) -> Result<NotificationPlace, ApiError> {
        Ok(NotificationPlace {
            transaction_id: self.transaction(pool, field).await?,
            position: self.event,
            ordinal: self.ordinal,
        })
    }
}

#[Scalar(name = "Position")]
/// An opaque place in the log (an event, or a notification after its event). Any position the API returns
/// — a mutation's, a read model's, a notification's, a subscription update's — is what every
/// subscription's `after` takes, to resume after it. Do not parse or build it.
impl ScalarType for Position {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Position::decode(s).ok_or_else(|| {
                InputValueError::custom("not a position this API gave (an opaque string)")
            }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_reads_back_as_itself_and_nothing_else_reads_as_one() {
        for p in [
            Position::event(0),
            Position::event(9_007_199_254_740_993),
            Position {
                event: 42,
                ordinal: 3,
            },
        ] {
            assert_eq!(Position::decode(&p.encode()), Some(p));
            assert!(!p.encode().contains(['+', '/', '=']), "URL-safe");
        }
        for bad in [
            "",
            "42",
            "12.34",
            "12.34.0",
            &B64.encode("2:1:0"),
            &B64.encode("1:-1:0"),
            &B64.encode("1:1:-2"),
            &B64.encode("1:1"),
            &B64.encode("1:1:0:0"),
        ] {
            assert_eq!(Position::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_suites_start_of_the_log_is_event_zero() {
        // The suites that subscribe "from the start" without a position at hand write this text out
        // (clients never build positions; the suites may, and this pins it).
        assert_eq!(Position::event(0).encode(), "MTowOi0x");
    }

    #[test]
    fn an_events_place_comes_before_its_notifications() {
        assert!(
            Position::event(7)
                < Position {
                    event: 7,
                    ordinal: 0
                }
        );
        assert!(
            Position {
                event: 7,
                ordinal: 5
            } < Position::event(8)
        );
    }
}
