//! The `outbox-sender` worker: one node at a time (a session advisory lock) delivers due mails, woken by
//! `NOTIFY outbox` and by polling. Each mail is marked sent (and its body wiped) after the transport took
//! it; a failure is retried with exponential backoff (10 s doubling to 1 h), a permanent refusal (an SMTP
//! 5xx, an unparsable address) ends it as failed.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use projections::engine::runner::Leadership;
use sqlx::PgPool;

use crate::app::files::FileStore;
use crate::mail::transport::{backoff, build, Failure, Queued, Transport};

/// Why the sender stopped (it is restarted).
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// An attachment could not be read from the document store.
    #[error("reading an attachment: {0}")]
    Store(String),
}

/// Delivers every due mail once, oldest first; returns how many were sent. The caller must hold the
/// sender's leadership (or be the only sender, as in `cabinet mail send`).
///
/// # Errors
/// A database error (the mails stay due).
pub async fn deliver_due(
    pool: &PgPool,
    store: &dyn FileStore,
    transport: &Transport,
    from: &Mailbox,
) -> Result<usize, SenderError> {
    let rows: Vec<Queued> = sqlx::query_as(
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
        for a in row.attachments.iter() {
            match store.get(&a.sha256).await {
                Ok(Some((_, c))) => files.push((a.clone(), c)),
                Ok(None) => {}
                Err(e) => return Err(SenderError::Store(e.message())),
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
    store: Arc<dyn FileStore>,
    transport: Transport,
    from: Mailbox,
    poll: Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), SenderError> {
    let mut shutdown = shutdown;
    let Some(mut leader) =
        Leadership::acquire(&pool, "outbox-sender", "outbox", poll, &mut shutdown).await?
    else {
        return Ok(());
    };
    tracing::info!(?transport, "outbox sender running");
    loop {
        while deliver_due(&pool, store.as_ref(), &transport, &from).await? > 0 {}
        if !leader.wait(&mut shutdown).await {
            break;
        }
    }
    leader.release().await;
    Ok(())
}
