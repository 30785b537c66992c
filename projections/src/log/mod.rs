//! The event log as auditors and exports read it.

pub mod audit;
pub mod export;
