//! A short list of values kept in one text column, comma-joined.
//!
//! Contact points (case kinds, levels) and webhooks (topics) hold a handful of
//! values each and are always read whole, so a join table would only add a
//! query. The joining stays here: callers see a typed list, and a stored value
//! that does not parse is a loud error, never a silently dropped entry.

use std::fmt;
use std::str::FromStr;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

#[derive(Debug, Clone, PartialEq, Eq, Default, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct TextList<T> {
    values: Vec<T>,
    /// The stored form, kept beside the values so that `ToSql` can lend it.
    joined: String,
}

impl<T: fmt::Display> TextList<T> {
    pub fn new(values: Vec<T>) -> Self {
        let joined = values.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        TextList { values, joined }
    }
}

impl<T> TextList<T> {
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn values(&self) -> &[T] {
        &self.values
    }

    pub fn into_vec(self) -> Vec<T> {
        self.values
    }
}

impl<T> fmt::Display for TextList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.joined)
    }
}

impl<T: FromStr> TextList<T> {
    /// Parses the stored form; `Err` names the first entry that is not a `T`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let values = text
            .split(',')
            .filter(|entry| !entry.is_empty())
            .map(|entry| entry.parse().map_err(|_| format!("{entry:?} is stored in a list but is not a known value")))
            .collect::<Result<Vec<T>, String>>()?;
        Ok(TextList { values, joined: text.to_string() })
    }
}

impl<T, DB> ToSql<Text, DB> for TextList<T>
where
    T: fmt::Debug,
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        <str as ToSql<Text, DB>>::to_sql(&self.joined, out)
    }
}

impl<T, DB> FromSql<Text, DB> for TextList<T>
where
    T: FromStr,
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
        Self::parse(&text).map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cases::CaseKind;

    #[test]
    fn round_trips_through_its_text() {
        let list = TextList::new(vec![CaseKind::Overdue, CaseKind::Lost]);
        assert_eq!(list.to_string(), "overdue,lost");
        assert_eq!(TextList::<CaseKind>::parse("overdue,lost").unwrap(), list);
        assert!(TextList::<i32>::parse("").unwrap().is_empty());
    }

    proptest::proptest! {
        #[test]
        fn parsing_any_stored_text_never_panics(text in "\\PC{0,200}") {
            let _ = TextList::<CaseKind>::parse(&text);
            let _ = TextList::<i32>::parse(&text);
            let _ = TextList::<chrono::NaiveDate>::parse(&text);
        }
    }

    #[test]
    fn a_bad_stored_entry_is_an_error_not_a_gap() {
        let err = TextList::<CaseKind>::parse("overdue,flooded").unwrap_err();
        assert!(err.contains("flooded"), "{err}");
        assert!(TextList::<i32>::parse("1,x").is_err());
    }
}
