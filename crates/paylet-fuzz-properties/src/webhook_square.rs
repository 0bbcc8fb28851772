//! `x-square-hmacsha256-signature: <base64>`: any header, URL and body, and
//! genuine signatures with one byte of signature, URL or body changed. Never a
//! panic; a header verifies only if it decodes to the HMAC of the URL followed
//! by the body, computed here independently; a genuine one always verifies.

use arbitrary::Arbitrary;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use paylet_secret::Secret;
use paylet_webhook::square;
use sha2::Sha256;

const KEY: &str = "fuzz-signature-key";
const URL: &str = "https://pay.example/v1/webhooks/st_fuzz/square";

#[derive(Debug, Arbitrary)]
enum Input<'a> {
    Raw {
        header: &'a str,
        url: &'a str,
        body: &'a [u8],
    },
    /// A genuine signature, then one byte changed in the signature (0), the
    /// URL (1) or the body (2).
    Mutated {
        body: &'a [u8],
        part: u8,
        at: usize,
        to: u8,
    },
}

fn expected(url: &str, body: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()) else { unreachable!() };
    mac.update(url.as_bytes());
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

fn check(header: &str, url: &str, body: &[u8]) {
    let key = Secret::from(KEY);
    if square::verify(header, &[&key], url, body).is_ok() {
        let got = STANDARD.decode(header.trim());
        assert!(got.is_ok_and(|g| g == expected(url, body)), "verified without a genuine signature: {header:?}");
    }
}

fn change(bytes: &mut [u8], at: usize, to: u8) -> bool {
    if bytes.is_empty() {
        return false;
    }
    let i = at % bytes.len();
    let changed = bytes[i] != to;
    bytes[i] = to;
    changed
}

/// The `webhook_square` property on one input, read as `fuzz_target!` reads an
/// `Input` from the bytes (skipped if they are not one).
pub fn webhook_square(bytes: &[u8]) {
    let Some(input) = crate::input::<Input<'_>>(bytes) else { return };
    match input {
        Input::Raw { header, url, body } => check(header, url, body),
        Input::Mutated { body, part, at, to } => {
            let key = Secret::from(KEY);
            let Ok(signature) = square::sign(&key, URL, body) else { unreachable!() };
            assert_eq!(square::verify(&signature, &[&key], URL, body), Ok(()));
            match part % 3 {
                0 => {
                    let mut bytes = signature.into_bytes();
                    if change(&mut bytes, at, to)
                        && let Ok(header) = String::from_utf8(bytes)
                    {
                        check(&header, URL, body);
                    }
                }
                1 => {
                    let mut bytes = URL.as_bytes().to_vec();
                    if change(&mut bytes, at, to)
                        && let Ok(url) = String::from_utf8(bytes)
                    {
                        assert!(square::verify(&signature, &[&key], &url, body).is_err());
                    }
                }
                _ => {
                    let mut bytes = body.to_vec();
                    if change(&mut bytes, at, to) {
                        assert!(square::verify(&signature, &[&key], URL, &bytes).is_err());
                    }
                }
            }
        }
    }
}
