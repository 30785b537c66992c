//! Input types and their conversion into validated domain values; every failure names its field.

use async_graphql::InputObject;
use domain::company::{CompanyProfile, ManagerDetails, RequisitesChange};
use domain::values::{
    BankAccount, BankField, BankRequisites, Bik, Email, Inn, Kpp, Phone, RegistrationNumber,
};
use uuid::Uuid;

use crate::error::{parse_field, ApiError};

/// A bank and the holder's settlement account. The accounts' control keys are checked against the БИК.
#[derive(Debug, Clone, InputObject)]
pub struct BankRequisitesInput {
    /// Bank name.
    pub bank_name: String,
    /// БИК: 9 digits starting with 0, 1 or 2.
    pub bik: String,
    /// Correspondent account: 20 digits starting with 301.
    pub correspondent_account: String,
    /// Settlement account: 20 digits.
    pub settlement_account: String,
}

impl BankRequisitesInput {
    pub(crate) fn parse(&self, path: &str) -> Result<BankRequisites, ApiError> {
        let bik = parse_field(&format!("{path}.bik"), Bik::parse(&self.bik))?;
        let corr = parse_field(
            &format!("{path}.correspondentAccount"),
            BankAccount::parse(&self.correspondent_account),
        )?;
        let settle = parse_field(
            &format!("{path}.settlementAccount"),
            BankAccount::parse(&self.settlement_account),
        )?;
        BankRequisites::new(&self.bank_name, bik, corr, settle).map_err(|(f, e)| {
            let field = match f {
                BankField::BankName => "bankName",
                BankField::CorrespondentAccount => "correspondentAccount",
                BankField::SettlementAccount => "settlementAccount",
            };
            ApiError::validation(format!("{path}.{field}"), e.to_string())
        })
    }
}

/// Registration of a lessee company.
#[derive(Debug, Clone, InputObject)]
pub struct RegisterCompanyInput {
    /// ИНН: 10 digits (legal entity) or 12 digits (ИП), with valid check digits.
    pub inn: String,
    /// КПП: required for a legal entity, absent for an ИП.
    pub kpp: Option<String>,
    /// ОГРН (13 digits, legal entity) or ОГРНИП (15 digits, ИП), with a valid check digit.
    pub ogrn: String,
    /// Full name.
    pub full_name: String,
    /// Short name.
    pub short_name: String,
    /// Legal address.
    pub legal_address: String,
    /// Postal address (defaults to the legal address).
    pub postal_address: Option<String>,
    /// Bank requisites.
    pub bank: BankRequisitesInput,
    /// Contact e-mail.
    pub contact_email: String,
    /// Contact phone.
    pub contact_phone: String,
}

impl RegisterCompanyInput {
    pub(crate) fn parse(&self) -> Result<CompanyProfile, ApiError> {
        Ok(CompanyProfile {
            inn: parse_field("input.inn", Inn::parse(&self.inn))?,
            kpp: self
                .kpp
                .as_deref()
                .filter(|k| !k.trim().is_empty())
                .map(|k| parse_field("input.kpp", Kpp::parse(k)))
                .transpose()?,
            ogrn: parse_field("input.ogrn", RegistrationNumber::parse(&self.ogrn))?,
            full_name: self.full_name.clone(),
            short_name: self.short_name.clone(),
            legal_address: self.legal_address.clone(),
            postal_address: self
                .postal_address
                .clone()
                .unwrap_or_else(|| self.legal_address.clone()),
            bank: self.bank.parse("input.bank")?,
            contact_email: parse_field("input.contactEmail", Email::parse(&self.contact_email))?,
            contact_phone: parse_field("input.contactPhone", Phone::parse(&self.contact_phone))?,
        })
    }
}

/// A change of requisites: only the given fields change.
#[derive(Debug, Clone, InputObject)]
pub struct ChangeCompanyRequisitesInput {
    /// The company.
    pub company_id: Uuid,
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

impl ChangeCompanyRequisitesInput {
    pub(crate) fn parse(&self) -> Result<RequisitesChange, ApiError> {
        Ok(RequisitesChange {
            kpp: self
                .kpp
                .as_deref()
                .map(|k| parse_field("input.kpp", Kpp::parse(k)))
                .transpose()?,
            full_name: self.full_name.clone(),
            short_name: self.short_name.clone(),
            legal_address: self.legal_address.clone(),
            postal_address: self.postal_address.clone(),
            bank: self
                .bank
                .as_ref()
                .map(|b| b.parse("input.bank"))
                .transpose()?,
            contact_email: self
                .contact_email
                .as_deref()
                .map(|e| parse_field("input.contactEmail", Email::parse(e)))
                .transpose()?,
            contact_phone: self
                .contact_phone
                .as_deref()
                .map(|p| parse_field("input.contactPhone", Phone::parse(p)))
                .transpose()?,
        })
    }
}

/// The responsible manager: a staff account (`accountId`; its profile gives the name and phone, its login
/// the e-mail, unless given here), or, for a manager without an account, a name, phone and e-mail.
#[derive(Debug, Clone, InputObject)]
pub struct AssignManagerInput {
    /// The company.
    pub company_id: Uuid,
    /// The manager's staff account (MANAGER or ADMIN): their inbox gets the company's staff notifications
    /// first.
    pub account_id: Option<Uuid>,
    /// Manager's full name (default: the account's profile).
    pub name: Option<String>,
    /// Manager's phone (default: the account's profile).
    pub phone: Option<String>,
    /// Manager's e-mail (default: the account's login).
    pub email: Option<String>,
}

impl AssignManagerInput {
    /// The details, completed from the staff account's profile when `accountId` is given (`profile`).
    pub(crate) fn parse(
        &self,
        profile: Option<&crate::auth::accounts::StaffProfile>,
    ) -> Result<ManagerDetails, ApiError> {
        let missing = |field: &str| {
            ApiError::validation(
                field,
                if self.account_id.is_some() {
                    "the account's staff profile has none; give it here or in updateStaffProfile"
                } else {
                    "required without accountId"
                },
            )
        };
        let name = self
            .name
            .clone()
            .or_else(|| profile.and_then(|p| p.display_name.clone()))
            .ok_or_else(|| missing("input.name"))?;
        let phone = self
            .phone
            .clone()
            .or_else(|| profile.and_then(|p| p.phone.clone()))
            .ok_or_else(|| missing("input.phone"))?;
        let email = self
            .email
            .clone()
            .or_else(|| profile.map(|p| p.email.clone()))
            .ok_or_else(|| missing("input.email"))?;
        Ok(ManagerDetails {
            account_id: self.account_id,
            name,
            phone: parse_field("input.phone", Phone::parse(&phone))?,
            email: parse_field("input.email", Email::parse(&email))?,
        })
    }
}
