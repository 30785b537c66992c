//! The one authorization layer: every query, mutation and subscription names its operation here,
//! and this table decides by role, and for CLIENT by company. Resolvers never check roles themselves.

use uuid::Uuid;

use super::{Actor, CompanyRole, Role};
use crate::error::ApiError;

/// An operation of the API, with the company it touches when it touches one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `me`.
    Me,
    /// `logout`.
    Logout,
    /// `changePassword` (allowed even when a password change is required).
    ChangePassword,
    /// Read one company.
    ReadCompany(Uuid),
    /// List companies (a CLIENT's list is limited to its companies by the caller).
    ListCompanies,
    /// `registerCompany`.
    RegisterCompany,
    /// `changeCompanyRequisites`.
    ChangeCompanyRequisites(Uuid),
    /// `assignManager`.
    AssignManager(Uuid),
    /// Read the event history: `events`, `correlation`.
    ReadEvents,
    /// Reconstruct entities as of an instant (`asOf` on `company`, `contract`, `policy`, `request`, `debt`):
    /// the back office and auditors.
    ReadHistory,
    /// Read a company's contracts, schedules, payments, fines, debt and buyout quotes.
    ReadContracts(Uuid),
    /// `concludeContract` for a company.
    ConcludeContract(Uuid),
    /// Any back-office change to an existing contract of a company (activation, payments, fines,
    /// recalculation, completion, termination).
    ChangeContract(Uuid),
    /// `advanceClock`.
    AdvanceClock,
    /// `businessDate`.
    ReadBusinessDate,
    /// `logoutEverywhere`.
    LogoutEverywhere,
    /// `terms`: read the current terms of use (allowed before accepting them).
    ReadTerms,
    /// `acceptTerms`.
    AcceptTerms,
    /// `publishTerms`.
    PublishTerms,
    /// `requestLoginChange`, `confirmLoginChange`.
    ChangeLogin,
    /// `requestAccountDeletion`.
    RequestAccountDeletion,
    /// `withdrawConsent`.
    WithdrawConsent,
    /// `setMailLanguage`.
    SetMailLanguage,
    /// Staff administration of accounts: `accounts`, `account`, `blockAccount`, `unblockAccount`,
    /// `resetAccountPassword`, `changeAccountRoles`, `inviteStaff`.
    ManageAccounts,
    /// `securityLog` of an account: ADMIN for any, everyone for their own.
    ReadSecurityLog(Uuid),
    /// Read a company's policies, installments and insured events.
    ReadPolicies(Uuid),
    /// Back-office changes to a company's policies (issue, form, premium paid, prolongation, terms,
    /// cancellation).
    ManagePolicies(Uuid),
    /// `reportInsuredEvent` on a company's policy.
    ReportInsuredEvent(Uuid),
    /// Read a company's requests with their history.
    ReadRequests(Uuid),
    /// `submitRequest` for a company.
    SubmitRequest(Uuid),
    /// `withdrawRequest` (the client's own step).
    WithdrawRequest(Uuid),
    /// `commentRequest`, `attachToRequest` (both sides).
    CommentRequest(Uuid),
    /// Staff steps: `takeRequestIntoReview`, `askForInformation`, `completeRequest`, `rejectRequest`.
    ProcessRequest(Uuid),
    /// Download a company's document (`GET /documents/{sha256}`).
    ReadDocuments(Uuid),
    /// A company's notifications: `notifications(companyId)`, `unreadNotificationCount(companyId)`,
    /// `markAllNotificationsRead`, `notificationAdded`.
    ReadNotifications(Uuid),
    /// The caller's own notifications over all its companies, its read marks and mail preferences.
    ReadOwnNotifications,
    /// `news`, `faq`, `edoOperators`.
    ReadNews,
    /// Publishing news, FAQ entries and the ЭДО operator list.
    ManageContent,
    /// A company's exchanged documents, the reconciliation of its contracts, its ЭДО status.
    ReadExchange(Uuid),
    /// Generating an invoice for payment or a reconciliation act on a company's contract.
    GenerateDocuments(Uuid),
    /// Issuing certificates and the ОС-1 act (back office).
    IssueCertificates(Uuid),
    /// Uploading documents and taking signing steps for one's own side.
    ExchangeDocuments(Uuid),
    /// The client's ЭДО connection steps (questionnaire, offer, roaming).
    ConnectEdo(Uuid),
    /// Staff decisions on a company's ЭДО connection.
    ProcessEdo(Uuid),
    /// Read imports' reports and the incoming bank payments: `imports`, `import`, `bankPayments`,
    /// `bankPayment`.
    ReadImports,
    /// Import files from the back office: `importBankStatement`, `importFinesRegister`,
    /// `importContracts`.
    ImportFiles,
    /// Decide on queued bank payments: `assignBankPayment`, `returnBankPayment`.
    ResolveBankPayments,
    /// A company's people, their roles, open invitations and powers of attorney: `companyPeople`,
    /// `powersOfAttorney`.
    ReadPeople(Uuid),
    /// Invite colleagues, change their roles, remove them: the company's director, or the back office.
    ManagePeople(Uuid),
    /// Register and revoke the company's powers of attorney: its director, or the back office.
    ManagePowersOfAttorney(Uuid),
    /// `reportAccountCompromised`: a client blocks its own login (allowed whatever else is pending).
    ReportCompromise,
    /// Two-factor sign-in of one's own account: `startTotpEnrolment`, `confirmTotpEnrolment`, `disableTotp`,
    /// `regenerateRecoveryCodes` (allowed while enrolment is required).
    ManageTwoFactor,
    /// The steps of a document's signing that bind a side: send with one's signature, sign, refuse, ask for
    /// or agree to an annulment. For a client, signing authority is checked besides (director or МЧД).
    SignDocuments(Uuid),
    /// A company's conversation with the lessor (its thread and its requests' threads), read marks
    /// included: `conversations`, `conversationMessages`, `markConversationRead`, `conversationMessageAdded`.
    ReadConversation(Uuid),
    /// Write in a company's conversation: `postMessage`.
    WriteConversation(Uuid),
    /// A staff member's own profile as clients see their manager: `updateStaffProfile`.
    UpdateStaffProfile,
}

