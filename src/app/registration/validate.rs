//! Turns a registration command into a storable item, collecting every
//! broken rule with its field rather than stopping at the first.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use sha2::{Digest, Sha256};

use super::{Candidate as CandidateInput, Recipient, RegisterItem};
use crate::app::Actor;
use crate::domain::{fields, province, s10, FieldError, FieldErrors, ItemKind, ItemStatus, OrgKind, Priority, Role};
use crate::store::seasons::Season;
use crate::store::items::NewItem;
use crate::store::organizations::Organization;

/// What validation needs besides the command.
pub struct Context<'a> {
    pub actor: &'a Actor,
    /// The actor's own organization.
    pub actor_org: &'a Organization,
    /// Organizations the command names, by code.
    pub orgs: &'a HashMap<String, Organization>,
    /// The priority of each kind when the command names none (the rules' table).
    pub default_priorities: &'a HashMap<ItemKind, Priority>,
    /// The seasons the commands name, by code.
    pub seasons: &'a HashMap<String, Season>,
    pub now: DateTime<Utc>,
}

/// Organization codes a command names (to load them in one query).
pub fn referenced_codes(request: &RegisterItem) -> Vec<String> {
    let mut codes: Vec<String> = [request.sender_org.as_deref(), request.carrier_org.as_deref()]
        .into_iter()
        .flatten()
        .map(normalize_code)
        .collect();
    if let Recipient::Organization { organization, .. } = &request.recipient {
        codes.push(normalize_code(organization));
    }
    codes
}

fn normalize_code(code: &str) -> String {
    code.trim().to_uppercase()
}

fn date(input: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d").map_err(|_| "must be a date as YYYY-MM-DD".to_string())
}

struct Candidate {
    number: String,
    name: String,
    dob: NaiveDate,
    phone: Option<String>,
    email: Option<String>,
}

fn candidate(errors: &mut FieldErrors, prefix: &str, input: &CandidateInput, today: NaiveDate) -> Option<Candidate> {
    let number = errors.check(&format!("{prefix}.candidate_number"), fields::candidate_number(&input.candidate_number));
    let name = errors.check(&format!("{prefix}.full_name"), fields::text(&input.full_name, 200));
    let dob = errors.check(
        &format!("{prefix}.date_of_birth"),
        date(&input.date_of_birth).and_then(|d| fields::date_of_birth(d, today)),
    );
    let phone = errors.check(&format!("{prefix}.phone"), input.phone.as_deref().filter(|p| !p.trim().is_empty()).map(fields::phone).transpose());
    let email = errors.check(&format!("{prefix}.email"), input.email.as_deref().filter(|e| !e.trim().is_empty()).map(fields::email).transpose());
    Some(Candidate { number: number?, name: name?, dob: dob?, phone: phone?, email: email? })
}

/// Resolves an organization code for `field`, checking its kind.
fn organization<'a>(
    errors: &mut FieldErrors,
    field: &str,
    code: &str,
    orgs: &'a HashMap<String, Organization>,
    kinds: &[OrgKind],
) -> Option<&'a Organization> {
    let code = normalize_code(code);
    let Some(org) = orgs.get(&code) else {
        errors.push(field, format!("no organization with code {code}"));
        return None;
    };
    if !kinds.contains(&org.kind) {
        let wanted = kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" or ");
        errors.push(field, format!("{code} is a {} organization; this needs {wanted}", org.kind));
        return None;
    }
    Some(org)
}

/// The organization in `field`: required for most roles; a client of
/// `own_role` may omit it (meaning its own) but may not name another.
fn party<'a>(
    errors: &mut FieldErrors,
    field: &str,
    given: Option<&str>,
    ctx: &Context<'a>,
    own_role: Role,
    kind: OrgKind,
) -> Option<&'a Organization> {
    if ctx.actor.role == own_role {
        let own = ctx.actor_org;
        match given {
            Some(code) if normalize_code(code) != own.code => {
                errors.push(field, format!("a {own_role} client registers items only for its own organization ({})", own.code));
                None
            }
            _ => Some(own),
        }
    } else {
        match given {
            Some(code) => organization(errors, field, code, ctx.orgs, &[kind]),
            None => {
                errors.push(field, "is required");
                None
            }
        }
    }
}

