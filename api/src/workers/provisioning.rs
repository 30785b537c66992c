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

use crate::auth::people;
use crate::auth::security::SecurityEventKind as Kind;
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

/// What provisioning did for one contract.
pub use crate::auth::people::Admitted as Provisioned;

impl Provisioning {
    /// Provisions the contact person of `company_id` on `conn` (the caller's transaction) through the one
    /// way a person joins a company ([`people::admit`]): director when the company has none yet, viewer
    /// otherwise (its director decides more). The mail records `cause`.
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
        let role = people::contact_role(conn, company_id).await?;
        let detail = format!("contract {contract_number} ({})", role.as_str());
        let outcome = people::admit(
            conn,
            &self.outbox,
            email,
            company_id,
            role,
            Kind::CompanyLinked,
            &detail,
            Some(cause),
        )
        .await
        .map_err(|e| ProjectionError::Effect(e.message()))?;
        if let Provisioned::StaffLogin(a) = outcome {
            tracing::warn!(account = %a, contract = contract_number, "a contract names a staff login as its contact; no client access given");
        }
        Ok(outcome)
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
