//! Accounting documents from the accounting system (docs/formats.md "Accounting documents"): a package — a
//! ZIP archive or, for `cabinet import documents DIR`, a directory — of a manifest (`documents.jsonl`) and
//! the files its lines name. Each line becomes a Document of its contract's company (`DocumentIssued`, its
//! id derived from the accounting system's id, so the same line always names the same document) with the
//! period, sums and the ФНС XML beside the PDF; a line carrying the lessor's signature is sent for the
//! lessee's signature at once. The ФНС XML is checked against its line (function, number, date, the
//! buyer's ИНН, the totals): a file that says otherwise is rejected, not listed.
//!
//! The package is read on a blocking thread a few documents at a time (their files are in memory only
//! while their chunk is written), so a package of any length is read in bounded memory.

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Read, Seek};
use std::path::PathBuf;

use domain::document::{Accounting, DocumentCommand, DocumentError, DocumentInfo, DocumentKind};
use domain::request::Party;
use domain::values::{FileRef, Money};
use formats::accounting::{DocumentRecord, Formal, SignatureRecord, MANIFEST, MAX_FILE_BYTES};
use formats::{FileError, Rejected};
use projections::store::command::BatchOutcome;
use projections::store::event::CommandMeta;
use sha2::Digest;
use uuid::Uuid;

use super::contracts::contract_id;
use super::{chunks_of, hash_file, Importer, Report, Tally};
use crate::error::ApiError;

/// The namespace of the ids of imported documents: a document's id is the UUID v5 of its external id in it.
pub const IMPORTED_DOCUMENTS: Uuid = Uuid::from_u128(0x1c0c_7a1e_0000_4000_8000_646f_6375_6d65);

/// The cabinet's id of the document the accounting system calls `external_id`.
pub fn document_id(external_id: &str) -> Uuid {
    Uuid::new_v5(&IMPORTED_DOCUMENTS, external_id.trim().as_bytes())
}

/// Documents per chunk: their files travel with them.
const DOCUMENTS_PER_CHUNK: usize = 20;

/// Where a package is.
#[derive(Debug)]
pub enum Package {
    /// A ZIP archive (the staff's upload; `cabinet import documents FILE.zip`).
    Zip(std::fs::File),
    /// A directory (`cabinet import documents DIR`).
    Dir(PathBuf),
}

/// A file of the package, read.
struct Content {
    name: String,
    bytes: Vec<u8>,
}

/// A manifest line with its files, as the reading thread hands it over.
struct Read1 {
    record: DocumentRecord,
    pdf: Content,
    xml: Option<(Content, Formal)>,
    signature: Option<(SignatureRecord, Content)>,
}

type Item = Result<Box<Read1>, Rejected>;

/// Opens a package's files by their manifest paths.
enum Opened {
    Zip(zip::ZipArchive<BufReader<std::fs::File>>),
    Dir(PathBuf),
}

impl Opened {
    /// The file at `path`, at most [`MAX_FILE_BYTES`].
    fn read(&mut self, path: &str) -> Result<Vec<u8>, String> {
        let path = formats::accounting::package_path(path)?;
        let mut out = Vec::new();
        let read = match self {
            Self::Zip(z) => {
                let entry = z
                    .by_name(path)
                    .map_err(|_| format!("«{path}» is not in the package"))?;
                entry.take(MAX_FILE_BYTES + 1).read_to_end(&mut out)
            }
            Self::Dir(root) => {
                let file = std::fs::File::open(root.join(path))
                    .map_err(|_| format!("«{path}» is not in the package"))?;
                file.take(MAX_FILE_BYTES + 1).read_to_end(&mut out)
            }
        };
        read.map_err(|e| format!("«{path}» could not be read: {e}"))?;
        if out.len() as u64 > MAX_FILE_BYTES {
            return Err(format!("«{path}» is larger than {MAX_FILE_BYTES} bytes"));
        }
        Ok(out)
    }

