//! Area incidents: a carrier or the steering committee declares one (a
//! flood, a storm, a fire, a closed road, an outage); the items in the area
//! due in its window are linked and their delay cases grouped under it, so
//! that people hear of the incident once per update instead of once per
//! item; the committee may extend the affected deadlines; it is closed.

use chrono::{DateTime, Duration, Utc};

use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::{DbConn, TextList};
use crate::domain::incidents::{Area, IncidentKind, IncidentState};
use crate::domain::{fields, province, FieldErrors, Role};
use crate::notify::{self, IncidentNews};
use crate::store::incidents::{Incident, NewIncident};
use crate::store::items::ItemScope;
use crate::store::{self, stored_time};

/// The longest window an incident may cover; a longer disaster is declared again.
const MAX_WINDOW_DAYS: i64 = 31;
/// The longest single extension of deadlines.
const MAX_EXTENSION_HOURS: i32 = 7 * 24;

/// An incident as declared. Texts are as sent: the service checks them.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclareIncident {
    pub kind: IncidentKind,
    /// Province codes or names.
    pub provinces: Vec<String>,
    pub wards: Vec<String>,
    pub office_codes: Vec<String>,
    /// RFC 3339 with offset.
    pub starts_at: String,
    pub ends_at: String,
    pub description: String,
}

/// An incident with what its readers see with it.
#[derive(Debug, Clone)]
pub struct IncidentFile {
    pub incident: Incident,
    pub declared_by_code: String,
    /// Linked items the reader can see.
    pub items: usize,
    /// Delay cases grouped under it and still active.
    pub active_cases: i64,
}

fn check_list(errors: &mut FieldErrors, field: &str, values: &[String], max_chars: usize) -> Vec<String> {
    let mut kept = Vec::new();
    for value in values {
        match fields::text(value, max_chars) {
            // Lists are stored comma-joined (db::TextList).
            Ok(v) if v.contains(',') => errors.push(field, format!("{v:?} must not contain a comma; give each as its own entry")),
            Ok(v) => kept.push(v),
            Err(reason) => errors.push(field, reason),
        }
    }
    kept
}

/// Checks the declaration: the area, the window, who may declare it there.
fn check(actor: &Actor, command: &DeclareIncident, now: DateTime<Utc>) -> Result<(Area, DateTime<Utc>, DateTime<Utc>, String), Error> {
    let mut errors = FieldErrors::default();
    let mut provinces = Vec::new();
    for name in &command.provinces {
        match province::resolve(name) {
            Some(p) => provinces.push(p.code.to_string()),
            None => errors.push("provinces", format!("{name:?} is not a province of Vietnam")),
        }
    }
    provinces.sort();
    provinces.dedup();
    let wards = check_list(&mut errors, "wards", &command.wards, 200);
    let office_codes = check_list(&mut errors, "office_codes", &command.office_codes, 32);
    let area = Area { provinces, wards, office_codes };
    if area.is_empty() && errors.is_empty() {
        errors.push("provinces", "name the area: at least one province, ward or office code");
    }
    if actor.role == Role::Overseer && area.provinces.iter().any(|p| *p != actor.province) {
        errors.push("provinces", format!("a steering committee declares incidents in its own province ({})", actor.province));
    }
    let starts = errors.check("starts_at", fields::timestamp(&command.starts_at)).map(|t| t.with_timezone(&Utc));
    let ends = errors.check("ends_at", fields::timestamp(&command.ends_at)).map(|t| t.with_timezone(&Utc));
    if let (Some(starts), Some(ends)) = (starts, ends) {
        if ends <= starts {
            errors.push("ends_at", "must be after starts_at");
        } else if ends - starts > Duration::days(MAX_WINDOW_DAYS) {
            errors.push("ends_at", format!("the window may span at most {MAX_WINDOW_DAYS} days; declare a longer disaster again"));
        } else if ends < now {
            errors.push("ends_at", "is in the past: an incident that is over changes no deadline");
        }
    }
    let description = errors.check("description", fields::text(&command.description, 2000));
    match (starts, ends, description) {
        (Some(starts), Some(ends), Some(description)) if errors.is_empty() => Ok((area, starts, ends, description)),
        _ => Err(Error::Invalid(errors.0)),
    }
}

/// Declares an incident, links the items in its area due in its window
/// (a carrier's: only the items it carries), groups their active delay
/// cases under it, and tells the organizations concerned once.
pub fn declare(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, command: DeclareIncident) -> Result<IncidentFile, Error> {
    let id = conn.write_transaction(|conn| declare_in(conn, clock, actor, command))?;
    file(conn, actor, id)
}

