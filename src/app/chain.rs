//! The verifiable event chain: sealing each day's root, proving an item's
//! history, and verifying everything from the stored rows.
//!
//! The rules (what is hashed, how links and roots are made) are in
//! `domain::chain`; appending happens in the transactions that record
//! scans and voids (`store::chain::append`).

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::chain::{self, Hash, GENESIS};
use crate::domain::Role;
use crate::store::chain::{hash_of, Leaf, Root};
use crate::store::events::{Event, EventVoid};
use crate::store::items::Item;
use crate::store::{self};

/// A day is sealed this long after it ends, so that a transaction that
/// began before midnight has committed its entries to that day.
const SEAL_GRACE_MINUTES: i64 = 5;

/// The key the service signs daily roots with. Derived from the token
/// secret, so every replica holds the same key and someone who can only
/// edit the database cannot sign a rewritten root.
#[derive(Clone)]
pub struct ChainKey {
    signing: SigningKey,
}

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainKey(public {})", hex::encode(self.public_key()))
    }
}

impl ChainKey {
    pub fn derive(secret: &[u8]) -> ChainKey {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"exampost/chain-root-key/v1");
        let seed: [u8; 32] = mac.finalize().into_bytes().into();
        ChainKey { signing: SigningKey::from_bytes(&seed) }
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }
}

/// Vietnam's calendar day of an instant: the chain's days are the service's users' days.
pub fn day_of(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive()
}

fn leaf_hashes(leaves: &[Leaf]) -> Result<Vec<Hash>, Error> {
    leaves
        .iter()
        .map(|l| hash_of(&l.link).map(|link| chain::leaf(l.item_id, l.seq, &link)).ok_or_else(|| Error::internal(format!("a broken leaf of item {}", l.item_id))))
        .collect()
}

/// Signs the root of every finished day not signed yet; returns how many.
/// Any replica may run it: a day's root is the same whoever computes it.
pub fn seal_due(conn: &mut DbConn, clock: &dyn Clock, key: &ChainKey) -> Result<usize, Error> {
    let now = clock.now();
    let open_day = day_of(now - Duration::minutes(SEAL_GRACE_MINUTES));
    let from = store::chain::latest_root_day(conn)?.and_then(|d| d.succ_opt());
    let mut sealed = 0;
    for day in store::chain::days_with_leaves(conn, from, open_day)? {
        let leaves = store::chain::leaves_of(conn, day)?;
        let root = chain::merkle_root(&leaf_hashes(&leaves)?);
        let message = chain::root_message(day, leaves.len() as i64, &root);
        let signature = key.signing.sign(message.as_bytes());
        let row = Root {
            day,
            root: root.to_vec(),
            leaves: leaves.len() as i64,
            signature: signature.to_bytes().to_vec(),
            public_key: key.public_key().to_vec(),
            sealed_at: store::stored_time(now),
        };
        sealed += conn.write_transaction(|conn| store::chain::insert_root(conn, &row))?;
    }
    Ok(sealed)
}

/// What verification found wrong first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The entry's place in the chain, when it has one.
    pub seq: Option<i64>,
    /// The event the entry is (or voids).
    pub event_id: Option<String>,
    pub problem: String,
}

/// One entry of an item's chain.
#[derive(Debug, Clone)]
pub struct ChainEntry {
    pub seq: i64,
    pub void: bool,
    pub event: Event,
    pub link: Vec<u8>,
}

/// An item's chain as stored, and whether it verifies.
#[derive(Debug, Clone)]
pub struct ItemChainCheck {
    pub entries: Vec<ChainEntry>,
    pub mismatch: Option<Mismatch>,
}

fn mismatch(seq: Option<i64>, event: Option<&Event>, problem: String) -> Option<Mismatch> {
    Some(Mismatch { seq, event_id: event.map(|e| e.public_id.clone()), problem })
}

