use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::contact_points;
use crate::db::{DbConn, TextList};
use crate::domain::cases::CaseKind;
use crate::domain::PlanRole;

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = contact_points)]
pub struct ContactPoint {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub position: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Empty means every kind.
    pub case_kinds: TextList<CaseKind>,
    /// Empty means every level.
    pub levels: TextList<i32>,
    pub lang: String,
    pub created_at: NaiveDateTime,
    /// 0: every case news at once; otherwise non-critical news wait for one
    /// digest mail per this many minutes.
    pub digest_minutes: i32,
    /// The plan's task this contact answers for (e.g. "Vận chuyển đề thi").
    pub task: Option<String>,
    /// Whether the unit leads the task or coordinates.
    pub plan_role: Option<PlanRole>,
    /// An exam site ("Điểm thi/Địa điểm"), when the contact is posted at one.
    pub exam_site: Option<String>,
    /// Takes the daily steering report by e-mail.
    pub daily_report: bool,
    /// Shown to candidates on the lookup page (a hotline, a help desk).
    pub public: bool,
}

impl ContactPoint {
    /// Whether this contact answers for a case of `kind` at `level`. A
    /// public help line answers candidates, not case mail: an organization
    /// that wants both adds two contacts.
    pub fn answers_for(&self, kind: CaseKind, level: i32) -> bool {
        if self.public {
            return false;
        }
        let kind_ok = self.case_kinds.is_empty() || self.case_kinds.values().contains(&kind);
        let level_ok = self.levels.is_empty() || self.levels.values().contains(&level);
        kind_ok && level_ok
    }
}

pub fn create(conn: &mut DbConn, contact: &ContactPoint) -> QueryResult<()> {
    diesel::insert_into(contact_points::table).values(contact).execute(conn).map(|_| ())
}

pub fn for_org(conn: &mut DbConn, organization_id: &str) -> QueryResult<Vec<ContactPoint>> {
    contact_points::table
        .filter(contact_points::organization_id.eq(organization_id))
        .order(contact_points::created_at.asc())
        .load(conn)
}

pub fn for_orgs(conn: &mut DbConn, organization_ids: &[String]) -> QueryResult<Vec<ContactPoint>> {
    contact_points::table
        .filter(contact_points::organization_id.eq_any(organization_ids))
        .order(contact_points::created_at.asc())
        .load(conn)
}

/// The contacts of these organizations that candidates may see, oldest first.
pub fn public_for_orgs(conn: &mut DbConn, organization_ids: &[&str]) -> QueryResult<Vec<ContactPoint>> {
    contact_points::table
        .filter(contact_points::organization_id.eq_any(organization_ids))
        .filter(contact_points::public.eq(true))
        .order(contact_points::created_at.asc())
        .load(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<ContactPoint>> {
    contact_points::table.find(id).first(conn).optional()
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(contact_points::table.find(id)).execute(conn)
}

/// The contacts that take the daily report and have an e-mail address.
pub fn report_subscribers(conn: &mut DbConn) -> QueryResult<Vec<ContactPoint>> {
    contact_points::table
        .filter(contact_points::daily_report.eq(true))
        .filter(contact_points::email.is_not_null())
        .order(contact_points::created_at.asc())
        .load(conn)
}

/// Records that a contact got its report for `day`; `false` when it already had.
pub fn record_report_sent(conn: &mut DbConn, contact_id: &str, day: chrono::NaiveDate, at: NaiveDateTime) -> QueryResult<bool> {
    use crate::db::schema::report_deliveries;
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(report_deliveries::table)
            .values((report_deliveries::contact_id.eq(contact_id), report_deliveries::day.eq(day), report_deliveries::sent_at.eq(at)))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if super::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}
