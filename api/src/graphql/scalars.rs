//! Input scalars shared by several features: money amounts, checked once.

use domain::values::Money;
use rust_decimal::Decimal;

use crate::error::{parse_field, ApiError};

/// An amount of money from an input `field`: rubles with at most two decimals, not negative.
///
/// # Errors
/// VALIDATION naming `field`.
pub(crate) fn money(field: &str, d: Decimal) -> Result<Money, ApiError> {
    parse_field(field, Money::from_decimal(d))
}
