//! The outbox sender: one node at a time (a session advisory lock) delivers due mails, woken by
//! `NOTIFY outbox` and by polling. Each mail is marked sent (and its body wiped) after the transport took
//! it; a failure is retried with exponential backoff (10 s doubling to 1 h), a permanent refusal (an SMTP
//! 5xx, an unparsable address) ends it as failed.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use projections::runner::Leadership;
use sqlx::PgPool;

/// How mail leaves the system.
#[derive(Clone)]
pub enum Transport {
    /// Each message as an `.eml` file in a directory (the local default: `<data-dir>/mail`).
    File(PathBuf, AsyncFileTransport<Tokio1Executor>),
    /// An SMTP relay (`smtp_url`: `smtp://user:pass@host:587?tls=required`, `smtps://…`, `smtp://host:25`).
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(dir, _) => write!(f, "file transport into {}", dir.display()),
            // Never print the URL: it may carry the relay's password.
            Self::Smtp(_) => write!(f, "SMTP transport"),
        }
    }
}

impl Transport {
    /// SMTP when `smtp_url` is set, else files under `mail_dir` (created if missing).
    ///
    /// # Errors
    /// The URL does not parse, or the directory cannot be created.
    pub fn new(smtp_url: Option<&str>, mail_dir: PathBuf) -> anyhow::Result<Self> {
        match smtp_url.filter(|u| !u.is_empty()) {
            Some(url) => Ok(Self::Smtp(Box::new(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("smtp_url: {e}"))?
                    .timeout(Some(Duration::from_secs(30)))
                    .build(),
            ))),
            None => {
                std::fs::create_dir_all(&mail_dir).map_err(|e| {
                    anyhow::anyhow!("creating the mail directory {}: {e}", mail_dir.display())
                })?;
                let t = AsyncFileTransport::<Tokio1Executor>::new(&mail_dir);
                Ok(Self::File(mail_dir, t))
            }
        }
    }

    async fn send(&self, message: Message) -> Result<(), Failure> {
        match self {
            Self::File(_, t) => t.send(message).await.map(|_| ()).map_err(|e| Failure {
                permanent: false,
                reason: e.to_string(),
            }),
            Self::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| Failure {
                permanent: e.is_permanent(),
                reason: e.to_string(),
            }),
        }
    }
}

struct Failure {
    permanent: bool,
    reason: String,
}

/// The `X-Cabinet-Template` header: which mail this is, for receivers' filters (and tests).
#[derive(Clone)]
struct TemplateHeader(String);

impl lettre::message::header::Header for TemplateHeader {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Cabinet-Template")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    message_id: String,
    template: String,
    recipient: String,
    subject: String,
    body_text: Option<String>,
    body_html: Option<String>,
    attempts: i32,
    attachments: sqlx::types::Json<Vec<Attachment>>,
}

/// A file attached to a mail (`outbox.attachments`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// The stored file's hash.
    pub sha256: String,
    /// The name it is attached under.
    pub name: String,
    /// Its MIME type.
    pub content_type: String,
}

fn build(from: &Mailbox, row: &Row, files: &[(Attachment, Vec<u8>)]) -> Result<Message, String> {
    let to: Mailbox = row
        .recipient
        .parse()
        .map_err(|e| format!("recipient: {e}"))?;
    let part = |ct: ContentType, body: &Option<String>| {
        SinglePart::builder()
            .header(ct)
            .header(ContentTransferEncoding::Base64)
            .body(body.clone().unwrap_or_default())
    };
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(row.message_id.clone()))
        .header(TemplateHeader(row.template.clone()))
        .multipart({
            let body = MultiPart::alternative()
                .singlepart(part(ContentType::TEXT_PLAIN, &row.body_text))
                .singlepart(part(ContentType::TEXT_HTML, &row.body_html));
            if files.is_empty() {
                body
            } else {
                let mut mixed = MultiPart::mixed().multipart(body);
                for (a, content) in files {
                    let ct = ContentType::parse(&a.content_type)
                        .map_err(|e| format!("attachment {}: {e}", a.name))?;
                    mixed = mixed.singlepart(
                        lettre::message::Attachment::new(a.name.clone()).body(content.clone(), ct),
                    );
                }
                mixed
            }
        })
        .map_err(|e| format!("building the message: {e}"))
}

