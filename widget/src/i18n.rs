//! The widget's words in English, German, French and Spanish. One table per
//! language, so a missing translation fails to compile.

/// The languages the widget speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    De,
    Fr,
    Es,
}

impl Locale {
    /// The first supported language among the snippet's choice and then the
    /// browser's preferences; English when none is.
    pub fn pick<'a>(wanted: impl IntoIterator<Item = &'a str>) -> Locale {
        wanted.into_iter().find_map(Locale::parse).unwrap_or(Locale::En)
    }

    /// `de`, `de-AT`, `fr_CA` … by their language part.
    pub fn parse(tag: &str) -> Option<Locale> {
        let language = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match language.as_str() {
            "en" => Some(Locale::En),
            "de" => Some(Locale::De),
            "fr" => Some(Locale::Fr),
            "es" => Some(Locale::Es),
            _ => None,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
            Locale::Fr => "fr",
            Locale::Es => "es",
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Locale::En => &EN,
            Locale::De => &DE,
            Locale::Fr => &FR,
            Locale::Es => &ES,
        }
    }
}

/// Fills the one `{}` of a text (found byte by byte: `str::replacen` brings
/// a general substring search into the WASM).
pub fn fill(text: &str, value: &str) -> String {
    let at = text.as_bytes().windows(2).position(|pair| pair == b"{}");
    match at.and_then(|i| Some((text.get(..i)?, text.get(i + 2..)?))) {
        Some((before, after)) => [before, value, after].concat(),
        None => text.to_owned(),
    }
}

/// Every sentence a shopper can see. `{}` marks where a value goes.
pub struct Texts {
    pub loading: &'static str,
    pub order_summary: &'static str,
    pub total: &'static str,
    pub product_unavailable: &'static str,
    pub session_other_store: &'static str,
    pub already_paid: &'static str,
    pub expired_checkout: &'static str,
    pub contact: &'static str,
    pub email: &'static str,
    pub email_missing: &'static str,
    pub name: &'static str,
    pub billing_address: &'static str,
    pub shipping_same: &'static str,
    pub shipping_address: &'static str,
    pub country: &'static str,
    pub address_line1: &'static str,
    pub city: &'static str,
    pub postal_code: &'static str,
    pub zip_code: &'static str,
    pub field_missing: &'static str,
    pub postal_invalid: &'static str,
    pub card: &'static str,
    pub card_number: &'static str,
    pub expiry: &'static str,
    pub cvc: &'static str,
    pub number_missing: &'static str,
    pub number_invalid: &'static str,
    pub expiry_incomplete: &'static str,
    pub expiry_month: &'static str,
    pub expiry_past: &'static str,
    pub expiry_year: &'static str,
    pub cvc_length: &'static str,
    pub pay: &'static str,
    pub processing: &'static str,
    pub pay_on_page: &'static str,
    pub redirecting: &'static str,
    pub paid: &'static str,
    pub paid_thanks: &'static str,
    pub secure: &'static str,
    pub insecure: &'static str,
    pub total_changed: &'static str,
    pub gateway_unreachable: &'static str,
    pub server_unreachable: &'static str,
    pub retry: &'static str,
    pub method_unavailable: &'static str,
    pub not_payable: &'static str,
    pub challenge_title: &'static str,
    pub challenge_hint: &'static str,
    pub cancel: &'static str,
    pub challenge_canceled: &'static str,
    pub confirming: &'static str,
    pub came_back: &'static str,
    /// Back from the hosted page, but the order could not be taken up (a
    /// browser that keeps no cookie for the frame): the shopper may have paid.
    pub not_resumed: &'static str,
    pub decline_generic: &'static str,
    pub decline_funds: &'static str,
    pub decline_expired: &'static str,
    pub decline_cvc: &'static str,
    pub decline_number: &'static str,
    pub decline_postal: &'static str,
    pub decline_processing: &'static str,
    pub decline_authentication: &'static str,
}

impl Texts {
    /// The shopper's words for a gateway's decline code; `None` for a code
    /// this widget does not know (then the server's message is shown).
    pub fn decline(&self, code: &str) -> Option<&'static str> {
        Some(match code {
            "card_declined" => self.decline_generic,
            "insufficient_funds" => self.decline_funds,
            "expired_card" => self.decline_expired,
            "incorrect_cvc" => self.decline_cvc,
            "incorrect_number" => self.decline_number,
            "incorrect_zip" => self.decline_postal,
            "processing_error" => self.decline_processing,
            "authentication_failed" => self.decline_authentication,
            _ => return None,
        })
    }
}

