//! The per-request context every resolver reads: the application, the caller and the request's ids, and
//! the authorization check every resolver starts with.

use async_graphql::Context;
use projections::store::event::CommandMeta;

use crate::app::App;
use crate::auth::policy::{authorize, Operation};
use crate::auth::Actor;
use crate::error::ApiError;

/// What the HTTP layer resolved about a request.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    /// The caller, when the bearer token is valid.
    pub actor: Option<Actor>,
    /// SHA-256 of the bearer token (for logout).
    pub token_hash: Option<Vec<u8>>,
    /// This request's id (X-Request-Id or generated).
    pub request_id: String,
    /// The correlation id (X-Correlation-Id or the request id).
    pub correlation_id: String,
    /// Where the request came from (address, user agent).
    pub client: crate::auth::security::Client,
    /// The files this request stored.
    pub uploads: RequestUploads,
    /// The event position the caller must see in what it reads (the `Cabinet-Read-After` header).
    pub read_after: Option<i64>,
    /// The pool this request's heavy reads use, chosen once (see [`read_pool`]).
    pub reads: std::sync::Arc<tokio::sync::OnceCell<sqlx::PgPool>>,
}

/// The pool for the screens' heavy reads of this request: a replica that has replayed the caller's
/// `Cabinet-Read-After` position (or any healthy one), else the primary; chosen once per request.
///
/// # Errors
/// No request context.
pub(crate) async fn read_pool(ctx: &Context<'_>) -> Result<sqlx::PgPool, ApiError> {
    let req = request(ctx)?;
    let app = app(ctx);
    Ok(req
        .reads
        .get_or_init(|| async {
            // The later of the header's position and the session's last write.
            let floor = match (&req.token_hash, app.reads.any()) {
                (Some(hash), true) => crate::auth::sessions::read_floor(&app.pool, hash)
                    .await
                    .unwrap_or_default(),
                _ => None,
            };
            let after = req.read_after.max(floor);
            app.reads.pool_for(&app.pool, after).await
        })
        .await
        .clone())
}

/// The files a request stored, so that a request that ends in an error can discard what it left behind
/// (`http::graphql` does, through [`crate::app::files::FileStore::discard`], which keeps anything a document
/// refers to or someone uploaded again since).
#[derive(Debug, Clone, Default)]
pub struct RequestUploads(
    std::sync::Arc<std::sync::Mutex<Vec<(String, crate::app::files::UploadMark)>>>,
);

impl RequestUploads {
    pub(crate) fn note(&self, sha256: String, mark: crate::app::files::UploadMark) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((sha256, mark));
    }

    /// The files stored so far, taken out.
    pub fn take(&self) -> Vec<(String, crate::app::files::UploadMark)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Marks a WebSocket's connection data: every operation on it resolves its session again (see
/// [`super::session`]), as a POST resolves its bearer token each time.
#[derive(Debug, Clone)]
pub struct SocketSession {
    /// SHA-256 of the token `connection_init` sent.
    pub token_hash: Vec<u8>,
}

impl RequestCtx {
    /// Metadata for a command issued by this request.
    pub fn meta(&self, actor: &Actor, idempotency_key: Option<String>) -> CommandMeta {
        CommandMeta {
            actor: actor.event_actor(),
            correlation_id: self.correlation_id.clone(),
            causation_id: self.request_id.clone(),
            request_id: self.request_id.clone(),
            idempotency_key,
        }
    }
}

pub(crate) fn app<'a>(ctx: &Context<'a>) -> &'a App {
    ctx.data_unchecked::<App>()
}

pub(crate) fn request<'a>(ctx: &Context<'a>) -> Result<&'a RequestCtx, ApiError> {
    ctx.data::<RequestCtx>()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("request context missing")))
}

/// The authorization check every resolver starts with.
pub(crate) fn allow<'a>(
    ctx: &Context<'a>,
    op: Operation,
) -> Result<(&'a Actor, &'a RequestCtx), ApiError> {
    let req = request(ctx)?;
    let actor = authorize(req.actor.as_ref(), op)?;
    Ok((actor, req))
}

/// [`allow`] for an operation on a thing the caller named by id and `op` names the company of: when the
/// caller may not, and the company is not one it sees, the answer is `not_found()` — the same as for an id
/// that does not exist, so ids of other companies' things cannot be probed.
pub(crate) fn allow_seen<'a>(
    ctx: &Context<'a>,
    op: Operation,
    not_found: impl FnOnce() -> ApiError,
) -> Result<(&'a Actor, &'a RequestCtx), ApiError> {
    allow(ctx, op).map_err(|e| {
        let req = request(ctx).ok();
        let hidden = match (req.and_then(|r| r.actor.as_ref()), op.company()) {
            (Some(actor), Some(company)) => !crate::auth::policy::sees_company(actor, company),
            _ => false,
        };
        if hidden && e.code() == "FORBIDDEN" {
            not_found()
        } else {
            e
        }
    })
}

/// A lookup by id answers `null` for what the caller cannot find — missing, or another company's, which
/// is hidden as missing — so that one absent object does not blank the rest of the response; any other
/// refusal (unauthenticated, forbidden) stays an error.
pub(crate) fn found<T>(r: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ApiError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Validates an idempotency key: 1–200 printable characters.
pub(crate) fn idempotency_key(k: Option<String>) -> Result<Option<String>, ApiError> {
    use crate::error::Reason;
    match k {
        Some(k) if k.is_empty() || k.chars().count() > 200 => Err(ApiError::invalid(
            "idempotencyKey",
            Reason::Rule(domain::values::Rule::LengthBetween { min: 1, max: 200 }),
            "must be 1 to 200 printable characters",
        )),
        Some(k) if k.chars().any(char::is_control) => Err(ApiError::invalid(
            "idempotencyKey",
            Reason::Rule(domain::values::Rule::Format),
            "must be 1 to 200 printable characters",
        )),
        other => Ok(other),
    }
}
