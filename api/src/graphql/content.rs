//! News and FAQ over GraphQL: clients read, ADMIN publishes.

use crate::graphql::scalars::Date;
use async_graphql::connection::Connection;
use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::content::{FaqCommand, FaqContent, NewsCommand, NewsContent};
use projections::views::content as views;
use uuid::Uuid;

use super::context::{allow, app};
use super::pagination::{page, page_size, pair_cursor};
use super::payload::{payload, Done};
use crate::auth::policy::Operation;
use crate::error::{content_command_error, ApiError};

/// A news item.
#[derive(Debug, Clone, SimpleObject)]
pub struct News {
    /// Id.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// Text.
    pub text: String,
    /// The date it is shown with.
    pub date: Date,
    /// The companies it is for; empty: every client. Clients see only their own among them.
    pub companies: Vec<Uuid>,
    /// Still published.
    pub published: bool,
    /// When it was published.
    pub published_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl News {
    fn shown_to(v: views::NewsView, own: Option<&[Uuid]>) -> Self {
        let companies = match own {
            Some(own) => v
                .companies
                .into_iter()
                .filter(|c| own.contains(c))
                .collect(),
            None => v.companies,
        };
        Self {
            id: v.news_id,
            title: v.title,
            text: v.text,
            date: v.date.into(),
            companies,
            published: v.published,
            published_at: v.published_at,
            updated_at: v.updated_at,
        }
    }
}

/// An FAQ entry.
#[derive(Debug, Clone, SimpleObject)]
pub struct FaqEntry {
    /// Id.
    pub id: Uuid,
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
    /// The section.
    pub section: String,
    /// Its place in the section.
    pub order: i32,
}

impl From<views::FaqView> for FaqEntry {
    fn from(v: views::FaqView) -> Self {
        Self {
            id: v.entry_id,
            question: v.question,
            answer: v.answer,
            section: v.section,
            order: v.sort_order,
        }
    }
}

/// A news item to publish or the new content of one.
#[derive(Debug, Clone, InputObject)]
pub struct NewsInput {
    /// Title (up to 300 characters).
    pub title: String,
    /// Text (up to 50,000 characters).
    pub text: String,
    /// The date shown.
    pub date: Date,
    /// The companies it is for; empty or absent: every client.
    pub companies: Option<Vec<Uuid>>,
}

impl NewsInput {
    fn content(self) -> Result<NewsContent, ApiError> {
        NewsContent::new(
            &self.title,
            &self.text,
            self.date.0,
            self.companies.unwrap_or_default(),
        )
        .map_err(|e| match crate::error::fields::content(&e) {
            Some(f) => ApiError::validation(format!("input.{f}"), e.to_string()),
            None => ApiError::validation("input", e.to_string()),
        })
    }
}

/// An FAQ entry to add or its new content.
#[derive(Debug, Clone, InputObject)]
pub struct FaqInput {
    /// The question (up to 300 characters).
    pub question: String,
    /// The answer (up to 50,000 characters).
    pub answer: String,
    /// The section (up to 300 characters).
    pub section: String,
    /// Its place in the section, 0–100000 (smaller first).
    pub order: i32,
}

impl FaqInput {
    fn content(self) -> Result<FaqContent, ApiError> {
        FaqContent::new(&self.question, &self.answer, &self.section, self.order).map_err(|e| {
            match crate::error::fields::content(&e) {
                Some(f) => ApiError::validation(format!("input.{f}"), e.to_string()),
                None => ApiError::validation("input", e.to_string()),
            }
        })
    }
}

/// Unknown companies in a news item's addressees: VALIDATION naming `input.companies`.
async fn check_companies(ctx: &Context<'_>, companies: &[Uuid]) -> Result<(), ApiError> {
    if companies.is_empty() {
        return Ok(());
    }
    let known: i64 =
        sqlx::query_scalar("SELECT count(*) FROM companies_view WHERE company_id = ANY($1)")
            .bind(companies)
            .fetch_one(&app(ctx).pool)
            .await?;
    if known != companies.len() as i64 {
        return Err(ApiError::validation(
            "input.companies",
            "there is no such company",
        ));
    }
    Ok(())
}

/// A kind of support channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ChannelKind {
    /// A phone line.
    Phone,
    /// An e-mail address.
    Email,
    /// A Telegram account or bot.
    Telegram,
    /// A web page.
    Web,
}

