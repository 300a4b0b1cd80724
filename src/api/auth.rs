//! `POST /api/v1/auth/token` and the [`Caller`] extractor.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::RwLock;

use actix_web::HttpMessage;
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{post, web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::throttle::{AddressLimit, SharedFailures};
use super::client_addr::client_addr;
use super::extract::from_value;
use super::problem::{ApiError, Problem, PROBLEM_JSON};
use super::AppState;
use crate::auth::{SecretVerifier, TokenError, TokenSubject};
use crate::config::TokenLimits;
use crate::store::{self, clients::ClientStanding};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create_token);
}

/// Client ids are UUIDs; anything much longer is not one, and would only
/// cost memory in the failure counts.
const MAX_CLIENT_ID_CHARS: usize = 100;

/// Client credentials as JSON, as printed once by `exampost client create`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"client_id": "0b9f3c1e-4a8d-4f5e-9a51-2f4a1c7d9e10", "client_secret": "eps_…"}))]
pub struct TokenRequest {
    /// `client_credentials` when given; JSON requests may leave it out.
    #[serde(default)]
    #[schema(pattern = "^client_credentials$")]
    pub grant_type: Option<String>,
    pub client_id: String,
    pub client_secret: String,
}

/// An RFC 6749 §4.4 client-credentials request. The client authenticates
/// either with `client_id` and `client_secret` here or with HTTP Basic
/// (`Authorization: Basic base64(urlencode(id):urlencode(secret))`), not both.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"grant_type": "client_credentials", "client_id": "0b9f3c1e-4a8d-4f5e-9a51-2f4a1c7d9e10", "client_secret": "eps_…"}))]
pub struct TokenForm {
    /// Must be `client_credentials`.
    #[schema(pattern = "^client_credentials$")]
    pub grant_type: String,
    /// Leave out when using HTTP Basic.
    pub client_id: Option<String>,
    /// Leave out when using HTTP Basic.
    pub client_secret: Option<String>,
    /// Ignored: a client's rights follow from its role.
    pub scope: Option<String>,
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

/// What guards the token endpoint and the bearer check, shared by all workers.
pub struct TokenGuard {
    /// Failed token requests per client id, and failed sign-ins per e-mail (shared by every replica).
    pub(super) failures_by_client: SharedFailures,
    /// Token and sign-in requests per address and minute (shared by every replica).
    pub attempts_by_address: AddressLimit,
    pub(super) verifier: SecretVerifier,
    /// What this replica last read about each token's client.
    pub standings: ClientStandings,
}

impl TokenGuard {
    pub fn new(limits: &TokenLimits) -> Self {
        TokenGuard {
            failures_by_client: SharedFailures::new(limits.failures_per_client, limits.failure_window),
            attempts_by_address: AddressLimit::named("token-attempts", limits.attempts_per_address_per_minute),
            verifier: SecretVerifier::new(limits.verify_threads, limits.verify_queue),
            standings: ClientStandings::new(limits.client_cache_ttl),
        }
    }
}

/// A per-process cache of whether each token's client is still active and
/// under which credential generation. Its lifetime bounds how long a revoked
/// client's token keeps working on another replica; within it, the bearer
/// check costs no database read.
pub struct ClientStandings {
    ttl: chrono::Duration,
    seen: RwLock<HashMap<String, SeenStanding>>,
}

/// A client's standing as read from the database, and when.
#[derive(Clone, Copy)]
struct SeenStanding {
    standing: ClientStanding,
    read_at: DateTime<Utc>,
}

impl ClientStandings {
    pub fn new(ttl: std::time::Duration) -> Self {
        ClientStandings { ttl: chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::zero()), seen: RwLock::default() }
    }

    fn fresh(&self, client_id: &str, now: DateTime<Utc>) -> Option<ClientStanding> {
        let seen = self.seen.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let seen = seen.get(client_id)?;
        (now - seen.read_at < self.ttl).then_some(seen.standing)
    }

    fn remember(&self, client_id: String, standing: ClientStanding, now: DateTime<Utc>) {
        let mut seen = self.seen.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.insert(client_id, SeenStanding { standing, read_at: now });
    }

    /// Drops what this replica knows about a client, after changing it here.
    pub fn forget(&self, client_id: &str) {
        self.seen.write().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(client_id);
    }
}

/// A refused token request: a problem document that also carries the RFC 6749
/// `error` code, so OAuth client libraries report it properly.
#[derive(Debug)]
pub struct TokenRefusal {
    /// Boxed: refusals travel through several `Result`s on the way out.
    problem: Box<Problem>,
    oauth_error: &'static str,
    retry_after: Option<u64>,
    /// RFC 6749 §5.2: answer a failed HTTP Basic authentication with a Basic challenge.
    basic_challenge: bool,
}