/// Recomputes an item's chain from its stored events and voids, and
/// names the first entry that does not match.
pub fn check_item(conn: &mut DbConn, item_id: i64) -> Result<ItemChainCheck, Error> {
    let rows: Vec<(Event, Option<EventVoid>)> = store::events::for_item(conn, item_id)?;
    let state = store::chain::of_item(conn, item_id)?;
    let salt = state.as_ref().and_then(|s| s.salt.clone());
    let mut entries: Vec<(ChainEntry, Option<EventVoid>)> = Vec::new();
    let mut first_problem = None;
    for (event, void) in rows {
        match (event.chain_seq, &event.chain_link) {
            (Some(seq), Some(link)) => entries.push((ChainEntry { seq, void: false, event: event.clone(), link: link.clone() }, None)),
            _ => {
                first_problem = first_problem.or_else(|| mismatch(None, Some(&event), "the event is not in the chain: it was added outside the service".into()));
            }
        }
        if let Some(void) = void {
            match (void.chain_seq, &void.chain_link) {
                (Some(seq), Some(link)) => entries.push((ChainEntry { seq, void: true, event: event.clone(), link: link.clone() }, Some(void.clone()))),
                _ => {
                    first_problem = first_problem.or_else(|| mismatch(None, Some(&event), "the event's void is not in the chain: it was added outside the service".into()));
                }
            }
        }
    }
    entries.sort_by_key(|(e, _)| e.seq);
    let mut previous: Hash = GENESIS;
    let mut chain_problem = None;
    for (index, (entry, void)) in entries.iter().enumerate() {
        let expected_seq = index as i64 + 1;
        if entry.seq != expected_seq {
            let what = if entry.seq > expected_seq { format!("entry {expected_seq} is missing: an event or void was deleted") } else { format!("entry {} appears twice", entry.seq) };
            chain_problem = mismatch(Some(expected_seq), Some(&entry.event), what);
            break;
        }
        let entry_hash = match void {
            Some(void) => Ok(chain::void_entry(&store::chain::void_content(&entry.event, void))),
            None => chain::event_entry(&store::chain::event_content(&entry.event), salt.as_deref()),
        };
        let Ok(entry_hash) = entry_hash else {
            chain_problem = mismatch(Some(entry.seq), Some(&entry.event), "the event's details cannot be read".into());
            break;
        };
        let Some(stored) = hash_of(&entry.link) else {
            chain_problem = mismatch(Some(entry.seq), Some(&entry.event), "the stored link is not a hash".into());
            break;
        };
        if chain::link(&previous, &entry_hash) != stored {
            let what = if entry.void { "the void declaration was changed after it was recorded" } else { "the event was changed after it was recorded" };
            chain_problem = mismatch(Some(entry.seq), Some(&entry.event), what.into());
            break;
        }
        previous = stored;
    }
    let entries: Vec<ChainEntry> = entries.into_iter().map(|(e, _)| e).collect();
    if chain_problem.is_none() {
        let length = entries.len() as i64;
        match &state {
            Some(s) if s.length != length || hash_of(&s.head) != Some(previous) => {
                chain_problem = mismatch(Some(s.length.max(length)), None, format!("the chain's head says {} entries, the rows give {length}", s.length));
            }
            None if length > 0 => chain_problem = mismatch(None, None, "the item's chain head is missing".into()),
            _ => {}
        }
    }
    if chain_problem.is_none() {
        for leaf in store::chain::days_of_item(conn, item_id)? {
            let matches = entries.get((leaf.seq - 1).max(0) as usize).is_some_and(|e| e.seq == leaf.seq && e.link == leaf.link);
            if !matches {
                chain_problem = mismatch(Some(leaf.seq), None, format!("the leaf of {} does not match entry {}", leaf.day, leaf.seq));
                break;
            }
        }
    }
    // A chain break explains the rest; an unchained row is reported when the chain itself holds.
    Ok(ItemChainCheck { entries, mismatch: chain_problem.or(first_problem) })
}

/// A day's signed root, checked against the leaves stored for that day.
#[derive(Debug, Clone)]
pub struct RootCheck {
    pub root: Root,
    pub leaves: Vec<Leaf>,
    /// The root recomputed from the stored leaves equals the signed one.
    pub matches_leaves: bool,
    /// The signature holds under the root's public key.
    pub signature_valid: bool,
}

pub fn check_root(conn: &mut DbConn, root: Root) -> Result<RootCheck, Error> {
    let leaves = store::chain::leaves_of(conn, root.day)?;
    let recomputed = chain::merkle_root(&leaf_hashes(&leaves)?);
    let matches_leaves = recomputed.as_slice() == root.root.as_slice() && leaves.len() as i64 == root.leaves;
    Ok(RootCheck { matches_leaves, signature_valid: signature_holds(&root), root, leaves })
}

/// Whether a root's signature holds under its public key.
pub fn signature_holds(root: &Root) -> bool {
    let (Ok(key), Ok(signature), Some(hash)) = (<[u8; 32]>::try_from(root.public_key.as_slice()), <[u8; 64]>::try_from(root.signature.as_slice()), hash_of(&root.root)) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&key) else { return false };
    key.verify(chain::root_message(root.day, root.leaves, &hash).as_bytes(), &Signature::from_bytes(&signature)).is_ok()
}

