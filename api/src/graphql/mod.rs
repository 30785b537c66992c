//! The GraphQL schema: queries, mutations, subscriptions (over `graphql-transport-ws` at `/graphql/ws`),
//! and the per-request context.
//!
//! `///` comments on types and fields are the public API documentation (docs/schema.graphql).

mod account;
mod audit;
mod content;
mod contracts;
mod documents;
mod inputs;
mod insurance;
mod mutation;
mod notifications;
mod query;
mod requests;
mod subscription;
mod types;

use async_graphql::{Context, MergedObject, Schema};
use projections::event::CommandMeta;

pub use account::{AccountMutation, AccountQuery};
pub use audit::AuditQuery;
pub use content::{ContentMutation, ContentQuery};
pub use contracts::{ContractMutation, ContractQuery};
pub use documents::{DocumentMutation, DocumentQuery};
pub use insurance::{InsuranceMutation, InsuranceQuery};
pub use mutation::CoreMutation;
pub use notifications::{NotificationMutation, NotificationQuery};
pub use query::CoreQuery;
pub use requests::{RequestMutation, RequestQuery};
pub use subscription::SubscriptionRoot;

/// Every query.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    CoreQuery,
    AccountQuery,
    ContractQuery,
    InsuranceQuery,
    RequestQuery,
    NotificationQuery,
    ContentQuery,
    DocumentQuery,
    AuditQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    AccountMutation,
    CoreMutation,
    ContractMutation,
    InsuranceMutation,
    RequestMutation,
    NotificationMutation,
    ContentMutation,
    DocumentMutation,
);

use crate::auth::policy::{authorize, Operation};
use crate::auth::Actor;
use crate::error::ApiError;
use crate::startup::App;

/// The cabinet's schema.
pub type CabinetSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Maximum query depth.
pub const MAX_DEPTH: usize = 12;
/// Maximum query complexity (each field costs 1; list fields cost their page size times their children).
pub const MAX_COMPLEXITY: usize = 2_000;

/// Builds the schema over an application.
pub fn build_schema(app: App) -> CabinetSchema {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .data(app)
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .finish()
}

/// The SDL of the schema (committed as docs/schema.graphql).
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .finish()
    .sdl()
}

/// The names of every query, mutation and subscription field, by introspection (for suites that must cover them all).
pub async fn root_fields() -> Vec<String> {
    let schema = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .finish();
    let r = schema
        .execute(
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } \
               subscriptionType { fields { name } } } }",
        )
        .await;
    let v = r.data.into_json().unwrap_or_default();
    ["queryType", "mutationType", "subscriptionType"]
        .iter()
        .flat_map(|t| {
            v["__schema"][t]["fields"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|f| f["name"].as_str().map(str::to_owned))
        .collect()
}

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
