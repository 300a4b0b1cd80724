//! Reports: the summary for departments, carriers and overseers, and the
//! steering committee's daily report as JSON, CSV or a printable page.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::reports::{self as service, ReportQuery};
use crate::csv_out;
use crate::domain::cases::{CaseKind, CaseState, Severity};
use crate::domain::report::Totals;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(summary_report).service(steering_report);
}

/// What a report covers.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// Season, e.g. `2026-THPT`.
    pub season: String,
    /// Items leaving from or going to this province (overseers: their own, the default).
    pub province: Option<String>,
    /// Sender organization code.
    pub sender: Option<String>,
    /// Carrier organization code.
    pub carrier: Option<String>,
    /// Steering report only: `json` (default), `csv` or `html`.
    #[param(pattern = "^(json|csv|html)$")]
    pub format: Option<String>,
}

/// Open cases of one kind at one level.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CaseCount {
    pub kind: CaseKind,
    pub level: i32,
    pub count: u64,
}

/// One active case, as a report lists it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CaseLine {
    pub case_id: String,
    pub tracking_number: String,
    pub kind: CaseKind,
    pub severity: Severity,
    pub level: i32,
    pub state: CaseState,
    /// Owner organization code.
    pub owner_org: String,
    pub opened_at: chrono::DateTime<chrono::Utc>,
    pub response_due_at: chrono::DateTime<chrono::Utc>,
}

/// The summary of a season.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SummaryReport {
    pub season: String,
    pub province: Option<String>,
    pub generated_at: chrono::DateTime<chrono::Utc>,
    pub totals: Totals,
    pub open_cases: Vec<CaseCount>,
    /// The ten oldest active cases.
    pub oldest_open_cases: Vec<CaseLine>,
}

/// A contact point in the steering report's table.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactLine {
    pub organization: String,
    pub name: String,
    pub position: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub case_kinds: String,
    pub levels: String,
    /// The plan's task, the unit's part in it (`lead`, `coordinating`) and an exam site.
    pub task: Option<String>,
    pub plan_role: Option<crate::domain::PlanRole>,
    pub exam_site: Option<String>,
}

/// The steering committee's daily report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SteeringReport {
    #[serde(flatten)]
    pub summary: SummaryReport,
    /// Every active case at level 2 or 3, oldest first.
    pub escalated_cases: Vec<CaseLine>,
    pub contacts: Vec<ContactLine>,
    /// Area incidents (floods, storms...) and how many items each delays.
    pub incidents: Vec<super::incidents::IncidentView>,
}

impl From<ReportParams> for ReportQuery {
    fn from(params: ReportParams) -> Self {
        ReportQuery { season: params.season, province: params.province, sender: params.sender, carrier: params.carrier, format: params.format }
    }
}

impl From<service::CaseCount> for CaseCount {
    fn from(c: service::CaseCount) -> Self {
        CaseCount { kind: c.kind, level: c.level, count: c.count }
    }
}

impl From<service::CaseLine> for CaseLine {
    fn from(c: service::CaseLine) -> Self {
        CaseLine {
            case_id: c.case_id,
            tracking_number: c.tracking_number,
            kind: c.kind,
            severity: c.severity,
            level: c.level,
            state: c.state,
            owner_org: c.owner_org,
            opened_at: c.opened_at,
            response_due_at: c.response_due_at,
        }
    }
}

impl From<service::Summary> for SummaryReport {
    fn from(s: service::Summary) -> Self {
        SummaryReport {
            season: s.season,
            province: s.province,
            generated_at: s.generated_at,
            totals: s.totals,
            open_cases: s.open_cases.into_iter().map(CaseCount::from).collect(),
            oldest_open_cases: s.oldest_open_cases.into_iter().map(CaseLine::from).collect(),
        }
    }
}

impl From<service::ContactLine> for ContactLine {
    fn from(c: service::ContactLine) -> Self {
        ContactLine {
            organization: c.organization,
            name: c.name,
            position: c.position,
            phone: c.phone,
            email: c.email,
            case_kinds: c.case_kinds,
            levels: c.levels,
            task: c.task,
            plan_role: c.plan_role,
            exam_site: c.exam_site,
        }
    }
}

