//! `GET /documents/{id}`: a stored file by its SHA-256 or a Document's id, with `Authorization: Bearer …`,
//! authorized by the application as everything else is.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;

use super::headers::bearer_token;
use crate::app::files::{self, FileStore};
use crate::auth::sessions::{self, SessionPolicy};
use crate::error::ApiError;

/// State of the download route.
#[derive(Clone)]
pub struct DownloadState {
    /// The database.
    pub pool: PgPool,
    /// The file contents.
    pub store: Arc<dyn FileStore>,
    /// Session expiry.
    pub sessions: SessionPolicy,
    /// Signed links.
    pub links: crate::app::links::Links,
}

/// `GET /documents/{sha256}` or `GET /documents/{document id}` with `Authorization: Bearer …`.
pub async fn download(
    State(s): State<DownloadState>,
    Path(id): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
) -> Response {
    let signed = query.as_deref().and_then(crate::app::links::Signed::parse);
    match serve_download(&s, &id, signed, &headers).await {
        Ok(r) => r,
        Err(e) => error_response(e, "download"),
    }
}

/// A refusal or failure as a plain-text answer with its HTTP status (internal and database causes logged).
pub(crate) fn error_response(e: ApiError, what: &str) -> Response {
    let code = match e.code() {
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "VALIDATION" => StatusCode::BAD_REQUEST,
        "INTERNAL" => StatusCode::INTERNAL_SERVER_ERROR,
        "UNAVAILABLE" | "IN_DOUBT" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::FORBIDDEN,
    };
    match &e {
        ApiError::Internal(cause) => {
            tracing::error!(error = format!("{cause:#}"), "{what} failed")
        }
        ApiError::Unavailable { cause, .. } => {
            tracing::warn!(error = format!("{cause:#}"), "{what}: database unavailable")
        }
        _ => {}
    }
    let text = match &e {
        ApiError::Validation { field, .. } => format!("{field}: {}", e.message()),
        _ => e.message(),
    };
    (code, text).into_response()
}

async fn serve_download(
    s: &DownloadState,
    id: &str,
    signed: Option<crate::app::links::Signed>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let actor = match (bearer_token(headers).as_deref(), signed) {
        (Some(t), _) => sessions::resolve(&s.pool, t, s.sessions).await?,
        // A signed link: its account, if the link is this installation's, for this file, and current.
        (None, Some(link)) => {
            let now = chrono::Utc::now().timestamp();
            if s.links.verify(&s.pool, id, &link, now).await? {
                sessions::actor_of_account(&s.pool, link.account).await?
            } else {
                return Err(ApiError::Unauthenticated(
                    "this link is not valid or has expired; ask for the file again".into(),
                ));
            }
        }
        (None, None) => None,
    };
    let file = files::download(&s.pool, s.store.as_ref(), actor.as_ref(), id).await?;
    Ok(attachment(&file.content_type, &file.name, file.content))
}

/// A file as an attachment: its content type, `nosniff`, and its name (RFC 6266 / 5987: an ASCII fallback
/// and the UTF-8 name percent-encoded).
pub(crate) fn attachment(content_type: &str, name: &str, content: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, content).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
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
    response
}
