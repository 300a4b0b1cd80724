//! The verifiable event chain (issue 14, part 4): each item's scans and
//! voids are hash-chained, each day's chains are folded into a signed root,
//! and an edit made directly in the database is found and named.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::{json, Value};

use crate::events::{in_the_scan_logs_season, post_event, register, scan};
use crate::items::{department_and_carrier, s10};
use crate::util::{TestApp, TEST_SECRET};
use exampost::app::chain::{self, ChainKey};
use exampost::domain::chain as rules;
use exampost::domain::OrgKind;

fn hex32(text: &Value) -> [u8; 32] {
    hex::decode(text.as_str().expect("hex")).expect("hex").try_into().expect("32 bytes")
}

fn seal(app: &TestApp) -> usize {
    chain::seal_due(&mut **app.conn(), &*app.clock, &ChainKey::derive(TEST_SECRET)).expect("sealing")
}

/// Recomputes the root from the proof alone, as a committee would with the
/// published root: leaf, audit path, root.
fn root_from_proof(proof: &Value) -> [u8; 32] {
    let root = &proof["root"];
    let leaf = rules::leaf(root["item_id"].as_i64().unwrap(), root["seq"].as_i64().unwrap(), &hex32(&root["link"]));
    let path: Vec<[u8; 32]> = root["path"].as_array().unwrap().iter().map(hex32).collect();
    rules::root_from_path(&leaf, root["leaf_index"].as_u64().unwrap() as usize, root["root"]["leaves"].as_i64().unwrap() as usize, &path).expect("a path that fits")
}

#[actix_web::test]
async fn an_items_history_is_chained_signed_and_an_edit_in_the_database_is_named() {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let committee = app.new_party("BCD-PT", OrgKind::Overseer, "phu-tho");
    let (number, other) = (s10(1), s10(2));
    register(&app, &dept, &number).await;
    register(&app, &dept, &other).await;
    for event in [
        scan("c-0", "accepted", "2020-07-10T08:00:00"),
        scan("c-1", "out_for_delivery", "2020-07-11T07:30:00"),
        scan("c-2", "delivered", "2020-07-11T09:00:00"),
    ] {
        assert_eq!(post_event(&app, &carrier, &number, &event).await.status, 201);
    }
    assert_eq!(post_event(&app, &carrier, &other, &scan("o-0", "accepted", "2020-07-10T08:00:00")).await.status, 201);
    // A retry changes nothing in the chain.
    assert_eq!(post_event(&app, &carrier, &number, &scan("c-0", "accepted", "2020-07-10T08:00:00")).await.status, 200);
    // A correction is an entry of its own.
    let detail = app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await.body;
    let delivered_id = detail["timeline"][2]["id"].as_str().unwrap().to_string();
    let voided = app.post(&format!("/api/v1/events/{delivered_id}/void"), Some(&carrier.token), &json!({"reason": "did_not_occur"})).await;
    assert_eq!(voided.status, 200, "{}", voided.text);

    let path = format!("/api/v1/items/{number}/proof");
    let proof = app.get(&path, Some(&committee.token)).await;
    assert_eq!(proof.status, 200, "{}", proof.text);
    assert_eq!(proof.body["verified"], true, "{}", proof.text);
    let entries = proof.body["entries"].as_array().unwrap();
    let kinds: Vec<(i64, &str)> = entries.iter().map(|e| (e["seq"].as_i64().unwrap(), e["entry"].as_str().unwrap())).collect();
    assert_eq!(kinds, vec![(1, "event"), (2, "event"), (3, "event"), (4, "void")]);
    assert_eq!(entries[3]["event_id"], delivered_id.as_str());
    assert!(proof.body["root"].is_null(), "today is not sealed yet");
    assert_eq!(seal(&app), 0, "no finished day yet");

    // The next day, yesterday's root is signed and covers the whole chain.
    app.clock.advance(chrono::Duration::days(1));
    assert_eq!(seal(&app), 1);
    assert_eq!(seal(&app), 0, "a day is sealed once");
    let proof = app.get(&path, Some(&committee.token)).await.body;
    assert_eq!(proof["verified"], true, "{proof}");
    let root = &proof["root"];
    assert_eq!((root["seq"].as_i64(), root["root"]["leaves"].as_i64()), (Some(4), Some(2)), "{proof}");
    assert_eq!(root["link"], entries[3]["link"]);
    assert_eq!(root["root"]["signature_valid"], true);
    assert_eq!(hex::encode(root_from_proof(&proof)), root["root"]["root"].as_str().unwrap(), "the path leads to the signed root");

    // The committee's report publishes the root; the roots endpoint checks it again.
    let report = app.get("/api/v1/reports/steering?season=2020-THPT", Some(&committee.token)).await;
    assert_eq!(report.status, 200, "{}", report.text);
    assert_eq!(report.body["chain_roots"][0]["root"], root["root"]["root"], "{}", report.text);
    let printed = app.get("/api/v1/reports/steering?season=2020-THPT&format=html", Some(&committee.token)).await;
    assert!(printed.text.contains(root["root"]["root"].as_str().unwrap()));
    let roots = app.get("/api/v1/chain/roots", Some(&committee.token)).await;
    assert_eq!(roots.status, 200, "{}", roots.text);
    assert_eq!((roots.body[0]["matches_leaves"].as_bool(), roots.body[0]["signature_valid"].as_bool()), (Some(true), Some(true)), "{}", roots.text);
    app.get("/api/v1/chain/roots", Some(&dept.token)).await.problem(403);
    app.get("/api/v1/chain/roots?from=2020-01-01&to=2020-12-31", Some(&committee.token)).await.problem(422);
    app.get(&path, None).await.problem(401);
    let carrier_elsewhere = app.new_party("VTP", OrgKind::Carrier, "ha-noi");
    app.get(&path, Some(&carrier_elsewhere.token)).await.problem(404);
    assert!(chain::verify_all(&mut **app.conn(), |_| {}).unwrap().problems.is_empty());

    // Someone with the database changes where the second scan happened.
    app.edit_rows_behind_the_service();
    let second = entries[1]["event_id"].as_str().unwrap().to_string();
    diesel::sql_query("UPDATE events SET office_code = 'VNP-999999' WHERE public_id = $1")
        .bind::<Text, _>(&second)
        .execute(&mut **app.conn())
        .unwrap();
    let proof = app.get(&path, Some(&committee.token)).await.body;
    assert_eq!(proof["verified"], false, "{proof}");
    assert_eq!((proof["mismatch"]["seq"].as_i64(), proof["mismatch"]["event_id"].as_str()), (Some(2), Some(second.as_str())), "{proof}");
    let found = chain::verify_all(&mut **app.conn(), |_| {}).unwrap();
    assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
    assert!(found.problems[0].contains(&number) && found.problems[0].contains(&second) && found.problems[0].contains("entry 2"), "{:?}", found.problems);
    // The other item is untouched.
    assert_eq!(app.get(&format!("/api/v1/items/{other}/proof"), Some(&committee.token)).await.body["verified"], true);
}

