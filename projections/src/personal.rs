//! Crypto-shredding (issue 21, ADR 0016): personal values are stored only encrypted, under a key per data
//! subject kept outside the event log and the snapshots; destroying the key destroys the values wherever the
//! ciphertext went — the log, snapshots, exports and backups.
//!
//! A subject is a role within an aggregate (`Company` 0193…, `contact`): the domain marks a personal value
//! as `{"$pd": {"r": <role>, "v": <value>}}` ([`domain::values::Personal`]). Before a row is written the
//! store seals it into `{"$pd": {"r", "s": <subject>, "n": <nonce>, "c": <ciphertext>}}`
//! (XChaCha20-Poly1305 under the subject's data key, the subject as associated data, so a ciphertext moved to
//! another subject does not open). Every reader opens it back before decoding; a value whose key was
//! destroyed opens to `{"$pd": {"r", "x": true}}`, which the domain reads as destroyed.
//!
//! Data keys live in `subject_keys`, wrapped by a master key (envelope encryption): the keys configured in
//! `[personal_data]` ([`configure`]), or, when none are, one generated into `personal_data_master_keys` on
//! first use — which still makes destruction final, but lets a dump of the database open live values (see
//! docs/operations.md). Rotating the master key re-wraps data keys ([`rewrap_all`]) and never touches events.

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde_json::{json, Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

pub use domain::values::personal::MARK;

/// The id of the master key generated into the database when none is configured.
pub const DATABASE_KEY_ID: &str = "database-1";

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum PersonalError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A key is wrapped by a master key the settings do not hold.
    #[error(
        "personal_data: master key {0} is not configured (every node needs the same master keys)"
    )]
    UnknownMasterKey(String),
    /// A ciphertext or wrapped key did not authenticate (tampered, or the wrong key).
    #[error("a sealed personal value does not open: {0}")]
    Corrupt(String),
    /// The settings' master keys are malformed.
    #[error("personal_data.master_keys: {0}")]
    Settings(String),
}

impl From<PersonalError> for sqlx::Error {
    /// For readers whose callers speak `sqlx::Error`: a database failure stays one, anything else is a
    /// value that does not decode.
    fn from(e: PersonalError) -> Self {
        match e {
            PersonalError::Database(db) => db,
            other => sqlx::Error::Decode(Box::new(other)),
        }
    }
}

/// A 256-bit key.
#[derive(Clone)]
struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)")
    }
}

