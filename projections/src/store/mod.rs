//! The write side: appending events with their inline read models in one transaction, executing commands,
//! aggregates' turns across nodes, the stored event and its metadata, upcasters, the log's partitions.

pub mod command;
pub mod event;
pub mod event_store;
pub mod partitions;
pub mod sealing;
pub mod turns;
pub mod upcast;
