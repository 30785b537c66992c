//! The back office's imports over GraphQL (issue 25): upload a bank statement and read its report, the
//! incoming payments of the statements, and the staff's queue of those that wait — assigned to a contract
//! or returned to the payer. The same [`crate::app::imports::Importer`] serves `cabinet import statement`.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use domain::payments::{BankPaymentCommand, BankPaymentError, Match, MatchRule, Part, Target};
use domain::values::Money;
use projections::store::command::CommandError;
use projections::views::payments::{self as view, BankPaymentView};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::context::{allow, app};
use super::enums::{stored_enum, unknown_stored};
use super::pagination::{counted, cursor, page_size};
use super::payload::{payload, Done};
use super::scalars::Date;
use crate::app::imports::{self, Report};
use crate::auth::policy::Operation;
use crate::error::{command_error, ApiError, Reason};

stored_enum!(ImportKind, "imports.kind", "What was imported.", {
    BankStatement = "bank_statement", "A bank statement: its lines are payments.";
    FinesRegister = "fines_register", "A traffic fines register: its lines are resolutions.";
    Contracts = "contracts", "Contracts and schedules from the accounting system: its lines are contracts.";
    AccountingDocuments = "accounting_documents", "Accounting documents from the accounting system: its lines are documents.";
});

stored_enum!(ImportStatus, "imports.status", "Where an import is.", {
    Running = "running", "Being read.";
    Done = "done", "Read to its end (rejected lines are in the report).";
    Failed = "failed", "Broke off: `error` says why; what was received before stays.";
});

stored_enum!(BankPaymentStatus, "bank_payments_view.status", "Where an incoming payment is.", {
    Matched = "matched", "Matched to a contract; its parts are posted there.";
    Queued = "queued", "Waiting for staff: `queueReason` says why.";
    Returned = "returned", "Returned to the payer by staff.";
});

stored_enum!(MatchedBy, "bank_payments_view.rule", "How a payment was matched.", {
    Uin = "uin", "The УИН of a fine registered on the contract.";
    Invoice = "invoice", "The number of an invoice the cabinet issued.";
    ContractNumber = "contract_number", "The contract's number in the purpose, paid by its lessee.";
    Payer = "payer", "The payer is a lessee with one open contract.";
    Staff = "staff", "Assigned by staff from the queue.";
});

stored_enum!(QueueReason, "bank_payments_view.queue_reason", "Why a payment waits for staff.", {
    NoMatch = "no_match", "Nothing names a contract, an invoice or a fine, and the payer is not a lessee.";
    SeveralContracts = "several_contracts", "It names several contracts, or the payer has several and names none.";
    PayerIsNotLessee = "payer_is_not_lessee", "It names a contract of another lessee than the payer.";
    ContractClosed = "contract_closed", "The contract it names is completed or terminated.";
    PartsExceedAmount = "parts_exceed_amount", "The parts it states add up to more than the amount.";
    PostingRefused = "posting_refused", "A part could not be posted: `queueDetail` has the refusal.";
    ExceedsInvoice = "exceeds_invoice", "It pays more than the company-wide invoice it names (`queueDetail` names it): staff decide where the rest goes.";
});

stored_enum!(PartKind, "bank_payments_view.parts.kind", "What a part of a payment pays.", {
    Leasing = "leasing", "Leasing payments (the oldest open lines first, the rest credit).";
    Penalty = "penalty", "Penalties.";
    Fine = "fine", "Re-billed traffic fines.";
    Insurance = "insurance", "A policy's re-billed premium (`policyId`).";
    Credit = "credit", "The contract's credit, used by the next lines as they fall due.";
});

/// A line of a file that could not be read.
#[derive(Debug, Clone, SimpleObject)]
pub struct ImportRejection {
    /// The line (1C) or entry (camt.053) in the file.
    pub place: i64,
    /// The field at fault, as the format names it (`Дата`, `Сумма`, `Amt`, …).
    pub field: String,
    /// Why.
    pub reason: String,
}

