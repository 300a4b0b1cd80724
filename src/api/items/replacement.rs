//! Replacing a lost item: the sender registers a new one, linked both ways,
//! and the loss case is settled as `replaced`.

use actix_web::{post, web, HttpResponse};

use super::{prepare_item, scope_of, views, DestinationInput, ItemView, NewItemRequest, OrganizationRecipientInput, RecipientInput, ReplacementRequest, SeasonParam};
use super::{CandidateInput, CandidateView, RecipientView};
use crate::api::auth::Caller;
use crate::api::extract::ValidJson;
use crate::api::problem::{ApiError, Problem};
use crate::api::AppState;
use crate::domain::cases::{CaseKind, CaseOutcome};
use crate::domain::{fields, s10, ItemStatus, Priority, Role};
use crate::escalation;
use crate::notify::templates::CandidateNews;
use crate::store::{self, items::Registered};

fn candidate_input(c: &CandidateView) -> CandidateInput {
    CandidateInput {
        candidate_number: c.candidate_number.clone(),
        full_name: c.full_name.clone(),
        date_of_birth: c.date_of_birth.format("%Y-%m-%d").to_string(),
        phone: c.phone.clone(),
        email: c.email.clone(),
    }
}

/// The registration of a replacement: the lost item's content, a new number, urgent.
fn replacement_of(lost: &ItemView, request: &ReplacementRequest, now: chrono::DateTime<chrono::Utc>) -> NewItemRequest {
    let (recipient, candidate) = match &lost.recipient {
        RecipientView::Candidate(c) => (RecipientInput::Candidate(candidate_input(c)), None),
        RecipientView::Organization { organization, attention } => (
            RecipientInput::Organization(OrganizationRecipientInput { organization: organization.clone(), attention: attention.clone() }),
            lost.candidate.as_ref().map(candidate_input),
        ),
    };
    let deadline = request.must_arrive_by.clone().or_else(|| lost.must_arrive_by.filter(|t| *t > now).map(|t| t.to_rfc3339()));
    NewItemRequest {
        tracking_number: request.tracking_number.clone(),
        season: lost.season.clone(),
        kind: lost.kind,
        priority: Some(Priority::Urgent),
        sender_org: Some(lost.sender_org.clone()),
        carrier_org: Some(request.carrier_org.clone().unwrap_or_else(|| lost.carrier_org.clone())),
        recipient,
        candidate,
        destination: DestinationInput {
            province: lost.destination.province.clone(),
            ward: lost.destination.ward.clone(),
            address_line: lost.destination.address_line.clone(),
        },
        seal_number: request.seal_number.clone(),
        must_arrive_by: deadline,
        reference: Some(request.reference.clone().unwrap_or_else(|| format!("Thay thế bưu gửi thất lạc {}", lost.tracking_number))),
    }
}

/// Register the replacement of a lost item (its sender).
///
/// The new item copies the candidate, destination and sender, is urgent,
/// and is linked both ways: reading the lost number shows `replaced_by`.
/// The open `lost` case is resolved as `replaced`.
#[utoipa::path(
    tag = "items",
    params(("tracking_number" = String, Path, description = "The lost item's number"), SeasonParam),
    request_body = ReplacementRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The replacement", body = ItemView),
        (status = 403, description = "Not the item's sender", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The item is not lost, or already replaced", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/items/{tracking_number}/replacement")]
pub async fn create_replacement(
    state: web::Data<AppState>,
    caller: Caller,
    tracking_number: web::Path<String>,
    query: web::Query<SeasonParam>,
    ValidJson(request): ValidJson<ReplacementRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Education, Role::Admin])?;
    let number = s10::normalize(&tracking_number).map_err(|e| ApiError::field("tracking_number", e.to_string()))?;
    let season = query.into_inner().season.as_deref().map(fields::season).transpose().map_err(|r| ApiError::field("season", r))?;
    let now = state.clock.now();
    let view = state
        .db(move |conn| {
            conn.write_transaction(|conn| {
                let scope = scope_of(&caller);
                let lost = store::items::find_visible(conn, &scope, &number, season.as_deref())?
                    .ok_or_else(|| ApiError::NotFound(format!("no item {number} that you can see")))?;
                if caller.role != Role::Admin && lost.sender_org_id != caller.org_id {
                    return Err(ApiError::Forbidden("only the item's sender issues a replacement".into()));
                }
                if lost.status != ItemStatus::Lost.as_str() {
                    return Err(ApiError::Conflict {
                        detail: format!("{number} is not lost (it is {}); only a lost item is replaced", lost.status),
                        existing_id: None,
                    });
                }
                if let Some(existing) = lost.replaced_by_item_id {
                    let existing = store::items::find(conn, existing)?;
                    if !scope.includes(&existing) {
                        return Err(ApiError::Conflict { detail: format!("{number} is already replaced"), existing_id: None });
                    }
                    return Err(ApiError::Conflict {
                        detail: format!("{number} is already replaced by {}", existing.tracking_number),
                        existing_id: Some(existing.public_id),
                    });
                }
                let lost_view = views(conn, vec![lost.clone()])?.pop().expect("one view per row");
                let new = prepare_item(conn, &caller, &replacement_of(&lost_view, &request, now), now)?;
                let replacement = match store::items::register(conn, &new)? {
                    Registered::Created(item) => item,
                    Registered::Replayed(item) | Registered::Conflict(item) => {
                        // Another organization may hold the number: its item's id is not ours to tell.
                        let readable = scope.includes(&item);
                        return Err(ApiError::Conflict {
                            detail: format!("{} is already registered this season", item.tracking_number),
                            existing_id: readable.then_some(item.public_id),
                        });
                    }
                };
                store::items::link_replacement(conn, lost.id, replacement.id, now.naive_utc())?;
                for case in store::cases::active_for_item(conn, lost.id)? {
                    if CaseKind::parse(&case.kind) == Some(CaseKind::Lost) {
                        let note = format!("replaced by {}", replacement.tracking_number);
                        escalation::resolve(conn, &case, CaseOutcome::Replaced, &caller.client_id, Some(&note), now)?;
                    }
                }
                let news = CandidateNews::Replaced { new_tracking_number: replacement.tracking_number.clone() };
                crate::notify::candidate(conn, &lost, news, now)?;
                let replacement = store::items::find(conn, replacement.id)?;
                Ok(views(conn, vec![replacement])?.pop().expect("one view per row"))
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}
