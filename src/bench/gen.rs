//! `exampost-bench gen`: fills a database with a realistic season, fast and
//! reproducibly, for the benchmarks. Rows go in with multi-row INSERTs per
//! backend (the bulk path), 1000 at a time; each item's derived state is
//! written with it, as the ingest would have left it.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use exampost::db::schema::{events, items, organizations};
use exampost::db::DbConn;
use exampost::domain::events::EventType;
use exampost::domain::province::PROVINCES;
use exampost::domain::{ItemKind, ItemStatus, OrgKind, Priority};
use exampost::store::events::NewEvent;
use exampost::store::items::NewItem;
use exampost::store::organizations::NewOrganization;

const CHUNK: usize = 1000;

/// An item as generated: the registration plus the state its scans imply.
#[derive(Insertable)]
#[diesel(table_name = items)]
struct GeneratedItem {
    #[diesel(embed)]
    item: NewItem,
    accepted_at: Option<chrono::NaiveDateTime>,
    last_event_at: Option<chrono::NaiveDateTime>,
    last_office_code: Option<String>,
    folded_through: Option<chrono::NaiveDateTime>,
    last_handover_type: Option<EventType>,
}

/// What was generated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Generated {
    pub items: usize,
    pub events: usize,
    pub overdue: usize,
    pub seconds: f64,
}

/// An organization the generated items name.
struct OrgRef {
    id: String,
    province: String,
}

/// Who carries and who sends the generated items.
struct Parties {
    carriers: Vec<OrgRef>,
    /// One sending department per province.
    senders: Vec<OrgRef>,
}

fn ensure_orgs(conn: &mut DbConn, now: chrono::NaiveDateTime) -> QueryResult<Parties> {
    let mut carriers = Vec::new();
    for code in ["BENCH-VNPOST", "BENCH-VTP", "BENCH-EMS"] {
        carriers.push(org(conn, code, OrgKind::Carrier, "ha-noi", now)?);
    }
    let mut senders = Vec::new();
    for p in PROVINCES {
        senders.push(org(conn, &format!("BENCH-SGD-{}", p.code.to_uppercase()), OrgKind::Education, p.code, now)?);
    }
    Ok(Parties { carriers, senders })
}

/// An organization, created if missing.
fn org(conn: &mut DbConn, code: &str, kind: OrgKind, province: &str, now: chrono::NaiveDateTime) -> QueryResult<OrgRef> {
    if let Some(found) = exampost::store::organizations::find_by_code(conn, code)? {
        return Ok(OrgRef { id: found.id, province: found.province });
    }
    let id = uuid::Uuid::new_v4().to_string();
    let new = NewOrganization { id: &id, code, name: code, kind, province, created_at: now, reads_province: false };
    diesel::insert_into(organizations::table).values(&new).execute(conn)?;
    Ok(OrgRef { id, province: province.to_string() })
}

pub fn s10(serial: u32) -> String {
    let digits: Vec<u32> = format!("{serial:08}").chars().map(|c| c.to_digit(10).expect("digit")).collect();
    let check = exampost::domain::s10::check_digit(&digits.try_into().expect("8 digits"));
    format!("RR{serial:08}{check}VN")
}

pub const JOURNEY: [EventType; 8] = [
    EventType::Accepted,
    EventType::ArrivedOffice,
    EventType::DepartedOffice,
    EventType::ArrivedOffice,
    EventType::DepartedOffice,
    EventType::ArrivedDeliveryOffice,
    EventType::OutForDelivery,
    EventType::Delivered,
];

/// The tracking number of the `n`-th generated item of a seed.
pub fn tracking_number(seed: u64, n: usize) -> String {
    s10(10_000_000 + (seed % 1000) as u32 * 80_000 + n as u32)
}

/// The candidate number of the `n`-th generated item.
pub fn candidate_number(n: usize) -> String {
    format!("{:08}", n + 1)
}

/// A province code, spread evenly over `n`.
pub fn province_code(n: usize) -> &'static str {
    PROVINCES[n % PROVINCES.len()].code
}

/// One generated scan.
pub struct Scan<'a> {
    pub item_id: i64,
    pub carrier_org_id: &'a str,
    pub client_event_id: String,
    pub event_type: EventType,
    pub at: DateTime<Utc>,
    pub office_code: String,
}

