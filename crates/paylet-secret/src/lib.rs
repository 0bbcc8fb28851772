//! `Secret<T>` holds a key, token or password. Its `Debug` prints a mask and it has
//! no `Display` or `Serialize`, so the compiler stops a secret from reaching a log
//! line or a JSON response by accident; code that needs the value calls
//! [`Secret::expose`], which is easy to find in review.

use std::fmt;

mod keyring;

pub use keyring::{KeyError, KeyRing};

use serde::{Deserialize, Deserializer};
use subtle::ConstantTimeEq;

#[derive(Clone, Default)]
pub struct Secret<T = String>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret itself. Every call is a place where the value leaves the wrapper.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: AsRef<[u8]>> Secret<T> {
    /// Compares in time independent of where the first difference is, so response
    /// timing does not leak how much of a guessed key was right.
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        constant_time_eq(self.0.as_ref(), other)
    }
}

/// Equal in constant time, like [`Secret::ct_eq`], so comparing two secrets
/// (in a test, or a value the gateway handed back) leaks nothing either.
impl<T: AsRef<[u8]>> PartialEq for Secret<T> {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other.0.as_ref())
    }
}

impl<T: AsRef<[u8]>> Eq for Secret<T> {}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Secret)
    }
}

/// Opt-in serialization of the value, for stores a secret must survive in
/// (`#[serde(with = "paylet_secret::expose")]`). Each use is a deliberate,
/// reviewable decision to write the secret somewhere.
pub mod expose {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Secret;

    pub fn serialize<S: Serializer, T: Serialize>(secret: &Secret<T>, s: S) -> Result<S::Ok, S::Error> {
        secret.expose().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Secret<T>, D::Error> {
        T::deserialize(d).map(Secret::new)
    }
}

/// Equality of two byte strings in constant time for equal lengths. Lengths are
/// not secret (keys have fixed formats), so unequal lengths return early.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::from("sk_test_abc");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(s)), "Some(Secret(***))");
    }

    #[test]
    fn compares_exactly() {
        let s = Secret::from("sk_test_abc");
        assert!(s.ct_eq(b"sk_test_abc"));
        assert!(!s.ct_eq(b"sk_test_abd"));
        assert!(!s.ct_eq(b"sk_test_ab"));
        assert!(!s.ct_eq(b""));
    }

    #[test]
    fn deserializes_from_a_plain_string() {
        let s: Secret = serde_json::from_str("\"whsec_x\"").unwrap();
        assert_eq!(s.expose(), "whsec_x");
    }
}
