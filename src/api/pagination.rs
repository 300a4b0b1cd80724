//! Keyset pagination: `limit` and an opaque `cursor`, `{items, next_cursor}`.

use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problem::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// Paging parameters every list takes.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PageParams {
    /// Page size, 1-500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit.as_deref().map(|raw| raw.trim().parse::<i64>()) {
            None => Ok(DEFAULT_LIMIT),
            Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::field("limit", format!("must be a whole number from 1 to {MAX_LIMIT}"))),
        }
    }

    /// The position encoded in the cursor (the last key of the previous page).
    pub fn position(&self) -> Result<Option<String>, ApiError> {
        let Some(cursor) = &self.cursor else { return Ok(None) };
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(Some)
            .ok_or_else(|| ApiError::field("cursor", "is not a cursor this API returned"))
    }
}

pub fn encode_cursor(position: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(position)
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Cuts `limit + 1` fetched rows to a page: the extra row only says that
/// another page exists. Returns the rows and the cursor after the last one.
pub fn take_page<R>(mut rows: Vec<R>, limit: i64, key: impl Fn(&R) -> String) -> (Vec<R>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| encode_cursor(&key(r))) } else { None };
    (rows, next_cursor)
}
