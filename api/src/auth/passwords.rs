//! Passwords: the policy (length, not the login, not a common password), argon2id hashing with parameters
//! set once per process, and temporary passwords.

use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;

use crate::error::ApiError;

/// The minimum password length, in characters.
pub const MIN_LEN: usize = 10;
/// The maximum: long enough for any passphrase, short enough that hashing stays cheap.
pub const MAX_LEN: usize = 256;
/// The length of a generated temporary password.
pub const TEMPORARY_LEN: usize = 14;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct HashCost {
    /// Memory, KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HashCost {
    /// 64 MiB, 3 passes, 1 lane: 137 ms per hash (median of 10) on this project's 2-core reference
    /// machine (`cabinet accounts hashing-time`; docs/security.md), well above OWASP's minimum (19 MiB,
    /// 2 passes: 17 ms there).
    fn default() -> Self {
        Self {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

static COST: OnceLock<HashCost> = OnceLock::new();

/// Sets the process's hashing cost (the first call wins; later calls with other values are ignored and
/// logged).
pub fn configure(cost: HashCost) {
    if COST.get_or_init(|| cost) != &cost {
        tracing::warn!("argon2 cost already configured; keeping the first setting");
    }
}

fn hasher() -> anyhow::Result<Argon2<'static>> {
    let c = COST.get_or_init(HashCost::default);
    let params = Params::new(c.memory_kib, c.iterations, c.parallelism, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with argon2id and a random salt (a PHC string). Slow by design: call it from
/// `spawn_blocking` on a server.
///
/// # Errors
/// Only if hashing itself fails (a bug or bad parameters).
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Hashes running at once: one per core. Each takes `memory_kib` of memory, so without a bound a burst of
/// sign-ins (or an attacker) would take memory by the gigabyte; beyond it they queue.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// Hashes one caller has running or waiting: one at a time. A caller (an address, an account) that sends
/// hundreds of password checks at once gets them done one after another, holding at most one of the
/// [`hashing_slots`], while everyone else's take the others.
fn callers() -> &'static std::sync::Mutex<
    std::collections::HashMap<String, std::sync::Arc<tokio::sync::Semaphore>>,
> {
    static CALLERS: OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Semaphore>>>,
    > = OnceLock::new();
    CALLERS.get_or_init(Default::default)
}

/// A caller's turn, given back (and its entry dropped when nobody else of it waits) on drop.
struct Turn {
    caller: String,
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self._permit = None;
        let mut map = callers().lock().unwrap_or_else(|p| p.into_inner());
        if map
            .get(&self.caller)
            .is_some_and(|g| std::sync::Arc::strong_count(g) == 1)
        {
            map.remove(&self.caller);
        }
    }
}

async fn turn_of(caller: &str) -> Result<Turn, ApiError> {
    let gate = callers()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(caller.to_owned())
        .or_insert_with(|| std::sync::Arc::new(tokio::sync::Semaphore::new(1)))
        .clone();
    let permit = gate
        .acquire_owned()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Turn {
        caller: caller.to_owned(),
        _permit: Some(permit),
    })
}

async fn blocking<T: Send + 'static>(
    caller: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _turn = turn_of(caller).await?;
    let _slot = hashing_slots()
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.into()))
}

/// Who asks for a hash, for the fair queue: an account, or for the anonymous flows the client's address.
pub fn caller_account(id: uuid::Uuid) -> String {
    format!("account:{id}")
}

/// See [`caller_account`].
pub fn caller_address(address: &str) -> String {
    format!("address:{address}")
}

/// The caller of work no client asked for (provisioning, the command line).
pub const SYSTEM: &str = "system";

/// Hashes off the async workers, one per core at a time and one per `caller` at a time.
///
/// # Errors
/// As [`hash`].
pub async fn hash_async(caller: &str, password: String) -> Result<String, ApiError> {
    blocking(caller, move || hash(&password))
        .await?
        .map_err(ApiError::Internal)
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The password matches.
    pub ok: bool,
    /// It matches but was hashed with other parameters than the current ones: store a new hash.
    pub needs_rehash: bool,
}

/// Checks a password against a stored PHC string (whatever parameters it was hashed with).
pub fn verify(password: &str, stored: &str) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified {
            ok: false,
            needs_rehash: false,
        };
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let current = COST.get_or_init(HashCost::default);
    let needs_rehash = ok
        && (parsed.algorithm.as_str() != "argon2id"
            || Params::try_from(&parsed)
                .map(|p| {
                    (p.m_cost(), p.t_cost(), p.p_cost())
                        != (current.memory_kib, current.iterations, current.parallelism)
                })
                .unwrap_or(true));
    Verified { ok, needs_rehash }
}

/// Verifies off the async workers, one per core at a time and one per `caller` at a time.
///
/// # Errors
/// Only if the blocking task panics.
pub async fn verify_async(
    caller: &str,
    password: String,
    stored: String,
) -> Result<Verified, ApiError> {
    blocking(caller, move || verify(&password, &stored)).await
}