    /// The manifest as a file of its own: a directory's, or a ZIP's copied to an unlinked temporary file
    /// (so it streams while the archive's other entries are read).
    fn manifest(&mut self) -> Result<std::fs::File, FileError> {
        let missing = || FileError::format(MANIFEST, "the package has no manifest at its root");
        match self {
            Self::Dir(root) => std::fs::File::open(root.join(MANIFEST)).map_err(|_| missing()),
            Self::Zip(z) => {
                let mut entry = z.by_name(MANIFEST).map_err(|_| missing())?;
                let path =
                    std::env::temp_dir().join(format!("cabinet-manifest-{}", Uuid::new_v4()));
                let mut copy = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&path)?;
                let _ = std::fs::remove_file(&path);
                std::io::copy(&mut entry, &mut copy)?;
                copy.rewind()?;
                Ok(copy)
            }
        }
    }
}

/// The file name a package path ends in.
fn base_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

/// Reads one manifest line's files (the field at fault and why, when one cannot be).
fn read_files(opened: &mut Opened, record: DocumentRecord) -> Item {
    let place = record.place;
    let reject = |field: &str, reason: String| Rejected {
        place,
        field: field.to_owned(),
        reason,
    };
    let pdf = opened.read(&record.pdf).map_err(|e| reject("pdf", e))?;
    let signature = match &record.signature {
        None => None,
        Some(s) => {
            let bytes = opened
                .read(&s.file)
                .map_err(|e| reject("signature.file", e))?;
            Some((
                s.clone(),
                Content {
                    name: base_name(&s.file),
                    bytes,
                },
            ))
        }
    };
    let xml = match &record.xml {
        None => None,
        Some(path) => {
            let bytes = opened.read(path).map_err(|e| reject("xml", e))?;
            let formal = formats::accounting::read_formal(&bytes)
                .map_err(|e| reject("xml", format!("«{path}» {e}")))?;
            Some((
                Content {
                    name: base_name(path),
                    bytes,
                },
                formal,
            ))
        }
    };
    Ok(Box::new(Read1 {
        pdf: Content {
            name: base_name(&record.pdf),
            bytes: pdf,
        },
        xml,
        signature,
        record,
    }))
}

fn kind(raw: &str) -> Option<DocumentKind> {
    match raw.trim() {
        "invoice" => Some(DocumentKind::TaxInvoice),
        "upd" => Some(DocumentKind::Upd),
        "act" => Some(DocumentKind::Act),
        _ => None,
    }
}

/// The `Функция` a ФНС file of `kind` carries.
fn functions(kind: DocumentKind) -> &'static [&'static str] {
    match kind {
        DocumentKind::TaxInvoice => &["СЧФ"],
        DocumentKind::Upd => &["СЧФДОП"],
        _ => &["ДОП"],
    }
}

/// The file's reference once its content is what `content_type` says (the uploads' rule), or the field
/// `field` at fault and why.
fn file_ref(field: &str, c: &Content, content_type: &str) -> Result<FileRef, (String, String)> {
    crate::app::files::check(
        field,
        &c.name,
        Some(content_type),
        &c.bytes,
        MAX_FILE_BYTES as usize,
    )
    .map_err(|e| (field.to_owned(), e.message()))
}

/// What the ФНС file says that its line does not (the field and why), if anything.
fn disagreement(
    r: &DocumentRecord,
    kind: DocumentKind,
    f: &Formal,
    inn: &str,
    amount: Money,
    vat: Money,
) -> Option<String> {
    if !functions(kind).contains(&f.function.as_str()) {
        return Some(format!(
            "its Функция is «{}», not what «{}» carries ({})",
            f.function,
            r.kind.trim(),
            functions(kind).join(", ")
        ));
    }
    if f.number.trim() != r.number.trim() {
        return Some(format!(
            "its number is «{}», the line's «{}»",
            f.number,
            r.number.trim()
        ));
    }
    if f.date != Some(r.date) {
        return Some(format!(
            "its date is {}, the line's {}",
            f.date.map(|d| d.to_string()).unwrap_or_default(),
            r.date
        ));
    }
    match f.buyer_inn.as_deref() {
        Some(b) if b != inn => {
            return Some(format!(
                "its buyer's ИНН is {b}, the contract's lessee's {inn}"
            ));
        }
        None => return Some("it names no buyer's ИНН".into()),
        Some(_) => {}
    }
    if f.total.is_some_and(|t| t != amount.amount()) {
        return Some(format!(
            "its total is {}, the line's {}",
            f.total.unwrap_or_default(),
            amount.amount()
        ));
    }
    if f.vat.unwrap_or_default() != vat.amount() {
        return Some(format!(
            "its VAT is {}, the line's {}",
            f.vat.unwrap_or_default(),
            vat.amount()
        ));
    }
    None
}