impl From<service::Steering> for SteeringReport {
    fn from(s: service::Steering) -> Self {
        SteeringReport {
            summary: s.summary.into(),
            escalated_cases: s.escalated_cases.into_iter().map(CaseLine::from).collect(),
            contacts: s.contacts.into_iter().map(ContactLine::from).collect(),
            incidents: s.incidents.into_iter().map(super::incidents::view).collect(),
        }
    }
}

/// Items by kind and status, on-time rate and median delivery time by
/// priority and by carrier, overdue counts, open cases by kind and level,
/// and the oldest open cases, for the items you can see.
#[utoipa::path(
    tag = "reports",
    params(ReportParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SummaryReport),
        (status = 403, description = "An overseer asking for another province", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/summary")]
pub async fn summary_report(state: web::Data<AppState>, caller: Caller, query: web::Query<ReportParams>) -> Result<web::Json<SummaryReport>, ApiError> {
    let clock = state.clock.clone();
    let query = ReportQuery::from(query.into_inner());
    let summary = state.db(move |conn| Ok(service::summary(conn, &*clock, &caller, &query)?)).await?;
    Ok(web::Json(summary.into()))
}

fn csv_text(report: &SteeringReport) -> Result<Vec<u8>, ApiError> {
    let header = ["case_id", "tracking_number", "kind", "severity", "level", "state", "owner_org", "opened_at", "response_due_at"];
    let rows = report.escalated_cases.iter().map(|c| {
        [
            c.case_id.clone(),
            c.tracking_number.clone(),
            c.kind.as_str().into(),
            c.severity.as_str().into(),
            c.level.to_string(),
            c.state.as_str().into(),
            c.owner_org.clone(),
            c.opened_at.to_rfc3339(),
            c.response_due_at.to_rfc3339(),
        ]
    });
    csv_out::file(header, rows).map_err(ApiError::internal)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn vn_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).format("%H:%M %d/%m/%Y").to_string()
}

fn area_of(incident: &super::incidents::IncidentView) -> String {
    let parts: Vec<String> = incident.provinces.iter().chain(&incident.wards).chain(&incident.office_codes).cloned().collect();
    parts.join(", ")
}

