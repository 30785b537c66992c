//! Imports from the back office (issue 25; docs/formats.md). A bank statement — `1CClientBankExchange` or
//! camt.053 — is read as a stream, a chunk of lines at a time (bounded memory whatever its length): each
//! credit to the lessor's account becomes a [`BankPayment`], received with the matcher's decision
//! ([`domain::payments::decide`] over what the read models know of the contracts, invoices, fines and
//! policies the line names). A line received before (this statement or another with the same payment) is
//! a duplicate and changes nothing; a damaged one is rejected with its place, field and reason. The run's
//! report is a row of `imports`; every command of the run carries the correlation `import:<id>`, so
//! `correlation(id)` tells the file's whole story. The GraphQL upload and `cabinet import statement` call
//! the same [`Importer::statement`].

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Read, Seek};
use std::sync::Arc;

use domain::payments::purpose::{self, Kind, Reading};
use domain::payments::{
    decide, payment_id, BankPayment, BankPaymentCommand, BankPaymentError, ContractFact, Decision,
    Facts, Incoming, Payer, PolicyFact, Source,
};
use domain::values::{Money, Personal};
use formats::{FileError, Rejected, StatementFormat, StatementLine};
use projections::store::command::CommandExecutor;
use projections::store::event::CommandMeta;
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::app::documents::Lessor;
use crate::error::ApiError;

/// Lines received per transaction.
pub const CHUNK: usize = 500;

/// Rejected lines kept in a report (the count is exact).
const KEPT_REJECTIONS: usize = 1000;

/// A rejected line of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Rejection {
    /// Line (1C) or entry (camt) in the file.
    pub place: usize,
    /// The field at fault, as the format names it.
    pub field: String,
    /// Why.
    pub reason: String,
}

/// The report of one imported file.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Report {
    /// The import.
    pub import_id: Uuid,
    /// `bank_statement`.
    pub kind: String,
    /// `1c`, `camt053` (none when the file was not recognised).
    pub format: Option<String>,
    /// The file's name as given.
    pub file_name: String,
    /// Its SHA-256.
    pub sha256: String,
    /// Its size.
    pub size: i64,
    /// Who imported it (`account:<id>`, `system:cli`).
    pub imported_by: String,
    /// running, done, failed.
    pub status: String,
    /// The statement's accounts.
    pub accounts: Vec<String>,
    /// Payment documents read (every outcome below).
    pub lines: i32,
    /// Received and matched to a contract.
    pub matched: i32,
    /// Received and waiting for staff.
    pub queued: i32,
    /// Received before.
    pub duplicates: i32,
    /// Not readable.
    pub rejected: i32,
    /// Not a payment to the lessor (a debit, or a credit to another account).
    pub skipped: i32,
    /// Changed (a contracts file: contracts whose schedule or terms changed).
    pub changed: i32,
    /// Sum of the matched.
    pub amount_matched: Decimal,
    /// Sum of the queued.
    pub amount_queued: Decimal,
    /// Rejected lines (the first 1,000).
    #[sqlx(json)]
    pub rejections: Vec<Rejection>,
    /// Why the file failed as a whole.
    pub error: Option<String>,
    /// Started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Finished.
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

const REPORT_COLUMNS: &str = "import_id, kind, format, file_name, sha256, size, imported_by, status, accounts, \
    lines, matched, queued, duplicates, rejected, skipped, changed, amount_matched, amount_queued, rejections, \
    error, started_at, finished_at";

