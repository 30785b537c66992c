//! Reading and marking notifications, and per-account mail preferences (the `notification-mail` worker
//! mails the kinds an account chose).
//!
//! Who sees what: a CLIENT account sees the `client` notifications of its companies and those for every
//! client (news for all, new terms of use); staff accounts see the `staff` notifications (new requests,
//! client replies, withdrawals, failed effects), of one company or of all. Read marks are per account, in
//! `notification_reads`, apart from what the events derive.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use projections::engine::horizon;
use projections::views::notifications::NotificationKind;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::Actor;
use crate::error::ApiError;

/// Most ids one `markNotificationsRead` accepts.
pub const MAX_MARK: usize = 500;

/// A notification's place in the global order: its event's transaction and position, and its ordinal among
/// that event's notifications. Written `txid.position.ordinal`; a subscriber passes it back to resume.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// The event's transaction id.
    pub transaction_id: i64,
    /// The event's position.
    pub position: i64,
    /// The ordinal among the event's notifications.
    pub ordinal: i32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}",
            self.transaction_id, self.position, self.ordinal
        )
    }
}

impl Position {
    /// Parses `txid.position.ordinal`.
    ///
    /// # Errors
    /// VALIDATION on `field` when it is not such a position.
    pub fn parse(s: &str, field: &str) -> Result<Self, ApiError> {
        let mut it = s.split('.');
        let (Some(t), Some(p), Some(o), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(ApiError::validation(field, "not a notification position"));
        };
        match (t.parse(), p.parse(), o.parse()) {
            (Ok(transaction_id), Ok(position), Ok(ordinal)) => Ok(Self {
                transaction_id,
                position,
                ordinal,
            }),
            _ => Err(ApiError::validation(field, "not a notification position")),
        }
    }
}

/// Which notifications a caller sees.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Staff audience (else client).
    pub staff: bool,
    /// The companies (None: all — staff only).
    pub companies: Option<Vec<Uuid>>,
    /// The account whose read marks apply.
    pub account: Uuid,
}

impl Scope {
    /// The scope of `actor`, narrowed to `company` when given (already authorized by the caller).
    pub fn of(actor: &Actor, company: Option<Uuid>) -> Self {
        let staff = actor.is_staff();
        let companies = match (company, staff) {
            (Some(c), _) => Some(vec![c]),
            (None, true) => None,
            (None, false) => Some(actor.companies()),
        };
        Self {
            staff,
            companies,
            account: actor.account_id,
        }
    }
}

/// What a scope sees, over `n` (binds: $1 staff, $2 companies, $3 the account).
fn visible() -> String {
    format!(
        "((NOT $1 AND n.audience = 'client' AND (n.company_id = ANY($2) OR n.company_id IS NULL)) \
         OR ($1 AND n.audience = 'staff' AND ($2::uuid[] IS NULL OR n.company_id = ANY($2)) AND {}))",
        reaches_staff("$3")
    )
}

/// Whether the staff notification `n` reaches the staff account `account` (an SQL expression over `n`): the
/// one home of the routing rule, used by the feed (through `visible`) and by the notification mail. A
/// company whose manager is an active staff account has its staff notifications reach that manager only;
/// an escalated copy, and everything about a company without one, reaches every staff member.
pub fn reaches_staff(account: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM companies_view mc JOIN accounts ma ON ma.account_id = mc.manager_account_id \
           WHERE mc.company_id = n.company_id AND n.kind <> 'notification_escalated' \
             AND n.recorded_at >= mc.manager_since AND ma.blocked_at IS NULL AND ma.deleted_at IS NULL AND ma.account_id <> {account})"
    )
}

