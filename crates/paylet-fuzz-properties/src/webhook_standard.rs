//! Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`),
//! the scheme Paylet signs its own notifications with, and `whsec_` secret
//! parsing. Never a panic; a message verifies only if one `v1,` entry decodes
//! to the HMAC of `"{id}.{timestamp}.{payload}"` (the timestamp as sent),
//! computed here independently; a genuine message always verifies, and one
//! byte changed anywhere in id, timestamp, signature or payload is caught.

use arbitrary::Arbitrary;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use paylet_webhook::DEFAULT_TOLERANCE_SECS as TOL;
use paylet_webhook::standard::{self, SigningSecret};
use sha2::Sha256;

const KEY: [u8; 32] = [0x5a; 32];

#[derive(Debug, Arbitrary)]
enum Input<'a> {
    Raw {
        id: &'a str,
        timestamp: &'a str,
        signature: &'a str,
        payload: &'a [u8],
        now: i64,
    },
    Secret {
        text: &'a str,
    },
    /// A genuine message, then one byte changed in the id (0), the timestamp
    /// (1), the signature (2) or the payload (3).
    Mutated {
        id: &'a str,
        payload: &'a [u8],
        timestamp: i64,
        part: u8,
        at: usize,
        to: u8,
    },
}

fn expected(id: &str, timestamp: &str, payload: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&KEY) else { unreachable!() };
    for part in [id.as_bytes(), b".", timestamp.as_bytes(), b".", payload] {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn check(id: &str, timestamp: &str, signature: &str, payload: &[u8], now: i64) {
    let (secret, _) = SigningSecret::from_bytes(&KEY);
    if let Ok(t) = standard::verify(id, timestamp, signature, payload, &[&secret], TOL, now) {
        let want = expected(id, timestamp, payload);
        let genuine = signature
            .split_whitespace()
            .filter_map(|e| e.strip_prefix("v1,"))
            .any(|s| STANDARD.decode(s).is_ok_and(|got| got == want));
        assert!(genuine, "verified without a genuine signature: {signature:?}");
        assert_eq!(timestamp.parse::<i64>().ok(), Some(t));
        assert!(now.abs_diff(t) <= TOL.unsigned_abs());
    }
}

/// `s` with one byte changed, if that leaves different, valid UTF-8.
fn changed(s: &str, at: usize, to: u8) -> Option<String> {
    let mut bytes = s.as_bytes().to_vec();
    if bytes.is_empty() {
        return None;
    }
    let i = at % bytes.len();
    if bytes[i] == to {
        return None;
    }
    bytes[i] = to;
    String::from_utf8(bytes).ok()
}

/// The `webhook_standard` property on one input, read as `fuzz_target!` reads an
/// `Input` from the bytes (skipped if they are not one).
pub fn webhook_standard(bytes: &[u8]) {
    let Some(input) = crate::input::<Input<'_>>(bytes) else { return };
    match input {
        Input::Raw { id, timestamp, signature, payload, now } => check(id, timestamp, signature, payload, now),
        Input::Secret { text } => {
            if let Ok(secret) = SigningSecret::parse(text) {
                let sig = standard::sign(&[&secret], "msg", 1, b"{}");
                assert!(sig.is_ok_and(|s| s.starts_with("v1,")));
            }
        }
        Input::Mutated { id, payload, timestamp, part, at, to } => {
            let (secret, _) = SigningSecret::from_bytes(&KEY);
            let Ok(signature) = standard::sign(&[&secret], id, timestamp, payload) else { unreachable!() };
            let ts = timestamp.to_string();
            if !id.is_empty() {
                assert_eq!(standard::verify(id, &ts, &signature, payload, &[&secret], TOL, timestamp), Ok(timestamp));
            }
            match part % 4 {
                0 => {
                    if let Some(id) = changed(id, at, to) {
                        check(&id, &ts, &signature, payload, timestamp);
                    }
                }
                1 => {
                    if let Some(ts) = changed(&ts, at, to) {
                        check(id, &ts, &signature, payload, timestamp);
                    }
                }
                2 => {
                    if let Some(signature) = changed(&signature, at, to) {
                        check(id, &ts, &signature, payload, timestamp);
                    }
                }
                _ => {
                    let mut payload = payload.to_vec();
                    if !payload.is_empty() {
                        let i = at % payload.len();
                        if payload[i] != to {
                            payload[i] = to;
                            let verified = standard::verify(id, &ts, &signature, &payload, &[&secret], TOL, timestamp);
                            assert!(verified.is_err());
                        }
                    }
                }
            }
        }
    }
}
