//! Standard Webhooks (<https://www.standardwebhooks.com>), for the deliveries
//! Paylet itself sends to merchants.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use paylet_secret::Secret;

use crate::{VerifyError, digest, matches, within_tolerance};

/// A Standard Webhooks secret: `whsec_` followed by base64 of 24 to 64 random bytes.
#[derive(Debug, Clone)]
pub struct SigningSecret(Secret<Vec<u8>>);

impl SigningSecret {
    pub fn parse(text: &str) -> Result<SigningSecret, VerifyError> {
        let encoded = text.strip_prefix("whsec_").unwrap_or(text);
        let key = STANDARD.decode(encoded).map_err(|_| VerifyError::InvalidSecret)?;
        if key.is_empty() {
            return Err(VerifyError::InvalidSecret);
        }
        Ok(SigningSecret(Secret::new(key)))
    }

    /// A new secret from 32 random bytes, and its `whsec_…` text to show once.
    pub fn from_bytes(bytes: &[u8]) -> (SigningSecret, Secret) {
        let text = format!("whsec_{}", STANDARD.encode(bytes));
        (SigningSecret(Secret::new(bytes.to_vec())), Secret::new(text))
    }
}

fn signed_parts<'a>(id: &'a str, timestamp: &'a str, payload: &'a [u8]) -> [&'a [u8]; 5] {
    [id.as_bytes(), b".", timestamp.as_bytes(), b".", payload]
}

/// `webhook-signature` for a message: `v1,<base64>` per secret, space separated.
pub fn sign(secrets: &[&SigningSecret], id: &str, timestamp: i64, payload: &[u8]) -> Result<String, VerifyError> {
    let ts = timestamp.to_string();
    let mut signatures = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let mac = digest(secret.0.expose(), &signed_parts(id, &ts, payload))?;
        signatures.push(format!("v1,{}", STANDARD.encode(mac)));
    }
    Ok(signatures.join(" "))
}

