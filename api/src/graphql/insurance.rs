//! Insurance: policies with their installments and insured events; the back office issues, prolongs,
//! changes and cancels them and records premiums paid. The client reads them, downloads the policy form and
//! reports insured events (through `reportInsuredEvent`, in requests.rs); prolongation and changes of terms
//! are requested with `submitRequest`.

use std::collections::HashMap;

use crate::graphql::scalars::Date;
use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use domain::policy::{self as dp, PolicyCommand, PolicyTerms, Prolongation, TermsChange};
use domain::values::Money;
use projections::engine::asof::{AsOf, Selection};
use projections::views::policies::{self as views, InstallmentView, InsuredEventView, PolicyView};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::context::{allow, allow_seen, app, idempotency_key, request};
use super::enums::unknown_stored;
use super::files::FileInfo;
use super::pagination::page_size;
use super::payload::{payload, Done};
use super::scalars::money;
use crate::auth::policy::{authorize, Operation};
use crate::error::{policy_command_error, ApiError};

/// What a policy insures against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Deserialize)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// ОСАГО.
    Osago,
    /// КАСКО.
    Kasko,
    /// Property insurance.
    Property,
    /// Other.
    Other,
}

impl PolicyKind {
    pub(crate) fn domain(self) -> dp::PolicyKind {
        match self {
            Self::Osago => dp::PolicyKind::Osago,
            Self::Kasko => dp::PolicyKind::Kasko,
            Self::Property => dp::PolicyKind::Property,
            Self::Other => dp::PolicyKind::Other,
        }
    }

    pub(crate) fn from_view(s: &str) -> Result<Self, ApiError> {
        Ok(match s {
            "osago" => Self::Osago,
            "kasko" => Self::Kasko,
            "property" => Self::Property,
            "other" => Self::Other,
            other => return Err(unknown_stored("policies_view.kind", other)),
        })
    }
}

/// Who pays the insurer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum PremiumPayer {
    /// The lessee pays the insurer directly.
    Lessee,
    /// The lessor pays and re-bills the lessee (installments due are insurance debt).
    Lessor,
}

impl From<PremiumPayer> for dp::PremiumPayer {
    fn from(p: PremiumPayer) -> Self {
        match p {
            PremiumPayer::Lessee => dp::PremiumPayer::Lessee,
            PremiumPayer::Lessor => dp::PremiumPayer::Lessor,
        }
    }
}

/// Where a policy stands on the current business day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum PolicyStatus {
    /// In force.
    Active,
    /// In force, ending within 30 days.
    Expiring,
    /// Past its end date.
    Expired,
    /// Cancelled.
    Cancelled,
}

impl PolicyStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expiring => "expiring",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    fn from_view(s: &str) -> Result<Self, ApiError> {
        Ok(match s {
            "active" => Self::Active,
            "expiring" => Self::Expiring,
            "expired" => Self::Expired,
            "cancelled" => Self::Cancelled,
            other => return Err(unknown_stored("policies_view.status", other)),
        })
    }
}

/// A part of the premium.
#[derive(Debug, Clone, SimpleObject)]
pub struct PremiumInstallment {
    /// Number within the policy.
    pub number: i32,
    /// Due date.
    pub due_date: Date,
    /// Amount.
    pub amount: Decimal,
    /// Paid.
    pub paid: Decimal,
    /// Re-billed by the lessor (owed to the lessor once due).
    pub rebilled: bool,
    /// The business day reached its due date.
    pub fell_due: bool,
    /// No longer owed (the policy was cancelled).
    pub cancelled: bool,
}

impl From<InstallmentView> for PremiumInstallment {
    fn from(v: InstallmentView) -> Self {
        Self {
            number: v.number,
            due_date: v.due_date.into(),
            amount: v.amount.round_dp(2),
            paid: v.paid.round_dp(2),
            rebilled: v.rebilled,
            fell_due: v.fell_due,
            cancelled: v.cancelled,
        }
    }
}

