//! The one API error type. Every resolver returns it; it becomes a GraphQL error whose `extensions.code` is
//! UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, VALIDATION (with `extensions.field`), CONFLICT, UNAVAILABLE (the
//! database is out of reach; nothing took effect; retry), IN_DOUBT (the connection was lost during a
//! commit; retry with the same idempotency key to learn the outcome) or INTERNAL. Internal errors and
//! outages are logged once, with their cause chain, and returned without it.

pub mod explain;
pub mod fields;
pub mod reason;

pub use reason::Reason;

use async_graphql::ErrorExtensions;
use domain::clock::ClockError;
use domain::company::CompanyError;
use domain::contract::ContractError;
use domain::policy::PolicyError;
use domain::request::{RequestError, RequestKind};
use domain::values::ValueError;
use projections::store::command::CommandError;

/// An error an API caller sees.
///
/// Deliberately not `Display`: async-graphql converts any `Display` type into an error without extensions,
/// and that blanket conversion would shadow ours, which sets `extensions.code` and `extensions.field`.
#[derive(Debug)]
pub enum ApiError {
    /// No valid session.
    Unauthenticated(String),
    /// Authenticated, but not allowed. `code` is FORBIDDEN or a more specific reason such as
    /// PASSWORD_CHANGE_REQUIRED.
    Forbidden {
        /// The extensions code.
        code: &'static str,
        /// The message.
        message: String,
    },
    /// The entity does not exist (or the caller may not know it exists).
    NotFound(String),
    /// Bad input: `field` is the path of the input field (e.g. `input.bank.bik`).
    Validation {
        /// The input field's path.
        field: String,
        /// What is wrong with it (English).
        message: String,
        /// The rule it broke, for machines and for the message in the caller's language.
        reason: Reason,
        /// The kind of value the rule is about (ИНН, БИК, …), named in the Russian message.
        what: Option<&'static str>,
    },
    /// A concurrent change won; retry.
    Conflict(String),
    /// The database could not be reached or stopped answering (UNAVAILABLE, or IN_DOUBT when a commit's
    /// outcome is unknown). Logged; the caller sees what to do, not the cause.
    Unavailable {
        /// The commit's outcome is unknown.
        in_doubt: bool,
        /// The cause, for the log.
        cause: anyhow::Error,
    },
    /// Anything unexpected. Logged, never shown.
    Internal(anyhow::Error),
}

impl ApiError {
    /// FORBIDDEN with a message.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            code: "FORBIDDEN",
            message: message.into(),
        }
    }

    /// VALIDATION on a field, for a reason not classified yet (`INVALID`; the English message is shown).
    /// VALIDATION on a field, classified by its wording (error::explain): the shared phrasings of the
    /// checks get their code and Russian text; anything else stays `INVALID` in English.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Validation {
            field: field.into(),
            reason: explain::phrase(&message),
            message,
            what: None,
        }
    }

    /// VALIDATION on a field for a known `reason` (`message`: its English text).
    pub fn invalid(field: impl Into<String>, reason: Reason, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
            reason,
            what: None,
        }
    }

    /// The error as the `input` argument's: a VALIDATION field named by a service that knows only the
    /// field's own name (`newPassword`) becomes `input.newPassword`; other errors are unchanged.
    #[must_use]
    pub fn in_input(self) -> Self {
        match self {
            Self::Validation {
                field,
                message,
                reason,
                what,
            } if !field.starts_with("input") => Self::Validation {
                field: format!("input.{field}"),
                message,
                reason,
                what,
            },
            other => other,
        }
    }

    /// The message the caller sees (opaque for internal errors).
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(m) | Self::NotFound(m) | Self::Conflict(m) => m.clone(),
            Self::Forbidden { message, .. } => message.clone(),
            Self::Validation {
                field,
                message,
                reason,
                what,
            } => reason.message(reason::current(), field, *what, message),
            Self::Unavailable { in_doubt: false, .. } => {
                "the database is unavailable; nothing was changed; retry shortly".to_owned()
            }
            Self::Unavailable { in_doubt: true, .. } => "the connection to the database was lost while \
                 the change was being committed, so it may or may not have been made; retry with the same \
                 idempotencyKey to learn which"
                .to_owned(),
            Self::Internal(_) => "internal error".to_owned(),
        }
    }

    /// The `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden { code, .. } => code,
            Self::NotFound(_) => "NOT_FOUND",
            Self::Validation { .. } => "VALIDATION",
            Self::Conflict(_) => "CONFLICT",
            Self::Unavailable {
                in_doubt: false, ..
            } => "UNAVAILABLE",
            Self::Unavailable { in_doubt: true, .. } => "IN_DOUBT",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl ApiError {
    /// Whether the failure is the system's (INTERNAL, UNAVAILABLE, IN_DOUBT) rather than the caller's or a
    /// business rule's: a process manager retries these and records the others as the outcome.
    pub fn is_infrastructure(&self) -> bool {
        matches!(self, Self::Internal(_) | Self::Unavailable { .. })
    }

    /// The cause to log or pass on: the underlying error for the system's failures, the message otherwise.
    pub fn into_cause(self) -> anyhow::Error {
        match self {
            Self::Internal(cause) | Self::Unavailable { cause, .. } => cause,
            other => anyhow::anyhow!(other.message()),
        }
    }

    /// UNAVAILABLE (nothing took effect) for `cause`.
    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        Self::Unavailable {
            in_doubt: false,
            cause: cause.into(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if projections::postgres::db::is_outage(&e) {
            Self::unavailable(e)
        } else {
            Self::Internal(e.into())
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        // A database outage anywhere in the chain is an outage, however it was wrapped.
        let outage = e.chain().any(|c| {
            c.downcast_ref::<sqlx::Error>()
                .is_some_and(projections::postgres::db::is_outage)
        });
        if outage {
            Self::unavailable(e)
        } else {
            Self::Internal(e)
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        match &e {
            ApiError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
            }
            ApiError::Unavailable { in_doubt, cause } => {
                metrics::counter!("cabinet_database_unavailable_total", "in_doubt" => in_doubt.to_string())
                    .increment(1);
                tracing::warn!(
                    error = format!("{cause:#}"),
                    in_doubt,
                    "database unavailable"
                );
            }
            _ => {}
        }
        let code = e.code();
        let (field, reason) = match &e {
            ApiError::Validation { field, reason, .. } => {
                (Some(field.clone()), Some(reason.clone()))
            }
            _ => (None, None),
        };
        async_graphql::Error::new(e.message()).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(f) = field {
                ext.set("field", f);
            }
            if let Some(r) = reason {
                ext.set("reason", r.code());
                if let Some(p) = r.params() {
                    if let Ok(v) = async_graphql::Value::from_json(p) {
                        ext.set("params", v);
                    }
                }
            }
        })
    }
}