const STAFF: &[Role] = &[Role::Manager, Role::Accountant, Role::Auditor, Role::Admin];
/// Every person of a client company.
const EVERY_PERSON: &[CompanyRole] = &CompanyRole::ALL;
/// The people of a client company who work in the cabinet, not only read it.
const WORKING: &[CompanyRole] = &[CompanyRole::Director, CompanyRole::Accountant];
const ALL: &[Role] = &[
    Role::Client,
    Role::Manager,
    Role::Accountant,
    Role::Auditor,
    Role::Admin,
];

impl Operation {
    /// Roles allowed to perform it.
    fn roles(self) -> &'static [Role] {
        match self {
            Self::Me
            | Self::Logout
            | Self::ChangePassword
            | Self::ListCompanies
            | Self::ReadCompany(_) => ALL,
            Self::RegisterCompany | Self::ChangeCompanyRequisites(_) | Self::AssignManager(_) => {
                &[Role::Manager, Role::Admin]
            }
            Self::ReadEvents => &[Role::Auditor, Role::Admin],
            Self::ReadHistory => STAFF,
            Self::ReadContracts(_) | Self::ReadBusinessDate => ALL,
            Self::ConcludeContract(_) | Self::ChangeContract(_) => {
                &[Role::Manager, Role::Accountant, Role::Admin]
            }
            Self::AdvanceClock | Self::PublishTerms | Self::ManageAccounts => &[Role::Admin],
            Self::LogoutEverywhere
            | Self::ReadTerms
            | Self::AcceptTerms
            | Self::ChangeLogin
            | Self::SetMailLanguage => ALL,
            Self::RequestAccountDeletion | Self::WithdrawConsent => &[Role::Client],
            // Everyone may ask; `authorize` lets non-admins read only their own.
            Self::ReadSecurityLog(_) => ALL,
            Self::ReadPolicies(_) | Self::ReadRequests(_) | Self::ReadDocuments(_) => ALL,
            Self::ReadNotifications(_) | Self::ReadOwnNotifications | Self::ReadNews => ALL,
            Self::ManageContent => &[Role::Admin],
            Self::ManagePolicies(_) | Self::ProcessRequest(_) => {
                &[Role::Manager, Role::Accountant, Role::Admin]
            }
            Self::ReportInsuredEvent(_) | Self::SubmitRequest(_) => {
                &[Role::Client, Role::Manager, Role::Admin]
            }
            Self::WithdrawRequest(_) => &[Role::Client],
            Self::CommentRequest(_) => {
                &[Role::Client, Role::Manager, Role::Accountant, Role::Admin]
            }
            Self::ReadExchange(_) => ALL,
            Self::GenerateDocuments(_) | Self::ExchangeDocuments(_) => {
                &[Role::Client, Role::Manager, Role::Accountant, Role::Admin]
            }
            Self::IssueCertificates(_) => &[Role::Manager, Role::Accountant, Role::Admin],
            Self::ConnectEdo(_) => &[Role::Client],
            Self::ProcessEdo(_) => &[Role::Manager, Role::Admin],
            Self::ReadImports => &[Role::Accountant, Role::Auditor, Role::Admin],
            Self::ImportFiles | Self::ResolveBankPayments => &[Role::Accountant, Role::Admin],
            Self::ReadPeople(_) | Self::ManageTwoFactor => ALL,
            Self::ReportCompromise => &[Role::Client],
            Self::ManagePeople(_) | Self::ManagePowersOfAttorney(_) => {
                &[Role::Client, Role::Manager, Role::Admin]
            }
            Self::SignDocuments(_) => &[Role::Client, Role::Manager, Role::Accountant, Role::Admin],
            Self::ReadConversation(_) => ALL,
            Self::WriteConversation(_) => {
                &[Role::Client, Role::Manager, Role::Accountant, Role::Admin]
            }
            Self::UpdateStaffProfile => STAFF,
        }
    }

    /// The roles in a client company that let one of its people (a CLIENT) perform it on that company;
    /// staff are decided by [`Self::roles`] alone.
    fn company_roles(self) -> &'static [CompanyRole] {
        match self {
            Self::SubmitRequest(_)
            | Self::WithdrawRequest(_)
            | Self::CommentRequest(_)
            | Self::ReportInsuredEvent(_)
            | Self::GenerateDocuments(_)
            | Self::ExchangeDocuments(_)
            | Self::SignDocuments(_)
            | Self::WriteConversation(_)
            | Self::ConnectEdo(_) => WORKING,
            Self::ManagePeople(_) | Self::ManagePowersOfAttorney(_) => &[CompanyRole::Director],
            _ => EVERY_PERSON,
        }
    }

    /// The company it is about, if any.
    pub fn company(self) -> Option<Uuid> {
        match self {
            Self::ReadCompany(c)
            | Self::ChangeCompanyRequisites(c)
            | Self::AssignManager(c)
            | Self::ReadContracts(c)
            | Self::ConcludeContract(c)
            | Self::ChangeContract(c)
            | Self::ReadPolicies(c)
            | Self::ManagePolicies(c)
            | Self::ReportInsuredEvent(c)
            | Self::ReadRequests(c)
            | Self::SubmitRequest(c)
            | Self::WithdrawRequest(c)
            | Self::CommentRequest(c)
            | Self::ProcessRequest(c)
            | Self::ReadDocuments(c)
            | Self::ReadNotifications(c)
            | Self::ReadExchange(c)
            | Self::GenerateDocuments(c)
            | Self::IssueCertificates(c)
            | Self::ExchangeDocuments(c)
            | Self::ConnectEdo(c)
            | Self::ProcessEdo(c)
            | Self::ReadPeople(c)
            | Self::ManagePeople(c)
            | Self::ManagePowersOfAttorney(c)
            | Self::SignDocuments(c)
            | Self::ReadConversation(c)
            | Self::WriteConversation(c) => Some(c),
            _ => None,
        }
    }

    /// Operations allowed while a password change is pending.
    fn allowed_before_password_change(self) -> bool {
        matches!(
            self,
            Self::Me | Self::Logout | Self::ChangePassword | Self::ReportCompromise
        )
    }

    /// Operations allowed while an ADMIN has not enrolled two-factor sign-in.
    fn allowed_before_totp(self) -> bool {
        matches!(
            self,
            Self::Me
                | Self::Logout
                | Self::LogoutEverywhere
                | Self::ChangePassword
                | Self::ManageTwoFactor
        )
    }

    /// Operations allowed while the current terms of use are not accepted.
    fn allowed_before_terms(self) -> bool {
        matches!(
            self,
            Self::Me
                | Self::Logout
                | Self::LogoutEverywhere
                | Self::ChangePassword
                | Self::ReadTerms
                | Self::AcceptTerms
                | Self::WithdrawConsent
                | Self::ManageTwoFactor
                | Self::ReportCompromise
        )
    }
}

