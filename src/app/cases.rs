//! Cases: read them, act on one (acknowledge, comment, resolve, close,
//! escalate), and the sweep (the time rules and the ladder). The rules
//! themselves are in `domain::cases` and `escalation`; here are who may do
//! what, the checks of what was sent, and the transactions.

use chrono::{DateTime, Utc};

use crate::app::scans::{RecordScan, ScanDetail};
use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::cases::{minutes_left, transition, CaseAction, CaseKind, CaseOutcome, CaseState, TOP_LEVEL};
use crate::domain::{fields, s10, FieldErrors, ItemStatus, Role};
use crate::escalation;
use crate::store::cases::{Case, CaseEntry, CaseFilter, StateChanges};
use crate::store::items::Item;
use crate::store::{self};

/// The deadline a case protects, as it stands when the case is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protected {
    pub deadline: DateTime<Utc>,
    /// Negative once the deadline has passed.
    pub minutes_left: i64,
}

impl Protected {
    fn of(item: &Item, now: DateTime<Utc>) -> Option<Protected> {
        escalation::deadline_of(item).map(|deadline| Protected { deadline, minutes_left: minutes_left(deadline, now) })
    }
}

/// A case with what its readers see with it.
#[derive(Debug, Clone)]
pub struct CaseFile {
    pub case: Case,
    pub item: Item,
    /// Code of the organization that must answer now.
    pub owner_code: String,
    pub protected: Option<Protected>,
    /// The public id of the area incident the case is grouped under.
    pub incident: Option<String>,
    /// The institution acknowledged the dossier's pre-advice: the candidate's place is kept.
    pub place_kept: bool,
    /// The case's timeline, oldest first.
    pub entries: Vec<CaseEntry>,
}

/// A case of a list, with its item and its owner's code.
#[derive(Debug, Clone)]
pub struct ListedCase {
    pub case: Case,
    pub item: Item,
    pub owner_code: String,
    pub protected: Option<Protected>,
    pub incident: Option<String>,
    pub place_kept: bool,
}

/// Something done to a case. The texts are as sent: the service checks them.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseCommand {
    /// The item's carrier takes the case on, with a plan and the time it
    /// expects to settle it (RFC 3339 with offset).
    Acknowledge { plan: String, expected_at: String },
    Comment { note: String },
    /// The item's carrier settles the case; `DeclaredLost` also records the
    /// loss on the item.
    Resolve { outcome: CaseOutcome, note: Option<String> },
    /// The item's sender closes a resolved case.
    Close { note: Option<String> },
    /// Raise the case one level by hand.
    Escalate { note: Option<String> },
    /// The steering committee, at the top level, tells an organization (by
    /// code) what to do and by when (RFC 3339 with offset): that time is the
    /// case's new response time and that organization its owner.
    Direct { instruction: String, organization: String, respond_by: String },
}

impl CaseCommand {
    fn action(&self) -> CaseAction {
        match self {
            CaseCommand::Acknowledge { .. } => CaseAction::Acknowledged,
            CaseCommand::Comment { .. } => CaseAction::Commented,
            CaseCommand::Resolve { .. } => CaseAction::Resolved,
            CaseCommand::Close { .. } => CaseAction::Closed,
            CaseCommand::Escalate { .. } => CaseAction::Escalated,
            CaseCommand::Direct { .. } => CaseAction::Directed,
        }
    }
}

/// A command whose texts were checked.
enum Checked {
    Acknowledge { plan: String, expected_at: DateTime<Utc> },
    Comment { note: String },
    Resolve { outcome: CaseOutcome, note: Option<String> },
    Close { note: Option<String> },
    Escalate { note: Option<String> },
    Direct { instruction: String, organization: String, respond_by: DateTime<Utc> },
}

fn note(text: Option<&str>) -> Result<Option<String>, Error> {
    fields::optional_text(text, 2000).map_err(|r| Error::field("note", r))
}

