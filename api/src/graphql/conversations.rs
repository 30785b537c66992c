//! The conversation between a company and the lessor over GraphQL: threads with unread counts, messages,
//! read marks, posting in the company's thread, and staff profiles (what a client sees of its manager).
//! A request's thread is written with `commentRequest` and `attachToRequest`.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use domain::conversation::ConversationCommand;
use domain::values::Phone;
use uuid::Uuid;

use super::context::{allow, allow_seen, app, idempotency_key};
use super::enums::Party;
use super::payload::{payload, Done};
use crate::app::conversations::{self as service, MessageRow, ThreadRow, Threads};
use crate::auth::policy::{authorize, Operation};
use crate::auth::Actor;
use crate::error::{content_command_error, ApiError};

/// A file sent in a conversation (download it with `GET /documents/{sha256}`).
#[derive(Debug, Clone, SimpleObject)]
pub struct MessageFile {
    /// SHA-256 of the content.
    pub sha256: String,
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
}

/// A message in a thread.
#[derive(Debug, Clone, SimpleObject)]
pub struct ConversationMessage {
    /// Id.
    pub id: Uuid,
    /// Its thread.
    pub thread_id: Uuid,
    /// The company.
    pub company_id: Uuid,
    /// Which side wrote it.
    pub side: Party,
    /// The writing account (none: the lessor's systems).
    pub author_id: Option<Uuid>,
    /// The text (empty when only files were sent).
    pub text: String,
    /// Files.
    pub files: Vec<MessageFile>,
    /// When it was posted.
    pub posted_at: DateTime<Utc>,
    /// Its place in the log: `before` for the page before it.
    pub position: i64,
}

impl TryFrom<MessageRow> for ConversationMessage {
    type Error = ApiError;

    fn try_from(m: MessageRow) -> Result<Self, ApiError> {
        let files = m
            .attachments
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| MessageFile {
                        sha256: f["sha256"].as_str().unwrap_or_default().to_owned(),
                        name: f["name"].as_str().unwrap_or_default().to_owned(),
                        content_type: f["contentType"].as_str().unwrap_or_default().to_owned(),
                        size: f["size"].as_i64().unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            id: m.message_id,
            thread_id: m.thread_id,
            company_id: m.company_id,
            side: Party::from_view(&m.party)?,
            author_id: m.author,
            text: m.text,
            files,
            posted_at: m.posted_at,
            position: m.position,
        })
    }
}

/// A thread: the company's own (`requestId` null; its id is the company's) or a request's.
#[derive(Debug, Clone, SimpleObject)]
pub struct ConversationThread {
    /// The thread's id.
    pub id: Uuid,
    /// The company.
    pub company_id: Uuid,
    /// The request, for a request's thread.
    pub request_id: Option<Uuid>,
    /// The request's kind, for a request's thread.
    pub request_kind: Option<super::requests::RequestKind>,
    /// How many messages.
    pub messages: i32,
    /// When the last one was posted.
    pub last_message_at: Option<DateTime<Utc>>,
    /// Messages of the other side the caller has not read.
    pub unread: i64,
}

impl TryFrom<ThreadRow> for ConversationThread {
    type Error = ApiError;

    fn try_from(t: ThreadRow) -> Result<Self, ApiError> {
        let request_kind = match t.request_kind.as_deref() {
            None => None,
            Some(k) => Some(
                domain::request::RequestKind::parse(k)
                    .map(Into::into)
                    .ok_or_else(|| {
                        super::enums::unknown_stored("conversation_threads.request_kind", k)
                    })?,
            ),
        };
        Ok(Self {
            id: t.thread_id,
            company_id: t.company_id,
            request_id: t.request_id,
            request_kind,
            messages: t.messages,
            last_message_at: t.last_message_at,
            unread: t.unread,
        })
    }
}

/// The company's thread (or a request's) and who asks: NOT_FOUND for a thread the caller cannot see.
async fn thread_reader<'a>(ctx: &Context<'a>, thread: Uuid) -> Result<&'a Actor, ApiError> {
    let not_found = || ApiError::NotFound("no such thread".into());
    let company = service::company_of(&app(ctx).pool, thread)
        .await?
        .ok_or_else(not_found)?;
    Ok(allow_seen(ctx, Operation::ReadConversation(company), not_found)?.0)
}

/// The threads `actor` follows: `company`'s, or without one a client's companies or the companies a staff
/// member manages; each company authorized (the list query and the subscription alike).
pub(crate) fn followed(actor: &Actor, company: Option<Uuid>) -> Result<Threads, ApiError> {
    Ok(match company {
        Some(c) => {
            authorize(Some(actor), Operation::ReadConversation(c))?;
            Threads::Of(c)
        }
        None if actor.is_staff() => Threads::ManagedBy(actor.account_id),
        None => {
            for c in actor.companies() {
                authorize(Some(actor), Operation::ReadConversation(c))?;
            }
            Threads::Companies(actor.companies())
        }
    })
}

/// Conversation queries.
#[derive(Default)]
pub struct ConversationQuery;

