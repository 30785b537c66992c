//! PostgreSQL itself: the private cluster, connections and migrations, the analysts' role, test databases.

pub mod analysts;
pub mod cluster;
pub mod db;
pub mod runtime;
#[cfg(feature = "testing")]
pub mod testing;
