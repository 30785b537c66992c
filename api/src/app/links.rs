//! Short-lived signed download links: `/documents/{sha256}?account=…&expires=…&signature=…` opens in a
//! browser (`<a href>`, `<img src>`) without the bearer header a plain link would need. The signature is an
//! HMAC-SHA256 over the file, the account it was made for and the expiry, with the installation's key
//! (table `url_signing_key`, shared by every node). A signed link lets only its account download only its
//! file, authorized as that account when it is used (a blocked or deleted account's links stop working), and
//! only until it expires.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

/// How long a link works.
pub const LINK_SECONDS: i64 = 600;

/// The installation's signing key, read once per process.
#[derive(Clone, Default)]
pub struct Links {
    key: Arc<tokio::sync::OnceCell<Vec<u8>>>,
}

/// A link's parts as the download route reads them from the query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The account it was made for.
    pub account: Uuid,
    /// Unix seconds after which it no longer works.
    pub expires: i64,
    /// Hex HMAC-SHA256.
    pub signature: String,
}

impl Signed {
    /// From a query string `account=…&expires=…&signature=…` (in any order); `None` without all three.
    pub fn parse(query: &str) -> Option<Self> {
        let (mut account, mut expires, mut signature) = (None, None, None);
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("account", v)) => account = v.parse().ok(),
                Some(("expires", v)) => expires = v.parse().ok(),
                Some(("signature", v)) => signature = Some(v.to_owned()),
                _ => {}
            }
        }
        Some(Self {
            account: account?,
            expires: expires?,
            signature: signature?,
        })
    }
}

impl Links {
    async fn key(&self, pool: &PgPool) -> Result<&[u8], sqlx::Error> {
        self.key
            .get_or_try_init(|| async {
                sqlx::query_scalar("SELECT key FROM url_signing_key WHERE id = 1")
                    .fetch_one(pool)
                    .await
            })
            .await
            .map(Vec::as_slice)
    }

    fn mac(key: &[u8], sha256: &str, account: Uuid, expires: i64) -> Hmac<Sha256> {
        // Any key length is accepted by HMAC.
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(format!("{sha256}\n{account}\n{expires}").as_bytes());
        mac
    }

    /// A link to `sha256` for `account`, working for [`LINK_SECONDS`] from `now` (unix seconds).
    ///
    /// # Errors
    /// A database error reading the key.
    pub async fn sign(
        &self,
        pool: &PgPool,
        sha256: &str,
        account: Uuid,
        now: i64,
    ) -> Result<String, sqlx::Error> {
        let expires = now + LINK_SECONDS;
        let key = self.key(pool).await?;
        let signature = hex(&Self::mac(key, sha256, account, expires)
            .finalize()
            .into_bytes());
        Ok(format!(
            "/documents/{sha256}?account={account}&expires={expires}&signature={signature}"
        ))
    }

    /// Whether `link` was made by this installation for `sha256` and has not expired at `now`.
    ///
    /// # Errors
    /// A database error reading the key.
    pub async fn verify(
        &self,
        pool: &PgPool,
        sha256: &str,
        link: &Signed,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        if link.expires < now || link.expires > now + LINK_SECONDS {
            return Ok(false);
        }
        let Some(given) = unhex(&link.signature) else {
            return Ok(false);
        };
        let key = self.key(pool).await?;
        // verify_slice compares in constant time.
        Ok(Self::mac(key, sha256, link.account, link.expires)
            .verify_slice(&given)
            .is_ok())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_binds_the_file_the_account_and_the_expiry() {
        let key = [7u8; 32];
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let sig =
            |sha: &str, acc, exp| hex(&Links::mac(&key, sha, acc, exp).finalize().into_bytes());
        let base = sig("aa", a, 100);
        assert_eq!(base.len(), 64);
        assert_eq!(unhex(&base).map(|v| hex(&v)), Some(base.clone()));
        assert_ne!(base, sig("ab", a, 100));
        assert_ne!(base, sig("aa", b, 100));
        assert_ne!(base, sig("aa", a, 101));
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex(&"g".repeat(64)), None);
    }
}
