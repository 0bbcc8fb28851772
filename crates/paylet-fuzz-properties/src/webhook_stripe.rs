//! `Stripe-Signature: t=<unix>,v1=<hex>`: any header and body, and genuine
//! headers with one byte of header or body changed. Never a panic; a header
//! verifies only if one of its `v1` values is the HMAC of `"{t}.{body}"`,
//! computed here independently; an untouched genuine header always verifies.

use arbitrary::Arbitrary;
use hmac::{Hmac, Mac};
use paylet_secret::Secret;
use paylet_webhook::{DEFAULT_TOLERANCE_SECS as TOL, stripe};
use sha2::Sha256;

const SECRET: &str = "whsec_fuzz_secret";

#[derive(Debug, Arbitrary)]
enum Input<'a> {
    /// Whatever arrives.
    Raw { header: &'a str, body: &'a [u8], now: i64 },
    /// A genuine header for `body` at `timestamp`, then one byte changed:
    /// `at` picks the byte (header first, then body), `to` is its new value.
    Mutated { body: &'a [u8], timestamp: i64, at: usize, to: u8, in_body: bool },
}

fn expected(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()) else { unreachable!() };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Whether `header` carries the genuine signature of `body` at `timestamp`.
fn genuinely_signed(header: &str, body: &[u8], timestamp: i64) -> bool {
    let want = expected(timestamp, body);
    header
        .split(',')
        .filter_map(|item| item.trim().strip_prefix("v1="))
        .any(|v| hex::decode(v).is_ok_and(|got| got == want))
}

fn check(header: &str, body: &[u8], now: i64) {
    let secret = Secret::from(SECRET);
    if let Ok(t) = stripe::verify(header, body, &[&secret], TOL, now) {
        assert!(genuinely_signed(header, body, t), "verified without a genuine signature: {header:?}");
        assert!(now.abs_diff(t) <= TOL.unsigned_abs(), "verified outside the tolerance: t={t}, now={now}");
    }
}

/// The `webhook_stripe` property on one input, read as `fuzz_target!` reads an
/// `Input` from the bytes (skipped if they are not one).
pub fn webhook_stripe(bytes: &[u8]) {
    let Some(input) = crate::input::<Input<'_>>(bytes) else { return };
    match input {
        Input::Raw { header, body, now } => check(header, body, now),
        Input::Mutated { body, timestamp, at, to, in_body } => {
            let secret = Secret::from(SECRET);
            let Ok(header) = stripe::header(&[&secret], timestamp, body) else { unreachable!() };
            assert_eq!(stripe::verify(&header, body, &[&secret], TOL, timestamp), Ok(timestamp));
            if in_body && !body.is_empty() {
                let mut body = body.to_vec();
                let i = at % body.len();
                if body[i] != to {
                    body[i] = to;
                    assert!(stripe::verify(&header, &body, &[&secret], TOL, timestamp).is_err());
                }
            } else {
                let mut bytes = header.into_bytes();
                let i = at % bytes.len();
                bytes[i] = to;
                if let Ok(header) = String::from_utf8(bytes) {
                    check(&header, body, timestamp);
                }
            }
        }
    }
}
