//! State and rules of a leasing contract.

use chrono::{Datelike, NaiveDate};
use cqrs_es::{event_sink::EventSink, Aggregate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::errors::in_range;
use super::{
    Advance, Allocation, AllocationTarget, ContractCommand, ContractError, ContractEvent,
    ContractServices, ContractStatus, ContractTerms, PaymentPurpose,
};
use crate::calendar::ProductionCalendar;
use crate::penalty::{line_penalty, PenaltyTerms, Settlement};
use crate::schedule::{
    build_schedule, recalculate_remaining, LineKind, RecalculationMode, RedemptionKind,
    ScheduleKind, ScheduleLine, ScheduleTerms,
};
use crate::values::Money;

/// A schedule line and what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LineState {
    line: ScheduleLine,
    paid: Money,
    /// Every amount that reduced it, with its date (the penalty base falls from then).
    settlements: Vec<Settlement>,
    fell_due: bool,
    overdue: bool,
    /// The payment deadline, once a penalty computation needed it (recorded, so replay never consults a
    /// calendar that may have changed since).
    deadline: Option<NaiveDate>,
    /// Penalty accrued on the line so far.
    penalty: Money,
    /// The last day the penalty was computed through.
    penalty_through: Option<NaiveDate>,
    cancelled: bool,
}

impl LineState {
    /// A line nothing has happened to yet.
    fn new(line: ScheduleLine) -> Self {
        Self {
            line,
            paid: Money::ZERO,
            settlements: Vec::new(),
            fell_due: false,
            overdue: false,
            deadline: None,
            penalty: Money::ZERO,
            penalty_through: None,
            cancelled: false,
        }
    }

    /// Money reduced the line on `date`. Settlements on the same day add up into one (lossless for the
    /// penalty base), so a line paid in many small amounts keeps a small state.
    fn settle(&mut self, date: NaiveDate, amount: Money) {
        self.paid = self.paid + amount;
        match self.settlements.last_mut() {
            Some(last) if last.date == date => last.amount = last.amount + amount,
            _ => self.settlements.push(Settlement { date, amount }),
        }
    }

    fn open(&self) -> Money {
        if self.cancelled {
            Money::ZERO
        } else {
            self.line.amount - self.paid
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FineState {
    resolution_number: String,
    /// What is owed for it now: the discounted amount while the discount lasts, else the amount; plus the
    /// lessor's fee.
    amount: Money,
    paid: Money,
    /// The discount still running (taken away when it expires).
    #[serde(default)]
    discount: Option<crate::fines::Discount>,
    /// The whole amount plus the fee: what is owed once the discount is gone.
    #[serde(default)]
    full: Option<Money>,
}

/// The concluded contract's state (what the rules need, and what a snapshot holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    contract_id: Uuid,
    company_id: Uuid,
    date: NaiveDate,
    status: ContractStatus,
    schedule_kind: ScheduleKind,
    redemption_kind: RedemptionKind,
    annual_rate: Decimal,
    penalty_terms: PenaltyTerms,
    lines: Vec<LineState>,
    credit: Money,
    /// The date the latest credit arrived: credit cannot pay a line earlier than that.
    credit_since: Option<NaiveDate>,
    penalties_paid: Money,
    fines: Vec<FineState>,
    /// The lessor's fee per re-billed fine (`FineFeeAgreed`).
    #[serde(default)]
    fine_fee: Money,
    /// The latest book value the accounting system reported: (as of, amount).
    #[serde(default)]
    book_value: Option<(NaiveDate, Money)>,
}

impl State {
    /// The penalty of line `l` through `through` (its settlements as given), as the event that brings the
    /// accrued total to it; `None` when the total does not change. The one place a line's penalty is
    /// accrued (docs/domain.md "Penalties").
    fn penalty_accrued(
        &self,
        l: &LineState,
        deadline: NaiveDate,
        settlements: &[Settlement],
        through: NaiveDate,
    ) -> Option<ContractEvent> {
        let p = line_penalty(
            l.line.amount,
            l.line.vat_rate,
            deadline,
            settlements,
            through,
            &self.penalty_terms,
        );
        (p.amount != l.penalty).then(|| ContractEvent::PenaltyAccrued {
            line: l.line.number,
            deadline,
            through,
            days: p.days,
            amount: p.amount - l.penalty,
            total: p.amount,
        })
    }

    fn penalties_accrued(&self) -> Money {
        self.lines.iter().fold(Money::ZERO, |a, l| a + l.penalty)
    }

    fn penalty_debt(&self) -> Money {
        self.penalties_accrued() - self.penalties_paid
    }

    fn fines_unpaid(&self) -> Money {
        self.fines
            .iter()
            .fold(Money::ZERO, |a, f| a + (f.amount - f.paid))
    }

    fn line_mut(&mut self, number: u32) -> Option<&mut LineState> {
        self.lines.iter_mut().find(|l| l.line.number == number)
    }

    fn deadline(&self, l: &LineState, calendar: &ProductionCalendar) -> NaiveDate {
        l.deadline
            .unwrap_or_else(|| calendar.working_day_on_or_after(l.line.due_date))
    }

    fn ensure_open(&self) -> Result<(), ContractError> {
        match self.status {
            ContractStatus::Completed | ContractStatus::Terminated => {
                Err(ContractError::WrongStatus(self.status))
            }
            _ => Ok(()),
        }
    }
}

/// A leasing contract. `Default` is "not yet concluded".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contract {
    state: Option<State>,
}

/// The early-buyout quote: what the lessee pays to buy the asset out on a date. Computed from the state,
/// never stored by the contract (a client's early-buyout request records the quote it was shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyoutQuote {
    /// The quote date.
    pub as_of: NaiveDate,
    /// Principal of the lines due after the date (the whole open amount for explicit lines).
    pub outstanding_principal: Money,
    /// Lines due by the date and not paid.
    pub unpaid_due: Money,
    /// Penalties through the date, less what was paid.
    pub penalties: Money,
    /// Unpaid traffic fines.
    pub fines: Money,
    /// The unpaid redemption payment.
    pub redemption: Money,
    /// Credit that reduces the total.
    pub credit: Money,
    /// What to pay.
    pub total: Money,
}

