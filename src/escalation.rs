//! The escalation rules that touch the store: opening cases (from events at
//! once, from time in the sweep), the ladder, the committee's directions,
//! and settling cases when an item's journey ends. The floor below `app`: the services
//! (`app::scans`, `app::cases`) call it inside the transactions they own;
//! nothing here begins one.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::QueryResult;

use crate::db::DbConn;
use crate::domain::cases::{self, CaseAction, CaseKind, CaseOutcome, CaseState, Rule, Watch, TOP_LEVEL};
use crate::domain::{incidents, ItemStatus};
use crate::notify::{self, templates::{CandidateNews, CaseNews}};
use crate::store::cases::{Case, NewCase, StateChanges};
use crate::store::events::Refreshed;
use crate::store::items::Item;
use crate::store::incidents::Incident;
use crate::store::organizations::Organization;
use crate::store::{self};

/// The organization that owns a case at a level: the carrier at levels 1
/// and 2, the provincial overseer at the top (the carrier when there is none).
fn owner_at(conn: &mut DbConn, item: &Item, level: i32) -> QueryResult<String> {
    if level >= TOP_LEVEL {
        for province in [&item.dest_province, &item.origin_province] {
            if let Some(overseer) = store::cases::overseer_of(conn, province)? {
                return Ok(overseer);
            }
        }
    }
    Ok(item.carrier_org_id.clone())
}

/// The deadline a case of this item protects.
pub fn deadline_of(item: &Item) -> Option<DateTime<Utc>> {
    cases::protected_deadline(item.must_arrive_by.map(|t| t.and_utc()), item.due_at.map(|t| t.and_utc()))
}

/// The note on a lost item's case: what the sender must do.
const REPLACEMENT_NOTE: &str = "the sender is asked to issue a replacement (POST /api/v1/items/{tracking_number}/replacement)";

/// A new case at level 1, owned by the item's carrier (its owner below the top).
fn new_case(item: &Item, kind: CaseKind, rule: &Rule, incident_id: Option<i64>, trigger_event_id: Option<i64>, now: DateTime<Utc>) -> NewCase {
    let severity = cases::severity(kind, item.priority);
    NewCase {
        public_id: uuid::Uuid::now_v7().to_string(),
        item_id: item.id,
        kind,
        severity,
        level: 1,
        state: CaseState::Open,
        owner_org_id: item.carrier_org_id.clone(),
        response_due_at: cases::response_due(now, severity, rule, deadline_of(item)).naive_utc(),
        trigger_event_id,
        replacement_requested: kind == CaseKind::Lost,
        opened_at: now.naive_utc(),
        updated_at: now.naive_utc(),
        incident_id,
    }
}

/// Opens a case of `kind` for the item unless one is active.
pub fn open_case(conn: &mut DbConn, item: &Item, kind: CaseKind, trigger_event_id: Option<i64>, now: DateTime<Utc>) -> QueryResult<Option<Case>> {
    let rule = store::rules::for_priority(conn, item.priority)?;
    let incident = if incidents::groups(kind) { store::incidents::open_for_item(conn, item.id)? } else { None };
    let new = new_case(item, kind, &rule, incident.map(|i| i.id), trigger_event_id, now);
    let opened = store::cases::open(conn, &new)?;
    if let Some(case) = &opened {
        if kind == CaseKind::Lost {
            store::cases::add_entry(conn, case, CaseAction::ReplacementRequested, "system", Some(REPLACEMENT_NOTE), now.naive_utc())?;
        }
        notify::case_changed(conn, case, item, CaseNews::Opened, now)?;
        if matches!(kind, CaseKind::Overdue | CaseKind::DeadlineAtRisk) {
            notify::candidate(conn, item, CandidateNews::Delayed, now)?;
        }
    }
    Ok(opened)
}