/// Whether `actor` may know that things of `company` exist: staff see every company, a client only its
/// own. Where a caller names a thing by id, a thing of a company it does not see answers as an unknown id
/// would (NOT_FOUND), whatever else it may not do.
pub fn sees_company(actor: &Actor, company: Uuid) -> bool {
    actor.is_staff() || actor.member_of(company)
}

/// Decides whether `actor` may perform `op`.
///
/// # Errors
/// UNAUTHENTICATED without an actor; FORBIDDEN (or PASSWORD_CHANGE_REQUIRED) otherwise.
pub fn authorize(actor: Option<&Actor>, op: Operation) -> Result<&Actor, ApiError> {
    let actor = actor.ok_or_else(|| {
        ApiError::Unauthenticated("sign in: send Authorization: Bearer <token> from login".into())
    })?;
    if actor.must_change_password && !op.allowed_before_password_change() {
        return Err(ApiError::Forbidden {
            code: "PASSWORD_CHANGE_REQUIRED",
            message: "change the temporary password first".into(),
        });
    }
    if actor.totp_enrolment_required && !op.allowed_before_totp() {
        return Err(ApiError::Forbidden {
            code: "TOTP_ENROLMENT_REQUIRED",
            message:
                "an administrator signs in with two factors: enrol an authenticator app first \
                      (startTotpEnrolment, confirmTotpEnrolment)"
                    .into(),
        });
    }
    if let Some(version) = actor.terms_required {
        if !op.allowed_before_terms() {
            return Err(ApiError::Forbidden {
                code: "TERMS_ACCEPTANCE_REQUIRED",
                message: format!("accept the terms of use (version {version}) first"),
            });
        }
    }
    if let Operation::ReadSecurityLog(account) = op {
        if account != actor.account_id && !actor.has(Role::Admin) {
            return Err(ApiError::forbidden(
                "only an administrator may read another account's security log",
            ));
        }
    }
    let allowed = op.roles();
    if !actor.roles.iter().any(|r| allowed.contains(r)) {
        return Err(ApiError::forbidden(
            "your role does not allow this operation",
        ));
    }
    if let Some(company) = op.company() {
        // Staff see every company; a client only the ones it is linked to.
        let staff_ok = actor
            .roles
            .iter()
            .any(|r| STAFF.contains(r) && allowed.contains(r));
        if !staff_ok {
            match actor.role_in(company) {
                None => return Err(ApiError::forbidden("this company is not one of yours")),
                Some(role) if !op.company_roles().contains(&role) => {
                    return Err(ApiError::Forbidden {
                        code: "COMPANY_ROLE",
                        message: format!(
                            "your role in this company ({}) does not allow this operation",
                            role.as_str()
                        ),
                    })
                }
                Some(_) => {}
            }
        }
    }
    Ok(actor)
}