pub static EN: Texts = Texts {
    loading: "Loading checkout…",
    order_summary: "Order summary",
    total: "Total",
    product_unavailable: "The product {} is not available.",
    session_other_store: "This checkout session belongs to another store.",
    already_paid: "This order has already been paid.",
    expired_checkout: "This checkout has expired. Please return to the shop and start again.",
    contact: "Contact",
    email: "Email",
    email_missing: "Enter your email address.",
    name: "Name on card",
    billing_address: "Billing address",
    shipping_same: "Ship to my billing address",
    shipping_address: "Shipping address",
    country: "Country",
    address_line1: "Address",
    city: "City",
    postal_code: "Postal code",
    zip_code: "ZIP code",
    field_missing: "Please fill in this field.",
    postal_invalid: "Enter a valid {} for this country.",
    card: "Card",
    card_number: "Card number",
    expiry: "Expiry (MM / YY)",
    cvc: "Security code",
    number_missing: "Enter your card number.",
    number_invalid: "Your card number is incomplete or invalid.",
    expiry_incomplete: "Enter the expiry date as MM / YY.",
    expiry_month: "The expiry month is invalid.",
    expiry_past: "Your card has expired.",
    expiry_year: "The expiry year is invalid.",
    cvc_length: "Enter the {}-digit security code.",
    pay: "Pay {}",
    processing: "Processing…",
    pay_on_page: "Pay on {}'s page instead",
    redirecting: "Taking you to {}…",
    paid: "Paid",
    paid_thanks: "Thank you. Your order {} is paid.",
    secure: "Secure checkout — your card goes straight to {}",
    insecure: "This checkout is not on a secure (HTTPS) connection, so it does not ask for card details. Please let the shop know.",
    total_changed: "The total has changed. Please check it and press Pay again.",
    gateway_unreachable: "We could not reach the payment gateway. Check your connection and try again.",
    server_unreachable: "We could not reach the payment service. Check your connection and try again.",
    retry: "Try again",
    method_unavailable: "This payment method is not available.",
    not_payable: "This order can no longer be paid. Please return to the shop and start again.",
    challenge_title: "Confirm your payment",
    challenge_hint: "Your bank asks you to confirm this payment.",
    cancel: "Cancel",
    challenge_canceled: "The payment was not confirmed. You can try again.",
    confirming: "We are confirming your payment with {}. This can take a moment.",
    came_back: "You came back without paying. You can pay below.",
    not_resumed: "If you paid on {}'s page, your payment is being confirmed and the shop will let you know. There is no need to pay again.",
    decline_generic: "Your card was declined. Please use a different card.",
    decline_funds: "Your card has insufficient funds. Please use a different card.",
    decline_expired: "Your card has expired. Please check the expiry date or use a different card.",
    decline_cvc: "The security code is incorrect. Please check it and try again.",
    decline_number: "The card number is incorrect. Please check it and try again.",
    decline_postal: "The postal code does not match your card. Please check it and try again.",
    decline_processing: "We could not process your card. Please try again in a moment.",
    decline_authentication: "Your bank could not confirm this payment. Please try again or use a different card.",
};

