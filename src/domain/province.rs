//! Vietnam's 34 provincial-level units (since 1 July 2025), with the names of
//! the provinces merged into them kept as aliases, so old spreadsheets and
//! carrier data still resolve.

/// One province or centrally-run city.
pub struct Province {
    /// Stable ASCII slug used in the API, e.g. `phu-tho`.
    pub code: &'static str,
    /// Official Vietnamese name.
    pub name: &'static str,
    /// Names of the provinces merged into this one in 2025.
    pub former: &'static [&'static str],
}

pub const PROVINCES: &[Province] = &[
    Province { code: "ha-noi", name: "Hà Nội", former: &[] },
    Province { code: "hue", name: "Huế", former: &["Thừa Thiên Huế"] },
    Province { code: "lai-chau", name: "Lai Châu", former: &[] },
    Province { code: "dien-bien", name: "Điện Biên", former: &[] },
    Province { code: "son-la", name: "Sơn La", former: &[] },
    Province { code: "lang-son", name: "Lạng Sơn", former: &[] },
    Province { code: "quang-ninh", name: "Quảng Ninh", former: &[] },
    Province { code: "thanh-hoa", name: "Thanh Hóa", former: &[] },
    Province { code: "nghe-an", name: "Nghệ An", former: &[] },
    Province { code: "ha-tinh", name: "Hà Tĩnh", former: &[] },
    Province { code: "cao-bang", name: "Cao Bằng", former: &[] },
    Province { code: "tuyen-quang", name: "Tuyên Quang", former: &["Hà Giang"] },
    Province { code: "lao-cai", name: "Lào Cai", former: &["Yên Bái"] },
    Province { code: "thai-nguyen", name: "Thái Nguyên", former: &["Bắc Kạn"] },
    Province { code: "phu-tho", name: "Phú Thọ", former: &["Vĩnh Phúc", "Hòa Bình"] },
    Province { code: "bac-ninh", name: "Bắc Ninh", former: &["Bắc Giang"] },
    Province { code: "hung-yen", name: "Hưng Yên", former: &["Thái Bình"] },
    Province { code: "hai-phong", name: "Hải Phòng", former: &["Hải Dương"] },
    Province { code: "ninh-binh", name: "Ninh Bình", former: &["Hà Nam", "Nam Định"] },
    Province { code: "quang-tri", name: "Quảng Trị", former: &["Quảng Bình"] },
    Province { code: "da-nang", name: "Đà Nẵng", former: &["Quảng Nam"] },
    Province { code: "quang-ngai", name: "Quảng Ngãi", former: &["Kon Tum"] },
    Province { code: "gia-lai", name: "Gia Lai", former: &["Bình Định"] },
    Province { code: "khanh-hoa", name: "Khánh Hòa", former: &["Ninh Thuận"] },
    Province { code: "lam-dong", name: "Lâm Đồng", former: &["Đắk Nông", "Bình Thuận"] },
    Province { code: "dak-lak", name: "Đắk Lắk", former: &["Phú Yên"] },
    Province { code: "ho-chi-minh", name: "Hồ Chí Minh", former: &["Bình Dương", "Bà Rịa - Vũng Tàu", "Sài Gòn"] },
    Province { code: "dong-nai", name: "Đồng Nai", former: &["Bình Phước"] },
    Province { code: "tay-ninh", name: "Tây Ninh", former: &["Long An"] },
    Province { code: "can-tho", name: "Cần Thơ", former: &["Sóc Trăng", "Hậu Giang"] },
    Province { code: "vinh-long", name: "Vĩnh Long", former: &["Bến Tre", "Trà Vinh"] },
    Province { code: "dong-thap", name: "Đồng Tháp", former: &["Tiền Giang"] },
    Province { code: "ca-mau", name: "Cà Mau", former: &["Bạc Liêu"] },
    Province { code: "an-giang", name: "An Giang", former: &["Kiên Giang"] },
];

/// Folds a name to a comparable slug: no diacritics, lower case, words joined
/// by `-`, common prefixes ("tỉnh", "thành phố", "TP.") dropped.
fn slug(name: &str) -> String {
    let ascii = deunicode::deunicode(name).to_lowercase();
    let words: Vec<&str> = ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let words = match words.as_slice() {
        ["tinh", rest @ ..] | ["thanh", "pho", rest @ ..] | ["tp", rest @ ..] => rest,
        all => all,
    };
    words.join("-")
}

/// Finds the current province for a code, a name (with or without
/// diacritics) or the name of a province merged into it.
pub fn resolve(input: &str) -> Option<&'static Province> {
    let wanted = slug(input);
    if wanted.is_empty() {
        return None;
    }
    PROVINCES.iter().find(|p| {
        p.code == wanted || slug(p.name) == wanted || p.former.iter().any(|f| slug(f) == wanted)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The console names provinces from its own copy of this list.
    #[test]
    fn the_console_knows_every_province_by_name() {
        let console = include_str!("../../web/console.html");
        for p in PROVINCES {
            assert!(console.contains(&format!("\"{}\": \"{}\"", p.code, p.name)), "web/console.html lacks {} = {}", p.code, p.name);
        }
    }

    #[test]
    fn thirty_four_units_with_unique_codes() {
        assert_eq!(PROVINCES.len(), 34);
        for p in PROVINCES {
            assert_eq!(slug(p.name), p.code, "code of {} should be its slug", p.name);
        }
    }

    #[test]
    fn resolves_codes_names_and_former_provinces() {
        assert_eq!(resolve("phu-tho").unwrap().code, "phu-tho");
        assert_eq!(resolve("Tỉnh Phú Thọ").unwrap().code, "phu-tho");
        assert_eq!(resolve("Vinh Phuc").unwrap().code, "phu-tho");
        assert_eq!(resolve("TP. Hồ Chí Minh").unwrap().code, "ho-chi-minh");
        assert_eq!(resolve("Thành phố Đà Nẵng").unwrap().code, "da-nang");
        assert!(resolve("Atlantis").is_none());
        assert!(resolve("  ").is_none());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn resolving_never_panics(input in prop_oneof![any::<String>(), "\\PC{0,40}", "\\PC{2000,6000}", "[\\p{Cc}\\p{Mn} ]{0,30}"]) {
                let _ = resolve(&input);
            }

            #[test]
            fn every_name_code_and_former_name_resolves_in_any_case_and_spacing(
                index in 0..PROVINCES.len(),
                form in 0usize..3,
                upper in any::<bool>(),
                prefix in proptest::sample::select(vec!["", "Tỉnh ", "Thành phố ", "TP. "]),
            ) {
                let province = &PROVINCES[index];
                let name = match form {
                    0 => province.name,
                    1 => province.code,
                    _ => province.former.first().copied().unwrap_or(province.name),
                };
                let sent = format!("  {prefix}{}  ", if upper { name.to_uppercase() } else { name.to_string() });
                prop_assert_eq!(resolve(&sent).map(|p| p.code), Some(province.code));
            }
        }
    }
}