/// Opens many cases at once, as `open_case` would one by one (the sweep's
/// openings): what they need is read once for all of them and the cases,
/// their entries and their news are written in multi-row statements. An
/// opening whose item already has an active case of that kind is skipped.
pub fn open_cases(conn: &mut DbConn, rules: &[Rule], openings: &[(Item, CaseKind)], now: DateTime<Utc>) -> QueryResult<Vec<Case>> {
    store::cases::plan_checks_afresh(conn)?;
    let item_ids: Vec<i64> = openings.iter().map(|(item, _)| item.id).collect();
    let active: HashSet<(i64, CaseKind)> = store::cases::active_for_items(conn, &item_ids)?.into_values().flatten().map(|c| (c.item_id, c.kind)).collect();
    let grouping: Vec<i64> = openings.iter().filter(|(_, kind)| incidents::groups(*kind)).map(|(item, _)| item.id).collect();
    let incident_of = store::incidents::open_for_items(conn, &grouping)?;
    let items: HashMap<i64, &Item> = openings.iter().map(|(item, _)| (item.id, item)).collect();
    let mut planned = HashSet::new();
    let mut new = Vec::new();
    for (item, kind) in openings {
        if active.contains(&(item.id, *kind)) || !planned.insert((item.id, *kind)) {
            continue;
        }
        let incident_id = if incidents::groups(*kind) { incident_of.get(&item.id).copied() } else { None };
        new.push(new_case(item, *kind, &cases::rule_for(rules, item.priority), incident_id, None, now));
    }
    let opened = store::cases::open_all(conn, &new)?;
    let mut entries: Vec<(&Case, CaseAction, Option<&str>)> = Vec::with_capacity(opened.len());
    for case in &opened {
        entries.push((case, CaseAction::Opened, None));
        if case.kind == CaseKind::Lost {
            entries.push((case, CaseAction::ReplacementRequested, Some(REPLACEMENT_NOTE)));
        }
    }
    store::cases::add_entries(conn, &entries, "system", now.naive_utc())?;
    let pairs: Vec<(&Case, &Item)> = opened.iter().map(|case| (case, items[&case.item_id])).collect();
    let context = notify::CaseNewsContext::load(conn, &pairs)?;
    let mut out = notify::Outgoing::default();
    for (case, item) in &pairs {
        notify::case_news(&context, case, item, CaseNews::Opened, now, &mut out);
        if matches!(case.kind, CaseKind::Overdue | CaseKind::DeadlineAtRisk) {
            notify::candidate_news(item, CandidateNews::Delayed, now, &mut out);
        }
    }
    out.flush(conn)?;
    Ok(opened)
}

/// Settles a case with an outcome (resolving it first if needed).
/// `false` when the case cannot be resolved from its state, or changed meanwhile.
pub fn resolve(conn: &mut DbConn, case: &Case, outcome: CaseOutcome, actor: &str, note: Option<&str>, now: DateTime<Utc>) -> QueryResult<bool> {
    let Ok(next) = cases::transition(case.state, CaseAction::Resolved) else {
        return Ok(false);
    };
    let changes = StateChanges { outcome: Some(outcome), ..Default::default() };
    let changed = store::cases::change_state(conn, case, next, changes, now.naive_utc())?;
    if changed {
        let note = note.map(str::to_string).unwrap_or_else(|| format!("outcome: {outcome}"));
        store::cases::add_entry(conn, case, CaseAction::Resolved, actor, Some(&note), now.naive_utc())?;
        let resolved = store::cases::find(conn, case.id)?;
        let item = store::items::find(conn, case.item_id)?;
        notify::case_changed(conn, &resolved, &item, CaseNews::Resolved, now)?;
    }
    Ok(changed)
}

/// After an item's events changed and its status was refreshed: tells who
/// follows it when the status moved.
pub fn after_refresh(conn: &mut DbConn, item: &Item, previous_status: ItemStatus, now: DateTime<Utc>) -> QueryResult<()> {
    if item.status != previous_status {
        let hooks = notify::Hooks::load(conn, &notify::following_orgs(item))?;
        notify::item_status_changed(conn, &hooks, item, previous_status, now)?;
    }
    Ok(())
}

