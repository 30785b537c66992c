//! The back office's inbox of one company: staff notifications about a company with a responsible manager
//! reach that manager first; those the manager has not read after a configurable time are escalated to the
//! whole back office. An escalation is an event (`NotificationsEscalated`), so the back office's feed, its
//! mail and an auditor all see when and why something reached them. The stream's id is the company's.

use cqrs_es::{event_sink::EventSink, Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::content::ContentError;

/// A notification's place in the global order (its event's transaction and position, and its ordinal among
/// the event's notifications): how far a company's inbox was looked through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InboxPlace {
    /// The event's transaction id.
    pub transaction_id: i64,
    /// The event's position.
    pub position: i64,
    /// The notification's ordinal.
    pub ordinal: i32,
}

/// A company's staff inbox.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct StaffInbox {
    through: Option<InboxPlace>,
}

/// What the routing process asks of an inbox.
#[derive(Debug, Clone, PartialEq)]
pub enum StaffInboxCommand {
    /// Hand the manager's unread notifications up to `through` to the back office.
    Escalate {
        /// The company (the stream's id).
        company_id: Uuid,
        /// The manager who did not read them.
        manager: Uuid,
        /// How long they waited, in minutes (the setting).
        waited_minutes: u32,
        /// The last notification looked at (read ones included).
        through: InboxPlace,
        /// The unread ones, in order.
        notifications: Vec<Uuid>,
    },
}

/// What happened in an inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StaffInboxEvent {
    /// Notifications the manager left unread were handed to the back office.
    NotificationsEscalated {
        /// The company.
        company_id: Uuid,
        /// The manager.
        manager: Uuid,
        /// How long they waited, in minutes.
        waited_minutes: u32,
        /// The last notification looked at.
        through: InboxPlace,
        /// The escalated notifications.
        notifications: Vec<Uuid>,
    },
}

impl DomainEvent for StaffInboxEvent {
    fn event_type(&self) -> String {
        "NotificationsEscalated".to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

impl Aggregate for StaffInbox {
    const TYPE: &'static str = "StaffInbox";
    type Command = StaffInboxCommand;
    type Event = StaffInboxEvent;
    type Error = ContentError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let StaffInboxCommand::Escalate {
            company_id,
            manager,
            waited_minutes,
            through,
            notifications,
        } = command;
        // Already looked through (another node's run got there first), or nothing to hand up: no event.
        if self.through.is_some_and(|t| through <= t) || notifications.is_empty() {
            return Ok(());
        }
        sink.write(
            StaffInboxEvent::NotificationsEscalated {
                company_id,
                manager,
                waited_minutes,
                through,
                notifications,
            },
            self,
        )
        .await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let StaffInboxEvent::NotificationsEscalated { through, .. } = event;
        self.through = Some(through);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    type Given = TestFramework<StaffInbox>;

    fn place(position: i64) -> InboxPlace {
        InboxPlace {
            transaction_id: 10,
            position,
            ordinal: 0,
        }
    }

    fn escalate(through: i64, notifications: Vec<Uuid>) -> StaffInboxCommand {
        StaffInboxCommand::Escalate {
            company_id: Uuid::from_u128(1),
            manager: Uuid::from_u128(2),
            waited_minutes: 120,
            through: place(through),
            notifications,
        }
    }

    fn escalated(through: i64, notifications: Vec<Uuid>) -> StaffInboxEvent {
        StaffInboxEvent::NotificationsEscalated {
            company_id: Uuid::from_u128(1),
            manager: Uuid::from_u128(2),
            waited_minutes: 120,
            through: place(through),
            notifications,
        }
    }

    #[tokio::test]
    async fn unread_notifications_are_escalated_once() {
        let ids = vec![Uuid::from_u128(7)];
        Given::with(())
            .given_no_previous_events()
            .when_async(escalate(5, ids.clone()))
            .await
            .then_expect_events(vec![escalated(5, ids.clone())]);
        // The same look again (a second node, a retry) records nothing.
        Given::with(())
            .given(vec![escalated(5, ids.clone())])
            .when_async(escalate(5, ids))
            .await
            .then_expect_events(vec![]);
    }

    #[tokio::test]
    async fn later_notifications_are_escalated_after_earlier_ones_and_nothing_unread_records_nothing(
    ) {
        Given::with(())
            .given(vec![escalated(5, vec![Uuid::from_u128(7)])])
            .when_async(escalate(9, vec![Uuid::from_u128(8)]))
            .await
            .then_expect_events(vec![escalated(9, vec![Uuid::from_u128(8)])]);
        Given::with(())
            .given_no_previous_events()
            .when_async(escalate(9, vec![]))
            .await
            .then_expect_events(vec![]);
    }
}
