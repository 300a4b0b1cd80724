//! `exampost-bench run`: generates (or reuses) a national-scale season,
//! starts the real server on it as a child process, drives it over loopback
//! and reports each figure beside its floor, measured in the same run: raw
//! bulk inserts of the same event rows (the ingest floor) and a
//! trivial JSON endpoint behind the same actix configuration (the HTTP
//! floor). Ratios to the floors hold on a noisy machine; raw figures do not.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use serde_json::{json, Value};

use crate::gen::{self, Generated, JOURNEY};
use crate::load::{drive, drive_pool, Request, Shape, Stats};
use exampost::db::schema::{events, items};
use exampost::db::{DbConn, DbTarget, SqliteSync};
use exampost::domain::events::EventType;
use exampost::domain::{OrgKind, Role};

/// Options of `exampost-bench run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// SQLite database file to benchmark; `none` skips SQLite.
    #[arg(long, default_value = "./data/bench.db")]
    pub sqlite: String,
    /// PostgreSQL URL of a database the harness may drop and re-create (omit to skip PostgreSQL).
    #[arg(long)]
    pub postgres: Option<String>,
    /// Items in the generated season.
    #[arg(long, default_value_t = 1_000_000)]
    pub items: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Regenerate even when the database already holds a generated season of this size.
    #[arg(long)]
    pub fresh: bool,
    /// Seconds each timed HTTP phase runs at most.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Concurrent connections for single-event ingest, lookup and the HTTP floor.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Client threads driving the load (they share the machine with the server).
    #[arg(long, default_value_t = 2)]
    pub client_threads: usize,
    /// Items registered for each batch ingest run (8 scans each, sent in batches of 1000).
    #[arg(long, default_value_t = 10_000)]
    pub ingest_items: usize,
    /// Items available to single-event ingest (8 scans each).
    #[arg(long, default_value_t = 8_000)]
    pub single_items: usize,
    /// Connections sending batches at the same time.
    #[arg(long, default_value_t = 2)]
    pub batch_senders: usize,
    /// SQLite `synchronous` for the server and the floor (normal or full).
    #[arg(long, default_value = "normal")]
    pub sqlite_synchronous: String,
    /// Server worker threads (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// The `exampost` binary to benchmark (default: the one beside this program).
    #[arg(long)]
    pub server: Option<PathBuf>,
    /// Where to write the results as JSON.
    #[arg(long, default_value = "bench-results.json")]
    pub out: PathBuf,
}

/// Batch ingest: events per second, with each batch's latency.
#[derive(Debug, Clone, Serialize)]
pub struct IngestFigures {
    pub events: usize,
    pub events_per_second: f64,
    pub batches: Stats,
}

/// Everything measured on one backend.
#[derive(Debug, Clone, Serialize)]
pub struct BackendReport {
    pub backend: String,
    pub items: usize,
    pub events: i64,
    pub generated: Option<Generated>,
    pub http_floor: Stats,
    pub ingest_floor_events_per_second: f64,
    pub registration_items_per_second: f64,
    pub batch_in_order: IngestFigures,
    pub batch_shuffled: IngestFigures,
    pub single_event: Stats,
    pub lookup: Stats,
    /// The lookup's point read through a pool, no HTTP: the lookup's floor.
    pub lookup_floor: Stats,
    pub list_overdue_in_province: Stats,
    pub list_by_carrier_and_status: Stats,
    /// A department's own items with their candidates' personal fields (each read audited).
    pub list_department_items: Stats,
    /// A department's CSV export of the run's items (each export audited).
    pub export_csv: Stats,
    /// Rows the CSV export wrote per second.
    pub export_rows_per_second: f64,
    pub first_sweep_seconds: Option<f64>,
    pub sweep_seconds: f64,
    pub server_peak_rss_mb: f64,
    /// The database's size at the end of the run, all tables and indexes included.
    pub database_bytes: i64,
    /// Correctness checks on what the load did (all must hold).
    pub checks: Vec<(String, bool)>,
}

