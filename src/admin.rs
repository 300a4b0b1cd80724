//! Creating organizations and API clients: shared by the admin API and the
//! `exampost org create` / `client create|list|revoke|rotate` commands.

use chrono::NaiveDateTime;

use crate::auth::{generate_secret, hash_secret};
use crate::db::DbConn;
use crate::domain::{fields, province, FieldError, OrgKind, Role};
use crate::store::clients::{ApiClient, NewApiClient};
use crate::store::organizations::{NewOrganization, Organization};
use crate::store::{self, now_utc};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invalid input: {}", .0.iter().map(|e| format!("{} {}", e.field, e.reason)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error("{detail}")]
    Taken { detail: String, existing_id: String },
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// An organization to create, as given.
pub struct OrganizationInput {
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    pub province: String,
}

pub fn create_organization(conn: &mut DbConn, input: &OrganizationInput) -> Result<Organization, AdminError> {
    let mut errors = Vec::new();
    let code = fields::org_code(&input.code).map_err(|r| errors.push(FieldError::new("code", r))).ok();
    let name = fields::text(&input.name, 200).map_err(|r| errors.push(FieldError::new("name", r))).ok();
    let province = province::resolve(&input.province);
    if province.is_none() {
        errors.push(FieldError::new("province", "is not one of Vietnam's 34 provinces (code, name or former name)"));
    }
    let (Some(code), Some(name), Some(province), true) = (code, name, province, errors.is_empty()) else {
        return Err(AdminError::Invalid(errors));
    };
    conn.write_transaction(|conn| {
        if let Some(existing) = store::organizations::find_by_code(conn, &code)? {
            return Err(AdminError::Taken { detail: format!("organization code {code} is taken"), existing_id: existing.id });
        }
        let id = uuid::Uuid::new_v4().to_string();
        let new = NewOrganization {
            id: &id,
            code: &code,
            name: &name,
            kind: input.kind.as_str(),
            province: province.code,
            created_at: now_utc(),
        };
        Ok(store::organizations::create(conn, &new)?)
    })
}

/// Creates a client for the organization with this code and returns it with
/// its secret, which is stored only as a hash and never shown again.
pub fn create_client(conn: &mut DbConn, org_code: &str, name: &str, role: Role) -> Result<(ApiClient, String), AdminError> {
    let id = uuid::Uuid::new_v4().to_string();
    create_client_with(conn, org_code, name, role, &id, &generate_secret())
}

/// Creates a client with a chosen id and secret (the demo's published credentials).
pub fn create_client_with(
    conn: &mut DbConn,
    org_code: &str,
    name: &str,
    role: Role,
    id: &str,
    secret: &str,
) -> Result<(ApiClient, String), AdminError> {
    let name = fields::text(name, 200).map_err(|r| AdminError::Invalid(vec![FieldError::new("name", r)]))?;
    let code = org_code.trim().to_uppercase();
    let org = store::organizations::find_by_code(conn, &code)?
        .ok_or_else(|| AdminError::Invalid(vec![FieldError::new("organization", format!("no organization with code {code}"))]))?;
    if let Some(kind) = role.required_org_kind() {
        if org.kind != kind.as_str() {
            let reason = format!("role {role} needs a {kind} organization; {code} is a {}", org.kind);
            return Err(AdminError::Invalid(vec![FieldError::new("role", reason)]));
        }
    }
    let hash = hash_secret(secret);
    let new = NewApiClient {
        id,
        organization_id: &org.id,
        name: &name,
        role: role.as_str(),
        secret_hash: &hash,
        created_at: now_utc(),
    };
    let client = store::clients::create(conn, &new)?;
    Ok((client, secret.to_string()))
}

/// Why a client could not be revoked or given a new secret.
#[derive(Debug, thiserror::Error)]
pub enum ClientChangeError {
    #[error("no client with id {0}")]
    NotFound(String),
    #[error("client {0} is revoked; a revoked client stays revoked, create a new one instead")]
    Revoked(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// A page of clients, optionally of the organization with this code (an
/// unknown code is refused, naming `organization`).
pub fn list_clients(
    conn: &mut DbConn,
    org_code: Option<&str>,
    after_id: Option<&str>,
    limit: i64,
) -> Result<Vec<(ApiClient, Organization)>, AdminError> {
    let org_id = match org_code {
        None => None,
        Some(code) => {
            let code = code.trim().to_uppercase();
            let org = store::organizations::find_by_code(conn, &code)?
                .ok_or_else(|| AdminError::Invalid(vec![FieldError::new("organization", format!("no organization with code {code}"))]))?;
            Some(org.id)
        }
    };
    Ok(store::clients::list(conn, org_id.as_deref(), after_id, limit)?)
}

/// Revokes a client for good. Revoking twice is harmless and keeps the first time.
pub fn revoke_client(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> Result<(ApiClient, Organization), ClientChangeError> {
    conn.write_transaction(|conn| {
        store::clients::revoke(conn, id, at)?;
        store::clients::find(conn, id)?.ok_or_else(|| ClientChangeError::NotFound(id.to_string()))
    })
}

/// Gives an active client a new secret (returned, shown once) and a new
/// credential generation, which ends every token issued before.
pub fn rotate_client_secret(conn: &mut DbConn, id: &str) -> Result<(ApiClient, Organization, String), ClientChangeError> {
    let secret = generate_secret();
    // Hashed before the transaction: argon2 takes tens of milliseconds and
    // SQLite's write lock would be held for all of them.
    let hash = hash_secret(&secret);
    conn.write_transaction(|conn| {
        let changed = store::clients::rotate_secret(conn, id, &hash)?;
        let (client, org) = store::clients::find(conn, id)?.ok_or_else(|| ClientChangeError::NotFound(id.to_string()))?;
        if changed == 0 {
            return Err(ClientChangeError::Revoked(id.to_string()));
        }
        Ok((client, org, secret))
    })
}
