//! API clients (admin): the credentials carriers' systems and departments use.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::extract::ValidJson;
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::admin;
use crate::domain::Role;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create_client);
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
