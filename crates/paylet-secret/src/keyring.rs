//! Secrets at rest. A [`KeyRing`] seals a secret with AES-256-GCM under the
//! current master key before it is written to the database, and opens what any
//! of its keys sealed, so a stolen database file holds only ciphertext.
//!
//! A sealed value reads `paylet-sealed:v1:<key id>:<base64url(nonce ‖ ciphertext)>`.
//! The key id (8 hex digits of a hash of the key) says which key to open it
//! with, so a ring can hold the new key and the old ones while
//! `paylet keys rotate` re-seals everything under the new one. Each value is
//! bound to a context (the store and what the secret is for) as associated
//! data, so a sealed value copied into another store's row does not open.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::Secret;

const PREFIX: &str = "paylet-sealed:v1:";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("a master key must be 32 bytes in base64 (make one with `paylet keys generate`); key {0} is not")]
    BadKey(usize),
    #[error("no master key given")]
    Empty,
    #[error("a secret in the database is not sealed; run `paylet keys rotate` to seal it")]
    NotSealed,
    #[error("a secret in the database is sealed with key {0}, which is not in the key ring")]
    UnknownKey(String),
    #[error("a secret is too long to seal")]
    TooLong,
    #[error("a secret in the database does not open with its key: the value or its context was changed")]
    Corrupt,
}

/// One 256-bit master key.
struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
}

impl MasterKey {
    fn from_bytes(bytes: &[u8; 32]) -> MasterKey {
        let digest = Sha256::new().chain_update(b"paylet master key id\0").chain_update(bytes).finalize();
        let id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        MasterKey { id, cipher: Aes256Gcm::new(bytes.into()) }
    }
}

/// The current master key, which seals, and older ones, which only open.
pub struct KeyRing {
    keys: Vec<MasterKey>,
}

impl KeyRing {
    /// Reads keys in base64, one per line or separated by commas or spaces; the
    /// first is the current key. Lines starting with `#` are comments.
    pub fn parse(text: &str) -> Result<KeyRing, KeyError> {
        let keys = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .flat_map(|line| line.split([',', ' ', '\t']))
            .filter(|word| !word.is_empty())
            .enumerate()
            .map(|(i, word)| {
                let bytes: [u8; 32] =
                    STANDARD.decode(word).ok().and_then(|b| b.try_into().ok()).ok_or(KeyError::BadKey(i + 1))?;
                Ok(MasterKey::from_bytes(&bytes))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(KeyRing { keys })
    }

    /// A new random key, in the form [`KeyRing::parse`] reads.
    pub fn generate() -> Secret {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Secret::new(STANDARD.encode(bytes))
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `secret` under the current key, bound to `context`.
    pub fn seal(&self, secret: &str, context: &str) -> Result<String, KeyError> {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = key
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret.as_bytes(), aad: context.as_bytes() })
            .map_err(|_| KeyError::TooLong)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}:{}", key.id, URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Opens a value sealed under any key of the ring with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Secret, KeyError> {
        let (id, body) =
            sealed.strip_prefix(PREFIX).and_then(|rest| rest.split_once(':')).ok_or(KeyError::NotSealed)?;
        let key = self.keys.iter().find(|k| k.id == id).ok_or_else(|| KeyError::UnknownKey(id.to_owned()))?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| KeyError::Corrupt)?;
        if bytes.len() < NONCE_LEN {
            return Err(KeyError::Corrupt);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = key
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| KeyError::Corrupt)?;
        String::from_utf8(plain).map(Secret::new).map_err(|_| KeyError::Corrupt)
    }

    /// Whether `value` is already sealed under the current key (rotation skips it).
    pub fn is_current(&self, value: &str) -> bool {
        value.strip_prefix(PREFIX).and_then(|rest| rest.split_once(':')).is_some_and(|(id, _)| id == self.current_id())
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("KeyRing").field("key_ids", &ids).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[&Secret]) -> KeyRing {
        KeyRing::parse(&keys.iter().map(|k| k.expose().as_str()).collect::<Vec<_>>().join("\n")).unwrap()
    }

    #[test]
    fn seals_and_opens_without_showing_the_secret() {
        let key = KeyRing::generate();
        let ring = ring(&[&key]);
        let sealed = ring.seal("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "st_1/gateway").unwrap();
        assert!(sealed.starts_with("paylet-sealed:v1:"));
        assert!(!sealed.contains("sk_test") && !sealed.contains("4eC39"));
        assert_eq!(ring.open(&sealed, "st_1/gateway").unwrap().expose(), "sk_test_4eC39HqLyjWDarjtT1zdp7dc");
        // A fresh nonce each time: equal secrets do not look equal.
        assert_ne!(sealed, ring.seal("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "st_1/gateway").unwrap());
    }

    #[test]
    fn another_context_or_a_changed_byte_does_not_open() {
        let ring = ring(&[&KeyRing::generate()]);
        let sealed = ring.seal("whsec_abc", "st_1/webhook").unwrap();
        assert_eq!(ring.open(&sealed, "st_2/webhook").unwrap_err(), KeyError::Corrupt);
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(ring.open(&String::from_utf8(tampered).unwrap(), "st_1/webhook").unwrap_err(), KeyError::Corrupt);
        assert_eq!(ring.open("whsec_abc", "st_1/webhook").unwrap_err(), KeyError::NotSealed);
    }

    #[test]
    fn old_keys_open_and_only_the_first_seals() {
        let (old, new) = (KeyRing::generate(), KeyRing::generate());
        let before = ring(&[&old]).seal("secret", "c").unwrap();
        let rotated = ring(&[&new, &old]);
        assert!(!rotated.is_current(&before));
        assert_eq!(rotated.open(&before, "c").unwrap().expose(), "secret");
        let after = rotated.seal("secret", "c").unwrap();
        assert!(rotated.is_current(&after));
        let new_only = ring(&[&new]);
        assert_eq!(new_only.open(&after, "c").unwrap().expose(), "secret");
        assert!(matches!(new_only.open(&before, "c"), Err(KeyError::UnknownKey(_))));
    }

    #[test]
    fn refuses_keys_that_are_not_32_bytes_and_never_debugs_them() {
        assert_eq!(KeyRing::parse("").unwrap_err(), KeyError::Empty);
        assert_eq!(KeyRing::parse("# only a comment\n").unwrap_err(), KeyError::Empty);
        assert_eq!(KeyRing::parse("c2hvcnQ=").unwrap_err(), KeyError::BadKey(1));
        let key = KeyRing::generate();
        let text = format!("# current\n{}, not-base64", key.expose());
        assert_eq!(KeyRing::parse(&text).unwrap_err(), KeyError::BadKey(2));
        let ring = ring(&[&key]);
        assert!(!format!("{ring:?}").contains(key.expose().as_str()));
        assert_eq!(format!("{ring:?}"), format!("KeyRing {{ key_ids: [\"{}\"] }}", ring.current_id()));
    }
}
