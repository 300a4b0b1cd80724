//! Faults a running service meets: concurrent writers that lock the same
//! rows in different orders, a full disk, a database that stops taking
//! writes. Each must end in a retry inside the server or a 503 with
//! Retry-After, never a 500, and readiness must follow what writes do.

use serde_json::{json, Value};

use crate::events::{batch_entry, in_the_scan_logs_season, register, scan};
use crate::items::{department_and_carrier, item_json, s10};
use crate::util::{test_config, Party, Reply, TestApp, TestDb};

/// A busy answer the client can act on: 503, a problem document, and when to come back.
#[track_caller]
fn assert_retry_later(reply: &Reply) {
    reply.problem(503);
    let retry_after = reply.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u32>().ok());
    assert!(retry_after.is_some_and(|s| s > 0), "Retry-After in {:?}", reply.headers);
}

/// Two carriers' systems send the same new scans at the same moment, one
/// in the order the scans were taken and one reversed. On PostgreSQL each
/// transaction inserted its first rows and then waited on the other's
/// (7 of 10 rounds deadlocked, the loser got a bare 500).
#[actix_web::test]
async fn concurrent_batches_with_the_same_scans_reversed_store_each_once() {
    const SCANS_PER_ITEM: u64 = 25;
    const SCANS: u64 = 40 * SCANS_PER_ITEM;
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let numbers: Vec<String> = (1..=40).map(s10).collect();
    for number in &numbers {
        register(&app, &dept, number).await;
    }
    for round in 0..10 {
        let forward: Vec<Value> = numbers
            .iter()
            .flat_map(|number| (0..SCANS_PER_ITEM).map(move |n| batch_entry(number, &scan(&format!("r{round}-{number}-{n}"), "arrived_office", "2020-07-10T08:00:00"))))
            .collect();
        let reversed: Vec<Value> = forward.iter().rev().cloned().collect();
        let (a, b) = futures_util::future::join(
            app.post("/api/v1/events/batch", Some(&carrier.token), &json!({ "events": forward })),
            app.post("/api/v1/events/batch", Some(&carrier.token), &json!({ "events": reversed })),
        )
        .await;
        assert_eq!((a.status, b.status), (200, 200), "round {round}: {} | {}", a.text, b.text);
        for reply in [&a, &b] {
            assert_eq!(reply.body["rejected"], 0, "round {round}: {}", reply.text);
            assert_eq!(reply.body["created"].as_u64().unwrap() + reply.body["duplicates"].as_u64().unwrap(), SCANS, "round {round}");
        }
        assert_eq!(a.body["created"].as_u64().unwrap() + b.body["created"].as_u64().unwrap(), SCANS, "round {round}: each scan created once");
        assert_eq!(app.count("events") as u64, SCANS * (round + 1), "round {round}");
    }
}

/// The same race for item registration: two departments' uploads carrying
/// the same new items in opposite orders.
#[actix_web::test]
async fn concurrent_item_batches_in_opposite_orders_register_each_once() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    for round in 0..10u32 {
        let forward: Vec<Value> = (0..40).map(|n| item_json(&s10(round * 100 + n), "2026-THPT")).collect();
        let reversed: Vec<Value> = forward.iter().rev().cloned().collect();
        let (a, b) = futures_util::future::join(
            app.post("/api/v1/items/batch", Some(&dept.token), &json!({ "items": forward })),
            app.post("/api/v1/items/batch", Some(&dept.token), &json!({ "items": reversed })),
        )
        .await;
        assert_eq!((a.status, b.status), (200, 200), "round {round}: {} | {}", a.text, b.text);
        assert_eq!(a.body["created"].as_u64().unwrap() + b.body["created"].as_u64().unwrap(), 40, "round {round}: each item created once");
        assert_eq!(a.body["duplicates"].as_u64().unwrap() + b.body["duplicates"].as_u64().unwrap(), 40, "round {round}");
        assert_eq!(app.count("items"), 40 * i64::from(round + 1), "round {round}");
    }
}

