//! Integration tests: the real HTTP server over a real database.
//! `cargo test` runs them on SQLite; with `TEST_DATABASE_URL=postgres://…`
//! the same suite runs on PostgreSQL.

mod audit;
mod auth;
mod backup;
mod bench;
mod cases;
mod chain;
mod cli;
mod clients;
mod contract;
mod csv;
mod dossiers;
mod custody;
mod digests;
mod errors;
mod events;
mod exposure;
mod faults;
mod fold;
mod health;
mod hostile;
mod incidents;
mod items;
mod observability;
mod ladder;
mod notifications;
mod public;
mod public_truth;
mod replica;
mod reports;
mod retention;
mod rows;
mod scheduled;
mod scoping;
mod seasons;
mod security;
mod seed;
mod throttle;
mod users;
mod util;
