//! Reports: the summary for departments, carriers and overseers, and the
//! steering committee's daily report as JSON, CSV or a printable page.

use std::collections::BTreeMap;

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::items::scope_of;
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::csv_out::CsvOut;
use crate::db::DbConn;
use crate::domain::report::{self, ItemFact, Totals};
use crate::domain::{fields, province, FieldErrors, Role};
use crate::store::reports::ReportFilter;
use crate::store::{self};

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
    pub kind: String,
    pub level: i32,
    pub count: u64,
}

/// One active case, as a report lists it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CaseLine {
    pub case_id: String,
    pub tracking_number: String,
    pub kind: String,
    pub severity: String,
    pub level: i32,
    pub state: String,
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
}

/// The steering committee's daily report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SteeringReport {
    #[serde(flatten)]
    pub summary: SummaryReport,
    /// Every active case at level 2 or 3, oldest first.
    pub escalated_cases: Vec<CaseLine>,
    pub contacts: Vec<ContactLine>,
}

fn filter_of(conn: &mut DbConn, caller: &Caller, params: &ReportParams) -> Result<ReportFilter, ApiError> {
    let mut errors = FieldErrors::default();
    let season = errors.check("season", fields::season(&params.season));
    let province = params.province.as_deref().and_then(|p| {
        errors.check("province", province::resolve(p).map(|p| p.code.to_string()).ok_or_else(|| "is not one of Vietnam's 34 provinces".to_string()))
    });
    let mut org = |name: &str, code: &Option<String>| -> Result<Option<String>, ApiError> {
        let Some(code) = code.as_ref().map(|c| c.trim().to_uppercase()) else { return Ok(None) };
        let found = store::organizations::find_by_code(conn, &code)?;
        Ok(errors.check(name, found.map(|o| o.id).ok_or_else(|| format!("no organization with code {code}"))))
    };
    let sender_org_id = org("sender", &params.sender)?;
    let carrier_org_id = org("carrier", &params.carrier)?;
    if let Some(format) = &params.format {
        if !["json", "csv", "html"].contains(&format.as_str()) {
            errors.push("format", "must be json, csv or html");
        }
    }
    let Some(season) = season.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors.0));
    };
    let province = match (caller.role, province) {
        (Role::Overseer, Some(p)) if p != caller.province => {
            return Err(ApiError::Forbidden(format!("overseers report on their own province ({})", caller.province)))
        }
        (Role::Overseer, _) => Some(caller.province.clone()),
        (_, p) => p,
    };
    Ok(ReportFilter { season, province, sender_org_id, carrier_org_id })
}

fn summary(conn: &mut DbConn, caller: &Caller, filter: &ReportFilter, now: chrono::DateTime<chrono::Utc>) -> Result<(SummaryReport, Vec<CaseLine>), ApiError> {
    let scope = scope_of(caller);
    let facts: Vec<ItemFact> = store::reports::item_facts(conn, &scope, filter)?
        .into_iter()
        .map(|(kind, status, priority, carrier, accepted, due, last)| ItemFact {
            kind,
            status,
            priority,
            carrier,
            accepted_at: accepted.map(|t| t.and_utc()),
            due_at: due.map(|t| t.and_utc()),
            last_event_at: last.map(|t| t.and_utc()),
        })
        .collect();
    let cases = store::reports::active_cases(conn, &scope, filter)?;
    let mut counts: BTreeMap<(String, i32), u64> = BTreeMap::new();
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    let mut lines = Vec::with_capacity(cases.len());
    for (case, number) in cases {
        *counts.entry((case.kind.clone(), case.level)).or_default() += 1;
        if !owners.contains_key(&case.owner_org_id) {
            let code = store::organizations::find(conn, &case.owner_org_id)?.map(|o| o.code).unwrap_or_default();
            owners.insert(case.owner_org_id.clone(), code);
        }
        lines.push(CaseLine {
            case_id: case.public_id,
            tracking_number: number,
            kind: case.kind,
            severity: case.severity,
            level: case.level,
            state: case.state,
            owner_org: owners[&case.owner_org_id].clone(),
            opened_at: case.opened_at.and_utc(),
            response_due_at: case.response_due_at.and_utc(),
        });
    }
    let report = SummaryReport {
        season: filter.season.clone(),
        province: filter.province.clone(),
        generated_at: now,
        totals: report::totals(&facts, now),
        open_cases: counts.into_iter().map(|((kind, level), count)| CaseCount { kind, level, count }).collect(),
        oldest_open_cases: Vec::new(),
    };
    Ok((report, lines))
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
    let now = state.clock.now();
    let report = state
        .db(move |conn| {
            let filter = filter_of(conn, &caller, &query)?;
            let (mut report, lines) = summary(conn, &caller, &filter, now)?;
            report.oldest_open_cases = lines.into_iter().take(10).collect();
            Ok(report)
        })
        .await?;
    Ok(web::Json(report))
}

