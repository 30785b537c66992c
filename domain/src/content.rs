//! What the leasing company publishes to its clients: news (for everyone or for chosen companies), FAQ
//! entries and the terms of use. Each is an aggregate, so an auditor sees who published or changed what and
//! when, and the notifications that publishing causes follow from the log like every other notification.

use chrono::NaiveDate;
use cqrs_es::{event_sink::EventSink, Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The one terms-of-use stream's aggregate id.
pub const TERMS_ID: &str = "terms-of-use";

/// Longest news title, FAQ question or section, in characters.
pub const MAX_TITLE: usize = 300;
/// Longest news text or FAQ answer, in characters.
pub const MAX_TEXT: usize = 50_000;
/// Longest terms of use, in characters.
pub const MAX_TERMS: usize = 200_000;
/// Most companies one news item can be addressed to.
pub const MAX_TARGETS: usize = 1_000;

/// Why a publication command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// A field is blank, too long or out of range.
    #[error("{field}: {message}")]
    Invalid {
        /// The input field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The item was already published (news) or added (FAQ).
    #[error("it already exists")]
    AlreadyExists,
    /// The item does not exist (never published, or removed).
    #[error("there is no such item")]
    NotFound,
    /// The news item was unpublished; it can no longer change.
    #[error("the news item was unpublished")]
    Unpublished,
}

impl crate::failure::Rejection for ContentError {}

/// Trims `value` and checks it is 1 to `max` characters.
fn text(field: &'static str, value: &str, max: usize) -> Result<String, ContentError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ContentError::Invalid {
            field,
            message: "must not be empty".into(),
        });
    }
    if v.chars().count() > max {
        return Err(ContentError::Invalid {
            field,
            message: format!("must be at most {max} characters"),
        });
    }
    Ok(v.to_owned())
}

// ---------------------------------------------------------------------------------------------------------
// News

/// The content of a news item, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewsContent {
    /// Title.
    pub title: String,
    /// Text.
    pub text: String,
    /// The date shown with it.
    pub date: NaiveDate,
    /// The companies it is for; empty: every client.
    pub companies: Vec<Uuid>,
}

impl NewsContent {
    /// Validates and normalises (trimmed texts, companies sorted without repeats).
    ///
    /// # Errors
    /// `title` or `text` blank or too long; more than [`MAX_TARGETS`] companies.
    pub fn new(
        title: &str,
        text_: &str,
        date: NaiveDate,
        mut companies: Vec<Uuid>,
    ) -> Result<Self, ContentError> {
        let title = text("title", title, MAX_TITLE)?;
        let text_ = text("text", text_, MAX_TEXT)?;
        companies.sort_unstable();
        companies.dedup();
        if companies.len() > MAX_TARGETS {
            return Err(ContentError::Invalid {
                field: "companies",
                message: format!("at most {MAX_TARGETS} companies"),
            });
        }
        Ok(Self {
            title,
            text: text_,
            date,
            companies,
        })
    }
}

/// A news item. `Default` is "never published".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct News {
    state: Option<bool>,
}

/// A command to a news item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewsCommand {
    /// Publish a new item.
    PublishNews {
        /// Its id.
        news_id: Uuid,
        /// What it says.
        content: NewsContent,
    },
    /// Change a published item (its notifications follow the new title).
    EditNews {
        /// What it says now.
        content: NewsContent,
    },
    /// Take it down (its notifications go with it).
    UnpublishNews,
}

/// What happened to a news item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NewsEvent {
    /// A news item was published.
    NewsPublished {
        /// Its id.
        news_id: Uuid,
        /// What it says.
        content: NewsContent,
    },
    /// A published item was changed.
    NewsEdited {
        /// What it says now.
        content: NewsContent,
    },
    /// It was taken down.
    NewsUnpublished,
}

