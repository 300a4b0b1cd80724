//! The request span every log line of a request carries. Logs travel
//! further than the database (to files, collectors, support tickets), so
//! they get no secret: the query string keeps its names but not its values
//! (a client may put a token or a date of birth there), and a refused
//! request is logged by its status, never by the error text, which can
//! quote a second factor back from the body.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

use super::fallback::KnownRoutes;
use crate::telemetry::names;

pub struct RedactedSpans;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id: the caller's `X-Request-Id` when it is a sane token
/// (a proxy's or a carrier system's, to follow one request across both
/// logs), else a new UUID. Returned on every answer.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The client a bearer token named (set by the `Caller` extractor).
#[derive(Clone, Debug)]
pub struct CallerId(pub String);

/// When the request arrived.
#[derive(Clone, Copy)]
struct Arrived(Instant);

/// An id a caller may choose: 1 to 128 characters of letters, digits and `-_.:`,
/// so that it cannot forge log lines or carry personal data in bulk.
pub fn accepted_request_id(raw: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(raw).ok()?.trim();
    let sane = !text.is_empty() && text.len() <= 128 && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    sane.then(|| text.to_string())
}

/// Outermost middleware: gives the request its id and the answer the header.
pub async fn with_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| accepted_request_id(value.as_bytes()))
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// The path, and the query string with every value replaced by `***`.
pub fn redacted_target(path: &str, query: &str) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let names: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) => format!("{name}=***"),
            None => "***".to_string(),
        })
        .collect();
    format!("{path}?{}", names.join("&"))
}

/// The route a request is counted under: the API's template
/// (`/api/v1/items/{tracking_number}`, and `/api/v1/items/import` for the
/// import, not the template beside it), a page's own path, or `other`, so
/// that unknown paths cannot grow the metrics without bound.
fn route_of(request: &actix_web::HttpRequest) -> String {
    if let Some(template) = request.app_data::<web::Data<KnownRoutes>>().and_then(|routes| routes.template_for(request.method(), request.path())) {
        return template;
    }
    match request.match_pattern() {
        Some(pattern) if pattern.starts_with("/docs/") => "/docs/".into(),
        Some(pattern) => pattern,
        None => "other".into(),
    }
}

impl RootSpanBuilder for RedactedSpans {
    fn on_request_start(request: &ServiceRequest) -> Span {
        request.extensions_mut().insert(Arrived(Instant::now()));
        let request_id = request.extensions().get::<RequestId>().map(|id| id.0.clone()).unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.target = %redacted_target(request.path(), request.query_string()),
            request_id = %request_id,
        )
    }

    /// One access line and the request metrics. A refused request is
    /// logged by its status, never by its problem (which can quote a
    /// second factor back); a server error's cause was logged where it
    /// happened (`ApiError::internal`), once.
    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let Ok(response) = outcome else {
            // Only a middleware's own failure gets here; the framework answers 500.
            span.in_scope(|| tracing::warn!(target: "exampost::access", status = 500, "request failed before an answer"));
            return;
        };
        let request = response.request();
        let status = response.status().as_u16();
        let route = route_of(request);
        let extensions = request.extensions();
        let seconds = extensions.get::<Arrived>().map_or(0.0, |arrived| arrived.0.elapsed().as_secs_f64());
        let client_id = extensions.get::<CallerId>().map(|c| c.0.as_str()).unwrap_or("-");
        // A method is any token a client sends: only the standard ones become labels.
        let method = match request.method().as_str() {
            known @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => known,
            _ => "OTHER",
        };
        let duration_ms = (seconds * 1000.0 * 10.0).round() / 10.0;
        macro_rules! access_line {
            ($level:expr) => {
                tracing::event!(target: "exampost::access", $level, method, route = %route, status, duration_ms, client_id, "{method} {route} {status}")
            };
        }
        // Probes come every few seconds from every balancer: their lines are
        // noise at info (and formatting them cost the HTTP floor a fifth).
        let probe = matches!(route.as_str(), "/healthz" | "/readyz" | "/metrics");
        span.in_scope(|| if probe { access_line!(tracing::Level::DEBUG) } else { access_line!(tracing::Level::INFO) });
        let labels = [("method", method.to_string()), ("route", route), ("status", status.to_string())];
        ::metrics::counter!(names::HTTP_REQUESTS, &labels).increment(1);
        ::metrics::histogram!(names::HTTP_DURATION, &labels[..2]).record(seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callers_request_id_is_kept_only_when_sane() {
        assert_eq!(accepted_request_id(b"abc-123_x.y:z").as_deref(), Some("abc-123_x.y:z"));
        for bad in [&b""[..], b"a b", b"line\nforged", &[b'a'; 129], b"\xff\xfe", "Nguyễn".as_bytes()] {
            assert_eq!(accepted_request_id(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_request_id_bytes_are_judged_without_panicking(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            if let Some(id) = accepted_request_id(&raw) {
                proptest::prop_assert!(id.len() <= 128 && !id.contains(char::is_whitespace));
            }
        }
    }

    #[test]
    fn query_values_are_replaced_and_names_kept() {
        assert_eq!(redacted_target("/api/v1/items", ""), "/api/v1/items");
        assert_eq!(
            redacted_target("/api/v1/public/lookup", "date_of_birth=2008-08-08&token=abc&flag"),
            "/api/v1/public/lookup?date_of_birth=***&token=***&***"
        );
    }
}