pub static DE: Texts = Texts {
    loading: "Kasse wird geladen…",
    order_summary: "Bestellübersicht",
    total: "Gesamt",
    product_unavailable: "Das Produkt {} ist nicht verfügbar.",
    session_other_store: "Diese Kasse gehört zu einem anderen Shop.",
    already_paid: "Diese Bestellung ist bereits bezahlt.",
    expired_checkout: "Diese Kasse ist abgelaufen. Bitte kehren Sie zum Shop zurück und beginnen Sie neu.",
    contact: "Kontakt",
    email: "E-Mail",
    email_missing: "Geben Sie Ihre E-Mail-Adresse ein.",
    name: "Name auf der Karte",
    billing_address: "Rechnungsadresse",
    shipping_same: "An meine Rechnungsadresse liefern",
    shipping_address: "Lieferadresse",
    country: "Land",
    address_line1: "Adresse",
    city: "Ort",
    postal_code: "Postleitzahl",
    zip_code: "ZIP-Code",
    field_missing: "Bitte füllen Sie dieses Feld aus.",
    postal_invalid: "Geben Sie eine gültige {} für dieses Land ein.",
    card: "Karte",
    card_number: "Kartennummer",
    expiry: "Gültig bis (MM / JJ)",
    cvc: "Prüfnummer",
    number_missing: "Geben Sie Ihre Kartennummer ein.",
    number_invalid: "Ihre Kartennummer ist unvollständig oder ungültig.",
    expiry_incomplete: "Geben Sie das Ablaufdatum als MM / JJ ein.",
    expiry_month: "Der Ablaufmonat ist ungültig.",
    expiry_past: "Ihre Karte ist abgelaufen.",
    expiry_year: "Das Ablaufjahr ist ungültig.",
    cvc_length: "Geben Sie die {}-stellige Prüfnummer ein.",
    pay: "{} bezahlen",
    processing: "Wird verarbeitet…",
    pay_on_page: "Stattdessen auf der Seite von {} bezahlen",
    redirecting: "Sie werden zu {} weitergeleitet…",
    paid: "Bezahlt",
    paid_thanks: "Vielen Dank. Ihre Bestellung {} ist bezahlt.",
    secure: "Sichere Kasse — Ihre Karte geht direkt an {}",
    insecure: "Diese Kasse ist nicht über eine sichere Verbindung (HTTPS) geladen und fragt deshalb keine Kartendaten ab. Bitte informieren Sie den Shop.",
    total_changed: "Der Gesamtbetrag hat sich geändert. Bitte prüfen Sie ihn und klicken Sie erneut auf Bezahlen.",
    gateway_unreachable: "Der Zahlungsanbieter ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
    server_unreachable: "Der Zahlungsdienst ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
    retry: "Erneut versuchen",
    method_unavailable: "Diese Zahlungsart ist nicht verfügbar.",
    not_payable: "Diese Bestellung kann nicht mehr bezahlt werden. Bitte kehren Sie zum Shop zurück und beginnen Sie neu.",
    challenge_title: "Zahlung bestätigen",
    challenge_hint: "Ihre Bank bittet Sie, diese Zahlung zu bestätigen.",
    cancel: "Abbrechen",
    challenge_canceled: "Die Zahlung wurde nicht bestätigt. Sie können es erneut versuchen.",
    confirming: "Wir bestätigen Ihre Zahlung bei {}. Das kann einen Moment dauern.",
    came_back: "Sie sind ohne Zahlung zurückgekehrt. Sie können unten bezahlen.",
    not_resumed: "Wenn Sie auf der Seite von {} bezahlt haben, wird Ihre Zahlung gerade bestätigt und der Shop meldet sich bei Ihnen. Sie müssen nicht erneut bezahlen.",
    decline_generic: "Ihre Karte wurde abgelehnt. Bitte verwenden Sie eine andere Karte.",
    decline_funds: "Ihre Karte ist nicht ausreichend gedeckt. Bitte verwenden Sie eine andere Karte.",
    decline_expired: "Ihre Karte ist abgelaufen. Bitte prüfen Sie das Ablaufdatum oder verwenden Sie eine andere Karte.",
    decline_cvc: "Die Prüfnummer ist falsch. Bitte prüfen Sie sie und versuchen Sie es erneut.",
    decline_number: "Die Kartennummer ist falsch. Bitte prüfen Sie sie und versuchen Sie es erneut.",
    decline_postal: "Die Postleitzahl passt nicht zu Ihrer Karte. Bitte prüfen Sie sie und versuchen Sie es erneut.",
    decline_processing: "Ihre Karte konnte nicht verarbeitet werden. Bitte versuchen Sie es gleich noch einmal.",
    decline_authentication: "Ihre Bank konnte diese Zahlung nicht bestätigen. Bitte versuchen Sie es erneut oder verwenden Sie eine andere Karte.",
};