/// Recomputes an item's links after an edit, as a careful forger with
/// database access would: the chain then holds, but the signed root does not.
fn forge_links(app: &TestApp, item_id: i64) {
    let mut conn = app.conn();
    let rows = exampost::store::events::for_item(&mut conn, item_id).unwrap();
    let mut events: Vec<_> = rows.into_iter().map(|(e, _)| e).collect();
    events.sort_by_key(|e| e.chain_seq);
    let mut previous = rules::GENESIS;
    let salt = exampost::store::chain::of_item(&mut conn, item_id).unwrap().unwrap().salt;
    for event in &events {
        let entry = rules::event_entry(&exampost::store::chain::event_content(event), salt.as_deref()).unwrap();
        previous = rules::link(&previous, &entry);
        diesel::sql_query("UPDATE events SET chain_link = $1 WHERE id = $2")
            .bind::<diesel::sql_types::Binary, _>(previous.to_vec())
            .bind::<BigInt, _>(event.id)
            .execute(&mut **conn)
            .unwrap();
    }
    for sql in ["UPDATE item_chains SET head = $1 WHERE item_id = $2", "UPDATE chain_leaves SET link = $1 WHERE item_id = $2"] {
        diesel::sql_query(sql).bind::<diesel::sql_types::Binary, _>(previous.to_vec()).bind::<BigInt, _>(item_id).execute(&mut **conn).unwrap();
    }
}

