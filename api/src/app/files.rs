//! Files: checked (size, declared type against the content's signature), hashed (SHA-256) and stored once
//! per content behind [`FileStore`], outside the event log; events reference them by hash
//! ([`domain::values::FileRef`]). A download goes through the same authorization as everything else: staff
//! may fetch any stored file, a client only a file that `documents_view` links to one of its companies.

use domain::values::FileRef;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::auth::policy::{authorize, Operation};
use crate::auth::Actor;
use crate::error::ApiError;

/// Files one GraphQL request may carry.
pub const MAX_FILES_PER_REQUEST: usize = 10;

/// The content types accepted, each with the signature its content must have.
const ALLOWED: &[(&str, Signature)] = &[
    ("application/pdf", Signature::Prefix(b"%PDF-")),
    ("image/jpeg", Signature::Prefix(&[0xFF, 0xD8, 0xFF])),
    ("image/png", Signature::Prefix(b"\x89PNG\r\n\x1a\n")),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Signature::Prefix(b"PK\x03\x04"),
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Signature::Prefix(b"PK\x03\x04"),
    ),
    ("application/xml", Signature::Text),
    ("text/xml", Signature::Text),
    ("text/plain", Signature::Text),
    // A detached electronic signature (CMS, DER-encoded: .sig, .p7s).
    ("application/pkcs7-signature", Signature::Der),
];

#[derive(Clone, Copy)]
enum Signature {
    /// The content starts with these bytes.
    Prefix(&'static [u8]),
    /// UTF-8 text without NUL bytes.
    Text,
    /// A DER (or BER) SEQUENCE with a long-form or indefinite length, as every CMS signature starts.
    Der,
}

impl Signature {
    fn matches(self, content: &[u8]) -> bool {
        match self {
            Self::Prefix(p) => content.starts_with(p),
            Self::Text => std::str::from_utf8(content).is_ok() && !content.contains(&0),
            Self::Der => {
                content.len() > 2 && content[0] == 0x30 && (0x80..=0x84).contains(&content[1])
            }
        }
    }
}

/// The accepted content types (for error messages and docs).
pub fn allowed_types() -> Vec<&'static str> {
    ALLOWED.iter().map(|(t, _)| *t).collect()
}

/// Checks content against its declared type and a size limit, and builds its reference.
///
/// # Errors
/// VALIDATION on `field` for an empty or too large file, a type not accepted, or content that is not what
/// the type says.
pub fn check(
    field: &str,
    name: &str,
    declared: Option<&str>,
    content: &[u8],
    max_bytes: usize,
) -> Result<FileRef, ApiError> {
    if content.len() > max_bytes {
        return Err(ApiError::validation(
            field,
            format!("the file is larger than {max_bytes} bytes"),
        ));
    }
    let declared = declared
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|t| !t.is_empty() && t != "application/octet-stream");
    // Without a declared type, the signature decides among the binary types (never text: anything would do).
    let (content_type, signature) = match declared {
        Some(t) => ALLOWED
            .iter()
            .find(|(a, _)| *a == t)
            .map(|(a, s)| (*a, *s))
            .ok_or_else(|| {
                ApiError::validation(
                    field,
                    format!(
                        "files of type {t} are not accepted (accepted: {})",
                        allowed_types().join(", ")
                    ),
                )
            })?,
        None => ALLOWED
            .iter()
            .find(|(_, s)| matches!(s, Signature::Prefix(_) | Signature::Der) && s.matches(content))
            .map(|(a, s)| (*a, *s))
            .ok_or_else(|| ApiError::validation(field, "the file's type is not recognised"))?,
    };
    if content.is_empty() {
        return Err(ApiError::validation(field, "the file is empty"));
    }
    if !signature.matches(content) {
        return Err(ApiError::validation(
            field,
            format!("the content is not {content_type}"),
        ));
    }
    let hash = hex(&Sha256::digest(content));
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    FileRef::new(&hash, name, content_type, content.len() as u64)
        .map_err(|e| ApiError::validation(field, e.reason))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where file contents live, by SHA-256 (ADR 0010). Every write goes through [`FileStore::put`] and every