fn non_empty(field: &'static str, value: &str) -> Result<String, ContractError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ContractError::Empty { field });
    }
    Ok(v.to_owned())
}

fn positive(field: &'static str, m: Money) -> Result<(), ContractError> {
    if m <= Money::ZERO {
        return Err(ContractError::NotPositive { field });
    }
    Ok(())
}

impl Contract {
    /// Whether a contract exists under this id.
    pub fn is_concluded(&self) -> bool {
        self.state.is_some()
    }

    /// The lessee, once concluded.
    pub fn company_id(&self) -> Option<Uuid> {
        self.state.as_ref().map(|s| s.company_id)
    }

    /// The contract's status, once concluded.
    pub fn status(&self) -> Option<ContractStatus> {
        self.state.as_ref().map(|s| s.status)
    }

    /// The credit balance.
    pub fn credit(&self) -> Money {
        self.state.as_ref().map(|s| s.credit).unwrap_or_default()
    }

    fn state(&self) -> Result<&State, ContractError> {
        self.state.as_ref().ok_or(ContractError::NotConcluded)
    }

    /// What buying the asset out on `as_of` costs: outstanding principal + unpaid due amounts + penalties
    /// through the date + unpaid fines + redemption − credit (docs/domain.md "Payment schedules").
    ///
    /// # Errors
    /// [`ContractError::NotConcluded`], or [`ContractError::WrongStatus`] for a completed or terminated
    /// contract.
    pub fn early_buyout_quote(
        &self,
        as_of: NaiveDate,
        calendar: &ProductionCalendar,
    ) -> Result<BuyoutQuote, ContractError> {
        let s = self.state()?;
        s.ensure_open()?;
        let mut q = BuyoutQuote {
            as_of,
            outstanding_principal: Money::ZERO,
            unpaid_due: Money::ZERO,
            penalties: Money::ZERO,
            fines: s.fines_unpaid(),
            redemption: Money::ZERO,
            credit: s.credit,
            total: Money::ZERO,
        };
        let mut penalty_total = Money::ZERO;
        for l in s.lines.iter().filter(|l| !l.cancelled) {
            let open = l.open();
            if l.line.kind == LineKind::Redemption {
                q.redemption = q.redemption + open;
            } else if l.line.due_date <= as_of {
                q.unpaid_due = q.unpaid_due + open;
            } else {
                // Principal share of what is still open on the line (the interest of future months is not
                // owed on a buyout); an explicit line has no split, so all of it counts.
                let part = match l.line.principal {
                    Some(p) if l.line.amount > Money::ZERO => {
                        Money::round(p.amount() * open.amount() / l.line.amount.amount())
                    }
                    _ => open,
                };
                q.outstanding_principal = q.outstanding_principal + part;
            }
            let p = line_penalty(
                l.line.amount,
                l.line.vat_rate,
                s.deadline(l, calendar),
                &l.settlements,
                as_of,
                &s.penalty_terms,
            );
            penalty_total = penalty_total + p.amount.max(l.penalty);
        }
        q.penalties = (penalty_total - s.penalties_paid).max(Money::ZERO);
        q.total = q.outstanding_principal + q.unpaid_due + q.penalties + q.fines + q.redemption
            - q.credit;
        Ok(q)
    }