fn html_page(report: &SteeringReport) -> String {
    let s = &report.summary;
    let row = |cells: Vec<String>| format!("<tr>{}</tr>", cells.iter().map(|c| format!("<td>{}</td>", escape(c))).collect::<String>());
    let perf: String = s.totals.by_carrier.iter().chain(s.totals.by_priority.iter())
        .map(|p| row(vec![p.group.clone(), p.items.to_string(), p.delivered.to_string(),
            p.on_time_percent.map(|x| format!("{x}%")).unwrap_or("-".into()),
            p.median_delivery_hours.map(|x| format!("{x} h")).unwrap_or("-".into()), p.overdue.to_string()]))
        .collect();
    let cases: String = report.escalated_cases.iter()
        .map(|c| row(vec![c.tracking_number.clone(), c.kind.as_str().into(), c.severity.as_str().into(), c.level.to_string(), c.state.as_str().into(), c.owner_org.clone(), vn_time(c.response_due_at)]))
        .collect();
    let incidents: String = report.incidents.iter()
        .map(|i| row(vec![i.label.clone(), area_of(i), format!("{} – {}", vn_time(i.starts_at), vn_time(i.ends_at)), i.items.to_string(),
            i.active_cases.to_string(), if i.extension_hours > 0.0 { format!("{} giờ", i.extension_hours) } else { "-".into() },
            if i.closed_at.is_some() { "Đã kết thúc".into() } else { "Đang diễn ra".into() }]))
        .collect();
    let part = |role: Option<crate::domain::PlanRole>| match role {
        Some(crate::domain::PlanRole::Lead) => "Chủ trì".to_string(),
        Some(crate::domain::PlanRole::Coordinating) => "Phối hợp".to_string(),
        None => String::new(),
    };
    let contacts: String = report.contacts.iter()
        .map(|c| row(vec![c.task.clone().unwrap_or_default(), c.organization.clone(), part(c.plan_role), c.name.clone(), c.position.clone().unwrap_or_default(),
            c.phone.clone().unwrap_or_default(), c.email.clone().unwrap_or_default(), c.exam_site.clone().unwrap_or_default()]))
        .collect();
    format!(
        r#"<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Báo cáo Ban Chỉ đạo – {season}</title>
<style>body{{font:14px/1.4 system-ui,Arial,sans-serif;margin:1.5cm}}table{{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}}
th,td{{border:1px solid #888;padding:4px 6px;text-align:left}}th{{background:#eee}}h1{{font-size:1.3em}}h2{{font-size:1.1em}}
@media print{{body{{margin:1cm}}}}</style></head><body>
<h1>Báo cáo tình hình bưu gửi thi cử – {season}{province}</h1>
<p>Lập lúc {generated} (giờ Việt Nam). Tổng số bưu gửi: {items}; quá hạn: {overdue}.</p>
<h2>Chất lượng phát theo doanh nghiệp và mức ưu tiên</h2>
<table><thead><tr><th>Nhóm</th><th>Bưu gửi</th><th>Đã phát</th><th>Đúng hạn</th><th>Thời gian phát (trung vị)</th><th>Quá hạn</th></tr></thead><tbody>{perf}</tbody></table>
<h2>Sự cố cấp 2 và cấp 3 đang mở</h2>
<table><thead><tr><th>Số hiệu</th><th>Loại</th><th>Mức độ</th><th>Cấp</th><th>Trạng thái</th><th>Đơn vị xử lý</th><th>Hạn phản hồi</th></tr></thead><tbody>{cases}</tbody></table>
<h2>Sự cố diện rộng (thiên tai, hỏa hoạn, sự cố bất ngờ)</h2>
<table><thead><tr><th>Sự cố</th><th>Khu vực</th><th>Thời gian</th><th>Bưu gửi bị ảnh hưởng</th><th>Trường hợp chậm đang mở</th><th>Gia hạn</th><th>Tình trạng</th></tr></thead><tbody>{incidents}</tbody></table>
<h2>Đầu mối liên hệ</h2>
<table><thead><tr><th>Nhiệm vụ</th><th>Đơn vị</th><th>Chủ trì/Phối hợp</th><th>Họ tên</th><th>Chức vụ</th><th>Điện thoại</th><th>Email</th><th>Điểm thi/Địa điểm</th></tr></thead><tbody>{contacts}</tbody></table>
</body></html>"#,
        season = escape(&s.season),
        province = s.province.as_deref().map(|p| format!(" – {}", escape(p))).unwrap_or_default(),
        generated = vn_time(s.generated_at),
        items = s.totals.items,
        overdue = s.totals.overdue,
    )
}

/// The steering committee's daily report: the summary, every active case
/// at level 2 or 3 with its owner and response deadline, and the
/// contact-point table. `format=csv` gives the escalated cases as CSV
/// (UTF-8 with BOM); `format=html` a printable page.
#[utoipa::path(
    tag = "reports",
    params(ReportParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SteeringReport, description = "JSON; or text/csv, or text/html, by `format`"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/steering")]
pub async fn steering_report(state: web::Data<AppState>, caller: Caller, query: web::Query<ReportParams>) -> Result<HttpResponse, ApiError> {
    let clock = state.clock.clone();
    let query = ReportQuery::from(query.into_inner());
    // Checked by the service with the other fields.
    let format = query.format.clone().unwrap_or_else(|| "json".into());
    let report: SteeringReport = state.db(move |conn| Ok(service::steering(conn, &*clock, &caller, &query)?)).await?.into();
    Ok(match format.as_str() {
        "csv" => HttpResponse::Ok()
            .content_type(csv_out::CONTENT_TYPE)
            .insert_header(("content-disposition", format!("attachment; filename=\"steering-{}.csv\"", report.summary.season)))
            .body(csv_text(&report)?),
        "html" => HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html_page(&report)),
        _ => HttpResponse::Ok().json(report),
    })
}
