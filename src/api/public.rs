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
use crate::app::lookup::guidance::{self, Situation, StepState, Tone};
use crate::app::lookup::report::{self as reports, MakeReport, ReportKind};
use crate::app::lookup::{self, DossierLookup, GuessBook, HelpRole, ItemLookup, Lookup, PublicItem, ReportState};
use crate::db::DbConn;
use crate::domain::cases::CaseKind;
use crate::domain::events::NonDeliveryReason;
use crate::domain::{FieldError, ItemKind, ItemStatus};
use crate::notify::templates::{self, Lang};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(lookup_item).service(lookup_dossier).service(list_open_seasons).service(create_report);
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
    /// ... or your date of birth, `dd/mm/yyyy` or `YYYY-MM-DD`.
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
    /// `dd/mm/yyyy` or `YYYY-MM-DD`.
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

/// A step of the journey as it went.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StepView {
    pub label: String,
    /// `done`, `current` or `todo`.
    pub state: String,
    /// `normal`, `ok` (delivered), `warn` (needs attention) or `bad` (stopped: returned, lost).
    pub tone: String,
}

/// An open case, in plain words.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicCase {
    pub kind: CaseKind,
    pub label: String,
}

/// A help line of the item's carrier or sender.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HelpLineView {
    /// `carrier` or `sender`.
    pub role: String,
    pub organization: String,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// Where the item waits for collection.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HeldAtView {
    pub place: String,
    pub address: Option<String>,
    pub opening_hours: Option<String>,
    /// The last day it is kept.
    pub hold_until: Option<NaiveDate>,
    /// What to bring to collect it.
    pub bring: String,
}

/// The last failed delivery attempt.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttemptView {
    pub at: chrono::DateTime<chrono::Utc>,
    pub reason: NonDeliveryReason,
    pub reason_label: String,
}

