//! The steering report as a committee reads it: a printable page with the
//! formal header of a provincial document, and a CSV with every section.
//! Names and labels in Vietnamese. Used by the API (`format=html|csv`) and
//! by the scheduled mail.

use chrono::{DateTime, Datelike, Utc};

use super::{CaseLine, Steering};
use crate::domain::cases::CaseKind;
use crate::domain::{province, PlanRole, Priority};
use crate::notify::templates::{case_kind, item_kind, status_label, Lang};

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn vn_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).format("%H:%M %d/%m/%Y").to_string()
}

pub fn priority_label(priority: Priority) -> &'static str {
    match priority {
        Priority::Urgent => "Hỏa tốc",
        Priority::Priority => "Ưu tiên",
        Priority::Standard => "Thường",
    }
}

fn plan_role_label(role: Option<PlanRole>) -> &'static str {
    match role {
        Some(PlanRole::Lead) => "Chủ trì",
        Some(PlanRole::Coordinating) => "Phối hợp",
        None => "",
    }
}

fn province_name(code: Option<&str>) -> String {
    match code {
        Some(code) => province::resolve(code).map(|p| p.name.to_string()).unwrap_or_else(|| code.to_string()),
        None => "toàn quốc".to_string(),
    }
}

fn percent(x: Option<f64>) -> String {
    x.map(|x| format!("{x}%")).unwrap_or_else(|| "-".into())
}

fn hours(x: Option<f64>) -> String {
    x.map(|x| format!("{x} giờ")).unwrap_or_else(|| "-".into())
}

/// The critical cases: tampering, loss, not accepted, or critical severity, at any level.
pub fn is_critical(case: &CaseLine) -> bool {
    matches!(case.kind, CaseKind::Tampering | CaseKind::Lost | CaseKind::NotAccepted) || case.severity == crate::domain::cases::Severity::Critical
}