#[actix_web::test]
async fn a_rewrite_that_recomputes_the_links_still_breaks_the_signed_root_and_a_deleted_scan_is_missed() {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let (number, other) = (s10(1), s10(2));
    register(&app, &dept, &number).await;
    register(&app, &dept, &other).await;
    for (n, event) in [scan("f-0", "accepted", "2020-07-10T08:00:00"), scan("f-1", "arrived_office", "2020-07-10T14:00:00")].iter().enumerate() {
        assert_eq!(post_event(&app, &carrier, &number, event).await.status, 201, "{n}");
    }
    for event in [scan("g-0", "accepted", "2020-07-10T08:00:00"), scan("g-1", "arrived_office", "2020-07-10T14:00:00")] {
        assert_eq!(post_event(&app, &carrier, &other, &event).await.status, 201);
    }
    app.clock.advance(chrono::Duration::days(1));
    assert_eq!(seal(&app), 1);

    let item_id: i64 = exampost::db::schema::items::table
        .filter(exampost::db::schema::items::tracking_number.eq(&number))
        .select(exampost::db::schema::items::id)
        .first(&mut **app.conn())
        .unwrap();
    app.edit_rows_behind_the_service();
    diesel::sql_query("UPDATE events SET occurred_at = occurred_at + INTERVAL '1 hour' WHERE client_event_id = 'f-1'")
        .execute(&mut **app.conn())
        .or_else(|_| diesel::sql_query("UPDATE events SET occurred_at = datetime(occurred_at, '+1 hour') WHERE client_event_id = 'f-1'").execute(&mut **app.conn()))
        .unwrap();
    forge_links(&app, item_id);
    let found = chain::verify_all(&mut **app.conn(), |_| {}).unwrap();
    assert!(found.problems.iter().any(|p| p.contains("does not match that day's leaves")), "{:?}", found.problems);
    let committee = app.new_party("BCD-PT", OrgKind::Overseer, "phu-tho");
    let proof = app.get(&format!("/api/v1/items/{number}/proof"), Some(&committee.token)).await.body;
    assert_eq!((proof["verified"].as_bool(), proof["root"]["root"]["matches_leaves"].as_bool()), (Some(false), Some(false)), "{proof}");

    // Deleting a scan leaves a hole the chain names.
    diesel::sql_query("DELETE FROM events WHERE client_event_id = 'g-0'").execute(&mut **app.conn()).unwrap();
    let proof = app.get(&format!("/api/v1/items/{other}/proof"), Some(&committee.token)).await.body;
    assert_eq!(proof["verified"], false);
    assert!(proof["mismatch"]["problem"].as_str().unwrap().contains("entry 1 is missing"), "{proof}");
    // And a scan slipped in beside the service is not in any chain.
    diesel::sql_query(
        "INSERT INTO events (public_id, item_id, carrier_org_id, client_event_id, event_type, occurred_at, occurred_offset_min, received_at, office_code, details, content_hash, created_by) \
         SELECT 'forged', item_id, carrier_org_id, 'forged', 'delivered', occurred_at, 420, received_at, office_code, '{}', 'x', created_by FROM events WHERE client_event_id = 'g-1'",
    )
    .execute(&mut **app.conn())
    .unwrap();
    let found = chain::verify_all(&mut **app.conn(), |_| {}).unwrap();
    assert!(found.problems.iter().any(|p| p.contains("forged") && p.contains("not in any chain")), "{:?}", found.problems);
}

#[actix_web::test]
async fn the_verify_and_purge_commands_name_what_they_find() {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(1);
    register(&app, &dept, &number).await;
    assert_eq!(post_event(&app, &carrier, &number, &scan("v-0", "accepted", "2020-07-10T08:00:00")).await.status, 201);
    let url = app.db.url().to_string();
    let verified = crate::cli::exampost(&url, &["verify"]);
    assert_eq!(crate::cli::json_out(&verified)["verified"], true);

    diesel::sql_query("UPDATE events SET device_id = 'PDA-99' WHERE client_event_id = 'v-0'").execute(&mut **app.conn()).unwrap();
    let found = crate::cli::exampost(&url, &["verify", "--item", &number.to_lowercase()]);
    assert_eq!(found.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&found.stdout).unwrap();
    let problem = report["problems"][0].as_str().unwrap();
    assert!(problem.contains(&number) && problem.contains("entry 1") && problem.contains("changed"), "{report}");

    // The season is still in use: a purge is refused, and a forced dry run only counts.
    let refused = crate::cli::exampost(&url, &["purge", "--season", "2020-THPT"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is kept until"), "{}", String::from_utf8_lossy(&refused.stderr));
    let counted = crate::cli::json_out(&crate::cli::exampost(&url, &["purge", "--season", "2020-THPT", "--dry-run", "--force"]));
    assert_eq!((counted["items"].as_i64(), counted["dry_run"].as_bool()), (Some(1), Some(true)), "{counted}");
    assert_eq!(app.get(&format!("/api/v1/items/{number}"), Some(&dept.token)).await.body["recipient"]["full_name"], "Nguyễn Thị Minh Anh");
}
