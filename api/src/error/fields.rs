//! The input field each domain error is about, as the API names it. The domain names the broken rule (and,
//! where a rule is about one of a command's attributes, that attribute); which GraphQL input field that is
//! is this layer's to say, here and nowhere else.

use domain::company::CompanyError;
use domain::content::ContentError;
use domain::contract::ContractError;
use domain::document::DocumentError;
use domain::edo::EdoError;
use domain::policy::PolicyError;
use domain::request::{RequestError, RequestKind};

/// The input field an ЭДО connection error is about, when it is about one.
pub fn edo(e: &EdoError) -> Option<&'static str> {
    match e {
        EdoError::Invalid { field, .. } => Some(field),
        EdoError::OutdatedOffer { .. } => Some("version"),
        EdoError::WrongStatus(_) => None,
    }
}

/// The input field a document error is about, when it is about one.
pub fn document(e: &DocumentError) -> Option<&'static str> {
    match e {
        DocumentError::Invalid { field, .. } => Some(field),
        _ => None,
    }
}

/// The input field a request error is about, when it is about one.
pub fn request(e: &RequestError) -> Option<&'static str> {
    match e {
        RequestError::Detail { field, .. } => Some(field),
        RequestError::ContractRequired => Some("contractId"),
        RequestError::DueBeforeSubmission => Some("dueOn"),
        RequestError::BadText { field, .. } => Some(field),
        RequestError::WrongStatus(_) => Some("requestId"),
        RequestError::ProlongationTermsRequired => Some("prolongation"),
        RequestError::PolicyTermsRequired => Some("newPolicy"),
        RequestError::TooManyAttachments(_) => Some("file"),
        RequestError::AlreadySubmitted | RequestError::NotSubmitted => None,
    }
}

/// The input field a content error is about, when it is about one.
pub fn content(e: &ContentError) -> Option<&'static str> {
    match e {
        ContentError::Invalid { field, .. } => Some(field),
        _ => None,
    }
}

/// The input field a policy error is about, when it is about one.
pub fn policy(e: &PolicyError) -> Option<&'static str> {
    match e {
        PolicyError::ContractNotFound => Some("contractId"),
        PolicyError::BadText { field, .. }
        | PolicyError::NotPositive { field }
        | PolicyError::PeriodNotAfterStart { field }
        | PolicyError::BeforeCover { field } => Some(field),
        PolicyError::InstallmentsDoNotAddUp { .. } | PolicyError::InstallmentAfterCover(_) => {
            Some("installments")
        }
        PolicyError::PaymentExceedsPremium { .. } => Some("amount"),
        PolicyError::OutsideCover => Some("date"),
        PolicyError::Cancelled | PolicyError::EventAlreadyReported => Some("policyId"),
        PolicyError::AlreadyIssued | PolicyError::NotIssued | PolicyError::LookupFailed(_) => None,
    }
}

/// The input field a contract error is about, when it is about one.
pub fn contract(e: &ContractError) -> Option<&'static str> {
    match e {
        ContractError::CompanyNotFound => Some("companyId"),
        ContractError::Empty { field }
        | ContractError::NotPositive { field }
        | ContractError::OutOfRange { field, .. }
        | ContractError::BeforeContractDate { field } => Some(field),
        ContractError::AdvanceNotBelowPrice { .. } => Some("advance"),
        ContractError::TermZero => Some("termMonths"),
        ContractError::SubjectNotIdentified => Some("subject.serialNumber"),
        ContractError::Schedule(_) => Some("lines"),
        ContractError::DuplicateFine(_)
        | ContractError::FineNotFound(_)
        | ContractError::FineAlreadyPaid(_) => Some("resolutionNumber"),
        ContractError::InsufficientCredit { .. }
        | ContractError::RepaymentExceedsPrincipal { .. } => Some("amount"),
        ContractError::NothingToRecalculate => Some("date"),
        ContractError::ExplicitScheduleNotRecalculated
        | ContractError::OutstandingDebt { .. }
        | ContractError::BuyoutNotCovered { .. }
        | ContractError::WrongStatus(_) => Some("contractId"),
        ContractError::AlreadyConcluded
        | ContractError::NotConcluded
        | ContractError::LookupFailed(_) => None,
    }
}

/// The input field a company error is about, when it is about one.
pub fn company(e: &CompanyError) -> Option<&'static str> {
    match e {
        CompanyError::DuplicateInnKpp { .. } => Some("inn"),
        CompanyError::KppRequired | CompanyError::KppNotAllowed => Some("kpp"),
        CompanyError::OgrnDoesNotMatchKind => Some("ogrn"),
        CompanyError::Empty { field } | CompanyError::InvalidPowerOfAttorney { field, .. } => {
            Some(field)
        }
        CompanyError::PowerOfAttorneyExists(_) | CompanyError::UnknownPowerOfAttorney(_) => {
            Some("number")
        }
        CompanyError::AlreadyRegistered
        | CompanyError::NotRegistered
        | CompanyError::LookupFailed(_) => None,
    }
}

/// The input of a request kind's details (`input.details.<this>`): the kind's stored name in camelCase.
pub fn request_details(kind: RequestKind) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in kind.as_str().chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kinds_details_input_is_its_name_in_camel_case() {
        assert_eq!(request_details(RequestKind::EarlyBuyout), "earlyBuyout");
        assert_eq!(request_details(RequestKind::Certificate), "certificate");
        assert_eq!(
            request_details(RequestKind::InsuranceProlongation),
            "insuranceProlongation"
        );
    }
}