/// An insured event the lessee reported.
#[derive(Debug, Clone, SimpleObject)]
pub struct InsuredEvent {
    /// Id.
    pub id: Uuid,
    /// When it happened.
    pub date: Date,
    /// Where; null once the reporter's personal data was destroyed.
    pub place: Option<String>,
    /// What happened; null once the reporter's personal data was destroyed.
    pub description: Option<String>,
    /// Contact phone; null once the reporter's personal data was destroyed.
    pub contact_phone: Option<String>,
    /// Photos and papers.
    pub attachments: Vec<FileInfo>,
    /// When it was reported.
    pub reported_at: DateTime<Utc>,
}

impl From<InsuredEventView> for InsuredEvent {
    fn from(v: InsuredEventView) -> Self {
        Self {
            id: v.event_id,
            date: v.occurred_on.into(),
            place: v.place,
            description: v.description,
            contact_phone: v.contact_phone,
            attachments: FileInfo::list_from_json(&v.attachments),
            reported_at: v.reported_at,
        }
    }
}

/// An insurance policy on a leased asset.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Policy {
    /// Id.
    pub id: Uuid,
    /// The insured contract.
    pub contract_id: Uuid,
    /// The lessee.
    pub company_id: Uuid,
    /// Insurance company.
    pub insurer: String,
    /// Kind.
    pub kind: PolicyKind,
    /// Policy number.
    pub number: String,
    /// First day of the first period.
    pub first_starts_on: Date,
    /// First day of the current period.
    pub starts_on: Date,
    /// Last day of the current period.
    pub ends_on: Date,
    /// Sum insured.
    pub sum_insured: Decimal,
    /// Premium over all periods.
    pub premium: Decimal,
    /// Premium paid.
    pub premium_paid: Decimal,
    /// Re-billed premium fallen due and unpaid (this policy's part of the insurance debt).
    pub insurance_debt: Decimal,
    /// Who pays the insurer.
    pub payer: PremiumPayer,
    /// Status on the current business day.
    pub status: PolicyStatus,
    /// Cancellation date.
    pub cancelled_on: Option<Date>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// The policy form.
    pub form: Option<FileInfo>,
    /// Premium installments.
    pub installments: Vec<PremiumInstallment>,
    /// Insured events reported.
    #[graphql(skip)]
    pub insured_events: Vec<InsuredEvent>,
}

