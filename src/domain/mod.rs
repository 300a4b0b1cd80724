//! Pure business rules: no I/O, no framework. Everything here is unit-tested.


use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest reason a field error carries, in characters.
pub const MAX_REASON_CHARS: usize = 300;

/// A rule broken by one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Path of the field, e.g. `recipient.date_of_birth` or `items[3].kind`.
    pub field: String,
    /// What is wrong, in words a developer can act on.
    pub reason: String,
}

impl FieldError {
    /// Reasons often quote what was sent; a quote is cut at
    /// [`MAX_REASON_CHARS`] so that no answer echoes unbounded input.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let reason = if reason.chars().count() > MAX_REASON_CHARS { fields::clip(&reason, MAX_REASON_CHARS) } else { reason };
        Self { field: field.into(), reason }
    }
}

/// Collects every broken rule of a request instead of stopping at the first.
#[derive(Debug, Default)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    /// Keeps the value, or records the reason under `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|reason| self.0.push(FieldError::new(field, reason))).ok()
    }

    pub fn push(&mut self, field: &str, reason: impl Into<String>) {
        self.0.push(FieldError::new(field, reason));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Declares an enum stored and sent as a snake_case string.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[derive(diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        // Stored as its wire text on both backends (no database enum type:
        // SQLite has none, and a new value needs no schema change).
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, DB>) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(self.as_str(), out)
            }
        }

        // A stored value outside the enum is a loud error (the row is
        // refused, the request fails and is logged), never a silent default.
        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                Self::parse(&text).ok_or_else(|| format!("{} {:?} is stored but is not a known value", stringify!($name), text).into())
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the stored/wire form; `None` for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            /// Parses the wire form; the error lists the accepted values.
            fn from_str(text: &str) -> Result<Self, String> {
                Self::parse(text).ok_or_else(|| {
                    let all: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    format!("must be one of {}", all.join(", "))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

// After the macro: modules use `string_enum!` too.
pub mod cases;
pub mod chain;
pub mod events;
pub mod exposure;
pub mod fields;
pub mod incidents;
pub mod province;
pub mod report;
pub mod s10;
pub mod vi;

string_enum! {
    /// What an organization is.
    OrgKind {
        /// A postal operator (VNPost, Viettel Post, ...).
        Carrier => "carrier",
        /// The Ministry, a provincial Department of Education, a school or a university.
        Education => "education",
        /// The provincial DIC or the exam steering committee: read-only oversight.
        Overseer => "overseer",
    }
}

string_enum! {
    /// How staff read candidates' personal data (the read audit).
    ReadAction {
        /// One item, opened.
        View => "view",
        /// A page of a list.
        List => "list",
        /// A spreadsheet export.
        Export => "export",
        /// Not a read: the retention purge removed the season's personal data.
        Purge => "purge",
    }
}

string_enum! {
    /// What an API client may do.
    Role {
        Carrier => "carrier",
        Education => "education",
        Overseer => "overseer",
        /// Operates ExamPost itself: manages organizations and clients, sees everything.
        Admin => "admin",
    }
}

impl Role {
    /// The organization kind a client of this role must belong to (`None`: any).
    pub fn required_org_kind(self) -> Option<OrgKind> {
        match self {
            Role::Carrier => Some(OrgKind::Carrier),
            Role::Education => Some(OrgKind::Education),
            Role::Overseer => Some(OrgKind::Overseer),
            Role::Admin => None,
        }
    }
}

string_enum! {
    /// A unit's part in a task of the provincial plan's contact table.
    PlanRole {
        /// Đơn vị chủ trì.
        Lead => "lead",
        /// Đơn vị phối hợp.
        Coordinating => "coordinating",
    }
}

string_enum! {
    /// What an item is.
    ItemKind {
        /// Giấy báo dự thi: exam notice (admission ticket).
        ExamNotice => "exam_notice",
        /// Giấy chứng nhận kết quả thi: exam result certificate.
        ResultCertificate => "result_certificate",
        /// Hồ sơ xét tuyển: admission application dossier.
        ApplicationDossier => "application_dossier",
        /// Hồ sơ thay đổi nguyện vọng: change-of-preference dossier.
        PreferenceChangeDossier => "preference_change_dossier",
        /// Giấy báo trúng tuyển: admission notice.
        AdmissionNotice => "admission_notice",
        /// Hồ sơ nhập học: enrollment dossier.
        EnrollmentDossier => "enrollment_dossier",
        /// Công văn, công điện, tài liệu: official dispatch or document.
        OfficialDispatch => "official_dispatch",
        /// Đề thi: sealed exam papers, always confidential.
        ExamPaper => "exam_paper",
    }
}

string_enum! {
    /// How fast an item must move.
    Priority {
        Standard => "standard",
        Priority => "priority",
        Urgent => "urgent",
    }
}

string_enum! {
    /// Where an item stands, derived from its scan events.
    ItemStatus {
        Registered => "registered",
        Accepted => "accepted",
        InTransit => "in_transit",
        AtDeliveryOffice => "at_delivery_office",
        OutForDelivery => "out_for_delivery",
        DeliveryFailed => "delivery_failed",
        HeldAtOffice => "held_at_office",
        Delivered => "delivered",
        Returned => "returned",
        Exception => "exception",
        Lost => "lost",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_enums_round_trip() {
        for kind in ItemKind::ALL {
            assert_eq!(ItemKind::parse(kind.as_str()), Some(*kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(ItemStatus::ALL.len(), 11);
        assert_eq!(Priority::parse("express"), None);
        assert_eq!("express".parse::<Priority>().unwrap_err(), "must be one of standard, priority, urgent");
    }

    #[test]
    fn roles_match_org_kinds() {
        assert_eq!(Role::Carrier.required_org_kind(), Some(OrgKind::Carrier));
        assert_eq!(Role::Admin.required_org_kind(), None);
    }
}
