//! Mutations.

use async_graphql::{Context, Object, Result};
use domain::company::CompanyCommand;
use projections::store::command::CommandOutcome;
use projections::views::companies::load_company;
use uuid::Uuid;

use super::context::{allow, app, idempotency_key};
use super::inputs::{AssignManagerInput, ChangeCompanyRequisitesInput, RegisterCompanyInput};
use super::position::Position;
use super::types::CompanyPayload;
use crate::app::App;
use crate::auth::policy::Operation;
use crate::error::{company_command_error, ApiError};

/// Changes.
#[derive(Default)]
pub struct CoreMutation;

async fn company_payload(app: &App, out: CommandOutcome) -> Result<CompanyPayload, ApiError> {
    let id: Uuid = out.aggregate_id.parse().map_err(|_| {
        ApiError::Internal(anyhow::anyhow!(
            "company id {} is not a UUID",
            out.aggregate_id
        ))
    })?;
    let company = load_company(&app.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("company not found".into()))?;
    Ok(CompanyPayload {
        company: company.into(),
        position: out.last_position.map(Position::event),
        replayed: out.replayed,
    })
}

/// The path of every company mutation: authorize `op`, check the idempotency key, build (validate) the
/// command, execute it on `company_id`, and return the company as committed with its position.
async fn company_command(
    ctx: &Context<'_>,
    op: Operation,
    company_id: Uuid,
    idempotency_key: Option<String>,
    build: impl FnOnce() -> Result<CompanyCommand, ApiError>,
) -> Result<CompanyPayload, ApiError> {
    let (actor, req) = allow(ctx, op)?;
    let key = self::idempotency_key(idempotency_key)?;
    let command = build()?;
    let app = app(ctx);
    let out = app
        .companies
        .execute(&company_id.to_string(), command, &req.meta(actor, key))
        .await
        .map_err(company_command_error)?;
    company_payload(app, out).await
}

/// The staff account `account` as a manager: an active MANAGER or ADMIN.
///
/// # Errors
/// VALIDATION on `input.accountId` otherwise.
async fn manager_account(
    ctx: &Context<'_>,
    account: Uuid,
) -> Result<crate::auth::accounts::StaffProfile, ApiError> {
    let profile = crate::auth::accounts::staff_profile(&app(ctx).pool, account)
        .await?
        .filter(|p| p.active && p.roles.iter().any(|r| r == "MANAGER" || r == "ADMIN"))
        .ok_or_else(|| {
            ApiError::validation(
                "input.accountId",
                "not an active staff account with the MANAGER or ADMIN role",
            )
        })?;
    Ok(profile)
}

#[Object]
impl CoreMutation {
    /// Registers a lessee company (MANAGER, ADMIN). A second company with the same ИНН and КПП is refused.
    /// With `idempotencyKey`, a retry returns the first result and registers nothing again.
    async fn register_company(
        &self,
        ctx: &Context<'_>,
        input: RegisterCompanyInput,
        idempotency_key: Option<String>,
    ) -> Result<CompanyPayload> {
        let company_id = Uuid::now_v7();
        Ok(company_command(
            ctx,
            Operation::RegisterCompany,
            company_id,
            idempotency_key,
            || {
                Ok(CompanyCommand::RegisterCompany {
                    company_id,
                    profile: Box::new(input.parse()?),
                })
            },
        )
        .await?)
    }

    /// Changes some of a company's requisites (MANAGER, ADMIN); fields left out keep their values.
    async fn change_company_requisites(
        &self,
        ctx: &Context<'_>,
        input: ChangeCompanyRequisitesInput,
        idempotency_key: Option<String>,
    ) -> Result<CompanyPayload> {
        let id = input.company_id;
        Ok(company_command(
            ctx,
            Operation::ChangeCompanyRequisites(id),
            id,
            idempotency_key,
            || {
                Ok(CompanyCommand::ChangeCompanyRequisites(Box::new(
                    input.parse()?,
                )))
            },
        )
        .await?)
    }

    /// Assigns the lessor's manager responsible for a company (MANAGER, ADMIN).
    async fn assign_manager(
        &self,
        ctx: &Context<'_>,
        input: AssignManagerInput,
        idempotency_key: Option<String>,
    ) -> Result<CompanyPayload> {
        let id = input.company_id;
        allow(ctx, Operation::AssignManager(id))?;
        let profile = match input.account_id {
            Some(account) => Some(manager_account(ctx, account).await?),
            None => None,
        };
        Ok(company_command(
            ctx,
            Operation::AssignManager(id),
            id,
            idempotency_key,
            || {
                Ok(CompanyCommand::AssignManager(
                    input.parse(profile.as_ref())?,
                ))
            },
        )
        .await?)
    }
}