impl Importer {
    /// Imports a package of accounting documents (its name as given: `name`) as `meta`'s actor.
    ///
    /// # Errors
    /// VALIDATION on `file` when it is not a package (not a ZIP archive or a directory, or without a
    /// manifest; nothing is stored); a database error.
    pub async fn accounting_documents(
        &self,
        package: Package,
        name: &str,
        meta: &CommandMeta,
    ) -> Result<Report, ApiError> {
        let not_a_package = |why: String| {
            ApiError::validation(
                "file",
                format!("not an accounting-documents package: {why}"),
            )
        };
        // The package's identity: the archive's hash, or a directory's manifest's.
        // The manifest is opened (a ZIP's copied out) once, here, and streamed by the reading thread.
        let (opened, manifest, sha256, size) = tokio::task::spawn_blocking(move || {
            let (mut opened, (sha256, size, _)) = match package {
                Package::Zip(mut file) => {
                    let hash = hash_file(&mut file).map_err(|e| e.to_string())?;
                    let archive = zip::ZipArchive::new(BufReader::new(file))
                        .map_err(|e| format!("expected a ZIP archive ({e})"))?;
                    (Opened::Zip(archive), hash)
                }
                Package::Dir(root) => {
                    let mut manifest = std::fs::File::open(root.join(MANIFEST))
                        .map_err(|_| format!("the directory has no {MANIFEST}"))?;
                    let hash = hash_file(&mut manifest).map_err(|e| e.to_string())?;
                    (Opened::Dir(root), hash)
                }
            };
            let manifest = opened.manifest().map_err(|e| e.to_string())?;
            Ok::<_, String>((opened, manifest, sha256, size))
        })
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?
        .map_err(not_a_package)?;
        let (import_id, meta) = self
            .begin("accounting_documents", "package", name, &sha256, size, meta)
            .await?;
        let mut chunks = chunks_of(DOCUMENTS_PER_CHUNK, move || {
            let mut opened = opened;
            let manifest = BufReader::with_capacity(64 * 1024, manifest);
            let lines = formats::accounting::Reader::new(manifest);
            Ok(lines.map(move |line| {
                line.map(|line| match line {
                    Ok(record) => read_files(&mut opened, record),
                    Err(rejected) => Err(rejected),
                })
            }))
        });
        let mut seen: HashSet<String> = HashSet::new();
        let run = async {
            while let Some(chunk) = chunks.recv().await {
                match chunk {
                    Ok(items) => {
                        let tally = self.documents_chunk(items, &mut seen, &meta).await?;
                        self.tally(import_id, &[], &tally).await?;
                    }
                    Err(e) => return Ok(Some(e.to_string())),
                }
            }
            Ok::<_, ApiError>(None)
        };
        let r = self.finish(import_id, run.await).await?;
        tracing::info!(
            import = %import_id, file = name, lines = r.lines, imported = r.matched,
            unchanged = r.duplicates, rejected = r.rejected, status = %r.status,
            "accounting documents imported"
        );
        Ok(r)
    }

