//! Carriers, education bodies and overseers.

use super::{org_code, stored_now};
use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::{fields, province, FieldErrors, OrgKind, Role};
use crate::store::organizations::{NewOrganization, Organization};
use crate::store;

/// An organization to register, as given.
pub struct CreateOrganization {
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    /// Province code, name or former name.
    pub province: String,
    /// A provincial Department of Education (an education organization):
    /// it reads every item leaving or reaching its province, read-only.
    pub reads_province: bool,
}

/// Registers an organization (admins); a taken code is a conflict naming its holder.
pub fn create_organization(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, command: CreateOrganization) -> Result<Organization, Error> {
    actor.require(&[Role::Admin])?;
    let mut errors = FieldErrors::default();
    let code = errors.check("code", fields::org_code(&command.code));
    let name = errors.check("name", fields::text(&command.name, 200));
    let province = province::resolve(&command.province);
    if province.is_none() {
        errors.push("province", "is not one of Vietnam's 34 provinces (code, name or former name)");
    }
    if command.reads_province && command.kind != OrgKind::Education {
        errors.push("reads_province", "only an education organization (a provincial Department of Education) reads its province");
    }
    let (Some(code), Some(name), Some(province), true) = (code, name, province, errors.is_empty()) else {
        return Err(Error::Invalid(errors.0));
    };
    let created_at = stored_now(clock);
    conn.write_transaction(|conn| {
        if let Some(existing) = store::organizations::find_by_code(conn, &code)? {
            return Err(Error::Conflict { detail: format!("organization code {code} is taken"), existing_id: Some(existing.id) });
        }
        let id = uuid::Uuid::new_v4().to_string();
        let new = NewOrganization { id: &id, code: &code, name: &name, kind: command.kind, province: province.code, created_at, reads_province: command.reads_province };
        Ok(store::organizations::create(conn, &new)?)
    })
}

/// A page of the directory, ordered by code (any client may read it:
/// carriers and senders name each other by code).
pub fn list_organizations(conn: &mut DbConn, kind: Option<OrgKind>, after_code: Option<&str>, limit: i64) -> Result<Vec<Organization>, Error> {
    Ok(store::organizations::list(conn, kind.map(OrgKind::as_str), after_code, limit)?)
}

pub fn find_organization(conn: &mut DbConn, id: &str) -> Result<Organization, Error> {
    store::organizations::find(conn, id)?.ok_or_else(|| Error::NotFound("no such organization".into()))
}

/// The organization a code names, or a refusal naming `field`.
pub(super) fn by_code(conn: &mut DbConn, field: &str, code: &str) -> Result<Organization, Error> {
    let code = org_code(code);
    store::organizations::find_by_code(conn, &code)?.ok_or_else(|| Error::field(field, format!("no organization with code {code}")))
}

/// The actor's own organization; gone means its standing is gone.
pub(super) fn own(conn: &mut DbConn, actor: &Actor) -> Result<Organization, Error> {
    store::organizations::find(conn, &actor.org_id)?.ok_or_else(|| Error::Unauthorized("your organization no longer exists".into()))
}