/// A notification as an account sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    /// Id.
    pub id: Uuid,
    /// The company (None: every client).
    pub company_id: Option<Uuid>,
    /// The kind's stored name.
    pub kind: String,
    /// Title in Russian.
    pub title_ru: String,
    /// Text in Russian.
    pub text_ru: String,
    /// Title in English.
    pub title_en: String,
    /// Text in English.
    pub text_en: String,
    /// The values the texts are made of.
    pub params: Value,
    /// What it links to.
    pub entity_type: String,
    /// The linked entity's id.
    pub entity_id: String,
    /// Business day it arose on.
    pub business_date: Option<NaiveDate>,
    /// When its event was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Its event's transaction id.
    pub txid: i64,
    /// Its event's position.
    pub position: i64,
    /// Its ordinal.
    pub ordinal: i32,
    /// Whether this account marked it read.
    pub read: bool,
}

impl NotificationRow {
    /// Its place in the global order.
    pub fn place(&self) -> Position {
        Position {
            transaction_id: self.txid,
            position: self.position,
            ordinal: self.ordinal,
        }
    }
}

const COLUMNS: &str = "n.id, n.company_id, n.kind, n.title_ru, n.text_ru, n.title_en, n.text_en, n.params, \
     n.entity_type, n.entity_id, n.business_date, n.recorded_at, n.transaction_id::text::bigint AS txid, \
     n.position, n.ordinal, \
     EXISTS (SELECT 1 FROM notification_reads r WHERE r.account_id = $3 AND r.notification_id = n.id) AS read";

/// A page of the scope's notifications, newest first, before `before`, at most `limit`.
///
/// # Errors
/// A database error.
pub async fn list(
    pool: &PgPool,
    scope: &Scope,
    unread_only: bool,
    before: Option<Position>,
    limit: i64,
) -> Result<Vec<NotificationRow>, sqlx::Error> {
    let visible = visible();
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notifications n WHERE {visible} AND (NOT $4 OR {UNREAD}) \
           AND ($5::bigint IS NULL OR (n.transaction_id, n.position, n.ordinal) < ($5::bigint::text::xid8, $6, $7)) \
         ORDER BY n.transaction_id DESC, n.position DESC, n.ordinal DESC LIMIT $8"
    ))
    .bind(scope.staff)
    .bind(scope.companies.as_deref())
    .bind(scope.account)
    .bind(unread_only)
    .bind(before.map(|b| b.transaction_id))
    .bind(before.map(|b| b.position))
    .bind(before.map(|b| b.ordinal))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The scope's notifications after `after` in the global order, oldest first, from finished transactions
/// only (below the commit horizon, and at least `floor`, so nothing committed later can slip in before
/// them), at most `limit`.
///
/// # Errors
/// A database error.
pub async fn since(
    pool: &PgPool,
    scope: &Scope,
    after: Position,
    limit: i64,
    floor: i64,
) -> Result<Vec<NotificationRow>, sqlx::Error> {
    let visible = visible();
    let bound = horizon::read_at_least(pool, floor).await?;
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notifications n WHERE {visible} \
           AND (n.transaction_id, n.position, n.ordinal) > ($4::bigint::text::xid8, $5, $6) \
           AND {} \
         ORDER BY n.transaction_id, n.position, n.ordinal LIMIT $7",
        horizon::below("n.transaction_id", 8)
    ))
    .bind(scope.staff)
    .bind(scope.companies.as_deref())
    .bind(scope.account)
    .bind(after.transaction_id)
    .bind(after.position)
    .bind(after.ordinal)
    .bind(limit)
    .bind(bound)
    .fetch_all(pool)
    .await
}

/// How many of the scope's notifications the account has not read.
///
/// # Errors
/// A database error.
pub async fn unread_count(pool: &PgPool, scope: &Scope) -> Result<i64, sqlx::Error> {
    count(pool, scope, true).await
}

/// How many notifications the scope sees (only the unread with `unread_only`): `list`'s total.
///
/// # Errors
/// A database error.
pub async fn count(pool: &PgPool, scope: &Scope, unread_only: bool) -> Result<i64, sqlx::Error> {
    let visible = visible();
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM notifications n WHERE {visible} AND (NOT $4 OR {UNREAD})"
    ))
    .bind(scope.staff)
    .bind(scope.companies.as_deref())
    .bind(scope.account)
    .bind(unread_only)
    .fetch_one(pool)
    .await
}

