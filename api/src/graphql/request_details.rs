//! A request's details as typed objects: one object type per kind (the complaint, support and
//! consultation kinds share `MessageDetails`), under the union `RequestDetails`. Each mirrors the kind's
//! input in `RequestDetailsInput` field for field, plus what the server adds (an early buyout's quote, an
//! insured event's id on the policy). Personal values read `null` once destroyed.

use async_graphql::{SimpleObject, Union};
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

use super::contracts::{BuyoutQuote, RecalculationMode};
use super::enums::CertificateKind;
use super::enums::{AccountingDocument, Delivery, VehicleDocument};
use super::scalars::Date;
use super::types::BankRequisites;
use crate::error::ApiError;

/// Issue of the vehicle passport.
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct VehiclePassportDetails {
    /// Paper or electronic.
    pub document: VehicleDocument,
    /// What it is needed for.
    pub purpose: String,
    /// How it is delivered.
    pub delivery: Delivery,
    /// Address (courier, post).
    pub address: Option<String>,
}

/// A driver who will take the vehicle abroad (personal data: `null` once destroyed).
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct DriverDetails {
    /// Full name.
    pub full_name: Option<String>,
    /// Driving licence number.
    pub licence_number: Option<String>,
}

/// Permission to take the vehicle abroad.
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct TravelAbroadDetails {
    /// Countries, ISO 3166-1 alpha-2.
    pub countries: Vec<String>,
    /// First day abroad.
    pub from: Date,
    /// Last day abroad.
    pub to: Date,
    /// Who drives.
    pub drivers: Vec<DriverDetails>,
}

/// Early buyout.
#[derive(Debug, Clone, SimpleObject)]
pub struct EarlyBuyoutDetails {
    /// The date the client wants to buy out on.
    pub desired_date: Date,
    /// The quote for that date, computed when the request was filed.
    pub quote: Option<BuyoutQuote>,
}

/// Partial early repayment.
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct PartialRepaymentDetails {
    /// Principal to repay.
    pub amount: Decimal,
    /// Date of the repayment.
    pub date: Date,
    /// Shorter term or smaller payments.
    pub mode: RecalculationMode,
}

/// Change of the company's requisites: the fields given change.
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct RequisitesChangeDetails {
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
    pub bank: Option<BankRequisites>,
    /// New contact e-mail.
    pub contact_email: Option<String>,
    /// New contact phone.
    pub contact_phone: Option<String>,
}

/// A certificate as of a date.
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct CertificateDetails {
    /// Which.
    pub certificate: CertificateKind,
    /// As of.
    pub as_of: Date,
}

/// Accounting documents for a period, sent to an e-mail.
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct AccountingDocumentsDetails {
    /// Which documents.
    pub documents: Vec<AccountingDocument>,
    /// First day of the period.
    pub from: Date,
    /// Last day of the period.
    pub to: Date,
    /// Where to send them (personal data: `null` once destroyed).
    pub email: Option<String>,
}

/// Prolongation of a policy.
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct InsuranceProlongationDetails {
    /// The policy.
    pub policy_id: Uuid,
    /// Wishes (insurer, sum, options).
    pub wishes: Option<String>,
}

/// Change of a policy's terms.
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct InsuranceTermsChangeDetails {
    /// The policy.
    pub policy_id: Uuid,
    /// What should change.
    pub description: String,
}

/// Insuring the contract's vehicle through the lessor (ОСАГО or КАСКО).
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct VehicleInsuranceDetails {
    /// ОСАГО or КАСКО.
    pub cover: super::insurance::PolicyKind,
    /// The first day of cover wanted.
    pub starts_on: Date,
    /// Wishes (insurer, options, drivers).
    pub wishes: Option<String>,
}

/// An insured event, recorded on the policy (its contact phone is kept there, not here).
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct InsuredEventDetails {
    /// The policy.
    pub policy_id: Uuid,
    /// The event's id among the policy's `insuredEvents`.
    pub event_id: Uuid,
    /// When it happened.
    pub date: Date,
    /// Where (personal data: `null` once destroyed).
    pub place: Option<String>,
    /// What happened (personal data: `null` once destroyed).
    pub description: Option<String>,
}

/// A complaint, a support question or a consultation (the request's `kind` says which).
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct MessageDetails {
    /// Subject.
    pub subject: String,
    /// Text.
    pub text: String,
}

/// Connection to electronic document exchange (ЭДО).
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct EdoConnectionDetails {
    /// The client's participant id, when it gave one.
    pub participant_id: Option<String>,
    /// Through the client's own operator (roaming).
    pub roaming: bool,
}

/// Change of the login e-mail.
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct LoginEmailChangeDetails {
    /// The new e-mail (personal data: `null` once destroyed).
    pub new_email: Option<String>,
}

/// Deletion of the cabinet account.
#[derive(Debug, Clone, SimpleObject, Deserialize)]
pub struct AccountDeletionDetails {
    /// Why, if the client said.
    pub reason: Option<String>,
}

