//! Tenant isolation: a CLIENT of company A tries every query and mutation that takes an id with company
//! B's ids (companies, contracts, debt, schedule, events, accounts). Each answers FORBIDDEN, NOT_FOUND or (a lookup by id) null,
//! returns no data of B and stores nothing. The same operation with A's own ids then reads A's data, or is
//! FORBIDDEN when it is the back office's.
//!
//! Subscriptions are tried the same way over a real WebSocket.
//!
//! Every field of the schema is either a case below or listed in `NOT_TENANT_SCOPED` with its reason; a
//! test fails when a new field is neither. Adding an operation is one line in `cases()`.

use crate::common::{company_input, conclude, error, TestApp};
use api::auth::Role;
use serde_json::{json, Value};
use uuid::Uuid;

/// One tenant's ids.
struct Side {
    company: Uuid,
    contract: Uuid,
    account: Uuid,
    policy: Uuid,
    request: Uuid,
    notification: Uuid,
    document: Uuid,
}

/// What the operation does with the caller's own ids.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Own {
    /// Reads its data.
    Reads,
    /// Forbidden anyway: it is the back office's.
    Forbidden,
    /// Acts on the caller's own data (and may store): the client's own steps.
    Acts,
    /// Reaches the caller's own data and is refused for a business reason (CONFLICT or VALIDATION: a
    /// signing step out of turn), which shows authorization let it through.
    Refused,
}

struct Case {
    field: &'static str,
    query: &'static str,
    vars: fn(&Side) -> Value,
    own: Own,
    /// The variable an uploaded file fills (sent as a multipart request).
    file: Option<&'static str>,
}

const fn case(
    field: &'static str,
    query: &'static str,
    vars: fn(&Side) -> Value,
    own: Own,
) -> Case {
    Case {
        field,
        query,
        vars,
        own,
        file: None,
    }
}

const fn upload(
    field: &'static str,
    query: &'static str,
    vars: fn(&Side) -> Value,
    own: Own,
) -> Case {
    Case {
        field,
        query,
        vars,
        own,
        file: Some("f"),
    }
}