/// Parses an input value, naming the field on failure.
///
/// # Errors
/// VALIDATION on `field`.
pub fn parse_field<T>(field: &str, r: Result<T, ValueError>) -> Result<T, ApiError> {
    r.map_err(|e| ApiError::Validation {
        field: field.to_owned(),
        message: e.to_string(),
        reason: Reason::from(&e.rule),
        what: Some(e.what),
    })
}

/// Unique constraints of read models whose violation means a business rule, mapped in one place.
fn unique_violation(constraint: &str) -> ApiError {
    match constraint {
        "companies_view_inn_kpp_key" | "companies_view_inn_no_kpp_key" => ApiError::validation(
            "input.inn",
            "a company with this ИНН and КПП is already registered",
        ),
        "contracts_view_number_key" => {
            ApiError::validation("input.number", "a contract with this number already exists")
        }
        "payments_view_pkey" => ApiError::validation(
            "input.bankReference",
            "a payment with this bank reference is already recorded on this contract",
        ),
        "fines_view_resolution_number_key" => ApiError::validation(
            "input.resolutionNumber",
            "a fine with this resolution number (УИН) is already registered",
        ),
        other => ApiError::Conflict(format!("the change conflicts with existing data ({other})")),
    }
}

/// Maps a Company command's failure.
pub fn company_command_error(e: CommandError<CompanyError>) -> ApiError {
    match e {
        CommandError::Rejected(e) => match (&e, fields::company(&e)) {
            (CompanyError::NotRegistered, _) => ApiError::NotFound("company not found".into()),
            (CompanyError::AlreadyRegistered, _) => ApiError::Conflict(e.to_string()),
            (_, field) => refused(format!("input{}", dotted(field)), explain::company(&e), &e),
        },
        other => command_error(other),
    }
}

/// Maps a Contract command's failure.
pub fn contract_command_error(e: CommandError<ContractError>) -> ApiError {
    match e {
        CommandError::Rejected(e) => match (&e, fields::contract(&e)) {
            (ContractError::NotConcluded, _) => ApiError::NotFound("contract not found".into()),
            (ContractError::AlreadyConcluded, _) => ApiError::Conflict(e.to_string()),
            (_, field) => refused(format!("input{}", dotted(field)), explain::contract(&e), &e),
        },
        other => command_error(other),
    }
}

/// Maps a Policy command's failure; fields are named under `prefix` (`input`, or the request detail the
/// command came from).
pub fn policy_command_error(e: CommandError<PolicyError>, prefix: &str) -> ApiError {
    match e {
        CommandError::Rejected(e) => match (&e, fields::policy(&e)) {
            (PolicyError::NotIssued, _) => ApiError::NotFound("policy not found".into()),
            (PolicyError::AlreadyIssued, _) => ApiError::Conflict(e.to_string()),
            (_, field) => refused(
                format!("{prefix}{}", dotted(field)),
                explain::policy(&e),
                &e,
            ),
        },
        other => command_error(other),
    }
}

