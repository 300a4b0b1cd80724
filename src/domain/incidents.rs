//! Area incidents: a flood, a storm, a fire, a closed road or a system
//! outage that delays every item in an area at once. Pure rules: which
//! items an incident covers, and the words for people.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::cases::CaseKind;

string_enum! {
    /// What happened.
    IncidentKind {
        /// Lũ lụt, ngập úng.
        Flood => "flood",
        /// Bão, áp thấp nhiệt đới.
        Storm => "storm",
        /// Hỏa hoạn.
        Fire => "fire",
        /// Đường bị chặn, sạt lở.
        RoadClosure => "road_closure",
        /// Sự cố hệ thống (mất điện, mất mạng, hỏng máy chia chọn).
        SystemOutage => "system_outage",
        Other => "other",
    }
}

string_enum! {
    /// Whether an incident still holds.
    IncidentState {
        Open => "open",
        Closed => "closed",
    }
}

/// Where an incident strikes: any of these provinces (codes), wards (as
/// items name them) or offices. An item is in the area when its destination
/// province or ward, or the office of its last scan, is listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Area {
    pub provinces: Vec<String>,
    pub wards: Vec<String>,
    pub office_codes: Vec<String>,
}

impl Area {
    pub fn is_empty(&self) -> bool {
        self.provinces.is_empty() && self.wards.is_empty() && self.office_codes.is_empty()
    }

    pub fn covers(&self, dest_province: &str, dest_ward: &str, last_office: Option<&str>) -> bool {
        let ward = dest_ward.trim().to_lowercase();
        self.provinces.iter().any(|p| p == dest_province)
            || self.wards.iter().any(|w| w.trim().to_lowercase() == ward)
            || last_office.is_some_and(|office| self.office_codes.iter().any(|o| o == office))
    }
}

/// The case kinds an incident explains: delays. A broken seal, damage or a
/// loss is each item's own story even in a flood.
pub fn groups(kind: CaseKind) -> bool {
    matches!(kind, CaseKind::Overdue | CaseKind::Stalled | CaseKind::SuspectedLoss | CaseKind::DeadlineAtRisk | CaseKind::NotAccepted)
}

/// The incident in a few plain words, for mails, reports and the candidates' page.
pub fn label(kind: IncidentKind, vietnamese: bool) -> &'static str {
    use IncidentKind::*;
    match (kind, vietnamese) {
        (Flood, true) => "lũ lụt",
        (Flood, false) => "flooding",
        (Storm, true) => "bão",
        (Storm, false) => "a storm",
        (Fire, true) => "hỏa hoạn",
        (Fire, false) => "a fire",
        (RoadClosure, true) => "đường bị chia cắt",
        (RoadClosure, false) => "a road closure",
        (SystemOutage, true) => "sự cố hệ thống",
        (SystemOutage, false) => "a system outage",
        (Other, true) => "sự cố bất ngờ",
        (Other, false) => "an unforeseen incident",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_area_covers_by_province_ward_or_office() {
        let area = Area { provinces: vec!["lao-cai".into()], wards: vec!["Phường Việt Trì".into()], office_codes: vec!["VNP-KTPT".into()] };
        assert!(area.covers("lao-cai", "Xã Bát Xát", None));
        assert!(area.covers("phu-tho", " phường việt trì ", None), "wards compare without case or padding");
        assert!(area.covers("ha-noi", "Phường Ba Đình", Some("VNP-KTPT")));
        assert!(!area.covers("ha-noi", "Phường Ba Đình", Some("VNP-10000")));
        assert!(!area.covers("ha-noi", "Phường Ba Đình", None));
        assert!(Area::default().is_empty());
    }

    #[test]
    fn incidents_group_delays_not_integrity() {
        assert!(groups(CaseKind::Overdue));
        assert!(groups(CaseKind::Stalled));
        assert!(!groups(CaseKind::Tampering));
        assert!(!groups(CaseKind::Lost));
    }
}