    async fn conclude(
        &self,
        t: ContractTerms,
        services: &ContractServices,
    ) -> Result<ContractEvent, ContractError> {
        if self.state.is_some() {
            return Err(ContractError::AlreadyConcluded);
        }
        let number = non_empty("number", &t.number)?;
        if number.chars().count() > 64 {
            return Err(ContractError::OutOfRange {
                field: "number",
                reason: "at most 64 characters",
            });
        }
        let mut subject = t.subject;
        subject.kind = non_empty("subject.kind", &subject.kind)?;
        subject.make = non_empty("subject.make", &subject.make)?;
        subject.model = non_empty("subject.model", &subject.model)?;
        if subject.year < 1950 || subject.year > t.date.year() + 1 {
            return Err(ContractError::OutOfRange {
                field: "subject.year",
                reason: "must be between 1950 and the year after the contract date",
            });
        }
        let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        subject.serial_number = clean(subject.serial_number);
        subject.registration_plate = clean(subject.registration_plate);
        if subject.vin.is_none() && subject.serial_number.is_none() {
            return Err(ContractError::SubjectNotIdentified);
        }
        positive("price", t.price)?;
        let (advance, advance_percent) = match t.advance {
            Advance::Amount(a) => {
                if a.is_negative() {
                    return Err(ContractError::OutOfRange {
                        field: "advance",
                        reason: "must not be negative",
                    });
                }
                (a, None)
            }
            Advance::Percent(p) => {
                in_range("advance.percent", p, Decimal::ONE_HUNDRED, "must be 0–100")?;
                (
                    Money::round(t.price.amount() * p / Decimal::ONE_HUNDRED),
                    Some(p),
                )
            }
        };
        if advance >= t.price {
            return Err(ContractError::AdvanceNotBelowPrice {
                advance,
                price: t.price,
            });
        }
        if t.term_months == 0 {
            return Err(ContractError::TermZero);
        }
        if t.term_months > 600 {
            return Err(ContractError::OutOfRange {
                field: "termMonths",
                reason: "at most 600 months",
            });
        }
        in_range(
            "annualRate",
            t.annual_rate,
            Decimal::ONE_HUNDRED,
            "must be 0–100 percent a year",
        )?;
        in_range(
            "penalty.ratePerDay",
            t.penalty.rate_per_day,
            Decimal::from(10),
            "must be 0–10 percent a day",
        )?;
        if t.first_due_date < t.date {
            return Err(ContractError::BeforeContractDate {
                field: "firstDueDate",
            });
        }
        if t.redemption.is_negative() || t.redemption >= t.price - advance {
            return Err(ContractError::OutOfRange {
                field: "redemption",
                reason: "must be at least zero and less than the financed amount",
            });
        }
        // A redemption above zero says what it is: the regular lines depend on it.
        let redemption_kind =
            match t.redemption_kind {
                Some(kind) => kind,
                None if t.redemption == Money::ZERO => RedemptionKind::Symbolic,
                None => return Err(ContractError::OutOfRange {
                    field: "redemptionKind",
                    reason:
                        "must be stated (SYMBOLIC or RESIDUAL) when the redemption is above zero",
                }),
            };
        let explicit = t.schedule_kind == ScheduleKind::Explicit;
        if explicit && t.explicit_lines.len() != t.term_months as usize {
            return Err(ContractError::OutOfRange {
                field: "termMonths",
                reason: "must equal the number of explicit lines",
            });
        }
        if !explicit && !t.explicit_lines.is_empty() {
            return Err(ContractError::OutOfRange {
                field: "lines",
                reason: "lines are given only for an explicit schedule",
            });
        }
        let lines = build_schedule(&ScheduleTerms {
            contract_date: t.date,
            price: t.price,
            advance,
            term_months: t.term_months,
            annual_rate: t.annual_rate,
            first_due_date: if explicit {
                t.explicit_lines
                    .first()
                    .map(|l| l.0)
                    .unwrap_or(t.first_due_date)
            } else {
                t.first_due_date
            },
            redemption: t.redemption,
            redemption_kind,
            kind: t.schedule_kind,
            explicit: t.explicit_lines,
        })
        .map_err(ContractError::Schedule)?;
        // Checked last: the only rule that needs a look-up outside the aggregate.
        if !services
            .companies
            .company_exists(t.company_id)
            .await
            .map_err(ContractError::LookupFailed)?
        {
            return Err(ContractError::CompanyNotFound);
        }
        Ok(ContractEvent::ContractConcluded {
            contract_id: t.contract_id,
            company_id: t.company_id,
            number,
            date: t.date,
            contact_email: crate::values::Personal::new(t.contact_email),
            subject,
            price: t.price,
            advance,
            advance_percent,
            term_months: t.term_months,
            annual_rate: t.annual_rate,
            first_due_date: t.first_due_date,
            schedule_kind: t.schedule_kind,
            redemption: t.redemption,
            redemption_kind,
            penalty: t.penalty,
            lines,
        })
    }

