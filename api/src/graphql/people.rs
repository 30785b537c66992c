//! A company's people and powers of attorney: who works in the cabinet for a lessee company with which
//! role, the colleagues its director invites, and the МЧД that let a person who is not the director sign
//! or commit for it. The flows are `auth::people` and the Company aggregate; this maps them.

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::company::{CompanyCommand, PowerOfAttorney as Power};
use uuid::Uuid;

use super::context::{allow, app, idempotency_key, request};
use super::documents::DocumentKind;
use super::enums::{unknown_stored, CompanyRole};
use super::payload::{payload, Done};
use crate::auth::people::{self, Invitation as InvitationRow, Person as PersonRow};
use crate::auth::policy::Operation;
use crate::error::{company_command_error, ApiError};

/// One of a company's people.
#[derive(Debug, Clone, SimpleObject)]
pub struct CompanyPerson {
    /// The person's account.
    pub account_id: Uuid,
    /// The login e-mail.
    pub email: String,
    /// The role in this company.
    pub role: CompanyRole,
    /// One of the company's people since.
    pub since: DateTime<Utc>,
    /// Blocked by the lessor's staff (cannot sign in).
    pub blocked: bool,
}

impl TryFrom<PersonRow> for CompanyPerson {
    type Error = ApiError;

    fn try_from(r: PersonRow) -> Result<Self, ApiError> {
        Ok(Self {
            account_id: r.account_id,
            email: r.email,
            role: role(&r.role, "account_companies.role")?,
            since: r.linked_at,
            blocked: r.blocked,
        })
    }
}

fn role(stored: &str, column: &str) -> Result<CompanyRole, ApiError> {
    crate::auth::CompanyRole::parse(stored)
        .map(CompanyRole::from)
        .ok_or_else(|| unknown_stored(column, stored))
}

/// Where an invitation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum InvitationStatus {
    /// Mailed; its control string works until `expiresAt`.
    Open,
    /// The person joined the company.
    Accepted,
    /// Withdrawn (or replaced by a newer invitation to the same address).
    Revoked,
    /// Its control string stopped working unused.
    Expired,
}

/// An invitation to work in the cabinet for a company.
#[derive(Debug, Clone, SimpleObject)]
pub struct Invitation {
    /// Its id.
    pub id: Uuid,
    /// The address invited.
    pub email: String,
    /// The role offered.
    pub role: CompanyRole,
    /// Who invited (an account).
    pub invited_by: Uuid,
    /// When.
    pub invited_at: DateTime<Utc>,
    /// Until when its control string works.
    pub expires_at: DateTime<Utc>,
    /// Where it is.
    pub status: InvitationStatus,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = ApiError;

    fn try_from(r: InvitationRow) -> Result<Self, ApiError> {
        let status = match (r.accepted_at, r.revoked_at) {
            (Some(_), _) => InvitationStatus::Accepted,
            (_, Some(_)) => InvitationStatus::Revoked,
            _ if r.expires_at <= Utc::now() => InvitationStatus::Expired,
            _ => InvitationStatus::Open,
        };
        Ok(Self {
            id: r.invitation_id,
            email: r.email,
            role: role(&r.role, "invitations.role")?,
            invited_by: r.invited_by,
            invited_at: r.created_at,
            expires_at: r.expires_at,
            status,
        })
    }
}

/// A company's people and, for those who manage them, its invitations of the last 30 days.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct CompanyPeople {
    /// The company.
    pub company_id: Uuid,
    /// Its people, directors first.
    pub people: Vec<CompanyPerson>,
}

#[ComplexObject]
impl CompanyPeople {
    /// Invitations of the last 30 days, newest first: the company's director and the lessor's staff only
    /// (FORBIDDEN otherwise).
    async fn invitations(&self, ctx: &Context<'_>) -> Result<Vec<Invitation>> {
        allow(ctx, Operation::ManagePeople(self.company_id))?;
        let rows = people::invitations(&app(ctx).pool, self.company_id)
            .await
            .map_err(ApiError::from)?;
        Ok(rows
            .into_iter()
            .map(Invitation::try_from)
            .collect::<Result<_, _>>()?)
    }
}

