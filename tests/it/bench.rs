//! A smoke run of the benchmark harness (`exampost-bench run`) on a few
//! thousand items, so that it keeps working; the figures themselves are not
//! asserted (targets live in the bench output, not in tests), but the
//! harness's own correctness checks and the shape of its report are.

use std::process::Command;

use serde_json::Value;

use crate::util::TestDb;

/// The season generator of the harness, compiled into the tests too (the
/// seed tests check what it generates); the library does not hold it.
#[allow(dead_code)]
#[path = "../../src/bench/gen.rs"]
pub mod gen;

#[test]
fn the_harness_runs_end_to_end_on_a_small_season() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.json");
    let target = match db.url().strip_prefix("sqlite://") {
        Some(path) => vec!["--sqlite".to_string(), path.to_string()],
        None => vec!["--sqlite".into(), "none".into(), "--postgres".into(), db.url().to_string()],
    };
    let output = Command::new(env!("CARGO_BIN_EXE_exampost-bench"))
        .args(["run", "--server", env!("CARGO_BIN_EXE_exampost"), "--items", "3000", "--seconds", "0.5", "--ingest-items", "300", "--single-items", "100"])
        .args(["--connections", "8", "--out"])
        .arg(&out)
        .args(&target)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}\n{stderr}", output.status);
    let table = String::from_utf8_lossy(&output.stdout);
    for row in ["HTTP floor", "ingest floor", "batch ingest, in order", "batch ingest, shuffled", "single-event ingest", "public lookup", "lookup floor", "sweeper pass", "server peak RSS", "database size per scan"] {
        assert!(table.contains(row), "the table lacks {row}:\n{table}");
    }
    assert!(table.contains(" of floor"), "figures come with their ratio to the floor:\n{table}");

    let report: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let backends = report["backends"].as_array().unwrap();
    assert_eq!(backends.len(), 1);
    let run = &backends[0];
    for check in run["checks"].as_array().unwrap() {
        assert_eq!(check[1], true, "harness check failed: {check}");
    }
    assert_eq!(run["items"], 3000);
    // 3000 generated items with their scans, plus 2 × 300 items of 8 scans each from the batch runs.
    assert!(run["events"].as_i64().unwrap() > 3000 * 5 + 4800, "{}", run["events"]);
    assert_eq!(run["batch_in_order"]["events"], 2400);
    assert_eq!(run["batch_shuffled"]["events"], 2400);
    for phase in ["http_floor", "single_event", "lookup", "lookup_floor", "list_overdue_in_province", "list_by_carrier_and_status"] {
        assert!(run[phase]["requests"].as_u64().unwrap() > 0, "{phase}: {}", run[phase]);
        assert_eq!(run[phase]["errors"], 0, "{phase}: {}", run[phase]);
    }
    assert!(run["ingest_floor_events_per_second"].as_f64().unwrap() > 0.0);
    assert!(run["server_peak_rss_mb"].as_f64().unwrap() > 1.0);
    // A scan's row and its indexes take more than 100 bytes on either backend.
    assert!(run["database_bytes"].as_i64().unwrap() > run["events"].as_i64().unwrap() * 100, "{}", run["database_bytes"]);
    assert!(run["first_sweep_seconds"].is_number() && run["sweep_seconds"].is_number());
    assert!(run["generated"]["items"] == 3000, "the season was generated for this run: {}", run["generated"]);
}