pub static FR: Texts = Texts {
    loading: "Chargement du paiement…",
    order_summary: "Récapitulatif de la commande",
    total: "Total",
    product_unavailable: "Le produit {} n'est pas disponible.",
    session_other_store: "Cette session de paiement appartient à une autre boutique.",
    already_paid: "Cette commande a déjà été payée.",
    expired_checkout: "Ce paiement a expiré. Veuillez retourner à la boutique et recommencer.",
    contact: "Contact",
    email: "E-mail",
    email_missing: "Saisissez votre adresse e-mail.",
    name: "Nom sur la carte",
    billing_address: "Adresse de facturation",
    shipping_same: "Livrer à mon adresse de facturation",
    shipping_address: "Adresse de livraison",
    country: "Pays",
    address_line1: "Adresse",
    city: "Ville",
    postal_code: "Code postal",
    zip_code: "Code ZIP",
    field_missing: "Veuillez remplir ce champ.",
    postal_invalid: "Saisissez un {} valide pour ce pays.",
    card: "Carte",
    card_number: "Numéro de carte",
    expiry: "Expiration (MM / AA)",
    cvc: "Cryptogramme",
    number_missing: "Saisissez votre numéro de carte.",
    number_invalid: "Votre numéro de carte est incomplet ou invalide.",
    expiry_incomplete: "Saisissez la date d'expiration au format MM / AA.",
    expiry_month: "Le mois d'expiration est invalide.",
    expiry_past: "Votre carte a expiré.",
    expiry_year: "L'année d'expiration est invalide.",
    cvc_length: "Saisissez le cryptogramme à {} chiffres.",
    pay: "Payer {}",
    processing: "Traitement…",
    pay_on_page: "Payer plutôt sur la page de {}",
    redirecting: "Redirection vers {}…",
    paid: "Payé",
    paid_thanks: "Merci. Votre commande {} est payée.",
    secure: "Paiement sécurisé — votre carte va directement à {}",
    insecure: "Ce paiement n'est pas chargé via une connexion sécurisée (HTTPS) ; il ne demande donc pas vos données de carte. Veuillez prévenir la boutique.",
    total_changed: "Le total a changé. Vérifiez-le et appuyez de nouveau sur Payer.",
    gateway_unreachable: "Impossible de joindre le prestataire de paiement. Vérifiez votre connexion et réessayez.",
    server_unreachable: "Impossible de joindre le service de paiement. Vérifiez votre connexion et réessayez.",
    retry: "Réessayer",
    method_unavailable: "Ce moyen de paiement n'est pas disponible.",
    not_payable: "Cette commande ne peut plus être payée. Veuillez retourner à la boutique et recommencer.",
    challenge_title: "Confirmez votre paiement",
    challenge_hint: "Votre banque vous demande de confirmer ce paiement.",
    cancel: "Annuler",
    challenge_canceled: "Le paiement n'a pas été confirmé. Vous pouvez réessayer.",
    confirming: "Nous confirmons votre paiement auprès de {}. Cela peut prendre un instant.",
    came_back: "Vous êtes revenu sans payer. Vous pouvez payer ci-dessous.",
    not_resumed: "Si vous avez payé sur la page de {}, votre paiement est en cours de confirmation et la boutique vous tiendra informé. Inutile de payer à nouveau.",
    decline_generic: "Votre carte a été refusée. Veuillez utiliser une autre carte.",
    decline_funds: "Le solde de votre carte est insuffisant. Veuillez utiliser une autre carte.",
    decline_expired: "Votre carte a expiré. Vérifiez la date d'expiration ou utilisez une autre carte.",
    decline_cvc: "Le cryptogramme est incorrect. Vérifiez-le et réessayez.",
    decline_number: "Le numéro de carte est incorrect. Vérifiez-le et réessayez.",
    decline_postal: "Le code postal ne correspond pas à votre carte. Vérifiez-le et réessayez.",
    decline_processing: "Nous n'avons pas pu traiter votre carte. Réessayez dans un instant.",
    decline_authentication: "Votre banque n'a pas pu confirmer ce paiement. Réessayez ou utilisez une autre carte.",
};

