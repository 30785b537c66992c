//! The analysts' read-only access: the role `cabinet_analyst` reads the `analytics` schema (views over the
//! read models without personal data) and nothing else. Migration 0009 creates the role and its grants;
//! `cabinet analysts grant --role NAME` gives it to a login role.

use sqlx::PgPool;

use crate::postgres::db::{quote_ident, RoleStanding};

/// The group role analysts' logins are members of.
pub const ROLE: &str = "cabinet_analyst";

/// Why a grant was refused.
#[derive(Debug, thiserror::Error)]
pub enum AnalystError {
    /// No role of that name.
    #[error("--role: there is no role {0:?}; create the login first: CREATE ROLE {0} LOGIN PASSWORD '…'")]
    NoSuchRole(String),
    /// The role bypasses every permission check.
    #[error(
        "--role: {0:?} is a superuser or bypasses row security: no grant can make it read-only"
    )]
    Privileged(String),
    /// The role is the analyst group itself.
    #[error("--role: give {ROLE} to a login role, not to itself")]
    Itself,
    /// The database refused (no CREATEROLE, for one).
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Creates the group role when it is missing and (re)applies its grants on the `analytics` schema.
///
/// # Errors
/// A database error (the connected user may not create roles: a DBA then runs `CREATE ROLE cabinet_analyst
/// NOLOGIN`).
pub async fn ensure_role(pool: &PgPool) -> Result<(), sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(ROLE)
            .fetch_one(pool)
            .await?;
    if !exists {
        sqlx::query(&format!("CREATE ROLE {} NOLOGIN", quote_ident(ROLE)))
            .execute(pool)
            .await?;
    }
    let r = quote_ident(ROLE);
    for sql in [
        format!("GRANT USAGE ON SCHEMA analytics TO {r}"),
        format!("GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO {r}"),
    ] {
        sqlx::query(&sql).execute(pool).await?;
    }
    Ok(())
}

/// Gives the analyst role to the login `role`: member of `cabinet_analyst`, sessions read-only by default,
/// `analytics` first on its search path.
///
/// # Errors
/// No such role, a superuser, or the database refused.
pub async fn grant(pool: &PgPool, role: &str) -> Result<(), AnalystError> {
    if role == ROLE {
        return Err(AnalystError::Itself);
    }
    match crate::postgres::db::role_standing(pool, role).await? {
        RoleStanding::Missing => return Err(AnalystError::NoSuchRole(role.to_owned())),
        RoleStanding::Unlimited => return Err(AnalystError::Privileged(role.to_owned())),
        RoleStanding::Limitable => {}
    }
    ensure_role(pool).await?;
    let login = quote_ident(role);
    for sql in [
        format!("GRANT {} TO {login}", quote_ident(ROLE)),
        format!("ALTER ROLE {login} SET default_transaction_read_only = on"),
        format!("ALTER ROLE {login} SET search_path = analytics"),
    ] {
        sqlx::query(&sql).execute(pool).await?;
    }
    Ok(())
}

/// Takes the analyst role away from `role` and resets the session defaults `grant` set.
///
/// # Errors
/// No such role, or the database refused.
pub async fn revoke(pool: &PgPool, role: &str) -> Result<(), AnalystError> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(role)
            .fetch_one(pool)
            .await?;
    if !exists {
        return Err(AnalystError::NoSuchRole(role.to_owned()));
    }
    let login = quote_ident(role);
    for sql in [
        format!("REVOKE {} FROM {login}", quote_ident(ROLE)),
        format!("ALTER ROLE {login} RESET default_transaction_read_only"),
        format!("ALTER ROLE {login} RESET search_path"),
    ] {
        sqlx::query(&sql).execute(pool).await?;
    }
    Ok(())
}

/// The roles that hold `cabinet_analyst`.
///
/// # Errors
/// A database error.
pub async fn list(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT m.rolname::text FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid \
         JOIN pg_roles m ON m.oid = a.member WHERE g.rolname = $1 ORDER BY 1",
    )
    .bind(ROLE)
    .fetch_all(pool)
    .await
}
