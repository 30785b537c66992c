//! Per-address rate limits for the unauthenticated operations (`login`, `requestPasswordReset`,
//! `resetPassword`): a token bucket per operation and client address, in this process's memory. Behind
//! several nodes each enforces its own share; the lockout (in the database) bounds guessing per login
//! whatever the node.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::ApiError;

/// Buckets kept before idle ones are dropped.
const MAX_BUCKETS: usize = 50_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The limiter.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<(&'static str, String), Bucket>>,
}

impl RateLimiter {
    /// At most `per_minute` calls of each operation per address per minute (bursts up to that many).
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one call of `operation` from `address`.
    ///
    /// # Errors
    /// RATE_LIMITED when the address has used its allowance.
    pub fn check(&self, operation: &'static str, address: &str) -> Result<(), ApiError> {
        self.check_at(operation, address, Instant::now())
    }

    fn check_at(
        &self,
        operation: &'static str,
        address: &str,
        now: Instant,
    ) -> Result<(), ApiError> {
        let capacity = f64::from(self.per_minute);
        let rate = capacity / 60.0;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            // Drop buckets that have refilled: they carry no information.
            buckets
                .retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < capacity);
        }
        let b = buckets
            .entry((operation, address.to_owned()))
            .or_insert(Bucket {
                tokens: capacity,
                at: now,
            });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(capacity);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - b.tokens) / rate).ceil() as u64;
        metrics::counter!("cabinet_rate_limited_total", "operation" => operation).increment(1);
        Err(ApiError::Forbidden {
            code: "RATE_LIMITED",
            message: format!("too many attempts from your address; try again in {wait} s"),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn an_address_gets_its_allowance_then_waits_while_others_go_on() {
        let l = RateLimiter::new(3);
        let t = Instant::now();
        for _ in 0..3 {
            assert!(l.check_at("login", "10.0.0.1", t).is_ok());
        }
        let e = l.check_at("login", "10.0.0.1", t).unwrap_err();
        assert_eq!(e.code(), "RATE_LIMITED");
        assert!(l.check_at("login", "10.0.0.2", t).is_ok());
        assert!(l.check_at("resetPassword", "10.0.0.1", t).is_ok());
        // One call comes back every 20 s at 3 per minute.
        assert!(l
            .check_at("login", "10.0.0.1", t + Duration::from_secs(19))
            .is_err());
        assert!(l
            .check_at("login", "10.0.0.1", t + Duration::from_secs(40))
            .is_ok());
    }
}