impl DomainEvent for NewsEvent {
    fn event_type(&self) -> String {
        match self {
            Self::NewsPublished { .. } => "NewsPublished",
            Self::NewsEdited { .. } => "NewsEdited",
            Self::NewsUnpublished => "NewsUnpublished",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

impl Aggregate for News {
    const TYPE: &'static str = "News";
    type Command = NewsCommand;
    type Event = NewsEvent;
    type Error = ContentError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match (command, self.state) {
            (NewsCommand::PublishNews { news_id, content }, None) => {
                NewsEvent::NewsPublished { news_id, content }
            }
            (NewsCommand::PublishNews { .. }, Some(_)) => return Err(ContentError::AlreadyExists),
            (_, None) => return Err(ContentError::NotFound),
            (_, Some(false)) => return Err(ContentError::Unpublished),
            (NewsCommand::EditNews { content }, Some(true)) => NewsEvent::NewsEdited { content },
            (NewsCommand::UnpublishNews, Some(true)) => NewsEvent::NewsUnpublished,
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.state = Some(!matches!(event, NewsEvent::NewsUnpublished));
    }
}

// ---------------------------------------------------------------------------------------------------------
// FAQ

/// An FAQ entry's content, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqContent {
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
    /// The section it is listed under.
    pub section: String,
    /// Its place within the section (smaller first).
    pub order: i32,
}

impl FaqContent {
    /// Validates and trims.
    ///
    /// # Errors
    /// `question`, `answer` or `section` blank or too long; `order` outside 0..=100000.
    pub fn new(
        question: &str,
        answer: &str,
        section: &str,
        order: i32,
    ) -> Result<Self, ContentError> {
        let question = text("question", question, MAX_TITLE)?;
        let answer = text("answer", answer, MAX_TEXT)?;
        let section = text("section", section, MAX_TITLE)?;
        if !(0..=100_000).contains(&order) {
            return Err(ContentError::Invalid {
                field: "order",
                message: "must be from 0 to 100000".into(),
            });
        }
        Ok(Self {
            question,
            answer,
            section,
            order,
        })
    }
}

/// An FAQ entry. `Default` is "never added".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaqEntry {
    exists: bool,
    removed: bool,
}

/// A command to an FAQ entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaqCommand {
    /// Add an entry.
    AddFaqEntry {
        /// Its id.
        entry_id: Uuid,
        /// Question, answer, section, order.
        content: FaqContent,
    },
    /// Change it.
    EditFaqEntry {
        /// The new content.
        content: FaqContent,
    },
    /// Remove it.
    RemoveFaqEntry,
}

/// What happened to an FAQ entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaqEvent {
    /// An entry was added.
    FaqEntryAdded {
        /// Its id.
        entry_id: Uuid,
        /// Its content.
        content: FaqContent,
    },
    /// It was changed.
    FaqEntryEdited {
        /// The new content.
        content: FaqContent,
    },
    /// It was removed.
    FaqEntryRemoved,
}