const SECRET: &str = "bench-harness-signing-key-0123456789abcdef";
const SEASON: &str = "2026-BENCH";
/// First serial of the items the run registers (the generator stays below it).
const RUN_SERIAL: u32 = 90_000_000;

/// Runs the harness on each chosen backend, prints the table and writes the JSON.
pub fn run(args: &RunArgs) -> Result<Value, String> {
    let mut reports = Vec::new();
    if args.sqlite != "none" {
        let path = PathBuf::from(&args.sqlite);
        reports.push(run_backend(args, DbTarget::Sqlite(path), format!("sqlite://{}", args.sqlite))?);
    }
    if let Some(url) = &args.postgres {
        reports.push(run_backend(args, DbTarget::Postgres(url.clone()), url.clone())?);
    }
    if reports.is_empty() {
        return Err("nothing to run: give --sqlite PATH and/or --postgres URL".into());
    }
    let machine = machine();
    println!("{}", crate::table::render(&reports, &machine));
    let all = json!({ "machine": machine, "args": format!("{args:?}"), "backends": reports });
    std::fs::write(&args.out, serde_json::to_string_pretty(&all).expect("json")).map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    if let Some(failed) = reports.iter().flat_map(|r| r.checks.iter().map(move |c| (r, c))).find(|(_, (_, ok))| !ok) {
        return Err(format!("check failed on {}: {}", failed.0.backend, failed.1 .0));
    }
    Ok(json!({ "written": args.out }))
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores, {cpu}, {} build", if cfg!(debug_assertions) { "debug" } else { "release" })
}

fn sync_of(args: &RunArgs) -> Result<SqliteSync, String> {
    match args.sqlite_synchronous.as_str() {
        "normal" => Ok(SqliteSync::Normal),
        "full" => Ok(SqliteSync::Full),
        other => Err(format!("--sqlite-synchronous must be normal or full, not {other}")),
    }
}

fn log(message: impl std::fmt::Display) {
    eprintln!("[bench {}] {message}", Utc::now().format("%H:%M:%S"));
}

fn bench_items(conn: &mut DbConn) -> QueryResult<i64> {
    items::table.filter(items::season.eq(SEASON)).count().get_result(conn)
}

/// Opens the backend's database, regenerating the season unless it is there.
fn prepare(args: &RunArgs, target: &DbTarget, sync: SqliteSync) -> Result<(DbConn, Option<Generated>), String> {
    let existing = exampost::db::connect_one(target, sync)
        .ok()
        .and_then(|mut c| exampost::db::run_migrations(&mut c).ok().and_then(|_| bench_items(&mut c).ok()));
    if !args.fresh && existing == Some(args.items as i64) {
        log(format!("reusing the generated season of {} items", args.items));
        let conn = exampost::db::connect_one(target, sync).map_err(|e| e.to_string())?;
        return Ok((conn, None));
    }
    match target {
        DbTarget::Sqlite(path) => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        DbTarget::Postgres(url) => recreate_postgres(url)?,
    }
    let mut conn = exampost::db::connect_one(target, sync).map_err(|e| e.to_string())?;
    exampost::db::run_migrations(&mut conn).map_err(|e| e.to_string())?;
    log(format!("generating {} items", args.items));
    let generated = gen::generate(&mut conn, args.items, args.seed, SEASON, Utc::now()).map_err(|e| e.to_string())?;
    log(format!("generated {} events in {:.1} s", generated.events, generated.seconds));
    Ok((conn, Some(generated)))
}

