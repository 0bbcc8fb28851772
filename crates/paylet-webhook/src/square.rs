//! The Square-style scheme: no timestamp, so no replay window; receivers must
//! deduplicate by event id.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use paylet_secret::Secret;

use crate::{VerifyError, digest, matches};

/// The `x-square-hmacsha256-signature` value. `notification_url` must be the
/// subscription's URL exactly as registered; `body` the exact bytes sent.
pub fn sign(key: &Secret, notification_url: &str, body: &[u8]) -> Result<String, VerifyError> {
    Ok(STANDARD.encode(digest(key.expose().as_bytes(), &[notification_url.as_bytes(), body])?))
}

/// Checks the header against any of `keys` (two while a key is being replaced).
pub fn verify(header: &str, keys: &[&Secret], notification_url: &str, body: &[u8]) -> Result<(), VerifyError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(VerifyError::MissingHeader);
    }
    if keys.iter().all(|k| k.expose().is_empty()) {
        return Err(VerifyError::InvalidSecret);
    }
    let candidate = STANDARD.decode(header).map_err(|_| VerifyError::MalformedHeader)?;
    let ok = keys.iter().any(|k| matches(k.expose().as_bytes(), &[notification_url.as_bytes(), body], &candidate));
    if ok { Ok(()) } else { Err(VerifyError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Square's SDK test vector (square-python-sdk, square-nodejs-sdk, square-java-sdk).
    const KEY: &str = "Ibxx_5AKakO-3qeNVR61Dw";
    const URL: &str = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9";
    const BODY: &str = r#"{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}"#;
    const SIGNATURE: &str = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=";

    #[test]
    fn matches_squares_published_vectors() {
        let key = Secret::from(KEY);
        assert_eq!(sign(&key, URL, BODY.as_bytes()).unwrap(), SIGNATURE);
        assert_eq!(verify(SIGNATURE, &[&key], URL, BODY.as_bytes()), Ok(()));
        let key = Secret::from("signature-key");
        let url = "https://webhook.site/webhooks";
        assert_eq!(
            sign(&key, url, br#"{"data":{"type":"webhooks","id":"fake_id"}}"#).unwrap(),
            "W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA="
        );
        // `>` and `<` are signed as sent, never re-escaped.
        assert_eq!(
            sign(&key, url, br#"{"data":{"type":"webhooks","id":">id<"}}"#).unwrap(),
            "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U="
        );
    }

    #[test]
    fn squares_negative_cases_fail() {
        let key = Secret::from(KEY);
        let body = BODY.as_bytes();
        assert_eq!(
            verify(SIGNATURE, &[&key], "https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9", body),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(SIGNATURE, &[&Secret::from("MCmhFRxGX82xMwg5FsaoQA")], URL, body),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(verify("1z2n3DEJJiUPKcPzQo1ftvbxGdw=", &[&key], URL, body), Err(VerifyError::Mismatch));
        let changed = BODY.replace("2022-07-13", "2022-06-13");
        assert_eq!(verify(SIGNATURE, &[&key], URL, changed.as_bytes()), Err(VerifyError::Mismatch));
        assert_eq!(verify("", &[&key], URL, body), Err(VerifyError::MissingHeader));
        assert_eq!(verify("not base64!", &[&key], URL, body), Err(VerifyError::MalformedHeader));
        // A prefix of the signature is still base64; the length check rejects it.
        assert_eq!(verify(&SIGNATURE[..20], &[&key], URL, body), Err(VerifyError::Mismatch));
        assert_eq!(verify(SIGNATURE, &[&Secret::from("")], URL, body), Err(VerifyError::InvalidSecret));
    }

    proptest! {
        #[test]
        fn any_change_fails(body in proptest::collection::vec(any::<u8>(), 1..256), pos in any::<prop::sample::Index>(), flip in 1u8..) {
            let key = Secret::from("prop-key");
            let sig = sign(&key, URL, &body).unwrap();
            prop_assert_eq!(verify(&sig, &[&key], URL, &body), Ok(()));
            let mut changed = body.clone();
            let i = pos.index(changed.len());
            changed[i] ^= flip;
            prop_assert_eq!(verify(&sig, &[&key], URL, &changed), Err(VerifyError::Mismatch));
            prop_assert_eq!(verify(&sig, &[&Secret::from("prop-key2")], URL, &body), Err(VerifyError::Mismatch));
            prop_assert_eq!(verify(&sig, &[&key], "https://webhook.site/other", &body), Err(VerifyError::Mismatch));
        }
    }
}
