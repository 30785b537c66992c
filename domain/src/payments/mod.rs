//! Incoming bank payments (docs/domain.md "Bank statements"): each credit line of an imported statement is a
//! `BankPayment`, its id derived from the line itself, so a statement imported twice records nothing new. It
//! is received with the matcher's decision — matched to a contract (and split by what the money is for), or
//! queued for staff with the reason — and staff assign a queued payment to a contract or return it to the
//! payer. Every decision is an event; what a matched payment pays is posted to the contract (and to a
//! policy for re-billed insurance) by the `bank-payments` process manager, which queues the payment again
//! with the refusal when a part cannot be posted.
//!
//! [`purpose`] reads what the payer wrote; [`decide`] is the matching rule over what the read models know.

pub mod purpose;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use cqrs_es::{event_sink::EventSink, Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::personal::Payer as PayerRole;
use crate::values::{Money, Personal};
use purpose::{Kind, Reading};

/// What a part of a payment pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Target {
    /// Leasing payments of the contract (oldest open lines first, the rest credit).
    Leasing,
    /// The contract's penalties.
    Penalty,
    /// The contract's re-billed traffic fines.
    Fine,
    /// A policy's re-billed premium.
    Insurance {
        /// The policy.
        policy_id: Uuid,
    },
    /// The contract's credit (used by the next lines as they fall due).
    Credit,
}

impl Target {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Leasing => "leasing",
            Self::Penalty => "penalty",
            Self::Fine => "fine",
            Self::Insurance { .. } => "insurance",
            Self::Credit => "credit",
        }
    }
}

/// A part of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// What it pays.
    pub target: Target,
    /// How much.
    pub amount: Money,
    /// The contract it goes to when not the match's (a company-wide invoice paid at once: a part per
    /// contract it covers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<Uuid>,
}

impl Part {
    /// A part of the match's own contract.
    pub fn new(target: Target, amount: Money) -> Self {
        Self {
            target,
            amount,
            contract_id: None,
        }
    }
}

/// How a payment was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// The УИН of a fine registered on the contract.
    Uin,
    /// The number of an invoice the cabinet issued.
    Invoice,
    /// The contract's number in the purpose, paid by the lessee.
    ContractNumber,
    /// The payer (ИНН, КПП) is a lessee with one open contract.
    Payer,
    /// Assigned by staff from the queue.
    Staff,
}

impl MatchRule {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uin => "uin",
            Self::Invoice => "invoice",
            Self::ContractNumber => "contract_number",
            Self::Payer => "payer",
            Self::Staff => "staff",
        }
    }
}

/// Why a payment waits for staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum QueueReason {
    /// Nothing in it names a contract, an invoice or a fine, and the payer is not a lessee.
    NoMatch,
    /// It names several contracts, or the payer has several open contracts and names none.
    SeveralContracts {
        /// The numbers of the candidates.
        numbers: Vec<String>,
    },
    /// It names a contract of another lessee than the payer (a third party pays: staff confirm).
    PayerIsNotLessee {
        /// The contract named.
        number: String,
    },
    /// The contract it names is completed or terminated.
    ContractClosed {
        /// The contract.
        number: String,
    },
    /// The parts it states add up to more than the amount.
    PartsExceedAmount,
    /// A part could not be posted (the contract or policy refused it).
    PostingRefused {
        /// The refusal.
        detail: String,
    },
    /// It pays more than the company-wide invoice it names: which contract the rest goes to is staff's
    /// decision.
    ExceedsInvoice {
        /// The invoice.
        number: String,
    },
}

impl QueueReason {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NoMatch => "no_match",
            Self::SeveralContracts { .. } => "several_contracts",
            Self::PayerIsNotLessee { .. } => "payer_is_not_lessee",
            Self::ContractClosed { .. } => "contract_closed",
            Self::PartsExceedAmount => "parts_exceed_amount",
            Self::PostingRefused { .. } => "posting_refused",
            Self::ExceedsInvoice { .. } => "exceeds_invoice",
        }
    }
}

