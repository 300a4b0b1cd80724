//! The binary as a new user runs it: configuration errors, `org create`,
//! `client create`, then `serve` and the README's walkthrough over HTTP.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::items::item_json;
use crate::util::TestDb;

pub(crate) fn exampost(db_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_exampost"))
        .args(args)
        .env("EXAMPOST_DATABASE_URL", db_url)
        .env("EXAMPOST_JWT_SECRET", "cli-test-secret-cli-test-secret-cli-test")
        .env("EXAMPOST_LOG", "warn")
        .output()
        .unwrap()
}

pub(crate) fn json_out(output: &std::process::Output) -> Value {
    assert!(output.status.success(), "{:?}, stderr: {}", output.status, String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn bad_settings_are_named() {
    let output = Command::new(env!("CARGO_BIN_EXE_exampost"))
        .args(["sweep"])
        .env("EXAMPOST_POOL_SIZE", "zero")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("EXAMPOST_POOL_SIZE"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_exampost"))
        .args(["sweep"])
        .env("EXAMPOST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        .env_remove("EXAMPOST_JWT_SECRET")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("EXAMPOST_JWT_SECRET"));
}

/// Each command's help lists its own options (and the database's), not the server's.
#[test]
fn each_command_lists_only_its_own_options() {
    let help = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_exampost")).args(args).arg("--help").output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    for command in [&["seed"][..], &["import"], &["migrate"], &["sweep"], &["org", "create"], &["user", "create"]] {
        let text = help(command);
        assert!(text.contains("--database-url"), "{command:?}: {text}");
        for server_option in ["--bind", "--smtp-url", "--workers", "--jwt-secret"] {
            assert!(!text.contains(server_option), "{command:?} lists {server_option}: {text}");
        }
    }
    assert!(help(&["import"]).contains("--org"));
    let serve = help(&["serve"]);
    for option in ["--bind", "--smtp-url", "--workers", "--database-url"] {
        assert!(serve.contains(option), "serve lacks {option}: {serve}");
    }
    // A server option given to another command is refused, not ignored.
    let output = Command::new(env!("CARGO_BIN_EXE_exampost")).args(["seed", "--bind", "127.0.0.1:1"]).output().unwrap();
    assert!(!output.status.success());
}

/// An unusable data directory is named as such, not as a secret problem.
#[test]
fn an_unusable_data_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "x").unwrap();
    let url = format!("sqlite://{}/exampost.db", file.display());
    for args in [&["migrate"][..], &["serve", "--bind", "127.0.0.1:0"]] {
        let output = Command::new(env!("CARGO_BIN_EXE_exampost"))
            .args(args)
            .env("EXAMPOST_DATABASE_URL", &url)
            .env_remove("EXAMPOST_JWT_SECRET")
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("data directory") && stderr.contains("not-a-directory"), "{args:?}: {stderr}");
        assert!(!stderr.contains("JWT_SECRET"), "{args:?}: {stderr}");
    }
}

/// A bad service setting must not stand in the way of a backup or a restore.
#[test]
fn database_commands_need_only_the_database() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.backup");
    let output = Command::new(env!("CARGO_BIN_EXE_exampost"))
        .args(["backup", file.to_str().unwrap()])
        .env("EXAMPOST_DATABASE_URL", db.url())
        .env("EXAMPOST_BIND", "nonsense")
        .env("EXAMPOST_METRICS_TOKEN", "short")
        .env_remove("EXAMPOST_JWT_SECRET")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(file.exists());
}

#[test]
fn openapi_command_prints_the_committed_spec() {
    let output = Command::new(env!("CARGO_BIN_EXE_exampost")).arg("openapi").output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap(), exampost::api::openapi_json());
}

/// Waits (up to 30 s) for a spawned server's /readyz to answer 200.
pub(crate) async fn wait_until_ready(http: &awc::Client, base: &str) {
    let started = Instant::now();
    while http.get(format!("{base}/readyz")).send().await.map(|r| r.status().as_u16()).ok() != Some(200) {
        assert!(started.elapsed() < Duration::from_secs(30), "server did not become ready");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[actix_web::test]
async fn readme_walkthrough_from_org_to_item() {
    let db = TestDb::new();
    let url = db.url().to_string();
    json_out(&exampost(&url, &["migrate"]));
    json_out(&exampost(&url, &["org", "create", "--code", "SGD-PT", "--name", "Sở GD&ĐT Phú Thọ", "--kind", "education", "--province", "Phú Thọ"]));
    json_out(&exampost(&url, &["org", "create", "--code", "VNPOST", "--name", "Vietnam Post", "--kind", "carrier", "--province", "ha-noi"]));
    let refused = exampost(&url, &["org", "create", "--code", "VNPOST", "--name", "again", "--kind", "carrier", "--province", "ha-noi"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("taken"));
    let client = json_out(&exampost(&url, &["client", "create", "--org", "SGD-PT", "--role", "education", "--name", "registry"]));
    let season = ["season", "create", "--code", "2026-THPT", "--name", "Kỳ thi THPT 2026", "--closes-on", "2099-09-30", "--exam-day", "2026-06-11"];
    let bad_deadline = exampost(&url, &[&season[..], &["--deadline", "postcard=2026-08-21"]].concat());
    assert!(!bad_deadline.status.success());
    assert!(String::from_utf8_lossy(&bad_deadline.stderr).contains("postcard"));
    assert_eq!(json_out(&exampost(&url, &[&season[..], &["--deadline", "admission_notice=2099-08-21"]].concat()))["code"], "2026-THPT");

    let port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_exampost"))
        .arg("serve")
        .env("EXAMPOST_DATABASE_URL", &url)
        .env("EXAMPOST_JWT_SECRET", "cli-test-secret-cli-test-secret-cli-test")
        .env("EXAMPOST_BIND", format!("127.0.0.1:{port}"))
        .env("EXAMPOST_WORKERS", "1")
        .env("EXAMPOST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let http = awc::Client::default();
    let base = format!("http://127.0.0.1:{port}");
    wait_until_ready(&http, &base).await;
    let mut token = http
        .post(format!("{base}/api/v1/auth/token"))
        .send_json(&json!({"client_id": client["client_id"], "client_secret": client["client_secret"]}))
        .await
        .unwrap();
    assert_eq!(token.status().as_u16(), 200);
    let token: Value = token.json().await.unwrap();
    let bearer = token["access_token"].as_str().unwrap();
    let mut created = http.post(format!("{base}/api/v1/items")).bearer_auth(bearer).send_json(&item_json("RR123456785VN", "2026-THPT")).await.unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    let mut read = http.get(format!("{base}/api/v1/items/RR123456785VN")).bearer_auth(bearer).send().await.unwrap();
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["id"], created["id"]);
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn seed_command_loads_the_demo_once() {
    let db = TestDb::new();
    let seeded = json_out(&exampost(db.url(), &["seed"]));
    assert_eq!(seeded["items"], 63);
    let again = exampost(db.url(), &["seed"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already seeded"));
}