/// After new events of items were recorded and their status refreshed:
/// notifies, opens the cases the events call for, and settles delay cases
/// of items that were delivered or returned. What it needs about the items
/// (webhooks, active cases) is read once for all of them.
pub fn after_events(conn: &mut DbConn, refreshed: &[Refreshed], new_event_ids: &BTreeMap<i64, Vec<i64>>, now: DateTime<Utc>) -> QueryResult<()> {
    let moved: Vec<&Refreshed> = refreshed.iter().filter(|r| r.item.status != r.previous_status).collect();
    let mut orgs: Vec<String> = moved.iter().flat_map(|r| notify::following_orgs(&r.item)).collect();
    orgs.sort();
    orgs.dedup();
    let hooks = notify::Hooks::load(conn, &orgs)?;
    let accepted = |r: &Refreshed| r.previous_status == ItemStatus::Registered && r.item.status != ItemStatus::Registered;
    let settling: Vec<i64> = refreshed.iter().filter(|r| cases::outcome_of(r.item.status).is_some() || accepted(r)).map(|r| r.item.id).collect();
    let mut active = store::cases::active_for_items(conn, &settling)?;
    for refreshed in refreshed {
        let item = &refreshed.item;
        if item.status != refreshed.previous_status {
            notify::item_status_changed(conn, &hooks, item, refreshed.previous_status, now)?;
        }
        let new_ids = new_event_ids.get(&item.id).map_or(&[][..], Vec::as_slice);
        let mut active_now = active.remove(&item.id).unwrap_or_default();
        for trigger in cases::event_cases(&refreshed.history, new_ids, item.confidential) {
            let opened = open_case(conn, item, trigger.kind, Some(trigger.event_id), now)?;
            if let Some(reason) = trigger.reason {
                // A second finding on a sealed item lands on the case already open for it.
                let case = match &opened {
                    Some(case) => Some(case.clone()),
                    None => store::cases::active_for_item(conn, item.id)?.into_iter().find(|c| c.kind == trigger.kind),
                };
                if let Some(case) = case {
                    store::cases::add_entry(conn, &case, CaseAction::Commented, "system", Some(reason), now.naive_utc())?;
                }
            }
            active_now.extend(opened);
        }
        if accepted(refreshed) {
            for case in active_now.iter().filter(|c| c.kind == CaseKind::NotAccepted) {
                resolve(conn, case, CaseOutcome::Accepted, "system", Some("the carrier accepted the item"), now)?;
            }
        }
        if let Some(outcome) = cases::outcome_of(item.status) {
            let note = format!("settled by the item's {} scan", item.status);
            settle(conn, &active_now, outcome, "system", &note, now)?;
        }
    }
    Ok(())
}

/// Settles the cases among `active` that an item's end settles (see
/// `domain::cases::settled_by`), with that outcome.
pub fn settle(conn: &mut DbConn, active: &[Case], outcome: CaseOutcome, actor: &str, note: &str, now: DateTime<Utc>) -> QueryResult<()> {
    for case in active.iter().filter(|case| cases::settled_by(case.kind, outcome)) {
        resolve(conn, case, outcome, actor, Some(note), now)?;
    }
    Ok(())
}

/// Moves a case up one level (by the ladder or by hand); the new owner
/// must acknowledge it again.
pub fn rise(conn: &mut DbConn, case: &Case, actor: &str, note: Option<&str>, now: DateTime<Utc>) -> QueryResult<bool> {
    let item = store::items::find(conn, case.item_id)?;
    let level = case.level + 1;
    let rule = store::rules::for_priority(conn, item.priority)?;
    let owner = owner_at(conn, &item, level)?;
    let due = cases::response_due(now, case.severity, &rule, deadline_of(&item)).naive_utc();
    if !store::cases::rise(conn, case, &owner, due, now.naive_utc())? {
        return Ok(false);
    }
    let risen = store::cases::find(conn, case.id)?;
    store::cases::add_entry(conn, &risen, CaseAction::Escalated, actor, note, now.naive_utc())?;
    notify::case_changed(conn, &risen, &item, CaseNews::Escalated, now)?;
    Ok(true)
}

/// What the steering committee tells an organization to do about a case.
pub struct Direction<'a> {
    pub instruction: &'a str,
    pub organization: &'a Organization,
    pub respond_by: DateTime<Utc>,
}

/// Hands a top-level case to the organization the committee directs, with
/// its time to answer; that organization's contacts are told at once.
/// `false` when the case changed meanwhile.
pub fn direct(conn: &mut DbConn, case: &Case, item: &Item, direction: &Direction, actor: &str, now: DateTime<Utc>) -> QueryResult<bool> {
    let org = direction.organization;
    if !store::cases::direct(conn, case, &org.id, store::stored_time(direction.respond_by), now.naive_utc())? {
        return Ok(false);
    }
    let directed = store::cases::find(conn, case.id)?;
    let by = direction.respond_by.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).format("%H:%M %d/%m/%Y");
    let note = format!("{} ({}) to act by {by}: {}", org.code, org.name, direction.instruction);
    store::cases::add_entry(conn, &directed, CaseAction::Directed, actor, Some(&note), now.naive_utc())?;
    notify::case_changed(conn, &directed, item, CaseNews::Directed { instruction: direction.instruction }, now)?;
    Ok(true)
}