fn csv_text(report: &SteeringReport) -> Result<String, ApiError> {
    let mut out = CsvOut::new(true);
    out.row(["case_id", "tracking_number", "kind", "severity", "level", "state", "owner_org", "opened_at", "response_due_at"])
        .map_err(ApiError::internal)?;
    for c in &report.escalated_cases {
        out.row([
            c.case_id.clone(),
            c.tracking_number.clone(),
            c.kind.clone(),
            c.severity.clone(),
            c.level.to_string(),
            c.state.clone(),
            c.owner_org.clone(),
            c.opened_at.to_rfc3339(),
            c.response_due_at.to_rfc3339(),
        ])
        .map_err(ApiError::internal)?;
    }
    String::from_utf8(out.finish().map_err(ApiError::internal)?).map_err(ApiError::internal)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn vn_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).format("%H:%M %d/%m/%Y").to_string()
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
        .map(|c| row(vec![c.tracking_number.clone(), c.kind.clone(), c.severity.clone(), c.level.to_string(), c.state.clone(), c.owner_org.clone(), vn_time(c.response_due_at)]))
        .collect();
    let contacts: String = report.contacts.iter()
        .map(|c| row(vec![c.organization.clone(), c.name.clone(), c.position.clone().unwrap_or_default(), c.phone.clone().unwrap_or_default(), c.email.clone().unwrap_or_default()]))
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
<h2>Đầu mối liên hệ</h2>
<table><thead><tr><th>Đơn vị</th><th>Họ tên</th><th>Chức vụ</th><th>Điện thoại</th><th>Email</th></tr></thead><tbody>{contacts}</tbody></table>
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
    let now = state.clock.now();
    let format = query.format.clone().unwrap_or_else(|| "json".into());
    let report = state
        .db(move |conn| {
            let filter = filter_of(conn, &caller, &query)?;
            let (mut summary, lines) = summary(conn, &caller, &filter, now)?;
            summary.oldest_open_cases = lines.iter().take(10).cloned().collect();
            let escalated_cases: Vec<CaseLine> = lines.into_iter().filter(|c| c.level >= 2).collect();
            let orgs = store::reports::contact_orgs(conn, filter.province.as_deref())?;
            let codes: BTreeMap<String, String> = orgs.into_iter().collect();
            let ids: Vec<String> = codes.keys().cloned().collect();
            let contacts = store::contacts::for_orgs(conn, &ids)?
                .into_iter()
                .map(|c| ContactLine {
                    organization: codes[&c.organization_id].clone(),
                    name: c.name,
                    position: c.position,
                    phone: c.phone,
                    email: c.email,
                    case_kinds: c.case_kinds,
                    levels: c.levels,
                })
                .collect();
            Ok(SteeringReport { summary, escalated_cases, contacts })
        })
        .await?;
    Ok(match format.as_str() {
        "csv" => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("content-disposition", format!("attachment; filename=\"steering-{}.csv\"", report.summary.season)))
            .body(csv_text(&report)?),
        "html" => HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html_page(&report)),
        _ => HttpResponse::Ok().json(report),
    })
}