/// Maps a ClientRequest command's failure; a detail's field is named under `input.details.<kind>`.
pub fn request_command_error(e: CommandError<RequestError>, kind: Option<RequestKind>) -> ApiError {
    match e {
        CommandError::Rejected(e) => match (&e, fields::request(&e)) {
            (RequestError::NotSubmitted, _) => ApiError::NotFound("request not found".into()),
            (RequestError::AlreadySubmitted, _) => ApiError::Conflict(e.to_string()),
            (RequestError::Detail { field, reason }, _) => {
                let kind = kind.map(fields::request_details).unwrap_or_default();
                ApiError::invalid(
                    format!("input.details.{kind}.{field}"),
                    explain::request(&e),
                    reason.clone(),
                )
            }
            (_, field) => refused(format!("input{}", dotted(field)), explain::request(&e), &e),
        },
        other => command_error(other),
    }
}

/// Maps a news, FAQ or terms command's failure; fields are named under `prefix` (`input.title`).
pub fn content_command_error(
    e: CommandError<domain::content::ContentError>,
    prefix: &str,
) -> ApiError {
    use domain::content::ContentError;
    match e {
        CommandError::Rejected(e) => match &e {
            ContentError::NotFound => ApiError::NotFound(e.to_string()),
            ContentError::AlreadyExists | ContentError::Unpublished => {
                ApiError::Conflict(e.to_string())
            }
            ContentError::Invalid { field, message } => ApiError::invalid(
                format!("{prefix}{field}"),
                explain::phrase(message),
                message.clone(),
            ),
        },
        other => command_error(other),
    }
}

/// Maps a clock command's failure.
pub fn clock_command_error(e: CommandError<ClockError>) -> ApiError {
    match e {
        // Every clock rule is about the day asked for.
        CommandError::Rejected(e) => {
            let reason = match &e {
                ClockError::Backwards { current } => Reason::domain(
                    "CLOCK_BACKWARDS",
                    Some(serde_json::json!({ "current": current })),
                    format!("рабочий день уже {current}; часы не идут назад"),
                ),
                ClockError::TooFar => Reason::domain(
                    "CLOCK_TOO_FAR",
                    None,
                    "за один раз можно начать не больше дней, чем позволяет настройка",
                ),
            };
            ApiError::invalid("to", reason, e.to_string())
        }
        other => command_error(other),
    }
}

/// VALIDATION on `field` for a domain refusal `e`, classified as `reason` (its English text is `e`'s).
fn refused(field: String, reason: Reason, e: &impl std::fmt::Display) -> ApiError {
    ApiError::invalid(field, reason, e.to_string())
}

/// `.field` for a field the refusal names, nothing for one about the whole input.
fn dotted(field: Option<&str>) -> String {
    field.map(|f| format!(".{f}")).unwrap_or_default()
}

/// Maps the failures every aggregate's commands share.
pub fn command_error<E: std::fmt::Display + std::fmt::Debug + Send + Sync + 'static>(
    e: CommandError<E>,
) -> ApiError {
    match e {
        CommandError::Rejected(e) => ApiError::validation("input", e.to_string()),
        CommandError::Conflict { attempts } => ApiError::Conflict(format!(
            "the entity was changed concurrently {attempts} times; retry"
        )),
        CommandError::IdempotencyKeyReused { aggregate_type } => ApiError::validation(
            "idempotencyKey",
            format!("this key was already used for a {aggregate_type} operation"),
        ),
        CommandError::Unique { constraint } => unique_violation(&constraint),
        // A look-up reads the database: failing, it is an outage of it, and nothing was stored.
        CommandError::LookupFailed(e) => ApiError::unavailable(anyhow::Error::new(e)),
        CommandError::Unavailable { in_doubt, cause } => ApiError::Unavailable {
            in_doubt,
            cause: anyhow::anyhow!("{cause}"),
        },
        CommandError::Store(e) => ApiError::Internal(anyhow::anyhow!("{e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_unavailable_a_lost_commit_is_in_doubt_and_neither_is_internal() {
        let down = ApiError::from(sqlx::Error::PoolTimedOut);
        assert_eq!(down.code(), "UNAVAILABLE");
        let io = ApiError::from(sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert_eq!(io.code(), "UNAVAILABLE");
        // Wrapped in context, still an outage.
        let wrapped =
            ApiError::from(anyhow::Error::new(sqlx::Error::PoolClosed).context("loading"));
        assert_eq!(wrapped.code(), "UNAVAILABLE");
        let lost: CommandError<ValueError> = CommandError::Unavailable {
            in_doubt: true,
            cause: "connection reset during COMMIT".into(),
        };
        let e = command_error(lost);
        assert_eq!(e.code(), "IN_DOUBT");
        assert!(e.message().contains("idempotencyKey"), "{}", e.message());
        let failed: CommandError<ValueError> =
            CommandError::LookupFailed(domain::failure::LookupFailed {
                what: "company",
                cause: "connection refused".into(),
            });
        assert_eq!(command_error(failed).code(), "UNAVAILABLE");
        // A statement the database refused for its own reasons stays internal.
        let other = ApiError::from(sqlx::Error::RowNotFound);
        assert_eq!(other.code(), "INTERNAL");
        // Process managers retry the system's failures and record the others as outcomes: an outage must
        // never be recorded as a request's refusal.
        assert!(down.is_infrastructure() && other.is_infrastructure());
        assert!(!ApiError::validation("input", "bad").is_infrastructure());
        assert!(!ApiError::Conflict("x".into()).is_infrastructure());
    }
}
