//! The cabinet's HTTP and GraphQL API, its configuration, authentication and the `cabinet` command line.
//!
//! # Layout
//! - [`config`]: layered settings; [`telemetry`]: logging;
//! - [`startup`]: the application, its database (private cluster or DATABASE_URL), router and server;
//! - [`auth`]: accounts, sessions, the authorization policy;
//! - [`graphql`]: the schema (queries, mutations);
//! - [`error`]: the one API error type;
//! - [`mail`]: the transactional outbox, its sender and the mail templates;
//! - [`files`]: uploads (checked, hashed, stored outside the log) and downloads;
//! - [`effects`]: the request-effects process manager (what completing a request changes elsewhere);
//! - [`demo`]: demo data for `serve --demo`.

pub mod auth;
pub mod config;
pub mod demo;
pub mod effects;
pub mod error;
pub mod files;
pub mod generate;
pub mod graphql;
pub mod live;
pub mod mail;
pub mod notifications;
pub mod startup;
pub mod telemetry;
