//! `exampost backup` and `exampost restore` on the backend under test
//! (SQLite's VACUUM INTO, PostgreSQL's pg_dump/pg_restore), taken while the
//! service is writing.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::time::Duration;

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::cli::{exampost, json_out};
use crate::items::{department_and_carrier, item_json, s10};
use crate::util::{TestApp, TestDb};
use exampost::clock::Clock;

/// The client_event_ids a database holds.
fn stored_scans(url: &str) -> HashSet<String> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        client_event_id: String,
    }
    let query = "SELECT client_event_id FROM events";
    let rows: Vec<Row> = match url.strip_prefix("sqlite://") {
        Some(path) => diesel::sql_query(query).load(&mut SqliteConnection::establish(path).unwrap()).unwrap(),
        None => diesel::sql_query(query).load(&mut PgConnection::establish(url).unwrap()).unwrap(),
    };
    rows.into_iter().map(|r| r.client_event_id).collect()
}

#[actix_web::test]
async fn a_backup_under_write_load_holds_every_acknowledged_scan_and_restores_into_a_working_service() {
    let app = TestApp::new().await;
    let (dept, carrier) = department_and_carrier(&app);
    let numbers: Vec<String> = (1..=10).map(s10).collect();
    for number in &numbers {
        assert_eq!(app.post("/api/v1/items", Some(&dept.token), &item_json(number, "2026-THPT")).await.status, 201);
    }
    let app = Rc::new(app);
    let acknowledged: Rc<RefCell<Vec<String>>> = Rc::default();
    let stop = Rc::new(std::cell::Cell::new(false));
    let occurred_at = (app.clock.now() - chrono::Duration::minutes(30)).to_rfc3339();
    let writer = {
        let (app, acknowledged, stop, token, numbers) = (app.clone(), acknowledged.clone(), stop.clone(), carrier.token.clone(), numbers.clone());
        actix_web::rt::spawn(async move {
            let mut n = 0;
            while !stop.get() {
                let id = format!("load-{n}");
                let scan = json!({"client_event_id": id, "type": "arrived_office", "occurred_at": occurred_at, "office_code": "VNP-290000", "office_name": "Bưu cục Việt Trì"});
                let reply = app.post(&format!("/api/v1/items/{}/events", numbers[n % numbers.len()]), Some(&token), &scan).await;
                assert_eq!(reply.status, 201, "{}", reply.text);
                acknowledged.borrow_mut().push(id);
                n += 1;
            }
        })
    };
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("exampost.backup");
    let before_backup: Vec<String> = acknowledged.borrow().clone();
    let (url, path) = (app.db.url().to_string(), file.to_str().unwrap().to_string());
    let made = actix_web::rt::task::spawn_blocking(move || exampost(&url, &["backup", &path])).await.unwrap();
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    stop.set(true);
    writer.await.unwrap();
    let made = json_out(&made);
    assert!(made["bytes"].as_u64().unwrap() > 0, "{made}");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o077, 0, "a backup is for the service's user alone: {mode:o}");
    assert!(before_backup.len() >= 5 && acknowledged.borrow().len() > before_backup.len(), "the load ran through the backup: {} then {}", before_backup.len(), acknowledged.borrow().len());
    eprintln!("{} scans acknowledged before the backup started, {} by the end of the load", before_backup.len(), acknowledged.borrow().len());

    // A backup never overwrites.
    let again = exampost(app.db.url(), &["backup", file.to_str().unwrap()]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // Restored into an empty database: migrated, verified, serving.
    let target = TestDb::new();
    let restored = exampost(target.url(), &["restore", file.to_str().unwrap()]);
    let report: Value = json_out(&restored);
    assert_eq!(report["verified"], true, "{report}");
    let in_backup = stored_scans(target.url());
    let missing: Vec<&String> = before_backup.iter().filter(|id| !in_backup.contains(*id)).collect();
    assert!(missing.is_empty(), "acknowledged before the backup but not in it: {missing:?}");
    let everything = stored_scans(app.db.url());
    assert!(in_backup.is_subset(&everything));

    // Never under a running service: it would go on writing to what was replaced.
    let refused = exampost(app.db.url(), &["restore", file.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop every replica first"), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(stored_scans(app.db.url()).len() >= acknowledged.borrow().len(), "the running database is untouched");

    // Restoring again over a database keeps what was there, each time under a name of its own.
    for _ in 0..2 {
        let again = exampost(target.url(), &["restore", file.to_str().unwrap()]);
        assert_eq!(json_out(&again)["verified"], true);
        let said = String::from_utf8_lossy(&again.stderr).to_string();
        let kept = said.split("the previous database is kept at ").nth(1).map(|rest| rest.lines().next().unwrap_or("").trim().to_string());
        let kept = kept.unwrap_or_else(|| panic!("the previous database is kept: {said}"));
        assert!(std::path::Path::new(&kept).exists(), "{kept}");
    }
    let kept_files = std::fs::read_dir(dir.path()).unwrap().count()
        + target.url().strip_prefix("sqlite://").map_or(0, |db| std::fs::read_dir(std::path::Path::new(db).parent().unwrap()).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains("before-restore")).count());
    assert!(kept_files >= 3, "two kept copies beside the backup or the database");

    let restored_app = TestApp::with_db(target).await;
    let org = exampost::store::organizations::find_by_code(&mut restored_app.conn(), "SGD-PT").unwrap().expect("the department came back");
    let dept_again = restored_app.party(&org, exampost::domain::Role::Education);
    let item = restored_app.get(&format!("/api/v1/items/{}", numbers[0]), Some(&dept_again.token)).await;
    assert_eq!(item.status, 200, "{}", item.text);
    let fresh = item_json(&s10(50), "2026-THPT");
    assert_eq!(restored_app.post("/api/v1/items", Some(&dept_again.token), &fresh).await.status, 201, "the restored database takes writes");
}

#[test]
fn a_restore_refuses_what_is_not_a_backup_and_keeps_the_database() {
    let db = TestDb::new();
    json_out(&exampost(db.url(), &["migrate"]));
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.backup");
    std::fs::write(&junk, b"not a backup at all").unwrap();
    let refused = exampost(db.url(), &["restore", junk.to_str().unwrap()]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("junk.backup"), "{said}");
    // The database is still there and current.
    json_out(&exampost(db.url(), &["migrate"]));
    let missing = exampost(db.url(), &["restore", dir.path().join("nothing").to_str().unwrap()]);
    assert!(!missing.status.success() && String::from_utf8_lossy(&missing.stderr).contains("is not a file"));
}
