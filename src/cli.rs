//! The `exampost` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::admin::{self, OrganizationInput};
use crate::config::{Config, Settings};
use crate::domain::{OrgKind, Role};
use crate::server;

#[derive(Parser, Debug)]
#[command(name = "exampost", version, about = "Tracking service for exam-season postal items")]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Run one sweep for delays, losses and unanswered cases now, and exit.
    Sweep,
    /// Load the demo season (organizations, clients, items, scans) into an empty database.
    Seed {
        /// A fixture file in the format of fixtures/demo.json (default: the built-in demo).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// Register items from a CSV file for an organization (as POST /api/v1/items/import), with a progress bar.
    Import {
        /// The CSV file (UTF-8, with or without BOM).
        file: std::path::PathBuf,
        /// Code of the organization registering the items (an education body or a carrier).
        #[arg(long)]
        org: String,
    },
    /// Benchmark tools.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage API clients.
    #[command(subcommand)]
    Client(ClientCommand),
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Fill the database with a generated season (bulk inserts, reproducible from the seed).
    Gen {
        #[arg(long, default_value_t = 1_000_000)]
        items: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "2026-BENCH")]
        season: String,
    },
    /// Generate (or reuse) a season, start the real server on it, drive it over loopback and print
    /// each figure beside its floor, on SQLite and/or PostgreSQL.
    Run(crate::bench::run::RunArgs),
}

#[derive(Subcommand, Debug)]
pub enum OrgCommand {
    /// Register an organization.
    Create {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_enum::<OrgKind>)]
        kind: OrgKind,
        /// Province code, name or former name.
        #[arg(long)]
        province: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Create an API client and print its id and secret (shown only once).
    Create {
        /// Organization code.
        #[arg(long)]
        org: String,
        #[arg(long, value_parser = parse_enum::<Role>)]
        role: Role,
        #[arg(long)]
        name: String,
    },
    /// List API clients (never their secrets), optionally of one organization.
    List {
        /// Organization code.
        #[arg(long)]
        org: Option<String>,
    },
    /// Revoke a client: no more tokens, and its tokens stop working within
    /// EXAMPOST_CLIENT_CACHE_SECS on every running server.
    Revoke { id: String },
    /// Give a client a new secret (printed only once); older tokens stop working too.
    Rotate { id: String },
}