    fn record_payment(
        &self,
        amount: Money,
        date: NaiveDate,
        bank_reference: &str,
        purpose: PaymentPurpose,
    ) -> Result<ContractEvent, ContractError> {
        let s = self.state()?;
        if s.status == ContractStatus::Completed {
            return Err(ContractError::WrongStatus(s.status));
        }
        positive("amount", amount)?;
        // A reference already recorded on the contract is refused by the payments read model's key
        // (`payments_view_pkey`, ADR 0005): keeping every reference here would grow the state, and every
        // load, with each payment.
        let reference = non_empty("bankReference", bank_reference)?;
        if date < s.date {
            return Err(ContractError::BeforeContractDate { field: "date" });
        }
        let mut left = amount;
        let mut allocations = Vec::new();
        let mut take = |target: AllocationTarget, open: Money, left: &mut Money| {
            let part = open.min(*left);
            if part > Money::ZERO {
                allocations.push(Allocation {
                    target,
                    amount: part,
                });
                *left = *left - part;
            }
        };
        match purpose {
            PaymentPurpose::LeasingPayment => {
                // The oldest open lines first, whether due yet or not: paying ahead prepays the next lines.
                for l in &s.lines {
                    take(
                        AllocationTarget::Line {
                            number: l.line.number,
                        },
                        l.open(),
                        &mut left,
                    );
                }
            }
            PaymentPurpose::Penalty => {
                take(AllocationTarget::Penalties, s.penalty_debt(), &mut left)
            }
            PaymentPurpose::Fine => {
                for f in &s.fines {
                    take(
                        AllocationTarget::Fine {
                            resolution_number: f.resolution_number.clone(),
                        },
                        f.amount - f.paid,
                        &mut left,
                    );
                }
            }
            // No insurance is billed on contracts yet (policies come later): it all becomes credit.
            PaymentPurpose::Insurance | PaymentPurpose::Unallocated => {}
        }
        take(AllocationTarget::Credit, left, &mut left.clone());
        Ok(ContractEvent::PaymentRecorded {
            bank_reference: reference,
            date,
            amount,
            purpose,
            allocations,
        })
    }

    /// The day's closing: credit to lines that fell due, lines falling due and overdue, penalties.
    fn close_day(&self, as_of: NaiveDate, calendar: &ProductionCalendar) -> Vec<ContractEvent> {
        let Some(s) = self.state.as_ref() else {
            return Vec::new();
        };
        // A fine's discount runs out whatever the contract's status.
        let mut events = Self::expired_discounts(s, as_of);
        if s.status == ContractStatus::Completed {
            return events;
        }
        let mut credit = s.credit;
        // Credit pays lines as they fall due, oldest first.
        let mut applied: Vec<(u32, Money)> = Vec::new();
        for l in s.lines.iter().filter(|l| l.line.due_date <= as_of) {
            let part = l.open().min(credit);
            if part > Money::ZERO {
                let date = match s.credit_since {
                    Some(since) if since > l.line.due_date => since,
                    _ => l.line.due_date,
                };
                events.push(ContractEvent::CreditApplied {
                    line: l.line.number,
                    amount: part,
                    date,
                });
                applied.push((l.line.number, part));
                credit = credit - part;
            }
        }
        let applied_to = |n: u32| {
            applied
                .iter()
                .filter(|a| a.0 == n)
                .fold(Money::ZERO, |a, b| a + b.1)
        };
        for l in s
            .lines
            .iter()
            .filter(|l| !l.cancelled && l.line.due_date <= as_of)
        {
            let open = l.open() - applied_to(l.line.number);
            if !l.fell_due && open > Money::ZERO {
                events.push(ContractEvent::PaymentFellDue {
                    line: l.line.number,
                    due_date: l.line.due_date,
                    amount: open,
                });
            }
            let deadline = s.deadline(l, calendar);
            if as_of <= deadline {
                continue;
            }
            if !l.overdue && open > Money::ZERO {
                events.push(ContractEvent::PaymentOverdue {
                    line: l.line.number,
                    deadline,
                    amount: open,
                    as_of,
                });
            }
            let mut settlements = l.settlements.clone();
            for (n, amount) in &applied {
                if *n == l.line.number {
                    let date = events
                        .iter()
                        .find_map(|e| match e {
                            ContractEvent::CreditApplied { line, date, .. } if line == n => {
                                Some(*date)
                            }
                            _ => None,
                        })
                        .unwrap_or(as_of);
                    settlements.push(Settlement {
                        date,
                        amount: *amount,
                    });
                }
            }
            // Never computed through an earlier day than before: closing an old day again (or after a late
            // payment settled the line through its date) must not take back penalty already accrued.
            let through = l.penalty_through.map_or(as_of, |t| t.max(as_of));
            events.extend(s.penalty_accrued(l, deadline, &settlements, through));
        }
        events
    }

    fn late_payment_penalties(
        &self,
        lines: &[u32],
        date: NaiveDate,
        calendar: &ProductionCalendar,
    ) -> Vec<ContractEvent> {
        let Some(s) = self.state.as_ref() else {
            return Vec::new();
        };
        let mut events = Vec::new();
        for l in s.lines.iter().filter(|l| lines.contains(&l.line.number)) {
            let deadline = s.deadline(l, calendar);
            let through = l.penalty_through.map_or(date, |t| t.max(date));
            if through <= deadline {
                continue;
            }
            events.extend(s.penalty_accrued(l, deadline, &l.settlements, through));
        }
        events
    }