/// A scan row as the generator (and the ingest floor) stores it.
pub fn event_row(scan: Scan, received: chrono::NaiveDateTime, created_by: &str) -> NewEvent {
    let Scan { item_id, carrier_org_id, client_event_id, event_type, at, office_code } = scan;
    let details = match event_type {
        EventType::Delivered => r#"{"recipient_name":"Thí sinh","identity_check":"citizen_id_card"}"#,
        _ => "{}",
    };
    NewEvent {
        public_id: uuid::Uuid::now_v7().to_string(),
        item_id,
        carrier_org_id: carrier_org_id.into(),
        content_hash: format!("{created_by}-{client_event_id}"),
        client_event_id,
        event_type,
        occurred_at: at.naive_utc(),
        occurred_offset_min: 420,
        received_at: received,
        office_code,
        office_name: None,
        office_type: None,
        operator_id: None,
        device_id: None,
        details: details.into(),
        created_by: created_by.into(),
    }
}

/// Event rows by each backend's fastest bulk path: on SQLite diesel's batch
/// INSERT (a cached statement per row, which costs no round trips), on
/// PostgreSQL the `unnest` insert the ingest itself uses.
pub fn insert_events(conn: &mut DbConn, rows: &[NewEvent]) -> QueryResult<usize> {
    match conn {
        DbConn::Sqlite(c) => diesel::insert_into(events::table).values(rows).execute(c),
        DbConn::Postgresql(_) => exampost::store::events::insert_bulk(conn, rows),
    }
}

fn status_after(step: EventType) -> ItemStatus {
    match step {
        EventType::Accepted => ItemStatus::Accepted,
        EventType::ArrivedDeliveryOffice => ItemStatus::AtDeliveryOffice,
        EventType::OutForDelivery => ItemStatus::OutForDelivery,
        EventType::Delivered => ItemStatus::Delivered,
        _ => ItemStatus::InTransit,
    }
}