/// An item's proof: its chain, whether it verifies, and the latest signed
/// root that covers it with the audit path from its leaf to that root.
#[derive(Debug, Clone)]
pub struct Proof {
    pub item: Item,
    pub check: ItemChainCheck,
    pub root: Option<RootProof>,
}

#[derive(Debug, Clone)]
pub struct RootProof {
    pub check: RootCheck,
    pub leaf: Leaf,
    pub leaf_index: usize,
    pub path: Vec<Hash>,
}

/// The proof of an item any staff reader of it may ask for.
pub fn proof(conn: &mut DbConn, actor: &Actor, tracking_number: &str, season: Option<&str>) -> Result<Proof, Error> {
    let item = crate::app::registration::find_item(conn, actor, tracking_number, season)?;
    let check = check_item(conn, item.id)?;
    let mut root = None;
    for leaf in store::chain::days_of_item(conn, item.id)?.into_iter().rev() {
        if let Some(signed) = store::chain::root_of(conn, leaf.day)? {
            let checked = check_root(conn, signed)?;
            let leaf_index = checked.leaves.iter().position(|l| l.item_id == item.id).unwrap_or(usize::MAX);
            let path = if leaf_index == usize::MAX { Vec::new() } else { chain::inclusion_path(&leaf_hashes(&checked.leaves)?, leaf_index) };
            root = Some(RootProof { check: checked, leaf, leaf_index, path });
            break;
        }
    }
    Ok(Proof { item, check, root })
}

/// Signed roots from `from` to `to` (at most 31 days), each checked; admins
/// and overseers (the committee holding the printed roots) read them.
pub fn roots(conn: &mut DbConn, actor: &Actor, from: NaiveDate, to: NaiveDate) -> Result<Vec<RootCheck>, Error> {
    actor.require(&[Role::Admin, Role::Overseer])?;
    if to < from {
        return Err(Error::field("to", "must not be before from"));
    }
    if (to - from).num_days() > 31 {
        return Err(Error::field("to", "at most 31 days after from"));
    }
    store::chain::roots_between(conn, from, to)?.into_iter().map(|root| check_root(conn, root)).collect()
}

/// What verifying the whole store found.
#[derive(Debug, Default)]
pub struct Verification {
    pub items: u64,
    pub entries: u64,
    pub roots: u64,
    /// Every problem found (the first per item, every bad root), up to a hundred.
    pub problems: Vec<String>,
}

/// Verifies every item's chain and every signed root (the `verify` command).
pub fn verify_all(conn: &mut DbConn, mut progress: impl FnMut(u64)) -> Result<Verification, Error> {
    const LIMIT: usize = 100;
    let mut found = Verification::default();
    let mut after = 0;
    loop {
        let ids = store::chain::chained_items(conn, after, 1000)?;
        let Some(&last) = ids.last() else { break };
        for id in ids {
            let check = check_item(conn, id)?;
            found.items += 1;
            found.entries += check.entries.len() as u64;
            if let (Some(m), true) = (check.mismatch, found.problems.len() < LIMIT) {
                let tracking = store::items::find(conn, id).map(|i| i.tracking_number).unwrap_or_else(|_| format!("#{id}"));
                found.problems.push(describe(&tracking, &m));
            }
        }
        progress(found.items);
        after = last;
    }
    for event in store::events::unchained(conn, LIMIT as i64)? {
        if found.problems.len() < LIMIT {
            found.problems.push(format!("event {} of item #{}: not in any chain (added outside the service)", event.public_id, event.item_id));
        }
    }
    let first = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    let last = NaiveDate::from_ymd_opt(2999, 12, 31).unwrap_or_default();
    for root in store::chain::roots_between(conn, first, last)? {
        let checked = check_root(conn, root)?;
        found.roots += 1;
        if !checked.matches_leaves && found.problems.len() < LIMIT {
            found.problems.push(format!("the root of {} does not match that day's leaves", checked.root.day));
        }
        if !checked.signature_valid && found.problems.len() < LIMIT {
            found.problems.push(format!("the root of {} is not signed by its key", checked.root.day));
        }
    }
    Ok(found)
}

/// A mismatch in words, naming the item, the entry and the event.
pub fn describe(tracking_number: &str, m: &Mismatch) -> String {
    let at = match (&m.seq, &m.event_id) {
        (Some(seq), Some(id)) => format!(", entry {seq} (event {id})"),
        (Some(seq), None) => format!(", entry {seq}"),
        (None, Some(id)) => format!(", event {id}"),
        (None, None) => String::new(),
    };
    format!("item {tracking_number}{at}: {}", m.problem)
}
