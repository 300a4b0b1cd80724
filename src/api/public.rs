//! The candidates' way in, with no token: look up one item, or one's whole
//! dossier, with a second factor only the candidate knows. Answers carry only
//! what a candidate needs; a wrong factor and an unknown number look the
//! same; lookups are rate limited per address and per number.

use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::client_addr::client_addr;
use super::extract::ValidJson;
use super::problem::{ApiError, Problem};
use super::throttle::{self, Guess};
use super::AppState;
use crate::domain::{fields, s10, FieldErrors, ItemKind, ItemStatus};
use crate::notify::templates::{self, Lang};
use crate::store::items::PublicFacts;
use crate::store::{self};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(lookup_item).service(lookup_dossier);
}

/// Look up one item.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tracking_number": "EE473124829VN", "candidate_number": "15001234", "lang": "vi"}))]
pub struct LookupRequest {
    pub tracking_number: String,
    /// Your candidate number (số báo danh) ... (one of the two factors, not both)
    #[serde(default)]
    pub candidate_number: Option<String>,
    /// ... or your date of birth, `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// `vi` (default) or `en`; otherwise taken from Accept-Language.
    #[serde(default)]
    pub lang: Option<String>,
}

/// Look up all your items of a season.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"candidate_number": "15001234", "date_of_birth": "2008-03-14", "season": "2026-THPT"}))]
pub struct DossierRequest {
    pub candidate_number: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    pub season: String,
    #[serde(default)]
    pub lang: Option<String>,
}

/// Where and when the item was last scanned.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LastScan {
    pub at: chrono::DateTime<chrono::Utc>,
    /// The office's name, or its code.
    pub place: String,
}

/// What a candidate is told about one item: nothing else.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "tracking_number": "EE473124829VN", "kind": "admission_notice", "kind_label": "Giấy báo trúng tuyển",
    "status": "in_transit", "status_label": "Đang vận chuyển",
    "last_scan": {"at": "2026-07-15T07:00:00Z", "place": "Trung tâm Khai thác Phú Thọ"},
    "expected_by": "2026-07-16", "has_open_case": false, "case_label": null, "replaced_by": null,
    "recipient_name": "Ng*** V** A*"
}))]
pub struct LookupView {
    pub tracking_number: String,
    pub kind: ItemKind,
    pub kind_label: String,
    pub status: ItemStatus,
    pub status_label: String,
    pub last_scan: Option<LastScan>,
    /// The day (in Vietnam) it should arrive by.
    pub expected_by: Option<NaiveDate>,
    pub has_open_case: bool,
    /// What the open case means, in plain words.
    pub case_label: Option<String>,
    /// The replacement's number, if this item was lost and replaced.
    pub replaced_by: Option<String>,
    /// The recipient's name, masked.
    pub recipient_name: String,
}

/// The items of one candidate's season.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DossierView {
    pub items: Vec<LookupView>,
}

