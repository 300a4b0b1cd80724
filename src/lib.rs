//! ExamPost: tracking of exam-season postal items.
//!
//! Layers: `api` (HTTP, DTOs, auth) → `domain` (pure rules) → `store`
//! (diesel queries) → `db` (connections, migrations).

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod csv_out;
pub mod db;
pub mod domain;
pub mod escalation;
pub mod notify;
pub mod seed;
pub mod server;
pub mod store;
pub mod telemetry;