impl Key {
    fn random() -> Self {
        Self(XChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    fn from_slice(bytes: &[u8], what: &str) -> Result<Self, PersonalError> {
        bytes
            .try_into()
            .map(Key)
            .map_err(|_| PersonalError::Corrupt(format!("{what} is not 32 bytes")))
    }

    fn seal(&self, plain: &[u8], aad: &[u8]) -> Result<(Vec<u8>, Vec<u8>), PersonalError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = XChaCha20Poly1305::new((&self.0).into())
            .encrypt(&nonce, Payload { msg: plain, aad })
            .map_err(|e| PersonalError::Corrupt(e.to_string()))?;
        Ok((nonce.to_vec(), ct))
    }

    fn open(&self, nonce: &[u8], ct: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        if nonce.len() != 24 {
            return None;
        }
        XChaCha20Poly1305::new((&self.0).into())
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .ok()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Result<Vec<u8>, PersonalError> {
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| PersonalError::Corrupt(e.to_string()))
}

/// The configured master keys: the current one wraps new data keys, the others still unwrap old ones.
#[derive(Clone, Debug)]
pub struct MasterKeys {
    current: String,
    keys: HashMap<String, Key>,
}

impl MasterKeys {
    /// `keys` by id (32 bytes each, base64); `current` names the one that wraps.
    ///
    /// # Errors
    /// A key is not 32 bytes of base64, or `current` is not among them.
    pub fn new(current: &str, keys: &[(&str, &str)]) -> Result<Self, PersonalError> {
        let mut map = HashMap::new();
        for (id, text) in keys {
            if *id == DATABASE_KEY_ID {
                return Err(PersonalError::Settings(format!(
                    "the id {id} is reserved for the generated key"
                )));
            }
            let bytes = unb64(text.trim())
                .map_err(|_| PersonalError::Settings(format!("key {id} is not base64")))?;
            let key = Key::from_slice(&bytes, "a master key")
                .map_err(|_| PersonalError::Settings(format!("key {id} is not 32 bytes")))?;
            map.insert((*id).to_owned(), key);
        }
        if !map.contains_key(current) {
            return Err(PersonalError::Settings(format!(
                "current key {current:?} is not among the keys"
            )));
        }
        Ok(Self {
            current: current.to_owned(),
            keys: map,
        })
    }

    /// A fresh random master key, base64 (`cabinet personal-data new-key`).
    pub fn generate() -> String {
        b64(&Key::random().0)
    }
}

static CONFIGURED: OnceLock<MasterKeys> = OnceLock::new();

/// Installs the configured master keys for this process (once, at start-up, before any command).
///
/// # Errors
/// Other keys were installed already.
pub fn configure(keys: MasterKeys) -> Result<(), PersonalError> {
    let current = keys.current.clone();
    let installed = CONFIGURED.get_or_init(|| keys);
    if installed.current != current {
        return Err(PersonalError::Settings(
            "master keys were already configured in this process".into(),
        ));
    }
    Ok(())
}

/// Whether master keys come from the settings (false: the generated database key).
pub fn configured() -> bool {
    CONFIGURED.get().is_some()
}

fn wrap(master: &(String, Key), subject: Uuid, data: &Key) -> Result<Vec<u8>, PersonalError> {
    let (nonce, ct) = master.1.seal(&data.0, subject.as_bytes())?;
    Ok([nonce, ct].concat())
}

fn unwrap(
    subject: Uuid,
    master_id: &str,
    database_key: Option<&[u8]>,
    wrapped: &[u8],
) -> Result<Key, PersonalError> {
    let master = match CONFIGURED.get().and_then(|m| m.keys.get(master_id)) {
        Some(k) => k.clone(),
        None => match database_key {
            Some(bytes) => Key::from_slice(bytes, "the database master key")?,
            None => return Err(PersonalError::UnknownMasterKey(master_id.to_owned())),
        },
    };
    if wrapped.len() < 24 {
        return Err(PersonalError::Corrupt("wrapped key too short".into()));
    }
    let plain = master
        .open(&wrapped[..24], &wrapped[24..], subject.as_bytes())
        .ok_or_else(|| {
            PersonalError::Corrupt(format!(
                "master key {master_id} does not unwrap the key of subject {subject}"
            ))
        })?;
    Key::from_slice(&plain, "a data key")
}

/// The master key that wraps new data keys: the configured current one, else the database's (made on
/// first use).
async fn current_master(conn: &mut PgConnection) -> Result<(String, Key), PersonalError> {
    if let Some(m) = CONFIGURED.get() {
        return Ok((m.current.clone(), m.keys[&m.current].clone()));
    }
    sqlx::query(
        "INSERT INTO personal_data_master_keys (id, key) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(DATABASE_KEY_ID)
    .bind(Key::random().0.to_vec())
    .execute(&mut *conn)
    .await?;
    let key: Vec<u8> =
        sqlx::query_scalar("SELECT key FROM personal_data_master_keys WHERE id = $1")
            .bind(DATABASE_KEY_ID)
            .fetch_one(&mut *conn)
            .await?;
    Ok((
        DATABASE_KEY_ID.to_owned(),
        Key::from_slice(&key, "the database master key")?,
    ))
}

type KeyRow = (Uuid, Option<String>, Option<Vec<u8>>, Option<Vec<u8>>);

const KEY_COLUMNS: &str = "s.subject_id, s.master_key_id, s.wrapped_key, m.key \
     FROM subject_keys s LEFT JOIN personal_data_master_keys m ON m.id = s.master_key_id";

fn unwrap_row((subject, id, wrapped, db): &KeyRow) -> Result<Option<Key>, PersonalError> {
    match (id, wrapped) {
        (Some(id), Some(w)) => unwrap(*subject, id, db.as_deref(), w).map(Some),
        _ => Ok(None),
    }
}

/// The subject of (`scope_type`, `scope_id`, `role`) and its key (None: destroyed), made when new.
async fn subject_for(
    conn: &mut PgConnection,
    scope_type: &str,
    scope_id: &str,
    role: &str,
) -> Result<(Uuid, Option<Key>), PersonalError> {
    let select =
        format!("SELECT {KEY_COLUMNS} WHERE s.scope_type = $1 AND s.scope_id = $2 AND s.role = $3");
    for _ in 0..2 {
        let row: Option<KeyRow> = sqlx::query_as(&select)
            .bind(scope_type)
            .bind(scope_id)
            .bind(role)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(row) = row {
            return Ok((row.0, unwrap_row(&row)?));
        }
        let master = current_master(conn).await?;
        let subject = Uuid::now_v7();
        let wrapped = wrap(&master, subject, &Key::random())?;
        // A concurrent transaction may make the same subject: its row wins, and is read back.
        sqlx::query(
            "INSERT INTO subject_keys (subject_id, scope_type, scope_id, role, master_key_id, wrapped_key) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope_type, scope_id, role) DO NOTHING",
        )
        .bind(subject)
        .bind(scope_type)
        .bind(scope_id)
        .bind(role)
        .bind(&master.0)
        .bind(&wrapped)
        .execute(&mut *conn)
        .await?;
    }
    Err(PersonalError::Corrupt(format!(
        "no key could be made for {scope_type} {scope_id} {role}"
    )))
}

/// Whether `v` holds a personal value anywhere (sealed, clear or destroyed): the cheap test before opening
/// or sealing.
pub fn is_marked(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.contains_key(MARK) || m.values().any(is_marked),
        Value::Array(a) => a.iter().any(is_marked),
        _ => false,
    }
}

/// Paths (object keys and array indexes) to every marked node.
fn marked(v: &Value) -> Vec<Vec<Step>> {
    fn walk(v: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        match v {
            Value::Object(map) => {
                if map.len() == 1 && map.contains_key(MARK) {
                    out.push(here.clone());
                    return;
                }
                for (k, child) in map {
                    here.push(Step::Key(k.clone()));
                    walk(child, here, out);
                    here.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    here.push(Step::Index(i));
                    walk(child, here, out);
                    here.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn at<'a>(v: &'a mut Value, path: &[Step]) -> &'a mut Map<String, Value> {
    let mut node = v;
    for step in path {
        node = match step {
            Step::Key(k) => &mut node[k.as_str()],
            Step::Index(i) => &mut node[*i],
        };
    }
    node[MARK]
        .as_object_mut()
        .expect("a marked node holds an object")
}

fn destroyed(role: &Value) -> Value {
    json!({ "r": role, "x": true })
}

/// Seals every clear personal value in `payloads` (events or a snapshot of the aggregate `scope_type`
/// `scope_id`) in place, under the key of its role's subject (made when new). Values already sealed or
/// destroyed are left as they are; a value for a destroyed subject is written as destroyed. Returns the
/// roles whose subject was found destroyed: a caller that keeps clear copies blanks them there too
/// ([`blank_roles`]), so nothing it derives from them (an inline read model) holds a destroyed value.
///
/// # Errors
/// A database error, or a key that does not unwrap.
pub async fn seal(
    conn: &mut PgConnection,
    scope_type: &str,
    scope_id: &str,
    payloads: &mut [&mut Value],
) -> Result<Vec<String>, PersonalError> {
    let mut subjects: HashMap<String, (Uuid, Option<Key>)> = HashMap::new();
    for payload in payloads.iter_mut() {
        for path in marked(payload) {
            let node = at(payload, &path);
            let (Some(role), Some(value)) = (
                node.get("r").and_then(Value::as_str).map(str::to_owned),
                node.get("v"),
            ) else {
                continue;
            };
            if !subjects.contains_key(&role) {
                let s = subject_for(conn, scope_type, scope_id, &role).await?;
                subjects.insert(role.clone(), s);
            }
            let (subject, key) = &subjects[&role];
            let sealed = match key {
                None => json!({ "r": role, "s": subject, "x": true }),
                Some(key) => {
                    let plain = serde_json::to_vec(value)
                        .map_err(|e| PersonalError::Corrupt(e.to_string()))?;
                    let (n, c) = key.seal(&plain, subject.as_bytes())?;
                    json!({ "r": role, "s": subject, "n": b64(&n), "c": b64(&c) })
                }
            };
            *node = match sealed {
                Value::Object(m) => m,
                _ => unreachable!("json! object"),
            };
        }
    }
    let mut destroyed_roles: Vec<String> = subjects
        .into_iter()
        .filter(|(_, (_, key))| key.is_none())
        .map(|(role, _)| role)
        .collect();
    destroyed_roles.sort();
    Ok(destroyed_roles)
}

/// Opens every sealed value in `values` in place: clear (`"v"`), or `"x": true` when its subject's key
/// was destroyed. One query for all the subjects named.
///
/// # Errors
/// A database error, a master key that is not configured, or a value that does not authenticate.
pub async fn open(conn: &mut PgConnection, values: &mut [&mut Value]) -> Result<(), PersonalError> {
    open_with(conn, values, false).await
}

/// As [`open`], for loading an aggregate to handle a command: data keys unwrapped in the last minute are
/// reused, so a command on an aggregate whose events hold personal values costs no key query. Safe where
/// only commands use it: a key destroyed meanwhile may still open a value in memory, but whatever the
/// command writes is sealed against the key store ([`seal`] writes a destroyed subject's values as
/// destroyed, and the store blanks them in what its inline projections see). Never for read models,
/// replays or exports.
///
/// # Errors
/// As [`open`].
pub async fn open_for_command(
    conn: &mut PgConnection,
    values: &mut [&mut Value],
) -> Result<(), PersonalError> {
    open_with(conn, values, true).await
}

const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);
const CACHE_MAX: usize = 10_000;

type KeyCache = std::sync::Mutex<HashMap<Uuid, (Key, std::time::Instant)>>;

fn key_cache() -> &'static KeyCache {
    static CACHE: OnceLock<KeyCache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

async fn open_with(
    conn: &mut PgConnection,
    values: &mut [&mut Value],
    cached: bool,
) -> Result<(), PersonalError> {
    let paths: Vec<Vec<Vec<Step>>> = values.iter().map(|v| marked(v)).collect();
    if paths.iter().all(Vec::is_empty) {
        return Ok(());
    }
    let mut wanted: Vec<Uuid> = Vec::new();
    for (v, ps) in values.iter_mut().zip(&paths) {
        for p in ps {
            if let Some(s) = at(v, p).get("s").and_then(Value::as_str) {
                if let Ok(s) = s.parse() {
                    wanted.push(s);
                }
            }
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    let mut keys: HashMap<Uuid, Option<Key>> = HashMap::with_capacity(wanted.len());
    if cached {
        let cache = key_cache()
            .lock()
            .map_err(|_| PersonalError::Corrupt("key cache".into()))?;
        wanted.retain(|s| match cache.get(s) {
            Some((k, at)) if at.elapsed() < CACHE_TTL => {
                keys.insert(*s, Some(k.clone()));
                false
            }
            _ => true,
        });
    }
    let rows: Vec<KeyRow> = if wanted.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(&format!(
            "SELECT {KEY_COLUMNS} WHERE s.subject_id = ANY($1)"
        ))
        .bind(&wanted)
        .fetch_all(&mut *conn)
        .await?
    };
    for row in &rows {
        let key = unwrap_row(row)?;
        if cached {
            if let Some(k) = &key {
                let mut cache = key_cache()
                    .lock()
                    .map_err(|_| PersonalError::Corrupt("key cache".into()))?;
                if cache.len() >= CACHE_MAX {
                    cache.clear();
                }
                cache.insert(row.0, (k.clone(), std::time::Instant::now()));
            }
        }
        keys.insert(row.0, key);
    }
    for (v, ps) in values.iter_mut().zip(&paths) {
        for p in ps {
            let node = at(v, p);
            if node.contains_key("v") {
                continue;
            }
            let role = node.get("r").cloned().unwrap_or(Value::Null);
            let subject: Option<Uuid> = node
                .get("s")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
            let key = subject.and_then(|s| keys.get(&s).cloned().flatten());
            let opened = match (
                key,
                subject,
                node.get("n").and_then(Value::as_str),
                node.get("c").and_then(Value::as_str),
            ) {
                (Some(key), Some(subject), Some(n), Some(c)) => {
                    let plain = key
                        .open(&unb64(n)?, &unb64(c)?, subject.as_bytes())
                        .ok_or_else(|| {
                            PersonalError::Corrupt(format!("a value of subject {subject}"))
                        })?;
                    let value: Value = serde_json::from_slice(&plain)
                        .map_err(|e| PersonalError::Corrupt(e.to_string()))?;
                    json!({ "r": role, "v": value })
                }
                // Destroyed (or marked destroyed when written).
                _ => destroyed(&role),
            };
            *node = match opened {
                Value::Object(m) => m,
                _ => unreachable!("json! object"),
            };
        }
    }
    Ok(())
}

/// Replaces every personal value in `value` by its destroyed form, sealed or not: what a read model's
/// JSON column becomes when its subjects are destroyed (equal to what a replay writes).
pub fn blank(value: &mut Value) {
    for path in marked(value) {
        let node = at(value, &path);
        let role = node.get("r").cloned().unwrap_or(Value::Null);
        *node = match destroyed(&role) {
            Value::Object(m) => m,
            _ => unreachable!("json! object"),
        };
    }
}

/// The value as a client reads it: every personal value in place of its marker, `null` where destroyed
/// (request details shown as JSON).
pub fn flatten(mut value: Value) -> Value {
    for path in marked(&value) {
        let node = at(&mut value, &path)
            .get("v")
            .cloned()
            .unwrap_or(Value::Null);
        let mut slot = &mut value;
        for step in &path {
            slot = match step {
                Step::Key(k) => &mut slot[k.as_str()],
                Step::Index(i) => &mut slot[*i],
            };
        }
        *slot = node;
    }
    value
}

/// How sealed text begins.
pub const SEALED_TEXT: &str = "pd1:";

/// Seals `plain` (text kept outside events: a mail's body until it is sent) under the key of the subject
/// (`scope_type`, `scope_id`, `role`), bound to `aad`: `pd1:<subject>:<nonce>:<ciphertext>`.
///
/// # Errors
/// A database error, a key that does not unwrap, or a destroyed subject.
pub async fn seal_text(
    conn: &mut PgConnection,
    (scope_type, scope_id, role): (&str, &str, &str),
    plain: &str,
    aad: &[u8],
) -> Result<String, PersonalError> {
    let (subject, key) = subject_for(conn, scope_type, scope_id, role).await?;
    let key =
        key.ok_or_else(|| PersonalError::Corrupt(format!("subject {subject} was destroyed")))?;
    let (n, c) = key.seal(plain.as_bytes(), aad)?;
    Ok(format!("{SEALED_TEXT}{subject}:{}:{}", b64(&n), b64(&c)))
}

/// Opens what [`seal_text`] sealed; text that is not sealed (rows written before) is returned as it is;
/// None once the subject's key is gone.
///
/// # Errors
/// A database error, or a value that does not authenticate.
pub async fn open_text(
    conn: &mut PgConnection,
    text: &str,
    aad: &[u8],
) -> Result<Option<String>, PersonalError> {
    let Some(rest) = text.strip_prefix(SEALED_TEXT) else {
        return Ok(Some(text.to_owned()));
    };
    let mut parts = rest.splitn(3, ':');
    let (Some(s), Some(n), Some(c)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(PersonalError::Corrupt(
            "sealed text without its parts".into(),
        ));
    };
    let subject: Uuid = s
        .parse()
        .map_err(|_| PersonalError::Corrupt("sealed text's subject".into()))?;
    let row: Option<KeyRow> =
        sqlx::query_as(&format!("SELECT {KEY_COLUMNS} WHERE s.subject_id = $1"))
            .bind(subject)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(key) = row.as_ref().map(unwrap_row).transpose()?.flatten() else {
        return Ok(None);
    };
    let plain = key
        .open(&unb64(n)?, &unb64(c)?, aad)
        .ok_or_else(|| PersonalError::Corrupt("a sealed text".into()))?;
    String::from_utf8(plain)
        .map(Some)
        .map_err(|e| PersonalError::Corrupt(e.to_string()))
}

/// Forgets the keys of (`scope_type`, `scope_ids`) altogether (what they sealed was wiped: a mail's body
/// once sent).
///
/// # Errors
/// A database error.
pub async fn forget<'c>(
    conn: impl sqlx::PgExecutor<'c>,
    scope_type: &str,
    scope_ids: &[String],
) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM subject_keys WHERE scope_type = $1 AND scope_id = ANY($2)")
            .bind(scope_type)
            .bind(scope_ids)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// Replaces the values of `roles` in `value` by their destroyed form (see [`seal`]).
pub fn blank_roles(value: &mut Value, roles: &[String]) {
    if roles.is_empty() {
        return;
    }
    for path in marked(value) {
        let node = at(value, &path);
        let role = node.get("r").cloned().unwrap_or(Value::Null);
        if role.as_str().is_some_and(|r| roles.iter().any(|x| x == r)) {
            *node = match destroyed(&role) {
                Value::Object(m) => m,
                _ => unreachable!("json! object"),
            };
        }
    }
}

/// A destroyed subject.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DestroyedSubject {
    /// Its id (reveals nothing).
    pub subject_id: Uuid,
    /// The aggregate type it belonged to.
    pub scope_type: String,
    /// The aggregate.
    pub scope_id: String,
    /// Its role there.
    pub role: String,
}

/// Destroys the keys of every subject of the aggregates `scope_ids` of `scope_type`: every value sealed
/// under them reads as destroyed from now on, wherever the ciphertext went. Returns the subjects destroyed
/// now (not those destroyed before).
///
/// # Errors
/// A database error.
pub async fn destroy(
    conn: &mut PgConnection,
    scope_type: &str,
    scope_ids: &[String],
) -> Result<Vec<DestroyedSubject>, PersonalError> {
    Ok(sqlx::query_as(
        "UPDATE subject_keys SET master_key_id = NULL, wrapped_key = NULL, destroyed_at = clock_timestamp() \
         WHERE scope_type = $1 AND scope_id = ANY($2) AND destroyed_at IS NULL \
         RETURNING subject_id, scope_type, scope_id, role",
    )
    .bind(scope_type)
    .bind(scope_ids)
    .fetch_all(&mut *conn)
    .await?)
}

/// Re-wraps every live data key with the current master key (after a new one was made current); returns
/// how many were re-wrapped. Events are not touched.
///
/// # Errors
/// A database error, or a key wrapped by a master key no longer configured.
pub async fn rewrap_all(conn: &mut PgConnection) -> Result<u64, PersonalError> {
    let master = current_master(conn).await?;
    let rows: Vec<KeyRow> = sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} WHERE s.wrapped_key IS NOT NULL AND s.master_key_id <> $1"
    ))
    .bind(&master.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut n = 0;
    for row in &rows {
        let Some(key) = unwrap_row(row)? else {
            continue;
        };
        sqlx::query(
            "UPDATE subject_keys SET master_key_id = $2, wrapped_key = $3 WHERE subject_id = $1",
        )
        .bind(row.0)
        .bind(&master.0)
        .bind(wrap(&master, row.0, &key)?)
        .execute(&mut *conn)
        .await?;
        n += 1;
    }
    Ok(n)
}
