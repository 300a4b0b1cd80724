use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{case_entries, cases, items, organizations};
use crate::db::DbConn;
use crate::domain::cases::{CaseAction, CaseKind, CaseOutcome, CaseState, Severity, ACTIVE_STATES};
use crate::store::items::{within_scope, ItemScope};

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = cases)]
pub struct Case {
    pub id: i64,
    pub public_id: String,
    pub item_id: i64,
    pub kind: CaseKind,
    pub severity: Severity,
    pub level: i32,
    pub state: CaseState,
    pub owner_org_id: String,
    pub response_due_at: NaiveDateTime,
    pub trigger_event_id: Option<i64>,
    pub plan: Option<String>,
    pub expected_at: Option<NaiveDateTime>,
    pub outcome: Option<CaseOutcome>,
    pub replacement_requested: bool,
    pub opened_at: NaiveDateTime,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    /// The area incident this delay case is grouped under.
    pub incident_id: Option<i64>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = cases)]
pub struct NewCase {
    pub public_id: String,
    pub item_id: i64,
    pub kind: CaseKind,
    pub severity: Severity,
    pub level: i32,
    pub state: CaseState,
    pub owner_org_id: String,
    pub response_due_at: NaiveDateTime,
    pub trigger_event_id: Option<i64>,
    pub replacement_requested: bool,
    pub opened_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub incident_id: Option<i64>,
}

#[derive(Debug, Clone, Queryable)]
pub struct CaseEntry {
    pub id: i64,
    pub case_id: i64,
    pub action: CaseAction,
    pub level: i32,
    pub actor: String,
    pub note: Option<String>,
    pub at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = case_entries)]
struct NewCaseEntry<'a> {
    case_id: i64,
    action: CaseAction,
    level: i32,
    actor: &'a str,
    note: Option<&'a str>,
    at: NaiveDateTime,
}

/// The stored form of the active states.
fn active() -> Vec<&'static str> {
    ACTIVE_STATES.iter().map(|s| s.as_str()).collect()
}

/// Opens a case unless the item already has an active one of that kind
/// (then `None`). The unique index settles races between processes.
pub fn open(conn: &mut DbConn, new: &NewCase) -> QueryResult<Option<Case>> {
    let active = cases::table
        .filter(cases::item_id.eq(new.item_id))
        .filter(cases::kind.eq(&new.kind))
        .filter(cases::state.eq_any(active()))
        .count()
        .get_result::<i64>(conn)?;
    if active > 0 {
        return Ok(None);
    }
    match conn.transaction(|conn| diesel::insert_into(cases::table).values(new).execute(conn)) {
        Ok(_) => {}
        Err(e) if super::is_unique_violation(&e) => return Ok(None),
        Err(e) => return Err(e),
    }
    let case: Case = cases::table.filter(cases::public_id.eq(&new.public_id)).first(conn)?;
    add_entry(conn, &case, CaseAction::Opened, "system", None, new.opened_at)?;
    Ok(Some(case))
}

/// Makes PostgreSQL plan each statement of the current transaction for its
/// own values, foreign-key checks included. A check's plan is otherwise
/// kept for the connection's life from its first use: made while `cases`
/// held a page or two (a fresh season), it scans the whole table, and every
/// case entry of a first sweep then scanned all the cases opened before it
/// (measured at 1,000,000 items: 33,781 cases in 122 s; planned afresh, 10 s).
/// Nothing on SQLite.
pub fn plan_checks_afresh(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Postgresql(c) = conn {
        diesel::sql_query("SET LOCAL plan_cache_mode = force_custom_plan").execute(c)?;
    }
    Ok(())
}

/// Opens many cases at once and returns those it opened: one whose item
/// already has an active case of its kind is skipped (the unique index
/// decides, so a race with another process is settled the same way).
/// Multi-row on PostgreSQL; one cached statement per row on SQLite, which
/// has no round trips to save.
pub fn open_all(conn: &mut DbConn, new: &[NewCase]) -> QueryResult<Vec<Case>> {
    let mut opened = Vec::with_capacity(new.len());
    match conn {
        DbConn::Sqlite(c) => {
            for row in new {
                let case: Option<Case> = diesel::insert_into(cases::table).values(row).on_conflict_do_nothing().returning(cases::all_columns).get_result(c).optional()?;
                opened.extend(case);
            }
        }
        DbConn::Postgresql(c) => {
            for part in new.chunks(500) {
                let cases: Vec<Case> = diesel::insert_into(cases::table).values(part.to_vec()).on_conflict_do_nothing().returning(cases::all_columns).get_results(c)?;
                opened.extend(cases);
            }
        }
    }
    Ok(opened)
}

