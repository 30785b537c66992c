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

// ---------------------------------------------------------------------------------------------------------
// Contacts

/// The one contacts stream's aggregate id.
pub const CONTACTS_ID: &str = "contacts";
/// Most offices or channels in the contacts.
pub const MAX_CONTACT_ITEMS: usize = 100;

/// One of the lessor's offices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Office {
    /// Its name («Головной офис», «Филиал в Казани»).
    pub name: String,
    /// City.
    pub city: String,
    /// Address.
    pub address: String,
    /// The office's phone (a corporate line, not a person's).
    pub phone: Option<crate::values::Phone>,
    /// The office's e-mail (a corporate mailbox, not a person's).
    pub email: Option<crate::values::Email>,
    /// Opening hours, as shown («пн–пт 9:00–18:00 МСК»).
    pub hours: String,
}

/// A kind of support channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A phone line.
    Phone,
    /// An e-mail address.
    Email,
    /// A Telegram account or bot (`@name` or `https://t.me/…`).
    Telegram,
    /// A web page (https).
    Web,
}

/// A support channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// What it is.
    pub kind: ChannelKind,
    /// The number, address or link, normalised by kind.
    pub value: String,
    /// What it is for («Поддержка кабинета», «Страховые случаи 24/7»).
    pub purpose: String,
    /// When it answers.
    pub hours: Option<String>,
}

/// The contacts as staff maintain them (one stream, id [`CONTACTS_ID`]); `Default` is none published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contacts {
    offices: Vec<Office>,
    channels: Vec<Channel>,
}

/// A command to the contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactsCommand {
    /// Publish the whole contacts page: offices and channels as typed (checked here).
    PublishContacts {
        /// Offices: name, city, address, phone, e-mail, hours.
        offices: Vec<OfficeInput>,
        /// Channels: kind, value, purpose, hours.
        channels: Vec<(ChannelKind, String, String, Option<String>)>,
    },
}

/// An office as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeInput {
    /// Name.
    pub name: String,
    /// City.
    pub city: String,
    /// Address.
    pub address: String,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Hours.
    pub hours: String,
}

/// What happened to the contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContactsEvent {
    /// The contacts in force from now on (they replace the previous ones).
    ContactsPublished {
        /// Offices, in the order shown.
        offices: Vec<Office>,
        /// Channels, in the order shown.
        channels: Vec<Channel>,
    },
}

impl DomainEvent for ContactsEvent {
    fn event_type(&self) -> String {
        "ContactsPublished".to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

fn invalid(field: &'static str, message: String) -> ContentError {
    ContentError::Invalid { field, message }
}

/// Checks and normalises the contacts as typed.
///
/// # Errors
/// [`ContentError::Invalid`] naming `offices[i].field` or `channels[i].value` and the reason.
pub fn contacts(
    offices: Vec<OfficeInput>,
    channels: Vec<(ChannelKind, String, String, Option<String>)>,
) -> Result<(Vec<Office>, Vec<Channel>), ContentError> {
    if offices.is_empty() && channels.is_empty() {
        return Err(invalid(
            "offices",
            "the contacts need at least one office or channel".into(),
        ));
    }
    if offices.len() > MAX_CONTACT_ITEMS || channels.len() > MAX_CONTACT_ITEMS {
        return Err(invalid(
            "offices",
            format!("at most {MAX_CONTACT_ITEMS} offices and {MAX_CONTACT_ITEMS} channels"),
        ));
    }
    let mut out_offices = Vec::with_capacity(offices.len());
    for (i, o) in offices.into_iter().enumerate() {
        let at = |what: &str, e: ContentError| match e {
            ContentError::Invalid { message, .. } => {
                invalid("offices", format!("offices[{i}].{what}: {message}"))
            }
            other => other,
        };
        let phone = match o.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => Some(
                crate::values::Phone::parse(p)
                    .map_err(|e| invalid("offices", format!("offices[{i}].phone: {e}")))?,
            ),
            None => None,
        };
        let email = match o.email.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => Some(
                crate::values::Email::parse(p)
                    .map_err(|e| invalid("offices", format!("offices[{i}].email: {e}")))?,
            ),
            None => None,
        };
        out_offices.push(Office {
            name: text("name", &o.name, MAX_TITLE).map_err(|e| at("name", e))?,
            city: text("city", &o.city, MAX_TITLE).map_err(|e| at("city", e))?,
            address: text("address", &o.address, MAX_TITLE).map_err(|e| at("address", e))?,
            phone,
            email,
            hours: text("hours", &o.hours, MAX_TITLE).map_err(|e| at("hours", e))?,
        });
    }
    let mut out_channels = Vec::with_capacity(channels.len());
    for (i, (kind, value, purpose, hours)) in channels.into_iter().enumerate() {
        let bad = |m: String| invalid("channels", format!("channels[{i}].value: {m}"));
        let value = value.trim();
        let value = match kind {
            ChannelKind::Phone => crate::values::Phone::parse(value)
                .map_err(|e| bad(e.to_string()))?
                .as_str()
                .to_owned(),
            ChannelKind::Email => crate::values::Email::parse(value)
                .map_err(|e| bad(e.to_string()))?
                .as_str()
                .to_owned(),
            ChannelKind::Telegram => {
                let name = value
                    .strip_prefix("https://t.me/")
                    .or_else(|| value.strip_prefix('@'))
                    .unwrap_or_default();
                if name.len() < 5
                    || name.len() > 32
                    || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(bad(
                        "must be @name or https://t.me/name (5 to 32 letters, digits, _)".into(),
                    ));
                }
                format!("https://t.me/{name}")
            }
            ChannelKind::Web => {
                if !value.starts_with("https://")
                    || value.len() > 500
                    || value.contains(char::is_whitespace)
                {
                    return Err(bad(
                        "must be an https:// address of at most 500 characters".into()
                    ));
                }
                value.to_owned()
            }
        };
        let purpose = text("purpose", &purpose, MAX_TITLE).map_err(|e| match e {
            ContentError::Invalid { message, .. } => {
                invalid("channels", format!("channels[{i}].purpose: {message}"))
            }
            other => other,
        })?;
        let hours = match hours.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
            Some(h) => Some(text("hours", h, MAX_TITLE)?),
            None => None,
        };
        out_channels.push(Channel {
            kind,
            value,
            purpose,
            hours,
        });
    }
    Ok((out_offices, out_channels))
}