    fn register_fine(
        &self,
        resolution_number: &str,
        amount: Money,
        vehicle: &str,
        description: &str,
    ) -> Result<(String, String, String), ContractError> {
        let s = self.state()?;
        if s.status == ContractStatus::Completed {
            return Err(ContractError::WrongStatus(s.status));
        }
        let number = resolution_number.trim().to_owned();
        if !(number.len() == 20 || number.len() == 25)
            || !number.chars().all(|c| c.is_ascii_digit())
        {
            return Err(ContractError::OutOfRange {
                field: "resolutionNumber",
                reason: "a resolution number (УИН) is 20 or 25 digits",
            });
        }
        if s.fines.iter().any(|f| f.resolution_number == number) {
            return Err(ContractError::DuplicateFine(number));
        }
        positive("amount", amount)?;
        Ok((
            number,
            non_empty("vehicle", vehicle)?,
            non_empty("description", description)?,
        ))
    }

    /// The accounting system's schedule in place of the lines that differ from it (none: no event).
    fn replace_schedule(
        &self,
        date: NaiveDate,
        explicit: Vec<(NaiveDate, Money)>,
        redemption: Money,
        source: String,
    ) -> Result<Vec<ContractEvent>, ContractError> {
        let s = self.state()?;
        if matches!(
            s.status,
            ContractStatus::Completed | ContractStatus::Terminated
        ) {
            return Err(ContractError::WrongStatus(s.status));
        }
        if redemption.is_negative() {
            return Err(ContractError::OutOfRange {
                field: "redemption",
                reason: "must not be negative",
            });
        }
        let advance = s
            .lines
            .iter()
            .find(|l| l.line.kind == crate::schedule::LineKind::Advance)
            .map_or(Money::ZERO, |l| l.line.amount);
        let total = explicit
            .iter()
            .fold(advance + redemption, |sum, (_, amount)| sum + *amount);
        let new = build_schedule(&ScheduleTerms {
            contract_date: s.date,
            price: total,
            advance,
            term_months: u32::try_from(explicit.len()).unwrap_or(u32::MAX),
            annual_rate: s.annual_rate,
            first_due_date: explicit.first().map_or(s.date, |l| l.0),
            redemption,
            redemption_kind: s.redemption_kind,
            kind: ScheduleKind::Explicit,
            explicit,
        })
        .map_err(ContractError::Schedule)?;
        let same = |a: &ScheduleLine, b: &ScheduleLine| {
            a.kind == b.kind && a.due_date == b.due_date && a.amount == b.amount
        };
        let mut replaced = Vec::new();
        for current in s.lines.iter().filter(|l| !l.cancelled) {
            let next = new.iter().find(|n| n.number == current.line.number);
            if next.is_some_and(|n| same(&current.line, n)) {
                continue;
            }
            if current.fell_due || current.paid > Money::ZERO {
                return Err(ContractError::OutOfRange {
                    field: "schedule",
                    reason: "a line already due or paid cannot change",
                });
            }
            replaced.push(current.line.number);
        }
        let lines: Vec<ScheduleLine> = new
            .into_iter()
            .filter(|n| {
                !s.lines
                    .iter()
                    .any(|c| !c.cancelled && c.line.number == n.number && same(&c.line, n))
            })
            .collect();
        if replaced.is_empty() && lines.is_empty() {
            return Ok(vec![]);
        }
        Ok(vec![ContractEvent::ScheduleReplaced {
            date,
            replaced,
            lines,
            source,
        }])
    }

    /// The article as written in the event, and the fine's discount (`fines::discount`).
    fn fine_discount(
        amount: Money,
        date: NaiveDate,
        article: Option<&str>,
        discount_until: Option<NaiveDate>,
    ) -> Result<(Option<String>, Option<crate::fines::Discount>), ContractError> {
        let discount =
            crate::fines::discount(amount, date, article, discount_until).map_err(|e| {
                let r = e.refusal();
                ContractError::OutOfRange {
                    field: r.field,
                    reason: r.reason,
                }
            })?;
        let article = article
            .and_then(crate::fines::Article::parse)
            .map(|a| a.to_string());
        Ok((article, discount))
    }

    /// Discounts that ran out by `as_of` on fines still not paid in full.
    fn expired_discounts(s: &State, as_of: NaiveDate) -> Vec<ContractEvent> {
        s.fines
            .iter()
            .filter_map(|f| {
                let d = f.discount?;
                let full = f.full?;
                (as_of > d.until && f.paid < f.amount).then(|| {
                    ContractEvent::TrafficFineDiscountExpired {
                        resolution_number: f.resolution_number.clone(),
                        date: as_of,
                        amount: full - f.amount,
                    }
                })
            })
            .collect()
    }

