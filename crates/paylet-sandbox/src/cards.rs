//! The sandbox's test cards and what happens when each is charged. The numbers
//! and outcomes are Stripe's published test cards; the Square-style API maps the
//! same outcomes onto Square's error codes.

use paylet_card::Brand;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What charging a card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Outcome {
    Succeed,
    Decline(Decline),
    /// 3-D Secure: the shopper must pass a challenge first.
    RequireAuthentication,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Decline {
    Generic,
    InsufficientFunds,
    LostCard,
    StolenCard,
    ExpiredCard,
    IncorrectCvc,
    ProcessingError,
    /// Square's sandbox values: postal code 99999, and expiry 01/40.
    PostalCode,
    InvalidExpiration,
}

impl Outcome {
    /// The outcome for a card number (digits only). Any other number that passes
    /// tokenization succeeds, as on Stripe.
    pub(crate) fn for_number(number: &str) -> Outcome {
        match number {
            "4000000000000002" => Outcome::Decline(Decline::Generic),
            "4000000000009995" => Outcome::Decline(Decline::InsufficientFunds),
            "4000000000009987" => Outcome::Decline(Decline::LostCard),
            "4000000000009979" => Outcome::Decline(Decline::StolenCard),
            "4000000000000069" => Outcome::Decline(Decline::ExpiredCard),
            "4000000000000127" => Outcome::Decline(Decline::IncorrectCvc),
            "4000000000000119" => Outcome::Decline(Decline::ProcessingError),
            "4000002500003155" | "4000002760003184" | "4000000000003220" => Outcome::RequireAuthentication,
            _ => Outcome::Succeed,
        }
    }
}

/// A card as the sandbox keeps it behind a token: never the full number, as a
/// real gateway's vault would not hand it back either.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredCard {
    pub brand: Option<Brand>,
    pub bin: String,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
    /// Same card, same fingerprint; a one-way hash, never reversible to the number.
    pub fingerprint: String,
    pub outcome: Outcome,
}

impl StoredCard {
    pub(crate) fn new(number: &str, exp_month: u8, exp_year: u16) -> StoredCard {
        let digest = Sha256::digest(format!("paylet-sandbox-card:{number}"));
        StoredCard {
            brand: Brand::detect(number),
            bin: number.chars().take(6).collect(),
            last4: number[number.len().saturating_sub(4)..].to_owned(),
            exp_month,
            exp_year,
            fingerprint: hex::encode(&digest[..8]),
            outcome: Outcome::for_number(number),
        }
    }

    /// Stripe's lowercase brand id in PaymentMethod objects.
    pub(crate) fn stripe_brand_id(&self) -> &'static str {
        match self.brand {
            Some(Brand::DinersClub) => "diners",
            Some(b) => b.id(),
            None => "unknown",
        }
    }

    /// Stripe's spelling of the brand in card objects.
    pub(crate) fn stripe_brand(&self) -> &'static str {
        match self.brand {
            Some(Brand::Visa) => "Visa",
            Some(Brand::Mastercard) => "MasterCard",
            Some(Brand::Amex) => "American Express",
            Some(Brand::Discover) => "Discover",
            Some(Brand::Jcb) => "JCB",
            Some(Brand::DinersClub) => "Diners Club",
            Some(Brand::UnionPay) => "UnionPay",
            None => "Unknown",
        }
    }
}

/// What is wrong with card details, before any charge: each gateway style
/// reports it in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CardProblem {
    /// Not 12 to 19 digits.
    InvalidNumber,
    /// Fails the Luhn check.
    IncorrectNumber,
    InvalidMonth,
    /// Unreadable, in the past, or more than 50 years ahead.
    InvalidYear,
    InvalidCvc,
}

/// Checks card details as a gateway does at tokenization. `year` may have two
/// or four digits.
pub(crate) fn check_card(number: &str, month: &str, year: &str, cvc: Option<&str>) -> Result<StoredCard, CardProblem> {
    if !(12..=19).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CardProblem::InvalidNumber);
    }
    if !paylet_card::luhn_valid(number) {
        return Err(CardProblem::IncorrectNumber);
    }
    let month: u8 = month.trim().parse().map_err(|_| CardProblem::InvalidMonth)?;
    if !(1..=12).contains(&month) {
        return Err(CardProblem::InvalidMonth);
    }
    let year: u16 = year.trim().parse().map_err(|_| CardProblem::InvalidYear)?;
    let year = if year < 100 { 2000 + year } else { year };
    let now = time::OffsetDateTime::now_utc();
    let (now_year, now_month) = (u16::try_from(now.year()).unwrap_or(u16::MAX), u8::from(now.month()));
    if year < now_year || year > now_year + 50 {
        return Err(CardProblem::InvalidYear);
    }
    if year == now_year && month < now_month {
        return Err(CardProblem::InvalidMonth);
    }
    if cvc.is_some_and(|c| !(3..=4).contains(&c.len()) || !c.bytes().all(|b| b.is_ascii_digit())) {
        return Err(CardProblem::InvalidCvc);
    }
    Ok(StoredCard::new(number, month, year))
}

/// Splits what a shopper types as expiry (`MM / YY`, `MMYY`, `MM/YYYY`) into
/// month and year.
pub(crate) fn split_expiry(expiry: &str) -> (String, String) {
    let digits: String = expiry.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 3 { (digits[..2].to_owned(), digits[2..].to_owned()) } else { (digits, String::new()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_test_cards_map_to_their_outcomes() {
        assert_eq!(Outcome::for_number("4242424242424242"), Outcome::Succeed);
        assert_eq!(Outcome::for_number("4000000000000002"), Outcome::Decline(Decline::Generic));
        assert_eq!(Outcome::for_number("4000000000009995"), Outcome::Decline(Decline::InsufficientFunds));
        assert_eq!(Outcome::for_number("4000000000003220"), Outcome::RequireAuthentication);
        assert_eq!(Outcome::for_number("378282246310005"), Outcome::Succeed);
    }

    #[test]
    fn card_checks_name_the_problem() {
        assert!(check_card("4242424242424242", "12", "34", Some("123")).is_ok());
        assert_eq!(check_card("4242", "12", "34", None).err(), Some(CardProblem::InvalidNumber));
        assert_eq!(check_card("4242424242424241", "12", "34", None).err(), Some(CardProblem::IncorrectNumber));
        assert_eq!(check_card("4242424242424242", "13", "34", None).err(), Some(CardProblem::InvalidMonth));
        assert_eq!(check_card("4242424242424242", "12", "2001", None).err(), Some(CardProblem::InvalidYear));
        assert_eq!(check_card("4242424242424242", "12", "34", Some("12x")).err(), Some(CardProblem::InvalidCvc));
    }

    #[test]
    fn splits_expiry_spellings() {
        assert_eq!(split_expiry("12 / 34"), ("12".into(), "34".into()));
        assert_eq!(split_expiry("1234"), ("12".into(), "34".into()));
        assert_eq!(split_expiry("12/2034"), ("12".into(), "2034".into()));
    }

    #[test]
    fn stored_cards_keep_only_the_last_four() {
        let c = StoredCard::new("4242424242424242", 12, 2030);
        assert_eq!(c.last4, "4242");
        assert_eq!(c.bin, "424242");
        assert!(!serde_json::to_string(&c).unwrap().contains("4242424242424242"));
        assert_eq!(c.stripe_brand(), "Visa");
    }
}