/// Generates `count` items (and their scans) for season `season`, from `seed`.
pub fn generate(conn: &mut DbConn, count: usize, seed: u64, season: &str, now: DateTime<Utc>) -> QueryResult<Generated> {
    let started = std::time::Instant::now();
    // Whole seconds: both backends store the times exactly.
    let now = chrono::Timelike::with_nanosecond(&now, 0).expect("valid");
    let mut rng = StdRng::seed_from_u64(seed);
    let Parties { carriers, senders } = ensure_orgs(conn, now.naive_utc())?;
    // Sealed exam papers are few and never looked up by the public: the generated season has none.
    let kinds: Vec<ItemKind> = ItemKind::ALL.iter().copied().filter(|k| *k != ItemKind::ExamPaper).collect();
    ensure_season(conn, season, now)?;
    let priorities = [Priority::Standard, Priority::Standard, Priority::Priority, Priority::Urgent];
    let (mut total_events, mut overdue) = (0, 0);
    for chunk_start in (0..count).step_by(CHUNK) {
        let chunk_end = (chunk_start + CHUNK).min(count);
        let mut rows = Vec::with_capacity(chunk_end - chunk_start);
        let mut journeys = Vec::with_capacity(rows.capacity());
        for n in chunk_start..chunk_end {
            let OrgRef { id: sender_id, province: sender_province } = &senders[rng.gen_range(0..senders.len())];
            let OrgRef { id: carrier_id, .. } = &carriers[rng.gen_range(0..carriers.len())];
            let dest = &PROVINCES[rng.gen_range(0..PROVINCES.len())];
            let priority = priorities[rng.gen_range(0..priorities.len())];
            let roll: f64 = rng.gen();
            // 90% delivered, ~9% on their way, 1% stuck long past their deadline.
            let (steps, start) = if roll < 0.90 {
                (8, now - Duration::hours(rng.gen_range(48..480)))
            } else if roll < 0.99 {
                (rng.gen_range(1..7), now - Duration::hours(rng.gen_range(1..20)))
            } else {
                overdue += 1;
                (rng.gen_range(1..5), now - Duration::hours(rng.gen_range(200..400)))
            };
            // The deadline the ingest derives: the rule's transit time from acceptance.
            let rule = exampost::domain::cases::Rule::default_for(priority);
            let due_at = exampost::domain::cases::due_at(Some(start), None, &rule, *sender_province == dest.code);
            let mut at = start;
            let times: Vec<DateTime<Utc>> = (0..steps)
                .map(|i| {
                    if i > 0 {
                        at += Duration::minutes(rng.gen_range(60..360));
                    }
                    at
                })
                .collect();
            let last = *times.last().expect("at least one step");
            let office = |i: usize| format!("BC-{:05}", (n * 7 + i * 13) % 90_000 + 10_000);
            let item = NewItem {
                public_id: uuid::Uuid::now_v7().to_string(),
                tracking_number: tracking_number(seed, n),
                season: season.into(),
                kind: kinds[n % kinds.len()],
                priority,
                status: status_after(JOURNEY[steps - 1]),
                sender_org_id: sender_id.clone(),
                carrier_org_id: carrier_id.clone(),
                origin_province: sender_province.clone(),
                recipient_kind: "candidate".into(),
                recipient_org_id: None,
                recipient_attention: None,
                candidate_number: Some(candidate_number(n)),
                candidate_name: Some(format!("Thí Sinh Số {}", n + 1)),
                candidate_dob: chrono::NaiveDate::from_ymd_opt(2008, 1 + (n % 12) as u32, 1 + (n % 28) as u32),
                candidate_phone: None,
                candidate_email: None,
                dest_province: dest.code.into(),
                dest_ward: "Phường Trung Tâm".into(),
                dest_address: format!("{} Đường Số {}", n % 500 + 1, n % 90 + 1),
                seal_number: None,
                must_arrive_by: None,
                reference: None,
                content_hash: format!("bench-{seed}-{n}"),
                created_by: "bench".into(),
                created_at: (start - Duration::hours(2)).naive_utc(),
                updated_at: last.naive_utc(),
                due_at: due_at.map(|t| t.naive_utc()),
                confidential: false,
                sent_by_candidate: false,
            };
            rows.push(GeneratedItem {
                item,
                accepted_at: Some(start.naive_utc()),
                last_event_at: Some(last.naive_utc()),
                last_office_code: Some(office(steps - 1)),
                folded_through: Some(last.naive_utc()),
                last_handover_type: JOURNEY[..steps].iter().rev().copied().find(|t| exampost::domain::events::is_handover(*t)),
            });
            journeys.push((times, (0..steps).map(office).collect::<Vec<_>>()));
        }
        conn.write_transaction(|conn| -> QueryResult<()> {
            match conn {
                DbConn::Sqlite(c) => diesel::insert_into(items::table).values(&rows).execute(c)?,
                DbConn::Postgresql(c) => diesel::insert_into(items::table).values(&rows).execute(c)?,
            };
            let public_ids: Vec<&str> = rows.iter().map(|r| r.item.public_id.as_str()).collect();
            let ids: Vec<(String, i64)> = items::table.filter(items::public_id.eq_any(&public_ids)).select((items::public_id, items::id)).load(conn)?;
            let ids: std::collections::HashMap<String, i64> = ids.into_iter().collect();
            let received = now.naive_utc();
            let mut scans = Vec::new();
            for (row, (times, offices)) in rows.iter().zip(&journeys) {
                for (i, (at, office)) in times.iter().zip(offices).enumerate() {
                    let scan = Scan {
                        item_id: ids[&row.item.public_id],
                        carrier_org_id: &row.item.carrier_org_id,
                        client_event_id: format!("{}-{i}", row.item.tracking_number),
                        event_type: JOURNEY[i],
                        at: *at,
                        office_code: office.clone(),
                    };
                    scans.push(event_row(scan, received, "bench"));
                }
            }
            for part in scans.chunks(CHUNK) {
                insert_events(conn, part)?;
            }
            total_events += scans.len();
            // The last scan of each item is the one its status came from.
            let (low, high) = (ids.values().min().copied().unwrap_or(0), ids.values().max().copied().unwrap_or(0));
            diesel::sql_query(
                "UPDATE items SET last_event_id = (SELECT MAX(e.id) FROM events e WHERE e.item_id = items.id) WHERE id BETWEEN $1 AND $2",
            )
            .bind::<diesel::sql_types::BigInt, _>(low)
            .bind::<diesel::sql_types::BigInt, _>(high)
            .execute(conn)?;
            exampost::store::items::derive_public_places(conn, low, high)?;
            Ok(())
        })?;
    }
    // Full statistics for the query planner, as a long-running database would have.
    exampost::db::analyze(conn)?;
    Ok(Generated { items: count, events: total_events, overdue, seconds: started.elapsed().as_secs_f64() })
}

/// Declares the season (open to the end of 2099) unless it exists: registering needs one.
pub fn ensure_season(conn: &mut DbConn, code: &str, now: DateTime<Utc>) -> QueryResult<()> {
    use exampost::store::seasons::{self, Season, SeasonRow};
    if seasons::find(conn, code)?.is_some() {
        return Ok(());
    }
    let row = SeasonRow {
        code: code.to_string(),
        name: format!("Benchmark season {code}"),
        exam_days: exampost::db::TextList::new(vec![]),
        result_day: None,
        closes_on: chrono::NaiveDate::from_ymd_opt(2099, 12, 31).expect("a valid day"),
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
    };
    seasons::save(conn, &Season { row, deadlines: vec![] })
}
