//! The conversation between a lessee company and the lessor: one thread per company (the cabinet's online
//! chat with the responsible manager), one stream per company. A request's own thread is the request's
//! comments and files (the ClientRequest aggregate), so a request is never discussed in two places; the
//! `conversation_messages` read model shows both kinds of thread side by side.

use cqrs_es::{event_sink::EventSink, Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::content::ContentError;
use crate::request::Party;
use crate::values::FileRef;

/// Longest message, in characters.
pub const MAX_MESSAGE: usize = 10_000;
/// Most files one message carries.
pub const MAX_ATTACHMENTS: usize = 10;

/// A company's thread with the lessor.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Conversation {
    company_id: Option<Uuid>,
    messages: u64,
}

/// What can be asked of a thread.
#[derive(Debug, Clone, PartialEq)]
pub enum ConversationCommand {
    /// Post a message (text, files or both) in the company's thread.
    PostMessage {
        /// The company (the stream's id).
        company_id: Uuid,
        /// The message's id (chosen by the caller, UUIDv7).
        message_id: Uuid,
        /// Which side wrote it.
        party: Party,
        /// The account that wrote it.
        author: Uuid,
        /// The text (may be empty when files are given).
        text: String,
        /// Files uploaded before.
        attachments: Vec<FileRef>,
    },
}

/// What happened in a thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ConversationEvent {
    /// A message was posted.
    MessagePosted {
        /// The company.
        company_id: Uuid,
        /// The message's id.
        message_id: Uuid,
        /// Which side wrote it.
        party: Party,
        /// The account that wrote it.
        author: Uuid,
        /// The text, trimmed (empty when only files were sent).
        text: String,
        /// The files.
        attachments: Vec<FileRef>,
    },
}

impl DomainEvent for ConversationEvent {
    fn event_type(&self) -> String {
        "MessagePosted".to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

/// Checks a message of `text` and `files` files: trimmed text of at most [`MAX_MESSAGE`] characters, at
/// most [`MAX_ATTACHMENTS`] files, and not both empty. Returns the trimmed text.
///
/// # Errors
/// `Invalid` naming `text` or `files`.
pub fn message(text: &str, files: usize) -> Result<String, ContentError> {
    let text = text.trim();
    if text.chars().count() > MAX_MESSAGE {
        return Err(ContentError::Invalid {
            field: "text",
            message: format!("must be at most {MAX_MESSAGE} characters"),
        });
    }
    if files > MAX_ATTACHMENTS {
        return Err(ContentError::Invalid {
            field: "files",
            message: format!("at most {MAX_ATTACHMENTS} files in one message"),
        });
    }
    if text.is_empty() && files == 0 {
        return Err(ContentError::Invalid {
            field: "text",
            message: "write something or attach a file".into(),
        });
    }
    Ok(text.to_owned())
}

impl Aggregate for Conversation {
    const TYPE: &'static str = "Conversation";
    type Command = ConversationCommand;
    type Event = ConversationEvent;
    type Error = ContentError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let ConversationCommand::PostMessage {
            company_id,
            message_id,
            party,
            author,
            text,
            attachments,
        } = command;
        if self.company_id.is_some_and(|c| c != company_id) {
            return Err(ContentError::Invalid {
                field: "companyId",
                message: "not this thread's company".into(),
            });
        }
        let text = message(&text, attachments.len())?;
        sink.write(
            ConversationEvent::MessagePosted {
                company_id,
                message_id,
                party,
                author,
                text,
                attachments,
            },
            self,
        )
        .await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let ConversationEvent::MessagePosted { company_id, .. } = event;
        self.company_id = Some(company_id);
        self.messages += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    type Given = TestFramework<Conversation>;

    fn post(text: &str, attachments: Vec<FileRef>) -> ConversationCommand {
        ConversationCommand::PostMessage {
            company_id: Uuid::from_u128(1),
            message_id: Uuid::from_u128(2),
            party: Party::Client,
            author: Uuid::from_u128(3),
            text: text.into(),
            attachments,
        }
    }

    #[tokio::test]
    async fn a_message_is_posted_trimmed() {
        Given::with(())
            .given_no_previous_events()
            .when_async(post("  Добрый день!  ", vec![]))
            .await
            .then_expect_events(vec![ConversationEvent::MessagePosted {
                company_id: Uuid::from_u128(1),
                message_id: Uuid::from_u128(2),
                party: Party::Client,
                author: Uuid::from_u128(3),
                text: "Добрый день!".into(),
                attachments: vec![],
            }]);
    }

    #[tokio::test]
    async fn an_empty_or_overlong_message_is_refused_by_field() {
        for (text, field) in [
            ("   ", "text"),
            (&"я".repeat(MAX_MESSAGE + 1) as &str, "text"),
        ] {
            let r = Given::with(())
                .given_no_previous_events()
                .when_async(post(text, vec![]))
                .await
                .inspect_result();
            assert!(
                matches!(r, Err(ContentError::Invalid { field: f, .. }) if f == field),
                "{r:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_thread_belongs_to_one_company() {
        let mut other = post("x", vec![]);
        let ConversationCommand::PostMessage { company_id, .. } = &mut other;
        *company_id = Uuid::from_u128(9);
        let r = Given::with(())
            .given(vec![ConversationEvent::MessagePosted {
                company_id: Uuid::from_u128(1),
                message_id: Uuid::from_u128(5),
                party: Party::Staff,
                author: Uuid::from_u128(6),
                text: "Здравствуйте".into(),
                attachments: vec![],
            }])
            .when_async(other)
            .await
            .inspect_result();
        assert!(
            matches!(
                r,
                Err(ContentError::Invalid {
                    field: "companyId",
                    ..
                })
            ),
            "{r:?}"
        );
    }
}
