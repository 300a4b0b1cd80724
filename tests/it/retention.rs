//! Retention and purge (issue 14, part 3): a season's personal data goes
//! once its retention period is over, from every table; statistics and the
//! event chain stay.

use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::json;

use crate::events::{post_event, scan};
use crate::items::{department_and_carrier, item_json, s10};
use crate::util::TestApp;
use exampost::app::retention::{self, PurgeSeason};
use exampost::app::Actor;
use exampost::db::DbConn;
use exampost::domain::{OrgKind, Role};

/// The candidate's personal values as `item_json` registers them, and the
/// name the carrier records at delivery.
const PERSONAL: [&str; 7] = ["Nguyễn Thị Minh Anh", "2008-03-14", "0912345678", "minh.anh@example.vn", "12 Trần Phú", "15001234", "Phòng Tuyển sinh"];

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    row: String,
}

/// Every table's every text value, one string per row (binary columns,
/// which hold only hashes, left out).
fn every_row(conn: &mut DbConn) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let sqlite = matches!(conn, DbConn::Sqlite(_));
    let tables: Vec<Name> = if sqlite {
        diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").load(conn).unwrap()
    } else {
        diesel::sql_query("SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
            .load(conn)
            .unwrap()
    };
    assert!(tables.len() > 20, "the search must see the schema");
    for table in tables {
        let select = if sqlite {
            let columns: Vec<Name> = diesel::sql_query(format!("SELECT name FROM pragma_table_info('{}') WHERE type NOT LIKE '%BLOB%'", table.name)).load(conn).unwrap();
            let joined: Vec<String> = columns.iter().map(|c| format!("COALESCE(CAST(\"{}\" AS TEXT), '')", c.name)).collect();
            format!("SELECT {} AS row FROM \"{}\"", joined.join(" || '|' || "), table.name)
        } else {
            format!("SELECT CAST(t AS TEXT) AS row FROM \"{}\" t", table.name)
        };
        for row in diesel::sql_query(select).load::<Row>(conn).unwrap() {
            rows.push((table.name.clone(), row.row.to_lowercase()));
        }
    }
    rows
}

fn holding<'a>(rows: &'a [(String, String)], value: &str) -> Vec<&'a str> {
    let value = value.to_lowercase();
    rows.iter().filter(|(_, row)| row.contains(&value)).map(|(table, _)| table.as_str()).collect()
}