#[Object]
impl ConversationQuery {
    /// The threads of `companyId` (its own thread, even before the first message, and those of its
    /// requests with messages), the latest first, with the caller's unread counts. Without `companyId`: a
    /// client's companies; a staff member's, the companies they are the manager of.
    async fn conversations(
        &self,
        ctx: &Context<'_>,
        company_id: Option<Uuid>,
    ) -> Result<Vec<ConversationThread>> {
        let (actor, _) = allow(ctx, Operation::Me)?;
        let which = followed(actor, company_id)?;
        let rows = service::threads(&app(ctx).pool, &which, actor.account_id, actor.is_staff())
            .await
            .map_err(ApiError::from)?;
        Ok(rows
            .into_iter()
            .map(ConversationThread::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// A thread's last `last` messages (at most 200) before `before` (a message's `position`), oldest
    /// first.
    async fn conversation_messages(
        &self,
        ctx: &Context<'_>,
        thread_id: Uuid,
        #[graphql(default = 50)] last: i64,
        before: Option<i64>,
    ) -> Result<Vec<ConversationMessage>> {
        thread_reader(ctx, thread_id).await?;
        let rows = service::messages(&app(ctx).pool, thread_id, before, last).await?;
        Ok(rows
            .into_iter()
            .map(ConversationMessage::try_from)
            .collect::<Result<_, _>>()?)
    }
}

/// A message for the company's thread.
#[derive(Debug, InputObject)]
pub struct PostMessageInput {
    /// The company.
    pub company_id: Uuid,
    /// The text (up to 10,000 characters; may be empty when files are attached).
    #[graphql(default)]
    pub text: String,
    /// Files (multipart upload, at most 10).
    #[graphql(default)]
    pub files: Vec<Upload>,
}

/// A staff member's profile as clients see their manager.
#[derive(Debug, InputObject)]
pub struct StaffProfileInput {
    /// Full name.
    pub name: String,
    /// Work phone.
    pub phone: String,
}

/// A staff member as clients see their manager.
#[derive(Debug, Clone, SimpleObject)]
pub struct StaffProfile {
    /// The account.
    pub account_id: Uuid,
    /// Full name.
    pub name: String,
    /// Work phone (E.164).
    pub phone: String,
    /// E-mail (the login).
    pub email: String,
}

payload!(
    /// The caller's staff profile after the change.
    StaffProfilePayload {
        /// The profile.
        profile: StaffProfile
    }
);

payload!(
    /// A thread marked read.
    MarkConversationReadPayload {
        /// How many of the other side's messages were unread before.
        marked: i64
    }
);

/// A thread to mark read.
#[derive(Debug, InputObject)]
pub struct MarkConversationReadInput {
    /// The thread (the company's id for its own thread, a request's id for a request's).
    pub thread_id: Uuid,
}

payload!(
    /// The posted message.
    PostMessagePayload {
        /// The message.
        message: ConversationMessage
    }
);

/// Conversation mutations.
#[derive(Default)]
pub struct ConversationMutation;

#[Object]
impl ConversationMutation {
    /// Posts a message in the company's thread (its people who work in the cabinet, and the lessor's
    /// MANAGER, ACCOUNTANT and ADMIN). The other side hears of it in its notifications (a client's message
    /// reaches the company's manager first) and by mail as each person chose.
    async fn post_message(
        &self,
        ctx: &Context<'_>,
        input: PostMessageInput,
        idempotency_key: Option<String>,
    ) -> Result<PostMessagePayload> {
        let (actor, req) = allow(ctx, Operation::WriteConversation(input.company_id))?;
        let key = self::idempotency_key(idempotency_key)?;
        // The text is checked before any file is stored.
        domain::conversation::message(&input.text, input.files.len()).map_err(|e| {
            content_command_error(
                projections::store::command::CommandError::Rejected(e),
                "input.",
            )
        })?;
        let mut files = Vec::with_capacity(input.files.len());
        for (i, f) in input.files.iter().enumerate() {
            files.push(
                super::uploads::upload(ctx, &format!("input.files.{i}"), f, &actor.event_actor())
                    .await?,
            );
        }
        let app = app(ctx);
        let message_id = Uuid::now_v7();
        let out = app
            .conversations
            .execute(
                &input.company_id.to_string(),
                ConversationCommand::PostMessage {
                    company_id: input.company_id,
                    message_id,
                    party: actor.party(),
                    author: actor.account_id,
                    text: input.text,
                    attachments: files,
                },
                &req.meta(actor, key),
            )
            .await
            .map_err(|e| content_command_error(e, "input."))?;
        let position = out.last_position.ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("a posted message wrote no event"))
        })?;
        let row = service::message_at(&app.pool, position)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("a posted message is not in the read model"))
            })?;
        Ok(PostMessagePayload::new(row.try_into()?, Done::from(&out)))
    }

    /// Marks a thread read up to its last message; returns how many of the other side's messages were
    /// unread.
    async fn mark_conversation_read(
        &self,
        ctx: &Context<'_>,
        input: MarkConversationReadInput,
    ) -> Result<MarkConversationReadPayload> {
        let thread_id = input.thread_id;
        let actor = thread_reader(ctx, thread_id).await?;
        let marked = service::mark_read(
            &app(ctx).pool,
            thread_id,
            actor.account_id,
            actor.is_staff(),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(MarkConversationReadPayload::new(marked, Done::NO_EVENT))
    }

    /// Sets the caller's own staff profile: the name and work phone clients see when the caller is their
    /// manager (`assignManager` with `accountId` copies them).
    async fn update_staff_profile(
        &self,
        ctx: &Context<'_>,
        input: StaffProfileInput,
    ) -> Result<StaffProfilePayload> {
        let (actor, _) = allow(ctx, Operation::UpdateStaffProfile)?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::validation("input.name", "give 1 to 200 characters").into());
        }
        let phone = crate::error::parse_field("input.phone", Phone::parse(&input.phone))?;
        let pool = &app(ctx).pool;
        crate::auth::accounts::set_staff_profile(pool, actor.account_id, name, &phone)
            .await
            .map_err(ApiError::from)?;
        let p = crate::auth::accounts::staff_profile(pool, actor.account_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the caller's account is gone")))?;
        Ok(StaffProfilePayload::new(
            StaffProfile {
                account_id: p.account_id,
                name: p.display_name.unwrap_or_default(),
                phone: p.phone.unwrap_or_default(),
                email: p.email,
            },
            Done::NO_EVENT,
        ))
    }
}
