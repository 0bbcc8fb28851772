//! The Stripe-style scheme.

use paylet_secret::Secret;

use crate::{VerifyError, digest, matches, within_tolerance};

/// The `Stripe-Signature` value for `payload` at `timestamp`, with one `v1`
/// per secret (two while a secret is being rolled).
pub fn header(secrets: &[&Secret], timestamp: i64, payload: &[u8]) -> Result<String, VerifyError> {
    let mut out = format!("t={timestamp}");
    for secret in secrets {
        let signature = digest(secret.expose().as_bytes(), &[timestamp.to_string().as_bytes(), b".", payload])?;
        out.push_str(",v1=");
        out.push_str(&hex::encode(signature));
    }
    Ok(out)
}

/// Checks `header` against `payload` with any of `secrets` and returns the signed
/// timestamp. Every `v1` entry is tried; other schemes (Stripe's test-mode `v0`)
/// are ignored, so a downgrade is impossible.
pub fn verify(header: &str, payload: &[u8], secrets: &[&Secret], tolerance: i64, now: i64) -> Result<i64, VerifyError> {
    if header.trim().is_empty() {
        return Err(VerifyError::MissingHeader);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let (key, value) = item.trim().split_once('=').ok_or(VerifyError::MalformedHeader)?;
        match key {
            "t" => timestamp = Some(value.parse::<i64>().map_err(|_| VerifyError::MalformedHeader)?),
            "v1" => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::MalformedHeader)?;
    if signatures.is_empty() {
        return Err(VerifyError::NoSupportedSignature);
    }
    if secrets.iter().all(|s| s.expose().is_empty()) {
        return Err(VerifyError::InvalidSecret);
    }
    let ts = timestamp.to_string();
    let signed: [&[u8]; 3] = [ts.as_bytes(), b".", payload];
    let ok = signatures
        .iter()
        .filter_map(|s| hex::decode(s).ok())
        .any(|candidate| secrets.iter().any(|secret| matches(secret.expose().as_bytes(), &signed, &candidate)));
    if !ok {
        return Err(VerifyError::Mismatch);
    }
    // Checked after the signature, so only a genuine but stale message is reported as stale.
    if !within_tolerance(timestamp, now, tolerance) {
        return Err(VerifyError::TimestampOutOfTolerance);
    }
    Ok(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_TOLERANCE_SECS as TOL;
    use proptest::prelude::*;

    /// stripe-dotnet's fixed vector (`EventUtilityTest`): secret `webhook_secret`,
    /// t=1533204620, the 484-byte event below including its final newline.
    const DOTNET_PAYLOAD: &str = "{\n  \"id\": \"evt_123\",\n  \"object\": \"event\",\n  \"account\": \"acct_123\",\n  \"api_version\": \"2017-05-25\",\n  \"created\": 1533204620,\n  \"data\": {\n    \"object\": {\n      \"id\": \"cus_123\",\n      \"object\": \"customer\",\n      \"created\": 123456789,\n      \"email\": \"test@stripe.com\",\n      \"livemode\": false,\n      \"metadata\": {}\n    }\n  },\n  \"livemode\": false,\n  \"pending_webhooks\": 1,\n  \"request\": {\n    \"id\": \"req_123\",\n    \"idempotency_key\": \"idempotency-key-123\"\n  },\n  \"type\": \"customer.created\"\n}\n";
    const DOTNET_HEADER: &str = "t=1533204620,v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7,v0=63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef";

    #[test]
    fn verifies_stripes_published_vector() {
        assert_eq!(DOTNET_PAYLOAD.len(), 484);
        let secret = Secret::from("webhook_secret");
        assert_eq!(verify(DOTNET_HEADER, DOTNET_PAYLOAD.as_bytes(), &[&secret], TOL, 1533204620), Ok(1533204620));
        let signed = header(&[&secret], 1533204620, DOTNET_PAYLOAD.as_bytes()).unwrap();
        assert!(DOTNET_HEADER.starts_with(&signed));
    }

    #[test]
    fn the_whole_whsec_string_is_the_key() {
        // Computed with: printf '1234567890.{"id":"evt_test_webhook","object":"event"}' |
        //   openssl dgst -sha256 -hmac whsec_test_secret
        let secret = Secret::from("whsec_test_secret");
        let body = br#"{"id":"evt_test_webhook","object":"event"}"#;
        assert_eq!(
            header(&[&secret], 1234567890, body).unwrap(),
            "t=1234567890,v1=5e2bdf0110b0906e8d06c8c63fb219b297c872fdbd42f2d6b8c665c4c7a4d3ff"
        );
    }

    #[test]
    fn any_v1_may_match_during_rotation() {
        let (old, new) = (Secret::from("whsec_old"), Secret::from("whsec_new"));
        let h = header(&[&new, &old], 100, b"{}").unwrap();
        assert_eq!(h.matches("v1=").count(), 2);
        assert_eq!(verify(&h, b"{}", &[&old], TOL, 100), Ok(100));
        assert_eq!(verify(&h, b"{}", &[&new], TOL, 100), Ok(100));
        assert_eq!(verify(&h, b"{}", &[&Secret::from("whsec_other")], TOL, 100), Err(VerifyError::Mismatch));
    }

    #[test]
    fn truncated_empty_and_foreign_signatures_fail() {
        let secret = Secret::from("whsec_x");
        let good = header(&[&secret], 100, b"{}").unwrap();
        let sig = good.split("v1=").nth(1).unwrap();
        for bad in [
            "t=100,v1=".to_owned(),
            format!("t=100,v1={}", &sig[..8]),
            format!("t=100,v1={}", &sig[..63]),
            format!("t=100,v0={sig}"),
            format!("t=100,v2={sig}"),
            format!("t=100,v1={sig}00"),
            format!("t=100,v1={}", sig.to_uppercase().replace(|c: char| c.is_ascii_digit(), "g")),
        ] {
            assert!(verify(&bad, b"{}", &[&secret], TOL, 100).is_err(), "{bad}");
        }
        assert_eq!(verify("", b"{}", &[&secret], TOL, 100), Err(VerifyError::MissingHeader));
        assert_eq!(verify(&format!("v1={sig}"), b"{}", &[&secret], TOL, 100), Err(VerifyError::MalformedHeader));
        assert_eq!(verify("t=abc,v1=00", b"{}", &[&secret], TOL, 100), Err(VerifyError::MalformedHeader));
    }

    #[test]
    fn stale_and_far_future_timestamps_fail() {
        let secret = Secret::from("whsec_x");
        let h = header(&[&secret], 1000, b"{}").unwrap();
        assert_eq!(verify(&h, b"{}", &[&secret], 300, 1300), Ok(1000));
        assert_eq!(verify(&h, b"{}", &[&secret], 300, 1301), Err(VerifyError::TimestampOutOfTolerance));
        assert_eq!(verify(&h, b"{}", &[&secret], 300, 699), Err(VerifyError::TimestampOutOfTolerance));
        let h = header(&[&secret], i64::MIN, b"{}").unwrap();
        assert_eq!(verify(&h, b"{}", &[&secret], 300, 1000), Err(VerifyError::TimestampOutOfTolerance));
    }

    #[test]
    fn an_empty_secret_never_verifies() {
        let empty = Secret::from("");
        assert!(header(&[&empty], 1, b"x").is_err());
        assert_eq!(verify("t=1,v1=00", b"x", &[&empty], TOL, 1), Err(VerifyError::InvalidSecret));
    }

    proptest! {
        #[test]
        fn any_change_fails(body in proptest::collection::vec(any::<u8>(), 0..256), pos in any::<prop::sample::Index>(), flip in 1u8.., ts in 0i64..2_000_000_000, dt in 1i64..1000) {
            let secret = Secret::from("whsec_prop");
            let h = header(&[&secret], ts, &body).unwrap();
            prop_assert_eq!(verify(&h, &body, &[&secret], TOL, ts), Ok(ts));
            if !body.is_empty() {
                let mut changed = body.clone();
                let i = pos.index(changed.len());
                changed[i] ^= flip;
                prop_assert_eq!(verify(&h, &changed, &[&secret], TOL, ts), Err(VerifyError::Mismatch));
            }
            let moved = h.replacen(&format!("t={ts}"), &format!("t={}", ts + dt), 1);
            prop_assert_eq!(verify(&moved, &body, &[&secret], TOL, ts), Err(VerifyError::Mismatch));
            prop_assert_eq!(verify(&h, &body, &[&Secret::from("whsec_prop2")], TOL, ts), Err(VerifyError::Mismatch));
        }
    }
}
