//! The verifiable event chain over HTTP: an item's proof, and the signed
//! daily roots a committee compares with its printed reports.

use actix_web::{get, web};
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::extract::SeasonParam;
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::chain::{self, Mismatch, RootCheck};
use crate::domain::fields;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(find_item_proof).service(list_chain_roots);
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One entry of an item's chain: a scan, or the void of one.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainEntryView {
    /// Its place in the chain (1 is the first entry recorded).
    pub seq: i64,
    /// `event`, or `void` for the declaration that voided the event.
    pub entry: String,
    pub event_id: String,
    pub event_type: String,
    /// SHA-256 over the previous link and this entry, hex.
    pub link: String,
}

/// What verification found wrong first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MismatchView {
    pub seq: Option<i64>,
    pub event_id: Option<String>,
    pub problem: String,
}

impl From<Mismatch> for MismatchView {
    fn from(m: Mismatch) -> Self {
        MismatchView { seq: m.seq, event_id: m.event_id, problem: m.problem }
    }
}

/// A day's signed root.
#[derive(Debug, Serialize, ToSchema)]
pub struct RootView {
    /// The day, in Vietnam.
    pub day: NaiveDate,
    /// The Merkle root of the day's leaves, hex.
    pub root: String,
    /// How many items' chains grew that day.
    pub leaves: i64,
    /// Ed25519 over `exampost-chain-root/v1\n{day}\n{leaves}\n{root}`, base64.
    pub signature: String,
    /// The key that signed it, base64.
    pub public_key: String,
    pub sealed_at: DateTime<Utc>,
    /// The root recomputed from the stored leaves is this one.
    pub matches_leaves: bool,
    /// The signature holds under the key.
    pub signature_valid: bool,
}

impl From<&RootCheck> for RootView {
    fn from(c: &RootCheck) -> Self {
        RootView {
            day: c.root.day,
            root: hex::encode(&c.root.root),
            leaves: c.root.leaves,
            signature: b64(&c.root.signature),
            public_key: b64(&c.root.public_key),
            sealed_at: c.root.sealed_at.and_utc(),
            matches_leaves: c.matches_leaves,
            signature_valid: c.signature_valid,
        }
    }
}

/// How the item's chain is covered by a signed root.
#[derive(Debug, Serialize, ToSchema)]
pub struct RootProofView {
    pub root: RootView,
    /// The chain's length and last link that day: the leaf is
    /// SHA-256(0x00 ‖ item id (8 bytes, big-endian) ‖ seq (8 bytes) ‖ link).
    pub item_id: i64,
    pub seq: i64,
    pub link: String,
    /// The leaf's index among the day's leaves (ordered by item id).
    pub leaf_index: usize,
    /// The audit path from the leaf to the root (RFC 9162, §2.1.3), hex.
    pub path: Vec<String>,
}

/// An item's history as a hash chain, whether it verifies, and the signed
/// root that covers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofView {
    pub tracking_number: String,
    pub season: String,
    pub entries: Vec<ChainEntryView>,
    /// Every entry, link and leaf recomputed from the stored rows matches.
    pub verified: bool,
    /// The first entry that does not match, when one does not.
    pub mismatch: Option<MismatchView>,
    /// The latest signed root covering the chain; entries after `root.seq`
    /// are covered by the next day's root.
    pub root: Option<RootProofView>,
}

/// The proof of an item's history: its chain of scans and voids, each
/// link recomputed from the stored rows, and the signed daily root that
/// covers it with the audit path to it.
///
/// Any staff reader of the item may ask (an overseer for its province's
/// items). `verified: false` names the first entry that does not match.
#[utoipa::path(
    tag = "chain",
    params(("tracking_number" = String, Path, description = "S10 tracking number"), SeasonParam),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProofView),
        (status = 404, description = "Unknown, or outside your scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an S10 number", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/items/{tracking_number}/proof")]
pub async fn find_item_proof(
    state: web::Data<AppState>,
    caller: Caller,
    tracking_number: web::Path<String>,
    query: web::Query<SeasonParam>,
) -> Result<web::Json<ProofView>, ApiError> {
    let (number, season) = (tracking_number.into_inner(), query.into_inner().season);
    let proof = state.db(move |conn| Ok(chain::proof(conn, &caller, &number, season.as_deref())?)).await?;
    let entries = proof
        .check
        .entries
        .iter()
        .map(|e| ChainEntryView {
            seq: e.seq,
            entry: if e.void { "void" } else { "event" }.into(),
            event_id: e.event.public_id.clone(),
            event_type: e.event.event_type.to_string(),
            link: hex::encode(&e.link),
        })
        .collect();
    let root = proof.root.as_ref().map(|r| RootProofView {
        root: RootView::from(&r.check),
        item_id: r.leaf.item_id,
        seq: r.leaf.seq,
        link: hex::encode(&r.leaf.link),
        leaf_index: r.leaf_index,
        path: r.path.iter().map(hex::encode).collect(),
    });
    let root_holds = proof.root.as_ref().is_none_or(|r| r.check.matches_leaves && r.check.signature_valid);
    Ok(web::Json(ProofView {
        tracking_number: proof.item.tracking_number,
        season: proof.item.season,
        entries,
        verified: proof.check.mismatch.is_none() && root_holds,
        mismatch: proof.check.mismatch.map(MismatchView::from),
        root,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RootParams {
    /// The first day (`YYYY-MM-DD` or `dd/mm/yyyy`); a week before `to` by default.
    pub from: Option<String>,
    /// The last day; yesterday (in Vietnam) by default.
    pub to: Option<String>,
}

/// The signed daily roots of the event chain, each checked again.
///
/// For admins and overseers: a committee compares them with the roots
/// printed in the steering reports it holds; a root that differs, or that
/// no longer matches its day's leaves, means the history was rewritten.
#[utoipa::path(
    tag = "chain",
    params(RootParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<RootView>),
        (status = 403, description = "Neither an admin nor an overseer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid period (at most 31 days)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/chain/roots")]
pub async fn list_chain_roots(state: web::Data<AppState>, caller: Caller, query: web::Query<RootParams>) -> Result<web::Json<Vec<RootView>>, ApiError> {
    let params = query.into_inner();
    let parse = |field: &str, text: &Option<String>| text.as_deref().map(fields::date).transpose().map_err(|r| ApiError::field(field, r));
    let to = parse("to", &params.to)?.unwrap_or_else(|| chain::day_of(state.clock.now()).pred_opt().unwrap_or_default());
    let from = parse("from", &params.from)?.unwrap_or_else(|| to - chrono::Duration::days(6));
    let checked = state.db(move |conn| Ok(chain::roots(conn, &caller, from, to)?)).await?;
    Ok(web::Json(checked.iter().map(RootView::from).collect()))
}
