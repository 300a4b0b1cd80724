//! The HTTP API: one `config` per area registers its routes; the OpenAPI
//! document is collected from the same registrations.

pub mod audit;
pub mod auth;
pub mod batch;
pub mod cases;
pub mod chain;
pub mod client_addr;
pub mod clients;
pub mod contacts;
pub mod events;
pub mod extract;
pub mod fallback;
pub mod health;
pub mod incidents;
pub mod items;
pub mod language;
pub mod login;
pub mod metrics;
pub mod openapi;
pub mod organizations;
pub mod pagination;
pub mod pre_advice;
pub mod problem;
pub mod public;
pub mod reports;
pub mod request_log;
pub mod rules;
pub mod seasons;
pub mod security_headers;
pub mod throttle;
pub mod timeline;
pub mod users;
pub mod webhooks;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::TokenKeys;
use crate::db::{DbConn, Pool};
use problem::ApiError;

/// What every handler can reach.
pub struct AppState {
    pub pool: Pool,
    pub tokens: TokenKeys,
    pub clock: std::sync::Arc<dyn crate::clock::Clock>,
    /// Public lookups allowed per client address, counted with every replica.
    pub lookup_limit: LookupLimit,
    /// Judges the guesses of one number at a time; their counts are in the database.
    pub guesses: throttle::GuessThrottle,
    /// Single scans, recorded in groups by one writer.
    pub scans: crate::app::scans::writer::IngestQueue,
    /// Staff reads of personal data, recorded before the data is sent.
    pub reads: crate::app::audit::ReadLog,
    /// Signs each finished day's chain root (the sweeper does).
    pub chain_key: crate::app::chain::ChainKey,
    /// Where webhook subscriptions may point.
    pub webhook_policy: crate::notify::egress::WebhookPolicy,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` is believed.
    pub trusted_proxies: client_addr::TrustedProxies,
    /// The largest spreadsheet `POST /items/import` takes, in bytes.
    pub import_max_bytes: u64,
    /// A read replica for lookups, lists and reports; `None`: all on the primary.
    pub read_replica: Option<crate::db::replica::ReadReplica>,
    /// What reads /metrics; `None`: it answers 404.
    pub metrics_token: Option<crate::config::MetricsToken>,
    /// Token request limits, the secret verifier and the client standing cache.
    pub token_guard: auth::TokenGuard,
}

pub type LookupLimit = throttle::AddressLimit;

/// A limit of `per_minute` public lookups per client address and minute.
pub fn lookup_limit(per_minute: u32) -> LookupLimit {
    throttle::AddressLimit::new(per_minute)
}

impl AppState {
    /// Runs database work on the blocking thread pool with a pooled connection.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let waiting = std::time::Instant::now();
            let mut conn = pool.get().map_err(|e| {
                ::metrics::counter!(crate::telemetry::names::POOL_TIMEOUTS).increment(1);
                tracing::warn!(error = %e, "no database connection");
                ApiError::Unavailable
            })?;
            ::metrics::histogram!(crate::telemetry::names::POOL_WAIT).record(waiting.elapsed().as_secs_f64());
            let outcome = work(&mut conn);
            if let Err(e) = &outcome {
                pool.observe_failure(crate::db::faults::MaybeTransient::transient(e));
            }
            outcome
        })
        .await
        .map_err(ApiError::internal)?
    }
}

impl AppState {
    /// [`AppState::db`] for reads that may be a little behind: on the read
    /// replica while it is close enough, else on the primary.
    ///
    /// Work that fails on the replica for a reason of the server's (a
    /// standby cancels queries that conflict with its replay) runs again on
    /// the primary, so reads are only idempotent work.
    pub async fn db_read<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: Fn(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let Some(replica) = self.read_replica.clone() else {
            return self.db(work).await;
        };
        let on_replica = web::block(move || {
            let Some(mut conn) = replica.connection() else { return (None, work) };
            match work(&mut conn) {
                Err(ApiError::Transient(crate::db::faults::Transient::Connection)) => {
                    replica.distrust_connections();
                    (None, work)
                }
                Err(ApiError::Unavailable | ApiError::Internal(_) | ApiError::Transient(_)) => (None, work),
                answered => (Some(answered), work),
            }
        })
        .await
        .map_err(ApiError::internal)?;
        match on_replica {
            (Some(answered), _) => answered,
            (None, work) => self.db(work).await,
        }
    }

    /// Work that writes (or must read what it writes) on the primary and
    /// reads the rest where [`AppState::db_read`] would.
    pub async fn db_split<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut crate::db::replica::Connections) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let replica = self.read_replica.clone();
        self.db(move |primary| {
            let mut replica_conn = replica.and_then(|r| r.connection());
            let mut conns = crate::db::replica::Connections::new(primary, replica_conn.as_deref_mut().map(|conn| &mut **conn));
            work(&mut conns)
        })
        .await
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ExamPost",
        description = "Tracking of exam-season postal items in Vietnam: exam notices, result certificates, \
admission and enrollment dossiers and official dispatches. Errors are RFC 9457 problem documents \
(`application/problem+json`). Every endpoint except health, docs and the public lookup needs a bearer \
token from `POST /api/v1/auth/token`.",
        license(name = "MIT")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Access tokens for API clients and people"),
        (name = "organizations", description = "Carriers, education bodies and overseers"),
        (name = "clients", description = "API clients (admin)"),
        (name = "users", description = "People who sign in to the console with an e-mail and a password"),
        (name = "items", description = "The item registry"),
        (name = "events", description = "Scan events, mapped to UPU EMSEVT codes"),
        (name = "contacts", description = "Contact points: who answers for which cases"),
        (name = "rules", description = "Acceptance windows, deadlines and response times per priority; default priority per kind"),
        (name = "reports", description = "Summary and the steering committee's daily report"),
        (name = "public", description = "Candidates' lookups: no token, a second factor, minimal answers, rate limited"),
        (name = "webhooks", description = "Signed notifications to carrier and department systems"),
        (name = "cases", description = "Escalation cases: delay, loss and tampering, up a three-level ladder"),
        (name = "seasons", description = "Seasons: exam days, result day, default deadlines per item kind"),
        (name = "audit", description = "Who read which candidates' personal data: admins, and overseers for their province"),
        (name = "chain", description = "The verifiable event chain: each item's proof, and the signed daily roots"),
        (name = "incidents", description = "Area incidents (flood, storm, fire, road closure, outage): one story for many delayed items"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

fn routes() -> impl FnOnce(&mut utoipa_actix_web::service_config::ServiceConfig) {
    move |cfg| {
        cfg.configure(health::config).configure(metrics::config).service(
            scope::scope("/api/v1")
                .configure(auth::config)
                .configure(login::config)
                .configure(users::config)
                .configure(organizations::config)
                .configure(clients::config)
                .configure(pre_advice::config)
                .configure(items::config)
                .configure(events::config)
                .configure(cases::config)
                .configure(incidents::config)
                .configure(contacts::config)
                .configure(rules::config)
                .configure(seasons::config)
                .configure(webhooks::config)
                .configure(reports::config)
                .configure(audit::config)
                .configure(chain::config)
                .service(scope::scope("/public").wrap(actix_web::middleware::from_fn(throttle::limit_lookups)).configure(public::config)),
        );
    }
}

/// The OpenAPI document, generated from the registered handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new().into_utoipa_app().openapi(ApiDoc::openapi()).configure(routes()).split_for_parts();
    openapi::complete(&mut api);
    api
}

/// The pretty-printed document as committed at `openapi/openapi.json`.
pub fn openapi_json() -> String {
    let mut text = openapi().to_pretty_json().expect("the document serializes");
    text.push('\n');
    text
}

/// The candidates' lookup page: one self-contained file, no CDN.
const LOOKUP_PAGE: &str = include_str!("../../web/index.html");

async fn lookup_page() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("content-security-policy", security_headers::LOOKUP_PAGE_CSP))
        .body(LOOKUP_PAGE)
}

/// The staff console: one self-contained file, no CDN; it signs in and
/// works through the same API (and scope rules) as any client.
const CONSOLE_PAGE: &str = include_str!("../../web/console.html");

async fn console_page() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("content-security-policy", security_headers::LOOKUP_PAGE_CSP))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
        .body(CONSOLE_PAGE)
}

/// Swagger UI loads its files relative to the page, so it must be read at `/docs/`.
async fn docs_without_slash() -> actix_web::HttpResponse {
    actix_web::HttpResponse::PermanentRedirect().insert_header((actix_web::http::header::LOCATION, "/docs/")).finish()
}

/// The whole application, as the server runs it.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .app_data(state)
        .app_data(fallback::json_config())
        .app_data(fallback::query_config())
        .app_data(fallback::path_config())
        .configure(routes())
        .split_for_parts();
    openapi::complete(&mut api);
    let known_routes = web::Data::new(fallback::KnownRoutes::from_openapi(&api));
    app.app_data(known_routes)
        .service(web::resource("/docs").route(web::get().to(docs_without_slash)))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api))
        .service(web::resource(["/", "/tra-cuu"]).route(web::get().to(lookup_page)))
        .service(web::resource(["/console", "/console/"]).route(web::get().to(console_page)))
        .default_service(web::to(fallback::no_route))
        .wrap(actix_web::middleware::from_fn(fallback::fixed_paths_first))
        .wrap(fallback::problem_for_plain_errors())
        .wrap(actix_web::middleware::from_fn(language::problems_in_language))
        .wrap(actix_web::middleware::from_fn(security_headers::add))
        .wrap(tracing_actix_web::TracingLogger::<request_log::RedactedSpans>::new())
        .wrap(actix_web::middleware::from_fn(request_log::with_request_id))
}

#[cfg(test)]
mod tests {
    #[test]
    fn lookup_limits_from_one_to_a_hundred_thousand_a_minute() {
        for per_minute in [1, 10, 60_000, 100_000] {
            let _ = super::lookup_limit(per_minute);
        }
    }
}
