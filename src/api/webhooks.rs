//! Webhook subscriptions: carrier and department systems are told of status
//! changes and cases by signed POSTs, retried until they answer 2xx.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::extract::ValidJson;
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::administration::{self, Subscribe};
use crate::store::outbox::{Message, Webhook};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list_webhooks).service(create_webhook).service(delete_webhook).service(list_deliveries);
}

/// A new subscription for your organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://tracking.example.vn/exampost", "topics": ["item.status_changed", "case.opened"]}))]
pub struct NewWebhookRequest {
    /// Where to POST: an https URL without user name or password, whose host
    /// resolves to public addresses only (the operator may allow more).
    pub url: String,
    /// Any of `item.status_changed`, `case.opened`, `case.escalated`, `case.resolved`; empty: all.
    #[serde(default)]
    pub topics: Vec<String>,
}

/// A subscription. Each delivery is a POST of `{"type", "occurred_at", "data"}`
/// with headers `X-ExamPost-Event`, `X-ExamPost-Delivery`, `X-ExamPost-Timestamp`
/// and `X-ExamPost-Signature: sha256=HEX`, the HMAC-SHA256 of
/// `"{timestamp}.{body}"` with the secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub topics: Vec<String>,
    /// Shown when the subscription is created, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

fn view(hook: Webhook, with_secret: bool) -> WebhookView {
    WebhookView {
        id: hook.id,
        url: hook.url,
        topics: hook.topics.into_vec(),
        secret: with_secret.then_some(hook.secret),
        created_at: hook.created_at.and_utc(),
    }
}

/// One delivery attempt record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    pub topic: String,
    /// `pending` (queued or to be retried), `sent`, or `failed` (given up).
    pub status: String,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn delivery(m: Message) -> DeliveryView {
    DeliveryView {
        id: m.id,
        topic: m.topic,
        status: m.status,
        attempts: m.attempts,
        last_status_code: m.last_status_code,
        last_error: m.last_error,
        next_attempt_at: m.next_attempt_at.and_utc(),
        created_at: m.created_at.and_utc(),
        sent_at: m.sent_at.map(|t| t.and_utc()),
    }
}

/// Subscribe your organization's system to notifications.
#[utoipa::path(
    tag = "webhooks",
    request_body = NewWebhookRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = WebhookView),
        (status = 422, description = "A bad topic, or a URL that is not https, carries a user name or password, does not resolve, or resolves to an address that is not public", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/webhooks")]
pub async fn create_webhook(state: web::Data<AppState>, caller: Caller, ValidJson(request): ValidJson<NewWebhookRequest>) -> Result<HttpResponse, ApiError> {
    let url = administration::screen_webhook_url(&state.webhook_policy, &request.url).await;
    let command = Subscribe { url, topics: request.topics };
    let clock = state.clock.clone();
    let hook = state.db(move |conn| Ok(administration::create_webhook(conn, &*clock, &caller, command)?)).await?;
    Ok(HttpResponse::Created().json(view(hook, true)))
}

/// Your organization's subscriptions.
#[utoipa::path(tag = "webhooks", security(("bearer" = [])), responses((status = 200, body = Vec<WebhookView>)))]
#[get("/webhooks")]
pub async fn list_webhooks(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Vec<WebhookView>>, ApiError> {
    let hooks = state.db(move |conn| Ok(administration::list_webhooks(conn, &caller)?)).await?;
    Ok(web::Json(hooks.into_iter().map(|h| view(h, false)).collect()))
}

/// Remove a subscription; messages not yet delivered to it are dropped.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state.db(move |conn| Ok(administration::delete_webhook(conn, &caller, &id)?)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The delivery log of a subscription, newest first (last 200).
#[utoipa::path(
    tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id")),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_deliveries(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<web::Json<Vec<DeliveryView>>, ApiError> {
    let id = id.into_inner();
    let log = state.db(move |conn| Ok(administration::webhook_deliveries(conn, &caller, &id)?)).await?;
    Ok(web::Json(log.into_iter().map(delivery).collect()))
}
