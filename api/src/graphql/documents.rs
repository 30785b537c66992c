//! Documents and ЭДО over GraphQL: generated documents (invoice for payment, reconciliation act,
//! certificates, ОС-1), exchanged documents with their signing workflow, and the company's ЭДО connection.

use crate::graphql::scalars::Date;
use async_graphql::connection::Connection;
use async_graphql::{
    Context, Enum, InputObject, Object, OneofObject, Result, SimpleObject, Upload,
};
use chrono::{DateTime, Utc};
use domain::document::{
    DocumentCommand, DocumentError, DocumentInfo, DocumentKind as Kind, Signature,
};
use domain::edo::{roaming_id, EdoCommand, EdoError};
use domain::request::Party as DomainParty;
use domain::values::{EdoParticipantId, Email, Phone};
use projections::store::command::CommandError;
use projections::views::documents::{self as views, ExchangeDocumentView};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::context::{allow, allow_seen, app};
use super::enums::{unknown_stored, Party};
use super::files::FileInfo;
use super::pagination::{page_size, pair_cursor};
use super::payload::{payload, Done};
use crate::app::documents::{self as generate, InvoiceSubject};
use crate::auth::policy::Operation;
use crate::auth::Actor;
use crate::error::{command_error, parse_field, ApiError};

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum DocumentKind {
    /// Счёт на оплату.
    Invoice,
    /// Акт сверки.
    ReconciliationAct,
    /// Справка об отсутствии задолженности.
    NoDebtCertificate,
    /// Справка о действии договора лизинга.
    ContractInForceCertificate,
    /// Справка о балансовой (остаточной) стоимости предмета лизинга.
    BookValueCertificate,
    /// Акт ОС-1.
    Os1,
    /// Uploaded by the client or the lessor.
    Uploaded,
    /// Счёт-фактура from the lessor's accounting system.
    TaxInvoice,
    /// УПД from the lessor's accounting system.
    Upd,
    /// Акт оказанных услуг from the lessor's accounting system.
    Act,
}

impl From<DocumentKind> for Kind {
    fn from(k: DocumentKind) -> Self {
        match k {
            DocumentKind::Invoice => Kind::Invoice,
            DocumentKind::ReconciliationAct => Kind::ReconciliationAct,
            DocumentKind::NoDebtCertificate => Kind::NoDebtCertificate,
            DocumentKind::ContractInForceCertificate => Kind::ContractInForceCertificate,
            DocumentKind::BookValueCertificate => Kind::BookValueCertificate,
            DocumentKind::Os1 => Kind::Os1,
            DocumentKind::Uploaded => Kind::Uploaded,
            DocumentKind::TaxInvoice => Kind::TaxInvoice,
            DocumentKind::Upd => Kind::Upd,
            DocumentKind::Act => Kind::Act,
        }
    }
}

impl DocumentKind {
    pub(crate) fn from_view(s: &str) -> Result<Self, ApiError> {
        Ok(match s {
            "invoice" => Self::Invoice,
            "reconciliation_act" => Self::ReconciliationAct,
            "no_debt_certificate" => Self::NoDebtCertificate,
            "contract_in_force_certificate" => Self::ContractInForceCertificate,
            "book_value_certificate" => Self::BookValueCertificate,
            "os1" => Self::Os1,
            "uploaded" => Self::Uploaded,
            "tax_invoice" => Self::TaxInvoice,
            "upd" => Self::Upd,
            "act" => Self::Act,
            other => return Err(unknown_stored("exchange_documents_view.kind", other)),
        })
    }
}

fn certificate_kind(k: super::enums::CertificateKind) -> Kind {
    match domain::request::CertificateKind::from(k) {
        domain::request::CertificateKind::NoDebt => Kind::NoDebtCertificate,
        domain::request::CertificateKind::ContractInForce => Kind::ContractInForceCertificate,
        domain::request::CertificateKind::BookValue => Kind::BookValueCertificate,
    }
}

/// Where a document's signing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum SigningStatus {
    /// Not sent for signature.
    Draft,
    /// Sent with the sender's signature.
    Sent,
    /// The recipient acknowledged receipt.
    Delivered,
    /// Signed by both sides.
    Signed,
    /// The recipient refused to sign (see `reason`).
    Rejected,
    /// A side asked to annul it (see `reason`).
    AnnulmentRequested,
    /// Annulled by both sides.
    Annulled,
}

impl SigningStatus {
    fn from_view(s: &str) -> Result<Self, ApiError> {
        Ok(match s {
            "draft" => Self::Draft,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "signed" => Self::Signed,
            "rejected" => Self::Rejected,
            "annulment_requested" => Self::AnnulmentRequested,
            "annulled" => Self::Annulled,
            other => return Err(unknown_stored("exchange_documents_view.status", other)),
        })
    }
}

/// A recorded electronic signature (stored and shown; not verified cryptographically).
#[derive(Debug, Clone, SimpleObject)]
pub struct DocumentSignature {
    /// Which side signed.
    pub party: Party,
    /// The signer's name; null once the signer's personal data was destroyed.
    pub signer_name: Option<String>,
    /// The signer's position; null once the signer's personal data was destroyed.
    pub signer_position: Option<String>,
    /// The certificate's SHA-1 thumbprint.
    pub thumbprint: String,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
    /// The detached signature file.
    pub file: FileInfo,
    /// The МЧД (machine-readable power of attorney) a representative signed under.
    pub power_of_attorney: Option<Uuid>,
}

/// A document of a company: generated by the cabinet or uploaded, with its signing.
#[derive(Debug, Clone, SimpleObject)]
pub struct ExchangeDocument {
    /// Id.
    pub id: Uuid,
    /// The company.
    pub company_id: Uuid,
    /// The contract it is about.
    pub contract_id: Option<Uuid>,
    /// The request it answers.
    pub request_id: Option<Uuid>,
    /// What it is.
    pub kind: DocumentKind,
    /// Number (generated documents).
    pub number: Option<String>,
    /// Title.
    pub title: String,
    /// Date.
    pub date: Date,
    /// The file; download from `file.url` with the bearer token.
    pub file: FileInfo,
    /// Who issued it.
    pub issued_by: Party,
    /// Signing status.
    pub status: SigningStatus,
    /// Signatures, in order.
    pub signatures: Vec<DocumentSignature>,
    /// Reason of a rejection or an annulment request.
    pub reason: Option<String>,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// What the lessor's accounting system says of an accounting document (счёт-фактура, УПД, act); null
    /// for the others.
    pub accounting: Option<AccountingDetails>,
}