    fn recalculate(
        &self,
        date: NaiveDate,
        amount: Money,
        mode: RecalculationMode,
    ) -> Result<ContractEvent, ContractError> {
        let s = self.state()?;
        s.ensure_open()?;
        if s.schedule_kind == ScheduleKind::Explicit {
            return Err(ContractError::ExplicitScheduleNotRecalculated);
        }
        positive("amount", amount)?;
        if amount > s.credit {
            return Err(ContractError::InsufficientCredit {
                available: s.credit,
            });
        }
        let remaining: Vec<ScheduleLine> = s
            .lines
            .iter()
            .filter(|l| {
                l.line.kind == LineKind::Regular
                    && !l.cancelled
                    && l.paid == Money::ZERO
                    && l.line.due_date > date
            })
            .map(|l| l.line.clone())
            .collect();
        if remaining.is_empty() {
            return Err(ContractError::NothingToRecalculate);
        }
        let outstanding = remaining
            .iter()
            .fold(Money::ZERO, |a, l| a + l.principal.unwrap_or(Money::ZERO));
        if amount > outstanding {
            return Err(ContractError::RepaymentExceedsPrincipal { outstanding });
        }
        let redemption = s
            .lines
            .iter()
            .find(|l| l.line.kind == LineKind::Redemption && l.paid == Money::ZERO);
        let fv = redemption.map_or(Money::ZERO, |l| s.redemption_kind.residual(l.line.amount));
        let mut lines =
            recalculate_remaining(s.schedule_kind, &remaining, fv, s.annual_rate, amount, mode)
                .map_err(ContractError::Schedule)?;
        let mut replaced: Vec<u32> = remaining.iter().map(|l| l.number).collect();
        if let Some(r) = redemption {
            replaced.push(r.line.number);
            let number = lines
                .last()
                .map(|l| l.number + 1)
                .unwrap_or(remaining[0].number);
            let due = lines
                .last()
                .map_or(r.line.due_date, |l| s.redemption_kind.due_after(l.due_date));
            lines.push(ScheduleLine::new(
                number,
                LineKind::Redemption,
                due,
                r.line.amount,
                None,
            ));
        }
        Ok(ContractEvent::ScheduleRecalculated {
            date,
            amount,
            mode,
            replaced,
            lines,
        })
    }

    fn complete(&self, date: NaiveDate) -> Result<ContractEvent, ContractError> {
        let s = self.state()?;
        s.ensure_open()?;
        let owed = s.lines.iter().fold(Money::ZERO, |a, l| a + l.open())
            + s.penalty_debt().max(Money::ZERO)
            + s.fines_unpaid();
        if owed > Money::ZERO {
            return Err(ContractError::OutstandingDebt { amount: owed });
        }
        if date < s.date {
            return Err(ContractError::BeforeContractDate { field: "date" });
        }
        Ok(ContractEvent::ContractCompleted { date })
    }

    fn buy_out(
        &self,
        date: NaiveDate,
        calendar: &ProductionCalendar,
    ) -> Result<ContractEvent, ContractError> {
        let s = self.state()?;
        if date < s.date {
            return Err(ContractError::BeforeContractDate { field: "date" });
        }
        let q = self.early_buyout_quote(date, calendar)?;
        let due = q.unpaid_due + q.penalties + q.fines;
        if due > Money::ZERO {
            return Err(ContractError::OutstandingDebt { amount: due });
        }
        let price = q.outstanding_principal + q.redemption;
        if s.credit < price {
            return Err(ContractError::BuyoutNotCovered {
                available: s.credit,
                price,
            });
        }
        let open = |l: &&LineState| l.open() > Money::ZERO;
        Ok(ContractEvent::ContractBoughtOut {
            date,
            amount: price,
            cancelled_lines: s
                .lines
                .iter()
                .filter(open)
                .filter(|l| l.line.kind != LineKind::Redemption && l.line.due_date > date)
                .map(|l| l.line.number)
                .collect(),
            redemption_line: s
                .lines
                .iter()
                .filter(open)
                .find(|l| l.line.kind == LineKind::Redemption)
                .map(|l| (l.line.number, l.open())),
        })
    }

    fn terminate(&self, date: NaiveDate, reason: &str) -> Result<ContractEvent, ContractError> {
        let s = self.state()?;
        s.ensure_open()?;
        let reason = non_empty("reason", reason)?;
        if date < s.date {
            return Err(ContractError::BeforeContractDate { field: "date" });
        }
        let cancelled_lines = s
            .lines
            .iter()
            .filter(|l| l.line.due_date > date && l.paid == Money::ZERO)
            .map(|l| l.line.number)
            .collect();
        Ok(ContractEvent::ContractTerminated {
            date,
            reason,
            cancelled_lines,
        })
    }
}

