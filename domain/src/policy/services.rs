//! Look-ups the Policy aggregate needs from outside itself, behind a trait so aggregate tests stay pure.

use std::sync::Arc;

use async_trait::async_trait;

use crate::failure::LookupFailed;
use uuid::Uuid;

/// Finds the lessee of a contract (implemented over the contracts read model).
#[async_trait]
pub trait ContractLookup: Send + Sync {
    /// The company of `contract_id`, or `None` when there is no such contract.
    ///
    /// # Errors
    /// The store failed.
    async fn contract_company(&self, contract_id: Uuid) -> Result<Option<Uuid>, LookupFailed>;
}

/// The services handed to every Policy command.
#[derive(Clone)]
pub struct PolicyServices {
    /// Contract → company.
    pub contracts: Arc<dyn ContractLookup>,
}

impl PolicyServices {
    /// Wraps the look-up.
    pub fn new(contracts: Arc<dyn ContractLookup>) -> Self {
        Self { contracts }
    }
}