/// An accounting document as the lessor's accounting system issued it.
#[derive(Debug, Clone, SimpleObject)]
pub struct AccountingDetails {
    /// The accounting system's id of the document.
    pub external_id: String,
    /// First day of the period it covers.
    pub period_from: Date,
    /// Last day of the period it covers.
    pub period_to: Date,
    /// Its total, VAT included, rubles.
    pub amount: Decimal,
    /// The VAT in it, rubles.
    pub vat: Decimal,
    /// The formalised file in the ФНС's XML format (the one ЭДО carries; null for a paper-only
    /// document); download from `url` with the bearer token.
    pub formal_file: Option<FileInfo>,
}

impl TryFrom<ExchangeDocumentView> for ExchangeDocument {
    type Error = ApiError;

    fn try_from(v: ExchangeDocumentView) -> Result<Self, ApiError> {
        let signatures = v
            .signatures
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
                        Ok(DocumentSignature {
                            party: Party::from_view(&text("party"))?,
                            signer_name: s["signerName"].as_str().map(str::to_owned),
                            signer_position: s["signerPosition"].as_str().map(str::to_owned),
                            thumbprint: text("thumbprint"),
                            signed_at: text("signedAt").parse().unwrap_or_default(),
                            file: FileInfo {
                                url: format!("/documents/{}", text("sha256")),
                                sha256: text("sha256"),
                                name: text("name"),
                                content_type: "application/pkcs7-signature".into(),
                                size: s["size"].as_i64().unwrap_or_default(),
                            },
                            power_of_attorney: s["powerOfAttorney"]
                                .as_str()
                                .and_then(|p| p.parse().ok()),
                        })
                    })
                    .collect::<Result<Vec<_>, ApiError>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(Self {
            id: v.document_id,
            company_id: v.company_id,
            contract_id: v.contract_id,
            request_id: v.request_id,
            kind: DocumentKind::from_view(&v.kind)?,
            number: v.number,
            title: v.title,
            date: v.doc_date.into(),
            file: FileInfo {
                url: format!("/documents/{}", v.sha256),
                sha256: v.sha256,
                name: v.name,
                content_type: v.content_type,
                size: v.size,
            },
            issued_by: Party::from_view(&v.issued_by)?,
            status: SigningStatus::from_view(&v.status)?,
            signatures,
            reason: v.reason,
            issued_at: v.issued_at,
            updated_at: v.updated_at,
            accounting: match (v.external_id, v.period_from, v.period_to) {
                (Some(external_id), Some(from), Some(to)) => Some(AccountingDetails {
                    external_id,
                    period_from: from.into(),
                    period_to: to.into(),
                    amount: v.amount.unwrap_or_default(),
                    vat: v.vat.unwrap_or_default(),
                    formal_file: v.formal_sha256.map(|sha256| FileInfo {
                        url: format!("/documents/{sha256}"),
                        sha256,
                        name: v.formal_name.unwrap_or_default(),
                        content_type: "application/xml".into(),
                        size: v.formal_size.unwrap_or_default(),
                    }),
                }),
                _ => None,
            },
        })
    }
}

/// One operation of a reconciliation.
#[derive(Debug, Clone, SimpleObject)]
pub struct ReconciliationOperation {
    /// Business date.
    pub date: Date,
    /// The document it rests on.
    pub document: String,
    /// What it is.
    pub description: String,
    /// Charged to the lessee, rubles.
    pub debit: Decimal,
    /// Paid by the lessee, rubles.
    pub credit: Decimal,
}

/// The reconciliation of a contract's settlements for a period (the numbers of the акт сверки).
#[derive(Debug, Clone, SimpleObject)]
pub struct Reconciliation {
    /// The contract.
    pub contract_id: Uuid,
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
    /// Balance before `from` (debt positive, overpayment negative).
    pub opening: Decimal,
    /// Operations in the period.
    pub operations: Vec<ReconciliationOperation>,
    /// Debit turnover.
    pub debit_turnover: Decimal,
    /// Credit turnover.
    pub credit_turnover: Decimal,
    /// Balance at the end of `to`.
    pub closing: Decimal,
    /// Paid ahead for lines and installments falling due after `to`.
    pub prepaid: Decimal,
    /// What is owed at the end of `to` as the debt counts it (`closing + prepaid`).
    pub debt: Decimal,
}

fn reconciliation_out(
    contract_id: Uuid,
    r: domain::reconciliation::Reconciliation,
) -> Reconciliation {
    Reconciliation {
        contract_id,
        from: r.from.into(),
        to: r.to.into(),
        opening: r.opening,
        debt: r.debt(),
        operations: r
            .operations
            .into_iter()
            .map(|o| ReconciliationOperation {
                date: o.date.into(),
                document: o.document,
                description: o.description,
                debit: o.debit,
                credit: o.credit,
            })
            .collect(),
        debit_turnover: r.debit_turnover,
        credit_turnover: r.credit_turnover,
        closing: r.closing,
        prepaid: r.prepaid,
    }
}

/// What an invoice is for: exactly one.
#[derive(Debug, Clone, OneofObject)]
pub enum InvoiceSubjectInput {
    /// The next schedule payment not yet overdue.
    NextPayment(bool),
    /// Everything overdue.
    Overdue(bool),
    /// Accrued unpaid penalties.
    Penalties(bool),
    /// A re-billed fine, by its resolution number.
    Fine(String),
    /// A schedule line, by its number.
    Line(i32),
    /// The re-billed insurance premiums not yet paid.
    Insurance(bool),
    /// The early buyout as quoted on this day (`earlyBuyoutQuote(asOf)`): not before the business date.
    EarlyBuyout(Date),
}

impl InvoiceSubjectInput {
    fn subject(self) -> Result<InvoiceSubject, ApiError> {
        Ok(match self {
            Self::NextPayment(_) => InvoiceSubject::NextPayment,
            Self::Overdue(_) => InvoiceSubject::Overdue,
            Self::Penalties(_) => InvoiceSubject::Penalties,
            Self::Fine(f) => InvoiceSubject::Fine(f.trim().to_owned()),
            Self::Line(n) => InvoiceSubject::Line(
                u32::try_from(n)
                    .map_err(|_| ApiError::validation("what.line", "must not be negative"))?,
            ),
            Self::Insurance(_) => InvoiceSubject::Insurance,
            // Quoted by the mutation, which loads the contract once it is authorized.
            Self::EarlyBuyout(_) => {
                return Err(ApiError::validation(
                    "what.earlyBuyout",
                    "the early buyout is quoted by the contract",
                ))
            }
        })
    }
}

/// What an invoice of all of a company's contracts is for: exactly one.
#[derive(Debug, Clone, OneofObject)]
pub enum CompanyInvoiceSubjectInput {
    /// Each contract's next schedule payment not yet overdue.
    NextPayment(bool),
    /// Everything overdue on every contract.
    Overdue(bool),
}

/// An invoice covering all of a company's open contracts.
#[derive(Debug, Clone, InputObject)]
pub struct RequestCompanyInvoiceInput {
    /// The company.
    pub company_id: Uuid,
    /// What it is for.
    pub what: CompanyInvoiceSubjectInput,
}

