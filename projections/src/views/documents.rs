//! The documents a company sees (`documents`, an inline projection): one row of `documents_view` per file
//! referenced by a Policy, ClientRequest or Document event — policy forms, insured-event attachments, request
//! attachments and result documents, exchanged documents and their detached signatures — with where it came
//! from; and one row of `exchange_documents_view` per Document with where its signing is. The file itself is in `stored_files`; this
//! table is also what a download is authorized against (a file is served to a client only when a row links
//! it to one of the client's companies).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::document::{DocumentEvent, Signature, SigningStatus};
use domain::policy::PolicyEvent;
use domain::request::{Party, RequestEvent};
use domain::values::FileRef;
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::engine::error::ProjectionError;
use crate::engine::read_model::ReadModel;
use crate::store::event::StoredEvent;

/// The projection.
pub struct DocumentsProjection;

impl DocumentsProjection {
    async fn insert(
        conn: &mut PgConnection,
        e: &StoredEvent,
        owner: Uuid,
        source: &str,
        party: Party,
        files: &[FileRef],
        company: Option<Uuid>,
    ) -> Result<(), ProjectionError> {
        if files.is_empty() {
            return Ok(());
        }
        // The company comes from the event when it carries one (the owner's first event), otherwise from
        // `documents_owners`, which that first event filled.
        let hashes: Vec<&str> = files.iter().map(|f| f.sha256.as_str()).collect();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        let types: Vec<&str> = files.iter().map(|f| f.content_type.as_str()).collect();
        let sizes: Vec<i64> = files.iter().map(|f| f.size as i64).collect();
        sqlx::query(
            "INSERT INTO documents_view (owner_id, source, sha256, company_id, name, content_type, size, party, \
               added_at, position) \
             SELECT $1, $2, h, c.company_id, n, t, s, $8, $9, $10 \
             FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[]) AS x(h, n, t, s), \
                  (SELECT coalesce($7::uuid, (SELECT company_id FROM documents_owners WHERE owner_id = $1)) \
                     AS company_id) c \
             WHERE c.company_id IS NOT NULL \
             ON CONFLICT (owner_id, source, sha256) DO UPDATE SET name = EXCLUDED.name, \
               added_at = EXCLUDED.added_at, position = EXCLUDED.position",
        )
        .bind(owner)
        .bind(source)
        .bind(&hashes)
        .bind(&names)
        .bind(&types)
        .bind(&sizes)
        .bind(company)
        .bind(party.as_str())
        .bind(e.recorded_at)
        .bind(e.position)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn own(
        conn: &mut PgConnection,
        owner: Uuid,
        company: Uuid,
    ) -> Result<(), ProjectionError> {
        sqlx::query(
            "INSERT INTO documents_owners (owner_id, company_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(owner)
        .bind(company)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl ReadModel for DocumentsProjection {
    fn name(&self) -> &'static str {
        "documents"
    }

    fn version(&self) -> i32 {
        2
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "documents_view",
            "documents_owners",
            "exchange_documents_view",
            "request_document_links",
            "invoice_shares_view",
        ]
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["Policy", "ClientRequest", "Document", "Conversation"])
    }

    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        let Ok(owner) = e.aggregate_id.parse::<Uuid>() else {
            return Ok(());
        };
        match e.aggregate_type.as_str() {
            // A company's thread: its id is the company's.
            "Conversation" => {
                let domain::conversation::ConversationEvent::MessagePosted {
                    company_id,
                    party,
                    attachments,
                    ..
                } = e.decode_event()?;
                Self::insert(
                    conn,
                    e,
                    owner,
                    "conversation",
                    party,
                    &attachments,
                    Some(company_id),
                )
                .await
            }
            "Policy" => match e.decode_event::<PolicyEvent>()? {
                PolicyEvent::PolicyIssued {
                    company_id, form, ..
                } => {
                    Self::own(conn, owner, company_id).await?;
                    let files: Vec<FileRef> = form.into_iter().collect();
                    Self::insert(
                        conn,
                        e,
                        owner,
                        "policy_form",
                        Party::Staff,
                        &files,
                        Some(company_id),
                    )
                    .await
                }
                PolicyEvent::PolicyFormAttached { form } => {
                    Self::insert(conn, e, owner, "policy_form", Party::Staff, &[form], None).await
                }
                PolicyEvent::PolicyProlonged { form, .. } => {
                    let files: Vec<FileRef> = form.into_iter().collect();
                    Self::insert(conn, e, owner, "policy_form", Party::Staff, &files, None).await
                }
                PolicyEvent::InsuredEventReported(ev) => {
                    Self::insert(
                        conn,
                        e,
                        owner,
                        "insured_event",
                        Party::Client,
                        &ev.attachments,
                        None,
                    )
                    .await
                }
                _ => Ok(()),
            },
            "ClientRequest" => match e.decode_event::<RequestEvent>()? {
                RequestEvent::RequestSubmitted {
                    company_id,
                    attachments,
                    ..
                } => {
                    Self::own(conn, owner, company_id).await?;
                    Self::insert(
                        conn,
                        e,
                        owner,
                        "request_attachment",
                        Party::Client,
                        &attachments,
                        Some(company_id),
                    )
                    .await
                }
                RequestEvent::AttachmentAdded { party, file } => {
                    Self::insert(conn, e, owner, "request_attachment", party, &[file], None).await
                }
                RequestEvent::EffectApplied { documents, .. } if !documents.is_empty() => {
                    sqlx::query(
                        "INSERT INTO request_document_links (request_id, document_id, position) \
                         SELECT $1, d, $3 FROM unnest($2::uuid[]) AS d ON CONFLICT DO NOTHING",
                    )
                    .bind(owner)
                    .bind(&documents)
                    .bind(e.position)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                }
                RequestEvent::RequestCompleted {
                    result: Some(file), ..
                } => {
                    Self::insert(
                        conn,
                        e,
                        owner,
                        "request_result",
                        Party::Staff,
                        &[file],
                        None,
                    )
                    .await
                }
                _ => Ok(()),
            },
            "Document" => Self::document(conn, e, owner).await,
            _ => Ok(()),
        }
    }
}