/// The retry behind the 503: two transactions that lock two rows in
/// opposite orders deadlock for real on PostgreSQL, which aborts one of
/// them; that one is run again and both commit. (SQLite lets one writer in
/// at a time, so there is nothing to see there.)
#[test]
fn a_transaction_aborted_by_a_deadlock_is_run_again() {
    use diesel::connection::SimpleConnection;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    let db = TestDb::new();
    if !matches!(db, TestDb::Postgres { .. }) {
        return;
    }
    let pool = exampost::server::open_database(&test_config(db.url())).unwrap();
    pool.get().unwrap().batch_execute("CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counters VALUES (1, 0), (2, 0);").unwrap();
    let both_hold_one = Arc::new(Barrier::new(2));
    let attempts = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = [(1, 2), (2, 1)]
        .into_iter()
        .map(|(first, second)| {
            let (pool, both_hold_one, attempts) = (pool.clone(), both_hold_one.clone(), attempts.clone());
            std::thread::spawn(move || {
                let mut mine = 0;
                pool.get().unwrap().write_transaction_retrying(|conn| {
                    mine += 1;
                    attempts.fetch_add(1, Ordering::SeqCst);
                    conn.batch_execute(&format!("UPDATE counters SET n = n + 1 WHERE id = {first}"))?;
                    if mine == 1 {
                        both_hold_one.wait();
                    }
                    conn.batch_execute(&format!("UPDATE counters SET n = n + 1 WHERE id = {second}"))
                })
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap().expect("both commit, one of them on its second attempt");
    }
    assert_eq!(attempts.load(Ordering::SeqCst), 3, "exactly one deadlock, run again once");
    #[derive(diesel::QueryableByName)]
    struct Total {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let total: Total = diesel::RunQueryDsl::get_result(diesel::sql_query("SELECT SUM(n) AS n FROM counters"), &mut **pool.get().unwrap()).unwrap();
    assert_eq!(total.n, 4, "each transaction's two updates stored once");
}

/// A tmpfs of its own: a disk that really fills up. Mounting needs root,
/// which the test machines and CI have.
struct SmallDisk {
    dir: tempfile::TempDir,
    /// On PostgreSQL: the admin URL and the tablespace placed on this disk.
    tablespace: Option<(String, String)>,
}

impl SmallDisk {
    fn mount(bytes: u64, owner: Option<&str>) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let mut options = format!("size={bytes}");
        if let Some(owner) = owner {
            // The database server must reach the mount point through the temp directory.
            std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
            let uid = std::process::Command::new("id").args(["-u", owner]).output().unwrap();
            let uid = String::from_utf8(uid.stdout).unwrap();
            options += &format!(",uid={0},gid={0},mode=0700", uid.trim());
        }
        let status = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", &options, "tmpfs"]).arg(dir.path()).status().unwrap();
        assert!(status.success(), "mounting a {bytes}-byte tmpfs on {} needs root", dir.path().display());
        SmallDisk { dir, tablespace: None }
    }

    fn filler(&self) -> std::path::PathBuf {
        self.dir.path().join("filler")
    }

    /// Takes all the space left, down to the last 4 KiB page.
    fn fill(&self) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(self.filler()).unwrap();
        for chunk in [vec![0xA5u8; 1 << 20], vec![0xA5u8; 4096]] {
            while file.write_all(&chunk).and_then(|()| file.flush()).is_ok() {}
        }
    }

    fn free(&self) {
        let _ = std::fs::remove_file(self.filler());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        self.free();
        if let Some((admin_url, name)) = &self.tablespace {
            use diesel::{Connection, RunQueryDsl};
            if let Ok(mut admin) = diesel::PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP TABLESPACE IF EXISTS {name}")).execute(&mut admin);
            }
        }
        // Lazily: the server's connections may still hold files open.
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// The server over a database whose data lives on a small disk of its own:
/// the SQLite file, or on PostgreSQL every table and index of the test
/// database, moved to a tablespace on that disk.
async fn app_on_a_small_disk() -> (SmallDisk, TestApp) {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl};
    match TestDb::new() {
        TestDb::Sqlite { .. } => {
            let disk = SmallDisk::mount(8 << 20, None);
            let dir = tempfile::tempdir_in(disk.dir.path()).unwrap();
            let url = format!("sqlite://{}", dir.path().join("exampost.db").display());
            let app = TestApp::with_db(TestDb::Sqlite { _dir: dir, url }).await;
            (disk, app)
        }
        db @ TestDb::Postgres { .. } => {
            let TestDb::Postgres { admin_url, .. } = &db else { unreachable!() };
            let mut disk = SmallDisk::mount(16 << 20, Some("postgres"));
            let name = format!("exampost_small_{}", uuid::Uuid::new_v4().simple());
            let mut admin = diesel::PgConnection::establish(admin_url).unwrap();
            diesel::sql_query(format!("CREATE TABLESPACE {name} LOCATION '{}'", disk.dir.path().display())).execute(&mut admin).unwrap();
            disk.tablespace = Some((admin_url.clone(), name.clone()));
            let app = TestApp::with_db(db).await;
            app.conn()
                .batch_execute(&format!(
                    "ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE {name}; ALTER INDEX ALL IN TABLESPACE pg_default SET TABLESPACE {name};"
                ))
                .unwrap();
            (disk, app)
        }
        TestDb::Shared { .. } => unreachable!("a new test database is never shared"),
    }
}

/// A full disk: writes get 503 with Retry-After and change nothing, reads
/// go on (their audit entries wait and are stored once space is back), `/readyz` says not ready; once space is back, `/readyz` finds
/// out by itself (it writes) and says ready, and the same writes succeed.
#[actix_web::test]
async fn a_full_disk_answers_503_and_readiness_follows_writes() {
    let (disk, app) = app_on_a_small_disk().await;
    app.clock.set(in_the_scan_logs_season());
    let (dept, carrier) = department_and_carrier(&app);
    let numbers: Vec<String> = (1..=5).map(s10).collect();
    for number in &numbers {
        register(&app, &dept, number).await;
    }
    assert_eq!(app.get("/readyz", None).await.status, 200);
    let scans: Vec<Value> = numbers
        .iter()
        .flat_map(|number| (0..40).map(move |n| batch_entry(number, &scan(&format!("full-{number}-{n}"), "arrived_office", "2020-07-10T08:00:00"))))
        .collect();
    let single = scan("full-single", "accepted", "2020-07-10T07:00:00");

    let committee = app.new_party("BCD-FULL", exampost::domain::OrgKind::Overseer, "phu-tho");
    disk.fill();
    assert_retry_later(&app.post("/api/v1/events/batch", Some(&carrier.token), &json!({ "events": scans })).await);
    assert_retry_later(&app.post(&format!("/api/v1/items/{}/events", numbers[0]), Some(&carrier.token), &single).await);
    assert_eq!(app.count("events"), 0, "nothing of the failed writes was kept");
    let not_ready = app.get("/readyz", None).await;
    assert_retry_later(&not_ready);
    assert_retry_later(&app.get("/readyz", None).await);
    assert_eq!(app.get(&format!("/api/v1/items/{}", numbers[0]), Some(&committee.token)).await.status, 200, "reads go on");
    // Reads of personal data too: their audit entries wait in the writer's queue.
    assert_eq!(app.get(&format!("/api/v1/items/{}", numbers[0]), Some(&dept.token)).await.status, 200, "reads go on");

    disk.free();
    let ready = app.get("/readyz", None).await;
    assert_eq!((ready.status, ready.body["status"].as_str()), (200, Some("ok")), "{}", ready.text);
    let reply = app.post("/api/v1/events/batch", Some(&carrier.token), &json!({ "events": scans })).await;
    assert_eq!((reply.status, reply.body["created"].as_u64()), (200, Some(200)), "{}", reply.text);
    assert_eq!(app.post(&format!("/api/v1/items/{}/events", numbers[0]), Some(&carrier.token), &single).await.status, 201);
    assert_eq!(app.count("events"), 201);
    // The read made while the disk was full reached the audit once space was back.
    let ops = app.org("OPS-FULL", exampost::domain::OrgKind::Overseer, "ha-noi");
    let admin = app.party(&ops, exampost::domain::Role::Admin);
    let audit = app.get(&format!("/api/v1/audit?action=view&tracking_number={}", numbers[0]), Some(&admin.token)).await;
    assert_eq!(audit.body["items"].as_array().map(Vec::len), Some(1), "{}", audit.text);
}

/// Another process holding SQLite's write lock longer than the busy
/// timeout (10 s): the writer waiting for it gets 503 with Retry-After,
/// not 500, and a busy database does not make the service not ready.
#[actix_web::test]
async fn a_write_lock_held_past_the_busy_timeout_answers_503() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let TestDb::Sqlite { url, .. } = &app.db else { return };
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    register(&app, &dept, &number).await;
    let mut other_process = diesel::SqliteConnection::establish(url.trim_start_matches("sqlite://")).unwrap();
    other_process.batch_execute("BEGIN IMMEDIATE").unwrap();
    let event = scan("busy-1", "accepted", "2020-07-10T08:00:00");
    let reply = app.post("/api/v1/events/batch", Some(&carrier.token), &json!({ "events": [batch_entry(&number, &event)] })).await;
    assert_retry_later(&reply);
    assert_eq!(app.get("/readyz", None).await.status, 200, "busy is not broken");
    other_process.batch_execute("ROLLBACK").unwrap();
    let reply = app.post("/api/v1/events/batch", Some(&carrier.token), &json!({ "events": [batch_entry(&number, &event)] })).await;
    assert_eq!(reply.body["created"], 1, "{}", reply.text);
}

/// Every connection of the pool held elsewhere (slow requests, a stuck
/// report): a request waits the pool's timeout (5 s) and then gets 503
/// with Retry-After.
#[actix_web::test]
async fn an_exhausted_pool_answers_503_with_retry_after() {
    let app = TestApp::new().await;
    let (dept, _) = department_and_carrier(&app);
    let held: Vec<_> = (0..app.state.pool.max_size()).map(|_| app.state.pool.get().unwrap()).collect();
    assert_retry_later(&app.get(&format!("/api/v1/items/{}", s10(1)), Some(&dept.token)).await);
    drop(held);
    app.get(&format!("/api/v1/items/{}", s10(1)), Some(&dept.token)).await.problem(404);
}

/// Ends every connection of the test's database but the caller's, as a
/// restart or a failover does; how many it ended.
fn end_the_servers_connections(app: &TestApp) -> usize {
    use diesel::RunQueryDsl;
    let TestDb::Postgres { name, .. } = &app.db else { return 0 };
    let mut outside = <diesel::PgConnection as diesel::Connection>::establish(app.db.url()).unwrap();
    diesel::sql_query(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
        .execute(&mut outside)
        .unwrap()
}

/// On PostgreSQL (`None` on SQLite): an item registered, then every
/// connection of the service ended as a restart ends them.
async fn a_registered_item_then_a_restart() -> Option<(TestApp, Party, Party, String)> {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let TestDb::Postgres { .. } = &app.db else { return None };
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    register(&app, &dept, &number).await;
    assert!(end_the_servers_connections(&app) > 0);
    Some((app, dept, carrier, number))
}

/// PostgreSQL restarted or failed over: every connection the pool holds is
/// dead. They are found out and replaced as they are checked out, so the
/// next requests succeed instead of failing. (A restart takes longer than
/// the half second a connection just checked is trusted for; the test after
/// this one is the restart that does not.)
#[actix_web::test]
async fn connections_lost_to_a_database_restart_are_replaced() {
    let Some((app, dept, carrier, number)) = a_registered_item_then_a_restart().await else { return };
    std::thread::sleep(exampost::db::TRUSTED_FOR + std::time::Duration::from_millis(100));
    let event = scan("lost-1", "accepted", "2020-07-10T08:00:00");
    assert_eq!(app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &event).await.status, 201);
    assert_eq!(app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await.status, 200);
    assert_eq!(app.get("/readyz", None).await.status, 200);
}

/// The connections end within half a second of their last check, so the
/// pool may lend one unchecked: the request on it answers 503 with Retry-After, and
/// the same request sent again (as clients do on a 503) gets a checked
/// connection and succeeds. Nothing is stored twice.
#[actix_web::test]
async fn a_restart_right_after_use_fails_one_request_at_most() {
    let Some((app, dept, carrier, number)) = a_registered_item_then_a_restart().await else { return };
    let first = app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await;
    if first.status != 200 {
        assert_retry_later(&first);
    }
    assert_eq!(app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await.status, 200);

    register(&app, &dept, &s10(2)).await;
    assert!(end_the_servers_connections(&app) > 0);
    let event = scan("lost-1", "accepted", "2020-07-10T08:00:00");
    let first = app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &event).await;
    if first.status != 201 {
        assert_retry_later(&first);
        let again = app.post(&format!("/api/v1/items/{number}/events"), Some(&carrier.token), &event).await;
        assert_eq!(again.status, 201, "{}", again.text);
    }
    let events = app.get(&format!("/api/v1/items/{number}/events"), Some(&dept.token)).await;
    assert_eq!(events.status, 200, "{}", events.text);
    assert_eq!(app.count("events"), 1, "the scan stored once: {}", events.text);
}

