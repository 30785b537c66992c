//! Enums shared by several features, and the macro that mirrors an enum of a lower layer in the schema
//! (the domain's, `auth`'s and `mail`'s enums carry no GraphQL derives: the schema is this layer's).

use async_graphql::Enum;

use crate::error::ApiError;
use domain::request as dr;

/// A value read back from a read model that no variant has: the read model and this code disagree, and the
/// answer is an error (INTERNAL, logged with the column and value), never a default that would be a wrong
/// answer.
pub(crate) fn unknown_stored(column: &str, value: &str) -> ApiError {
    ApiError::Internal(anyhow::anyhow!(
        "unknown stored value {value:?} in {column}"
    ))
}

macro_rules! graphql_enum {
    ($name:ident, $domain:path, $doc:literal, { $($item:ident => $d:ident, $idoc:literal;)* }) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Deserialize)]
        #[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(#[doc = $idoc] $item,)*
        }
        impl From<$name> for $domain {
            fn from(v: $name) -> Self {
                match v { $($name::$item => <$domain>::$d,)* }
            }
        }
        impl From<$domain> for $name {
            fn from(v: $domain) -> Self {
                match v { $(<$domain>::$d => $name::$item,)* }
            }
        }
    };
}

pub(crate) use graphql_enum;

graphql_enum!(CertificateKind, dr::CertificateKind, "A certificate the lessor issues.", {
    NoDebt => NoDebt, "Справка об отсутствии задолженности.";
    ContractInForce => ContractInForce, "Справка о действии договора.";
    BookValue => BookValue, "Справка о балансовой стоимости предмета лизинга.";
});

/// Which side acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum Party {
    /// The client.
    Client,
    /// The lessor's staff.
    Staff,
    /// The system (a process manager).
    System,
}

impl Party {
    pub(crate) fn from_view(s: &str) -> Result<Self, ApiError> {
        Ok(match s {
            "client" => Self::Client,
            "staff" => Self::Staff,
            "system" => Self::System,
            other => return Err(unknown_stored("party", other)),
        })
    }
}

graphql_enum!(Role, crate::auth::Role, "A role. CLIENT is a lessee's person; the others are the lessor's staff.", {
    Client => Client, "A lessee's person: sees only the companies it is linked to.";
    Manager => Manager, "Back office: registers companies, concludes contracts, processes requests.";
    Accountant => Accountant, "Back office: records payments, issues accounting documents.";
    Auditor => Auditor, "Reads the event history; changes nothing.";
    Admin => Admin, "Everything.";
});

graphql_enum!(CompanyRole, crate::auth::CompanyRole, "A person's role in a lessee company (one person may hold different roles in different companies).", {
    Director => Director, "Acts for the company by law: signs, commits it, manages its people and powers of attorney.";
    Accountant => Accountant, "Works with payments, documents and requests; commits the company only under a power of attorney.";
    Viewer => Viewer, "Reads only.";
});