/// Verifies a delivery. `timestamp` is the `webhook-timestamp` header as sent.
pub fn verify(
    id: &str,
    timestamp: &str,
    signature: &str,
    payload: &[u8],
    secrets: &[&SigningSecret],
    tolerance: i64,
    now: i64,
) -> Result<i64, VerifyError> {
    if id.is_empty() || timestamp.is_empty() || signature.trim().is_empty() {
        return Err(VerifyError::MissingHeader);
    }
    let ts: i64 = timestamp.parse().map_err(|_| VerifyError::MalformedHeader)?;
    let parts = signed_parts(id, timestamp, payload);
    let mut any_v1 = false;
    let mut ok = false;
    for entry in signature.split_whitespace() {
        let Some(encoded) = entry.strip_prefix("v1,") else { continue };
        any_v1 = true;
        if let Ok(candidate) = STANDARD.decode(encoded) {
            ok |= secrets.iter().any(|s| matches(s.0.expose(), &parts, &candidate));
        }
    }
    if !any_v1 {
        return Err(VerifyError::NoSupportedSignature);
    }
    if !ok {
        return Err(VerifyError::Mismatch);
    }
    if !within_tolerance(ts, now, tolerance) {
        return Err(VerifyError::TimestampOutOfTolerance);
    }
    Ok(ts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_TOLERANCE_SECS as TOL;
    use proptest::prelude::*;

    #[test]
    fn matches_the_published_vectors() {
        // standard-webhooks libraries/rust `test_sign` (also svix-webhooks).
        let secret = SigningSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let payload = br#"{"email":"test@example.com","username":"test_user"}"#;
        let sig = sign(&[&secret], "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, payload).unwrap();
        assert_eq!(sig, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
        // libraries/python, javascript and go `sign` tests.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let (id, ts, payload) = ("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", br#"{"test": 2432232314}"#);
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(sign(&[&secret], id, 1614265330, payload).unwrap(), good);
        assert_eq!(verify(id, ts, good, payload, &[&secret], TOL, 1614265330), Ok(1614265330));
        let near_miss = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";
        assert_eq!(verify(id, ts, near_miss, payload, &[&secret], TOL, 1614265330), Err(VerifyError::Mismatch));
        // Decoys and other versions next to the real one are fine; alone they fail.
        let decoys = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
        assert_eq!(verify(id, ts, &format!("{decoys} {good}"), payload, &[&secret], TOL, 1614265330), Ok(1614265330));
        assert_eq!(verify(id, ts, decoys, payload, &[&secret], TOL, 1614265330), Err(VerifyError::Mismatch));
    }

    #[test]
    fn empty_and_truncated_signatures_never_match() {
        // The reference Rust verifier once accepted `v1,` by comparing up to the shorter length.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let (id, ts, payload) = ("msg_1", "1000", b"{}".as_slice());
        let good = sign(&[&secret], id, 1000, payload).unwrap();
        for bad in ["v1,".to_owned(), good[..11].to_owned(), good[..good.len() - 2].to_owned(), "v1,!!!!".to_owned()] {
            assert_eq!(verify(id, ts, &bad, payload, &[&secret], TOL, 1000), Err(VerifyError::Mismatch), "{bad}");
        }
        assert_eq!(
            verify(id, ts, &good.replace("v1,", "v2,"), payload, &[&secret], TOL, 1000),
            Err(VerifyError::NoSupportedSignature)
        );
        assert_eq!(verify(id, ts, "", payload, &[&secret], TOL, 1000), Err(VerifyError::MissingHeader));
        assert_eq!(verify(id, "soon", &good, payload, &[&secret], TOL, 1000), Err(VerifyError::MalformedHeader));
    }

    #[test]
    fn timestamps_are_checked_both_ways() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let good = sign(&[&secret], "m", 1000, b"x").unwrap();
        assert!(verify("m", "1000", &good, b"x", &[&secret], TOL, 1300).is_ok());
        assert_eq!(verify("m", "1000", &good, b"x", &[&secret], TOL, 1301), Err(VerifyError::TimestampOutOfTolerance));
        assert_eq!(verify("m", "1000", &good, b"x", &[&secret], TOL, 699), Err(VerifyError::TimestampOutOfTolerance));
    }

    #[test]
    fn secrets_must_decode_to_bytes() {
        assert!(SigningSecret::parse("whsec_").is_err());
        assert!(SigningSecret::parse("whsec_%%%").is_err());
        let (secret, text) = SigningSecret::from_bytes(&[7; 32]);
        let reparsed = SigningSecret::parse(text.expose()).unwrap();
        assert_eq!(sign(&[&secret], "a", 1, b"b").unwrap(), sign(&[&reparsed], "a", 1, b"b").unwrap());
        assert_eq!(format!("{secret:?}"), "SigningSecret(Secret(***))");
    }

    proptest! {
        #[test]
        fn any_change_fails(payload in proptest::collection::vec(any::<u8>(), 1..256), pos in any::<prop::sample::Index>(), flip in 1u8.., ts in 0i64..2_000_000_000) {
            let (secret, _) = SigningSecret::from_bytes(&[9; 32]);
            let sig = sign(&[&secret], "msg_a", ts, &payload).unwrap();
            let t = ts.to_string();
            prop_assert_eq!(verify("msg_a", &t, &sig, &payload, &[&secret], TOL, ts), Ok(ts));
            let mut changed = payload.clone();
            let i = pos.index(changed.len());
            changed[i] ^= flip;
            prop_assert_eq!(verify("msg_a", &t, &sig, &changed, &[&secret], TOL, ts), Err(VerifyError::Mismatch));
            prop_assert_eq!(verify("msg_b", &t, &sig, &payload, &[&secret], TOL, ts), Err(VerifyError::Mismatch));
            prop_assert_eq!(verify("msg_a", &(ts + 1).to_string(), &sig, &payload, &[&secret], TOL, ts), Err(VerifyError::Mismatch));
            let (other, _) = SigningSecret::from_bytes(&[8; 32]);
            prop_assert_eq!(verify("msg_a", &t, &sig, &payload, &[&other], TOL, ts), Err(VerifyError::Mismatch));
        }
    }
}
