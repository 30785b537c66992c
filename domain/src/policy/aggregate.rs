//! State and rules of an insurance policy.

use chrono::NaiveDate;
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    Installment, InsuredEvent, PolicyCommand, PolicyError, PolicyEvent, PolicyServices,
    PolicyTerms, PremiumPayer, Prolongation, TermsChange,
};
use crate::values::Money;
use crate::values::Personal;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct InstallmentState {
    installment: Installment,
    paid: Money,
    cancelled: bool,
}

impl InstallmentState {
    fn open(&self) -> Money {
        if self.cancelled {
            Money::ZERO
        } else {
            self.installment.amount - self.paid
        }
    }
}

/// The issued policy's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    company_id: Uuid,
    payer: PremiumPayer,
    /// Every period of cover (the first and each prolongation).
    periods: Vec<(NaiveDate, NaiveDate)>,
    sum_insured: Money,
    installments: Vec<InstallmentState>,
    cancelled: bool,
    reported: Vec<Uuid>,
}

impl State {
    fn ends_on(&self) -> NaiveDate {
        self.periods.last().map_or(NaiveDate::MIN, |p| p.1)
    }

    fn starts_on(&self) -> NaiveDate {
        self.periods.first().map_or(NaiveDate::MIN, |p| p.0)
    }

    fn next_number(&self) -> u32 {
        self.installments.len() as u32 + 1
    }

    fn unpaid(&self) -> Money {
        self.installments
            .iter()
            .fold(Money::ZERO, |a, i| a + i.open())
    }

    fn ensure_active(&self) -> Result<(), PolicyError> {
        if self.cancelled {
            return Err(PolicyError::Cancelled);
        }
        Ok(())
    }
}

/// An insurance policy. `Default` is "not yet issued".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    state: Option<State>,
}

/// Trims a text and checks 1..=max characters.
pub(crate) fn text(field: &'static str, value: &str, max: usize) -> Result<String, PolicyError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(PolicyError::BadText { field, max });
    }
    Ok(v.to_owned())
}

fn positive(field: &'static str, m: Money) -> Result<(), PolicyError> {
    if m <= Money::ZERO {
        return Err(PolicyError::NotPositive { field });
    }
    Ok(())
}

/// Numbers the installments from `first`, checking they add up to `premium` and fall within cover; none
/// given means the whole premium on `starts_on`.
fn installments(
    given: &[(NaiveDate, Money)],
    premium: Money,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    first: u32,
) -> Result<Vec<Installment>, PolicyError> {
    let mut list: Vec<(NaiveDate, Money)> = if given.is_empty() {
        vec![(starts_on, premium)]
    } else {
        given.to_vec()
    };
    for (i, (date, amount)) in list.iter().enumerate() {
        positive("installments", *amount)?;
        if *date > ends_on {
            return Err(PolicyError::InstallmentAfterCover(i));
        }
    }
    let sum = list.iter().fold(Money::ZERO, |a, (_, m)| a + *m);
    if sum != premium {
        return Err(PolicyError::InstallmentsDoNotAddUp { sum, premium });
    }
    list.sort_by_key(|(d, _)| *d);
    Ok(list
        .into_iter()
        .enumerate()
        .map(|(i, (due_date, amount))| Installment {
            number: first + i as u32,
            due_date,
            amount,
        })
        .collect())
}

impl Policy {
    /// Whether a policy exists under this id.
    pub fn is_issued(&self) -> bool {
        self.state.is_some()
    }

    /// The lessee, once issued.
    pub fn company_id(&self) -> Option<Uuid> {
        self.state.as_ref().map(|s| s.company_id)
    }

    /// The last day of cover, once issued.
    pub fn ends_on(&self) -> Option<NaiveDate> {
        self.state.as_ref().map(State::ends_on)
    }

    /// Who pays the insurer, once issued.
    pub fn payer(&self) -> Option<PremiumPayer> {
        self.state.as_ref().map(|s| s.payer)
    }

