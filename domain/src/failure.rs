//! Refusals as the command executor sees them: a broken business rule, or a look-up a command needed that
//! failed (infrastructure, not a rule). Aggregates return both through their error type, because a
//! command's services are called from `handle`; the executor takes the second kind out and reports it as what
//! it is, so no API maps a database failure as if it were a rule.

/// A look-up a command needed from outside its aggregate failed (the database answered with an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} look-up failed: {cause}")]
pub struct LookupFailed {
    /// Which look-up (e.g. "company by ИНН and КПП").
    pub what: &'static str,
    /// What the store said.
    pub cause: String,
}

/// An aggregate error, sorted: a business rule (the default), or a failed look-up.
pub trait Rejection {
    /// The failed look-up this error carries, when it is one rather than a broken rule.
    fn lookup_failed(&self) -> Option<&LookupFailed> {
        None
    }
}
