//! Client requests (заявки): `submitRequest` with one typed input per kind (`@oneOf`), the client's
//! `withdrawRequest`, both sides' `commentRequest` and `attachToRequest`, the back office's workflow steps,
//! and `requests`/`request` with history, comments and attachments. `reportInsuredEvent` records the event on
//! the policy and opens an insured-event request to track it.

use std::collections::HashMap;

use crate::graphql::scalars::Date;
use async_graphql::connection::Connection;
use async_graphql::{
    Context, Enum, InputObject, Object, OneofObject, Result, SimpleObject, Upload,
};
use chrono::{DateTime, Utc};
use domain::company::RequisitesChange;
use domain::policy::PolicyCommand;
use domain::request::{
    self as dr, Completion, ProlongationTerms, RequestCommand, RequestDetails,
    RequestKind as DomainKind, Submission,
};
use domain::schedule::RecalculationMode as DomainMode;
use domain::values::{EdoParticipantId, Email, FileRef, Kpp, Phone};
use projections::engine::asof::{AsOf, Selection};
use projections::views::requests::{self as views, HistoryView, RequestFilter, RequestView};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::context::{allow, allow_seen, app, idempotency_key, request};
use super::contracts::RecalculationMode;
use super::enums::{unknown_stored, CertificateKind, Party};
pub use super::enums::{AccountingDocument, Delivery, RequestKind, RequestStatus, VehicleDocument};
use super::files::FileInfo;
use super::inputs::BankRequisitesInput;
use super::insurance::{authorized_policy, installments, InstallmentInput};
use super::pagination::page_size;
use super::payload::{payload, Done};
use super::scalars::money;
use crate::auth::policy::{authorize, Operation};
use crate::error::{
    contract_command_error, parse_field, policy_command_error, request_command_error, ApiError,
};

/// Whether completing the request has an effect elsewhere, and where that stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum EffectState {
    /// The kind has no effect, or the request closed without completion.
    None,
    /// Completion will (or did, and it is being applied) change the company, contract, policy or account.
    Pending,
    /// The effect was applied (see `effectDetail`).
    Applied,
    /// The effect was refused (see `effectDetail`); staff must act.
    Failed,
}

/// One change of a request: who, when, what.
#[derive(Debug, Clone, SimpleObject)]
pub struct RequestHistoryEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: super::actor::Actor,
    /// Which side.
    pub party: Party,
    /// What changed it.
    pub change: super::enums::RequestChange,
    /// The status after it.
    pub status: RequestStatus,
    /// The comment, question, reason, note or effect detail it carried.
    pub text: Option<String>,
    /// Files it carried.
    pub files: Vec<FileInfo>,
}

/// A comment on a request.
#[derive(Debug, Clone, SimpleObject)]
pub struct RequestComment {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: super::actor::Actor,
    /// Which side.
    pub party: Party,
    /// Text.
    pub text: String,
}

/// A client request.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Request {
    /// Id.
    pub id: Uuid,
    /// The company.
    pub company_id: Uuid,
    /// The contract it is about.
    pub contract_id: Option<Uuid>,
    /// The policy, for insurance kinds.
    pub policy_id: Option<Uuid>,
    /// Kind.
    pub kind: RequestKind,
    /// Status.
    pub status: RequestStatus,
    /// What the request asks for, typed by its kind (an early buyout carries the `quote` computed when it
    /// was filed).
    pub details: super::request_details::RequestDetails,
    /// The filing account.
    pub submitted_by: Uuid,
    /// The power of attorney (МЧД number) the filing person acted under, when not the company's director.
    pub power_of_attorney: Option<Uuid>,
    /// The business day it was filed.
    pub submitted_on: Date,
    /// Due date (the kind's service level in working days).
    pub due_on: Date,
    /// The due date passed before it was closed.
    pub overdue: bool,
    /// The lessor's open question.
    pub question: Option<String>,
    /// The completion note.
    pub note: Option<String>,
    /// The result document.
    pub result: Option<FileInfo>,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// Why it was withdrawn.
    pub withdrawal_reason: Option<String>,
    /// The completion's effect elsewhere.
    pub effect: EffectState,
    /// What the effect did, or why it failed.
    pub effect_detail: Option<String>,
    /// Number of comments.
    pub comment_count: i32,
    /// Number of attachments.
    pub attachment_count: i32,
    /// When it was filed.
    pub submitted_at: DateTime<Utc>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Every change, oldest first.
    #[graphql(skip)]
    pub history: Vec<RequestHistoryEntry>,
    /// Comments, oldest first.
    #[graphql(skip)]
    pub comments: Vec<RequestComment>,
    /// Files from both sides, oldest first.
    #[graphql(skip)]
    pub attachments: Vec<FileInfo>,
    /// The documents as of an instant (an as-of reconstruction; never read from the live tables then).
    #[graphql(skip)]
    pub(crate) as_of_documents: Option<Vec<projections::views::documents::ExchangeDocumentView>>,
}

#[async_graphql::ComplexObject]
impl Request {
    /// Every change, oldest first (for a page of requests, loaded for the whole page in one query).
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn history(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, RequestHistoryEntry, super::pagination::Total>>
    {
        Ok(super::pagination::slice(&self.history, first, after)?)
    }

    /// Comments, oldest first.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn comments(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, RequestComment, super::pagination::Total>> {
        Ok(super::pagination::slice(&self.comments, first, after)?)
    }