/// Not read by the account `$3`.
const UNREAD: &str = "NOT EXISTS (SELECT 1 FROM notification_reads r \
    WHERE r.account_id = $3 AND r.notification_id = n.id)";

/// Marks `ids` read for the account; returns how many were newly marked.
///
/// # Errors
/// VALIDATION on `ids` when empty or too many; NOT_FOUND naming `ids` when one is not visible to the scope
/// (nothing is marked then); a database error.
pub async fn mark_read(pool: &PgPool, scope: &Scope, ids: &[Uuid]) -> Result<i64, ApiError> {
    let visible = visible();
    if ids.is_empty() || ids.len() > MAX_MARK {
        return Err(ApiError::validation(
            "ids",
            format!("give 1 to {MAX_MARK} notification ids"),
        ));
    }
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let mut tx = pool.begin().await?;
    let seen: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM notifications n WHERE {visible} AND n.id = ANY($4)"
    ))
    .bind(scope.staff)
    .bind(scope.companies.as_deref())
    .bind(scope.account)
    .bind(&unique)
    .fetch_one(&mut *tx)
    .await?;
    if seen != unique.len() as i64 {
        return Err(ApiError::NotFound(
            "ids: a notification is not one of yours".into(),
        ));
    }
    let marked = sqlx::query(
        "INSERT INTO notification_reads (account_id, notification_id) SELECT $1, unnest($2::uuid[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(scope.account)
    .bind(&unique)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if marked > 0 {
        announce_reads(&mut tx, scope.account).await?;
    }
    tx.commit().await?;
    Ok(marked as i64)
}

