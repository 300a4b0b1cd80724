use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{cases, incident_items, incidents, items};
use crate::db::{DbConn, TextList};
use crate::domain::cases::{settled, ACTIVE_STATES};
use crate::domain::incidents::{Area, IncidentKind, IncidentState};
use crate::domain::ItemStatus;
use crate::store::items::Item;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = incidents)]
pub struct Incident {
    pub id: i64,
    pub public_id: String,
    pub kind: IncidentKind,
    pub provinces: TextList<String>,
    pub wards: TextList<String>,
    pub office_codes: TextList<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub description: String,
    pub declared_by_org_id: String,
    pub declared_by: String,
    pub state: IncidentState,
    pub extension_minutes: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
}

impl Incident {
    pub fn area(&self) -> Area {
        Area {
            provinces: self.provinces.values().to_vec(),
            wards: self.wards.values().to_vec(),
            office_codes: self.office_codes.values().to_vec(),
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = incidents)]
pub struct NewIncident {
    pub public_id: String,
    pub kind: IncidentKind,
    pub provinces: TextList<String>,
    pub wards: TextList<String>,
    pub office_codes: TextList<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub description: String,
    pub declared_by_org_id: String,
    pub declared_by: String,
    pub state: IncidentState,
    pub extension_minutes: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn create(conn: &mut DbConn, new: &NewIncident) -> QueryResult<Incident> {
    diesel::insert_into(incidents::table).values(new).execute(conn)?;
    incidents::table.filter(incidents::public_id.eq(&new.public_id)).first(conn)
}

pub fn find_by_public_id(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<Incident>> {
    incidents::table.filter(incidents::public_id.eq(public_id)).first(conn).optional()
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Incident> {
    incidents::table.find(id).first(conn)
}

/// Every incident, newest first (few: a season has a handful).
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Incident>> {
    incidents::table.order(incidents::id.desc()).load(conn)
}

/// Items still on their way whose effective deadline falls in the window
/// and whose destination (or last office) lies in the area.
pub fn items_in_area(conn: &mut DbConn, area: &Area, starts_at: NaiveDateTime, ends_at: NaiveDateTime) -> QueryResult<Vec<Item>> {
    let moving: Vec<ItemStatus> = ItemStatus::ALL.iter().copied().filter(|s| !settled(*s)).collect();
    let mut query = items::table
        .filter(items::status.eq_any(moving))
        .filter(items::due_at.ge(starts_at))
        .filter(items::due_at.le(ends_at))
        .into_boxed();
    // A coarse filter in SQL (province or office); wards are compared in Rust,
    // where their case and padding are forgiven.
    if area.wards.is_empty() {
        query = query.filter(items::dest_province.eq_any(&area.provinces).or(items::last_office_code.eq_any(&area.office_codes)));
    }
    let found: Vec<Item> = query.order(items::id.asc()).load(conn)?;
    Ok(found.into_iter().filter(|i| area.covers(&i.dest_province, &i.dest_ward, i.last_office_code.as_deref())).collect())
}

/// Links items to an incident (again is harmless); the number newly linked.
pub fn link(conn: &mut DbConn, incident_id: i64, item_ids: &[i64], now: NaiveDateTime) -> QueryResult<usize> {
    let already: Vec<i64> = incident_items::table
        .filter(incident_items::incident_id.eq(incident_id))
        .select(incident_items::item_id)
        .load(conn)?;
    let rows: Vec<_> = item_ids
        .iter()
        .filter(|id| !already.contains(id))
        .map(|id| (incident_items::incident_id.eq(incident_id), incident_items::item_id.eq(*id), incident_items::linked_at.eq(now)))
        .collect();
    // Multi-row inserts are written per backend (diesel's MultiConnection has none).
    for part in rows.chunks(500) {
        match conn {
            DbConn::Sqlite(c) => diesel::insert_into(incident_items::table).values(part.to_vec()).execute(c)?,
            DbConn::Postgresql(c) => diesel::insert_into(incident_items::table).values(part.to_vec()).execute(c)?,
        };
    }
    super::items::refresh_public_flags(conn, item_ids)?;
    Ok(rows.len())
}

pub fn linked_items(conn: &mut DbConn, incident_id: i64) -> QueryResult<Vec<Item>> {
    incident_items::table
        .inner_join(items::table)
        .filter(incident_items::incident_id.eq(incident_id))
        .select(items::all_columns)
        .order(items::id.asc())
        .load(conn)
}

/// The open incident an item is linked to, if any (the newest).
pub fn open_for_item(conn: &mut DbConn, item_id: i64) -> QueryResult<Option<Incident>> {
    incident_items::table
        .inner_join(incidents::table)
        .filter(incident_items::item_id.eq(item_id))
        .filter(incidents::state.eq(IncidentState::Open))
        .select(incidents::all_columns)
        .order(incidents::id.desc())
        .first(conn)
        .optional()
}

/// The open incident each of these items is linked to (the newest), by item.
pub fn open_for_items(conn: &mut DbConn, item_ids: &[i64]) -> QueryResult<std::collections::HashMap<i64, i64>> {
    let mut found = std::collections::HashMap::new();
    for part in item_ids.chunks(1000) {
        let rows: Vec<(i64, i64)> = incident_items::table
            .inner_join(incidents::table)
            .filter(incident_items::item_id.eq_any(part))
            .filter(incidents::state.eq(IncidentState::Open))
            .select((incident_items::item_id, incidents::id))
            .order(incidents::id.asc())
            .load(conn)?;
        found.extend(rows);
    }
    Ok(found)
}

/// Active cases grouped under an incident.
pub fn active_cases(conn: &mut DbConn, incident_id: i64) -> QueryResult<i64> {
    cases::table.filter(cases::incident_id.eq(incident_id)).filter(cases::state.eq_any(ACTIVE_STATES)).count().get_result(conn)
}

/// Adds minutes to the deadlines of the incident's linked items still on
/// their way (`must_arrive_by` and the effective `due_at`), and records the
/// total on the incident.
pub fn extend(conn: &mut DbConn, incident: &Incident, minutes: i32, now: NaiveDateTime) -> QueryResult<usize> {
    let delta = chrono::Duration::minutes(minutes.into());
    let mut moved = 0;
    for item in linked_items(conn, incident.id)?.into_iter().filter(|i| !settled(i.status)) {
        diesel::update(items::table.find(item.id))
            .set((
                items::must_arrive_by.eq(item.must_arrive_by.map(|t| t + delta)),
                items::due_at.eq(item.due_at.map(|t| t + delta)),
                items::due_extension_minutes.eq(item.due_extension_minutes + minutes),
                items::updated_at.eq(now),
            ))
            .execute(conn)?;
        moved += 1;
    }
    diesel::update(incidents::table.find(incident.id))
        .set((incidents::extension_minutes.eq(incident.extension_minutes + minutes), incidents::updated_at.eq(now)))
        .execute(conn)?;
    Ok(moved)
}

/// The ids of the incidents still open.
pub fn open_ids(conn: &mut DbConn) -> QueryResult<Vec<i64>> {
    incidents::table.filter(incidents::state.eq(IncidentState::Open)).select(incidents::id).load(conn)
}

pub fn close(conn: &mut DbConn, incident: &Incident, now: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(incidents::table.find(incident.id))
        .filter(incidents::state.eq(IncidentState::Open))
        .set((incidents::state.eq(IncidentState::Closed), incidents::closed_at.eq(Some(now)), incidents::updated_at.eq(now)))
        .execute(conn)?;
    if changed == 1 {
        let linked: Vec<i64> = incident_items::table.filter(incident_items::incident_id.eq(incident.id)).select(incident_items::item_id).load(conn)?;
        super::items::refresh_public_flags(conn, &linked)?;
    }
    Ok(changed == 1)
}
