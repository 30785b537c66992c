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

/// Validates an idempotency key: 1–200 printable characters.
pub(crate) fn idempotency_key(k: Option<String>) -> Result<Option<String>, ApiError> {
    match k {
        Some(k) if k.is_empty() || k.chars().count() > 200 || k.chars().any(char::is_control) => {
            Err(ApiError::validation(
                "idempotencyKey",
                "must be 1 to 200 printable characters",
            ))
        }
        other => Ok(other),
    }
}
