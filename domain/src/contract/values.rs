//! The contract's vocabulary that commands and events share: what is leased, and what a payer said a
//! payment is for.

use serde::{Deserialize, Serialize};

use crate::values::Vin;

/// What is leased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeasingSubject {
    /// Kind of asset: "легковой автомобиль", "экскаватор", "станок"…
    pub kind: String,
    /// Make.
    pub make: String,
    /// Model.
    pub model: String,
    /// Year of manufacture.
    pub year: i32,
    /// VIN (vehicles); optional for equipment and special machinery.
    pub vin: Option<Vin>,
    /// Serial or factory number.
    pub serial_number: Option<String>,
    /// State registration plate, once registered.
    pub registration_plate: Option<String>,
}

/// What a payer said a payment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentPurpose {
    /// Leasing payments: the oldest open lines first, the rest becomes credit.
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

impl PaymentPurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LeasingPayment => "leasing_payment",
            Self::Penalty => "penalty",
            Self::Fine => "fine",
            Self::Insurance => "insurance",
            Self::Unallocated => "unallocated",
        }
    }
}
