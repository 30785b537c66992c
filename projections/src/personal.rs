//! Crypto-shredding, the first part of issue 21 (ADR 0016, proposed): a key per data subject, kept outside
//! the event log and wrapped by a master key, and the sealing and opening of personal values inside event
//! payloads. Not yet wired into the store: nothing calls it outside its tests.
//!
//! A personal value in a payload is `{"$pd": {"s": <subject>, "v": <value>}}`. Sealed, it becomes
//! `{"$pd": {"s": <subject>, "n": <nonce>, "c": <ciphertext>}}` (XChaCha20-Poly1305 under the subject's data
//! key; the subject is associated data, so a ciphertext moved to another subject does not open). The data
//! key lives in `subject_keys`, wrapped by a master key from the settings (its id beside it), so rotating the
//! master key re-wraps keys and never touches events. Opened with a
//! destroyed key, it becomes `{"$pd": {"s": <subject>, "x": true}}`.

use std::collections::HashMap;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

/// The marker of a personal value in a payload.
pub const MARK: &str = "$pd";

/// How sealed text begins.
pub const SEALED_TEXT: &str = "pd1:";

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum PersonalError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A key is wrapped by a master key the settings do not hold.
    #[error("master key {0} is not configured")]
    UnknownMasterKey(String),
    /// A ciphertext or wrapped key did not authenticate (tampered, or the wrong key).
    #[error("a sealed value does not open: {0}")]
    Corrupt(String),
}

/// A 256-bit key.
#[derive(Clone)]
struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)")
    }
}

fn cipher(key: &Key) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new((&key.0).into())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Result<Vec<u8>, PersonalError> {
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s)
        .map_err(|e| PersonalError::Corrupt(e.to_string()))
}

/// The master keys: the current one wraps new data keys, the others still unwrap old ones (rotation).
#[derive(Clone, Debug)]
pub struct MasterKeys {
    current: String,
    keys: HashMap<String, Key>,
}

impl MasterKeys {
    /// `keys` by id (32 bytes each, base64 without padding); `current` names the one that wraps.
    ///
    /// # Errors
    /// A key is not 32 bytes of base64, or `current` is not among them.
    pub fn new(current: &str, keys: &[(&str, &str)]) -> Result<Self, PersonalError> {
        let mut map = HashMap::new();
        for (id, text) in keys {
            let bytes = unb64(text)?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| PersonalError::Corrupt(format!("master key {id} is not 32 bytes")))?;
            map.insert((*id).to_owned(), Key(key));
        }
        if !map.contains_key(current) {
            return Err(PersonalError::UnknownMasterKey(current.to_owned()));
        }
        Ok(Self {
            current: current.to_owned(),
            keys: map,
        })
    }

    /// A fresh random master key, base64 (for `cabinet` to offer when none is configured).
    pub fn generate() -> String {
        b64(&XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    fn wrap(&self, subject: Uuid, data: &Key) -> Result<(String, Vec<u8>), PersonalError> {
        let master = &self.keys[&self.current];
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        out.extend(
            cipher(master)
                .encrypt(
                    &nonce,
                    Payload {
                        msg: &data.0,
                        aad: subject.as_bytes(),
                    },
                )
                .map_err(|e| PersonalError::Corrupt(e.to_string()))?,
        );
        Ok((self.current.clone(), out))
    }

    fn unwrap(&self, subject: Uuid, id: &str, wrapped: &[u8]) -> Result<Key, PersonalError> {
        let master = self
            .keys
            .get(id)
            .ok_or_else(|| PersonalError::UnknownMasterKey(id.to_owned()))?;
        if wrapped.len() < 24 {
            return Err(PersonalError::Corrupt("wrapped key too short".into()));
        }
        let (nonce, ct) = wrapped.split_at(24);
        let plain = cipher(master)
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: subject.as_bytes(),
                },
            )
            .map_err(|_| {
                PersonalError::Corrupt(format!(
                    "master key {id} does not unwrap the key of subject {subject} (is the same \
                     [personal_data] master key configured on every node?)"
                ))
            })?;
        let key: [u8; 32] = plain
            .try_into()
            .map_err(|_| PersonalError::Corrupt("data key is not 32 bytes".into()))?;
        Ok(Key(key))
    }
}

/// The data subjects' keys (`subject_keys`), unwrapped as they are needed.
#[derive(Debug)]
pub struct Keyring {
    master: MasterKeys,
    /// Unwrapped keys of this batch (None: destroyed).
    cache: HashMap<Uuid, Option<Key>>,
}

impl Keyring {
    /// A keyring over `master` with nothing unwrapped yet.
    pub fn new(master: MasterKeys) -> Self {
        Self {
            master,
            cache: HashMap::new(),
        }
    }