/// A power of attorney (машиночитаемая доверенность, МЧД) a company registered for one of its people.
#[derive(Debug, Clone, SimpleObject)]
pub struct PowerOfAttorney {
    /// Its number in the ФНС's register.
    pub number: Uuid,
    /// The representative's account.
    pub representative_id: Uuid,
    /// The kinds of document the representative may sign or refuse for the company.
    pub document_kinds: Vec<DocumentKind>,
    /// Whether the representative may submit the requests that commit the company (early buyout, partial
    /// repayment, change of requisites or of insurance).
    pub requests: bool,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day.
    pub valid_until: NaiveDate,
    /// Registered in the cabinet at.
    pub registered_at: DateTime<Utc>,
    /// Revoked at.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked.
    pub revoked_reason: Option<String>,
}

impl TryFrom<projections::views::companies::PowerOfAttorneyView> for PowerOfAttorney {
    type Error = ApiError;

    fn try_from(v: projections::views::companies::PowerOfAttorneyView) -> Result<Self, ApiError> {
        Ok(Self {
            number: v.number,
            representative_id: v.representative,
            document_kinds: v
                .document_kinds
                .iter()
                .map(|k| DocumentKind::from_view(k))
                .collect::<Result<_, _>>()?,
            requests: v.requests,
            valid_from: v.valid_from,
            valid_until: v.valid_until,
            registered_at: v.registered_at,
            revoked_at: v.revoked_at,
            revoked_reason: v.revoked_reason,
        })
    }
}

/// A company's people as they are now.
async fn company_people(ctx: &Context<'_>, company_id: Uuid) -> Result<CompanyPeople, ApiError> {
    let rows = people::people(&app(ctx).pool, company_id).await?;
    Ok(CompanyPeople {
        company_id,
        people: rows
            .into_iter()
            .map(CompanyPerson::try_from)
            .collect::<Result<_, _>>()?,
    })
}

/// People queries.
#[derive(Default)]
pub struct PeopleQuery;

#[Object]
impl PeopleQuery {
    /// A company's people and their roles (its people and the lessor's staff).
    async fn company_people(&self, ctx: &Context<'_>, company_id: Uuid) -> Result<CompanyPeople> {
        allow(ctx, Operation::ReadPeople(company_id))?;
        Ok(company_people(ctx, company_id).await?)
    }

    /// A company's powers of attorney, newest first (revoked ones included, marked).
    async fn powers_of_attorney(
        &self,
        ctx: &Context<'_>,
        company_id: Uuid,
    ) -> Result<Vec<PowerOfAttorney>> {
        allow(ctx, Operation::ReadPeople(company_id))?;
        let rows =
            projections::views::companies::powers_of_attorney(&app(ctx).pool, company_id, false)
                .await
                .map_err(ApiError::from)?;
        Ok(rows
            .into_iter()
            .map(PowerOfAttorney::try_from)
            .collect::<Result<_, _>>()?)
    }
}

/// Invite a colleague.
#[derive(Debug, Clone, InputObject)]
pub struct InviteColleagueInput {
    /// The company.
    pub company_id: Uuid,
    /// The colleague's e-mail (the login it will have).
    pub email: String,
    /// The role offered.
    pub role: CompanyRole,
}

/// An invitation.
#[derive(Debug, Clone, InputObject)]
pub struct InvitationInput {
    /// Its id.
    pub invitation_id: Uuid,
}

/// Accept an invitation.
#[derive(Debug, Clone, InputObject)]
pub struct AcceptInvitationInput {
    /// The control string from the invitation mail (separators and case do not matter).
    pub token: String,
}

/// Change a colleague's role.
#[derive(Debug, Clone, InputObject)]
pub struct ChangeColleagueRoleInput {
    /// The company.
    pub company_id: Uuid,
    /// The colleague's account.
    pub account_id: Uuid,
    /// The new role.
    pub role: CompanyRole,
}

/// One of a company's people.
#[derive(Debug, Clone, InputObject)]
pub struct ColleagueInput {
    /// The company.
    pub company_id: Uuid,
    /// The person's account.
    pub account_id: Uuid,
}

