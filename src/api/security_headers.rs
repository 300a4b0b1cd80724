//! Headers that keep browsers from misusing what the service sends: no
//! response is sniffed into another type or leaks its URL as a referrer,
//! and no HTML page may be framed by another site (clickjacking of the
//! candidates' lookup form) or run script from anywhere but here.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use actix_web::middleware::Next;
use actix_web::Error;

/// The candidates' page: its script and style are inline, nothing is loaded.
pub const LOOKUP_PAGE_CSP: &str =
    "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Swagger UI: its own scripts and styles from here; it sets style
/// attributes and draws icons from data: URLs.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Any other HTML (the printable report): inline style only.
const OTHER_HTML_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn set_if_absent(response: &mut ServiceResponse<impl MessageBody>, name: HeaderName, value: &'static str) {
    let headers = response.headers_mut();
    if !headers.contains_key(&name) {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

pub async fn add(request: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let is_docs = request.path().starts_with("/docs");
    let mut response = next.call(request).await?;
    set_if_absent(&mut response, X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_if_absent(&mut response, REFERRER_POLICY, "no-referrer");
    let is_html = response.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_html {
        set_if_absent(&mut response, CONTENT_SECURITY_POLICY, if is_docs { DOCS_CSP } else { OTHER_HTML_CSP });
    }
    Ok(response)
}
