//! The `outbox-sender` worker: one node at a time (a session advisory lock) delivers due mails, woken by
//! `NOTIFY outbox` and by polling. A sender first claims the rows it will hand to the transport (a lease in
//! the row, taken through the leader's own connection), so no two senders ever deliver one row at once even
//! when leadership changes hands. Each mail is marked sent (and its body wiped) after the transport took
//! it; a failure is retried with exponential backoff (10 s doubling to 1 h), a permanent refusal (an SMTP
//! 5xx, an unparsable address) ends it as failed.
//!
//! The promise is at-least-once with a stable `Message-ID`: a process killed after the transport took a
//! mail and before its row was marked sends it again when the lease ends (receivers drop the duplicate by
//! its Message-ID). Nothing else sends a mail twice.

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

/// How many rows one claim takes.
const CLAIM: i64 = 10;

/// A claimed mail is not handed to the transport once less than this is left of its lease (an SMTP
/// exchange is bounded by the transport's 30 s timeout per step); a third of the lease when that is less.
const LEASE_MARGIN: Duration = Duration::from_secs(90);

/// What became of a mail handed to the transport, to be written to its row.
#[derive(Debug, Clone)]
enum Outcome {
    Sent,
    Failed(String),
    Retry { reason: String, wait: Duration },
}

/// A mail's outcome not yet written (the database failed after the transport took it).
#[derive(Debug, Clone)]
struct Mark {
    id: i64,
    template: String,
    message_id: String,
    attempt: i32,
    outcome: Outcome,
}

/// One sender: the claims it holds carry its id. It keeps the outcomes it could not write yet (the database
/// went away after the transport took a mail) across restarts of its worker, and writes them before it
/// claims anything else, so a database restart does not make it send a mail twice.
#[derive(Debug)]
pub struct Sender {
    id: String,
    lease: Duration,
    unmarked: tokio::sync::Mutex<Vec<Mark>>,
}

impl Sender {
    /// A sender whose claims last `lease` (longer than a batch of deliveries may take).
    pub fn new(lease: Duration) -> Self {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        Self {
            id: format!("{host}:{}:{}", std::process::id(), &nonce[..8]),
            lease: lease.max(Duration::from_secs(3)),
            unmarked: tokio::sync::Mutex::new(Vec::new()),
        }
    }

    /// The id its claims carry.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Delivers every due mail, oldest first, a claim of a few at a time until none is left; returns how
    /// many were sent. Claims are taken through `claims` (the leader's connection: a sender whose session is
    /// gone can claim nothing) and outcomes written through `pool`.
    ///
    /// # Errors
    /// A database error (unclaimed mails stay due; a claimed one is retried when its lease ends; an outcome
    /// not written is kept and written first next time).
    pub async fn deliver_due(
        &self,
        claims: &mut sqlx::PgConnection,
        pool: &PgPool,
        store: &dyn FileStore,
        transport: &Transport,
        from: &Mailbox,
    ) -> Result<usize, SenderError> {
        let mut sent = 0;
        loop {
            let (claimed, n) = self
                .deliver_claim(claims, pool, store, transport, from)
                .await?;
            sent += n;
            if claimed == 0 {
                return Ok(sent);
            }
        }
    }