#[actix_web::test]
async fn a_purged_season_keeps_no_personal_value_in_any_table_and_still_verifies() {
    let app = TestApp::at("2020-07-20T01:00:00Z".parse().unwrap()).await;
    let (dept, carrier) = department_and_carrier(&app);
    let ops = app.org("OPS", OrgKind::Overseer, "ha-noi");
    let admin = app.party(&ops, Role::Admin);
    let season = json!({"code": "2020-TS10", "name": "Tuyển sinh lớp 10 năm 2020", "exam_days": ["2020-06-05"],
                        "closes_on": "2020-08-31", "deadlines": [{"kind": "admission_notice", "deadline": "2020-08-15T17:00:00+07:00"}]});
    let declared = app.post("/api/v1/seasons", Some(&admin.token), &season).await;
    assert_eq!(declared.status, 201, "{}", declared.text);

    // A delivered notice (the recipient's name on the delivery, an e-mail to the candidate) ...
    let (delivered, tampered, kept) = (s10(1), s10(2), s10(3));
    for number in [&delivered, &tampered] {
        let mut body = item_json(number, "2020-TS10");
        body["reference"] = json!("Gửi Phòng Tuyển sinh");
        let reply = app.post("/api/v1/items", Some(&dept.token), &body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    assert_eq!(app.post("/api/v1/items", Some(&dept.token), &item_json(&kept, "2026-THPT")).await.status, 201);
    for event in [scan("r-0", "accepted", "2020-07-20T07:00:00"), scan("r-1", "delivered", "2020-07-20T07:30:00")] {
        let reply = post_event(&app, &carrier, &delivered, &event).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    // ... and a tampered one, its case discussed by name.
    let mut broken = scan("t-0", "seal_checked", "2020-07-20T07:00:00");
    broken["intact"] = json!(false);
    assert_eq!(post_event(&app, &carrier, &tampered, &broken).await.status, 201);
    let cases = app.get(&format!("/api/v1/cases?tracking_number={tampered}"), Some(&dept.token)).await;
    let case_id = cases.body["items"][0]["id"].as_str().unwrap_or_else(|| panic!("a tampering case: {}", cases.text)).to_string();
    let note = json!({"note": "Đã gọi cho Nguyễn Thị Minh Anh, số 0912345678"});
    assert_eq!(app.post(&format!("/api/v1/cases/{case_id}/comment"), Some(&dept.token), &note).await.status, 200);

    let before = every_row(&mut **app.conn());
    for value in PERSONAL {
        assert!(!holding(&before, value).is_empty(), "the test must seed {value}");
    }
    let system = Actor::operator("test");
    let command = PurgeSeason { season: "2020-ts10".into(), dry_run: false, force: false };

    // Not before the retention period is over: 180 days after the last deadline (31/08, the closing day).
    app.clock.set("2021-02-26T10:00:00Z".parse().unwrap());
    let refused = retention::purge(&mut **app.conn(), &*app.clock, &system, &command, 180).unwrap_err();
    assert!(refused.to_string().contains("2021-02-27"), "{refused}");
    assert!(retention::purge_due(&mut **app.conn(), &*app.clock, 180).unwrap().is_empty());
    // A dry run counts and changes nothing.
    let dry = PurgeSeason { dry_run: true, force: true, ..command.clone() };
    assert_eq!(retention::purge(&mut **app.conn(), &*app.clock, &system, &dry, 180).unwrap().items, 2);
    assert_eq!(every_row(&mut **app.conn()).len(), before.len());
    assert!(!holding(&every_row(&mut **app.conn()), PERSONAL[0]).is_empty());

    // The daily pass, once the day has come.
    app.clock.set("2021-02-27T10:00:00Z".parse().unwrap());
    let purged = retention::purge_due(&mut **app.conn(), &*app.clock, 180).unwrap();
    assert_eq!(purged.len(), 1, "{purged:?}");
    assert_eq!((purged[0].items, purged[0].removed.events, purged[0].removed.case_notes, purged[0].removed.messages), (2, 1, 2, 1), "the opening entry and the comment: {purged:?}");
    assert!(retention::purge_due(&mut **app.conn(), &*app.clock, 180).unwrap().is_empty(), "once");

    let after = every_row(&mut **app.conn());
    for value in PERSONAL {
        let left: Vec<&str> = holding(&after, value).into_iter().collect();
        // The other season's item keeps its candidate's values: only the purged season's go.
        assert!(left.iter().all(|t| *t == "items"), "{value} is still in {left:?}");
    }
    let kept_item = app.get(&format!("/api/v1/items/{kept}"), Some(&dept.token)).await;
    assert_eq!(kept_item.body["recipient"]["full_name"], "Nguyễn Thị Minh Anh");
    let items_left = after.iter().filter(|(t, row)| t == "items" && row.contains("nguyễn thị minh anh")).count();
    assert_eq!(items_left, 1);

    // What statistics need stays; the history still verifies; the lookup knows nobody.
    let item = app.get(&format!("/api/v1/items/{delivered}?season=2020-TS10"), Some(&dept.token)).await;
    assert_eq!((item.body["status"].as_str(), item.body["kind"].as_str()), (Some("delivered"), Some("exam_notice")), "{}", item.text);
    assert!(item.body["recipient"]["full_name"].is_null() && item.body["destination"]["province"].is_string(), "{}", item.text);
    let proof = app.get(&format!("/api/v1/items/{delivered}/proof?season=2020-TS10"), Some(&dept.token)).await;
    assert_eq!(proof.body["verified"], true, "{}", proof.text);
    assert!(exampost::app::chain::verify_all(&mut **app.conn(), |_| {}).unwrap().problems.is_empty());
    let lookup = app.post("/api/v1/public/lookup", None, &json!({"tracking_number": delivered, "candidate_number": "15001234"})).await;
    assert_eq!(lookup.status, 404, "{}", lookup.text);
    // The purge is on the audit.
    let audit = app.get("/api/v1/audit?action=purge", Some(&admin.token)).await;
    assert_eq!((audit.body["items"][0]["query"].as_str(), audit.body["items"][0]["item_count"].as_i64()), (Some("season=2020-TS10"), Some(2)), "{}", audit.text);
}