/// One import's report.
///
/// # Errors
/// A database error.
pub async fn report(pool: &PgPool, id: Uuid) -> Result<Option<Report>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {REPORT_COLUMNS} FROM imports WHERE import_id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The latest imports, newest first, `limit` of them before `before` (a start time).
///
/// # Errors
/// A database error.
pub async fn reports(
    pool: &PgPool,
    before: Option<chrono::DateTime<chrono::Utc>>,
    limit: i64,
) -> Result<Vec<Report>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {REPORT_COLUMNS} FROM imports WHERE started_at < coalesce($1, 'infinity') \
         ORDER BY started_at DESC, import_id LIMIT $2"
    ))
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// What an import needs.
#[derive(Clone)]
pub struct Importer {
    /// The database.
    pub pool: PgPool,
    /// BankPayment commands.
    pub payments: Arc<CommandExecutor<BankPayment>>,
    /// The lessor (its settlement account receives the payments).
    pub lessor: Arc<Lessor>,
    /// Contract commands (the fines register).
    pub contracts: Arc<CommandExecutor<domain::contract::Contract>>,
    /// Policy commands (the contracts file's policies).
    pub policies: Arc<CommandExecutor<domain::policy::Policy>>,
    /// Document commands (accounting documents).
    pub documents: Arc<CommandExecutor<domain::document::Document>>,
    /// Where the files of accounting documents are stored.
    pub store: Arc<dyn crate::app::files::FileStore>,
}

pub mod contracts;
pub mod documents;
mod fines;

/// Counts of one chunk.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    lines: i32,
    matched: i32,
    queued: i32,
    duplicates: i32,
    rejected: i32,
    skipped: i32,
    changed: i32,
    amount_matched: Decimal,
    amount_queued: Decimal,
    rejections: Vec<Rejection>,
}

impl Tally {
    /// Counts a rejected line and keeps why.
    fn reject(&mut self, place: usize, field: impl Into<String>, reason: impl Into<String>) {
        self.rejected += 1;
        self.rejections.push(Rejection {
            place,
            field: field.into(),
            reason: reason.into(),
        });
    }
}

/// What the reading thread hands over.
enum Item {
    Line(Box<StatementLine>),
    Rejected(Rejected),
}

struct Chunk {
    items: Vec<Item>,
    accounts: Vec<String>,
}

pub(crate) fn hash_file(file: &mut std::fs::File) -> std::io::Result<(String, i64, Vec<u8>)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0i64;
    let mut head = Vec::new();
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if head.len() < 512 {
            head.extend_from_slice(&buf[..n.min(512 - head.len())]);
        }
        hasher.update(&buf[..n]);
        size += n as i64;
    }
    file.rewind()?;
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hex, size, head))
}

/// The file's SHA-256, size and first bytes (it is read once through, then rewound), on a blocking thread.
///
/// # Errors
/// VALIDATION on `file` when it cannot be read.
pub(crate) async fn hashed(
    mut file: std::fs::File,
) -> Result<(String, i64, Vec<u8>, std::fs::File), ApiError> {
    tokio::task::spawn_blocking(move || hash_file(&mut file).map(|(h, s, head)| (h, s, head, file)))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?
        .map_err(|e| ApiError::validation("file", format!("the file could not be read: {e}")))
}

/// Reads the records `open` makes of `file` on a blocking thread, sending chunks of [`CHUNK`] (two in flight
/// at most); a reader's error ends the stream after the records before it.
pub(crate) fn records_in_chunks<T, I>(
    file: std::fs::File,
    open: impl FnOnce(BufReader<std::fs::File>) -> Result<I, FileError> + Send + 'static,
) -> tokio::sync::mpsc::Receiver<Result<Vec<T>, FileError>>
where
    T: Send + 'static,
    I: Iterator<Item = Result<T, FileError>>,
{
    chunks_of(CHUNK, move || {
        open(BufReader::with_capacity(64 * 1024, file))
    })
}