/// A PostgreSQL server with autovacuum off (some CI set-ups turn it off)
/// never refreshes the planner's statistics after the run's registrations,
/// nor clears the dead rows the generator's updates left (three for every
/// live item after a fresh season), and the lists would be measured with
/// plans and index bloat no production server (where it is on) would have:
/// the harness vacuums and analyzes then, as autovacuum would within its
/// next round.
fn analyze_unless_autovacuum_does(conn: &mut DbConn) -> QueryResult<()> {
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        setting: String,
    }
    if !matches!(conn, DbConn::Postgresql(_)) {
        return Ok(());
    }
    let autovacuum: Setting = diesel::sql_query("SELECT setting FROM pg_settings WHERE name = 'autovacuum'").get_result(conn)?;
    if autovacuum.setting != "on" {
        log("autovacuum is off on this server: vacuuming and analyzing items, events and cases as it would");
        diesel::sql_query("VACUUM (ANALYZE) items, events, cases").execute(conn)?;
    }
    Ok(())
}

/// Drops and creates the database named in `url`, through the server's `postgres` database.
fn recreate_postgres(url: &str) -> Result<(), String> {
    let (server, name) = url.rsplit_once('/').ok_or("a PostgreSQL URL ends with /DATABASE")?;
    let name = name.split('?').next().unwrap_or(name);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("refusing to drop database {name:?}: use letters, digits and _"));
    }
    let mut admin = diesel::PgConnection::establish(&format!("{server}/postgres")).map_err(|e| e.to_string())?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).map_err(|e| e.to_string())?;
    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).map_err(|e| e.to_string())?;
    Ok(())
}

/// The server under test, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(args: &RunArgs, url: &str) -> Result<Server, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let exe = match &args.server {
            Some(path) => path.clone(),
            None => std::env::current_exe().map_err(|e| e.to_string())?.with_file_name(format!("exampost{}", std::env::consts::EXE_SUFFIX)),
        };
        let mut command = Command::new(&exe);
        command
            .arg("serve")
            .env("EXAMPOST_DATABASE_URL", url)
            .env("EXAMPOST_BIND", format!("127.0.0.1:{port}"))
            .env("EXAMPOST_JWT_SECRET", SECRET)
            .env("EXAMPOST_SQLITE_SYNCHRONOUS", &args.sqlite_synchronous)
            .env("EXAMPOST_SWEEP_SECS", "0")
            .env("EXAMPOST_LOOKUPS_PER_MINUTE", "10000000")
            .env("EXAMPOST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(workers) = args.workers {
            command.env("EXAMPOST_WORKERS", workers.to_string());
        }
        let child = command.spawn().map_err(|e| format!("cannot start the server {}: {e}", exe.display()))?;
        let server = Server { child, base: format!("http://127.0.0.1:{port}") };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if call(&server.base, Request::get("/healthz", None)).is_ok_and(|(status, _)| status == 200) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("the server did not answer /healthz within 60 s".into())
    }

    /// The server's peak resident memory so far, in MB.
    fn peak_rss_mb(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request and its JSON answer (for set-up steps, not measured).
fn call(base: &str, request: Request) -> Result<(u16, Value), String> {
    let base = base.to_string();
    actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::builder().timeout(Duration::from_secs(120)).finish();
        let mut builder = client.request(request.method, format!("{base}{}", request.path));
        if let Some(token) = &request.token {
            builder = builder.bearer_auth(token);
        }
        let sent = match request.body {
            Some(body) => builder.content_type("application/json").send_body(body).await,
            None => builder.send().await,
        };
        let mut response = sent.map_err(|e| e.to_string())?;
        let body = response.body().limit(64 * 1024 * 1024).await.map_err(|e| e.to_string())?;
        Ok((response.status().as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null)))
    })
}

