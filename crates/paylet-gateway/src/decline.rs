/// Why a gateway declined a card, normalised across gateway styles, with the
/// words a shopper is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineCode {
    Generic,
    InsufficientFunds,
    LostOrStolen,
    ExpiredCard,
    IncorrectCvc,
    IncorrectNumber,
    IncorrectPostalCode,
    ProcessingError,
    AuthenticationFailed,
}

impl DeclineCode {
    const ALL: [DeclineCode; 9] = [
        DeclineCode::Generic,
        DeclineCode::InsufficientFunds,
        DeclineCode::LostOrStolen,
        DeclineCode::ExpiredCard,
        DeclineCode::IncorrectCvc,
        DeclineCode::IncorrectNumber,
        DeclineCode::IncorrectPostalCode,
        DeclineCode::ProcessingError,
        DeclineCode::AuthenticationFailed,
    ];

    /// The code back from [`DeclineCode::as_str`] (as stored); unknown codes are generic.
    pub fn parse(code: &str) -> DeclineCode {
        DeclineCode::ALL.into_iter().find(|c| c.as_str() == code).unwrap_or(DeclineCode::Generic)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeclineCode::Generic => "card_declined",
            DeclineCode::InsufficientFunds => "insufficient_funds",
            DeclineCode::LostOrStolen => "card_declined",
            DeclineCode::ExpiredCard => "expired_card",
            DeclineCode::IncorrectCvc => "incorrect_cvc",
            DeclineCode::IncorrectNumber => "incorrect_number",
            DeclineCode::IncorrectPostalCode => "incorrect_zip",
            DeclineCode::ProcessingError => "processing_error",
            DeclineCode::AuthenticationFailed => "authentication_failed",
        }
    }

    /// Plain words for the shopper. Lost and stolen cards get the generic text on
    /// purpose: telling a fraudster the card is flagged helps the fraudster.
    pub fn shopper_message(self) -> &'static str {
        match self {
            DeclineCode::Generic | DeclineCode::LostOrStolen => {
                "Your card was declined. Please use a different card or contact your bank."
            }
            DeclineCode::InsufficientFunds => "Your card has insufficient funds. Please use a different card.",
            DeclineCode::ExpiredCard => "Your card has expired. Please check the expiry date or use a different card.",
            DeclineCode::IncorrectCvc => "The security code is incorrect. Please check it and try again.",
            DeclineCode::IncorrectNumber => "The card number is incorrect. Please check it and try again.",
            DeclineCode::IncorrectPostalCode => {
                "The postal code does not match the card. Please check it and try again."
            }
            DeclineCode::ProcessingError => "We could not process your card. Please try again in a moment.",
            DeclineCode::AuthenticationFailed => {
                "Your bank could not verify this payment. Please try again or use a different card."
            }
        }
    }

    /// Stripe's `decline_code` (or `code` when there is none).
    pub fn from_stripe(code: &str) -> DeclineCode {
        match code {
            "insufficient_funds" => DeclineCode::InsufficientFunds,
            "lost_card" | "stolen_card" | "pickup_card" => DeclineCode::LostOrStolen,
            "expired_card" => DeclineCode::ExpiredCard,
            "incorrect_cvc" | "invalid_cvc" => DeclineCode::IncorrectCvc,
            "incorrect_number" | "invalid_number" => DeclineCode::IncorrectNumber,
            "incorrect_zip" => DeclineCode::IncorrectPostalCode,
            "processing_error" => DeclineCode::ProcessingError,
            "authentication_required" | "payment_intent_authentication_failure" => DeclineCode::AuthenticationFailed,
            _ => DeclineCode::Generic,
        }
    }

    /// Square's error `code` on a failed payment.
    pub fn from_square(code: &str) -> DeclineCode {
        match code {
            "INSUFFICIENT_FUNDS" => DeclineCode::InsufficientFunds,
            "CARD_EXPIRED" | "INVALID_EXPIRATION" | "INVALID_EXPIRATION_DATE" => DeclineCode::ExpiredCard,
            "CVV_FAILURE" => DeclineCode::IncorrectCvc,
            "ADDRESS_VERIFICATION_FAILURE" | "INVALID_POSTAL_CODE" => DeclineCode::IncorrectPostalCode,
            "INVALID_CARD" | "INVALID_CARD_DATA" | "INVALID_ACCOUNT" => DeclineCode::IncorrectNumber,
            "TEMPORARY_ERROR" => DeclineCode::ProcessingError,
            "CARD_DECLINED_VERIFICATION_REQUIRED" => DeclineCode::AuthenticationFailed,
            // CARD_DECLINED_CALL_ISSUER is how Square reports lost and stolen cards.
            "CARD_DECLINED_CALL_ISSUER" => DeclineCode::LostOrStolen,
            _ => DeclineCode::Generic,
        }
    }
}
