//! The provisioning process manager (`account-provisioning`): a catch-up consumer of ContractConcluded.
//! When a contract names a contact e-mail with no account, it opens a CLIENT account linked to the lessee
//! and mails a temporary password (valid 10 days); when the login exists, it links the further company and
//! tells the person. Its effects (account, link, security-log entry, outbox mail) commit in the same
//! transaction as its checkpoint: each contract provisions exactly once, and a crash repeats nothing.
//!
//! A login held by a staff account is left alone (a staff account never silently becomes a client's); a
//! blocked one is linked but stays blocked; a deleted one is opened again with a new temporary password,
//! since a new contract is a new purpose for the data.

use async_trait::async_trait;
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::auth::security::{self, Entry, SecurityEventKind as Kind};
use crate::auth::{accounts, passwords, Role};
use crate::mail::templates::{self, Locale};
use crate::mail::{Cause, Outbox};
use projections::engine::error::ProjectionError;
use projections::engine::process_manager::ProcessManager;
use projections::store::event::StoredEvent;

/// The consumer.
pub struct Provisioning {
    outbox: Outbox,
}

impl Provisioning {
    /// A process manager mailing through `outbox`.
    pub fn new(outbox: Outbox) -> Self {
        Self { outbox }
    }
}

/// The fields of ContractConcluded it reads (the rest, the schedule above all, is never decoded).
#[derive(Deserialize)]
struct Concluded {
    company_id: Uuid,
    number: String,
    contact_email:
        domain::values::Personal<domain::values::Email, domain::values::personal::Contact>,
}

#[derive(Deserialize)]
enum Payload {
    ContractConcluded(Concluded),
}

#[derive(sqlx::FromRow)]
struct Existing {
    account_id: Uuid,
    roles: Vec<String>,
    deleted: bool,
    locale: String,
}

/// What provisioning did for one contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provisioned {
    /// A new (or reopened) account, with a temporary password mailed.
    Opened(Uuid),
    /// An existing account was linked to this further company.
    Linked(Uuid),
    /// The account already served this company.
    AlreadyLinked(Uuid),
    /// The login belongs to a staff account; nothing was done.
    StaffLogin(Uuid),
}

impl Provisioning {
    /// Provisions the contact person of `company_id` on `conn` (the caller's transaction); the mail records
    /// `cause`.
    ///
    /// # Errors
    /// A database error, or hashing failed.
    pub async fn provision(
        &self,
        conn: &mut PgConnection,
        company_id: Uuid,
        email: &str,
        contract_number: &str,
        cause: &Cause,
    ) -> Result<Provisioned, ProjectionError> {
        let email = email.trim().to_lowercase();
        let company: String =
            sqlx::query_scalar("SELECT short_name FROM companies_view WHERE company_id = $1")
                .bind(company_id)
                .fetch_optional(&mut *conn)
                .await?
                .unwrap_or_else(|| company_id.to_string());
        let existing: Option<Existing> = sqlx::query_as(
            "SELECT account_id, roles, deleted_at IS NOT NULL AS deleted, locale FROM accounts \
             WHERE email = $1 FOR UPDATE",
        )
        .bind(&email)
        .fetch_optional(&mut *conn)
        .await?;
        let detail = format!("contract {contract_number}");
        match existing {
            Some(a) if !a.roles.iter().any(|r| r == Role::Client.as_str()) => {
                tracing::warn!(account = %a.account_id, contract = contract_number, "a contract names a staff login as its contact; no client access given");
                Ok(Provisioned::StaffLogin(a.account_id))
            }
            Some(a) if !a.deleted => {
                if !accounts::link_company(conn, a.account_id, company_id).await? {
                    return Ok(Provisioned::AlreadyLinked(a.account_id));
                }
                let mut e = Entry::new(a.account_id, Kind::CompanyLinked, None);
                e.detail = Some(&detail);
                security::record(conn, e).await?;
                let letter = templates::company_linked(
                    Locale::parse(&a.locale),
                    &self.outbox.site,
                    &company,
                );
                self.outbox
                    .enqueue_caused(conn, &email, letter, Some(cause))
                    .await?;
                Ok(Provisioned::Linked(a.account_id))
            }
            existing => {
                let password = passwords::generate_temporary();
                let hash = passwords::hash_async(passwords::SYSTEM, password.clone())
                    .await
                    .map_err(|e| ProjectionError::Effect(e.message()))?;
                let (account_id, locale) = match existing {
                    Some(a) => {
                        sqlx::query(
                            "UPDATE accounts SET deleted_at = NULL, destroy_personal_data_by = NULL, \
                               roles = '{CLIENT}' WHERE account_id = $1",
                        )
                        .bind(a.account_id)
                        .execute(&mut *conn)
                        .await?;
                        (a.account_id, a.locale)
                    }
                    None => {
                        let id: Uuid = sqlx::query_scalar(
                            "INSERT INTO accounts (account_id, email, password_hash, roles, must_change_password) \
                             VALUES ($1, $2, $3, '{CLIENT}', true) RETURNING account_id",
                        )
                        .bind(Uuid::now_v7())
                        .bind(&email)
                        .bind(&hash)
                        .fetch_one(&mut *conn)
                        .await?;
                        (id, "ru".to_owned())
                    }
                };
                let expires = accounts::set_temporary_password(conn, account_id, &hash).await?;
                accounts::link_company(conn, account_id, company_id).await?;
                let mut e = Entry::new(account_id, Kind::Provisioned, None);
                e.detail = Some(&detail);
                security::record(conn, e).await?;
                let letter = templates::temporary_password(
                    Locale::parse(&locale),
                    &self.outbox.site,
                    &company,
                    &email,
                    &password,
                    expires,
                );
                self.outbox
                    .enqueue_caused(conn, &email, letter, Some(cause))
                    .await?;
                Ok(Provisioned::Opened(account_id))
            }
        }
    }
}

#[async_trait]
impl ProcessManager for Provisioning {
    fn name(&self) -> &'static str {
        "account-provisioning"
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["Contract"])
    }

    async fn handle(
        &self,
        conn: &mut PgConnection,
        e: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        if e.event_type != "ContractConcluded" {
            return Ok(());
        }
        let Payload::ContractConcluded(c) = e.decode_event()?;
        // The contact's data destroyed since (a replay after destruction): nobody to provision.
        let Some(email) = c.contact_email.get() else {
            return Ok(());
        };
        let outcome = self
            .provision(
                conn,
                c.company_id,
                email.as_str(),
                &c.number,
                &Cause::event(e),
            )
            .await?;
        tracing::info!(
            contract = e.aggregate_id,
            ?outcome,
            "contact person provisioned"
        );
        Ok(())
    }
}