impl Aggregate for Contacts {
    const TYPE: &'static str = "Contacts";
    type Command = ContactsCommand;
    type Event = ContactsEvent;
    type Error = ContentError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let ContactsCommand::PublishContacts { offices, channels } = command;
        let (offices, channels) = contacts(offices, channels)?;
        // The same page again changes nothing.
        if offices == self.offices && channels == self.channels {
            return Ok(());
        }
        sink.write(ContactsEvent::ContactsPublished { offices, channels }, self)
            .await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let ContactsEvent::ContactsPublished { offices, channels } = event;
        self.offices = offices;
        self.channels = channels;
    }
}

#[cfg(test)]
mod contacts_tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    fn office() -> OfficeInput {
        OfficeInput {
            name: " Головной офис ".into(),
            city: "Москва".into(),
            address: "ул. Тверская, 1".into(),
            phone: Some("8 (495) 111-22-33".into()),
            email: Some("Info@Lessor.ru".into()),
            hours: "пн–пт 9:00–18:00".into(),
        }
    }

    #[tokio::test]
    async fn contacts_are_published_normalised_and_the_same_page_again_records_nothing() {
        let channels = vec![
            (
                ChannelKind::Telegram,
                "@lessor_help".to_owned(),
                "Поддержка".to_owned(),
                None,
            ),
            (
                ChannelKind::Phone,
                "+7 800 555-35-35".to_owned(),
                "Страховые случаи".to_owned(),
                Some("24/7".to_owned()),
            ),
        ];
        let events = TestFramework::<Contacts>::with(())
            .given_no_previous_events()
            .when_async(ContactsCommand::PublishContacts {
                offices: vec![office()],
                channels: channels.clone(),
            })
            .await
            .inspect_result()
            .unwrap();
        let ContactsEvent::ContactsPublished {
            offices,
            channels: c,
        } = &events[0];
        assert_eq!(offices[0].name, "Головной офис");
        assert_eq!(offices[0].phone.as_ref().unwrap().as_str(), "+74951112233");
        assert_eq!(
            offices[0].email.as_ref().unwrap().as_str(),
            "info@lessor.ru"
        );
        assert_eq!(c[0].value, "https://t.me/lessor_help");
        assert_eq!(c[1].value, "+78005553535");
        TestFramework::<Contacts>::with(())
            .given(events.clone())
            .when_async(ContactsCommand::PublishContacts {
                offices: vec![office()],
                channels,
            })
            .await
            .then_expect_events(vec![]);
    }

    #[test]
    fn a_bad_channel_or_office_is_refused_by_its_place() {
        let err = |offices, channels| match contacts(offices, channels) {
            Err(ContentError::Invalid { message, .. }) => message,
            other => panic!("{other:?}"),
        };
        assert!(err(vec![], vec![]).contains("at least one"));
        let mut o = office();
        o.phone = Some("12".into());
        assert!(err(vec![o], vec![]).starts_with("offices[0].phone"));
        assert!(err(
            vec![],
            vec![(
                ChannelKind::Web,
                "http://lessor.ru".into(),
                "Сайт".into(),
                None
            )]
        )
        .starts_with("channels[0].value"));
        assert!(err(
            vec![],
            vec![(ChannelKind::Telegram, "lessor".into(), "Бот".into(), None)]
        )
        .starts_with("channels[0].value"));
    }
}
