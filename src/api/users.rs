//! Users: people who sign in to the console (admins and organizations' user managers).

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::extract::ValidJson;
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::administration::{self, CreateUser};
use crate::domain::Role;
use crate::store::users::Account;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create_user).service(list_users);
}

/// A person to create.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "van.thu@sogd-phutho.edu.vn", "name": "Nguyễn Thị Lan", "role": "education", "organization": "SGD-PT"}))]
pub struct NewUserRequest {
    /// Code of the user's organization; a user manager may leave it out (its own).
    pub organization: Option<String>,
    pub email: String,
    /// The person's name.
    pub name: String,
    /// Must fit the organization's kind; only admins create admins.
    pub role: Role,
    /// May create and list users of its own organization.
    #[serde(default)]
    pub manages_users: bool,
    /// The first password (at least 10 characters); generated and shown once when left out.
    pub password: Option<String>,
}

/// A user as admins and user managers see it: never a password or its hash.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"client_id": "0b9f…", "email": "van.thu@sogd-phutho.edu.vn", "name": "Nguyễn Thị Lan", "role": "education", "organization_code": "SGD-PT", "organization_name": "Sở GD&ĐT Phú Thọ", "province": "25", "manages_users": false, "created_at": "2026-06-01T02:00:00Z", "revoked_at": null}))]
pub struct UserView {
    /// The API client the user acts as (tokens name it).
    pub client_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub organization_code: String,
    pub organization_name: String,
    /// The organization's province code.
    pub province: String,
    pub manages_users: bool,
    pub created_at: DateTime<Utc>,
    /// Revoked users cannot sign in (revoke their client).
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<Account> for UserView {
    fn from((user, client, org): Account) -> Self {
        UserView {
            client_id: client.id,
            email: user.email,
            name: client.name,
            role: client.role,
            organization_code: org.code,
            organization_name: org.name,
            province: org.province,
            manages_users: user.manages_users,
            created_at: user.created_at.and_utc(),
            revoked_at: client.revoked_at.map(|t| t.and_utc()),
        }
    }
}

/// A created user, with the generated first password when none was given (shown this once).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: UserView,
    /// Only when the request gave no password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// Create a user (admins anywhere; user managers in their own organization).
#[utoipa::path(
    tag = "users",
    request_body = NewUserRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; a generated password is shown only now", body = CreatedUser),
        (status = 400, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither an admin nor a user manager, another organization, or an admin asked by a non-admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A user with this e-mail exists", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad e-mail, name or password; unknown organization or a role that does not fit it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users")]
pub async fn create_user(state: web::Data<AppState>, caller: Caller, ValidJson(request): ValidJson<NewUserRequest>) -> Result<HttpResponse, ApiError> {
    let clock = state.clock.clone();
    let command = CreateUser {
        organization: request.organization,
        email: request.email,
        name: request.name,
        role: request.role,
        manages_users: request.manages_users,
        password: request.password,
    };
    let issued = state.db(move |conn| Ok(administration::create_user(conn, &*clock, &caller, command)?)).await?;
    Ok(HttpResponse::Created().json(CreatedUser { user: issued.account.into(), password: issued.generated_password }))
}

/// List users (admins: all; user managers: their organization's), by e-mail.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Users, at most 1000", body = Vec<UserView>),
        (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither an admin nor a user manager", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users")]
pub async fn list_users(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let accounts = state.db(move |conn| Ok(administration::list_users(conn, &caller, None)?)).await?;
    Ok(HttpResponse::Ok().json(accounts.into_iter().map(UserView::from).collect::<Vec<_>>()))
}
