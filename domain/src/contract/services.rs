//! Look-ups the Contract aggregate needs from outside itself, behind a trait so aggregate tests stay pure.

use std::sync::Arc;

use async_trait::async_trait;

use crate::failure::LookupFailed;
use uuid::Uuid;

use crate::calendar::ProductionCalendar;

/// Answers whether a company is registered (implemented over the companies read model).
#[async_trait]
pub trait CompanyDirectory: Send + Sync {
    /// Whether `company_id` is a registered company.
    ///
    /// # Errors
    /// The store failed.
    async fn company_exists(&self, company_id: Uuid) -> Result<bool, LookupFailed>;
}

/// The services handed to every Contract command.
#[derive(Clone)]
pub struct ContractServices {
    /// Company existence.
    pub companies: Arc<dyn CompanyDirectory>,
    /// Working days, for moving a due date off a non-working day.
    pub calendar: Arc<ProductionCalendar>,
}

impl ContractServices {
    /// Wraps the look-ups.
    pub fn new(companies: Arc<dyn CompanyDirectory>, calendar: Arc<ProductionCalendar>) -> Self {
        Self {
            companies,
            calendar,
        }
    }
}