/// The payer as the statement names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    /// Name (for an individual entrepreneur a person's name: personal data).
    pub name: Personal<String, PayerRole>,
    /// ИНН.
    pub inn: Option<String>,
    /// КПП.
    pub kpp: Option<String>,
    /// Account.
    pub account: Option<String>,
    /// The bank's БИК.
    pub bank: Option<String>,
}

/// Where a payment was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The import it came with.
    pub import_id: Uuid,
    /// The statement file's SHA-256.
    pub sha256: String,
    /// `1c` or `camt053`.
    pub format: String,
    /// Its line (1C) or entry (camt) in the file.
    pub place: u32,
}

/// A payment as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incoming {
    /// The reference recorded with the payment on the contract (the bank's, or «п/п <number> от <date>»
    /// with the payer).
    pub reference: String,
    /// The payment document's number.
    pub number: String,
    /// Its date.
    pub date: NaiveDate,
    /// When the money reached the lessor's account.
    pub credited_on: Option<NaiveDate>,
    /// Amount.
    pub amount: Money,
    /// Who paid.
    pub payer: Payer,
    /// What the payer wrote (personal data: it may name people).
    pub purpose: Personal<String, PayerRole>,
    /// The УИН, when the payment carries one.
    pub uin: Option<String>,
    /// Where it was read.
    pub source: Source,
}

/// A contract a payment may be for, as the read models know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractFact {
    /// The contract.
    pub contract_id: Uuid,
    /// Its lessee.
    pub company_id: Uuid,
    /// The lessee's ИНН.
    pub company_inn: String,
    /// The contract's number.
    pub number: String,
    /// Whether it takes payments (not completed, not terminated).
    pub open: bool,
}

/// A policy with re-billed premium still unpaid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFact {
    /// The policy.
    pub policy_id: Uuid,
    /// Its contract.
    pub contract_id: Uuid,
    /// Premium still unpaid to the lessor.
    pub unpaid: Money,
}

/// What the read models know about a payment's candidates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The contract whose fine carries the payment's УИН.
    pub fine: Option<ContractFact>,
    /// The contract of an invoice the purpose names, and what the invoice charged.
    pub invoice: Option<(ContractFact, Kind)>,
    /// A company-wide invoice the purpose names: its number and the share of each contract it covers, in
    /// the invoice's order.
    pub company_invoice: Option<(String, Vec<(ContractFact, Money)>)>,
    /// Contracts whose numbers the purpose names.
    pub named: Vec<ContractFact>,
    /// The payer's contracts (its ИНН, and КПП when given, is a lessee's).
    pub payer: Vec<ContractFact>,
    /// Policies with unpaid re-billed premium, of any of those contracts, oldest first.
    pub policies: Vec<PolicyFact>,
}

/// The matcher's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Decision {
    /// Matched: the contract and the parts.
    Matched(Match),
    /// Waits for staff.
    Queued(QueueReason),
}

/// A payment matched to a contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    /// The contract.
    pub contract_id: Uuid,
    /// Its lessee.
    pub company_id: Uuid,
    /// What it pays; the parts add up to the payment's amount.
    pub parts: Vec<Part>,
    /// How.
    pub rule: MatchRule,
}

fn kind_target(kind: Kind) -> Target {
    match kind {
        Kind::Leasing => Target::Leasing,
        Kind::Penalty => Target::Penalty,
        Kind::Fine => Target::Fine,
        // Resolved to a policy (or credit) by `split`.
        Kind::Insurance => Target::Credit,
    }
}

