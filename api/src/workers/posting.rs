//! Posting matched bank payments (`bank-payments`, a process manager over BankPayment events): for each
//! `BankPaymentMatched`, every part is recorded where it belongs — leasing, penalties, fines and credit as
//! a `RecordPayment` on the contract (with the statement's reference), re-billed insurance as
//! `RecordPremiumPaid` on the policy. Exactly once: each command carries an idempotency key derived from the
//! matching event's position and the part. A part the contract or the policy refuses (the contract was
//! completed meanwhile, the premium was paid by another payment) queues the payment for staff again with
//! the refusal (`Requeue`); parts posted before it stay posted (the queue shows the contract and parts).
//!
//! A batch of matched payments (an import's) posts its contract parts together: one `execute_many`
//! transaction per wave of distinct contracts. Those commands carry no idempotency key; a batch repeated
//! after a crash skips the parts already on their contracts (the reference is unique per contract).

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

/// The contract payment part `i` of a matched payment makes (`None` for insurance, which the policy takes):
/// its reference on the contract — the statement's, with the part's kind when the payment pays several
/// things there (one reference per part) — and the `RecordPayment`.
fn contract_payment(
    parts: &[Part],
    i: usize,
    reference: &str,
    date: NaiveDate,
) -> Option<(String, ContractCommand)> {
    let part = parts[i];
    let contract = |p: &Part| p.contract_id;
    let purpose = match part.target {
        Target::Insurance { .. } => return None,
        Target::Leasing => PaymentPurpose::LeasingPayment,
        Target::Penalty => PaymentPurpose::Penalty,
        Target::Fine => PaymentPurpose::Fine,
        Target::Credit => PaymentPurpose::Unallocated,
    };
    // The parts on the same contract (a company-wide invoice's payment has one per contract).
    let on_contract = parts
        .iter()
        .filter(|p| !matches!(p.target, Target::Insurance { .. }) && contract(p) == contract(&part))
        .count();
    let bank_reference = if on_contract > 1 {
        format!("{reference} ({})", part.target.as_str())
    } else {
        reference.to_owned()
    };
    Some((
        bank_reference.clone(),
        ContractCommand::RecordPayment {
            amount: part.amount,
            date,
            bank_reference,
            purpose,
        },
    ))
}

/// A contract part of a payment, ready to post.
struct ContractPart {
    payment: Uuid,
    position: i64,
    contract: Uuid,
    command: ContractCommand,
    bank_reference: String,
    kind: &'static str,
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