/// read through [`FileStore::get`]; the metadata that authorizes a download (`documents_view`) stays in
/// PostgreSQL whatever the store, so another store (S3-compatible object storage) only implements these two.
#[async_trait::async_trait]
pub trait FileStore: Send + Sync {
    /// Stores the content under its hash (once; storing the same content again keeps the first bytes) and
    /// returns this upload's mark, for [`FileStore::discard`].
    async fn put(
        &self,
        file: &FileRef,
        content: &[u8],
        stored_by: &str,
    ) -> Result<UploadMark, ApiError>;
    /// Stores several contents at once (an import's chunk), returning each upload's mark in order.
    async fn put_many(
        &self,
        files: &[(FileRef, &[u8])],
        stored_by: &str,
    ) -> Result<Vec<UploadMark>, ApiError> {
        let mut marks = Vec::with_capacity(files.len());
        for (file, content) in files {
            marks.push(self.put(file, content, stored_by).await?);
        }
        Ok(marks)
    }
    /// The content type and content of a stored file.
    async fn get(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>, ApiError>;
    /// Forgets an upload whose command was refused: the content goes unless it was uploaded again since
    /// `mark` or a document refers to it. Returns whether it went.
    async fn discard(&self, sha256: &str, mark: UploadMark) -> Result<bool, ApiError>;
}

/// When an upload last stored (or touched) a content: a later upload of the same bytes moves it.
pub type UploadMark = chrono::DateTime<chrono::Utc>;

/// The store in PostgreSQL: `stored_files`, one row per content, in the same database (and backup) as the
/// events that reference it.
#[derive(Clone)]
pub struct PgFileStore {
    pool: PgPool,
}

impl PgFileStore {
    /// Over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait::async_trait]
impl FileStore for PgFileStore {
    async fn put(
        &self,
        file: &FileRef,
        content: &[u8],
        stored_by: &str,
    ) -> Result<UploadMark, ApiError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO stored_files (sha256, content_type, size, content, stored_by) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (sha256) DO UPDATE SET touched_at = clock_timestamp() \
             RETURNING touched_at",
        )
        .bind(&file.sha256)
        .bind(&file.content_type)
        .bind(file.size as i64)
        .bind(content)
        .bind(stored_by)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn put_many(
        &self,
        files: &[(FileRef, &[u8])],
        stored_by: &str,
    ) -> Result<Vec<UploadMark>, ApiError> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for the chunk; the same content twice in it is stored once.
        let mut seen = std::collections::HashSet::new();
        let unique: Vec<&(FileRef, &[u8])> = files
            .iter()
            .filter(|(f, _)| seen.insert(f.sha256.clone()))
            .collect();
        let hashes: Vec<&str> = unique.iter().map(|(f, _)| f.sha256.as_str()).collect();
        let types: Vec<&str> = unique
            .iter()
            .map(|(f, _)| f.content_type.as_str())
            .collect();
        let sizes: Vec<i64> = unique.iter().map(|(f, _)| f.size as i64).collect();
        let contents: Vec<&[u8]> = unique.iter().map(|(_, c)| *c).collect();
        let marks: Vec<(String, UploadMark)> = sqlx::query_as(
            "INSERT INTO stored_files (sha256, content_type, size, content, stored_by) \
             SELECT h, t, s, c, $5 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[]) AS x(h, t, s, c) \
             ON CONFLICT (sha256) DO UPDATE SET touched_at = clock_timestamp() \
             RETURNING sha256, touched_at",
        )
        .bind(&hashes)
        .bind(&types)
        .bind(&sizes)
        .bind(&contents)
        .bind(stored_by)
        .fetch_all(&self.pool)
        .await?;
        files
            .iter()
            .map(|(f, _)| {
                marks
                    .iter()
                    .find(|(h, _)| *h == f.sha256)
                    .map(|(_, m)| *m)
                    .ok_or_else(|| {
                        ApiError::Internal(anyhow::anyhow!("{} was not stored", f.sha256))
                    })
            })
            .collect()
    }