/// Splits `amount` for `contract` by what the purpose says: stated parts first, the rest to the main kind;
/// insurance goes to the contract's policies with unpaid premium (oldest first, each at most its unpaid
/// premium) and what exceeds them to the contract's credit. `None` when the stated parts exceed the amount.
pub fn split(
    amount: Money,
    reading: &Reading,
    main: Kind,
    contract_id: Uuid,
    policies: &[PolicyFact],
) -> Option<Vec<Part>> {
    let mut wanted: Vec<(Kind, Money)> = Vec::new();
    let mut left = amount;
    for (kind, a) in &reading.parts {
        let a = Money::round(*a);
        if a > left {
            return None;
        }
        wanted.push((*kind, a));
        left = left - a;
    }
    if left > Money::ZERO {
        wanted.push((main, left));
    }
    let mut parts: Vec<Part> = Vec::new();
    let mut add = |target: Target, a: Money| {
        if a <= Money::ZERO {
            return;
        }
        match parts.iter_mut().find(|p| p.target == target) {
            Some(p) => p.amount = p.amount + a,
            None => parts.push(Part::new(target, a)),
        }
    };
    let mut unpaid: Vec<(Uuid, Money)> = policies
        .iter()
        .filter(|p| p.contract_id == contract_id && p.unpaid > Money::ZERO)
        .map(|p| (p.policy_id, p.unpaid))
        .collect();
    for (kind, a) in wanted {
        if kind != Kind::Insurance {
            add(kind_target(kind), a);
            continue;
        }
        let mut rest = a;
        for (policy_id, open) in &mut unpaid {
            let take = rest.min(*open);
            if take > Money::ZERO {
                add(
                    Target::Insurance {
                        policy_id: *policy_id,
                    },
                    take,
                );
                *open = *open - take;
                rest = rest - take;
            }
        }
        add(Target::Credit, rest);
    }
    Some(parts)
}

/// The matching rule (docs/domain.md "Bank statements"), in order: a fine's УИН; an invoice the cabinet
/// issued; the contract number in the purpose, when the payer is that contract's lessee (or names no ИНН);
/// the payer's only open contract. Anything else waits for staff with the reason.
pub fn decide(
    amount: Money,
    payer_inn: Option<&str>,
    reading: &Reading,
    facts: &Facts,
) -> Decision {
    let chosen = |c: &ContractFact, rule: MatchRule, main: Kind| -> Decision {
        if !c.open {
            return Decision::Queued(QueueReason::ContractClosed {
                number: c.number.clone(),
            });
        }
        match split(amount, reading, main, c.contract_id, &facts.policies) {
            Some(parts) => Decision::Matched(Match {
                contract_id: c.contract_id,
                company_id: c.company_id,
                parts,
                rule,
            }),
            None => Decision::Queued(QueueReason::PartsExceedAmount),
        }
    };
    let named_kind = !reading.kinds.is_empty();
    if let Some(c) = &facts.fine {
        let main = if named_kind {
            reading.main_kind()
        } else {
            Kind::Fine
        };
        return chosen(c, MatchRule::Uin, main);
    }
    if let Some((number, shares)) = &facts.company_invoice {
        return company_invoice(amount, number, shares);
    }
    if let Some((c, kind)) = &facts.invoice {
        let main = if reading
            .kinds
            .iter()
            .any(|k| k != kind && *k != Kind::Leasing)
        {
            reading.main_kind()
        } else {
            *kind
        };
        return chosen(c, MatchRule::Invoice, main);
    }
    let mut named: Vec<&ContractFact> = Vec::new();
    for c in &facts.named {
        if !named.iter().any(|n| n.contract_id == c.contract_id) {
            named.push(c);
        }
    }
    match named.as_slice() {
        [c] => {
            if payer_inn.is_some_and(|inn| inn != c.company_inn) {
                return Decision::Queued(QueueReason::PayerIsNotLessee {
                    number: c.number.clone(),
                });
            }
            return chosen(c, MatchRule::ContractNumber, reading.main_kind());
        }
        [] => {}
        several => {
            return Decision::Queued(QueueReason::SeveralContracts {
                numbers: several.iter().map(|c| c.number.clone()).collect(),
            })
        }
    }
    let open: Vec<&ContractFact> = facts.payer.iter().filter(|c| c.open).collect();
    match open.as_slice() {
        [c] => chosen(c, MatchRule::Payer, reading.main_kind()),
        [] => Decision::Queued(QueueReason::NoMatch),
        several => Decision::Queued(QueueReason::SeveralContracts {
            numbers: several.iter().map(|c| c.number.clone()).collect(),
        }),
    }
}

