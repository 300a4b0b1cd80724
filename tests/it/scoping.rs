//! Who sees what: outside your scope an item is 404, never 403.

use serde_json::json;

use crate::items::{item_json, s10};
use crate::util::TestApp;
use exampost::domain::{OrgKind, Role};

#[actix_web::test]
async fn each_kind_of_caller_sees_only_its_own_items() {
    let app = TestApp::new().await;
    let dept_pt = app.new_party("SGD-PT", OrgKind::Education, "phu-tho");
    let dept_hn = app.new_party("SGD-HN", OrgKind::Education, "ha-noi");
    let university = app.new_party("DHQG-HN", OrgKind::Education, "ha-noi");
    let vnpost = app.new_party("VNPOST", OrgKind::Carrier, "ha-noi");
    let vtp = app.new_party("VTP", OrgKind::Carrier, "ho-chi-minh");
    let dic_pt = app.new_party("DIC-PT", OrgKind::Overseer, "phu-tho");
    let dic_cm = app.new_party("DIC-CM", OrgKind::Overseer, "ca-mau");
    let ops = app.org("EXAMPOST", OrgKind::Overseer, "ha-noi");
    let admin = app.party(&ops, Role::Admin);

    // Phú Thọ sends a notice to a candidate in Phú Thọ, carried by VNPOST.
    let notice = s10(1);
    assert_eq!(app.post("/api/v1/items", Some(&dept_pt.token), &item_json(&notice, "2026-THPT")).await.status, 201);
    // Phú Thọ sends a dispatch to the Hà Nội university, carried by VNPOST.
    let dispatch = s10(2);
    let mut body = item_json(&dispatch, "2026-THPT");
    body["kind"] = json!("official_dispatch");
    body["recipient"] = json!({"type": "organization", "organization": "DHQG-HN"});
    body["destination"] = json!({"province": "ha-noi", "ward": "Cầu Giấy", "address_line": "144 Xuân Thủy"});
    assert_eq!(app.post("/api/v1/items", Some(&dept_pt.token), &body).await.status, 201);

    let sees = |token: String, number: String| {
        let app = &app;
        async move {
            let reply = app.get(&format!("/api/v1/items/{number}"), Some(&token)).await;
            match reply.status {
                200 => true,
                404 => {
                    reply.problem(404);
                    false
                }
                other => panic!("unexpected {other}: {}", reply.text),
            }
        }
    };
    let listed = |token: String| {
        let app = &app;
        async move {
            let reply = app.get("/api/v1/items", Some(&token)).await;
            let mut numbers: Vec<String> =
                reply.body["items"].as_array().unwrap().iter().map(|i| i["tracking_number"].as_str().unwrap().to_string()).collect();
            numbers.sort();
            numbers
        }
    };
    let both = vec![notice.clone(), dispatch.clone()];

    assert!(sees(dept_pt.token.clone(), notice.clone()).await);
    assert_eq!(listed(dept_pt.token.clone()).await, both);
    assert!(!sees(dept_hn.token.clone(), notice.clone()).await);
    assert!(listed(dept_hn.token.clone()).await.is_empty());
    // The recipient organization sees what comes to it, not the rest.
    assert!(sees(university.token.clone(), dispatch.clone()).await);
    assert!(!sees(university.token.clone(), notice.clone()).await);
    assert_eq!(listed(university.token.clone()).await, vec![dispatch.clone()]);
    // Carriers see what they carry.
    assert_eq!(listed(vnpost.token.clone()).await, both);
    assert!(!sees(vtp.token.clone(), notice.clone()).await);
    assert!(listed(vtp.token.clone()).await.is_empty());
    // Overseers see items leaving or reaching their province.
    assert_eq!(listed(dic_pt.token.clone()).await, both);
    assert!(!sees(dic_cm.token.clone(), dispatch.clone()).await);
    assert!(listed(dic_cm.token.clone()).await.is_empty());
    // Admin sees everything.
    assert_eq!(listed(admin.token.clone()).await, both);

    // A conflicting registration by someone who cannot see the item does not reveal its id.
    let mut clash = item_json(&notice, "2026-THPT");
    clash["priority"] = json!("urgent");
    let reply = app.post("/api/v1/items", Some(&dept_hn.token), &clash).await;
    assert!(reply.problem(409).get("existing_id").is_none(), "{}", reply.text);
}

