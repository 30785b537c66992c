//! Reading a company's conversation with the lessor: its threads (the company's own and one per request
//! that has messages) with the reader's unread counts, their messages, and read marks. Messages are written
//! by commands (Conversation, ClientRequest); this reads the `conversations` read model.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::ApiError;

/// Most messages one page gives.
pub const MAX_PAGE: i64 = 200;

/// Whose threads a reader sees.
#[derive(Debug, Clone)]
pub enum Threads {
    /// One company's.
    Of(Uuid),
    /// These companies' (a client's).
    Companies(Vec<Uuid>),
    /// The companies whose manager is this staff account.
    ManagedBy(Uuid),
}

/// A thread as a reader sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ThreadRow {
    /// The thread (the company's id for its own thread, the request's for a request's).
    pub thread_id: Uuid,
    /// The company.
    pub company_id: Uuid,
    /// The request, for a request's thread.
    pub request_id: Option<Uuid>,
    /// The request's kind (stored name).
    pub request_kind: Option<String>,
    /// How many messages.
    pub messages: i32,
    /// When the last was posted.
    pub last_message_at: Option<DateTime<Utc>>,
    /// The last message's position.
    pub last_position: i64,
    /// Messages of the other side the reader has not read.
    pub unread: i64,
}

/// A message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    /// Id.
    pub message_id: Uuid,
    /// Its thread.
    pub thread_id: Uuid,
    /// The company.
    pub company_id: Uuid,
    /// `client` or `staff`.
    pub party: String,
    /// The writing account.
    pub author: Option<Uuid>,
    /// The text (empty: files only).
    pub text: String,
    /// The files: [{sha256, name, contentType, size}].
    pub attachments: Value,
    /// When it was posted.
    pub posted_at: DateTime<Utc>,
    /// Its event's position.
    pub position: i64,
}

/// A message's columns, as [`MessageRow`] reads them.
const MESSAGE_COLUMNS: &str =
    "message_id, thread_id, company_id, party, author, text, attachments, posted_at, position";

/// The reader's side, as stored in `party`.
fn side(staff: bool) -> &'static str {
    if staff {
        "staff"
    } else {
        "client"
    }
}

/// Messages of the other side after the reader's mark, over `t` (binds: $1 account, $2 side).
const UNREAD: &str =
    "(SELECT count(*) FROM conversation_messages m WHERE m.thread_id = t.thread_id \
    AND m.party <> $2 AND m.position > coalesce((SELECT r.read_through FROM conversation_reads r \
    WHERE r.account_id = $1 AND r.thread_id = t.thread_id), 0))";

/// The threads a reader sees, the latest first: each company's own thread (even before its first message)
/// and the threads of requests with messages.
///
/// # Errors
/// A database error.
pub async fn threads(
    pool: &PgPool,
    which: &Threads,
    account: Uuid,
    staff: bool,
) -> Result<Vec<ThreadRow>, sqlx::Error> {
    let (companies, manager): (Option<Vec<Uuid>>, Option<Uuid>) = match which {
        Threads::Of(c) => (Some(vec![*c]), None),
        Threads::Companies(cs) => (Some(cs.clone()), None),
        Threads::ManagedBy(a) => (None, Some(*a)),
    };
    sqlx::query_as(&format!(
        "WITH companies AS ( \
           SELECT company_id FROM companies_view \
           WHERE ($3::uuid[] IS NOT NULL AND company_id = ANY($3)) OR manager_account_id = $4) \
         SELECT t.thread_id, t.company_id, t.request_id, t.request_kind, t.messages, t.last_message_at, \
                t.last_position, {UNREAD} AS unread \
         FROM ( \
           SELECT thread_id, company_id, request_id, request_kind, messages, last_message_at, last_position \
           FROM conversation_threads WHERE company_id IN (SELECT company_id FROM companies) \
             AND (messages > 0 OR request_id IS NULL) \
           UNION ALL \
           SELECT c.company_id, c.company_id, NULL, NULL, 0, NULL, 0 FROM companies c \
           WHERE NOT EXISTS (SELECT 1 FROM conversation_threads x WHERE x.thread_id = c.company_id) \
         ) t \
         ORDER BY t.last_position DESC, t.thread_id"
    ))
    .bind(account)
    .bind(side(staff))
    .bind(companies)
    .bind(manager)
    .fetch_all(pool)
    .await
}