    async fn documents_chunk(
        &self,
        items: Vec<Item>,
        seen: &mut HashSet<String>,
        meta: &CommandMeta,
    ) -> Result<Tally, ApiError> {
        let mut t = Tally::default();
        let mut read = Vec::new();
        for item in items {
            t.lines += 1;
            match item {
                Err(r) => t.reject(r.place, r.field, r.reason),
                Ok(r) if r.record.external_id.trim().is_empty() => {
                    t.reject(r.record.place, "externalId", "is empty")
                }
                // The same document twice in the package: the first stands.
                Ok(r) if !seen.insert(r.record.external_id.trim().to_owned()) => t.duplicates += 1,
                Ok(r) => read.push(r),
            }
        }
        if read.is_empty() {
            return Ok(t);
        }
        let contracts: Vec<Uuid> = read
            .iter()
            .map(|r| contract_id(&r.record.contract))
            .collect();
        // contract → (company, the company's ИНН)
        let known: HashMap<Uuid, (Uuid, String)> = sqlx::query_as::<_, (Uuid, Uuid, String)>(
            "SELECT c.contract_id, c.company_id, co.inn FROM contracts_view c \
             JOIN companies_view co ON co.company_id = c.company_id WHERE c.contract_id = ANY($1)",
        )
        .bind(&contracts)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|(c, company, inn)| (c, (company, inn)))
        .collect();
        let ids: Vec<Uuid> = read
            .iter()
            .map(|r| document_id(&r.record.external_id))
            .collect();
        // document → (its PDF's hash, its XML's)
        let existing: HashMap<Uuid, (String, Option<String>)> =
            sqlx::query_as::<_, (Uuid, String, Option<String>)>(
                "SELECT document_id, sha256, formal_sha256 FROM exchange_documents_view \
                 WHERE document_id = ANY($1)",
            )
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(d, pdf, xml)| (d, (pdf, xml)))
            .collect();
        let mut issue = Vec::new();
        let mut sends = Vec::new();
        let mut places: HashMap<String, usize> = HashMap::new();
        // Each document's files, stored for the chunk at once before its commands.
        let mut files: Vec<(FileRef, &[u8])> = Vec::new();
        let mut owners: Vec<String> = Vec::new();
        for r in &read {
            let place = r.record.place;
            match document(r, &known, &existing) {
                Err((field, reason)) => t.reject(place, field, reason),
                Ok(None) => t.duplicates += 1,
                Ok(Some((id, command, send, mine))) => {
                    places.insert(id.to_string(), place);
                    if let Some(s) = send {
                        sends.push((id.to_string(), s));
                    }
                    issue.push((id.to_string(), command));
                    owners.extend(mine.iter().map(|_| id.to_string()));
                    files.extend(mine);
                }
            }
        }
        let marks = self.store.put_many(&files, "system:import").await?;
        let mut issued = HashSet::new();
        let mut refused = HashSet::new();
        for (key, outcome) in self
            .documents
            .execute_many(issue, meta)
            .await
            .map_err(crate::error::command_error)?
        {
            match outcome {
                Ok(_) => {
                    t.matched += 1;
                    issued.insert(key);
                }
                // Issued meanwhile by another import of the same package.
                Err(DocumentError::AlreadyExists) => t.duplicates += 1,
                Err(e) => {
                    t.reject(
                        places.get(&key).copied().unwrap_or_default(),
                        "document",
                        e.to_string(),
                    );
                    refused.insert(key);
                }
            }
        }
        // A refused document's files go (unless another document has them).
        for (((f, _), mark), owner) in files.iter().zip(&marks).zip(&owners) {
            if refused.contains(owner) {
                self.store.discard(&f.sha256, *mark).await?;
            }
        }
        sends.retain(|(k, _)| issued.contains(k));
        if !sends.is_empty() {
            for (key, outcome) in self
                .documents
                .execute_many(sends, meta)
                .await
                .map_err(crate::error::command_error)?
            {
                if let BatchOutcome::Err(e) = outcome {
                    tracing::warn!(document = %key, error = %e, "an imported document was not sent for signature");
                }
            }
        }
        Ok(t)
    }
}

/// A line's command, the one sending it for signature and its files to store
/// (the PDF, the XML, the signature).
type Ready<'a> = (
    Uuid,
    DocumentCommand,
    Option<DocumentCommand>,
    Vec<(FileRef, &'a [u8])>,
);

