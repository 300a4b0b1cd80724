//! The state kept on each item (`domain::events::Fold`): a scan that
//! happened after all the others is applied on top of it, anything else
//! folds the whole history again. Whatever the order, repeats and voids,
//! the kept state equals a fold of the whole history.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value};

use crate::events::{batch_entry, in_the_scan_logs_season, post_event, register, scan};
use crate::items::{department_and_carrier, s10};
use crate::util::{Reply, TestApp};

const TYPES: [&str; 13] = [
    "accepted",
    "arrived_office",
    "departed_office",
    "arrived_delivery_office",
    "out_for_delivery",
    "delivery_failed",
    "held_at_office",
    "delivered",
    "returned_to_sender",
    "seal_checked",
    "damaged",
    "misrouted",
    "lost_declared",
];

/// One scan of a random history: its type, its minute (ties happen), whether
/// it is sent twice, whether it is voided afterwards.
type Step = (usize, u32, bool, bool);

/// How a history reaches the service.
#[derive(Debug, Clone, Copy)]
enum Delivery {
    /// One by one, in the order they happened.
    InOrder,
    /// One by one, in the order the case shuffled them.
    Shuffled,
    /// In one batch, shuffled.
    Batch,
}

fn history() -> impl Strategy<Value = (Vec<Step>, Delivery, Vec<usize>, Vec<Step>)> {
    let step = (0..TYPES.len(), 0u32..40, proptest::bool::weighted(0.2), proptest::bool::weighted(0.15));
    (
        proptest::collection::vec(step.clone(), 1..9),
        prop_oneof![Just(Delivery::InOrder), Just(Delivery::Shuffled), Just(Delivery::Batch)],
        // A shuffle, as the positions to swap.
        proptest::collection::vec(0usize..9, 9),
        // Scans after the voids, later than everything: applied on top of a re-folded state.
        proptest::collection::vec(step, 0..4),
    )
}

fn scan_at(id: &str, type_index: usize, minute: u32) -> Value {
    let time = chrono::NaiveDate::from_ymd_opt(2020, 7, 10).unwrap().and_hms_opt(8, 0, 0).unwrap() + chrono::Duration::minutes(minute.into());
    let mut event = scan(id, TYPES[type_index], &time.format("%Y-%m-%dT%H:%M:%S").to_string());
    if type_index == 9 && minute % 3 == 0 {
        // Now and then a broken seal.
        event["intact"] = json!(false);
    }
    event
}

/// The answer to a new scan, made from what the write derived, is what the
/// item shows right after: the scan's flag in the timeline, the status.
async fn assert_answer_is_what_the_item_shows(app: &TestApp, token: &str, number: &str, reply: &Reply, case: u32) {
    let detail = app.get(&format!("/api/v1/items/{number}"), Some(token)).await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let id = &reply.body["event"]["id"];
    let shown = detail.body["timeline"].as_array().and_then(|timeline| timeline.iter().find(|event| event["id"] == *id)).cloned();
    let shown = shown.unwrap_or_else(|| panic!("case {case}: scan {id} in the timeline: {}", detail.text));
    assert_eq!((&reply.body["event"]["anomaly"], &reply.body["event"]["voided"]), (&shown["anomaly"], &shown["voided"]), "case {case}: {}", reply.text);
    assert_eq!(reply.body["item_status"], detail.body["status"], "case {case}: {}", reply.text);
}