graphql_enum!(SecurityEventKind, crate::auth::security::SecurityEventKind, "What happened to an account.", {
    Provisioned => Provisioned, "Created for a contract's contact person, with a temporary password mailed.";
    CompanyLinked => CompanyLinked, "Linked to another company (a further contract names this login).";
    SignedIn => SignedIn, "Signed in.";
    SignedInFromNewClient => SignedInFromNewClient, "Signed in from a client (address and program) not seen before; the account was mailed.";
    SignInFailed => SignInFailed, "A wrong password.";
    Locked => Locked, "Sign-in locked after too many wrong passwords.";
    PasswordChanged => PasswordChanged, "The password was changed by its owner.";
    PasswordResetRequested => PasswordResetRequested, "A recovery control string was mailed.";
    PasswordReset => PasswordReset, "The password was set through a recovery control string.";
    SignedOutEverywhere => SignedOutEverywhere, "Every session was ended.";
    TermsAccepted => TermsAccepted, "Terms of use accepted.";
    LoginChangeRequested => LoginChangeRequested, "A login change was requested (a confirmation string mailed to the new address).";
    LoginChanged => LoginChanged, "The login e-mail changed.";
    Deleted => Deleted, "Deactivated on its owner's request; personal data scheduled for destruction.";
    ConsentWithdrawn => ConsentWithdrawn, "Consent to the processing of personal data withdrawn.";
    Blocked => Blocked, "Blocked by staff.";
    Unblocked => Unblocked, "Unblocked by staff.";
    TemporaryPasswordIssued => TemporaryPasswordIssued, "A new temporary password issued by staff.";
    RolesChanged => RolesChanged, "Roles changed by staff.";
    ColleagueInvited => ColleagueInvited, "Invited a colleague to one of its companies.";
    InvitationRevoked => InvitationRevoked, "Withdrew an invitation.";
    InvitationAccepted => InvitationAccepted, "Joined a company by accepting an invitation.";
    CompanyRoleChanged => CompanyRoleChanged, "Its role in a company changed.";
    RemovedFromCompany => RemovedFromCompany, "Removed from a company's people.";
    TotpEnabled => TotpEnabled, "Two-factor sign-in turned on (an authenticator app enrolled).";
    TotpDisabled => TotpDisabled, "Two-factor sign-in turned off.";
    TotpUsed => TotpUsed, "A code from the authenticator app was accepted.";
    RecoveryCodeUsed => RecoveryCodeUsed, "A recovery code was used (it works no more).";
    TotpFailed => TotpFailed, "A wrong two-factor code (counted toward the lockout).";
    CompromiseReported => CompromiseReported, "Its owner reported it compromised: blocked, every session ended, the lessor asked to help.";
    RecoveryCodesIssued => RecoveryCodesIssued, "New recovery codes were issued; the old ones stopped working.";
});

/// A language of the cabinet's texts and mails: of a notification's title and text, of the mails an
/// account receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Default)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum Language {
    /// Русский (the default).
    #[default]
    Ru,
    /// English.
    En,
}

impl From<Language> for crate::mail::templates::Locale {
    fn from(v: Language) -> Self {
        match v {
            Language::Ru => Self::Ru,
            Language::En => Self::En,
        }
    }
}

impl From<crate::mail::templates::Locale> for Language {
    fn from(v: crate::mail::templates::Locale) -> Self {
        match v {
            crate::mail::templates::Locale::Ru => Self::Ru,
            crate::mail::templates::Locale::En => Self::En,
        }
    }
}

/// Defines a GraphQL enum over stored snake/Pascal names: `from_stored` reads the name a read model keeps
/// (an unknown one is an internal error, never a default).
macro_rules! stored_enum {
    ($name:ident, $column:literal, $doc:literal, { $($item:ident = $stored:literal, $idoc:literal;)* }) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Deserialize)]
        #[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(#[doc = $idoc] $item,)*
        }
        impl $name {
            pub(crate) fn from_stored(s: &str) -> Result<Self, ApiError> {
                match s {
                    $($stored => Ok(Self::$item),)*
                    other => Err(unknown_stored($column, other)),
                }
            }
        }
    };
}

pub(crate) use stored_enum;

stored_enum!(EntityType, "notifications.entity_type", "What a notification links to.", {
    Contract = "contract", "A contract: `id` is its UUID.";
    Policy = "policy", "An insurance policy: `id` is its UUID.";
    Request = "request", "A request: `id` is its UUID.";
    Document = "document", "A file: `id` is its SHA-256, for `GET /documents/{id}`.";
    ExchangeDocument = "exchange_document", "A document of the electronic exchange (`document(id:)`): `id` is its UUID.";
    News = "news", "A news item: `id` is its UUID.";
    Terms = "terms", "The terms of use: `id` is the version.";
    Edo = "edo", "The company's ЭДО connection: `id` is the company's UUID.";
    Conversation = "conversation", "The company's conversation with the lessor: `id` is the company's UUID (its thread's id).";
});

