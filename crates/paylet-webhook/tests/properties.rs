//! Property tests of the three signature schemes against an HMAC computed
//! here, independently of the crate: any header (arbitrary text, or built
//! from plausible pieces next to the genuine signature) never panics and
//! verifies only when it carries the genuine signature; a genuine signature
//! always verifies; and one byte changed anywhere in signature, body or
//! timestamp is refused. The fuzz targets in `fuzz/` run the same checks for
//! longer (`cargo xtask bench fuzz`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use paylet_secret::Secret;
use paylet_webhook::standard::{self, SigningSecret};
use paylet_webhook::{DEFAULT_TOLERANCE_SECS as TOL, VerifyError, square, stripe};
use proptest::prelude::*;
use proptest::sample::Index;
use sha2::Sha256;

const STRIPE_SECRET: &str = "whsec_property_secret";
const SQUARE_KEY: &str = "property-signature-key";
const SQUARE_URL: &str = "https://pay.example/v1/webhooks/st_prop/square";
const STANDARD_KEY: [u8; 32] = [0x42; 32];

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn stripe_mac(timestamp: i64, body: &[u8]) -> Vec<u8> {
    hmac(STRIPE_SECRET.as_bytes(), &[timestamp.to_string().as_bytes(), b".", body])
}

/// Whether a Stripe-style header carries the genuine `v1` for `body` at `t`.
fn stripe_genuine(header: &str, body: &[u8], t: i64) -> bool {
    let want = stripe_mac(t, body);
    header.split(',').filter_map(|i| i.trim().strip_prefix("v1=")).any(|v| hex::decode(v).is_ok_and(|g| g == want))
}

/// What Stripe's rules say about a header: malformed unless every item is
/// `key=value` and every `t` is an integer, the last `t` counting; verified
/// when a `v1` is the genuine signature at that `t` and `t` is recent.
fn stripe_model(header: &str, body: &[u8], now: i64) -> bool {
    let mut t = None;
    for item in header.split(',') {
        let Some((key, value)) = item.trim().split_once('=') else { return false };
        if key == "t" {
            match value.parse::<i64>() {
                Ok(v) => t = Some(v),
                Err(_) => return false,
            }
        }
    }
    t.is_some_and(|t| stripe_genuine(header, body, t) && now.abs_diff(t) <= TOL.unsigned_abs())
}

/// Pieces a Stripe-style header is made of, real and fake.
fn stripe_item(body: Vec<u8>, ts: i64) -> impl Strategy<Value = String> {
    let genuine = hex::encode(stripe_mac(ts, &body));
    prop_oneof![
        Just(format!("t={ts}")),
        (-5i64..5).prop_map(move |d| format!("t={}", ts.saturating_add(d * 200))),
        Just(format!("v1={genuine}")),
        Just(format!("v1={}", genuine.to_uppercase())),
        Just(format!("v0={genuine}")),
        (0..64usize).prop_map(move |n| format!("v1={}", &genuine[..n])),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| format!("v1={}", hex::encode(b))),
        "[a-z0-9]{0,3}=[ -~]{0,12}",
        "[ -~]{0,12}",
    ]
}

fn square_mac(url: &str, body: &[u8]) -> Vec<u8> {
    hmac(SQUARE_KEY.as_bytes(), &[url.as_bytes(), body])
}

fn standard_mac(id: &str, timestamp: &str, payload: &[u8]) -> Vec<u8> {
    hmac(&STANDARD_KEY, &[id.as_bytes(), b".", timestamp.as_bytes(), b".", payload])
}

fn standard_genuine(id: &str, timestamp: &str, signature: &str, payload: &[u8]) -> bool {
    let want = standard_mac(id, timestamp, payload);
    signature
        .split_whitespace()
        .filter_map(|e| e.strip_prefix("v1,"))
        .any(|s| STANDARD.decode(s).is_ok_and(|got| got == want))
}

