use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_clients, organizations};
use crate::db::DbConn;
use crate::domain::Role;
use crate::store::organizations::Organization;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = api_clients)]
pub struct ApiClient {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub role: Role,
    pub secret_hash: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    /// Bumped by every secret rotation; tokens name the generation they were issued under.
    pub credential_generation: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_clients)]
pub struct NewApiClient<'a> {
    pub id: &'a str,
    pub organization_id: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub secret_hash: &'a str,
    pub created_at: NaiveDateTime,
}

/// What the bearer check needs to know about a token's client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStanding {
    Active { generation: i64 },
    Revoked,
    Gone,
}

pub fn create(conn: &mut DbConn, new: &NewApiClient) -> QueryResult<ApiClient> {
    diesel::insert_into(api_clients::table).values(new).execute(conn)?;
    api_clients::table.find(new.id).first(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<(ApiClient, Organization)>> {
    api_clients::table.inner_join(organizations::table).filter(api_clients::id.eq(id)).first(conn).optional()
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

/// Reads only the two columns the bearer check needs, by primary key.
pub fn find_standing(conn: &mut DbConn, id: &str) -> QueryResult<ClientStanding> {
    let row: Option<(Option<NaiveDateTime>, i64)> = api_clients::table
        .find(id)
        .select((api_clients::revoked_at, api_clients::credential_generation))
        .first(conn)
        .optional()?;
    Ok(match row {
        None => ClientStanding::Gone,
        Some((Some(_), _)) => ClientStanding::Revoked,
        Some((None, generation)) => ClientStanding::Active { generation },
    })
}

/// A page of clients with their organizations, ordered by id, after `after_id`.
pub fn list(conn: &mut DbConn, organization_id: Option<&str>, after_id: Option<&str>, limit: i64) -> QueryResult<Vec<(ApiClient, Organization)>> {
    let mut query = api_clients::table.inner_join(organizations::table).order(api_clients::id.asc()).limit(limit).into_boxed();
    if let Some(org) = organization_id {
        query = query.filter(api_clients::organization_id.eq(org));
    }
    if let Some(after) = after_id {
        query = query.filter(api_clients::id.gt(after));
    }
    query.load(conn)
}

/// Marks a client revoked at `at`; a client revoked earlier keeps its first time.
pub fn revoke(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(api_clients::table.find(id).filter(api_clients::revoked_at.is_null())).set(api_clients::revoked_at.eq(at)).execute(conn)
}

/// Replaces an active client's secret hash and starts a new credential generation.
/// Returns the number of rows changed: 0 when the client is revoked or unknown.
pub fn rotate_secret(conn: &mut DbConn, id: &str, secret_hash: &str) -> QueryResult<usize> {
    diesel::update(api_clients::table.find(id).filter(api_clients::revoked_at.is_null()))
        .set((api_clients::secret_hash.eq(secret_hash), api_clients::credential_generation.eq(api_clients::credential_generation + 1)))
        .execute(conn)
}
