//! The runtime role: what a `serve --no-migrate` process needs and nothing more. `cabinet migrate` runs as the
//! schema's owner and changes the schema; the serving processes connect as a role that owns nothing, may read
//! and write rows, and may only append to the event log (no UPDATE, DELETE or TRUNCATE on `events`: history
//! cannot be rewritten from a serving process, whatever goes wrong in it).

use sqlx::PgPool;

use crate::postgres::db::{quote_ident, RoleStanding};

/// Why the grant was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeRoleError {
    /// No role of that name.
    #[error("--grant-runtime: there is no role {0:?}; create it first: CREATE ROLE {0} LOGIN PASSWORD '…'")]
    NoSuchRole(String),
    /// A superuser passes every check: no grant can limit it.
    #[error(
        "--grant-runtime: {0:?} is a superuser or bypasses row security: no grant can limit it"
    )]
    Privileged(String),
    /// The database refused.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The statements that give `role` the runtime privileges on `database`, in order.
pub fn grants(role: &str, database: &str) -> Vec<String> {
    let r = quote_ident(role);
    vec![
        format!(
            "GRANT CONNECT, TEMPORARY ON DATABASE {} TO {r}",
            quote_ident(database)
        ),
        format!("GRANT USAGE ON SCHEMA public TO {r}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}"),
        format!("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {r}"),
        // The log is appended to, never changed, from a serving process; its archived partitions are read.
        format!("REVOKE UPDATE, DELETE, TRUNCATE ON events FROM {r}"),
        // The partitions themselves are tables of their own: written only through `events`.
        format!(
            "DO $grant$ DECLARE p regclass; BEGIN \
               FOR p IN SELECT relation FROM event_partitions LOOP \
                 EXECUTE format('REVOKE ALL ON %s FROM %s', p, '{}'); \
               END LOOP; END $grant$",
            r.replace('\'', "''")
        ),
        format!("GRANT USAGE ON SCHEMA archive TO {r}"),
        format!("GRANT SELECT ON ALL TABLES IN SCHEMA archive TO {r}"),
        // The migrations' own bookkeeping: read (to check the schema is current), never written.
        format!("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON _sqlx_migrations FROM {r}"),
        format!("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON personal_data_rewrite FROM {r}"),
        // The streams' versions are the log's (written by its trigger, as the owner); the partitioning is
        // the operator's.
        format!("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON event_streams FROM {r}"),
        format!("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON event_partitioning FROM {r}"),
    ]
}

/// Gives `role` the runtime privileges on the current schema (run after each migration: new tables need
/// them too; `cabinet migrate --grant-runtime ROLE` does both).
///
/// # Errors
/// No such role, a superuser role, or the database refuses.
pub async fn grant(pool: &PgPool, role: &str) -> Result<(), RuntimeRoleError> {
    match crate::postgres::db::role_standing(pool, role).await? {
        RoleStanding::Missing => return Err(RuntimeRoleError::NoSuchRole(role.to_owned())),
        RoleStanding::Unlimited => return Err(RuntimeRoleError::Privileged(role.to_owned())),
        RoleStanding::Limitable => {}
    }
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await?;
    let mut tx = pool.begin().await?;
    for statement in grants(role, &database) {
        sqlx::query(&statement).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