/// Every operation with the GraphQL fields it covers, in the order docs/security.md lists them. Company- and
/// account-scoped ones carry a placeholder id; [`role_matrix`] renders the table from [`authorize`] itself.
pub fn catalogue() -> Vec<(&'static str, Operation)> {
    let c = Uuid::from_u128(1);
    vec![
        ("me", Operation::Me),
        ("logout", Operation::Logout),
        ("logoutEverywhere", Operation::LogoutEverywhere),
        ("changePassword", Operation::ChangePassword),
        ("terms", Operation::ReadTerms),
        ("acceptTerms", Operation::AcceptTerms),
        ("requestLoginChange, confirmLoginChange", Operation::ChangeLogin),
        ("requestAccountDeletion", Operation::RequestAccountDeletion),
        ("withdrawConsent", Operation::WithdrawConsent),
        ("setMailLanguage", Operation::SetMailLanguage),
        ("reportAccountCompromised", Operation::ReportCompromise),
        (
            "startTotpEnrolment, confirmTotpEnrolment, disableTotp, regenerateRecoveryCodes",
            Operation::ManageTwoFactor,
        ),
        ("securityLog", Operation::ReadSecurityLog(c)),
        ("company", Operation::ReadCompany(c)),
        ("companies", Operation::ListCompanies),
        ("registerCompany", Operation::RegisterCompany),
        ("changeCompanyRequisites", Operation::ChangeCompanyRequisites(c)),
        ("assignManager", Operation::AssignManager(c)),
        ("updateStaffProfile", Operation::UpdateStaffProfile),
        (
            "conversations, conversationMessages, markConversationRead, conversationMessageAdded",
            Operation::ReadConversation(c),
        ),
        ("postMessage", Operation::WriteConversation(c)),
        ("companyPeople, powersOfAttorney", Operation::ReadPeople(c)),
        (
            "inviteColleague, revokeInvitation, changeColleagueRole, removeColleague",
            Operation::ManagePeople(c),
        ),
        (
            "registerPowerOfAttorney, revokePowerOfAttorney",
            Operation::ManagePowersOfAttorney(c),
        ),
        (
            "contract, contracts, debt, earlyBuyoutQuote, GET /exports/schedule.*, GET /exports/payments.*",
            Operation::ReadContracts(c),
        ),
        ("concludeContract", Operation::ConcludeContract(c)),
        (
            "activateContract, recordPayment, registerTrafficFine, recordFinePaid, agreeFineFee, \
             recalculateSchedule, completeContract, terminateContract",
            Operation::ChangeContract(c),
        ),
        ("policies, policy", Operation::ReadPolicies(c)),
        (
            "issuePolicy, attachPolicyForm, recordPremiumPaid, prolongPolicy, changePolicyTerms, cancelPolicy",
            Operation::ManagePolicies(c),
        ),
        ("reportInsuredEvent", Operation::ReportInsuredEvent(c)),
        ("requests, request", Operation::ReadRequests(c)),
        ("submitRequest", Operation::SubmitRequest(c)),
        ("withdrawRequest", Operation::WithdrawRequest(c)),
        ("commentRequest, attachToRequest", Operation::CommentRequest(c)),
        (
            "takeRequestIntoReview, askForInformation, completeRequest, rejectRequest",
            Operation::ProcessRequest(c),
        ),
        ("GET /documents/{sha256}", Operation::ReadDocuments(c)),
        (
            "notifications(companyId), unreadNotificationCount(companyId), markAllNotificationsRead, \
             notificationAdded",
            Operation::ReadNotifications(c),
        ),
        (
            "notifications, unreadNotificationCount (own), markNotificationsRead, notificationPreferences, \
             setNotificationPreferences",
            Operation::ReadOwnNotifications,
        ),
        ("requestUpdated", Operation::ReadRequests(c)),
        ("debtChanged", Operation::ReadContracts(c)),
        ("news, faq, edoOperators, contacts", Operation::ReadNews),
        (
            "publishNews, editNews, unpublishNews, addFaqEntry, editFaqEntry, removeFaqEntry, publishEdoOperators, \
             publishContacts",
            Operation::ManageContent,
        ),
        (
            "documents, document, reconciliation, edoStatus, GET /exports/reconciliation.*",
            Operation::ReadExchange(c),
        ),
        (
            "requestInvoice, generateReconciliationAct",
            Operation::GenerateDocuments(c),
        ),
        ("issueCertificate, issueOs1", Operation::IssueCertificates(c)),
        ("uploadDocument, acknowledgeDocument", Operation::ExchangeDocuments(c)),
        (
            "sendDocumentForSignature, signDocument, rejectDocumentSignature, requestDocumentAnnulment, \
             confirmDocumentAnnulment",
            Operation::SignDocuments(c),
        ),
        (
            "submitEdoQuestionnaire, acceptEdoOffer, requestEdoRoaming",
            Operation::ConnectEdo(c),
        ),
        ("confirmEdoConnection, rejectEdoConnection", Operation::ProcessEdo(c)),
        ("businessDate", Operation::ReadBusinessDate),
        ("advanceClock", Operation::AdvanceClock),
        ("events, correlation", Operation::ReadEvents),
        (
            "company, contract, policy, request, debt with asOf",
            Operation::ReadHistory,
        ),
        ("imports, import, bankPayments, bankPayment", Operation::ReadImports),
        ("importBankStatement, importFinesRegister, importContracts", Operation::ImportFiles),
        ("assignBankPayment, returnBankPayment", Operation::ResolveBankPayments),
        ("publishTerms", Operation::PublishTerms),
        (
            "accounts, account, blockAccount, unblockAccount, resetAccountPassword, changeAccountRoles, inviteStaff",
            Operation::ManageAccounts,
        ),
    ]
}