    /// Files from both sides (the result document excluded), oldest first.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn attachments(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, FileInfo, super::pagination::Total>> {
        Ok(super::pagination::slice(&self.attachments, first, after)?)
    }

    /// The documents the cabinet generated for it on completion (certificates, acts), also mailed to the
    /// e-mail it gave.
    async fn documents(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Vec<super::documents::ExchangeDocument>> {
        let rows = match &self.as_of_documents {
            Some(rows) => rows.clone(),
            None => projections::views::documents::request_documents(
                &super::context::app(ctx).pool,
                self.id,
            )
            .await
            .map_err(ApiError::from)?,
        };
        Ok(rows
            .into_iter()
            .map(super::documents::ExchangeDocument::try_from)
            .collect::<Result<Vec<_>, _>>()?)
    }
}

impl Request {
    /// A request from its row and its history rows.
    ///
    /// # Errors
    /// INTERNAL when a stored kind, status, side or effect is one no variant has.
    pub(crate) fn with_rows(v: RequestView, history: Vec<HistoryView>) -> Result<Self, ApiError> {
        let mut comments = Vec::new();
        let mut attachments = Vec::new();
        let history = history
            .into_iter()
            .map(|h| {
                let files = h
                    .file
                    .as_ref()
                    .map(FileInfo::list_from_json)
                    .unwrap_or_default();
                let party = Party::from_view(&h.party)?;
                if h.change == "CommentAdded" {
                    comments.push(RequestComment {
                        at: h.recorded_at,
                        actor: super::actor::Actor(h.actor.clone()),
                        party,
                        text: h.text.clone().unwrap_or_default(),
                    });
                }
                if matches!(h.change.as_str(), "RequestSubmitted" | "AttachmentAdded") {
                    attachments.extend(files.iter().cloned());
                }
                Ok(RequestHistoryEntry {
                    at: h.recorded_at,
                    actor: super::actor::Actor(h.actor),
                    party,
                    change: super::enums::RequestChange::from_stored(&h.change)?,
                    status: status_of(&h.status)?,
                    text: h.text,
                    files,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(Self {
            id: v.request_id,
            company_id: v.company_id,
            contract_id: v.contract_id,
            policy_id: v.policy_id,
            kind: DomainKind::parse(&v.kind)
                .map(Into::into)
                .ok_or_else(|| unknown_stored("requests_view.kind", &v.kind))?,
            status: status_of(&v.status)?,
            details: super::request_details::RequestDetails::from_stored(
                projections::personal::flatten(v.details),
                v.contract_id,
            )?,
            submitted_by: v.submitted_by,
            power_of_attorney: v.power_of_attorney,
            submitted_on: v.submitted_on.into(),
            due_on: v.due_on.into(),
            overdue: v.overdue,
            question: v.question,
            note: v.note,
            result: v.result.as_ref().and_then(FileInfo::from_json),
            rejection_reason: v.rejection_reason,
            withdrawal_reason: v.withdrawal_reason,
            effect: match v.effect.as_str() {
                "none" => EffectState::None,
                "pending" => EffectState::Pending,
                "applied" => EffectState::Applied,
                "failed" => EffectState::Failed,
                other => return Err(unknown_stored("requests_view.effect", other)),
            },
            effect_detail: v.effect_detail,
            comment_count: v.comments,
            attachment_count: v.attachments,
            submitted_at: v.submitted_at,
            closed_at: v.closed_at,
            history,
            comments,
            attachments,
            as_of_documents: None,
        })
    }
}

fn status_of(s: &str) -> Result<RequestStatus, ApiError> {
    dr::RequestStatus::parse(s)
        .map(Into::into)
        .ok_or_else(|| unknown_stored("requests_view.status", s))
}

/// Requests with their history, one query for the whole list (only when a child list was asked for).
async fn with_history(
    ctx: &Context<'_>,
    rows: Vec<RequestView>,
    wanted: bool,
) -> Result<Vec<Request>, ApiError> {
    let mut by_id: HashMap<Uuid, Vec<HistoryView>> = HashMap::new();
    if wanted {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.request_id).collect();
        for h in views::load_history(&app(ctx).pool, &ids).await? {
            by_id.entry(h.request_id).or_default().push(h);
        }
    }
    rows.into_iter()
        .map(|r| {
            let h = by_id.remove(&r.request_id).unwrap_or_default();
            Request::with_rows(r, h)
        })
        .collect()
}

pub(crate) async fn request_by_id(ctx: &Context<'_>, id: Uuid) -> Result<Request, ApiError> {
    let view = views::load_request(&app(ctx).pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("request not found".into()))?;
    with_history(ctx, vec![view], true)
        .await?
        .pop()
        .ok_or_else(|| ApiError::NotFound("request not found".into()))
}

/// Loads a request and checks the caller may perform `op` on its company.
async fn authorized_request(
    ctx: &Context<'_>,
    id: Uuid,
    op: fn(Uuid) -> Operation,
) -> Result<RequestView, ApiError> {
    let req = request(ctx)?;
    if req.actor.is_none() {
        authorize(None, op(Uuid::nil()))?;
    }
    let view = views::load_request(&app(ctx).pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("request not found".into()))?;
    allow_seen(ctx, op(view.company_id), || {
        ApiError::NotFound("request not found".into())
    })?;
    Ok(view)
}

/// The business day: the clock's, or today's date before the clock has run.
pub(crate) async fn today(ctx: &Context<'_>) -> Result<chrono::NaiveDate, ApiError> {
    let (day, _) = projections::views::contracts::load_business_day(&app(ctx).pool).await?;
    Ok(day.unwrap_or_else(|| Utc::now().date_naive()))
}

/// Runs a workflow command on an existing request after `op` on its company.
async fn step(
    ctx: &Context<'_>,
    request_id: Uuid,
    op: fn(Uuid) -> Operation,
    key: Option<String>,
    command: RequestCommand,
) -> Result<RequestPayload, ApiError> {
    let view = authorized_request(ctx, request_id, op).await?;
    step_on(ctx, &view, op, key, command).await
}

/// Runs a workflow command on a request already loaded by [`authorized_request`]; answers with the request
/// as committed.
async fn step_on(
    ctx: &Context<'_>,
    view: &RequestView,
    op: fn(Uuid) -> Operation,
    key: Option<String>,
    command: RequestCommand,
) -> Result<RequestPayload, ApiError> {
    let (actor, req) = allow(ctx, op(view.company_id))?;
    let key = idempotency_key(key)?;
    let out = app(ctx)
        .requests
        .execute(&view.request_id.to_string(), command, &req.meta(actor, key))
        .await
        .map_err(|e| request_command_error(e, DomainKind::parse(&view.kind)))?;
    Ok(RequestPayload::new(
        request_by_id(ctx, view.request_id).await?,
        Done::from(&out),
    ))
}

payload! {
    /// The result of a request mutation.
    RequestPayload {
        /// The request after the change (read your writes).
        request: Request
    }
}

// ---------------------------------------------------------------------------------------------------------
// Inputs, one per kind

/// ПТС/ЭПТС.
#[derive(Debug, Clone, InputObject)]
pub struct VehiclePassportInput {
    /// Paper or electronic.
    pub document: VehicleDocument,
    /// What it is needed for.
    pub purpose: String,
    /// How it is delivered.
    pub delivery: Delivery,
    /// Address (courier, post).
    pub address: Option<String>,
}

/// A driver.
#[derive(Debug, Clone, InputObject)]
pub struct DriverInput {
    /// Full name.
    pub full_name: String,
    /// Driving licence number (10 digits and letters).
    pub licence_number: String,
}

/// Travel abroad.
#[derive(Debug, Clone, InputObject)]
pub struct TravelAbroadInput {
    /// Countries, ISO 3166-1 alpha-2 (BY, KZ, …).
    pub countries: Vec<String>,
    /// First day abroad.
    pub from: Date,
    /// Last day abroad.
    pub to: Date,
    /// Drivers.
    pub drivers: Vec<DriverInput>,
}

/// Early buyout.
#[derive(Debug, Clone, InputObject)]
pub struct EarlyBuyoutInput {
    /// The date to buy out on (the quote for it is attached to the request).
    pub desired_date: Date,
}

/// Partial early repayment.
#[derive(Debug, Clone, InputObject)]
pub struct PartialRepaymentInput {
    /// Principal to repay.
    pub amount: Decimal,
    /// Date.
    pub date: Date,
    /// Shorter term or smaller payments.
    pub mode: RecalculationMode,
}

/// Change of requisites: the fields given change.
#[derive(Debug, Clone, InputObject)]
pub struct RequisitesChangeInput {
    /// New КПП.
    pub kpp: Option<String>,
    /// New full name.
    pub full_name: Option<String>,
    /// New short name.
    pub short_name: Option<String>,
    /// New legal address.
    pub legal_address: Option<String>,
    /// New postal address.
    pub postal_address: Option<String>,
    /// New bank requisites.
    pub bank: Option<BankRequisitesInput>,
    /// New contact e-mail.
    pub contact_email: Option<String>,
    /// New contact phone.
    pub contact_phone: Option<String>,
}

/// A certificate.
#[derive(Debug, Clone, InputObject)]
pub struct CertificateInput {
    /// Which.
    pub certificate: CertificateKind,
    /// As of (not after today).
    pub as_of: Date,
}

/// Accounting documents.
#[derive(Debug, Clone, InputObject)]
pub struct AccountingDocumentsInput {
    /// Which documents.
    pub documents: Vec<AccountingDocument>,
    /// First day of the period.
    pub from: Date,
    /// Last day of the period.
    pub to: Date,
    /// Where to send them.
    pub email: String,
}

/// Insurance prolongation.
#[derive(Debug, Clone, InputObject)]
pub struct InsuranceProlongationInput {
    /// The policy.
    pub policy_id: Uuid,
    /// Wishes.
    pub wishes: Option<String>,
}

/// Change of insurance terms.
#[derive(Debug, Clone, InputObject)]
pub struct InsuranceTermsChangeInput {
    /// The policy.
    pub policy_id: Uuid,
    /// What should change.
    pub description: String,
}

/// Insuring the contract's vehicle through the lessor.
#[derive(Debug, Clone, InputObject)]
pub struct VehicleInsuranceInput {
    /// OSAGO or KASKO.
    pub cover: super::insurance::PolicyKind,
    /// The first day of cover wanted (not before today).
    pub starts_on: Date,
    /// Wishes (insurer, options, drivers).
    pub wishes: Option<String>,
}

/// An insured event.
#[derive(Debug, Clone, InputObject)]
pub struct InsuredEventInput {
    /// The policy.
    pub policy_id: Uuid,
    /// When it happened.
    pub date: Date,
    /// Where.
    pub place: String,
    /// What happened.
    pub description: String,
    /// A phone to reach the reporting person.
    pub contact_phone: String,
}

/// A message (complaint, support, consultation).
#[derive(Debug, Clone, InputObject)]
pub struct MessageInput {
    /// Subject.
    pub subject: String,
    /// Text.
    pub text: String,
}

/// ЭДО connection.
#[derive(Debug, Clone, InputObject)]
pub struct EdoConnectionInput {
    /// Your participant id, if you have one (required for roaming).
    pub participant_id: Option<String>,
    /// Through your own operator (roaming).
    #[graphql(default)]
    pub roaming: bool,
}

/// Change of login e-mail.
#[derive(Debug, Clone, InputObject)]
pub struct LoginEmailChangeInput {
    /// The new e-mail.
    pub new_email: String,
}

/// Account deletion.
#[derive(Debug, Clone, InputObject)]
pub struct AccountDeletionInput {
    /// Why.
    pub reason: Option<String>,
}

/// The kind and its details: exactly one field.
#[derive(Debug, Clone, OneofObject)]
pub enum RequestDetailsInput {
    /// ПТС/ЭПТС.
    VehiclePassport(VehiclePassportInput),
    /// Travel abroad.
    TravelAbroad(TravelAbroadInput),
    /// Early buyout.
    EarlyBuyout(EarlyBuyoutInput),
    /// Partial early repayment.
    PartialRepayment(PartialRepaymentInput),
    /// Change of requisites.
    RequisitesChange(RequisitesChangeInput),
    /// Certificate.
    Certificate(CertificateInput),
    /// Accounting documents.
    AccountingDocuments(AccountingDocumentsInput),
    /// Insurance prolongation.
    InsuranceProlongation(InsuranceProlongationInput),
    /// Change of insurance terms.
    InsuranceTermsChange(InsuranceTermsChangeInput),
    /// Insuring the contract's vehicle (ОСАГО/КАСКО); completed with the policy arranged.
    VehicleInsurance(VehicleInsuranceInput),
    /// Insured event (recorded on the policy as well).
    InsuredEvent(InsuredEventInput),
    /// Complaint.
    Complaint(MessageInput),
    /// Technical support.
    TechnicalSupport(MessageInput),
    /// Consultation.
    Consultation(MessageInput),
    /// ЭДО connection.
    EdoConnection(EdoConnectionInput),
    /// Change of login e-mail.
    LoginEmailChange(LoginEmailChangeInput),
    /// Account deletion.
    AccountDeletion(AccountDeletionInput),
}

/// A new request.
#[derive(Debug, Clone, InputObject)]
pub struct SubmitRequestInput {
    /// The company.
    pub company_id: Uuid,
    /// The contract (required for kinds about a contract; insurance kinds take it from the policy).
    pub contract_id: Option<Uuid>,
    /// The kind and its details.
    pub details: RequestDetailsInput,
    /// Files (multipart upload; PDF, JPEG, PNG, DOCX, XLSX, XML, text).
    #[graphql(default)]
    pub attachments: Vec<Upload>,
    /// For a request that commits the company, filed by a representative rather than its director: the
    /// power of attorney (its number) to act under (default: the first in force that covers requests). It is
    /// recorded with the request.
    pub power_of_attorney: Option<Uuid>,
}

/// An insured event reported on a policy, with its files.
#[derive(Debug, Clone, InputObject)]
pub struct ReportInsuredEventInput {
    /// What happened.
    #[graphql(flatten)]
    pub event: InsuredEventInput,
    /// Photos, the police certificate and other files (multipart upload).
    #[graphql(default)]
    pub attachments: Vec<Upload>,
}

/// A client withdraws its request.
#[derive(Debug, Clone, InputObject)]
pub struct WithdrawRequestInput {
    /// The request.
    pub request_id: Uuid,
    /// Why, when the client says.
    pub reason: Option<String>,
}

/// A comment on a request.
#[derive(Debug, Clone, InputObject)]
pub struct CommentRequestInput {
    /// The request.
    pub request_id: Uuid,
    /// The text.
    pub text: String,
}

/// A file added to a request.
#[derive(Debug, Clone, InputObject)]
pub struct AttachToRequestInput {
    /// The request.
    pub request_id: Uuid,
    /// The file (multipart upload).
    pub file: Upload,
}

/// Staff takes a request into review.
#[derive(Debug, Clone, InputObject)]
pub struct TakeRequestIntoReviewInput {
    /// The request.
    pub request_id: Uuid,
}

/// Staff asks the client a question.
#[derive(Debug, Clone, InputObject)]
pub struct AskForInformationInput {
    /// The request.
    pub request_id: Uuid,
    /// The question.
    pub question: String,
}

/// Staff rejects a request.
#[derive(Debug, Clone, InputObject)]
pub struct RejectRequestInput {
    /// The request.
    pub request_id: Uuid,
    /// Why.
    pub reason: String,
}

/// Completion.
#[derive(Debug, Clone, InputObject)]
pub struct CompleteRequestInput {
    /// The request.
    pub request_id: Uuid,
    /// A note to the client.
    pub note: Option<String>,
    /// For an insurance prolongation: the new period and premium (applied to the policy).
    pub prolongation: Option<ProlongationInput>,
    /// For a change of insurance terms: what the insurer agreed (applied to the policy with the request's
    /// description; absent: the description alone is recorded on the policy).
    pub terms_change: Option<TermsChangeInput>,
    /// For a vehicle-insurance request: the policy arranged (required; issued on the request's contract
    /// with the request's cover, `result` as its form).
    pub new_policy: Option<NewPolicyInput>,
    /// The result document (multipart upload), when there is one.
    pub result: Option<Upload>,
}

/// The policy arranged on a vehicle-insurance request.
#[derive(Debug, Clone, InputObject)]
pub struct NewPolicyInput {
    /// Insurance company.
    pub insurer: String,
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
    /// Installments; none: all on the first day.
    #[graphql(default)]
    pub installments: Vec<InstallmentInput>,
    /// Who pays the insurer.
    pub payer: super::insurance::PremiumPayer,
}

/// What the insurer agreed on a change of terms.
#[derive(Debug, Clone, InputObject)]
pub struct TermsChangeInput {
    /// The new sum insured.
    pub sum_insured: Option<Decimal>,
    /// An additional premium, when the change costs more.
    pub additional_premium: Option<super::insurance::InstallmentInput>,
}

/// The new period of a prolonged policy.
#[derive(Debug, Clone, InputObject)]
pub struct ProlongationInput {
    /// Last day of the new period.
    pub ends_on: Date,
    /// Premium.
    pub premium: Decimal,
    /// Installments; none: all on the first day.
    #[graphql(default)]
    pub installments: Vec<InstallmentInput>,
    /// A new policy number.
    pub number: Option<String>,
}

impl RequestDetailsInput {
    fn kind(&self) -> DomainKind {
        match self {
            Self::VehiclePassport(_) => DomainKind::VehiclePassport,
            Self::TravelAbroad(_) => DomainKind::TravelAbroad,
            Self::EarlyBuyout(_) => DomainKind::EarlyBuyout,
            Self::PartialRepayment(_) => DomainKind::PartialRepayment,
            Self::RequisitesChange(_) => DomainKind::RequisitesChange,
            Self::Certificate(_) => DomainKind::Certificate,
            Self::AccountingDocuments(_) => DomainKind::AccountingDocuments,
            Self::InsuranceProlongation(_) => DomainKind::InsuranceProlongation,
            Self::InsuranceTermsChange(_) => DomainKind::InsuranceTermsChange,
            Self::VehicleInsurance(_) => DomainKind::VehicleInsurance,
            Self::InsuredEvent(_) => DomainKind::InsuredEvent,
            Self::Complaint(_) => DomainKind::Complaint,
            Self::TechnicalSupport(_) => DomainKind::TechnicalSupport,
            Self::Consultation(_) => DomainKind::Consultation,
            Self::EdoConnection(_) => DomainKind::EdoConnection,
            Self::LoginEmailChange(_) => DomainKind::LoginEmailChange,
            Self::AccountDeletion(_) => DomainKind::AccountDeletion,
        }
    }

    /// Parses the value objects (e-mail, phone, КПП, bank, ЭДО id, money), naming the field on failure.
    /// An insured event's contact phone is returned beside the details: it is recorded on the policy, not
    /// in the request.
    fn parse(self, event_id: Uuid) -> Result<(RequestDetails, Option<Phone>), ApiError> {
        let path = format!(
            "input.details.{}",
            crate::error::fields::request_details(self.kind())
        );
        let f = |name: &str| format!("{path}.{name}");
        let mut phone = None;
        let details = match self {
            Self::VehiclePassport(x) => RequestDetails::VehiclePassport {
                document: x.document.into(),
                purpose: x.purpose,
                delivery: x.delivery.into(),
                address: x.address,
            },
            Self::TravelAbroad(x) => RequestDetails::TravelAbroad {
                countries: x.countries,
                from: x.from.0,
                to: x.to.0,
                drivers: x
                    .drivers
                    .into_iter()
                    .map(|d| dr::Driver {
                        full_name: d.full_name.into(),
                        licence_number: d.licence_number.into(),
                    })
                    .collect(),
            },
            Self::EarlyBuyout(x) => RequestDetails::EarlyBuyout {
                desired_date: x.desired_date.0,
                quote: None,
            },
            Self::PartialRepayment(x) => RequestDetails::PartialRepayment {
                amount: money(&f("amount"), x.amount)?,
                date: x.date.0,
                mode: match x.mode {
                    RecalculationMode::ShorterTerm => DomainMode::ShorterTerm,
                    RecalculationMode::SmallerPayments => DomainMode::SmallerPayments,
                },
            },
            Self::RequisitesChange(x) => RequestDetails::RequisitesChange {
                change: RequisitesChange {
                    kpp: x
                        .kpp
                        .as_deref()
                        .map(|k| parse_field(&f("kpp"), Kpp::parse(k)))
                        .transpose()?,
                    full_name: x.full_name,
                    short_name: x.short_name,
                    legal_address: x.legal_address,
                    postal_address: x.postal_address,
                    bank: x.bank.as_ref().map(|b| b.parse(&f("bank"))).transpose()?,
                    contact_email: x
                        .contact_email
                        .as_deref()
                        .map(|e| parse_field(&f("contactEmail"), Email::parse(e)))
                        .transpose()?,
                    contact_phone: x
                        .contact_phone
                        .as_deref()
                        .map(|p| parse_field(&f("contactPhone"), Phone::parse(p)))
                        .transpose()?,
                },
            },
            Self::Certificate(x) => RequestDetails::Certificate {
                certificate: x.certificate.into(),
                as_of: x.as_of.0,
            },
            Self::AccountingDocuments(x) => RequestDetails::AccountingDocuments {
                documents: x.documents.into_iter().map(Into::into).collect(),
                from: x.from.0,
                to: x.to.0,
                email: parse_field(&f("email"), Email::parse(&x.email))?.into(),
            },
            Self::InsuranceProlongation(x) => RequestDetails::InsuranceProlongation {
                policy_id: x.policy_id,
                wishes: x.wishes,
            },
            Self::InsuranceTermsChange(x) => RequestDetails::InsuranceTermsChange {
                policy_id: x.policy_id,
                description: x.description,
            },
            Self::VehicleInsurance(x) => RequestDetails::VehicleInsurance {
                cover: x.cover.domain(),
                starts_on: x.starts_on.0,
                wishes: x.wishes,
            },
            Self::InsuredEvent(x) => {
                phone = Some(parse_field(
                    &f("contactPhone"),
                    Phone::parse(&x.contact_phone),
                )?);
                RequestDetails::InsuredEvent {
                    policy_id: x.policy_id,
                    event_id,
                    date: x.date.0,
                    place: x.place.into(),
                    description: x.description.into(),
                }
            }
            Self::Complaint(x) => RequestDetails::Complaint {
                subject: x.subject,
                text: x.text,
            },
            Self::TechnicalSupport(x) => RequestDetails::TechnicalSupport {
                subject: x.subject,
                text: x.text,
            },
            Self::Consultation(x) => RequestDetails::Consultation {
                subject: x.subject,
                text: x.text,
            },
            Self::EdoConnection(x) => RequestDetails::EdoConnection {
                participant_id: x
                    .participant_id
                    .as_deref()
                    .map(|p| parse_field(&f("participantId"), EdoParticipantId::parse(p)))
                    .transpose()?,
                roaming: x.roaming,
            },
            Self::LoginEmailChange(x) => RequestDetails::LoginEmailChange {
                new_email: parse_field(&f("newEmail"), Email::parse(&x.new_email))?.into(),
            },
            Self::AccountDeletion(x) => RequestDetails::AccountDeletion { reason: x.reason },
        };
        Ok((details, phone))
    }
}

/// Status filter of the request list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum RequestOrder {
    /// Newest first.
    NewestFirst,
    /// Oldest first.
    OldestFirst,
}

fn parse_cursor(after: Option<String>) -> Result<Option<(DateTime<Utc>, Uuid)>, ApiError> {
    super::pagination::pair_cursor(after)
}

/// Submits a request: checks the contract or policy belongs to the company, attaches the buyout quote,
/// records an insured event on the policy, stores the files, and files the request.
async fn submit(
    ctx: &Context<'_>,
    mut input: SubmitRequestInput,
    key: Option<String>,
) -> Result<RequestPayload, ApiError> {
    let attachments = std::mem::take(&mut input.attachments);
    let (actor, req) = allow(ctx, Operation::SubmitRequest(input.company_id))?;
    let key = idempotency_key(key)?;
    let app = app(ctx);
    let kind = input.details.kind();
    // A request that commits the company needs its director or a power of attorney for requests; the power
    // it rests on is recorded with it.
    let ground = crate::app::authority::check(
        &app.pool,
        actor,
        input.company_id,
        domain::company::Act::Submit(kind),
        input.power_of_attorney,
        "input.powerOfAttorney",
    )
    .await?;
    let path = format!(
        "input.details.{}",
        crate::error::fields::request_details(kind)
    );
    let event_id = Uuid::now_v7();
    let (mut details, phone) = input.details.parse(event_id)?;
    let mut contract_id = input.contract_id;
    if let Some(policy_id) = details.policy_id() {
        let policy = projections::views::policies::load_policy(&app.pool, policy_id)
            .await?
            .filter(|p| p.company_id == input.company_id)
            .ok_or_else(|| {
                ApiError::validation(format!("{path}.policyId"), "no such policy of this company")
            })?;
        contract_id = Some(policy.contract_id);
    } else if let Some(c) = contract_id {
        let company = projections::views::contracts::contract_company(&app.pool, c).await?;
        if company != Some(input.company_id) {
            return Err(ApiError::validation(
                "input.contractId",
                "no such contract of this company",
            ));
        }
    }
    let today = today(ctx).await?;
    if let (
        RequestDetails::EarlyBuyout {
            desired_date,
            quote,
        },
        Some(c),
    ) = (&mut details, contract_id)
    {
        let contract = app
            .contracts
            .load(&c.to_string())
            .await
            .map_err(contract_command_error)?;
        *quote = Some(
            contract
                .early_buyout_quote((*desired_date).max(today), &app.calendar)
                .map_err(|e| ApiError::validation(format!("{path}.desiredDate"), e.to_string()))?,
        );
    }
    let files =
        super::uploads::uploads(ctx, "input.attachments", &attachments, &actor.event_actor())
            .await?;
    // Checked before anything is recorded: a request that would be refused records no insured event.
    let submission = Submission {
        request_id: Uuid::now_v7(),
        company_id: input.company_id,
        contract_id,
        submitted_by: actor.account_id,
        submitted_on: today,
        due_on: app
            .calendar
            .working_days_after(today, app.service_levels.get(&kind).copied().unwrap_or(5)),
        details,
        // An insured event's files belong to the event on the policy (shown there and in the documents).
        attachments: if kind == DomainKind::InsuredEvent {
            Vec::new()
        } else {
            files.clone()
        },
        power_of_attorney: ground.power_of_attorney(),
    };
    if let Err(e) = submission.details.clone().validate(today) {
        return Err(request_command_error(
            projections::store::command::CommandError::Rejected(e),
            Some(kind),
        ));
    }
    if let (
        RequestDetails::InsuredEvent {
            policy_id,
            date,
            place,
            description,
            ..
        },
        Some(contact_phone),
    ) = (&submission.details, phone)
    {
        let event = domain::policy::InsuredEvent {
            event_id,
            date: *date,
            place: place.clone(),
            description: description.clone(),
            attachments: files.clone(),
            contact_phone: contact_phone.into(),
        };
        app.policies
            .execute(
                &policy_id.to_string(),
                PolicyCommand::ReportInsuredEvent(Box::new(event)),
                &req.meta(actor, key.as_ref().map(|k| format!("{k}:policy"))),
            )
            .await
            .map_err(|e| policy_command_error(e, &path))?;
    }
    let id = submission.request_id;
    let out = app
        .requests
        .execute(
            &id.to_string(),
            RequestCommand::SubmitRequest(Box::new(submission)),
            &req.meta(actor, key),
        )
        .await
        .map_err(|e| request_command_error(e, Some(kind)))?;
    Ok(RequestPayload::new(
        request_by_id(ctx, out.aggregate_id.parse().unwrap_or(id)).await?,
        Done::from(&out),
    ))
}

// ---------------------------------------------------------------------------------------------------------
// Resolvers

/// Request queries.
#[derive(Default)]
pub struct RequestQuery;

#[Object]
impl RequestQuery {
    /// A company's requests, filtered by status, kind and contract; newest first unless `order` says
    /// otherwise. `history`, `comments` and `attachments` of the whole page cost one more query.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn requests(
        &self,
        ctx: &Context<'_>,
        company_id: Uuid,
        status: Option<RequestStatus>,
        kind: Option<RequestKind>,
        contract_id: Option<Uuid>,
        order: Option<RequestOrder>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Request, super::pagination::Total>> {
        allow(ctx, Operation::ReadRequests(company_id))?;
        let limit = page_size(first)?;
        let cursor = parse_cursor(after)?;
        let filter = RequestFilter {
            status: status.map(|s| dr::RequestStatus::from(s).as_str().to_owned()),
            kind: kind.map(|k| DomainKind::from(k).as_str().to_owned()),
            contract_id,
            oldest_first: order == Some(RequestOrder::OldestFirst),
        };
        let rows = views::list_requests(&app(ctx).pool, company_id, &filter, cursor, limit + 1)
            .await
            .map_err(ApiError::from)?;
        let wanted = super::pagination::nodes_select(ctx, &["history", "comments", "attachments"]);
        let rows = with_history(ctx, rows, wanted).await?;
        Ok(super::pagination::counted(
            ctx,
            rows,
            limit,
            cursor.is_some(),
            views::count_requests(&app(ctx).pool, company_id, &filter),
            |r| (format!("{}|{}", r.submitted_at.to_rfc3339(), r.id), r),
        )
        .await?)
    }

    /// One request with its history, comments and attachments; `null` when there is none the caller may
    /// see.
    async fn request(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Option<Request>> {
        use crate::graphql::context::found;
        if let Some(at) = as_of {
            return Ok(found(request_as_of(ctx, id, at).await)?);
        }
        if found(authorized_request(ctx, id, Operation::ReadRequests).await)?.is_none() {
            return Ok(None);
        }
        Ok(found(request_by_id(ctx, id).await)?)
    }
}

/// Request mutations.
#[derive(Default)]
pub struct RequestMutation;

#[Object]
impl RequestMutation {
    /// Files a request with files (multipart upload; PDF, JPEG, PNG, DOCX, XLSX, XML, text).
    async fn submit_request(
        &self,
        ctx: &Context<'_>,
        input: SubmitRequestInput,
        idempotency_key: Option<String>,
    ) -> Result<RequestPayload> {
        Ok(submit(ctx, input, idempotency_key).await?)
    }

    /// Reports an insured event on a policy (recorded on the policy, with the files) and opens an
    /// insured-event request to track its handling.
    async fn report_insured_event(
        &self,
        ctx: &Context<'_>,
        input: ReportInsuredEventInput,
        idempotency_key: Option<String>,
    ) -> Result<RequestPayload> {
        let policy =
            authorized_policy(ctx, input.event.policy_id, Operation::ReportInsuredEvent).await?;
        let input = SubmitRequestInput {
            company_id: policy.company_id,
            contract_id: Some(policy.contract_id),
            details: RequestDetailsInput::InsuredEvent(input.event),
            attachments: input.attachments,
            power_of_attorney: None,
        };
        Ok(submit(ctx, input, idempotency_key).await?)
    }

    /// The client withdraws its request (until it is completed).
    async fn withdraw_request(
        &self,
        ctx: &Context<'_>,
        input: WithdrawRequestInput,
        idempotency_key: Option<String>,
    ) -> Result<RequestPayload> {
        Ok(step(
            ctx,
            input.request_id,
            Operation::WithdrawRequest,
            idempotency_key,
            RequestCommand::Withdraw {
                reason: input.reason,
            },
        )
        .await?)
    }

    /// A comment from either side; a client's comment answers an open question (back in review).
    async fn comment_request(
        &self,
        ctx: &Context<'_>,
        input: CommentRequestInput,
        idempotency_key: Option<String>,
    ) -> Result<RequestPayload> {
        let (actor, _) = allow(ctx, Operation::Me)?;
        let party = actor.party();
        Ok(step(
            ctx,
            input.request_id,
            Operation::CommentRequest,
            idempotency_key,
            RequestCommand::Comment {
                comment_id: Uuid::now_v7(),
                party,
                text: input.text,
            },
        )
        .await?)
    }

    /// A file from either side (multipart upload); a client's file answers an open question.
    async fn attach_to_request(
        &self,
        ctx: &Context<'_>,
        input: AttachToRequestInput,
        idempotency_key: Option<String>,
    ) -> Result<RequestPayload> {
        let view = authorized_request(ctx, input.request_id, Operation::CommentRequest).await?;
        let (actor, _) = allow(ctx, Operation::Me)?;
        let f: FileRef =
            super::uploads::upload(ctx, "input.file", &input.file, &actor.event_actor()).await?;
        Ok(step_on(
            ctx,
            &view,
            Operation::CommentRequest,
            idempotency_key,
            RequestCommand::Attach {
                party: actor.party(),
                file: f,
            },
        )
        .await?)
    }

    /// Staff takes a request into review (from submitted, or after the client answered).
    async fn take_request_into_review(
        &self,
        ctx: &Context<'_>,
        input: TakeRequestIntoReviewInput,
        idempotency_key: Option<String>,
    ) -> Result<RequestPayload> {
        Ok(step(
            ctx,
            input.request_id,
            Operation::ProcessRequest,
            idempotency_key,
            RequestCommand::TakeIntoReview,
        )
        .await?)
    }

    /// Staff asks the client for information.
    async fn ask_for_information(
        &self,
        ctx: &Context<'_>,
        input: AskForInformationInput,
        idempotency_key: Option<String>,
    ) -> Result<RequestPayload> {
        Ok(step(
            ctx,
            input.request_id,
            Operation::ProcessRequest,
            idempotency_key,
            RequestCommand::AskForInformation {
                question: input.question,
            },
        )
        .await?)
    }

    /// Staff completes a request in review, with a result document when given. Completing a change of
    /// requisites, partial repayment, early buyout, insurance prolongation or account deletion then
    /// changes the company, contract, policy or account (see `effect`).
    async fn complete_request(
        &self,
        ctx: &Context<'_>,
        input: CompleteRequestInput,
        idempotency_key: Option<String>,
    ) -> Result<RequestPayload> {
        let view = authorized_request(ctx, input.request_id, Operation::ProcessRequest).await?;
        let (actor, _) = allow(ctx, Operation::Me)?;
        let prolongation = match &input.prolongation {
            Some(p) => Some(ProlongationTerms {
                ends_on: p.ends_on.0,
                premium: money("input.prolongation.premium", p.premium)?,
                installments: installments("input.prolongation.installments", &p.installments)?,
                number: p.number.clone(),
            }),
            None => None,
        };
        let terms_change = match &input.terms_change {
            Some(t) => Some(domain::request::TermsChangeTerms {
                sum_insured: t
                    .sum_insured
                    .map(|s| money("input.termsChange.sumInsured", s))
                    .transpose()?,
                additional_premium: match &t.additional_premium {
                    Some(i) => Some((
                        i.due_date.0,
                        money("input.termsChange.additionalPremium.amount", i.amount)?,
                    )),
                    None => None,
                },
            }),
            None => None,
        };
        let new_policy = match &input.new_policy {
            Some(p) => Some(domain::request::NewPolicyTerms {
                insurer: p.insurer.clone(),
                number: p.number.clone(),
                starts_on: p.starts_on.0,
                ends_on: p.ends_on.0,
                sum_insured: money("input.newPolicy.sumInsured", p.sum_insured)?,
                premium: money("input.newPolicy.premium", p.premium)?,
                installments: installments("input.newPolicy.installments", &p.installments)?,
                payer: p.payer.into(),
            }),
            None => None,
        };
        let result = match &input.result {
            Some(r) => {
                Some(super::uploads::upload(ctx, "input.result", r, &actor.event_actor()).await?)
            }
            None => None,
        };
        let completed_on = today(ctx).await?;
        Ok(step_on(
            ctx,
            &view,
            Operation::ProcessRequest,
            idempotency_key,
            RequestCommand::Complete(Box::new(Completion {
                completed_on,
                note: input.note,
                result,
                prolongation,
                terms_change,
                new_policy,
            })),
        )
        .await?)
    }

    /// Staff rejects a request, with the reason.
    async fn reject_request(
        &self,
        ctx: &Context<'_>,
        input: RejectRequestInput,
        idempotency_key: Option<String>,
    ) -> Result<RequestPayload> {
        Ok(step(
            ctx,
            input.request_id,
            Operation::ProcessRequest,
            idempotency_key,
            RequestCommand::Reject {
                reason: input.reason,
            },
        )
        .await?)
    }
}

/// The request as of `at`, with its history and the documents issued for it by then.
pub(crate) async fn request_as_of(
    ctx: &Context<'_>,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<Request, ApiError> {
    let at = super::history::history_allowed(ctx, at)?;
    let pool = &app(ctx).pool;
    let documents = super::history::ids(
        pool,
        "SELECT document_id::text FROM exchange_documents_view WHERE request_id = $1 \
         UNION SELECT document_id::text FROM request_document_links WHERE request_id = $1",
        id,
    )
    .await?;
    let mut a = AsOf::begin(pool, at).await?;
    a.replay(
        &projections::views::requests::RequestsProjection,
        &Selection::of("ClientRequest", [id.to_string()]).with_business_days(),
    )
    .await
    .map_err(super::history::replay_error)?;
    a.replay(
        &projections::views::documents::DocumentsProjection,
        &Selection::of("ClientRequest", [id.to_string()]).and("Document", documents),
    )
    .await
    .map_err(super::history::replay_error)?;
    let conn = a.conn();
    let view = projections::views::requests::load_request(&mut *conn, id)
        .await?
        .ok_or_else(|| super::history::not_at("request", id, at))?;
    let history = projections::views::requests::load_history(&mut *conn, &[id]).await?;
    let docs = projections::views::documents::request_documents(&mut *conn, id).await?;
    let mut r = Request::with_rows(view, history)?;
    r.as_of_documents = Some(docs);
    Ok(r)
}