impl From<ChannelKind> for domain::content::ChannelKind {
    fn from(k: ChannelKind) -> Self {
        match k {
            ChannelKind::Phone => Self::Phone,
            ChannelKind::Email => Self::Email,
            ChannelKind::Telegram => Self::Telegram,
            ChannelKind::Web => Self::Web,
        }
    }
}

impl From<domain::content::ChannelKind> for ChannelKind {
    fn from(k: domain::content::ChannelKind) -> Self {
        use domain::content::ChannelKind as D;
        match k {
            D::Phone => Self::Phone,
            D::Email => Self::Email,
            D::Telegram => Self::Telegram,
            D::Web => Self::Web,
        }
    }
}

/// One of the lessor's offices.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub struct Office {
    /// Its name.
    pub name: String,
    /// City.
    pub city: String,
    /// Address.
    pub address: String,
    /// Phone (E.164).
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Opening hours.
    pub hours: String,
}

/// A support channel.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub struct Channel {
    /// What it is.
    pub kind: ChannelKind,
    /// The number, address or link (a Telegram name as its https://t.me/ link).
    pub value: String,
    /// What it is for.
    pub purpose: String,
    /// When it answers.
    pub hours: Option<String>,
}

/// The lessor's contacts page.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub struct ContactsPage {
    /// Offices, in the order shown.
    pub offices: Vec<Office>,
    /// Support channels, in the order shown.
    pub channels: Vec<Channel>,
    /// When staff published this page.
    pub published_at: chrono::DateTime<chrono::Utc>,
}

/// An office as published.
#[derive(Debug, Clone, InputObject)]
pub struct OfficeInput {
    /// Name.
    pub name: String,
    /// City.
    pub city: String,
    /// Address.
    pub address: String,
    /// A corporate phone line.
    pub phone: Option<String>,
    /// A corporate mailbox.
    pub email: Option<String>,
    /// Opening hours.
    pub hours: String,
}

/// A channel as published.
#[derive(Debug, Clone, InputObject)]
pub struct ChannelInput {
    /// What it is.
    pub kind: ChannelKind,
    /// The number, address, `@name` or link.
    pub value: String,
    /// What it is for.
    pub purpose: String,
    /// When it answers.
    pub hours: Option<String>,
}

/// The whole contacts page.
#[derive(Debug, Clone, InputObject)]
pub struct PublishContactsInput {
    /// Offices.
    #[graphql(default)]
    pub offices: Vec<OfficeInput>,
    /// Channels.
    #[graphql(default)]
    pub channels: Vec<ChannelInput>,
}

payload! {
    /// The contacts page after it was published.
    ContactsPayload {
        /// The page in force.
        contacts: ContactsPage
    }
}

async fn contacts_page(ctx: &Context<'_>) -> Result<Option<ContactsPage>, ApiError> {
    Ok(projections::views::content::load_contacts(&app(ctx).pool)
        .await?
        .map(|(offices, channels, published_at)| ContactsPage {
            offices: offices
                .into_iter()
                .map(|o| Office {
                    name: o.name,
                    city: o.city,
                    address: o.address,
                    phone: o.phone.map(|p| p.as_str().to_owned()),
                    email: o.email.map(|e| e.as_str().to_owned()),
                    hours: o.hours,
                })
                .collect(),
            channels: channels
                .into_iter()
                .map(|c| Channel {
                    kind: c.kind.into(),
                    value: c.value,
                    purpose: c.purpose,
                    hours: c.hours,
                })
                .collect(),
            published_at,
        }))
}

/// Runs a news command as the (already authorized) caller.
async fn on_news(
    ctx: &Context<'_>,
    id: Uuid,
    key: Option<String>,
    command: NewsCommand,
) -> Result<(Uuid, Done), ApiError> {
    let (actor, req) = allow(ctx, Operation::ManageContent)?;
    let key = super::context::idempotency_key(key)?;
    let out = app(ctx)
        .news
        .execute(&id.to_string(), command, &req.meta(actor, key))
        .await
        .map_err(|e| content_command_error(e, "input."))?;
    Ok((out.aggregate_id.parse().unwrap_or(id), Done::from(&out)))
}

