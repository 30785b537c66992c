//! Contracts over GraphQL: the contract with its schedule, payments, penalties and fines; the company's debt;
//! the early-buyout quote; the business date; and the back office's contract mutations.
//!
//! Lists never cost a query per row: a page of contracts fetches the schedules and debts of all its rows in
//! one query each, and only when the request asks for them.
//!
//! # Layout
//! - [`enums`], [`types`], [`inputs`]: what the schema shows and takes;
//! - this module: the queries, the mutations, and the as-of and debt resolvers other features use.

mod enums;
mod inputs;
mod types;

pub use enums::*;
pub use inputs::*;
pub use types::*;

use std::collections::HashMap;

use std::sync::Arc;

use crate::graphql::scalars::Date;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};
use domain::clock::{ClockCommand, CLOCK_ID};
use domain::contract::ContractCommand;
use domain::schedule::RecalculationMode as DomainMode;
use projections::engine::asof::{AsOf, Selection};
use projections::store::command::CommandOutcome;
use projections::views::contracts::{
    self as views, ContractDebtView, ContractView, ScheduleLineView,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::auth::policy::{authorize, Operation};
use crate::error::{clock_command_error, contract_command_error, ApiError};
use crate::graphql::context::{allow, allow_seen, app, found, idempotency_key, request};
use crate::graphql::scalars::money;

// ---------------------------------------------------------------------------------------------------------
// Resolvers

/// Loads a contract (with the business date, in the same query) and checks the caller may perform `op` on
/// its company. UNAUTHENTICATED comes before NOT_FOUND, so an anonymous caller learns nothing.
async fn authorized_contract(
    ctx: &Context<'_>,
    id: Uuid,
    op: fn(Uuid) -> Operation,
) -> Result<(ContractView, Option<Date>), ApiError> {
    let req = request(ctx)?;
    if req.actor.is_none() {
        authorize(None, op(Uuid::nil()))?;
    }
    let (view, today) = views::load_contract_and_day(&app(ctx).pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("contract not found".into()))?;
    allow_seen(ctx, op(view.company_id), || {
        ApiError::NotFound("contract not found".into())
    })?;
    Ok((view, today.map(Date)))
}

async fn contract_payload(
    ctx: &Context<'_>,
    out: CommandOutcome,
) -> Result<ContractPayload, ApiError> {
    let id: Uuid = out.aggregate_id.parse().map_err(|_| {
        ApiError::Internal(anyhow::anyhow!(
            "contract id {} is not a UUID",
            out.aggregate_id
        ))
    })?;
    let view = views::load_contract(&app(ctx).pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("contract not found".into()))?;
    Ok(ContractPayload {
        contract: view.try_into()?,
        position: out
            .last_position
            .map(crate::graphql::position::Position::event),
        replayed: out.replayed,
    })
}

/// The path of every mutation on an existing contract: load it, authorize ChangeContract on its company,
/// check the key, build the command, execute.
async fn change_contract(
    ctx: &Context<'_>,
    contract_id: Uuid,
    key: Option<String>,
    build: impl FnOnce(Option<Date>) -> Result<ContractCommand, ApiError>,
) -> Result<CommandOutcome, ApiError> {
    let (_, today) = authorized_contract(ctx, contract_id, Operation::ChangeContract).await?;
    let (actor, req) = allow(ctx, Operation::Me)?;
    let key = idempotency_key(key)?;
    let command = build(today)?;
    app(ctx)
        .contracts
        .execute(&contract_id.to_string(), command, &req.meta(actor, key))
        .await
        .map_err(contract_command_error)
}

/// Money cannot arrive on a day that has not started: a payment dated after the business date is a typo
/// (once the clock runs).
fn not_after_business_date(today: Option<Date>, field: &str, date: Date) -> Result<(), ApiError> {
    match today {
        Some(today) if date > today => Err(ApiError::validation(
            field,
            format!("is after the business date {today}"),
        )),
        _ => Ok(()),
    }
}

/// [`change_contract`], answering with the contract as committed.
async fn changed(
    ctx: &Context<'_>,
    contract_id: Uuid,
    key: Option<String>,
    build: impl FnOnce(Option<Date>) -> Result<ContractCommand, ApiError>,
) -> Result<ContractPayload, ApiError> {
    let out = change_contract(ctx, contract_id, key, build).await?;
    contract_payload(ctx, out).await
}

fn parse_cursor(after: Option<String>) -> Result<Option<(chrono::NaiveDate, Uuid)>, ApiError> {
    super::pagination::pair_cursor(after)
}

/// Contract queries.
#[derive(Default)]
pub struct ContractQuery;

#[Object]
impl ContractQuery {
    /// One contract; `null` when there is none the caller may see (a CLIENT sees only its own companies').
    /// With `asOf` (staff): the contract as it was at that instant — schedule, payments, fines and debt
    /// rebuilt from the events recorded up to it (`null` when it did not exist yet).
    async fn contract(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Option<Contract>> {
        if let Some(at) = as_of {
            return Ok(found(contract_as_of(ctx, id, at).await)?);
        }
        let view = found(authorized_contract(ctx, id, Operation::ReadContracts).await)?;
        Ok(view.map(|(v, _)| Contract::try_from(v)).transpose()?)
    }

    /// A company's contracts, newest first, optionally by status.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn contracts(
        &self,
        ctx: &Context<'_>,
        company_id: Uuid,
        status: Option<ContractStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Contract, super::pagination::Total>> {
        allow(ctx, Operation::ReadContracts(company_id))?;
        let limit = super::pagination::page_size(first)?;
        let cursor = parse_cursor(after)?;
        let pool = &super::context::read_pool(ctx).await?;
        let rows = views::list_contracts(
            pool,
            company_id,
            status.map(ContractStatus::as_str),
            cursor,
            limit + 1,
        )
        .await
        .map_err(ApiError::from)?;
        let has_next = rows.len() as i64 > limit;
        let rows: Vec<ContractView> = rows.into_iter().take(limit as usize).collect();
        let ids: Vec<Uuid> = rows.iter().map(|r| r.contract_id).collect();
        // Set-based: what the page's nodes ask for is read for all of them at once.
        let mut schedules: HashMap<Uuid, Vec<ScheduleLineView>> = HashMap::new();
        let with_schedule = super::pagination::nodes_select(ctx, &["schedule", "penalties"]);
        if with_schedule {
            for l in views::load_schedules(pool, &ids)
                .await
                .map_err(ApiError::from)?
            {
                schedules.entry(l.contract_id).or_default().push(l);
            }
        }
        let mut debts: HashMap<Uuid, ContractDebtView> = HashMap::new();
        if super::pagination::nodes_select(ctx, &["debt"]) {
            for d in views::load_contract_debts(pool, &ids)
                .await
                .map_err(ApiError::from)?
            {
                debts.insert(d.contract_id, d);
            }
        }
        let total = super::pagination::total(
            ctx,
            views::count_contracts(pool, company_id, status.map(ContractStatus::as_str)),
        )
        .await?;
        let mut conn = Connection::with_additional_fields(cursor.is_some(), has_next, total);
        for r in rows {
            let cursor = format!("{}|{}", r.contract_date, r.contract_id);
            let id = r.contract_id;
            let mut c = Contract::try_from(r)?;
            if with_schedule {
                c.prefetched_schedule = Some(schedules.remove(&id).unwrap_or_default());
            }
            c.prefetched_debt = debts.remove(&id);
            conn.edges.push(Edge::new(cursor, c));
        }
        Ok(conn)
    }

    /// What a company owes: totals and the per-contract breakdown, as of the last business day. With
    /// `asOf` (staff): as it was at that instant, from the events and business days recorded up to it.
    async fn debt(
        &self,
        ctx: &Context<'_>,
        company_id: Uuid,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<CompanyDebt> {
        if let Some(at) = as_of {
            return Ok(debt_as_of(ctx, company_id, at).await?);
        }
        allow(ctx, Operation::ReadContracts(company_id))?;
        let pool = super::context::read_pool(ctx).await?;
        Ok(company_debt(&pool, company_id).await?)
    }

    /// What buying the asset out costs on `asOf` (default: the business date): outstanding principal, unpaid
    /// due amounts, penalties through the date, fines and the redemption, less credit. Computed from the
    /// contract's events; nothing is stored.
    async fn early_buyout_quote(
        &self,
        ctx: &Context<'_>,
        contract_id: Uuid,
        as_of: Option<Date>,
    ) -> Result<BuyoutQuote> {
        let (_, today) = authorized_contract(ctx, contract_id, Operation::ReadContracts).await?;
        let app = app(ctx);
        let as_of = as_of.or(today).ok_or_else(|| {
            ApiError::validation("asOf", "the business clock has not started; give asOf")
        })?;
        let contract = app
            .contracts
            .load(&contract_id.to_string())
            .await
            .map_err(contract_command_error)?;
        let q = contract
            .early_buyout_quote(as_of.0, &app.calendar)
            .map_err(|e| ApiError::validation("contractId", e.to_string()))?;
        Ok(BuyoutQuote {
            contract_id,
            as_of: q.as_of.into(),
            outstanding_principal: q.outstanding_principal.amount(),
            unpaid_due: q.unpaid_due.amount(),
            penalties: q.penalties.amount(),
            fines: q.fines.amount(),
            redemption: q.redemption.amount(),
            credit: q.credit.amount(),
            total: q.total.amount(),
        })
    }

    /// The business date, and the last day whose closing is done.
    async fn business_date(&self, ctx: &Context<'_>) -> Result<BusinessDate> {
        allow(ctx, Operation::ReadBusinessDate)?;
        let (date, closed_through) = views::load_business_day(&app(ctx).pool)
            .await
            .map_err(ApiError::from)?;
        Ok(BusinessDate {
            date: date.map(Date),
            closed_through: closed_through.map(Date),
        })
    }
}

/// Contract mutations (MANAGER, ACCOUNTANT, ADMIN; `advanceClock`: ADMIN). Each takes an optional
/// `idempotencyKey`: a retry with the same key has one effect and returns the first result.
#[derive(Default)]
pub struct ContractMutation;

#[Object]
impl ContractMutation {
    /// Concludes a contract for a registered company; the schedule is computed from the terms. A duplicate
    /// number, an advance not below the price, a zero term or a VIN with I, O or Q is refused, naming the
    /// field.
    async fn conclude_contract(
        &self,
        ctx: &Context<'_>,
        input: ConcludeContractInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        let (actor, req) = allow(ctx, Operation::ConcludeContract(input.company_id))?;
        let key = self::idempotency_key(idempotency_key)?;
        let contract_id = Uuid::now_v7();
        let terms = input.parse(contract_id)?;
        let out = app(ctx)
            .contracts
            .execute(
                &contract_id.to_string(),
                ContractCommand::ConcludeContract(Box::new(terms)),
                &req.meta(actor, key),
            )
            .await
            .map_err(contract_command_error)?;
        Ok(contract_payload(ctx, out).await?)
    }

    /// Records the handover of the asset: the contract becomes ACTIVE.
    async fn activate_contract(
        &self,
        ctx: &Context<'_>,
        input: ActivateContractInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        Ok(changed(ctx, input.contract_id, idempotency_key, |_| {
            Ok(ContractCommand::ActivateContract { date: input.date.0 })
        })
        .await?)
    }

    /// Records a bank payment and allocates it; returns the debt it left. A bank reference already recorded
    /// on the contract is refused (the same statement imported twice never counts twice).
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        input: RecordPaymentInput,
        idempotency_key: Option<String>,
    ) -> Result<PaymentPayload> {
        let amount = money("input.amount", input.amount)?;
        let payload = changed(ctx, input.contract_id, idempotency_key, |today| {
            not_after_business_date(today, "input.date", input.date)?;
            Ok(ContractCommand::RecordPayment {
                amount,
                date: input.date.0,
                bank_reference: input.bank_reference,
                purpose: input.purpose.into(),
            })
        })
        .await?;
        let debt = views::load_contract_debts(&app(ctx).pool, &[input.contract_id])
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::NotFound("contract not found".into()))?;
        Ok(PaymentPayload {
            debt: ContractDebt {
                number: Some(payload.contract.number.clone()),
                ..ContractDebt::from(debt)
            },
            contract: payload.contract,
            position: payload.position,
            replayed: payload.replayed,
        })
    }

    /// Re-bills a traffic fine to the lessee. A resolution number is registered once.
    async fn register_traffic_fine(
        &self,
        ctx: &Context<'_>,
        input: RegisterTrafficFineInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        let amount = money("input.amount", input.amount)?;
        Ok(changed(ctx, input.contract_id, idempotency_key, |_| {
            Ok(ContractCommand::RegisterTrafficFine {
                resolution_number: input.resolution_number,
                date: input.date.0,
                amount,
                vehicle: input.vehicle,
                description: input.description,
                article: input.article,
                discount_until: input.discount_until.map(|d| d.0),
            })
        })
        .await?)
    }

    /// Agrees the lessor's fee for re-billing each traffic fine on the contract (as its terms say), for the
    /// fines registered from now on; 0 removes it.
    async fn agree_fine_fee(
        &self,
        ctx: &Context<'_>,
        input: AgreeFineFeeInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        let fee = money("input.fee", input.fee)?;
        Ok(changed(ctx, input.contract_id, idempotency_key, |_| {
            Ok(ContractCommand::AgreeFineFee { fee })
        })
        .await?)
    }

    /// Records that a fine was paid outside the contract's payments (for example, straight to the traffic
    /// police); what was owed on it is cleared.
    async fn record_fine_paid(
        &self,
        ctx: &Context<'_>,
        input: RecordFinePaidInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        Ok(changed(ctx, input.contract_id, idempotency_key, |_| {
            Ok(ContractCommand::RecordFinePaid {
                resolution_number: input.resolution_number,
                date: input.date.0,
            })
        })
        .await?)
    }

    /// After a partial early repayment (money on the credit balance): recomputes the unpaid lines after the
    /// date — fewer lines or smaller ones.
    async fn recalculate_schedule(
        &self,
        ctx: &Context<'_>,
        input: RecalculateScheduleInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        let amount = money("input.amount", input.amount)?;
        Ok(changed(ctx, input.contract_id, idempotency_key, |_| {
            Ok(ContractCommand::RecalculateSchedule {
                date: input.date.0,
                amount,
                mode: match input.mode {
                    RecalculationMode::ShorterTerm => DomainMode::ShorterTerm,
                    RecalculationMode::SmallerPayments => DomainMode::SmallerPayments,
                },
            })
        })
        .await?)
    }

    /// Completes a contract whose lines, redemption, penalties and fines are all paid.
    async fn complete_contract(
        &self,
        ctx: &Context<'_>,
        input: CompleteContractInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        Ok(changed(ctx, input.contract_id, idempotency_key, |_| {
            Ok(ContractCommand::CompleteContract { date: input.date.0 })
        })
        .await?)
    }

    /// Terminates a contract early; unpaid lines due after the date are cancelled, debts already due stay.
    async fn terminate_contract(
        &self,
        ctx: &Context<'_>,
        input: TerminateContractInput,
        idempotency_key: Option<String>,
    ) -> Result<ContractPayload> {
        Ok(changed(ctx, input.contract_id, idempotency_key, |_| {
            Ok(ContractCommand::TerminateContract {
                date: input.date.0,
                reason: input.reason,
            })
        })
        .await?)
    }

    /// Starts every business day up to `to` (ADMIN; never backwards). Each day's closing — credit applied,
    /// lines due and overdue, penalties — follows in the background; `businessDate.closedThrough` shows
    /// how far it got.
    async fn advance_clock(
        &self,
        ctx: &Context<'_>,
        input: AdvanceClockInput,
        idempotency_key: Option<String>,
    ) -> Result<ClockPayload> {
        let (actor, req) = allow(ctx, Operation::AdvanceClock)?;
        let key = crate::graphql::context::idempotency_key(idempotency_key)?;
        let out = app(ctx)
            .clock
            .execute(
                CLOCK_ID,
                ClockCommand::AdvanceClock { to: input.to.0 },
                &req.meta(actor, key),
            )
            .await
            .map_err(|e| clock_command_error(e).in_input())?;
        Ok(ClockPayload {
            business_date: input.to,
            days_started: out.events as i32,
            position: out
                .last_position
                .map(crate::graphql::position::Position::event),
            replayed: out.replayed,
        })
    }
}

/// The business clock moved forward.
#[derive(Debug, Clone, async_graphql::InputObject)]
pub struct AdvanceClockInput {
    /// The last business day to start (never before the current one).
    pub to: Date,
}

/// A company's debt as `debt` answers it (also what `debtChanged` sends); no authorization here.
///
/// # Errors
/// A database error.
pub(crate) async fn company_debt(
    pool: &sqlx::PgPool,
    company_id: Uuid,
) -> Result<CompanyDebt, ApiError> {
    let mut conn = pool.acquire().await?;
    let d = views::load_company_debt(&mut conn, company_id)
        .await
        .map_err(ApiError::from)?;
    Ok(company_debt_from(company_id, d))
}

/// The GraphQL form of a company's debt rows.
pub(crate) fn company_debt_from(company_id: Uuid, d: views::CompanyDebt) -> CompanyDebt {
    let zero = m2(Decimal::ZERO);
    let contracts = d
        .contracts
        .into_iter()
        .map(|r| ContractDebt {
            number: Some(r.number),
            ..ContractDebt::from(r.debt)
        })
        .collect();
    match d.total {
        Some(t) => CompanyDebt {
            company_id,
            as_of: d.business_date.map(Date),
            leasing_due: m2(t.leasing_due),
            overdue: m2(t.overdue),
            penalties: m2(t.penalties),
            fines: m2(t.fines),
            insurance: m2(t.insurance),
            credit: m2(t.credit),
            total: m2(t.total),
            next_payment: next_payment(t.next_payment_date.map(Date), t.next_payment_amount),
            contracts,
        },
        None => CompanyDebt {
            company_id,
            as_of: d.business_date.map(Date),
            leasing_due: zero,
            overdue: zero,
            penalties: zero,
            fines: zero,
            insurance: zero,
            credit: zero,
            total: zero,
            next_payment: None,
            contracts,
        },
    }
}

/// The contract as of `at`: its rows, schedule, payments, fines and debt from its events (and its policies'
/// and the business days') recorded up to `at`.
pub(crate) async fn contract_as_of(
    ctx: &Context<'_>,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<Contract, ApiError> {
    let at = super::history::history_allowed(ctx, at)?;
    let pool = &app(ctx).pool;
    let policies = super::history::ids(
        pool,
        "SELECT policy_id::text FROM policies_view WHERE contract_id = $1",
        id,
    )
    .await?;
    let mut a = AsOf::begin(pool, at).await?;
    a.replay(
        &projections::views::contracts::ContractsProjection,
        &Selection::of("Contract", [id.to_string()])
            .and("Policy", policies)
            .with_business_days(),
    )
    .await
    .map_err(super::history::replay_error)?;
    let conn = a.conn();
    let view = projections::views::contracts::load_contract(&mut *conn, id)
        .await?
        .ok_or_else(|| super::history::not_at("contract", id, at))?;
    let rows = ContractAsOf {
        schedule: projections::views::contracts::load_schedules(&mut *conn, &[id]).await?,
        payments: projections::views::contracts::load_payments(&mut *conn, id).await?,
        fines: projections::views::contracts::load_fines(&mut *conn, id).await?,
        debt: projections::views::contracts::load_contract_debts(&mut *conn, &[id])
            .await?
            .into_iter()
            .next(),
    };
    let mut c = Contract::try_from(view)?;
    c.as_of = Some(Arc::new(rows));
    Ok(c)
}

/// A company's debt as of `at`: every contract and policy of the company replayed up to `at`.
pub(crate) async fn debt_as_of(
    ctx: &Context<'_>,
    company_id: Uuid,
    at: DateTime<Utc>,
) -> Result<CompanyDebt, ApiError> {
    let at = super::history::history_allowed(ctx, at)?;
    let pool = &app(ctx).pool;
    let contracts = super::history::ids(
        pool,
        "SELECT contract_id::text FROM contracts_view WHERE company_id = $1",
        company_id,
    )
    .await?;
    let policies = super::history::ids(
        pool,
        "SELECT policy_id::text FROM policies_view WHERE company_id = $1",
        company_id,
    )
    .await?;
    let mut a = AsOf::begin(pool, at).await?;
    a.replay(
        &projections::views::contracts::ContractsProjection,
        &Selection::of("Contract", contracts)
            .and("Policy", policies)
            .with_business_days(),
    )
    .await
    .map_err(super::history::replay_error)?;
    let d = projections::views::contracts::load_company_debt(a.conn(), company_id).await?;
    Ok(company_debt_from(company_id, d))
}