/// A signature as the signing side's software produced it; the detached signature file is uploaded beside.
#[derive(Debug, Clone, InputObject)]
pub struct SignatureInput {
    /// The signer's full name, as in the certificate.
    pub signer_name: String,
    /// The signer's position.
    pub signer_position: String,
    /// The certificate's SHA-1 thumbprint (40 hex digits; spaces and colons are ignored).
    pub thumbprint: String,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
    /// The МЧД's number when a representative signs.
    pub power_of_attorney: Option<Uuid>,
}

/// A company's ЭДО connection as the cabinet shows it.
#[derive(Debug, Clone, SimpleObject)]
pub struct EdoConnectionStatus {
    /// The company.
    pub company_id: Uuid,
    /// Where the connection is.
    pub status: EdoStatus,
    /// The status in words («Подключение отсутствует», …).
    pub status_text: String,
    /// What to do next.
    pub instructions: String,
    /// The company's participant id, once known.
    pub participant_id: Option<String>,
    /// Its operator's code.
    pub operator_code: Option<String>,
    /// Its operator's name.
    pub operator_name: Option<String>,
    /// The offer version the client accepted.
    pub accepted_offer_version: Option<i32>,
    /// The offer version to accept now.
    pub current_offer_version: i32,
    /// Why the connection was refused.
    pub reason: Option<String>,
    /// The operators roaming works with (the list staff maintain).
    pub operators: Vec<EdoOperator>,
    /// The lessor's own ЭДО participant id (to invite the lessor through the client's operator), when the
    /// lessor set it.
    pub lessor_participant_id: Option<String>,
    /// The lessor's operator, by its code in `lessorParticipantId`.
    pub lessor_operator_name: Option<String>,
    /// The text of the ЭДО offer (version `currentOfferVersion`) the client accepts.
    pub offer_text: String,
    /// When it last changed.
    pub updated_at: Option<DateTime<Utc>>,
}

/// An ЭДО operator.
#[derive(Debug, Clone, SimpleObject)]
pub struct EdoOperator {
    /// Its 3-character code (the start of its participants' ids).
    pub code: String,
    /// Its name.
    pub name: String,
}

/// Where a company's ЭДО connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum EdoStatus {
    /// Nothing requested.
    NotConnected,
    /// The questionnaire was filed.
    QuestionnaireSubmitted,
    /// The offer was accepted; the operator is connecting.
    OfferAccepted,
    /// Connected through the lessor's operator.
    Connected,
    /// Roaming through the client's operator was requested.
    RoamingRequested,
    /// Roaming works.
    RoamingActive,
    /// Refused (see `reason`).
    Rejected,
}

impl EdoStatus {
    /// From the stored status; no row is a company that never started connecting.
    pub(crate) fn from_view(s: Option<&str>) -> Result<Self, ApiError> {
        Ok(match s {
            None | Some("not_connected") => Self::NotConnected,
            Some("questionnaire_submitted") => Self::QuestionnaireSubmitted,
            Some("offer_accepted") => Self::OfferAccepted,
            Some("connected") => Self::Connected,
            Some("roaming_requested") => Self::RoamingRequested,
            Some("roaming_active") => Self::RoamingActive,
            Some("rejected") => Self::Rejected,
            Some(other) => return Err(unknown_stored("edo_connections_view.status", other)),
        })
    }

    /// The status in words and what the client's accountant does next — in the cabinet's terms, never
    /// the API's.
    fn words(self, offer: i32, lessor_id: Option<&str>) -> (&'static str, String) {
        let invite = lessor_id.map_or_else(String::new, |id| {
            format!(" Идентификатор лизингодателя для приглашения: {id}.")
        });
        match self {
            Self::NotConnected => (
                "Подключение отсутствует",
                format!(
                    "Чтобы получать счета-фактуры, УПД и акты в электронном виде, подключитесь к ЭДО: \
                     заполните в разделе «Электронный документооборот» анкету на подключение к оператору \
                     лизингодателя или, если ваша организация уже работает с другим оператором, отправьте \
                     запрос на роуминг, указав оператора и идентификатор участника ЭДО вашей организации \
                     (его можно найти в личном кабинете вашего оператора).{invite}"
                ),
            ),
            Self::QuestionnaireSubmitted => (
                "Анкета получена",
                format!(
                    "Ознакомьтесь с офертой об электронном документообороте (редакция {offer}) и примите её \
                     в разделе «Электронный документооборот»: после этого оператор подключит вашу организацию."
                ),
            ),
            Self::OfferAccepted => (
                "Оферта принята",
                "Оператор подключает вашу организацию. Когда подключение завершится, здесь появится \
                 идентификатор участника ЭДО, а документы лизингодателя начнут поступать оператору."
                    .into(),
            ),
            Self::Connected => (
                "Подключено",
                "Документы лизингодателя поступают через оператора ЭДО. Подписывайте их квалифицированной \
                 электронной подписью руководителя или уполномоченного лица (с машиночитаемой доверенностью)."
                    .into(),
            ),
            Self::RoamingRequested => (
                "Запрошен роуминг",
                format!(
                    "Лизингодатель настраивает роуминг с вашим оператором. Если оператор попросит \
                     приглашение от вашей организации, отправьте его лизингодателю из кабинета вашего \
                     оператора.{invite}"
                ),
            ),
            Self::RoamingActive => (
                "Роуминг настроен",
                "Документы лизингодателя поступают через вашего оператора ЭДО; подписывайте их там \
                 квалифицированной электронной подписью."
                    .into(),
            ),
            Self::Rejected => (
                "В подключении отказано",
                "Исправьте то, что указано в причине отказа, и подайте анкету или запрос на роуминг снова."
                    .into(),
            ),
        }
    }
}

pub(crate) async fn edo_status(
    ctx: &Context<'_>,
    company_id: Uuid,
) -> Result<EdoConnectionStatus, ApiError> {
    let app = app(ctx);
    let row = projections::views::edo::load_edo(&app.pool, company_id).await?;
    let status = EdoStatus::from_view(row.as_ref().map(|r| r.status.as_str()))?;
    let (text, instructions) =
        status.words(app.edo_offer_version, app.edo_participant_id.as_deref());
    let operator_code = row.as_ref().and_then(|r| r.operator_code.clone());
    let operators = projections::views::edo::load_edo_operators(&app.pool).await?;
    let name_of = |code: &str| {
        operators
            .iter()
            .find(|o| o.code.eq_ignore_ascii_case(code))
            .map(|o| o.name.clone())
    };
    Ok(EdoConnectionStatus {
        company_id,
        status,
        status_text: text.into(),
        instructions,
        participant_id: row.as_ref().and_then(|r| r.participant_id.clone()),
        operator_name: operator_code.as_deref().and_then(name_of),
        operator_code,
        accepted_offer_version: row.as_ref().and_then(|r| r.offer_version),
        current_offer_version: app.edo_offer_version,
        reason: row.as_ref().and_then(|r| r.reason.clone()),
        lessor_operator_name: app
            .edo_participant_id
            .as_deref()
            .and_then(|id| name_of(id.get(..3).unwrap_or_default())),
        lessor_participant_id: app.edo_participant_id.clone(),
        offer_text: app.edo_offer_text.clone(),
        operators: operators
            .iter()
            .map(|o| EdoOperator {
                code: o.code.clone(),
                name: o.name.clone(),
            })
            .collect(),
        updated_at: row.map(|r| r.updated_at),
    })
}

