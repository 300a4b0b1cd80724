//! Domain enums are the row types: they round-trip through both backends,
//! and a stored value outside the enum is an error, never a default.

use diesel::dsl::sql;
use diesel::sql_types::Text;
use diesel::{IntoSql, RunQueryDsl};
use exampost::domain::cases::{CaseKind, CaseState};
use exampost::domain::events::EventType;
use exampost::domain::{ItemKind, ItemStatus, Priority, Role};

use crate::util::TestApp;

#[actix_rt::test]
async fn every_enum_value_round_trips_through_the_database() {
    let app = TestApp::new().await;
    let mut conn = app.conn();
    for kind in ItemKind::ALL {
        let back: ItemKind = diesel::select(kind.into_sql::<Text>()).get_result(&mut **conn).unwrap();
        assert_eq!(back, *kind);
    }
    for status in ItemStatus::ALL {
        let back: ItemStatus = diesel::select(status.into_sql::<Text>()).get_result(&mut **conn).unwrap();
        assert_eq!(back, *status);
    }
    for state in CaseState::ALL {
        let back: CaseState = diesel::select(state.into_sql::<Text>()).get_result(&mut **conn).unwrap();
        assert_eq!(back, *state);
    }
    let stored: String = diesel::select(Priority::Urgent.into_sql::<Text>()).get_result(&mut **conn).unwrap();
    assert_eq!(stored, "urgent", "stored as the wire text");
    let role: Role = diesel::select(sql::<Text>("'overseer'")).get_result(&mut **conn).unwrap();
    assert_eq!(role, Role::Overseer);
    let kind: CaseKind = diesel::select(sql::<Text>("'tampering'")).get_result(&mut **conn).unwrap();
    assert_eq!(kind.as_str(), "tampering");
    let event: EventType = diesel::select(EventType::ALL[0].into_sql::<Text>()).get_result(&mut **conn).unwrap();
    assert_eq!(event, EventType::ALL[0]);
}

#[actix_rt::test]
async fn an_unknown_stored_value_is_an_error_that_names_it() {
    let app = TestApp::new().await;
    let mut conn = app.conn();
    let read = diesel::select(sql::<Text>("'express'")).get_result::<Priority>(&mut **conn);
    let err = read.expect_err("an unknown priority must not read as a default");
    assert!(matches!(err, diesel::result::Error::DeserializationError(_)), "{err:?}");
    let cause = std::error::Error::source(&err).map(|e| format!("{e:?} {e}")).unwrap_or_default();
    assert!(format!("{err:?} {cause}").contains("Priority \"express\" is stored but is not a known value"), "{err:?}");
}