pub static ES: Texts = Texts {
    loading: "Cargando el pago…",
    order_summary: "Resumen del pedido",
    total: "Total",
    product_unavailable: "El producto {} no está disponible.",
    session_other_store: "Esta sesión de pago pertenece a otra tienda.",
    already_paid: "Este pedido ya está pagado.",
    expired_checkout: "Este pago ha caducado. Vuelve a la tienda y empieza de nuevo.",
    contact: "Contacto",
    email: "Correo electrónico",
    email_missing: "Introduce tu correo electrónico.",
    name: "Nombre en la tarjeta",
    billing_address: "Dirección de facturación",
    shipping_same: "Enviar a mi dirección de facturación",
    shipping_address: "Dirección de envío",
    country: "País",
    address_line1: "Dirección",
    city: "Ciudad",
    postal_code: "Código postal",
    zip_code: "Código ZIP",
    field_missing: "Rellena este campo.",
    postal_invalid: "Introduce un {} válido para este país.",
    card: "Tarjeta",
    card_number: "Número de tarjeta",
    expiry: "Caducidad (MM / AA)",
    cvc: "Código de seguridad",
    number_missing: "Introduce el número de tu tarjeta.",
    number_invalid: "El número de tu tarjeta está incompleto o no es válido.",
    expiry_incomplete: "Introduce la fecha de caducidad como MM / AA.",
    expiry_month: "El mes de caducidad no es válido.",
    expiry_past: "Tu tarjeta ha caducado.",
    expiry_year: "El año de caducidad no es válido.",
    cvc_length: "Introduce el código de seguridad de {} dígitos.",
    pay: "Pagar {}",
    processing: "Procesando…",
    pay_on_page: "Pagar en la página de {}",
    redirecting: "Te llevamos a {}…",
    paid: "Pagado",
    paid_thanks: "Gracias. Tu pedido {} está pagado.",
    secure: "Pago seguro: tu tarjeta va directamente a {}",
    insecure: "Este pago no se ha cargado mediante una conexión segura (HTTPS), así que no pide los datos de la tarjeta. Avisa a la tienda.",
    total_changed: "El total ha cambiado. Revísalo y pulsa Pagar de nuevo.",
    gateway_unreachable: "No pudimos contactar con la pasarela de pago. Comprueba tu conexión e inténtalo de nuevo.",
    server_unreachable: "No pudimos contactar con el servicio de pago. Comprueba tu conexión e inténtalo de nuevo.",
    retry: "Reintentar",
    method_unavailable: "Este método de pago no está disponible.",
    not_payable: "Este pedido ya no se puede pagar. Vuelve a la tienda y empieza de nuevo.",
    challenge_title: "Confirma tu pago",
    challenge_hint: "Tu banco te pide que confirmes este pago.",
    cancel: "Cancelar",
    challenge_canceled: "El pago no se confirmó. Puedes intentarlo de nuevo.",
    confirming: "Estamos confirmando tu pago con {}. Puede tardar un momento.",
    came_back: "Has vuelto sin pagar. Puedes pagar aquí abajo.",
    not_resumed: "Si pagaste en la página de {}, tu pago se está confirmando y la tienda te avisará. No hace falta pagar de nuevo.",
    decline_generic: "Tu tarjeta ha sido rechazada. Usa otra tarjeta.",
    decline_funds: "Tu tarjeta no tiene fondos suficientes. Usa otra tarjeta.",
    decline_expired: "Tu tarjeta ha caducado. Revisa la fecha de caducidad o usa otra tarjeta.",
    decline_cvc: "El código de seguridad es incorrecto. Revísalo e inténtalo de nuevo.",
    decline_number: "El número de tarjeta es incorrecto. Revísalo e inténtalo de nuevo.",
    decline_postal: "El código postal no coincide con tu tarjeta. Revísalo e inténtalo de nuevo.",
    decline_processing: "No pudimos procesar tu tarjeta. Inténtalo de nuevo en un momento.",
    decline_authentication: "Tu banco no pudo confirmar este pago. Inténtalo de nuevo o usa otra tarjeta.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_first_supported_language() {
        assert_eq!(Locale::pick(["it-IT", "de-AT", "en"]), Locale::De);
        assert_eq!(Locale::pick(["fr_CA"]), Locale::Fr);
        assert_eq!(Locale::pick(["ES"]), Locale::Es);
        assert_eq!(Locale::pick(["ja", ""]), Locale::En);
    }

    #[test]
    fn fill_replaces_the_first_placeholder() {
        assert_eq!(fill("Pay {}", "$5.00"), "Pay $5.00");
        assert_eq!(fill("{} bezahlen", "5,00 €"), "5,00 € bezahlen");
        assert_eq!(fill("à {} chiffres {}", "4"), "à 4 chiffres {}");
        assert_eq!(fill("none", "x"), "none");
    }

    #[test]
    fn every_language_fills_its_values_and_knows_every_decline() {
        for locale in [Locale::En, Locale::De, Locale::Fr, Locale::Es] {
            let t = locale.texts();
            for text in [t.pay, t.paid_thanks, t.secure, t.cvc_length, t.product_unavailable, t.confirming] {
                assert_eq!(text.matches("{}").count(), 1, "{locale:?}: {text}");
            }
            for code in ["card_declined", "insufficient_funds", "expired_card", "incorrect_cvc", "processing_error"] {
                assert!(t.decline(code).is_some(), "{locale:?}: {code}");
            }
        }
    }
}