#[async_graphql::ComplexObject]
impl Policy {
    /// Insured events reported, oldest first (for a page of policies, loaded with the page).
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn insured_events(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, InsuredEvent, super::pagination::Total>> {
        Ok(super::pagination::slice(
            &self.insured_events,
            first,
            after,
        )?)
    }
}

impl Policy {
    fn new(
        v: PolicyView,
        installments: Vec<InstallmentView>,
        events: Vec<InsuredEventView>,
    ) -> Result<Self, ApiError> {
        let debt = installments
            .iter()
            .filter(|i| i.rebilled && i.fell_due && !i.cancelled)
            .map(|i| i.amount - i.paid)
            .sum::<Decimal>();
        Ok(Self {
            id: v.policy_id,
            contract_id: v.contract_id,
            company_id: v.company_id,
            insurer: v.insurer,
            kind: PolicyKind::from_view(&v.kind)?,
            number: v.number,
            first_starts_on: v.first_starts_on.into(),
            starts_on: v.starts_on.into(),
            ends_on: v.ends_on.into(),
            sum_insured: v.sum_insured.round_dp(2),
            premium: v.premium.round_dp(2),
            premium_paid: v.premium_paid.round_dp(2),
            insurance_debt: debt.round_dp(2),
            payer: match v.payer.as_str() {
                "lessee" => PremiumPayer::Lessee,
                "lessor" => PremiumPayer::Lessor,
                other => return Err(unknown_stored("policies_view.payer", other)),
            },
            status: PolicyStatus::from_view(&v.status)?,
            cancelled_on: v.cancelled_on.map(Date),
            cancel_reason: v.cancel_reason,
            form: v.form.as_ref().and_then(FileInfo::from_json),
            installments: installments.into_iter().map(Into::into).collect(),
            insured_events: events.into_iter().map(Into::into).collect(),
        })
    }
}

/// Policies with their installments and insured events, two queries for the whole list.
pub(crate) async fn with_children(
    ctx: &Context<'_>,
    views: Vec<PolicyView>,
) -> Result<Vec<Policy>, ApiError> {
    let mut conn = app(ctx).pool.acquire().await?;
    with_children_on(&mut conn, views).await
}

/// [`with_children`] on a given connection (an as-of reconstruction's).
pub(crate) async fn with_children_on(
    conn: &mut sqlx::PgConnection,
    views: Vec<PolicyView>,
) -> Result<Vec<Policy>, ApiError> {
    let ids: Vec<Uuid> = views.iter().map(|v| v.policy_id).collect();
    let mut inst: HashMap<Uuid, Vec<InstallmentView>> = HashMap::new();
    for i in views::load_installments(&mut *conn, &ids).await? {
        inst.entry(i.policy_id).or_default().push(i);
    }
    let mut events: HashMap<Uuid, Vec<InsuredEventView>> = HashMap::new();
    for e in views::load_insured_events(&mut *conn, &ids).await? {
        events.entry(e.policy_id).or_default().push(e);
    }
    views
        .into_iter()
        .map(|v| {
            let id = v.policy_id;
            Policy::new(
                v,
                inst.remove(&id).unwrap_or_default(),
                events.remove(&id).unwrap_or_default(),
            )
        })
        .collect()
}

/// Loads a policy and checks the caller may perform `op` on its company. UNAUTHENTICATED comes before
/// NOT_FOUND, so an anonymous caller learns nothing.
pub(crate) async fn authorized_policy(
    ctx: &Context<'_>,
    id: Uuid,
    op: fn(Uuid) -> Operation,
) -> Result<PolicyView, ApiError> {
    let req = request(ctx)?;
    if req.actor.is_none() {
        authorize(None, op(Uuid::nil()))?;
    }
    let view = views::load_policy(&app(ctx).pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("policy not found".into()))?;
    allow_seen(ctx, op(view.company_id), || {
        ApiError::NotFound("policy not found".into())
    })?;
    Ok(view)
}

pub(crate) async fn policy_by_id(ctx: &Context<'_>, id: Uuid) -> Result<Policy, ApiError> {
    let view = views::load_policy(&app(ctx).pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("policy not found".into()))?;
    with_children(ctx, vec![view])
        .await?
        .pop()
        .ok_or_else(|| ApiError::NotFound("policy not found".into()))
}

/// Runs a command on an existing policy after ManagePolicies on its company.
async fn change_policy(
    ctx: &Context<'_>,
    policy_id: Uuid,
    key: Option<String>,
    command: PolicyCommand,
) -> Result<PolicyPayload, ApiError> {
    authorized_policy(ctx, policy_id, Operation::ManagePolicies).await?;
    run_on_policy(ctx, policy_id, key, command).await
}

/// Runs a command on a policy the caller was already authorized for (ManagePolicies, by
/// [`authorized_policy`]); answers with the policy as committed.
async fn run_on_policy(
    ctx: &Context<'_>,
    policy_id: Uuid,
    key: Option<String>,
    command: PolicyCommand,
) -> Result<PolicyPayload, ApiError> {
    let (actor, req) = allow(ctx, Operation::Me)?;
    let key = idempotency_key(key)?;
    let out = app(ctx)
        .policies
        .execute(&policy_id.to_string(), command, &req.meta(actor, key))
        .await
        .map_err(|e| policy_command_error(e, "input"))?;
    Ok(PolicyPayload::new(
        policy_by_id(ctx, policy_id).await?,
        Done::from(&out),
    ))
}

payload! {
    /// The result of a policy mutation.
    PolicyPayload {
        /// The policy after the change (read your writes).
        policy: Policy
    }
}

// ---------------------------------------------------------------------------------------------------------
// Inputs

/// A premium installment.
#[derive(Debug, Clone, InputObject)]
pub struct InstallmentInput {
    /// Due date.
    pub due_date: Date,
    /// Amount.
    pub amount: Decimal,
}

pub(crate) fn installments(
    field: &str,
    list: &[InstallmentInput],
) -> Result<Vec<(chrono::NaiveDate, Money)>, ApiError> {
    list.iter()
        .enumerate()
        .map(|(i, x)| {
            Ok((
                x.due_date.0,
                money(&format!("{field}[{i}].amount"), x.amount)?,
            ))
        })
        .collect()
}

/// A new policy.
#[derive(Debug, Clone, InputObject)]
pub struct IssuePolicyInput {
    /// The insured contract (its lessee is the policy's company).
    pub contract_id: Uuid,
    /// Insurance company.
    pub insurer: String,
    /// Kind.
    pub kind: PolicyKind,
    /// Policy number.
    pub number: String,
    /// First day of cover.
    pub starts_on: Date,
    /// Last day of cover.
    pub ends_on: Date,
    /// Sum insured.
    pub sum_insured: Decimal,
    /// Premium.
    pub premium: Decimal,
    /// Installments adding up to the premium; none: all of it on the first day of cover.
    #[graphql(default)]
    pub installments: Vec<InstallmentInput>,
    /// Who pays the insurer.
    pub payer: PremiumPayer,
    /// The policy form (PDF or scan), when there is one already.
    pub form: Option<Upload>,
}

/// A policy's form.
#[derive(Debug, Clone, InputObject)]
pub struct AttachPolicyFormInput {
    /// The policy.
    pub policy_id: Uuid,
    /// The form (PDF or scan); it replaces an earlier one.
    pub form: Upload,
}

/// Premium received.
#[derive(Debug, Clone, InputObject)]
pub struct RecordPremiumPaidInput {
    /// The policy.
    pub policy_id: Uuid,
    /// Amount (covers the oldest unpaid installments first).
    pub amount: Decimal,
    /// Payment date.
    pub date: Date,
}

/// A new period.
#[derive(Debug, Clone, InputObject)]
pub struct ProlongPolicyInput {
    /// The policy.
    pub policy_id: Uuid,
    /// Last day of the new period (it starts the day after the current end).
    pub ends_on: Date,
    /// Premium of the new period.
    pub premium: Decimal,
    /// Its installments; none: all on the first day.
    #[graphql(default)]
    pub installments: Vec<InstallmentInput>,
    /// A new policy number, if the insurer issued one.
    pub number: Option<String>,
    /// The new period's form, when given.
    pub form: Option<Upload>,
}

/// A change of terms within the period.
#[derive(Debug, Clone, InputObject)]
pub struct ChangePolicyTermsInput {
    /// The policy.
    pub policy_id: Uuid,
    /// New sum insured.
    pub sum_insured: Option<Decimal>,
    /// An additional premium.
    pub additional_premium: Option<InstallmentInput>,
    /// What changed.
    pub description: String,
}

/// Cancellation.
#[derive(Debug, Clone, InputObject)]
pub struct CancelPolicyInput {
    /// The policy.
    pub policy_id: Uuid,
    /// Cancellation date; unpaid installments due after it are no longer owed.
    pub date: Date,
    /// Why.
    pub reason: String,
}

fn parse_cursor(after: Option<String>) -> Result<Option<(chrono::NaiveDate, Uuid)>, ApiError> {
    super::pagination::pair_cursor(after)
}

// ---------------------------------------------------------------------------------------------------------
// Resolvers

/// Insurance queries.
#[derive(Default)]
pub struct InsuranceQuery;

#[Object]
impl InsuranceQuery {
    /// A company's policies (of one contract, in one status), latest end date first. A CLIENT only of its own
    /// companies.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn policies(
        &self,
        ctx: &Context<'_>,
        company_id: Uuid,
        contract_id: Option<Uuid>,
        status: Option<PolicyStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Policy, super::pagination::Total>> {
        allow(ctx, Operation::ReadPolicies(company_id))?;
        let limit = page_size(first)?;
        let cursor = parse_cursor(after)?;
        let rows = views::list_policies(
            &app(ctx).pool,
            company_id,
            contract_id,
            status.map(PolicyStatus::as_str),
            cursor,
            limit + 1,
        )
        .await
        .map_err(ApiError::from)?;
        let mut rows = with_children(ctx, rows).await?;
        rows.truncate(limit as usize + 1);
        Ok(super::pagination::counted(
            ctx,
            rows,
            limit,
            cursor.is_some(),
            views::count_policies(
                &app(ctx).pool,
                company_id,
                contract_id,
                status.map(PolicyStatus::as_str),
            ),
            |p| (format!("{}|{}", p.ends_on, p.id), p),
        )
        .await?)
    }