/// The role matrix as a Markdown table, computed by asking [`authorize`] for every operation and role: "yes",
/// "own" (only the companies or the account of the caller), or "—". A client's column is per role in the
/// company (director, accountant, viewer).
pub fn role_matrix() -> String {
    let columns: [(Role, CompanyRole); 7] = [
        (Role::Client, CompanyRole::Director),
        (Role::Client, CompanyRole::Accountant),
        (Role::Client, CompanyRole::Viewer),
        (Role::Manager, CompanyRole::Viewer),
        (Role::Accountant, CompanyRole::Viewer),
        (Role::Auditor, CompanyRole::Viewer),
        (Role::Admin, CompanyRole::Viewer),
    ];
    let mut out = String::from(
        "| operation | CLIENT director | CLIENT accountant | CLIENT viewer | MANAGER | ACCOUNTANT | AUDITOR | ADMIN |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    let placeholder = Uuid::from_u128(1);
    for (name, op) in catalogue() {
        let cells: Vec<&str> = columns
            .iter()
            .map(|&(role, company_role)| {
                let stranger = Actor {
                    account_id: Uuid::from_u128(2),
                    email: "x@y.ru".into(),
                    roles: vec![role],
                    memberships: vec![],
                    must_change_password: false,
                    terms_required: None,
                    totp_enrolment_required: false,
                };
                let owner = Actor {
                    account_id: placeholder,
                    memberships: vec![super::Membership {
                        company_id: placeholder,
                        role: company_role,
                    }],
                    ..stranger.clone()
                };
                match (
                    authorize(Some(&stranger), op).is_ok(),
                    authorize(Some(&owner), op).is_ok(),
                ) {
                    (true, _) => "yes",
                    (false, true) => "own",
                    (false, false) => "—",
                }
            })
            .collect();
        out.push_str(&format!("| `{name}` | {} |\n", cells.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(roles: &[Role], companies: &[Uuid]) -> Actor {
        Actor {
            account_id: Uuid::nil(),
            email: "a@b.ru".into(),
            roles: roles.to_vec(),
            memberships: companies
                .iter()
                .map(|&company_id| super::super::Membership {
                    company_id,
                    role: CompanyRole::Director,
                })
                .collect(),
            must_change_password: false,
            terms_required: None,
            totp_enrolment_required: false,
        }
    }

    #[test]
    fn the_policy_table() {
        let mine = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let client = actor(&[Role::Client], &[mine]);
        let manager = actor(&[Role::Manager], &[]);
        let auditor = actor(&[Role::Auditor], &[]);
        let ok = |a: &Actor, op| authorize(Some(a), op).is_ok();
        assert!(ok(&client, Operation::ReadCompany(mine)));
        assert!(!ok(&client, Operation::ReadCompany(other)));
        assert!(!ok(&client, Operation::ChangeCompanyRequisites(mine)));
        assert!(!ok(&client, Operation::RegisterCompany));
        assert!(!ok(&client, Operation::ReadEvents));
        assert!(ok(&manager, Operation::ReadCompany(other)));
        assert!(ok(&manager, Operation::RegisterCompany));
        assert!(ok(&manager, Operation::AssignManager(other)));
        assert!(!ok(&manager, Operation::ReadEvents));
        assert!(ok(&auditor, Operation::ReadEvents));
        assert!(!ok(&auditor, Operation::RegisterCompany));
        assert_eq!(
            authorize(None, Operation::Me).unwrap_err().code(),
            "UNAUTHENTICATED"
        );
        let mut pending = client.clone();
        pending.must_change_password = true;
        assert_eq!(
            authorize(Some(&pending), Operation::ReadCompany(mine))
                .unwrap_err()
                .code(),
            "PASSWORD_CHANGE_REQUIRED"
        );
        assert!(ok(&pending, Operation::ChangePassword));
    }

    #[test]
    fn contracts_are_read_by_their_company_and_changed_by_the_back_office() {
        let mine = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let client = actor(&[Role::Client], &[mine]);
        let accountant = actor(&[Role::Accountant], &[]);
        let auditor = actor(&[Role::Auditor], &[]);
        let admin = actor(&[Role::Admin], &[]);
        let ok = |a: &Actor, op| authorize(Some(a), op).is_ok();
        assert!(ok(&client, Operation::ReadContracts(mine)));
        assert!(!ok(&client, Operation::ReadContracts(other)));
        assert!(!ok(&client, Operation::ChangeContract(mine)));
        assert!(ok(&accountant, Operation::ChangeContract(other)));
        assert!(ok(&accountant, Operation::ConcludeContract(other)));
        assert!(!ok(&accountant, Operation::AdvanceClock));
        assert!(!ok(&auditor, Operation::ChangeContract(other)));
        assert!(ok(&auditor, Operation::ReadContracts(other)));
        assert!(ok(&admin, Operation::AdvanceClock));
        assert!(ok(&client, Operation::ReadBusinessDate));
    }

    #[test]
    fn terms_come_after_the_password_and_before_everything_else() {
        let mine = Uuid::from_u128(1);
        let mut client = actor(&[Role::Client], &[mine]);
        client.terms_required = Some(3);
        let code = |a: &Actor, op| authorize(Some(a), op).err().map(|e| e.code());
        assert_eq!(
            code(&client, Operation::ReadContracts(mine)),
            Some("TERMS_ACCEPTANCE_REQUIRED")
        );
        assert_eq!(code(&client, Operation::AcceptTerms), None);
        assert_eq!(code(&client, Operation::ReadTerms), None);
        assert_eq!(code(&client, Operation::Me), None);
        client.must_change_password = true;
        assert_eq!(
            code(&client, Operation::AcceptTerms),
            Some("PASSWORD_CHANGE_REQUIRED")
        );
    }

    #[test]
    fn a_security_log_is_read_by_its_owner_or_an_admin() {
        let client = actor(&[Role::Client], &[]);
        let admin = actor(&[Role::Admin], &[]);
        let other = Uuid::from_u128(9);
        let ok = |a: &Actor, op| authorize(Some(a), op).is_ok();
        assert!(ok(&client, Operation::ReadSecurityLog(client.account_id)));
        assert!(!ok(&client, Operation::ReadSecurityLog(other)));
        assert!(ok(&admin, Operation::ReadSecurityLog(other)));
        assert!(!ok(&client, Operation::ManageAccounts));
        assert!(!ok(&admin, Operation::RequestAccountDeletion));
    }

    #[test]
    fn the_role_matrix_marks_own_only_rows() {
        let m = role_matrix();
        assert!(
            m.contains("| `company` | own | own | own | yes | yes | yes | yes |"),
            "{m}"
        );
        assert!(
            m.contains("| `securityLog` | own | own | own | own | own | own | yes |"),
            "{m}"
        );
        assert!(
            m.contains("| `advanceClock` | — | — | — | — | — | — | yes |"),
            "{m}"
        );
        assert!(
            m.contains("| `inviteColleague, revokeInvitation, changeColleagueRole, removeColleague` | own | — | — | yes | — | — | yes |"),
            "{m}"
        );
    }

    #[test]
    fn a_persons_role_in_a_company_decides_what_it_may_do_there() {
        let mine = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let person = |role| Actor {
            memberships: vec![
                super::super::Membership {
                    company_id: mine,
                    role,
                },
                super::super::Membership {
                    company_id: other,
                    role: CompanyRole::Director,
                },
            ],
            ..actor(&[Role::Client], &[])
        };
        let code = |a: &Actor, op| authorize(Some(a), op).err().map(|e| e.code());
        let viewer = person(CompanyRole::Viewer);
        let accountant = person(CompanyRole::Accountant);
        let director = person(CompanyRole::Director);
        for op in [
            Operation::ReadContracts(mine),
            Operation::ReadPeople(mine),
            Operation::ReadExchange(mine),
        ] {
            assert_eq!(code(&viewer, op), None, "{op:?}");
        }
        for op in [
            Operation::SubmitRequest(mine),
            Operation::SignDocuments(mine),
            Operation::GenerateDocuments(mine),
            Operation::CommentRequest(mine),
            Operation::ManagePeople(mine),
        ] {
            assert_eq!(code(&viewer, op), Some("COMPANY_ROLE"), "{op:?}");
        }
        // The same person directs the other company.
        assert_eq!(code(&viewer, Operation::ManagePeople(other)), None);
        assert_eq!(code(&accountant, Operation::SignDocuments(mine)), None);
        assert_eq!(
            code(&accountant, Operation::ManagePowersOfAttorney(mine)),
            Some("COMPANY_ROLE")
        );
        assert_eq!(
            code(&director, Operation::ManagePowersOfAttorney(mine)),
            None
        );
        assert_eq!(
            code(&director, Operation::ManagePeople(Uuid::from_u128(3))),
            Some("FORBIDDEN")
        );
    }
}
