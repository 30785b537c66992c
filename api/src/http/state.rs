//! What the HTTP handlers share.

use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::sessions::{Revocations, SessionPolicy};
use crate::config::{HttpSettings, Introspection};
use crate::graphql::CabinetSchema;

/// What the HTTP handlers share.
#[derive(Clone)]
pub(crate) struct HttpState {
    pub(crate) schema: CabinetSchema,
    pub(crate) pool: PgPool,
    pub(crate) sessions: SessionPolicy,
    pub(crate) forwarding: super::headers::Forwarding,
    pub(crate) upload_max_bytes: usize,
    pub(crate) limits: HttpSettings,
    pub(crate) introspection: Introspection,
    pub(crate) metrics_token: Option<Arc<str>>,
    pub(crate) revocations: Arc<Revocations>,
    pub(crate) store: Arc<dyn crate::app::files::FileStore>,
    /// Read replicas are configured: a session's mutations set its read floor.
    pub(crate) replicas: bool,
}