/// The company a thread belongs to, if the thread exists (a company's own thread exists from the start).
///
/// # Errors
/// A database error.
pub async fn company_of(pool: &PgPool, thread: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT company_id FROM conversation_threads WHERE thread_id = $1 \
         UNION SELECT company_id FROM companies_view WHERE company_id = $1",
    )
    .bind(thread)
    .fetch_optional(pool)
    .await
}

/// A thread's last `limit` messages before the position `before` (all when absent), oldest first.
///
/// # Errors
/// VALIDATION on `last` out of range; a database error.
pub async fn messages(
    pool: &PgPool,
    thread: Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<MessageRow>, ApiError> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::validation(
            "last",
            format!("give 1 to {MAX_PAGE} messages"),
        ));
    }
    let mut rows: Vec<MessageRow> = sqlx::query_as(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM conversation_messages \
         WHERE thread_id = $1 AND ($2::bigint IS NULL OR position < $2) ORDER BY position DESC LIMIT $3"
    ))
    .bind(thread)
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.reverse();
    Ok(rows)
}

/// The message recorded by the event at `position`, if that event posted one.
///
/// # Errors
/// A database error.
pub async fn message_at(pool: &PgPool, position: i64) -> Result<Option<MessageRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM conversation_messages WHERE position = $1"
    ))
    .bind(position)
    .fetch_optional(pool)
    .await
}

/// Marks the thread read by `account` up to its last message; returns how many of the other side's
/// messages were unread before.
///
/// # Errors
/// A database error.
pub async fn mark_read(
    pool: &PgPool,
    thread: Uuid,
    account: Uuid,
    staff: bool,
) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let unread: i64 = sqlx::query_scalar(&format!(
        "SELECT {UNREAD} FROM (SELECT $3::uuid AS thread_id) t"
    ))
    .bind(account)
    .bind(side(staff))
    .bind(thread)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO conversation_reads (account_id, thread_id, read_through) \
         SELECT $1, $2, coalesce(max(position), 0) FROM conversation_messages WHERE thread_id = $2 \
         ON CONFLICT (account_id, thread_id) DO UPDATE \
           SET read_through = greatest(conversation_reads.read_through, EXCLUDED.read_through)",
    )
    .bind(account)
    .bind(thread)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(unread)
}

/// The companies `which` names now (a client unlinked meanwhile, or a manager replaced, drops out).
///
/// # Errors
/// A database error.
pub async fn companies(pool: &PgPool, which: &Threads) -> Result<Vec<Uuid>, sqlx::Error> {
    match which {
        Threads::Of(c) => Ok(vec![*c]),
        Threads::Companies(cs) => Ok(cs.clone()),
        Threads::ManagedBy(a) => {
            sqlx::query_scalar(
                "SELECT company_id FROM companies_view WHERE manager_account_id = $1",
            )
            .bind(a)
            .fetch_all(pool)
            .await
        }
    }
}

/// Messages of `companies` after `after` (a transaction and position) in the global order, from finished
/// transactions only (below the commit horizon, and at least `floor`), at most `limit`, oldest first.
///
/// # Errors
/// A database error.
pub async fn since(
    pool: &PgPool,
    companies: &[Uuid],
    after: (i64, i64),
    limit: i64,
    floor: i64,
) -> Result<Vec<(i64, MessageRow)>, sqlx::Error> {
    let bound = projections::engine::horizon::read_at_least(pool, floor).await?;
    let rows: Vec<Placed> = sqlx::query_as(&format!(
        "SELECT transaction_id::text::bigint AS transaction, {MESSAGE_COLUMNS} \
         FROM conversation_messages WHERE company_id = ANY($1) \
           AND (transaction_id, position) > ($2::bigint::text::xid8, $3) AND {} \
         ORDER BY transaction_id, position LIMIT $4",
        projections::engine::horizon::below("transaction_id", 5)
    ))
    .bind(companies)
    .bind(after.0)
    .bind(after.1)
    .bind(limit)
    .bind(bound)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.transaction, r.message))
        .collect())
}

/// A message with its event's transaction.
#[derive(sqlx::FromRow)]
struct Placed {
    transaction: i64,
    #[sqlx(flatten)]
    message: MessageRow,
}
