//! News and FAQ read models, one inline projection (`content`): `news_view` and `faq_view` (with a Russian
//! full-text search vector); and the `terms` inline projection, which records each published version of the
//! terms of use in `terms_versions` in the same transaction as its event.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::content::{FaqEvent, NewsEvent, TermsEvent};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::engine::error::ProjectionError;
use crate::engine::read_model::ReadModel;
use crate::store::event::StoredEvent;

/// The news and FAQ projection.
pub struct ContentProjection;

#[async_trait]
impl ReadModel for ContentProjection {
    fn name(&self) -> &'static str {
        "content"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["news_view", "faq_view"]
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["News", "FaqEntry"])
    }

    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        let id = e.aggregate_uuid();
        match e.aggregate_type.as_str() {
            "News" => {
                let id = id?;
                match e.decode_event::<NewsEvent>()? {
                    NewsEvent::NewsPublished { content, .. } => {
                        sqlx::query(
                            "INSERT INTO news_view (news_id, title, text, date, companies, published, \
                               published_at, updated_at, position) VALUES ($1, $2, $3, $4, $5, true, $6, $6, $7)",
                        )
                        .bind(id)
                        .bind(&content.title)
                        .bind(&content.text)
                        .bind(content.date)
                        .bind(&content.companies)
                        .bind(e.recorded_at)
                        .bind(e.position)
                        .execute(&mut *conn)
                        .await?;
                    }
                    NewsEvent::NewsEdited { content } => {
                        sqlx::query(
                            "UPDATE news_view SET title = $2, text = $3, date = $4, companies = $5, \
                               updated_at = $6 WHERE news_id = $1",
                        )
                        .bind(id)
                        .bind(&content.title)
                        .bind(&content.text)
                        .bind(content.date)
                        .bind(&content.companies)
                        .bind(e.recorded_at)
                        .execute(&mut *conn)
                        .await?;
                    }
                    NewsEvent::NewsUnpublished => {
                        sqlx::query(
                            "UPDATE news_view SET published = false, updated_at = $2 WHERE news_id = $1",
                        )
                        .bind(id)
                        .bind(e.recorded_at)
                        .execute(&mut *conn)
                        .await?;
                    }
                }
            }
            "FaqEntry" => {
                let id = id?;
                match e.decode_event::<FaqEvent>()? {
                    FaqEvent::FaqEntryAdded { content, .. }
                    | FaqEvent::FaqEntryEdited { content } => {
                        sqlx::query(
                            "INSERT INTO faq_view (entry_id, question, answer, section, sort_order, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (entry_id) DO UPDATE SET \
                               question = EXCLUDED.question, answer = EXCLUDED.answer, section = EXCLUDED.section, \
                               sort_order = EXCLUDED.sort_order, updated_at = EXCLUDED.updated_at",
                        )
                        .bind(id)
                        .bind(&content.question)
                        .bind(&content.answer)
                        .bind(&content.section)
                        .bind(content.order)
                        .bind(e.recorded_at)
                        .execute(&mut *conn)
                        .await?;
                    }
                    FaqEvent::FaqEntryRemoved => {
                        sqlx::query("DELETE FROM faq_view WHERE entry_id = $1")
                            .bind(id)
                            .execute(&mut *conn)
                            .await?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Writes `terms_versions` rows for TermsPublished events, inside the append transaction. Acceptances
/// reference the versions by foreign key, so a rebuild never swaps the table (a version, once published,
/// never changes); verify replays it like any other.
pub struct TermsProjection;

#[async_trait]
impl ReadModel for TermsProjection {
    fn name(&self) -> &'static str {
        "terms"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["terms_versions"]
    }

    fn replaceable(&self) -> bool {
        false
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["TermsOfUse"])
    }

    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        if e.aggregate_type != "TermsOfUse" {
            return Ok(());
        }
        let TermsEvent::TermsPublished { version, text } = e.decode_event()?;
        let by: Uuid = e
            .meta("actor")
            .and_then(|a| a.rsplit(':').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_default();
        sqlx::query(
            "INSERT INTO terms_versions (version, text, published_at, published_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(version as i32)
        .bind(&text)
        .bind(e.recorded_at)
        .bind(by)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// A news item as the cabinet shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NewsView {
    /// Id.
    pub news_id: Uuid,
    /// Title.
    pub title: String,
    /// Text.
    pub text: String,
    /// The date shown.
    pub date: NaiveDate,
    /// Addressed companies; empty: everyone.
    pub companies: Vec<Uuid>,
    /// Still published.
    pub published: bool,
    /// When it was published.
    pub published_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Published news visible to `companies` (None: staff, all of it), newest first, after the keyset
/// `(date, id)`, at most `limit`.
///
/// # Errors
/// A database error.
pub async fn list_news(
    pool: &PgPool,
    companies: Option<&[Uuid]>,
    after: Option<(NaiveDate, Uuid)>,
    limit: i64,
) -> Result<Vec<NewsView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT news_id, title, text, date, companies, published, published_at, updated_at FROM news_view \
         WHERE published AND ($1::uuid[] IS NULL OR companies = '{}' OR companies && $1) \
           AND ($2::date IS NULL OR (date, news_id) < ($2, $3)) \
         ORDER BY date DESC, news_id DESC LIMIT $4",
    )
    .bind(companies)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// One news item (published or not).
///
/// # Errors
/// A database error.
pub async fn load_news(pool: &PgPool, id: Uuid) -> Result<Option<NewsView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT news_id, title, text, date, companies, published, published_at, updated_at FROM news_view \
         WHERE news_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// An FAQ entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FaqView {
    /// Id.
    pub entry_id: Uuid,
    /// Question.
    pub question: String,
    /// Answer.
    pub answer: String,
    /// Section.
    pub section: String,
    /// Order within the section.
    pub sort_order: i32,
}

/// The FAQ: every entry by section and order, or, with `search`, the entries matching it (Russian
/// full-text, web-search syntax: words, "phrases", -exclusions), best first.
///
/// # Errors
/// A database error.
pub async fn list_faq(pool: &PgPool, search: Option<&str>) -> Result<Vec<FaqView>, sqlx::Error> {
    match search.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            sqlx::query_as(
                "SELECT entry_id, question, answer, section, sort_order FROM faq_view \
                 ORDER BY section, sort_order, entry_id",
            )
            .fetch_all(pool)
            .await
        }
        Some(q) => {
            sqlx::query_as(
                "SELECT entry_id, question, answer, section, sort_order FROM faq_view, \
                   websearch_to_tsquery('russian', $1) q \
                 WHERE search @@ q ORDER BY ts_rank(search, q) DESC, section, sort_order, entry_id LIMIT 100",
            )
            .bind(q)
            .fetch_all(pool)
            .await
        }
    }
}

/// The contacts page (`contacts_view`): the one published last. Inline.
pub struct ContactsProjection;

#[async_trait]
impl ReadModel for ContactsProjection {
    fn name(&self) -> &'static str {
        "contacts"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["contacts_view"]
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["Contacts"])
    }

    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        let domain::content::ContactsEvent::ContactsPublished { offices, channels } =
            e.decode_event()?;
        sqlx::query(
            "INSERT INTO contacts_view (id, offices, channels, published_at, position) VALUES (1, $1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET offices = EXCLUDED.offices, channels = EXCLUDED.channels, \
               published_at = EXCLUDED.published_at, position = EXCLUDED.position",
        )
        .bind(serde_json::to_value(&offices).map_err(ProjectionError::Encode)?)
        .bind(serde_json::to_value(&channels).map_err(ProjectionError::Encode)?)
        .bind(e.recorded_at)
        .bind(e.position)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// The contacts in force, and when they were published; `None` before the first publication.
///
/// # Errors
/// A database error, or a row that does not decode.
pub async fn load_contacts(
    pool: impl sqlx::PgExecutor<'_>,
) -> Result<
    Option<(
        Vec<domain::content::Office>,
        Vec<domain::content::Channel>,
        chrono::DateTime<chrono::Utc>,
    )>,
    sqlx::Error,
> {
    let row: Option<(
        serde_json::Value,
        serde_json::Value,
        chrono::DateTime<chrono::Utc>,
    )> = sqlx::query_as("SELECT offices, channels, published_at FROM contacts_view WHERE id = 1")
        .fetch_optional(pool)
        .await?;
    let Some((offices, channels, at)) = row else {
        return Ok(None);
    };
    let decode = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
    Ok(Some((
        serde_json::from_value(offices).map_err(decode)?,
        serde_json::from_value(channels).map_err(decode)?,
        at,
    )))
}