/// A report you made about the item, and its answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportView {
    pub reference: String,
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// `received`, `in_progress` or `answered`.
    pub state: String,
    pub state_label: String,
    /// When the carrier expects to settle it (in progress).
    pub expected_at: Option<chrono::DateTime<chrono::Utc>>,
    pub answer: Option<String>,
    pub answered_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a candidate is told about one item: nothing else.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "tracking_number": "EE473124829VN", "kind": "admission_notice", "kind_label": "Giấy báo trúng tuyển",
    "status": "in_transit", "status_label": "Đang vận chuyển",
    "last_scan": {"at": "2026-07-15T07:00:00Z", "place": "Trung tâm Khai thác Phú Thọ"},
    "expected_by": "2026-07-16", "journey_over": false, "has_open_case": false, "case_label": null, "cases": [], "replaced_by": null,
    "recipient_name": "Ng*** V** A*", "carrier": "Tổng công ty Bưu điện Việt Nam", "sender": "Trường Đại học Hùng Vương",
    "timeline": [{"label": "Bưu điện đã nhận", "state": "done", "tone": "normal"},
        {"label": "Đang vận chuyển", "state": "current", "tone": "normal"}],
    "advice": ["Bạn chưa cần làm gì. Bưu gửi dự kiến đến trước ngày 16/07/2026."],
    "help": [{"role": "carrier", "organization": "Tổng công ty Bưu điện Việt Nam", "name": "Tổng đài chăm sóc khách hàng", "phone": "1900545481", "email": null}],
    "reports": []
}))]
pub struct LookupView {
    pub tracking_number: String,
    pub kind: ItemKind,
    pub kind_label: String,
    pub status: ItemStatus,
    pub status_label: String,
    pub last_scan: Option<LastScan>,
    /// The day (in Vietnam) it should arrive by; absent once its journey is over.
    pub expected_by: Option<NaiveDate>,
    /// Delivered, returned, lost or replaced: nothing more will happen to it.
    pub journey_over: bool,
    pub has_open_case: bool,
    /// The open cases in plain words, joined ("; ").
    pub case_label: Option<String>,
    /// The open cases, each in plain words.
    pub cases: Vec<PublicCase>,
    /// The replacement's number, if this item was lost and replaced.
    pub replaced_by: Option<String>,
    /// The recipient's name, masked.
    pub recipient_name: String,
    /// The area incident delaying it, in plain words ("Chậm do lũ lụt"), if any.
    pub incident_label: Option<String>,
    /// When the institution has acknowledged the dossier's electronic pre-advice: "Trường đã nhận hồ sơ điện tử".
    pub pre_advice_label: Option<String>,
    /// The carrier's name.
    pub carrier: String,
    /// The sender's name.
    pub sender: String,
    pub delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The journey's steps as they went.
    pub timeline: Vec<StepView>,
    /// What to do now, most pressing first.
    pub advice: Vec<String>,
    /// Whom to call: the carrier's and the sender's help lines.
    pub help: Vec<HelpLineView>,
    pub held_at: Option<HeldAtView>,
    pub last_attempt: Option<AttemptView>,
    /// Your reports about it (`POST /public/report`), newest first.
    pub reports: Vec<ReportView>,
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
    let situation = Situation {
        status: item.status,
        expected_by: item.expected_by,
        replaced_by: item.replaced_by.as_deref(),
        open_cases: &item.open_cases,
        failure: item.last_attempt.map(|(_, reason, action)| (reason, action)),
        held: item.held.as_ref(),
        delivered_at: item.delivered_at,
        carrier: &item.carrier,
        sender: &item.sender,
        delivery_office: item.last_scan.as_ref().filter(|_| item.status == ItemStatus::AtDeliveryOffice).map(|s| s.place.as_str()),
    };
    let advice = guidance::advice(&situation, lang);
    let journey_over = guidance::is_final(item.status, item.replaced_by.is_some());
    let timeline = guidance::journey(item.status, item.replaced_by.is_some(), lang)
        .into_iter()
        .map(|step| StepView {
            label: step.label.into(),
            state: match step.state {
                StepState::Done => "done",
                StepState::Current => "current",
                StepState::Todo => "todo",
            }
            .into(),
            tone: match step.tone {
                Tone::Normal => "normal",
                Tone::Ok => "ok",
                Tone::Warn => "warn",
                Tone::Bad => "bad",
            }
            .into(),
        })
        .collect();
    let cases: Vec<PublicCase> = item.open_cases.iter().map(|kind| PublicCase { kind: *kind, label: guidance::case_label(*kind, lang).into() }).collect();
    let case_label = (!cases.is_empty()).then(|| cases.iter().map(|c| c.label.as_str()).collect::<Vec<_>>().join("; "));
    LookupView {
        kind_label: templates::item_kind(item.kind, lang).into(),
        status_label: templates::status_label(item.status, lang).into(),
        last_scan: item.last_scan.map(|scan| LastScan { at: scan.at, place: scan.place }),
        expected_by: item.expected_by,
        journey_over,
        has_open_case: item.has_open_case,
        case_label,
        cases,
        recipient_name: item.recipient_name,
        incident_label: item.delayed_by.map(|kind| match lang {
            Lang::Vi => format!("Chậm do {}", crate::domain::incidents::label(kind, true)),
            Lang::En => format!("Delayed by {}", crate::domain::incidents::label(kind, false)),
        }),
        pre_advice_label: item.pre_advice_acknowledged.then(|| match lang {
            Lang::Vi => "Trường đã nhận hồ sơ điện tử".to_string(),
            Lang::En => "The institution has received the electronic dossier".to_string(),
        }),
        delivered_at: item.delivered_at,
        timeline,
        advice,
        help: item
            .help
            .into_iter()
            .map(|h| HelpLineView {
                role: if h.role == HelpRole::Carrier { "carrier" } else { "sender" }.into(),
                organization: h.organization,
                name: h.name,
                phone: h.phone,
                email: h.email,
            })
            .collect(),
        held_at: item.held.map(|h| HeldAtView {
            place: h.place,
            address: h.address,
            opening_hours: h.opening_hours,
            hold_until: h.hold_until,
            bring: guidance::what_to_bring(lang).into(),
        }),
        last_attempt: item.last_attempt.map(|(at, reason, _)| AttemptView { at, reason, reason_label: guidance::failure_label(reason, lang).into() }),
        reports: item.reports.into_iter().map(|r| report_view(r, lang)).collect(),
        tracking_number: item.tracking_number,
        kind: item.kind,
        status: item.status,
        replaced_by: item.replaced_by,
        carrier: item.carrier,
        sender: item.sender,
    }
}

fn report_view(r: lookup::ReportStatus, lang: Lang) -> ReportView {
    let (state, vi, en) = match r.state {
        ReportState::Received => ("received", "Đã tiếp nhận, đang chờ xử lý", "Received, waiting to be handled"),
        ReportState::InProgress => ("in_progress", "Bưu điện đang xử lý", "The post office is handling it"),
        ReportState::Answered => ("answered", "Đã trả lời", "Answered"),
    };
    ReportView {
        reference: r.reference,
        received_at: r.received_at,
        state: state.into(),
        state_label: if lang == Lang::Vi { vi } else { en }.into(),
        expected_at: r.expected_at,
        answer: r.answer,
        answered_at: r.answered_at,
    }
}