/// `text` with the byte at `at` replaced by `to`, when that is still UTF-8.
fn replace_byte(text: &str, at: Index, to: u8) -> Option<(String, u8)> {
    let mut bytes = text.as_bytes().to_vec();
    let i = at.index(bytes.len());
    let was = bytes[i];
    bytes[i] = to;
    (was != to).then(|| String::from_utf8(bytes).ok().map(|s| (s, was))).flatten()
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..200)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn stripe_any_header_verifies_only_when_genuinely_signed(header in "\\PC{0,200}", body in bytes(), now in any::<i64>()) {
        let secret = Secret::from(STRIPE_SECRET);
        if let Ok(t) = stripe::verify(&header, &body, &[&secret], TOL, now) {
            prop_assert!(stripe_genuine(&header, &body, t));
        }
    }

    #[test]
    fn stripe_headers_made_of_real_and_fake_pieces_follow_the_rules(
        (body, ts, items) in (bytes(), 0i64..4_000_000_000).prop_flat_map(|(body, ts)| {
            let items = proptest::collection::vec(stripe_item(body.clone(), ts), 0..5);
            (Just(body), Just(ts), items)
        }),
        spaced in any::<bool>(),
    ) {
        let header = items.join(if spaced { ", " } else { "," });
        let secret = Secret::from(STRIPE_SECRET);
        let verified = stripe::verify(&header, &body, &[&secret], TOL, ts);
        prop_assert_eq!(verified.is_ok(), stripe_model(&header, &body, ts), "{:?}: {:?}", header, verified);
        if let Ok(t) = verified {
            prop_assert!(stripe_genuine(&header, &body, t));
        }
    }

    #[test]
    fn stripe_genuine_verifies_and_any_changed_byte_fails(
        body in bytes(), ts in 0i64..4_000_000_000, at in any::<Index>(), to in any::<u8>(), in_body in any::<bool>(),
    ) {
        let secret = Secret::from(STRIPE_SECRET);
        let header = stripe::header(&[&secret], ts, &body).unwrap();
        prop_assert_eq!(stripe::verify(&header, &body, &[&secret], TOL, ts), Ok(ts));
        if in_body && !body.is_empty() {
            let mut changed = body.clone();
            let i = at.index(changed.len());
            prop_assume!(changed[i] != to);
            changed[i] = to;
            prop_assert_eq!(stripe::verify(&header, &changed, &[&secret], TOL, ts), Err(VerifyError::Mismatch));
        } else if let Some((changed, was)) = replace_byte(&header, at, to) {
            // The timestamp, a separator, a name or a hex digit: refused,
            // unless only the case of a hex letter changed (the same bytes).
            let verified = stripe::verify(&changed, &body, &[&secret], TOL, ts);
            prop_assert!(verified.is_err() || was.eq_ignore_ascii_case(&to), "{:?} verified", changed);
        }
    }

    #[test]
    fn square_any_header_verifies_only_when_genuinely_signed(header in "\\PC{0,80}", url in "\\PC{0,40}", body in bytes()) {
        let key = Secret::from(SQUARE_KEY);
        let result = square::verify(&header, &[&key], &url, &body);
        let genuine = STANDARD.decode(header.trim()).is_ok_and(|g| g == square_mac(&url, &body));
        prop_assert_eq!(result.is_ok(), genuine);
    }

    #[test]
    fn square_genuine_verifies_and_any_changed_byte_fails(body in bytes(), part in 0..3u8, at in any::<Index>(), to in any::<u8>()) {
        let key = Secret::from(SQUARE_KEY);
        let signature = square::sign(&key, SQUARE_URL, &body).unwrap();
        prop_assert_eq!(STANDARD.decode(&signature).unwrap(), square_mac(SQUARE_URL, &body));
        prop_assert_eq!(square::verify(&signature, &[&key], SQUARE_URL, &body), Ok(()));
        let refused = match part {
            0 => replace_byte(&signature, at, to).map(|(s, _)| square::verify(&s, &[&key], SQUARE_URL, &body)),
            1 => replace_byte(SQUARE_URL, at, to).map(|(url, _)| square::verify(&signature, &[&key], &url, &body)),
            _ => {
                let mut changed = body.clone();
                (!changed.is_empty() && changed[at.index(changed.len())] != to).then(|| {
                    changed[at.index(body.len())] = to;
                    square::verify(&signature, &[&key], SQUARE_URL, &changed)
                })
            }
        };
        if let Some(result) = refused {
            prop_assert!(result.is_err());
        }
    }

    #[test]
    fn standard_any_message_verifies_only_when_genuinely_signed(
        id in "\\PC{0,20}", timestamp in "[-+0-9a-z ]{0,12}", signature in "\\PC{0,120}", payload in bytes(), now in any::<i64>(),
    ) {
        let (secret, _) = SigningSecret::from_bytes(&STANDARD_KEY);
        if let Ok(t) = standard::verify(&id, &timestamp, &signature, &payload, &[&secret], TOL, now) {
            prop_assert!(standard_genuine(&id, &timestamp, &signature, &payload));
            prop_assert_eq!(timestamp.parse::<i64>().ok(), Some(t));
        }
    }

    #[test]
    fn standard_genuine_verifies_and_any_changed_byte_fails(
        id in "msg_[a-zA-Z0-9]{1,20}", payload in bytes(), ts in 0i64..4_000_000_000, part in 0..4u8, at in any::<Index>(), to in any::<u8>(),
        decoys in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..3),
    ) {
        let (secret, _) = SigningSecret::from_bytes(&STANDARD_KEY);
        let genuine = standard::sign(&[&secret], &id, ts, &payload).unwrap();
        let t = ts.to_string();
        prop_assert!(standard_genuine(&id, &t, &genuine, &payload));
        // Next to other versions and wrong signatures, in any order.
        let mut entries: Vec<String> = decoys.iter().map(|d| format!("v1,{}", STANDARD.encode(d))).collect();
        entries.push(format!("v2,{}", &genuine[3..]));
        entries.insert(at.index(entries.len() + 1), genuine.clone());
        let signature = entries.join(" ");
        prop_assert_eq!(standard::verify(&id, &t, &signature, &payload, &[&secret], TOL, ts), Ok(ts));
        prop_assert!(standard::verify(&id, &t, &genuine, &payload, &[&secret], TOL, ts + TOL + 1).is_err());
        let result = match part {
            0 => replace_byte(&id, at, to).map(|(id, _)| standard::verify(&id, &t, &genuine, &payload, &[&secret], TOL, ts)),
            1 => replace_byte(&t, at, to).map(|(t, _)| standard::verify(&id, &t, &genuine, &payload, &[&secret], TOL, ts)),
            2 => replace_byte(&genuine, at, to).map(|(s, _)| standard::verify(&id, &t, &s, &payload, &[&secret], TOL, ts)),
            _ => {
                let mut changed = payload.clone();
                (!changed.is_empty() && changed[at.index(changed.len())] != to).then(|| {
                    changed[at.index(payload.len())] = to;
                    standard::verify(&id, &t, &genuine, &changed, &[&secret], TOL, ts)
                })
            }
        };
        if let Some(result) = result {
            prop_assert!(result.is_err(), "part {}: {:?}", part, result);
        }
    }

    #[test]
    fn standard_secret_text_never_panics(text in "(whsec_)?\\PC{0,60}") {
        if let Ok(secret) = SigningSecret::parse(&text) {
            let signature = standard::sign(&[&secret], "msg_1", 1, b"{}").unwrap();
            prop_assert_eq!(standard::verify("msg_1", "1", &signature, b"{}", &[&secret], TOL, 1), Ok(1));
        }
    }
}
