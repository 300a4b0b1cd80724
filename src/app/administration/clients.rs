//! API clients: the credentials carriers' systems and departments use.
//! A secret is stored only as a hash and shown once, when it is made.

use super::organizations::by_code;
use super::stored_now;
use crate::app::{Actor, Error};
use crate::auth::{generate_secret, hash_secret};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::{fields, Role};
use crate::store;
use crate::store::clients::{ApiClient, NewApiClient};
use crate::store::organizations::Organization;

/// A client to create for the organization with this code.
pub struct CreateClient {
    /// Organization code.
    pub organization: String,
    /// What the client is, for people reading logs.
    pub name: String,
    /// Must fit the organization's kind; `admin` fits any.
    pub role: Role,
}

/// The id and secret a client gets, when they are chosen (the demo's published credentials).
pub struct ChosenCredentials {
    pub id: String,
    pub secret: String,
}

/// A new client with its secret, which is never shown again.
#[derive(Debug)]
pub struct IssuedClient {
    pub client: ApiClient,
    pub secret: String,
}

/// A client with the organization it acts for.
#[derive(Debug)]
pub struct ClientRecord {
    pub client: ApiClient,
    pub organization: Organization,
}

/// A client with its new secret, shown once.
#[derive(Debug)]
pub struct RotatedClient {
    pub client: ApiClient,
    pub secret: String,
}

/// Which clients to list: optionally of one organization (by code), after an id.
pub struct ClientListing {
    pub organization: Option<String>,
    pub after_id: Option<String>,
    pub limit: i64,
}

/// Creates a client with a fresh id and secret.
pub fn create_client(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, command: CreateClient) -> Result<IssuedClient, Error> {
    let chosen = ChosenCredentials { id: uuid::Uuid::new_v4().to_string(), secret: generate_secret() };
    create_client_with(conn, clock, actor, command, chosen)
}

/// Creates a client with a chosen id and secret.
pub fn create_client_with(
    conn: &mut DbConn,
    clock: &dyn Clock,
    actor: &Actor,
    command: CreateClient,
    chosen: ChosenCredentials,
) -> Result<IssuedClient, Error> {
    actor.require(&[Role::Admin])?;
    let name = fields::text(&command.name, 200).map_err(|reason| Error::field("name", reason))?;
    let org = by_code(conn, "organization", &command.organization)?;
    let role = command.role;
    if let Some(kind) = role.required_org_kind() {
        if org.kind != kind {
            return Err(Error::field("role", format!("role {role} needs a {kind} organization; {} is a {}", org.code, org.kind)));
        }
    }
    let hash = hash_secret(&chosen.secret);
    let new = NewApiClient {
        id: &chosen.id,
        organization_id: &org.id,
        name: &name,
        role,
        secret_hash: &hash,
        created_at: stored_now(clock),
    };
    let client = store::clients::create(conn, &new)?;
    Ok(IssuedClient { client, secret: chosen.secret })
}

/// A page of clients ordered by id (admins); an unknown organization code
/// is refused, naming `organization`.
pub fn list_clients(conn: &mut DbConn, actor: &Actor, listing: ClientListing) -> Result<Vec<ClientRecord>, Error> {
    actor.require(&[Role::Admin])?;
    let org_id = match &listing.organization {
        None => None,
        Some(code) => Some(by_code(conn, "organization", code)?.id),
    };
    let rows = store::clients::list(conn, org_id.as_deref(), listing.after_id.as_deref(), listing.limit)?;
    Ok(rows.into_iter().map(|(client, organization)| ClientRecord { client, organization }).collect())
}

fn no_such_client() -> Error {
    Error::NotFound("no such client".into())
}

/// Revokes a client for good (admins). Revoking twice is harmless and keeps the first time.
pub fn revoke_client(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, id: &str) -> Result<ClientRecord, Error> {
    actor.require(&[Role::Admin])?;
    let at = stored_now(clock);
    conn.write_transaction(|conn| {
        store::clients::revoke(conn, id, at)?;
        let (client, organization) = store::clients::find(conn, id)?.ok_or_else(no_such_client)?;
        Ok(ClientRecord { client, organization })
    })
}

/// Gives an active client a new secret and a new credential generation,
/// which ends every token issued before (admins).
pub fn rotate_client_secret(conn: &mut DbConn, actor: &Actor, id: &str) -> Result<RotatedClient, Error> {
    actor.require(&[Role::Admin])?;
    let secret = generate_secret();
    // Hashed before the transaction: argon2 takes tens of milliseconds and
    // SQLite's write lock would be held for all of them.
    let hash = hash_secret(&secret);
    conn.write_transaction(|conn| {
        let changed = store::clients::rotate_secret(conn, id, &hash)?;
        let (client, _) = store::clients::find(conn, id)?.ok_or_else(no_such_client)?;
        if changed == 0 {
            let detail = format!("client {id} is revoked; a revoked client stays revoked, create a new one instead");
            return Err(Error::Conflict { detail, existing_id: None });
        }
        Ok(RotatedClient { client, secret })
    })
}