impl std::fmt::Display for TokenRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.problem.detail, self.oauth_error)
    }
}

impl From<ApiError> for TokenRefusal {
    fn from(err: ApiError) -> Self {
        if let ApiError::Internal(cause) = &err {
            tracing::error!(%cause, "internal error");
        }
        let problem = Box::new(err.problem());
        let (oauth_error, retry_after) = match problem.status {
            401 => ("invalid_client", None),
            400 | 413 | 415 | 422 => ("invalid_request", None),
            503 => ("temporarily_unavailable", Some(5)),
            _ => ("server_error", None),
        };
        TokenRefusal { problem, oauth_error, retry_after, basic_challenge: false }
    }
}

impl TokenRefusal {
    /// A 400 naming the field, as RFC 6749 wants for a bad or missing `grant_type`.
    fn bad_field(field: &str, reason: impl Into<String>, oauth_error: &'static str) -> Self {
        let mut problem = Box::new(ApiError::field(field, reason).problem());
        problem.status = 400;
        (problem.kind, problem.title) = match oauth_error {
            "unsupported_grant_type" => ("/problems/unsupported-grant-type".into(), "Unsupported grant type".into()),
            _ => ("/problems/malformed-request".into(), "Malformed request".into()),
        };
        TokenRefusal { problem, oauth_error, retry_after: None, basic_challenge: false }
    }

    pub(super) fn throttled(seconds: u64, detail: String) -> Self {
        let problem = Box::new(Problem {
            kind: "/problems/too-many-requests".into(),
            title: "Too many requests".into(),
            status: 429,
            detail,
            errors: vec![],
            existing_id: None,
        });
        TokenRefusal { problem, oauth_error: "temporarily_unavailable", retry_after: Some(seconds), basic_challenge: false }
    }

    pub(super) fn busy() -> Self {
        let mut refusal = TokenRefusal::from(ApiError::Unavailable);
        refusal.problem.detail = "too many token requests are being checked; retry in a second".into();
        refusal.retry_after = Some(1);
        refusal
    }

    fn invalid_client(basic_challenge: bool) -> Self {
        TokenRefusal { basic_challenge, ..ApiError::Unauthorized("unknown client or wrong secret".into()).into() }
    }
}

impl ResponseError for TokenRefusal {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.problem.status == 401 {
            let challenge = if self.basic_challenge { "Basic realm=\"exampost\"" } else { "Bearer" };
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        let mut body = serde_json::to_value(&self.problem).unwrap_or_default();
        if let Some(fields) = body.as_object_mut() {
            fields.insert("error".into(), self.oauth_error.into());
        }
        response.content_type(PROBLEM_JSON).json(body)
    }
}

/// Credentials as the request gave them, in the body or with HTTP Basic.
struct Credentials {
    client_id: String,
    client_secret: String,
    via_basic: bool,
}

/// What the body said, whichever its encoding.
#[derive(Default)]
struct BodyFields {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn read_credentials(req: &HttpRequest, body: &[u8]) -> Result<Credentials, TokenRefusal> {
    let basic = basic_credentials(req)?;
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let fields = match essence.as_str() {
        "application/x-www-form-urlencoded" => {
            let fields = form_fields(body)?;
            if fields.grant_type.is_none() {
                return Err(TokenRefusal::bad_field("grant_type", "is required (client_credentials)", "invalid_request"));
            }
            fields
        }
        "application/json" => json_fields(body)?,
        other if other.ends_with("+json") => json_fields(body)?,
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as application/x-www-form-urlencoded (RFC 6749) or application/json".into(),
            )
            .into())
        }
    };
    if let Some(grant) = fields.grant_type.as_deref().filter(|g| *g != "client_credentials") {
        let shown: String = grant.chars().take(40).collect();
        return Err(TokenRefusal::bad_field("grant_type", format!("only client_credentials is supported, not {shown:?}"), "unsupported_grant_type"));
    }
    let credentials = match (basic, fields.client_id, fields.client_secret) {
        (Some(basic), None, None) => basic,
        // Some libraries repeat the id in the body beside Basic; only a second secret is a second method.
        (Some(basic), Some(id), None) if id == basic.client_id => basic,
        (Some(_), _, _) => {
            return Err(TokenRefusal::bad_field(
                "client_secret",
                "authenticate either with HTTP Basic or with client_id and client_secret in the body, not both",
                "invalid_request",
            ))
        }
        (None, Some(client_id), Some(client_secret)) => Credentials { client_id, client_secret, via_basic: false },
        (None, id, _) => {
            let missing = if id.is_none() { "client_id" } else { "client_secret" };
            return Err(ApiError::field(missing, "is required (or use HTTP Basic client authentication)").into());
        }
    };
    // Ids pasted from a terminal often carry a stray space or newline.
    let credentials = Credentials { client_id: credentials.client_id.trim().to_string(), ..credentials };
    if credentials.client_id.chars().count() > MAX_CLIENT_ID_CHARS {
        return Err(ApiError::field("client_id", format!("is at most {MAX_CLIENT_ID_CHARS} characters")).into());
    }
    Ok(credentials)
}

