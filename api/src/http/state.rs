//! What the HTTP handlers share.

use sqlx::PgPool;

use crate::auth::sessions::SessionPolicy;
use crate::graphql::CabinetSchema;

/// What the HTTP handlers share.
#[derive(Clone)]
pub(crate) struct HttpState {
    pub(crate) schema: CabinetSchema,
    pub(crate) pool: PgPool,
    pub(crate) sessions: SessionPolicy,
    pub(crate) forwarding: super::headers::Forwarding,
    pub(crate) upload_max_bytes: usize,
}