    /// One policy; `null` when there is none the caller may see.
    async fn policy(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        as_of: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Option<Policy>> {
        if let Some(at) = as_of {
            return Ok(crate::graphql::context::found(
                policy_as_of(ctx, id, at).await,
            )?);
        }
        if crate::graphql::context::found(
            authorized_policy(ctx, id, Operation::ReadPolicies).await,
        )?
        .is_none()
        {
            return Ok(None);
        }
        Ok(crate::graphql::context::found(policy_by_id(ctx, id).await)?)
    }
}

/// Back-office insurance mutations.
#[derive(Default)]
pub struct InsuranceMutation;

#[Object]
impl InsuranceMutation {
    /// Issues a policy on a contract's asset, with its form (PDF or scan) when given.
    async fn issue_policy(
        &self,
        ctx: &Context<'_>,
        input: IssuePolicyInput,
        idempotency_key: Option<String>,
    ) -> Result<PolicyPayload> {
        let req = request(ctx)?;
        if req.actor.is_none() {
            authorize(None, Operation::ManagePolicies(Uuid::nil()))?;
        }
        let company =
            projections::views::contracts::contract_company(&app(ctx).pool, input.contract_id)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(|| {
                    ApiError::validation("input.contractId", "there is no such contract")
                })?;
        let (actor, req) = allow(ctx, Operation::ManagePolicies(company))?;
        let key = super::context::idempotency_key(idempotency_key)?;
        let terms = PolicyTerms {
            policy_id: Uuid::now_v7(),
            contract_id: input.contract_id,
            insurer: input.insurer,
            kind: input.kind.domain(),
            number: input.number,
            starts_on: input.starts_on.0,
            ends_on: input.ends_on.0,
            sum_insured: money("input.sumInsured", input.sum_insured)?,
            premium: money("input.premium", input.premium)?,
            installments: installments("input.installments", &input.installments)?,
            payer: input.payer.into(),
            form: match &input.form {
                Some(f) => {
                    Some(super::uploads::upload(ctx, "input.form", f, &actor.event_actor()).await?)
                }
                None => None,
            },
        };
        let id = terms.policy_id;
        let out = app(ctx)
            .policies
            .execute(
                &id.to_string(),
                PolicyCommand::IssuePolicy(Box::new(terms)),
                &req.meta(actor, key),
            )
            .await
            .map_err(|e| policy_command_error(e, "input"))?;
        Ok(PolicyPayload::new(
            policy_by_id(ctx, out.aggregate_id.parse().unwrap_or(id)).await?,
            Done::from(&out),
        ))
    }