impl DomainEvent for FaqEvent {
    fn event_type(&self) -> String {
        match self {
            Self::FaqEntryAdded { .. } => "FaqEntryAdded",
            Self::FaqEntryEdited { .. } => "FaqEntryEdited",
            Self::FaqEntryRemoved => "FaqEntryRemoved",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

impl Aggregate for FaqEntry {
    const TYPE: &'static str = "FaqEntry";
    type Command = FaqCommand;
    type Event = FaqEvent;
    type Error = ContentError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match command {
            FaqCommand::AddFaqEntry { entry_id, content } => {
                if self.exists {
                    return Err(ContentError::AlreadyExists);
                }
                FaqEvent::FaqEntryAdded { entry_id, content }
            }
            _ if !self.exists || self.removed => return Err(ContentError::NotFound),
            FaqCommand::EditFaqEntry { content } => FaqEvent::FaqEntryEdited { content },
            FaqCommand::RemoveFaqEntry => FaqEvent::FaqEntryRemoved,
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            FaqEvent::FaqEntryAdded { .. } => self.exists = true,
            FaqEvent::FaqEntryEdited { .. } => {}
            FaqEvent::FaqEntryRemoved => self.removed = true,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Terms of use

/// The terms of use: one stream of numbered versions. Acceptances are account data and stay out of the log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TermsOfUse {
    version: u32,
}

/// A command to the terms of use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermsCommand {
    /// Publish a new version.
    PublishTerms {
        /// Its text.
        text: String,
    },
}

/// What happened to the terms of use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TermsEvent {
    /// A version was published; clients accept it before anything else.
    TermsPublished {
        /// Its number, from 1.
        version: u32,
        /// Its text.
        text: String,
    },
}

impl DomainEvent for TermsEvent {
    fn event_type(&self) -> String {
        "TermsPublished".to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

impl Aggregate for TermsOfUse {
    const TYPE: &'static str = "TermsOfUse";
    type Command = TermsCommand;
    type Event = TermsEvent;
    type Error = ContentError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let TermsCommand::PublishTerms { text: t } = command;
        let text = text("text", &t, MAX_TERMS)?;
        sink.write(
            TermsEvent::TermsPublished {
                version: self.version + 1,
                text,
            },
            self,
        )
        .await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let TermsEvent::TermsPublished { version, .. } = event;
        self.version = version;
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;
    use crate::testing::d;

    fn news(title: &str) -> NewsContent {
        NewsContent::new(title, "Текст новости", d("2026-03-02"), vec![]).unwrap()
    }

    fn published(title: &str) -> NewsEvent {
        NewsEvent::NewsPublished {
            news_id: Uuid::from_u128(7),
            content: news(title),
        }
    }

    #[test]
    fn news_content_is_trimmed_its_companies_sorted_once_and_blank_fields_are_named() {
        let (a, b) = (Uuid::from_u128(2), Uuid::from_u128(1));
        let c =
            NewsContent::new("  Заголовок ", " Текст ", d("2026-03-02"), vec![a, b, a]).unwrap();
        assert_eq!((c.title.as_str(), c.text.as_str()), ("Заголовок", "Текст"));
        assert_eq!(c.companies, vec![b, a]);
        let e = NewsContent::new(" ", "x", d("2026-03-02"), vec![]).unwrap_err();
        assert!(
            matches!(e, ContentError::Invalid { field: "title", .. }),
            "{e:?}"
        );
        let e =
            NewsContent::new("x", &"я".repeat(MAX_TEXT + 1), d("2026-03-02"), vec![]).unwrap_err();
        assert!(
            matches!(e, ContentError::Invalid { field: "text", .. }),
            "{e:?}"
        );
        let e = FaqContent::new("Вопрос?", "Ответ", "Раздел", -1).unwrap_err();
        assert!(
            matches!(e, ContentError::Invalid { field: "order", .. }),
            "{e:?}"
        );
        let e = FaqContent::new("Вопрос?", "", "Раздел", 1).unwrap_err();
        assert!(
            matches!(
                e,
                ContentError::Invalid {
                    field: "answer",
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn news_is_published_once() {
        TestFramework::<News>::with(())
            .given_no_previous_events()
            .when_async(NewsCommand::PublishNews {
                news_id: Uuid::from_u128(7),
                content: news("Новый офис"),
            })
            .await
            .then_expect_events(vec![published("Новый офис")]);
        TestFramework::<News>::with(())
            .given(vec![published("Новый офис")])
            .when_async(NewsCommand::PublishNews {
                news_id: Uuid::from_u128(7),
                content: news("Новый офис"),
            })
            .await
            .then_expect_error(ContentError::AlreadyExists);
    }

    #[tokio::test]
    async fn published_news_is_edited_and_unpublished_and_then_no_longer_changes() {
        TestFramework::<News>::with(())
            .given(vec![published("Новый офис")])
            .when_async(NewsCommand::EditNews {
                content: news("Новый офис в Казани"),
            })
            .await
            .then_expect_events(vec![NewsEvent::NewsEdited {
                content: news("Новый офис в Казани"),
            }]);
        TestFramework::<News>::with(())
            .given(vec![published("Новый офис")])
            .when_async(NewsCommand::UnpublishNews)
            .await
            .then_expect_events(vec![NewsEvent::NewsUnpublished]);
        TestFramework::<News>::with(())
            .given(vec![published("Новый офис"), NewsEvent::NewsUnpublished])
            .when_async(NewsCommand::EditNews {
                content: news("Новый офис в Казани"),
            })
            .await
            .then_expect_error(ContentError::Unpublished);
        TestFramework::<News>::with(())
            .given_no_previous_events()
            .when_async(NewsCommand::UnpublishNews)
            .await
            .then_expect_error(ContentError::NotFound);
    }

    #[tokio::test]
    async fn an_faq_entry_is_added_edited_and_removed_and_a_removed_one_is_not_found() {
        let content = FaqContent::new("Как оплатить?", "По счёту.", "Оплата", 1).unwrap();
        let added = FaqEvent::FaqEntryAdded {
            entry_id: Uuid::from_u128(3),
            content: content.clone(),
        };
        TestFramework::<FaqEntry>::with(())
            .given(vec![added.clone()])
            .when_async(FaqCommand::EditFaqEntry {
                content: content.clone(),
            })
            .await
            .then_expect_events(vec![FaqEvent::FaqEntryEdited {
                content: content.clone(),
            }]);
        TestFramework::<FaqEntry>::with(())
            .given(vec![added.clone(), FaqEvent::FaqEntryRemoved])
            .when_async(FaqCommand::RemoveFaqEntry)
            .await
            .then_expect_error(ContentError::NotFound);
        TestFramework::<FaqEntry>::with(())
            .given(vec![added])
            .when_async(FaqCommand::AddFaqEntry {
                entry_id: Uuid::from_u128(3),
                content,
            })
            .await
            .then_expect_error(ContentError::AlreadyExists);
    }

    #[tokio::test]
    async fn terms_versions_are_numbered_from_one_and_blank_terms_are_refused() {
        TestFramework::<TermsOfUse>::with(())
            .given(vec![TermsEvent::TermsPublished {
                version: 1,
                text: "Первая редакция".into(),
            }])
            .when_async(TermsCommand::PublishTerms {
                text: " Вторая редакция ".into(),
            })
            .await
            .then_expect_events(vec![TermsEvent::TermsPublished {
                version: 2,
                text: "Вторая редакция".into(),
            }]);
        TestFramework::<TermsOfUse>::with(())
            .given_no_previous_events()
            .when_async(TermsCommand::PublishTerms { text: "  ".into() })
            .await
            .then_expect_error(ContentError::Invalid {
                field: "text",
                message: "must not be empty".into(),
            });
    }
}
