use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_clients, organizations};
use crate::db::DbConn;
use crate::store::organizations::Organization;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = api_clients)]
pub struct ApiClient {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub role: String,
    pub secret_hash: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_clients)]
pub struct NewApiClient<'a> {
    pub id: &'a str,
    pub organization_id: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub secret_hash: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn create(conn: &mut DbConn, new: &NewApiClient) -> QueryResult<ApiClient> {
    diesel::insert_into(api_clients::table).values(new).execute(conn)?;
    api_clients::table.find(new.id).first(conn)
}

/// A client that has not been revoked, with its organization.
pub fn find_active(conn: &mut DbConn, id: &str) -> QueryResult<Option<(ApiClient, Organization)>> {
    api_clients::table
        .inner_join(organizations::table)
        .filter(api_clients::id.eq(id))
        .filter(api_clients::revoked_at.is_null())
        .first(conn)
        .optional()
}
