//! Outgoing mail through a transactional outbox.
//!
//! A change that causes a mail writes an `outbox` row in its own transaction ([`Outbox::enqueue`]); the
//! sender ([`sender`]), one node at a time, delivers due rows through the transport (lettre's file
//! transport into `<data-dir>/mail` by default, SMTP with `smtp_url`), marks them sent and wipes their
//! bodies. A crash between delivery and the mark re-sends the same mail with the same Message-ID: delivery is
//! at least once, and receivers can drop the duplicate. Nothing here logs a body, a password or a control
//! string.
//!
//! # Layout
//! - [`templates`]: the mails, in Russian and English, text and HTML;
//! - [`sender`]: the transport and the delivering loop.

pub mod sender;
pub mod templates;

use lettre::message::Mailbox;
use sqlx::PgConnection;
use uuid::Uuid;

use templates::{Letter, Site};

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
    /// Message-ID.
    ///
    /// # Errors
    /// A database error.
    pub async fn enqueue(
        &self,
        conn: &mut PgConnection,
        recipient: &str,
        letter: Letter,
    ) -> Result<String, sqlx::Error> {
        let message_id = format!("<{}@{}>", Uuid::now_v7(), self.from.email.domain());
        sqlx::query(
            "INSERT INTO outbox (message_id, template, recipient, subject, body_text, body_html) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&message_id)
        .bind(letter.template)
        .bind(recipient)
        .bind(&letter.subject)
        .bind(&letter.text)
        .bind(&letter.html)
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
        files: &[sender::Attachment],
    ) -> Result<bool, sqlx::Error> {
        let message_id = format!("<{key}@{}>", self.from.email.domain());
        let done = sqlx::query(
            "INSERT INTO outbox (message_id, template, recipient, subject, body_text, body_html, attachments) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(&message_id)
        .bind(letter.template)
        .bind(recipient)
        .bind(&letter.subject)
        .bind(&letter.text)
        .bind(&letter.html)
        .bind(sqlx::types::Json(files))
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