#[actix_web::test]
async fn a_department_of_education_reads_its_province_like_the_committee() {
    use crate::items::department_and_carrier;
    let app = TestApp::new().await;
    let (school_sender, _carrier) = department_and_carrier(&app);
    let department = app.department("SGDDT-PT", "phu-tho");
    let elsewhere = app.department("SGDDT-LC", "lao-cai");
    let university = app.new_party("DHQG-HN", OrgKind::Education, "ha-noi");
    // A university in Hà Nội sends an admission notice to a candidate in Phú Thọ.
    let number = s10(1);
    let mut notice = item_json(&number, "2026-THPT");
    notice["kind"] = json!("admission_notice");
    assert_eq!(app.post("/api/v1/items", Some(&university.token), &notice).await.status, 201);
    let path = format!("/api/v1/items/{number}");
    assert_eq!(app.get(&path, Some(&department.token)).await.status, 200, "the standing body reads its province's items");
    app.get(&path, Some(&elsewhere.token)).await.problem(404);
    app.get(&path, Some(&school_sender.token)).await.problem(404);
    let listed = app.get("/api/v1/items", Some(&department.token)).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    // Read-only: it cannot replace what it did not send.
    let replaced = app.post(&format!("{path}/replacement"), Some(&department.token), &json!({"tracking_number": s10(2)})).await;
    assert!(replaced.status == 403 || replaced.status == 409, "{}", replaced.text);
    // The flag belongs to education organizations only.
    let ops = app.org("EXAMPOST", OrgKind::Overseer, "ha-noi");
    let admin = app.party(&ops, exampost::domain::Role::Admin);
    let carrier_flag = json!({"code": "VTP", "name": "Viettel Post", "kind": "carrier", "province": "ha-noi", "reads_province": true});
    assert_eq!(app.post("/api/v1/organizations", Some(&admin.token), &carrier_flag).await.problem(422)["errors"][0]["field"], "reads_province");
}

/// A committee's province is two branches (items leaving it, items reaching
/// it): a page reads them as one query, an export's chunk as one query each,
/// merged. Either way every page is newest first, an item in both branches
/// is listed once, and pages join without gaps.
#[actix_web::test]
async fn a_scope_of_two_branches_pages_newest_first_with_each_item_once() {
    let app = TestApp::new().await;
    let dept_pt = app.new_party("SGD-PT", OrgKind::Education, "phu-tho");
    let university = app.new_party("DHQG-HN", OrgKind::Education, "ha-noi");
    app.new_party("VNPOST", OrgKind::Carrier, "ha-noi");
    let dic_pt = app.new_party("DIC-PT", OrgKind::Overseer, "phu-tho");
    let mut expected = Vec::new();
    for n in 1..=12 {
        // Leaving Phú Thọ, reaching it, both, or neither, interleaved.
        let from_phu_tho = n % 2 == 0;
        let to_phu_tho = n % 4 < 2;
        let number = s10(n);
        let mut body = item_json(&number, "2026-THPT");
        if !to_phu_tho {
            body["destination"] = json!({"province": "ha-noi", "ward": "Cầu Giấy", "address_line": "144 Xuân Thủy"});
        }
        let sender = if from_phu_tho { &dept_pt } else { &university };
        assert_eq!(app.post("/api/v1/items", Some(&sender.token), &body).await.status, 201);
        if from_phu_tho || to_phu_tho {
            expected.insert(0, number);
        }
    }
    let mut paged = Vec::new();
    let mut path = "/api/v1/items?limit=2".to_string();
    loop {
        let page = app.get(&path, Some(&dic_pt.token)).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{}", page.text);
        paged.extend(items.iter().map(|i| i["tracking_number"].as_str().unwrap().to_string()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/items?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, expected, "pages, newest first, each item once");
    // An export's chunks, two items at a time through both branches.
    let scope = exampost::store::items::ItemScope::Province("phu-tho".into());
    let (mut chunked, mut before) = (Vec::new(), None);
    loop {
        let chunk = exampost::store::items::export_visible(&mut **app.conn(), &scope, &Default::default(), before, 2).unwrap();
        assert!(chunk.len() <= 2);
        chunked.extend(chunk.iter().map(|item| item.tracking_number.clone()));
        match chunk.last() {
            Some(last) if chunk.len() == 2 => before = Some(last.id),
            _ => break,
        }
    }
    assert_eq!(chunked, expected, "chunks, newest first, each item once");
    let export = app.get("/api/v1/items?format=csv", Some(&dic_pt.token)).await;
    assert_eq!(export.status, 200, "{}", export.text);
    let exported: Vec<&str> = expected.iter().map(String::as_str).filter(|n| export.text.contains(*n)).collect();
    assert_eq!(exported.len(), expected.len(), "the export holds every visible item: {}", export.text);
    assert_eq!(export.text.lines().count(), expected.len() + 1, "a header and one line per item: {}", export.text);
}
