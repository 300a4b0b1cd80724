//! People signing in: `POST /auth/login` (e-mail and password for the same
//! bearer tokens API clients get), `GET /auth/me`, `POST /auth/password`.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::{address_key, failures_blocked, record_failure, Caller, TokenRefusal, TokenResponse};
use super::client_addr::client_addr;
use super::extract::ValidJson;
use super::problem::{ApiError, Problem};
use super::users::UserView;
use super::AppState;
use crate::app::administration;
use crate::auth::TokenSubject;
use crate::store::users::Account;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create_login).service(find_me).service(change_password);
}

/// An e-mail and a password.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "van.thu@sogd-phutho.edu.vn", "password": "k7dm-p3qx-8hwn"}))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// The current password and the new one.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"current_password": "k7dm-p3qx-8hwn", "new_password": "một câu đủ dài để nhớ"}))]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 10 characters, not the e-mail address.
    pub new_password: String,
}

fn token_for(state: &AppState, (_, client, org): &Account) -> TokenResponse {
    let subject = TokenSubject {
        client_id: &client.id,
        org_id: &org.id,
        role: client.role,
        province: &org.province,
        reads_province: org.reads_province,
        generation: client.credential_generation,
    };
    TokenResponse { access_token: state.tokens.issue(subject, state.clock.now()), token_type: "Bearer".into(), expires_in: state.tokens.ttl.as_secs() }
}

fn no_store(token: TokenResponse) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache")).json(token)
}

/// Checks a password on the verifier threads, where client secrets are checked;
/// with no account it still does the work, so timing does not tell who has one.
async fn password_matches(state: &AppState, password: String, account: Option<&Account>) -> Result<bool, TokenRefusal> {
    let slot = state.token_guard.verifier.try_admit().ok_or_else(TokenRefusal::busy)?;
    let stored = account.map(|(user, _, _)| user.password_hash.clone());
    Ok(state.token_guard.verifier.verify(slot, password, stored).await)
}

/// Sign in with an e-mail and a password.
///
/// For people using the console. Answers with the same bearer token
/// `POST /auth/token` gives an API client, for the user's role and
/// organization. An unknown e-mail, a revoked user and a wrong password get
/// the same 401. Failed attempts per e-mail (default 10 per 15 minutes) and
/// attempts per address (default 30 a minute) are limited as for client
/// credentials, with 429 and `Retry-After`.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown e-mail, revoked user or wrong password", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing field or not an e-mail address", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts for this e-mail, or attempts from this address; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many password checks waiting, or the database is unavailable; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub async fn create_login(state: web::Data<AppState>, req: HttpRequest, ValidJson(request): ValidJson<LoginRequest>) -> Result<HttpResponse, TokenRefusal> {
    let guard = &state.token_guard;
    let now = state.clock.now();
    guard
        .attempts_by_address
        .admit(address_key(client_addr(&req)), now)
        .map_err(|s| TokenRefusal::throttled(s, format!("too many sign-in attempts from your address; try again in {s} s")))?;
    let email = administration::login_email(&request.email).map_err(|reason| ApiError::field("email", reason))?;
    let failure_key = format!("user:{email}");
    if let Some(s) = failures_blocked(&state, &failure_key, now).await? {
        return Err(TokenRefusal::throttled(s, format!("too many failed sign-ins for this e-mail; try again in {s} s")));
    }
    let lookup = email.clone();
    let account = state.db(move |conn| Ok(administration::find_for_login(conn, &lookup)?)).await?;
    if !password_matches(&state, request.password, account.as_ref()).await? {
        record_failure(&state, &failure_key, now).await?;
        return Err(ApiError::Unauthorized("unknown e-mail or wrong password".into()).into());
    }
    let Some(account) = account else { return Err(ApiError::Unauthorized("unknown e-mail or wrong password".into()).into()) };
    tracing::info!(client_id = %account.1.id, "user signed in");
    Ok(no_store(token_for(&state, &account)))
}

/// Who is signed in: the user, or the API client when it is not a person.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MeView {
    pub client_id: String,
    pub role: crate::domain::Role,
    pub organization_id: String,
    /// The user's sign-in, when the caller is a person.
    pub user: Option<UserView>,
}

/// Who the token belongs to.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = MeView),
        (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/auth/me")]
pub async fn find_me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let actor = caller.clone();
    let account = state.db(move |conn| Ok(administration::me(conn, &actor)?)).await?;
    Ok(HttpResponse::Ok().json(MeView {
        client_id: caller.client_id,
        role: caller.role,
        organization_id: caller.org_id,
        user: account.map(UserView::from),
    }))
}

/// Change one's own password.
///
/// Checks the current password, sets the new one and ends every token issued
/// before (on every replica); the answer carries a fresh token.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; a new token, earlier ones no longer work", body = TokenResponse),
        (status = 400, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is an API client, not a person", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong `current_password`, or a `new_password` too short, too long or the e-mail", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong current passwords; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many password checks waiting; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<PasswordChange>,
) -> Result<HttpResponse, TokenRefusal> {
    let now = state.clock.now();
    let actor = caller.clone();
    let account = state.db(move |conn| Ok(administration::me(conn, &actor)?)).await?;
    let Some(account) = account else {
        return Err(ApiError::Forbidden("only people who sign in with a password have one; API clients rotate their secret".into()).into());
    };
    let failure_key = format!("user:{}", account.0.email);
    if let Some(s) = failures_blocked(&state, &failure_key, now).await? {
        return Err(TokenRefusal::throttled(s, format!("too many wrong passwords for this e-mail; try again in {s} s")));
    }
    if !password_matches(&state, request.current_password, Some(&account)).await? {
        record_failure(&state, &failure_key, now).await?;
        return Err(ApiError::field("current_password", "is not your current password").into());
    }
    let actor = caller.clone();
    let changed = state.db(move |conn| Ok(administration::change_password(conn, &actor, &request.new_password)?)).await?;
    state.token_guard.standings.forget(&caller.client_id);
    tracing::info!(client_id = %caller.client_id, "user changed password");
    Ok(no_store(token_for(&state, &changed)))
}
