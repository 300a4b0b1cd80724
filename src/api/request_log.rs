//! The request span every log line of a request carries. Logs travel
//! further than the database (to files, collectors, support tickets), so
//! they get no secret: the query string keeps its names but not its values
//! (a client may put a token or a date of birth there), and a refused
//! request is logged by its status, never by the error text, which can
//! quote a second factor back from the body.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

pub struct RedactedSpans;

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

impl RootSpanBuilder for RedactedSpans {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().copied().map(|id| id.to_string()).unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %request.match_pattern().unwrap_or_default(),
            http.target = %redacted_target(request.path(), request.query_string()),
            http.status_code = tracing::field::Empty,
            request_id = %request_id,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        span.record("http.status_code", status.as_u16());
        if status.is_server_error() {
            // The cause was logged where it happened (ApiError::internal).
            span.in_scope(|| tracing::warn!(status = status.as_u16(), "request failed"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_replaced_and_names_kept() {
        assert_eq!(redacted_target("/api/v1/items", ""), "/api/v1/items");
        assert_eq!(
            redacted_target("/api/v1/public/lookup", "date_of_birth=2008-08-08&token=abc&flag"),
            "/api/v1/public/lookup?date_of_birth=***&token=***&***"
        );
    }
}