fn document_error(e: CommandError<DocumentError>) -> ApiError {
    match e {
        CommandError::Rejected(e) => match &e {
            DocumentError::NotFound => ApiError::NotFound(e.to_string()),
            DocumentError::Invalid { field, message } => ApiError::invalid(
                format!("input.{field}"),
                crate::error::explain::phrase(message),
                message.clone(),
            ),
            DocumentError::AlreadyExists
            | DocumentError::WrongStatus(_)
            | DocumentError::OtherSide => ApiError::Conflict(e.to_string()),
        },
        other => command_error(other),
    }
}

/// Why the ЭДО connection refused a step.
fn edo_reason(e: &EdoError) -> crate::error::Reason {
    match e {
        EdoError::Invalid { message, .. } => crate::error::explain::phrase(message),
        EdoError::OutdatedOffer { current } => crate::error::Reason::domain(
            "OUTDATED_OFFER",
            Some(serde_json::json!({ "current": current })),
            format!("действует оферта версии {current}"),
        ),
        EdoError::WrongStatus(_) => crate::error::Reason::Invalid,
    }
}

fn edo_error(e: CommandError<EdoError>) -> ApiError {
    match e {
        CommandError::Rejected(e) => match crate::error::fields::edo(&e) {
            Some(f) => ApiError::invalid(format!("input.{f}"), edo_reason(&e), e.to_string()),
            None => ApiError::Conflict(e.to_string()),
        },
        other => command_error(other),
    }
}

/// The document's company, for authorization; NOT_FOUND when there is no such document.
async fn document_company(ctx: &Context<'_>, id: Uuid) -> Result<ExchangeDocumentView, ApiError> {
    views::load_exchange_document(&app(ctx).pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("document not found".into()))
}

/// A contract's company, for authorization.
async fn contract_company(ctx: &Context<'_>, id: Uuid) -> Result<Uuid, ApiError> {
    projections::views::contracts::contract_company(&app(ctx).pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("contract not found".into()))
}

pub(crate) async fn load(ctx: &Context<'_>, id: Uuid) -> Result<ExchangeDocument, ApiError> {
    document_company(ctx, id).await?.try_into()
}

/// The document and the caller, authorized to take its side's steps on it (`op` of its company).
async fn exchanging<'a>(
    ctx: &Context<'a>,
    id: Uuid,
    op: fn(Uuid) -> Operation,
) -> Result<
    (
        &'a Actor,
        &'a super::context::RequestCtx,
        ExchangeDocumentView,
    ),
    ApiError,
> {
    let doc = document_company(ctx, id).await?;
    let (actor, req) = allow_seen(ctx, op(doc.company_id), || {
        ApiError::NotFound("document not found".into())
    })?;
    Ok((actor, req, doc))
}

/// Signing authority for a step that binds the caller's company (see [`crate::app::authority`]).
async fn authority_for(
    ctx: &Context<'_>,
    actor: &Actor,
    doc: &ExchangeDocumentView,
    named: Option<Uuid>,
) -> Result<domain::company::Authority, ApiError> {
    let kind = Kind::parse(&doc.kind)
        .ok_or_else(|| unknown_stored("exchange_documents_view.kind", &doc.kind))?;
    crate::app::authority::check(
        &app(ctx).pool,
        actor,
        doc.company_id,
        domain::company::Act::Sign(kind),
        named,
        "input.signature.powerOfAttorney",
    )
    .await
}

/// Runs a command on a document as `actor` and returns the document as it is now.
async fn execute(
    ctx: &Context<'_>,
    id: Uuid,
    actor: &Actor,
    req: &super::context::RequestCtx,
    key: Option<String>,
    command: DocumentCommand,
) -> Result<DocumentPayload, ApiError> {
    let key = super::context::idempotency_key(key)?;
    let out = app(ctx)
        .documents
        .execute(&id.to_string(), command, &req.meta(actor, key))
        .await
        .map_err(document_error)?;
    Ok(DocumentPayload::new(
        load(ctx, out.aggregate_id.parse().unwrap_or(id)).await?,
        Done::from(&out),
    ))
}

payload! {
    /// The result of a document mutation.
    DocumentPayload {
        /// The document after the change (read your writes).
        document: ExchangeDocument
    }
}

/// An operator of the list staff publish.
#[derive(Debug, Clone, InputObject)]
pub struct EdoOperatorInput {
    /// Its 3-character code.
    pub code: String,
    /// Its name.
    pub name: String,
}

/// The whole operator list.
#[derive(Debug, Clone, InputObject)]
pub struct PublishEdoOperatorsInput {
    /// The operators, in the order clients see them (it replaces the list).
    pub operators: Vec<EdoOperatorInput>,
}

payload! {
    /// The operator list in force after `publishEdoOperators`.
    EdoOperatorsPayload {
        /// The operators.
        operators: Vec<EdoOperator>
    }
}

payload! {
    /// The result of an ЭДО connection mutation.
    EdoConnectionPayload {
        /// The company's ЭДО connection after the change.
        edo_status: EdoConnectionStatus
    }
}

/// A document generated on a contract (`on`: the contract and the operation its company must allow; an
/// unknown or unseen contract is NOT_FOUND), with [`generated`]'s idempotency.
async fn generated_on<'a, F, Fut>(
    ctx: &Context<'a>,
    (contract_id, op): (Uuid, fn(Uuid) -> Operation),
    key: Option<String>,
    generate: F,
) -> Result<DocumentPayload, ApiError>
where
    F: FnOnce(
        &'a generate::DocumentService,
        projections::store::event::CommandMeta,
        Uuid,
        Uuid,
    ) -> Fut,
    Fut: std::future::Future<Output = Result<generate::Generated, ApiError>>,
{
    let company = contract_company(ctx, contract_id).await?;
    let (actor, req) = allow_seen(ctx, op(company), || {
        ApiError::NotFound("contract not found".into())
    })?;
    let docs = &app(ctx).document_service;
    generated(ctx, actor, req, key, |meta| {
        generate(docs, meta, contract_id, company)
    })
    .await
}

