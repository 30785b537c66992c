//! Accounts: login e-mail, argon2id password hash, roles, company links, state. Never in the event log.
//! These are the table operations; the flows that combine them with mails and the security log are in
//! [`super::service`].

use chrono::{DateTime, Utc};
use domain::values::Email;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{passwords, Role};
use crate::error::ApiError;
use crate::mail::templates::Locale;

/// How long a temporary password stays valid.
pub const TEMPORARY_PASSWORD_DAYS: i64 = 10;

/// Creates an account with a password the caller chose (staff accounts from `cabinet accounts create`,
/// demo and test accounts), or — when `replace_password` and it exists — sets its password and roles.
/// Returns its id.
///
/// # Errors
/// VALIDATION when the password breaks the policy, or the e-mail is taken and `replace_password` is false;
/// a database error.
pub async fn create_account(
    pool: &PgPool,
    email: &Email,
    password: &str,
    roles: &[Role],
    replace_password: bool,
) -> Result<Uuid, ApiError> {
    passwords::check_field("password", password, email.as_str())?;
    let hash = passwords::hash_async(passwords::SYSTEM, password.to_owned()).await?;
    let roles = role_names(roles);
    let sql = if replace_password {
        "INSERT INTO accounts (account_id, email, password_hash, roles, password_changed_at) \
         VALUES ($1, $2, $3, $4, clock_timestamp()) \
         ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, roles = EXCLUDED.roles, \
           must_change_password = false, temporary_password_expires_at = NULL, blocked_at = NULL, \
           deleted_at = NULL, destroy_personal_data_by = NULL \
         RETURNING account_id"
    } else {
        "INSERT INTO accounts (account_id, email, password_hash, roles, password_changed_at) \
         VALUES ($1, $2, $3, $4, clock_timestamp()) ON CONFLICT (email) DO NOTHING RETURNING account_id"
    };
    let id: Option<Uuid> = sqlx::query_scalar(sql)
        .bind(Uuid::now_v7())
        .bind(email.as_str())
        .bind(hash)
        .bind(&roles)
        .fetch_optional(pool)
        .await?;
    id.ok_or_else(|| ApiError::validation("email", "an account with this e-mail already exists"))
}

/// The language of an account's mails (Russian when the account is unknown).
///
/// # Errors
/// A database error.
pub async fn locale<'e>(
    db: impl sqlx::PgExecutor<'e>,
    account_id: Uuid,
) -> Result<Locale, sqlx::Error> {
    let code: Option<String> =
        sqlx::query_scalar("SELECT locale FROM accounts WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(db)
            .await?;
    Ok(Locale::parse(code.as_deref().unwrap_or_default()))
}

/// The stored names of roles.
pub fn role_names(roles: &[Role]) -> Vec<&'static str> {
    roles.iter().map(|r| r.as_str()).collect()
}

/// Links an account to a company with `role` there; true when the link is new (an existing link keeps its
/// role).
///
/// # Errors
/// A database error.
pub async fn link_company(
    conn: &mut PgConnection,
    account_id: Uuid,
    company_id: Uuid,
    role: super::CompanyRole,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO account_companies (account_id, company_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(account_id)
    .bind(company_id)
    .bind(role.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// What sign-in needs of an account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoginRow {
    /// The account.
    pub account_id: Uuid,
    /// Its PHC hash.
    pub password_hash: String,
    /// Blocked by staff.
    pub blocked: bool,
    /// A temporary password that has expired.
    pub temporary_expired: bool,
    /// Mail language.
    pub locale: String,
}

/// The sign-in record of a login that is not deleted.
///
/// # Errors
/// A database error.
pub async fn find_login(pool: &PgPool, email: &str) -> Result<Option<LoginRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT account_id, password_hash, blocked_at IS NOT NULL AS blocked, \
                coalesce(must_change_password AND temporary_password_expires_at <= clock_timestamp(), false) \
                  AS temporary_expired, locale \
         FROM accounts WHERE email = $1 AND deleted_at IS NULL",
    )
    .bind(email)
    .fetch_optional(pool)
    .await
}