fn check(command: CaseCommand) -> Result<Checked, Error> {
    Ok(match command {
        CaseCommand::Acknowledge { plan, expected_at } => {
            let mut errors = FieldErrors::default();
            let plan = errors.check("plan", fields::text(&plan, 2000));
            let expected = errors.check("expected_at", fields::timestamp(&expected_at));
            match (plan, expected) {
                (Some(plan), Some(expected)) if errors.is_empty() => Checked::Acknowledge { plan, expected_at: expected.with_timezone(&Utc) },
                _ => return Err(Error::Invalid(errors.0)),
            }
        }
        CaseCommand::Comment { note: text } => Checked::Comment { note: note(Some(&text))?.ok_or_else(|| Error::field("note", "must not be empty"))? },
        CaseCommand::Resolve { outcome, note: text } => Checked::Resolve { outcome, note: note(text.as_deref())? },
        CaseCommand::Close { note: text } => Checked::Close { note: note(text.as_deref())? },
        CaseCommand::Escalate { note: text } => Checked::Escalate { note: note(text.as_deref())? },
        CaseCommand::Direct { instruction, organization, respond_by } => {
            let mut errors = FieldErrors::default();
            let instruction = errors.check("instruction", fields::text(&instruction, 2000));
            let organization = errors.check("organization", fields::text(&organization, 64));
            let respond_by = errors.check("respond_by", fields::timestamp(&respond_by));
            match (instruction, organization, respond_by) {
                (Some(instruction), Some(organization), Some(by)) if errors.is_empty() => {
                    Checked::Direct { instruction, organization: organization.to_uppercase(), respond_by: by.with_timezone(&Utc) }
                }
                _ => return Err(Error::Invalid(errors.0)),
            }
        }
    })
}