/// [`declare`] inside the caller's transaction (the seed's); the incident's id.
pub fn declare_in(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, command: DeclareIncident) -> Result<i64, Error> {
    actor.require(&[Role::Carrier, Role::Overseer, Role::Admin])?;
    let now = clock.now();
    let (area, starts, ends, description) = check(actor, &command, now)?;
    let at = stored_time(now);
    {
        let new = NewIncident {
            public_id: uuid::Uuid::now_v7().to_string(),
            kind: command.kind,
            provinces: TextList::new(area.provinces.clone()),
            wards: TextList::new(area.wards.clone()),
            office_codes: TextList::new(area.office_codes.clone()),
            starts_at: starts.naive_utc(),
            ends_at: ends.naive_utc(),
            description,
            declared_by_org_id: actor.org_id.clone(),
            declared_by: actor.client_id.clone(),
            state: IncidentState::Open,
            extension_minutes: 0,
            created_at: at,
            updated_at: at,
        };
        let incident = store::incidents::create(conn, &new)?;
        let mut items = store::incidents::items_in_area(conn, &area, new.starts_at, new.ends_at)?;
        if actor.role == Role::Carrier {
            items.retain(|item| item.carrier_org_id == actor.org_id);
        }
        let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
        store::incidents::link(conn, incident.id, &ids, at)?;
        crate::escalation::group_under(conn, &incident, &ids)?;
        notify::incident_changed(conn, &incident, &items, IncidentNews::Declared, now)?;
        Ok(incident.id)
    }
}

/// Who may see an incident: admins; the organization that declared it; an
/// overseer whose province it names; anyone who can see an item it holds.
fn visible(conn: &mut DbConn, actor: &Actor, incident: &Incident) -> Result<bool, Error> {
    if actor.role == Role::Admin || incident.declared_by_org_id == actor.org_id {
        return Ok(true);
    }
    if actor.role == Role::Overseer && incident.provinces.values().contains(&actor.province) {
        return Ok(true);
    }
    Ok(linked_in_scope(conn, actor, incident)? > 0)
}

fn linked_in_scope(conn: &mut DbConn, actor: &Actor, incident: &Incident) -> Result<usize, Error> {
    let scope = actor.item_scope();
    let items = store::incidents::linked_items(conn, incident.id)?;
    Ok(match scope {
        ItemScope::All => items.len(),
        _ => items.iter().filter(|i| scope.includes(i)).count(),
    })
}

fn file(conn: &mut DbConn, actor: &Actor, id: i64) -> Result<IncidentFile, Error> {
    let incident = store::incidents::find(conn, id)?;
    let declared_by_code = store::organizations::find(conn, &incident.declared_by_org_id)?.map(|o| o.code).unwrap_or_default();
    let items = linked_in_scope(conn, actor, &incident)?;
    let active_cases = store::incidents::active_cases(conn, incident.id)?;
    Ok(IncidentFile { incident, declared_by_code, items, active_cases })
}

