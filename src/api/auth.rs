//! `POST /api/v1/auth/token` and the [`Caller`] extractor.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{post, web, FromRequest, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::extract::ValidJson;
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::auth::{verify_secret, TokenError};
use crate::domain::Role;
use crate::store;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create_token);
}

/// Client credentials, as printed once by `exampost client create`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"client_id": "0b9f3c1e-4a8d-4f5e-9a51-2f4a1c7d9e10", "client_secret": "eps_…"}))]
pub struct TokenRequest {
    pub client_id: String,
    pub client_secret: String,
}

/// A bearer token to send as `Authorization: Bearer …`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJIUzI1NiJ9…", "token_type": "Bearer", "expires_in": 900}))]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// Exchange client credentials for an access token.
///
/// The token is an HS256 JWT naming the client, its organization and role.
/// Unknown clients, revoked clients and wrong secrets get the same 401.
#[utoipa::path(
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Token issued", body = TokenResponse),
        (status = 401, description = "Unknown client or wrong secret", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/token")]
pub async fn create_token(
    state: web::Data<AppState>,
    ValidJson(request): ValidJson<TokenRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let client_id = request.client_id.trim().to_string();
    let found = state.db(move |conn| Ok(store::clients::find_active(conn, &client_id)?)).await?;
    let stored_hash = found.as_ref().map(|(client, _)| client.secret_hash.clone());
    let secret = request.client_secret;
    let valid = web::block(move || verify_secret(&secret, stored_hash.as_deref())).await.map_err(ApiError::internal)?;
    let (client, org) = match found {
        Some(pair) if valid => pair,
        _ => return Err(ApiError::Unauthorized("unknown client or wrong secret".into())),
    };
    let role = Role::parse(&client.role).ok_or_else(|| ApiError::internal(format!("stored role {:?}", client.role)))?;
    Ok(web::Json(TokenResponse {
        access_token: state.tokens.issue(&client.id, &org.id, role, &org.province),
        token_type: "Bearer".into(),
        expires_in: state.tokens.ttl.as_secs(),
    }))
}

/// The authenticated client making a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: String,
    pub org_id: String,
    pub role: Role,
    pub province: String,
}

impl Caller {
    /// Refuses callers whose role is not among `roles` (403).
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let allowed = roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
            Err(ApiError::Forbidden(format!("this needs the role {allowed}; your client has the role {}", self.role)))
        }
    }
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(authenticate(req).map_err(Into::into))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| ApiError::internal("no app state"))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("send an access token as Authorization: Bearer <token>".into()))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(|| ApiError::Unauthorized("the Authorization header must be Bearer <token>".into()))?;
    let claims = state.tokens.verify(token).map_err(|e| {
        let detail = match e {
            TokenError::Expired => "the access token has expired; request a new one".to_string(),
            other => format!("the access token is not valid: {other}"),
        };
        ApiError::Unauthorized(detail)
    })?;
    Ok(Caller { client_id: claims.sub, org_id: claims.org, role: claims.role, province: claims.prov })
}