fn parse_enum<T: std::str::FromStr<Err = String>>(text: &str) -> Result<T, String> {
    text.parse()
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("EXAMPOST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        print!("{}", crate::api::openapi_json());
        return ExitCode::SUCCESS;
    }
    if let Command::Bench(BenchCommand::Run(args)) = &command {
        return match crate::bench::run::run(args) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        };
    }
    let config = match Config::from_settings(&cli.settings) {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    match command {
        Command::Serve => match actix_web::rt::System::new().block_on(server::serve(config)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
        Command::Openapi => unreachable!("handled above"),
        other => with_database(&config, other),
    }
}

/// Commands that work on the database directly.
fn with_database(config: &Config, command: Command) -> ExitCode {
    let mut conn = match crate::db::connect_one(&config.database, config.sqlite_sync) {
        Ok(conn) => conn,
        Err(e) => return fail(e),
    };
    if let Err(e) = crate::db::run_migrations(&mut conn) {
        return fail(e);
    }
    let result: Result<serde_json::Value, String> = match command {
        Command::Migrate => Ok(serde_json::json!({"migrated": true})),
        Command::Org(OrgCommand::Create { code, name, kind, province }) => {
            admin::create_organization(&mut conn, &OrganizationInput { code, name, kind, province })
                .map(|o| serde_json::json!({"id": o.id, "code": o.code, "name": o.name, "kind": o.kind, "province": o.province}))
                .map_err(|e| e.to_string())
        }
        Command::Client(ClientCommand::Create { org, role, name }) => admin::create_client(&mut conn, &org, &name, role)
            .map(|(c, secret)| {
                serde_json::json!({"client_id": c.id, "client_secret": secret, "organization_id": c.organization_id, "role": c.role})
            })
            .map_err(|e| e.to_string()),
        Command::Client(ClientCommand::List { org }) => list_all_clients(&mut conn, org.as_deref()),
        Command::Client(ClientCommand::Revoke { id }) => admin::revoke_client(&mut conn, id.trim(), crate::store::now_utc())
            .map(|revoked| serde_json::to_value(crate::api::clients::ClientView::from(revoked)).expect("json"))
            .map_err(|e| e.to_string()),
        Command::Client(ClientCommand::Rotate { id }) => admin::rotate_client_secret(&mut conn, id.trim())
            .map(|(client, _, secret)| serde_json::json!({"client_id": client.id, "client_secret": secret}))
            .map_err(|e| e.to_string()),
        Command::Sweep => crate::app::cases::sweep(&mut conn, &crate::clock::SystemClock)
            .map(|report| serde_json::to_value(report).expect("json"))
            .map_err(|e| e.to_string()),
        Command::Seed { file } => {
            let fixture = match file {
                Some(path) => std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display())),
                None => Ok(crate::seed::DEMO.to_string()),
            };
            fixture.and_then(|text| {
                crate::seed::seed(&mut conn, &text, chrono::Utc::now())
                    .map(|s| serde_json::to_value(s).expect("json"))
                    .map_err(|e| e.to_string())
            })
        }
        Command::Import { file, org } => import_file(&mut conn, &file, &org),
        Command::Bench(BenchCommand::Gen { items, seed, season }) => crate::bench::generate(&mut conn, items, seed, &season, chrono::Utc::now())
            .map(|g| serde_json::to_value(g).expect("json"))
            .map_err(|e| e.to_string()),
        Command::Serve | Command::Openapi | Command::Bench(BenchCommand::Run(_)) => unreachable!("handled by run"),
    };
    match result {
        Ok(value) => {
            println!("{}", serde_json::to_string_pretty(&value).expect("json"));
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// `exampost client list`: every page, as one `{"items": [...]}`.
fn list_all_clients(conn: &mut crate::db::DbConn, org: Option<&str>) -> Result<serde_json::Value, String> {
    const PAGE: i64 = 500;
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let rows = admin::list_clients(conn, org, after.as_deref(), PAGE).map_err(|e| e.to_string())?;
        let full = rows.len() as i64 == PAGE;
        after = rows.last().map(|(client, _)| client.id.clone());
        items.extend(rows.into_iter().map(crate::api::clients::ClientView::from));
        if !full {
            return Ok(serde_json::json!({ "items": items }));
        }
    }
}

/// `exampost import`: the same import as the API, acting as the organization.
fn import_file(conn: &mut crate::db::DbConn, path: &std::path::Path, org_code: &str) -> Result<serde_json::Value, String> {
    use crate::api::auth::Caller;
    let code = org_code.trim().to_uppercase();
    let org = crate::store::organizations::find_by_code(conn, &code).map_err(|e| e.to_string())?.ok_or_else(|| format!("no organization with code {code}"))?;
    let role = match OrgKind::parse(&org.kind) {
        Some(OrgKind::Education) => Role::Education,
        Some(OrgKind::Carrier) => Role::Carrier,
        _ => return Err(format!("{code} is an overseer; only education bodies and carriers register items")),
    };
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}").expect("valid template"),
    );
    let caller = Caller { client_id: format!("cli:import:{code}"), org_id: org.id, role, province: org.province };
    let reader = bar.wrap_read(std::io::BufReader::new(file));
    let report = crate::api::items::import::import_csv(conn, &caller, reader, chrono::Utc::now(), &mut |rows| bar.set_message(format!("{rows} rows")))
        .map_err(|e| format!("{e}: {}", serde_json::to_string(&e.problem()).unwrap_or_default()))?;
    bar.finish_and_clear();
    serde_json::to_value(report).map_err(|e| e.to_string())
}