/// Reads the records `open` makes on a blocking thread, sending chunks of `size` (two in flight at most); a
/// reader's error ends the stream after the records before it.
pub(crate) fn chunks_of<T, I>(
    size: usize,
    open: impl FnOnce() -> Result<I, FileError> + Send + 'static,
) -> tokio::sync::mpsc::Receiver<Result<Vec<T>, FileError>>
where
    T: Send + 'static,
    I: Iterator<Item = Result<T, FileError>>,
{
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        let reader = match open() {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        let mut items = Vec::with_capacity(size);
        for item in reader {
            match item {
                Ok(record) => items.push(record),
                Err(e) => {
                    if !items.is_empty()
                        && tx.blocking_send(Ok(std::mem::take(&mut items))).is_err()
                    {
                        return;
                    }
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
            if items.len() >= size && tx.blocking_send(Ok(std::mem::take(&mut items))).is_err() {
                return;
            }
        }
        if !items.is_empty() {
            let _ = tx.blocking_send(Ok(items));
        }
    });
    rx
}

/// Reads `file` on a blocking thread, sending chunks of [`CHUNK`] items (two in flight at most).
fn read_in_chunks(
    file: std::fs::File,
    format: StatementFormat,
) -> tokio::sync::mpsc::Receiver<Result<Chunk, FileError>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        let input = BufReader::with_capacity(64 * 1024, file);
        let send = |items: &mut Vec<Item>, accounts: &[String]| {
            let chunk = Chunk {
                items: std::mem::take(items),
                accounts: accounts.to_vec(),
            };
            tx.blocking_send(Ok(chunk)).is_ok()
        };
        macro_rules! drain {
            ($reader:expr, $accounts:expr) => {{
                let mut reader = $reader;
                let mut items = Vec::with_capacity(CHUNK);
                loop {
                    match reader.next() {
                        None => break,
                        Some(Err(e)) => {
                            if !items.is_empty() && !send(&mut items, &$accounts(&reader)) {
                                return;
                            }
                            let _ = tx.blocking_send(Err(e));
                            return;
                        }
                        Some(Ok(Ok(line))) => items.push(Item::Line(Box::new(line))),
                        Some(Ok(Err(r))) => items.push(Item::Rejected(r)),
                    }
                    if items.len() >= CHUNK && !send(&mut items, &$accounts(&reader)) {
                        return;
                    }
                }
                if !items.is_empty() {
                    send(&mut items, &$accounts(&reader));
                }
            }};
        }
        match format {
            StatementFormat::OneC => match formats::onec::Reader::new(input) {
                Ok(r) => drain!(r, |r: &formats::onec::Reader<_>| r
                    .header()
                    .accounts
                    .clone()),
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                }
            },
            StatementFormat::Camt053 => match formats::camt::Reader::new(input) {
                Ok(r) => drain!(r, |r: &formats::camt::Reader<_>| r
                    .header()
                    .accounts
                    .clone()),
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                }
            },
        }
    });
    rx
}

