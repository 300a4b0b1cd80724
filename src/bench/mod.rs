//! Benchmarks: `exampost bench gen` fills a database with a season,
//! `exampost bench run` drives the real server on it and reports each
//! figure against its floor.

mod gen;
pub mod load;
pub mod run;
mod table;

pub use gen::{generate, Generated};
