//! The conversations read model (`conversation_threads`, `conversation_messages`): each company's thread
//! with the lessor (Conversation.MessagePosted) and each request's thread (its comments, the lessor's
//! questions and the files either side attached), side by side. Inline, so a message is readable when its
//! command returns; the live feed then sends it by its event's position.

use async_trait::async_trait;
use domain::conversation::ConversationEvent;
use domain::request::{Party, RequestEvent};
use domain::values::FileRef;
use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::engine::error::ProjectionError;
use crate::engine::read_model::ReadModel;
use crate::store::event::StoredEvent;

/// The projection.
pub struct ConversationsProjection;

/// The namespace of the ids of request-thread messages that carry no id of their own (a question, a file):
/// UUID v5 of the event's position.
const MESSAGE_NAMESPACE: Uuid = Uuid::from_u128(0x3c6e_91d2_5b7a_4f08_a1e4_7d2b_0c9f_6e13);

fn party_name(p: Party) -> &'static str {
    match p {
        Party::Client => "client",
        Party::Staff => "staff",
    }
}

/// The files of a message as stored.
pub fn files_json(files: &[FileRef]) -> Value {
    Value::Array(
        files
            .iter()
            .map(|f| {
                json!({ "sha256": f.sha256, "name": f.name, "contentType": f.content_type, "size": f.size })
            })
            .collect(),
    )
}

/// The account in an event's `actor` metadata (`account:<uuid>`), if a person acted.
fn author(e: &StoredEvent) -> Option<Uuid> {
    e.meta("actor")
        .and_then(|a| a.strip_prefix("account:"))
        .and_then(|a| a.parse().ok())
}

struct Message<'a> {
    id: Uuid,
    thread: Uuid,
    company: Uuid,
    party: Party,
    text: &'a str,
    files: Value,
}

async fn post(
    conn: &mut PgConnection,
    e: &StoredEvent,
    m: Message<'_>,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO conversation_messages (message_id, thread_id, company_id, party, author, text, \
           attachments, posted_at, transaction_id, position) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::bigint::text::xid8, $10) \
         ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(m.id)
    .bind(m.thread)
    .bind(m.company)
    .bind(party_name(m.party))
    .bind(author(e))
    .bind(m.text)
    .bind(m.files)
    .bind(e.recorded_at)
    .bind(e.transaction_id)
    .bind(e.position)
    .execute(&mut *conn)
    .await?;
    // The company's own thread appears with its first message; a request's with the request.
    sqlx::query(
        "INSERT INTO conversation_threads (thread_id, company_id, messages, last_message_at, last_position) \
         VALUES ($1, $2, 1, $3, $4) \
         ON CONFLICT (thread_id) DO UPDATE SET messages = conversation_threads.messages + 1, \
           last_message_at = EXCLUDED.last_message_at, last_position = EXCLUDED.last_position",
    )
    .bind(m.thread)
    .bind(m.company)
    .bind(e.recorded_at)
    .bind(e.position)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl ReadModel for ConversationsProjection {
    fn name(&self) -> &'static str {
        "conversations"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["conversation_threads", "conversation_messages"]
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["Conversation", "ClientRequest"])
    }

    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        match e.aggregate_type.as_str() {
            "Conversation" => {
                let ConversationEvent::MessagePosted {
                    company_id,
                    message_id,
                    party,
                    text,
                    attachments,
                    ..
                } = e.decode_event()?;
                post(
                    conn,
                    e,
                    Message {
                        id: message_id,
                        thread: company_id,
                        company: company_id,
                        party,
                        text: &text,
                        files: files_json(&attachments),
                    },
                )
                .await
            }
            "ClientRequest" => request(conn, e).await,
            _ => Ok(()),
        }
    }
}

async fn request(conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
    let id = e.aggregate_uuid()?;
    let event: RequestEvent = e.decode_event()?;
    if let RequestEvent::RequestSubmitted {
        company_id,
        details,
        ..
    } = &event
    {
        sqlx::query(
            "INSERT INTO conversation_threads (thread_id, company_id, request_id, request_kind) \
             VALUES ($1, $2, $1, $3) ON CONFLICT (thread_id) DO NOTHING",
        )
        .bind(id)
        .bind(company_id)
        .bind(details.kind().as_str())
        .execute(&mut *conn)
        .await?;
        return Ok(());
    }
    let (party, text, files, message_id) = match &event {
        RequestEvent::CommentAdded {
            comment_id,
            party,
            text,
        } => (*party, text.as_str(), vec![], *comment_id),
        RequestEvent::InformationRequested { question } => (
            Party::Staff,
            question.as_str(),
            vec![],
            Uuid::new_v5(&MESSAGE_NAMESPACE, e.position.to_string().as_bytes()),
        ),
        RequestEvent::AttachmentAdded { party, file } => (
            *party,
            "",
            vec![file.clone()],
            Uuid::new_v5(&MESSAGE_NAMESPACE, e.position.to_string().as_bytes()),
        ),
        _ => return Ok(()),
    };
    let company: Option<Uuid> =
        sqlx::query_scalar("SELECT company_id FROM conversation_threads WHERE thread_id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(company) = company else {
        return Ok(());
    };
    post(
        conn,
        e,
        Message {
            id: message_id,
            thread: id,
            company,
            party,
            text,
            files: files_json(&files),
        },
    )
    .await
}
