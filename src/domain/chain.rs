//! The verifiable event chain: pure hashing rules.
//!
//! Each item's history is a hash chain in the order the service recorded
//! it: an entry (a scan, or the void of one) is hashed from its stored
//! content, and its link is `SHA-256(previous link ‖ entry hash)`, so
//! changing, removing or inserting any entry changes every later link.
//! Each day, the items whose chains grew are folded into a Merkle tree
//! (RFC 6962's hashing: leaves and nodes are domain-separated), and its
//! root is signed: a rewrite that recomputed the links would still change
//! a root that a committee holds in its printed report.
//!
//! Personal values (a recipient's name on a delivery) are committed as a
//! salted digest (HMAC-SHA256 with the item's salt), never as themselves:
//! the retention purge replaces the value with its digest and forgets the
//! salt, and the chain still verifies.

use chrono::{NaiveDate, NaiveDateTime};
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The link before the first entry.
pub const GENESIS: Hash = [0; 32];

/// The fields of `details` that hold personal values, and the field each
/// becomes once purged.
pub const PERSONAL_DETAILS: [(&str, &str); 1] = [("recipient_name", "recipient_name_digest")];

/// A stored scan, as the chain commits to it. Not its `content_hash`: that
/// is derived from the rest (it tells retries apart) and, being an unsalted
/// hash over a recipient's name, the purge replaces it.
#[derive(Debug, Clone, Copy)]
pub struct EventContent<'a> {
    pub public_id: &'a str,
    pub item_id: i64,
    pub carrier_org_id: &'a str,
    pub client_event_id: &'a str,
    pub event_type: &'a str,
    pub occurred_at: NaiveDateTime,
    pub occurred_offset_min: i32,
    pub received_at: NaiveDateTime,
    pub office_code: &'a str,
    pub office_name: Option<&'a str>,
    pub office_type: Option<&'a str>,
    pub operator_id: Option<&'a str>,
    pub device_id: Option<&'a str>,
    pub details: &'a str,
    pub created_by: &'a str,
}

/// A stored void declaration, as the chain commits to it.
#[derive(Debug, Clone, Copy)]
pub struct VoidContent<'a> {
    pub event_public_id: &'a str,
    pub reason: &'a str,
    pub note: Option<&'a str>,
    pub voided_by: &'a str,
    pub voided_at: NaiveDateTime,
}

/// Why an entry cannot be hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryError {
    /// The stored details are not a JSON object.
    Details,
    /// The details hold a personal value but the item's salt is gone.
    NoSalt,
}

