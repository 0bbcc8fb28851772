//! The sandbox's test cards and what happens when each is charged. The numbers
//! and outcomes are Stripe's published test cards; the Square-style API maps the
//! same outcomes onto Square's error codes.

use paylet_card::Brand;

/// What charging a card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Succeed,
    Decline(Decline),
    /// 3-D Secure: the shopper must pass a challenge first.
    RequireAuthentication,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decline {
    Generic,
    InsufficientFunds,
    LostCard,
    StolenCard,
    ExpiredCard,
    IncorrectCvc,
    ProcessingError,
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
#[derive(Debug, Clone)]
pub(crate) struct StoredCard {
    pub brand: Option<Brand>,
    pub last4: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub outcome: Outcome,
}

impl StoredCard {
    pub(crate) fn new(number: &str, exp_month: u8, exp_year: u16) -> StoredCard {
        StoredCard {
            brand: Brand::detect(number),
            last4: number[number.len().saturating_sub(4)..].to_owned(),
            exp_month,
            exp_year,
            outcome: Outcome::for_number(number),
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
    fn stored_cards_keep_only_the_last_four() {
        let c = StoredCard::new("4242424242424242", 12, 2030);
        assert_eq!(c.last4, "4242");
        assert_eq!(c.stripe_brand(), "Visa");
    }
}
