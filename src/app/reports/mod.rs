//! Reports: the summary for departments, carriers and overseers, and the
//! steering committee's daily report. The figures and who may see which
//! province are decided here; `api::reports` renders them (JSON, CSV, HTML).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

pub mod printable;
pub mod scheduled;

use super::{Actor, Error};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::report::{self, ItemFact, Totals};
use crate::domain::cases::{CaseKind, CaseState, Severity};
use crate::domain::{fields, province, FieldErrors, Role};
use crate::store;
use crate::store::reports::ReportFilter;

/// The forms the steering report is rendered in.
pub const FORMATS: &[&str] = &["json", "csv", "html"];

/// What a report covers, as asked.
pub struct ReportQuery {
    /// Season, e.g. `2026-THPT`; `None`: the current one (the open season
    /// that closes first, so the season under way before the next).
    pub season: Option<String>,
    /// The period, as days in Vietnam (`YYYY-MM-DD`), by registration: from
    /// the start of `from` to the end of `to`.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Province code, name or former name (overseers: their own, the default).
    pub province: Option<String>,
    /// Sender organization code.
    pub sender: Option<String>,
    /// Carrier organization code.
    pub carrier: Option<String>,
    /// One of [`FORMATS`]; checked with the rest so one answer names every bad field.
    pub format: Option<String>,
}

/// Active cases of one kind at one level.
#[derive(Debug)]
pub struct CaseCount {
    pub kind: CaseKind,
    pub level: i32,
    pub count: u64,
}

/// One active case, as a report lists it.
#[derive(Debug, Clone)]
pub struct CaseLine {
    pub case_id: String,
    pub tracking_number: String,
    pub kind: CaseKind,
    pub severity: Severity,
    pub level: i32,
    pub state: CaseState,
    /// The owner's organization code.
    pub owner_org: String,
    pub opened_at: DateTime<Utc>,
    pub response_due_at: DateTime<Utc>,
}

/// The summary of a season.
#[derive(Debug)]
pub struct Summary {
    pub season: String,
    pub province: Option<String>,
    pub generated_at: DateTime<Utc>,
    pub totals: Totals,
    pub open_cases: Vec<CaseCount>,
    /// The oldest active cases, at most [`OLDEST_SHOWN`].
    pub oldest_open_cases: Vec<CaseLine>,
}

/// How many of the oldest active cases a summary lists.
pub const OLDEST_SHOWN: usize = 10;

/// A contact point in the steering report's table.
#[derive(Debug)]
pub struct ContactLine {
    /// Organization code.
    pub organization: String,
    pub name: String,
    pub position: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub case_kinds: String,
    pub levels: String,
    pub task: Option<String>,
    pub plan_role: Option<crate::domain::PlanRole>,
    pub exam_site: Option<String>,
}

/// The steering committee's daily report.
#[derive(Debug)]
pub struct Steering {
    pub summary: Summary,
    /// The season's name, when the season is declared.
    pub season_name: Option<String>,
    /// The period asked for (days in Vietnam).
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    /// Every active critical case (tampering, loss, not accepted, critical severity), at any level.
    pub critical_cases: Vec<CaseLine>,
    /// Every active case at level 2 or 3, oldest first.
    pub escalated_cases: Vec<CaseLine>,
    pub contacts: Vec<ContactLine>,
    /// The area incidents the reader can see, newest first.
    pub incidents: Vec<crate::app::incidents::IncidentFile>,
    /// The signed roots of the event chain for the week up to the report's
    /// last day (yesterday by default): a committee holding this report can
    /// tell later whether any history was rewritten.
    pub chain_roots: Vec<crate::store::chain::Root>,
}

/// Items by kind and status, delivery performance by priority and carrier,
/// overdue counts, active cases by kind and level and the oldest of them,
/// for the items the actor can see.
pub fn summary(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, query: &ReportQuery) -> Result<Summary, Error> {
    let filter = filter_of(conn, clock, actor, query)?;
    let (mut summary, lines) = figures(conn, actor, &filter, clock.now())?;
    summary.oldest_open_cases = lines.into_iter().take(OLDEST_SHOWN).collect();
    Ok(summary)
}

/// The summary, every active case at level 2 or 3 with its owner and
/// response deadline, and the contact table of the province (or of all).
pub fn steering(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, query: &ReportQuery) -> Result<Steering, Error> {
    let filter = filter_of(conn, clock, actor, query)?;
    let (mut summary, lines) = figures(conn, actor, &filter, clock.now())?;
    summary.oldest_open_cases = lines.iter().take(OLDEST_SHOWN).cloned().collect();
    let critical_cases: Vec<CaseLine> = lines.iter().filter(|c| printable::is_critical(c)).cloned().collect();
    let escalated_cases: Vec<CaseLine> = lines.into_iter().filter(|c| c.level >= 2).collect();
    let codes: BTreeMap<String, String> =
        store::reports::contact_orgs(conn, filter.province.as_deref())?.into_iter().map(|org| (org.id, org.code)).collect();
    let ids: Vec<String> = codes.keys().cloned().collect();
    // The plan's contact table: the candidates' help lines are not part of it.
    let contacts = store::contacts::for_orgs(conn, &ids)?
        .into_iter()
        .filter(|c| !c.public)
        .map(|c| ContactLine {
            organization: codes.get(&c.organization_id).cloned().unwrap_or_default(),
            name: c.name,
            position: c.position,
            phone: c.phone,
            email: c.email,
            case_kinds: c.case_kinds.to_string(),
            levels: c.levels.to_string(),
            task: c.task,
            plan_role: c.plan_role,
            exam_site: c.exam_site,
        })
        .collect();
    let incidents = crate::app::incidents::list(conn, actor)?;
    let season_name = store::seasons::find(conn, &filter.season)?.map(|s| s.row.name);
    let day = |text: &Option<String>| text.as_deref().and_then(|t| fields::date(t).ok());
    let last_root = day(&query.to).unwrap_or_else(|| crate::app::chain::day_of(clock.now()).pred_opt().unwrap_or_default());
    let chain_roots = store::chain::roots_between(conn, last_root - chrono::Duration::days(6), last_root)?;
    Ok(Steering { summary, season_name, from: day(&query.from), to: day(&query.to), critical_cases, escalated_cases, contacts, incidents, chain_roots })
}

