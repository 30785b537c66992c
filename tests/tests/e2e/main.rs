//! The end-to-end suite: every test drives the real router (or a real server for subscriptions) against a
//! real PostgreSQL, with a fresh migrated database per test; one test binary, so one PostgreSQL cluster
//! serves the whole run. Each test ends with `projections verify` on its database (see [`common`]).

mod access;
mod accounting;
mod accounts;
mod analytics;
mod audit;
mod common;
mod companies;
mod compat;
mod contracts;
mod conversations;
mod documents;
mod exports;
mod fines;
mod http;
mod imports;
mod isolation;
mod notifications;
mod people;
mod personal_data;
mod replicas;
mod requests;
mod schema;
mod screens;
mod secrets;
mod security;
mod totp;
