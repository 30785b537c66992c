//! The data set: companies and leasing contracts written straight into the event log (as an import from
//! the lessor's system would), with the same event payloads the aggregates record. Read models are then
//! built by a measured `projections rebuild`.

use std::time::Instant;

use chrono::{Months, NaiveDate};
use cqrs_es::DomainEvent;
use domain::company::{CompanyEvent, CompanyKind};
use domain::contract::{
    Allocation, AllocationTarget, ContractEvent, LeasingSubject, PaymentPurpose,
};
use domain::penalty::PenaltyTerms;
use domain::schedule::{build_schedule, RedemptionKind, ScheduleKind, ScheduleTerms};
use domain::values::Money;
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

/// What was seeded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Seeded {
    /// Company ids.
    pub companies: Vec<Uuid>,
    /// Contract ids (with open lines left to pay).
    pub contracts: Vec<Uuid>,
    /// A contract with 10 events.
    pub short_history: Uuid,
    /// A contract with 10,000 events.
    pub long_history: Uuid,
    /// Events written.
    pub events: u64,
    /// Seconds taken.
    pub seconds: f64,
}

struct Rows {
    pool: PgPool,
    t: Vec<String>,
    id: Vec<String>,
    seq: Vec<i64>,
    et: Vec<String>,
    ev: Vec<String>,
    payload: Vec<String>,
    meta: Vec<String>,
    written: u64,
}

const CHUNK: usize = 5_000;

impl Rows {
    fn new(pool: PgPool) -> Self {
        Self {
            pool,
            t: Vec::new(),
            id: Vec::new(),
            seq: Vec::new(),
            et: Vec::new(),
            ev: Vec::new(),
            payload: Vec::new(),
            meta: Vec::new(),
            written: 0,
        }
    }

    async fn push<E: DomainEvent>(
        &mut self,
        aggregate_type: &str,
        id: Uuid,
        sequence: i64,
        event: &E,
    ) -> anyhow::Result<()> {
        self.t.push(aggregate_type.to_owned());
        self.id.push(id.to_string());
        self.seq.push(sequence);
        self.et.push(event.event_type());
        self.ev.push(event.event_version());
        // Sealed like the store seals (ADR 0016), so the benchmark pays for opening them.
        let mut payload = serde_json::to_value(event)?;
        if projections::personal::is_marked(&payload) {
            let mut conn = self.pool.acquire().await?;
            projections::personal::seal(
                &mut conn,
                aggregate_type,
                &id.to_string(),
                &mut [&mut payload],
            )
            .await?;
        }
        self.payload.push(payload.to_string());
        self.meta.push(format!(
            r#"{{"actor":"system:bench","correlation_id":"seed-{id}","causation_id":"seed","request_id":"seed"}}"#
        ));
        if self.t.len() >= CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.t.is_empty() {
            return Ok(());
        }
        // An appender like the store's (ADR 0014), so consumers running meanwhile wait for it.
        let mut tx = self.pool.begin().await?;
        projections::engine::horizon::register_appender(&mut tx).await?;
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             SELECT t, i, s, et, ev, p::jsonb, m::jsonb \
             FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[]) \
               AS u(t, i, s, et, ev, p, m)",
        )
        .bind(&self.t)
        .bind(&self.id)
        .bind(&self.seq)
        .bind(&self.et)
        .bind(&self.ev)
        .bind(&self.payload)
        .bind(&self.meta)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.written += self.t.len() as u64;
        self.t.clear();
        self.id.clear();
        self.seq.clear();
        self.et.clear();
        self.ev.clear();
        self.payload.clear();
        self.meta.clear();
        Ok(())
    }
}

