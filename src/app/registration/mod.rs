//! Registering items: one, a batch, a spreadsheet, or the replacement of a
//! lost one; and reading them back within the actor's scope.
//!
//! Registration is idempotent on tracking number + season: the same content
//! again is a replay, different content a conflict naming the stored item
//! (when the actor may read it).

mod import;
pub mod sheet;
pub(crate) mod read;
mod replacement;
mod validate;

pub use import::{column_of, import, ImportLine, ImportReport, RejectedByField, RejectedRow, COLUMNS};
pub use read::{export_items, find_item, item_filter, list_items, ListItems};
pub use replacement::{replace, ReplaceItem};

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::Connection;

use super::{Actor, Error};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::{FieldError, ItemKind, Priority, Role};
use crate::store::items::{Item, ItemScope, NewItem, Registered};
use crate::store::organizations::Organization;
use crate::store::{self};

/// The roles that register items (overseers only read).
const REGISTRARS: &[Role] = &[Role::Education, Role::Carrier, Role::Admin];

/// An item to register, as the sender wrote it: the text is checked and
/// normalised here, every broken rule reported with its field.
#[derive(Debug, Clone)]
pub struct RegisterItem {
    pub tracking_number: String,
    pub season: String,
    pub kind: ItemKind,
    /// `None`: the kind's default priority (`/rules/kinds`).
    pub priority: Option<Priority>,
    /// Organization code; an education actor may leave it out (its own).
    pub sender_org: Option<String>,
    /// Organization code; a carrier actor may leave it out (its own).
    pub carrier_org: Option<String>,
    pub recipient: Recipient,
    /// The candidate an item to an organization concerns.
    pub candidate: Option<Candidate>,
    pub destination: Destination,
    pub seal_number: Option<String>,
    /// Sealed and confidential; an exam paper always is.
    pub confidential: bool,
    /// A dossier the candidate sends (application, change of preference,
    /// enrollment), registered by the accepting carrier or the receiving
    /// institution; `sender_org` is then left out.
    pub sent_by_candidate: bool,
    /// For a candidate's dossier: the province it was posted in (code or
    /// name); default the registering organization's.
    pub origin_province: Option<String>,
    /// A day (`YYYY-MM-DD`) or an RFC 3339 time.
    pub must_arrive_by: Option<String>,
    pub reference: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Recipient {
    Candidate(Candidate),
    /// An organization by code.
    Organization { organization: String, attention: Option<String> },
}

#[derive(Debug, Clone)]
pub struct Candidate {
    pub candidate_number: String,
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Destination {
    /// Code, name or former name of the province.
    pub province: String,
    pub ward: String,
    pub address_line: String,
}

/// What a registration did.
#[derive(Debug)]
pub enum Registration {
    Created(Item),
    /// Registered before with the same content: nothing new was stored.
    Replayed(Item),
}

/// What happened to one entry of a batch or one row of a spreadsheet.
#[derive(Debug)]
pub enum EntryOutcome {
    Created(Item),
    Duplicate(Item),
    /// Refused; the number when the refusal is about a stored item.
    Rejected { tracking_number: Option<String>, error: Error },
}

/// Refuses actors who may not register items. The services check it
/// themselves; a handler calls it first when it has checks of its own
/// (sizes, content types) that must not answer an overseer before this.
pub fn authorize(actor: &Actor) -> Result<(), Error> {
    actor.require(REGISTRARS)
}

/// Registers one item.
pub fn register(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, command: RegisterItem) -> Result<Registration, Error> {
    authorize(actor)?;
    let new = prepare(conn, actor, &command, clock.now())?;
    match conn.write_transaction(|conn| store::items::register(conn, &new))? {
        Registered::Created(item) => {
            metrics::counter!(crate::telemetry::names::ITEMS_REGISTERED).increment(1);
            Ok(Registration::Created(item))
        }
        Registered::Replayed(item) => Ok(Registration::Replayed(item)),
        Registered::Conflict(existing) => Err(conflict(&existing, &actor.item_scope())),
    }
}

/// Registers many items, each checked and stored on its own: a bad one is
/// refused in its outcome and never blocks the others. Outcomes come in the
/// order of `commands`.
pub fn register_batch(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, commands: Vec<RegisterItem>) -> Result<Vec<EntryOutcome>, Error> {
    authorize(actor)?;
    let prepared = prepare_many(conn, actor, &commands, clock.now())?;
    store_batch(conn, &actor.item_scope(), prepared)
}

/// Loads the actor's organization and every organization the commands name.
fn load_orgs(conn: &mut DbConn, actor: &Actor, commands: &[&RegisterItem]) -> Result<(Organization, HashMap<String, Organization>), Error> {
    let own = store::organizations::find(conn, &actor.org_id)?
        .ok_or_else(|| Error::Unauthorized("your client's organization no longer exists".into()))?;
    let mut codes: Vec<String> = commands.iter().flat_map(|c| validate::referenced_codes(c)).collect();
    codes.sort();
    codes.dedup();
    Ok((own, store::organizations::by_codes(conn, &codes)?))
}

/// The seasons the commands name (those that exist), by code.
fn seasons_of(conn: &mut DbConn, commands: &[&RegisterItem]) -> Result<HashMap<String, store::seasons::Season>, Error> {
    let mut codes: Vec<String> = commands.iter().filter_map(|c| crate::domain::fields::season(&c.season).ok()).collect();
    codes.sort();
    codes.dedup();
    Ok(store::seasons::by_codes(conn, &codes)?)
}

/// Checks a registration as of `now` and builds the row to store.
fn prepare(conn: &mut DbConn, actor: &Actor, command: &RegisterItem, now: DateTime<Utc>) -> Result<NewItem, Error> {
    let (own, orgs) = load_orgs(conn, actor, &[command])?;
    let default_priorities = store::rules::kind_priorities(conn)?;
    let seasons = seasons_of(conn, &[command])?;
    let ctx = validate::Context { actor, actor_org: &own, orgs: &orgs, default_priorities: &default_priorities, seasons: &seasons, now };
    validate::new_item(command, &ctx).map_err(Error::Invalid)
}

/// Checks many registrations, loading the organizations they name once.
fn prepare_many(
    conn: &mut DbConn,
    actor: &Actor,
    commands: &[RegisterItem],
    now: DateTime<Utc>,
) -> Result<Vec<Result<NewItem, Vec<FieldError>>>, Error> {
    let refs: Vec<&RegisterItem> = commands.iter().collect();
    let (own, orgs) = load_orgs(conn, actor, &refs)?;
    let default_priorities = store::rules::kind_priorities(conn)?;
    let seasons = seasons_of(conn, &refs)?;
    let ctx = validate::Context { actor, actor_org: &own, orgs: &orgs, default_priorities: &default_priorities, seasons: &seasons, now };
    Ok(commands.iter().map(|command| validate::new_item(command, &ctx)).collect())
}

/// Stores the valid entries in one transaction, each in its own savepoint.
/// Outcomes come in the order of `prepared`.
fn store_batch(conn: &mut DbConn, scope: &ItemScope, prepared: Vec<Result<NewItem, Vec<FieldError>>>) -> Result<Vec<EntryOutcome>, Error> {
    let mut outcomes: Vec<Option<EntryOutcome>> = Vec::with_capacity(prepared.len());
    let mut valid: Vec<(usize, NewItem)> = Vec::with_capacity(prepared.len());
    for (position, entry) in prepared.into_iter().enumerate() {
        match entry {
            Ok(new) => {
                valid.push((position, new));
                outcomes.push(None);
            }
            Err(errors) => outcomes.push(Some(EntryOutcome::Rejected { tracking_number: None, error: Error::Invalid(errors) })),
        }
    }
    // Two uploads registering the same new numbers each wait on the other's
    // uncommitted rows; in different orders, each would hold a number the
    // other waits for (a deadlock on PostgreSQL). In key order the later one
    // just waits for the earlier.
    valid.sort_by(|(_, a), (_, b)| (&a.season, &a.tracking_number).cmp(&(&b.season, &b.tracking_number)));
    let stored = conn.write_transaction_retrying(|conn| {
        valid
            .iter()
            .map(|(_, new)| conn.transaction(|conn| store::items::register(conn, new)).map_err(Error::from))
            .collect::<Result<Vec<_>, Error>>()
    })?;
    let created = stored.iter().filter(|registered| matches!(registered, Registered::Created(_))).count();
    metrics::counter!(crate::telemetry::names::ITEMS_REGISTERED).increment(created as u64);
    for ((position, _), registered) in valid.iter().zip(stored) {
        outcomes[*position] = Some(match registered {
            Registered::Created(item) => EntryOutcome::Created(item),
            Registered::Replayed(item) => EntryOutcome::Duplicate(item),
            Registered::Conflict(item) => {
                EntryOutcome::Rejected { error: conflict(&item, scope), tracking_number: Some(item.tracking_number) }
            }
        });
    }
    Ok(outcomes.into_iter().flatten().collect())
}

/// A number taken this season by a different item. Its id and the fact that
/// its content differs are told only to those who may read it: to anyone
/// else the id would reveal another organization's item and, being a
/// UUIDv7, when it was registered.
fn conflict(existing: &Item, scope: &ItemScope) -> Error {
    if !scope.includes(existing) {
        return Error::Conflict {
            detail: format!("{} is already registered for season {}", existing.tracking_number, existing.season),
            existing_id: None,
        };
    }
    Error::Conflict {
        detail: format!("{} is already registered for season {} with different content", existing.tracking_number, existing.season),
        existing_id: Some(existing.public_id.clone()),
    }
}
