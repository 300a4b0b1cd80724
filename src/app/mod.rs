//! The application layer: one module per workflow. A service takes the
//! acting party ([`Actor`]), a typed command and the injected clock, owns its
//! transaction, and returns domain values or a typed [`Error`]. It knows
//! nothing of HTTP: `api/` translates requests into commands and results
//! into views; the CLI, the seed and the background workers call services
//! directly.
//!
//! Floors, each calling only those below it:
//! `api` → `app` → `escalation` / `notify` → `store` → `domain`, `db`.

pub mod administration;
pub mod audit;
pub mod cases;
pub mod chain;
mod error;
pub mod incidents;
pub mod lookup;
pub mod operations;
pub mod pre_advice;
pub mod registration;
pub mod reports;
pub mod retention;
pub mod scans;
pub mod seasons;

pub use error::Error;

use crate::domain::Role;
use crate::store::items::ItemScope;

/// Who is acting: an authenticated API client, or the system itself (the
/// sweeper, the CLI, the seed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub client_id: String,
    pub org_id: String,
    pub role: Role,
    /// The province of the actor's organization (an overseer's scope).
    pub province: String,
    /// The actor's organization reads every item of its province (a
    /// provincial Department of Education, the committee's standing body).
    pub reads_province: bool,
}

impl Actor {
    /// Refuses actors whose role is not among `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), Error> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let allowed = roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
            Err(Error::Forbidden(format!("this needs the role {allowed}; your client has the role {}", self.role)))
        }
    }

    /// How this actor stands to an item it can see, for what it may read of
    /// the candidate (`domain::exposure`).
    pub fn reader_of(&self, item: &crate::store::items::Item) -> crate::domain::exposure::Reader {
        use crate::domain::exposure::Reader;
        match self.role {
            Role::Admin => Reader::Sender,
            _ if item.sender_org_id == self.org_id => Reader::Sender,
            _ if item.recipient_org_id.as_deref() == Some(self.org_id.as_str()) => Reader::Recipient,
            Role::Carrier if item.carrier_org_id == self.org_id => Reader::Carrier,
            _ => Reader::Overseer,
        }
    }

    /// Which items this actor may see.
    pub fn item_scope(&self) -> ItemScope {
        match self.role {
            Role::Admin => ItemScope::All,
            Role::Education if self.reads_province => ItemScope::OwnOrProvince(self.org_id.clone(), self.province.clone()),
            Role::Education => ItemScope::SenderOrRecipient(self.org_id.clone()),
            Role::Carrier => ItemScope::Carrier(self.org_id.clone()),
            Role::Overseer => ItemScope::Province(self.province.clone()),
        }
    }
}