    /// The subject's key, created when it has none; None once destroyed.
    async fn key(
        &mut self,
        conn: &mut PgConnection,
        subject: Uuid,
        create: bool,
    ) -> Result<Option<Key>, PersonalError> {
        if let Some(k) = self.cache.get(&subject) {
            return Ok(k.clone());
        }
        let row: Option<(Option<String>, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT master_key_id, wrapped_key FROM subject_keys WHERE subject_id = $1",
        )
        .bind(subject)
        .fetch_optional(&mut *conn)
        .await?;
        let key = match row {
            Some((Some(id), Some(wrapped))) => Some(self.master.unwrap(subject, &id, &wrapped)?),
            Some(_) => None,
            None if create => {
                let fresh = Key(XChaCha20Poly1305::generate_key(&mut OsRng).into());
                let (id, wrapped) = self.master.wrap(subject, &fresh)?;
                sqlx::query(
                    "INSERT INTO subject_keys (subject_id, master_key_id, wrapped_key) VALUES ($1, $2, $3) \
                     ON CONFLICT (subject_id) DO NOTHING",
                )
                .bind(subject)
                .bind(&id)
                .bind(&wrapped)
                .execute(&mut *conn)
                .await?;
                // Another transaction may have created it first: read what is stored.
                self.cache.remove(&subject);
                return Box::pin(self.key(conn, subject, false)).await;
            }
            None => None,
        };
        self.cache.insert(subject, key.clone());
        Ok(key)
    }

    /// Encrypts every personal value in `payload` under its subject's key (created when new).
    ///
    /// # Errors
    /// A database error, or a key that does not unwrap.
    pub async fn seal(
        &mut self,
        conn: &mut PgConnection,
        payload: &mut Value,
    ) -> Result<(), PersonalError> {
        let mut found = Vec::new();
        collect(payload, &mut found);
        for path in found {
            let node = at(payload, &path);
            let Some(inner) = node.get(MARK) else {
                continue;
            };
            let (Some(subject), Some(value)) = (subject_of(inner), inner.get("v")) else {
                continue;
            };
            let plain =
                serde_json::to_vec(value).map_err(|e| PersonalError::Corrupt(e.to_string()))?;
            let Some(key) = self.key(conn, subject, true).await? else {
                // Destroyed already: nothing personal may be written for this subject again.
                *node = json!({ MARK: { "s": subject, "x": true } });
                continue;
            };
            let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
            let ct = cipher(&key)
                .encrypt(
                    &nonce,
                    Payload {
                        msg: &plain,
                        aad: subject.as_bytes(),
                    },
                )
                .map_err(|e| PersonalError::Corrupt(e.to_string()))?;
            *node = json!({ MARK: { "s": subject, "n": b64(&nonce), "c": b64(&ct) } });
        }
        Ok(())
    }

    /// Decrypts every sealed value in `payload`; a value whose key was destroyed becomes `"x": true`.
    ///
    /// # Errors
    /// A database error, or a value that does not authenticate.
    pub async fn open(
        &mut self,
        conn: &mut PgConnection,
        payload: &mut Value,
    ) -> Result<(), PersonalError> {
        let mut found = Vec::new();
        collect(payload, &mut found);
        for path in found {
            let node = at(payload, &path);
            let Some(inner) = node.get(MARK) else {
                continue;
            };
            let (Some(subject), Some(n), Some(c)) = (
                subject_of(inner),
                inner.get("n").and_then(Value::as_str),
                inner.get("c").and_then(Value::as_str),
            ) else {
                continue;
            };
            let (nonce, ct) = (unb64(n)?, unb64(c)?);
            if nonce.len() != 24 {
                return Err(PersonalError::Corrupt("nonce length".into()));
            }
            let opened = match self.key(conn, subject, false).await? {
                None => json!({ MARK: { "s": subject, "x": true } }),
                Some(key) => {
                    let plain = cipher(&key)
                        .decrypt(
                            XNonce::from_slice(&nonce),
                            Payload {
                                msg: &ct,
                                aad: subject.as_bytes(),
                            },
                        )
                        .map_err(|_| {
                            PersonalError::Corrupt(format!("a value of subject {subject}"))
                        })?;
                    let value: Value = serde_json::from_slice(&plain)
                        .map_err(|e| PersonalError::Corrupt(e.to_string()))?;
                    json!({ MARK: { "s": subject, "v": value } })
                }
            };
            *node = opened;
        }
        Ok(())
    }