/// A payment of a company-wide invoice, split back into its contracts: each share in the invoice's order
/// as far as the money goes (a leasing payment of that contract); more than the invoice waits for staff.
fn company_invoice(amount: Money, number: &str, shares: &[(ContractFact, Money)]) -> Decision {
    let total = shares.iter().fold(Money::ZERO, |t, (_, a)| t + *a);
    let Some((first, _)) = shares.first() else {
        return Decision::Queued(QueueReason::NoMatch);
    };
    if amount > total {
        return Decision::Queued(QueueReason::ExceedsInvoice {
            number: number.to_owned(),
        });
    }
    if let Some((closed, _)) = shares.iter().find(|(c, _)| !c.open) {
        return Decision::Queued(QueueReason::ContractClosed {
            number: closed.number.clone(),
        });
    }
    let mut left = amount;
    let mut parts = Vec::new();
    for (c, share) in shares {
        let take = left.min(*share);
        if take > Money::ZERO {
            parts.push(Part {
                target: Target::Leasing,
                amount: take,
                contract_id: Some(c.contract_id),
            });
            left = left - take;
        }
    }
    Decision::Matched(Match {
        contract_id: first.contract_id,
        company_id: first.company_id,
        parts,
        rule: MatchRule::Invoice,
    })
}

/// Why a BankPayment command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankPaymentError {
    /// This payment was received before (the same statement line imported again).
    #[error("this payment was already received")]
    AlreadyReceived,
    /// No such payment.
    #[error("no such payment")]
    NotReceived,
    /// The step needs a queued payment.
    #[error("the payment is {}; only a queued payment can be assigned or returned", .0.as_str())]
    WrongStatus(Status),
    /// The parts do not add up to the amount, or one is not positive.
    #[error("parts: the parts must be positive and add up to the amount {amount}")]
    PartsDoNotAddUp {
        /// The payment's amount.
        amount: Money,
    },
    /// A field is empty.
    #[error("{field}: must not be empty")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// The amount is not positive.
    #[error("amount: must be positive")]
    NotPositive,
}

impl crate::failure::Rejection for BankPaymentError {}

/// Where a payment is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not received.
    #[default]
    None,
    /// Matched to a contract (its parts posted by the process manager).
    Matched,
    /// Waiting for staff.
    Queued,
    /// Returned to the payer.
    Returned,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Matched => "matched",
            Self::Queued => "queued",
            Self::Returned => "returned",
        }
    }
}

/// A command to a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankPaymentCommand {
    /// Receive a statement line with the matcher's decision.
    Receive(Box<Incoming>, Decision),
    /// Staff assign a queued payment to a contract.
    Assign(Match),
    /// Staff return a queued payment to the payer.
    Return {
        /// Why (shown to staff and in the payment's history).
        reason: String,
    },
    /// A matched part could not be posted: the payment waits for staff again.
    Requeue {
        /// The refusal.
        detail: String,
    },
}

/// What happened to a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BankPaymentEvent {
    /// A statement line was received.
    BankPaymentReceived(Box<Incoming>),
    /// It was matched to a contract, by a rule or by staff; the parts are to be posted.
    BankPaymentMatched(Match),
    /// It waits for staff.
    BankPaymentQueued(QueueReason),
    /// Staff returned it to the payer.
    BankPaymentReturned {
        /// Why.
        reason: String,
    },
}

