//! Integration tests: the real HTTP server over a real database.
//! `cargo test` runs them on SQLite; with `TEST_DATABASE_URL=postgres://…`
//! the same suite runs on PostgreSQL.

mod auth;
mod bench;
mod cases;
mod cli;
mod contract;
mod csv;
mod errors;
mod events;
mod health;
mod items;
mod notifications;
mod public;
mod reports;
mod scoping;
mod seed;
mod util;