/// Runs an FAQ command as the (already authorized) caller.
async fn on_faq(
    ctx: &Context<'_>,
    id: Uuid,
    key: Option<String>,
    command: FaqCommand,
) -> Result<(Uuid, Done), ApiError> {
    let (actor, req) = allow(ctx, Operation::ManageContent)?;
    let key = super::context::idempotency_key(key)?;
    let out = app(ctx)
        .faq
        .execute(&id.to_string(), command, &req.meta(actor, key))
        .await
        .map_err(|e| content_command_error(e, "input."))?;
    Ok((out.aggregate_id.parse().unwrap_or(id), Done::from(&out)))
}

impl FaqEntry {
    fn new(id: Uuid, c: FaqContent) -> Self {
        Self {
            id,
            question: c.question,
            answer: c.answer,
            section: c.section,
            order: c.order,
        }
    }
}

async fn news_by_id(ctx: &Context<'_>, id: Uuid) -> Result<News, ApiError> {
    views::load_news(&app(ctx).pool, id)
        .await?
        .map(|v| News::shown_to(v, None))
        .ok_or_else(|| ApiError::NotFound("news not found".into()))
}

/// News and FAQ queries.
#[derive(Default)]
pub struct ContentQuery;

#[Object]
impl ContentQuery {
    /// The lessor's offices and support channels (`null` until staff publish them).
    async fn contacts(&self, ctx: &Context<'_>) -> Result<Option<ContactsPage>> {
        allow(ctx, Operation::ReadNews)?;
        Ok(contacts_page(ctx).await?)
    }

    /// Published news, newest first: a client sees the news for everyone and for its companies.
    async fn news(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, News>> {
        let (actor, _) = allow(ctx, Operation::ReadNews)?;
        let limit = page_size(first)?;
        let cursor = pair_cursor::<chrono::NaiveDate>(after)?;
        let mine = actor.companies();
        let own = (!actor.is_staff()).then_some(mine.as_slice());
        let rows = views::list_news(&app(ctx).pool, own, cursor, limit + 1)
            .await
            .map_err(ApiError::from)?;
        Ok(page(rows, limit, cursor.is_some(), |v| {
            (format!("{}|{}", v.date, v.news_id), News::shown_to(v, own))
        }))
    }

    /// The FAQ by section and order; with `search`, the entries matching it best first (Russian
    /// full-text: word forms match, "quoted phrases" and -exclusions work).
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn faq(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, FaqEntry, super::pagination::Total>> {
        allow(ctx, Operation::ReadNews)?;
        if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err(ApiError::validation("search", "must be at most 200 characters").into());
        }
        let entries: Vec<FaqEntry> = views::list_faq(&app(ctx).pool, search.as_deref())
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(super::pagination::slice(&entries, first, after)?)
    }
}

/// News and FAQ mutations (ADMIN).
#[derive(Default)]
pub struct ContentMutation;

payload! {
    /// The result of a news mutation.
    NewsPayload {
        /// The news item after the change.
        news: News
    }
}

payload! {
    /// The result of an FAQ mutation.
    FaqEntryPayload {
        /// The entry after the change.
        faq_entry: FaqEntry
    }
}

payload! {
    /// The result of removing something.
    RemovedPayload {
        /// The id of what was removed.
        removed_id: Uuid
    }
}

/// A news item's new content.
#[derive(Debug, Clone, InputObject)]
pub struct EditNewsInput {
    /// The news item.
    pub id: Uuid,
    /// Its new content.
    #[graphql(flatten)]
    pub content: NewsInput,
}

/// A news item to take down.
#[derive(Debug, Clone, InputObject)]
pub struct UnpublishNewsInput {
    /// The news item.
    pub id: Uuid,
}

/// An FAQ entry's new content.
#[derive(Debug, Clone, InputObject)]
pub struct EditFaqEntryInput {
    /// The entry.
    pub id: Uuid,
    /// Its new content.
    #[graphql(flatten)]
    pub content: FaqInput,
}

/// An FAQ entry to remove.
#[derive(Debug, Clone, InputObject)]
pub struct RemoveFaqEntryInput {
    /// The entry.
    pub id: Uuid,
}

#[Object]
impl ContentMutation {
    /// Publishes the whole contacts page (ADMIN): offices (corporate phones and mailboxes, not a person's)
    /// and support channels. The same page again changes nothing.
    async fn publish_contacts(
        &self,
        ctx: &Context<'_>,
        input: PublishContactsInput,
        idempotency_key: Option<String>,
    ) -> Result<ContactsPayload> {
        let (actor, req) = allow(ctx, Operation::ManageContent)?;
        let key = super::context::idempotency_key(idempotency_key)?;
        let command = domain::content::ContactsCommand::PublishContacts {
            offices: input
                .offices
                .into_iter()
                .map(|o| domain::content::OfficeInput {
                    name: o.name,
                    city: o.city,
                    address: o.address,
                    phone: o.phone,
                    email: o.email,
                    hours: o.hours,
                })
                .collect(),
            channels: input
                .channels
                .into_iter()
                .map(|c| (c.kind.into(), c.value, c.purpose, c.hours))
                .collect(),
        };
        let out = app(ctx)
            .contacts
            .execute(domain::content::CONTACTS_ID, command, &req.meta(actor, key))
            .await
            .map_err(|e| content_command_error(e, "input."))?;
        let page = contacts_page(ctx)
            .await?
            .ok_or_else(|| ApiError::NotFound("contacts".into()))?;
        Ok(ContactsPayload::new(page, Done::from(&out)))
    }