    async fn post_many(
        &self,
        conn: &mut PgConnection,
        matched: &[&StoredEvent],
    ) -> Result<(), ProjectionError> {
        let ids: Vec<Uuid> = matched
            .iter()
            .map(|e| e.aggregate_uuid())
            .collect::<Result<_, _>>()?;
        let rows: Vec<(Uuid, String, NaiveDate)> = sqlx::query_as(
            "SELECT payment_id, reference, payment_date FROM bank_payments_view WHERE payment_id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
        let mut parts: Vec<ContractPart> = Vec::new();
        // Payments with policy parts: those go one by one, as `post` does.
        let mut singles: Vec<(&StoredEvent, Uuid, Uuid, Vec<Part>)> = Vec::new();
        for (e, payment) in matched.iter().zip(&ids) {
            let BankPaymentEvent::BankPaymentMatched(m) = e.decode_event()? else {
                continue;
            };
            let Some((_, reference, date)) = rows.iter().find(|r| r.0 == *payment) else {
                return Err(store_error(
                    "posting a bank payment",
                    format!("{payment} is not in the read model"),
                ));
            };
            let mut has_policy_parts = false;
            for (i, part) in m.parts.iter().enumerate() {
                let Some((bank_reference, command)) =
                    contract_payment(&m.parts, i, reference, *date)
                else {
                    has_policy_parts = true;
                    continue;
                };
                parts.push(ContractPart {
                    payment: *payment,
                    position: e.position,
                    contract: part.contract_id.unwrap_or(m.contract_id),
                    command,
                    bank_reference,
                    kind: part.target.as_str(),
                });
            }
            if has_policy_parts {
                singles.push((e, *payment, m.contract_id, m.parts.clone()));
            }
        }
        // Parts already on their contracts (this batch ran before and stopped before its checkpoint).
        let (contracts, references): (Vec<Uuid>, Vec<String>) = parts
            .iter()
            .map(|p| (p.contract, p.bank_reference.clone()))
            .unzip();
        let recorded: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT contract_id, bank_reference FROM payments_view \
             WHERE (contract_id, bank_reference) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))",
        )
        .bind(&contracts)
        .bind(&references)
        .fetch_all(&mut *conn)
        .await?;
        parts.retain(|p| {
            !recorded
                .iter()
                .any(|(c, r)| *c == p.contract && *r == p.bank_reference)
        });
        // Waves of distinct contracts: two commands on one contract in one transaction would race.
        let mut waves: Vec<Vec<ContractPart>> = Vec::new();
        for p in parts {
            match waves
                .iter_mut()
                .find(|w| !w.iter().any(|q| q.contract == p.contract))
            {
                Some(w) => w.push(p),
                None => waves.push(vec![p]),
            }
        }
        let mut meta = CommandMeta::system("bank-payments");
        meta.correlation_id = matched[0]
            .meta("correlation_id")
            .unwrap_or_default()
            .to_owned();
        meta.causation_id = format!("event:{}", matched[0].position);
        let mut refused: Vec<(Uuid, i64, String)> = Vec::new();
        for wave in waves {
            let places: Vec<(Uuid, i64, &'static str)> = wave
                .iter()
                .map(|p| (p.payment, p.position, p.kind))
                .collect();
            let commands: Vec<(String, ContractCommand)> = wave
                .into_iter()
                .map(|p| (p.contract.to_string(), p.command))
                .collect();
            let outcomes = self
                .contracts
                .execute_many(commands, &meta)
                .await
                .map_err(|e| store_error("posting bank payments", e))?;
            for ((_, outcome), (payment, position, kind)) in outcomes.into_iter().zip(places) {
                if let Err(e) = outcome {
                    refused.push((payment, position, format!("{kind}: {e}")));
                }
            }
        }
        for (e, payment, contract, all_parts) in singles {
            self.post(conn, e, payment, contract, &all_parts, true)
                .await?;
        }
        for (payment, position, detail) in refused {
            self.requeue(payment, position, detail).await?;
        }
        Ok(())
    }

    async fn requeue(
        &self,
        payment: Uuid,
        position: i64,
        detail: String,
    ) -> Result<(), ProjectionError> {
        tracing::warn!(payment = %payment, detail, "bank payment part refused; queued for staff");
        let mut meta = CommandMeta::system("bank-payments");
        meta.causation_id = format!("event:{position}");
        meta.idempotency_key = Some(format!("bank-payment-requeue:{position}"));
        match self
            .payments
            .execute(
                &payment.to_string(),
                BankPaymentCommand::Requeue { detail },
                &meta,
            )
            .await
        {
            // Returned or reassigned meanwhile: nothing to queue.
            Ok(_) | Err(CommandError::Rejected(_)) => Ok(()),
            Err(e) => Err(store_error("queuing a refused bank payment", e)),
        }
    }

    async fn post(
        &self,
        conn: &mut PgConnection,
        e: &StoredEvent,
        payment: Uuid,
        contract: Uuid,
        parts: &[Part],
        only_policies: bool,
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
        for (i, part) in parts.iter().enumerate() {
            if only_policies && !matches!(part.target, Target::Insurance { .. }) {
                continue;
            }
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
                _ => {
                    let (_, command) = contract_payment(parts, i, &reference, date)
                        .expect("a part that is not insurance is a contract payment");
                    let on = part.contract_id.unwrap_or(contract);
                    refusal(
                        self.contracts
                            .execute(&on.to_string(), command, &meta)
                            .await,
                    )?
                }
            };
            if let Some(detail) = refused {
                self.requeue(
                    payment,
                    e.position,
                    format!("{}: {detail}", part.target.as_str()),
                )
                .await?;
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

    /// A batch: the contract parts of all its matched payments are posted together, a transaction per
    /// wave of distinct contracts (`execute_many`), the parts already on their contracts (a batch repeated
    /// after a crash) skipped; policy parts and refusals go as in [`Posting::post`].
    async fn handle_batch(
        &self,
        conn: &mut PgConnection,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let matched: Vec<&StoredEvent> = events
            .iter()
            .filter(|e| e.event_type == "BankPaymentMatched")
            .collect();
        if matched.len() <= 1 {
            for e in matched {
                self.handle(conn, e).await?;
            }
            return Ok(());
        }
        self.post_many(conn, &matched).await
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
        self.post(conn, e, payment, m.contract_id, &m.parts, false)
            .await
    }
}