use Own::{Acts, Forbidden, Reads, Refused};

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    vec![
        case("company", "query($c: UUID!) { company(id: $c) { inn shortName } }", |s| json!({"c": s.company}), Reads),
        case("contract", "query($c: UUID!) { contract(id: $c) { number schedule { amount } payments { amount } } }", |s| json!({"c": s.contract}), Reads),
        case("contracts", "query($c: UUID!) { contracts(companyId: $c) { edges { node { number } } } }", |s| json!({"c": s.company}), Reads),
        case("debt", "query($c: UUID!) { debt(companyId: $c) { total contracts { number } } }", |s| json!({"c": s.company}), Reads),
        case("earlyBuyoutQuote", "query($c: UUID!) { earlyBuyoutQuote(contractId: $c, asOf: \"2026-02-15\") { total } }", |s| json!({"c": s.contract}), Reads),
        case("events", "query($c: String!) { events(filter: {aggregateType: \"Company\", aggregateId: $c}) { edges { node { payload } } } }", |s| json!({"c": s.company.to_string()}), Forbidden),
        case("events", "query($c: UUID!) { events(filter: {companyId: $c}) { edges { node { payload } } } }", |s| json!({"c": s.company}), Forbidden),
        case("company", "query($c: UUID!) { company(id: $c, asOf: \"2026-01-01T00:00:00Z\") { inn } }", |s| json!({"c": s.company}), Forbidden),
        case("contract", "query($c: UUID!) { contract(id: $c, asOf: \"2026-01-01T00:00:00Z\") { number schedule { amount } } }", |s| json!({"c": s.contract}), Forbidden),
        case("debt", "query($c: UUID!) { debt(companyId: $c, asOf: \"2026-01-01T00:00:00Z\") { total } }", |s| json!({"c": s.company}), Forbidden),
        case("policy", "query($p: UUID!) { policy(id: $p, asOf: \"2026-01-01T00:00:00Z\") { number } }", |s| json!({"p": s.policy}), Forbidden),
        case("request", "query($r: UUID!) { request(id: $r, asOf: \"2026-01-01T00:00:00Z\") { kind } }", |s| json!({"r": s.request}), Forbidden),
        case("securityLog", "query($a: UUID!) { securityLog(accountId: $a) { edges { node { kind clientAddress } } } }", |s| json!({"a": s.account}), Reads),
        case("account", "query($a: UUID!) { account(id: $a) { email } }", |s| json!({"a": s.account}), Forbidden),
        case("accounts", "{ accounts { edges { node { email } } } }", |_| json!({}), Forbidden),
        case("changeCompanyRequisites", "mutation($c: UUID!) { changeCompanyRequisites(input: {companyId: $c, shortName: \"взлом\"}) { position } }", |s| json!({"c": s.company}), Forbidden),
        case("assignManager", "mutation($c: UUID!) { assignManager(input: {companyId: $c, name: \"x\", phone: \"+74951112233\", email: \"a@b.ru\"}) { position } }", |s| json!({"c": s.company}), Forbidden),
        case("concludeContract", "mutation($i: ConcludeContractInput!) { concludeContract(input: $i) { position } }", |s| json!({"i": contract_input(s.company)}), Forbidden),
        case("activateContract", "mutation($c: UUID!) { activateContract(input: {contractId: $c, date: \"2026-02-02\"}) { position } }", |s| json!({"c": s.contract}), Forbidden),
        case("recordPayment", "mutation($c: UUID!) { recordPayment(input: {contractId: $c, amount: \"1\", date: \"2026-02-02\", bankReference: \"x\", purpose: LEASING_PAYMENT}) { position } }", |s| json!({"c": s.contract}), Forbidden),
        case("registerTrafficFine", "mutation($c: UUID!) { registerTrafficFine(input: {contractId: $c, resolutionNumber: \"18810177260303000009\", date: \"2026-02-02\", amount: \"500\", vehicle: \"x\", description: \"x\"}) { position } }", |s| json!({"c": s.contract}), Forbidden),
        case("agreeFineFee", "mutation($c: UUID!) { agreeFineFee(input: {contractId: $c, fee: \"1000\"}) { position } }", |s| json!({"c": s.contract}), Forbidden),
        case("recordFinePaid", "mutation($c: UUID!) { recordFinePaid(input: {contractId: $c, resolutionNumber: \"18810177260303000009\", date: \"2026-02-02\"}) { position } }", |s| json!({"c": s.contract}), Forbidden),
        case("recalculateSchedule", "mutation($c: UUID!) { recalculateSchedule(input: {contractId: $c, date: \"2026-02-02\", amount: \"1\", mode: SHORTER_TERM}) { position } }", |s| json!({"c": s.contract}), Forbidden),
        case("completeContract", "mutation($c: UUID!) { completeContract(input: {contractId: $c, date: \"2026-02-02\"}) { position } }", |s| json!({"c": s.contract}), Forbidden),
        case("terminateContract", "mutation($c: UUID!) { terminateContract(input: {contractId: $c, date: \"2026-02-02\", reason: \"x\"}) { position } }", |s| json!({"c": s.contract}), Forbidden),
        case("blockAccount", "mutation($a: UUID!) { blockAccount(input: { accountId: $a, reason: \"x\" }) { account { email } } }", |s| json!({"a": s.account}), Forbidden),
        case("unblockAccount", "mutation($a: UUID!) { unblockAccount(input: { accountId: $a }) { account { email } } }", |s| json!({"a": s.account}), Forbidden),
        case("resetAccountPassword", "mutation($a: UUID!) { resetAccountPassword(input: { accountId: $a }) { account { email } } }", |s| json!({"a": s.account}), Forbidden),
        case("changeAccountRoles", "mutation($a: UUID!) { changeAccountRoles(input: { accountId: $a, roles: [ADMIN] }) { account { email } } }", |s| json!({"a": s.account}), Forbidden),
        case("policies", "query($c: UUID!) { policies(companyId: $c) { edges { node { number insuredEvents { nodes { place } } } } } }", |s| json!({"c": s.company}), Reads),
        case("policy", "query($p: UUID!) { policy(id: $p) { number form { url } } }", |s| json!({"p": s.policy}), Reads),
        case("issuePolicy", "mutation($c: UUID!) { issuePolicy(input: {contractId: $c, insurer: \"x\", kind: OSAGO, number: \"x\", startsOn: \"2026-03-01\", endsOn: \"2027-02-28\", sumInsured: \"1\", premium: \"1\", payer: LESSEE}) { policy { id } } }", |s| json!({"c": s.contract}), Forbidden),
        upload("attachPolicyForm", "mutation($p: UUID!, $f: Upload!) { attachPolicyForm(input: { policyId: $p, form: $f }) { policy { id } } }", |s| json!({"p": s.policy, "f": null}), Forbidden),
        case("recordPremiumPaid", "mutation($p: UUID!) { recordPremiumPaid(input: {policyId: $p, amount: \"1\", date: \"2026-03-02\"}) { policy { id } } }", |s| json!({"p": s.policy}), Forbidden),
        case("prolongPolicy", "mutation($p: UUID!) { prolongPolicy(input: {policyId: $p, endsOn: \"2028-02-29\", premium: \"1\"}) { policy { id } } }", |s| json!({"p": s.policy}), Forbidden),
        case("changePolicyTerms", "mutation($p: UUID!) { changePolicyTerms(input: {policyId: $p, description: \"x\"}) { policy { id } } }", |s| json!({"p": s.policy}), Forbidden),
        case("cancelPolicy", "mutation($p: UUID!) { cancelPolicy(input: {policyId: $p, date: \"2026-03-02\", reason: \"x\"}) { policy { id } } }", |s| json!({"p": s.policy}), Forbidden),
        case("requests", "query($c: UUID!) { requests(companyId: $c) { edges { node { kind history { nodes { text } } } } } }", |s| json!({"c": s.company}), Reads),
        case("request", "query($r: UUID!) { request(id: $r) { kind details { ... on MessageDetails { subject text } } comments { nodes { text } } } }", |s| json!({"r": s.request}), Reads),
        case("takeRequestIntoReview", "mutation($r: UUID!) { takeRequestIntoReview(input: { requestId: $r }) { request { status } } }", |s| json!({"r": s.request}), Forbidden),
        case("askForInformation", "mutation($r: UUID!) { askForInformation(input: { requestId: $r, question: \"x\" }) { request { status } } }", |s| json!({"r": s.request}), Forbidden),
        case("completeRequest", "mutation($r: UUID!) { completeRequest(input: {requestId: $r}) { request { status } } }", |s| json!({"r": s.request}), Forbidden),
        case("rejectRequest", "mutation($r: UUID!) { rejectRequest(input: { requestId: $r, reason: \"x\" }) { request { status } } }", |s| json!({"r": s.request}), Forbidden),
        case("submitRequest", "mutation($c: UUID!) { submitRequest(input: {companyId: $c, details: {complaint: {subject: \"x\", text: \"y\"}}}) { request { status } } }", |s| json!({"c": s.company}), Acts),
        case("reportInsuredEvent", "mutation($p: UUID!) { reportInsuredEvent(input: {policyId: $p, date: \"2026-03-01\", place: \"x\", description: \"y\", contactPhone: \"+79160000000\"}) { request { status } } }", |s| json!({"p": s.policy}), Acts),
        case("commentRequest", "mutation($r: UUID!) { commentRequest(input: { requestId: $r, text: \"x\" }) { request { status } } }", |s| json!({"r": s.request}), Acts),
        upload("attachToRequest", "mutation($r: UUID!, $f: Upload!) { attachToRequest(input: { requestId: $r, file: $f }) { request { status } } }", |s| json!({"r": s.request, "f": null}), Acts),
        case("withdrawRequest", "mutation($r: UUID!) { withdrawRequest(input: { requestId: $r }) { request { status } } }", |s| json!({"r": s.request}), Acts),
        case("conversations", "query($c: UUID!) { conversations(companyId: $c) { id unread } }", |s| json!({"c": s.company}), Reads),
        case("conversationMessages", "query($t: UUID!) { conversationMessages(threadId: $t) { text } }", |s| json!({"t": s.company}), Reads),
        case("conversationMessages", "query($t: UUID!) { conversationMessages(threadId: $t) { text } }", |s| json!({"t": s.request}), Reads),
        case("markConversationRead", "mutation($t: UUID!) { markConversationRead(input: {threadId: $t}) { marked } }", |s| json!({"t": s.company}), Acts),
        case("markConversationRead", "mutation($t: UUID!) { markConversationRead(input: {threadId: $t}) { marked } }", |s| json!({"t": s.request}), Acts),
        case("postMessage", "mutation($c: UUID!) { postMessage(input: {companyId: $c, text: \"x\"}) { message { id } } }", |s| json!({"c": s.company}), Acts),
        upload("postMessage", "mutation($c: UUID!, $f: Upload!) { postMessage(input: {companyId: $c, files: [$f]}) { message { id } } }", |s| json!({"c": s.company, "f": null}), Acts),
        case("notifications", "query($c: UUID!) { notifications(companyId: $c) { edges { node { id title text } } } }", |s| json!({"c": s.company}), Reads),
        case("unreadNotificationCount", "query($c: UUID!) { unreadNotificationCount(companyId: $c) }", |s| json!({"c": s.company}), Reads),
        case("markNotificationsRead", "mutation($n: UUID!) { markNotificationsRead(input: { ids: [$n] }) { marked } }", |s| json!({"n": s.notification}), Acts),
        case("markAllNotificationsRead", "mutation($c: UUID!) { markAllNotificationsRead(input: { companyId: $c }) { marked } }", |s| json!({"c": s.company}), Acts),
        case("documents", "query($c: UUID!) { documents(companyId: $c) { edges { node { title file { url } } } } }", |s| json!({"c": s.company}), Reads),
        case("documents", "query($c: UUID!, $k: UUID!) { documents(companyId: $c, contractId: $k) { edges { node { title } } } }", |s| json!({"c": s.company, "k": s.contract}), Reads),
        case("document", "query($d: UUID!) { document(id: $d) { title status } }", |s| json!({"d": s.document}), Reads),
        case("reconciliation", "query($k: UUID!) { reconciliation(contractId: $k, from: \"2026-01-01\", to: \"2026-03-02\") { closing operations { document } } }", |s| json!({"k": s.contract}), Reads),
        case("edoStatus", "query($c: UUID!) { edoStatus(companyId: $c) { status statusText participantId } }", |s| json!({"c": s.company}), Reads),
        case("requestInvoice", "mutation($k: UUID!) { requestInvoice(input: { contractId: $k, what: {nextPayment: true} }) { document { title file { url } } } }", |s| json!({"k": s.contract}), Acts),
        case("generateReconciliationAct", "mutation($k: UUID!) { generateReconciliationAct(input: { contractId: $k, from: \"2026-01-01\", to: \"2026-03-02\" }) { document { title } } }", |s| json!({"k": s.contract}), Acts),
        case("issueCertificate", "mutation($k: UUID!) { issueCertificate(input: { contractId: $k, kind: CONTRACT_IN_FORCE, asOf: \"2026-03-02\" }) { document { title } } }", |s| json!({"k": s.contract}), Forbidden),
        case("issueOs1", "mutation($k: UUID!) { issueOs1(input: { contractId: $k }) { document { title } } }", |s| json!({"k": s.contract}), Forbidden),
        upload("uploadDocument", "mutation($c: UUID!, $f: Upload!) { uploadDocument(input: { companyId: $c, title: \"Скан\", file: $f }) { document { title } } }", |s| json!({"c": s.company, "f": null}), Acts),
        upload("sendDocumentForSignature", "mutation($d: UUID!, $f: Upload!) { sendDocumentForSignature(input: { documentId: $d, signature: {signerName: \"x\", signerPosition: \"y\", thumbprint: \"0000000000000000000000000000000000000000\", signedAt: \"2026-03-02T10:00:00Z\"}, signatureFile: $f }) { document { status } } }", |s| json!({"d": s.document, "f": null}), Refused),
        case("acknowledgeDocument", "mutation($d: UUID!) { acknowledgeDocument(input: { documentId: $d }) { document { status } } }", |s| json!({"d": s.document}), Refused),
        upload("signDocument", "mutation($d: UUID!, $f: Upload!) { signDocument(input: { documentId: $d, signature: {signerName: \"x\", signerPosition: \"y\", thumbprint: \"0000000000000000000000000000000000000000\", signedAt: \"2026-03-02T10:00:00Z\"}, signatureFile: $f }) { document { status } } }", |s| json!({"d": s.document, "f": null}), Refused),
        case("rejectDocumentSignature", "mutation($d: UUID!) { rejectDocumentSignature(input: { documentId: $d, reason: \"x\" }) { document { status } } }", |s| json!({"d": s.document}), Refused),
        case("requestDocumentAnnulment", "mutation($d: UUID!) { requestDocumentAnnulment(input: { documentId: $d, reason: \"x\" }) { document { status } } }", |s| json!({"d": s.document}), Refused),
        case("confirmDocumentAnnulment", "mutation($d: UUID!) { confirmDocumentAnnulment(input: { documentId: $d }) { document { status } } }", |s| json!({"d": s.document}), Refused),
        case("submitEdoQuestionnaire", "mutation($c: UUID!) { submitEdoQuestionnaire(input: { companyId: $c, contactEmail: \"edo@romashka.ru\" }) { edoStatus { status } } }", |s| json!({"c": s.company}), Acts),
        case("acceptEdoOffer", "mutation($c: UUID!) { acceptEdoOffer(input: { companyId: $c, version: 1 }) { edoStatus { status } } }", |s| json!({"c": s.company}), Acts),
        case("requestEdoRoaming", "mutation($c: UUID!) { requestEdoRoaming(input: { companyId: $c, operatorCode: \"2BE\", participantId: \"2BE12345\" }) { edoStatus { status } } }", |s| json!({"c": s.company}), Refused),
        case("confirmEdoConnection", "mutation($c: UUID!) { confirmEdoConnection(input: { companyId: $c, participantId: \"2BM12345\" }) { edoStatus { status } } }", |s| json!({"c": s.company}), Forbidden),
        case("rejectEdoConnection", "mutation($c: UUID!) { rejectEdoConnection(input: { companyId: $c, reason: \"x\" }) { edoStatus { status } } }", |s| json!({"c": s.company}), Forbidden),
        case("companyPeople", "query($c: UUID!) { companyPeople(companyId: $c) { people { email role } invitations { email } } }", |s| json!({"c": s.company}), Reads),
        case("powersOfAttorney", "query($c: UUID!) { powersOfAttorney(companyId: $c) { number representativeId } }", |s| json!({"c": s.company}), Reads),
        case("inviteColleague", "mutation($c: UUID!) { inviteColleague(input: {companyId: $c, email: \"colleague@romashka.ru\", role: ACCOUNTANT}) { invitation { email } } }", |s| json!({"c": s.company}), Acts),
        case("changeColleagueRole", "mutation($c: UUID!, $a: UUID!) { changeColleagueRole(input: {companyId: $c, accountId: $a, role: DIRECTOR}) { person { email } } }", |s| json!({"c": s.company, "a": s.account}), Acts),
        case("removeColleague", "mutation($c: UUID!, $a: UUID!) { removeColleague(input: {companyId: $c, accountId: $a}) { people { people { email } } } }", |s| json!({"c": s.company, "a": s.account}), Refused),
        case("registerPowerOfAttorney", "mutation($c: UUID!, $a: UUID!) { registerPowerOfAttorney(input: {companyId: $c, number: \"5d0c6c1e-0000-4000-8000-000000000001\", representativeId: $a, documentKinds: [UPD], validFrom: \"2026-01-01\", validUntil: \"2026-12-31\"}) { powerOfAttorney { number } } }", |s| json!({"c": s.company, "a": s.account}), Acts),
        case("revokePowerOfAttorney", "mutation($c: UUID!) { revokePowerOfAttorney(input: {companyId: $c, number: \"5d0c6c1e-0000-4000-8000-0000000000ff\", reason: \"x\"}) { powerOfAttorney { number } } }", |s| json!({"c": s.company}), Refused),
    ]
}