/// What a request asks for, typed by its kind.
#[derive(Debug, Clone, Union)]
pub enum RequestDetails {
    /// ПТС/ЭПТС.
    VehiclePassport(VehiclePassportDetails),
    /// Travel abroad.
    TravelAbroad(TravelAbroadDetails),
    /// Early buyout.
    EarlyBuyout(EarlyBuyoutDetails),
    /// Partial early repayment.
    PartialRepayment(PartialRepaymentDetails),
    /// Change of requisites.
    RequisitesChange(RequisitesChangeDetails),
    /// Certificate.
    Certificate(CertificateDetails),
    /// Accounting documents.
    AccountingDocuments(AccountingDocumentsDetails),
    /// Insurance prolongation.
    InsuranceProlongation(InsuranceProlongationDetails),
    /// Change of insurance terms.
    InsuranceTermsChange(InsuranceTermsChangeDetails),
    /// Insuring a vehicle.
    VehicleInsurance(VehicleInsuranceDetails),
    /// Insured event.
    InsuredEvent(InsuredEventDetails),
    /// Complaint, support, consultation.
    Message(MessageDetails),
    /// ЭДО connection.
    EdoConnection(EdoConnectionDetails),
    /// Change of login e-mail.
    LoginEmailChange(LoginEmailChangeDetails),
    /// Account deletion.
    AccountDeletion(AccountDeletionDetails),
}

/// The quote as stored in an early-buyout request (the domain's, without the contract id).
#[derive(Debug, Deserialize)]
struct StoredQuote {
    as_of: Date,
    outstanding_principal: Decimal,
    unpaid_due: Decimal,
    penalties: Decimal,
    fines: Decimal,
    redemption: Decimal,
    credit: Decimal,
    total: Decimal,
}

#[derive(Debug, Deserialize)]
struct StoredEarlyBuyout {
    desired_date: Date,
    quote: Option<StoredQuote>,
}

#[derive(Debug, Deserialize)]
struct StoredRequisitesChange {
    change: RequisitesChangeDetails,
}

/// The read model's JSON (snake_case, tagged by `kind`, personal values already in place).
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Stored {
    VehiclePassport(VehiclePassportDetails),
    TravelAbroad(TravelAbroadDetails),
    EarlyBuyout(StoredEarlyBuyout),
    PartialRepayment(PartialRepaymentDetails),
    RequisitesChange(StoredRequisitesChange),
    Certificate(CertificateDetails),
    AccountingDocuments(AccountingDocumentsDetails),
    InsuranceProlongation(InsuranceProlongationDetails),
    InsuranceTermsChange(InsuranceTermsChangeDetails),
    VehicleInsurance(VehicleInsuranceDetails),
    InsuredEvent(InsuredEventDetails),
    Complaint(MessageDetails),
    TechnicalSupport(MessageDetails),
    Consultation(MessageDetails),
    EdoConnection(EdoConnectionDetails),
    LoginEmailChange(LoginEmailChangeDetails),
    AccountDeletion(AccountDeletionDetails),
}

impl RequestDetails {
    /// The typed details of a request on `contract_id` from the read model's flattened JSON.
    ///
    /// # Errors
    /// INTERNAL when the stored JSON is not a kind this server knows.
    pub fn from_stored(
        value: serde_json::Value,
        contract_id: Option<Uuid>,
    ) -> Result<Self, ApiError> {
        let stored: Stored = serde_json::from_value(value).map_err(|e| {
            ApiError::Internal(anyhow::anyhow!("requests_view.details is not known: {e}"))
        })?;
        Ok(match stored {
            Stored::VehiclePassport(d) => Self::VehiclePassport(d),
            Stored::TravelAbroad(d) => Self::TravelAbroad(d),
            Stored::EarlyBuyout(d) => Self::EarlyBuyout(EarlyBuyoutDetails {
                desired_date: d.desired_date,
                quote: d.quote.map(|q| BuyoutQuote {
                    contract_id: contract_id.unwrap_or_default(),
                    as_of: q.as_of,
                    outstanding_principal: q.outstanding_principal,
                    unpaid_due: q.unpaid_due,
                    penalties: q.penalties,
                    fines: q.fines,
                    redemption: q.redemption,
                    credit: q.credit,
                    total: q.total,
                }),
            }),
            Stored::PartialRepayment(d) => Self::PartialRepayment(d),
            Stored::RequisitesChange(d) => Self::RequisitesChange(d.change),
            Stored::Certificate(d) => Self::Certificate(d),
            Stored::AccountingDocuments(d) => Self::AccountingDocuments(d),
            Stored::InsuranceProlongation(d) => Self::InsuranceProlongation(d),
            Stored::InsuranceTermsChange(d) => Self::InsuranceTermsChange(d),
            Stored::VehicleInsurance(d) => Self::VehicleInsurance(d),
            Stored::InsuredEvent(d) => Self::InsuredEvent(d),
            Stored::Complaint(d) | Stored::TechnicalSupport(d) | Stored::Consultation(d) => {
                Self::Message(d)
            }
            Stored::EdoConnection(d) => Self::EdoConnection(d),
            Stored::LoginEmailChange(d) => Self::LoginEmailChange(d),
            Stored::AccountDeletion(d) => Self::AccountDeletion(d),
        })
    }
}