/// A validation error in the reader's language: the page shows it as it is.
fn in_language(error: ApiError, lang: Lang) -> ApiError {
    let ApiError::Validation(errors) = error else { return error };
    let errors: Vec<FieldError> = errors.into_iter().map(|e| FieldError { reason: candidate_reason(&e.reason, lang), field: e.field }).collect();
    let detail = errors.iter().map(|e| format!("{}: {}", field_label(&e.field, lang), e.reason)).collect::<Vec<_>>().join("; ");
    let title = if lang == Lang::Vi { "Thông tin chưa hợp lệ" } else { "Please check what you entered" };
    ApiError::from_problem(Problem { kind: "/problems/validation".into(), title: title.into(), status: 422, detail, errors, existing_id: None })
}

/// A field as the page names it.
pub fn field_label(field: &str, lang: Lang) -> &str {
    let vi = lang == Lang::Vi;
    match field {
        "tracking_number" if vi => "Số hiệu bưu gửi",
        "tracking_number" => "Tracking number",
        "candidate_number" if vi => "Số báo danh",
        "candidate_number" => "Candidate number",
        "date_of_birth" if vi => "Ngày sinh",
        "date_of_birth" => "Date of birth",
        "season" if vi => "Kỳ thi",
        "season" => "Exam season",
        "message" if vi => "Nội dung",
        "message" => "Message",
        "callback_phone" if vi => "Số điện thoại gọi lại",
        "callback_phone" => "Phone number to call back",
        "kind" if vi => "Loại phản ánh",
        other => other,
    }
}

/// A reason as a candidate should read it.
fn candidate_reason(reason: &str, lang: Lang) -> String {
    if reason.starts_with("check digit is ") || reason.starts_with("service indicator ") || reason.ends_with("is not an ISO 3166-1 country code") {
        return match lang {
            Lang::Vi => "số hiệu không đúng (có thể gõ nhầm một ký tự); hãy so lại với biên nhận".into(),
            Lang::En => "is not a valid tracking number (a character may be mistyped); check it against your receipt".into(),
        };
    }
    match lang {
        Lang::Vi => crate::domain::vi::reason(reason).unwrap_or_else(|| reason.to_string()),
        Lang::En => reason.to_string(),
    }
}

/// A wait as people say it: seconds under two minutes, then minutes, then hours.
pub fn wait_words(seconds: u64, lang: Lang) -> String {
    let vi = lang == Lang::Vi;
    match seconds {
        0..=119 if vi => format!("{seconds} giây"),
        0..=119 => format!("{seconds} seconds"),
        120..=7199 if vi => format!("{} phút", seconds.div_ceil(60)),
        120..=7199 => format!("{} minutes", seconds.div_ceil(60)),
        _ if vi => format!("{} giờ", seconds.div_ceil(3600)),
        _ => format!("{} hours", seconds.div_ceil(3600)),
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
fn no_match(lang: Lang) -> ApiError {
    let (title, detail) = match lang {
        Lang::Vi => ("Không tìm thấy", "Không có bưu gửi nào khớp với số hiệu và số báo danh hoặc ngày sinh đã nhập; hãy kiểm tra lại."),
        Lang::En => ("Not found", "no item matches this tracking number and candidate number or date of birth"),
    };
    ApiError::from_problem(Problem { kind: "/problems/not-found".into(), title: title.into(), status: 404, detail: detail.into(), errors: vec![], existing_id: None })
}

fn too_many_guesses(seconds: u64, lang: Lang) -> HttpResponse {
    let wait = wait_words(seconds, lang);
    let (title, detail) = match lang {
        Lang::Vi => ("Thử quá nhiều lần", format!("Bạn đã nhập sai quá nhiều lần; vui lòng thử lại sau {wait}.")),
        Lang::En => ("Too many attempts", format!("too many wrong attempts; try again in {wait}")),
    };
    throttle::throttled("/problems/too-many-guesses", title, detail, seconds)
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
    let query = lookup::check_item(lookup).map_err(|e| in_language(e.into(), lang))?;
    let subject = query.subject();
    let _turn = state.guesses.one_at_a_time(&subject).await;
    let guess = Guess::new(subject, client_addr(&req), state.clock.now());
    let logged = query.tracking_number.clone();
    let found = state.db_split(move |conns| Ok(lookup::find_item(conns, &guess, &query)?)).await?;
    // Logged without the second factor.
    match found {
        Lookup::Throttled(wait) => {
            tracing::info!(tracking_number = %logged, "public lookup throttled");
            Ok(too_many_guesses(wait, lang))
        }
        Lookup::Found(item) => {
            tracing::info!(tracking_number = %logged, matched = true, "public lookup");
            Ok(HttpResponse::Ok().json(view(item, lang)))
        }
        Lookup::NoMatch => {
            tracing::info!(tracking_number = %logged, matched = false, "public lookup");
            Err(no_match(lang))
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
    let query = lookup::check_dossier(lookup).map_err(|e| in_language(e.into(), lang))?;
    let subject = query.subject();
    let _turn = state.guesses.one_at_a_time(&subject).await;
    let guess = Guess::new(subject, client_addr(&req), state.clock.now());
    let found = state.db_split(move |conns| Ok(lookup::find_dossier(conns, &guess, &query)?)).await?;
    let items = match found {
        Lookup::Throttled(wait) => return Ok(too_many_guesses(wait, lang)),
        Lookup::NoMatch => Vec::new(),
        Lookup::Found(items) => items,
    };
    tracing::info!(matched = items.len(), "public dossier lookup");
    if items.is_empty() {
        return Err(no_match(lang));
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

/// What a candidate reports.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportKindDto {
    /// "Tôi chưa nhận được": I have not received it.
    NotReceived,
    /// A question about the item.
    Question,
}

/// Report about one of your items: not received, or a question.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tracking_number": "EE473124829VN", "candidate_number": "15001234", "kind": "not_received",
    "message": "Tra cứu báo đã phát nhưng gia đình chưa nhận được.", "callback_phone": "0912345678", "lang": "vi"}))]
pub struct ReportRequest {
    pub tracking_number: String,
    /// Your candidate number ... (one of the two factors, not both)
    #[serde(default)]
    pub candidate_number: Option<String>,
    /// ... or your date of birth, `dd/mm/yyyy` or `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    pub kind: ReportKindDto,
    /// Up to 1000 characters; required for a question.
    #[serde(default)]
    pub message: Option<String>,
    /// A phone number to call you back on, if you want a call.
    #[serde(default)]
    pub callback_phone: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
}

/// The receipt of a report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportReceipt {
    /// Quote it when you call; the next lookup shows the report and its answer.
    pub reference: String,
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// A confirmation in your language.
    pub message: String,
}

