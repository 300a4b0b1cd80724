//! Words for people: e-mail subjects and bodies in Vietnamese and English.

use crate::domain::cases::CaseKind;
use crate::domain::incidents::IncidentKind;
use crate::domain::ItemKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    pub fn parse(text: &str) -> Lang {
        if text.eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            Lang::Vi
        }
    }
}

pub fn item_kind(kind: ItemKind, lang: Lang) -> &'static str {
    use ItemKind::*;
    match (kind, lang) {
        (ExamNotice, Lang::Vi) => "Giấy báo dự thi",
        (ExamNotice, Lang::En) => "Exam notice",
        (ResultCertificate, Lang::Vi) => "Giấy chứng nhận kết quả thi",
        (ResultCertificate, Lang::En) => "Exam result certificate",
        (ApplicationDossier, Lang::Vi) => "Hồ sơ xét tuyển",
        (ApplicationDossier, Lang::En) => "Admission application dossier",
        (PreferenceChangeDossier, Lang::Vi) => "Hồ sơ thay đổi nguyện vọng",
        (PreferenceChangeDossier, Lang::En) => "Change-of-preference dossier",
        (AdmissionNotice, Lang::Vi) => "Giấy báo trúng tuyển",
        (AdmissionNotice, Lang::En) => "Admission notice",
        (EnrollmentDossier, Lang::Vi) => "Hồ sơ nhập học",
        (EnrollmentDossier, Lang::En) => "Enrollment dossier",
        (OfficialDispatch, Lang::Vi) => "Công văn, tài liệu",
        (OfficialDispatch, Lang::En) => "Official dispatch",
        (ExamPaper, Lang::Vi) => "Đề thi",
        (ExamPaper, Lang::En) => "Exam papers",
    }
}

pub fn case_kind(kind: CaseKind, lang: Lang) -> &'static str {
    use CaseKind::*;
    match (kind, lang) {
        (Overdue, Lang::Vi) => "Quá thời hạn phát",
        (Overdue, Lang::En) => "Overdue",
        (Stalled, Lang::Vi) => "Không có thông tin hành trình",
        (Stalled, Lang::En) => "No scan for too long",
        (SuspectedLoss, Lang::Vi) => "Nghi thất lạc",
        (SuspectedLoss, Lang::En) => "Suspected loss",
        (DeadlineAtRisk, Lang::Vi) => "Có nguy cơ không kịp hạn",
        (DeadlineAtRisk, Lang::En) => "Deadline at risk",
        (Tampering, Lang::Vi) => "Dấu hiệu xâm phạm niêm phong",
        (Tampering, Lang::En) => "Seal tampering",
        (Misrouted, Lang::Vi) => "Chia chọn sai tuyến",
        (Misrouted, Lang::En) => "Misrouted",
        (Damaged, Lang::Vi) => "Bưu gửi hư hỏng",
        (Damaged, Lang::En) => "Damaged",
        (RepeatedFailure, Lang::Vi) => "Phát không thành công nhiều lần",
        (RepeatedFailure, Lang::En) => "Repeated delivery failure",
        (Lost, Lang::Vi) => "Thất lạc",
        (Lost, Lang::En) => "Lost",
        (NotAccepted, Lang::Vi) => "Chưa được bưu điện tiếp nhận",
        (NotAccepted, Lang::En) => "Not accepted by the carrier",
        (RecipientReport, Lang::Vi) => "Thí sinh phản ánh",
        (RecipientReport, Lang::En) => "Reported by the candidate",
    }
}

/// What a case e-mail says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseNews<'a> {
    Opened,
    Escalated,
    Resolved,
    /// The steering committee directed the case to the case's (new) owner.
    Directed { instruction: &'a str },
}

pub struct CaseFacts<'a> {
    pub kind: CaseKind,
    pub level: i32,
    pub tracking_number: &'a str,
    pub item_kind: ItemKind,
    /// Vietnam time, `HH:MM dd/mm/yyyy`.
    pub response_due: String,
    /// The deadline the case protects (Vietnam time) and the minutes left to it.
    pub deadline: Option<(String, i64)>,
    pub outcome: Option<&'a str>,
    pub case_id: &'a str,
    /// The institution acknowledged the dossier's electronic pre-advice.
    pub place_kept: bool,
}