/// Random histories, sent in order, shuffled or in a batch, with repeats,
/// voids and later scans after the voids: after each, the state kept on
/// every item equals a fold of its whole history (the check `TestApp` also
/// makes after every test, here after every history).
#[actix_web::test]
async fn the_kept_state_equals_a_fold_of_the_whole_history_whatever_the_order() {
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
    for case in 0..24u32 {
        let (steps, delivery, swaps, later) = history().new_tree(&mut runner).expect("a history").current();
        let number = s10(700 + case);
        register(&app, &dept, &number).await;
        let mut scans: Vec<(Value, bool, bool)> =
            steps.iter().enumerate().map(|(n, (t, minute, twice, void))| (scan_at(&format!("p{case}-{n}"), *t, *minute), *twice, *void)).collect();
        match delivery {
            Delivery::InOrder => scans.sort_by_key(|(scan, ..)| scan["occurred_at"].as_str().unwrap_or_default().to_string()),
            Delivery::Shuffled | Delivery::Batch => {
                let len = scans.len();
                for (i, swap) in swaps.iter().enumerate().take(len) {
                    scans.swap(i, swap % len);
                }
            }
        }
        let mut ids = Vec::new();
        if let Delivery::Batch = delivery {
            let mut entries: Vec<Value> = scans.iter().map(|(scan, ..)| batch_entry(&number, scan)).collect();
            entries.extend(scans.iter().filter(|(_, twice, _)| *twice).map(|(scan, ..)| batch_entry(&number, scan)));
            let reply = app.post("/api/v1/events/batch", Some(&carrier.token), &json!({ "events": entries })).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            let results = reply.body["results"].as_array().cloned().unwrap_or_default();
            ids.extend(results.iter().take(scans.len()).map(|r| r["id"].as_str().unwrap_or_default().to_string()));
        } else {
            for (scan, twice, _) in &scans {
                let reply = post_event(&app, &carrier, &number, scan).await;
                assert_eq!(reply.status, 201, "case {case}: {}", reply.text);
                assert_answer_is_what_the_item_shows(&app, &dept.token, &number, &reply, case).await;
                if *twice {
                    assert_eq!(post_event(&app, &carrier, &number, scan).await.status, 200, "case {case}: a retry is a replay");
                }
                ids.push(reply.body["event"]["id"].as_str().unwrap_or_default().to_string());
            }
        }
        assert_eq!(ids.len(), scans.len(), "case {case}: every scan recorded");
        for (id, (_, _, void)) in ids.iter().zip(&scans) {
            if *void {
                let reply = app.post(&format!("/api/v1/events/{id}/void"), Some(&carrier.token), &json!({"reason": "did_not_occur"})).await;
                assert_eq!(reply.status, 200, "case {case}: {}", reply.text);
            }
        }
        for (n, (t, minute, ..)) in later.iter().enumerate() {
            let reply = post_event(&app, &carrier, &number, &scan_at(&format!("p{case}-later-{n}"), *t, 100 + minute + 40 * n as u32)).await;
            assert_eq!(reply.status, 201, "case {case}: {}", reply.text);
            assert_answer_is_what_the_item_shows(&app, &dept.token, &number, &reply, case).await;
        }
        let drift = exampost::store::events::fold_drift(&mut **app.conn()).unwrap();
        assert!(drift.is_empty(), "case {case} ({delivery:?}, {steps:?}, later {later:?}): {drift:?}");
    }
}

/// A scan later than all the others is applied on top of the kept state,
/// without reading the item's history; an earlier one reads and folds it.
/// Seen by changing the history behind the service's back: the first is
/// blind to the change, the second sees it.
#[actix_web::test]
async fn only_a_scan_out_of_order_reads_the_history_again() {
    use diesel::RunQueryDsl;
    let app = TestApp::at(in_the_scan_logs_season()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let number = s10(800);
    register(&app, &dept, &number).await;
    for event in [scan("o-0", "accepted", "2020-07-10T08:00:00"), scan("o-1", "arrived_office", "2020-07-10T14:00:00")] {
        assert_eq!(post_event(&app, &carrier, &number, &event).await.status, 201);
    }
    app.edit_rows_behind_the_service();
    // The acceptance becomes a delivery: by the history, every later scan is after the end.
    diesel::sql_query("UPDATE events SET event_type = 'delivered' WHERE client_event_id = 'o-0'").execute(&mut **app.conn()).unwrap();
    let status = |app: &TestApp| {
        use diesel::prelude::*;
        use exampost::db::schema::items::dsl;
        dsl::items.filter(dsl::tracking_number.eq(&number)).select(dsl::status).first::<exampost::domain::ItemStatus>(&mut **app.conn()).unwrap()
    };
    assert_eq!(post_event(&app, &carrier, &number, &scan("o-2", "departed_office", "2020-07-10T18:00:00")).await.status, 201);
    assert_eq!(status(&app), exampost::domain::ItemStatus::InTransit, "applied on top of the kept state");
    assert_eq!(post_event(&app, &carrier, &number, &scan("o-3", "seal_checked", "2020-07-10T09:00:00")).await.status, 201);
    assert_eq!(status(&app), exampost::domain::ItemStatus::Delivered, "folded from the whole history");
}