impl DomainEvent for BankPaymentEvent {
    fn event_type(&self) -> String {
        match self {
            Self::BankPaymentReceived(_) => "BankPaymentReceived",
            Self::BankPaymentMatched(_) => "BankPaymentMatched",
            Self::BankPaymentQueued(_) => "BankPaymentQueued",
            Self::BankPaymentReturned { .. } => "BankPaymentReturned",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

/// An incoming bank payment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankPayment {
    status: Status,
    amount: Option<Money>,
}

impl BankPayment {
    /// Where it is.
    pub fn status(&self) -> Status {
        self.status
    }

    fn check(&self, m: &Match) -> Result<(), BankPaymentError> {
        let amount = self.amount.unwrap_or(Money::ZERO);
        let sum = m.parts.iter().fold(Money::ZERO, |s, p| s + p.amount);
        if m.parts.is_empty() || m.parts.iter().any(|p| p.amount <= Money::ZERO) || sum != amount {
            return Err(BankPaymentError::PartsDoNotAddUp { amount });
        }
        Ok(())
    }
}

impl Aggregate for BankPayment {
    const TYPE: &'static str = "BankPayment";
    type Command = BankPaymentCommand;
    type Event = BankPaymentEvent;
    type Error = BankPaymentError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        use BankPaymentEvent as E;
        let events = match command {
            BankPaymentCommand::Receive(incoming, decision) => {
                if self.status != Status::None {
                    return Err(BankPaymentError::AlreadyReceived);
                }
                if incoming.amount <= Money::ZERO {
                    return Err(BankPaymentError::NotPositive);
                }
                if incoming.reference.trim().is_empty() {
                    return Err(BankPaymentError::Empty { field: "reference" });
                }
                if incoming.number.trim().is_empty() {
                    return Err(BankPaymentError::Empty { field: "number" });
                }
                let amount = incoming.amount;
                let second = match decision {
                    Decision::Matched(m) => {
                        Self {
                            status: Status::Queued,
                            amount: Some(amount),
                        }
                        .check(&m)?;
                        E::BankPaymentMatched(m)
                    }
                    Decision::Queued(r) => E::BankPaymentQueued(r),
                };
                vec![E::BankPaymentReceived(incoming), second]
            }
            BankPaymentCommand::Assign(m) => {
                self.queued()?;
                self.check(&m)?;
                vec![E::BankPaymentMatched(Match {
                    rule: MatchRule::Staff,
                    ..m
                })]
            }
            BankPaymentCommand::Return { reason } => {
                self.queued()?;
                let reason = reason.trim().to_owned();
                if reason.is_empty() {
                    return Err(BankPaymentError::Empty { field: "reason" });
                }
                vec![E::BankPaymentReturned { reason }]
            }
            BankPaymentCommand::Requeue { detail } => {
                if self.status != Status::Matched {
                    return Err(BankPaymentError::WrongStatus(self.status));
                }
                vec![E::BankPaymentQueued(QueueReason::PostingRefused { detail })]
            }
        };
        for e in events {
            sink.write(e, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            BankPaymentEvent::BankPaymentReceived(i) => self.amount = Some(i.amount),
            BankPaymentEvent::BankPaymentMatched(_) => self.status = Status::Matched,
            BankPaymentEvent::BankPaymentQueued(_) => self.status = Status::Queued,
            BankPaymentEvent::BankPaymentReturned { .. } => self.status = Status::Returned,
        }
    }
}

impl BankPayment {
    fn queued(&self) -> Result<(), BankPaymentError> {
        match self.status {
            Status::Queued => Ok(()),
            Status::None => Err(BankPaymentError::NotReceived),
            s => Err(BankPaymentError::WrongStatus(s)),
        }
    }
}

/// The id of the payment a statement line is: the same line, in any statement of the same account, is
/// the same payment.
pub fn payment_id(
    payee_account: &str,
    payer: &str,
    number: &str,
    date: NaiveDate,
    amount: Money,
) -> Uuid {
    const NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_2a4e_9d3c_4f7a_8e21_5c0d_b9a8_7e31);
    Uuid::new_v5(
        &NAMESPACE,
        format!(
            "{payee_account}|{payer}|{number}|{date}|{}",
            amount.amount()
        )
        .as_bytes(),
    )
}