impl Importer {
    /// Imports a bank statement from `file` (its name as given: `name`) as `meta`'s actor.
    ///
    /// # Errors
    /// VALIDATION on `file` when it is neither format (nothing is stored); a database error. A file that
    /// breaks off midway is reported `failed` with the reason, keeping what was received before.
    pub async fn statement(
        &self,
        file: std::fs::File,
        name: &str,
        meta: &CommandMeta,
    ) -> Result<Report, ApiError> {
        let (sha256, size, head, file) = hashed(file).await?;
        let Some(format) = StatementFormat::detect(&head) else {
            return Err(ApiError::validation(
                "file",
                "not a bank statement: expected 1CClientBankExchange or an ISO 20022 camt.053 XML file",
            ));
        };
        let (import_id, meta) = self
            .begin("bank_statement", format.as_str(), name, &sha256, size, meta)
            .await?;
        let source = |place: usize| Source {
            import_id,
            sha256: sha256.clone(),
            format: format.as_str().to_owned(),
            place: u32::try_from(place).unwrap_or(u32::MAX),
        };
        let mut chunks = read_in_chunks(file, format);
        let mut seen: HashSet<Uuid> = HashSet::new();
        let run = async {
            let mut failure: Option<String> = None;
            while let Some(chunk) = chunks.recv().await {
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(e) => {
                        failure = Some(e.to_string());
                        break;
                    }
                };
                let tally = self
                    .chunk(chunk.items, &chunk.accounts, &source, &mut seen, &meta)
                    .await?;
                self.tally(import_id, &chunk.accounts, &tally).await?;
            }
            Ok::<_, ApiError>(failure)
        };
        let r = self.finish(import_id, run.await).await?;
        tracing::info!(
            import = %import_id, file = name, lines = r.lines, matched = r.matched, queued = r.queued,
            duplicates = r.duplicates, rejected = r.rejected, skipped = r.skipped, status = %r.status,
            "bank statement imported"
        );
        Ok(r)
    }

    /// Opens an import's report (`running`) and the meta its commands carry (correlation `import:<id>`).
    pub(crate) async fn begin(
        &self,
        kind: &str,
        format: &str,
        name: &str,
        sha256: &str,
        size: i64,
        meta: &CommandMeta,
    ) -> Result<(Uuid, CommandMeta), ApiError> {
        let import_id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO imports (import_id, kind, format, file_name, sha256, size, imported_by, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'running')",
        )
        .bind(import_id)
        .bind(kind)
        .bind(format)
        .bind(name)
        .bind(sha256)
        .bind(size)
        .bind(&meta.actor)
        .execute(&self.pool)
        .await?;
        let mut meta = meta.clone();
        meta.correlation_id = format!("import:{import_id}");
        meta.causation_id = format!("import:{import_id}");
        Ok((import_id, meta))
    }

    /// Closes an import's report after its run (`Ok(Some(reason))`: the file broke off; `Err`: the
    /// database failed midway) and returns it.
    pub(crate) async fn finish(
        &self,
        import_id: Uuid,
        run: Result<Option<String>, ApiError>,
    ) -> Result<Report, ApiError> {
        let failure = match run {
            Ok(f) => f,
            Err(e) => {
                // The database failed midway: the report says so (best effort: it may be the database that
                // is gone), and what was received before stays; importing the file again completes it.
                let _ = sqlx::query(
                    "UPDATE imports SET status = 'failed', error = $2, finished_at = clock_timestamp() \
                     WHERE import_id = $1",
                )
                .bind(import_id)
                .bind(format!("stopped: {}: {}", e.code(), e.message()))
                .execute(&self.pool)
                .await;
                return Err(e);
            }
        };
        sqlx::query(
            "UPDATE imports SET status = $2, error = $3, finished_at = clock_timestamp(), \
               rejections = (SELECT coalesce(jsonb_agg(r), '[]') FROM (SELECT r FROM jsonb_array_elements(rejections) r \
                 LIMIT $4) x) \
             WHERE import_id = $1",
        )
        .bind(import_id)
        .bind(if failure.is_some() { "failed" } else { "done" })
        .bind(&failure)
        .bind(KEPT_REJECTIONS as i64)
        .execute(&self.pool)
        .await?;
        let r = report(&self.pool, import_id)
            .await?
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the import report is gone")))?;
        metrics::counter!("cabinet_import_lines_total", "outcome" => "matched")
            .increment(r.matched as u64);
        metrics::counter!("cabinet_import_lines_total", "outcome" => "queued")
            .increment(r.queued as u64);
        metrics::counter!("cabinet_import_lines_total", "outcome" => "duplicate")
            .increment(r.duplicates as u64);
        metrics::counter!("cabinet_import_lines_total", "outcome" => "rejected")
            .increment(r.rejected as u64);
        Ok(r)
    }

    /// Adds a chunk's counts to the import's report.
    pub(crate) async fn tally(
        &self,
        import_id: Uuid,
        accounts: &[String],
        t: &Tally,
    ) -> Result<(), ApiError> {
        sqlx::query(
            "UPDATE imports SET accounts = $2, lines = lines + $3, matched = matched + $4, \
               queued = queued + $5, duplicates = duplicates + $6, rejected = rejected + $7, \
               skipped = skipped + $8, amount_matched = amount_matched + $9, \
               amount_queued = amount_queued + $10, \
               rejections = CASE WHEN jsonb_array_length(rejections) >= $11 THEN rejections \
                 ELSE rejections || $12 END, \
               changed = changed + $13 \
             WHERE import_id = $1",
        )
        .bind(import_id)
        .bind(accounts)
        .bind(t.lines)
        .bind(t.matched)
        .bind(t.queued)
        .bind(t.duplicates)
        .bind(t.rejected)
        .bind(t.skipped)
        .bind(t.amount_matched)
        .bind(t.amount_queued)
        .bind(KEPT_REJECTIONS as i32)
        .bind(sqlx::types::Json(&t.rejections))
        .bind(t.changed)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a line is money coming to the lessor: the statement says so (camt), or the payee's account
    /// is the statement's or the lessor's own and the payer's is not (1C).
    fn incoming(&self, line: &StatementLine, accounts: &[String]) -> bool {
        let own = |a: &Option<String>| {
            a.as_deref().is_some_and(|a| {
                accounts.iter().any(|x| x == a)
                    || self
                        .lessor
                        .organisation
                        .bank
                        .as_ref()
                        .is_some_and(|b| b.settlement_account == a)
            })
        };
        match line.incoming {
            Some(incoming) => incoming,
            None => own(&line.payee.account) && !own(&line.payer.account),
        }
    }

    async fn chunk(
        &self,
        items: Vec<Item>,
        accounts: &[String],
        source: &(dyn Fn(usize) -> Source + Sync),
        seen: &mut HashSet<Uuid>,
        meta: &CommandMeta,
    ) -> Result<Tally, ApiError> {
        let mut t = Tally::default();
        let mut lines: Vec<(Uuid, StatementLine, Reading)> = Vec::new();
        for item in items {
            t.lines += 1;
            match item {
                Item::Rejected(r) => {
                    t.reject(r.place, r.field, r.reason);
                }
                Item::Line(line) => {
                    if !self.incoming(&line, accounts) {
                        t.skipped += 1;
                        continue;
                    }
                    let payer_key = line
                        .payer
                        .inn
                        .clone()
                        .or_else(|| line.payer.account.clone())
                        .unwrap_or_default();
                    let number = match &line.bank_reference {
                        Some(r) => format!("{}|{r}", line.number),
                        None => line.number.clone(),
                    };
                    let id = payment_id(
                        line.payee.account.as_deref().unwrap_or(""),
                        &payer_key,
                        &number,
                        line.date,
                        Money::round(line.amount),
                    );
                    // The same payment twice in one file, or in an earlier file.
                    if !seen.insert(id) {
                        t.duplicates += 1;
                        continue;
                    }
                    let reading = purpose::read(&line.purpose);
                    lines.push((id, *line, reading));
                }
            }
        }
        if lines.is_empty() {
            return Ok(t);
        }
        let ids: Vec<Uuid> = lines.iter().map(|(id, _, _)| *id).collect();
        let known: HashSet<Uuid> = sqlx::query_scalar(
            "SELECT payment_id FROM bank_payments_view WHERE payment_id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .collect();
        lines.retain(|(id, _, _)| {
            let dup = known.contains(id);
            if dup {
                t.duplicates += 1;
            }
            !dup
        });
        let facts = self.facts(&lines).await?;
        let mut commands = Vec::with_capacity(lines.len());
        let mut decided: HashMap<String, (bool, Decimal)> = HashMap::new();
        let mut used: HashMap<Uuid, Money> = HashMap::new();
        for ((id, line, reading), mut facts) in lines.into_iter().zip(facts) {
            let amount = Money::round(line.amount);
            // Premium taken by the lines before this one in the chunk is not unpaid any more.
            for p in &mut facts.policies {
                if let Some(used) = used.get(&p.policy_id) {
                    p.unpaid = (p.unpaid - *used).max(Money::ZERO);
                }
            }
            let decision = decide(amount, line.payer.inn.as_deref(), &reading, &facts);
            if let Decision::Matched(m) = &decision {
                for part in &m.parts {
                    if let domain::payments::Target::Insurance { policy_id } = part.target {
                        let u = used.entry(policy_id).or_insert(Money::ZERO);
                        *u = *u + part.amount;
                    }
                }
            }
            decided.insert(
                id.to_string(),
                (matches!(decision, Decision::Matched(_)), line.amount),
            );
            let reference = line.bank_reference.clone().unwrap_or_else(|| {
                format!(
                    "п/п {} от {}{}",
                    line.number,
                    line.date.format("%d.%m.%Y"),
                    line.payer
                        .inn
                        .as_ref()
                        .or(line.payer.account.as_ref())
                        .map(|p| format!(", {p}"))
                        .unwrap_or_default()
                )
            });
            let incoming = Incoming {
                reference,
                number: line.number.clone(),
                date: line.date,
                credited_on: line.credited_on,
                amount,
                payer: Payer {
                    name: Personal::new(line.payer.name.clone()),
                    inn: line.payer.inn.clone(),
                    kpp: line.payer.kpp.clone(),
                    account: line.payer.account.clone(),
                    bank: line.payer.bank.clone(),
                },
                purpose: Personal::new(line.purpose.clone()),
                uin: line.uin.clone(),
                source: source(line.place),
            };
            commands.push((
                id.to_string(),
                BankPaymentCommand::Receive(Box::new(incoming), decision),
            ));
        }
        let outcomes = self
            .payments
            .execute_many(commands, meta)
            .await
            .map_err(crate::error::command_error)?;
        for (id, outcome) in outcomes {
            let (matched, amount) = decided.get(&id).copied().unwrap_or_default();
            match outcome {
                Ok(_) if matched => {
                    t.matched += 1;
                    t.amount_matched += amount;
                }
                Ok(_) => {
                    t.queued += 1;
                    t.amount_queued += amount;
                }
                // Another import of the same payment committed first.
                Err(BankPaymentError::AlreadyReceived) => t.duplicates += 1,
                Err(e) => {
                    t.reject(0, "payment", e.to_string());
                }
            }
        }
        Ok(t)
    }

    /// What the read models know about each line's candidates, in a few statements for the whole chunk.
    async fn facts(
        &self,
        lines: &[(Uuid, StatementLine, Reading)],
    ) -> Result<Vec<Facts>, ApiError> {
        let mut numbers: Vec<String> = Vec::new();
        let mut invoices: Vec<String> = Vec::new();
        let mut uins: Vec<String> = Vec::new();
        let mut inns: Vec<String> = Vec::new();
        for (_, line, r) in lines {
            for n in &r.numbers {
                numbers.push(n.clone());
                numbers.push(n.to_uppercase());
            }
            invoices.extend(r.invoices.iter().cloned());
            uins.extend(r.uins.iter().cloned());
            uins.extend(line.uin.iter().cloned());
            inns.extend(line.payer.inn.iter().cloned());
        }
        type Row = (Uuid, Uuid, String, String, String, Option<String>);
        const CONTRACT: &str =
            "SELECT c.contract_id, c.company_id, co.inn, c.number, c.status, co.kpp \
             FROM contracts_view c JOIN companies_view co USING (company_id)";
        let fact = |r: &Row| ContractFact {
            contract_id: r.0,
            company_id: r.1,
            company_inn: r.2.clone(),
            number: r.3.clone(),
            open: matches!(r.4.as_str(), "concluded" | "active"),
        };
        let by_number: Vec<Row> = sqlx::query_as(&format!("{CONTRACT} WHERE c.number = ANY($1)"))
            .bind(&numbers)
            .fetch_all(&self.pool)
            .await?;
        let by_inn: Vec<Row> = sqlx::query_as(&format!("{CONTRACT} WHERE co.inn = ANY($1)"))
            .bind(&inns)
            .fetch_all(&self.pool)
            .await?;
        let by_uin: Vec<(String, Uuid)> = sqlx::query_as(
            "SELECT resolution_number, contract_id FROM fines_view WHERE resolution_number = ANY($1)",
        )
        .bind(&uins)
        .fetch_all(&self.pool)
        .await?;
        let by_invoice: Vec<(String, Uuid)> = sqlx::query_as(
            "SELECT number, contract_id FROM exchange_documents_view \
             WHERE kind = 'invoice' AND number = ANY($1) AND contract_id IS NOT NULL",
        )
        .bind(&invoices)
        .fetch_all(&self.pool)
        .await?;
        // Company-wide invoices: the share of each contract, in the invoice's order.
        let by_company_invoice: Vec<(String, Uuid, Decimal)> = sqlx::query_as(
            "SELECT d.number, s.contract_id, s.amount FROM exchange_documents_view d \
             JOIN invoice_shares_view s USING (document_id) \
             WHERE d.kind = 'invoice' AND d.number = ANY($1) AND d.contract_id IS NULL \
             ORDER BY d.number, s.ordinal",
        )
        .bind(&invoices)
        .fetch_all(&self.pool)
        .await?;
        // The contracts the fines and invoices name, for their facts.
        let extra: Vec<Uuid> = by_uin
            .iter()
            .map(|(_, c)| *c)
            .chain(by_invoice.iter().map(|(_, c)| *c))
            .chain(by_company_invoice.iter().map(|(_, c, _)| *c))
            .collect();
        let by_id: Vec<Row> = sqlx::query_as(&format!("{CONTRACT} WHERE c.contract_id = ANY($1)"))
            .bind(&extra)
            .fetch_all(&self.pool)
            .await?;
        let contract_ids: Vec<Uuid> = by_number
            .iter()
            .chain(&by_inn)
            .chain(&by_id)
            .map(|r| r.0)
            .collect();
        let policies: Vec<(Uuid, Uuid, Decimal)> = sqlx::query_as(
            "SELECT policy_id, contract_id, premium - premium_paid FROM policies_view \
             WHERE payer = 'lessor' AND status <> 'cancelled' AND premium > premium_paid \
               AND contract_id = ANY($1) ORDER BY first_starts_on, policy_id",
        )
        .bind(&contract_ids)
        .fetch_all(&self.pool)
        .await?;
        let policies: Vec<PolicyFact> = policies
            .into_iter()
            .map(|(policy_id, contract_id, unpaid)| PolicyFact {
                policy_id,
                contract_id,
                unpaid: Money::round(unpaid),
            })
            .collect();
        let find = |id: Uuid| by_id.iter().find(|r| r.0 == id).map(fact);
        Ok(lines
            .iter()
            .map(|(_, line, r)| {
                let uin = line.uin.iter().chain(&r.uins).find_map(|u| {
                    by_uin
                        .iter()
                        .find(|(n, _)| n == u)
                        .and_then(|(_, c)| find(*c))
                });
                let invoice = r.invoices.iter().find_map(|i| {
                    by_invoice
                        .iter()
                        .find(|(n, _)| n == i)
                        .and_then(|(_, c)| find(*c))
                        .map(|c| (c, Kind::Leasing))
                });
                let company_invoice = r.invoices.iter().find_map(|i| {
                    let shares: Vec<(ContractFact, Money)> = by_company_invoice
                        .iter()
                        .filter(|(n, _, _)| n == i)
                        .filter_map(|(_, c, a)| find(*c).map(|c| (c, Money::round(*a))))
                        .collect();
                    (!shares.is_empty()).then(|| (i.clone(), shares))
                });
                let named: Vec<ContractFact> = r
                    .numbers
                    .iter()
                    .filter_map(|n| {
                        by_number
                            .iter()
                            .find(|row| row.3 == *n || row.3 == n.to_uppercase())
                            .map(fact)
                    })
                    .collect();
                // The payer's contracts: of the companies with its ИНН, those with its КПП when any has it.
                let with_inn: Vec<&Row> = by_inn
                    .iter()
                    .filter(|row| line.payer.inn.as_deref() == Some(row.2.as_str()))
                    .collect();
                let with_kpp: Vec<&Row> = with_inn
                    .iter()
                    .copied()
                    .filter(|row| line.payer.kpp.is_some() && row.5 == line.payer.kpp)
                    .collect();
                let payer = if with_kpp.is_empty() {
                    with_inn
                } else {
                    with_kpp
                };
                let mut candidates: Vec<Uuid> = named.iter().map(|c| c.contract_id).collect();
                candidates.extend(payer.iter().map(|r| r.0));
                candidates.extend(uin.iter().map(|c| c.contract_id));
                candidates.extend(invoice.iter().map(|(c, _)| c.contract_id));
                Facts {
                    fine: uin,
                    invoice,
                    company_invoice,
                    named,
                    payer: payer.into_iter().map(fact).collect(),
                    policies: policies
                        .iter()
                        .filter(|p| candidates.contains(&p.contract_id))
                        .cloned()
                        .collect(),
                }
            })
            .collect())
    }
}
