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
use crate::app::administration::{self, ClientListing, ClientRecord, CreateClient};
use crate::domain::Role;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create_client).service(list_clients).service(revoke_client).service(rotate_client_secret);
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
    let clock = state.clock.clone();
    let role = request.role;
    let command = CreateClient { organization: request.organization, name: request.name, role };
    let issued = state.db(move |conn| Ok(administration::create_client(conn, &*clock, &caller, command)?)).await?;
    Ok(HttpResponse::Created().json(CreatedClient {
        client_id: issued.client.id,
        client_secret: issued.secret,
        organization_id: issued.client.organization_id,
        role,
        name: issued.client.name,
    }))
}

/// An API client as admins see it: never its secret or the secret's hash.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0b9f…", "name": "Phú Thọ sorting centre scanners", "role": "carrier", "organization_id": "5d0c…", "organization_code": "VNPOST", "created_at": "2026-06-01T02:00:00Z", "revoked_at": null}))]
pub struct ClientView {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub organization_id: String,
    pub organization_code: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the client was revoked; `null` while it may get tokens.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<ClientRecord> for ClientView {
    fn from(ClientRecord { client, organization: org }: ClientRecord) -> Self {
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
    // Refused before the paging parameters are read (the service checks again).
    caller.require(&[Role::Admin])?;
    let limit = page.limit()?;
    let after = page.position(Listing::Clients)?;
    let listing = ClientListing { organization: filter.into_inner().organization, after_id: after, limit: limit + 1 };
    let rows = state.db(move |conn| Ok(administration::list_clients(conn, &caller, listing)?)).await?;
    let (rows, next_cursor) = take_page(rows, limit, Listing::Clients, |record| record.client.id.clone());
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
    let id = id.into_inner();
    let clock = state.clock.clone();
    let (actor, client_id) = (caller.clone(), id.clone());
    let revoked = state.db(move |conn| Ok(administration::revoke_client(conn, &*clock, &actor, &client_id)?)).await?;
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
    let id = id.into_inner();
    let (actor, client_id) = (caller.clone(), id.clone());
    let rotated = state.db(move |conn| Ok(administration::rotate_client_secret(conn, &actor, &client_id)?)).await?;
    state.token_guard.standings.forget(&id);
    tracing::info!(client = %id, by = %caller.client_id, "client secret rotated");
    let secret = RotatedSecret { client_id: rotated.client.id, client_secret: rotated.secret };
    Ok(HttpResponse::Ok().insert_header((actix_web::http::header::CACHE_CONTROL, "no-store")).json(secret))
}