/// Subscriptions, tried over `/graphql/ws` the same way: B's ids give an error and no data; A's own ids
/// (resumed from the start, so something comes at once) give A's data.
#[rustfmt::skip]
fn subscription_cases() -> Vec<Case> {
    vec![
        case("notificationAdded", "subscription($c: UUID!) { notificationAdded(companyId: $c, after: \"MTowOi0x\") { id title text } }", |s| json!({"c": s.company}), Reads),
        case("conversationMessageAdded", "subscription($c: UUID!) { conversationMessageAdded(companyId: $c, after: \"MTowOi0x\") { id text } }", |s| json!({"c": s.company}), Reads),
        case("requestUpdated", "subscription($c: UUID!) { requestUpdated(companyId: $c, after: \"MTowOi0x\") { requestId request { details { __typename } } } }", |s| json!({"c": s.company}), Reads),
        case("requestUpdated", "subscription($c: UUID!, $r: UUID!) { requestUpdated(companyId: $c, requestId: $r, after: \"MTowOi0x\") { requestId } }", |s| json!({"c": s.company, "r": s.request}), Reads),
        case("debtChanged", "subscription($c: UUID!) { debtChanged(companyId: $c, after: \"MTowOi0x\") { debt { total contracts { number } } } }", |s| json!({"c": s.company}), Reads),
        case("documentUpdated", "subscription($c: UUID!) { documentUpdated(companyId: $c, after: \"MTowOi0x\") { documentId document { title } } }", |s| json!({"c": s.company}), Reads),
        case("documentUpdated", "subscription($c: UUID!, $d: UUID!) { documentUpdated(companyId: $c, documentId: $d, after: \"MTowOi0x\") { documentId } }", |s| json!({"c": s.company, "d": s.document}), Reads),
        case("policyUpdated", "subscription($c: UUID!) { policyUpdated(companyId: $c, after: \"MTowOi0x\") { policyId policy { number } } }", |s| json!({"c": s.company}), Reads),
        case("policyUpdated", "subscription($c: UUID!, $p: UUID!) { policyUpdated(companyId: $c, policyId: $p, after: \"MTowOi0x\") { policyId } }", |s| json!({"c": s.company, "p": s.policy}), Reads),
        case("edoStatusChanged", "subscription($c: UUID!) { edoStatusChanged(companyId: $c, after: \"MTowOi0x\") { position edoStatus { status } } }", |s| json!({"c": s.company}), Reads),
        case("unreadNotificationCount", "subscription($c: UUID!) { unreadNotificationCount(companyId: $c) }", |s| json!({"c": s.company}), Reads),
    ]
}