/// The sections of the report as rows of text: a title, a header, the rows.
struct Section {
    title: &'static str,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

fn case_rows(cases: &[CaseLine]) -> Vec<Vec<String>> {
    cases
        .iter()
        .map(|c| {
            vec![
                c.tracking_number.clone(),
                case_kind(c.kind, Lang::Vi).to_string(),
                c.level.to_string(),
                c.owner_org.clone(),
                vn_time(c.opened_at),
                vn_time(c.response_due_at),
            ]
        })
        .collect()
}

/// The section of signed roots: its long hashes may wrap anywhere (a
/// phone-width page), which no other table's cells should.
const HASHES: &str = "Gốc chuỗi sự kiện đã ký (giữ báo cáo này để đối chiếu: dữ liệu quét bị sửa sẽ không khớp)";

fn sections(report: &Steering) -> Vec<Section> {
    let s = &report.summary;
    let performance = |groups: &[crate::domain::report::Performance], label: &dyn Fn(&str) -> String| {
        groups
            .iter()
            .map(|p| {
                vec![
                    label(&p.group),
                    p.items.to_string(),
                    p.delivered.to_string(),
                    p.overdue.to_string(),
                    percent(p.on_time_percent),
                    hours(p.median_delivery_hours),
                ]
            })
            .collect()
    };
    let perf_header = vec!["Nhóm", "Bưu gửi", "Đã phát", "Quá hạn chưa phát", "Tỷ lệ đúng hạn", "Thời gian phát (trung vị)"];
    let case_header = vec!["Số hiệu", "Loại sự cố", "Cấp", "Đơn vị xử lý", "Mở lúc", "Hạn phản hồi"];
    vec![
        Section {
            title: "Bưu gửi theo loại và trạng thái",
            header: vec!["Loại bưu gửi", "Trạng thái", "Số lượng"],
            rows: s
                .totals
                .by_kind_and_status
                .iter()
                .map(|c| vec![item_kind(c.kind, Lang::Vi).to_string(), status_label(c.status, Lang::Vi).to_string(), c.count.to_string()])
                .collect(),
        },
        Section {
            title: "Chất lượng phát theo mức ưu tiên",
            header: perf_header.clone(),
            rows: performance(&s.totals.by_priority, &|g| g.parse::<Priority>().map(|p| priority_label(p).to_string()).unwrap_or_else(|_| g.to_string())),
        },
        Section { title: "Chất lượng phát theo doanh nghiệp bưu chính", header: perf_header, rows: performance(&s.totals.by_carrier, &|g| g.to_string()) },
        Section {
            title: "Sự cố nghiêm trọng đang mở (mọi cấp): xâm phạm niêm phong, thất lạc, chưa tiếp nhận",
            header: case_header.clone(),
            rows: case_rows(&report.critical_cases),
        },
        Section { title: "Sự cố cấp 2 và cấp 3 đang mở", header: case_header, rows: case_rows(&report.escalated_cases) },
        Section {
            title: "Sự cố diện rộng (thiên tai, hỏa hoạn, sự cố bất ngờ)",
            header: vec!["Sự cố", "Khu vực", "Thời gian", "Bưu gửi bị ảnh hưởng", "Trường hợp chậm đang mở", "Gia hạn", "Tình trạng"],
            rows: report
                .incidents
                .iter()
                .map(|f| {
                    let i = &f.incident;
                    let area: Vec<String> = i.provinces.values().iter().map(|p| province_name(Some(p))).chain(i.wards.values().iter().cloned()).chain(i.office_codes.values().iter().cloned()).collect();
                    vec![
                        format!("Chậm do {}", crate::domain::incidents::label(i.kind, true)),
                        area.join(", "),
                        format!("{} – {}", vn_time(i.starts_at.and_utc()), vn_time(i.ends_at.and_utc())),
                        f.items.to_string(),
                        f.active_cases.to_string(),
                        if i.extension_minutes > 0 { format!("{} giờ", i.extension_minutes / 60) } else { "-".into() },
                        if i.closed_at.is_some() { "Đã kết thúc".into() } else { "Đang diễn ra".into() },
                    ]
                })
                .collect(),
        },
        Section {
            title: "Số bưu gửi đăng ký và đã phát theo ngày",
            header: vec!["Ngày", "Đăng ký", "Đã phát"],
            rows: s.totals.by_day.iter().map(|d| vec![d.day.format("%d/%m/%Y").to_string(), d.registered.to_string(), d.delivered.to_string()]).collect(),
        },
        Section {
            title: HASHES,
            header: vec!["Ngày", "Bưu gửi có sự kiện mới", "Gốc (SHA-256)", "Chữ ký (Ed25519)", "Khóa công khai"],
            rows: report
                .chain_roots
                .iter()
                .map(|r| {
                    let b64 = |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
                    vec![r.day.format("%d/%m/%Y").to_string(), r.leaves.to_string(), hex::encode(&r.root), b64(&r.signature), b64(&r.public_key)]
                })
                .collect(),
        },
        Section {
            title: "Đầu mối liên hệ",
            header: vec!["Nhiệm vụ", "Đơn vị", "Chủ trì/Phối hợp", "Họ tên", "Chức vụ", "Điện thoại", "Email", "Điểm thi/Địa điểm"],
            rows: report
                .contacts
                .iter()
                .map(|c| {
                    vec![
                        c.task.clone().unwrap_or_default(),
                        c.organization.clone(),
                        plan_role_label(c.plan_role).to_string(),
                        c.name.clone(),
                        c.position.clone().unwrap_or_default(),
                        c.phone.clone().unwrap_or_default(),
                        c.email.clone().unwrap_or_default(),
                        c.exam_site.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        },
    ]
}

/// The report's period in words.
fn period(report: &Steering) -> String {
    match (&report.from, &report.to) {
        (Some(from), Some(to)) => format!("từ ngày {} đến ngày {}", from.format("%d/%m/%Y"), to.format("%d/%m/%Y")),
        (Some(from), None) => format!("từ ngày {}", from.format("%d/%m/%Y")),
        (None, Some(to)) => format!("đến ngày {}", to.format("%d/%m/%Y")),
        (None, None) => "cả kỳ thi".into(),
    }
}

/// Every section as CSV (UTF-8 with BOM): a title row before each table.
pub fn csv(report: &Steering) -> Result<Vec<u8>, csv::Error> {
    let s = &report.summary;
    let mut out = crate::csv_out::CsvOut::sections();
    out.row(["Báo cáo", "Giá trị"])?;
    out.row(["Kỳ thi", s.season.as_str()])?;
    out.row(["Tỉnh", &province_name(s.province.as_deref())])?;
    out.row(["Kỳ báo cáo", &period(report)])?;
    out.row(["Lập lúc (giờ Việt Nam)", &vn_time(s.generated_at)])?;
    out.row(["Tổng số bưu gửi", &s.totals.items.to_string()])?;
    out.row(["Quá hạn chưa phát", &s.totals.overdue.to_string()])?;
    for section in sections(report) {
        out.row([""])?;
        out.row([section.title])?;
        out.row(section.header.iter().copied())?;
        for row in &section.rows {
            out.row(row.iter().map(String::as_str))?;
        }
    }
    out.finish()
}

/// The printable page: the formal header of a provincial document, then every section.
pub fn html(report: &Steering) -> String {
    let s = &report.summary;
    let province = province_name(s.province.as_deref());
    let local = s.generated_at.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    let mut body = String::new();
    for section in sections(report) {
        body.push_str(&format!("<h2>{}</h2>\n", escape(section.title)));
        if section.rows.is_empty() {
            body.push_str("<p class=\"none\">Không có.</p>\n");
            continue;
        }
        let head: String = section.header.iter().map(|h| format!("<th>{}</th>", escape(h))).collect();
        let rows: String = section
            .rows
            .iter()
            .map(|r| format!("<tr>{}</tr>", r.iter().map(|c| format!("<td>{}</td>", escape(c))).collect::<String>()))
            .collect();
        let class = if section.title == HASHES { " class=\"hashes\"" } else { "" };
        body.push_str(&format!("<table{class}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>\n"));
    }
    format!(
        r#"<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Báo cáo Ban Chỉ đạo – {season} – {province}</title>
<style>body{{font:14px/1.45 "Times New Roman",Times,serif;margin:1.5cm;color:#000}}
.header{{display:flex;justify-content:space-between;gap:2em;text-align:center;margin-bottom:1.5em}}
.header div{{flex:1}}.header b{{display:block}}.header .motto{{text-decoration:underline}}
.date{{text-align:right;font-style:italic;margin:.5em 0 1.5em}}h1{{font-size:1.3em;text-align:center;margin:.2em 0}}
.subtitle{{text-align:center;margin:0 0 1.5em}}h2{{font-size:1.05em;margin:1.4em 0 .4em}}
table{{border-collapse:collapse;width:100%;margin:.3em 0 1em;font-size:13px}}th,td{{border:1px solid #555;padding:3px 5px;text-align:left;vertical-align:top}}
.hashes td{{overflow-wrap:anywhere}}.hashes td:first-child,.hashes td:nth-child(2){{white-space:nowrap}}
th{{background:#eee}}p.none{{font-style:italic;color:#444}}
@media print{{body{{margin:1cm}}h2{{break-after:avoid}}tr{{break-inside:avoid}}}}</style></head><body>
<div class="header"><div>ỦY BAN NHÂN DÂN TỈNH {upper}<b>BAN CHỈ ĐẠO KỲ THI</b></div>
<div><b>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</b><span class="motto">Độc lập – Tự do – Hạnh phúc</span></div></div>
<p class="date">{province}, ngày {day:02} tháng {month:02} năm {year}</p>
<h1>BÁO CÁO</h1>
<p class="subtitle">Tình hình chuyển phát bưu gửi phục vụ kỳ thi {season_name}<br>{period}; lập lúc {generated} (giờ Việt Nam)</p>
<p>Tổng số bưu gửi: <b>{items}</b>; quá hạn chưa phát: <b>{overdue}</b>; sự cố nghiêm trọng đang mở: <b>{critical}</b>; sự cố cấp 2–3 đang mở: <b>{escalated}</b>.</p>
{body}<p style="margin-top:2em">Báo cáo do hệ thống ExamPost lập tự động từ dữ liệu quét của các doanh nghiệp bưu chính.</p>
</body></html>"#,
        season = escape(&s.season),
        season_name = escape(&report.season_name.clone().unwrap_or_else(|| s.season.clone())),
        province = escape(&province),
        upper = escape(&province.to_uppercase()),
        day = local.day(),
        month = local.month(),
        year = local.year(),
        period = escape(&period(report)),
        generated = vn_time(s.generated_at),
        items = s.totals.items,
        overdue = s.totals.overdue,
        critical = report.critical_cases.len(),
        escalated = report.escalated_cases.len(),
    )
}
