//! Look-ups the Company aggregate needs from outside itself, behind a trait so aggregate tests stay pure.

use std::sync::Arc;

use async_trait::async_trait;

use crate::failure::LookupFailed;
use uuid::Uuid;

use crate::values::{Inn, Kpp};

/// Finds companies by their identifiers (implemented over the companies read model).
#[async_trait]
pub trait CompanyLookup: Send + Sync {
    /// The company registered with this ИНН and КПП (`None` КПП: an ИП), if any.
    ///
    /// # Errors
    /// The store failed.
    async fn find_by_inn_kpp(
        &self,
        inn: &Inn,
        kpp: Option<&Kpp>,
    ) -> Result<Option<Uuid>, LookupFailed>;
}

/// The services handed to every Company command.
#[derive(Clone)]
pub struct CompanyServices {
    /// ИНН+КПП uniqueness look-up.
    pub lookup: Arc<dyn CompanyLookup>,
}

impl CompanyServices {
    /// Wraps a look-up.
    pub fn new(lookup: Arc<dyn CompanyLookup>) -> Self {
        Self { lookup }
    }
}
