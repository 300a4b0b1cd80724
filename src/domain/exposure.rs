//! Minimal exposure: which personal fields of an item each reader sees.
//! Many candidates are minors (Decree 13/2023, the 2025 Personal Data
//! Protection Law): a reader sees what its task needs, no more.
//!
//! | reader | candidate number | name | date of birth | phone | e-mail | address line |
//! |---|---|---|---|---|---|---|
//! | the sender (what it registered), admin | yes | yes | yes | yes | yes | yes |
//! | the receiving institution | yes | yes | yes | yes | yes | yes |
//! | the carrier (to deliver) | yes | yes | no | yes | no | yes |
//! | the steering committee, a Department reading its province | no | no | no | no | no | no |

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

string_enum! {
    /// A personal field of a candidate, as the views name it.
    PersonalField {
        CandidateNumber => "candidate_number",
        FullName => "full_name",
        DateOfBirth => "date_of_birth",
        Phone => "phone",
        Email => "email",
        AddressLine => "address_line",
    }
}

/// How a reader stands to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The organization that registered it, or an admin.
    Sender,
    /// The institution it is addressed to.
    Recipient,
    /// The carrier that must deliver it.
    Carrier,
    /// An overseer, or a Department of Education reading its province's items for reports.
    Overseer,
}

/// The personal fields a reader sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exposure {
    pub candidate_number: bool,
    pub name: bool,
    pub date_of_birth: bool,
    pub phone: bool,
    pub email: bool,
    pub address_line: bool,
}

impl Exposure {
    pub const ALL: Exposure = Exposure { candidate_number: true, name: true, date_of_birth: true, phone: true, email: true, address_line: true };
    pub const NONE: Exposure = Exposure { candidate_number: false, name: false, date_of_birth: false, phone: false, email: false, address_line: false };
}

impl Exposure {
    /// The fields shown, in the views' order.
    pub fn fields(&self) -> Vec<PersonalField> {
        let shown = [
            (self.candidate_number, PersonalField::CandidateNumber),
            (self.name, PersonalField::FullName),
            (self.date_of_birth, PersonalField::DateOfBirth),
            (self.phone, PersonalField::Phone),
            (self.email, PersonalField::Email),
            (self.address_line, PersonalField::AddressLine),
        ];
        shown.into_iter().filter(|(shown, _)| *shown).map(|(_, field)| field).collect()
    }

    /// The fields either exposure shows.
    pub fn union(self, other: Exposure) -> Exposure {
        Exposure {
            candidate_number: self.candidate_number || other.candidate_number,
            name: self.name || other.name,
            date_of_birth: self.date_of_birth || other.date_of_birth,
            phone: self.phone || other.phone,
            email: self.email || other.email,
            address_line: self.address_line || other.address_line,
        }
    }
}

pub fn exposure(reader: Reader) -> Exposure {
    match reader {
        Reader::Sender | Reader::Recipient => Exposure::ALL,
        Reader::Carrier => Exposure { date_of_birth: false, email: false, ..Exposure::ALL },
        Reader::Overseer => Exposure::NONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reader_sees_what_its_task_needs() {
        assert_eq!(exposure(Reader::Sender), Exposure::ALL);
        let carrier = exposure(Reader::Carrier);
        assert!(carrier.name && carrier.phone && carrier.address_line && !carrier.date_of_birth && !carrier.email);
        assert_eq!(exposure(Reader::Overseer), Exposure::NONE);
    }

    #[test]
    fn fields_name_what_is_shown() {
        assert!(Exposure::NONE.fields().is_empty());
        assert_eq!(Exposure::ALL.fields().len(), 6);
        let carrier = exposure(Reader::Carrier).fields();
        assert!(carrier.contains(&PersonalField::Phone) && !carrier.contains(&PersonalField::DateOfBirth));
        assert_eq!(exposure(Reader::Carrier).union(exposure(Reader::Sender)), Exposure::ALL);
    }
}
