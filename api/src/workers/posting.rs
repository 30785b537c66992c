//! Posting matched bank payments (`bank-payments`, a process manager over BankPayment events): for each
//! `BankPaymentMatched`, every part is recorded where it belongs — leasing, penalties, fines and credit as
//! a `RecordPayment` on the contract (with the statement's reference), re-billed insurance as
//! `RecordPremiumPaid` on the policy. Exactly once: each command carries an idempotency key derived from the
//! matching event's position and the part. A part the contract or the policy refuses (the contract was
//! completed meanwhile, the premium was paid by another payment) queues the payment for staff again with
//! the refusal (`Requeue`); parts posted before it stay posted (the queue shows the contract and parts).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use domain::contract::{Contract, ContractCommand, PaymentPurpose};
use domain::payments::{BankPayment, BankPaymentCommand, BankPaymentEvent, Part, Target};
use domain::policy::{Policy, PolicyCommand};
use projections::engine::error::ProjectionError;
use projections::engine::process_manager::ProcessManager;
use projections::store::command::{CommandError, CommandExecutor};
use projections::store::event::{CommandMeta, StoredEvent};
use sqlx::PgConnection;
use uuid::Uuid;

/// The consumer.
pub struct Posting {
    contracts: Arc<CommandExecutor<Contract>>,
    policies: Arc<CommandExecutor<Policy>>,
    payments: Arc<CommandExecutor<BankPayment>>,
}

fn store_error<E: std::fmt::Debug>(what: &str, e: E) -> ProjectionError {
    ProjectionError::Effect(format!("{what}: {e:?}"))
}

/// A refusal as text, or a store failure to retry.
fn refusal<E: std::fmt::Display + std::fmt::Debug>(
    r: Result<projections::store::command::CommandOutcome, CommandError<E>>,
) -> Result<Option<String>, ProjectionError> {
    match r {
        Ok(_) => Ok(None),
        Err(CommandError::Rejected(e)) => Ok(Some(e.to_string())),
        // The reference is on the contract already (recorded by hand, or by a posting before a crash
        // without its idempotency record): the part is there.
        Err(CommandError::Unique { constraint }) if constraint == "payments_view_pkey" => Ok(None),
        Err(CommandError::Unique { constraint }) => Ok(Some(format!(
            "the change conflicts with existing data ({constraint})"
        ))),
        Err(e) => Err(store_error("posting a bank payment", e)),
    }
}

impl Posting {
    /// A process manager posting through these executors.
    pub fn new(
        contracts: Arc<CommandExecutor<Contract>>,
        policies: Arc<CommandExecutor<Policy>>,
        payments: Arc<CommandExecutor<BankPayment>>,
    ) -> Self {
        Self {
            contracts,
            policies,
            payments,
        }
    }

    async fn post(
        &self,
        conn: &mut PgConnection,
        e: &StoredEvent,
        payment: Uuid,
        contract: Uuid,
        parts: &[Part],
    ) -> Result<(), ProjectionError> {
        let (reference, date): (String, NaiveDate) = sqlx::query_as(
            "SELECT reference, payment_date FROM bank_payments_view WHERE payment_id = $1",
        )
        .bind(payment)
        .fetch_one(&mut *conn)
        .await?;
        let mut meta = CommandMeta::system("bank-payments");
        meta.causation_id = format!("event:{}", e.position);
        meta.correlation_id = e.meta("correlation_id").unwrap_or_default().to_owned();
        let contract_parts = parts
            .iter()
            .filter(|p| !matches!(p.target, Target::Insurance { .. }))
            .count();
        for (i, part) in parts.iter().enumerate() {
            meta.idempotency_key = Some(format!("bank-payment:{}:{i}", e.position));
            let refused = match part.target {
                Target::Insurance { policy_id } => refusal(
                    self.policies
                        .execute(
                            &policy_id.to_string(),
                            PolicyCommand::RecordPremiumPaid {
                                amount: part.amount,
                                date,
                            },
                            &meta,
                        )
                        .await,
                )?,
                target => {
                    let purpose = match target {
                        Target::Leasing => PaymentPurpose::LeasingPayment,
                        Target::Penalty => PaymentPurpose::Penalty,
                        Target::Fine => PaymentPurpose::Fine,
                        _ => PaymentPurpose::Unallocated,
                    };
                    // One reference per part on the contract: the statement's, with the part's kind when
                    // the payment pays several things there.
                    let bank_reference = if contract_parts > 1 {
                        format!("{reference} ({})", target.as_str())
                    } else {
                        reference.clone()
                    };
                    refusal(
                        self.contracts
                            .execute(
                                &contract.to_string(),
                                ContractCommand::RecordPayment {
                                    amount: part.amount,
                                    date,
                                    bank_reference,
                                    purpose,
                                },
                                &meta,
                            )
                            .await,
                    )?
                }
            };
            if let Some(detail) = refused {
                tracing::warn!(payment = %payment, part = i, detail, "bank payment part refused; queued for staff");
                meta.idempotency_key = Some(format!("bank-payment-requeue:{}", e.position));
                match self
                    .payments
                    .execute(
                        &payment.to_string(),
                        BankPaymentCommand::Requeue {
                            detail: format!("{}: {detail}", part.target.as_str()),
                        },
                        &meta,
                    )
                    .await
                {
                    // Returned or reassigned meanwhile: nothing to queue.
                    Ok(_) | Err(CommandError::Rejected(_)) => {}
                    Err(e) => return Err(store_error("queuing a refused bank payment", e)),
                }
                return Ok(());
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ProcessManager for Posting {
    fn name(&self) -> &'static str {
        "bank-payments"
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["BankPayment"])
    }

    async fn handle(
        &self,
        conn: &mut PgConnection,
        e: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        if e.event_type != "BankPaymentMatched" {
            return Ok(());
        }
        let BankPaymentEvent::BankPaymentMatched(m) = e.decode_event()? else {
            return Ok(());
        };
        let payment = e.aggregate_uuid()?;
        self.post(conn, e, payment, m.contract_id, &m.parts).await
    }
}