fn signature_json(s: &Signature) -> serde_json::Value {
    serde_json::json!({
        "party": s.party.as_str(),
        // Null once the signer's data was destroyed.
        "signerName": s.signer_name.get(),
        "signerPosition": s.signer_position.get(),
        "thumbprint": s.thumbprint,
        "signedAt": s.signed_at,
        "sha256": s.file.sha256,
        "name": s.file.name,
        "size": s.file.size,
        "powerOfAttorney": s.power_of_attorney,
    })
}

impl DocumentsProjection {
    async fn document(
        conn: &mut PgConnection,
        e: &StoredEvent,
        id: Uuid,
    ) -> Result<(), ProjectionError> {
        let event: DocumentEvent = e.decode_event()?;
        let (status, signature, reason) = match event {
            DocumentEvent::DocumentIssued { party, info, .. } => {
                Self::own(conn, id, info.company_id).await?;
                let a = info.accounting.as_ref();
                let formal = a.and_then(|a| a.formal.as_ref());
                sqlx::query(
                    "INSERT INTO exchange_documents_view (document_id, company_id, contract_id, request_id, kind, \
                       number, title, doc_date, sha256, name, content_type, size, issued_by, status, issued_at, \
                       updated_at, position, external_id, period_from, period_to, amount, vat, formal_sha256, \
                       formal_name, formal_size) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'draft', $14, $14, $15, $16, \
                       $17, $18, $19, $20, $21, $22, $23)",
                )
                .bind(id)
                .bind(info.company_id)
                .bind(info.contract_id)
                .bind(info.request_id)
                .bind(info.kind.as_str())
                .bind(&info.number)
                .bind(&info.title)
                .bind(info.date)
                .bind(&info.file.sha256)
                .bind(&info.file.name)
                .bind(&info.file.content_type)
                .bind(info.file.size as i64)
                .bind(party.as_str())
                .bind(e.recorded_at)
                .bind(e.position)
                .bind(a.map(|a| a.external_id.as_str()))
                .bind(a.map(|a| a.period_from))
                .bind(a.map(|a| a.period_to))
                .bind(a.map(|a| a.amount.amount()))
                .bind(a.map(|a| a.vat.amount()))
                .bind(formal.map(|f| f.sha256.as_str()))
                .bind(formal.map(|f| f.name.as_str()))
                .bind(formal.map(|f| f.size as i64))
                .execute(&mut *conn)
                .await?;
                if !info.covers.is_empty() {
                    let contracts: Vec<Uuid> = info.covers.iter().map(|s| s.contract_id).collect();
                    let amounts: Vec<rust_decimal::Decimal> =
                        info.covers.iter().map(|s| s.amount.amount()).collect();
                    sqlx::query(
                        "INSERT INTO invoice_shares_view (document_id, ordinal, contract_id, amount) \
                         SELECT $1, o::integer, c, a FROM unnest($2::uuid[], $3::numeric[]) \
                           WITH ORDINALITY AS x(c, a, o)",
                    )
                    .bind(id)
                    .bind(&contracts)
                    .bind(&amounts)
                    .execute(&mut *conn)
                    .await?;
                }
                let mut files = vec![info.file.clone()];
                files.extend(formal.cloned());
                return Self::insert(
                    conn,
                    e,
                    id,
                    "document",
                    party,
                    &files,
                    Some(info.company_id),
                )
                .await;
            }
            DocumentEvent::DocumentSentForSignature { signature } => {
                (SigningStatus::Sent, Some(signature), None)
            }
            DocumentEvent::DocumentDelivered { .. } => (SigningStatus::Delivered, None, None),
            DocumentEvent::DocumentSigned { signature } => {
                (SigningStatus::Signed, Some(signature), None)
            }
            DocumentEvent::DocumentSignatureRejected { reason, .. } => {
                (SigningStatus::Rejected, None, Some(reason))
            }
            DocumentEvent::DocumentAnnulmentRequested { reason, .. } => {
                (SigningStatus::AnnulmentRequested, None, Some(reason))
            }
            DocumentEvent::DocumentAnnulled { .. } => (SigningStatus::Annulled, None, None),
        };
        sqlx::query(
            "UPDATE exchange_documents_view SET status = $2, \
               signatures = signatures || coalesce($3::jsonb, '[]'::jsonb), \
               reason = coalesce($4, reason), updated_at = $5, position = $6 \
             WHERE document_id = $1",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(
            signature
                .as_ref()
                .map(|s| serde_json::json!([signature_json(s)])),
        )
        .bind(reason)
        .bind(e.recorded_at)
        .bind(e.position)
        .execute(&mut *conn)
        .await?;
        if let Some(s) = signature {
            Self::insert(conn, e, id, "signature", s.party, &[s.file], None).await?;
        }
        Ok(())
    }
}

/// A row of `documents_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct DocumentView {
    /// The policy or request it belongs to.
    pub owner_id: Uuid,
    /// policy_form, insured_event, request_attachment, request_result, document, signature, conversation.
    pub source: String,
    /// Content hash.
    pub sha256: String,
    /// Company.
    pub company_id: Uuid,
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// client or staff.
    pub party: String,
    /// When it was added.
    pub added_at: DateTime<Utc>,
}

