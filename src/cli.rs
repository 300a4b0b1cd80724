//! The `exampost` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::administration::{self, ClientListing, ClientRecord, CreateClient, CreateOrganization};
use crate::app::Actor;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Database, Settings};
use crate::domain::{OrgKind, Role};
use crate::server;

#[derive(Parser, Debug)]
#[command(name = "exampost", version, about = "Tracking service for exam-season postal items", args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(flatten)]
    pub database: Database,
    /// With no command the service runs, taking `serve`'s options.
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP service (the default). Every option is also an
    /// EXAMPOST_* environment variable; other commands read those variables.
    Serve {
        #[command(flatten)]
        settings: Box<Settings>,
    },
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
    /// Recompute every item's event chain and every signed daily root from
    /// the stored rows; name the first entry that does not match. Exits 1
    /// when anything does not.
    Verify {
        /// Only this item (its tracking number).
        #[arg(long)]
        item: Option<String>,
        /// The item's season, when its number was used in several.
        #[arg(long)]
        season: Option<String>,
    },
    /// Remove a season's candidates' personal data (names, dates of birth,
    /// phones, e-mails, address lines) from items, events, cases, pre-advices
    /// and messages; statistics and the event chain stay.
    Purge {
        /// The season's code.
        #[arg(long)]
        season: String,
        /// Count what would be purged; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Purge before the retention period (EXAMPOST_RETENTION_DAYS after the last deadline) is over.
        #[arg(long)]
        force: bool,
    },
    /// Write a consistent copy of the database to FILE while the service
    /// runs (SQLite: VACUUM INTO; PostgreSQL: pg_dump, custom format).
    Backup {
        /// Where the copy goes; it must not exist.
        file: std::path::PathBuf,
    },
    /// Replace the database with a backup, bring it up to date and verify
    /// its event chain. Stop every replica first. A SQLite database that was
    /// there is kept beside it (`.before-restore-TIME`).
    Restore {
        /// A file `exampost backup` wrote.
        file: std::path::PathBuf,
    },
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage API clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage seasons (registering needs one).
    #[command(subcommand)]
    Season(SeasonCommandLine),
    /// Manage people who sign in to the console.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user and print a generated first password (shown only once).
    Create {
        /// Organization code.
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_enum::<Role>)]
        role: Role,
        /// The person's name.
        #[arg(long)]
        name: String,
        /// May create users of its own organization in the console.
        #[arg(long)]
        manages_users: bool,
    },
    /// List users, optionally of one organization.
    List {
        /// Organization code.
        #[arg(long)]
        org: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum SeasonCommandLine {
    /// Declare a season.
    Create {
        /// A year, a dash and a programme code, e.g. 2026-THPT.
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// The last day it is open (YYYY-MM-DD).
        #[arg(long)]
        closes_on: String,
        /// An exam day (YYYY-MM-DD); repeat for each.
        #[arg(long = "exam-day")]
        exam_days: Vec<String>,
        #[arg(long)]
        result_day: Option<String>,
        /// A default deadline as KIND=DAY (e.g. admission_notice=2026-08-21); repeat for each kind.
        #[arg(long = "deadline")]
        deadlines: Vec<String>,
    },
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
        /// A provincial Department of Education: reads every item of its province (read-only).
        #[arg(long)]
        department: bool,
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

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    // Held until `run` returns, so that the last lines are written.
    let _log_writer = match crate::telemetry::LogSettings::from_env() {
        Ok(log) => crate::telemetry::init_logging(&log),
        Err(e) => return fail(e),
    };
    let command = cli.command.unwrap_or(Command::Serve { settings: Box::new(cli.settings) });
    if let Command::Openapi = command {
        print!("{}", crate::api::openapi_json());
        return ExitCode::SUCCESS;
    }
    let settings = match &command {
        Command::Serve { settings } => Ok(settings.as_ref().clone().on(&cli.database)),
        Command::Backup { .. } | Command::Restore { .. } | Command::Migrate | Command::Verify { .. } => Ok(Settings::built_in(&cli.database)),
        _ => Settings::from_environment(&cli.database),
    };
    let config = match settings.map_err(|e| e.to_string()).and_then(|s| Config::from_settings(&s).map_err(|e| e.to_string())) {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    match command {
        Command::Serve { .. } => match actix_web::rt::System::new().block_on(server::serve(config)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
        Command::Openapi => unreachable!("handled above"),
        Command::Restore { file } => restore(&config, &file),
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
        Command::Org(command) => org_command(&mut conn, command),
        Command::Season(command) => season_command(&mut conn, command),
        Command::Client(command) => client_command(&mut conn, command),
        Command::User(command) => user_command(&mut conn, command),
        Command::Sweep => crate::app::cases::sweep(&mut conn, &crate::clock::SystemClock)
            .and_then(|report| {
                let key = config.signing_key().map(|secret| crate::app::chain::ChainKey::derive(&secret)).map_err(|e| crate::app::Error::internal(e))?;
                let sealed = crate::app::chain::seal_due(&mut conn, &crate::clock::SystemClock, &key)?;
                let reports = crate::app::reports::scheduled::send_due(&mut conn, &crate::clock::SystemClock, config.report_time)?;
                let purged = match config.retention_days {
                    Some(days) => crate::app::retention::purge_due(&mut conn, &crate::clock::SystemClock, days)?,
                    None => Vec::new(),
                };
                Ok(serde_json::json!({"sweep": report, "chain_roots_signed": sealed, "daily_reports_sent": reports, "seasons_purged": purged}))
            })
            .map_err(|e| e.to_string()),
        Command::Seed { file } => {
            let fixture = match file {
                Some(path) => std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display())),
                None => Ok(crate::seed::DEMO.to_string()),
            };
            fixture.and_then(|text| {
                crate::seed::seed(&mut conn, &text, SystemClock.now())
                    .map(|s| serde_json::to_value(s).expect("json"))
                    .map_err(|e| e.to_string())
            })
        }
        Command::Import { file, org } => import_file(&mut conn, &file, &org),
        Command::Backup { file } => crate::db::backup::backup(&config.database, &mut conn, &file).map(|made| {
            serde_json::json!({"file": made.file, "bytes": made.bytes, "method": made.method,
                "keep_with_it": "the token secret (EXAMPOST_JWT_SECRET, or jwt-secret beside a SQLite database): tokens and the chain's signing key come from it"})
        }),
        Command::Purge { season, dry_run, force } => {
            let command = crate::app::retention::PurgeSeason { season, dry_run, force };
            crate::app::retention::purge(&mut conn, &SystemClock, &operator(), &command, config.retention_days.unwrap_or(0))
                .map(|report| serde_json::to_value(report).expect("json"))
                .map_err(refusal)
        }
        Command::Verify { item, season } => return verify(&mut conn, item.as_deref(), season.as_deref()),
        Command::Serve { .. } | Command::Openapi | Command::Restore { .. } => unreachable!("handled by run"),
    };
    match result {
        Ok(value) => {
            println!("{}", serde_json::to_string_pretty(&value).expect("json"));
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// `exampost restore`: the backup in place, migrated, its chain verified.
fn restore(config: &Config, file: &std::path::Path) -> ExitCode {
    let restored = match crate::db::backup::restore(&config.database, file, SystemClock.now()) {
        Ok(restored) => restored,
        Err(e) => return fail(e),
    };
    eprintln!("restored from {}{}", restored.from.display(), restored.previous_kept_at.map(|p| format!("; the previous database is kept at {}", p.display())).unwrap_or_default());
    let mut conn = match crate::db::connect_one(&config.database, config.sqlite_sync) {
        Ok(conn) => conn,
        Err(e) => return fail(e),
    };
    match crate::db::run_migrations(&mut conn) {
        Ok(applied) if applied > 0 => eprintln!("{applied} migrations applied to the restored database"),
        Ok(_) => {}
        Err(e) => return fail(e),
    }
    verify(&mut conn, None, None)
}

/// `exampost verify`: prints what it checked and every problem; exit 1 on any.
fn verify(conn: &mut crate::db::DbConn, item: Option<&str>, season: Option<&str>) -> ExitCode {
    use crate::app::chain;
    let found = match item {
        Some(number) => chain::proof(conn, &operator(), number, season).map(|proof| {
            let problems: Vec<String> = proof.check.mismatch.iter().map(|m| chain::describe(&proof.item.tracking_number, m)).collect();
            let root_problems = proof.root.iter().flat_map(|r| {
                let day = r.check.root.day;
                [(!r.check.matches_leaves).then(|| format!("the root of {day} does not match that day's leaves")), (!r.check.signature_valid).then(|| format!("the root of {day} is not signed by its key"))]
            });
            chain::Verification { items: 1, entries: proof.check.entries.len() as u64, roots: proof.root.iter().count() as u64, problems: problems.into_iter().chain(root_problems.flatten()).collect() }
        }),
        None => chain::verify_all(conn, |items| eprint!("\r{items} items verified")),
    };
    match found {
        Ok(found) => {
            eprintln!();
            let verified = found.problems.is_empty();
            let summary = serde_json::json!({"verified": verified, "items": found.items, "entries": found.entries, "roots": found.roots, "problems": found.problems});
            println!("{}", serde_json::to_string_pretty(&summary).expect("json"));
            if verified { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => fail(refusal(e)),
    }
}

/// The operator at the console, acting as an admin.
fn operator() -> Actor {
    Actor::operator("cli")
}

/// What the CLI says when a service refuses.
fn refusal(err: crate::app::Error) -> String {
    match err {
        crate::app::Error::Invalid(errors) => {
            let reasons: Vec<String> = errors.iter().map(|e| format!("{} {}", e.field, e.reason)).collect();
            format!("invalid input: {}", reasons.join("; "))
        }
        other => other.to_string(),
    }
}

/// A refusal naming the client the command was about, when it is unknown.
fn client_refusal(id: &str) -> impl FnOnce(crate::app::Error) -> String + '_ {
    move |err| match err {
        crate::app::Error::NotFound(_) => format!("no client with id {id}"),
        other => refusal(other),
    }
}

/// `exampost org ...`
fn org_command(conn: &mut crate::db::DbConn, command: OrgCommand) -> Result<serde_json::Value, String> {
    match command {
        OrgCommand::Create { code, name, kind, province, department } => {
            let command = CreateOrganization { code, name, kind, province, reads_province: department };
            administration::create_organization(conn, &SystemClock, &operator(), command)
                .map(|o| serde_json::json!({"id": o.id, "code": o.code, "name": o.name, "kind": o.kind, "province": o.province}))
                .map_err(refusal)
        }
    }
}

/// `exampost season ...`
fn season_command(conn: &mut crate::db::DbConn, command: SeasonCommandLine) -> Result<serde_json::Value, String> {
    match command {
        SeasonCommandLine::Create { code, name, closes_on, exam_days, result_day, deadlines } => {
            let mut parsed = Vec::new();
            for pair in deadlines {
                let (kind, day) = pair.split_once('=').ok_or_else(|| format!("--deadline {pair}: write KIND=DAY"))?;
                let kind: crate::domain::ItemKind = kind.trim().parse().map_err(|e| format!("--deadline {pair}: the kind {e}"))?;
                parsed.push((kind, day.trim().to_string()));
            }
            let command = crate::app::seasons::SeasonCommand { code, name, exam_days, result_day, closes_on, deadlines: parsed };
            crate::app::seasons::create(conn, &SystemClock, &operator(), command)
                .map(|s| serde_json::json!({"code": s.row.code, "name": s.row.name, "closes_on": s.row.closes_on}))
                .map_err(refusal)
        }
    }
}

/// `exampost client ...`
fn client_command(conn: &mut crate::db::DbConn, command: ClientCommand) -> Result<serde_json::Value, String> {
    match command {
        ClientCommand::Create { org, role, name } => {
            administration::create_client(conn, &SystemClock, &operator(), CreateClient { organization: org, name, role })
                .map(|issued| {
                    let client = issued.client;
                    serde_json::json!({"client_id": client.id, "client_secret": issued.secret, "organization_id": client.organization_id, "role": client.role})
                })
                .map_err(refusal)
        }
        ClientCommand::List { org } => list_all_clients(conn, org),
        ClientCommand::Revoke { id } => {
            let id = id.trim();
            administration::revoke_client(conn, &SystemClock, &operator(), id)
                .map(|revoked| serde_json::to_value(ClientLine::from(revoked)).expect("json"))
                .map_err(client_refusal(id))
        }
        ClientCommand::Rotate { id } => {
            let id = id.trim();
            administration::rotate_client_secret(conn, &operator(), id)
                .map(|rotated| serde_json::json!({"client_id": rotated.client.id, "client_secret": rotated.secret}))
                .map_err(client_refusal(id))
        }
    }
}

/// `exampost user ...`
fn user_command(conn: &mut crate::db::DbConn, command: UserCommand) -> Result<serde_json::Value, String> {
    match command {
        UserCommand::Create { org, email, role, name, manages_users } => {
            let command = administration::CreateUser { organization: Some(org), email, name, role, manages_users, password: None };
            administration::create_user(conn, &SystemClock, &operator(), command)
                .map(|issued| {
                    let (user, client, org) = issued.account;
                    serde_json::json!({"client_id": client.id, "email": user.email, "organization": org.code, "role": client.role, "password": issued.generated_password})
                })
                .map_err(refusal)
        }
        UserCommand::List { org } => administration::list_users(conn, &operator(), org.as_deref()).map_err(refusal).map(|accounts| {
            let lines = accounts.into_iter().map(|(user, client, org)| {
                serde_json::json!({"client_id": client.id, "email": user.email, "name": client.name, "role": client.role,
                    "organization": org.code, "manages_users": user.manages_users, "revoked_at": client.revoked_at.map(|t| t.and_utc())})
            });
            serde_json::Value::Array(lines.collect())
        }),
    }
}

/// A client as `client list` and `client revoke` print it (the fields of
/// the API's client view, never the secret or its hash).
#[derive(serde::Serialize)]
struct ClientLine {
    id: String,
    name: String,
    role: Role,
    organization_id: String,
    organization_code: String,
    created_at: chrono::DateTime<chrono::Utc>,
    revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<ClientRecord> for ClientLine {
    fn from(ClientRecord { client, organization }: ClientRecord) -> Self {
        ClientLine {
            id: client.id,
            name: client.name,
            role: client.role,
            organization_id: organization.id,
            organization_code: organization.code,
            created_at: client.created_at.and_utc(),
            revoked_at: client.revoked_at.map(|t| t.and_utc()),
        }
    }
}

/// `exampost client list`: every page, as one `{"items": [...]}`.
fn list_all_clients(conn: &mut crate::db::DbConn, org: Option<String>) -> Result<serde_json::Value, String> {
    const PAGE: i64 = 500;
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let listing = ClientListing { organization: org.clone(), after_id: after.take(), limit: PAGE };
        let records = administration::list_clients(conn, &operator(), listing).map_err(refusal)?;
        let full = records.len() as i64 == PAGE;
        after = records.last().map(|record| record.client.id.clone());
        items.extend(records.into_iter().map(ClientLine::from));
        if !full {
            return Ok(serde_json::json!({ "items": items }));
        }
    }
}

/// `exampost import`: the same import as the API, acting as the organization.
fn import_file(conn: &mut crate::db::DbConn, path: &std::path::Path, org_code: &str) -> Result<serde_json::Value, String> {
    use crate::app::{registration, Actor};
    let code = org_code.trim().to_uppercase();
    let org = crate::store::organizations::find_by_code(conn, &code).map_err(|e| e.to_string())?.ok_or_else(|| format!("no organization with code {code}"))?;
    let role = match org.kind {
        OrgKind::Education => Role::Education,
        OrgKind::Carrier => Role::Carrier,
        _ => return Err(format!("{code} is an overseer; only education bodies and carriers register items")),
    };
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}").expect("valid template"),
    );
    let actor = Actor { client_id: format!("cli:import:{code}"), org_id: org.id, role, province: org.province, reads_province: org.reads_province };
    let reader = bar.wrap_read(std::io::BufReader::new(file));
    let report = registration::import(conn, &crate::clock::SystemClock, &actor, reader, &mut |rows| bar.set_message(format!("{rows} rows")))
        .map_err(|e| describe_error(&e))?;
    bar.finish_and_clear();
    Ok(import_report_json(report))
}

/// A service's refusal in words, every offending field named.
fn describe_error(error: &crate::app::Error) -> String {
    match error {
        crate::app::Error::Invalid(errors) => errors.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

/// The import report in the keys the API answers with; a row's error as its
/// detail, its field errors and the id of the item it conflicts with.
fn import_report_json(report: crate::app::registration::ImportReport) -> serde_json::Value {
    use serde_json::json;
    let error = |e: crate::app::Error| {
        let mut out = json!({ "detail": e.to_string() });
        match e {
            crate::app::Error::Invalid(errors) => out["errors"] = json!(errors),
            crate::app::Error::Conflict { existing_id: Some(id), .. } => out["existing_id"] = json!(id),
            _ => {}
        }
        out
    };
    let results: Vec<serde_json::Value> = report
        .results
        .into_iter()
        .map(|line| {
            let status = if line.error.is_some() { "rejected" } else { "duplicate" };
            json!({ "line": line.line, "status": status, "tracking_number": line.tracking_number, "error": line.error.map(error) })
        })
        .collect();
    let by_field: Vec<serde_json::Value> =
        report.rejected_by_field.into_iter().map(|g| json!({ "field": g.field, "rows": g.rows, "example": g.example })).collect();
    json!({
        "rows": report.rows,
        "created": report.created,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
        "results": results,
        "omitted_results": report.omitted_results,
        "rejected_by_field": by_field,
    })
}
