//! Commands of the Company aggregate. They carry value objects, so anything that reaches the aggregate is
//! already well-formed; the aggregate enforces the rules that involve several values or the current state.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::{BankRequisites, Email, Inn, Kpp, Phone, RegistrationNumber};

/// Everything the back office gives to register a company.
#[derive(Debug, Clone, PartialEq)]
pub struct CompanyProfile {
    /// ИНН: 10 digits for a legal entity, 12 for an ИП.
    pub inn: Inn,
    /// КПП: required for a legal entity, absent for an ИП.
    pub kpp: Option<Kpp>,
    /// ОГРН (legal entity) or ОГРНИП (ИП).
    pub ogrn: RegistrationNumber,
    /// Full name, e.g. «Общество с ограниченной ответственностью "Ромашка"».
    pub full_name: String,
    /// Short name, e.g. «ООО "Ромашка"».
    pub short_name: String,
    /// Legal (registered) address.
    pub legal_address: String,
    /// Postal address.
    pub postal_address: String,
    /// The company's bank and settlement account.
    pub bank: BankRequisites,
    /// The company's contact e-mail.
    pub contact_email: Email,
    /// The company's contact phone.
    pub contact_phone: Phone,
}

/// A change of requisites: every field that is `Some` replaces the current value. Serialisable, because a
/// client's change-of-requisites request records the change it asks for.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RequisitesChange {
    /// New КПП (a company that moved gets a new one).
    pub kpp: Option<Kpp>,
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
    pub contact_email: Option<Email>,
    /// New contact phone.
    pub contact_phone: Option<Phone>,
}

/// The lessor's manager responsible for the company.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagerDetails {
    /// The manager's staff account, whose inbox gets the company's staff notifications first (None: a
    /// name and a phone only, as before issue 26).
    pub account_id: Option<Uuid>,
    /// Full name.
    pub name: String,
    /// Work phone.
    pub phone: Phone,
    /// Work e-mail.
    pub email: Email,
}

/// What the back office can ask of a company.
#[derive(Debug, Clone, PartialEq)]
pub enum CompanyCommand {
    /// Register a new lessee company under the given id.
    RegisterCompany {
        /// The new company's id (chosen by the caller, UUIDv7).
        company_id: Uuid,
        /// Its profile.
        profile: Box<CompanyProfile>,
    },
    /// Change some of the requisites.
    ChangeCompanyRequisites(Box<RequisitesChange>),
    /// Assign (or replace) the responsible manager.
    AssignManager(ManagerDetails),
    /// Register a power of attorney (the caller has checked that its representative is one of the
    /// company's people).
    RegisterPowerOfAttorney(Box<super::PowerOfAttorney>),
    /// Revoke a power of attorney.
    RevokePowerOfAttorney {
        /// Its number.
        number: Uuid,
        /// Why.
        reason: String,
    },
}
