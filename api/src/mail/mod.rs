//! Outgoing mail through a transactional outbox.
//!
//! A change that causes a mail writes an `outbox` row in its own transaction ([`Outbox::enqueue`]); the
//! `outbox-sender` worker, one node at a time, delivers due rows through the transport (lettre's file
//! transport into `<data-dir>/mail` by default, SMTP with `smtp_url`), marks them sent and wipes their
//! bodies. A crash between delivery and the mark re-sends the same mail with the same Message-ID: delivery is
//! at least once, and receivers can drop the duplicate. Nothing here logs a body, a password or a control
//! string.
//!
//! # Layout
//! - [`templates`]: the mails, in Russian and English, text and HTML;
//! - [`transport`]: how a queued mail leaves (files or SMTP), the message built from a row, the retry
//!   schedule.

pub mod templates;
pub mod transport;

use lettre::message::Mailbox;
use sqlx::PgConnection;
use uuid::Uuid;

use templates::{Letter, Site};

/// What caused a mail: the correlation id of the story it belongs to and, when one event caused it, that
/// event's position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The causing events' correlation id.
    pub correlation_id: String,
    /// The causing event's position.
    pub event: Option<i64>,
}

impl Cause {
    /// Caused by the event `e`.
    pub fn event(e: &projections::store::event::StoredEvent) -> Self {
        Self {
            correlation_id: e.meta("correlation_id").unwrap_or_default().to_owned(),
            event: Some(e.position),
        }
    }
}

/// What the outbox needs to know to write a mail.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// The sender; its domain is the domain of Message-IDs.
    pub from: Mailbox,
    /// The cabinet's address, for links in mails.
    pub site: Site,
}

impl Outbox {
    /// An outbox for mails from `from` linking to `public_url`.
    pub fn new(from: Mailbox, public_url: &str) -> Self {
        Self {
            from,
            site: Site {
                url: public_url.to_owned(),
            },
        }
    }

    /// Writes `letter` to `recipient` into the outbox on `conn` (the caller's transaction); returns its
    /// Message-ID. For mails no event caused (sign-in codes, password resets).
    ///
    /// # Errors
    /// A database error.
    pub async fn enqueue(
        &self,
        conn: &mut PgConnection,
        recipient: &str,
        letter: Letter,
    ) -> Result<String, sqlx::Error> {
        self.enqueue_caused(conn, recipient, letter, None).await
    }

    /// As [`Outbox::enqueue`], recording what caused the mail: its correlation id and event, so
    /// `correlation(id)` shows the mail in the story of the events that caused it.
    ///
    /// # Errors
    /// A database error.
    pub async fn enqueue_caused(
        &self,
        conn: &mut PgConnection,
        recipient: &str,
        letter: Letter,
        cause: Option<&Cause>,
    ) -> Result<String, sqlx::Error> {
        let message_id = format!("<{}@{}>", Uuid::now_v7(), self.from.email.domain());
        let (text, html) = seal_bodies(conn, &message_id, &letter).await?;
        sqlx::query(
            "INSERT INTO outbox (message_id, template, recipient, subject, body_text, body_html, correlation_id, \
             caused_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&message_id)
        .bind(letter.template)
        .bind(recipient)
        .bind(&letter.subject)
        .bind(&text)
        .bind(&html)
        .bind(cause.map(|c| c.correlation_id.as_str()))
        .bind(cause.and_then(|c| c.event))
        .execute(&mut *conn)
        .await?;
        tracing::info!(template = letter.template, %message_id, "mail queued");
        Ok(message_id)
    }

    /// Writes `letter` with stored files attached, once per `key`: the Message-ID is derived from the key,
    /// so a process manager that runs again queues nothing new. Returns whether a mail was queued.
    ///
    /// # Errors
    /// A database error.
    pub async fn enqueue_once_with_files(
        &self,
        conn: &mut PgConnection,
        key: &str,
        recipient: &str,
        letter: Letter,
        files: &[transport::Attachment],
        cause: Option<&Cause>,
    ) -> Result<bool, sqlx::Error> {
        let message_id = format!("<{key}@{}>", self.from.email.domain());
        let (text, html) = seal_bodies(conn, &message_id, &letter).await?;
        let done = sqlx::query(
            "INSERT INTO outbox (message_id, template, recipient, subject, body_text, body_html, attachments, \
             correlation_id, caused_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(&message_id)
        .bind(letter.template)
        .bind(recipient)
        .bind(&letter.subject)
        .bind(&text)
        .bind(&html)
        .bind(sqlx::types::Json(files))
        .bind(cause.map(|c| c.correlation_id.as_str()))
        .bind(cause.and_then(|c| c.event))
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1;
        if done {
            tracing::info!(template = letter.template, %message_id, "mail queued");
        }
        Ok(done)
    }
}

/// A mail's bodies hold temporary passwords and control strings until sent: they are stored sealed, under
/// a key of their own (`Mail`, Message-ID) that the sender forgets once the bodies are wiped (ADR 0016).
async fn seal_bodies(
    conn: &mut PgConnection,
    message_id: &str,
    letter: &Letter,
) -> Result<(String, String), sqlx::Error> {
    let scope = ("Mail", message_id, "body");
    let text = projections::personal::seal_text(
        conn,
        scope,
        &letter.text,
        format!("{message_id}/text").as_bytes(),
    )
    .await?;
    let html = projections::personal::seal_text(
        conn,
        scope,
        &letter.html,
        format!("{message_id}/html").as_bytes(),
    )
    .await?;
    Ok((text, html))
}

/// Opens a queued mail's bodies (None where the key is gone: the data was destroyed).
///
/// # Errors
/// A database error, or a body that does not authenticate.
pub async fn open_bodies(
    conn: &mut PgConnection,
    row: &mut transport::Queued,
) -> Result<(), sqlx::Error> {
    for (part, body) in [("text", &mut row.body_text), ("html", &mut row.body_html)] {
        if let Some(b) = body.as_deref() {
            *body = projections::personal::open_text(
                conn,
                b,
                format!("{}/{part}", row.message_id).as_bytes(),
            )
            .await?;
        }
    }
    Ok(())
}
