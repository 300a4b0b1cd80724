//! Electronic pre-advice of a dossier: the sender or the accepting carrier
//! attaches the candidate's identifiers, the programme and a digest of the
//! documents; the receiving institution reads it at once and acknowledges
//! it. When the paper is late or lost, the acknowledged pre-advice is what
//! keeps the candidate's place.

use crate::app::{registration::read, Actor, Error};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::{fields, FieldErrors, ItemKind, Role};
use crate::store::items::Item;
use crate::store::pre_advices::PreAdvice;
use crate::store::{self, stored_time};

/// The kinds that carry a pre-advice.
pub const DOSSIERS: &[ItemKind] = &[ItemKind::ApplicationDossier, ItemKind::PreferenceChangeDossier, ItemKind::EnrollmentDossier];

/// A pre-advice as sent. Texts are as sent: the service checks them.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachPreAdvice {
    pub tracking_number: String,
    pub season: Option<String>,
    /// The programme (ngành, chương trình) the candidate applies for or enrolls in.
    pub programme: String,
    /// SHA-256 of the dossier's documents, 64 hex digits.
    pub document_digest: String,
}

/// A SHA-256 digest as 64 hexadecimal digits, lower-cased.
fn sha256_hex(text: &str) -> Result<String, String> {
    let digest = text.trim().to_ascii_lowercase();
    if digest.chars().count() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(digest)
    } else {
        Err("must be the SHA-256 of the documents: 64 hexadecimal digits".into())
    }
}

/// Attaches (or replaces, until acknowledged) the pre-advice of a dossier
/// addressed to an institution: its sender (who registered it) or its carrier.
pub fn attach(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, command: AttachPreAdvice) -> Result<(PreAdvice, Item), Error> {
    let mut errors = FieldErrors::default();
    let programme = errors.check("programme", fields::text(&command.programme, 300));
    let digest = errors.check("document_digest", sha256_hex(&command.document_digest)).unwrap_or_default();
    let Some(programme) = programme.filter(|_| errors.is_empty()) else {
        return Err(Error::Invalid(errors.0));
    };
    let now = stored_time(clock.now());
    conn.write_transaction(|conn| {
        let item = read::find_item(conn, actor, &command.tracking_number, command.season.as_deref())?;
        if !(actor.role == Role::Admin || item.sender_org_id == actor.org_id || item.carrier_org_id == actor.org_id) {
            return Err(Error::Forbidden("only the dossier's sender or its carrier attaches a pre-advice".into()));
        }
        let (Some(recipient), Some(number), Some(name)) = (&item.recipient_org_id, &item.candidate_number, &item.candidate_name) else {
            return Err(Error::field("tracking_number", "a pre-advice goes with a dossier to an institution that names its candidate"));
        };
        if !DOSSIERS.contains(&item.kind) {
            return Err(Error::field("tracking_number", format!("{} is a {}; a pre-advice goes with a dossier", item.tracking_number, item.kind)));
        }
        if store::pre_advices::acknowledged(conn, item.id)? {
            return Err(Error::Conflict { detail: "the institution has acknowledged this pre-advice; it can no longer change".into(), existing_id: None });
        }
        let advice = PreAdvice {
            item_id: item.id,
            recipient_org_id: recipient.clone(),
            candidate_number: number.clone(),
            candidate_name: name.clone(),
            programme,
            document_digest: digest,
            submitted_by: actor.client_id.clone(),
            submitted_at: now,
            acknowledged_by: None,
            acknowledged_at: None,
        };
        store::pre_advices::save(conn, &advice)?;
        Ok((advice, item))
    })
}

/// The receiving institution acknowledges a dossier's pre-advice.
pub fn acknowledge(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, tracking_number: &str, season: Option<&str>) -> Result<(PreAdvice, Item), Error> {
    let now = stored_time(clock.now());
    conn.write_transaction(|conn| {
        let item = read::find_item(conn, actor, tracking_number, season)?;
        let advice = store::pre_advices::find(conn, item.id)?.ok_or_else(|| Error::NotFound(format!("{tracking_number} has no pre-advice")))?;
        if !(actor.role == Role::Admin || advice.recipient_org_id == actor.org_id) {
            return Err(Error::Forbidden("only the institution the dossier is addressed to acknowledges its pre-advice".into()));
        }
        if !store::pre_advices::acknowledge(conn, item.id, &actor.client_id, now)? {
            return Err(Error::Conflict { detail: "already acknowledged".into(), existing_id: None });
        }
        let advice = store::pre_advices::find(conn, item.id)?.ok_or_else(|| Error::internal("pre-advice vanished"))?;
        Ok((advice, item))
    })
}

/// The pre-advices addressed to the actor's institution (admins: all),
/// oldest first; `status`: `pending`, `acknowledged` or all.
pub fn list(conn: &mut DbConn, actor: &Actor, status: Option<&str>) -> Result<Vec<(PreAdvice, Item)>, Error> {
    actor.require(&[Role::Education, Role::Admin])?;
    let acknowledged = match status.map(str::trim) {
        None | Some("all") => None,
        Some("pending") => Some(false),
        Some("acknowledged") => Some(true),
        Some(_) => return Err(Error::field("status", "must be pending, acknowledged or all")),
    };
    let recipient = (actor.role != Role::Admin).then_some(actor.org_id.as_str());
    Ok(store::pre_advices::addressed_to(conn, recipient, acknowledged, 1000)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_is_64_hex_digits() {
        assert_eq!(sha256_hex(&format!(" {} ", "AB".repeat(32))), Ok("ab".repeat(32)));
        assert!(sha256_hex("abc").is_err());
        assert!(sha256_hex(&"é".repeat(32)).is_err(), "64 bytes of letters are not 64 digits");
    }

    proptest::proptest! {
        #[test]
        fn checking_a_digest_never_panics(text in "\\PC{0,200}") {
            let _ = sha256_hex(&text);
        }
    }
}
