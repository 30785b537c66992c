//! A stored file as the schema shows it (the GraphQL type `Document`, kept for compatibility; in this code a
//! "document" is the exchanged, signed Document aggregate, and bytes with a name are a file).

use async_graphql::SimpleObject;
use domain::values::FileRef;

/// A stored file: download it from `url` with the same bearer token, or open `downloadUrl` in a browser.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Document", complex)]
pub struct FileInfo {
    /// SHA-256 of the content.
    pub sha256: String,
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Download path (`/documents/{sha256}`).
    pub url: String,
}

#[async_graphql::ComplexObject]
impl FileInfo {
    /// A link a browser can open without the bearer header (`<a href>`, `<img src>`): signed for the caller
    /// and this file, working for 10 minutes. Ask for it again when it has expired.
    async fn download_url(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<String> {
        let req = super::context::request(ctx)?;
        let Some(actor) = req.actor.as_ref() else {
            return Err(crate::error::ApiError::Unauthenticated("sign in first".into()).into());
        };
        let app = super::context::app(ctx);
        Ok(app
            .links
            .sign(
                &app.pool,
                &self.sha256,
                actor.account_id,
                chrono::Utc::now().timestamp(),
            )
            .await
            .map_err(crate::error::ApiError::from)?)
    }
}

impl From<FileRef> for FileInfo {
    fn from(f: FileRef) -> Self {
        Self {
            url: format!("/documents/{}", f.sha256),
            sha256: f.sha256,
            name: f.name,
            content_type: f.content_type,
            size: f.size as i64,
        }
    }
}

impl FileInfo {
    /// From a stored FileRef (JSON); `None` when it does not decode.
    pub(crate) fn from_json(v: &serde_json::Value) -> Option<Self> {
        serde_json::from_value::<FileRef>(v.clone())
            .ok()
            .map(Self::from)
    }

    /// From a stored list of FileRefs (JSON).
    pub(crate) fn list_from_json(v: &serde_json::Value) -> Vec<Self> {
        match v {
            serde_json::Value::Array(items) => items.iter().filter_map(Self::from_json).collect(),
            other => Self::from_json(other).into_iter().collect(),
        }
    }
}