/// "3 giờ 20 phút" / "3 h 20 min"; "đã quá 40 phút" / "passed 40 min ago".
fn time_left(minutes: i64, lang: Lang) -> String {
    let span = |m: i64| {
        let (h, m) = (m / 60, m % 60);
        match (lang, h) {
            (Lang::Vi, 0) => format!("{m} phút"),
            (Lang::Vi, _) => format!("{h} giờ {m} phút"),
            (Lang::En, 0) => format!("{m} min"),
            (Lang::En, _) => format!("{h} h {m} min"),
        }
    };
    match (lang, minutes >= 0) {
        (Lang::Vi, true) => format!("còn {}", span(minutes)),
        (Lang::Vi, false) => format!("đã quá {}", span(-minutes)),
        (Lang::En, true) => format!("{} left", span(minutes)),
        (Lang::En, false) => format!("passed {} ago", span(-minutes)),
    }
}

pub fn case_email(news: CaseNews, facts: &CaseFacts, lang: Lang) -> (String, String) {
    let kind = case_kind(facts.kind, lang);
    let item = item_kind(facts.item_kind, lang);
    let n = facts.tracking_number;
    let level = facts.level;
    let (subject, mut body) = match lang {
        Lang::Vi => (
            match news {
                CaseNews::Opened => format!("[ExamPost] Sự cố mới: {kind} – {n}"),
                CaseNews::Escalated => format!("[ExamPost] Sự cố chuyển lên cấp {level}: {kind} – {n}"),
                CaseNews::Resolved => format!("[ExamPost] Sự cố đã xử lý: {kind} – {n}"),
                CaseNews::Directed { .. } => format!("[ExamPost] Ban chỉ đạo giao xử lý: {kind} – {n}"),
            },
            format!("Bưu gửi: {n} ({item})\nSự cố: {kind}\nCấp xử lý: {level}\nMã sự cố: {}\n", facts.case_id),
        ),
        Lang::En => (
            match news {
                CaseNews::Opened => format!("[ExamPost] New case: {kind} – {n}"),
                CaseNews::Escalated => format!("[ExamPost] Case raised to level {level}: {kind} – {n}"),
                CaseNews::Resolved => format!("[ExamPost] Case resolved: {kind} – {n}"),
                CaseNews::Directed { .. } => format!("[ExamPost] The steering committee directs you: {kind} – {n}"),
            },
            format!("Item: {n} ({item})\nCase: {kind}\nLevel: {level}\nCase id: {}\n", facts.case_id),
        ),
    };
    if let Some((deadline, minutes)) = &facts.deadline {
        body.push_str(&match lang {
            Lang::Vi => format!("Hạn của thí sinh: {deadline} ({})\n", time_left(*minutes, lang)),
            Lang::En => format!("The candidate's deadline: {deadline} ({})\n", time_left(*minutes, lang)),
        });
    }
    if facts.place_kept {
        body.push_str(match lang {
            Lang::Vi => "Trường đã xác nhận hồ sơ điện tử của thí sinh: chỗ của thí sinh được giữ dù bản giấy đến muộn.\n",
            Lang::En => "The institution has acknowledged the candidate's electronic pre-advice: the place is kept even if the paper is late.\n",
        });
    }
    if let CaseNews::Directed { instruction } = news {
        body.push_str(&match lang {
            Lang::Vi => format!("Chỉ đạo: {instruction}\n"),
            Lang::En => format!("Instruction: {instruction}\n"),
        });
    }
    body.push_str(&match (news, lang) {
        (CaseNews::Resolved, Lang::Vi) => format!("Kết quả: {}\n", facts.outcome.unwrap_or("-")),
        (CaseNews::Resolved, Lang::En) => format!("Outcome: {}\n", facts.outcome.unwrap_or("-")),
        (_, Lang::Vi) => format!("Cần xác nhận xử lý trước: {}\n", facts.response_due),
        (_, Lang::En) => format!("Acknowledge by: {}\n", facts.response_due),
    });
    body.push_str(match lang {
        Lang::Vi => "\nVui lòng xử lý trên hệ thống ExamPost để bảo đảm quyền lợi của thí sinh.\n",
        Lang::En => "\nPlease handle it in ExamPost so that the candidate is protected.\n",
    });
    (subject, body)
}

