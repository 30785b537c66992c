//! The one shape of a mutation's answer: a payload with the changed object, the `position` of the change
//! in the log and whether it was `replayed` (ADR 0019). Every mutation that takes arguments takes one
//! `input` object (files included, as `Upload` fields of it) and, when it executes a command, an
//! `idempotencyKey`.

use async_graphql::SimpleObject;
use projections::store::command::CommandOutcome;

use super::position::Position;

/// Where a change landed and whether it ran: the two fields every payload carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct Done {
    /// The place of the last event the change wrote (or of the first call's, for a replay).
    pub position: Option<Position>,
    /// True when an idempotency key matched an earlier call.
    pub replayed: bool,
}

impl Done {
    /// A change that wrote no event to the log (an account, a session, the read state of notifications).
    pub const NO_EVENT: Done = Done {
        position: None,
        replayed: false,
    };
}

impl From<&CommandOutcome> for Done {
    fn from(out: &CommandOutcome) -> Self {
        Done {
            position: out.last_position.map(Position::event),
            replayed: out.replayed,
        }
    }
}

/// Declares a payload type: the changed object under `$field`, then `position` and `replayed`.
macro_rules! payload {
    ($(#[doc = $doc:literal])* $name:ident { $(#[doc = $fdoc:literal])* $field:ident : $ty:ty }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, async_graphql::SimpleObject)]
        pub struct $name {
            $(#[doc = $fdoc])*
            pub $field: $ty,
            /// The place in the log of the change's last event (`null` when the change writes no event):
            /// give it as `after` to resume a subscription from there.
            pub position: Option<$crate::graphql::position::Position>,
            /// True when an idempotency key matched an earlier call: nothing was executed again, and the
            /// answer is the object as it is now.
            pub replayed: bool,
        }

        impl $name {
            /// The payload of `value` after a change that ended as `done`.
            pub fn new(value: $ty, done: $crate::graphql::payload::Done) -> Self {
                $name {
                    $field: value,
                    position: done.position,
                    replayed: done.replayed,
                }
            }
        }
    };
}
pub(crate) use payload;

/// The answer of a mutation whose only result is that it was accepted (password recovery, a login
/// change asked for).
#[derive(Debug, Clone, SimpleObject)]
pub struct AcceptedPayload {
    /// Always true: a refusal is an error.
    pub accepted: bool,
    /// The place in the log of the change's last event; `null` when it writes none, and always `null`
    /// where naming it would tell whether an account exists (password recovery).
    pub position: Option<Position>,
    /// True when an idempotency key matched an earlier call.
    pub replayed: bool,
}

impl AcceptedPayload {
    /// Accepted, ending as `done`.
    pub fn new(done: Done) -> Self {
        AcceptedPayload {
            accepted: true,
            position: done.position,
            replayed: done.replayed,
        }
    }
}
