//! The contract feature's enums as the schema shows them, each parsed exactly from its stored name.

use async_graphql::{Enum, Result};
use domain::contract as dc;
use domain::schedule::ScheduleKind as DomainKind;

use crate::error::ApiError;
use crate::graphql::enums::unknown_stored;

/// Where a contract is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ContractStatus {
    /// Signed; the asset is not handed over yet.
    Concluded,
    /// The asset is with the lessee.
    Active,
    /// Everything paid; the asset passed to the lessee.
    Completed,
    /// Ended early.
    Terminated,
}

impl ContractStatus {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Concluded => "concluded",
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Terminated => "terminated",
        }
    }

    pub(super) fn from_view(s: &str) -> Result<Self, ApiError> {
        Ok(match s {
            "concluded" => Self::Concluded,
            "active" => Self::Active,
            "completed" => Self::Completed,
            "terminated" => Self::Terminated,
            other => return Err(unknown_stored("contracts_view.status", other)),
        })
    }
}

/// How the schedule's regular lines are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ScheduleKind {
    /// Equal payments.
    Annuity,
    /// Equal principal plus interest on the balance.
    Decreasing,
    /// Lines given by the back office.
    Explicit,
}

impl ScheduleKind {
    pub(super) fn from_view(s: &str) -> Result<Self, ApiError> {
        Ok(match s {
            "annuity" => Self::Annuity,
            "decreasing" => Self::Decreasing,
            "explicit" => Self::Explicit,
            other => return Err(unknown_stored("contracts_view.schedule_kind", other)),
        })
    }
}

impl From<ScheduleKind> for DomainKind {
    fn from(k: ScheduleKind) -> Self {
        match k {
            ScheduleKind::Annuity => DomainKind::Annuity,
            ScheduleKind::Decreasing => DomainKind::Decreasing,
            ScheduleKind::Explicit => DomainKind::Explicit,
        }
    }
}

/// What the redemption payment (выкупной платёж) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum RedemptionKind {
    /// A small fixed amount paid a month after the last regular line, on top of regular lines that repay the
    /// whole financed amount (the usual Russian contract).
    Symbolic,
    /// A residual value: the regular lines repay the financed amount down to it, and it is paid with the
    /// last regular line.
    Residual,
}

impl RedemptionKind {
    pub(super) fn from_view(s: &str) -> Result<Self, ApiError> {
        Ok(match s {
            "symbolic" => Self::Symbolic,
            "residual" => Self::Residual,
            other => return Err(unknown_stored("contracts_view.redemption_kind", other)),
        })
    }
}

impl From<RedemptionKind> for domain::schedule::RedemptionKind {
    fn from(k: RedemptionKind) -> Self {
        match k {
            RedemptionKind::Symbolic => Self::Symbolic,
            RedemptionKind::Residual => Self::Residual,
        }
    }
}

/// What a schedule line pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum LineKind {
    /// The advance (line 0).
    Advance,
    /// A monthly leasing payment.
    Regular,
    /// The redemption payment (last line).
    Redemption,
}

/// A schedule line's payment status as of the last business day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum LineStatus {
    /// Not due yet and nothing paid.
    Upcoming,
    /// Due (the due date arrived), nothing paid, deadline not passed.
    Due,
    /// Partly paid, not overdue.
    PartiallyPaid,
    /// Paid in full.
    Paid,
    /// Money owed after the payment deadline.
    Overdue,
    /// No longer owed (the contract was terminated before it fell due).
    Cancelled,
}

/// What a payer said a payment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum PaymentPurpose {
    /// Leasing payments: the oldest open lines first; beyond the last line, credit.
    LeasingPayment,
    /// Penalties.
    Penalty,
    /// Traffic fines, oldest first.
    Fine,
    /// Insurance.
    Insurance,
    /// Not stated: credit, used by the next lines as they fall due.
    Unallocated,
}

impl From<PaymentPurpose> for dc::PaymentPurpose {
    fn from(p: PaymentPurpose) -> Self {
        match p {
            PaymentPurpose::LeasingPayment => Self::LeasingPayment,
            PaymentPurpose::Penalty => Self::Penalty,
            PaymentPurpose::Fine => Self::Fine,
            PaymentPurpose::Insurance => Self::Insurance,
            PaymentPurpose::Unallocated => Self::Unallocated,
        }
    }
}

impl PaymentPurpose {
    pub(super) fn from_view(s: &str) -> Result<Self, ApiError> {
        Ok(match s {
            "leasing_payment" => Self::LeasingPayment,
            "penalty" => Self::Penalty,
            "fine" => Self::Fine,
            "insurance" => Self::Insurance,
            "unallocated" => Self::Unallocated,
            other => return Err(unknown_stored("payments_view.purpose", other)),
        })
    }
}

/// What part of a payment covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum AllocationKind {
    /// A schedule line.
    Line,
    /// Penalties.
    Penalties,
    /// A traffic fine.
    Fine,
    /// Insurance.
    Insurance,
    /// The credit balance.
    Credit,
}

/// After a partial early repayment: the remaining lines get fewer or smaller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Deserialize)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "snake_case")]
pub enum RecalculationMode {
    /// Same payment, fewer lines.
    ShorterTerm,
    /// Same lines, smaller payments.
    SmallerPayments,
}