    /// One claim: (rows claimed, mails sent).
    async fn deliver_claim(
        &self,
        claims: &mut sqlx::PgConnection,
        pool: &PgPool,
        store: &dyn FileStore,
        transport: &Transport,
        from: &Mailbox,
    ) -> Result<(usize, usize), SenderError> {
        self.write_unmarked(pool).await?;
        let claimed_at = std::time::Instant::now();
        let mut rows: Vec<Queued> = sqlx::query_as(
            "UPDATE outbox o SET claimed_by = $1, lease_until = clock_timestamp() + make_interval(secs => $2) \
             FROM (SELECT id FROM outbox \
                   WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= clock_timestamp() \
                     AND (lease_until IS NULL OR lease_until <= clock_timestamp()) \
                   ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) due \
             WHERE o.id = due.id \
             RETURNING o.id, o.message_id, o.template, o.recipient, o.subject, o.body_text, o.body_html, \
                       o.attempts, o.attachments",
        )
        .bind(&self.id)
        .bind(self.lease.as_secs_f64())
        .bind(CLAIM)
        .fetch_all(&mut *claims)
        .await?;
        rows.sort_by_key(|r| r.id);
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        // The bodies are stored sealed (ADR 0016).
        for row in rows.iter_mut() {
            if let Err(e) = crate::mail::open_bodies(&mut *claims, row).await {
                let _ = self.give_back(pool, &ids).await;
                return Err(e.into());
            }
        }
        let mut sent = 0;
        for (i, row) in rows.into_iter().enumerate() {
            if claimed_at.elapsed() + LEASE_MARGIN.min(self.lease / 3) > self.lease {
                // Too little of the lease left to start another delivery: give the rest back.
                self.give_back(pool, &ids[i..]).await?;
                break;
            }
            let mut files = Vec::new();
            for a in row.attachments.iter() {
                match store.get(&a.sha256).await {
                    Ok(Some((_, c))) => files.push((a.clone(), c)),
                    Ok(None) => {}
                    Err(e) => {
                        let _ = self.give_back(pool, &ids[i..]).await;
                        return Err(SenderError::Store(e.message()));
                    }
                }
            }
            // A trace of its own per mail: which template went to the relay, how long it took.
            let span = tracing::info_span!(
                parent: None,
                "mail.send",
                outbox_id = row.id,
                template = %row.template,
                attempt = row.attempts + 1,
            );
            let result = match build(from, &row, &files) {
                Ok(m) => {
                    use tracing::Instrument as _;
                    transport.send(m).instrument(span).await
                }
                Err(reason) => Err(Failure {
                    permanent: true,
                    reason,
                }),
            };
            let outcome = match result {
                Ok(()) => Outcome::Sent,
                Err(f) if f.permanent => Outcome::Failed(f.reason),
                Err(f) => Outcome::Retry {
                    reason: f.reason,
                    wait: backoff(row.attempts),
                },
            };
            if matches!(outcome, Outcome::Sent) {
                sent += 1;
            }
            let mark = Mark {
                id: row.id,
                template: row.template.clone(),
                message_id: row.message_id.clone(),
                attempt: row.attempts + 1,
                outcome,
            };
            if let Err(e) = self.write(pool, &mark).await {
                // Kept, and written before anything else is claimed.
                self.unmarked.lock().await.push(mark);
                let _ = self.give_back(pool, &ids[i + 1..]).await;
                return Err(e.into());
            }
        }
        Ok((ids.len(), sent))
    }

    async fn write_unmarked(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let mut unmarked = self.unmarked.lock().await;
        while let Some(mark) = unmarked.first().cloned() {
            self.write(pool, &mark).await?;
            unmarked.remove(0);
        }
        Ok(())
    }