    /// Whether the policy is cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.cancelled)
    }

    fn state(&self) -> Result<&State, PolicyError> {
        self.state.as_ref().ok_or(PolicyError::NotIssued)
    }

    async fn issue(
        &self,
        t: PolicyTerms,
        services: &PolicyServices,
    ) -> Result<PolicyEvent, PolicyError> {
        if self.state.is_some() {
            return Err(PolicyError::AlreadyIssued);
        }
        let insurer = text("insurer", &t.insurer, 300)?;
        let number = text("number", &t.number, 100)?;
        if t.ends_on <= t.starts_on {
            return Err(PolicyError::PeriodNotAfterStart { field: "endsOn" });
        }
        positive("sumInsured", t.sum_insured)?;
        positive("premium", t.premium)?;
        let installments = installments(&t.installments, t.premium, t.starts_on, t.ends_on, 1)?;
        let company_id = services
            .contracts
            .contract_company(t.contract_id)
            .await
            .map_err(PolicyError::LookupFailed)?
            .ok_or(PolicyError::ContractNotFound)?;
        Ok(PolicyEvent::PolicyIssued {
            policy_id: t.policy_id,
            contract_id: t.contract_id,
            company_id,
            insurer,
            kind: t.kind,
            number,
            starts_on: t.starts_on,
            ends_on: t.ends_on,
            sum_insured: t.sum_insured,
            premium: t.premium,
            installments,
            payer: t.payer,
            form: t.form,
        })
    }

    fn pay(&self, amount: Money, date: NaiveDate) -> Result<PolicyEvent, PolicyError> {
        let s = self.state()?;
        positive("amount", amount)?;
        let unpaid = s.unpaid();
        if amount > unpaid {
            return Err(PolicyError::PaymentExceedsPremium { unpaid });
        }
        let mut left = amount;
        let mut allocations = Vec::new();
        for i in &s.installments {
            if left == Money::ZERO {
                break;
            }
            let part = i.open().min(left);
            if part > Money::ZERO {
                allocations.push((i.installment.number, part));
                left = left - part;
            }
        }
        Ok(PolicyEvent::PremiumPaid {
            date,
            amount,
            allocations,
        })
    }

    fn prolong(&self, p: Prolongation) -> Result<PolicyEvent, PolicyError> {
        let s = self.state()?;
        s.ensure_active()?;
        let starts_on = s.ends_on().succ_opt().unwrap_or(NaiveDate::MAX);
        if p.ends_on <= starts_on {
            return Err(PolicyError::PeriodNotAfterStart { field: "endsOn" });
        }
        positive("premium", p.premium)?;
        let number = p
            .number
            .as_deref()
            .map(|n| text("number", n, 100))
            .transpose()?;
        let installments = installments(
            &p.installments,
            p.premium,
            starts_on,
            p.ends_on,
            s.next_number(),
        )?;
        Ok(PolicyEvent::PolicyProlonged {
            starts_on,
            ends_on: p.ends_on,
            premium: p.premium,
            installments,
            number,
            form: p.form,
        })
    }

    fn change_terms(&self, c: TermsChange) -> Result<PolicyEvent, PolicyError> {
        let s = self.state()?;
        s.ensure_active()?;
        let description = text("description", &c.description, 2000)?;
        if let Some(sum) = c.sum_insured {
            positive("sumInsured", sum)?;
        }
        let additional_premium = match c.additional_premium {
            Some((due_date, amount)) => {
                positive("additionalPremium", amount)?;
                if due_date > s.ends_on() {
                    return Err(PolicyError::InstallmentAfterCover(0));
                }
                Some(Installment {
                    number: s.next_number(),
                    due_date,
                    amount,
                })
            }
            None => None,
        };
        Ok(PolicyEvent::PolicyTermsChanged {
            sum_insured: c.sum_insured.unwrap_or(s.sum_insured),
            additional_premium,
            description,
        })
    }

    fn report(&self, e: InsuredEvent) -> Result<PolicyEvent, PolicyError> {
        let s = self.state()?;
        if s.reported.contains(&e.event_id) {
            return Err(PolicyError::EventAlreadyReported);
        }
        if !s.periods.iter().any(|(a, b)| *a <= e.date && e.date <= *b) {
            return Err(PolicyError::OutsideCover);
        }
        Ok(PolicyEvent::InsuredEventReported(InsuredEvent {
            place: Personal::new(text("place", e.place.get().map_or("", |v| v), 500)?),
            description: Personal::new(text(
                "description",
                e.description.get().map_or("", |v| v),
                5000,
            )?),
            ..e
        }))
    }

    fn cancel(&self, date: NaiveDate, reason: &str) -> Result<PolicyEvent, PolicyError> {
        let s = self.state()?;
        s.ensure_active()?;
        let reason = text("reason", reason, 1000)?;
        if date < s.starts_on() {
            return Err(PolicyError::BeforeCover { field: "date" });
        }
        Ok(PolicyEvent::PolicyCancelled {
            date,
            reason,
            cancelled_installments: s
                .installments
                .iter()
                .filter(|i| i.installment.due_date > date && i.open() > Money::ZERO)
                .map(|i| i.installment.number)
                .collect(),
        })
    }
}

