//! What a service can answer instead of a result. `api::problem` maps each
//! variant to one problem document; the CLI prints it.

use crate::db::faults::{MaybeTransient, Transient};
use crate::domain::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command breaks rules: every offending field and why.
    #[error("{}", describe(.0))]
    Invalid(Vec<FieldError>),
    /// The actor may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The thing named does not exist, or the actor may not see it (the
    /// same answer, so that nothing is revealed).
    #[error("{0}")]
    NotFound(String),
    /// Conflicts with what is stored, e.g. a number already registered.
    #[error("{detail}")]
    Conflict { detail: String, existing_id: Option<String> },
    /// The actor's own standing is gone (e.g. its organization was deleted).
    #[error("{0}")]
    Unauthorized(String),
    /// No database connection could be had.
    #[error("the database is not reachable; retry shortly")]
    Unavailable,
    /// A database failure that passes: lock contention, a full disk, a lost connection.
    #[error("database: {0:?}")]
    Transient(Transient),
    /// A bug or a broken invariant; the cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

fn describe(errors: &[FieldError]) -> String {
    match errors {
        [one] => format!("{}: {}", one.field, one.reason),
        many => format!("{} fields are invalid", many.len()),
    }
}

impl Error {
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldError::new(field, reason)])
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }
}

impl From<diesel::result::Error> for Error {
    fn from(err: diesel::result::Error) -> Self {
        match crate::db::faults::transient(&err) {
            Some(kind) => {
                tracing::warn!(error = %err, fault = ?kind, "transient database failure");
                Error::Transient(kind)
            }
            None => Error::internal(err),
        }
    }
}

impl MaybeTransient for Error {
    fn transient(&self) -> Option<Transient> {
        match self {
            Error::Transient(kind) => Some(*kind),
            _ => None,
        }
    }
}
