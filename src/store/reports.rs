//! Reads for the reports: minimal columns, the caller's scope and filters.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{cases, items, organizations};
use crate::db::DbConn;
use crate::domain::{ItemKind, ItemStatus, Priority};
use crate::store::cases::Case;
use crate::store::items::{within_scope, ItemScope};

/// Which items a report covers.
#[derive(Debug, Clone)]
pub struct ReportFilter {
    pub season: String,
    /// Items leaving from or going to this province.
    pub province: Option<String>,
    pub sender_org_id: Option<String>,
    pub carrier_org_id: Option<String>,
    /// Items registered at or after this time (UTC).
    pub registered_from: Option<NaiveDateTime>,
    /// Items registered before this time (UTC).
    pub registered_before: Option<NaiveDateTime>,
}

/// Narrows a boxed query over `items` (possibly joined) to the caller's
/// scope and the report's filter.
macro_rules! covered {
    ($query:expr, $scope:expr, $filter:expr) => {{
        let mut query = within_scope!($query, $scope);
        if let Some(p) = &$filter.province {
            query = query.filter(items::dest_province.eq(p).or(items::origin_province.eq(p)));
        }
        if let Some(org) = &$filter.sender_org_id {
            query = query.filter(items::sender_org_id.eq(org));
        }
        if let Some(org) = &$filter.carrier_org_id {
            query = query.filter(items::carrier_org_id.eq(org));
        }
        if let Some(from) = $filter.registered_from {
            query = query.filter(items::created_at.ge(from));
        }
        if let Some(before) = $filter.registered_before {
            query = query.filter(items::created_at.lt(before));
        }
        query
    }};
}

/// What a report reads of one item.
#[derive(Debug, Queryable)]
pub struct FactRow {
    pub kind: ItemKind,
    pub status: ItemStatus,
    pub priority: Priority,
    /// The carrier's organization code.
    pub carrier: String,
    pub accepted_at: Option<NaiveDateTime>,
    pub due_at: Option<NaiveDateTime>,
    pub last_event_at: Option<NaiveDateTime>,
    pub registered_at: NaiveDateTime,
}

/// The facts of every covered item.
pub fn item_facts(conn: &mut DbConn, scope: &ItemScope, filter: &ReportFilter) -> QueryResult<Vec<FactRow>> {
    let query = items::table
        .inner_join(organizations::table.on(organizations::id.eq(items::carrier_org_id)))
        .select((items::kind, items::status, items::priority, organizations::code, items::accepted_at, items::due_at, items::last_event_at, items::created_at))
        .filter(items::season.eq(&filter.season))
        .into_boxed();
    let query = covered!(query, scope, filter);
    query.load(conn)
}

/// An active case with its item's number.
#[derive(Debug)]
pub struct ActiveCase {
    pub case: Case,
    pub tracking_number: String,
}

/// Active cases of the covered items, oldest first.
pub fn active_cases(conn: &mut DbConn, scope: &ItemScope, filter: &ReportFilter) -> QueryResult<Vec<ActiveCase>> {
    let query = cases::table
        .inner_join(items::table)
        .select((cases::all_columns, items::tracking_number))
        .filter(cases::state.eq_any(["open", "acknowledged"]))
        .filter(items::season.eq(&filter.season))
        .into_boxed();
    let query = covered!(query, scope, filter);
    let rows: Vec<(Case, String)> = query.order(cases::opened_at.asc()).load(conn)?;
    Ok(rows.into_iter().map(|(case, tracking_number)| ActiveCase { case, tracking_number }).collect())
}

/// An organization named in the contact table.
#[derive(Debug, Queryable)]
pub struct ContactOrg {
    pub id: String,
    pub code: String,
}

/// Organizations whose contact points belong in a province's table: those
/// in the province, and every carrier.
pub fn contact_orgs(conn: &mut DbConn, province: Option<&str>) -> QueryResult<Vec<ContactOrg>> {
    let mut query = organizations::table.select((organizations::id, organizations::code)).order(organizations::code.asc()).into_boxed();
    if let Some(p) = province {
        query = query.filter(organizations::province.eq(p).or(organizations::kind.eq("carrier")));
    }
    query.load(conn)
}