    /// Stores (or replaces) a policy's form.
    async fn attach_policy_form(
        &self,
        ctx: &Context<'_>,
        input: AttachPolicyFormInput,
        idempotency_key: Option<String>,
    ) -> Result<PolicyPayload> {
        authorized_policy(ctx, input.policy_id, Operation::ManagePolicies).await?;
        let (actor, _) = allow(ctx, Operation::Me)?;
        let file =
            super::uploads::upload(ctx, "input.form", &input.form, &actor.event_actor()).await?;
        Ok(run_on_policy(
            ctx,
            input.policy_id,
            idempotency_key,
            PolicyCommand::AttachPolicyForm { form: file },
        )
        .await?)
    }

    /// Records premium paid (to the lessor for a re-billed premium; to the insurer, as confirmed, otherwise).
    async fn record_premium_paid(
        &self,
        ctx: &Context<'_>,
        input: RecordPremiumPaidInput,
        idempotency_key: Option<String>,
    ) -> Result<PolicyPayload> {
        let amount = money("input.amount", input.amount)?;
        Ok(change_policy(
            ctx,
            input.policy_id,
            idempotency_key,
            PolicyCommand::RecordPremiumPaid {
                amount,
                date: input.date.0,
            },
        )
        .await?)
    }

    /// Prolongs a policy for a new period (also done by completing an insurance-prolongation request).
    async fn prolong_policy(
        &self,
        ctx: &Context<'_>,
        input: ProlongPolicyInput,
        idempotency_key: Option<String>,
    ) -> Result<PolicyPayload> {
        authorized_policy(ctx, input.policy_id, Operation::ManagePolicies).await?;
        let (actor, _) = allow(ctx, Operation::Me)?;
        let form = match &input.form {
            Some(f) => {
                Some(super::uploads::upload(ctx, "input.form", f, &actor.event_actor()).await?)
            }
            None => None,
        };
        let premium = money("input.premium", input.premium)?;
        let list = installments("input.installments", &input.installments)?;
        let command = PolicyCommand::ProlongPolicy(Box::new(Prolongation {
            ends_on: input.ends_on.0,
            premium,
            installments: list,
            number: input.number,
            form,
        }));
        Ok(run_on_policy(ctx, input.policy_id, idempotency_key, command).await?)
    }