/// A client of the organization (created if missing) and a token for it from `/auth/token`.
fn token(conn: &mut DbConn, base: &str, org: &str, kind: OrgKind, role: Role) -> Result<Arc<str>, String> {
    use exampost::app::{administration, Actor};
    use exampost::clock::SystemClock;
    let operator = Actor::operator("bench");
    if exampost::store::organizations::find_by_code(conn, org).map_err(|e| e.to_string())?.is_none() {
        let command = administration::CreateOrganization { code: org.into(), name: org.into(), kind, province: "ha-noi".into(), reads_province: false };
        administration::create_organization(conn, &SystemClock, &operator, command).map_err(|e| e.to_string())?;
    }
    let command = administration::CreateClient { organization: org.into(), name: "bench harness".into(), role };
    let administration::IssuedClient { client, secret } =
        administration::create_client(conn, &SystemClock, &operator, command).map_err(|e| e.to_string())?;
    let body = json!({ "client_id": client.id, "client_secret": secret }).to_string();
    match call(base, Request::post("/api/v1/auth/token", None, body))? {
        (200, answer) => Ok(answer["access_token"].as_str().unwrap_or_default().into()),
        (status, answer) => Err(format!("token for {org}: {status} {answer}")),
    }
}

/// The items a run registers: the in-order set, the shuffled set, then the single-event set.
struct RunItems {
    season: String,
    numbers: Vec<String>,
}

impl RunItems {
    fn new(count: usize) -> RunItems {
        // A season of its own per run, so that runs on a reused database never collide.
        let season = format!("2026-R{}", Utc::now().timestamp());
        // Numbers of their own too (numbers repeat across seasons, and every
        // item with a number is read when one is scanned).
        let first = RUN_SERIAL + (Utc::now().timestamp() / 60 % 300) as u32 * 30_000;
        RunItems { season, numbers: (0..count).map(|n| gen::s10(first + n as u32)).collect() }
    }

    fn registration(&self, n: usize) -> Value {
        json!({
            "tracking_number": self.numbers[n],
            "season": self.season,
            "kind": "result_certificate",
            "priority": if n.is_multiple_of(4) { "urgent" } else { "standard" },
            "carrier_org": "BENCH-VNPOST",
            "recipient": {"type": "candidate", "candidate_number": format!("9{:07}", n), "full_name": "Thí Sinh Tải Thử", "date_of_birth": "2008-05-05"},
            "destination": {"province": gen::province_code(n), "ward": "Phường Trung Tâm", "address_line": "1 Đường Số 1"},
        })
    }
}

/// When the `step`-th scan of a run item happened: a journey over the last day and a half.
fn scan_time(start: DateTime<Utc>, step: usize) -> DateTime<Utc> {
    start + chrono::Duration::hours(4 * step as i64)
}

fn scan(items: &RunItems, n: usize, step: usize, start: DateTime<Utc>, nested: bool) -> Value {
    let event_type = JOURNEY[step];
    let mut scan = json!({
        "client_event_id": format!("{}-{}-{step}", items.season, items.numbers[n]),
        "type": event_type.as_str(),
        "occurred_at": scan_time(start, step).with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("offset")).to_rfc3339(),
        "office_code": format!("BC-{:05}", 10_000 + (n * 7 + step * 13) % 90_000),
    });
    if event_type == EventType::Delivered {
        scan["recipient_name"] = json!("Thí Sinh Tải Thử");
        scan["identity_check"] = json!("citizen_id_card");
    }
    if nested {
        scan["tracking_number"] = json!(items.numbers[n]);
        scan["season"] = json!(items.season);
    }
    scan
}

fn batches_of(entries: Vec<Value>, key: &str) -> Vec<Bytes> {
    entries.chunks(1000).map(|c| Bytes::from(json!({ key: c }).to_string())).collect()
}

/// Sends prepared batches over `senders` connections.
fn send_batches(base: &str, args: &RunArgs, path: &'static str, token: Arc<str>, batches: Vec<Bytes>) -> Stats {
    let batches = Arc::new(batches);
    let senders = args.batch_senders.max(1);
    let shape = Shape { threads: 1, connections: senders, duration: Duration::from_secs(3600) };
    drive(base, shape, move |c, n| {
        let index = n as usize * senders + c;
        batches.get(index).map(|b| Request::post(path, Some(token.clone()), b.clone()))
    })
}