impl Aggregate for Policy {
    // Never renamed: it links every stored event of a policy.
    const TYPE: &'static str = "Policy";
    type Command = PolicyCommand;
    type Event = PolicyEvent;
    type Error = PolicyError;
    type Services = PolicyServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match command {
            PolicyCommand::IssuePolicy(t) => self.issue(*t, services).await?,
            PolicyCommand::AttachPolicyForm { form } => {
                self.state()?;
                PolicyEvent::PolicyFormAttached { form }
            }
            PolicyCommand::RecordPremiumPaid { amount, date } => self.pay(amount, date)?,
            PolicyCommand::ProlongPolicy(p) => self.prolong(*p)?,
            PolicyCommand::ChangePolicyTerms(c) => self.change_terms(c)?,
            PolicyCommand::ReportInsuredEvent(e) => self.report(*e)?,
            PolicyCommand::CancelPolicy { date, reason } => self.cancel(date, &reason)?,
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        if let PolicyEvent::PolicyIssued {
            company_id,
            starts_on,
            ends_on,
            sum_insured,
            installments,
            payer,
            ..
        } = event
        {
            self.state = Some(State {
                company_id,
                payer,
                periods: vec![(starts_on, ends_on)],
                sum_insured,
                installments: installments
                    .into_iter()
                    .map(|installment| InstallmentState {
                        installment,
                        paid: Money::ZERO,
                        cancelled: false,
                    })
                    .collect(),
                cancelled: false,
                reported: Vec::new(),
            });
            return;
        }
        let Some(s) = self.state.as_mut() else {
            return;
        };
        let add = |s: &mut State, list: Vec<Installment>| {
            s.installments
                .extend(list.into_iter().map(|installment| InstallmentState {
                    installment,
                    paid: Money::ZERO,
                    cancelled: false,
                }))
        };
        match event {
            PolicyEvent::PolicyIssued { .. } | PolicyEvent::PolicyFormAttached { .. } => {}
            PolicyEvent::PremiumPaid { allocations, .. } => {
                for (n, amount) in allocations {
                    if let Some(i) = s
                        .installments
                        .iter_mut()
                        .find(|i| i.installment.number == n)
                    {
                        i.paid = i.paid + amount;
                    }
                }
            }
            PolicyEvent::PolicyProlonged {
                starts_on,
                ends_on,
                installments,
                ..
            } => {
                s.periods.push((starts_on, ends_on));
                add(s, installments);
            }
            PolicyEvent::PolicyTermsChanged {
                sum_insured,
                additional_premium,
                ..
            } => {
                s.sum_insured = sum_insured;
                add(s, additional_premium.into_iter().collect());
            }
            PolicyEvent::InsuredEventReported(e) => s.reported.push(e.event_id),
            PolicyEvent::PolicyCancelled {
                cancelled_installments,
                ..
            } => {
                s.cancelled = true;
                for i in s.installments.iter_mut() {
                    if cancelled_installments.contains(&i.installment.number) {
                        i.cancelled = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "aggregate_tests.rs"]
mod tests;