fn json_fields(body: &[u8]) -> Result<BodyFields, TokenRefusal> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    let request: TokenRequest = from_value(value).map_err(|e| ApiError::Validation(vec![e]))?;
    Ok(BodyFields { grant_type: request.grant_type, client_id: Some(request.client_id), client_secret: Some(request.client_secret) })
}

fn form_fields(body: &[u8]) -> Result<BodyFields, TokenRefusal> {
    let mut fields = BodyFields::default();
    for (name, value) in form_urlencoded::parse(body) {
        let slot = match name.as_ref() {
            "grant_type" => &mut fields.grant_type,
            "client_id" => &mut fields.client_id,
            "client_secret" => &mut fields.client_secret,
            _ => continue,
        };
        // RFC 6749 §3.2: request parameters must not be included more than once.
        if slot.replace(value.into_owned()).is_some() {
            return Err(TokenRefusal::bad_field(&name, "is given more than once", "invalid_request"));
        }
    }
    Ok(fields)
}

/// RFC 6749 §2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn basic_credentials(req: &HttpRequest) -> Result<Option<Credentials>, TokenRefusal> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else { return Ok(None) };
    let text = value.to_str().unwrap_or("");
    let Some((scheme, encoded)) = text.split_once(' ') else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let refused = || TokenRefusal { basic_challenge: true, ..TokenRefusal::from(ApiError::Unauthorized("the Basic credentials are not base64(id:secret)".into())) };
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| refused())?;
    let decoded = String::from_utf8(decoded).map_err(|_| refused())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(refused)?;
    let form_decode = |part: &str| {
        percent_encoding::percent_decode_str(&part.replace('+', " ")).decode_utf8().map(|s| s.into_owned()).map_err(|_| refused())
    };
    Ok(Some(Credentials { client_id: form_decode(id)?, client_secret: form_decode(secret)?, via_basic: true }))
}

/// Seconds until `key` (a client id, `user:` and an e-mail) may try again, if its failures are used up.
pub(super) async fn failures_blocked(state: &web::Data<AppState>, key: &str, now: chrono::DateTime<chrono::Utc>) -> Result<Option<u64>, ApiError> {
    let (failures, key) = (state.token_guard.failures_by_client, key.to_string());
    state.db(move |conn| Ok(failures.blocked_for(conn, &key, now)?)).await
}

/// Counts a failed attempt of `key` where every replica sees it.
pub(super) async fn record_failure(state: &web::Data<AppState>, key: &str, now: chrono::DateTime<chrono::Utc>) -> Result<(), ApiError> {
    let (failures, key) = (state.token_guard.failures_by_client, key.to_string());
    state.db(move |conn| Ok(failures.record(conn, &key, now)?)).await
}

/// The key of the per-address limit: IPv6 hosts usually hold a whole /64,
/// so counting single addresses there would limit nothing.
pub(super) fn address_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let prefix = u128::from(v6) & (u128::MAX << 64);
            IpAddr::V6(prefix.into())
        }
        IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED)),
        v4 => v4,
    }
}

