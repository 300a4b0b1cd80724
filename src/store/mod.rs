//! Diesel queries. Functions take `&mut DbConn` and are called from
//! `web::block` (never on the async workers) or from the CLI.

pub mod audit;
pub mod cases;
pub mod chain;
pub mod clients;
pub mod contacts;
pub mod digests;
pub mod events;
pub mod incidents;
pub mod items;
pub mod organizations;
pub mod pre_advices;
pub mod outbox;
pub mod reports;
pub mod retention;
pub mod rules;
pub mod seasons;
pub mod throttle;
pub mod users;

use chrono::{NaiveDateTime, Utc};

/// Now, as stored: UTC without offset, microsecond precision (both backends keep µs).
pub fn now_utc() -> NaiveDateTime {
    stored_time(Utc::now())
}

/// A time as stored: UTC without offset, microsecond precision.
pub fn stored_time(t: chrono::DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc().with_nanosecond_truncated()
}

trait TruncateToMicros {
    fn with_nanosecond_truncated(self) -> Self;
}

impl TruncateToMicros for NaiveDateTime {
    fn with_nanosecond_truncated(self) -> Self {
        use chrono::Timelike;
        let micros = self.nanosecond() / 1_000 * 1_000;
        self.with_nanosecond(micros).expect("valid nanosecond")
    }
}

/// True when a diesel error is a unique-constraint violation.
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(err, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}