/// The report of one imported file.
#[derive(Debug, Clone)]
pub struct ImportReport(Report);

#[Object]
impl ImportReport {
    /// The import (its commands' correlation id is `import:<id>`: `correlation(id:)` shows its story).
    async fn id(&self) -> Uuid {
        self.0.import_id
    }
    /// What was imported.
    async fn kind(&self) -> Result<ImportKind> {
        Ok(ImportKind::from_stored(&self.0.kind)?)
    }
    /// `1c` (1CClientBankExchange) or `camt053` for a statement; `csv` or `xml` for a fines register;
    /// `jsonl` for contracts; `package` for accounting documents.
    async fn format(&self) -> Option<&str> {
        self.0.format.as_deref()
    }
    /// The file's name as uploaded.
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    /// The file's SHA-256.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// Its size in bytes.
    async fn size(&self) -> i64 {
        self.0.size
    }
    /// Who imported it: `account:<id>`, or `system:cli` for `cabinet import`.
    async fn imported_by(&self) -> &str {
        &self.0.imported_by
    }
    /// Where it is.
    async fn status(&self) -> Result<ImportStatus> {
        Ok(ImportStatus::from_stored(&self.0.status)?)
    }
    /// The statement's accounts.
    async fn accounts(&self) -> &[String] {
        &self.0.accounts
    }
    /// Payment documents (a register: resolutions) read (the sum of every outcome below).
    async fn lines(&self) -> i32 {
        self.0.lines
    }
    /// Received and matched to a contract (a register: fines re-billed on the contract leasing the
    /// vehicle).
    async fn matched(&self) -> i32 {
        self.0.matched
    }
    /// Received and waiting for staff.
    async fn queued(&self) -> i32 {
        self.0.queued
    }
    /// Received before (this file or another): nothing changed. (A contracts file: contracts already as
    /// the file has them.)
    async fn duplicates(&self) -> i32 {
        self.0.duplicates
    }
    /// A contracts file: contracts the cabinet had whose schedule (the lines not yet due or paid) or fine
    /// fee the file changed. 0 for other files.
    async fn changed(&self) -> i32 {
        self.0.changed
    }
    /// Not readable: see `rejections`.
    async fn rejected(&self) -> i32 {
        self.0.rejected
    }
    /// Not a payment to the lessor: debits, credits to other accounts.
    async fn skipped(&self) -> i32 {
        self.0.skipped
    }
    /// The sum matched.
    async fn amount_matched(&self) -> Decimal {
        self.0.amount_matched
    }
    /// The sum queued.
    async fn amount_queued(&self) -> Decimal {
        self.0.amount_queued
    }
    /// The rejected lines with their reasons (the first 1,000; `rejected` counts them all).
    async fn rejections(&self) -> Vec<ImportRejection> {
        self.0
            .rejections
            .iter()
            .map(|r| ImportRejection {
                place: r.place as i64,
                field: r.field.clone(),
                reason: r.reason.clone(),
            })
            .collect()
    }
    /// Why the file broke off (status FAILED).
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// When it started.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// When it ended.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// Its payments, in the file's order of receipt, optionally of one status.
    async fn payments(
        &self,
        ctx: &Context<'_>,
        status: Option<BankPaymentStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, BankPayment, super::pagination::Total>> {
        Ok(list(ctx, status, Some(self.0.import_id), first, after).await?)
    }
}

/// A part of a payment.
#[derive(Debug, Clone, SimpleObject)]
pub struct BankPaymentPart {
    /// What it pays.
    pub kind: PartKind,
    /// The policy, for insurance.
    pub policy_id: Option<Uuid>,
    /// The contract it goes to (a company-wide invoice's payment has a part per contract).
    pub contract_id: Option<Uuid>,
    /// How much.
    pub amount: Decimal,
}

/// A payment received from a bank statement.
#[derive(Debug, Clone)]
pub struct BankPayment(BankPaymentView);

#[Object]
impl BankPayment {
    /// Its id (derived from the statement line: the same payment in another statement is the same).
    async fn id(&self) -> Uuid {
        self.0.payment_id
    }
    /// Where it is.
    async fn status(&self) -> Result<BankPaymentStatus> {
        Ok(BankPaymentStatus::from_stored(&self.0.status)?)
    }
    /// The reference recorded with the payment on the contract.
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    /// The payment order's number.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// The payment order's date.
    async fn date(&self) -> Date {
        Date(self.0.payment_date)
    }
    /// When the money reached the lessor's account.
    async fn credited_on(&self) -> Option<Date> {
        self.0.credited_on.map(Date)
    }
    /// Amount.
    async fn amount(&self) -> Decimal {
        self.0.amount
    }
    /// The payer's name (`null` once destroyed).
    async fn payer_name(&self) -> Option<&str> {
        self.0.payer_name.as_deref()
    }
    /// The payer's ИНН.
    async fn payer_inn(&self) -> Option<&str> {
        self.0.payer_inn.as_deref()
    }
    /// The payer's КПП.
    async fn payer_kpp(&self) -> Option<&str> {
        self.0.payer_kpp.as_deref()
    }
    /// The payer's account.
    async fn payer_account(&self) -> Option<&str> {
        self.0.payer_account.as_deref()
    }
    /// The payer's bank (БИК).
    async fn payer_bank(&self) -> Option<&str> {
        self.0.payer_bank.as_deref()
    }
    /// What the payer wrote (`null` once destroyed).
    async fn purpose(&self) -> Option<&str> {
        self.0.purpose.as_deref()
    }
    /// The УИН it carries.
    async fn uin(&self) -> Option<&str> {
        self.0.uin.as_deref()
    }
    /// The import it came with.
    async fn import_id(&self) -> Uuid {
        self.0.import_id
    }
    /// Its line (1C) or entry (camt.053) in the file.
    async fn place(&self) -> i32 {
        self.0.place
    }
    /// The contract it was matched to.
    async fn contract_id(&self) -> Option<Uuid> {
        self.0.contract_id
    }
    /// The contract's lessee.
    async fn company_id(&self) -> Option<Uuid> {
        self.0.company_id
    }
    /// How it was matched.
    async fn matched_by(&self) -> Result<Option<MatchedBy>> {
        Ok(self
            .0
            .rule
            .as_deref()
            .map(MatchedBy::from_stored)
            .transpose()?)
    }
    /// What it pays (matched).
    async fn parts(&self) -> Result<Vec<BankPaymentPart>> {
        let mut out = Vec::new();
        for p in self.0.parts.as_array().into_iter().flatten() {
            out.push(BankPaymentPart {
                kind: PartKind::from_stored(p["kind"].as_str().unwrap_or(""))?,
                policy_id: p["policy_id"].as_str().and_then(|s| s.parse().ok()),
                contract_id: p["contract_id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .or(self.0.contract_id),
                amount: serde_json::from_value(p["amount"].clone())
                    .map_err(|e| ApiError::Internal(anyhow::anyhow!("a part's amount: {e}")))?,
            });
        }
        Ok(out)
    }
    /// Why it waits (queued).
    async fn queue_reason(&self) -> Result<Option<QueueReason>> {
        Ok(self
            .0
            .queue_reason
            .as_deref()
            .map(QueueReason::from_stored)
            .transpose()?)
    }
    /// The contract numbers the reason is about (several contracts, another lessee's, a closed one).
    async fn candidate_numbers(&self) -> Vec<String> {
        let d = self.0.queue_detail.as_ref();
        let mut out: Vec<String> = d
            .and_then(|d| d["numbers"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect();
        if let Some(n) = d.and_then(|d| d["number"].as_str()) {
            out.push(n.to_owned());
        }
        out
    }
    /// The refusal of a part that could not be posted.
    async fn queue_detail(&self) -> Option<&str> {
        self.0
            .queue_detail
            .as_ref()
            .and_then(|d| d["detail"].as_str())
    }
    /// Why staff returned it.
    async fn return_reason(&self) -> Option<&str> {
        self.0.return_reason.as_deref()
    }
    /// When it was received.
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }
}

async fn list(
    ctx: &Context<'_>,
    status: Option<BankPaymentStatus>,
    import: Option<Uuid>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Connection<String, BankPayment, super::pagination::Total>, ApiError> {
    allow(ctx, Operation::ReadImports)?;
    let limit = page_size(first)?;
    let after = cursor(after)?;
    let status = status.map(stored_status);
    let pool = &app(ctx).pool;
    let rows = view::list_bank_payments(pool, status, import, after, limit + 1).await?;
    counted(
        ctx,
        rows,
        limit,
        after.is_some(),
        view::count_bank_payments(pool, status, import),
        |r| (r.position.to_string(), BankPayment(r)),
    )
    .await
}

fn stored_status(s: BankPaymentStatus) -> &'static str {
    match s {
        BankPaymentStatus::Matched => "matched",
        BankPaymentStatus::Queued => "queued",
        BankPaymentStatus::Returned => "returned",
    }
}

/// The staff's imports and incoming payments.
#[derive(Default)]
pub struct ImportQuery;

#[Object]
impl ImportQuery {
    /// The latest imports, newest first (staff: accountants, auditors, administrators).
    async fn imports(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<ImportReport>> {
        allow(ctx, Operation::ReadImports)?;
        let limit = page_size(Some(first))?;
        Ok(imports::reports(&app(ctx).pool, None, limit)
            .await?
            .into_iter()
            .map(ImportReport)
            .collect())
    }

    /// One import's report.
    async fn import(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<ImportReport>> {
        allow(ctx, Operation::ReadImports)?;
        Ok(imports::report(&app(ctx).pool, id).await?.map(ImportReport))
    }

    /// Incoming payments of every import, oldest change first, optionally of one status: `QUEUED` is the
    /// staff's queue.
    async fn bank_payments(
        &self,
        ctx: &Context<'_>,
        status: Option<BankPaymentStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, BankPayment, super::pagination::Total>> {
        Ok(list(ctx, status, None, first, after).await?)
    }

    /// One incoming payment.
    async fn bank_payment(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<BankPayment>> {
        allow(ctx, Operation::ReadImports)?;
        Ok(view::load_bank_payment(&app(ctx).pool, id)
            .await?
            .map(BankPayment))
    }
}

/// A bank statement to import.
#[derive(InputObject)]
pub struct ImportBankStatementInput {
    /// The file: 1CClientBankExchange (Windows-1251, DOS or UTF-8) or ISO 20022 camt.053.
    pub file: Upload,
}

/// Contracts and schedules to import.
#[derive(InputObject)]
pub struct ImportContractsInput {
    /// The file: JSON Lines, one contract per line (docs/formats.md "Contracts").
    pub file: Upload,
}

/// Accounting documents to import.
#[derive(InputObject)]
pub struct ImportAccountingDocumentsInput {
    /// The package: a ZIP archive of `documents.jsonl` and the files it names (docs/formats.md
    /// "Accounting documents").
    pub file: Upload,
}

/// A traffic fines register to import.
#[derive(InputObject)]
pub struct ImportFinesRegisterInput {
    /// The file: CSV with a header row (UTF-8 or Windows-1251) or `<FinesRegister>` XML (docs/formats.md).
    pub file: Upload,
}

payload! {
    /// The answer of an import: its report; `position` is the place of the last event the import wrote
    /// (`null` when it wrote none: every line a duplicate or rejected), and `replayed` is always false (an
    /// import needs no idempotency key: importing the same file again changes nothing).
    ImportBankStatementPayload {
        /// The report.
        report: ImportReport
    }
}

payload! {
    /// The answer of a contracts file's import, as a statement's (`ImportBankStatementPayload`).
    ImportContractsPayload {
        /// The report.
        report: ImportReport
    }
}

payload! {
    /// The answer of an accounting-documents package's import, as a statement's
    /// (`ImportBankStatementPayload`).
    ImportAccountingDocumentsPayload {
        /// The report.
        report: ImportReport
    }
}

payload! {
    /// The answer of a fines register's import, as a statement's (`ImportBankStatementPayload`).
    ImportFinesRegisterPayload {
        /// The report.
        report: ImportReport
    }
}

/// A part staff assign.
#[derive(InputObject)]
pub struct BankPaymentPartInput {
    /// What it pays.
    pub kind: PartKind,
    /// The policy, for INSURANCE.
    pub policy_id: Option<Uuid>,
    /// How much.
    pub amount: Decimal,
}

/// Assigning a queued payment to a contract.
#[derive(InputObject)]
pub struct AssignBankPaymentInput {
    /// The payment.
    pub payment_id: Uuid,
    /// The contract.
    pub contract_id: Uuid,
    /// What it pays; without parts the whole amount pays leasing payments.
    pub parts: Option<Vec<BankPaymentPartInput>>,
}

/// Returning a queued payment to the payer.
#[derive(InputObject)]
pub struct ReturnBankPaymentInput {
    /// The payment.
    pub payment_id: Uuid,
    /// Why (kept with the payment).
    pub reason: String,
}

payload! {
    /// The result of a decision on a queued payment.
    BankPaymentPayload {
        /// The payment after the decision.
        bank_payment: BankPayment
    }
}

fn payment_error(e: CommandError<BankPaymentError>) -> ApiError {
    match e {
        CommandError::Rejected(e) => match &e {
            BankPaymentError::NotReceived => ApiError::NotFound("no such bank payment".into()),
            BankPaymentError::WrongStatus(s) => ApiError::invalid(
                "input.paymentId",
                Reason::domain(
                    "WRONG_STATUS",
                    Some(serde_json::json!({ "status": s.as_str() })),
                    format!("платёж уже в статусе «{}»", s.as_str()),
                ),
                e.to_string(),
            ),
            BankPaymentError::PartsDoNotAddUp { amount } => ApiError::invalid(
                "input.parts",
                Reason::domain(
                    "PARTS_SUM",
                    Some(serde_json::json!({ "amount": amount.amount().to_string() })),
                    format!(
                        "части должны быть положительными и в сумме давать {}",
                        amount.amount()
                    ),
                ),
                e.to_string(),
            ),
            BankPaymentError::Empty { field } => ApiError::invalid(
                format!("input.{field}"),
                Reason::Rule(domain::values::Rule::Required),
                e.to_string(),
            ),
            BankPaymentError::AlreadyReceived | BankPaymentError::NotPositive => {
                ApiError::Conflict(e.to_string())
            }
        },
        other => command_error(other),
    }
}

async fn decided(
    ctx: &Context<'_>,
    payment: Uuid,
    key: Option<String>,
    command: BankPaymentCommand,
) -> Result<BankPaymentPayload, ApiError> {
    let (actor, req) = allow(ctx, Operation::ResolveBankPayments)?;
    let key = super::context::idempotency_key(key)?;
    let out = app(ctx)
        .payments
        .execute(&payment.to_string(), command, &req.meta(actor, key))
        .await
        .map_err(payment_error)?;
    let row = view::load_bank_payment(&app(ctx).pool, payment)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such bank payment".into()))?;
    Ok(BankPaymentPayload::new(BankPayment(row), Done::from(&out)))
}

/// The staff's imports and decisions on queued payments.
#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports a bank statement (accountants, administrators): credits to the lessor's account are
    /// received, matched and posted, or queued for staff; a statement imported again changes nothing. The
    /// report counts every outcome and lists the rejected lines.
    async fn import_bank_statement(
        &self,
        ctx: &Context<'_>,
        input: ImportBankStatementInput,
    ) -> Result<ImportBankStatementPayload> {
        let (actor, req) = allow(ctx, Operation::ImportFiles)?;
        let value = upload(ctx, &input.file)?;
        let meta = req.meta(actor, None);
        let report = app(ctx)
            .importer()
            .statement(value.content, &value.filename, &meta)
            .await
            .map_err(on_input_file)?;
        let done = imported(ctx, &report).await?;
        Ok(ImportBankStatementPayload::new(ImportReport(report), done))
    }

    /// Imports a traffic fines register (accountants, administrators): each resolution is re-billed on the
    /// contract leasing the vehicle (by VIN, else by plate), with the discount the law gives for paying
    /// early and the fee the contract agrees; a register imported again changes nothing. The report counts
    /// every outcome and lists the rejected lines (a vehicle no contract in force leases among them).
    async fn import_fines_register(
        &self,
        ctx: &Context<'_>,
        input: ImportFinesRegisterInput,
    ) -> Result<ImportFinesRegisterPayload> {
        let (actor, req) = allow(ctx, Operation::ImportFiles)?;
        let value = upload(ctx, &input.file)?;
        let meta = req.meta(actor, None);
        let report = app(ctx)
            .importer()
            .fines(value.content, &value.filename, &meta)
            .await
            .map_err(on_input_file)?;
        let done = imported(ctx, &report).await?;
        Ok(ImportFinesRegisterPayload::new(ImportReport(report), done))
    }

    /// Imports contracts and schedules from the accounting system (accountants, administrators): a contract
    /// the cabinet does not have is concluded (its lessee found by ИНН and КПП); one it has gets the file's
    /// schedule — the lines not yet due or paid that differ are replaced — and fine fee. A file imported
    /// again changes nothing. The report counts created (`matched`), `changed`, unchanged (`duplicates`) and
    /// rejected contracts.
    async fn import_contracts(
        &self,
        ctx: &Context<'_>,
        input: ImportContractsInput,
    ) -> Result<ImportContractsPayload> {
        let (actor, req) = allow(ctx, Operation::ImportFiles)?;
        let value = upload(ctx, &input.file)?;
        let meta = req.meta(actor, None);
        let report = app(ctx)
            .importer()
            .contracts(value.content, &value.filename, &meta)
            .await
            .map_err(on_input_file)?;
        let done = imported(ctx, &report).await?;
        Ok(ImportContractsPayload::new(ImportReport(report), done))
    }

    /// Imports accounting documents from the accounting system (accountants, administrators): счета-фактуры,
    /// УПД and acts, each listed to its contract's company with its period and sums (and sent for the
    /// lessee's signature when it carries the lessor's), delivered on the accounting-documents requests for
    /// its period. A ФНС XML that disagrees with its line is rejected; a package imported again changes
    /// nothing. The report counts imported (`matched`), unchanged (`duplicates`) and rejected documents.
    async fn import_accounting_documents(
        &self,
        ctx: &Context<'_>,
        input: ImportAccountingDocumentsInput,
    ) -> Result<ImportAccountingDocumentsPayload> {
        let (actor, req) = allow(ctx, Operation::ImportFiles)?;
        let value = upload(ctx, &input.file)?;
        let meta = req.meta(actor, None);
        let report = app(ctx)
            .importer()
            .accounting_documents(
                crate::app::imports::documents::Package::Zip(value.content),
                &value.filename,
                &meta,
            )
            .await
            .map_err(on_input_file)?;
        let done = imported(ctx, &report).await?;
        Ok(ImportAccountingDocumentsPayload::new(
            ImportReport(report),
            done,
        ))
    }

    /// Assigns a queued payment to a contract, with its parts (accountants, administrators); they are
    /// posted to the contract (and policies) as a matched payment's are.
    async fn assign_bank_payment(
        &self,
        ctx: &Context<'_>,
        input: AssignBankPaymentInput,
        idempotency_key: Option<String>,
    ) -> Result<BankPaymentPayload> {
        allow(ctx, Operation::ResolveBankPayments)?;
        let pool = &app(ctx).pool;
        let payment = view::load_bank_payment(pool, input.payment_id)
            .await?
            .ok_or_else(|| ApiError::NotFound("no such bank payment".into()))?;
        let company = projections::views::contracts::contract_company(pool, input.contract_id)
            .await?
            .ok_or_else(|| ApiError::NotFound("contract not found".into()))?;
        let parts = match input.parts {
            None => vec![Part::new(Target::Leasing, Money::round(payment.amount))],
            Some(parts) => {
                let mut out = Vec::with_capacity(parts.len());
                for (i, p) in parts.into_iter().enumerate() {
                    let field = format!("input.parts[{i}]");
                    let amount = Money::from_decimal(p.amount).map_err(|e| {
                        ApiError::validation(format!("{field}.amount"), e.to_string())
                    })?;
                    let target = match (p.kind, p.policy_id) {
                        (PartKind::Insurance, Some(policy_id)) => {
                            let policy = projections::views::policies::load_policy(pool, policy_id)
                                .await?
                                .filter(|p| p.contract_id == input.contract_id)
                                .ok_or_else(|| {
                                    ApiError::validation(
                                        format!("{field}.policyId"),
                                        "not a policy of this contract",
                                    )
                                })?;
                            Target::Insurance {
                                policy_id: policy.policy_id,
                            }
                        }
                        (PartKind::Insurance, None) => {
                            return Err(ApiError::validation(
                                format!("{field}.policyId"),
                                "is required for INSURANCE",
                            )
                            .into())
                        }
                        (_, Some(_)) => {
                            return Err(ApiError::validation(
                                format!("{field}.policyId"),
                                "is only for INSURANCE",
                            )
                            .into())
                        }
                        (PartKind::Leasing, None) => Target::Leasing,
                        (PartKind::Penalty, None) => Target::Penalty,
                        (PartKind::Fine, None) => Target::Fine,
                        (PartKind::Credit, None) => Target::Credit,
                    };
                    out.push(Part::new(target, amount));
                }
                out
            }
        };
        Ok(decided(
            ctx,
            input.payment_id,
            idempotency_key,
            BankPaymentCommand::Assign(Match {
                contract_id: input.contract_id,
                company_id: company,
                parts,
                rule: MatchRule::Staff,
            }),
        )
        .await?)
    }

    /// Returns a queued payment to the payer, with the reason (accountants, administrators). The refund
    /// itself is a payment order from the lessor's bank: this records the decision.
    async fn return_bank_payment(
        &self,
        ctx: &Context<'_>,
        input: ReturnBankPaymentInput,
        idempotency_key: Option<String>,
    ) -> Result<BankPaymentPayload> {
        Ok(decided(
            ctx,
            input.payment_id,
            idempotency_key,
            BankPaymentCommand::Return {
                reason: input.reason,
            },
        )
        .await?)
    }
}

/// The uploaded file, or why it cannot be read.
fn upload(
    ctx: &Context<'_>,
    file: &async_graphql::Upload,
) -> Result<async_graphql::UploadValue, ApiError> {
    file.value(ctx)
        .map_err(|e| ApiError::validation("input.file", format!("the upload cannot be read: {e}")))
}

/// An importer's refusal of the file, named as the input's field.
fn on_input_file(e: ApiError) -> ApiError {
    match e {
        ApiError::Validation {
            field,
            message,
            reason,
            what,
        } if field == "file" => ApiError::Validation {
            field: "input.file".into(),
            message,
            reason,
            what,
        },
        e => e,
    }
}

/// An import's place in the log: the last event it wrote (none when it wrote none).
async fn imported(ctx: &Context<'_>, report: &Report) -> Result<Done, ApiError> {
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT max(position) FROM events WHERE metadata ->> 'correlation_id' = $1",
    )
    .bind(format!("import:{}", report.import_id))
    .fetch_one(&app(ctx).pool)
    .await?;
    Ok(Done {
        position: last.map(super::position::Position::event),
        replayed: false,
    })
}