/// One line as the command that records it, the one that sends it for signature and the files to store;
/// `None`: recorded before as it is; the field at fault and why when it cannot be.
fn document<'a>(
    r: &'a Read1,
    known: &HashMap<Uuid, (Uuid, String)>,
    existing: &HashMap<Uuid, (String, Option<String>)>,
) -> Result<Option<Ready<'a>>, (String, String)> {
    let rec = &r.record;
    let field = |f: &str, why: String| Err((f.to_owned(), why));
    let Some(kind) = kind(&rec.kind) else {
        return field(
            "kind",
            format!("«{}» is not invoice, upd or act", rec.kind.trim()),
        );
    };
    let Some((company, inn)) = known.get(&contract_id(&rec.contract)) else {
        return field(
            "contract",
            format!(
                "the cabinet has no contract «{}» of the accounting system",
                rec.contract.trim()
            ),
        );
    };
    let amount = match Money::parse(&rec.amount) {
        Ok(a) => a,
        Err(e) => return field("amount", e.reason),
    };
    let vat = match Money::parse(&rec.vat) {
        Ok(a) => a,
        Err(e) => return field("vat", e.reason),
    };
    let id = document_id(&rec.external_id);
    let pdf = file_ref("pdf", &r.pdf, "application/pdf")?;
    let formal = match &r.xml {
        None => None,
        Some((content, f)) => {
            if let Some(why) = disagreement(rec, kind, f, inn, amount, vat) {
                return field(
                    "xml",
                    format!("the ФНС file disagrees with the line: {why}"),
                );
            }
            // Read as a ФНС file already (the uploads' text rule would refuse its Windows-1251).
            let sha256: String = sha2::Sha256::digest(&content.bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            match FileRef::new(
                &sha256,
                &content.name,
                "application/xml",
                content.bytes.len() as u64,
            ) {
                Ok(f) => Some(f),
                Err(e) => return field("xml", e.reason),
            }
        }
    };
    if let Some((pdf_hash, xml_hash)) = existing.get(&id) {
        if *pdf_hash == pdf.sha256 && *xml_hash == formal.as_ref().map(|f| f.sha256.clone()) {
            return Ok(None);
        }
        return field(
                "externalId",
                format!(
                    "«{}» was imported before with other files: a corrected document comes under an id of its own",
                    rec.external_id.trim()
                ),
            );
    }
    let mut files = Vec::new();
    let send = match &r.signature {
        None => None,
        Some((s, content)) => {
            let file = file_ref("signature.file", content, "application/pkcs7-signature")?;
            match domain::document::Signature::new(
                Party::Staff,
                &s.signer_name,
                &s.signer_position,
                &s.thumbprint,
                s.signed_at,
                file.clone(),
                None,
            ) {
                Ok(sig) => {
                    files.push((file, content.bytes.as_slice()));
                    Some(DocumentCommand::SendForSignature(Box::new(sig)))
                }
                Err(DocumentError::Invalid { field: f, message }) => {
                    return field(f, message);
                }
                Err(e) => return field("signature", e.to_string()),
            }
        }
    };
    files.push((pdf.clone(), r.pdf.bytes.as_slice()));
    if let (Some(f), Some((content, _))) = (&formal, &r.xml) {
        files.push((f.clone(), content.bytes.as_slice()));
    }
    let label = match kind {
        DocumentKind::TaxInvoice => "Счёт-фактура",
        DocumentKind::Upd => "УПД",
        _ => "Акт оказанных услуг",
    };
    let title = rec.title.clone().unwrap_or_else(|| {
        format!(
            "{label} № {} от {}",
            rec.number.trim(),
            rec.date.format("%d.%m.%Y")
        )
    });
    let command = DocumentCommand::Issue {
        document_id: id,
        party: Party::Staff,
        info: Box::new(DocumentInfo {
            company_id: *company,
            contract_id: Some(contract_id(&rec.contract)),
            request_id: None,
            kind,
            number: Some(rec.number.trim().to_owned()),
            title,
            date: rec.date,
            file: pdf,
            accounting: Some(Box::new(Accounting {
                external_id: rec.external_id.trim().to_owned(),
                period_from: rec.period_from,
                period_to: rec.period_to,
                amount,
                vat,
                formal,
            })),
            covers: Vec::new(),
        }),
    };
    Ok(Some((id, command, send, files)))
}