/// One entry for each case (the level is the case's), in multi-row statements.
pub fn add_entries(conn: &mut DbConn, entries: &[(&Case, CaseAction, Option<&str>)], actor: &str, at: NaiveDateTime) -> QueryResult<()> {
    let rows: Vec<NewCaseEntry> =
        entries.iter().map(|(case, action, note)| NewCaseEntry { case_id: case.id, action: *action, level: case.level, actor, note: *note, at }).collect();
    for part in rows.chunks(500) {
        match conn {
            DbConn::Sqlite(c) => diesel::insert_into(case_entries::table).values(part).execute(c)?,
            DbConn::Postgresql(c) => diesel::insert_into(case_entries::table).values(part).execute(c)?,
        };
    }
    Ok(())
}

pub fn add_entry(conn: &mut DbConn, case: &Case, action: CaseAction, actor: &str, note: Option<&str>, at: NaiveDateTime) -> QueryResult<()> {
    let entry = NewCaseEntry { case_id: case.id, action, level: case.level, actor, note, at };
    diesel::insert_into(case_entries::table).values(&entry).execute(conn).map(|_| ())
}

pub fn entries(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<CaseEntry>> {
    case_entries::table.filter(case_entries::case_id.eq(case_id)).order(case_entries::id.asc()).load(conn)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Case> {
    cases::table.find(id).first(conn)
}

pub fn find_by_public_id(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<Case>> {
    cases::table.filter(cases::public_id.eq(public_id)).first(conn).optional()
}

/// When a case of each kind was last opened for these items, by (item, kind).
pub fn last_opened(conn: &mut DbConn, item_ids: &[i64]) -> QueryResult<std::collections::HashMap<(i64, String), NaiveDateTime>> {
    let mut found = std::collections::HashMap::new();
    for part in item_ids.chunks(1000) {
        let rows: Vec<(i64, String, Option<NaiveDateTime>)> = cases::table
            .filter(cases::item_id.eq_any(part))
            .group_by((cases::item_id, cases::kind))
            .select((cases::item_id, cases::kind, diesel::dsl::max(cases::opened_at)))
            .load(conn)?;
        found.extend(rows.into_iter().filter_map(|(item, kind, at)| at.map(|at| ((item, kind), at))));
    }
    Ok(found)
}

pub fn active_for_item(conn: &mut DbConn, item_id: i64) -> QueryResult<Vec<Case>> {
    cases::table.filter(cases::item_id.eq(item_id)).filter(cases::state.eq_any(active())).order(cases::id.asc()).load(conn)
}

/// The active cases of these items, by item.
pub fn active_for_items(conn: &mut DbConn, item_ids: &[i64]) -> QueryResult<std::collections::HashMap<i64, Vec<Case>>> {
    let mut found: std::collections::HashMap<i64, Vec<Case>> = std::collections::HashMap::new();
    for part in item_ids.chunks(1000) {
        let cases: Vec<Case> = cases::table.filter(cases::item_id.eq_any(part)).filter(cases::state.eq_any(active())).order(cases::id.asc()).load(conn)?;
        for case in cases {
            found.entry(case.item_id).or_default().push(case);
        }
    }
    Ok(found)
}

/// An item's cases of one kind, newest first.
pub fn of_kind_for_item(conn: &mut DbConn, item_id: i64, kind: CaseKind) -> QueryResult<Vec<Case>> {
    cases::table.filter(cases::item_id.eq(item_id)).filter(cases::kind.eq(kind)).order(cases::id.desc()).load(conn)
}

/// How many entries `actor` added to an item's cases since `since`.
pub fn entries_by_since(conn: &mut DbConn, item_id: i64, actor: &str, since: NaiveDateTime) -> QueryResult<i64> {
    case_entries::table
        .inner_join(cases::table)
        .filter(cases::item_id.eq(item_id))
        .filter(case_entries::actor.eq(actor))
        .filter(case_entries::at.ge(since))
        .count()
        .get_result(conn)
}

pub fn for_item(conn: &mut DbConn, item_id: i64) -> QueryResult<Vec<Case>> {
    cases::table.filter(cases::item_id.eq(item_id)).order(cases::id.asc()).load(conn)
}

/// Cases below the top level that are open past their response time, or
/// acknowledged past the time their owner promised.
pub fn due_to_rise(conn: &mut DbConn, now: NaiveDateTime, top_level: i32) -> QueryResult<Vec<Case>> {
    let unanswered = cases::state.eq(CaseState::Open).and(cases::response_due_at.le(now));
    let promise_broken = cases::state.eq(CaseState::Acknowledged).and(cases::expected_at.le(now));
    cases::table
        .filter(unanswered.or(promise_broken))
        .filter(cases::level.lt(top_level))
        .order(cases::id.asc())
        .load(conn)
}

/// Moves a case up one level, if it is still where `case` saw it (another
/// process may have moved it first: then nothing changes and `false`).
pub fn rise(conn: &mut DbConn, case: &Case, owner_org_id: &str, response_due_at: NaiveDateTime, now: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(cases::table.find(case.id))
        .filter(cases::level.eq(case.level))
        .filter(cases::state.eq(&case.state))
        .set((
            cases::state.eq(CaseState::Open),
            cases::level.eq(case.level + 1),
            cases::owner_org_id.eq(owner_org_id),
            cases::response_due_at.eq(response_due_at),
            cases::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Gives a case a new owner and response time, open again, if it is still
/// where `case` saw it.
pub fn direct(conn: &mut DbConn, case: &Case, owner_org_id: &str, response_due_at: NaiveDateTime, now: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(cases::table.find(case.id))
        .filter(cases::level.eq(case.level))
        .filter(cases::state.eq(&case.state))
        .set((
            cases::state.eq(CaseState::Open),
            cases::owner_org_id.eq(owner_org_id),
            cases::response_due_at.eq(response_due_at),
            cases::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Moves a case to a new state if it is still in the state `case` saw.
pub fn change_state(conn: &mut DbConn, case: &Case, state: CaseState, changes: StateChanges, now: NaiveDateTime) -> QueryResult<bool> {
    let target = cases::table.find(case.id).filter(cases::state.eq(&case.state));
    let changed = diesel::update(target)
        .set((
            cases::state.eq(state.as_str()),
            cases::plan.eq(changes.plan.or(case.plan.clone())),
            cases::expected_at.eq(changes.expected_at.or(case.expected_at)),
            cases::outcome.eq(changes.outcome.or(case.outcome.clone())),
            cases::acknowledged_at.eq(if state == CaseState::Acknowledged { Some(now) } else { case.acknowledged_at }),
            cases::resolved_at.eq(if state == CaseState::Resolved { Some(now) } else { case.resolved_at }),
            cases::closed_at.eq(if state == CaseState::Closed { Some(now) } else { case.closed_at }),
            cases::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// What a state change sets besides the state.
#[derive(Debug, Default)]
pub struct StateChanges {
    pub plan: Option<String>,
    pub expected_at: Option<NaiveDateTime>,
    pub outcome: Option<CaseOutcome>,
}

/// Puts cases under an incident.
pub fn group_under(conn: &mut DbConn, incident_id: i64, case_ids: &[i64]) -> QueryResult<usize> {
    let mut changed = 0;
    for part in case_ids.chunks(1000) {
        changed += diesel::update(cases::table.filter(cases::id.eq_any(part))).set(cases::incident_id.eq(Some(incident_id))).execute(conn)?;
    }
    Ok(changed)
}

pub fn mark_replacement_requested(conn: &mut DbConn, case_id: i64) -> QueryResult<()> {
    diesel::update(cases::table.find(case_id)).set(cases::replacement_requested.eq(true)).execute(conn).map(|_| ())
}

/// Filters of the case list.
#[derive(Debug, Default, Clone)]
pub struct CaseFilter {
    pub kind: Option<CaseKind>,
    pub level: Option<i32>,
    pub state: Option<CaseState>,
    pub owner_org_id: Option<String>,
    pub item_id: Option<i64>,
}

/// A page of the cases of items the caller may see, newest first.
pub fn list_visible(conn: &mut DbConn, scope: &ItemScope, filter: &CaseFilter, before_id: Option<i64>, limit: i64) -> QueryResult<Vec<Case>> {
    let mut query = within_scope!(cases::table.inner_join(items::table).select(cases::all_columns).into_boxed(), scope);
    if let Some(v) = &filter.kind {
        query = query.filter(cases::kind.eq(v));
    }
    if let Some(v) = filter.level {
        query = query.filter(cases::level.eq(v));
    }
    if let Some(v) = &filter.state {
        query = query.filter(cases::state.eq(v));
    }
    if let Some(v) = &filter.owner_org_id {
        query = query.filter(cases::owner_org_id.eq(v));
    }
    if let Some(v) = filter.item_id {
        query = query.filter(cases::item_id.eq(v));
    }
    if let Some(before) = before_id {
        query = query.filter(cases::id.lt(before));
    }
    query.order(cases::id.desc()).limit(limit).load(conn)
}

/// The overseer organization of a province, for cases at the top level.
pub fn overseer_of(conn: &mut DbConn, province: &str) -> QueryResult<Option<String>> {
    organizations::table
        .filter(organizations::kind.eq("overseer"))
        .filter(organizations::province.eq(province))
        .order(organizations::code.asc())
        .select(organizations::id)
        .first(conn)
        .optional()
}

/// Cases still active (open or acknowledged), counted by kind and level.
pub fn count_active_by_kind_and_level(conn: &mut DbConn) -> QueryResult<Vec<(CaseKind, i32, i64)>> {
    cases::table
        .filter(cases::state.eq_any(ACTIVE_STATES))
        .group_by((cases::kind, cases::level))
        .select((cases::kind, cases::level, diesel::dsl::count_star()))
        .load(conn)
}