stored_enum!(RequestChange, "request_history.change", "What changed a request.", {
    RequestSubmitted = "RequestSubmitted", "Submitted by the client.";
    RequestTakenIntoReview = "RequestTakenIntoReview", "Taken into review by staff.";
    InformationRequested = "InformationRequested", "Staff asked the client a question.";
    InformationProvided = "InformationProvided", "The client answered.";
    CommentAdded = "CommentAdded", "A comment.";
    AttachmentAdded = "AttachmentAdded", "Files attached.";
    RequestCompleted = "RequestCompleted", "Completed by staff.";
    RequestRejected = "RequestRejected", "Rejected by staff, with a reason.";
    RequestWithdrawn = "RequestWithdrawn", "Withdrawn by the client.";
    EffectApplied = "EffectApplied", "Its effect on the company, contract, policy or account was applied.";
    EffectFailed = "EffectFailed", "Its effect could not be applied (staff see why).";
});

stored_enum!(Audience, "notifications.audience", "Who a notification is for.", {
    Client = "client", "The lessee's people.";
    Staff = "staff", "The lessor's back office.";
});

graphql_enum!(RequestKind, dr::RequestKind, "The kind of a client request.", {
    VehiclePassport => VehiclePassport, "Issue of the vehicle passport (ПТС/ЭПТС).";
    TravelAbroad => TravelAbroad, "Permission to take the vehicle abroad.";
    EarlyBuyout => EarlyBuyout, "Early buyout (досрочный выкуп).";
    PartialRepayment => PartialRepayment, "Partial early repayment.";
    RequisitesChange => RequisitesChange, "Change of the company's requisites.";
    Certificate => Certificate, "A certificate (no debt, contract in force, book value).";
    AccountingDocuments => AccountingDocuments, "Accounting documents for a period by e-mail.";
    InsuranceProlongation => InsuranceProlongation, "Prolongation of a policy.";
    InsuranceTermsChange => InsuranceTermsChange, "Change of a policy's terms.";
    VehicleInsurance => VehicleInsurance, "Insuring the contract's vehicle (ОСАГО/КАСКО) through the lessor: ends with a policy.";
    InsuredEvent => InsuredEvent, "An insured event.";
    Complaint => Complaint, "A complaint.";
    TechnicalSupport => TechnicalSupport, "Technical support.";
    Consultation => Consultation, "A consultation.";
    EdoConnection => EdoConnection, "Connection to ЭДО.";
    LoginEmailChange => LoginEmailChange, "Change of the login e-mail.";
    AccountDeletion => AccountDeletion, "Deletion of the cabinet account.";
});

graphql_enum!(RequestStatus, dr::RequestStatus, "Where a request is in its workflow.", {
    Submitted => Submitted, "Filed; nobody has taken it yet.";
    InReview => InReview, "The lessor works on it.";
    NeedsInformation => NeedsInformation, "The lessor asked the client a question (see `question`).";
    Completed => Completed, "Done.";
    Rejected => Rejected, "Refused (see `rejectionReason`).";
    Withdrawn => Withdrawn, "Withdrawn by the client.";
});

graphql_enum!(VehicleDocument, dr::VehicleDocument, "ПТС on paper or the electronic ЭПТС.", {
    Paper => Paper, "Paper ПТС.";
    Electronic => Electronic, "An extract of the ЭПТС.";
});

graphql_enum!(Delivery, dr::Delivery, "How a document reaches the client.", {
    Office => Office, "Collected at the lessor's office.";
    Courier => Courier, "By courier (address required).";
    Post => Post, "By post (address required).";
    Electronic => Electronic, "Electronically.";
});

graphql_enum!(AccountingDocument, dr::AccountingDocument, "An accounting document.", {
    Invoice => Invoice, "Счета-фактуры and УПД the accounting system issued for the period.";
    ReconciliationAct => ReconciliationAct, "Акт сверки.";
    Os1 => Os1, "ОС-1.";
    Act => Act, "Акты оказанных услуг and УПД the accounting system issued for the period.";
});