/// Exchange client credentials for an access token.
///
/// Accepts RFC 6749 §4.4 client-credentials requests: a form-encoded body with
/// `grant_type=client_credentials` and the client's id and secret, in the body
/// or as HTTP Basic client authentication (§2.3.1); or the same fields as JSON
/// (`grant_type` optional). The token is an HS256 JWT naming the client, its
/// organization and role. Unknown clients, revoked clients and wrong secrets get
/// the same 401. Errors carry the RFC 6749 `error` code beside the problem fields.
///
/// Limits: failed attempts per client id (default 10 per 15 minutes) and attempts
/// per address (default 30 a minute) get 429 with `Retry-After`; when too many
/// secret checks are waiting, 503 with `Retry-After`.
#[utoipa::path(
    tag = "auth",
    request_body(content(
        (TokenRequest = "application/json"),
        (TokenForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Token issued", body = TokenResponse),
        (status = 400, description = "Malformed body, missing or unsupported `grant_type`, or two ways of client authentication (`error`: invalid_request, unsupported_grant_type)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown client, revoked client or wrong secret (`error`: invalid_client)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body neither form-encoded nor JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing `client_id` or `client_secret`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts for this client id, or attempts from this address; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many secret checks waiting, or the database is unavailable; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/token")]
pub async fn create_token(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, TokenRefusal> {
    let guard = &state.token_guard;
    let now = state.clock.now();
    guard
        .attempts_by_address
        .admit(address_key(client_addr(&req)), now)
        .map_err(|s| TokenRefusal::throttled(s, format!("too many token requests from your address; try again in {s} s")))?;
    let credentials = read_credentials(&req, &body)?;
    if let Some(s) = failures_blocked(&state, &credentials.client_id, now).await? {
        return Err(TokenRefusal::throttled(s, format!("too many failed attempts for this client; try again in {s} s")));
    }
    let slot = guard.verifier.try_admit().ok_or_else(TokenRefusal::busy)?;
    let client_id = credentials.client_id.clone();
    let found = state.db(move |conn| Ok(store::clients::find_active(conn, &client_id)?)).await?;
    let stored_hash = found.as_ref().map(|(client, _)| client.secret_hash.clone());
    let valid = guard.verifier.verify(slot, credentials.client_secret, stored_hash).await;
    let (client, org) = match found {
        Some(pair) if valid => pair,
        _ => {
            record_failure(&state, &credentials.client_id, now).await?;
            return Err(TokenRefusal::invalid_client(credentials.via_basic));
        }
    };
    let role = client.role;
    let subject = TokenSubject {
        client_id: &client.id,
        org_id: &org.id,
        role,
        province: &org.province,
        reads_province: org.reads_province,
        generation: client.credential_generation,
    };
    Ok(HttpResponse::Ok()
        // RFC 6749 §5.1: a token response must not be cached.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(TokenResponse {
            access_token: state.tokens.issue(subject, state.clock.now()),
            token_type: "Bearer".into(),
            expires_in: state.tokens.ttl.as_secs(),
        }))
}

/// The authenticated client making a request: the application layer's
/// [`Actor`](crate::app::Actor), taken from the bearer token.
pub type Caller = crate::app::Actor;

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let caller = authenticate(&req).await?;
            // For the access log: who asked, never how they proved it.
            req.extensions_mut().insert(super::request_log::CallerId(caller.client_id.clone()));
            Ok(caller)
        })
    }
}

async fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
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
    let claims = state.tokens.verify(token, state.clock.now()).map_err(|e| {
        let detail = match e {
            TokenError::Expired => "the access token has expired; request a new one".to_string(),
            other => format!("the access token is not valid: {other}"),
        };
        ApiError::Unauthorized(detail)
    })?;
    match standing(state, &claims.sub, claims.gen).await? {
        ClientStanding::Active { generation } if generation == claims.gen => {
            Ok(Caller { client_id: claims.sub, org_id: claims.org, role: claims.role, province: claims.prov, reads_province: claims.rp })
        }
        ClientStanding::Active { .. } => {
            Err(ApiError::Unauthorized("the client's secret was rotated after this token was issued; request a new token".into()))
        }
        ClientStanding::Revoked => Err(ApiError::Unauthorized("the client of this access token has been revoked".into())),
        ClientStanding::Gone => Err(ApiError::Unauthorized("the client of this access token no longer exists".into())),
    }
}

/// The client's standing, from the cache while fresh. A token of a newer
/// generation than the cached one proves the cache stale (a rotation on
/// another replica), so it is read again at once.
async fn standing(state: &web::Data<AppState>, client_id: &str, token_generation: i64) -> Result<ClientStanding, ApiError> {
    let now = state.clock.now();
    let standings = &state.token_guard.standings;
    match standings.fresh(client_id, now) {
        Some(ClientStanding::Active { generation }) if generation < token_generation => {}
        Some(known) => return Ok(known),
        None => {}
    }
    let id = client_id.to_string();
    let read = state.db(move |conn| Ok(store::clients::find_standing(conn, &id)?)).await?;
    standings.remember(client_id.to_string(), read, now);
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        assert_eq!(address_key("::ffff:10.0.0.7".parse().unwrap()), "10.0.0.7".parse::<IpAddr>().unwrap());
        assert_eq!(address_key("10.0.0.7".parse().unwrap()), "10.0.0.7".parse::<IpAddr>().unwrap());
    }
}
