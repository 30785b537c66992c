//! Every operation on a WebSocket runs as its session is now. The socket's connection data holds the
//! [`RequestCtx`] of `connection_init`; this schema extension resolves the session again before each
//! operation (query, mutation or subscription) and hands the operation a fresh context: blocked, logged out,
//! a changed password, new terms to accept, a temporary password to change — each takes effect on the next
//! operation, as it would on the next POST. (The socket itself closes when its session is revoked: see
//! `http::ws`.)

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::{Request, ServerResult};

use super::context::{RequestCtx, SocketSession};
use crate::app::App;
use crate::auth::sessions;
use crate::error::ApiError;

/// The extension.
pub struct SessionPerOperation;

impl ExtensionFactory for SessionPerOperation {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SessionPerOperation)
    }
}

#[async_trait::async_trait]
impl Extension for SessionPerOperation {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let (Some(socket), Some(connected)) = (
            ctx.session_data
                .get(&std::any::TypeId::of::<SocketSession>()),
            ctx.session_data.get(&std::any::TypeId::of::<RequestCtx>()),
        ) {
            let (Some(socket), Some(connected)) = (
                socket.downcast_ref::<SocketSession>(),
                connected.downcast_ref::<RequestCtx>(),
            ) else {
                return next.run(ctx, request).await;
            };
            let app = ctx.data_unchecked::<App>();
            let refuse = |e: ApiError| {
                async_graphql::Error::from(e).into_server_error(async_graphql::Pos::default())
            };
            let actor = sessions::resolve_hash(
                &app.pool,
                &socket.token_hash,
                app.accounts.session_policy(),
            )
            .await
            .map_err(refuse)?
            .ok_or_else(|| {
                refuse(ApiError::Unauthenticated(
                    "the session has ended; sign in again".into(),
                ))
            })?;
            let request_id = uuid::Uuid::now_v7().to_string();
            request.data.insert(RequestCtx {
                actor: Some(actor),
                correlation_id: request_id.clone(),
                request_id,
                uploads: Default::default(),
                reads: Default::default(),
                ..connected.clone()
            });
        }
        next.run(ctx, request).await
    }
}