    async fn discard(&self, sha256: &str, mark: UploadMark) -> Result<bool, ApiError> {
        let r = sqlx::query(
            "DELETE FROM stored_files f WHERE f.sha256 = $1 AND f.touched_at = $2 \
               AND NOT EXISTS (SELECT 1 FROM documents_view d WHERE d.sha256 = f.sha256) \
               AND NOT EXISTS (SELECT 1 FROM exchange_documents_view x WHERE x.sha256 = f.sha256 \
                               OR x.signatures @> jsonb_build_array(jsonb_build_object('sha256', f.sha256))) \
               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.attachments @> jsonb_build_array(jsonb_build_object('sha256', f.sha256)))",
        )
        .bind(sha256)
        .bind(mark)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn get(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>, ApiError> {
        Ok(
            sqlx::query_as("SELECT content_type, content FROM stored_files WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

/// A file a caller may download: its name as the caller's company knows it, type and content.
#[derive(Debug, Clone)]
pub struct Download {
    /// The file name to offer.
    pub name: String,
    /// Its content type.
    pub content_type: String,
    /// The bytes.
    pub content: Vec<u8>,
}

/// The file `id` (a SHA-256 or a Document's id) as `actor` may download it.
///
/// # Errors
/// UNAUTHENTICATED without an actor; NOT_FOUND for a file that does not exist or that the actor may not see
/// (the two answer alike); a database error.
pub async fn download(
    pool: &PgPool,
    store: &dyn FileStore,
    actor: Option<&Actor>,
    id: &str,
) -> Result<Download, ApiError> {
    let not_found = || ApiError::NotFound("no such document".into());
    // A Document's id names its file.
    let resolved;
    let sha256 = match id.parse::<uuid::Uuid>() {
        Ok(id) => {
            resolved = projections::views::documents::load_exchange_document(pool, id)
                .await?
                .map(|d| d.sha256)
                .unwrap_or_default();
            resolved.as_str()
        }
        Err(_) => id,
    };
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        authorize(actor, Operation::ReadDocuments(uuid::Uuid::nil()))?;
        return Err(not_found());
    }
    let companies = projections::views::documents::companies_of_file(pool, sha256).await?;
    // Staff pass with any company; a client must be linked to one the file is shown to. A file a client
    // may not see answers NOT_FOUND, as one that does not exist.
    let linked = actor
        .and_then(|a| companies.iter().find(|c| a.member_of(**c)))
        .or(companies.first())
        .copied()
        .unwrap_or_else(uuid::Uuid::nil);
    match authorize(actor, Operation::ReadDocuments(linked)) {
        Ok(_) => {}
        Err(ApiError::Forbidden {
            code: "FORBIDDEN", ..
        }) => return Err(not_found()),
        Err(e) => return Err(e),
    }
    // The name under the company the caller was authorized for: the same content under another company's
    // name would tell the caller what that company calls it.
    let name = projections::views::documents::name_of_file(pool, sha256, linked).await?;
    let (content_type, content) = store.get(sha256).await?.ok_or_else(not_found)?;
    Ok(Download {
        name: name.unwrap_or_else(|| sha256.to_owned()),
        content_type,
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_must_be_what_its_type_says_and_within_the_limit() {
        let pdf = b"%PDF-1.7 test";
        let f = check("file", "dir/акт.pdf", Some("application/pdf"), pdf, 100).unwrap();
        assert_eq!(f.name, "акт.pdf");
        assert_eq!(f.sha256.len(), 64);
        assert_eq!(
            check("file", "a.pdf", None, pdf, 100).unwrap().content_type,
            "application/pdf"
        );
        let field = |r: Result<FileRef, ApiError>| match r {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(check("f", "a.pdf", Some("application/pdf"), pdf, 5)),
            "f"
        );
        assert_eq!(
            field(check(
                "f",
                "a.exe",
                Some("application/x-msdownload"),
                b"MZ",
                100
            )),
            "f"
        );
        assert_eq!(
            field(check("f", "a.pdf", Some("application/pdf"), b"MZ\x90", 100)),
            "f"
        );
        assert_eq!(
            field(check("f", "a.txt", Some("text/plain"), b"a\0b", 100)),
            "f"
        );
        assert_eq!(
            field(check("f", "a.txt", Some("text/plain"), b"", 100)),
            "f"
        );
    }
}