/// `Nguyễn Văn An` → `Ng*** V** A*`: enough to recognise, not to read.
pub fn mask_name(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, word)| {
            let keep = if i == 0 && words.len() > 1 { 2 } else { 1 };
            let start: String = word.chars().take(keep).collect();
            let stars = if i == 0 && words.len() > 1 { "***" } else if i == last { "*" } else { "**" };
            format!("{start}{stars}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn lang_of(requested: Option<&str>, req: &HttpRequest) -> Lang {
    match requested {
        Some(lang) => Lang::parse(lang),
        None => {
            let accept = req.headers().get("accept-language").and_then(|v| v.to_str().ok()).unwrap_or("");
            if accept.trim_start().to_ascii_lowercase().starts_with("en") {
                Lang::En
            } else {
                Lang::Vi
            }
        }
    }
}

fn view(item: PublicFacts, lang: Lang) -> Result<LookupView, ApiError> {
    let kind = ItemKind::parse(&item.kind).ok_or_else(|| ApiError::internal("bad stored kind"))?;
    let status = ItemStatus::parse(&item.status).ok_or_else(|| ApiError::internal("bad stored status"))?;
    let (has_open_case, place, replaced_by) = (item.has_open_case, item.last_place, item.replaced_by);
    Ok(LookupView {
        tracking_number: item.tracking_number.clone(),
        kind,
        kind_label: templates::item_kind(kind, lang).into(),
        status,
        status_label: templates::status_label(status, lang).into(),
        last_scan: item.last_event_at.zip(place).map(|(at, place)| LastScan { at: at.and_utc(), place }),
        expected_by: item.due_at.map(|t| t.and_utc().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive()),
        has_open_case,
        case_label: has_open_case.then(|| templates::open_case_label(lang).into()),
        replaced_by,
        recipient_name: mask_name(item.candidate_name.as_deref().unwrap_or("")),
    })
}

/// The one answer for "no such item" and "wrong second factor".
fn no_match() -> ApiError {
    ApiError::NotFound("no item matches this tracking number and candidate number or date of birth".into())
}

fn too_many_guesses(seconds: u64, what: &str) -> HttpResponse {
    let detail = format!("too many wrong attempts for this {what}; try again in {seconds} s");
    throttle::throttled("/problems/too-many-guesses", "Too many attempts", detail, seconds)
}

/// Look up one of your items (no token).
///
/// Give the tracking number and your candidate number or date of birth.
/// The answer is deliberately small: kind, status, last scan, expected day,
/// whether a case is open, a replacement's number, and your name masked.
/// A wrong second factor and an unknown number get the same 404.
#[utoipa::path(
    tag = "public",
    request_body = LookupRequest,
    responses(
        (status = 200, body = LookupView),
        (status = 404, description = "No match (unknown number or wrong second factor)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many lookups from your address, or wrong guesses for this number", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/lookup")]
pub async fn lookup_item(
    state: web::Data<AppState>,
    req: HttpRequest,
    ValidJson(request): ValidJson<LookupRequest>,
) -> Result<HttpResponse, ApiError> {
    let lang = lang_of(request.lang.as_deref(), &req);
    let mut errors = FieldErrors::default();
    let number = errors.check("tracking_number", s10::normalize(&request.tracking_number).map_err(|e| e.to_string()));
    let candidate_number = errors.check("candidate_number", request.candidate_number.as_deref().map(fields::candidate_number).transpose());
    let dob = errors.check(
        "date_of_birth",
        request.date_of_birth.as_deref().map(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| "must be a date as YYYY-MM-DD".to_string())).transpose(),
    );
    match (&candidate_number, &dob) {
        (Some(None), Some(None)) => errors.push("candidate_number", "give your candidate number or your date of birth"),
        // Either factor alone opens the item, so one request naming both would test two secrets.
        (Some(Some(_)), Some(Some(_))) => errors.push("date_of_birth", "give your candidate number or your date of birth, not both"),
        _ => {}
    }
    let (Some(number), Some(candidate_number), Some(dob), true) = (number, candidate_number, dob, errors.is_empty()) else {
        return Err(ApiError::Validation(errors.0));
    };
    let subject = format!("item:{number}");
    let _turn = state.guesses.one_at_a_time(&subject).await;
    let guess = Guess::new(subject, client_addr(&req), state.clock.now());
    let logged = number.clone();
    let found = state
        .db(move |conn| {
            if let Err(wait) = guess.admit(conn)? {
                return Ok(Err(wait));
            }
            let matching = store::items::public_by_number(conn, &number)?.into_iter().find(|item| {
                let by_number = candidate_number.is_some() && item.candidate_number == candidate_number;
                let by_birth = dob.is_some() && item.candidate_dob == dob;
                by_number || by_birth
            });
            let found = matching.map(|item| view(item, lang)).transpose()?;
            if found.is_none() {
                guess.wrong(conn)?;
            }
            Ok(Ok(found))
        })
        .await?;
    // Logged without the second factor.
    match found {
        Err(wait) => {
            tracing::info!(tracking_number = %logged, "public lookup throttled");
            Ok(too_many_guesses(wait, "number"))
        }
        Ok(found) => {
            tracing::info!(tracking_number = %logged, matched = found.is_some(), "public lookup");
            found.map(|view| HttpResponse::Ok().json(view)).ok_or_else(no_match)
        }
    }
}

/// Look up all your items of a season (no token).
///
/// Candidate number, date of birth and season together; the same small
/// answer per item. No match and a wrong date of birth get the same 404.
#[utoipa::path(
    tag = "public",
    request_body = DossierRequest,
    responses(
        (status = 200, body = DossierView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/dossier")]
pub async fn lookup_dossier(
    state: web::Data<AppState>,
    req: HttpRequest,
    ValidJson(request): ValidJson<DossierRequest>,
) -> Result<HttpResponse, ApiError> {
    let lang = lang_of(request.lang.as_deref(), &req);
    let mut errors = FieldErrors::default();
    let candidate_number = errors.check("candidate_number", fields::candidate_number(&request.candidate_number));
    let dob = errors.check("date_of_birth", NaiveDate::parse_from_str(request.date_of_birth.trim(), "%Y-%m-%d").map_err(|_| "must be a date as YYYY-MM-DD".to_string()));
    let season = errors.check("season", fields::season(&request.season));
    let (Some(candidate_number), Some(dob), Some(season), true) = (candidate_number, dob, season, errors.is_empty()) else {
        return Err(ApiError::Validation(errors.0));
    };
    let subject = format!("dossier:{season}:{candidate_number}");
    let _turn = state.guesses.one_at_a_time(&subject).await;
    let guess = Guess::new(subject, client_addr(&req), state.clock.now());
    let items = state
        .db(move |conn| {
            if let Err(wait) = guess.admit(conn)? {
                return Ok(Err(wait));
            }
            let items = store::items::public_by_candidate(conn, &candidate_number, dob, &season)?;
            let items = items.into_iter().map(|item| view(item, lang)).collect::<Result<Vec<_>, _>>()?;
            if items.is_empty() {
                guess.wrong(conn)?;
            }
            Ok(Ok(items))
        })
        .await?;
    let items = match items {
        Err(wait) => return Ok(too_many_guesses(wait, "candidate number")),
        Ok(items) => items,
    };
    tracing::info!(matched = items.len(), "public dossier lookup");
    if items.is_empty() {
        return Err(no_match());
    }
    Ok(HttpResponse::Ok().json(DossierView { items }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked() {
        assert_eq!(mask_name("Nguyễn Văn An"), "Ng*** V** A*");
        assert_eq!(mask_name("Trần Thị Bích Ngọc"), "Tr*** T** B** N*");
        assert_eq!(mask_name("Lan"), "L*");
        assert_eq!(mask_name(""), "");
    }
}