fn ingest_figures(events: usize, batches: Stats) -> IngestFigures {
    IngestFigures { events, events_per_second: events as f64 / batches.seconds, batches }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn run_backend(args: &RunArgs, target: DbTarget, url: String) -> Result<BackendReport, String> {
    let backend = match target {
        DbTarget::Sqlite(_) => "SQLite",
        DbTarget::Postgres(_) => "PostgreSQL",
    }
    .to_string();
    log(format!("{backend}: preparing"));
    let sync = sync_of(args)?;
    let (mut conn, generated) = prepare(args, &target, sync)?;
    let server = Server::start(args, &url)?;
    let base = server.base.clone();
    let carrier = token(&mut conn, &base, "BENCH-VNPOST", OrgKind::Carrier, Role::Carrier)?;
    let department = token(&mut conn, &base, "BENCH-SGD-HA-NOI", OrgKind::Education, Role::Education)?;
    let overseer = token(&mut conn, &base, "BENCH-SO-HA-NOI", OrgKind::Overseer, Role::Overseer)?;
    let seconds = Duration::from_secs_f64(args.seconds);
    let wide = Shape { threads: args.client_threads, connections: args.connections, duration: seconds };

    log("HTTP floor: GET /healthz");
    let http_floor = drive(&base, wide, |_, _| Some(Request::get("/healthz", None)));

    let run_items = Arc::new(RunItems::new(args.ingest_items * 2 + args.single_items));
    gen::ensure_season(&mut conn, &run_items.season, Utc::now()).map_err(|e| e.to_string())?;
    log(format!("registering {} items in batches", run_items.numbers.len()));
    let registrations = (0..run_items.numbers.len()).map(|n| run_items.registration(n)).collect();
    let registered = send_batches(&base, args, "/api/v1/items/batch", department.clone(), batches_of(registrations, "items"));
    let registration_items_per_second = run_items.numbers.len() as f64 / registered.seconds;
    analyze_unless_autovacuum_does(&mut conn).map_err(|e| e.to_string())?;

    let start = Utc::now() - chrono::Duration::hours(36);
    let in_order: Vec<usize> = (0..args.ingest_items).collect();
    let shuffled_set: Vec<usize> = (args.ingest_items..2 * args.ingest_items).collect();

    log("ingest floor: raw bulk inserts of the same event rows");
    let ingest_floor_events_per_second = ingest_floor(&mut conn, &run_items, &in_order, start).map_err(|e| e.to_string())?;

    log("batch ingest, in order");
    let ordered: Vec<Value> = (0..JOURNEY.len()).flat_map(|step| in_order.iter().map(move |&n| (n, step))).map(|(n, step)| scan(&run_items, n, step, start, true)).collect();
    let count = ordered.len();
    let batch_in_order = ingest_figures(count, send_batches(&base, args, "/api/v1/events/batch", carrier.clone(), batches_of(ordered, "events")));

    log("batch ingest, shuffled");
    let mut shuffled: Vec<Value> = shuffled_set.iter().flat_map(|&n| (0..JOURNEY.len()).map(move |step| (n, step))).map(|(n, step)| scan(&run_items, n, step, start, true)).collect();
    shuffled.shuffle(&mut rand::rngs::StdRng::seed_from_u64(args.seed));
    let count = shuffled.len();
    let batch_shuffled = ingest_figures(count, send_batches(&base, args, "/api/v1/events/batch", carrier.clone(), batches_of(shuffled, "events")));

    log(format!("single-event ingest, {} connections", args.connections));
    let single_event = {
        let (items, carrier, first) = (run_items.clone(), carrier.clone(), 2 * args.ingest_items);
        let (connections, steps) = (args.connections, JOURNEY.len() as u64);
        drive(&base, wide, move |c, n| {
            let item = first + c + (n / steps) as usize * connections;
            let step = (n % steps) as usize;
            let number = items.numbers.get(item)?;
            let path = format!("/api/v1/items/{number}/events?season={}", items.season);
            Some(Request::post(path, Some(carrier.clone()), scan(&items, item, step, start, false).to_string()))
        })
    };

    log(format!("public lookup, {} connections", args.connections));
    let (total, seed) = (args.items as u64, args.seed);
    let lookup = drive(&base, wide, move |c, n| {
        let item = splitmix((c as u64) << 40 | n) % total;
        let body = json!({ "tracking_number": gen::tracking_number(seed, item as usize), "candidate_number": gen::candidate_number(item as usize) });
        Some(Request::post("/api/v1/public/lookup", None, body.to_string()))
    });

    log(format!("lookup floor: the same point read through a pool of {}, no HTTP", args.connections));
    let lookup_floor = {
        let pool = exampost::db::connect(&target, sync, u32::try_from(args.connections).unwrap_or(64)).map_err(|e| e.to_string())?;
        drive_pool(&pool, args.connections, seconds, move |conn, c, n| {
            let item = splitmix((c as u64) << 40 | n) % total;
            let found = exampost::store::items::public_by_number(conn, &gen::tracking_number(seed, item as usize)).map_err(|e| e.to_string())?;
            if found.is_empty() { Err(format!("item {item} not found")) } else { Ok(()) }
        })
    };

    let narrow = Shape { threads: 1, connections: 8, duration: seconds / 2 };
    log("filtered lists");
    let list_overdue_in_province = drive(&base, narrow, move |_, _| {
        Some(Request::get(format!("/api/v1/items?season={SEASON}&province=ha-noi&overdue=true&limit=50"), Some(overseer.clone())))
    });
    let list_by_carrier_and_status = {
        let carrier = carrier.clone();
        drive(&base, narrow, move |_, _| {
            Some(Request::get(format!("/api/v1/items?season={SEASON}&carrier=BENCH-VNPOST&status=in_transit&limit=50"), Some(carrier.clone())))
        })
    };
    let list_department_items = {
        let (department, season) = (department.clone(), run_items.season.clone());
        drive(&base, narrow, move |_, _| Some(Request::get(format!("/api/v1/items?season={season}&limit=50"), Some(department.clone()))))
    };
    log("CSV export");
    let export_csv = {
        let (department, season) = (department.clone(), run_items.season.clone());
        let one = Shape { threads: 1, connections: 1, duration: seconds / 2 };
        drive(&base, one, move |_, _| Some(Request::get(format!("/api/v1/items?season={season}&format=csv"), Some(department.clone()))))
    };
    let export_rows_per_second = export_csv.per_second * run_items.numbers.len() as f64;
    let server_peak_rss_mb = server.peak_rss_mb();
    drop(server);

    log("sweeps");
    let timed_sweep = |conn: &mut DbConn| -> Result<f64, String> {
        let started = Instant::now();
        exampost::app::cases::sweep(conn, &exampost::clock::SystemClock).map_err(|e| e.to_string())?;
        Ok(started.elapsed().as_secs_f64())
    };
    // The first pass opens the cases the season calls for (all of them on a
    // freshly generated season); the second is the steady state.
    let first_sweep_seconds = Some(timed_sweep(&mut conn)?);
    let sweep_seconds = timed_sweep(&mut conn)?;

    let mut delivered = |set: &[usize]| -> Result<bool, String> {
        let numbers: Vec<&String> = set.iter().map(|&n| &run_items.numbers[n]).collect();
        let mut count = 0i64;
        for part in numbers.chunks(1000) {
            count += items::table
                .filter(items::season.eq(&run_items.season))
                .filter(items::tracking_number.eq_any(part))
                .filter(items::status.eq("delivered"))
                .count()
                .get_result::<i64>(&mut conn)
                .map_err(|e| e.to_string())?;
        }
        Ok(count == set.len() as i64)
    };
    let checks = vec![
        ("every registration accepted".to_string(), registered.errors == 0),
        ("every in-order item delivered".to_string(), delivered(&in_order)?),
        ("every shuffled item delivered".to_string(), delivered(&shuffled_set)?),
        ("no failed batch".to_string(), batch_in_order.batches.errors + batch_shuffled.batches.errors == 0),
        ("no failed single-event ingest".to_string(), single_event.errors == 0),
        ("no failed lookup".to_string(), lookup.errors == 0),
        ("no failed point read".to_string(), lookup_floor.errors == 0),
        ("no failed list".to_string(), list_overdue_in_province.errors + list_by_carrier_and_status.errors + list_department_items.errors == 0),
        ("no failed export".to_string(), export_csv.errors == 0),
    ];
    for (check, ok) in &checks {
        if !ok {
            log(format!("{backend}: CHECK FAILED: {check}"));
        }
    }
    let events = events::table.count().get_result(&mut conn).map_err(|e| e.to_string())?;
    let database_bytes = database_bytes(&mut conn).map_err(|e| e.to_string())?;
    Ok(BackendReport {
        backend,
        items: args.items,
        events,
        generated,
        http_floor,
        ingest_floor_events_per_second,
        registration_items_per_second,
        batch_in_order,
        batch_shuffled,
        single_event,
        lookup,
        lookup_floor,
        list_overdue_in_province,
        list_by_carrier_and_status,
        list_department_items,
        export_csv,
        export_rows_per_second,
        first_sweep_seconds,
        sweep_seconds,
        server_peak_rss_mb,
        database_bytes,
        checks,
    })
}

/// The database's size, all tables and indexes included (SQLite: its pages).
fn database_bytes(conn: &mut DbConn) -> QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct Size {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        bytes: i64,
    }
    let sql = match conn {
        DbConn::Sqlite(_) => "SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()",
        DbConn::Postgresql(_) => "SELECT pg_database_size(current_database()) AS bytes",
    };
    diesel::sql_query(sql).get_result::<Size>(conn).map(|size| size.bytes)
}

