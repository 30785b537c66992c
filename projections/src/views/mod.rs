//! One module per read model: the writer that applies events to its own tables and the typed queries that
//! read them.

pub mod companies;
pub mod content;
pub mod contracts;
pub mod conversations;
pub mod documents;
pub mod edo;
pub mod lookups;
pub mod notifications;
pub mod payments;
pub mod policies;
pub mod requests;
