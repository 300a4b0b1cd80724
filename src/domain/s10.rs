//! UPU S10 item identifiers: `RR123456785VN` = service indicator (2 letters),
//! serial (8 digits), check digit, ISO 3166-1 alpha-2 country code.

/// First letters of the service indicator this service accepts: R registered,
/// E EMS, C parcel, L express letter, V insured, A recorded delivery, and the
/// letters S10 reserves for domestic use (B, D, N, P, Z).
const SERVICE_LETTERS: &str = "RECLVABDNPZ";

/// ISO 3166-1 alpha-2 codes (officially assigned), concatenated.
const COUNTRY_CODES: &str = "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ\
CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGY\
HKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMR\
MSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSS\
STSVSXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVIVNVUWFWSYEYTZAZMZW";

const WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];

/// Why a string is not a valid S10 identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S10Error {
    #[error("must be 13 characters: 2 letters, 8 digits, a check digit and a 2-letter country code (e.g. RR123456785VN)")]
    Format,
    #[error("service indicator must start with one of {SERVICE_LETTERS}")]
    ServiceIndicator,
    #[error("check digit is {found}, expected {expected} for serial {serial}")]
    CheckDigit { serial: String, found: u32, expected: u32 },
    #[error("{0} is not an ISO 3166-1 country code")]
    Country(String),
}

/// Check digit for an 8-digit serial (mod 11, weights 8 6 4 2 3 5 9 7).
pub fn check_digit(serial: &[u32; 8]) -> u32 {
    let sum: u32 = serial.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        c => c,
    }
}

/// Normalises (drops white space, upper-cases) and validates a tracking number.
/// Reads characters, never byte offsets, so no input can make it panic.
pub fn normalize(input: &str) -> Result<String, S10Error> {
    let s: String = input.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect();
    let chars: Vec<char> = s.chars().collect();
    let [l1, l2, serial @ .., check, c1, c2] = chars.as_slice() else { return Err(S10Error::Format) };
    let letters = [*l1, *l2, *c1, *c2];
    if serial.len() != 8 || !letters.iter().all(char::is_ascii_uppercase) {
        return Err(S10Error::Format);
    }
    let (Some(digits), Some(found)) = (digits_of(serial), check.to_digit(10)) else { return Err(S10Error::Format) };
    if !SERVICE_LETTERS.contains(*l1) {
        return Err(S10Error::ServiceIndicator);
    }
    let expected = check_digit(&digits);
    if found != expected {
        return Err(S10Error::CheckDigit { serial: serial.iter().collect(), found, expected });
    }
    let country: String = [*c1, *c2].iter().collect();
    let known = COUNTRY_CODES.as_bytes().chunks(2).any(|c| c == country.as_bytes());
    if !known {
        return Err(S10Error::Country(country));
    }
    Ok(s)
}

/// The eight digits of a serial, or `None` if any is not an ASCII digit.
fn digits_of(serial: &[char]) -> Option<[u32; 8]> {
    let mut digits = [0u32; 8];
    for (slot, c) in digits.iter_mut().zip(serial) {
        *slot = c.to_digit(10)?;
    }
    Some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_vectors() {
        assert_eq!(normalize("RB123456785GB").unwrap(), "RB123456785GB");
        assert!(matches!(
            normalize("RB123456786US"),
            Err(S10Error::CheckDigit { found: 6, expected: 5, .. })
        ));
        assert_eq!(check_digit(&[4, 7, 3, 1, 2, 4, 8, 2]), 9);
    }

    #[test]
    fn check_digit_special_cases() {
        // sum % 11 == 1 gives 10 -> 0; sum % 11 == 0 gives 11 -> 5.
        // 00000001 -> 7 -> 11-7=4; 00000010 -> 9 -> 2; find serials for 0 and 5:
        let zero = [0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(check_digit(&zero), 5);
        // 1*8 + 0... + 4*... : serial 00000003 -> 21 % 11 = 10 -> 1
        assert_eq!(check_digit(&[0, 0, 0, 0, 0, 0, 0, 3]), 1);
        // serial 10000001: 8 + 7 = 15 % 11 = 4 -> 7
        assert_eq!(check_digit(&[1, 0, 0, 0, 0, 0, 0, 1]), 7);
        // serial 00000008: 56 % 11 = 1 -> 10 -> 0
        assert_eq!(check_digit(&[0, 0, 0, 0, 0, 0, 0, 8]), 0);
    }

    #[test]
    fn normalises_spaces_and_case() {
        assert_eq!(normalize(" rr 473 124 829 vn ").unwrap(), "RR473124829VN");
    }

    #[test]
    fn rejects_bad_shapes_letters_and_countries() {
        assert_eq!(normalize("RR12345678VN"), Err(S10Error::Format));
        assert_eq!(normalize("R1123456785VN"), Err(S10Error::Format));
        assert_eq!(normalize("RR123456785V1"), Err(S10Error::Format));
        assert_eq!(normalize("XX123456785VN"), Err(S10Error::ServiceIndicator));
        assert_eq!(normalize("RR123456785QQ"), Err(S10Error::Country("QQ".into())));
        assert!(normalize("EE473124829VN").is_ok());
        assert!(normalize("CP473124829VN").is_ok());
    }

    #[test]
    fn non_ascii_never_panics_and_is_a_format_error() {
        for hostile in ["RRé23456785VN", "ÉÉ123456785VN", "RR１２３４５６７８５VN", "RR12345678５VN", "é", "RR123456785VÑ"] {
            assert_eq!(normalize(hostile), Err(S10Error::Format), "{hostile:?}");
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]

            #[test]
            fn never_panics(input in prop_oneof![any::<String>(), "[A-Za-z0-9 é\u{0}]{11,15}", "\\PC{13}", "\\PC{1000,5000}"]) {
                let _ = normalize(&input);
            }

            #[test]
            fn a_valid_number_survives_normalising_again(
                letters in "[RECLVABDNPZ][A-Z]",
                serial in proptest::array::uniform8(0u32..10),
                country in proptest::sample::select(vec!["VN", "GB", "US", "JP"]),
                spaced in any::<bool>(),
            ) {
                let digits: String = serial.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect();
                let number = format!("{letters}{digits}{}{country}", check_digit(&serial));
                let sent = if spaced { format!(" {} ", number.to_lowercase()) } else { number.clone() };
                let normal = normalize(&sent).unwrap();
                prop_assert_eq!(&normal, &number);
                prop_assert_eq!(normalize(&normal).unwrap(), number);
            }
        }
    }
}
