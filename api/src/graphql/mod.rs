//! The GraphQL schema: queries, mutations, subscriptions (over `graphql-transport-ws` at `/graphql/ws`),
//! and the per-request context.
//!
//! `///` comments on types and fields are the public API documentation (docs/schema.graphql).

mod account;
mod actor;
mod audit;
mod content;
pub mod context;
mod contracts;
pub(crate) mod conversations;
mod documents;
mod enums;
mod files;
mod history;
mod imports;
mod inputs;
mod insurance;
pub mod limits;
mod mutation;
mod notification_params;
mod notifications;
mod order;
mod pagination;
mod payload;
mod people;
pub mod position;
mod query;
mod request_details;
mod requests;
mod scalars;
pub mod session;
mod subscription;
mod types;
mod uploads;

use async_graphql::{MergedObject, Schema};

pub use account::{AccountMutation, AccountQuery};
pub use audit::AuditQuery;
pub use content::{ContentMutation, ContentQuery};
pub use contracts::{ContractMutation, ContractQuery};
pub use conversations::{ConversationMutation, ConversationQuery};
pub use documents::{DocumentMutation, DocumentQuery};
pub use imports::{ImportMutation, ImportQuery};
pub use insurance::{InsuranceMutation, InsuranceQuery};
pub use mutation::CoreMutation;
pub use notifications::{NotificationMutation, NotificationQuery};
pub use people::{PeopleMutation, PeopleQuery};
pub use query::CoreQuery;
pub use requests::{RequestMutation, RequestQuery};
pub use subscription::SubscriptionRoot;

/// The event position a `Cabinet-Read-After` header names, if it is one this API returned.
pub fn read_after(text: &str) -> Option<i64> {
    position::Position::parse_text(text).map(|p| p.event)
}

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
    ImportQuery,
    PeopleQuery,
    ConversationQuery,
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
    ImportMutation,
    PeopleMutation,
    ConversationMutation,
);

use crate::app::App;

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
    .data(actor::loader(app.pool.clone()))
    .data(app)
    .extension(limits::RequestLimits)
    .extension(session::SessionPerOperation)
    .extension(order::SelectionOrder)
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    // Suggestions ("did you mean …") would spell out the schema to a caller introspection refuses.
    .disable_suggestions()
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
    .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
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