/// Generates a document unless the idempotency key names an earlier call (then answers with that call's
/// document: nothing is generated or numbered again).
async fn generated<F, Fut>(
    ctx: &Context<'_>,
    actor: &Actor,
    req: &super::context::RequestCtx,
    key: Option<String>,
    generate: F,
) -> Result<DocumentPayload, ApiError>
where
    F: FnOnce(projections::store::event::CommandMeta) -> Fut,
    Fut: std::future::Future<Output = Result<generate::Generated, ApiError>>,
{
    let meta = req.meta(actor, super::context::idempotency_key(key)?);
    if let Some(out) = app(ctx)
        .documents
        .replay_of(&meta)
        .await
        .map_err(document_error)?
    {
        let id = out
            .aggregate_id
            .parse()
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("a document id is not a UUID")))?;
        return Ok(DocumentPayload::new(load(ctx, id).await?, Done::from(&out)));
    }
    let g = generate(meta).await.map_err(ApiError::in_input)?;
    Ok(DocumentPayload::new(
        load(ctx, g.id).await?,
        Done {
            position: g.position.map(super::position::Position::event),
            replayed: false,
        },
    ))
}

/// Runs a step for the caller's side on a document the caller may exchange; a step that binds the side
/// (`binding`: refusing, annulling) needs signing authority besides.
async fn step(
    ctx: &Context<'_>,
    id: Uuid,
    key: Option<String>,
    binding: bool,
    command: impl FnOnce(DomainParty) -> DocumentCommand,
) -> Result<DocumentPayload, ApiError> {
    let op = if binding {
        Operation::SignDocuments
    } else {
        Operation::ExchangeDocuments
    };
    let (actor, req, doc) = exchanging(ctx, id, op).await?;
    if binding {
        authority_for(ctx, actor, &doc, None).await?;
    }
    execute(ctx, id, actor, req, key, command(actor.party())).await
}

/// Runs a signing step that carries the caller's side's signature (its detached file uploaded beside). A
/// client's signature records the power of attorney it was given under, if any.
async fn signed_step(
    ctx: &Context<'_>,
    input: SignedStepInput,
    key: Option<String>,
    command: fn(Box<Signature>) -> DocumentCommand,
) -> Result<DocumentPayload, ApiError> {
    let id = input.document_id;
    let (actor, req, doc) = exchanging(ctx, id, Operation::SignDocuments).await?;
    let named = input.signature.power_of_attorney;
    let authority = authority_for(ctx, actor, &doc, named).await?;
    let mut s = signature(
        ctx,
        actor.party(),
        input.signature,
        &input.signature_file,
        &actor.event_actor(),
    )
    .await?;
    if !actor.is_staff() {
        s.power_of_attorney = authority.power_of_attorney();
    }
    execute(ctx, id, actor, req, key, command(Box::new(s))).await
}

async fn signature(
    ctx: &Context<'_>,
    party: DomainParty,
    input: SignatureInput,
    file: &Upload,
    stored_by: &str,
) -> Result<Signature, ApiError> {
    let file = super::uploads::upload(ctx, "input.signatureFile", file, stored_by).await?;
    if file.content_type != "application/pkcs7-signature" {
        return Err(ApiError::validation(
            "input.signatureFile",
            "must be a detached CMS signature (application/pkcs7-signature)",
        ));
    }
    Signature::new(
        party,
        &input.signer_name,
        &input.signer_position,
        &input.thumbprint,
        input.signed_at,
        file,
        input.power_of_attorney,
    )
    .map_err(|e| match e {
        DocumentError::Invalid { field, message } => ApiError::invalid(
            format!("input.{field}"),
            crate::error::explain::phrase(&message),
            message,
        ),
        other => ApiError::validation("input.signature", other.to_string()),
    })
}

/// Documents and ЭДО queries.
#[derive(Default)]
pub struct DocumentQuery;

