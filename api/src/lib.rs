//! The cabinet's service: the GraphQL API over HTTP, the application services behind it, the workers that
//! run beside it, authentication, mail and the `cabinet` command line.
//!
//! # Layout
//! Arrows point down, never back up (the `layering` test keeps it so):
//! `cli`, `startup` → `http` → `graphql` → `app` → `auth`, `mail`; `workers` → `app`.
//! - [`cli`]: the `cabinet` command line, one module per subcommand group;
//! - [`startup`]: the database the process uses (a given server or a private cluster);
//! - [`http`]: the router and server, the GraphQL endpoints, downloads, health and metrics;
//! - [`graphql`]: the schema, one module per feature, each with its as-of resolvers;
//! - [`app`]: the shared application state and services (files, generated documents, notification reads,
//!   the live feed, demo data);
//! - [`workers`]: the process managers, the outbox sender and the midnight clock;
//! - [`auth`]: accounts, sessions, passwords, the authorization policy, the security log;
//! - [`mail`]: the transactional outbox, its templates and transport;
//! - [`config`], [`telemetry`], [`error`]: settings, logging and metrics, the one API error type.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod graphql;
pub mod http;
pub mod mail;
pub mod startup;
pub mod telemetry;
pub mod workers;
