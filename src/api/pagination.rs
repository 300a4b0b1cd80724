//! Keyset pagination: `limit` and an opaque `cursor`, `{items, next_cursor}`.
//!
//! A cursor is `base64url("p1." + list + "." + key)`: the key of the last row
//! of the previous page, tagged with the format version and the list it
//! belongs to. The tag and the key's expected shape make a cursor
//! self-checking: a string this API did not hand out for that list (`-1`,
//! another list's cursor, a hand-made id) is refused with 422 on `cursor`
//! instead of quietly paging from somewhere else. Paging stays keyset-based,
//! so cursors remain stable under concurrent inserts.

use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problem::ApiError;
use crate::domain::fields;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// Format version of cursors; bump it when the key of a list changes.
const CURSOR_VERSION: &str = "p1";

/// The paged lists, each with the shape of the key its cursors carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Items, newest first, keyed by row id.
    Items,
    /// Cases, newest first, keyed by row id.
    Cases,
    /// Organizations, keyed by code.
    Organizations,
    /// An item's timeline, keyed by event id (a UUID).
    Events,
    /// API clients, keyed by client id (a UUID).
    Clients,
    /// The read audit, newest first, keyed by row id.
    Audit,
}

impl Listing {
    fn tag(self) -> &'static str {
        match self {
            Listing::Items => "items",
            Listing::Cases => "cases",
            Listing::Organizations => "organizations",
            Listing::Events => "events",
            Listing::Clients => "clients",
            Listing::Audit => "audit",
        }
    }

    fn accepts(self, key: &str) -> bool {
        match self {
            Listing::Items | Listing::Cases | Listing::Audit => key.parse::<i64>().is_ok_and(|id| id > 0 && id.to_string() == key),
            Listing::Organizations => fields::org_code(key).is_ok_and(|code| code == key),
            Listing::Events | Listing::Clients => uuid::Uuid::parse_str(key).is_ok_and(|id| id.hyphenated().to_string() == key),
        }
    }
}

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

    /// The position encoded in the cursor (the last key of the previous
    /// page of `listing`); 422 on `cursor` for anything this API did not
    /// return for that list.
    pub fn position(&self, listing: Listing) -> Result<Option<String>, ApiError> {
        let Some(cursor) = &self.cursor else { return Ok(None) };
        decode_cursor(listing, cursor).map(Some).ok_or_else(|| ApiError::field("cursor", "is not a cursor this API returned for this list"))
    }

    /// [`Self::position`] for lists keyed by row id.
    pub fn id_position(&self, listing: Listing) -> Result<Option<i64>, ApiError> {
        self.position(listing)?
            .map(|key| key.parse::<i64>().map_err(|_| ApiError::field("cursor", "is not a cursor this API returned for this list")))
            .transpose()
    }
}

fn decode_cursor(listing: Listing, cursor: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(3, '.');
    let (version, tag, key) = (parts.next()?, parts.next()?, parts.next()?);
    (version == CURSOR_VERSION && tag == listing.tag() && listing.accepts(key)).then(|| key.to_string())
}

pub fn encode_cursor(listing: Listing, position: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_VERSION}.{}.{position}", listing.tag()))
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
pub fn take_page<R>(mut rows: Vec<R>, limit: i64, listing: Listing, key: impl Fn(&R) -> String) -> (Vec<R>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| encode_cursor(listing, &key(r))) } else { None };
    (rows, next_cursor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn page(limit: Option<&str>, cursor: Option<&str>) -> PageParams {
        PageParams { limit: limit.map(str::to_string), cursor: cursor.map(str::to_string) }
    }

    fn refused_on_cursor(result: Result<Option<String>, ApiError>) -> bool {
        matches!(result, Err(ApiError::Validation(errors)) if errors.len() == 1 && errors[0].field == "cursor")
    }

    const ALL: [Listing; 6] = [Listing::Items, Listing::Cases, Listing::Organizations, Listing::Events, Listing::Clients, Listing::Audit];

    #[test]
    fn strings_this_api_did_not_hand_out_are_refused() {
        let plain = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        for cursor in ["-1".to_string(), plain("-1"), plain("42"), plain("p1.items.-1"), plain("p1.items.0"), plain("p1.items.007"),
            plain("p2.items.42"), plain("p1.cases.42"), plain("p1.events.42"), plain("p1.organizations.a b"), "%%%".into(), String::new()]
        {
            assert!(refused_on_cursor(page(None, Some(&cursor)).position(Listing::Items)), "{cursor:?}");
        }
        let of_cases = encode_cursor(Listing::Cases, "42");
        assert!(refused_on_cursor(page(None, Some(&of_cases)).position(Listing::Items)), "another list's cursor");
        assert_eq!(page(None, Some(&of_cases)).id_position(Listing::Cases).unwrap(), Some(42));
    }

    #[test]
    fn pages_hand_out_cursors_of_their_own_list() {
        let (rows, next) = take_page(vec![5, 4, 3], 2, Listing::Items, |n| n.to_string());
        assert_eq!(rows, vec![5, 4]);
        assert_eq!(page(None, next.as_deref()).id_position(Listing::Items).unwrap(), Some(4));
        let (_, last) = take_page(vec![5], 2, Listing::Items, |n| n.to_string());
        assert_eq!(last, None);
    }

    fn valid_key(listing: Listing) -> BoxedStrategy<String> {
        match listing {
            Listing::Items | Listing::Cases | Listing::Audit => (1i64..=i64::MAX).prop_map(|n| n.to_string()).boxed(),
            Listing::Organizations => "[A-Z0-9][A-Z0-9_-]{1,31}".boxed(),
            Listing::Events | Listing::Clients => any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string()).boxed(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parsing_never_panics(cursor in prop_oneof![any::<String>(), "[A-Za-z0-9_-]{0,200}", "\\PC{1000,5000}"], limit in any::<String>()) {
            let params = page(Some(&limit), Some(&cursor));
            for listing in ALL {
                let _ = params.position(listing);
                let _ = params.id_position(listing);
            }
            let _ = params.limit();
        }

        #[test]
        fn a_cursor_leads_back_to_its_key_and_only_in_its_list(index in 0..ALL.len(), key in (0..ALL.len()).prop_flat_map(|i| valid_key(ALL[i]).prop_map(move |k| (i, k)))) {
            let (key_list, key) = key;
            let listing = ALL[key_list];
            let cursor = encode_cursor(listing, &key);
            prop_assert_eq!(page(None, Some(&cursor)).position(listing).unwrap(), Some(key));
            if index != key_list {
                prop_assert!(refused_on_cursor(page(None, Some(&cursor)).position(ALL[index])));
            }
        }

        #[test]
        fn limits_in_range_are_taken_and_others_refused(n in any::<i64>()) {
            let result = page(Some(&n.to_string()), None).limit();
            if (1..=MAX_LIMIT).contains(&n) {
                prop_assert_eq!(result.unwrap(), n);
            } else {
                prop_assert!(matches!(result, Err(ApiError::Validation(errors)) if errors[0].field == "limit"));
            }
        }
    }
}