/// The case and its item, if the actor may see the item or the case was
/// directed to the actor's organization.
fn visible_case(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<(Case, Item), Error> {
    let not_found = || Error::NotFound(format!("no case {id} that you can see"));
    let case = store::cases::find_by_public_id(conn, id)?.ok_or_else(not_found)?;
    let item = store::items::find(conn, case.item_id)?;
    if !actor.item_scope().includes(&item) && case.owner_org_id != actor.org_id {
        return Err(not_found());
    }
    Ok((case, item))
}

/// Who may take which action on a case they can see: the item's carrier
/// answers for it, and so does an organization the committee directed it
/// to; at the top level the steering committee (overseer) may direct,
/// acknowledge, resolve and close; the sender closes.
fn allowed(actor: &Actor, case: &Case, item: &Item, action: CaseAction) -> Result<(), Error> {
    use CaseAction::*;
    let top = case.level >= TOP_LEVEL;
    let owns = case.owner_org_id == actor.org_id;
    let ok = match (actor.role, action) {
        (Role::Admin, _) => true,
        (_, Commented | Escalated) => true,
        (Role::Overseer, Acknowledged | Resolved | Closed | Directed) => top,
        (Role::Carrier, Acknowledged | Resolved) => item.carrier_org_id == actor.org_id || owns,
        (Role::Education, Acknowledged | Resolved) => owns,
        (Role::Education, Closed) => item.sender_org_id == actor.org_id,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let who = match action {
        Acknowledged | Resolved => "the item's carrier, the organization the case is directed to, or the steering committee at level 3",
        Closed => "the item's sender, or the steering committee at level 3",
        Directed => "the steering committee (overseer), once the case is at level 3,",
        _ => "an admin",
    };
    Err(Error::Forbidden(format!("only {who} may do this")))
}

fn changed(done: bool) -> Result<(), Error> {
    if done {
        Ok(())
    } else {
        Err(Error::Conflict { detail: "the case changed meanwhile; read it again".into(), existing_id: None })
    }
}

fn incident_of(conn: &mut DbConn, case: &Case) -> Result<Option<String>, Error> {
    Ok(match case.incident_id {
        Some(id) => Some(store::incidents::find(conn, id)?.public_id),
        None => None,
    })
}

fn owner_code(conn: &mut DbConn, case: &Case) -> Result<String, Error> {
    Ok(store::organizations::find(conn, &case.owner_org_id)?.map(|o| o.code).unwrap_or_default())
}

/// A case as stored now, with its item, owner and timeline.
fn file(conn: &mut DbConn, case_id: i64, now: DateTime<Utc>) -> Result<CaseFile, Error> {
    let case = store::cases::find(conn, case_id)?;
    let item = store::items::find(conn, case.item_id)?;
    let owner_code = owner_code(conn, &case)?;
    let entries = store::cases::entries(conn, case.id)?;
    let protected = Protected::of(&item, now);
    let incident = incident_of(conn, &case)?;
    let place_kept = store::pre_advices::acknowledged(conn, item.id)?;
    Ok(CaseFile { case, item, owner_code, protected, incident, place_kept, entries })
}

/// A case the actor can see, with its timeline.
pub fn find(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, id: &str) -> Result<CaseFile, Error> {
    let (case, _) = visible_case(conn, actor, id)?;
    file(conn, case.id, clock.now())
}

/// Runs one action on a case: visibility, permission and state checks, the
/// change, and its timeline entry, in one write transaction. Returns the
/// case as it is after.
pub fn act(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, id: &str, command: CaseCommand) -> Result<CaseFile, Error> {
    let action = command.action();
    let command = check(command)?;
    let now = clock.now();
    conn.write_transaction(|conn| {
        let (case, item) = visible_case(conn, actor, id)?;
        allowed(actor, &case, &item, action)?;
        let next = transition(case.state, action).map_err(|detail| Error::Conflict { detail, existing_id: None })?;
        apply(conn, actor, &case, &item, next, command, now)?;
        file(conn, case.id, now)
    })
}

fn apply(conn: &mut DbConn, actor: &Actor, case: &Case, item: &Item, next: CaseState, command: Checked, now: DateTime<Utc>) -> Result<(), Error> {
    let at = now.naive_utc();
    match command {
        Checked::Acknowledge { plan, expected_at } => {
            let changes = StateChanges { plan: Some(plan.clone()), expected_at: Some(expected_at.naive_utc()), outcome: None };
            changed(store::cases::change_state(conn, case, next, changes, at)?)?;
            store::cases::add_entry(conn, case, CaseAction::Acknowledged, &actor.client_id, Some(&plan), at)?;
        }
        Checked::Comment { note } => store::cases::add_entry(conn, case, CaseAction::Commented, &actor.client_id, Some(&note), at)?,
        Checked::Resolve { outcome, note } => {
            if case.kind == CaseKind::RecipientReport && note.is_none() {
                return Err(Error::field("note", "is the answer the candidate reads on the lookup page; write it"));
            }
            changed(escalation::resolve(conn, case, outcome, &actor.client_id, note.as_deref(), now)?)?;
            if outcome == CaseOutcome::DeclaredLost && item.status != ItemStatus::Lost {
                declare_lost(conn, actor, case, item, now)?;
            }
        }
        Checked::Close { note } => {
            changed(store::cases::change_state(conn, case, next, StateChanges::default(), at)?)?;
            store::cases::add_entry(conn, case, CaseAction::Closed, &actor.client_id, note.as_deref(), at)?;
        }
        Checked::Escalate { note } => {
            if case.level >= TOP_LEVEL {
                return Err(Error::Conflict { detail: "the case is already at the top level".into(), existing_id: None });
            }
            changed(escalation::rise(conn, case, &actor.client_id, note.as_deref(), now)?)?;
        }
        Checked::Direct { instruction, organization, respond_by } => {
            if case.level < TOP_LEVEL {
                return Err(Error::Conflict { detail: "only a case at level 3 can be directed; escalate it first".into(), existing_id: None });
            }
            if respond_by <= now {
                return Err(Error::field("respond_by", "must be in the future"));
            }
            let org = store::organizations::find_by_code(conn, &organization)?
                .ok_or_else(|| Error::field("organization", format!("no organization with code {organization}")))?;
            let direction = escalation::Direction { instruction: &instruction, organization: &org, respond_by };
            changed(escalation::direct(conn, case, item, &direction, &actor.client_id, now)?)?;
        }
    }
    Ok(())
}

/// Records the carrier's declaration of loss as a `lost_declared` scan of
/// the item, in the transaction of the resolution.
fn declare_lost(conn: &mut DbConn, actor: &Actor, case: &Case, item: &Item, now: DateTime<Utc>) -> Result<(), Error> {
    let scan = RecordScan {
        tracking_number: item.tracking_number.clone(),
        season: Some(item.season.clone()),
        client_event_id: format!("case-{}-declared-lost", case.public_id),
        occurred_at: now.to_rfc3339(),
        office_code: item.last_office_code.clone().unwrap_or_else(|| "EXAMPOST".into()),
        office_name: None,
        operator_id: Some(actor.client_id.clone()),
        device_id: None,
        seal: None,
        detail: ScanDetail::LostDeclared { note: Some(format!("declared lost when resolving case {}", case.public_id)) },
    };
    match crate::app::scans::record_at(conn, now, actor, &scan)?.outcome {
        crate::app::scans::Outcome::Rejected(error) => Err(error),
        _ => Ok(()),
    }
}

/// Filters of the case list, as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseQuery {
    pub kind: Option<String>,
    pub level: Option<String>,
    pub state: Option<String>,
    /// Owner organization code.
    pub owner: Option<String>,
    pub tracking_number: Option<String>,
}

/// Checks the filters of a case list: every offending one, or the filter.
pub fn filter(conn: &mut DbConn, actor: &Actor, query: &CaseQuery) -> Result<CaseFilter, Error> {
    let mut errors = FieldErrors::default();
    let mut filter = CaseFilter {
        kind: query.kind.as_deref().and_then(|v| errors.check("kind", v.parse::<CaseKind>())),
        level: query.level.as_deref().and_then(|v| {
            errors.check("level", v.parse::<i32>().ok().filter(|l| (1..=TOP_LEVEL).contains(l)).ok_or_else(|| "must be 1, 2 or 3".to_string()))
        }),
        state: query.state.as_deref().and_then(|v| errors.check("state", v.parse::<CaseState>())),
        ..Default::default()
    };
    if let Some(code) = &query.owner {
        let code = code.trim().to_uppercase();
        let org = store::organizations::find_by_code(conn, &code)?;
        filter.owner_org_id = errors.check("owner", org.map(|o| o.id).ok_or_else(|| format!("no organization with code {code}")));
    }
    if let Some(number) = &query.tracking_number {
        if let Some(number) = errors.check("tracking_number", s10::normalize(number).map_err(|e| e.to_string())) {
            let item = store::items::find_visible(conn, &actor.item_scope(), &number, None)?;
            // An item the actor cannot see has no cases to show: -1 matches none.
            filter.item_id = Some(item.map(|i| i.id).unwrap_or(-1));
        }
    }
    if errors.is_empty() {
        Ok(filter)
    } else {
        Err(Error::Invalid(errors.0))
    }
}

/// Up to `limit` cases the actor can see that match `filter`, newest
/// first, from before the case with id `before_id`.
pub fn list(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, filter: &CaseFilter, before_id: Option<i64>, limit: i64) -> Result<Vec<ListedCase>, Error> {
    let now = clock.now();
    let rows = store::cases::list_visible(conn, &actor.item_scope(), filter, before_id, limit)?;
    let mut items: std::collections::HashMap<i64, Item> = std::collections::HashMap::new();
    let mut listed = Vec::with_capacity(rows.len());
    for case in rows {
        if let std::collections::hash_map::Entry::Vacant(slot) = items.entry(case.item_id) {
            slot.insert(store::items::find(conn, case.item_id)?);
        }
        let owner_code = owner_code(conn, &case)?;
        let item = items[&case.item_id].clone();
        let incident = incident_of(conn, &case)?;
        let place_kept = store::pre_advices::acknowledged(conn, item.id)?;
        listed.push(ListedCase { protected: Protected::of(&item, now), incident, place_kept, item, case, owner_code });
    }
    Ok(listed)
}

/// Case openings per sweep transaction.
const SWEEP_GROUP: usize = 200;

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub items_checked: usize,
    pub cases_opened: usize,
    pub cases_escalated: usize,
    /// Digest mails written for contacts whose period was over.
    pub digests_sent: usize,
    /// Items newly linked to an open area incident (come into its area or window since).
    pub incident_items_linked: usize,
    /// Openings and escalations that failed; the next sweep tries them again.
    pub failed: usize,
}