/// Register a power of attorney.
#[derive(Debug, Clone, InputObject)]
pub struct RegisterPowerOfAttorneyInput {
    /// The company that gives it.
    pub company_id: Uuid,
    /// Its number in the ФНС's register of МЧД.
    pub number: Uuid,
    /// The representative: one of the company's people (an account id from `companyPeople`).
    pub representative_id: Uuid,
    /// The kinds of document it lets the representative sign or refuse.
    pub document_kinds: Vec<DocumentKind>,
    /// Whether it lets the representative submit the requests that commit the company.
    #[graphql(default = false)]
    pub requests: bool,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day.
    pub valid_until: NaiveDate,
}

/// Revoke a power of attorney.
#[derive(Debug, Clone, InputObject)]
pub struct RevokePowerOfAttorneyInput {
    /// The company.
    pub company_id: Uuid,
    /// The power's number.
    pub number: Uuid,
    /// Why.
    pub reason: String,
}

payload! {
    /// An invitation after a change (no event: `position` is `null`).
    InvitationPayload {
        /// The invitation as it is now.
        invitation: Invitation
    }
}

payload! {
    /// One of a company's people after a change (no event: `position` is `null`).
    CompanyPersonPayload {
        /// The person as it is now.
        person: CompanyPerson
    }
}

payload! {
    /// A company's people after a removal (no event: `position` is `null`).
    CompanyPeoplePayload {
        /// The company's people as they are now.
        people: CompanyPeople
    }
}

payload! {
    /// A power of attorney after a change.
    PowerOfAttorneyPayload {
        /// The power as it is now.
        power_of_attorney: PowerOfAttorney
    }
}

/// What accepting an invitation did.
#[derive(Debug, Clone, SimpleObject)]
pub struct AcceptInvitationPayload {
    /// The company joined.
    pub company_id: Uuid,
    /// Its short name.
    pub company_name: String,
    /// The role in it.
    pub role: CompanyRole,
    /// A new account was opened: its temporary password was mailed to the invited address.
    pub account_created: bool,
    /// Always `null`: an account's changes write no event.
    pub position: Option<super::position::Position>,
    /// Always false.
    pub replayed: bool,
}

async fn load_power(
    ctx: &Context<'_>,
    company_id: Uuid,
    number: Uuid,
) -> Result<PowerOfAttorney, ApiError> {
    projections::views::companies::powers_of_attorney(&app(ctx).pool, company_id, false)
        .await?
        .into_iter()
        .find(|p| p.number == number)
        .ok_or_else(|| ApiError::NotFound(format!("power of attorney {number}")))?
        .try_into()
}

/// People mutations.
#[derive(Default)]
pub struct PeopleMutation;

#[Object]
impl PeopleMutation {
    /// Invites a colleague to work for the company with a role (its director, or the lessor's MANAGER or
    /// ADMIN): a control string valid 7 days is mailed; an open invitation to the same address is replaced.
    async fn invite_colleague(
        &self,
        ctx: &Context<'_>,
        input: InviteColleagueInput,
    ) -> Result<InvitationPayload> {
        let (actor, req) = allow(ctx, Operation::ManagePeople(input.company_id))?;
        let row = app(ctx)
            .accounts
            .invite(
                actor,
                input.company_id,
                &input.email,
                input.role.into(),
                &req.client,
            )
            .await
            .map_err(ApiError::in_input)?;
        Ok(InvitationPayload::new(row.try_into()?, Done::NO_EVENT))
    }

