//! Replacing a lost item: its sender registers a new one with the lost
//! one's content, linked both ways; the lost item's cases settle as `replaced`
//! and the candidate told the new number.

use chrono::{DateTime, Utc};

use super::{prepare, read, Candidate, Destination, Recipient, RegisterItem};
use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::cases::CaseOutcome;
use crate::domain::{ItemStatus, Priority, Role};
use crate::escalation;
use crate::notify::templates::CandidateNews;
use crate::store::items::{Item, Registered};
use crate::store::{self};

/// The replacement of the lost item `tracking_number` (of `season`, or the
/// newest the actor sees): a new number; what is not given is the lost one's.
#[derive(Debug, Clone)]
pub struct ReplaceItem {
    pub tracking_number: String,
    pub season: Option<String>,
    pub new_tracking_number: String,
    /// Carrier code; `None`: the lost item's carrier.
    pub carrier_org: Option<String>,
    /// `None`: the lost item's, if still ahead.
    pub must_arrive_by: Option<String>,
    pub seal_number: Option<String>,
    pub reference: Option<String>,
}

/// Registers the replacement of a lost item; returns the replacement.
pub fn replace(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, command: ReplaceItem) -> Result<Item, Error> {
    actor.require(&[Role::Education, Role::Carrier, Role::Admin])?;
    let now = clock.now();
    conn.write_transaction(|conn| {
        let scope = actor.item_scope();
        let lost = read::find_item(conn, actor, &command.tracking_number, command.season.as_deref())?;
        let number = &lost.tracking_number;
        // The sender replaces; a candidate's own dossier is replaced by who
        // registered it for them or by the institution waiting for it.
        let may = actor.role == Role::Admin
            || lost.sender_org_id == actor.org_id
            || (lost.sent_by_candidate && lost.recipient_org_id.as_deref() == Some(actor.org_id.as_str()));
        if !may {
            return Err(Error::Forbidden("only the item's sender (for a candidate's dossier: who registered it, or the receiving institution) issues a replacement".into()));
        }
        if lost.status != ItemStatus::Lost {
            return Err(Error::Conflict {
                detail: format!("{number} is not lost (it is {}); only a lost item is replaced", lost.status),
                existing_id: None,
            });
        }
        if let Some(existing) = lost.replaced_by_item_id {
            let existing = store::items::find(conn, existing)?;
            if !scope.includes(&existing) {
                return Err(Error::Conflict { detail: format!("{number} is already replaced"), existing_id: None });
            }
            return Err(Error::Conflict {
                detail: format!("{number} is already replaced by {}", existing.tracking_number),
                existing_id: Some(existing.public_id),
            });
        }
        let registration = replacement_of(conn, &lost, &command, now)?;
        let new = prepare(conn, actor, &registration, now)?;
        let replacement = match store::items::register(conn, &new)? {
            Registered::Created(item) => item,
            Registered::Replayed(item) | Registered::Conflict(item) => {
                // Another organization may hold the number: its item's id is not ours to tell.
                let readable = scope.includes(&item);
                return Err(Error::Conflict {
                    detail: format!("{} is already registered this season", item.tracking_number),
                    existing_id: readable.then_some(item.public_id),
                });
            }
        };
        store::items::link_replacement(conn, lost.id, replacement.id, now.naive_utc())?;
        let active = store::cases::active_for_item(conn, lost.id)?;
        let note = format!("replaced by {}", replacement.tracking_number);
        escalation::settle(conn, &active, CaseOutcome::Replaced, &actor.client_id, &note, now)?;
        let news = CandidateNews::Replaced { new_tracking_number: replacement.tracking_number.clone() };
        crate::notify::candidate(conn, &lost, news, now)?;
        Ok(store::items::find(conn, replacement.id)?)
    })
}

/// The registration of a replacement: the lost item's content (its
/// organizations by code, as a sender would write them), a new number, urgent.
fn replacement_of(conn: &mut DbConn, lost: &Item, command: &ReplaceItem, now: DateTime<Utc>) -> Result<RegisterItem, Error> {
    let bad = |what: &str| Error::internal(format!("item {} has a bad stored {what}", lost.public_id));
    let ids: Vec<String> = [Some(&lost.sender_org_id), Some(&lost.carrier_org_id), lost.recipient_org_id.as_ref()].into_iter().flatten().cloned().collect();
    let orgs = store::organizations::by_ids(conn, &ids)?;
    let code = |id: &str| orgs.get(id).map(|o| o.code.clone()).ok_or_else(|| Error::internal(format!("organization {id} missing")));
    let candidate = match (&lost.candidate_number, &lost.candidate_name, lost.candidate_dob) {
        (Some(number), Some(name), Some(dob)) => Some(Candidate {
            candidate_number: number.clone(),
            full_name: name.clone(),
            date_of_birth: dob.format("%Y-%m-%d").to_string(),
            phone: lost.candidate_phone.clone(),
            email: lost.candidate_email.clone(),
        }),
        _ => None,
    };
    let (recipient, candidate) = match &lost.recipient_org_id {
        Some(org_id) => (Recipient::Organization { organization: code(org_id)?, attention: lost.recipient_attention.clone() }, candidate),
        None => (Recipient::Candidate(candidate.ok_or_else(|| bad("candidate"))?), None),
    };
    let deadline = command.must_arrive_by.clone().or_else(|| lost.must_arrive_by.map(|t| t.and_utc()).filter(|t| *t > now).map(|t| t.to_rfc3339()));
    Ok(RegisterItem {
        tracking_number: command.new_tracking_number.clone(),
        season: lost.season.clone(),
        kind: lost.kind,
        priority: Some(Priority::Urgent),
        // A candidate's own dossier has no sending organization: whoever replaces it registers it.
        sender_org: if lost.sent_by_candidate { None } else { Some(code(&lost.sender_org_id)?) },
        carrier_org: Some(match &command.carrier_org {
            Some(carrier) => carrier.clone(),
            None => code(&lost.carrier_org_id)?,
        }),
        recipient,
        candidate,
        destination: Destination {
            province: lost.dest_province.clone(),
            ward: lost.dest_ward.clone(),
            address_line: lost.dest_address.clone(),
        },
        seal_number: command.seal_number.clone(),
        confidential: lost.confidential,
        sent_by_candidate: lost.sent_by_candidate,
        origin_province: lost.sent_by_candidate.then(|| lost.origin_province.clone()),
        must_arrive_by: deadline,
        reference: Some(command.reference.clone().unwrap_or_else(|| format!("Thay thế bưu gửi thất lạc {}", lost.tracking_number))),
    })
}