/// The case openings the time rules call for at `now`.
pub struct DueOpenings {
    /// Items the rules looked at (those the status/time indexes found).
    pub items_checked: usize,
    pub openings: Vec<(Item, CaseKind)>,
    /// The priority rules the openings were decided by.
    pub rules: Vec<Rule>,
}

/// The time rules over the items that may need attention (found through
/// the status/time indexes, so its cost follows them, not all items): the
/// cases to open, leaving out a kind already opened for an item that has
/// been quiet since.
pub fn due_openings(conn: &mut DbConn, now: DateTime<Utc>) -> QueryResult<DueOpenings> {
    let rules = store::rules::all(conn)?;
    let candidates = store::items::needing_attention(conn, &rules, now.naive_utc())?;
    let ids: Vec<i64> = candidates.iter().map(|item| item.id).collect();
    let last_opened = store::cases::last_opened(conn, &ids)?;
    let items_checked = candidates.len();
    let mut openings = Vec::new();
    for item in candidates {
        let rule = cases::rule_for(&rules, item.priority);
        let watch = Watch {
            status: item.status,
            registered_at: item.created_at.and_utc(),
            due_at: item.due_at.map(|t| t.and_utc()),
            last_event_at: item.last_event_at.map(|t| t.and_utc()),
            must_arrive_by: item.must_arrive_by.map(|t| t.and_utc()),
        };
        // Nothing has happened since a case of this kind was opened: do not reopen it.
        let quiet_since = item.last_event_at.unwrap_or(item.created_at);
        let kinds: Vec<CaseKind> = cases::time_rules(&watch, &rule, now)
            .into_iter()
            .filter(|kind| last_opened.get(&(item.id, kind.as_str().to_string())).is_none_or(|at| *at < quiet_since))
            .collect();
        openings.extend(kinds.into_iter().map(|kind| (item.clone(), kind)));
    }
    Ok(DueOpenings { items_checked, openings, rules })
}

/// The cases that must rise a level at `now` (unacknowledged in time, or a
/// promise broken): the database selects the candidates, the state machine
/// decides. Cases grouped under an open incident wait for it: the incident
/// is what the committee follows.
pub fn due_to_rise(conn: &mut DbConn, now: DateTime<Utc>) -> QueryResult<Vec<Case>> {
    let candidates = store::cases::due_to_rise(conn, now.naive_utc(), TOP_LEVEL)?;
    let open_incidents = store::incidents::open_ids(conn)?;
    Ok(candidates
        .into_iter()
        .filter(|case| case.incident_id.is_none_or(|id| !open_incidents.contains(&id)))
        .filter(|case| cases::must_rise(case.state, case.level, case.response_due_at.and_utc(), case.expected_at.map(|t| t.and_utc()), now))
        .collect())
}

/// After deadlines moved: the overdue and at-risk cases of items whose new
/// deadline is still ahead settle as `deadline_extended`.
pub fn settle_extended(conn: &mut DbConn, items: &[Item], actor: &str, now: DateTime<Utc>) -> QueryResult<()> {
    let ahead: Vec<i64> = items.iter().filter(|i| i.due_at.is_some_and(|due| due.and_utc() > now)).map(|i| i.id).collect();
    for case in store::cases::active_for_items(conn, &ahead)?.into_values().flatten() {
        if matches!(case.kind, CaseKind::Overdue | CaseKind::DeadlineAtRisk) {
            resolve(conn, &case, CaseOutcome::DeadlineExtended, actor, Some("the deadline was extended for an area incident"), now)?;
        }
    }
    Ok(())
}

/// Puts the active delay cases of these items under an incident.
pub fn group_under(conn: &mut DbConn, incident: &Incident, item_ids: &[i64]) -> QueryResult<usize> {
    let active = store::cases::active_for_items(conn, item_ids)?;
    let ids: Vec<i64> = active.values().flatten().filter(|c| incidents::groups(c.kind)).map(|c| c.id).collect();
    store::cases::group_under(conn, incident.id, &ids)
}
