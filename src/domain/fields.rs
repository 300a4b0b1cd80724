//! Validation and normalisation of single fields. Each function returns the
//! normalised value or the reason the input is refused.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;

pub type Reason = String;

/// Trims and collapses inner white space; refuses empty or over-long text.
pub fn text(input: &str, max_chars: usize) -> Result<String, Reason> {
    let collapsed = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return Err("must not be empty".into());
    }
    if collapsed.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    Ok(collapsed)
}

/// At most `max_chars` characters of `input`, marked with `…` when cut: for
/// echoing what a client sent inside an error without echoing megabytes.
pub fn clip(input: &str, max_chars: usize) -> String {
    match input.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &input[..end]),
        None => input.to_string(),
    }
}

/// Optional text: `None` and blank both mean absent.
pub fn optional_text(input: Option<&str>, max_chars: usize) -> Result<Option<String>, Reason> {
    match input {
        Some(s) if !s.trim().is_empty() => text(s, max_chars).map(Some),
        _ => Ok(None),
    }
}

/// Exam season: a year and a programme code, e.g. `2026-THPT`, `2026-TS10`.
/// Works on characters, never byte offsets: a season comes from query
/// strings and bodies, and slicing `202é-THPT` at byte 4 would panic.
pub fn season(input: &str) -> Result<String, Reason> {
    let s = input.trim().to_uppercase();
    let valid = match s.split_once('-') {
        Some((year, programme)) => {
            year.chars().count() == 4
                && year.chars().all(|c| c.is_ascii_digit())
                && (2..=15).contains(&programme.chars().count())
                && programme.chars().all(|c| c.is_ascii_alphanumeric())
        }
        None => false,
    };
    if valid {
        Ok(s)
    } else {
        Err("must be a year, a dash and a programme code, e.g. 2026-THPT or 2026-TS10".into())
    }
}

/// Organization code: 2-32 characters of letters, digits, `-` and `_`, upper-cased.
pub fn org_code(input: &str) -> Result<String, Reason> {
    let s = input.trim().to_uppercase();
    let valid = (2..=32).contains(&s.chars().count()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(s)
    } else {
        Err("must be 2-32 letters, digits, '-' or '_'".into())
    }
}

/// Candidate number (số báo danh): 4-20 letters or digits.
pub fn candidate_number(input: &str) -> Result<String, Reason> {
    let s: String = input.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect();
    if (4..=20).contains(&s.chars().count()) && s.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(s)
    } else {
        Err("must be 4-20 letters or digits".into())
    }
}

/// Date of birth: in the past and after 1900.
pub fn date_of_birth(date: NaiveDate, today: NaiveDate) -> Result<NaiveDate, Reason> {
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");
    if date >= today {
        Err("must be in the past".into())
    } else if date < earliest {
        Err("must be after 1900-01-01".into())
    } else {
        Ok(date)
    }
}

/// Vietnamese phone number, normalised to the domestic form `0xxxxxxxxx`.
/// Accepts `+84`/`84` prefixes and spaces, dots or dashes between digits.
pub fn phone(input: &str) -> Result<String, Reason> {
    let trimmed = input.trim();
    let digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
    let stray = trimmed.chars().any(|c| !(c.is_ascii_digit() || " .-+()".contains(c)));
    let national = if let Some(rest) = digits.strip_prefix("84").filter(|_| trimmed.starts_with('+') || digits.len() >= 11) {
        format!("0{rest}")
    } else if digits.len() == 9 && !digits.starts_with('0') && !trimmed.starts_with('+') {
        // A spreadsheet that took the number for a number dropped its leading zero.
        format!("0{digits}")
    } else {
        digits
    };
    // Hotlines (1800: free to call, 1900: paid) have 8 or 10 digits and no leading zero.
    let hotline = (national.starts_with("1800") || national.starts_with("1900")) && matches!(national.len(), 8 | 10);
    if hotline && !stray {
        return Ok(national);
    }
    // `national` holds ASCII digits only, so its length in bytes is its length in digits.
    if stray || !national.starts_with('0') || !(10..=11).contains(&national.len()) {
        return Err("must be a Vietnamese phone number, e.g. 0912345678 or +84 912 345 678".into());
    }
    Ok(national)
}

/// E-mail address: one `@`, a dotted domain, no spaces; lower-cased domain.
pub fn email(input: &str) -> Result<String, Reason> {
    let s = input.trim();
    let invalid = || Err("must be an e-mail address such as name@example.vn".to_string());
    let Some((local, domain)) = s.split_once('@') else { return invalid() };
    let ok = !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace);
    let normal = format!("{local}@{}", domain.to_lowercase());
    // RFC 5321 limits a path to 254 octets, so bytes are the right measure;
    // measured after lower-casing, which can lengthen some letters (İ → i̇).
    if ok && normal.len() <= 254 {
        Ok(normal)
    } else {
        invalid()
    }
}