/// Times as the chain reads them: microseconds, which both backends keep.
fn time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// The salted digest of a personal value.
pub fn personal_digest(salt: &[u8], value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(salt).expect("HMAC takes any key length");
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `details` with each personal value replaced by its salted digest, in a
/// canonical form (keys sorted): what the chain commits to, and what the
/// purge stores.
pub fn committed_details(details: &str, salt: Option<&[u8]>) -> Result<String, EntryError> {
    let needs_work = PERSONAL_DETAILS.iter().any(|(field, _)| details.contains(field));
    let mut object: Map<String, Value> = serde_json::from_str(details).map_err(|_| EntryError::Details)?;
    if needs_work {
        for (field, digest_field) in PERSONAL_DETAILS {
            if let Some(value) = object.remove(field) {
                let salt = salt.ok_or(EntryError::NoSalt)?;
                let text = match &value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                object.insert(digest_field.to_string(), Value::String(personal_digest(salt, &text)));
            }
        }
    }
    Ok(Value::Object(object).to_string())
}

/// The hash of a scan entry.
pub fn event_entry(event: &EventContent, salt: Option<&[u8]>) -> Result<Hash, EntryError> {
    let content = json!([
        "event",
        event.public_id,
        event.item_id,
        event.carrier_org_id,
        event.client_event_id,
        event.event_type,
        time(event.occurred_at),
        event.occurred_offset_min,
        time(event.received_at),
        event.office_code,
        event.office_name,
        event.office_type,
        event.operator_id,
        event.device_id,
        committed_details(event.details, salt)?,
        event.created_by,
    ]);
    Ok(sha256(content.to_string().as_bytes()))
}

/// The hash of a void entry.
pub fn void_entry(void: &VoidContent) -> Hash {
    let content = json!(["void", void.event_public_id, void.reason, void.note, void.voided_by, time(void.voided_at)]);
    sha256(content.to_string().as_bytes())
}

/// The link after `previous` for an entry.
pub fn link(previous: &Hash, entry: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(entry);
    hasher.finalize().into()
}

/// A day's leaf for an item: its chain's length and last link that day.
pub fn leaf(item_id: i64, seq: i64, link: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(item_id.to_be_bytes());
    hasher.update(seq.to_be_bytes());
    hasher.update(link);
    hasher.finalize().into()
}

fn node(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The largest power of two below `n` (n > 1): RFC 6962's split.
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The Merkle root of `leaves` (RFC 6962, §2.1); the hash of nothing for none.
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => sha256(&[]),
        1 => leaves[0],
        n => {
            let k = split(n);
            node(&merkle_root(&leaves[..k]), &merkle_root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` (RFC 6962, §2.1.1), leaf side first.
pub fn inclusion_path(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 || index >= n {
        return Vec::new();
    }
    let k = split(n);
    if index < k {
        let mut path = inclusion_path(&leaves[..k], index);
        path.push(merkle_root(&leaves[k..]));
        path
    } else {
        let mut path = inclusion_path(&leaves[k..], index - k);
        path.push(merkle_root(&leaves[..k]));
        path
    }
}

/// The root a leaf and its audit path lead to (RFC 9162, §2.1.3.2), or
/// `None` when the path does not fit the tree's size.
pub fn root_from_path(leaf: &Hash, index: usize, size: usize, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s_n == 0 {
            return None;
        }
        if f_n % 2 == 1 || f_n == s_n {
            r = node(p, &r);
            while f_n % 2 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    (s_n == 0).then_some(r)
}

/// What the service signs for a day: a text anyone can rebuild from the
/// printed report.
pub fn root_message(day: NaiveDate, leaves: i64, root: &Hash) -> String {
    format!("exampost-chain-root/v1\n{day}\n{leaves}\n{}", hex::encode(root))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf(i as i64, 1, &sha256(&i.to_be_bytes()))).collect()
    }

    #[test]
    fn every_leaf_proves_its_place_in_the_root() {
        for n in 1..40 {
            let all = leaves(n);
            let root = merkle_root(&all);
            for (i, l) in all.iter().enumerate() {
                let path = inclusion_path(&all, i);
                assert_eq!(root_from_path(l, i, n, &path), Some(root), "leaf {i} of {n}");
                assert_ne!(root_from_path(&sha256(b"other"), i, n, &path), Some(root));
            }
        }
    }

    #[test]
    fn a_personal_value_is_committed_as_a_salted_digest_that_survives_the_purge() {
        let details = r#"{"recipient_name":"Nguyễn Văn A","identity_check":"cccd"}"#;
        let committed = committed_details(details, Some(b"salt")).unwrap();
        assert!(!committed.contains("Nguyễn") && committed.contains("recipient_name_digest"), "{committed}");
        // The purge stores the committed form; it commits to the same thing, with no salt.
        assert_eq!(committed_details(&committed, None).unwrap(), committed);
        assert_ne!(committed_details(details, Some(b"other salt")).unwrap(), committed);
        assert_eq!(committed_details(details, None), Err(EntryError::NoSalt));
        assert_eq!(committed_details("[1]", None), Err(EntryError::Details));
    }

    #[test]
    fn a_link_depends_on_everything_before_it() {
        let (a, b) = (sha256(b"a"), sha256(b"b"));
        let first = link(&GENESIS, &a);
        assert_ne!(link(&first, &b), link(&link(&GENESIS, &sha256(b"a'")), &b));
    }

    proptest! {
        #[test]
        fn details_never_panic(details in "\\PC{0,200}", salt in proptest::option::of(any::<Vec<u8>>())) {
            let _ = committed_details(&details, salt.as_deref());
        }

        #[test]
        fn paths_never_panic(index in 0usize..100, size in 0usize..100, path in proptest::collection::vec(any::<[u8; 32]>(), 0..10)) {
            let _ = root_from_path(&GENESIS, index, size, &path);
        }
    }
}