impl Aggregate for Contract {
    // Never renamed: it links every stored event of a contract.
    const TYPE: &'static str = "Contract";
    type Command = ContractCommand;
    type Event = ContractEvent;
    type Error = ContractError;
    type Services = ContractServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let events = match command {
            ContractCommand::ConcludeContract(t) => vec![self.conclude(*t, services).await?],
            ContractCommand::ActivateContract { date } => {
                let s = self.state()?;
                match s.status {
                    // Activating twice records nothing: a retried handover is harmless.
                    ContractStatus::Active => vec![],
                    ContractStatus::Concluded if date < s.date => {
                        return Err(ContractError::BeforeContractDate { field: "date" })
                    }
                    ContractStatus::Concluded => vec![ContractEvent::ContractActivated { date }],
                    other => return Err(ContractError::WrongStatus(other)),
                }
            }
            ContractCommand::RecordPayment {
                amount,
                date,
                bank_reference,
                purpose,
            } => {
                let payment = self.record_payment(amount, date, &bank_reference, purpose)?;
                let lines: Vec<u32> = match &payment {
                    ContractEvent::PaymentRecorded { allocations, .. } => allocations
                        .iter()
                        .filter_map(|a| match a.target {
                            AllocationTarget::Line { number } => Some(number),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                sink.write(payment, self).await;
                // A line paid after its deadline has its penalty settled through the payment date now, so a
                // business day processed late never misses it.
                self.late_payment_penalties(&lines, date, &services.calendar)
            }
            ContractCommand::CloseBusinessDay { as_of } => {
                self.state()?;
                self.close_day(as_of, &services.calendar)
            }
            ContractCommand::RegisterTrafficFine {
                resolution_number,
                date,
                amount,
                vehicle,
                description,
                article,
                discount_until,
            } => {
                let (resolution_number, vehicle, description) =
                    self.register_fine(&resolution_number, amount, &vehicle, &description)?;
                let (article, discount) =
                    Self::fine_discount(amount, date, article.as_deref(), discount_until)?;
                vec![ContractEvent::TrafficFineRegistered {
                    resolution_number,
                    date,
                    amount,
                    vehicle,
                    description,
                    article,
                    discount,
                    fee: self.state()?.fine_fee,
                }]
            }
            ContractCommand::ReplaceSchedule {
                date,
                lines,
                redemption,
                source,
            } => self.replace_schedule(date, lines, redemption, source)?,
            ContractCommand::ReportBookValue {
                as_of,
                amount,
                source,
            } => {
                let s = self.state()?;
                if amount.is_negative() {
                    return Err(ContractError::OutOfRange {
                        field: "bookValue.amount",
                        reason: "a book value is zero or more",
                    });
                }
                if as_of < s.date {
                    return Err(ContractError::OutOfRange {
                        field: "bookValue.asOf",
                        reason: "not before the contract date",
                    });
                }
                match s.book_value {
                    // The same figure again, or an older one than the books have reported since.
                    Some((on, a)) if on > as_of || (on == as_of && a == amount) => vec![],
                    _ => vec![ContractEvent::BookValueReported {
                        as_of,
                        amount,
                        source,
                    }],
                }
            }
            ContractCommand::AgreeFineFee { fee } => {
                let s = self.state()?;
                if fee.is_negative() {
                    return Err(ContractError::OutOfRange {
                        field: "fee",
                        reason: "a fee is zero or more",
                    });
                }
                if s.fine_fee == fee {
                    vec![]
                } else {
                    vec![ContractEvent::FineFeeAgreed { fee }]
                }
            }
            ContractCommand::RecordFinePaid {
                resolution_number,
                date,
            } => {
                let s = self.state()?;
                let number = resolution_number.trim().to_owned();
                let fine = s
                    .fines
                    .iter()
                    .find(|f| f.resolution_number == number)
                    .ok_or_else(|| ContractError::FineNotFound(number.clone()))?;
                if fine.paid >= fine.amount {
                    return Err(ContractError::FineAlreadyPaid(number));
                }
                vec![ContractEvent::TrafficFinePaid {
                    amount: fine.amount - fine.paid,
                    resolution_number: number,
                    date,
                }]
            }
            ContractCommand::RecalculateSchedule { date, amount, mode } => {
                vec![self.recalculate(date, amount, mode)?]
            }
            ContractCommand::CompleteContract { date } => vec![self.complete(date)?],
            ContractCommand::BuyOutEarly { date } => vec![self.buy_out(date, &services.calendar)?],
            ContractCommand::TerminateContract { date, reason } => {
                vec![self.terminate(date, &reason)?]
            }
        };
        for event in events {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        if let ContractEvent::ContractConcluded {
            contract_id,
            company_id,
            date,
            schedule_kind,
            redemption_kind,
            annual_rate,
            penalty,
            lines,
            ..
        } = event
        {
            self.state = Some(State {
                contract_id,
                company_id,
                date,
                status: ContractStatus::Concluded,
                schedule_kind,
                redemption_kind,
                annual_rate,
                penalty_terms: penalty,
                lines: lines.into_iter().map(LineState::new).collect(),
                credit: Money::ZERO,
                credit_since: None,
                penalties_paid: Money::ZERO,
                fines: Vec::new(),
                fine_fee: Money::ZERO,
                book_value: None,
            });
            return;
        }
        let Some(s) = self.state.as_mut() else {
            return;
        };
        match event {
            ContractEvent::ContractConcluded { .. } => {}
            ContractEvent::ContractActivated { .. } => s.status = ContractStatus::Active,
            ContractEvent::PaymentRecorded {
                date, allocations, ..
            } => {
                for a in allocations {
                    match a.target {
                        AllocationTarget::Line { number } => {
                            if let Some(l) = s.line_mut(number) {
                                l.settle(date, a.amount);
                            }
                        }
                        AllocationTarget::Penalties => {
                            s.penalties_paid = s.penalties_paid + a.amount
                        }
                        AllocationTarget::Fine { resolution_number } => {
                            if let Some(f) = s
                                .fines
                                .iter_mut()
                                .find(|f| f.resolution_number == resolution_number)
                            {
                                f.paid = f.paid + a.amount;
                            }
                        }
                        AllocationTarget::Insurance => {}
                        AllocationTarget::Credit => {
                            s.credit = s.credit + a.amount;
                            s.credit_since = Some(s.credit_since.map_or(date, |d| d.max(date)));
                        }
                    }
                }
            }
            ContractEvent::CreditApplied { line, amount, date } => {
                s.credit = s.credit - amount;
                if let Some(l) = s.line_mut(line) {
                    l.settle(date, amount);
                }
            }
            ContractEvent::PaymentFellDue { line, .. } => {
                if let Some(l) = s.line_mut(line) {
                    l.fell_due = true;
                }
            }
            ContractEvent::PaymentOverdue { line, deadline, .. } => {
                if let Some(l) = s.line_mut(line) {
                    l.fell_due = true;
                    l.overdue = true;
                    l.deadline = Some(deadline);
                }
            }
            ContractEvent::PenaltyAccrued {
                line,
                deadline,
                through,
                total,
                ..
            } => {
                if let Some(l) = s.line_mut(line) {
                    l.deadline = Some(deadline);
                    l.penalty = total;
                    l.penalty_through = Some(l.penalty_through.map_or(through, |d| d.max(through)));
                }
            }
            ContractEvent::TrafficFineRegistered {
                resolution_number,
                amount,
                discount,
                fee,
                ..
            } => s.fines.push(FineState {
                resolution_number,
                amount: discount.map_or(amount, |d| d.amount) + fee,
                paid: Money::ZERO,
                discount,
                full: Some(amount + fee),
            }),
            ContractEvent::TrafficFineDiscountExpired {
                resolution_number,
                amount,
                ..
            } => {
                if let Some(f) = s
                    .fines
                    .iter_mut()
                    .find(|f| f.resolution_number == resolution_number)
                {
                    f.amount = f.amount + amount;
                    f.discount = None;
                }
            }
            ContractEvent::FineFeeAgreed { fee } => s.fine_fee = fee,
            ContractEvent::BookValueReported { as_of, amount, .. } => {
                s.book_value = Some((as_of, amount));
            }
            ContractEvent::TrafficFinePaid {
                resolution_number,
                amount,
                ..
            } => {
                if let Some(f) = s
                    .fines
                    .iter_mut()
                    .find(|f| f.resolution_number == resolution_number)
                {
                    f.paid = f.paid + amount;
                }
            }
            ContractEvent::ScheduleRecalculated {
                amount,
                replaced,
                lines,
                ..
            } => {
                s.credit = s.credit - amount;
                s.lines.retain(|l| !replaced.contains(&l.line.number));
                s.lines.extend(lines.into_iter().map(LineState::new));
                s.lines.sort_by_key(|l| l.line.number);
            }
            ContractEvent::ScheduleReplaced {
                replaced, lines, ..
            } => {
                s.lines.retain(|l| !replaced.contains(&l.line.number));
                s.lines.extend(lines.into_iter().map(LineState::new));
                s.lines.sort_by_key(|l| l.line.number);
            }
            ContractEvent::ContractCompleted { .. } => s.status = ContractStatus::Completed,
            ContractEvent::ContractBoughtOut {
                date,
                amount,
                cancelled_lines,
                redemption_line,
            } => {
                s.status = ContractStatus::Completed;
                s.credit = s.credit - amount;
                for l in s.lines.iter_mut() {
                    if cancelled_lines.contains(&l.line.number) {
                        l.cancelled = true;
                    }
                }
                if let Some((n, paid)) = redemption_line {
                    if let Some(l) = s.line_mut(n) {
                        l.settle(date, paid);
                    }
                }
            }
            ContractEvent::ContractTerminated {
                cancelled_lines, ..
            } => {
                s.status = ContractStatus::Terminated;
                for l in s.lines.iter_mut() {
                    if cancelled_lines.contains(&l.line.number) {
                        l.cancelled = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "aggregate_tests.rs"]
mod tests;
