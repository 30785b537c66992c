//! Stored files (attachments, policy forms, result documents) as the model sees them: a reference by
//! content hash. The bytes live outside the event log (the `stored_files` table); an event names a file by
//! its SHA-256, so the log never grows with file contents and a file is stored once however often it is
//! referenced.

use serde::{Deserialize, Serialize};

use super::{Rule, ValueError};

/// A file, referenced by the SHA-256 of its content.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileRef {
    /// SHA-256 of the content, 64 lowercase hex digits.
    pub sha256: String,
    /// The name it was uploaded under (no directories).
    pub name: String,
    /// Its MIME type, as checked at upload.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
}

impl FileRef {
    /// Builds a reference, checking the hash form, the name and the size.
    ///
    /// # Errors
    /// [`ValueError`] on a hash that is not 64 lowercase hex digits, an empty or over-long name, a name with
    /// a path separator or control character, an empty content type, or an empty file.
    pub fn new(
        sha256: &str,
        name: &str,
        content_type: &str,
        size: u64,
    ) -> Result<Self, ValueError> {
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(ValueError::new(
                "file",
                Rule::Format,
                "the hash must be 64 lowercase hex digits",
            ));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 255 {
            return Err(ValueError::new(
                "file",
                Rule::LengthBetween { min: 1, max: 255 },
                "the name must be 1 to 255 characters",
            ));
        }
        if name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            return Err(ValueError::new(
                "file",
                Rule::Format,
                "the name must not contain path separators or control characters",
            ));
        }
        if content_type.trim().is_empty() {
            return Err(ValueError::new(
                "file",
                Rule::Required,
                "the content type is missing",
            ));
        }
        if size == 0 {
            return Err(ValueError::new("file", Rule::Required, "the file is empty"));
        }
        Ok(Self {
            sha256: sha256.to_owned(),
            name: name.to_owned(),
            content_type: content_type.trim().to_owned(),
            size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn file_reference_cases() {
        assert!(FileRef::new(HASH, "акт.pdf", "application/pdf", 10).is_ok());
        assert!(FileRef::new(&HASH.to_uppercase(), "a.pdf", "application/pdf", 10).is_err());
        assert!(FileRef::new(&HASH[1..], "a.pdf", "application/pdf", 10).is_err());
        assert!(FileRef::new(HASH, " ", "application/pdf", 10).is_err());
        assert!(FileRef::new(HASH, "../etc/passwd", "application/pdf", 10).is_err());
        assert!(FileRef::new(HASH, "a.pdf", "application/pdf", 0).is_err());
        assert!(FileRef::new(HASH, "a.pdf", "", 1).is_err());
    }
}
