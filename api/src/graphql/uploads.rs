//! GraphQL uploads (the multipart request spec): read, checked and stored through the application's file
//! store.

use std::io::Read;

use async_graphql::{Context, Upload};
use domain::values::FileRef;

use crate::app::files::check;
use crate::error::ApiError;

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
    let app = super::context::app(ctx);
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
    let mark = app.store.put(&file, &content, stored_by).await?;
    super::context::request(ctx)?
        .uploads
        .note(file.sha256.clone(), mark);
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