    /// Withdraws an open invitation; the address is told.
    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        input: InvitationInput,
    ) -> Result<InvitationPayload> {
        let company = people::invitation_company(&app(ctx).pool, input.invitation_id)
            .await
            .map_err(ApiError::from)?;
        let not_found = || ApiError::NotFound(format!("invitation {}", input.invitation_id));
        let company = company.ok_or_else(not_found)?;
        let (actor, req) =
            super::context::allow_seen(ctx, Operation::ManagePeople(company), not_found)?;
        let row = app(ctx)
            .accounts
            .revoke_invitation(actor, input.invitation_id, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(InvitationPayload::new(row.try_into()?, Done::NO_EVENT))
    }

    /// Accepts an invitation with the control string mailed (no sign-in needed). A person without an
    /// account gets one, with a temporary password mailed to the invited address; one who has an account
    /// finds the company in its list. Unknown, used, revoked and expired strings answer alike.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        input: AcceptInvitationInput,
    ) -> Result<AcceptInvitationPayload> {
        let req = request(ctx)?;
        let a = app(ctx)
            .accounts
            .accept_invitation(&input.token, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        Ok(AcceptInvitationPayload {
            company_id: a.company_id,
            company_name: a.company_name,
            role: a.role.into(),
            account_created: a.account_created,
            position: None,
            replayed: false,
        })
    }

    /// Changes a colleague's role in the company; the colleague is told. The last director keeps the role.
    async fn change_colleague_role(
        &self,
        ctx: &Context<'_>,
        input: ChangeColleagueRoleInput,
    ) -> Result<CompanyPersonPayload> {
        let (actor, req) = allow(ctx, Operation::ManagePeople(input.company_id))?;
        let row = app(ctx)
            .accounts
            .change_company_role(
                actor,
                input.company_id,
                input.account_id,
                input.role.into(),
                &req.client,
            )
            .await
            .map_err(ApiError::in_input)?;
        Ok(CompanyPersonPayload::new(row.try_into()?, Done::NO_EVENT))
    }

    /// Removes a person from the company's people (at once: the company's data is no longer shown to it);
    /// the person is told. The last director cannot be removed.
    async fn remove_colleague(
        &self,
        ctx: &Context<'_>,
        input: ColleagueInput,
    ) -> Result<CompanyPeoplePayload> {
        let (actor, req) = allow(ctx, Operation::ManagePeople(input.company_id))?;
        let app = app(ctx);
        app.accounts
            .remove_from_company(actor, input.company_id, input.account_id, &req.client)
            .await
            .map_err(ApiError::in_input)?;
        let people = company_people(ctx, input.company_id).await?;
        Ok(CompanyPeoplePayload::new(people, Done::NO_EVENT))
    }

    /// Registers a power of attorney (МЧД) the company gave one of its people (its director, or the
    /// lessor's MANAGER or ADMIN). From its first valid day the representative may sign the kinds of
    /// document it names, and submit the requests that commit the company when it says so.
    async fn register_power_of_attorney(
        &self,
        ctx: &Context<'_>,
        input: RegisterPowerOfAttorneyInput,
        idempotency_key: Option<String>,
    ) -> Result<PowerOfAttorneyPayload> {
        let company_id = input.company_id;
        let (actor, req) = allow(ctx, Operation::ManagePowersOfAttorney(company_id))?;
        let key = self::idempotency_key(idempotency_key)?;
        let member = people::people(&app(ctx).pool, company_id)
            .await
            .map_err(ApiError::from)?
            .iter()
            .any(|p| p.account_id == input.representative_id);
        if !member {
            return Err(ApiError::validation(
                "input.representativeId",
                "must be one of the company's people (see companyPeople)",
            )
            .into());
        }
        let power = Power {
            number: input.number,
            representative: input.representative_id,
            document_kinds: input
                .document_kinds
                .iter()
                .map(|&k| domain::document::DocumentKind::from(k))
                .collect(),
            requests: input.requests,
            valid_from: input.valid_from,
            valid_until: input.valid_until,
        };
        let out = app(ctx)
            .companies
            .execute(
                &company_id.to_string(),
                CompanyCommand::RegisterPowerOfAttorney(Box::new(power)),
                &req.meta(actor, key),
            )
            .await
            .map_err(company_command_error)?;
        Ok(PowerOfAttorneyPayload::new(
            load_power(ctx, company_id, input.number).await?,
            Done::from(&out),
        ))
    }

    /// Revokes a power of attorney: from now on it covers nothing.
    async fn revoke_power_of_attorney(
        &self,
        ctx: &Context<'_>,
        input: RevokePowerOfAttorneyInput,
        idempotency_key: Option<String>,
    ) -> Result<PowerOfAttorneyPayload> {
        let company_id = input.company_id;
        let (actor, req) = allow(ctx, Operation::ManagePowersOfAttorney(company_id))?;
        let key = self::idempotency_key(idempotency_key)?;
        let out = app(ctx)
            .companies
            .execute(
                &company_id.to_string(),
                CompanyCommand::RevokePowerOfAttorney {
                    number: input.number,
                    reason: input.reason,
                },
                &req.meta(actor, key),
            )
            .await
            .map_err(company_command_error)?;
        Ok(PowerOfAttorneyPayload::new(
            load_power(ctx, company_id, input.number).await?,
            Done::from(&out),
        ))
    }
}