/// Fields that take no other tenant's id, and why they cannot reach B's data.
const NOT_TENANT_SCOPED: &[(&str, &str)] = &[
    ("me", "the caller's own account"),
    ("updateStaffProfile", "the caller's own staff profile; staff only (a CLIENT is FORBIDDEN): tried in conversations.rs"),
    (
        "companies",
        "a list filtered to the caller's companies: tried below with B's ИНН as the search",
    ),
    ("terms", "public to every signed-in person"),
    ("edoOperators", "public to every signed-in person, as `news`"),
    ("publishEdoOperators", "ADMIN only, as `publishNews`"),
    (
        "imports",
        "ACCOUNTANT, AUDITOR and ADMIN only (a CLIENT is FORBIDDEN before any look-up): tried in imports.rs",
    ),
    ("import", "staff only, as `imports`"),
    ("bankPayments", "staff only, as `imports`"),
    ("bankPayment", "staff only, as `imports`"),
    (
        "importBankStatement",
        "ACCOUNTANT and ADMIN only (a CLIENT is FORBIDDEN): tried in imports.rs",
    ),
    (
        "importContracts",
        "ACCOUNTANT and ADMIN only, as `importBankStatement`",
    ),
    (
        "requestCompanyInvoice",
        "another company's id is NOT_FOUND: tried in imports.rs",
    ),
    (
        "importAccountingDocuments",
        "ACCOUNTANT and ADMIN only (a CLIENT is FORBIDDEN): tried in accounting.rs",
    ),
    (
        "importFinesRegister",
        "ACCOUNTANT and ADMIN only (a CLIENT is FORBIDDEN): tried in fines.rs",
    ),
    ("assignBankPayment", "ACCOUNTANT and ADMIN only, as `importBankStatement`"),
    ("returnBankPayment", "ACCOUNTANT and ADMIN only, as `importBankStatement`"),
    ("businessDate", "one business date for everyone"),
    (
        "correlation",
        "AUDITOR and ADMIN only (a CLIENT is FORBIDDEN before any look-up): tried in audit.rs",
    ),
    ("login", "takes credentials, not ids"),
    ("logout", "the caller's own session"),
    ("logoutEverywhere", "the caller's own sessions"),
    ("changePassword", "the caller's own account"),
    (
        "requestPasswordReset",
        "answers the same for every ИНН and e-mail",
    ),
    ("resetPassword", "takes a mailed control string, not an id"),
    ("acceptInvitation", "takes a mailed control string, not an id"),
    ("acceptStaffInvitation", "takes a mailed control string, not an id"),
    ("inviteStaff", "ADMIN only; no tenant data"),
    ("startTotpEnrolment", "the caller's own account"),
    ("reportAccountCompromised", "the caller's own account (and its own companies)"),
    ("confirmTotpEnrolment", "the caller's own account"),
    ("disableTotp", "the caller's own account"),
    ("regenerateRecoveryCodes", "the caller's own account"),
    (
        "revokeInvitation",
        "authorized by the invitation's company (another company's invitation is NOT_FOUND): tried in people.rs",
    ),
    ("acceptTerms", "the caller's own account"),
    ("publishTerms", "ADMIN only; no tenant data"),
    ("requestLoginChange", "the caller's own account"),
    (
        "confirmLoginChange",
        "a control string bound to the caller's own account",
    ),
    ("requestAccountDeletion", "the caller's own account"),
    ("withdrawConsent", "the caller's own account"),
    (
        "personalDataDestructions",
        "AUDITOR and ADMIN only (a CLIENT is FORBIDDEN): tried in personal_data.rs",
    ),
    ("setMailLanguage", "the caller's own account"),
    (
        "registerCompany",
        "creates a company; MANAGER and ADMIN only",
    ),
    ("advanceClock", "ADMIN only; no tenant data"),
    (
        "news",
        "a list filtered to the caller's companies (targeted news of another company: tests/notifications.rs)",
    ),
    ("faq", "public to every signed-in person"),
    ("contacts", "public to every signed-in person"),
    ("publishContacts", "ADMIN only; no tenant data"),
    ("notificationPreferences", "the caller's own account"),
    ("setNotificationPreferences", "the caller's own account"),
    ("publishNews", "ADMIN only; addressees are checked to exist"),
    ("editNews", "ADMIN only"),
    ("unpublishNews", "ADMIN only"),
    ("addFaqEntry", "ADMIN only; no tenant data"),
    ("editFaqEntry", "ADMIN only; no tenant data"),
    ("removeFaqEntry", "ADMIN only; no tenant data"),
];

