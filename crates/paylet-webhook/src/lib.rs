//! Webhook signatures, one module per scheme:
//!
//! - [`stripe`]: `Stripe-Signature: t=<unix>,v1=<hex>`, HMAC-SHA256 of `"{t}.{body}"`
//!   keyed with the whole `whsec_…` string; one `v1` per active secret.
//! - [`square`]: `x-square-hmacsha256-signature: <base64>`, HMAC-SHA256 of the
//!   notification URL followed by the body, keyed with the signature key's text.
//! - [`standard`]: Standard Webhooks (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature: v1,<base64>`), keyed with the base64 bytes after `whsec_`.
//!
//! Verification decodes each presented signature to bytes and compares it with
//! `Mac::verify_slice`, which checks the length and runs in constant time, so a
//! truncated or empty signature (`v1,`) can never match a prefix.

pub mod square;
pub mod standard;
pub mod stripe;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long a signed timestamp stays acceptable, either side of now.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature header is missing")]
    MissingHeader,
    #[error("the signature header is malformed")]
    MalformedHeader,
    #[error("no signature with a supported scheme")]
    NoSupportedSignature,
    #[error("no signature matches the payload")]
    Mismatch,
    #[error("the timestamp is outside the tolerance window")]
    TimestampOutOfTolerance,
    #[error("the signing secret is empty or malformed")]
    InvalidSecret,
}

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], parts: &[&[u8]]) -> Result<HmacSha256, VerifyError> {
    if key.is_empty() {
        // Anyone can forge an HMAC under an empty key.
        return Err(VerifyError::InvalidSecret);
    }
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| VerifyError::InvalidSecret)?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac)
}

/// The HMAC-SHA256 of `parts` under `key`.
fn digest(key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, VerifyError> {
    Ok(mac(key, parts)?.finalize().into_bytes().to_vec())
}

/// True when `candidate` is exactly the HMAC of `parts` under `key`.
fn matches(key: &[u8], parts: &[&[u8]], candidate: &[u8]) -> bool {
    mac(key, parts).is_ok_and(|m| m.verify_slice(candidate).is_ok())
}

fn within_tolerance(timestamp: i64, now: i64, tolerance: i64) -> bool {
    // Saturating: an attacker-chosen i64::MIN must not overflow into "recent".
    now.saturating_sub(timestamp).saturating_abs() <= tolerance
}