/// Checks the query and narrows it to what the actor may see: an overseer
/// reports on its own province only.
fn filter_of(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, query: &ReportQuery) -> Result<ReportFilter, Error> {
    let mut errors = FieldErrors::default();
    let season = match &query.season {
        Some(given) => errors.check("season", fields::season(given)),
        None => {
            let current = crate::app::seasons::open(conn, clock)?.into_iter().min_by_key(|s| s.row.closes_on);
            errors.check("season", current.map(|s| s.row.code).ok_or_else(|| "is required: no season is open now".to_string()))
        }
    };
    let day_start = |field: &str, text: &Option<String>, errors: &mut FieldErrors, next_day: bool| {
        let day = text.as_deref().and_then(|t| errors.check(field, fields::date(t)))?;
        let day = if next_day { day.succ_opt()? } else { day };
        let local = day.and_hms_opt(0, 0, 0)?;
        chrono::TimeZone::from_local_datetime(&chrono_tz::Asia::Ho_Chi_Minh, &local).earliest().map(|t| t.naive_utc())
    };
    let registered_from = day_start("from", &query.from, &mut errors, false);
    let registered_before = day_start("to", &query.to, &mut errors, true);
    if let (Some(from), Some(before)) = (registered_from, registered_before) {
        if before <= from {
            errors.push("to", "must not be before from");
        }
    }
    let province = query.province.as_deref().and_then(|p| {
        errors.check("province", province::resolve(p).map(|p| p.code.to_string()).ok_or_else(|| "is not one of Vietnam's 34 provinces".to_string()))
    });
    let mut org = |name: &str, code: &Option<String>| -> Result<Option<String>, Error> {
        let Some(code) = code.as_ref().map(|c| c.trim().to_uppercase()) else { return Ok(None) };
        let found = store::organizations::find_by_code(conn, &code)?;
        Ok(errors.check(name, found.map(|o| o.id).ok_or_else(|| format!("no organization with code {code}"))))
    };
    let sender_org_id = org("sender", &query.sender)?;
    let carrier_org_id = org("carrier", &query.carrier)?;
    if let Some(format) = &query.format {
        if !FORMATS.contains(&format.as_str()) {
            errors.push("format", "must be json, csv or html");
        }
    }
    let Some(season) = season.filter(|_| errors.is_empty()) else {
        return Err(Error::Invalid(errors.0));
    };
    let province = match (actor.role, province) {
        (Role::Overseer, Some(p)) if p != actor.province => {
            return Err(Error::Forbidden(format!("overseers report on their own province ({})", actor.province)))
        }
        (Role::Overseer, _) => Some(actor.province.clone()),
        (_, p) => p,
    };
    Ok(ReportFilter { season, province, sender_org_id, carrier_org_id, registered_from, registered_before })
}

/// The summary's figures (without its oldest cases) and every active case, oldest first.
fn figures(conn: &mut DbConn, actor: &Actor, filter: &ReportFilter, now: DateTime<Utc>) -> Result<(Summary, Vec<CaseLine>), Error> {
    let scope = actor.item_scope();
    let facts: Vec<ItemFact> = store::reports::item_facts(conn, &scope, filter)?
        .into_iter()
        .map(|row| ItemFact {
            kind: row.kind,
            status: row.status,
            priority: row.priority,
            carrier: row.carrier,
            accepted_at: row.accepted_at.map(|t| t.and_utc()),
            due_at: row.due_at.map(|t| t.and_utc()),
            last_event_at: row.last_event_at.map(|t| t.and_utc()),
            registered_at: row.registered_at.and_utc(),
        })
        .collect();
    let cases = store::reports::active_cases(conn, &scope, filter)?;
    // Keyed by the kind's wire text, so that the report lists kinds alphabetically.
    let mut counts: BTreeMap<(&'static str, i32), CaseCount> = BTreeMap::new();
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    let mut lines = Vec::with_capacity(cases.len());
    for active in cases {
        let case = active.case;
        counts.entry((case.kind.as_str(), case.level)).or_insert(CaseCount { kind: case.kind, level: case.level, count: 0 }).count += 1;
        if !owners.contains_key(&case.owner_org_id) {
            let code = store::organizations::find(conn, &case.owner_org_id)?.map(|o| o.code).unwrap_or_default();
            owners.insert(case.owner_org_id.clone(), code);
        }
        lines.push(CaseLine {
            case_id: case.public_id,
            tracking_number: active.tracking_number,
            kind: case.kind,
            severity: case.severity,
            level: case.level,
            state: case.state,
            owner_org: owners.get(&case.owner_org_id).cloned().unwrap_or_default(),
            opened_at: case.opened_at.and_utc(),
            response_due_at: case.response_due_at.and_utc(),
        });
    }
    let summary = Summary {
        season: filter.season.clone(),
        province: filter.province.clone(),
        generated_at: now,
        totals: report::totals(&facts, now),
        open_cases: counts.into_values().collect(),
        oldest_open_cases: Vec::new(),
    };
    Ok((summary, lines))
}
