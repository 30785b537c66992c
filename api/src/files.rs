//! Uploaded files: checked (size, declared type against the content's signature), hashed (SHA-256) and
//! stored once per content in `stored_files`, outside the event log; events reference them by hash
//! ([`domain::values::FileRef`]). Downloads (`GET /documents/{sha256}`) go through the same authorization as
//! everything else: staff may fetch any stored file, a client only a file that `documents_view` links to one
//! of its companies.

use std::io::Read;

use async_graphql::{Context, Upload};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::values::FileRef;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::auth::policy::{authorize, Operation};
use crate::auth::sessions::{self, SessionPolicy};
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

/// Where file contents live, by SHA-256 (ADR 0010). Every write goes through [`DocumentStore::put`] and every
/// read through [`DocumentStore::get`]; the metadata that authorizes a download (`documents_view`) stays in
/// PostgreSQL whatever the store, so another store (S3-compatible object storage) only implements these two.
#[async_trait::async_trait]
pub trait DocumentStore: Send + Sync {
    /// Stores the content under its hash (once; storing the same content again changes nothing).
    async fn put(&self, file: &FileRef, content: &[u8], stored_by: &str) -> Result<(), ApiError>;
    /// The content type and content of a stored file.
    async fn get(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>, ApiError>;
}

/// The store in PostgreSQL: `stored_files`, one row per content, in the same database (and backup) as the
/// events that reference it.
#[derive(Clone)]
pub struct PgDocumentStore {
    pool: PgPool,
}

impl PgDocumentStore {
    /// Over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait::async_trait]
impl DocumentStore for PgDocumentStore {
    async fn put(&self, file: &FileRef, content: &[u8], stored_by: &str) -> Result<(), ApiError> {
        sqlx::query(
            "INSERT INTO stored_files (sha256, content_type, size, content, stored_by) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(&file.sha256)
        .bind(&file.content_type)
        .bind(file.size as i64)
        .bind(content)
        .bind(stored_by)
        .execute(&self.pool)
        .await?;
        Ok(())
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

/// Reads a GraphQL upload, checks it and stores it; returns its reference.
///
/// # Errors
/// VALIDATION on `field` (see [`check`]), or a database error.
pub async fn upload(
    ctx: &Context<'_>,
    field: &str,
    upload: &Upload,
    stored_by: &str,
) -> Result<FileRef, ApiError> {
    let app = super::graphql::app(ctx);
    let value = upload
        .value(ctx)
        .map_err(|e| ApiError::validation(field, format!("the upload cannot be read: {e}")))?;
    let max = app.upload_max_bytes;
    let name = value.filename.clone();
    let declared = value.content_type.clone();
    let content = tokio::task::spawn_blocking(move || {
        let mut buf = Vec::new();
        value
            .into_read()
            .take(max as u64 + 1)
            .read_to_end(&mut buf)
            .map(|_| buf)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading an upload: {e}")))?
    .map_err(|e| ApiError::validation(field, format!("the upload cannot be read: {e}")))?;
    let file = check(field, &name, declared.as_deref(), &content, max)?;
    app.store.put(&file, &content, stored_by).await?;
    Ok(file)
}

/// Reads several uploads (`field[0]`, `field[1]`, …).
///
/// # Errors
/// As [`upload`].
pub async fn uploads(
    ctx: &Context<'_>,
    field: &str,
    list: &[Upload],
    stored_by: &str,
) -> Result<Vec<FileRef>, ApiError> {
    let mut out = Vec::with_capacity(list.len());
    for (i, u) in list.iter().enumerate() {
        out.push(upload(ctx, &format!("{field}[{i}]"), u, stored_by).await?);
    }
    Ok(out)
}

/// State of the download route.
#[derive(Clone)]
pub struct DownloadState {
    /// The database.
    pub pool: PgPool,
    /// The file contents.
    pub store: std::sync::Arc<dyn DocumentStore>,
    /// Session expiry.
    pub sessions: SessionPolicy,
}

fn status(code: StatusCode, message: &str) -> Response {
    (code, message.to_owned()).into_response()
}

/// `GET /documents/{sha256}` or `GET /documents/{document id}` with `Authorization: Bearer …`.
pub async fn download(
    State(s): State<DownloadState>,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> Response {
    match serve_download(&s, &sha256, &headers).await {
        Ok(r) => r,
        Err(e) => {
            let code = match e.code() {
                "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
                "NOT_FOUND" => StatusCode::NOT_FOUND,
                "INTERNAL" => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::FORBIDDEN,
            };
            if let ApiError::Internal(cause) = &e {
                tracing::error!(error = format!("{cause:#}"), "download failed");
            }
            status(code, &e.message())
        }
    }
}

async fn serve_download(
    s: &DownloadState,
    sha256: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let actor = match crate::startup::bearer_token(headers).as_deref() {
        Some(t) => sessions::resolve(&s.pool, t, s.sessions).await?,
        None => None,
    };
    let not_found = || ApiError::NotFound("no such document".into());
    // A Document's id names its file.
    let resolved;
    let sha256 = match sha256.parse::<uuid::Uuid>() {
        Ok(id) => {
            resolved = projections::documents::load_exchange_document(&s.pool, id)
                .await?
                .map(|d| d.sha256)
                .unwrap_or_default();
            resolved.as_str()
        }
        Err(_) => sha256,
    };
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        authorize(actor.as_ref(), Operation::ReadDocuments(uuid::Uuid::nil()))?;
        return Err(not_found());
    }
    let companies = projections::documents::companies_of_file(&s.pool, sha256).await?;
    // Staff pass with any company; a client must be linked to one the file is shown to. A file a client
    // may not see answers NOT_FOUND, as one that does not exist.
    let linked = actor
        .as_ref()
        .and_then(|a| companies.iter().find(|c| a.companies.contains(c)))
        .or(companies.first())
        .copied()
        .unwrap_or_else(uuid::Uuid::nil);
    match authorize(actor.as_ref(), Operation::ReadDocuments(linked)) {
        Ok(_) => {}
        Err(ApiError::Forbidden {
            code: "FORBIDDEN", ..
        }) => return Err(not_found()),
        Err(e) => return Err(e),
    }
    let name: Option<String> = sqlx::query_scalar(
        "SELECT name FROM documents_view WHERE sha256 = $1 ORDER BY position LIMIT 1",
    )
    .bind(sha256)
    .fetch_optional(&s.pool)
    .await?;
    let (content_type, content) = s.store.get(sha256).await?.ok_or_else(not_found)?;
    let mut response = (StatusCode::OK, content).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let name = name.unwrap_or_else(|| sha256.to_owned());
    // RFC 6266 / 5987: an ASCII fallback and the UTF-8 name percent-encoded.
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
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
