//! The `notification-mail` process manager: mails each notification to the accounts that chose (or by
//! default get) its kind by mail.

use async_trait::async_trait;
use projections::engine::error::ProjectionError;
use projections::engine::process_manager::ProcessManager;
use projections::engine::read_model::ReadModel;
use projections::store::event::StoredEvent;
use projections::views::notifications::NotificationKind;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::mail::templates::{self, Locale};
use crate::mail::{Cause, Outbox};

/// The `notification-mail` consumer: for the notifications each batch of events produced, queues a mail to
/// every account that sees it and chose (or by default gets) its kind by mail. Its checkpoint commits with
/// the outbox rows, so each notification is mailed once; a rebuild of `notifications` gives the same rows at
/// the same places and mails nothing again.
pub struct NotificationMail {
    outbox: Outbox,
}

impl NotificationMail {
    /// A mailer writing to `outbox`.
    pub fn new(outbox: Outbox) -> Self {
        Self { outbox }
    }
}

#[derive(sqlx::FromRow)]
struct ToMail {
    kind: String,
    company_id: Option<Uuid>,
    audience: String,
    title_ru: String,
    text_ru: String,
    title_en: String,
    text_en: String,
    position: i64,
    recorded_at: chrono::DateTime<chrono::Utc>,
}

#[async_trait]
impl ProcessManager for NotificationMail {
    fn name(&self) -> &'static str {
        "notification-mail"
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        projections::views::notifications::NotificationsProjection.aggregate_types()
    }

    async fn handle(
        &self,
        conn: &mut PgConnection,
        e: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        self.handle_batch(conn, std::slice::from_ref(e)).await
    }

    async fn handle_batch(
        &self,
        conn: &mut PgConnection,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Ok(());
        };
        // The batch is every event of these types between first and last in the global order, and only
        // those events have notifications: the range selects exactly the batch's notifications.
        // The correlation of each notification's event comes from the batch itself (a join with `events`
        // made the planner hash the whole log for every batch; issue 24's profile).
        let correlations: std::collections::HashMap<i64, &str> = events
            .iter()
            .map(|e| {
                let id = e
                    .metadata
                    .get("correlation_id")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default();
                (e.position, id)
            })
            .collect();
        let rows: Vec<ToMail> = sqlx::query_as(
            "SELECT n.kind, n.company_id, n.audience, n.title_ru, n.text_ru, n.title_en, n.text_en, n.position, \
               n.recorded_at \
             FROM notifications n \
             WHERE (n.transaction_id, n.position) >= ($1::bigint::text::xid8, $2) \
               AND (n.transaction_id, n.position) <= ($3::bigint::text::xid8, $4) \
             ORDER BY n.transaction_id, n.position, n.ordinal",
        )
        .bind(first.transaction_id)
        .bind(first.position)
        .bind(last.transaction_id)
        .bind(last.position)
        .fetch_all(&mut *conn)
        .await?;
        let reaches = crate::app::notifications::reaches_staff("a.account_id");
        for n in rows {
            // A kind this code does not know is a disagreement between the read model and the code: the
            // batch fails (and is retried after a fix) rather than silently mailing nothing.
            let kind = NotificationKind::parse(&n.kind).ok_or_else(|| {
                ProjectionError::Effect(format!(
                    "notification at position {} has the unknown kind {:?}",
                    n.position, n.kind
                ))
            })?;
            let recipients: Vec<(String, String)> = sqlx::query_as(&format!(
                "SELECT a.email, a.locale FROM accounts a, (SELECT $2::uuid AS company_id, $3::text AS kind, \
                   $5::timestamptz AS recorded_at) n \
                 WHERE a.blocked_at IS NULL AND a.deleted_at IS NULL \
                   AND CASE WHEN $1 = 'client' \
                       THEN 'CLIENT' = ANY(a.roles) AND ($2::uuid IS NULL OR EXISTS \
                            (SELECT 1 FROM account_companies l WHERE l.account_id = a.account_id AND l.company_id = $2)) \
                       ELSE a.roles && ARRAY['MANAGER', 'ACCOUNTANT', 'ADMIN'] AND {reaches} END \
                   AND coalesce((SELECT p.email FROM notification_preferences p \
                                 WHERE p.account_id = a.account_id AND p.kind = $3), $4) \
                 ORDER BY a.account_id"
            ))
            .bind(&n.audience)
            .bind(n.company_id)
            .bind(kind.as_str())
            .bind(kind.email_by_default())
            .bind(n.recorded_at)
            .fetch_all(&mut *conn)
            .await?;
            for (email, locale) in recipients {
                let locale = Locale::parse(&locale);
                let (title, text) = match locale {
                    Locale::Ru => (&n.title_ru, &n.text_ru),
                    Locale::En => (&n.title_en, &n.text_en),
                };
                let letter = templates::notification(locale, &self.outbox.site, title, text);
                let cause = Cause {
                    correlation_id: correlations
                        .get(&n.position)
                        .copied()
                        .unwrap_or_default()
                        .to_owned(),
                    event: Some(n.position),
                };
                self.outbox
                    .enqueue_caused(&mut *conn, &email, letter, Some(&cause))
                    .await?;
            }
        }
        Ok(())
    }
}