/// The ingest floor: the rows the in-order batch run will store, inserted
/// by each backend's fastest bulk path (`gen::insert_events`: SQLite a cached
/// statement per row, PostgreSQL one `unnest` insert) in transactions of 1000, with no HTTP, no
/// checks and no status work; then removed again.
fn ingest_floor(conn: &mut DbConn, run_items: &RunItems, set: &[usize], start: DateTime<Utc>) -> QueryResult<f64> {
    let numbers: Vec<&String> = set.iter().map(|&n| &run_items.numbers[n]).collect();
    let mut found: Vec<(String, i64, String)> = Vec::new();
    for part in numbers.chunks(1000) {
        found.extend(
            items::table
                .filter(items::season.eq(&run_items.season))
                .filter(items::tracking_number.eq_any(part))
                .select((items::tracking_number, items::id, items::carrier_org_id))
                .load::<(String, i64, String)>(conn)?,
        );
    }
    let before: Option<i64> = events::table.select(diesel::dsl::max(events::id)).first(conn)?;
    let received = exampost::store::now_utc();
    let rows: Vec<exampost::store::events::NewEvent> = (0..JOURNEY.len())
        .flat_map(|step| found.iter().map(move |f| (step, f)))
        .map(|(step, (number, item_id, carrier))| {
            let scan = gen::Scan {
                item_id: *item_id,
                carrier_org_id: carrier,
                client_event_id: format!("floor-{}-{number}-{step}", run_items.season),
                event_type: JOURNEY[step],
                at: scan_time(start, step),
                office_code: format!("BC-{:05}", 10_000 + (number.len() * 7 + step * 13) % 90_000),
            };
            gen::event_row(scan, received, "bench-floor")
        })
        .collect();
    let started = Instant::now();
    for chunk in rows.chunks(1000) {
        conn.write_transaction(|conn| gen::insert_events(conn, chunk))?;
    }
    let per_second = rows.len() as f64 / started.elapsed().as_secs_f64();
    diesel::delete(events::table.filter(events::id.gt(before.unwrap_or(0))).filter(events::created_by.eq("bench-floor"))).execute(conn)?;
    Ok(per_second)
}