/// The companies a stored file is shown to (empty: none — staff only).
///
/// # Errors
/// A database error.
pub async fn companies_of_file(pool: &PgPool, sha256: &str) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT DISTINCT company_id FROM documents_view WHERE sha256 = $1")
        .bind(sha256)
        .fetch_all(pool)
        .await
}

/// The name a stored file has where `company` sees it (its first document there): the name another company
/// gave the same content is never shown.
///
/// # Errors
/// A database error.
pub async fn name_of_file(
    pool: &PgPool,
    sha256: &str,
    company: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT name FROM documents_view WHERE sha256 = $1 AND company_id = $2 \
         ORDER BY position LIMIT 1",
    )
    .bind(sha256)
    .bind(company)
    .fetch_optional(pool)
    .await
}

/// The documents of the owners (policies, requests), oldest first.
///
/// # Errors
/// A database error.
pub async fn load_documents(
    pool: &PgPool,
    owners: &[Uuid],
) -> Result<Vec<DocumentView>, sqlx::Error> {
    sqlx::query_as(
        "SELECT owner_id, source, sha256, company_id, name, content_type, size, party, added_at \
         FROM documents_view WHERE owner_id = ANY($1) ORDER BY owner_id, position, sha256",
    )
    .bind(owners)
    .fetch_all(pool)
    .await
}

