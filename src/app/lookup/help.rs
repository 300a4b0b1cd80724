//! The organizations' public help lines, kept in the process for a short
//! while: every lookup shows its item's carrier's and sender's, and they
//! change a few times a season, so reading them at each lookup was a
//! quarter of its statements. A change made through this process shows at
//! once ([`forget`]); one made through another replica within [`KEPT`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use diesel::QueryResult;

use crate::db::DbConn;
use crate::store;
use crate::store::contacts::ContactPoint;

/// How long a replica may show help lines another replica changed.
pub const KEPT: Duration = Duration::from_secs(30);

/// Each organization's public contact points, with when they were read.
/// Keyed by organization id (random UUIDs), so servers sharing a process
/// (the tests) never see each other's.
static KNOWN: LazyLock<Mutex<HashMap<String, (Instant, Vec<ContactPoint>)>>> = LazyLock::new(Default::default);

/// Bumped by every change, so that a read that raced with a change is not kept.
static CHANGES: AtomicU64 = AtomicU64::new(0);

/// The public contact points of these organizations, oldest first.
pub fn public_contacts(conn: &mut DbConn, organization_ids: &[&str]) -> QueryResult<Vec<ContactPoint>> {
    let now = Instant::now();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    {
        let known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
        for id in organization_ids {
            match known.get(*id) {
                Some((read_at, contacts)) if now.duration_since(*read_at) < KEPT => found.extend(contacts.iter().cloned()),
                _ => missing.push(*id),
            }
        }
    }
    if !missing.is_empty() {
        let changes_before = CHANGES.load(Ordering::Acquire);
        let read = store::contacts::public_for_orgs(conn, &missing)?;
        let mut known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
        if CHANGES.load(Ordering::Acquire) == changes_before {
            known.retain(|_, (read_at, _)| now.duration_since(*read_at) < KEPT);
            for id in &missing {
                let of_org = read.iter().filter(|c| c.organization_id == *id).cloned().collect();
                known.insert((*id).to_string(), (now, of_org));
            }
        }
        found.extend(read);
    }
    found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(found)
}

/// An organization's contact points changed (after the change committed).
pub fn forget(organization_id: &str) {
    CHANGES.fetch_add(1, Ordering::AcqRel);
    KNOWN.lock().unwrap_or_else(PoisonError::into_inner).remove(organization_id);
}
