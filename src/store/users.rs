//! People who sign in with an e-mail and a password; each is an API client.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_clients, organizations, users};
use crate::db::DbConn;
use crate::store::clients::ApiClient;
use crate::store::organizations::Organization;

#[derive(Debug, Clone, Queryable)]
pub struct User {
    pub client_id: String,
    pub email: String,
    pub password_hash: String,
    pub manages_users: bool,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub client_id: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub manages_users: bool,
    pub created_by: &'a str,
    pub created_at: NaiveDateTime,
}

/// A user with the client it acts as and that client's organization.
pub type Account = (User, ApiClient, Organization);

pub fn create(conn: &mut DbConn, new: &NewUser) -> QueryResult<()> {
    diesel::insert_into(users::table).values(new).execute(conn).map(drop)
}

pub fn email_taken(conn: &mut DbConn, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(users::table.filter(users::email.eq(email)))).get_result(conn)
}

/// The account signing in with this e-mail, unless its client is revoked.
pub fn find_active_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<Account>> {
    users::table
        .inner_join(api_clients::table.inner_join(organizations::table))
        .filter(users::email.eq(email))
        .filter(api_clients::revoked_at.is_null())
        .select((users::all_columns, api_clients::all_columns, organizations::all_columns))
        .first(conn)
        .optional()
}

pub fn find_by_client(conn: &mut DbConn, client_id: &str) -> QueryResult<Option<Account>> {
    users::table
        .inner_join(api_clients::table.inner_join(organizations::table))
        .filter(users::client_id.eq(client_id))
        .select((users::all_columns, api_clients::all_columns, organizations::all_columns))
        .first(conn)
        .optional()
}

/// Users of one organization (or all), ordered by e-mail.
pub fn list(conn: &mut DbConn, organization_id: Option<&str>) -> QueryResult<Vec<Account>> {
    let mut query = users::table
        .inner_join(api_clients::table.inner_join(organizations::table))
        .select((users::all_columns, api_clients::all_columns, organizations::all_columns))
        .order(users::email.asc())
        .into_boxed();
    if let Some(org) = organization_id {
        query = query.filter(api_clients::organization_id.eq(org));
    }
    query.limit(1000).load(conn)
}

/// A new password; the client's credential generation moves on, which ends
/// every token issued before (on every replica, as a secret rotation does).
pub fn set_password(conn: &mut DbConn, client_id: &str, password_hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(client_id)).set(users::password_hash.eq(password_hash)).execute(conn)?;
    diesel::update(api_clients::table.find(client_id))
        .set(api_clients::credential_generation.eq(api_clients::credential_generation + 1))
        .execute(conn)
}