/// Opens each case in a savepoint of its own; the number opened.
fn open_one_by_one(conn: &mut DbConn, openings: &[(Item, CaseKind)], now: DateTime<Utc>, failed: &mut usize) -> Result<usize, Error> {
    conn.write_transaction(|conn| -> Result<usize, Error> {
        let mut opened = 0;
        for (item, kind) in openings {
            match conn.write_transaction(|conn| escalation::open_case(conn, item, *kind, None, now)) {
                Ok(Some(_)) => opened += 1,
                Ok(None) => {}
                Err(e) => {
                    *failed += 1;
                    tracing::warn!(error = %e, item = item.id, kind = %kind, "opening a case failed; next sweep retries");
                }
            }
        }
        Ok(opened)
    })
}

/// One pass of the time rules over the items that may need attention, then
/// the ladder over unacknowledged cases. Safe to run in several processes:
/// cases are unique per item and kind, and the ladder moves a case only
/// from the level it was read at.
pub fn sweep(conn: &mut DbConn, clock: &dyn Clock) -> Result<SweepReport, Error> {
    let now = clock.now();
    // Incidents first, so that the cases this pass opens are grouped under them.
    let incident_items_linked = crate::app::incidents::relink_open(conn, clock)?;
    let due = escalation::due_openings(conn, now)?;
    let mut report = SweepReport { items_checked: due.items_checked, incident_items_linked, ..Default::default() };
    // A few hundred openings per transaction (a commit is a disk flush on
    // PostgreSQL), written set-based. A group the database refuses is opened
    // again one by one, each in a savepoint of its own, so that one failure
    // costs only itself.
    let mut failed = 0;
    for group in due.openings.chunks(SWEEP_GROUP) {
        match conn.write_transaction(|conn| escalation::open_cases(conn, &due.rules, group, now)) {
            Ok(opened) => report.cases_opened += opened.len(),
            Err(e) => {
                tracing::warn!(error = %e, openings = group.len(), "opening a group of cases failed; opening them one by one");
                report.cases_opened += open_one_by_one(conn, group, now, &mut failed)?;
            }
        }
    }
    // Each case climbs in a transaction of its own: one the database refuses
    // must not hold back the others, nor stop the pass.
    for case in escalation::due_to_rise(conn, now)? {
        match conn.write_transaction(|conn| escalation::rise(conn, &case, "system", Some("not acknowledged in time"), now)) {
            Ok(true) => report.cases_escalated += 1,
            Ok(false) => {}
            Err(e) => {
                failed += 1;
                tracing::warn!(error = %e, case = %case.public_id, "escalating a case failed; next sweep retries");
            }
        }
    }
    // Digests last, so that this pass's news are in them when a period ends
    // now; each contact's in a transaction of its own.
    for contact_id in crate::notify::digests_due(conn, now)? {
        match conn.write_transaction(|conn| crate::notify::write_digest(conn, &contact_id, now)) {
            Ok(written) => report.digests_sent += usize::from(written),
            Err(e) => {
                failed += 1;
                tracing::warn!(error = %e, contact = %contact_id, "writing a digest failed; next sweep retries");
            }
        }
    }
    report.failed = failed;
    Ok(report)
}
