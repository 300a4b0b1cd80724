//! A real PostgreSQL streaming replica (pg_basebackup of the test server,
//! started on its own port) behind `EXAMPOST_READ_DATABASE_URL`: lookups
//! and lists read it while it keeps up, the primary once it lags, and
//! writes never go near it.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::items::{department_and_carrier, item_json, s10};
use crate::util::{TestApp, TestDb};
use exampost::db::replica::Lag;
use exampost::db::DbTarget;

/// A hot standby of the test cluster, stopped and removed when dropped.
struct Standby {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

fn as_postgres(bin: &PathBuf, tool: &str) -> Command {
    let path = bin.join(tool);
    if nix_uid() == 0 {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

fn nix_uid() -> u32 {
    std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(1)
}

fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(output.status.success(), "{what}: {}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
}

impl Standby {
    fn start(primary: &url::Url) -> Standby {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| versions.flatten().map(|v| v.path().join("bin")).filter(|b| b.join("pg_ctl").exists()).max())
            .expect("PostgreSQL's server tools under /usr/lib/postgresql/*/bin");
        let dir = tempfile::tempdir().unwrap();
        if nix_uid() == 0 {
            let uid: u32 = String::from_utf8(Command::new("id").args(["-u", "postgres"]).output().unwrap().stdout).unwrap().trim().parse().unwrap();
            std::os::unix::fs::chown(dir.path(), Some(uid), None).unwrap();
        }
        let data = dir.path().join("data");
        let (host, port) = (primary.host_str().unwrap_or("127.0.0.1").to_string(), primary.port().unwrap_or(5432).to_string());
        run(
            as_postgres(&bin, "pg_basebackup").args(["-h", &host, "-p", &port, "-U", primary.username(), "-R", "-X", "stream", "-c", "fast", "-D"]).arg(&data),
            "pg_basebackup (the primary must allow replication from 127.0.0.1: see .ci/run)",
        );
        let standby_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let conf = format!("port = {standby_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nhot_standby = on\n", dir.path().display());
        std::fs::write(data.join("postgresql.conf"), conf).unwrap();
        std::fs::write(data.join("pg_hba.conf"), "local all all trust\nhost all all 127.0.0.1/32 trust\n").unwrap();
        if nix_uid() == 0 {
            run(Command::new("chown").args(["-R", "postgres"]).arg(&data), "chown");
        }
        run(as_postgres(&bin, "pg_ctl").arg("-D").arg(&data).arg("-l").arg(dir.path().join("log")).args(["-w", "start"]), "start the standby");
        Standby { dir, bin, port: standby_port }
    }

    fn sql(&self, database: &str, query: &str) {
        let mut conn = PgConnection::establish(&format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)).unwrap();
        diesel::sql_query(query).execute(&mut conn).unwrap();
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin, "pg_ctl").arg("-D").arg(self.dir.path().join("data")).args(["-m", "immediate", "stop"]).output();
    }
}

async fn status_seen(app: &TestApp, number: &str) -> Value {
    let reply = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": number, "date_of_birth": "14/03/2008"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["status"].clone()
}