/// An account as staff see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    /// Id.
    pub account_id: Uuid,
    /// Login.
    pub email: String,
    /// Stored role names.
    pub roles: Vec<String>,
    /// Linked companies.
    pub companies: Vec<Uuid>,
    /// A temporary password is pending.
    pub must_change_password: bool,
    /// When a pending temporary password expires.
    pub temporary_password_expires_at: Option<DateTime<Utc>>,
    /// Blocked by staff since.
    pub blocked_at: Option<DateTime<Utc>>,
    /// Why.
    pub blocked_reason: Option<String>,
    /// Deleted on request at.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Personal data destroyed by.
    pub destroy_personal_data_by: Option<DateTime<Utc>>,
    /// Last accepted terms version.
    pub terms_accepted_version: Option<i32>,
    /// Mail language.
    pub locale: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last password change.
    pub password_changed_at: Option<DateTime<Utc>>,
}

const ACCOUNT_COLUMNS: &str = "a.account_id, a.email, a.roles, \
    coalesce((SELECT array_agg(l.company_id ORDER BY l.company_id) FROM account_companies l \
              WHERE l.account_id = a.account_id), '{}') AS companies, \
    a.must_change_password, a.temporary_password_expires_at, a.blocked_at, a.blocked_reason, a.deleted_at, \
    a.destroy_personal_data_by, a.terms_accepted_version, a.locale, a.created_at, a.password_changed_at";

/// One account.
///
/// # Errors
/// A database error.
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.account_id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
}

/// Accounts in creation order after `after` (an id), optionally only those whose login contains `search`
/// or that have `role`.
///
/// # Errors
/// A database error.
pub async fn list(
    pool: &PgPool,
    after: Option<Uuid>,
    search: Option<&str>,
    role: Option<Role>,
    limit: i64,
) -> Result<Vec<AccountRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.account_id > $1 AND {ACCOUNT_FILTER} \
         ORDER BY a.account_id LIMIT $4"
    ))
    .bind(after.unwrap_or(Uuid::nil()))
    .bind(search)
    .bind(role.map(Role::as_str))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The condition of `list`: `$2` a part of the login, `$3` a role.
const ACCOUNT_FILTER: &str =
    "($2::text IS NULL OR strpos(a.email, lower($2)) > 0) AND ($3::text IS NULL OR $3 = ANY (a.roles))";

/// How many accounts `list` finds over every page.
///
/// # Errors
/// A database error.
pub async fn count(
    pool: &PgPool,
    search: Option<&str>,
    role: Option<Role>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM accounts a WHERE $1::uuid IS NULL AND {ACCOUNT_FILTER}"
    ))
    .bind(None::<Uuid>)
    .bind(search)
    .bind(role.map(Role::as_str))
    .fetch_one(pool)
    .await
}

/// Sets a password the owner chose: the temporary state, if any, ends.
///
/// # Errors
/// A database error.
pub async fn set_password(
    conn: &mut PgConnection,
    account_id: Uuid,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE accounts SET password_hash = $2, must_change_password = false, \
           temporary_password_expires_at = NULL, password_changed_at = clock_timestamp() \
         WHERE account_id = $1",
    )
    .bind(account_id)
    .bind(hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets a temporary password (valid [`TEMPORARY_PASSWORD_DAYS`]); returns when it expires.
///
/// # Errors
/// A database error.
pub async fn set_temporary_password(
    conn: &mut PgConnection,
    account_id: Uuid,
    hash: &str,
) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE accounts SET password_hash = $2, must_change_password = true, \
           temporary_password_expires_at = clock_timestamp() + make_interval(days => $3::int) \
         WHERE account_id = $1 RETURNING temporary_password_expires_at",
    )
    .bind(account_id)
    .bind(hash)
    .bind(TEMPORARY_PASSWORD_DAYS as i32)
    .fetch_one(&mut *conn)
    .await
}