/// One line of a digest: what happened to which case.
pub fn digest_line(news: CaseNews, facts: &CaseFacts, lang: Lang) -> String {
    let kind = case_kind(facts.kind, lang);
    let (n, level) = (facts.tracking_number, facts.level);
    let what = match (news, lang) {
        (CaseNews::Opened, Lang::Vi) => "Mới",
        (CaseNews::Opened, Lang::En) => "New",
        (CaseNews::Escalated, Lang::Vi) => "Lên cấp",
        (CaseNews::Escalated, Lang::En) => "Risen",
        (CaseNews::Resolved, Lang::Vi) => "Đã xử lý",
        (CaseNews::Resolved, Lang::En) => "Settled",
        (CaseNews::Directed { .. }, Lang::Vi) => "Chỉ đạo",
        (CaseNews::Directed { .. }, Lang::En) => "Directed",
    };
    let tail = match (news, lang) {
        (CaseNews::Resolved, Lang::Vi) => format!("kết quả: {}", facts.outcome.unwrap_or("-")),
        (CaseNews::Resolved, Lang::En) => format!("outcome: {}", facts.outcome.unwrap_or("-")),
        (_, Lang::Vi) => format!("cấp {level}, xác nhận trước {}", facts.response_due),
        (_, Lang::En) => format!("level {level}, acknowledge by {}", facts.response_due),
    };
    format!("[{what}] {kind} – {n} ({tail}) – {}", facts.case_id)
}

/// A digest: the lines that waited, oldest first.
pub fn digest_email(lines: &[&str], lang: Lang) -> (String, String) {
    let count = lines.len();
    let list: String = lines.iter().map(|line| format!("- {line}\n")).collect();
    match lang {
        Lang::Vi => (
            format!("[ExamPost] Tổng hợp {count} cập nhật sự cố"),
            format!("Các cập nhật sự cố từ lần tổng hợp trước:\n\n{list}\nSự cố nghiêm trọng (niêm phong, thất lạc, cấp 3) vẫn được gửi ngay.\n"),
        ),
        Lang::En => (
            format!("[ExamPost] Digest: {count} case updates"),
            format!("Case news since the last digest:\n\n{list}\nCritical news (seals, losses, level 3) is still sent at once.\n"),
        ),
    }
}

/// What an incident mail says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentNews {
    Declared,
    Extended { hours: i32 },
    Closed,
}

impl IncidentNews {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentNews::Declared => "declared",
            IncidentNews::Extended { .. } => "extended",
            IncidentNews::Closed => "closed",
        }
    }
}

pub struct IncidentFacts<'a> {
    pub kind: IncidentKind,
    /// Provinces, wards and offices, comma-separated.
    pub area: String,
    /// Vietnam time, `HH:MM dd/mm/yyyy – HH:MM dd/mm/yyyy`.
    pub window: String,
    pub description: &'a str,
    /// Items linked to the incident.
    pub items: usize,
    pub incident_id: &'a str,
}

pub fn incident_email(news: IncidentNews, facts: &IncidentFacts, lang: Lang) -> (String, String) {
    let vi = lang == Lang::Vi;
    let what = crate::domain::incidents::label(facts.kind, vi);
    let (area, window, items, id, desc) = (&facts.area, &facts.window, facts.items, facts.incident_id, facts.description);
    let subject = match (news, vi) {
        (IncidentNews::Declared, true) => format!("[ExamPost] Sự cố diện rộng: {what} – {area}"),
        (IncidentNews::Declared, false) => format!("[ExamPost] Area incident: {what} – {area}"),
        (IncidentNews::Extended { hours }, true) => format!("[ExamPost] Gia hạn {hours} giờ do {what} – {area}"),
        (IncidentNews::Extended { hours }, false) => format!("[ExamPost] Deadlines extended by {hours} h for {what} – {area}"),
        (IncidentNews::Closed, true) => format!("[ExamPost] Kết thúc sự cố: {what} – {area}"),
        (IncidentNews::Closed, false) => format!("[ExamPost] Incident over: {what} – {area}"),
    };
    let body = if vi {
        format!(
            "Sự cố: {what}\nKhu vực: {area}\nThời gian: {window}\nMô tả: {desc}\nSố bưu gửi bị ảnh hưởng: {items}\nMã sự cố: {id}\n\n\
             Các trường hợp chậm của những bưu gửi này được gộp theo sự cố; không gửi thư riêng cho từng bưu gửi.\n"
        )
    } else {
        format!(
            "Incident: {what}\nArea: {area}\nWindow: {window}\nDescription: {desc}\nItems affected: {items}\nIncident id: {id}\n\n\
             The delay cases of these items are grouped under the incident; no mail is sent per item.\n"
        )
    };
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_naturally() {
        assert_eq!(time_left(200, Lang::Vi), "còn 3 giờ 20 phút");
        assert_eq!(time_left(45, Lang::En), "45 min left");
        assert_eq!(time_left(-40, Lang::Vi), "đã quá 40 phút");
        assert_eq!(time_left(-130, Lang::En), "passed 2 h 10 min ago");
    }
}