fn contract_input(company: Uuid) -> Value {
    json!({
        "companyId": company, "number": "ЛД-ВЗЛОМ", "date": "2026-02-01", "contactEmail": "a@b.ru",
        "subject": {"kind": "станок", "make": "DMG", "model": "CTX", "year": 2025, "serialNumber": "1"},
        "price": "300000", "advance": {"amount": "0"}, "termMonths": 1, "annualRate": "0",
        "firstDueDate": "2026-03-10", "scheduleKind": "EXPLICIT",
        "lines": [{"dueDate": "2026-03-10", "amount": "300000"}], "redemption": "0",
        "penalty": {"ratePerDay": "0.1", "baseIncludesVat": true, "paymentDayCounts": true}
    })
}

async fn run(t: &TestApp, token: Option<&str>, c: &Case, side: &Side) -> Value {
    match c.file {
        None => t.gql(token, c.query, (c.vars)(side)).await,
        Some(var) => {
            t.gql_upload(
                token,
                c.query,
                (c.vars)(side),
                &[(var, "a.pdf", "application/pdf", crate::common::PDF)],
            )
            .await
        }
    }
}

/// A document the back office uploads for the company (a draft: signing steps on it are out of turn).
async fn staff_document(t: &TestApp, admin: &str, company: Uuid, content: &[u8]) -> Uuid {
    let r = t
        .gql_upload(
            Some(admin),
            "mutation($c: UUID!, $f: Upload!) { uploadDocument(input: { companyId: $c, title: \"Дополнительное соглашение\", file: $f }) { document { id } } }",
            json!({"c": company, "f": null}),
            &[("f", "agreement.pdf", "application/pdf", content)],
        )
        .await;
    r["data"]["uploadDocument"]["document"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .parse()
        .unwrap()
}

/// A policy on the contract and a complaint filed for the company, by the back office.
async fn policy_and_request(
    t: &TestApp,
    admin: &str,
    company: Uuid,
    contract: Uuid,
) -> (Uuid, Uuid) {
    let p = t
        .gql(
            Some(admin),
            "mutation($c: UUID!) { issuePolicy(input: {contractId: $c, insurer: \"САО\", kind: KASKO, number: \"P-1\", startsOn: \"2026-03-01\", endsOn: \"2027-02-28\", sumInsured: \"100\", premium: \"10\", payer: LESSOR}) { policy { id } } }",
            json!({"c": contract}),
        )
        .await;
    let r = t
        .gql(
            Some(admin),
            "mutation($c: UUID!) { submitRequest(input: {companyId: $c, details: {consultation: {subject: \"тайна\", text: \"секрет\"}}}) { request { id } } }",
            json!({"c": company}),
        )
        .await;
    let id = |v: &Value, k: &str, object: &str| -> Uuid {
        v["data"][k][object]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{v}"))
            .parse()
            .unwrap()
    };
    (
        id(&p, "issuePolicy", "policy"),
        id(&r, "submitRequest", "request"),
    )
}

#[tokio::test]
async fn every_operation_with_another_companys_ids_is_refused_and_shows_nothing_of_it() {
    let t = TestApp::spawn().await;
    let admin = t.sign_in(Role::Admin, &[]).await;
    let a_company = t
        .company(&admin, company_input("7707083893", "773601001"))
        .await;
    let b_company = t
        .company(&admin, company_input("7712345671", "773601001"))
        .await;
    let a_contract = conclude(&t, &admin, a_company, "ЛД-А-1", "a.person@romashka.ru").await;
    let b_contract = conclude(&t, &admin, b_company, "ЛД-Б-1", "b.person@vasilek.ru").await;
    let a_token = t
        .provisioned_client(
            &admin,
            a_company,
            "ЛД-А-2",
            "a.person@romashka.ru",
            "Ромашка-пароль-1",
        )
        .await;
    t.advance_clock(&admin, "2026-03-02").await;
    let (a_policy, a_request) = policy_and_request(&t, &admin, a_company, a_contract).await;
    let (b_policy, b_request) = policy_and_request(&t, &admin, b_company, b_contract).await;
    let a = Side {
        company: a_company,
        contract: a_contract,
        account: t.account_id("a.person@romashka.ru").await,
        policy: a_policy,
        request: a_request,
        notification: first_notification(&t, a_company).await,
        document: staff_document(&t, &admin, a_company, b"%PDF-1.4 side A").await,
    };
    t.mail("b.person@vasilek.ru", "temporary_password").await;
    let b = Side {
        company: b_company,
        contract: b_contract,
        account: t.account_id("b.person@vasilek.ru").await,
        policy: b_policy,
        request: b_request,
        notification: first_notification(&t, b_company).await,
        document: staff_document(&t, &admin, b_company, b"%PDF-1.4 side B").await,
    };
    // What would betray B: its ids, ИНН, contract number and person.
    let b_marks = [
        b.company.to_string(),
        b.contract.to_string(),
        b.account.to_string(),
        b.policy.to_string(),
        b.request.to_string(),
        b.notification.to_string(),
        b.document.to_string(),
        "секрет".to_owned(),
        "7712345671".to_owned(),
        "ЛД-Б-1".to_owned(),
        "b.person@vasilek.ru".to_owned(),
    ];
    for c in cases() {
        let events = t.event_count().await;
        let r = run(&t, Some(&a_token), &c, &b).await;
        assert_eq!(t.event_count().await, events, "{}: nothing stored", c.field);
        // A lookup by id answers null for what the caller may not see, as for an unknown id.
        let hidden = r["errors"].is_null() && r["data"][c.field].is_null();
        if !hidden {
            let code = error(&r).0;
            assert!(
                code == "FORBIDDEN" || code == "NOT_FOUND",
                "{}: B's ids gave {code}: {r}",
                c.field
            );
        }
        let shown = format!("{}{}", r["data"], r["errors"][0]["message"]);
        for mark in &b_marks {
            assert!(
                !shown.contains(mark.as_str()),
                "{}: shows {mark}: {r}",
                c.field
            );
        }
        let own = run(&t, Some(&a_token), &c, &a).await;
        match c.own {
            Reads | Acts => assert!(own["errors"].is_null(), "{}: own ids: {own}", c.field),
            Forbidden => assert_eq!(error(&own).0, "FORBIDDEN", "{}: own ids: {own}", c.field),
            Refused => assert!(
                matches!(error(&own).0.as_str(), "CONFLICT" | "VALIDATION"),
                "{}: own ids: {own}",
                c.field
            ),
        }
    }

    // The one list: whatever it searches for, only A's companies.
    for search in [json!(null), json!("7712"), json!("Ромашка")] {
        let r = t
            .gql(
                Some(&a_token),
                "query($s: String) { companies(search: $s) { edges { node { id inn } } } }",
                json!({"s": search}),
            )
            .await;
        for e in r["data"]["companies"]["edges"].as_array().unwrap() {
            assert_eq!(e["node"]["id"], json!(a_company), "{search}: {r}");
        }
    }
    // Without a session every case is UNAUTHENTICATED.
    for c in cases() {
        let r = run(&t, None, &c, &b).await;
        assert_eq!(error(&r).0, "UNAUTHENTICATED", "{}: {r}", c.field);
    }

    // Subscriptions over a real WebSocket.
    let base = t.serve_http().await;
    let mut ws = cabinet_tests::Subscriptions::connect(&base, Some(&a_token))
        .await
        .unwrap();
    for (n, c) in subscription_cases().iter().enumerate() {
        let id = format!("{}-b-{n}", c.field);
        ws.subscribe(&id, c.query, (c.vars)(&b)).await;
        let mut m = ws.next().await;
        while m["id"] != id.as_str() || m["type"] == "complete" {
            m = ws.next().await;
        }
        let errors = if m["type"] == "error" {
            m["payload"].clone()
        } else {
            m["payload"]["errors"].clone()
        };
        let code = errors[0]["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            code == "FORBIDDEN" || code == "NOT_FOUND",
            "{}: B's ids gave {m}",
            c.field
        );
        let shown = m.to_string();
        for mark in &b_marks {
            assert!(
                !shown.contains(mark.as_str()),
                "{}: shows {mark}: {m}",
                c.field
            );
        }
        let id = format!("{}-a-{n}", c.field);
        ws.subscribe(&id, c.query, (c.vars)(&a)).await;
        let got = ws.collect_until(&id, |g| !g.is_empty()).await;
        assert!(!got[0].is_null(), "{}: own ids: {got:?}", c.field);
        ws.stop(&id).await;
    }
}

/// The first client notification of a company (its contract's conclusion).
async fn first_notification(t: &TestApp, company: Uuid) -> Uuid {
    sqlx::query_scalar(
        "SELECT id FROM notifications WHERE company_id = $1 AND audience = 'client' ORDER BY position LIMIT 1",
    )
    .bind(company)
    .fetch_one(&t.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_field_of_the_schema_is_in_the_suite_or_explained() {
    let fields = api::graphql::root_fields().await;
    assert!(fields.len() > 30, "{fields:?}");
    let covered: Vec<&str> = cases()
        .iter()
        .chain(subscription_cases().iter())
        .map(|c| c.field)
        .collect();
    let explained: Vec<&str> = NOT_TENANT_SCOPED.iter().map(|(f, _)| *f).collect();
    let missing: Vec<&String> = fields
        .iter()
        .filter(|f| !covered.contains(&f.as_str()) && !explained.contains(&f.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "add these fields to tests/tests/isolation.rs (a case, or NOT_TENANT_SCOPED with a reason): {missing:?}"
    );
    for f in covered.iter().chain(explained.iter()) {
        assert!(
            fields.iter().any(|x| x == f),
            "{f} is not a field of the schema any more"
        );
    }
}