fn company_event(i: usize) -> anyhow::Result<CompanyEvent> {
    // Distinct КПП per company (ИНН+КПП is unique): 7736 + two digits + three digits.
    let p = domain::testing::sample_profile(&format!("7736{:02}{:03}", (i / 1000) % 100, i % 1000));
    Ok(CompanyEvent::CompanyRegistered {
        company_id: Uuid::nil(),
        kind: CompanyKind::LegalEntity,
        inn: p.inn,
        kpp: p.kpp,
        ogrn: p.ogrn,
        full_name: format!("{} №{i}", p.full_name),
        short_name: format!("{} №{i}", p.short_name),
        legal_address: p.legal_address,
        postal_address: p.postal_address,
        bank: p.bank,
        contact_email: p.contact_email.into(),
        contact_phone: p.contact_phone.into(),
    })
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

/// The business day the benchmark closes: every seeded contract has its first unpaid line due that day
/// (the lines before it are paid on their due dates, the 15th of each month).
pub const CLOSE_DAY: &str = "2027-06-15";

/// The ContractConcluded of contract `i`: an annuity of 36–60 months, 10% advance, 18% a year.
fn concluded(i: usize, id: Uuid, company: Uuid) -> anyhow::Result<ContractEvent> {
    let price = Money::round(Decimal::from(2_400_000 + (i % 20) as i64 * 100_000));
    let advance = Money::round(price.amount() / Decimal::from(10));
    let term = 36 + (i % 25) as u32;
    // Every contract pays on the 15th: each has a line due on [`CLOSE_DAY`], the day the benchmark closes.
    let date = d("2025-01-15") + Months::new((i % 10) as u32);
    let first_due = date + Months::new(1);
    let redemption = Money::round(Decimal::from(1000));
    let penalty = PenaltyTerms {
        rate_per_day: Decimal::new(1, 1),
        base_includes_vat: true,
        payment_day_counts: true,
    };
    let lines = build_schedule(&ScheduleTerms {
        contract_date: date,
        price,
        advance,
        term_months: term,
        annual_rate: Decimal::from(18),
        first_due_date: first_due,
        redemption,
        redemption_kind: RedemptionKind::Symbolic,
        kind: ScheduleKind::Annuity,
        explicit: vec![],
    })?;
    Ok(ContractEvent::ContractConcluded {
        contract_id: id,
        company_id: company,
        number: format!("BENCH-{i:07}"),
        date,
        contact_email: domain::values::Email::parse("buh@romashka.ru")?.into(),
        subject: LeasingSubject {
            kind: "легковой автомобиль".into(),
            make: "Lada".into(),
            model: "Vesta".into(),
            year: 2025,
            vin: None,
            serial_number: Some(format!("SN{i:09}")),
            // A plate of its own: the fines register matches by it.
            registration_plate: Some(format!("B{i:07}")),
        },
        price,
        advance,
        advance_percent: Some(Decimal::from(10)),
        term_months: term,
        annual_rate: Decimal::from(18),
        first_due_date: first_due,
        schedule_kind: ScheduleKind::Annuity,
        redemption,
        redemption_kind: RedemptionKind::Symbolic,
        penalty,
        lines,
    })
}

fn payment(reference: String, date: NaiveDate, line: u32, amount: Money) -> ContractEvent {
    ContractEvent::PaymentRecorded {
        bank_reference: reference,
        date,
        amount,
        purpose: PaymentPurpose::LeasingPayment,
        allocations: vec![Allocation {
            target: AllocationTarget::Line { number: line },
            amount,
        }],
    }
}

/// Writes about `target_events` events: companies with `per_company` contracts each; each contract
/// concluded and the lines due before [`CLOSE_DAY`] paid on their due dates. Plus two contracts for the history
/// figure: one with 10 events, one with 10,000.
///
/// # Errors
/// A database error.
pub async fn seed(pool: &PgPool, target_events: u64, per_company: usize) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let mut rows = Rows::new(pool.clone());
    let mut companies = Vec::new();
    let mut contracts = Vec::new();
    let mut i = 0usize;
    while rows.written + (rows.t.len() as u64) < target_events {
        if i.is_multiple_of(per_company) {
            let id = Uuid::now_v7();
            let mut e = company_event(companies.len())?;
            if let CompanyEvent::CompanyRegistered { company_id, .. } = &mut e {
                *company_id = id;
            }
            rows.push("Company", id, 1, &e).await?;
            companies.push(id);
        }
        let company = *companies.last().unwrap_or(&Uuid::nil());
        let id = Uuid::now_v7();
        let c = concluded(i, id, company)?;
        let ContractEvent::ContractConcluded { lines, .. } = &c else {
            unreachable!()
        };
        let close_day = d(CLOSE_DAY);
        let paid: Vec<_> = lines
            .iter()
            .filter(|l| l.due_date < close_day)
            .map(|l| (l.number, l.due_date, l.amount))
            .collect();
        rows.push("Contract", id, 1, &c).await?;
        for (k, (n, due, amount)) in paid.into_iter().enumerate() {
            rows.push(
                "Contract",
                id,
                2 + k as i64,
                &payment(format!("S{i}-{n}"), due, n, amount),
            )
            .await?;
        }
        contracts.push(id);
        i += 1;
    }
    let mut history = Vec::new();
    for events in [10usize, 10_000] {
        let id = Uuid::now_v7();
        let c = concluded(i, id, companies[0])?;
        let ContractEvent::ContractConcluded { date, .. } = &c else {
            unreachable!()
        };
        let date = *date;
        rows.push("Contract", id, 1, &c).await?;
        for k in 1..events {
            // 1.00 a time on the advance line, all on the contract date.
            rows.push(
                "Contract",
                id,
                1 + k as i64,
                &payment(format!("H{i}-{k}"), date, 0, Money::round(Decimal::ONE)),
            )
            .await?;
        }
        history.push(id);
        i += 1;
    }
    rows.flush().await?;
    Ok(Seeded {
        companies,
        contracts,
        short_history: history[0],
        long_history: history[1],
        events: rows.written,
        seconds: started.elapsed().as_secs_f64(),
    })
}