/// The wait before attempt `attempts + 1`: 10 s doubling, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let secs = 10u64.saturating_mul(1u64 << attempts.clamp(0, 20));
    Duration::from_secs(secs.min(3600))
}

/// Delivers every due mail once, oldest first; returns how many were sent. The caller must hold the
/// sender's leadership (or be the only sender, as in `cabinet mail send`).
///
/// # Errors
/// A database error (the mails stay due).
pub async fn deliver_due(
    pool: &PgPool,
    transport: &Transport,
    from: &Mailbox,
) -> Result<usize, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, message_id, template, recipient, subject, body_text, body_html, attempts, attachments \
         FROM outbox \
         WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= clock_timestamp() \
         ORDER BY id LIMIT 100",
    )
    .fetch_all(pool)
    .await?;
    let mut sent = 0;
    for row in rows {
        let mut files = Vec::new();
        let store = crate::files::PgDocumentStore::new(pool.clone());
        for a in row.attachments.iter() {
            use crate::files::DocumentStore;
            match store.get(&a.sha256).await {
                Ok(Some((_, c))) => files.push((a.clone(), c)),
                Ok(None) => {}
                Err(e) => return Err(sqlx::Error::Protocol(e.message())),
            }
        }
        let result = match build(from, &row, &files) {
            Ok(m) => transport.send(m).await,
            Err(reason) => Err(Failure {
                permanent: true,
                reason,
            }),
        };
        match result {
            Ok(()) => {
                sqlx::query(
                    "UPDATE outbox SET sent_at = clock_timestamp(), attempts = attempts + 1, \
                     body_text = NULL, body_html = NULL, last_error = NULL WHERE id = $1",
                )
                .bind(row.id)
                .execute(pool)
                .await?;
                metrics::counter!("cabinet_mail_sent_total", "template" => row.template.clone())
                    .increment(1);
                tracing::info!(
                    template = row.template,
                    message_id = row.message_id,
                    "mail sent"
                );
                sent += 1;
            }
            Err(f) if f.permanent => {
                sqlx::query(
                    "UPDATE outbox SET failed_at = clock_timestamp(), attempts = attempts + 1, \
                     body_text = NULL, body_html = NULL, last_error = $2 WHERE id = $1",
                )
                .bind(row.id)
                .bind(&f.reason)
                .execute(pool)
                .await?;
                metrics::counter!("cabinet_mail_failed_total").increment(1);
                tracing::error!(
                    template = row.template,
                    message_id = row.message_id,
                    reason = f.reason,
                    "mail refused for good"
                );
            }
            Err(f) => {
                let wait = backoff(row.attempts);
                sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2, \
                     next_attempt_at = clock_timestamp() + make_interval(secs => $3) WHERE id = $1",
                )
                .bind(row.id)
                .bind(&f.reason)
                .bind(wait.as_secs_f64())
                .execute(pool)
                .await?;
                metrics::counter!("cabinet_mail_retries_total").increment(1);
                tracing::warn!(
                    template = row.template,
                    message_id = row.message_id,
                    attempt = row.attempts + 1,
                    retry_in_s = wait.as_secs(),
                    reason = f.reason,
                    "mail not sent; will retry"
                );
            }
        }
    }
    Ok(sent)
}

/// Runs the sender until `shutdown` turns true: waits for the leadership, then delivers whenever a mail is
/// committed (NOTIFY) or `poll` passes (retries come due).
///
/// # Errors
/// A database error; the caller restarts it.
pub async fn run(
    pool: PgPool,
    transport: Transport,
    from: Mailbox,
    poll: Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), sqlx::Error> {
    let mut shutdown = shutdown;
    let Some(mut leader) =
        Leadership::acquire(&pool, "outbox-sender", "outbox", poll, &mut shutdown).await?
    else {
        return Ok(());
    };
    tracing::info!(?transport, "outbox sender running");
    loop {
        while deliver_due(&pool, &transport, &from).await? > 0 {}
        if !leader.wait(&mut shutdown).await {
            break;
        }
    }
    leader.release().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(backoff(0), Duration::from_secs(10));
        assert_eq!(backoff(1), Duration::from_secs(20));
        assert_eq!(backoff(5), Duration::from_secs(320));
        assert_eq!(backoff(9), Duration::from_secs(3600));
        assert_eq!(backoff(1000), Duration::from_secs(3600));
    }
}