    /// Publishes news; its addressees (every client when none are named) are notified.
    async fn publish_news(
        &self,
        ctx: &Context<'_>,
        input: NewsInput,
        idempotency_key: Option<String>,
    ) -> Result<NewsPayload> {
        allow(ctx, Operation::ManageContent)?;
        let content = input.content()?;
        check_companies(ctx, &content.companies).await?;
        let id = Uuid::now_v7();
        let command = NewsCommand::PublishNews {
            news_id: id,
            content,
        };
        let (id, done) = on_news(ctx, id, idempotency_key, command).await?;
        Ok(NewsPayload::new(news_by_id(ctx, id).await?, done))
    }

    /// Changes a published news item (its notifications follow).
    async fn edit_news(
        &self,
        ctx: &Context<'_>,
        input: EditNewsInput,
        idempotency_key: Option<String>,
    ) -> Result<NewsPayload> {
        allow(ctx, Operation::ManageContent)?;
        let content = input.content.content()?;
        check_companies(ctx, &content.companies).await?;
        let command = NewsCommand::EditNews { content };
        let (id, done) = on_news(ctx, input.id, idempotency_key, command).await?;
        Ok(NewsPayload::new(news_by_id(ctx, id).await?, done))
    }

    /// Takes a news item down; its notifications go with it.
    async fn unpublish_news(
        &self,
        ctx: &Context<'_>,
        input: UnpublishNewsInput,
        idempotency_key: Option<String>,
    ) -> Result<NewsPayload> {
        let command = NewsCommand::UnpublishNews;
        let (id, done) = on_news(ctx, input.id, idempotency_key, command).await?;
        Ok(NewsPayload::new(news_by_id(ctx, id).await?, done))
    }

    /// Adds an FAQ entry.
    async fn add_faq_entry(
        &self,
        ctx: &Context<'_>,
        input: FaqInput,
        idempotency_key: Option<String>,
    ) -> Result<FaqEntryPayload> {
        allow(ctx, Operation::ManageContent)?;
        let content = input.content()?;
        let id = Uuid::now_v7();
        let command = FaqCommand::AddFaqEntry {
            entry_id: id,
            content: content.clone(),
        };
        let (id, done) = on_faq(ctx, id, idempotency_key, command).await?;
        Ok(FaqEntryPayload::new(FaqEntry::new(id, content), done))
    }

    /// Changes an FAQ entry.
    async fn edit_faq_entry(
        &self,
        ctx: &Context<'_>,
        input: EditFaqEntryInput,
        idempotency_key: Option<String>,
    ) -> Result<FaqEntryPayload> {
        allow(ctx, Operation::ManageContent)?;
        let content = input.content.content()?;
        let command = FaqCommand::EditFaqEntry {
            content: content.clone(),
        };
        let (id, done) = on_faq(ctx, input.id, idempotency_key, command).await?;
        Ok(FaqEntryPayload::new(FaqEntry::new(id, content), done))
    }

    /// Removes an FAQ entry.
    async fn remove_faq_entry(
        &self,
        ctx: &Context<'_>,
        input: RemoveFaqEntryInput,
        idempotency_key: Option<String>,
    ) -> Result<RemovedPayload> {
        let command = FaqCommand::RemoveFaqEntry;
        let (id, done) = on_faq(ctx, input.id, idempotency_key, command).await?;
        Ok(RemovedPayload::new(id, done))
    }
}