/// Tells every node's live feed, on commit, that `account` read something (its unread count changed).
async fn announce_reads(conn: &mut sqlx::PgConnection, account: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(crate::app::live::READS_CHANNEL)
        .bind(account.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks every notification of the scope read; returns how many were newly marked.
///
/// # Errors
/// A database error.
pub async fn mark_all(pool: &PgPool, scope: &Scope) -> Result<i64, sqlx::Error> {
    let visible = visible();
    let mut tx = pool.begin().await?;
    let marked = sqlx::query(&format!(
        "INSERT INTO notification_reads (account_id, notification_id) \
         SELECT $3, n.id FROM notifications n WHERE {visible} ON CONFLICT DO NOTHING"
    ))
    .bind(scope.staff)
    .bind(scope.companies.as_deref())
    .bind(scope.account)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if marked > 0 {
        announce_reads(&mut tx, scope.account).await?;
    }
    tx.commit().await?;
    Ok(marked as i64)
}

/// The account's mail choice for every kind of its audience: (kind, mailed, the default).
///
/// # Errors
/// A database error.
pub async fn preferences(
    pool: &PgPool,
    account: Uuid,
    staff: bool,
) -> Result<Vec<(NotificationKind, bool, bool)>, sqlx::Error> {
    let chosen: Vec<(String, bool)> =
        sqlx::query_as("SELECT kind, email FROM notification_preferences WHERE account_id = $1")
            .bind(account)
            .fetch_all(pool)
            .await?;
    let audience = if staff {
        projections::views::notifications::Audience::Staff
    } else {
        projections::views::notifications::Audience::Client
    };
    Ok(NotificationKind::ALL
        .iter()
        .filter(|k| k.audience() == audience)
        .map(|&k| {
            let default = k.email_by_default();
            let email = chosen
                .iter()
                .find(|(c, _)| c == k.as_str())
                .map_or(default, |(_, e)| *e);
            (k, email, default)
        })
        .collect())
}

/// Records the account's choices; a choice equal to the default is stored as no choice.
///
/// # Errors
/// A database error.
pub async fn set_preferences(
    pool: &PgPool,
    account: Uuid,
    choices: &[(NotificationKind, bool)],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for &(kind, email) in choices {
        if email == kind.email_by_default() {
            sqlx::query("DELETE FROM notification_preferences WHERE account_id = $1 AND kind = $2")
                .bind(account)
                .bind(kind.as_str())
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO notification_preferences (account_id, kind, email) VALUES ($1, $2, $3) \
                 ON CONFLICT (account_id, kind) DO UPDATE SET email = EXCLUDED.email",
            )
            .bind(account)
            .bind(kind.as_str())
            .bind(email)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await
}

/// How far before the cutoff the routing process looks: a notification that waited this long past its
/// time was either handled or is stale, and the look stays a week of staff notifications however long the
/// history (a routing process stopped for longer hands up nothing older).
pub const ESCALATION_WINDOW_DAYS: i64 = 7;

/// Hands to the back office the staff notifications recorded before `cutoff` (and within
/// [`ESCALATION_WINDOW_DAYS`] before it) that their company's manager (an active staff account, manager
/// since before they arose) has not read and that were not handed up before: one `NotificationsEscalated`
/// per company, at most 1,000 notifications a run. Returns how many were handed up. Safe on several nodes at
/// once: an inbox looked through to a place ignores the same look again.
///
/// # Errors
/// A database error or a refused command.
pub async fn escalate(app: &crate::app::App, cutoff: DateTime<Utc>) -> Result<usize, ApiError> {
    let rows: Vec<(Uuid, Uuid, Uuid, i64, i64, i32)> = sqlx::query_as(
        "SELECT n.company_id, mc.manager_account_id, n.id, n.transaction_id::text::bigint, n.position, n.ordinal \
         FROM notifications n \
         JOIN companies_view mc ON mc.company_id = n.company_id \
         JOIN accounts ma ON ma.account_id = mc.manager_account_id \
         WHERE n.audience = 'staff' AND n.kind <> 'notification_escalated' AND n.recorded_at < $1 \
           AND n.recorded_at >= $1 - make_interval(days => $2::int) AND n.recorded_at >= mc.manager_since AND ma.blocked_at IS NULL AND ma.deleted_at IS NULL \
           AND NOT EXISTS (SELECT 1 FROM notification_reads r \
                           WHERE r.account_id = ma.account_id AND r.notification_id = n.id) \
           AND NOT EXISTS (SELECT 1 FROM notifications e \
                           WHERE e.kind = 'notification_escalated' AND e.params ->> 'of' = n.id::text) \
         ORDER BY n.company_id, n.transaction_id, n.position, n.ordinal LIMIT 1000",
    )
    .bind(cutoff)
    .bind(ESCALATION_WINDOW_DAYS as i32)
    .fetch_all(&app.pool)
    .await?;
    let mut escalated = 0;
    for group in rows.chunk_by(|a, b| a.0 == b.0) {
        let (company, manager) = (group[0].0, group[0].1);
        let last = group[group.len() - 1];
        let through = domain::inbox::InboxPlace {
            transaction_id: last.3,
            position: last.4,
            ordinal: last.5,
        };
        let notifications: Vec<Uuid> = group.iter().map(|r| r.2).collect();
        let out = app
            .inbox
            .execute(
                &company.to_string(),
                domain::inbox::StaffInboxCommand::Escalate {
                    company_id: company,
                    manager,
                    waited_minutes: app.manager_first_minutes,
                    through,
                    notifications: notifications.clone(),
                },
                &projections::store::event::CommandMeta::system("staff-routing"),
            )
            .await
            .map_err(|e| crate::error::content_command_error(e, "input."))?;
        if out.events > 0 {
            escalated += notifications.len();
        }
    }
    Ok(escalated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_reads_back_as_written_and_anything_else_names_the_field() {
        let p = Position {
            transaction_id: 812,
            position: 4051,
            ordinal: 2,
        };
        assert_eq!(p.to_string(), "812.4051.2");
        assert_eq!(Position::parse("812.4051.2", "after").unwrap(), p);
        for bad in ["", "1.2", "1.2.3.4", "a.b.c", "1.2.x"] {
            let e = Position::parse(bad, "after").unwrap_err();
            assert!(format!("{e:?}").contains("after"), "{bad}: {e:?}");
        }
    }
}
