//! Replacing a lost item: the sender registers a new one, linked both ways,
//! and the loss case is settled as `replaced` (`app::registration::replace`).

use actix_web::{post, web, HttpResponse};

use super::{one_view, ItemView, ReplacementRequest, SeasonParam};
use crate::api::auth::Caller;
use crate::api::extract::ValidJson;
use crate::api::problem::{ApiError, Problem};
use crate::api::AppState;
use crate::app::registration::{self, ReplaceItem};

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
    let command = ReplaceItem {
        tracking_number: tracking_number.into_inner(),
        season: query.into_inner().season,
        new_tracking_number: request.tracking_number,
        carrier_org: request.carrier_org,
        must_arrive_by: request.must_arrive_by,
        seal_number: request.seal_number,
        reference: request.reference,
    };
    let clock = state.clock.clone();
    let view = state
        .db(move |conn| {
            let replacement = registration::replace(conn, &*clock, &caller, command)?;
            one_view(conn, &caller, replacement)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}