    /// Ends this sender's claims on `ids` without an attempt.
    async fn give_back(&self, pool: &PgPool, ids: &[i64]) -> Result<(), sqlx::Error> {
        if ids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "UPDATE outbox SET claimed_by = NULL, lease_until = NULL WHERE id = ANY($1) AND claimed_by = $2",
        )
        .bind(ids)
        .bind(&self.id)
        .execute(pool)
        .await?;
        Ok(())
    }

    /// Writes a delivery's outcome to its row, if the row is still this sender's claim.
    async fn write(&self, pool: &PgPool, mark: &Mark) -> Result<(), sqlx::Error> {
        let done = match &mark.outcome {
            Outcome::Sent => {
                sqlx::query(
                    "UPDATE outbox SET sent_at = clock_timestamp(), attempts = attempts + 1, \
                     body_text = NULL, body_html = NULL, last_error = NULL, claimed_by = NULL, lease_until = NULL \
                     WHERE id = $1 AND claimed_by = $2",
                )
                .bind(mark.id)
                .bind(&self.id)
                .execute(pool)
                .await?
            }
            Outcome::Failed(reason) => {
                sqlx::query(
                    "UPDATE outbox SET failed_at = clock_timestamp(), attempts = attempts + 1, \
                     body_text = NULL, body_html = NULL, last_error = $3, claimed_by = NULL, lease_until = NULL \
                     WHERE id = $1 AND claimed_by = $2",
                )
                .bind(mark.id)
                .bind(&self.id)
                .bind(reason)
                .execute(pool)
                .await?
            }
            Outcome::Retry { reason, wait } => {
                sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $3, claimed_by = NULL, lease_until = NULL, \
                     next_attempt_at = clock_timestamp() + make_interval(secs => $4) \
                     WHERE id = $1 AND claimed_by = $2",
                )
                .bind(mark.id)
                .bind(&self.id)
                .bind(reason)
                .bind(wait.as_secs_f64())
                .execute(pool)
                .await?
            }
        };
        if matches!(mark.outcome, Outcome::Sent | Outcome::Failed(_)) && done.rows_affected() > 0 {
            // The bodies are wiped: their key is no longer needed.
            projections::personal::forget(pool, "Mail", std::slice::from_ref(&mark.message_id))
                .await?;
        }
        if done.rows_affected() == 0 {
            // Our lease ended and another sender claimed the row: it may go out again.
            metrics::counter!("cabinet_mail_lease_lost_total").increment(1);
            tracing::warn!(
                template = mark.template,
                message_id = mark.message_id,
                "the mail's claim ended before its outcome was written; another sender may deliver it again"
            );
        }
        match &mark.outcome {
            Outcome::Sent => {
                metrics::counter!("cabinet_mail_sent_total", "template" => mark.template.clone())
                    .increment(1);
                tracing::info!(
                    template = mark.template,
                    message_id = mark.message_id,
                    "mail sent"
                );
            }
            Outcome::Failed(reason) => {
                metrics::counter!("cabinet_mail_failed_total").increment(1);
                tracing::error!(
                    template = mark.template,
                    message_id = mark.message_id,
                    reason,
                    "mail refused for good"
                );
            }
            Outcome::Retry { reason, wait } => {
                metrics::counter!("cabinet_mail_retries_total").increment(1);
                tracing::warn!(
                    template = mark.template,
                    message_id = mark.message_id,
                    attempt = mark.attempt,
                    retry_in_s = wait.as_secs(),
                    reason,
                    "mail not sent; will retry"
                );
            }
        }
        Ok(())
    }
}

/// Delivers every due mail once, oldest first, as a sender of its own (`cabinet` commands and tests that
/// are the only sender); returns how many were sent.
///
/// # Errors
/// A database error (the mails stay due).
pub async fn deliver_due(
    pool: &PgPool,
    store: &dyn FileStore,
    transport: &Transport,
    from: &Mailbox,
) -> Result<usize, SenderError> {
    let sender = Sender::new(Duration::from_secs(300));
    let mut conn = pool.acquire().await?;
    sender
        .deliver_due(&mut conn, pool, store, transport, from)
        .await
}

/// Runs the sender until `shutdown` turns true: waits for the leadership, then delivers whenever a mail is
/// committed (NOTIFY) or `poll` passes (retries come due). Claims go through the leader's connection: a
/// sender that lost its lock (its session ended) can claim nothing more and stops; the mails it had claimed
/// are its own until their lease ends, so no two senders ever hand one mail to the transport at once.
///
/// # Errors
/// A database error; the caller restarts it.
pub async fn run(
    pool: PgPool,
    store: Arc<dyn FileStore>,
    transport: Transport,
    from: Mailbox,
    sender: Arc<Sender>,
    poll: Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), SenderError> {
    let mut shutdown = shutdown;
    let Some(mut leader) =
        Leadership::acquire(&pool, "outbox-sender", "outbox", poll, &mut shutdown).await?
    else {
        return Ok(());
    };
    tracing::info!(?transport, sender = sender.id(), "outbox sender running");
    loop {
        sender
            .deliver_due(leader.conn(), &pool, store.as_ref(), &transport, &from)
            .await?;
        if !leader.wait(&mut shutdown).await? {
            break;
        }
    }
    leader.release().await;
    Ok(())
}
