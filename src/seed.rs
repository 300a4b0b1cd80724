//! `exampost seed`: loads the demo season (fixtures/demo.json) through the
//! same services as the API, with its story's times moved so that its
//! reference time is now.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde::Deserialize;

use crate::app::administration::{self, ChosenCredentials, CreateClient, CreateOrganization};
use crate::app::registration::{self, Candidate, Destination, Recipient, RegisterItem, Registration};
use crate::app::scans::{self, RecordScan, ScanDetail, SealReading};
use crate::app::{self as services, Actor};
use crate::clock::{Clock, ManualClock};
use crate::db::DbConn;
use crate::domain::cases::{CaseKind, TOP_LEVEL};
use crate::domain::incidents::IncidentKind;
use crate::domain::{ItemKind, OrgKind, Priority, Role};
use crate::store::{self};

/// The demo season compiled into the binary.
pub const DEMO: &str = include_str!("../fixtures/demo.json");

#[derive(Deserialize)]
struct Demo {
    reference_time: DateTime<FixedOffset>,
    /// The seasons of the story, their days moved with it.
    #[serde(default)]
    seasons: Vec<SeasonFixture>,
    organizations: Vec<OrgFixture>,
    clients: Vec<ClientFixture>,
    /// People who sign in to the console, with published demo passwords.
    #[serde(default)]
    users: Vec<UserFixture>,
    items: Vec<ItemFixture>,
    /// Level-3 cases the steering committee directs, once they have climbed.
    #[serde(default)]
    directions: Vec<DirectionFixture>,
    /// Area incidents the committee of the fixture's province declares, around now.
    #[serde(default)]
    incidents: Vec<IncidentFixture>,
    /// The plan's contact table.
    #[serde(default)]
    contacts: Vec<ContactFixture>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactFixture {
    organization: String,
    name: String,
    #[serde(default)]
    position: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    task: Option<String>,
    #[serde(default)]
    plan_role: Option<crate::domain::PlanRole>,
    #[serde(default)]
    exam_site: Option<String>,
    #[serde(default)]
    levels: Vec<i32>,
    #[serde(default)]
    digest_minutes: Option<i32>,
    #[serde(default)]
    daily_report: bool,
    #[serde(default)]
    public: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentFixture {
    kind: IncidentKind,
    provinces: Vec<String>,
    wards: Vec<String>,
    office_codes: Vec<String>,
    starts_hours_before: i64,
    ends_hours_after: i64,
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeasonFixture {
    code: String,
    name: String,
    exam_days: Vec<NaiveDate>,
    result_day: Option<NaiveDate>,
    closes_on: NaiveDate,
    deadlines: std::collections::HashMap<ItemKind, NaiveDate>,
}

impl SeasonFixture {
    fn command(self, shift_days: Duration) -> crate::app::seasons::SeasonCommand {
        let day = |d: NaiveDate| (d + shift_days).format("%Y-%m-%d").to_string();
        crate::app::seasons::SeasonCommand {
            code: self.code,
            name: self.name,
            exam_days: self.exam_days.into_iter().map(day).collect(),
            result_day: self.result_day.map(day),
            closes_on: day(self.closes_on),
            deadlines: self.deadlines.into_iter().map(|(kind, d)| (kind, day(d))).collect(),
        }
    }
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct PreAdviceFixture {
    programme: String,
    document_digest: String,
    acknowledged: bool,
}

/// The committee's direction on a case the story leaves unanswered.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectionFixture {
    tracking_number: String,
    case_kind: CaseKind,
    organization: String,
    respond_within_hours: i64,
    instruction: String,
}

/// An item of the story: a registration, when it happened, and its scans.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemFixture {
    tracking_number: String,
    season: String,
    kind: ItemKind,
    #[serde(default)]
    priority: Option<Priority>,
    #[serde(default)]
    sender_org: Option<String>,
    #[serde(default)]
    carrier_org: Option<String>,
    recipient: RecipientFixture,
    #[serde(default)]
    candidate: Option<CandidateFixture>,
    destination: DestinationFixture,
    #[serde(default)]
    seal_number: Option<String>,
    #[serde(default)]
    confidential: bool,
    #[serde(default)]
    sent_by_candidate: bool,
    #[serde(default)]
    origin_province: Option<String>,
    /// The dossier's electronic pre-advice, and whether the institution acknowledged it.
    #[serde(default)]
    pre_advice: Option<PreAdviceFixture>,
    /// A day of the story, moved by whole days.
    #[serde(default)]
    must_arrive_by: Option<NaiveDate>,
    #[serde(default)]
    reference: Option<String>,
    /// Default: now.
    #[serde(default)]
    registered_at: Option<DateTime<FixedOffset>>,
    /// Scans in the form of a batch entry, without the item's number and season.
    #[serde(default)]
    events: Vec<ScanFixture>,
}

/// A scan of the story, in the form of an API batch entry without the
/// item's number and season.
#[derive(Deserialize)]
struct ScanFixture {
    client_event_id: String,
    occurred_at: DateTime<FixedOffset>,
    office_code: String,
    #[serde(default)]
    office_name: Option<String>,
    #[serde(default)]
    operator_id: Option<String>,
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    seal: Option<SealReading>,
    #[serde(flatten)]
    detail: ScanDetail,
}

impl ScanFixture {
    /// The scan of item `tracking_number`, moved by `shift`.
    fn scan(self, tracking_number: &str, season: &str, shift: Duration) -> RecordScan {
        RecordScan {
            tracking_number: tracking_number.to_string(),
            season: Some(season.to_string()),
            client_event_id: self.client_event_id,
            occurred_at: (self.occurred_at + shift).to_rfc3339(),
            office_code: self.office_code,
            office_name: self.office_name,
            operator_id: self.operator_id,
            device_id: self.device_id,
            seal: self.seal,
            detail: self.detail,
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum RecipientFixture {
    Candidate(CandidateFixture),
    Organization {
        organization: String,
        #[serde(default)]
        attention: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CandidateFixture {
    candidate_number: String,
    full_name: String,
    date_of_birth: NaiveDate,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DestinationFixture {
    province: String,
    ward: String,
    address_line: String,
}

impl From<CandidateFixture> for Candidate {
    fn from(c: CandidateFixture) -> Self {
        Candidate {
            candidate_number: c.candidate_number,
            full_name: c.full_name,
            date_of_birth: c.date_of_birth.format("%Y-%m-%d").to_string(),
            phone: c.phone,
            email: c.email,
        }
    }
}

impl ItemFixture {
    /// The registration, its deadline moved by `shift_days`.
    fn registration(self, shift_days: Duration) -> RegisterItem {
        RegisterItem {
            tracking_number: self.tracking_number,
            season: self.season,
            kind: self.kind,
            priority: self.priority,
            sender_org: self.sender_org,
            carrier_org: self.carrier_org,
            recipient: match self.recipient {
                RecipientFixture::Candidate(c) => Recipient::Candidate(c.into()),
                RecipientFixture::Organization { organization, attention } => Recipient::Organization { organization, attention },
            },
            candidate: self.candidate.map(Into::into),
            destination: Destination {
                province: self.destination.province,
                ward: self.destination.ward,
                address_line: self.destination.address_line,
            },
            seal_number: self.seal_number,
            confidential: self.confidential,
            sent_by_candidate: self.sent_by_candidate,
            origin_province: self.origin_province,
            must_arrive_by: self.must_arrive_by.map(|day| (day + shift_days).format("%Y-%m-%d").to_string()),
            reference: self.reference,
        }
    }
}

#[derive(Deserialize)]
struct OrgFixture {
    code: String,
    name: String,
    kind: OrgKind,
    province: String,
    #[serde(default)]
    reads_province: bool,
}

#[derive(Deserialize)]
struct ClientFixture {
    client_id: String,
    client_secret: String,
    organization: String,
    role: Role,
    name: String,
}

#[derive(Deserialize)]
struct UserFixture {
    email: String,
    password: String,
    organization: String,
    role: Role,
    name: String,
    #[serde(default)]
    manages_users: bool,
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
    Service(#[from] services::Error),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Loads the demo into an empty database, all or nothing.
pub fn seed(conn: &mut DbConn, fixture: &str, now: DateTime<Utc>) -> Result<Seeded, SeedError> {
    let demo: Demo = serde_json::from_str(fixture).map_err(|e| SeedError::Fixture(e.to_string()))?;
    let shift = now - demo.reference_time.with_timezone(&Utc);
    let shift_days = Duration::days(shift.num_days());
    let (organizations, clients, items) = (demo.organizations.len(), demo.clients.len(), demo.items.len());
    // Organizations and clients are made at `now`, like the shifted season.
    let clock = crate::clock::ManualClock::new(now);
    let operator = Actor::operator("seed");
    conn.write_transaction(|conn| {
        for org in &demo.organizations {
            if store::organizations::find_by_code(conn, &org.code)?.is_some() {
                return Err(SeedError::AlreadySeeded(org.code.clone()));
            }
            let command = CreateOrganization {
                code: org.code.clone(),
                name: org.name.clone(),
                kind: org.kind,
                province: org.province.clone(),
                reads_province: org.reads_province,
            };
            administration::create_organization(conn, &clock, &operator, command)?;
        }
        let mut admin_actor = None;
        let mut overseers = Vec::new();
        for c in &demo.clients {
            let command = CreateClient { organization: c.organization.clone(), name: c.name.clone(), role: c.role };
            let chosen = ChosenCredentials { id: c.client_id.clone(), secret: c.client_secret.clone() };
            let client = administration::create_client_with(conn, &clock, &operator, command, chosen)?.client;
            if c.role == Role::Admin {
                let org = store::organizations::find(conn, &client.organization_id)?
                    .ok_or_else(|| SeedError::Fixture(format!("the organization of client {} is gone", client.id)))?;
                admin_actor = Some(Actor { client_id: client.id, org_id: org.id, role: Role::Admin, province: org.province, reads_province: false });
            } else if c.role == Role::Overseer {
                let org = store::organizations::find(conn, &client.organization_id)?
                    .ok_or_else(|| SeedError::Fixture(format!("the organization of client {} is gone", client.id)))?;
                overseers.push(Actor { client_id: client.id, org_id: org.id, role: Role::Overseer, province: org.province, reads_province: false });
            }
        }
        let actor = admin_actor.ok_or_else(|| SeedError::Fixture("no admin client".into()))?;
        for u in demo.users {
            let command = administration::CreateUser {
                organization: Some(u.organization),
                email: u.email,
                name: u.name,
                role: u.role,
                manages_users: u.manages_users,
                password: Some(u.password),
            };
            administration::create_user(conn, &clock, &operator, command)?;
        }
        // The story's seasons: declared, or re-declared over one of the same code.
        for c in demo.contacts {
            let command = administration::AddContact {
                name: c.name,
                position: c.position,
                phone: c.phone,
                email: c.email,
                case_kinds: vec![],
                levels: c.levels,
                lang: None,
                digest_minutes: c.digest_minutes,
                task: c.task,
                plan_role: c.plan_role,
                exam_site: c.exam_site,
                daily_report: c.daily_report,
                public: c.public,
                organization: Some(c.organization),
            };
            administration::add_contact(conn, &clock, &actor, command)?;
        }
        for season in demo.seasons {
            let command = season.command(shift_days);
            match store::seasons::find(conn, &command.code)? {
                Some(_) => crate::app::seasons::replace(conn, &clock, &actor, &command.code.clone(), command)?,
                None => crate::app::seasons::create(conn, &clock, &actor, command)?,
            };
        }

        let mut events = 0;
        for mut fixture in demo.items {
            let scans = std::mem::take(&mut fixture.events);
            let advice = fixture.pre_advice.take();
            // Registered at its time in the story: the registration's clock stands there.
            let registered_at = fixture.registered_at.map_or(now, |t| (t + shift).with_timezone(&Utc));
            let number = fixture.tracking_number.clone();
            let item = match registration::register(conn, &ManualClock::new(registered_at), &actor, fixture.registration(shift_days)) {
                Ok(Registration::Created(item)) => item,
                Ok(Registration::Replayed(_)) | Err(services::Error::Conflict { .. }) => {
                    return Err(SeedError::Refused(number, "duplicate tracking number".into()))
                }
                Err(services::Error::Invalid(errors)) => return Err(SeedError::Refused(number, services::Error::Invalid(errors).to_string())),
                Err(other) => return Err(other.into()),
            };
            let number = item.tracking_number;
            if let Some(advice) = advice {
                let command = crate::app::pre_advice::AttachPreAdvice {
                    tracking_number: number.clone(),
                    season: Some(item.season.clone()),
                    programme: advice.programme,
                    document_digest: advice.document_digest,
                };
                crate::app::pre_advice::attach(conn, &ManualClock::new(registered_at), &actor, command)?;
                if advice.acknowledged {
                    crate::app::pre_advice::acknowledge(conn, &ManualClock::new(registered_at + Duration::hours(2)), &actor, &number, Some(&item.season))?;
                }
            }
            let scans: Vec<RecordScan> = scans.into_iter().map(|scan| scan.scan(&number, &item.season, shift)).collect();
            for recorded in scans::record_batch(conn, &clock, &actor, &scans)? {
                match recorded.outcome {
                    scans::Outcome::Created(_) => events += 1,
                    scans::Outcome::Replayed(e) => return Err(SeedError::Refused(number, format!("event {} repeated", e.client_event_id))),
                    scans::Outcome::Rejected(error) => return Err(SeedError::Refused(number, error.to_string())),
                }
            }
        }
        for direction in &demo.directions {
            direct(conn, &clock, &overseers, direction)?;
        }
        let committee = overseers.iter().find(|o| o.province == "phu-tho").or(overseers.first());
        for incident in demo.incidents {
            let committee = committee.ok_or_else(|| SeedError::Fixture("no overseer client to declare an incident".into()))?;
            let command = crate::app::incidents::DeclareIncident {
                kind: incident.kind,
                provinces: incident.provinces,
                wards: incident.wards,
                office_codes: incident.office_codes,
                starts_at: (now - Duration::hours(incident.starts_hours_before)).to_rfc3339(),
                ends_at: (now + Duration::hours(incident.ends_hours_after)).to_rfc3339(),
                description: incident.description,
            };
            crate::app::incidents::declare_in(conn, &clock, committee, command)?;
        }
        Ok(Seeded { organizations, clients, items, events })
    })
}

/// Lets a case climb to the committee (as the ladder would once nobody
/// answers) and records the committee's direction on it.
fn direct(conn: &mut DbConn, clock: &ManualClock, overseers: &[Actor], direction: &DirectionFixture) -> Result<(), SeedError> {
    use crate::app::cases::{self, CaseCommand};
    let missing = || SeedError::Fixture(format!("no {} case of {} to direct", direction.case_kind, direction.tracking_number));
    let item = store::items::find_visible(conn, &store::items::ItemScope::All, &direction.tracking_number, None)?.ok_or_else(missing)?;
    let committee = overseers
        .iter()
        .find(|o| o.province == item.dest_province || o.province == item.origin_province)
        .ok_or_else(|| SeedError::Fixture(format!("no overseer client for the province of {}", item.tracking_number)))?;
    let case = store::cases::active_for_item(conn, item.id)?.into_iter().find(|c| c.kind == direction.case_kind).ok_or_else(missing)?;
    for _ in case.level..TOP_LEVEL {
        cases::act(conn, clock, committee, &case.public_id, CaseCommand::Escalate { note: Some("not acknowledged in time".into()) })?;
    }
    let respond_by = (clock.now() + Duration::hours(direction.respond_within_hours)).to_rfc3339();
    let command = CaseCommand::Direct { instruction: direction.instruction.clone(), organization: direction.organization.clone(), respond_by };
    cases::act(conn, clock, committee, &case.public_id, command)?;
    Ok(())
}
