//! Why a company command is refused.

use uuid::Uuid;

/// A broken business rule of the Company aggregate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompanyError {
    /// RegisterCompany on an id that is already registered.
    #[error("the company is already registered")]
    AlreadyRegistered,
    /// Any command other than RegisterCompany on an id that was never registered.
    #[error("the company is not registered")]
    NotRegistered,
    /// Another company has the same ИНН and КПП.
    #[error("a company with this ИНН and КПП is already registered ({existing})")]
    DuplicateInnKpp {
        /// The company that already has them.
        existing: Uuid,
    },
    /// A legal entity (10-digit ИНН) must have a КПП.
    #[error("a legal entity must have a КПП")]
    KppRequired,
    /// A sole proprietor (12-digit ИНН) has no КПП.
    #[error("a sole proprietor (12-digit ИНН) has no КПП")]
    KppNotAllowed,
    /// A legal entity has a 13-digit ОГРН, an ИП a 15-digit ОГРНИП.
    #[error("a legal entity has a 13-digit ОГРН and a sole proprietor a 15-digit ОГРНИП")]
    OgrnDoesNotMatchKind,
    /// A required text field is empty.
    #[error("{field} must not be empty")]
    Empty {
        /// The command field (camelCase, as the command names it).
        field: &'static str,
    },
    /// A power of attorney with this number was registered before.
    #[error("power of attorney {0} is registered already")]
    PowerOfAttorneyExists(Uuid),
    /// No power of attorney of the company has this number.
    #[error("the company has no power of attorney {0}")]
    UnknownPowerOfAttorney(Uuid),
    /// A power of attorney's fields do not make one.
    #[error("{field}: {message}")]
    InvalidPowerOfAttorney {
        /// The input field.
        field: &'static str,
        /// What is wrong.
        message: &'static str,
    },
    /// A look-up the command needed failed (a store error, not a business rule); the executor reports it
    /// as such.
    #[error(transparent)]
    LookupFailed(crate::failure::LookupFailed),
}

impl crate::failure::Rejection for CompanyError {
    fn lookup_failed(&self) -> Option<&crate::failure::LookupFailed> {
        match self {
            Self::LookupFailed(f) => Some(f),
            _ => None,
        }
    }
}