/// The kinds a candidate sends themselves.
const CANDIDATE_DOSSIERS: &[ItemKind] = &[ItemKind::ApplicationDossier, ItemKind::PreferenceChangeDossier, ItemKind::EnrollmentDossier];

/// For a dossier the candidate sends: the organization that registers it on
/// their behalf — the accepting carrier, or the receiving institution itself.
fn candidate_sender<'a>(errors: &mut FieldErrors, request: &RegisterItem, ctx: &Context<'a>, carrier: Option<&'a Organization>) -> Option<&'a Organization> {
    if !CANDIDATE_DOSSIERS.contains(&request.kind) {
        errors.push("sent_by_candidate", "only a dossier (application, change of preference, enrollment) is sent by the candidate");
    }
    if request.sender_org.is_some() {
        errors.push("sender_org", "a dossier the candidate sends has no sending organization; leave sender_org out");
    }
    if request.candidate.is_none() {
        errors.push("candidate", "is required: the candidate who sends the dossier (they follow it and get its mails)");
    }
    let recipient = match &request.recipient {
        Recipient::Organization { organization, .. } => Some(normalize_code(organization)),
        Recipient::Candidate(_) => {
            errors.push("recipient", "a candidate's dossier goes to an institution (recipient type organization)");
            None
        }
    };
    match ctx.actor.role {
        Role::Carrier => Some(ctx.actor_org),
        Role::Education if recipient.as_deref() == Some(ctx.actor_org.code.as_str()) => Some(ctx.actor_org),
        Role::Education => {
            errors.push("sent_by_candidate", "an institution registers only the candidates' dossiers addressed to it");
            None
        }
        _ => carrier,
    }
}