/// A row of `exchange_documents_view`.
#[derive(Debug, Clone, PartialEq, FromRow, Serialize)]
pub struct ExchangeDocumentView {
    /// Id.
    pub document_id: Uuid,
    /// Company.
    pub company_id: Uuid,
    /// Contract.
    pub contract_id: Option<Uuid>,
    /// The request it answers.
    pub request_id: Option<Uuid>,
    /// What it is.
    pub kind: String,
    /// Number (generated documents).
    pub number: Option<String>,
    /// Title.
    pub title: String,
    /// Date.
    pub doc_date: chrono::NaiveDate,
    /// Content hash.
    pub sha256: String,
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// client or staff.
    pub issued_by: String,
    /// Signing status.
    pub status: String,
    /// Signatures, in order.
    pub signatures: serde_json::Value,
    /// Reason of a rejection or annulment request.
    pub reason: Option<String>,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The accounting system's id (imported accounting documents).
    pub external_id: Option<String>,
    /// First day of the period an accounting document covers.
    pub period_from: Option<chrono::NaiveDate>,
    /// Last day of that period.
    pub period_to: Option<chrono::NaiveDate>,
    /// An accounting document's total, VAT included.
    pub amount: Option<rust_decimal::Decimal>,
    /// The VAT in it.
    pub vat: Option<rust_decimal::Decimal>,
    /// Its ФНС XML file's hash.
    pub formal_sha256: Option<String>,
    /// Its ФНС XML file's name.
    pub formal_name: Option<String>,
    /// Its ФНС XML file's size.
    pub formal_size: Option<i64>,
}

const EXCHANGE_COLUMNS: &str =
    "document_id, company_id, contract_id, request_id, kind, number, title, doc_date, \
    sha256, name, content_type, size, issued_by, status, signatures, reason, issued_at, updated_at, \
    external_id, period_from, period_to, amount, vat, formal_sha256, formal_name, formal_size";

/// One document.
///
/// # Errors
/// A database error.
pub async fn load_exchange_document(
    pool: &PgPool,
    id: Uuid,
) -> Result<Option<ExchangeDocumentView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {EXCHANGE_COLUMNS} FROM exchange_documents_view WHERE document_id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// A company's documents (optionally of one contract), newest first, `first` after the keyset cursor
/// (`issued_at`, `document_id`).
///
/// # Errors
/// A database error.
pub async fn list_exchange_documents(
    pool: &PgPool,
    company: Uuid,
    contract: Option<Uuid>,
    after: Option<(DateTime<Utc>, Uuid)>,
    first: i64,
) -> Result<Vec<ExchangeDocumentView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {EXCHANGE_COLUMNS} FROM exchange_documents_view \
         WHERE company_id = $1 AND ($2::uuid IS NULL OR contract_id = $2) \
           AND ($3::timestamptz IS NULL OR (issued_at, document_id) < ($3, $4)) \
         ORDER BY issued_at DESC, document_id DESC LIMIT $5"
    ))
    .bind(company)
    .bind(contract)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(first)
    .fetch_all(pool)
    .await
}

/// How many documents of `company` (of `contract`) there are (every page of [`list_exchange_documents`]).
///
/// # Errors
/// A database error.
pub async fn count_exchange_documents(
    pool: &PgPool,
    company: Uuid,
    contract: Option<Uuid>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM exchange_documents_view \
         WHERE company_id = $1 AND ($2::uuid IS NULL OR contract_id = $2)",
    )
    .bind(company)
    .bind(contract)
    .fetch_one(pool)
    .await
}

/// The documents generated for a request and the imported ones delivered on it.
///
/// # Errors
/// A database error.
pub async fn request_documents(
    pool: impl sqlx::PgExecutor<'_>,
    request: Uuid,
) -> Result<Vec<ExchangeDocumentView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {EXCHANGE_COLUMNS} FROM exchange_documents_view WHERE request_id = $1 \
           OR document_id IN (SELECT document_id FROM request_document_links WHERE request_id = $1) \
         ORDER BY issued_at, document_id"
    ))
    .bind(request)
    .fetch_all(pool)
    .await
}

/// The accounting documents of `kinds` (`tax_invoice`, `upd`, `act`) the accounting system issued for
/// `contract` whose period overlaps `from..=to`, in the order of their dates.
///
/// # Errors
/// A database error.
pub async fn accounting_documents(
    pool: impl sqlx::PgExecutor<'_>,
    contract: Uuid,
    kinds: &[&str],
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<ExchangeDocumentView>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {EXCHANGE_COLUMNS} FROM exchange_documents_view \
         WHERE contract_id = $1 AND external_id IS NOT NULL AND kind = ANY($2) \
           AND period_from <= $4 AND period_to >= $3 \
         ORDER BY doc_date, number, document_id"
    ))
    .bind(contract)
    .bind(kinds)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}