/// What the pool does between checks: a connection checked (or opened) just
/// now is lent again without a round trip, even when it has died meanwhile;
/// one checked longer than [`exampost::db::TRUSTED_FOR`] ago, or before the
/// pool was told a connection died, is checked and replaced.
#[actix_web::test]
async fn the_pool_checks_a_connection_only_when_it_was_idle_or_trust_was_lost() {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Backend {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let app = TestApp::new().await;
    let TestDb::Postgres { .. } = &app.db else { return };
    // Opened on demand only: no connection is being opened in the background as the test process ends.
    let pool = exampost::db::connect_lazily(&exampost::db::DbTarget::parse(app.db.url()).unwrap(), exampost::db::SqliteSync::Normal, 1);
    let pid = |pool: &exampost::db::Pool| -> Result<i32, diesel::result::Error> {
        let mut conn = pool.get().unwrap();
        diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result::<Backend>(&mut **conn).map(|b| b.pid)
    };
    let first = pid(&pool).unwrap();
    assert!(end_the_servers_connections(&app) > 0);
    let unchecked = pid(&pool);
    assert!(unchecked.is_err(), "a connection opened just now is lent without a check: {unchecked:?}");
    pool.distrust_connections();
    let replaced = pid(&pool).unwrap();
    assert_ne!(replaced, first, "after a dead one, connections are checked and the dead replaced");
    assert_eq!(pid(&pool).unwrap(), replaced, "a live connection is kept");
    assert!(end_the_servers_connections(&app) > 0);
    std::thread::sleep(exampost::db::TRUSTED_FOR + std::time::Duration::from_millis(100));
    assert_ne!(pid(&pool).unwrap(), replaced, "one idle past the trusted time is checked and replaced");
}