/// What a candidate is told: only the item, its number and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateNews {
    Delivered,
    Delayed,
    Lost,
    Replaced { new_tracking_number: String },
}

pub fn candidate_email(news: &CandidateNews, item_kind: ItemKind, tracking_number: &str) -> (String, String) {
    let vi_item = self::item_kind(item_kind, Lang::Vi);
    let en_item = self::item_kind(item_kind, Lang::En);
    let (vi, en) = match news {
        CandidateNews::Delivered => ("đã được phát thành công.".to_string(), "has been delivered.".to_string()),
        CandidateNews::Delayed => (
            "đang chậm so với dự kiến; bưu điện đang xử lý.".to_string(),
            "is later than expected; the post office is on it.".to_string(),
        ),
        CandidateNews::Lost => (
            "đã bị thất lạc. Đơn vị gửi sẽ cấp lại cho bạn.".to_string(),
            "has been lost. The sender will issue a replacement.".to_string(),
        ),
        CandidateNews::Replaced { new_tracking_number } => (
            format!("đã được cấp lại, số hiệu mới: {new_tracking_number}."),
            format!("has been replaced; the new tracking number is {new_tracking_number}."),
        ),
    };
    let subject = format!("[ExamPost] {vi_item} {tracking_number}");
    let body = format!(
        "{vi_item} số hiệu {tracking_number} {vi}\n\n{en_item} {tracking_number} {en}\n\nTra cứu / Look up: trang tra cứu ExamPost với số hiệu và số báo danh.\n"
    );
    (subject, body)
}

/// An item's status in words a candidate understands.
pub fn status_label(status: crate::domain::ItemStatus, lang: Lang) -> &'static str {
    use crate::domain::ItemStatus::*;
    match (status, lang) {
        (Registered, Lang::Vi) => "Đã đăng ký, chờ bưu điện nhận",
        (Registered, Lang::En) => "Registered, waiting for the post office",
        (Accepted, Lang::Vi) => "Bưu điện đã nhận",
        (Accepted, Lang::En) => "Accepted by the post office",
        (InTransit, Lang::Vi) => "Đang vận chuyển",
        (InTransit, Lang::En) => "In transit",
        (AtDeliveryOffice, Lang::Vi) => "Đã đến bưu cục phát",
        (AtDeliveryOffice, Lang::En) => "At the delivery office",
        (OutForDelivery, Lang::Vi) => "Đang đi phát",
        (OutForDelivery, Lang::En) => "Out for delivery",
        (DeliveryFailed, Lang::Vi) => "Phát chưa thành công, bưu điện sẽ phát lại",
        (DeliveryFailed, Lang::En) => "Delivery attempt failed; it will be tried again",
        (HeldAtOffice, Lang::Vi) => "Đang lưu tại bưu cục, mời đến nhận",
        (HeldAtOffice, Lang::En) => "Held at the post office for you to collect",
        (Delivered, Lang::Vi) => "Đã phát thành công",
        (Delivered, Lang::En) => "Delivered",
        (Returned, Lang::Vi) => "Đã chuyển hoàn về nơi gửi",
        (Returned, Lang::En) => "Returned to the sender",
        (Exception, Lang::Vi) => "Có sự cố, bưu điện đang xử lý",
        (Exception, Lang::En) => "A problem occurred; the post office is handling it",
        (Lost, Lang::Vi) => "Thất lạc, đơn vị gửi sẽ cấp lại",
        (Lost, Lang::En) => "Lost; the sender will issue a replacement",
    }
}

/// What an open case means for the candidate.
pub fn open_case_label(lang: Lang) -> &'static str {
    match lang {
        Lang::Vi => "Chậm so với dự kiến, bưu điện đang xử lý",
        Lang::En => "Later than expected; the post office is handling it",
    }
}
