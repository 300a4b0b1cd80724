//! API clients (admin): the credentials carriers' systems and departments use.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::extract::ValidJson;
use super::pagination::{take_page, Listing, Page, PageParams};
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::admin::{self, ClientChangeError};
use crate::domain::Role;
use crate::store::clients::ApiClient;
use crate::store::organizations::Organization;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create_client).service(list_clients).service(revoke_client).service(rotate_client_secret);
}

impl From<ClientChangeError> for ApiError {
    fn from(err: ClientChangeError) -> Self {
        match err {
            ClientChangeError::NotFound(_) => ApiError::NotFound("no such client".into()),
            revoked @ ClientChangeError::Revoked(_) => ApiError::Conflict { detail: revoked.to_string(), existing_id: None },
            ClientChangeError::Db(e) => e.into(),
        }
    }
}

/// A new API client.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"organization": "VNPOST", "name": "Phú Thọ sorting centre scanners", "role": "carrier"}))]
pub struct NewClientRequest {
    /// Code of the organization the client acts for.
    pub organization: String,
    /// What the client is, for people reading logs.
    pub name: String,
    /// Must match the organization's kind (`carrier` for a carrier...); `admin` fits any.
    pub role: Role,
}

/// A created client. The secret is shown this once; only its hash is kept.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"client_id": "0b9f…", "client_secret": "eps_…", "organization_id": "5d0c…", "role": "carrier", "name": "Phú Thọ sorting centre scanners"}))]
pub struct CreatedClient {
    pub client_id: String,
    pub client_secret: String,
    pub organization_id: String,
    pub role: Role,
    pub name: String,
}

/// Create an API client (admin).
#[utoipa::path(
    tag = "clients",
    request_body = NewClientRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; the secret is shown only now", body = CreatedClient),
        (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown organization or role that does not fit it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/clients")]
pub async fn create_client(
    state: web::Data<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<NewClientRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let role = request.role;
    let (client, secret) =
        state.db(move |conn| Ok(admin::create_client(conn, &request.organization, &request.name, role)?)).await?;
    Ok(HttpResponse::Created().json(CreatedClient {
        client_id: client.id,
        client_secret: secret,
        organization_id: client.organization_id,
        role,
        name: client.name,
    }))
}

/// An API client as admins see it: never its secret or the secret's hash.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0b9f…", "name": "Phú Thọ sorting centre scanners", "role": "carrier", "organization_id": "5d0c…", "organization_code": "VNPOST", "created_at": "2026-06-01T02:00:00Z", "revoked_at": null}))]
pub struct ClientView {
    pub id: String,
    pub name: String,
    pub role: String,
    pub organization_id: String,
    pub organization_code: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the client was revoked; `null` while it may get tokens.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<(ApiClient, Organization)> for ClientView {
    fn from((client, org): (ApiClient, Organization)) -> Self {
        ClientView {
            id: client.id,
            name: client.name,
            role: client.role,
            organization_id: org.id,
            organization_code: org.code,
            created_at: client.created_at.and_utc(),
            revoked_at: client.revoked_at.map(|t| t.and_utc()),
        }
    }
}

/// Filters of the client list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ClientFilter {
    /// Only clients of the organization with this code.
    pub organization: Option<String>,
}

/// List API clients (admin), ordered by id.
#[utoipa::path(
    tag = "clients",
    params(ClientFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of clients", body = Page<ClientView>),
        (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown organization, bad `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/clients")]
pub async fn list_clients(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<ClientFilter>,
    page: web::Query<PageParams>,
) -> Result<web::Json<Page<ClientView>>, ApiError> {
    caller.require(&[Role::Admin])?;
    let limit = page.limit()?;
    let after = page.position(Listing::Clients)?;
    let organization = filter.into_inner().organization;
    let rows = state.db(move |conn| Ok(admin::list_clients(conn, organization.as_deref(), after.as_deref(), limit + 1)?)).await?;
    let (rows, next_cursor) = take_page(rows, limit, Listing::Clients, |(client, _)| client.id.clone());
    Ok(web::Json(Page { items: rows.into_iter().map(ClientView::from).collect(), next_cursor }))
}

/// Revoke an API client (admin).
///
/// The client gets no more tokens, and the tokens it holds stop working within
/// `EXAMPOST_CLIENT_CACHE_SECS` (default 5 s) on every replica, at once on the
/// one that revoked it. Revoking a revoked client changes nothing.
#[utoipa::path(
    tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Revoked (now or before)", body = ClientView),
        (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad path parameter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/clients/{id}/revoke")]
pub async fn revoke_client(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<web::Json<ClientView>, ApiError> {
    caller.require(&[Role::Admin])?;
    let id = id.into_inner();
    let at = stored_time(state.clock.now());
    let client_id = id.clone();
    let revoked = state.db(move |conn| Ok(admin::revoke_client(conn, &client_id, at)?)).await?;
    state.token_guard.standings.forget(&id);
    tracing::info!(client = %id, by = %caller.client_id, "client revoked");
    Ok(web::Json(revoked.into()))
}

/// A client with its new secret, shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"client_id": "0b9f…", "client_secret": "eps_…"}))]
pub struct RotatedSecret {
    pub client_id: String,
    pub client_secret: String,
}

/// Give an API client a new secret (admin).
///
/// The old secret stops working at once, and so does every token issued
/// before the rotation (within `EXAMPOST_CLIENT_CACHE_SECS` on other replicas).
/// The new secret is shown only in this answer.
#[utoipa::path(
    tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "New secret, shown only now", body = RotatedSecret),
        (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The client is revoked", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad path parameter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/clients/{id}/rotate-secret")]
pub async fn rotate_client_secret(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let id = id.into_inner();
    let client_id = id.clone();
    let (client, _, secret) = state.db(move |conn| Ok(admin::rotate_client_secret(conn, &client_id)?)).await?;
    state.token_guard.standings.forget(&id);
    tracing::info!(client = %id, by = %caller.client_id, "client secret rotated");
    Ok(HttpResponse::Ok().insert_header((actix_web::http::header::CACHE_CONTROL, "no-store")).json(RotatedSecret { client_id: client.id, client_secret: secret }))
}

/// A time as the database keeps it: UTC, microseconds.
fn stored_time(at: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at).naive_utc()
}
