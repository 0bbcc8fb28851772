//! Postal addresses, with the checks a checkout can make on its own: a known
//! ISO 3166-1 country, and a postal code shaped as that country writes them.
//! The widget and the server run the same rules.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default)]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
}

/// What is wrong with an address, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressProblem {
    pub field: &'static str,
    pub message: &'static str,
}

/// ISO 3166-1 alpha-2 codes of current countries and territories.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ \
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES \
ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO \
IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK \
ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR \
PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK \
TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Countries whose addresses have no postal code.
const NO_POSTAL_CODE: &str = "AE AG AO AW BF BI BJ BO BS BW BZ CD CF CG CI CK CM DJ DM ER FJ GA GD GH GM GQ GY HK \
IE JM KI KM KN KP LC ML MO MR MW NR NU QA RW SB SC SL SR ST SY TD TF TG TK TL TO TT TV UG VU YE ZW";

/// Every country code, for a country picker.
pub fn countries() -> impl Iterator<Item = &'static str> {
    COUNTRIES.split(' ')
}

pub fn is_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code)
}

/// Whether `country` uses postal codes (Ireland's Eircode is optional).
pub fn needs_postal_code(country: &str) -> bool {
    !NO_POSTAL_CODE.split(' ').any(|c| c == country)
}

/// The shape a country's postal codes take, as a pattern of `9` (digit), `A`
/// (letter), `?` (letter or digit), and literal characters; `None` when any
/// reasonable code is accepted.
fn patterns(country: &str) -> Option<&'static [&'static str]> {
    Some(match country {
        "US" => &["99999", "99999-9999"],
        "CA" => &["A9A 9A9", "A9A9A9"],
        "GB" => &["A9 9AA", "A99 9AA", "AA9 9AA", "AA99 9AA", "A9A 9AA", "AA9A 9AA"],
        "DE" | "FR" | "ES" | "IT" | "FI" | "MX" | "MY" => &["99999"],
        "NL" => &["9999 AA", "9999AA"],
        "AU" | "AT" | "BE" | "CH" | "DK" | "NO" | "NZ" | "ZA" | "HU" | "LU" => &["9999"],
        "JP" => &["999-9999", "9999999"],
        "SE" => &["999 99", "99999"],
        "PL" => &["99-999"],
        "PT" => &["9999-999"],
        "BR" => &["99999-999", "99999999"],
        "IN" => &["999999"],
        _ => return None,
    })
}

fn matches(code: &str, pattern: &str) -> bool {
    code.len() == pattern.len()
        && code.chars().zip(pattern.chars()).all(|(c, p)| match p {
            '9' => c.is_ascii_digit(),
            'A' => c.is_ascii_alphabetic(),
            '?' => c.is_ascii_alphanumeric(),
            lit => c == lit,
        })
}

/// Whether `code` is a plausible postal code for `country` (upper-cased first).
pub fn valid_postal_code(country: &str, code: &str) -> bool {
    let code = code.trim().to_ascii_uppercase();
    if code.is_empty() {
        return !needs_postal_code(country) || country == "IE";
    }
    match patterns(country) {
        Some(list) => list.iter().any(|p| matches(&code, p)),
        None => {
            (2..=10).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        }
    }
}

impl Address {
    /// Checks the address and returns it tidied: trimmed, upper-case country
    /// and postal code.
    pub fn checked(&self) -> Result<Address, AddressProblem> {
        let text = |s: &str, field: &'static str, max: usize| {
            let s = s.trim();
            if s.is_empty() || s.chars().count() > max || s.chars().any(char::is_control) {
                Err(AddressProblem { field, message: "Enter this part of the address." })
            } else {
                Ok(s.to_owned())
            }
        };
        let country = self.country.trim().to_ascii_uppercase();
        if !is_country(&country) {
            return Err(AddressProblem { field: "country", message: "Choose a country." });
        }
        let postal_code = self.postal_code.trim().to_ascii_uppercase();
        if !valid_postal_code(&country, &postal_code) {
            return Err(AddressProblem {
                field: "postal_code",
                message: "Enter a valid postal code for this country.",
            });
        }
        let optional = |s: &Option<String>, field: &'static str| {
            s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| text(s, field, 200)).transpose()
        };
        Ok(Address {
            line1: text(&self.line1, "line1", 200)?,
            line2: optional(&self.line2, "line2")?,
            city: text(&self.city, "city", 100)?,
            state: optional(&self.state, "state")?,
            postal_code,
            country,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(country: &str, postal: &str) -> Address {
        Address {
            line1: "1 Main St".into(),
            line2: None,
            city: "Town".into(),
            state: None,
            postal_code: postal.into(),
            country: country.into(),
        }
    }

    #[test]
    fn postal_codes_follow_the_country() {
        assert!(valid_postal_code("US", "94103"));
        assert!(valid_postal_code("US", "94103-1234"));
        assert!(!valid_postal_code("US", "9410"));
        assert!(valid_postal_code("CA", "k1a 0b1"));
        assert!(valid_postal_code("GB", "SW1A 1AA"));
        assert!(!valid_postal_code("GB", "12345"));
        assert!(valid_postal_code("DE", "10115"));
        assert!(valid_postal_code("NL", "1012 AB"));
        assert!(valid_postal_code("JP", "100-0001"));
        assert!(valid_postal_code("HK", ""));
        assert!(!valid_postal_code("US", ""));
        assert!(valid_postal_code("IE", ""));
        assert!(valid_postal_code("KE", "00100"));
    }

    #[test]
    fn addresses_are_tidied_or_refused_naming_the_field() {
        let tidy = addr(" gb ", "sw1a 1aa").checked().unwrap();
        assert_eq!((tidy.country.as_str(), tidy.postal_code.as_str()), ("GB", "SW1A 1AA"));
        assert_eq!(addr("XX", "1").checked().unwrap_err().field, "country");
        assert_eq!(addr("US", "ABCDE").checked().unwrap_err().field, "postal_code");
        let mut a = addr("US", "94103");
        a.city = " ".into();
        assert_eq!(a.checked().unwrap_err().field, "city");
    }
}
