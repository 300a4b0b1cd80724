//! Contact points: who answers for which cases, at which level, and how to
//! reach them (the task table at the end of every provincial plan).

use super::organizations::{by_code, own};
use super::stored_now;
use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::{DbConn, TextList};
use crate::domain::cases::{CaseKind, TOP_LEVEL};
use crate::domain::{fields, FieldErrors, PlanRole, Role};
use crate::store;
use crate::store::contacts::ContactPoint;

/// A contact point to add, as given.
pub struct AddContact {
    pub name: String,
    pub position: Option<String>,
    /// At least one of phone and email.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Case kinds the contact answers for; empty: all.
    pub case_kinds: Vec<CaseKind>,
    /// Levels (1-3) the contact answers for; empty: all.
    pub levels: Vec<i32>,
    /// Language of the e-mails: `vi` (the default) or `en`.
    pub lang: Option<String>,
    /// Minutes between digests of non-critical case news; `None` or 0: every news at once.
    pub digest_minutes: Option<i32>,
    /// The plan's task, the unit's part in it, and an exam site.
    pub task: Option<String>,
    pub plan_role: Option<PlanRole>,
    pub exam_site: Option<String>,
    /// Takes the daily steering report by e-mail.
    pub daily_report: bool,
    /// Shown to candidates on the lookup page.
    pub public: bool,
    /// Another organization's code (admins only); `None`: the actor's own.
    pub organization: Option<String>,
}

/// The shortest and longest digest periods: a quarter of an hour, a day.
pub const MIN_DIGEST_MINUTES: i32 = 15;
pub const MAX_DIGEST_MINUTES: i32 = 24 * 60;

/// A contact point with its organization's code.
#[derive(Debug)]
pub struct OrgContact {
    pub contact: ContactPoint,
    pub organization_code: String,
}

/// The contact points of the organization with this code, or of the actor's
/// own. Any client may read any table: it is how they reach each other.
pub fn list_contacts(conn: &mut DbConn, actor: &Actor, organization: Option<&str>) -> Result<Vec<OrgContact>, Error> {
    let org = match organization {
        Some(code) => by_code(conn, "organization", code)?,
        None => own(conn, actor)?,
    };
    let contacts = store::contacts::for_org(conn, &org.id)?;
    Ok(contacts.into_iter().map(|contact| OrgContact { contact, organization_code: org.code.clone() }).collect())
}

/// Adds a contact point to the actor's organization (admins: to any).
pub fn add_contact(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, command: AddContact) -> Result<OrgContact, Error> {
    let mut errors = FieldErrors::default();
    let name = errors.check("name", fields::text(&command.name, 200));
    let position = errors.check("position", fields::optional_text(command.position.as_deref(), 200));
    let phone = errors.check("phone", command.phone.as_deref().filter(|p| !p.trim().is_empty()).map(fields::phone).transpose());
    let email = errors.check("email", command.email.as_deref().filter(|e| !e.trim().is_empty()).map(fields::email).transpose());
    if matches!((&phone, &email), (Some(None), Some(None))) {
        errors.push("phone", "a contact needs a phone number or an e-mail address");
    }
    if let Some(bad) = command.levels.iter().find(|l| !(1..=TOP_LEVEL).contains(l)) {
        errors.push("levels", format!("{bad} is not a level; levels are 1, 2 and 3"));
    }
    let digest_minutes = command.digest_minutes.unwrap_or(0);
    if !(digest_minutes == 0 || (MIN_DIGEST_MINUTES..=MAX_DIGEST_MINUTES).contains(&digest_minutes)) {
        errors.push("digest_minutes", format!("must be 0 (at once) or from {MIN_DIGEST_MINUTES} to {MAX_DIGEST_MINUTES} minutes"));
    }
    let task = errors.check("task", fields::optional_text(command.task.as_deref(), 300));
    let exam_site = errors.check("exam_site", fields::optional_text(command.exam_site.as_deref(), 300));
    let lang = command.lang.unwrap_or_else(|| "vi".into());
    if lang != "vi" && lang != "en" {
        errors.push("lang", "must be vi or en");
    }
    if command.organization.is_some() && actor.role != Role::Admin {
        errors.push("organization", "only admins add contacts to another organization");
    }
    let (Some(name), Some(position), Some(phone), Some(email), true) = (name, position, phone, email, errors.is_empty()) else {
        return Err(Error::Invalid(errors.0));
    };
    let org = match &command.organization {
        Some(code) => by_code(conn, "organization", code)?,
        None => own(conn, actor)?,
    };
    let contact = ContactPoint {
        id: uuid::Uuid::now_v7().to_string(),
        organization_id: org.id,
        name,
        position,
        phone,
        email,
        case_kinds: TextList::new(command.case_kinds),
        levels: TextList::new(command.levels),
        lang,
        created_at: stored_now(clock),
        digest_minutes,
        task: task.flatten(),
        plan_role: command.plan_role,
        exam_site: exam_site.flatten(),
        daily_report: command.daily_report,
        public: command.public,
    };
    store::contacts::create(conn, &contact)?;
    crate::app::lookup::help::forget(&contact.organization_id);
    Ok(OrgContact { contact, organization_code: org.code })
}

/// Removes one of the actor's organization's contact points (admins: any).
pub fn delete_contact(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<(), Error> {
    let contact = store::contacts::find(conn, id)?.filter(|c| actor.role == Role::Admin || c.organization_id == actor.org_id);
    let contact = contact.ok_or_else(|| Error::NotFound(format!("no contact {id} of your organization")))?;
    store::contacts::delete(conn, &contact.id)?;
    crate::app::lookup::help::forget(&contact.organization_id);
    Ok(())
}