/// A hash of a password nobody has, to verify against when the login does not exist, so that both answers
/// take the same time.
pub fn decoy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| hash("decoy-password-for-unknown-logins").unwrap_or_default())
}

/// A random temporary password of [`TEMPORARY_LEN`] characters, without look-alike characters, with at
/// least one lower-case letter, one capital and one digit.
pub fn generate_temporary() -> String {
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    let all: Vec<u8> = [LOWER, UPPER, DIGIT].concat();
    let mut rng = rand::rngs::OsRng;
    loop {
        let p: String = (0..TEMPORARY_LEN)
            .map(|_| all[rng.gen_range(0..all.len())] as char)
            .collect();
        let has = |set: &[u8]| p.bytes().any(|b| set.contains(&b));
        if has(LOWER) && has(UPPER) && has(DIGIT) && check(&p, "").is_ok() {
            return p;
        }
    }
}

fn common() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        include_str!("../../data/common-passwords.txt")
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_lowercase)
            .collect()
    })
}

/// Why a password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    /// Fewer than [`MIN_LEN`] characters.
    TooShort,
    /// More than [`MAX_LEN`] characters.
    TooLong,
    /// The login e-mail, or its part before `@`.
    IsTheLogin,
    /// In the shipped list of common passwords (or one character repeated).
    Common,
}

impl Weakness {
    /// The message the caller sees.
    pub fn message(self) -> String {
        match self {
            Self::TooShort => format!("must be at least {MIN_LEN} characters"),
            Self::TooLong => format!("must be at most {MAX_LEN} characters"),
            Self::IsTheLogin => "must not be your e-mail".into(),
            Self::Common => "is one of the most common passwords; choose another".into(),
        }
    }
}

/// Checks the password policy for the account whose login is `email` ("" when none yet).
///
/// # Errors
/// The first rule the password breaks.
pub fn check(password: &str, email: &str) -> Result<(), Weakness> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(Weakness::TooShort);
    }
    if n > MAX_LEN {
        return Err(Weakness::TooLong);
    }
    let lower = password.trim().to_lowercase();
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if !email.is_empty() && (lower == email || lower == local) {
        return Err(Weakness::IsTheLogin);
    }
    let mut chars = lower.chars();
    let first = chars.next();
    if common().contains(&lower) || chars.all(|c| Some(c) == first) {
        return Err(Weakness::Common);
    }
    Ok(())
}

/// [`check`] as an API error on `field`.
///
/// # Errors
/// VALIDATION on `field`.
pub fn check_field(field: &str, password: &str, email: &str) -> Result<(), ApiError> {
    check(password, email).map_err(|w| ApiError::validation(field, w.message()))
}

/// Times `samples` hashes with the configured cost (for `cabinet accounts hashing-time`).
///
/// # Errors
/// Hashing fails.
pub fn measure(samples: u32) -> anyhow::Result<Vec<Duration>> {
    (0..samples.max(1))
        .map(|_| {
            let t = Instant::now();
            hash("a-sample-password-for-timing")?;
            Ok(t.elapsed())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_short_login_and_common_passwords() {
        let cases = [
            ("short-9ch", Err(Weakness::TooShort)),
            ("ivan.petrov@romashka.ru", Err(Weakness::IsTheLogin)),
            ("IVAN.PETROV", Err(Weakness::IsTheLogin)),
            ("1234567890", Err(Weakness::Common)),
            ("QwertyUiop", Err(Weakness::Common)),
            ("йцукенгшщз", Err(Weakness::Common)),
            ("zzzzzzzzzzzz", Err(Weakness::Common)),
            ("тихий-дон-1928", Ok(())),
            ("correct-horse-battery", Ok(())),
        ];
        for (password, expected) in cases {
            assert_eq!(
                check(password, "ivan.petrov@romashka.ru"),
                expected,
                "{password}"
            );
        }
        assert_eq!(check(&"x1".repeat(200), ""), Err(Weakness::TooLong));
    }

    #[test]
    fn the_shipped_list_is_loaded() {
        assert!(common().len() > 1_000);
        assert!(common().contains("1q2w3e4r5t"));
    }

    #[test]
    fn temporary_passwords_pass_the_policy_and_differ() {
        let a = generate_temporary();
        let b = generate_temporary();
        assert_eq!(a.chars().count(), TEMPORARY_LEN);
        assert!(check(&a, "x@y.ru").is_ok());
        assert_ne!(a, b);
    }

    #[test]
    fn a_hash_verifies_only_its_password_and_older_parameters_ask_for_a_rehash() {
        let h = hash("correct-horse-battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct-horse-battery", &h).ok);
        assert!(!verify("correct-horse-batterY", &h).ok);
        assert!(!verify("x", "not a hash").ok);
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct-horse-battery", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert_eq!(
            verify("correct-horse-battery", &weak),
            Verified {
                ok: true,
                needs_rehash: true
            }
        );
        assert!(!verify("correct-horse-battery", &h).needs_rehash);
    }
}