/// A company's obligations that keep its people's accounts: active contracts and unpaid debt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Obligation {
    /// The company.
    pub company_id: Uuid,
    /// Its short name.
    pub name: Option<String>,
    /// Contracts neither completed nor terminated.
    pub active_contracts: i64,
    /// Unpaid debt (leasing payments due, penalties, fines, insurance), net of credit.
    pub debt: rust_decimal::Decimal,
}

/// Today's business date in SQL: the business clock's, or the calendar's before its first day.
pub const BUSINESS_TODAY: &str =
    "coalesce((SELECT business_date FROM business_day_view), current_date)";

/// Deactivates the account (unless it is already) and schedules the destruction of its personal data for
/// the business day `days` after today's (a deadline set before is kept); every session ends. The one
/// rule for a deletion, a withdrawn consent and the job that acts on a consent a contract no longer keeps.
/// Returns (deactivated at, destroy personal data by).
///
/// # Errors
/// A database error.
pub async fn schedule_destruction(
    conn: &mut PgConnection,
    account_id: Uuid,
    days: u32,
) -> Result<(DateTime<Utc>, DateTime<Utc>), sqlx::Error> {
    let scheduled = sqlx::query_as(&format!(
        "UPDATE accounts SET deleted_at = coalesce(deleted_at, clock_timestamp()), \
           destroy_personal_data_by = coalesce(destroy_personal_data_by, \
             (({BUSINESS_TODAY} + $2::int)::timestamp AT TIME ZONE 'UTC')) \
         WHERE account_id = $1 RETURNING deleted_at, destroy_personal_data_by"
    ))
    .bind(account_id)
    .bind(days as i32)
    .fetch_one(&mut *conn)
    .await?;
    super::sessions::revoke_all(conn, account_id, None).await?;
    Ok(scheduled)
}

/// The obligations of the companies an account is linked to (only companies that have some).
///
/// # Errors
/// A database error.
pub async fn obligations(
    conn: &mut PgConnection,
    account_id: Uuid,
) -> Result<Vec<Obligation>, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.company_id, c.short_name AS name, \
                (SELECT count(*) FROM contracts_view v WHERE v.company_id = l.company_id \
                   AND v.status IN ('concluded', 'active')) AS active_contracts, \
                coalesce((SELECT greatest(d.total, 0) FROM company_debt_view d WHERE d.company_id = l.company_id), 0) AS debt \
         FROM account_companies l LEFT JOIN companies_view c ON c.company_id = l.company_id \
         WHERE l.account_id = $1 ORDER BY l.company_id",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await
    .map(|rows: Vec<Obligation>| {
        rows.into_iter()
            .filter(|o| o.active_contracts > 0 || o.debt > rust_decimal::Decimal::ZERO)
            .collect()
    })
}

/// A staff member as clients see their manager: the login is the e-mail.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffProfile {
    /// Id.
    pub account_id: Uuid,
    /// Login (shown as the e-mail).
    pub email: String,
    /// The name clients see.
    pub display_name: Option<String>,
    /// The work phone clients see.
    pub phone: Option<String>,
    /// Stored role names.
    pub roles: Vec<String>,
    /// Neither blocked nor deleted.
    pub active: bool,
}

/// One account's staff profile.
///
/// # Errors
/// A database error.
pub async fn staff_profile(pool: &PgPool, id: Uuid) -> Result<Option<StaffProfile>, sqlx::Error> {
    sqlx::query_as(
        "SELECT account_id, email, display_name, phone, roles, \
                (blocked_at IS NULL AND deleted_at IS NULL) AS active \
         FROM accounts WHERE account_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Sets a staff member's name and work phone (already checked).
///
/// # Errors
/// A database error.
pub async fn set_staff_profile(
    pool: &PgPool,
    id: Uuid,
    name: &str,
    phone: &domain::values::Phone,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET display_name = $2, phone = $3 WHERE account_id = $1")
        .bind(id)
        .bind(name)
        .bind(phone.as_str())
        .execute(pool)
        .await?;
    Ok(())
}
