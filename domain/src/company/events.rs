//! Events of the Company aggregate. `event_type()` is the variant name and never changes; a field change
//! bumps `event_version()` and comes with an upcaster (projections/src/upcast.rs).

use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::personal::{Contact, Manager};
use crate::values::{BankRequisites, Email, Inn, Kpp, Personal, Phone, RegistrationNumber};

/// Legal form, derived from the ИНН's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompanyKind {
    /// Юридическое лицо: 10-digit ИНН, КПП, ОГРН.
    LegalEntity,
    /// Индивидуальный предприниматель: 12-digit ИНН, no КПП, ОГРНИП.
    SoleProprietor,
}

impl CompanyKind {
    /// The stable text stored in read models.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LegalEntity => "LEGAL_ENTITY",
            Self::SoleProprietor => "SOLE_PROPRIETOR",
        }
    }
}

/// What happened to a company.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CompanyEvent {
    /// A lessee company was registered. Version 2: version 1 had one `address` for both the legal and the
    /// postal address (upcast by copying it into both).
    CompanyRegistered {
        /// The company's id.
        company_id: Uuid,
        /// Legal form.
        kind: CompanyKind,
        /// ИНН.
        inn: Inn,
        /// КПП (legal entities only).
        kpp: Option<Kpp>,
        /// ОГРН or ОГРНИП.
        ogrn: RegistrationNumber,
        /// Full name.
        full_name: String,
        /// Short name.
        short_name: String,
        /// Legal address.
        legal_address: String,
        /// Postal address.
        postal_address: String,
        /// Bank requisites.
        bank: BankRequisites,
        /// Contact e-mail (personal: the contact's).
        contact_email: Personal<Email, Contact>,
        /// Contact phone (personal: the contact's).
        contact_phone: Personal<Phone, Contact>,
    },
    /// Requisites changed; the event holds the complete new set of changeable requisites.
    CompanyRequisitesChanged {
        /// КПП after the change.
        kpp: Option<Kpp>,
        /// Full name after the change.
        full_name: String,
        /// Short name after the change.
        short_name: String,
        /// Legal address after the change.
        legal_address: String,
        /// Postal address after the change.
        postal_address: String,
        /// Bank requisites after the change.
        bank: BankRequisites,
        /// Contact e-mail after the change (personal).
        contact_email: Personal<Email, Contact>,
        /// Contact phone after the change (personal).
        contact_phone: Personal<Phone, Contact>,
    },
    /// The responsible manager was assigned or replaced.
    ManagerAssigned {
        /// Full name (personal: the manager's).
        name: Personal<String, Manager>,
        /// Phone (personal).
        phone: Personal<Phone, Manager>,
        /// E-mail (personal).
        email: Personal<Email, Manager>,
        /// The manager's staff account (issue 26; absent: not an account).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account_id: Option<uuid::Uuid>,
    },
    /// The company registered a power of attorney (МЧД) for one of its people.
    PowerOfAttorneyRegistered {
        /// The power.
        power: super::PowerOfAttorney,
    },
    /// The company revoked a power of attorney before its end.
    PowerOfAttorneyRevoked {
        /// Its number.
        number: Uuid,
        /// Why.
        reason: String,
    },
}

impl DomainEvent for CompanyEvent {
    fn event_type(&self) -> String {
        match self {
            Self::CompanyRegistered { .. } => "CompanyRegistered",
            Self::CompanyRequisitesChanged { .. } => "CompanyRequisitesChanged",
            Self::ManagerAssigned { .. } => "ManagerAssigned",
            Self::PowerOfAttorneyRegistered { .. } => "PowerOfAttorneyRegistered",
            Self::PowerOfAttorneyRevoked { .. } => "PowerOfAttorneyRevoked",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            Self::CompanyRegistered { .. } => "2",
            Self::CompanyRequisitesChanged { .. }
            | Self::ManagerAssigned { .. }
            | Self::PowerOfAttorneyRegistered { .. }
            | Self::PowerOfAttorneyRevoked { .. } => "1",
        }
        .to_owned()
    }
}