fn visible_incident(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<Incident, Error> {
    let not_found = || Error::NotFound(format!("no incident {id} that you can see"));
    let incident = store::incidents::find_by_public_id(conn, id)?.ok_or_else(not_found)?;
    if !visible(conn, actor, &incident)? {
        return Err(not_found());
    }
    Ok(incident)
}

/// The incidents the actor can see, newest first.
pub fn list(conn: &mut DbConn, actor: &Actor) -> Result<Vec<IncidentFile>, Error> {
    let mut files = Vec::new();
    for incident in store::incidents::all(conn)? {
        if visible(conn, actor, &incident)? {
            files.push(file(conn, actor, incident.id)?);
        }
    }
    Ok(files)
}

pub fn find(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<IncidentFile, Error> {
    let incident = visible_incident(conn, actor, id)?;
    file(conn, actor, incident.id)
}

/// The steering committee of a province the incident names (or an admin)
/// moves the deadlines of its linked items still on their way by `hours`.
pub fn extend(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, id: &str, hours: i32) -> Result<IncidentFile, Error> {
    if !(1..=MAX_EXTENSION_HOURS).contains(&hours) {
        return Err(Error::field("hours", format!("must be from 1 to {MAX_EXTENSION_HOURS}")));
    }
    let now = clock.now();
    let incident_id = conn.write_transaction(|conn| -> Result<i64, Error> {
        let incident = visible_incident(conn, actor, id)?;
        let committee = actor.role == Role::Overseer && incident.provinces.values().contains(&actor.province);
        if !(committee || actor.role == Role::Admin) {
            return Err(Error::Forbidden("only the steering committee of a province the incident names may extend deadlines".into()));
        }
        if incident.state != IncidentState::Open {
            return Err(Error::Conflict { detail: "the incident is closed".into(), existing_id: None });
        }
        store::incidents::extend(conn, &incident, hours * 60, stored_time(now))?;
        let extended = store::incidents::find(conn, incident.id)?;
        let items = store::incidents::linked_items(conn, incident.id)?;
        crate::escalation::settle_extended(conn, &items, &actor.client_id, now)?;
        notify::incident_changed(conn, &extended, &items, IncidentNews::Extended { hours }, now)?;
        Ok(incident.id)
    })?;
    file(conn, actor, incident_id)
}

/// The organization that declared it, the committee, or an admin closes an
/// incident: its grouped cases follow the ladder again.
pub fn close(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, id: &str) -> Result<IncidentFile, Error> {
    let now = clock.now();
    let incident_id = conn.write_transaction(|conn| -> Result<i64, Error> {
        let incident = visible_incident(conn, actor, id)?;
        let committee = actor.role == Role::Overseer && incident.provinces.values().contains(&actor.province);
        if !(committee || actor.role == Role::Admin || incident.declared_by_org_id == actor.org_id) {
            return Err(Error::Forbidden("only who declared the incident, the steering committee or an admin may close it".into()));
        }
        if !store::incidents::close(conn, &incident, stored_time(now))? {
            return Err(Error::Conflict { detail: "the incident is already closed".into(), existing_id: None });
        }
        let closed = store::incidents::find(conn, incident.id)?;
        let items = store::incidents::linked_items(conn, incident.id)?;
        notify::incident_changed(conn, &closed, &items, IncidentNews::Closed, now)?;
        Ok(incident.id)
    })?;
    file(conn, actor, incident_id)
}

/// Links to each open incident the items that have come into its area or
/// window since it was declared (registered later, rerouted, rescheduled),
/// and groups their active delay cases; the number newly linked. Each
/// incident in a transaction of its own. Run by the sweep.
pub fn relink_open(conn: &mut DbConn, clock: &dyn Clock) -> Result<usize, Error> {
    let at = stored_time(clock.now());
    let mut linked = 0;
    for incident in store::incidents::all(conn)?.into_iter().filter(|i| i.state == IncidentState::Open) {
        let declarer = store::organizations::find(conn, &incident.declared_by_org_id)?;
        let carrier_only = declarer.as_ref().is_some_and(|o| o.kind == crate::domain::OrgKind::Carrier);
        linked += conn.write_transaction(|conn| -> Result<usize, Error> {
            let mut items = store::incidents::items_in_area(conn, &incident.area(), incident.starts_at, incident.ends_at)?;
            if carrier_only {
                items.retain(|item| item.carrier_org_id == incident.declared_by_org_id);
            }
            let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
            let new = store::incidents::link(conn, incident.id, &ids, at)?;
            if new > 0 {
                crate::escalation::group_under(conn, &incident, &ids)?;
            }
            Ok(new)
        })?;
    }
    Ok(linked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor { client_id: "c".into(), org_id: "o".into(), role, province: "phu-tho".into(), reads_province: false }
    }

    #[test]
    fn a_declaration_names_its_area_and_a_window_ahead() {
        let now = chrono::Utc::now();
        let command = DeclareIncident {
            kind: IncidentKind::Flood,
            provinces: vec!["Lào Cai".into()],
            wards: vec![],
            office_codes: vec!["VNP-KTHN".into()],
            starts_at: (now - Duration::hours(1)).to_rfc3339(),
            ends_at: (now + Duration::hours(48)).to_rfc3339(),
            description: "Lũ quét".into(),
        };
        let (area, ..) = check(&actor(Role::Carrier), &command, now).unwrap();
        assert_eq!(area.provinces, vec!["lao-cai".to_string()]);
        let comma = DeclareIncident { wards: vec!["Phường A, Phường B".into()], ..command.clone() };
        assert!(check(&actor(Role::Carrier), &comma, now).is_err(), "a comma would split the stored list");
        let elsewhere = check(&actor(Role::Overseer), &command, now);
        assert!(matches!(elsewhere, Err(Error::Invalid(errors)) if errors[0].field == "provinces"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn checking_a_declaration_never_panics(place in "\\PC{0,60}", time in ".{0,40}", text in "\\PC{0,2500}") {
            let command = DeclareIncident {
                kind: IncidentKind::Other,
                provinces: vec![place.clone()],
                wards: vec![place.clone()],
                office_codes: vec![place],
                starts_at: time.clone(),
                ends_at: time,
                description: text,
            };
            let _ = check(&actor(Role::Overseer), &command, chrono::Utc::now());
        }
    }
}
