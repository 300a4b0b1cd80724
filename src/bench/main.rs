//! `exampost-bench`, the benchmark harness, a binary of its own so that none
//! of it is compiled into the service: `exampost-bench gen` fills a database
//! with a season, `exampost-bench run` starts the real `exampost` server on
//! one and reports each figure against its floor.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod gen;
mod load;
mod run;
mod table;

#[derive(Parser, Debug)]
#[command(name = "exampost-bench", version, about = "Benchmark harness of the ExamPost service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Fill the database with a generated season (bulk inserts, reproducible from the seed).
    Gen {
        /// Database URL: sqlite://PATH or postgres://USER@HOST/DB.
        #[arg(long, env = "EXAMPOST_DATABASE_URL", default_value = "sqlite://./data/exampost.db")]
        database_url: String,
        #[arg(long, default_value_t = 1_000_000)]
        items: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "2026-BENCH")]
        season: String,
    },
    /// Generate (or reuse) a season, start the real server on it, drive it over loopback and print
    /// each figure beside its floor, on SQLite and/or PostgreSQL.
    Run(run::RunArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `run` prints its table itself; `gen` prints what it generated.
    let result = match cli.command {
        Command::Gen { database_url, items, seed, season } => {
            generate(&database_url, items, seed, &season).map(|g| println!("{}", serde_json::to_string_pretty(&g).expect("json")))
        }
        Command::Run(args) => run::run(&args).map(drop),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `exampost-bench gen`: migrations, then the season, on the wall clock.
fn generate(database_url: &str, items: usize, seed: u64, season: &str) -> Result<serde_json::Value, String> {
    use exampost::clock::{Clock, SystemClock};
    let target = exampost::db::DbTarget::parse(database_url).map_err(|e| e.to_string())?;
    let mut conn = exampost::db::connect_one(&target, exampost::db::SqliteSync::Normal).map_err(|e| e.to_string())?;
    exampost::db::run_migrations(&mut conn).map_err(|e| e.to_string())?;
    let generated = gen::generate(&mut conn, items, seed, season, SystemClock.now()).map_err(|e| e.to_string())?;
    Ok(serde_json::to_value(generated).expect("json"))
}