async fn wait_for_lag(app: &TestApp, ok: impl Fn(Lag) -> bool, what: &str) {
    let replica = app.state.read_replica.as_ref().expect("a replica is configured");
    let started = Instant::now();
    while !ok(replica.lag()) {
        assert!(started.elapsed() < Duration::from_secs(20), "{what}: lag is {:?}", replica.lag());
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn lookups_and_lists_read_the_replica_while_it_keeps_up_and_the_primary_once_it_lags() {
    let db = TestDb::new();
    let TestDb::Postgres { admin_url, name, .. } = &db else {
        // On SQLite there is no replica to read: the setting is refused.
        let settings = exampost::config::Settings { read_database_url: Some("postgres://postgres@127.0.0.1/x".into()), ..settings_for(db.url()) };
        let refused = exampost::config::Config::from_settings(&settings).unwrap_err();
        assert_eq!(refused.setting, "EXAMPOST_READ_DATABASE_URL (--read-database-url)");
        return;
    };
    let name = name.clone();
    // A replica that is away at start: the service starts and reads the primary.
    let away = format!("postgres://postgres@127.0.0.1:{}/{name}", crate::cli::free_port());
    let alone = TestApp::with_db_and_config(TestDb::new(), |config| {
        config.read_database = Some(DbTarget::Postgres(away));
    })
    .await;
    let (dept_alone, _) = department_and_carrier(&alone);
    assert_eq!(alone.post("/api/v1/items", Some(&dept_alone.token), &item_json(&s10(2), "2026-THPT")).await.status, 201);
    assert_eq!(status_seen(&alone, &s10(2)).await, "registered");
    assert_eq!(alone.get("/api/v1/items", Some(&dept_alone.token)).await.status, 200);
    drop(alone);

    let standby = Standby::start(&url::Url::parse(admin_url).unwrap());
    let replica_url = format!("postgres://postgres@127.0.0.1:{}/{name}", standby.port);
    let app = TestApp::with_db_and_config(db, |config| {
        config.read_database = Some(DbTarget::Postgres(replica_url));
        config.read_max_lag = Duration::from_secs(2);
    })
    .await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &item_json(&number, "2026-THPT")).await.status, 201);
    wait_for_lag(&app, |lag| lag == Lag::Behind(Duration::ZERO), "the replica catches up").await;
    // Lag is noted once a second, so "caught up" may still be a moment
    // before the registration: wait until the replica answers for the item.
    let lookup = json!({"tracking_number": number, "date_of_birth": "14/03/2008"});
    let started = Instant::now();
    let before = loop {
        let reply = app.post("/api/v1/public/lookup", None, &lookup).await;
        if reply.status == 200 || started.elapsed() > Duration::from_secs(10) {
            assert_eq!(reply.status, 200, "the replica never showed the item: {}", reply.text);
            break reply.body["status"].clone();
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(before, "registered");

    // The replica stops replaying; the carrier scans on the primary.
    standby.sql(&name, "SELECT pg_wal_replay_pause()");
    let scan = json!({"client_event_id": "replica-1", "type": "accepted", "occurred_at": (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339(), "office_code": "VNP-290000", "office_name": "Bưu cục Việt Trì"});
    let scanned = app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &scan).await;
    assert_eq!(scanned.status, 201, "{}", scanned.text);
    let written = Instant::now();
    // Reads that must see the write are on the primary.
    let item = app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await;
    let moved = item.body["status"].clone();
    assert_ne!(moved, "registered", "{}", item.text);

    // Within the allowed lag the lookup and the list show the replica's (older) state,
    // and a wrong guess is still counted (on the primary: the replica is read-only).
    assert_eq!(status_seen(&app, &number).await, "registered", "read from the paused replica");
    let list = app.get("/api/v1/items", Some(&dept.token)).await;
    assert_eq!(list.body["items"][0]["status"], "registered", "{}", list.text);
    let wrong = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": number, "date_of_birth": "15/03/2008"})).await;
    assert_eq!(wrong.status, 404, "{}", wrong.text);
    assert!(written.elapsed() < Duration::from_secs(2), "the reads above ran within the allowed lag");

    // Past it, reads go to the primary: the candidate sees the scan.
    wait_for_lag(&app, |lag| matches!(lag, Lag::Behind(d) if d > Duration::from_secs(2)), "the lag is noticed").await;
    assert_eq!(status_seen(&app, &number).await, moved);
    let list = app.get("/api/v1/items", Some(&dept.token)).await;
    assert_eq!(list.body["items"][0]["status"], moved);

    // Replaying again, the replica catches up and is read again.
    standby.sql(&name, "SELECT pg_wal_replay_resume()");
    wait_for_lag(&app, |lag| matches!(lag, Lag::Behind(d) if d <= Duration::from_secs(2)), "the replica catches up again").await;
    assert_eq!(status_seen(&app, &number).await, moved);
}

fn settings_for(url: &str) -> exampost::config::Settings {
    use clap::Parser;
    #[derive(clap::Parser)]
    struct Only {
        #[command(flatten)]
        settings: exampost::config::Settings,
    }
    let mut settings = Only::parse_from(["exampost"]).settings;
    settings.database_url = url.to_string();
    settings.sqlite_synchronous = "full".into();
    settings
}