/// An instant sent on the wire: RFC 3339 with an explicit offset. Carriers
/// often send local times without one; guessing would shift them by hours.
pub fn timestamp(input: &str) -> Result<DateTime<FixedOffset>, Reason> {
    DateTime::parse_from_rfc3339(input.trim())
        .map_err(|_| "must be an RFC 3339 time with a UTC offset, e.g. 2026-07-20T08:15:00+07:00".to_string())
}

/// A day written `YYYY-MM-DD` (dates of birth, deadlines given as a day).
pub fn date(input: &str) -> Result<NaiveDate, Reason> {
    let input = input.trim();
    NaiveDate::parse_from_str(input, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(input, "%d/%m/%Y"))
        .map_err(|_| "must be a date as YYYY-MM-DD or dd/mm/yyyy".to_string())
}

/// A must-arrive-by deadline: an RFC 3339 time with offset, or a day
/// (`YYYY-MM-DD`) meaning the end of that day in Vietnam (23:59:59 +07:00).
pub fn deadline(input: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, Reason> {
    let input = input.trim();
    let at = if let Ok(day) = NaiveDate::parse_from_str(input, "%Y-%m-%d") {
        let end_of_day = day.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default());
        // Vietnam has no DST today, but its history has offset changes (and
        // far-off years fall outside what chrono can place), so a day may
        // have no single 23:59:59; such a day is long past anyway.
        Ho_Chi_Minh
            .from_local_datetime(&end_of_day)
            .earliest()
            .ok_or_else(|| "must be in the future".to_string())?
            .with_timezone(&Utc)
    } else {
        DateTime::parse_from_rfc3339(input)
            .map_err(|_| "must be a day (YYYY-MM-DD) or an RFC 3339 time with a UTC offset".to_string())?
            .with_timezone(&Utc)
    };
    if at <= now {
        return Err("must be in the future".into());
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn clipping_counts_characters() {
        assert_eq!(clip("Nguyễn", 3), "Ngu…");
        assert_eq!(clip("ễễễ", 2), "ễễ…");
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("", 0), "");
    }

    #[test]
    fn text_collapses_and_limits() {
        assert_eq!(text("  Nguyễn   Văn  An ", 50).unwrap(), "Nguyễn Văn An");
        assert!(text("   ", 10).is_err());
        assert!(text("abcdef", 5).is_err());
        assert_eq!(optional_text(Some("  "), 5).unwrap(), None);
    }

    #[test]
    fn seasons() {
        assert_eq!(season("2026-thpt").unwrap(), "2026-THPT");
        assert_eq!(season("2026-TS10").unwrap(), "2026-TS10");
        assert!(season("THPT-2026").is_err());
        assert!(season("2026-").is_err());
        assert!(season("2026_THPT").is_err());
    }

    #[test]
    fn phones() {
        assert_eq!(phone("0912 345 678").unwrap(), "0912345678");
        assert_eq!(phone("+84 912.345.678").unwrap(), "0912345678");
        assert_eq!(phone("84912345678").unwrap(), "0912345678");
        assert_eq!(phone("024 3869 4242").unwrap(), "02438694242");
        assert!(phone("12345").is_err());
        assert_eq!(phone("912345678").unwrap(), "0912345678", "the zero a spreadsheet dropped");
        assert!(phone("0912abc678").is_err());
        assert_eq!(phone("1900 54 54 81").unwrap(), "1900545481", "a hotline");
        assert_eq!(phone("1800 1091").unwrap(), "18001091");
        assert!(phone("1900 545").is_err(), "seven digits is no hotline");
    }

    #[test]
    fn emails() {
        assert_eq!(email("An.Nguyen@Example.VN").unwrap(), "An.Nguyen@example.vn");
        assert!(email("no-at-sign").is_err());
        assert!(email("a@b").is_err());
        assert!(email("a b@c.vn").is_err());
    }

    #[test]
    fn dates_of_birth() {
        let today = day("2026-07-01");
        assert!(date_of_birth(day("2008-03-14"), today).is_ok());
        assert!(date_of_birth(day("2026-07-01"), today).is_err());
        assert!(date_of_birth(day("1899-12-31"), today).is_err());
    }

    #[test]
    fn timestamps_need_an_offset() {
        assert!(timestamp("2026-07-20T08:15:00+07:00").is_ok());
        assert!(timestamp("2026-07-20T08:15:00Z").is_ok());
        assert!(timestamp("2026-07-20T08:15:00").is_err());
        assert!(timestamp("20/07/2026 08:15:00").is_err());
    }

    #[test]
    fn deadlines_as_day_end_in_vietnam_or_instant() {
        let now = "2026-07-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(deadline("2026-08-15", now).unwrap().to_rfc3339(), "2026-08-15T16:59:59+00:00");
        assert_eq!(deadline("2026-08-15T17:00:00+07:00", now).unwrap().to_rfc3339(), "2026-08-15T10:00:00+00:00");
        assert!(deadline("2026-06-30", now).is_err());
        assert!(deadline("2026-08-15T17:00:00", now).is_err());
    }

    #[test]
    fn org_codes_and_candidate_numbers() {
        assert_eq!(org_code(" sgd-phutho ").unwrap(), "SGD-PHUTHO");
        assert!(org_code("x").is_err());
        assert!(org_code("has space").is_err());
        assert_eq!(candidate_number(" 1500 1234 ").unwrap(), "15001234");
        assert!(candidate_number("12").is_err());
    }

    #[test]
    fn seasons_with_non_ascii_characters_are_refused_not_a_panic() {
        for hostile in ["202é-THPT", "é", "2026é-THPT", "2026-THPé", "２０２６-THPT", "2026\u{0}-THPT", "ß-2026"] {
            assert!(season(hostile).is_err(), "{hostile:?}");
        }
        assert!(season("2026-ĐH").is_err(), "the programme code is ASCII");
    }

    #[test]
    fn dates() {
        assert_eq!(date(" 2008-03-14 ").unwrap(), NaiveDate::from_ymd_opt(2008, 3, 14).unwrap());
        assert_eq!(date("14/03/2008").unwrap(), NaiveDate::from_ymd_opt(2008, 3, 14).unwrap(), "the way Vietnamese write dates");
        assert!(date("03/14/2008").is_err(), "not month first");
        assert!(date("2008-02-30").is_err());
    }

    #[test]
    fn a_day_without_a_single_end_in_vietnam_is_refused_not_a_panic() {
        // On 1942-12-31 Vietnam moved from +07 to +08 at 23:00: 23:59:59 never happened.
        let now = "2026-07-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert!(deadline("1942-12-31", now).is_err());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Any text a client could send: arbitrary Unicode, control
        /// characters, and the occasional very long string.
        pub fn hostile_text() -> impl Strategy<Value = String> {
            prop_oneof![
                4 => any::<String>(),
                2 => "[0-9]{0,6}[-_ ]?[\\PC\\p{Cc}]{0,24}",
                1 => "\\PC{2000,6000}",
                1 => proptest::collection::vec(prop_oneof![Just('\u{0}'), Just('\u{7f}'), Just('é'), Just('-'), Just('9'), Just('\u{feff}')], 0..40)
                    .prop_map(|cs| cs.into_iter().collect()),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn no_field_parser_panics(input in hostile_text()) {
                let now = "2026-07-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
                let _ = season(&input);
                let _ = text(&input, 200);
                let _ = optional_text(Some(&input), 200);
                let _ = org_code(&input);
                let _ = candidate_number(&input);
                let _ = phone(&input);
                let _ = email(&input);
                let _ = timestamp(&input);
                let _ = deadline(&input, now);
                let _ = date(&input);
            }

            #[test]
            fn a_valid_season_survives_normalising_again(year in 1000u32..10000, programme in "[a-zA-Z0-9]{2,15}", pad in "[ \t]{0,3}") {
                let normal = season(&format!("{pad}{year}-{programme}{pad}")).unwrap();
                prop_assert_eq!(season(&normal).unwrap(), normal.clone());
                prop_assert_eq!(normal, format!("{year}-{}", programme.to_uppercase()));
            }

            #[test]
            fn accepted_values_are_fixed_points(input in hostile_text()) {
                for parse in [season as fn(&str) -> Result<String, Reason>, org_code, candidate_number, phone, email] {
                    if let Ok(normal) = parse(&input) {
                        prop_assert_eq!(parse(&normal).unwrap(), normal);
                    }
                }
                if let Ok(normal) = text(&input, 10_000) {
                    prop_assert_eq!(text(&normal, 10_000).unwrap(), normal);
                }
            }

            #[test]
            fn phones_in_every_written_form_normalise_alike(a in "[35789][0-9]{2}", b in "[0-9]{3}", c in "[0-9]{3}") {
                let domestic = format!("0{a}{b}{c}");
                prop_assert_eq!(phone(&domestic).unwrap(), domestic.clone());
                prop_assert_eq!(phone(&format!("+84 {a} {b} {c}")).unwrap(), domestic.clone());
                prop_assert_eq!(phone(&format!("84{a}.{b}.{c}")).unwrap(), domestic);
            }

            #[test]
            fn an_instant_survives_formatting_and_parsing(secs in 0i64..4_102_444_800, offset_min in -720i32..=840) {
                let offset = FixedOffset::east_opt(offset_min * 60).unwrap();
                let at = DateTime::from_timestamp(secs, 0).unwrap().with_timezone(&offset);
                prop_assert_eq!(timestamp(&at.to_rfc3339()).unwrap(), at);
            }

            #[test]
            fn a_date_survives_formatting_and_parsing(days in 0i64..100_000) {
                let day = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(days);
                prop_assert_eq!(date(&day.to_string()).unwrap(), day);
            }
        }
    }
}
