//! A setting that must not be shown: database and SMTP URLs (their passwords), the metrics token, master keys.

use serde::{Deserialize, Serialize};

/// A secret setting. `Debug`, `Display` and `Serialize` show it redacted (a URL keeps its scheme, user, host and
/// path, its password becomes `***`; anything else becomes `***`); only [`Secret::expose`] gives the value.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What may be shown of it.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// A URL's password replaced by `***` (`postgres://cabinet:***@db/cabinet`), and its query dropped when it
/// names a password; anything that is not a URL becomes `***`.
fn redact(value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    let Some((scheme, rest)) = value.split_once("://") else {
        return "***".into();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) if !q.to_ascii_lowercase().contains("pass") => (r, format!("?{q}")),
        Some((r, _)) => (r, "?***".to_owned()),
        None => (rest, String::new()),
    };
    match rest.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split_once(':').map_or(user_info, |(u, _)| u);
            format!("{scheme}://{user}:***@{host}{query}")
        }
        None => format!("{scheme}://{rest}{query}"),
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({:?})", self.redacted())
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn passwords_never_show() {
        let url =
            Secret::from("postgres://cabinet:hunter2@db:5432/cabinet?sslmode=require&password=x");
        for shown in [
            format!("{url:?}"),
            url.to_string(),
            serde_json::to_string(&url).unwrap(),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!shown.contains("password=x"), "{shown}");
            assert!(
                shown.contains("postgres://cabinet:***@db:5432/cabinet"),
                "{shown}"
            );
        }
        assert_eq!(Secret::from("token-123").to_string(), "***");
        assert_eq!(
            Secret::from("smtp://relay:25").to_string(),
            "smtp://relay:25"
        );
        assert!(url.expose().contains(":hunter2@"));
    }
}