/// Tell the carrier and the sender: not received, or a question (no token).
///
/// Opened by the same two factors as the lookup, with the same answers for
/// an unknown number and a wrong factor, and counted against the same
/// guesses. Opens a `recipient_report` case for the item's carrier (its
/// sender follows it) or adds to the one still open; the next lookup shows
/// the report, and the answer once the carrier resolves the case with a
/// note. At most five messages per item a day.
#[utoipa::path(
    tag = "public",
    request_body = ReportRequest,
    responses(
        (status = 202, description = "Received: a case is open for it", body = ReportReceipt),
        (status = 404, description = "No match (unknown number or wrong second factor)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many lookups from your address, wrong guesses for this number, or reports for this item today", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/report")]
pub async fn create_report(
    state: web::Data<AppState>,
    req: HttpRequest,
    ValidJson(request): ValidJson<ReportRequest>,
) -> Result<HttpResponse, ApiError> {
    let lang = lang_of(request.lang.as_deref(), &req);
    let kind = match request.kind {
        ReportKindDto::NotReceived => ReportKind::NotReceived,
        ReportKindDto::Question => ReportKind::Question,
    };
    let lookup = ItemLookup { tracking_number: request.tracking_number, candidate_number: request.candidate_number, date_of_birth: request.date_of_birth };
    let checked = lookup::check_item(lookup).and_then(|query| {
        let report = reports::check(MakeReport { kind, message: request.message.unwrap_or_default(), callback_phone: request.callback_phone })?;
        Ok((query, report))
    });
    let (query, report) = checked.map_err(|e| in_language(e.into(), lang))?;
    let subject = query.subject();
    let _turn = state.guesses.one_at_a_time(&subject).await;
    let guess = Guess::new(subject, client_addr(&req), state.clock.now());
    let now = state.clock.now();
    let found = state.db(move |conn| Ok(reports::report(conn, now, &guess, &query, report)?)).await?;
    match found {
        Lookup::Throttled(wait) => Ok(too_many_guesses(wait, lang)),
        Lookup::NoMatch => Err(no_match(lang)),
        Lookup::Found(receipt) => {
            let message = match lang {
                Lang::Vi => format!("Đã nhận phản ánh của bạn, mã {}. Bưu điện và nơi gửi sẽ xử lý; tra cứu lại để xem câu trả lời.", receipt.reference),
                Lang::En => format!("Your report was received, reference {}. The post office and the sender will handle it; look the item up again to see the answer.", receipt.reference),
            };
            Ok(HttpResponse::Accepted().json(ReportReceipt { reference: receipt.reference, received_at: receipt.received_at, message }))
        }
    }
}