#[Object]
impl DocumentQuery {
    /// A company's documents (optionally of one contract), newest first.
    async fn documents(
        &self,
        ctx: &Context<'_>,
        company_id: Uuid,
        contract_id: Option<Uuid>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, ExchangeDocument, super::pagination::Total>> {
        allow(ctx, Operation::ReadExchange(company_id))?;
        if let Some(c) = contract_id {
            if contract_company(ctx, c).await? != company_id {
                return Err(ApiError::NotFound(format!("contract {c}")).into());
            }
        }
        let limit = page_size(first)?;
        let cursor = pair_cursor::<DateTime<Utc>>(after)?;
        let rows = views::list_exchange_documents(
            &app(ctx).pool,
            company_id,
            contract_id,
            cursor,
            limit + 1,
        )
        .await
        .map_err(ApiError::from)?;
        let rows = rows
            .into_iter()
            .map(|r| {
                let cursor = format!("{}|{}", r.issued_at.to_rfc3339(), r.document_id);
                Ok((cursor, ExchangeDocument::try_from(r)?))
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(super::pagination::counted(
            ctx,
            rows,
            limit,
            cursor.is_some(),
            views::count_exchange_documents(&app(ctx).pool, company_id, contract_id),
            |edge| edge,
        )
        .await?)
    }

    /// One document; `null` when there is none the caller may see.
    async fn document(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<ExchangeDocument>> {
        use crate::graphql::context::{found, request};
        // UNAUTHENTICATED before anything else: an anonymous caller learns nothing of what exists.
        if request(ctx)?.actor.is_none() {
            crate::auth::policy::authorize(None, Operation::ReadExchange(Uuid::nil()))?;
        }
        let Some(doc) = found(document_company(ctx, id).await)? else {
            return Ok(None);
        };
        let seen = allow_seen(ctx, Operation::ReadExchange(doc.company_id), || {
            ApiError::NotFound("document not found".into())
        });
        if found(seen)?.is_none() {
            return Ok(None);
        }
        Ok(Some(doc.try_into()?))
    }

    /// The reconciliation of a contract's settlements for a period, computed from the events (what the акт
    /// сверки prints).
    async fn reconciliation(
        &self,
        ctx: &Context<'_>,
        contract_id: Uuid,
        from: Date,
        to: Date,
    ) -> Result<Reconciliation> {
        let company = contract_company(ctx, contract_id).await?;
        allow_seen(ctx, Operation::ReadExchange(company), || {
            ApiError::NotFound("contract not found".into())
        })?;
        let r =
            generate::reconciliation(&app(ctx).document_service, contract_id, from.0, to.0).await?;
        Ok(reconciliation_out(contract_id, r))
    }

    /// A company's ЭДО connection, with what to do next.
    async fn edo_status(&self, ctx: &Context<'_>, company_id: Uuid) -> Result<EdoConnectionStatus> {
        allow(ctx, Operation::ReadExchange(company_id))?;
        Ok(edo_status(ctx, company_id).await?)
    }

    /// The ЭДО operators roaming works with, as staff maintain them (everyone signed in).
    async fn edo_operators(&self, ctx: &Context<'_>) -> Result<Vec<EdoOperator>> {
        allow(ctx, Operation::ReadNews)?;
        Ok(projections::views::edo::load_edo_operators(&app(ctx).pool)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .map(|o| EdoOperator {
                code: o.code,
                name: o.name,
            })
            .collect())
    }
}

/// Documents and ЭДО mutations.
/// The documents to generate and the steps of an exchange, each with its input.
#[derive(Default)]
pub struct DocumentMutation;

/// An invoice for payment asked for on a contract.
#[derive(Debug, Clone, InputObject)]
pub struct RequestInvoiceInput {
    /// The contract.
    pub contract_id: Uuid,
    /// What the invoice is for.
    pub what: InvoiceSubjectInput,
}

/// A reconciliation act for a period.
#[derive(Debug, Clone, InputObject)]
pub struct GenerateReconciliationActInput {
    /// The contract.
    pub contract_id: Uuid,
    /// First day of the period.
    pub from: Date,
    /// Last day of the period (not after the business date).
    pub to: Date,
}

/// A certificate on a contract.
#[derive(Debug, Clone, InputObject)]
pub struct IssueCertificateInput {
    /// The contract.
    pub contract_id: Uuid,
    /// Which certificate.
    pub kind: super::enums::CertificateKind,
    /// As of which day.
    pub as_of: Date,
}

/// The ОС-1 act of a completed contract.
#[derive(Debug, Clone, InputObject)]
pub struct IssueOs1Input {
    /// The contract.
    pub contract_id: Uuid,
}

/// A document uploaded for a company.
#[derive(Debug, Clone, InputObject)]
pub struct UploadDocumentInput {
    /// The company.
    pub company_id: Uuid,
    /// The contract it is about, if one.
    pub contract_id: Option<Uuid>,
    /// Its title (1 to 300 characters).
    pub title: String,
    /// The file (multipart upload).
    pub file: Upload,
}

/// A signing step: the document, the signature's details and its detached file.
#[derive(Debug, Clone, InputObject)]
pub struct SignedStepInput {
    /// The document.
    pub document_id: Uuid,
    /// The signature as the signing software produced it.
    pub signature: SignatureInput,
    /// The detached CMS signature (`application/pkcs7-signature`, multipart upload).
    pub signature_file: Upload,
}

/// A step on a document that needs nothing but the document.
#[derive(Debug, Clone, InputObject)]
pub struct DocumentStepInput {
    /// The document.
    pub document_id: Uuid,
}

/// A step on a document with the reason for it.
#[derive(Debug, Clone, InputObject)]
pub struct DocumentReasonInput {
    /// The document.
    pub document_id: Uuid,
    /// Why.
    pub reason: String,
}

/// The ЭДО questionnaire.
#[derive(Debug, Clone, InputObject)]
pub struct SubmitEdoQuestionnaireInput {
    /// The company.
    pub company_id: Uuid,
    /// Who the operator contacts.
    pub contact_email: String,
    /// Their phone.
    pub contact_phone: Option<String>,
}

/// The ЭДО offer accepted.
#[derive(Debug, Clone, InputObject)]
pub struct AcceptEdoOfferInput {
    /// The company.
    pub company_id: Uuid,
    /// The offer's version (`edoStatus.currentOfferVersion`).
    pub version: i32,
}

/// Roaming through the company's own operator.
#[derive(Debug, Clone, InputObject)]
pub struct RequestEdoRoamingInput {
    /// The company.
    pub company_id: Uuid,
    /// The operator's 3-character code (`edoStatus.operators`).
    pub operator_code: String,
    /// The company's participant id there (4–46 characters of `[A-Za-z0-9@.-]`, starting with the code).
    pub participant_id: String,
}

/// Staff confirms a company's ЭДО connection.
#[derive(Debug, Clone, InputObject)]
pub struct ConfirmEdoConnectionInput {
    /// The company.
    pub company_id: Uuid,
    /// The participant id the lessor's operator assigned (after an accepted offer; none for roaming).
    pub participant_id: Option<String>,
}

/// Staff refuses a company's ЭДО connection.
#[derive(Debug, Clone, InputObject)]
pub struct RejectEdoConnectionInput {
    /// The company.
    pub company_id: Uuid,
    /// Why.
    pub reason: String,
}

#[Object]
impl DocumentMutation {
    /// Generates an invoice for payment (PDF with the payment QR code) on a contract and adds it to the
    /// company's documents.
    async fn request_invoice(
        &self,
        ctx: &Context<'_>,
        input: RequestInvoiceInput,
        idempotency_key: Option<String>,
    ) -> Result<DocumentPayload> {
        let subject = match input.what {
            InvoiceSubjectInput::EarlyBuyout(as_of) => {
                InvoiceSubject::EarlyBuyout(buyout_quote(ctx, input.contract_id, as_of.0).await?)
            }
            what => what.subject().map_err(ApiError::in_input)?,
        };
        let on = (
            input.contract_id,
            Operation::GenerateDocuments as fn(Uuid) -> Operation,
        );
        Ok(generated_on(
            ctx,
            on,
            idempotency_key,
            |docs, meta, contract, company| async move {
                generate::issue_invoice(docs, &meta, Uuid::now_v7(), contract, company, &subject)
                    .await
            },
        )
        .await?)
    }

    /// Generates one invoice (PDF with the payment QR) covering all of a company's open contracts — each
    /// contract's next payment, or everything overdue — and adds it to the company's documents. Paid as
    /// printed, the payment is split back into the contracts by the invoice's number (each contract its
    /// share, in the invoice's order); more than the invoice waits for staff.
    async fn request_company_invoice(
        &self,
        ctx: &Context<'_>,
        input: RequestCompanyInvoiceInput,
        idempotency_key: Option<String>,
    ) -> Result<DocumentPayload> {
        let company = input.company_id;
        let (actor, req) = allow_seen(ctx, Operation::GenerateDocuments(company), || {
            ApiError::NotFound("company not found".into())
        })?;
        let subject = match input.what {
            CompanyInvoiceSubjectInput::NextPayment(_) => InvoiceSubject::NextPayment,
            CompanyInvoiceSubjectInput::Overdue(_) => InvoiceSubject::Overdue,
        };
        let docs = &app(ctx).document_service;
        Ok(
            generated(ctx, actor, req, idempotency_key, |meta| async move {
                generate::issue_company_invoice(docs, &meta, Uuid::now_v7(), company, &subject)
                    .await
                    .map_err(ApiError::in_input)
            })
            .await?,
        )
    }

    /// Generates the reconciliation act (PDF) of a contract for a period and adds it to the company's
    /// documents.
    async fn generate_reconciliation_act(
        &self,
        ctx: &Context<'_>,
        input: GenerateReconciliationActInput,
        idempotency_key: Option<String>,
    ) -> Result<DocumentPayload> {
        let (from, to) = (input.from.0, input.to.0);
        let on = (
            input.contract_id,
            Operation::GenerateDocuments as fn(Uuid) -> Operation,
        );
        Ok(generated_on(
            ctx,
            on,
            idempotency_key,
            |docs, meta, contract, company| async move {
                generate::issue_act(
                    docs,
                    &meta,
                    Uuid::now_v7(),
                    contract,
                    company,
                    None,
                    from,
                    to,
                )
                .await
            },
        )
        .await?)
    }

    /// Issues a certificate on a contract as of a date (staff; clients ask through a certificate request).
    async fn issue_certificate(
        &self,
        ctx: &Context<'_>,
        input: IssueCertificateInput,
        idempotency_key: Option<String>,
    ) -> Result<DocumentPayload> {
        let (kind, as_of) = (certificate_kind(input.kind), input.as_of.0);
        let on = (
            input.contract_id,
            Operation::IssueCertificates as fn(Uuid) -> Operation,
        );
        Ok(generated_on(
            ctx,
            on,
            idempotency_key,
            |docs, meta, contract, company| async move {
                generate::issue_certificate(
                    docs,
                    &meta,
                    Uuid::now_v7(),
                    contract,
                    company,
                    None,
                    kind,
                    as_of,
                )
                .await
            },
        )
        .await?)
    }

    /// Draws up the ОС-1 act for a completed contract (staff).
    async fn issue_os1(
        &self,
        ctx: &Context<'_>,
        input: IssueOs1Input,
        idempotency_key: Option<String>,
    ) -> Result<DocumentPayload> {
        let on = (
            input.contract_id,
            Operation::IssueCertificates as fn(Uuid) -> Operation,
        );
        Ok(generated_on(
            ctx,
            on,
            idempotency_key,
            |docs, meta, contract, company| async move {
                generate::issue_os1(docs, &meta, Uuid::now_v7(), contract, company, None).await
            },
        )
        .await?)
    }

    /// Uploads a document for a company (and optionally a contract). The same content uploaded again for the
    /// company is refused, naming the earlier document.
    async fn upload_document(
        &self,
        ctx: &Context<'_>,
        input: UploadDocumentInput,
        idempotency_key: Option<String>,
    ) -> Result<DocumentPayload> {
        let company_id = input.company_id;
        let contract_id = input.contract_id;
        let (actor, req) = allow(ctx, Operation::ExchangeDocuments(company_id))?;
        if let Some(c) = contract_id {
            if contract_company(ctx, c).await? != company_id {
                return Err(ApiError::NotFound(format!("contract {c}")).into());
            }
        }
        let title = input.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > 300 {
            return Err(ApiError::validation("input.title", "must be 1 to 300 characters").into());
        }
        let app = app(ctx);
        let key = super::context::idempotency_key(idempotency_key)?;
        if let Some(out) = app
            .documents
            .replay_of(&req.meta(actor, key.clone()))
            .await
            .map_err(document_error)?
        {
            let id = out.aggregate_id.parse().unwrap_or_default();
            return Ok(DocumentPayload::new(load(ctx, id).await?, Done::from(&out)));
        }
        let file =
            super::uploads::upload(ctx, "input.file", &input.file, &actor.event_actor()).await?;
        let duplicate: Option<(Uuid, String)> = sqlx::query_as(
            "SELECT document_id, title FROM exchange_documents_view WHERE company_id = $1 AND sha256 = $2 LIMIT 1",
        )
        .bind(company_id)
        .bind(&file.sha256)
        .fetch_optional(&app.pool)
        .await
        .map_err(ApiError::from)?;
        if let Some((id, t)) = duplicate {
            return Err(ApiError::validation(
                "input.file",
                format!("the same file is already among the company's documents: «{t}» ({id})"),
            )
            .into());
        }
        let date = generate::business_day(&app.document_service).await?;
        let id = Uuid::now_v7();
        let command = DocumentCommand::Issue {
            document_id: id,
            party: actor.party(),
            info: Box::new(DocumentInfo {
                company_id,
                contract_id,
                request_id: None,
                kind: Kind::Uploaded,
                number: None,
                title,
                date,
                file,
                accounting: None,
                covers: Vec::new(),
            }),
        };
        Ok(execute(ctx, id, actor, req, key, command).await?)
    }

    /// Sends a document the caller's side issued for signature, with the caller's side's signature.
    async fn send_document_for_signature(
        &self,
        ctx: &Context<'_>,
        input: SignedStepInput,
        idempotency_key: Option<String>,
    ) -> Result<DocumentPayload> {
        Ok(signed_step(
            ctx,
            input,
            idempotency_key,
            DocumentCommand::SendForSignature,
        )
        .await?)
    }

    /// Acknowledges receipt of a document sent to the caller's side.
    async fn acknowledge_document(
        &self,
        ctx: &Context<'_>,
        input: DocumentStepInput,
        idempotency_key: Option<String>,
    ) -> Result<DocumentPayload> {
        Ok(
            step(ctx, input.document_id, idempotency_key, false, |party| {
                DocumentCommand::AcknowledgeReceipt { party }
            })
            .await?,
        )
    }

    /// Signs a document sent to the caller's side.
    async fn sign_document(
        &self,
        ctx: &Context<'_>,
        input: SignedStepInput,
        idempotency_key: Option<String>,
    ) -> Result<DocumentPayload> {
        Ok(signed_step(ctx, input, idempotency_key, DocumentCommand::Sign).await?)
    }

    /// Refuses to sign a document sent to the caller's side.
    async fn reject_document_signature(
        &self,
        ctx: &Context<'_>,
        input: DocumentReasonInput,
        idempotency_key: Option<String>,
    ) -> Result<DocumentPayload> {
        let reason = input.reason;
        Ok(
            step(ctx, input.document_id, idempotency_key, true, |party| {
                DocumentCommand::RejectSignature { party, reason }
            })
            .await?,
        )
    }

    /// Asks to annul a signed document.
    async fn request_document_annulment(
        &self,
        ctx: &Context<'_>,
        input: DocumentReasonInput,
        idempotency_key: Option<String>,
    ) -> Result<DocumentPayload> {
        let reason = input.reason;
        Ok(
            step(ctx, input.document_id, idempotency_key, true, |party| {
                DocumentCommand::RequestAnnulment { party, reason }
            })
            .await?,
        )
    }

    /// Agrees to the other side's request to annul a signed document.
    async fn confirm_document_annulment(
        &self,
        ctx: &Context<'_>,
        input: DocumentStepInput,
        idempotency_key: Option<String>,
    ) -> Result<DocumentPayload> {
        Ok(
            step(ctx, input.document_id, idempotency_key, true, |party| {
                DocumentCommand::ConfirmAnnulment { party }
            })
            .await?,
        )
    }

    /// Files the questionnaire for connecting to ЭДО through the lessor's operator.
    async fn submit_edo_questionnaire(
        &self,
        ctx: &Context<'_>,
        input: SubmitEdoQuestionnaireInput,
        idempotency_key: Option<String>,
    ) -> Result<EdoConnectionPayload> {
        let company_id = input.company_id;
        let contact_email = parse_field("input.contactEmail", Email::parse(&input.contact_email))?;
        let contact_phone = input
            .contact_phone
            .map(|p| parse_field("input.contactPhone", Phone::parse(&p)))
            .transpose()?;
        Ok(edo(
            ctx,
            Operation::ConnectEdo(company_id),
            company_id,
            idempotency_key,
            EdoCommand::SubmitQuestionnaire {
                company_id,
                contact_email,
                contact_phone,
            },
        )
        .await?)
    }

    /// Accepts the ЭДО offer; `version` must be the current one (`edoStatus.currentOfferVersion`).
    async fn accept_edo_offer(
        &self,
        ctx: &Context<'_>,
        input: AcceptEdoOfferInput,
        idempotency_key: Option<String>,
    ) -> Result<EdoConnectionPayload> {
        let current = app(ctx).edo_offer_version;
        Ok(edo(
            ctx,
            Operation::ConnectEdo(input.company_id),
            input.company_id,
            idempotency_key,
            EdoCommand::AcceptOffer {
                version: input.version,
                current,
            },
        )
        .await?)
    }

    /// Asks for roaming through the company's own operator: a listed 3-character operator code and the
    /// participant id there (4–46 characters of `[A-Za-z0-9@.-]`, starting with the code).
    async fn request_edo_roaming(
        &self,
        ctx: &Context<'_>,
        input: RequestEdoRoamingInput,
        idempotency_key: Option<String>,
    ) -> Result<EdoConnectionPayload> {
        let company_id = input.company_id;
        let operators = projections::views::edo::load_edo_operators(&app(ctx).pool)
            .await
            .map_err(ApiError::from)?;
        let participant_id = roaming_id(&operators, &input.operator_code, &input.participant_id)
            .map_err(|e| {
                ApiError::invalid(
                    format!(
                        "input.{}",
                        crate::error::fields::edo(&e).unwrap_or("participantId")
                    ),
                    edo_reason(&e),
                    e.to_string(),
                )
            })?;
        Ok(edo(
            ctx,
            Operation::ConnectEdo(company_id),
            company_id,
            idempotency_key,
            EdoCommand::RequestRoaming {
                company_id,
                participant_id,
            },
        )
        .await?)
    }

    /// Publishes the list of ЭДО operators roaming works with (ADMIN): it replaces the list in force; a roaming
    /// request names one of them. The same list again changes nothing.
    async fn publish_edo_operators(
        &self,
        ctx: &Context<'_>,
        input: PublishEdoOperatorsInput,
        idempotency_key: Option<String>,
    ) -> Result<EdoOperatorsPayload> {
        let (actor, req) = allow(ctx, Operation::ManageContent)?;
        let key = super::context::idempotency_key(idempotency_key)?;
        let out = app(ctx)
            .edo_operators
            .execute(
                domain::edo::EDO_OPERATORS_ID,
                domain::edo::EdoOperatorsCommand::PublishEdoOperators {
                    operators: input
                        .operators
                        .into_iter()
                        .map(|o| (o.code, o.name))
                        .collect(),
                },
                &req.meta(actor, key),
            )
            .await
            .map_err(edo_error)?;
        let operators = projections::views::edo::load_edo_operators(&app(ctx).pool)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .map(|o| EdoOperator {
                code: o.code,
                name: o.name,
            })
            .collect();
        Ok(EdoOperatorsPayload::new(operators, Done::from(&out)))
    }

    /// Confirms a company's ЭДО connection (staff): with the participant id the lessor's operator assigned
    /// after an accepted offer; without one for roaming.
    async fn confirm_edo_connection(
        &self,
        ctx: &Context<'_>,
        input: ConfirmEdoConnectionInput,
        idempotency_key: Option<String>,
    ) -> Result<EdoConnectionPayload> {
        let participant_id = input
            .participant_id
            .map(|p| {
                EdoParticipantId::parse(&p)
                    .map_err(|e| ApiError::validation("input.participantId", e.reason))
            })
            .transpose()?;
        Ok(edo(
            ctx,
            Operation::ProcessEdo(input.company_id),
            input.company_id,
            idempotency_key,
            EdoCommand::Confirm { participant_id },
        )
        .await?)
    }

    /// Refuses a company's ЭДО connection with a reason (staff).
    async fn reject_edo_connection(
        &self,
        ctx: &Context<'_>,
        input: RejectEdoConnectionInput,
        idempotency_key: Option<String>,
    ) -> Result<EdoConnectionPayload> {
        Ok(edo(
            ctx,
            Operation::ProcessEdo(input.company_id),
            input.company_id,
            idempotency_key,
            EdoCommand::Reject {
                reason: input.reason,
            },
        )
        .await?)
    }
}

async fn edo(
    ctx: &Context<'_>,
    op: Operation,
    company_id: Uuid,
    key: Option<String>,
    command: EdoCommand,
) -> Result<EdoConnectionPayload, ApiError> {
    let (actor, req) = allow(ctx, op)?;
    projections::views::companies::load_company(&app(ctx).pool, company_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("company {company_id}")))?;
    let key = super::context::idempotency_key(key)?;
    let out = app(ctx)
        .edo
        .execute(&company_id.to_string(), command, &req.meta(actor, key))
        .await
        .map_err(edo_error)?;
    Ok(EdoConnectionPayload::new(
        edo_status(ctx, company_id).await?,
        Done::from(&out),
    ))
}

/// The early-buyout quote of a contract the caller may invoice, on `as_of` (not before the business date).
async fn buyout_quote(
    ctx: &Context<'_>,
    contract_id: Uuid,
    as_of: chrono::NaiveDate,
) -> Result<domain::contract::BuyoutQuote, ApiError> {
    // As `generated_on` checks it: an unseen contract is not found.
    let company = contract_company(ctx, contract_id).await?;
    allow_seen(ctx, Operation::GenerateDocuments(company), || {
        ApiError::NotFound("contract not found".into())
    })?;
    let app = app(ctx);
    let today: Option<chrono::NaiveDate> =
        sqlx::query_scalar("SELECT business_date FROM business_day_view")
            .fetch_optional(&app.pool)
            .await?;
    if today.is_some_and(|t| as_of < t) {
        return Err(ApiError::validation(
            "input.what.earlyBuyout",
            "the quote's day is before the business date",
        ));
    }
    let aggregate = app
        .contracts
        .load(&contract_id.to_string())
        .await
        .map_err(crate::error::command_error)?;
    aggregate
        .early_buyout_quote(as_of, &app.calendar)
        .map_err(|e| ApiError::validation("input.what.earlyBuyout", e.to_string()))
}