/// Validates and normalises a command into the row to store, registered at `ctx.now`.
pub fn new_item(request: &RegisterItem, ctx: &Context) -> Result<NewItem, Vec<FieldError>> {
    let mut errors = FieldErrors::default();
    let today = ctx.now.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive();

    let tracking_number = errors.check("tracking_number", s10::normalize(&request.tracking_number).map_err(|e| e.to_string()));
    let season = errors.check(
        "season",
        fields::season(&request.season).and_then(|code| {
            if ctx.seasons.contains_key(&code) {
                Ok(code)
            } else {
                Err(format!("there is no season {code}; an admin declares seasons (GET /api/v1/seasons lists them)"))
            }
        }),
    );
    let carrier = party(&mut errors, "carrier_org", request.carrier_org.as_deref(), ctx, Role::Carrier, OrgKind::Carrier);
    let sender = if request.sent_by_candidate {
        candidate_sender(&mut errors, request, ctx, carrier)
    } else {
        party(&mut errors, "sender_org", request.sender_org.as_deref(), ctx, Role::Education, OrgKind::Education)
    };

    let (recipient_org, attention, candidate_input, candidate_field) = match &request.recipient {
        Recipient::Candidate(c) => {
            if request.candidate.is_some() {
                errors.push("candidate", "only for items to an organization; a candidate recipient is the candidate");
            }
            (Some(None), Some(None), Some(c), "recipient")
        }
        Recipient::Organization { organization: code, attention } => {
            let org = organization(&mut errors, "recipient.organization", code, ctx.orgs, &[OrgKind::Education, OrgKind::Overseer]);
            let attention = errors.check("recipient.attention", fields::optional_text(attention.as_deref(), 200));
            (org.map(Some), attention, request.candidate.as_ref(), "candidate")
        }
    };
    let candidate = match candidate_input {
        Some(input) => candidate(&mut errors, candidate_field, input, today).map(Some),
        None => Some(None),
    };

    let origin = match (&request.origin_province, request.sent_by_candidate) {
        (Some(given), true) => {
            let found = province::resolve(given);
            if found.is_none() {
                errors.push("origin_province", "is not one of Vietnam's 34 provinces (code, name or former name)");
            }
            found
        }
        (Some(_), false) => {
            errors.push("origin_province", "only a candidate's dossier names where it was posted; other items leave from their sender's province");
            None
        }
        (None, _) => None,
    };
    let dest_province = province::resolve(&request.destination.province);
    if dest_province.is_none() {
        errors.push("destination.province", "is not one of Vietnam's 34 provinces (code, name or former name)");
    }
    let ward = errors.check("destination.ward", fields::text(&request.destination.ward, 200));
    let address = errors.check("destination.address_line", fields::text(&request.destination.address_line, 500));
    let seal = errors.check("seal_number", fields::optional_text(request.seal_number.as_deref(), 64));
    let confidential = request.confidential || request.kind == ItemKind::ExamPaper;
    if confidential && matches!(seal, Some(None)) {
        errors.push("seal_number", "is required for a confidential item (exam papers always are)");
    }
    if request.kind == ItemKind::ExamPaper && matches!(request.recipient, Recipient::Candidate(_)) {
        errors.push("recipient", "exam papers go to an organization (an exam site or school), not to a candidate");
    }
    let must_arrive_by = errors.check(
        "must_arrive_by",
        match request.must_arrive_by.as_deref() {
            Some(d) => fields::deadline(d, ctx.now).map(Some),
            // None given: the season's deadline for the kind, while it is ahead.
            None => Ok(season
                .as_ref()
                .and_then(|code| ctx.seasons.get(code))
                .and_then(|s| s.deadline_for(request.kind))
                .map(|at| at.and_utc())
                .filter(|at| *at > ctx.now)),
        },
    );
    let reference = errors.check("reference", fields::optional_text(request.reference.as_deref(), 200));

    let (
        Some(tracking_number), Some(season), Some(sender), Some(carrier), Some(recipient_org), Some(attention),
        Some(candidate), Some(dest_province), Some(ward), Some(address), Some(seal), Some(must_arrive_by), Some(reference),
    ) = (
        tracking_number, season, sender, carrier, recipient_org, attention, candidate, dest_province, ward, address, seal,
        must_arrive_by, reference,
    )
    else {
        return Err(errors.0);
    };
    if !errors.0.is_empty() {
        return Err(errors.0);
    }

    let priority = request.priority.or_else(|| ctx.default_priorities.get(&request.kind).copied()).unwrap_or(Priority::Standard);
    let recipient_kind = if recipient_org.is_some() { "organization" } else { "candidate" };
    let content = serde_json::json!([
        tracking_number, season, request.kind, priority, sender.id, carrier.id, recipient_kind,
        recipient_org.map(|o| &o.id), attention,
        candidate.as_ref().map(|c| (&c.number, &c.name, c.dob, &c.phone, &c.email)),
        dest_province.code, ward, address, seal, must_arrive_by, reference,
    ]);
    // Only a confidential item hashes the flag, so the hashes of items stored
    // before it existed stay the same (a retry of one is still a replay).
    let mut content = content;
    if let Some(parts) = content.as_array_mut() {
        if confidential {
            parts.push("confidential".into());
        }
        if request.sent_by_candidate {
            parts.push("sent_by_candidate".into());
            parts.push(origin.map_or("", |p| p.code).into());
        }
    }
    let content_hash = hex::encode(Sha256::digest(content.to_string().as_bytes()));
    // Stored at the precision both backends keep, so a row reads back as written.
    let now = ctx.now.naive_utc().trunc_subsecs(6);
    Ok(NewItem {
        public_id: uuid::Uuid::now_v7().to_string(),
        tracking_number,
        season,
        kind: request.kind,
        priority,
        status: ItemStatus::Registered,
        sender_org_id: sender.id.clone(),
        carrier_org_id: carrier.id.clone(),
        origin_province: origin.map(|p| p.code.to_string()).unwrap_or_else(|| sender.province.clone()),
        recipient_kind: recipient_kind.into(),
        recipient_org_id: recipient_org.map(|o| o.id.clone()),
        recipient_attention: attention,
        candidate_number: candidate.as_ref().map(|c| c.number.clone()),
        candidate_name: candidate.as_ref().map(|c| c.name.clone()),
        candidate_dob: candidate.as_ref().map(|c| c.dob),
        candidate_phone: candidate.as_ref().and_then(|c| c.phone.clone()),
        candidate_email: candidate.as_ref().and_then(|c| c.email.clone()),
        dest_province: dest_province.code.into(),
        dest_ward: ward,
        dest_address: address,
        seal_number: seal,
        confidential,
        sent_by_candidate: request.sent_by_candidate,
        must_arrive_by: must_arrive_by.map(|t| t.naive_utc()),
        reference,
        content_hash,
        created_by: ctx.actor.client_id.clone(),
        created_at: now,
        updated_at: now,
        due_at: must_arrive_by.map(|t| t.naive_utc()),
    })
}
