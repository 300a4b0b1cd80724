//! RFC 9457 problem details: the one error shape of the API, including the
//! framework's own errors (bad JSON, wrong content type, unknown route...).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::faults::{MaybeTransient, Transient};
use crate::domain::FieldError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation",
    "title": "Request breaks a rule",
    "status": 422,
    "detail": "1 field is invalid",
    "errors": [{"field": "tracking_number", "reason": "check digit is 6, expected 5 for serial 12345678"}]
}))]
pub struct Problem {
    /// Stable identifier of the problem kind, e.g. `/problems/invalid-tracking-number`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For validation problems: every offending field and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For conflicts with an existing resource: its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<String>,
}

/// Every way a request can fail. Handlers return `Result<_, ApiError>`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("request breaks a rule")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{detail}")]
    Conflict { detail: String, existing_id: Option<String> },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A body whose size must be known before it is read (411).
    #[error("{0}")]
    LengthRequired(String),
    #[error("database unavailable")]
    Unavailable,
    /// A database failure that passes (see [`Transient`]): 503 with `Retry-After`.
    #[error("database: {0:?}")]
    Transient(Transient),
    #[error("internal error")]
    Internal(String),
    /// A problem already worked out (e.g. for one entry of a batch).
    #[error("{}", .0.detail)]
    Problem(Box<Problem>),
}

impl ApiError {
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, reason)])
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        ApiError::Internal(err.to_string())
    }

    /// The problem document this error becomes.
    pub fn problem(&self) -> Problem {
        let (kind, title) = match self {
            ApiError::BadRequest(_) => ("/problems/malformed-request", "Malformed request"),
            ApiError::Validation(_) => ("/problems/validation", "Request breaks a rule"),
            ApiError::Unauthorized(_) => ("/problems/unauthorized", "Missing or invalid credentials"),
            ApiError::Forbidden(_) => ("/problems/forbidden", "Not allowed for your role"),
            ApiError::NotFound(_) => ("/problems/not-found", "Not found"),
            ApiError::Conflict { .. } => ("/problems/conflict", "Conflicts with existing data"),
            ApiError::PayloadTooLarge(_) => ("/problems/payload-too-large", "Request too large"),
            ApiError::UnsupportedMediaType(_) => ("/problems/unsupported-media-type", "Unsupported content type"),
            ApiError::LengthRequired(_) => ("/problems/length-required", "Content-Length required"),
            ApiError::Unavailable | ApiError::Transient(_) => ("/problems/unavailable", "Service temporarily unavailable"),
            ApiError::Internal(_) => ("/problems/internal", "Internal error"),
            ApiError::Problem(p) => return (**p).clone(),
        };
        let (detail, errors, existing_id) = match self {
            ApiError::Validation(errors) => {
                let n = errors.len();
                let detail = if n == 1 {
                    format!("{}: {}", errors[0].field, errors[0].reason)
                } else {
                    format!("{n} fields are invalid")
                };
                (detail, errors.clone(), None)
            }
            ApiError::Conflict { detail, existing_id } => (detail.clone(), vec![], existing_id.clone()),
            ApiError::Unavailable => ("the database is not reachable; retry shortly".into(), vec![], None),
            ApiError::Transient(kind) => (kind.detail().into(), vec![], None),
            // The cause is logged, never shown: it may name tables or hosts.
            ApiError::Internal(_) => ("an unexpected error occurred; it has been logged".into(), vec![], None),
            other => (other.to_string(), vec![], None),
        };
        Problem { kind: kind.into(), title: title.into(), status: self.status_code().as_u16(), detail, errors, existing_id }
    }
}

impl ApiError {
    /// Turns a problem document (an entry's result) back into an error response.
    pub fn from_problem(problem: Problem) -> Self {
        ApiError::Problem(Box::new(problem))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::LengthRequired(_) => StatusCode::LENGTH_REQUIRED,
            ApiError::Unavailable | ApiError::Transient(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Problem(p) => StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unavailable => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            ApiError::Transient(kind) => {
                response.insert_header((header::RETRY_AFTER, kind.retry_after_seconds().to_string()));
            }
            ApiError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        response.content_type(PROBLEM_JSON).json(self.problem())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        match crate::db::faults::transient(&err) {
            // Lock contention, a full disk, a lost connection: ask the client to retry.
            Some(kind) => {
                tracing::warn!(error = %err, fault = ?kind, "transient database failure");
                ApiError::Transient(kind)
            }
            None => ApiError::internal(err),
        }
    }
}

impl From<crate::app::Error> for ApiError {
    fn from(err: crate::app::Error) -> Self {
        use crate::app::Error;
        match err {
            Error::Invalid(errors) => ApiError::Validation(errors),
            Error::Forbidden(detail) => ApiError::Forbidden(detail),
            Error::NotFound(detail) => ApiError::NotFound(detail),
            Error::Conflict { detail, existing_id } => ApiError::Conflict { detail, existing_id },
            Error::Unauthorized(detail) => ApiError::Unauthorized(detail),
            Error::Unavailable => ApiError::Unavailable,
            Error::Transient(kind) => ApiError::Transient(kind),
            Error::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl MaybeTransient for ApiError {
    fn transient(&self) -> Option<Transient> {
        match self {
            ApiError::Transient(kind) => Some(*kind),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn database_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_string()))
    }

    #[test]
    fn transient_database_failures_are_503_with_retry_after() {
        for (error, retry_after) in [
            (database_error(DatabaseErrorKind::Unknown, "deadlock detected"), "1"),
            (database_error(DatabaseErrorKind::SerializationFailure, "could not serialize access due to concurrent update"), "1"),
            (database_error(DatabaseErrorKind::Unknown, "database is locked"), "2"),
            (database_error(DatabaseErrorKind::Unknown, "database or disk is full"), "30"),
            (database_error(DatabaseErrorKind::ClosedConnection, "server closed the connection unexpectedly"), "5"),
        ] {
            let api_error = ApiError::from(error);
            let response = api_error.error_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{api_error:?}");
            assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), retry_after, "{api_error:?}");
            assert_eq!(api_error.problem().kind, "/problems/unavailable");
        }
    }

    #[test]
    fn other_database_errors_stay_internal_and_hidden() {
        let api_error = ApiError::from(database_error(DatabaseErrorKind::Unknown, "no such table: itemz"));
        assert_eq!(api_error.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!api_error.problem().detail.contains("itemz"));
    }
}
