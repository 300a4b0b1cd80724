//! The candidates' way in, with no token: look up one item, or one's whole
//! dossier, with a second factor only the candidate knows. Answers carry only
//! what a candidate needs; a wrong factor and an unknown number look the
//! same; lookups are rate limited per address and per number.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use diesel::QueryResult;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::client_addr::client_addr;
use super::extract::ValidJson;
use super::problem::{ApiError, Problem};
use super::throttle::{self, Guess};
use super::AppState;
use crate::app::lookup::{self, DossierLookup, GuessBook, ItemLookup, Lookup, PublicItem};
use crate::db::DbConn;
use crate::domain::{ItemKind, ItemStatus};
use crate::notify::templates::{self, Lang};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(lookup_item).service(lookup_dossier).service(list_open_seasons);
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
    /// The area incident delaying it, in plain words ("Chậm do lũ lụt"), if any.
    pub incident_label: Option<String>,
    /// When the institution has acknowledged the dossier's electronic pre-advice: "Trường đã nhận hồ sơ điện tử".
    pub pre_advice_label: Option<String>,
}

/// The items of one candidate's season.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DossierView {
    pub items: Vec<LookupView>,
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

fn view(item: PublicItem, lang: Lang) -> LookupView {
    LookupView {
        tracking_number: item.tracking_number,
        kind: item.kind,
        kind_label: templates::item_kind(item.kind, lang).into(),
        status: item.status,
        status_label: templates::status_label(item.status, lang).into(),
        last_scan: item.last_scan.map(|scan| LastScan { at: scan.at, place: scan.place }),
        expected_by: item.expected_by,
        has_open_case: item.has_open_case,
        case_label: item.has_open_case.then(|| templates::open_case_label(lang).into()),
        replaced_by: item.replaced_by,
        recipient_name: item.recipient_name,
        incident_label: item.delayed_by.map(|kind| match lang {
            Lang::Vi => format!("Chậm do {}", crate::domain::incidents::label(kind, true)),
            Lang::En => format!("Delayed by {}", crate::domain::incidents::label(kind, false)),
        }),
        pre_advice_label: item.pre_advice_acknowledged.then(|| match lang {
            Lang::Vi => "Trường đã nhận hồ sơ điện tử".to_string(),
            Lang::En => "The institution has received the electronic dossier".to_string(),
        }),
    }
}

/// The guess counts of `api::throttle`, as the lookup service books them.
impl GuessBook for Guess {
    fn admit(&self, conn: &mut DbConn) -> QueryResult<Result<(), u64>> {
        Guess::admit(self, conn)
    }

    fn wrong(&self, conn: &mut DbConn) -> QueryResult<()> {
        Guess::wrong(self, conn)
    }
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
    let lookup = ItemLookup { tracking_number: request.tracking_number, candidate_number: request.candidate_number, date_of_birth: request.date_of_birth };
    let query = lookup::check_item(lookup)?;
    let subject = query.subject();
    let _turn = state.guesses.one_at_a_time(&subject).await;
    let guess = Guess::new(subject, client_addr(&req), state.clock.now());
    let logged = query.tracking_number.clone();
    let found = state.db(move |conn| Ok(lookup::find_item(conn, &guess, &query)?)).await?;
    // Logged without the second factor.
    match found {
        Lookup::Throttled(wait) => {
            tracing::info!(tracking_number = %logged, "public lookup throttled");
            Ok(too_many_guesses(wait, "number"))
        }
        Lookup::Found(item) => {
            tracing::info!(tracking_number = %logged, matched = true, "public lookup");
            Ok(HttpResponse::Ok().json(view(item, lang)))
        }
        Lookup::NoMatch => {
            tracing::info!(tracking_number = %logged, matched = false, "public lookup");
            Err(no_match())
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
    let lookup = DossierLookup { candidate_number: request.candidate_number, date_of_birth: request.date_of_birth, season: request.season };
    let query = lookup::check_dossier(lookup)?;
    let subject = query.subject();
    let _turn = state.guesses.one_at_a_time(&subject).await;
    let guess = Guess::new(subject, client_addr(&req), state.clock.now());
    let found = state.db(move |conn| Ok(lookup::find_dossier(conn, &guess, &query)?)).await?;
    let items = match found {
        Lookup::Throttled(wait) => return Ok(too_many_guesses(wait, "candidate number")),
        Lookup::NoMatch => Vec::new(),
        Lookup::Found(items) => items,
    };
    tracing::info!(matched = items.len(), "public dossier lookup");
    if items.is_empty() {
        return Err(no_match());
    }
    Ok(HttpResponse::Ok().json(DossierView { items: items.into_iter().map(|item| view(item, lang)).collect() }))
}

/// A season the candidates' page offers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OpenSeason {
    pub code: String,
    pub name: String,
}

/// The seasons still open, for the candidates' page to offer (no token).
#[utoipa::path(tag = "public", responses((status = 200, body = Vec<OpenSeason>)))]
#[get("/seasons")]
pub async fn list_open_seasons(state: web::Data<AppState>) -> Result<web::Json<Vec<OpenSeason>>, ApiError> {
    let clock = state.clock.clone();
    let open = state.db(move |conn| Ok(crate::app::seasons::open(conn, clock.as_ref())?)).await?;
    Ok(web::Json(open.into_iter().map(|s| OpenSeason { code: s.row.code, name: s.row.name }).collect()))
}
