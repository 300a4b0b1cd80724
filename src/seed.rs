//! `exampost seed`: loads the demo season (fixtures/demo.json) through the
//! same checks as the API, with its story's times moved so that its
//! reference time is now.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::app::administration::{self, ChosenCredentials, CreateClient, CreateOrganization};
use crate::app::Actor;
use crate::api::auth::Caller;
use crate::api::events::{record_all, BatchEventEntry, Outcome};
use crate::api::extract::from_value;
use crate::api::items::{prepare_item, NewItemRequest};
use crate::api::problem::ApiError;
use crate::db::DbConn;
use crate::domain::{OrgKind, Role};
use crate::store::{self, items::Registered};

/// The demo season compiled into the binary.
pub const DEMO: &str = include_str!("../fixtures/demo.json");

#[derive(Deserialize)]
struct Demo {
    reference_time: DateTime<FixedOffset>,
    organizations: Vec<OrgFixture>,
    clients: Vec<ClientFixture>,
    items: Vec<Value>,
}

#[derive(Deserialize)]
struct OrgFixture {
    code: String,
    name: String,
    kind: OrgKind,
    province: String,
}

#[derive(Deserialize)]
struct ClientFixture {
    client_id: String,
    client_secret: String,
    organization: String,
    role: Role,
    name: String,
}

/// What was loaded.
#[derive(Debug, serde::Serialize)]
pub struct Seeded {
    pub organizations: usize,
    pub clients: usize,
    pub items: usize,
    pub events: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the fixture file is not valid: {0}")]
    Fixture(String),
    #[error("already seeded: organization {0} exists (seed an empty database)")]
    AlreadySeeded(String),
    #[error("fixture item {0} was refused: {1}")]
    Refused(String, String),
    #[error(transparent)]
    Admin(#[from] crate::app::Error),
    #[error("{0}")]
    Api(String),
}

impl From<ApiError> for SeedError {
    fn from(e: ApiError) -> Self {
        SeedError::Api(format!("{e}: {}", e.problem().detail))
    }
}

impl From<diesel::result::Error> for SeedError {
    fn from(e: diesel::result::Error) -> Self {
        SeedError::Api(e.to_string())
    }
}

fn shift_time(text: &str, shift: Duration) -> Result<String, SeedError> {
    let t = DateTime::parse_from_rfc3339(text).map_err(|e| SeedError::Fixture(format!("{text}: {e}")))?;
    Ok((t + shift).to_rfc3339())
}

/// Loads the demo into an empty database, all or nothing.
pub fn seed(conn: &mut DbConn, fixture: &str, now: DateTime<Utc>) -> Result<Seeded, SeedError> {
    let demo: Demo = serde_json::from_str(fixture).map_err(|e| SeedError::Fixture(e.to_string()))?;
    let shift = now - demo.reference_time.with_timezone(&Utc);
    let shift_days = Duration::days(shift.num_days());
    // Organizations and clients are made at `now`, like the shifted season.
    let clock = crate::clock::ManualClock::new(now);
    let operator = Actor::operator("seed");
    conn.write_transaction(|conn| {
        for org in &demo.organizations {
            if store::organizations::find_by_code(conn, &org.code)?.is_some() {
                return Err(SeedError::AlreadySeeded(org.code.clone()));
            }
            let command = CreateOrganization { code: org.code.clone(), name: org.name.clone(), kind: org.kind, province: org.province.clone() };
            administration::create_organization(conn, &clock, &operator, command)?;
        }
        let mut admin_caller = None;
        for c in &demo.clients {
            let command = CreateClient { organization: c.organization.clone(), name: c.name.clone(), role: c.role };
            let chosen = ChosenCredentials { id: c.client_id.clone(), secret: c.client_secret.clone() };
            let client = administration::create_client_with(conn, &clock, &operator, command, chosen)?.client;
            if c.role == Role::Admin {
                let org = store::organizations::find(conn, &client.organization_id)?.expect("just created");
                admin_caller = Some(Caller { client_id: client.id, org_id: org.id, role: Role::Admin, province: org.province });
            }
        }
        let caller = admin_caller.ok_or_else(|| SeedError::Fixture("no admin client".into()))?;

        let mut events = 0;
        for raw in &demo.items {
            let mut item = raw.clone();
            let object = item.as_object_mut().ok_or_else(|| SeedError::Fixture("an item is not an object".into()))?;
            let scans = object.remove("events").unwrap_or(Value::Array(vec![]));
            let registered_at = object.remove("registered_at").and_then(|v| v.as_str().map(str::to_string));
            let registered_at = match registered_at {
                Some(t) => DateTime::parse_from_rfc3339(&shift_time(&t, shift)?).expect("just formatted").with_timezone(&Utc),
                None => now,
            };
            if let Some(day) = object.get("must_arrive_by").and_then(Value::as_str) {
                let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|e| SeedError::Fixture(e.to_string()))?;
                object.insert("must_arrive_by".into(), (day + shift_days).format("%Y-%m-%d").to_string().into());
            }
            let request: NewItemRequest = from_value(item).map_err(|e| SeedError::Fixture(format!("{}: {}", e.field, e.reason)))?;
            let mut new = prepare_item(conn, &caller, &request, registered_at)?;
            new.created_at = registered_at.naive_utc();
            new.updated_at = new.created_at;
            let number = new.tracking_number.clone();
            if !matches!(store::items::register(conn, &new)?, Registered::Created(_)) {
                return Err(SeedError::Refused(number, "duplicate tracking number".into()));
            }
            let mut entries = Vec::new();
            for scan in scans.as_array().cloned().unwrap_or_default() {
                let mut scan = scan;
                let at = scan["occurred_at"].as_str().ok_or_else(|| SeedError::Fixture("event without occurred_at".into()))?;
                scan["occurred_at"] = shift_time(at, shift)?.into();
                scan["tracking_number"] = number.clone().into();
                scan["season"] = new.season.clone().into();
                entries.push(Ok(from_value::<BatchEventEntry>(scan).map_err(|e| SeedError::Fixture(format!("{number}: {} {}", e.field, e.reason)))?));
            }
            for (outcome, _) in record_all(conn, &caller, entries, now)? {
                match outcome {
                    Outcome::Created(_) => events += 1,
                    Outcome::Replayed(e) => return Err(SeedError::Refused(number, format!("event {} repeated", e.client_event_id))),
                    Outcome::Rejected(p) => return Err(SeedError::Refused(number, format!("{} {:?}", p.detail, p.errors))),
                }
            }
        }
        Ok(Seeded { organizations: demo.organizations.len(), clients: demo.clients.len(), items: demo.items.len(), events })
    })
}
