//! How a queued mail leaves: the transport (files or SMTP), the message built from an outbox row with its
//! attachments, and the retry schedule. The `outbox-sender` worker drives them.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How mail leaves the system.
#[derive(Clone)]
pub enum Transport {
    /// Each message as an `.eml` file in a directory (the local default: `<data-dir>/mail`), written
    /// atomically: a reader never sees a partial file, and a crash mid-write leaves only a hidden temporary.
    File(PathBuf),
    /// An SMTP relay (`smtp_url`: `smtp://user:pass@host:587?tls=required`, `smtps://…`, `smtp://host:25`).
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(dir) => write!(f, "file transport into {}", dir.display()),
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
                Ok(Self::File(mail_dir))
            }
        }
    }

    /// Hands `message` over.
    ///
    /// # Errors
    /// The transport refused it, for good ([`Failure::permanent`]) or for now.
    pub async fn send(&self, message: Message) -> Result<(), Failure> {
        match self {
            Self::File(dir) => write_atomically(dir, &message.formatted())
                .await
                .map_err(|e| Failure {
                    permanent: false,
                    reason: format!("writing into {}: {e}", dir.display()),
                }),
            Self::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| Failure {
                permanent: e.is_permanent(),
                reason: e.to_string(),
            }),
        }
    }
}

/// Writes `bytes` as `<dir>/<uuid>.eml`: into a hidden temporary file first, synced, then renamed, so the
/// `.eml` appears whole or not at all.
async fn write_atomically(dir: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let name = uuid::Uuid::new_v4().simple().to_string();
    let tmp = dir.join(format!(".{name}.eml.tmp"));
    let result = async {
        let mut f = tokio::fs::File::create(&tmp).await?;
        f.write_all(bytes).await?;
        f.sync_all().await?;
        drop(f);
        tokio::fs::rename(&tmp, dir.join(format!("{name}.eml"))).await
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result
}

/// Why a mail did not leave.
#[derive(Debug)]
pub struct Failure {
    /// A refusal that a retry cannot change (an SMTP 5xx, an address that does not parse).
    pub permanent: bool,
    /// What the transport said.
    pub reason: String,
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

/// A queued mail, as the outbox holds it.
#[derive(sqlx::FromRow)]
pub struct Queued {
    /// Its row.
    pub id: i64,
    /// The stable `Message-ID` (the same on every attempt).
    pub message_id: String,
    /// Which template wrote it.
    pub template: String,
    /// The recipient's address.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body (wiped once sent).
    pub body_text: Option<String>,
    /// HTML body (wiped once sent).
    pub body_html: Option<String>,
    /// Attempts so far.
    pub attempts: i32,
    /// Stored files to attach.
    pub attachments: sqlx::types::Json<Vec<Attachment>>,
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

/// The message for `row` from `from`, with `files` attached.
///
/// # Errors
/// The recipient or an attachment's type does not parse: a permanent refusal.
pub fn build(
    from: &Mailbox,
    row: &Queued,
    files: &[(Attachment, Vec<u8>)],
) -> Result<Message, String> {
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