    /// Changes a policy's terms within the period.
    async fn change_policy_terms(
        &self,
        ctx: &Context<'_>,
        input: ChangePolicyTermsInput,
        idempotency_key: Option<String>,
    ) -> Result<PolicyPayload> {
        let sum = input
            .sum_insured
            .map(|s| money("input.sumInsured", s))
            .transpose()?;
        let extra = input
            .additional_premium
            .as_ref()
            .map(|i| {
                Ok::<_, ApiError>((
                    i.due_date.0,
                    money("input.additionalPremium.amount", i.amount)?,
                ))
            })
            .transpose()?;
        Ok(change_policy(
            ctx,
            input.policy_id,
            idempotency_key,
            PolicyCommand::ChangePolicyTerms(TermsChange {
                sum_insured: sum,
                additional_premium: extra,
                description: input.description,
            }),
        )
        .await?)
    }

    /// Cancels a policy.
    async fn cancel_policy(
        &self,
        ctx: &Context<'_>,
        input: CancelPolicyInput,
        idempotency_key: Option<String>,
    ) -> Result<PolicyPayload> {
        Ok(change_policy(
            ctx,
            input.policy_id,
            idempotency_key,
            PolicyCommand::CancelPolicy {
                date: input.date.0,
                reason: input.reason,
            },
        )
        .await?)
    }
}

/// The policy as of `at`, with its installments and insured events.
pub(crate) async fn policy_as_of(
    ctx: &Context<'_>,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<Policy, ApiError> {
    let at = super::history::history_allowed(ctx, at)?;
    let mut a = AsOf::begin(&app(ctx).pool, at).await?;
    a.replay(
        &projections::views::contracts::ContractsProjection,
        &Selection::of("Policy", [id.to_string()]).with_business_days(),
    )
    .await
    .map_err(super::history::replay_error)?;
    let conn = a.conn();
    let view = projections::views::policies::load_policy(&mut *conn, id)
        .await?
        .ok_or_else(|| super::history::not_at("policy", id, at))?;
    with_children_on(conn, vec![view])
        .await?
        .pop()
        .ok_or_else(|| super::history::not_at("policy", id, at))
}