    /// Seals `plain` under the subject's key (created when new), bound to `aad` (say, a mail's Message-ID):
    /// `pd1:<nonce>:<ciphertext>`, base64. For secrets kept outside events, such as a mail's body until it
    /// is sent.
    ///
    /// # Errors
    /// A database error, a key that does not unwrap, or a destroyed subject.
    pub async fn seal_text(
        &mut self,
        conn: &mut PgConnection,
        subject: Uuid,
        plain: &str,
        aad: &[u8],
    ) -> Result<String, PersonalError> {
        let key = self
            .key(conn, subject, true)
            .await?
            .ok_or_else(|| PersonalError::Corrupt(format!("subject {subject} was destroyed")))?;
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = cipher(&key)
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad,
                },
            )
            .map_err(|e| PersonalError::Corrupt(e.to_string()))?;
        Ok(format!("{SEALED_TEXT}{}:{}", b64(&nonce), b64(&ct)))
    }

    /// Opens what [`Keyring::seal_text`] sealed (text that is not sealed is returned as it is: rows written
    /// before sealing existed); None when the subject's key was destroyed.
    ///
    /// # Errors
    /// A database error, or a value that does not authenticate.
    pub async fn open_text(
        &mut self,
        conn: &mut PgConnection,
        subject: Uuid,
        text: &str,
        aad: &[u8],
    ) -> Result<Option<String>, PersonalError> {
        let Some(rest) = text.strip_prefix(SEALED_TEXT) else {
            return Ok(Some(text.to_owned()));
        };
        let (n, c) = rest
            .split_once(':')
            .ok_or_else(|| PersonalError::Corrupt("sealed text without a nonce".into()))?;
        let (nonce, ct) = (unb64(n)?, unb64(c)?);
        if nonce.len() != 24 {
            return Err(PersonalError::Corrupt("nonce length".into()));
        }
        let Some(key) = self.key(conn, subject, false).await? else {
            return Ok(None);
        };
        let plain = cipher(&key)
            .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ct, aad })
            .map_err(|_| PersonalError::Corrupt("a sealed text".into()))?;
        String::from_utf8(plain)
            .map(Some)
            .map_err(|e| PersonalError::Corrupt(e.to_string()))
    }

    /// Destroys the subject's key: every value sealed under it reads as destroyed from now on, wherever
    /// the ciphertext went.
    ///
    /// # Errors
    /// A database error.
    pub async fn destroy(
        &mut self,
        conn: &mut PgConnection,
        subject: Uuid,
    ) -> Result<(), PersonalError> {
        sqlx::query(
            "INSERT INTO subject_keys (subject_id, master_key_id, wrapped_key, destroyed_at) \
             VALUES ($1, NULL, NULL, clock_timestamp()) \
             ON CONFLICT (subject_id) DO UPDATE SET master_key_id = NULL, wrapped_key = NULL, \
             destroyed_at = coalesce(subject_keys.destroyed_at, clock_timestamp())",
        )
        .bind(subject)
        .execute(&mut *conn)
        .await?;
        self.cache.insert(subject, None);
        Ok(())
    }

    /// Re-wraps every live data key with the current master key (after a new one is made current);
    /// returns how many were re-wrapped. Events are not touched.
    ///
    /// # Errors
    /// A database error, or a key wrapped by a master key no longer configured.
    pub async fn rewrap_all(&mut self, conn: &mut PgConnection) -> Result<u64, PersonalError> {
        let rows: Vec<(Uuid, String, Vec<u8>)> = sqlx::query_as(
            "SELECT subject_id, master_key_id, wrapped_key FROM subject_keys \
             WHERE wrapped_key IS NOT NULL AND master_key_id <> $1",
        )
        .bind(&self.master.current)
        .fetch_all(&mut *conn)
        .await?;
        let mut n = 0;
        for (subject, id, wrapped) in rows {
            let key = self.master.unwrap(subject, &id, &wrapped)?;
            let (id, wrapped) = self.master.wrap(subject, &key)?;
            sqlx::query("UPDATE subject_keys SET master_key_id = $2, wrapped_key = $3 WHERE subject_id = $1")
                .bind(subject)
                .bind(&id)
                .bind(&wrapped)
                .execute(&mut *conn)
                .await?;
            n += 1;
        }
        Ok(n)
    }
}

/// The subject a marked value names.
fn subject_of(inner: &Value) -> Option<Uuid> {
    inner.get("s")?.as_str()?.parse().ok()
}

/// Paths (object keys and array indexes) of every object holding the marker.
fn collect(v: &Value, out: &mut Vec<Vec<PathStep>>) {
    fn walk(v: &Value, here: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
        match v {
            Value::Object(map) => {
                if map.len() == 1 && map.contains_key(MARK) {
                    out.push(here.clone());
                    return;
                }
                for (k, child) in map {
                    here.push(PathStep::Key(k.clone()));
                    walk(child, here, out);
                    here.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    here.push(PathStep::Index(i));
                    walk(child, here, out);
                    here.pop();
                }
            }
            _ => {}
        }
    }
    walk(v, &mut Vec::new(), out);
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn at<'a>(v: &'a mut Value, path: &[PathStep]) -> &'a mut Value {
    let mut node = v;
    for step in path {
        node = match step {
            PathStep::Key(k) => &mut node[k.as_str()],
            PathStep::Index(i) => &mut node[*i],
        };
    }
    node
}
