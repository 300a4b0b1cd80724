use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::organizations;
use crate::db::DbConn;
use crate::domain::OrgKind;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: String,
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    pub province: String,
    pub created_at: NaiveDateTime,
    /// A provincial Department of Education: reads every item of its province.
    pub reads_province: bool,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = organizations)]
pub struct NewOrganization<'a> {
    pub id: &'a str,
    pub code: &'a str,
    pub name: &'a str,
    pub kind: OrgKind,
    pub province: &'a str,
    pub created_at: NaiveDateTime,
    pub reads_province: bool,
}

/// Inserts an organization; a taken code is a unique violation.
pub fn create(conn: &mut DbConn, new: &NewOrganization) -> QueryResult<Organization> {
    diesel::insert_into(organizations::table).values(new).execute(conn)?;
    organizations::table.find(new.id).first(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Organization>> {
    organizations::table.find(id).first(conn).optional()
}

pub fn find_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<Organization>> {
    organizations::table.filter(organizations::code.eq(code)).first(conn).optional()
}

/// Organizations keyed by code, for resolving the codes a request names.
pub fn by_codes(conn: &mut DbConn, codes: &[String]) -> QueryResult<HashMap<String, Organization>> {
    let found: Vec<Organization> = organizations::table.filter(organizations::code.eq_any(codes)).load(conn)?;
    Ok(found.into_iter().map(|o| (o.code.clone(), o)).collect())
}

/// Organizations keyed by id, for rendering the items of a page.
pub fn by_ids(conn: &mut DbConn, ids: &[String]) -> QueryResult<HashMap<String, Organization>> {
    let found: Vec<Organization> = organizations::table.filter(organizations::id.eq_any(ids)).load(conn)?;
    Ok(found.into_iter().map(|o| (o.id.clone(), o)).collect())
}

/// A page of organizations ordered by code, after `after_code`.
pub fn list(conn: &mut DbConn, kind: Option<&str>, after_code: Option<&str>, limit: i64) -> QueryResult<Vec<Organization>> {
    let mut query = organizations::table.order(organizations::code.asc()).limit(limit).into_boxed();
    if let Some(kind) = kind {
        query = query.filter(organizations::kind.eq(kind));
    }
    if let Some(after) = after_code {
        query = query.filter(organizations::code.gt(after));
    }
    query.load(conn)
}
